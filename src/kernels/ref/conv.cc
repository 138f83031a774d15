#include "kernels/ref/conv.h"

#include <pthreadpool.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/denormals.h"
#include "kernels/ref/gemm.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {
namespace {

// Column tiles hold about this many floats (1 MB, to stay in L2), but never fewer than 256
// columns, so the GEMM sees a wide enough N.
constexpr int64_t kColBudgetFloats = int64_t{1} << 18;
constexpr int64_t kMinColTile = 256;

Expected<std::vector<int64_t>> GetInts(const PrepareContext& ctx, std::string_view name, size_t n,
                                       int64_t def) {
  ASSIGN_OR_RETURN(std::vector<int64_t> v, ctx.node.GetInts(name, std::vector<int64_t>(n, def)));
  if (v.size() != n) {
    return ctx.Invalid(std::string(name) + " has " + std::to_string(v.size()) +
                       " entries, expected " + std::to_string(n));
  }
  return v;
}

// Fills the 3-D arrays right-aligned: spatial dim i of an n-D op lands in slot 3 - n + i.
Status FillWindow(const PrepareContext& ctx, std::span<const int64_t> in_spatial,
                  std::span<const int64_t> out_spatial, std::span<const int64_t> kernel,
                  Window3d* w, std::vector<int64_t>* pads) {
  const size_t n = in_spatial.size();
  if (n < 1 || n > static_cast<size_t>(kMaxSpatial)) {
    return ctx.NotSupported(std::to_string(n) + " spatial dims (the reference kernel handles 1-3)");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> strides, GetInts(ctx, "strides", n, 1));
  ASSIGN_OR_RETURN(std::vector<int64_t> dilations, GetInts(ctx, "dilations", n, 1));
  ASSIGN_OR_RETURN(*pads, GetInts(ctx, "pads", 2 * n, 0));
  const size_t off = kMaxSpatial - n;
  for (size_t i = 0; i < n; ++i) {
    w->in[off + i] = in_spatial[i];
    w->out[off + i] = out_spatial[i];
    w->kernel[off + i] = kernel[i];
    w->stride[off + i] = strides[i];
    w->dilation[off + i] = dilations[i];
  }
  return Status::Ok();
}

}  // namespace

Status ResolveWindow(const PrepareContext& ctx, std::span<const int64_t> in_spatial,
                     std::span<const int64_t> out_spatial, std::span<const int64_t> kernel,
                     Window3d* w) {
  std::vector<int64_t> pads;
  RETURN_IF_ERROR(FillWindow(ctx, in_spatial, out_spatial, kernel, w, &pads));
  ASSIGN_OR_RETURN(std::string auto_pad, ctx.node.GetString("auto_pad", "NOTSET"));
  const size_t n = in_spatial.size();
  const size_t off = kMaxSpatial - n;
  for (size_t i = 0; i < n; ++i) {
    const size_t j = off + i;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t span = (w->kernel[j] - 1) * w->dilation[j] + 1;
      const int64_t total = std::max<int64_t>(0, (w->out[j] - 1) * w->stride[j] + span - w->in[j]);
      w->pad[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w->declared_pad_end[j] = total - w->pad[j];
    } else if (auto_pad == "VALID") {
      w->pad[j] = 0;
      w->declared_pad_end[j] = 0;
    } else {
      w->pad[j] = pads[i];
      w->declared_pad_end[j] = pads[n + i];
    }
  }
  return Status::Ok();
}

namespace {

// The spatial extents {H, W} of NHWC input 0 and output 0, or NotSupported unless both are 4-D.
struct NhwcExtents {
  int64_t in[2] = {}, out[2] = {};
};
Expected<NhwcExtents> ReadNhwcExtents(const PrepareContext& ctx) {
  if (ctx.inputs.empty() || ctx.outputs.empty() || ctx.inputs[0].dims.size() != 4 ||
      ctx.outputs[0].dims.size() != 4) {
    return ctx.NotSupported("NHWC window needs 4-D input and output");
  }
  const auto& x = ctx.inputs[0].dims;   // N, H, W, C
  const auto& y = ctx.outputs[0].dims;  // N, OH, OW, M
  return NhwcExtents{{x[1], x[2]}, {y[1], y[2]}};
}

}  // namespace

Status ResolveNhwcWindow(const PrepareContext& ctx, std::span<const int64_t> kernel, Window3d* w) {
  ASSIGN_OR_RETURN(NhwcExtents e, ReadNhwcExtents(ctx));
  return ResolveWindow(ctx, e.in, e.out, kernel, w);
}

Status ResolveNhwcPoolWindow(const PrepareContext& ctx, Window3d* w) {
  ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.node.GetInts("kernel_shape", {}));
  if (kernel.size() != 2) return ctx.Invalid("kernel_shape must have 2 entries for NHWC pooling");
  return ResolveNhwcWindow(ctx, kernel, w);
}

Status ResolveTransposedWindow(const PrepareContext& ctx, std::span<const int64_t> in_spatial,
                               std::span<const int64_t> out_spatial,
                               std::span<const int64_t> kernel, Window3d* w) {
  std::vector<int64_t> pads;
  RETURN_IF_ERROR(FillWindow(ctx, in_spatial, out_spatial, kernel, w, &pads));
  const size_t n = in_spatial.size();
  ASSIGN_OR_RETURN(std::string auto_pad, ctx.node.GetString("auto_pad", "NOTSET"));
  ASSIGN_OR_RETURN(std::vector<int64_t> out_pad, GetInts(ctx, "output_padding", n, 0));
  const bool derive =
      ctx.node.has_attr("output_shape") || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  const size_t off = kMaxSpatial - n;
  for (size_t i = 0; i < n; ++i) {
    const size_t j = off + i;
    if (derive) {
      // Pads implied by the requested output size; a negative total extends the end instead.
      const int64_t span = (w->kernel[j] - 1) * w->dilation[j] + 1;
      const int64_t total = w->stride[j] * (w->in[j] - 1) + out_pad[i] + span - w->out[j];
      w->pad[j] = total <= 0 ? 0 : (auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2);
    } else {
      w->pad[j] = auto_pad == "VALID" ? 0 : pads[i];
    }
  }
  return Status::Ok();
}

Status ResolveNhwcTransposedWindow(const PrepareContext& ctx, Window3d* w) {
  if (ctx.inputs.size() < 2 || ctx.inputs[1].dims.size() != 4) {
    return ctx.NotSupported("NHWC deconvolution needs 4-D weights");
  }
  ASSIGN_OR_RETURN(NhwcExtents e, ReadNhwcExtents(ctx));
  const auto& wt = ctx.inputs[1].dims;  // C, M/g, kH, kW
  const int64_t kernel[] = {wt[2], wt[3]};
  return ResolveTransposedWindow(ctx, e.in, e.out, kernel, w);
}

Expected<NhwcConvShape> ReadNhwcConvShape(const PrepareContext& ctx, int weight_input) {
  if (ctx.inputs.size() <= static_cast<size_t>(weight_input) || ctx.outputs.empty()) {
    return ctx.NotSupported("no weights or output");
  }
  const auto& x = ctx.inputs[0].dims;
  const auto& w = ctx.inputs[weight_input].dims;
  const auto& y = ctx.outputs[0].dims;
  if (x.size() != 4 || w.size() != 4 || y.size() != 4) {
    return ctx.NotSupported("NHWC conv needs 4-D input, weights and output");
  }
  NhwcConvShape s;
  ASSIGN_OR_RETURN(s.group, ctx.node.GetInt("group", 1));
  if (s.group < 1 || w[1] * s.group != x[3] || w[0] % s.group != 0) {
    return ctx.NotSupported("weights " + DimsToString(w) + " do not match " + std::to_string(x[3]) +
                            " input channels in " + std::to_string(s.group) + " groups");
  }
  if (y[0] != x[0] || y[3] != w[0]) {
    return ctx.NotSupported("output " + DimsToString(y) + " does not match input " +
                            DimsToString(x) + " and weights " + DimsToString(w));
  }
  s.batch = x[0];
  s.in_h = x[1];
  s.in_w = x[2];
  s.channels = x[3];
  s.out_h = y[1];
  s.out_w = y[2];
  s.out_channels = y[3];
  const int64_t kernel[] = {w[2], w[3]};
  RETURN_IF_ERROR(ResolveNhwcWindow(ctx, kernel, &s.window));
  return s;
}

namespace {

struct ConvState : KernelState {
  enum class Mode : uint8_t { kGemmDirect, kIm2col, kDepthwise };
  Mode mode = Mode::kIm2col;
  Window3d w;
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  int64_t cg = 0, mg = 0;  // channels per group, in and out
  int64_t k = 0;           // GEMM depth: cg * kernel size
  int64_t col_tile = 0;    // output columns per im2col tile
  bool has_bias = false;
  FusedActivation act;
};

void BiasActivate(const FusedActivation& act, float bias, float* row, int64_t n) {
  if (bias != 0.0f) {
    for (int64_t i = 0; i < n; ++i) row[i] += bias;
  }
  act.ApplyInPlace(row, n);
}

// Writes the im2col rows for output columns [col0, col0 + cols) of one group into `col`
// (K rows of `cols` floats). Row r is (channel, kd, kh, kw); zero where the window hits padding.
void Im2col(const Window3d& w, int64_t channels, const float* x, int64_t col0, int64_t cols,
            float* col) {
  const int64_t ohw = w.out[1] * w.out[2];
  int64_t row = 0;
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * w.in_size();
    for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
      for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
        for (int64_t kw = 0; kw < w.kernel[2]; ++kw, ++row) {
          float* dst = col + row * cols;
          const int64_t x_off = kw * w.dilation[2] - w.pad[2];
          // ow in [lo, hi) reads inside the input row.
          const int64_t lo = x_off >= 0 ? 0 : (-x_off + w.stride[2] - 1) / w.stride[2];
          const int64_t hi = w.in[2] - x_off <= 0
                                 ? 0
                                 : std::min(w.out[2], (w.in[2] - x_off - 1) / w.stride[2] + 1);
          int64_t j = 0;
          int64_t pos = col0;
          while (j < cols) {
            const int64_t od = pos / ohw;
            const int64_t oh = (pos / w.out[2]) % w.out[1];
            const int64_t ow0 = pos % w.out[2];
            const int64_t run = std::min(cols - j, w.out[2] - ow0);
            const int64_t id = od * w.stride[0] + kd * w.dilation[0] - w.pad[0];
            const int64_t ih = oh * w.stride[1] + kh * w.dilation[1] - w.pad[1];
            float* out = dst + j;
            if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
              std::memset(out, 0, sizeof(float) * run);
            } else {
              const float* src = xc + (id * w.in[1] + ih) * w.in[2] + x_off;
              const int64_t a = std::clamp(lo, ow0, ow0 + run);
              const int64_t b = std::clamp(hi, a, ow0 + run);
              for (int64_t ow = ow0; ow < a; ++ow) out[ow - ow0] = 0.0f;
              if (w.stride[2] == 1) {
                std::memcpy(out + (a - ow0), src + a, sizeof(float) * (b - a));
              } else {
                for (int64_t ow = a; ow < b; ++ow) out[ow - ow0] = src[ow * w.stride[2]];
              }
              for (int64_t ow = b; ow < ow0 + run; ++ow) out[ow - ow0] = 0.0f;
            }
            j += run;
            pos += run;
          }
        }
      }
    }
  }
}

// One output plane of a depthwise conv: out = bias + sum over the window, accumulated one
// kernel tap at a time over the range of output columns where that tap is inside the input.
void DepthwisePlane(const Window3d& w, const float* x, const float* wt, float bias,
                    const FusedActivation& act, float* y) {
  for (int64_t od = 0; od < w.out[0]; ++od) {
    for (int64_t oh = 0; oh < w.out[1]; ++oh) {
      float* out = y + (od * w.out[1] + oh) * w.out[2];
      for (int64_t ow = 0; ow < w.out[2]; ++ow) out[ow] = bias;
      for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
        const int64_t id = od * w.stride[0] + kd * w.dilation[0] - w.pad[0];
        if (id < 0 || id >= w.in[0]) continue;
        for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
          const int64_t ih = oh * w.stride[1] + kh * w.dilation[1] - w.pad[1];
          if (ih < 0 || ih >= w.in[1]) continue;
          const float* xrow = x + (id * w.in[1] + ih) * w.in[2];
          const float* wrow = wt + (kd * w.kernel[1] + kh) * w.kernel[2];
          for (int64_t kw = 0; kw < w.kernel[2]; ++kw) {
            const float wv = wrow[kw];
            const int64_t x_off = kw * w.dilation[2] - w.pad[2];
            const int64_t lo = x_off >= 0 ? 0 : (-x_off + w.stride[2] - 1) / w.stride[2];
            const int64_t hi = w.in[2] - x_off <= 0
                                   ? 0
                                   : std::min(w.out[2], (w.in[2] - x_off - 1) / w.stride[2] + 1);
            const float* src = xrow + x_off;
            if (w.stride[2] == 1) {
              for (int64_t ow = lo; ow < hi; ++ow) out[ow] += wv * src[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) out[ow] += wv * src[ow * w.stride[2]];
            }
          }
        }
      }
      act.ApplyInPlace(out, w.out[2]);
    }
  }
}

struct DepthwiseArgs {
  const ConvState* s;
  const float* x;
  const float* wt;
  const float* bias;
  float* y;
};

void DepthwiseTask(void* context, size_t plane) {
  const auto& a = *static_cast<const DepthwiseArgs*>(context);
  const ConvState& s = *a.s;
  const int64_t p = static_cast<int64_t>(plane);
  const int64_t m = p % s.out_channels;
  const int64_t n = p / s.out_channels;
  const int64_t c = m / s.mg;  // one input channel per group
  DepthwisePlane(s.w, a.x + (n * s.in_channels + c) * s.w.in_size(), a.wt + m * s.w.kernel_size(),
                 a.bias != nullptr ? a.bias[m] : 0.0f, s.act, a.y + p * s.w.out_size());
}

}  // namespace

bool SupportsConv(const SupportContext& ctx) {
  const int rank = static_cast<int>(ctx.inputs[0].dims.size());
  return ctx.inputs[0].dtype == DType::kF32 && rank >= 3 && rank <= 2 + kMaxSpatial;
}

Status PrepareConv(PrepareContext& ctx) {
  auto s = std::make_unique<ConvState>();
  const auto& x = ctx.inputs[0].dims;
  const auto& wt = ctx.inputs[1].dims;
  const auto& y = ctx.outputs[0].dims;
  RETURN_IF_ERROR(ResolveWindow(ctx, {x.begin() + 2, x.end()}, {y.begin() + 2, y.end()},
                                {wt.begin() + 2, wt.end()}, &s->w));
  ASSIGN_OR_RETURN(s->act, FusedActivation::FromNode(ctx.node));
  ASSIGN_OR_RETURN(s->group, ctx.node.GetInt("group", 1));
  s->batch = x[0];
  s->in_channels = x[1];
  s->out_channels = wt[0];
  s->cg = x[1] / s->group;
  s->mg = wt[0] / s->group;
  s->k = s->cg * s->w.kernel_size();
  s->has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined;
  const Window3d& w = s->w;
  bool unit = true;
  for (int i = 0; i < kMaxSpatial; ++i) {
    unit = unit && w.kernel[i] == 1 && w.stride[i] == 1 && w.pad[i] == 0;
  }
  if (s->cg == 1 && s->group > 1) {
    s->mode = ConvState::Mode::kDepthwise;
  } else if (unit) {
    s->mode = ConvState::Mode::kGemmDirect;
  } else {
    s->mode = ConvState::Mode::kIm2col;
    s->col_tile = std::min(w.out_size(), std::max(kMinColTile, kColBudgetFloats / s->k));
    ctx.scratch_bytes = static_cast<size_t>(s->k * s->col_tile) * sizeof(float);
  }
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeConv(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ConvState>();
  const Window3d& w = s.w;
  const float* x = ctx.inputs[0].data<float>();
  const float* wt = ctx.inputs[1].data<float>();
  const float* bias = s.has_bias ? ctx.inputs[2].data<float>() : nullptr;
  float* y = ctx.outputs[0].data<float>();
  const int64_t out_size = w.out_size();
  if (out_size == 0 || s.batch == 0) return Status::Ok();

  if (s.mode == ConvState::Mode::kDepthwise) {
    DepthwiseArgs args{&s, x, wt, bias, y};
    const size_t planes = static_cast<size_t>(s.batch * s.out_channels);
    if (ctx.threadpool != nullptr) {
      pthreadpool_parallelize_1d(ctx.threadpool, DepthwiseTask, &args, planes,
                                 ThreadpoolFlagsForThisThread());
    } else {
      for (size_t p = 0; p < planes; ++p) DepthwiseTask(&args, p);
    }
    return Status::Ok();
  }

  float* col = static_cast<float*>(ctx.scratch);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t g = 0; g < s.group; ++g) {
      const float* xg = x + (n * s.in_channels + g * s.cg) * w.in_size();
      const float* wg = wt + g * s.mg * s.k;
      float* yg = y + (n * s.out_channels + g * s.mg) * out_size;
      if (s.mode == ConvState::Mode::kGemmDirect) {
        Sgemm(false, false, s.mg, out_size, s.k, 1.0f, wg, s.k, xg, out_size, 0.0f, yg, out_size,
              ctx.threadpool);
      } else {
        for (int64_t c0 = 0; c0 < out_size; c0 += s.col_tile) {
          const int64_t cols = std::min(s.col_tile, out_size - c0);
          Im2col(w, s.cg, xg, c0, cols, col);
          Sgemm(false, false, s.mg, cols, s.k, 1.0f, wg, s.k, col, cols, 0.0f, yg + c0, out_size,
                ctx.threadpool);
        }
      }
      for (int64_t m = 0; m < s.mg; ++m) {
        BiasActivate(s.act, bias != nullptr ? bias[g * s.mg + m] : 0.0f, yg + m * out_size,
                     out_size);
      }
    }
  }
  return Status::Ok();
}

// ---- ConvTranspose ----

namespace {

struct ConvTransposeState : KernelState {
  Window3d w;  // `in` is X's spatial size, `out` is Y's; pad is Y's leading crop
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  int64_t cg = 0, mg = 0;
  int64_t rows = 0;      // mg * kernel size: rows of the column buffer
  int64_t col_tile = 0;  // input positions per tile
  bool has_bias = false;
  FusedActivation act;
};

// Scatter-adds column rows (m, kd, kh, kw) for input positions [col0, col0 + cols) into y.
void Col2im(const Window3d& w, int64_t channels, const float* col, int64_t col0, int64_t cols,
            float* y) {
  const int64_t ihw = w.in[1] * w.in[2];
  int64_t row = 0;
  for (int64_t m = 0; m < channels; ++m) {
    float* ym = y + m * w.out_size();
    for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
      for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
        for (int64_t kw = 0; kw < w.kernel[2]; ++kw, ++row) {
          const float* src = col + row * cols;
          int64_t j = 0;
          int64_t pos = col0;
          while (j < cols) {
            const int64_t id = pos / ihw;
            const int64_t ih = (pos / w.in[2]) % w.in[1];
            const int64_t iw0 = pos % w.in[2];
            const int64_t run = std::min(cols - j, w.in[2] - iw0);
            const int64_t od = id * w.stride[0] + kd * w.dilation[0] - w.pad[0];
            const int64_t oh = ih * w.stride[1] + kh * w.dilation[1] - w.pad[1];
            if (od >= 0 && od < w.out[0] && oh >= 0 && oh < w.out[1]) {
              float* dst = ym + (od * w.out[1] + oh) * w.out[2];
              const int64_t x_off = kw * w.dilation[2] - w.pad[2];
              for (int64_t iw = iw0; iw < iw0 + run; ++iw) {
                const int64_t ow = iw * w.stride[2] + x_off;
                if (ow >= 0 && ow < w.out[2]) dst[ow] += src[j + iw - iw0];
              }
            }
            j += run;
            pos += run;
          }
        }
      }
    }
  }
}

}  // namespace

Status PrepareConvTranspose(PrepareContext& ctx) {
  auto s = std::make_unique<ConvTransposeState>();
  const auto& x = ctx.inputs[0].dims;
  const auto& wt = ctx.inputs[1].dims;
  const auto& y = ctx.outputs[0].dims;
  RETURN_IF_ERROR(ResolveTransposedWindow(ctx, {x.begin() + 2, x.end()}, {y.begin() + 2, y.end()},
                                          {wt.begin() + 2, wt.end()}, &s->w));
  ASSIGN_OR_RETURN(s->act, FusedActivation::FromNode(ctx.node));
  ASSIGN_OR_RETURN(s->group, ctx.node.GetInt("group", 1));
  s->batch = x[0];
  s->in_channels = x[1];
  s->cg = x[1] / s->group;
  s->mg = wt[1];
  s->out_channels = s->mg * s->group;
  s->rows = s->mg * s->w.kernel_size();
  s->has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined;
  s->col_tile = std::min(s->w.in_size(), std::max(kMinColTile, kColBudgetFloats / s->rows));
  ctx.scratch_bytes = static_cast<size_t>(s->rows * s->col_tile) * sizeof(float);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeConvTranspose(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ConvTransposeState>();
  const Window3d& w = s.w;
  const float* x = ctx.inputs[0].data<float>();
  const float* wt = ctx.inputs[1].data<float>();
  const float* bias = s.has_bias ? ctx.inputs[2].data<float>() : nullptr;
  float* y = ctx.outputs[0].data<float>();
  const int64_t out_size = w.out_size();
  const int64_t in_size = w.in_size();
  float* col = static_cast<float*>(ctx.scratch);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t g = 0; g < s.group; ++g) {
      const float* xg = x + (n * s.in_channels + g * s.cg) * in_size;
      const float* wg = wt + g * s.cg * s.rows;  // [cg, rows]
      float* yg = y + (n * s.out_channels + g * s.mg) * out_size;
      for (int64_t m = 0; m < s.mg; ++m) {
        const float b = bias != nullptr ? bias[g * s.mg + m] : 0.0f;
        std::fill(yg + m * out_size, yg + (m + 1) * out_size, b);
      }
      for (int64_t c0 = 0; c0 < in_size; c0 += s.col_tile) {
        const int64_t cols = std::min(s.col_tile, in_size - c0);
        // col[rows, cols] = W_g^T [rows, cg] * X_g[cg, c0:c0+cols]
        Sgemm(true, false, s.rows, cols, s.cg, 1.0f, wg, s.rows, xg + c0, in_size, 0.0f, col, cols,
              ctx.threadpool);
        Col2im(w, s.mg, col, c0, cols, yg);
      }
      for (int64_t m = 0; m < s.mg; ++m) s.act.ApplyInPlace(yg + m * out_size, out_size);
    }
  }
  return Status::Ok();
}

}  // namespace edgerun
