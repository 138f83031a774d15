// NHWC QLinearConv (u8/s8 activations, s8 weights) on oneDNN's int8 convolution (VNNI on
// avx512_core_vnni machines).
//
// ONNX: y = saturate(round((acc + B) * x_scale * w_scale[c] / y_scale) + y_zp), acc the exact
// int32 sum of (x - x_zp) * w. oneDNN computes the same with: the input zero point as a run-time
// src zero point (padding contributes nothing, as in ONNX), B as an s32 bias added to the
// accumulator, per-output-channel output scales (mask 2) computed in float exactly as the
// reference does, the fused Relu/Clip (real domain, set by the QDQ pass) as eltwise post-ops with
// bounds divided by y_scale, then (with an output zero point) an eltwise round half to even,
// and the output zero point as a dst zero point added, now exactly, before the saturating
// conversion (onednn::MakeInt8Attr explains why the round is needed). The result equals the
// reference's except where oneDNN's float evaluation of the scaled sum differs from
// float(acc) * multiplier by an ulp across a rounding boundary.
// Scales and zero points must be constant (they are in folded QDQ models); weight zero points
// must be 0.
#include <oneapi/dnnl/dnnl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"

namespace edgerun {
namespace {

using onednn::ArgSource;
using onednn::ConvGeometry;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

enum QConvInput {
  kX = 0,
  kXScale,
  kXZeroPoint,
  kW,
  kWScale,
  kWZeroPoint,
  kYScale,
  kYZeroPoint,
  kBias
};

bool IsQuant(DType t) { return t == DType::kU8 || t == DType::kI8; }

struct QConvSpec {
  ConvGeometry g;
  dnnl_data_type_t x_type = dnnl_u8, y_type = dnnl_u8;
  std::vector<float> output_scales;  // one, or one per output channel
  int32_t x_zp = 0, y_zp = 0;
  FusedActivation act;  // Relu, or Clip in output units
  bool has_bias = false;
};

Expected<QConvSpec> QConvSpecOf(const PrepareContext& ctx) {
  const auto& in = ctx.inputs;
  const auto& k = ctx.constants;
  if (in.size() < 8 || k.size() < 8) return ctx.Invalid("QLinearConv needs 8 or 9 inputs");
  for (int i : {kXScale, kXZeroPoint, kW, kWScale, kWZeroPoint, kYScale, kYZeroPoint}) {
    if (k[i] == nullptr) {
      return ctx.NotSupported("oneDNN QLinearConv needs constant weights, scales and zero points");
    }
  }
  if (!IsQuant(in[kX].dtype) || in[kW].dtype != DType::kI8 || !IsQuant(ctx.outputs[0].dtype) ||
      in[kXZeroPoint].dtype != in[kX].dtype || in[kYZeroPoint].dtype != ctx.outputs[0].dtype ||
      in[kXScale].dtype != DType::kF32 || in[kWScale].dtype != DType::kF32 ||
      in[kYScale].dtype != DType::kF32) {
    return ctx.NotSupported("oneDNN QLinearConv handles u8/s8 activations and s8 weights");
  }
  QConvSpec s;
  ASSIGN_OR_RETURN(s.g, onednn::ConvGeometryOf(ctx, kW));
  onednn::ToDnnlType(in[kX].dtype, &s.x_type);
  onednn::ToDnnlType(ctx.outputs[0].dtype, &s.y_type);
  const int64_t m = s.g.out_channels;
  const Tensor& x_scale = *k[kXScale];
  const Tensor& w_scale = *k[kWScale];
  const Tensor& y_scale = *k[kYScale];
  const Tensor& w_zp = *k[kWZeroPoint];
  const int64_t n_w = w_scale.view().num_elements();
  if (x_scale.view().num_elements() != 1 || y_scale.view().num_elements() != 1 ||
      k[kXZeroPoint]->view().num_elements() != 1 || k[kYZeroPoint]->view().num_elements() != 1 ||
      (n_w != 1 && n_w != m) ||
      (w_zp.view().num_elements() != 1 && w_zp.view().num_elements() != m)) {
    return ctx.NotSupported("oneDNN QLinearConv needs per-tensor activation parameters");
  }
  for (int64_t i = 0; i < w_zp.view().num_elements(); ++i) {
    if (onednn::QuantizedIntAt(w_zp, i) != 0) return ctx.NotSupported("weight zero point is not 0");
  }
  const float xs = x_scale.data<float>()[0];
  const float ys = y_scale.data<float>()[0];
  if (!(ys > 0.0f) || !(xs > 0.0f)) return ctx.NotSupported("non-positive activation scale");
  s.output_scales.resize(n_w);
  for (int64_t c = 0; c < n_w; ++c) s.output_scales[c] = xs * w_scale.data<float>()[c] / ys;
  s.x_zp = onednn::QuantizedIntAt(*k[kXZeroPoint], 0);
  s.y_zp = onednn::QuantizedIntAt(*k[kYZeroPoint], 0);
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  if (act.kind == FusedActivation::Kind::kRelu) {
    s.act = act;
  } else if (act.kind == FusedActivation::Kind::kClip) {
    s.act = act;
    s.act.a = act.a / ys;
    s.act.b = act.b / ys;
  } else if (act.kind != FusedActivation::Kind::kNone) {
    return ctx.NotSupported("fused activation other than Relu/Clip on QLinearConv");
  }
  s.has_bias = in.size() > kBias && in[kBias].dtype != DType::kUndefined;
  if (s.has_bias && in[kBias].dtype != DType::kI32) return ctx.Invalid("bias B must be int32");
  return s;
}

struct QConvDescs {
  dnnl_memory_desc_t src, weights_any, weights_user, bias, dst, zero_point;
};

Expected<PrimitiveDesc> CreateQConvPd(const PrepareContext& ctx, const QConvSpec& s,
                                      QConvDescs* d) {
  const Node& node = ctx.node;
  const ConvGeometry& g = s.g;
  const int64_t src_dims[] = {g.batch, g.in_channels, g.in[0], g.in[1]};
  const int64_t dst_dims[] = {g.batch, g.out_channels, g.out[0], g.out[1]};
  ASSIGN_OR_RETURN(d->src, onednn::MakeDesc(src_dims, s.x_type, dnnl_nhwc, node));
  ASSIGN_OR_RETURN(d->dst, onednn::MakeDesc(dst_dims, s.y_type, dnnl_nhwc, node));
  if (g.group == 1) {
    const int64_t dims[] = {g.out_channels, g.in_channels, g.kernel[0], g.kernel[1]};
    ASSIGN_OR_RETURN(d->weights_any, onednn::MakeDesc(dims, dnnl_s8, dnnl_format_tag_any, node));
    ASSIGN_OR_RETURN(d->weights_user, onednn::MakeDesc(dims, dnnl_s8, dnnl_oihw, node));
  } else {
    const int64_t dims[] = {g.group, g.out_channels / g.group, g.in_channels / g.group, g.kernel[0],
                            g.kernel[1]};
    ASSIGN_OR_RETURN(d->weights_any, onednn::MakeDesc(dims, dnnl_s8, dnnl_format_tag_any, node));
    ASSIGN_OR_RETURN(d->weights_user, onednn::MakeDesc(dims, dnnl_s8, dnnl_goihw, node));
  }
  const int64_t bias_dims[] = {g.out_channels};
  ASSIGN_OR_RETURN(d->bias, onednn::MakeDesc(bias_dims, dnnl_s32, dnnl_x, node));
  const int64_t one[] = {1};
  ASSIGN_OR_RETURN(d->zero_point, onednn::MakeDesc(one, dnnl_s32, dnnl_x, node));

  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeInt8Attr(node, s.act, s.y_zp != 0));
  const int mask = s.output_scales.size() > 1 ? 1 << 1 : 0;  // dst dims are (n, c, h, w)
  RETURN_IF_ERROR(onednn::FromDnnl(dnnl_primitive_attr_set_output_scales(
                                       attr.get(), static_cast<dnnl_dim_t>(s.output_scales.size()),
                                       mask, s.output_scales.data()),
                                   node, "output scales"));
  const int32_t runtime_zp = DNNL_RUNTIME_S32_VAL;
  if (s.x_zp != 0) {
    RETURN_IF_ERROR(onednn::FromDnnl(
        dnnl_primitive_attr_set_zero_points(attr.get(), DNNL_ARG_SRC, 1, 0, &runtime_zp), node,
        "src zero point"));
  }
  if (s.y_zp != 0) {
    RETURN_IF_ERROR(onednn::FromDnnl(
        dnnl_primitive_attr_set_zero_points(attr.get(), DNNL_ARG_DST, 1, 0, &runtime_zp), node,
        "dst zero point"));
  }
  dnnl_convolution_desc_t desc;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_dilated_convolution_forward_desc_init(
          &desc, dnnl_forward_inference, dnnl_convolution_direct, &d->src, &d->weights_any,
          s.has_bias ? &d->bias : nullptr, &d->dst, g.strides, g.dilates, g.pad_l, g.pad_r),
      node, "int8 convolution"));
  PrimitiveDesc pd;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_primitive_desc_create(pd.out(), &desc, attr.get(), onednn::CpuEngine(), nullptr), node,
      "int8 convolution"));
  return pd;
}

struct QConvState : KernelState {
  PrimitiveRunner runner;
  size_t persistent_bytes() const override { return runner.owned_bytes(); }
};

bool SupportsNhwcQLinearConv(const SupportContext& ctx) {
  if (onednn::CpuEngine() == nullptr || ctx.outputs.empty()) return false;
  if (ctx.inputs.empty() || NumElements(ctx.inputs[0].dims) == 0 ||
      NumElements(ctx.outputs[0].dims) == 0) {
    return false;
  }
  PrepareContext pctx{ctx.node, ctx.inputs, ctx.constants, ctx.outputs, 1, 0, {}, nullptr};
  Expected<QConvSpec> s = QConvSpecOf(pctx);
  if (!s.ok()) return false;
  QConvDescs d;
  return CreateQConvPd(pctx, *s, &d).ok();
}

Status PrepareNhwcQLinearConv(PrepareContext& ctx) {
  const int threads = onednn::ThreadsFor(ctx, 3);
  onednn::ScopedOmpThreads team(threads);
  auto state = std::make_unique<QConvState>();
  ASSIGN_OR_RETURN(QConvSpec s, QConvSpecOf(ctx));
  QConvDescs d;
  ASSIGN_OR_RETURN(PrimitiveDesc pd, CreateQConvPd(ctx, s, &d));
  PrimitiveRunner& r = state->runner;
  RETURN_IF_ERROR(r.Init(pd.get(), ctx.node));
  r.UseThreads(threads);
  // The packed weights carry oneDNN's s8-source compensation when the input is s8; the reorder
  // computes it.
  const dnnl_memory_desc_t* weights =
      dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0);
  ASSIGN_OR_RETURN(
      onednn::AlignedBuffer packed,
      onednn::ReorderConstant(ctx.weight_pool, ctx.constants[kW]->raw(), d.weights_user, *weights, ctx.node));
  RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_WEIGHTS, *weights, std::move(packed), ctx.node));
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_SRC, d.src, ArgSource::kInput, kX, ctx.node));
  if (s.has_bias)
    RETURN_IF_ERROR(r.AddArg(DNNL_ARG_BIAS, d.bias, ArgSource::kInput, kBias, ctx.node));
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_DST, d.dst, ArgSource::kOutput, 0, ctx.node));
  if (s.x_zp != 0) {
    ASSIGN_OR_RETURN(onednn::AlignedBuffer zp, onednn::Int32Buffer(s.x_zp, ctx.node));
    RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, d.zero_point,
                                  std::move(zp), ctx.node));
  }
  if (s.y_zp != 0) {
    ASSIGN_OR_RETURN(onednn::AlignedBuffer zp, onednn::Int32Buffer(s.y_zp, ctx.node));
    RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, d.zero_point,
                                  std::move(zp), ctx.node));
  }
  ctx.scratch_bytes = r.scratch_bytes();
  ctx.state = std::move(state);
  return Status::Ok();
}

Status SetupNhwcQLinearConv(SetupContext& ctx) {
  if (ctx.inputs[kX].raw != nullptr && ctx.inputs[kX].raw == ctx.outputs[0].raw) {
    return ctx.Fail("oneDNN QLinearConv cannot run in place on its input");
  }
  return ctx.state_as<QConvState>().runner.Bind(ctx);
}

Status InvokeNhwcQLinearConv(InvokeContext& ctx) {
  return ctx.state_as<QConvState>().runner.Execute(ctx);
}

constexpr DTypeSet kQuantTypes{DType::kU8, DType::kI8};

}  // namespace

std::span<const KernelDef> OnednnQConvKernels() {
  static constexpr KernelDef kKernels[] = {
      {"QLinearConv", KernelPath::kOnednn, kQuantTypes, SupportsNhwcQLinearConv,
       PrepareNhwcQLinearConv, InvokeNhwcQLinearConv, kNhwcDomain, false, false,
       SetupNhwcQLinearConv},
  };
  return kKernels;
}

}  // namespace edgerun
