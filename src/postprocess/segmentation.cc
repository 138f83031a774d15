#include "edgerun/postprocess/segmentation.h"

#include <cmath>

#include <fmt/format.h>

namespace edgerun::postprocess {
namespace {

struct Geometry {
  int64_t c = 0, h = 0, w = 0;
  int64_t channel_stride = 0, pixel_stride = 0;  // in elements
};

Expected<Geometry> Inspect(const TensorView& t, SegLayout layout) {
  if (t.dtype != DType::kF32 || t.raw == nullptr) {
    return InvalidArgument("segmentation: output must be a present f32 tensor");
  }
  const bool batched = t.rank == 4;
  if (!(t.rank == 3 || (batched && t.dims[0] == 1))) {
    return InvalidArgument(
        fmt::format("segmentation: output shape {} must be [1, C, H, W] / [1, H, W, C] or rank 3",
                    DimsToString(t.shape())));
  }
  const int64_t* d = t.dims + (batched ? 1 : 0);
  Geometry g;
  if (layout == SegLayout::kNCHW) {
    g = {d[0], d[1], d[2], d[1] * d[2], 1};
  } else {
    g = {d[2], d[0], d[1], 1, d[2]};
  }
  if (g.c <= 0 || g.h <= 0 || g.w <= 0 || g.h > INT32_MAX || g.w > INT32_MAX) {
    return InvalidArgument(fmt::format("segmentation: output shape {} has an empty or huge dim",
                                       DimsToString(t.shape())));
  }
  return g;
}

}  // namespace

Expected<SegMask> ArgmaxMask(const TensorView& output, SegLayout layout) {
  ASSIGN_OR_RETURN(const Geometry g, Inspect(output, layout));
  const float* p = output.data<float>();
  SegMask m{static_cast<int>(g.w), static_cast<int>(g.h),
            std::vector<int32_t>(static_cast<size_t>(g.h * g.w))};
  for (int64_t i = 0; i < g.h * g.w; ++i) {
    const float* px = p + i * g.pixel_stride;
    int32_t best = 0;
    float best_v = px[0];
    for (int64_t c = 1; c < g.c; ++c) {
      const float v = px[c * g.channel_stride];
      if (v > best_v) best_v = v, best = static_cast<int32_t>(c);
    }
    if (std::isnan(best_v)) {
      return InvalidArgument(fmt::format("segmentation: NaN at pixel ({}, {})", i % g.w, i / g.w));
    }
    m.labels[i] = best;
  }
  return m;
}

Expected<SegMask> ThresholdMask(const TensorView& output, SegLayout layout, int channel,
                                float threshold) {
  ASSIGN_OR_RETURN(const Geometry g, Inspect(output, layout));
  if (channel < 0 || channel >= g.c) {
    return InvalidArgument(
        fmt::format("segmentation: channel {} out of range [0, {})", channel, g.c));
  }
  const float* p = output.data<float>() + channel * g.channel_stride;
  SegMask m{static_cast<int>(g.w), static_cast<int>(g.h),
            std::vector<int32_t>(static_cast<size_t>(g.h * g.w))};
  for (int64_t i = 0; i < g.h * g.w; ++i) m.labels[i] = p[i * g.pixel_stride] > threshold ? 1 : 0;
  return m;
}

}  // namespace edgerun::postprocess
