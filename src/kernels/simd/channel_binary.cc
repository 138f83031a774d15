// Highway kernel of channel_binary.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper and the kernels.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/channel_binary.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>

#include "kernels/simd/channel_binary.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <bool kAdd>
void ApplyChannelBinaryOf(const float* x, const float* v, float* y, size_t channels, size_t c0,
                          size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  // One pixel's channels (the first and last may be partial) per pass.
  for (size_t c = c0; n > 0; c = 0) {
    const size_t len = std::min(n, channels - c);
    const float* w = v + c;
    size_t i = 0;
    for (; i + lanes <= len; i += lanes) {
      const auto a = hn::LoadU(d, x + i), b = hn::LoadU(d, w + i);
      hn::StoreU(kAdd ? hn::Add(a, b) : hn::Mul(a, b), d, y + i);
    }
    for (; i < len; ++i) y[i] = kAdd ? x[i] + w[i] : x[i] * w[i];
    x += len;
    y += len;
    n -= len;
  }
}

void ApplyChannelBinaryImpl(bool add, const float* x, const float* v, float* y, size_t channels,
                            size_t c0, size_t n) {
  if (add) {
    ApplyChannelBinaryOf<true>(x, v, y, channels, c0, n);
  } else {
    ApplyChannelBinaryOf<false>(x, v, y, channels, c0, n);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <memory>
#include <string>
#include <vector>

#include "kernels/openmp_shares.h"
#include "kernels/simd/simd_target.h"

namespace edgerun {
namespace internal {
HWY_EXPORT(ApplyChannelBinaryImpl);
}  // namespace internal

void ApplyChannelBinary(ChannelOp op, const float* x, const float* v, float* y, size_t channels,
                        size_t c0, size_t n) {
  HWY_DYNAMIC_DISPATCH(internal::ApplyChannelBinaryImpl)
  (op == ChannelOp::kAdd, x, v, y, channels, c0, n);
}

namespace {

// The shortest vector worth this kernel: one AVX-512 vector of floats. Shorter ones (a scalar per
// image) are XNNPACK's.
constexpr int64_t kMinChannels = 16;

struct ChannelBinaryState : KernelState {
  std::string name = std::string("channel_binary:") + SimdTarget();
  ChannelOp op = ChannelOp::kMul;
  size_t channels = 0;
  size_t image_elements = 0;  // the map's elements per index of its first axis
  bool vector_per_image = false;
  int threads = 1;  // OpenMP threads splitting the map
  std::string_view implementation() const override { return name; }
};

// Whether input `map` has the output's shape and the other input is a vector over the last axis:
// right-aligned, all 1 but the last (the output's) and, at equal rank, possibly the first.
bool IsMapAndChannelVector(const SupportContext& ctx, int map) {
  if (ctx.inputs.size() != 2 || ctx.outputs.size() != 1) return false;
  if (ctx.node.has_attr("axis") || ctx.node.has_attr("broadcast")) return false;  // opset < 7
  const TensorType& y = ctx.outputs[0];
  const TensorType& v = ctx.inputs[1 - map];
  if (ctx.inputs[map].dtype != DType::kF32 || v.dtype != DType::kF32 || y.dtype != DType::kF32) {
    return false;
  }
  const std::vector<int64_t>& yd = y.dims;
  const std::vector<int64_t>& vd = v.dims;
  if (ctx.inputs[map].dims != yd || yd.size() < 2 || vd.empty() || vd.size() > yd.size() ||
      y.num_elements() == 0 || yd.back() < kMinChannels || vd.back() != yd.back()) {
    return false;
  }
  const size_t skip = yd.size() - vd.size();
  for (size_t i = 0; i + 1 < vd.size(); ++i) {
    if (vd[i] != 1 && !(i + skip == 0 && vd[i] == yd[0])) return false;
  }
  return true;
}

template <int kMap>
bool SupportsChannelBinary(const SupportContext& ctx) {
  return IsMapAndChannelVector(ctx, kMap);
}

template <int kMap>
Status PrepareChannelBinary(PrepareContext& ctx) {
  auto state = std::make_unique<ChannelBinaryState>();
  const TensorType& y = ctx.outputs[0];
  const std::vector<int64_t>& vd = ctx.inputs[1 - kMap].dims;
  state->op = ctx.node.op_type == "Add" ? ChannelOp::kAdd : ChannelOp::kMul;
  state->channels = static_cast<size_t>(y.dims.back());
  state->image_elements = static_cast<size_t>(y.num_elements() / y.dims[0]);
  state->vector_per_image = vd.size() == y.dims.size() && vd[0] > 1;
  state->threads = ThreadsToShare(static_cast<size_t>(y.num_elements()) * sizeof(float),
                                  ctx.share_every_layer, ctx.num_threads);
  ctx.state = std::move(state);
  return Status::Ok();
}

template <int kMap>
Status InvokeChannelBinary(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ChannelBinaryState>();
  const float* x = ctx.inputs[kMap].data<const float>();
  const float* v = ctx.inputs[1 - kMap].data<const float>();
  float* y = ctx.outputs[0].data<float>();
  const size_t total = ctx.outputs[0].num_elements();
  // Element shares in 16s, as the SiLU pass that wrote the map split it.
  ForEachShare(total, s.threads, 16, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end;) {
      const size_t image = i / s.image_elements;
      const size_t stop = std::min(end, (image + 1) * s.image_elements);
      ApplyChannelBinary(s.op, x + i, v + (s.vector_per_image ? image * s.channels : 0), y + i,
                         s.channels, i % s.channels, stop - i);
      i = stop;
    }
  });
  return Status::Ok();
}

template <int kMap>
KernelDef ChannelBinaryKernel(std::string_view op) {
  // Each element is read before it is written, so the output may take the map's buffer.
  return {op,
          KernelPath::kOnednn,
          DTypeSet{DType::kF32},
          SupportsChannelBinary<kMap>,
          PrepareChannelBinary<kMap>,
          InvokeChannelBinary<kMap>,
          "",
          /*may_run_in_place=*/true,
          /*output_aliases_input=*/false,
          /*setup=*/nullptr,
          /*in_place_input=*/kMap};
}

}  // namespace

std::span<const KernelDef> FastChannelBinaryKernels() {
  static const KernelDef kernels[] = {
      ChannelBinaryKernel<0>("Mul"),
      ChannelBinaryKernel<1>("Mul"),
      ChannelBinaryKernel<0>("Add"),
      ChannelBinaryKernel<1>("Add"),
  };
  return kernels;
}

}  // namespace edgerun
#endif  // HWY_ONCE
