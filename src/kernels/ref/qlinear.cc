// Reference int8 kernels for the QLinear ops: QLinearConv, QLinearMatMul, and edgerun's
// QLinearAdd and QLinearGlobalAveragePool (com.edgerun). They are the oracle for the fast int8
// paths (oneDNN), so they favour exact, documented arithmetic over speed.
//
// Conv and MatMul: zero-point-corrected inputs (x - x_zp) and weights (w - w_zp[c]) are
// multiplied and summed exactly in int32, the int32 bias is added, and the sum is requantized
//   y = saturate(round_half_to_even(act(float(acc) * multiplier[c])) + y_zp),
//   multiplier[c] = (x_scale * w_scale[c]) / y_scale, computed in float.
// ONNX Runtime and oneDNN compute the multiplier in float too, so results agree with them except
// on rare float ties. Rounding is exact half-to-even whatever the FP mode (RoundHalfEvenToInt).
// A fused Relu/Clip ("activation" attributes) acts in the real domain: its bounds are divided by
// y_scale and clamp acc * multiplier before rounding (clamping commutes with the monotone
// rounding, so this equals clamping the real value). Padded input positions hold the input zero
// point, i.e. they contribute exactly 0, so padding taps are skipped. Weights and their zero points
// are packed once in prepare as int16 (w - w_zp) when constant, else at every invoke into scratch.
// Scales and zero points of activations are read at invoke. Conv runs as im2col (int16, a column
// tile at a time) times the packed weights, four output rows per pass, parallel over row blocks;
// depthwise convs run a direct loop per output row.
//
// QLinearAdd computes in float exactly what DequantizeLinear -> Add -> [Relu] -> QuantizeLinear
// computes: (a - a_zp) * a_scale + (b - b_zp) * b_scale, activation, then a / c_scale rounded
// half to even, + c_zp, saturated; so folding that pattern changes no bit.
// QLinearConvAdd (com.edgerun.nhwc, made by passes/fuse_qlinear_residual.cc) is an NHWC
// QLinearConv whose output a (quantized as usual with y_scale, y_zero_point) is added to the
// residual z and requantized to (out_scale, out_zero_point). Its add uses the arithmetic of the
// oneDNN kernel's post-ops rather than QLinearAdd's, so that the fast kernel and this oracle agree
// bit for bit: in output units, v = fma(z - z_zp, z_scale / out_scale,
// (a - y_zp) * (y_scale / out_scale)), the activation clamps v (bounds / out_scale), then v is
// rounded half to even and gets out_zero_point. It differs from QLinearAdd's
// ((a - a_zp) * a_scale + (z - z_zp) * z_scale) / out_scale by a few float ulps, i.e. by one
// step where that value lies within those ulps of a rounding tie (rare).
// QLinearGlobalAveragePool sums (x - x_zp) exactly in int64 and requantizes the mean
// x_scale * sum / count / y_scale in double; its NHWC form (com.edgerun.nhwc, from the layout
// pass) sums channel rows and gives the same bits.
// Usage (the table below; kernel_table.cc lists RefQLinearKernels()):
//   {"QLinearConv", KernelPath::kReference, kQuantTypes, SupportsQLinearConv,
//    PrepareQLinearConv, InvokeQLinearConv}
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/denormals.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

Status PrepareQLinearConv(PrepareContext& ctx);
Status InvokeQLinearConv(InvokeContext& ctx);
bool SupportsQLinearConv(const SupportContext& ctx);

namespace {

constexpr DTypeSet kQuantTypes{DType::kU8, DType::kI8};
// An im2col tile holds about this many int16 values (512 KB, L2 sized), at least kMinColTile
// output columns.
constexpr int64_t kColBudget = int64_t{1} << 18;
constexpr int64_t kMinColTile = 64;
// Output rows computed together so one pass over the column tile feeds several rows.
constexpr int kRowBlock = 4;

// Round half to even regardless of the FPU rounding mode.
template <typename F>
F RoundHalfToEven(F v) {
  const F r = std::round(v);  // half away from zero
  if (std::fabs(r - v) == F(0.5)) return F(2) * std::round(F(0.5) * v);
  return r;
}

// Adds the zero point to an already rounded value and saturates into Q's range; NaN (only from
// non-finite scales) maps to the zero point.
template <typename Q, typename F>
Q SaturateAddZeroPoint(F rounded, int32_t zp) {
  constexpr F lo = static_cast<F>(std::numeric_limits<Q>::min());
  constexpr F hi = static_cast<F>(std::numeric_limits<Q>::max());
  if (std::isnan(rounded)) return static_cast<Q>(zp);
  const F q = rounded + static_cast<F>(zp);
  return static_cast<Q>(q < lo ? lo : (q > hi ? hi : q));
}

// Rounds half to even using only truncating conversions, so the result does not depend on the
// FP rounding mode, and the loops using it vectorize (SSE2). Needs |v| < 2^31.
inline int32_t RoundHalfEvenToInt(float v) {
  const int32_t i = static_cast<int32_t>(v);  // toward zero
  const float f = v - static_cast<float>(i);  // exact (Sterbenz), in (-1, 1)
  const int32_t odd = i & 1;
  return i + (f > 0.5f) - (f < -0.5f) + (f == 0.5f ? odd : 0) - (f == -0.5f ? odd : 0);
}

// Quantizes v, given in output units (real / scale), to Q with zero point zp: clamps to the
// representable range first (integer bounds, so clamping commutes with rounding), then rounds
// half to even. NaN (only from non-finite scales) maps to the low end of the range.
template <typename Q>
Q QuantizeUnits(float v, int32_t zp) {
  const float lo = static_cast<float>(std::numeric_limits<Q>::min() - zp);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max() - zp);
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return static_cast<Q>(RoundHalfEvenToInt(v) + zp);
}

int32_t LoadInt(DType t, const void* p, int64_t i) {
  return t == DType::kU8 ? static_cast<const uint8_t*>(p)[i] : static_cast<const int8_t*>(p)[i];
}

// Element c of a per-tensor (one element) or per-channel parameter.
float ScaleAt(const TensorView& t, int64_t c) {
  return t.data<const float>()[t.num_elements() == 1 ? 0 : c];
}
int32_t ZeroPointAt(const TensorView& t, int64_t c) {
  return LoadInt(t.dtype, t.raw, t.num_elements() == 1 ? 0 : c);
}

// The fused activation as a clamp in the real domain (Relu: [0, inf)); none: (-inf, inf).
struct RealClamp {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

Expected<RealClamp> ParseClamp(const PrepareContext& ctx) {
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  if (act.has_affine()) return ctx.NotSupported("fused affine on a quantized op");
  RealClamp c;
  switch (act.kind) {
    case FusedActivation::Kind::kNone:
      break;
    case FusedActivation::Kind::kRelu:
      c.lo = 0;
      break;
    case FusedActivation::Kind::kClip:
      c.lo = act.a;
      c.hi = act.b;
      break;
    default:
      return ctx.NotSupported("fused activation other than Relu/Clip on a quantized op");
  }
  return c;
}

// Requantization of int32 sums for one output channel.
struct Requantizer {
  float multiplier = 1;
  float lo = 0, hi = 0;  // activation bounds in output units (real / y_scale)
  int32_t zp = 0;

  template <typename Y>
  Y Apply(int32_t acc) const {
    float v = static_cast<float>(acc) * multiplier;
    v = v < lo ? lo : (v > hi ? hi : v);
    return QuantizeUnits<Y>(v, zp);
  }
};

Requantizer MakeRequantizer(const RealClamp& clamp, float x_scale, float w_scale, float y_scale,
                            int32_t y_zp) {
  Requantizer r;
  r.multiplier = x_scale * w_scale / y_scale;
  r.lo = clamp.lo / y_scale;
  r.hi = clamp.hi / y_scale;
  r.zp = y_zp;
  return r;
}

template <typename Y>
void StoreRow(const Requantizer& rq, const int32_t* acc, int64_t n, void* y) {
  // A local copy: stores through a byte pointer could alias `rq`, which would keep the compiler
  // from vectorizing the loop.
  const Requantizer r = rq;
  Y* __restrict out = static_cast<Y*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = r.Apply<Y>(acc[i]);
}

void StoreRowAs(DType y_type, const Requantizer& rq, const int32_t* acc, int64_t n, void* y) {
  if (y_type == DType::kU8) {
    StoreRow<uint8_t>(rq, acc, n, y);
  } else {
    StoreRow<int8_t>(rq, acc, n, y);
  }
}

// (w - w_zp[row]) as int16 for a [rows, k] weight matrix; |value| <= 255, so products of two
// such values fit easily and sums over K < 2^15 taps stay inside int32.
void PackWeights(const TensorView& w, const TensorView& w_zp, int64_t rows, int64_t k,
                 int16_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t zp = ZeroPointAt(w_zp, r);
    for (int64_t i = 0; i < k; ++i) {
      out[r * k + i] = static_cast<int16_t>(LoadInt(w.dtype, w.raw, r * k + i) - zp);
    }
  }
}

size_t AlignUp(size_t n) { return (n + 63) / 64 * 64; }

// ---- QLinearConv ----

struct QConvState : KernelState {
  Window3d w;
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  int64_t cg = 0, mg = 0;  // channels per group, in and out
  int64_t k = 0;           // taps per output value: cg * kernel size
  int64_t col_tile = 0;
  bool depthwise = false;
  bool has_bias = false;
  DType x_type = DType::kU8, y_type = DType::kU8;
  RealClamp clamp;
  std::vector<int16_t> packed;  // (w - w_zp), [M, K]; empty: packed into scratch per invoke
  // Scratch layout (byte offsets): runtime-packed weights, requantizers, im2col tile, sums.
  size_t packed_offset = 0, rq_offset = 0, col_offset = 0, acc_offset = 0;

  size_t persistent_bytes() const override { return packed.size() * sizeof(int16_t); }
};

// Rows (channel, kd, kh, kw) of (x - x_zp) for output columns [col0, col0 + cols) of one group;
// 0 where the tap falls in the padding.
template <typename X>
void Im2colQ(const Window3d& w, int64_t channels, const X* x, int32_t x_zp, int64_t col0,
             int64_t cols, int16_t* col) {
  const int64_t ohw = w.out[1] * w.out[2];
  int64_t row = 0;
  for (int64_t c = 0; c < channels; ++c) {
    const X* xc = x + c * w.in_size();
    for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
      for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
        for (int64_t kw = 0; kw < w.kernel[2]; ++kw, ++row) {
          int16_t* dst = col + row * cols;
          const int64_t x_off = kw * w.dilation[2] - w.pad[2];
          int64_t j = 0, pos = col0;
          while (j < cols) {
            const int64_t od = pos / ohw;
            const int64_t oh = (pos / w.out[2]) % w.out[1];
            const int64_t ow0 = pos % w.out[2];
            const int64_t run = std::min(cols - j, w.out[2] - ow0);
            const int64_t id = od * w.stride[0] + kd * w.dilation[0] - w.pad[0];
            const int64_t ih = oh * w.stride[1] + kh * w.dilation[1] - w.pad[1];
            if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
              std::fill(dst + j, dst + j + run, int16_t{0});
            } else {
              const X* src = xc + (id * w.in[1] + ih) * w.in[2];
              for (int64_t t = 0; t < run; ++t) {
                const int64_t iw = (ow0 + t) * w.stride[2] + x_off;
                dst[j + t] = iw >= 0 && iw < w.in[2] ? static_cast<int16_t>(src[iw] - x_zp) : 0;
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

// acc[r][j] = sum_k wt[r][k] * col[k][j] for kRows rows.
template <int kRows>
void GemmRows(const int16_t* wt, int64_t k, const int16_t* col, int64_t cols, int32_t* acc) {
  std::fill(acc, acc + kRows * cols, 0);
  for (int64_t kk = 0; kk < k; ++kk) {
    const int16_t* c = col + kk * cols;
    for (int r = 0; r < kRows; ++r) {
      const int32_t wv = wt[r * k + kk];
      if (wv == 0) continue;
      int32_t* a = acc + r * cols;
      for (int64_t j = 0; j < cols; ++j) a[j] += wv * c[j];
    }
  }
}

struct QConvGemmTask {
  const QConvState* s;
  const int16_t* wg;  // this group's packed weights [mg, K]
  const int16_t* col;
  int64_t cols;
  int32_t* acc;           // [mg, cols]
  const int32_t* bias;    // this group's bias, or nullptr
  const Requantizer* rq;  // this group's requantizers [mg]
  uint8_t* y;             // this group's output planes, byte address; column offset applied
  int64_t out_size;
};

void QConvGemmBlock(void* context, size_t block) {
  const auto& t = *static_cast<const QConvGemmTask*>(context);
  const QConvState& s = *t.s;
  const int64_t m0 = static_cast<int64_t>(block) * kRowBlock;
  const int64_t rows = std::min<int64_t>(kRowBlock, s.mg - m0);
  int32_t* acc = t.acc + m0 * t.cols;
  const int16_t* wt = t.wg + m0 * s.k;
  if (rows == kRowBlock) {
    GemmRows<kRowBlock>(wt, s.k, t.col, t.cols, acc);
  } else {
    for (int64_t r = 0; r < rows; ++r) {
      GemmRows<1>(wt + r * s.k, s.k, t.col, t.cols, acc + r * t.cols);
    }
  }
  const size_t y_size = DTypeSize(s.y_type);
  for (int64_t r = 0; r < rows; ++r) {
    int32_t* a = acc + r * t.cols;
    if (t.bias != nullptr) {
      const int32_t b = t.bias[m0 + r];
      for (int64_t j = 0; j < t.cols; ++j) a[j] += b;
    }
    StoreRowAs(s.y_type, t.rq[m0 + r], a, t.cols, t.y + (m0 + r) * t.out_size * y_size);
  }
}

struct QDepthwiseTask {
  const QConvState* s;
  const void* x;
  int32_t x_zp;
  const int16_t* packed;
  const int32_t* bias;
  const Requantizer* rq;  // [M]
  void* y;
};

// Output columns a depthwise row is computed in at once; the sums live on the stack.
constexpr int64_t kDepthwiseChunk = 256;

// One output plane of a depthwise conv, a row chunk at a time: each kernel tap adds
// w * (x - x_zp) over the output columns whose input column is inside the row, so the inner
// loop has no bounds checks (and vectorizes for stride 1).
template <typename X, typename Y>
void QDepthwisePlane(const QDepthwiseTask& t, int64_t plane) {
  const QConvState& s = *t.s;
  const Window3d& w = s.w;
  const int64_t m = plane % s.out_channels;
  const int64_t n = plane / s.out_channels;
  const int64_t c = m / s.mg;  // one input channel per group
  const X* x = static_cast<const X*>(t.x) + (n * s.in_channels + c) * w.in_size();
  const int16_t* wt = t.packed + m * w.kernel_size();
  Y* y = static_cast<Y*>(t.y) + plane * w.out_size();
  const int32_t bias = t.bias != nullptr ? t.bias[m] : 0;
  const int32_t x_zp = t.x_zp;
  const Requantizer rq = t.rq[m];
  int32_t acc[kDepthwiseChunk];
  for (int64_t od = 0; od < w.out[0]; ++od) {
    for (int64_t oh = 0; oh < w.out[1]; ++oh) {
      Y* yrow = y + (od * w.out[1] + oh) * w.out[2];
      for (int64_t ow0 = 0; ow0 < w.out[2]; ow0 += kDepthwiseChunk) {
        const int64_t cols = std::min(kDepthwiseChunk, w.out[2] - ow0);
        std::fill(acc, acc + cols, bias);
        for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
          const int64_t id = od * w.stride[0] + kd * w.dilation[0] - w.pad[0];
          if (id < 0 || id >= w.in[0]) continue;
          for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
            const int64_t ih = oh * w.stride[1] + kh * w.dilation[1] - w.pad[1];
            if (ih < 0 || ih >= w.in[1]) continue;
            const X* xrow = x + (id * w.in[1] + ih) * w.in[2];
            const int16_t* wrow = wt + (kd * w.kernel[1] + kh) * w.kernel[2];
            for (int64_t kw = 0; kw < w.kernel[2]; ++kw) {
              const int32_t wv = wrow[kw];
              if (wv == 0) continue;
              // Output columns ow whose input column ow * stride + x_off is inside the row.
              const int64_t x_off = kw * w.dilation[2] - w.pad[2];
              const int64_t first = x_off >= 0 ? 0 : (-x_off + w.stride[2] - 1) / w.stride[2];
              const int64_t last =
                  w.in[2] - x_off <= 0
                      ? 0
                      : std::min(w.out[2], (w.in[2] - x_off - 1) / w.stride[2] + 1);
              const int64_t lo = std::max(first, ow0), hi = std::min(last, ow0 + cols);
              if (w.stride[2] == 1) {
                const X* src = xrow + x_off;
                for (int64_t ow = lo; ow < hi; ++ow) {
                  acc[ow - ow0] += wv * (static_cast<int32_t>(src[ow]) - x_zp);
                }
              } else {
                for (int64_t ow = lo; ow < hi; ++ow) {
                  acc[ow - ow0] +=
                      wv * (static_cast<int32_t>(xrow[ow * w.stride[2] + x_off]) - x_zp);
                }
              }
            }
          }
        }
        for (int64_t j = 0; j < cols; ++j) yrow[ow0 + j] = rq.Apply<Y>(acc[j]);
      }
    }
  }
}

void QDepthwiseThunk(void* context, size_t plane) {
  const auto& t = *static_cast<const QDepthwiseTask*>(context);
  const bool xu = t.s->x_type == DType::kU8, yu = t.s->y_type == DType::kU8;
  const int64_t p = static_cast<int64_t>(plane);
  if (xu && yu) QDepthwisePlane<uint8_t, uint8_t>(t, p);
  if (xu && !yu) QDepthwisePlane<uint8_t, int8_t>(t, p);
  if (!xu && yu) QDepthwisePlane<int8_t, uint8_t>(t, p);
  if (!xu && !yu) QDepthwisePlane<int8_t, int8_t>(t, p);
}

// Runs fn(i) for i in [0, n), on the pool when there is one.
void ParallelFor(pthreadpool_t pool, pthreadpool_task_1d_t fn, void* context, size_t n) {
  if (pool != nullptr) {
    pthreadpool_parallelize_1d(pool, fn, context, n, ThreadpoolFlagsForThisThread());
  } else {
    for (size_t i = 0; i < n; ++i) fn(context, i);
  }
}

}  // namespace

bool SupportsQLinearConv(const SupportContext& ctx) {
  const size_t rank = ctx.inputs[0].dims.size();
  return rank >= 3 && rank <= 2 + static_cast<size_t>(kMaxSpatial);
}

Status PrepareQLinearConv(PrepareContext& ctx) {
  auto s = std::make_unique<QConvState>();
  const auto& x = ctx.inputs[0].dims;
  const auto& wt = ctx.inputs[3].dims;
  const auto& y = ctx.outputs[0].dims;
  RETURN_IF_ERROR(ResolveWindow(ctx, {x.begin() + 2, x.end()}, {y.begin() + 2, y.end()},
                                {wt.begin() + 2, wt.end()}, &s->w));
  ASSIGN_OR_RETURN(s->clamp, ParseClamp(ctx));
  ASSIGN_OR_RETURN(s->group, ctx.node.GetInt("group", 1));
  s->batch = x[0];
  s->in_channels = x[1];
  s->out_channels = wt[0];
  s->cg = x[1] / s->group;
  s->mg = wt[0] / s->group;
  s->k = s->cg * s->w.kernel_size();
  s->depthwise = s->cg == 1 && s->group > 1;
  s->has_bias = ctx.inputs.size() > 8 && ctx.inputs[8].dtype != DType::kUndefined;
  s->x_type = ctx.inputs[0].dtype;
  s->y_type = ctx.outputs[0].dtype;

  size_t bytes = 0;
  const Tensor* w_const = ctx.constants[3];
  const Tensor* wzp_const = ctx.constants[5];
  int64_t max_weight = 255;  // bound of |w - w_zp|; exact when the weights are constant
  if (w_const != nullptr && wzp_const != nullptr) {
    s->packed.resize(static_cast<size_t>(s->out_channels * s->k));
    PackWeights(w_const->view(), wzp_const->view(), s->out_channels, s->k, s->packed.data());
    max_weight = 0;
    for (int16_t v : s->packed) max_weight = std::max<int64_t>(max_weight, std::abs(v));
  } else {
    s->packed_offset = bytes;
    bytes += AlignUp(static_cast<size_t>(s->out_channels * s->k) * sizeof(int16_t));
  }
  // ONNX prescribes an int32 accumulator; refuse shapes where it could overflow rather than
  // compute garbage (|x - x_zp| <= 255).
  if (255 * max_weight * s->k > std::numeric_limits<int32_t>::max()) {
    return ctx.NotSupported("QLinearConv with " + std::to_string(s->k) +
                            " taps per output could overflow the int32 accumulator");
  }
  s->rq_offset = bytes;
  bytes += AlignUp(static_cast<size_t>(s->out_channels) * sizeof(Requantizer));
  if (!s->depthwise) {
    const int64_t out_size = s->w.out_size();
    s->col_tile =
        std::min(out_size, std::max(kMinColTile, kColBudget / std::max<int64_t>(1, s->k)));
    s->col_offset = bytes;
    bytes += AlignUp(static_cast<size_t>(s->k * s->col_tile) * sizeof(int16_t));
    s->acc_offset = bytes;
    bytes += AlignUp(static_cast<size_t>(s->mg * s->col_tile) * sizeof(int32_t));
  }
  ctx.scratch_bytes = bytes;
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeQLinearConv(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QConvState>();
  const Window3d& w = s.w;
  const TensorView& x = ctx.inputs[0];
  const TensorView& y_zp = ctx.inputs[7];
  const int32_t x_zp = ZeroPointAt(ctx.inputs[2], 0);
  const float x_scale = ScaleAt(ctx.inputs[1], 0);
  const float y_scale = ScaleAt(ctx.inputs[6], 0);
  const int32_t* bias = s.has_bias ? ctx.inputs[8].data<const int32_t>() : nullptr;
  std::byte* scratch = static_cast<std::byte*>(ctx.scratch);
  const int16_t* packed = s.packed.data();
  if (s.packed.empty()) {
    int16_t* p = reinterpret_cast<int16_t*>(scratch + s.packed_offset);
    PackWeights(ctx.inputs[3], ctx.inputs[5], s.out_channels, s.k, p);
    packed = p;
  }
  auto* rq = reinterpret_cast<Requantizer*>(scratch + s.rq_offset);
  for (int64_t m = 0; m < s.out_channels; ++m) {
    rq[m] =
        MakeRequantizer(s.clamp, x_scale, ScaleAt(ctx.inputs[4], m), y_scale, ZeroPointAt(y_zp, 0));
  }
  const int64_t out_size = w.out_size();
  if (out_size == 0 || s.batch == 0) return Status::Ok();

  if (s.depthwise) {
    QDepthwiseTask task{&s, x.raw, x_zp, packed, bias, rq, ctx.outputs[0].raw};
    ParallelFor(ctx.threadpool, QDepthwiseThunk, &task,
                static_cast<size_t>(s.batch * s.out_channels));
    return Status::Ok();
  }

  int16_t* col = reinterpret_cast<int16_t*>(scratch + s.col_offset);
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + s.acc_offset);
  const size_t x_size = DTypeSize(x.dtype), y_size = DTypeSize(s.y_type);
  const size_t blocks = static_cast<size_t>((s.mg + kRowBlock - 1) / kRowBlock);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t g = 0; g < s.group; ++g) {
      const void* xg = static_cast<const std::byte*>(x.raw) +
                       (n * s.in_channels + g * s.cg) * w.in_size() * x_size;
      uint8_t* yg = static_cast<uint8_t*>(ctx.outputs[0].raw) +
                    (n * s.out_channels + g * s.mg) * out_size * y_size;
      for (int64_t c0 = 0; c0 < out_size; c0 += s.col_tile) {
        const int64_t cols = std::min(s.col_tile, out_size - c0);
        if (x.dtype == DType::kU8) {
          Im2colQ(w, s.cg, static_cast<const uint8_t*>(xg), x_zp, c0, cols, col);
        } else {
          Im2colQ(w, s.cg, static_cast<const int8_t*>(xg), x_zp, c0, cols, col);
        }
        QConvGemmTask task{&s,
                           packed + g * s.mg * s.k,
                           col,
                           cols,
                           acc,
                           bias != nullptr ? bias + g * s.mg : nullptr,
                           rq + g * s.mg,
                           yg + c0 * y_size,
                           out_size};
        ParallelFor(ctx.threadpool, QConvGemmBlock, &task, blocks);
      }
    }
  }
  return Status::Ok();
}

namespace {

// ---- QLinearConvAdd ----

// The NCHW QLinearConv computing a, then the add: x is transposed to NCHW in scratch, a lands
// in scratch, and the add reads a (NCHW) and z (NHWC) and writes the NHWC output. The output may
// share z's buffer: each element of z is read once, just before the same element is written.
struct QConvAddState : KernelState {
  Node conv;  // ONNX QLinearConv: the node's conv inputs and attributes, no activation
  std::vector<TensorType> conv_inputs;
  TensorType a_type;
  std::unique_ptr<KernelState> conv_state;
  size_t x_bytes = 0, a_bytes = 0, conv_scratch = 0;
  RealClamp clamp;  // the add's activation, real units

  size_t persistent_bytes() const override {
    return conv_state ? conv_state->persistent_bytes() : 0;
  }
};

enum QConvAddInput { kZ = 9, kZScale, kZZeroPoint, kOutScale, kOutZeroPoint };

Status PrepareNhwcQLinearConvAdd(PrepareContext& ctx) {
  auto s = std::make_unique<QConvAddState>();
  ASSIGN_OR_RETURN(s->clamp, ParseClamp(ctx));
  const int conv_inputs = ctx.inputs[8].dtype != DType::kUndefined ? 9 : 8;
  s->conv = ctx.node;
  s->conv.domain.clear();
  s->conv.op_type = "QLinearConv";
  s->conv.inputs.resize(conv_inputs);
  s->conv.attrs.erase("activation");
  s->conv.attrs.erase("activation_params");
  s->conv_inputs.assign(ctx.inputs.begin(), ctx.inputs.begin() + conv_inputs);
  const std::vector<int64_t>& x = ctx.inputs[0].dims;
  const std::vector<int64_t>& y = ctx.outputs[0].dims;
  s->conv_inputs[0].dims = {x[0], x[3], x[1], x[2]};
  s->a_type = TensorType{ctx.inputs[7].dtype, {y[0], y[3], y[1], y[2]}};
  std::vector<const Tensor*> constants(ctx.constants.begin(), ctx.constants.begin() + conv_inputs);
  constants[0] = nullptr;
  PrepareContext inner{s->conv, s->conv_inputs, constants, std::span(&s->a_type, 1),
                       ctx.num_threads};
  inner.threadpool = ctx.threadpool;
  RETURN_IF_ERROR(PrepareQLinearConv(inner));
  s->conv_state = std::move(inner.state);
  s->conv_scratch = inner.scratch_bytes;
  s->x_bytes = AlignUp(static_cast<size_t>(NumElements(x)));
  s->a_bytes = AlignUp(static_cast<size_t>(NumElements(y)));
  ctx.scratch_bytes = s->x_bytes + s->a_bytes + s->conv_scratch;
  ctx.state = std::move(s);
  return Status::Ok();
}

// The add's parameters in output units.
struct ConvAddParams {
  float alpha, beta, z_zp, lo, hi;
  int32_t a_zp, out_zp;
};

template <typename Out>
void ConvAddRows(const ConvAddParams& p, const TensorView& a, const TensorView& z, Out* out) {
  const int64_t batch = z.dims[0], hw = z.dims[1] * z.dims[2], channels = z.dims[3];
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t i = 0; i < hw; ++i) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t at = (n * channels + c) * hw + i;
        const int64_t zt = (n * hw + i) * channels + c;
        const float k = static_cast<float>(LoadInt(a.dtype, a.raw, at) - p.a_zp);
        const float j = static_cast<float>(LoadInt(z.dtype, z.raw, zt)) - p.z_zp;
        // One rounding for the product and the sum, as oneDNN's sum post-op (an FMA).
        float v = std::fma(j, p.beta, k * p.alpha);
        v = v < p.lo ? p.lo : (v > p.hi ? p.hi : v);
        out[zt] = QuantizeUnits<Out>(v, p.out_zp);
      }
    }
  }
}

Status InvokeNhwcQLinearConvAdd(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QConvAddState>();
  std::byte* scratch = static_cast<std::byte*>(ctx.scratch);
  const TensorView& x = ctx.inputs[0];
  // NHWC -> NCHW, one byte per element.
  const int64_t batch = x.dims[0], hw = x.dims[1] * x.dims[2], channels = x.dims[3];
  const auto* xs = static_cast<const uint8_t*>(x.raw);
  auto* xt = reinterpret_cast<uint8_t*>(scratch);
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t i = 0; i < hw; ++i) {
      for (int64_t c = 0; c < channels; ++c) {
        xt[(n * channels + c) * hw + i] = xs[(n * hw + i) * channels + c];
      }
    }
  }
  const int conv_inputs = static_cast<int>(s.conv_inputs.size());
  TensorView inputs[9];
  for (int i = 0; i < conv_inputs; ++i) inputs[i] = ctx.inputs[i];
  ASSIGN_OR_RETURN(inputs[0], TensorView::Make(x.dtype, s.conv_inputs[0].dims, xt));
  TensorView a[1];
  ASSIGN_OR_RETURN(a[0], TensorView::Make(s.a_type.dtype, s.a_type.dims, scratch + s.x_bytes));
  InvokeContext inner{s.conv,
                      s.conv_state.get(),
                      std::span<const TensorView>(inputs, conv_inputs),
                      std::span<TensorView>(a, 1),
                      s.conv_scratch > 0 ? scratch + s.x_bytes + s.a_bytes : nullptr,
                      s.conv_scratch,
                      ctx.threadpool};
  RETURN_IF_ERROR(InvokeQLinearConv(inner));

  const float out_scale = ScaleAt(ctx.inputs[kOutScale], 0);
  ConvAddParams p;
  p.alpha = ScaleAt(ctx.inputs[6], 0) / out_scale;
  p.beta = ScaleAt(ctx.inputs[kZScale], 0) / out_scale;
  p.z_zp = static_cast<float>(ZeroPointAt(ctx.inputs[kZZeroPoint], 0));
  p.lo = s.clamp.lo / out_scale;
  p.hi = s.clamp.hi / out_scale;
  p.a_zp = ZeroPointAt(ctx.inputs[7], 0);
  p.out_zp = ZeroPointAt(ctx.inputs[kOutZeroPoint], 0);
  TensorView& out = ctx.outputs[0];
  if (out.dtype == DType::kU8) {
    ConvAddRows(p, a[0], ctx.inputs[kZ], out.data<uint8_t>());
  } else {
    ConvAddRows(p, a[0], ctx.inputs[kZ], out.data<int8_t>());
  }
  return Status::Ok();
}

// ---- QLinearMatMul ----

struct QMatMulState : KernelState {
  int64_t m = 0, n = 0, k = 0;
  std::vector<int64_t> a_offsets, b_offsets;  // element offsets per output batch
  int64_t b_batches = 1;                      // distinct [K, N] matrices in b
  RealClamp clamp;
  std::vector<int16_t> packed;  // (b - b_zp[col]) for every b matrix; empty: packed per invoke
  size_t packed_offset = 0, acc_offset = 0;

  size_t persistent_bytes() const override {
    return packed.size() * sizeof(int16_t) +
           (a_offsets.size() + b_offsets.size()) * sizeof(int64_t);
  }
};

// Right-aligned broadcast strides of `dims` against `out` (0 for size-1 or missing dims).
std::vector<int64_t> BatchStrides(const std::vector<int64_t>& dims, size_t out_rank,
                                  int64_t matrix) {
  std::vector<int64_t> st(out_rank, 0);
  int64_t stride = matrix;
  for (size_t i = 0; i < dims.size(); ++i) {
    const size_t d = dims.size() - 1 - i;
    st[out_rank - 1 - i] = dims[d] == 1 ? 0 : stride;
    stride *= dims[d];
  }
  return st;
}

// (b - b_zp[col]) as int16, per-column zero points along the last dim.
void PackB(const TensorView& b, const TensorView& b_zp, int64_t matrices, int64_t k, int64_t n,
           int16_t* out) {
  for (int64_t i = 0; i < matrices * k; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      out[i * n + j] =
          static_cast<int16_t>(LoadInt(b.dtype, b.raw, i * n + j) - ZeroPointAt(b_zp, j));
    }
  }
}

Status PrepareQLinearMatMul(PrepareContext& ctx) {
  auto s = std::make_unique<QMatMulState>();
  const std::vector<int64_t>& a = ctx.inputs[0].dims;
  const std::vector<int64_t>& b = ctx.inputs[3].dims;
  const std::vector<int64_t>& y = ctx.outputs[0].dims;
  ASSIGN_OR_RETURN(s->clamp, ParseClamp(ctx));
  s->k = a.back();
  s->m = a.size() >= 2 ? a[a.size() - 2] : 1;
  s->n = b.size() >= 2 ? b.back() : 1;
  const std::vector<int64_t> a_batch(a.begin(), a.end() - std::min<size_t>(a.size(), 2));
  const std::vector<int64_t> b_batch(b.begin(), b.end() - std::min<size_t>(b.size(), 2));
  const size_t out_rank = std::max(a_batch.size(), b_batch.size());
  const std::vector<int64_t> out_batch(y.begin(), y.begin() + out_rank);
  const int64_t batches = NumElements(out_batch);
  s->b_batches = NumElements(b_batch);
  const std::vector<int64_t> as = BatchStrides(a_batch, out_rank, s->m * s->k);
  const std::vector<int64_t> bs = BatchStrides(b_batch, out_rank, s->k * s->n);
  s->a_offsets.resize(batches);
  s->b_offsets.resize(batches);
  for (int64_t i = 0; i < batches; ++i) {
    int64_t rem = i, ao = 0, bo = 0;
    for (size_t d = out_rank; d-- > 0;) {
      const int64_t c = rem % out_batch[d];
      rem /= out_batch[d];
      ao += c * as[d];
      bo += c * bs[d];
    }
    s->a_offsets[i] = ao;
    s->b_offsets[i] = bo;
  }
  const int64_t b_elems = s->b_batches * s->k * s->n;
  size_t bytes = 0;
  if (ctx.constants[3] != nullptr && ctx.constants[5] != nullptr) {
    s->packed.resize(static_cast<size_t>(b_elems));
    PackB(ctx.constants[3]->view(), ctx.constants[5]->view(), s->b_batches, s->k, s->n,
          s->packed.data());
  } else {
    s->packed_offset = bytes;
    bytes += AlignUp(static_cast<size_t>(b_elems) * sizeof(int16_t));
  }
  s->acc_offset = bytes;
  bytes += AlignUp(static_cast<size_t>(s->n) * sizeof(int32_t));
  bytes += AlignUp(static_cast<size_t>(s->n) * sizeof(Requantizer));
  ctx.scratch_bytes = bytes;
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeQLinearMatMul(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QMatMulState>();
  const TensorView& a = ctx.inputs[0];
  TensorView& y = ctx.outputs[0];
  std::byte* scratch = static_cast<std::byte*>(ctx.scratch);
  const int16_t* packed = s.packed.data();
  if (s.packed.empty()) {
    int16_t* p = reinterpret_cast<int16_t*>(scratch + s.packed_offset);
    PackB(ctx.inputs[3], ctx.inputs[5], s.b_batches, s.k, s.n, p);
    packed = p;
  }
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + s.acc_offset);
  auto* rq = reinterpret_cast<Requantizer*>(scratch + s.acc_offset +
                                            AlignUp(static_cast<size_t>(s.n) * sizeof(int32_t)));
  const float a_scale = ScaleAt(ctx.inputs[1], 0);
  const int32_t a_zp = ZeroPointAt(ctx.inputs[2], 0);
  const float y_scale = ScaleAt(ctx.inputs[6], 0);
  const int32_t y_zp = ZeroPointAt(ctx.inputs[7], 0);
  for (int64_t j = 0; j < s.n; ++j) {
    rq[j] = MakeRequantizer(s.clamp, a_scale, ScaleAt(ctx.inputs[4], j), y_scale, y_zp);
  }
  const size_t y_size = DTypeSize(y.dtype);
  for (size_t bi = 0; bi < s.a_offsets.size(); ++bi) {
    const int16_t* bm = packed + s.b_offsets[bi];
    for (int64_t i = 0; i < s.m; ++i) {
      std::fill(acc, acc + s.n, 0);
      const int64_t arow = s.a_offsets[bi] + i * s.k;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        const int32_t av = LoadInt(a.dtype, a.raw, arow + kk) - a_zp;
        if (av == 0) continue;
        const int16_t* brow = bm + kk * s.n;
        for (int64_t j = 0; j < s.n; ++j) acc[j] += av * brow[j];
      }
      std::byte* yrow =
          static_cast<std::byte*>(y.raw) + ((static_cast<int64_t>(bi) * s.m + i) * s.n) * y_size;
      for (int64_t j = 0; j < s.n; ++j) {
        if (y.dtype == DType::kU8) {
          reinterpret_cast<uint8_t*>(yrow)[j] = rq[j].Apply<uint8_t>(acc[j]);
        } else {
          reinterpret_cast<int8_t*>(yrow)[j] = rq[j].Apply<int8_t>(acc[j]);
        }
      }
    }
  }
  return Status::Ok();
}

// ---- QLinearAdd ----

struct QAddState : KernelState {
  BroadcastIndexer indexer;
  bool same_shape = false;  // a, b and c have the same dims: no index arithmetic
  int64_t size = 0;
  RealClamp clamp;
};

Status PrepareQLinearAdd(PrepareContext& ctx) {
  auto s = std::make_unique<QAddState>();
  const auto& a = ctx.inputs[0].dims;
  const auto& b = ctx.inputs[3].dims;
  const auto& c = ctx.outputs[0].dims;
  ASSIGN_OR_RETURN(s->clamp, ParseClamp(ctx));
  s->same_shape = a == c && b == c;
  s->indexer = BroadcastIndexer(c, {a, b});
  s->size = NumElements(c);
  ctx.state = std::move(s);
  return Status::Ok();
}

// The same float operations as DequantizeLinear, Add, Relu/Clip and QuantizeLinear.
struct AddParams {
  float as, az, bs, bz, lo, hi, cs;
  int32_t cz;
};

// Same-shape QLinearAdd (residual adds): one branch-free loop the compiler vectorizes. The
// library is built for baseline x86-64 (SSE2); AddSameShapeAvx512 is the same source compiled
// for AVX-512, picked at run time, 4x wider. No FMA contraction happens (ISO C++ mode implies
// -ffp-contract=off), so both give the bits of DequantizeLinear -> Add -> QuantizeLinear.
template <typename A, typename B, typename C>
[[gnu::always_inline]] inline void AddSameShape(const A* __restrict a, const B* __restrict b,
                                                const AddParams p, int64_t n, C* __restrict c) {
  for (int64_t i = 0; i < n; ++i) {
    float v = (static_cast<float>(a[i]) - p.az) * p.as + (static_cast<float>(b[i]) - p.bz) * p.bs;
    v = v < p.lo ? p.lo : (v > p.hi ? p.hi : v);
    c[i] = QuantizeUnits<C>(v / p.cs, p.cz);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
template <typename A, typename B, typename C>
[[gnu::target("avx512f,avx512bw,avx512vl,avx512dq")]] void AddSameShapeAvx512(
    const A* __restrict a, const B* __restrict b, const AddParams p, int64_t n, C* __restrict c) {
  AddSameShape(a, b, p, n, c);
}
#endif

template <typename A, typename B, typename C>
void RunQLinearAdd(const QAddState& s, const A* __restrict a, const B* __restrict b,
                   const AddParams p, C* __restrict c) {
  if (s.same_shape) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (CpuHasAvx512()) return AddSameShapeAvx512(a, b, p, s.size, c);
#endif
    return AddSameShape(a, b, p, s.size, c);
  }
  int64_t offs[BroadcastIndexer::kMaxInputs];
  for (int64_t i = 0; i < s.size; ++i) {
    s.indexer.Offsets(i, offs);
    float v = (static_cast<float>(a[offs[0]]) - p.az) * p.as +
              (static_cast<float>(b[offs[1]]) - p.bz) * p.bs;
    v = v < p.lo ? p.lo : (v > p.hi ? p.hi : v);
    c[i] = QuantizeUnits<C>(v / p.cs, p.cz);
  }
}

Status InvokeQLinearAdd(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QAddState>();
  const TensorView& a = ctx.inputs[0];
  const TensorView& b = ctx.inputs[3];
  TensorView& c = ctx.outputs[0];
  AddParams p;
  p.as = ScaleAt(ctx.inputs[1], 0);
  p.az = static_cast<float>(ZeroPointAt(ctx.inputs[2], 0));
  p.bs = ScaleAt(ctx.inputs[4], 0);
  p.bz = static_cast<float>(ZeroPointAt(ctx.inputs[5], 0));
  p.lo = s.clamp.lo;
  p.hi = s.clamp.hi;
  p.cs = ScaleAt(ctx.inputs[6], 0);
  p.cz = ZeroPointAt(ctx.inputs[7], 0);
  auto with_c = [&](auto* ap, auto* bp) {
    if (c.dtype == DType::kU8) {
      RunQLinearAdd(s, ap, bp, p, c.data<uint8_t>());
    } else {
      RunQLinearAdd(s, ap, bp, p, c.data<int8_t>());
    }
  };
  auto with_b = [&](auto* ap) {
    if (b.dtype == DType::kU8) {
      with_c(ap, b.data<const uint8_t>());
    } else {
      with_c(ap, b.data<const int8_t>());
    }
  };
  if (a.dtype == DType::kU8) {
    with_b(a.data<const uint8_t>());
  } else {
    with_b(a.data<const int8_t>());
  }
  return Status::Ok();
}

// ---- QLinearGlobalAveragePool ----

struct QGapState : KernelState {
  int64_t planes = 0, plane_size = 0;
  RealClamp clamp;
};

Status PrepareQLinearGlobalAveragePool(PrepareContext& ctx) {
  auto s = std::make_unique<QGapState>();
  const auto& x = ctx.inputs[0].dims;
  ASSIGN_OR_RETURN(s->clamp, ParseClamp(ctx));
  s->planes = x[0] * x[1];
  s->plane_size = NumElements(std::span<const int64_t>(x).subspan(2));
  ctx.state = std::move(s);
  return Status::Ok();
}

template <typename X, typename Y>
void RunQLinearGap(const QGapState& s, const X* x, int32_t x_zp, double x_scale, double y_scale,
                   int32_t y_zp, Y* y) {
  for (int64_t p = 0; p < s.planes; ++p) {
    const X* px = x + p * s.plane_size;
    int64_t sum = 0;
    for (int64_t i = 0; i < s.plane_size; ++i) sum += static_cast<int32_t>(px[i]) - x_zp;
    double real = s.plane_size > 0
                      ? x_scale * static_cast<double>(sum) / static_cast<double>(s.plane_size)
                      : 0.0;
    real =
        std::min(std::max(real, static_cast<double>(s.clamp.lo)), static_cast<double>(s.clamp.hi));
    y[p] = SaturateAddZeroPoint<Y>(RoundHalfToEven(real / y_scale), y_zp);
  }
}

Status InvokeQLinearGlobalAveragePool(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QGapState>();
  const TensorView& x = ctx.inputs[0];
  TensorView& y = ctx.outputs[0];
  const int32_t x_zp = ZeroPointAt(ctx.inputs[2], 0), y_zp = ZeroPointAt(ctx.inputs[4], 0);
  const double xs = ScaleAt(ctx.inputs[1], 0), ys = ScaleAt(ctx.inputs[3], 0);
  const bool xu = x.dtype == DType::kU8, yu = y.dtype == DType::kU8;
  if (xu && yu) RunQLinearGap(s, x.data<const uint8_t>(), x_zp, xs, ys, y_zp, y.data<uint8_t>());
  if (xu && !yu) RunQLinearGap(s, x.data<const uint8_t>(), x_zp, xs, ys, y_zp, y.data<int8_t>());
  if (!xu && yu) RunQLinearGap(s, x.data<const int8_t>(), x_zp, xs, ys, y_zp, y.data<uint8_t>());
  if (!xu && !yu) RunQLinearGap(s, x.data<const int8_t>(), x_zp, xs, ys, y_zp, y.data<int8_t>());
  return Status::Ok();
}

// NHWC form: x is [N, H, W, C]. Channel sums accumulate a pixel at a time (a contiguous row of
// C values, so the loop vectorizes) in int32 over blocks of pixels small enough not to overflow,
// then in int64; the requantization is the NCHW kernel's, so both forms give the same bits.
struct QGapNhwcState : KernelState {
  int64_t batch = 0, pixels = 0, channels = 0;
  RealClamp clamp;
};

// 255 * kGapBlock < 2^31: a block's int32 sum of |x - x_zp| <= 255 cannot overflow.
constexpr int64_t kGapBlock = int64_t{1} << 23;

Status PrepareNhwcQLinearGlobalAveragePool(PrepareContext& ctx) {
  auto s = std::make_unique<QGapNhwcState>();
  const auto& x = ctx.inputs[0].dims;
  ASSIGN_OR_RETURN(s->clamp, ParseClamp(ctx));
  s->batch = x[0];
  s->pixels = x[1] * x[2];
  s->channels = x[3];
  ctx.scratch_bytes = AlignUp(static_cast<size_t>(s->channels) * sizeof(int32_t)) +
                      static_cast<size_t>(s->channels) * sizeof(int64_t);
  ctx.state = std::move(s);
  return Status::Ok();
}

// acc[c] += x[p * channels + c] - x_zp over `pixels` rows: contiguous, so it vectorizes.
template <typename X>
[[gnu::always_inline]] inline void AccumulateRows(const X* __restrict x, int64_t pixels,
                                                  int64_t channels, int32_t x_zp,
                                                  int32_t* __restrict acc) {
  for (int64_t p = 0; p < pixels; ++p) {
    const X* __restrict row = x + p * channels;
    for (int64_t c = 0; c < channels; ++c) acc[c] += static_cast<int32_t>(row[c]) - x_zp;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same loop for AVX-512 (the library targets baseline x86-64): MobileNetV2 QDQ's 7x7x1280 pool
// took 0.013 ms.
template <typename X>
[[gnu::target("avx512f,avx512bw,avx512vl,avx512dq")]] void AccumulateRowsAvx512(
    const X* __restrict x, int64_t pixels, int64_t channels, int32_t x_zp,
    int32_t* __restrict acc) {
  AccumulateRows(x, pixels, channels, x_zp, acc);
}
#endif

template <typename X, typename Y>
void RunQLinearGapNhwc(const QGapNhwcState& s, const X* x, int32_t x_zp, double x_scale,
                       double y_scale, int32_t y_zp, void* scratch, Y* y) {
  const int64_t c_count = s.channels;
  int32_t* __restrict acc = static_cast<int32_t*>(scratch);
  int64_t* __restrict total = reinterpret_cast<int64_t*>(
      static_cast<std::byte*>(scratch) + AlignUp(static_cast<size_t>(c_count) * sizeof(int32_t)));
  for (int64_t n = 0; n < s.batch; ++n) {
    const X* xn = x + n * s.pixels * c_count;
    std::fill(total, total + c_count, 0);
    for (int64_t p0 = 0; p0 < s.pixels; p0 += kGapBlock) {
      const int64_t p1 = std::min(s.pixels, p0 + kGapBlock);
      std::fill(acc, acc + c_count, 0);
#if defined(__x86_64__) && defined(__GNUC__)
      if (CpuHasAvx512()) {
        AccumulateRowsAvx512(xn + p0 * c_count, p1 - p0, c_count, x_zp, acc);
      } else {
        AccumulateRows(xn + p0 * c_count, p1 - p0, c_count, x_zp, acc);
      }
#else
      AccumulateRows(xn + p0 * c_count, p1 - p0, c_count, x_zp, acc);
#endif
      for (int64_t c = 0; c < c_count; ++c) total[c] += acc[c];
    }
    for (int64_t c = 0; c < c_count; ++c) {
      double real = s.pixels > 0
                        ? x_scale * static_cast<double>(total[c]) / static_cast<double>(s.pixels)
                        : 0.0;
      real = std::min(std::max(real, static_cast<double>(s.clamp.lo)),
                      static_cast<double>(s.clamp.hi));
      y[n * c_count + c] = SaturateAddZeroPoint<Y>(RoundHalfToEven(real / y_scale), y_zp);
    }
  }
}

Status InvokeNhwcQLinearGlobalAveragePool(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QGapNhwcState>();
  const TensorView& x = ctx.inputs[0];
  TensorView& y = ctx.outputs[0];
  const int32_t x_zp = ZeroPointAt(ctx.inputs[2], 0), y_zp = ZeroPointAt(ctx.inputs[4], 0);
  const double xs = ScaleAt(ctx.inputs[1], 0), ys = ScaleAt(ctx.inputs[3], 0);
  void* scratch = ctx.scratch;
  const bool xu = x.dtype == DType::kU8, yu = y.dtype == DType::kU8;
  if (xu && yu) {
    RunQLinearGapNhwc(s, x.data<const uint8_t>(), x_zp, xs, ys, y_zp, scratch, y.data<uint8_t>());
  } else if (xu) {
    RunQLinearGapNhwc(s, x.data<const uint8_t>(), x_zp, xs, ys, y_zp, scratch, y.data<int8_t>());
  } else if (yu) {
    RunQLinearGapNhwc(s, x.data<const int8_t>(), x_zp, xs, ys, y_zp, scratch, y.data<uint8_t>());
  } else {
    RunQLinearGapNhwc(s, x.data<const int8_t>(), x_zp, xs, ys, y_zp, scratch, y.data<int8_t>());
  }
  return Status::Ok();
}

constexpr KernelPath kRef = KernelPath::kReference;

constexpr KernelDef kRefQLinearKernels[] = {
    {"QLinearConv", kRef, kQuantTypes, SupportsQLinearConv, PrepareQLinearConv, InvokeQLinearConv},
    {"QLinearMatMul", kRef, kQuantTypes, nullptr, PrepareQLinearMatMul, InvokeQLinearMatMul},
    {"QLinearAdd", kRef, kQuantTypes, nullptr, PrepareQLinearAdd, InvokeQLinearAdd, kEdgerunDomain},
    {"QLinearGlobalAveragePool", kRef, kQuantTypes, nullptr, PrepareQLinearGlobalAveragePool,
     InvokeQLinearGlobalAveragePool, kEdgerunDomain},
    {"QLinearGlobalAveragePool", kRef, kQuantTypes, nullptr, PrepareNhwcQLinearGlobalAveragePool,
     InvokeNhwcQLinearGlobalAveragePool, kNhwcDomain},
    {"QLinearConvAdd", kRef, kQuantTypes, nullptr, PrepareNhwcQLinearConvAdd,
     InvokeNhwcQLinearConvAdd, kNhwcDomain, /*may_run_in_place=*/true,
     /*output_aliases_input=*/false, nullptr, /*in_place_input=*/kZ},
};

}  // namespace

std::span<const KernelDef> RefQLinearKernels() { return kRefQLinearKernels; }

}  // namespace edgerun
