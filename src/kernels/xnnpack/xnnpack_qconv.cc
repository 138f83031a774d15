// XNNPACK int8 NHWC QLinearConv (kNhwcDomain): convolution2d_nhwc_qu8 for u8 activations and
// u8 weights (per-tensor scale and zero point), convolution2d_nhwc_qc8 for s8 activations and
// symmetric s8 weights (per-channel or per-tensor scales). Mixed u8/s8 operands are left to
// other paths.
//
// XNNPACK requantizes like the reference on x86: float(acc) * (x_scale * w_scale / y_scale) in
// float, rounded half to even. A fused Relu/Clip becomes the integer output_min/output_max
// round_half_to_even(bound / y_scale) + y_zp; because rounding is monotone this equals the
// reference's clamp of the real value before rounding. Scales, zero points, weights and bias
// must be constants (they are packed at prepare).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/qlinear_conv_inputs.h"
#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {
namespace {

constexpr DTypeSet kQuant{DType::kU8, DType::kI8};

using enum qlinear_conv::Input;

bool ConstantOf(const SupportContext& ctx, int i, DType dtype, int64_t count) {
  return static_cast<int>(ctx.inputs.size()) > i && ctx.inputs[i].dtype == dtype &&
         ctx.constants[i] != nullptr && ctx.inputs[i].num_elements() == count;
}

// Scale usable by XNNPACK: positive, finite and normal.
bool GoodScale(float s) { return std::isnormal(s) && s > 0; }

struct QConvParams : XnnConvShape {
  bool unsigned_8bit = true;  // qu8, else qc8
  float x_scale = 1, y_scale = 1, w_scale_tensor = 1;
  std::vector<float> w_scales;  // qc8: one per output channel
  int32_t x_zp = 0, y_zp = 0, w_zp = 0;
  int32_t out_min = 0, out_max = 255;  // quantized output bounds (activation and type range)
};

// Everything XNNPACK needs, or false. The real-valued activation bounds become integer bounds
// in output units: bound / y_scale rounded half to even (nearbyint in the default FP mode).
bool ResolveQConv(const SupportContext& ctx, QConvParams* p) {
  if (ctx.inputs.size() < 8 || ctx.outputs.size() != 1) return false;
  const TensorType& x = ctx.inputs[kX];
  const TensorType& w = ctx.inputs[kW];
  const DType q = x.dtype;
  if ((q != DType::kU8 && q != DType::kI8) || x.rank() != 4 || w.rank() != 4 || w.dtype != q ||
      ctx.outputs[0].dtype != q || ctx.outputs[0].rank() != 4 || ctx.constants[kW] == nullptr) {
    return false;
  }
  p->unsigned_8bit = q == DType::kU8;
  const int64_t m = w.dims[0];
  if (!ConstantOf(ctx, kXScale, DType::kF32, 1) || !ConstantOf(ctx, kXZeroPoint, q, 1) ||
      !ConstantOf(ctx, kYScale, DType::kF32, 1) || !ConstantOf(ctx, kYZeroPoint, q, 1)) {
    return false;
  }
  const bool per_channel_w = ctx.inputs[kWScale].num_elements() == m && m != 1;
  if (!ConstantOf(ctx, kWScale, DType::kF32, per_channel_w ? m : 1)) return false;
  const int64_t wzp_count = ctx.inputs[kWZeroPoint].num_elements();
  if (!ConstantOf(ctx, kWZeroPoint, q, wzp_count) || (wzp_count != 1 && wzp_count != m)) {
    return false;
  }
  if (qlinear_conv::HasBias(ctx.inputs) && !ConstantOf(ctx, kBias, DType::kI32, m)) {
    return false;
  }
  p->x_scale = ctx.constants[kXScale]->data<float>()[0];
  p->y_scale = ctx.constants[kYScale]->data<float>()[0];
  p->x_zp = QuantizedIntAt(*ctx.constants[kXZeroPoint], 0);
  p->y_zp = QuantizedIntAt(*ctx.constants[kYZeroPoint], 0);
  const float* ws = ctx.constants[kWScale]->data<float>();
  const Tensor& wzp = *ctx.constants[kWZeroPoint];
  if (!GoodScale(p->x_scale) || !GoodScale(p->y_scale)) return false;
  p->w_scales.assign(static_cast<size_t>(m), ws[0]);
  if (per_channel_w) p->w_scales.assign(ws, ws + m);
  for (float s : p->w_scales) {
    // XNNPACK's limits on the requantization scale.
    const float r = p->x_scale * s / p->y_scale;
    if (!GoodScale(s) || !(r < 256.0f) || !(r >= 0x1.0p-32f)) return false;
  }
  if (p->unsigned_8bit) {
    // qu8 takes one weight scale and zero point.
    if (per_channel_w) return false;
    p->w_scale_tensor = ws[0];
    p->w_zp = QuantizedIntAt(wzp, 0);
    for (int64_t i = 1; i < wzp.num_elements(); ++i) {
      if (QuantizedIntAt(wzp, i) != p->w_zp) return false;
    }
  } else {
    // qc8 weights are symmetric.
    for (int64_t i = 0; i < wzp.num_elements(); ++i) {
      if (QuantizedIntAt(wzp, i) != 0) return false;
    }
  }

  Expected<FusedActivation> act = FusedActivation::FromNode(ctx.node);
  if (!act.ok() || act->has_affine()) return false;
  const int32_t type_min = p->unsigned_8bit ? 0 : -128;
  const int32_t type_max = p->unsigned_8bit ? 255 : 127;
  auto quantize_bound = [&](float real) {
    const float units = real / p->y_scale;
    if (!(units > -1e9f)) return type_min;
    if (!(units < 1e9f)) return type_max;
    const int64_t v = static_cast<int64_t>(std::nearbyint(units)) + p->y_zp;
    return static_cast<int32_t>(std::min<int64_t>(type_max, std::max<int64_t>(type_min, v)));
  };
  p->out_min = type_min;
  p->out_max = type_max;
  switch (act->kind) {
    case FusedActivation::Kind::kNone: break;
    case FusedActivation::Kind::kRelu: p->out_min = quantize_bound(0.0f); break;
    case FusedActivation::Kind::kClip:
      if (std::isnan(act->a) || std::isnan(act->b)) return false;
      p->out_min = quantize_bound(act->a);
      p->out_max = quantize_bound(act->b);
      break;
    default: return false;
  }
  if (p->out_min >= p->out_max) return false;
  return ResolveXnnConvShape(PrepareContext(ctx), kW, p);
}

bool SupportsQConv(const SupportContext& ctx) {
  QConvParams p;
  return ResolveQConv(ctx, &p);
}

struct QConvState : XnnState {
  QConvParams p;
};

Status PrepareQConv(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<QConvState>();
  QConvParams& p = s->p;
  const SupportContext sctx{ctx.node, ctx.inputs, ctx.constants, ctx.outputs};
  if (!ResolveQConv(sctx, &p)) {
    return ctx.NotSupported("quantization parameters XNNPACK cannot express exactly");
  }
  // OIHW -> [groups][group out][kH][kW][group in], byte-wise (both 8-bit types).
  const auto& wd = ctx.inputs[kW].dims;
  const int64_t m = wd[0], cg = wd[1], kk = wd[2] * wd[3];
  const auto* w = static_cast<const uint8_t*>(ctx.constants[kW]->raw());
  std::vector<uint8_t> packed(static_cast<size_t>(m * cg * kk));
  for (int64_t o = 0; o < m; ++o) {
    for (int64_t c = 0; c < cg; ++c) {
      for (int64_t k = 0; k < kk; ++k) packed[(o * kk + k) * cg + c] = w[(o * cg + c) * kk + k];
    }
  }
  const int32_t* bias =
      qlinear_conv::HasBias(ctx.inputs) ? ctx.constants[kBias]->data<int32_t>() : nullptr;
  const Window2d& win = p.xnn_window;
  const auto groups = static_cast<uint32_t>(p.group);
  const auto gi = static_cast<size_t>(cg), go = static_cast<size_t>(m / p.group);
  const auto c_stride = static_cast<size_t>(p.channels), m_stride = static_cast<size_t>(m);
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  xnn_status st;
  if (p.unsigned_8bit) {
    st = xnn_create_convolution2d_nhwc_qu8(
        win.pads.top, win.pads.right, win.pads.bottom, win.pads.left, win.kernel_h, win.kernel_w,
        win.stride_h, win.stride_w, win.dilation_h, win.dilation_w, groups, gi, go, c_stride,
        m_stride, static_cast<uint8_t>(p.x_zp), p.x_scale, static_cast<uint8_t>(p.w_zp),
        p.w_scale_tensor, packed.data(), bias, static_cast<uint8_t>(p.y_zp), p.y_scale,
        static_cast<uint8_t>(p.out_min), static_cast<uint8_t>(p.out_max), 0, &op);
  } else {
    st = xnn_create_convolution2d_nhwc_qc8(
        win.pads.top, win.pads.right, win.pads.bottom, win.pads.left, win.kernel_h, win.kernel_w,
        win.stride_h, win.stride_w, win.dilation_h, win.dilation_w, groups, gi, go, c_stride,
        m_stride, static_cast<int8_t>(p.x_zp), p.x_scale, p.w_scales.data(),
        reinterpret_cast<const int8_t*>(packed.data()), bias, static_cast<int8_t>(p.y_zp),
        p.y_scale, static_cast<int8_t>(p.out_min), static_cast<int8_t>(p.out_max), 0, &op);
  }
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "int8 convolution").status());
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupQConv(SetupContext& ctx) {
  auto& s = ctx.state_as<QConvState>();
  const QConvParams& p = s.p;
  const auto* x = static_cast<const std::byte*>(ctx.inputs[kX].raw);
  auto* y = static_cast<std::byte*>(ctx.outputs[0].raw);
  if (x < y + ctx.outputs[0].bytes() && y < x + ctx.inputs[kX].bytes()) {
    return ctx.Fail("output shares memory with input X");
  }
  HeapMeter meter;
  const auto n = static_cast<size_t>(p.batch), h = static_cast<size_t>(p.in_h),
             w = static_cast<size_t>(p.in_w);
  const xnn_status st =
      p.unsigned_8bit
          ? xnn_setup_convolution2d_nhwc_qu8(s.ops[0], n, h, w, reinterpret_cast<const uint8_t*>(x),
                                             reinterpret_cast<uint8_t*>(y), ctx.threadpool)
          : xnn_setup_convolution2d_nhwc_qc8(s.ops[0], n, h, w, reinterpret_cast<const int8_t*>(x),
                                             reinterpret_cast<int8_t*>(y), ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "int8 convolution");
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

constexpr KernelDef kQConvKernels[] = {
    {"QLinearConv", KernelPath::kXnnpack, kQuant, SupportsQConv, PrepareQConv, InvokeXnnOps,
     kNhwcDomain, false, false, SetupQConv},
};

}  // namespace

std::span<const KernelDef> XnnpackQConvKernels() { return kQConvKernels; }

}  // namespace edgerun
