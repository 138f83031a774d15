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
//
// QLinearConvAdd (the residual QLinearAdd fused in, passes/fuse_qlinear_residual.cc) runs the
// same convolution with the add as post-ops: after the output scales give the conv's value in
// units of its own output scale, a clip to that output's integer range and a round reproduce the
// conv's quantized output exactly (relative to its zero point, as the reference computes it);
// an eltwise linear rescales it to the sum's output units, a sum post-op adds
// (z - z_zp) * z_scale / out_scale from the output buffer (which the kernel first fills with z,
// unless the runtime already placed the output on z), then the add's activation, the round and
// the dst zero point as above. The reference QLinearConvAdd computes the add with the same float
// operations (kernels/ref/qlinear.cc), so both agree bit for bit.
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"
#include "kernels/qlinear_conv_inputs.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {
namespace {

using onednn::ArgSource;
using onednn::ConvGeometry;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

using enum qlinear_conv::Input;

// QLinearConvAdd's add, in the sum's output units.
struct ResidualSpec {
  float conv_lo = 0, conv_hi = 0;  // the conv output's integer range minus its zero point
  float alpha = 1;                 // y_scale / out_scale
  float beta = 1;                  // z_scale / out_scale
  int32_t z_zp = 0;
  dnnl_data_type_t z_type = dnnl_u8;

  bool operator==(const ResidualSpec&) const = default;
};

struct QConvSpec {
  ConvGeometry g;
  dnnl_data_type_t x_type = dnnl_u8, y_type = dnnl_u8;  // y: the primitive's dst
  std::vector<float> output_scales;                     // one, or one per output channel
  int32_t x_zp = 0, y_zp = 0;  // y_zp: the dst's (QLinearConvAdd: out_zero_point)
  FusedActivation act;         // Relu, or Clip in dst units (QLinearConvAdd: the add's)
  bool has_bias = false;
  bool residual = false;  // QLinearConvAdd
  ResidualSpec res;
};

// Relu, or Clip with bounds divided by `scale`; NotSupported for anything else.
Expected<FusedActivation> ActivationInUnits(const PrepareContext& ctx, float scale) {
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  if (act.has_affine()) return ctx.NotSupported("fused affine on QLinearConv");
  if (act.kind == FusedActivation::Kind::kClip) {
    act.a /= scale;
    act.b /= scale;
  } else if (act.kind != FusedActivation::Kind::kNone && act.kind != FusedActivation::Kind::kRelu) {
    return ctx.NotSupported("fused activation other than Relu/Clip on QLinearConv");
  }
  return act;
}

// The add of QLinearConvAdd in oneDNN's terms.
Expected<ResidualSpec> ResidualSpecOf(const PrepareContext& ctx) {
  ASSIGN_OR_RETURN(qlinear_conv::AddParams p, qlinear_conv::ReadAddParams(ctx));
  ResidualSpec r;
  r.alpha = p.alpha;
  r.beta = p.beta;
  r.z_zp = p.z_zero_point;
  onednn::ToDnnlType(p.z_type, &r.z_type);
  r.conv_lo = static_cast<float>(p.conv_lo);
  r.conv_hi = static_cast<float>(p.conv_hi);
  return r;
}

Expected<QConvSpec> QConvSpecOf(const PrepareContext& ctx, bool residual) {
  const auto& in = ctx.inputs;
  const auto& k = ctx.constants;
  if (in.size() < 8 || k.size() < 8) return ctx.Invalid("QLinearConv needs 8 or 9 inputs");
  for (int i : {kXScale, kXZeroPoint, kW, kWScale, kWZeroPoint, kYScale, kYZeroPoint}) {
    if (k[i] == nullptr) {
      return ctx.NotSupported("oneDNN QLinearConv needs constant weights, scales and zero points");
    }
  }
  // The conv's own output type: the node's output, or QLinearConvAdd's intermediate.
  const DType conv_out = residual ? in[kYZeroPoint].dtype : ctx.outputs[0].dtype;
  if (!IsQuantized(in[kX].dtype) || in[kW].dtype != DType::kI8 ||
      !IsQuantized(ctx.outputs[0].dtype) || !IsQuantized(conv_out) ||
      in[kXZeroPoint].dtype != in[kX].dtype || in[kYZeroPoint].dtype != conv_out ||
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
    if (QuantizedIntAt(w_zp, i) != 0) return ctx.NotSupported("weight zero point is not 0");
  }
  const float xs = x_scale.data<float>()[0];
  const float ys = y_scale.data<float>()[0];
  if (!(ys > 0.0f) || !(xs > 0.0f)) return ctx.NotSupported("non-positive activation scale");
  s.output_scales.resize(n_w);
  for (int64_t c = 0; c < n_w; ++c) s.output_scales[c] = xs * w_scale.data<float>()[c] / ys;
  s.x_zp = QuantizedIntAt(*k[kXZeroPoint], 0);
  s.has_bias = qlinear_conv::HasBias(in);
  s.residual = residual;
  if (residual) {
    ASSIGN_OR_RETURN(s.res, ResidualSpecOf(ctx));
    s.y_zp = QuantizedIntAt(*k[kOutZeroPoint], 0);
    ASSIGN_OR_RETURN(s.act, ActivationInUnits(ctx, FloatAt(*k[kOutScale], 0)));
  } else {
    s.y_zp = QuantizedIntAt(*k[kYZeroPoint], 0);
    ASSIGN_OR_RETURN(s.act, ActivationInUnits(ctx, ys));
  }
  if (s.has_bias && in[kBias].dtype != DType::kI32) return ctx.Invalid("bias B must be int32");
  return s;
}

// The attributes of QLinearConvAdd: see the header comment for the chain of post-ops.
Expected<onednn::Attr> MakeResidualAttr(const Node& node, const QConvSpec& s) {
  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeAttr(node, false, FusedActivation{}));
  onednn::PostOps post_ops;
  RETURN_IF_ERROR(onednn::FromDnnl(dnnl_post_ops_create(post_ops.out()), node, "post-op creation"));
  dnnl_post_ops_t p = post_ops.get();
  const ResidualSpec& r = s.res;
  // clip_v2 for the saturation: with two dnnl_eltwise_clip post-ops (the second a Clip
  // activation after the sum) oneDNN 2.6 computed wrong outputs (OnednnQConvAddTest's Clip
  // cases); clip_v2 is the same function in forward.
  bool ok =
      dnnl_post_ops_append_eltwise(p, 1.0f, dnnl_eltwise_clip_v2, r.conv_lo, r.conv_hi) ==
          dnnl_success &&
      dnnl_post_ops_append_eltwise(p, 1.0f, dnnl_eltwise_round, 0.0f, 0.0f) == dnnl_success &&
      dnnl_post_ops_append_eltwise(p, 1.0f, dnnl_eltwise_linear, r.alpha, 0.0f) == dnnl_success &&
      dnnl_post_ops_append_sum_v3(p, r.beta, r.z_zp, r.z_type) == dnnl_success &&
      onednn::AppendActivation(p, s.act);
  if (ok && s.y_zp != 0) {
    ok = dnnl_post_ops_append_eltwise(p, 1.0f, dnnl_eltwise_round, 0.0f, 0.0f) == dnnl_success;
  }
  if (!ok) return Unsupported(node.Describe() + ": oneDNN cannot express the residual add");
  RETURN_IF_ERROR(
      onednn::FromDnnl(dnnl_primitive_attr_set_post_ops(attr.get(), p), node, "post-ops"));
  return attr;
}

struct QConvDescs {
  dnnl_memory_desc_t src, weights_any, weights_user, bias, dst, zero_point;
};

// oneDNN lists its brgemm kernels first, but for depthwise and 1x1 int8 convs its older direct
// kernels were faster on the AVX-512 VNNI machines measured (AMD EPYC, 1 thread, every
// mobilenet_v2 layer timed in isolation, both orders): depthwise jit_int8 vs brdgmm_dw 0.072 vs
// 0.085 ms (32 ch, 112x112), 0.080 vs 0.093 (144 ch, 56x56), slower (by under 0.001 ms) only on
// the 7x7 and stride-2 14x14 layers; 1x1 jit_int8_1x1 vs brgconv_1x1 0.127 vs
// 0.145 ms (16 -> 96 channels, 112x112), 0.055 vs 0.061 (24 -> 144, 56x56), never slower. Dense
// 3x3 convs keep oneDNN's order (within the noise there). So: the first implementation, unless it
// is brdgmm_dw or brgconv_1x1 and the matching direct kernel is further down the list.
constexpr onednn::ImplPreference kInt8Preferences[] = {{"brdgmm_dw:", "jit_int8:"},
                                                       {"brgconv_1x1:", "jit_int8_1x1:"}};
// On AMX machines (Intel Xeon with amx_int8, 1 thread, MobileNetV2 int8 timed layer by layer with
// AMX allowed and with ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI), oneDNN 2.6 lists its AMX kernels
// first. They win on dense 3x3 convs (ResNet-18 3.2-4x) and on wide 1x1 convs (320 -> 1280 at 7x7:
// 0.069 vs 0.138 ms; 160 -> 960: 0.045 vs 0.055; 960 -> 320: 0.052 vs 0.061), but lose 1.2-4x to
// the VNNI jit_int8_1x1 on every narrower 1x1 (16 -> 96 at 112x112: 0.378 vs 0.228 ms; 192 -> 64
// at 14x14: 0.051 vs 0.012; 576 -> 160 at 7x7: 0.030 vs 0.020; the 1280 -> 1000 classifier: 0.108
// vs 0.061). So narrow 1x1 convs take the VNNI kernel.
constexpr onednn::ImplPreference kInt8NarrowPointwisePreferences[] = {
    {"brgconv_1x1:", "jit_int8_1x1:"},
    {"jit_1x1:avx512_core_amx", "jit_int8_1x1:"},
    {"jit:avx512_core_amx", "jit_int8_1x1:"}};

// At several threads oneDNN's own first choice for int8 depthwise convs, brdgmm_dw, wins on the
// small maps: --tune on the AMD EPYC (Zen 5) at 2 threads moved MobileNetV2 QDQ's 14x14 and 7x7
// depthwise layers to it (the model 1.547 -> 1.497 ms, mean of 8 alternating runs); this rule,
// which also takes the stride-2 ones: 1.602 -> 1.526 ms (6 alternating runs, 5 faster). The
// jit_int8 preference above holds on larger maps, and on one thread.
bool PreferBrdgmmDepthwise(const ConvGeometry& g, int threads) {
  const bool depthwise = g.group > 1 && g.group == g.in_channels && g.group == g.out_channels;
  return depthwise && threads > 1 && g.out[0] * g.out[1] <= 14 * 14;
}

bool IsPointwise(const ConvGeometry& g) {
  return g.group == 1 && g.kernel[0] == 1 && g.kernel[1] == 1;
}

// A 1x1 conv too narrow for AMX tiles (16 rows of 64 bytes) to pay off (see above).
bool IsNarrowPointwise(const ConvGeometry& g) {
  if (!IsPointwise(g)) return false;
  const int64_t rows = g.batch * g.out[0] * g.out[1];
  return g.in_channels < 128 || g.out_channels < 256 || rows < 16;
}

// On Intel CPUs the wider 1x1 convs keep oneDNN's order. On a Xeon with VNNI and no AMX (CPUID
// model 207, 1 thread, --tune), brgconv_1x1 beat jit_int8_1x1 on MobileNetV2 QDQ's 320 -> 1280 at
// 7x7 (0.088 vs 0.142 ms) and 160 -> 960 (0.038 vs 0.055), the model 2.50-2.60 -> 2.39-2.57 ms
// (4 alternating runs, all faster); with AMX, oneDNN lists its AMX kernels first, which win there
// (see above). On the AMD EPYC jit_int8_1x1 was never slower.
bool WidePointwiseKeepsOnednnOrder(const ConvGeometry& g) {
  return CpuIsIntel() && IsPointwise(g) && !IsNarrowPointwise(g);
}

// The support check's descriptor, kept for prepare (onednn::KeepPdForPrepare), keyed by
// everything it depends on.
struct QConvPdMemo {
  dnnl_convolution_desc_t desc;
  std::vector<float> output_scales;
  int32_t x_zp = 0, y_zp = 0;
  FusedActivation act;
  bool residual = false;
  ResidualSpec res;
  int threads = 0;
  PrimitiveDesc pd;  // null once taken

  bool Matches(const QConvPdMemo& key) const {
    return pd.get() != nullptr && output_scales == key.output_scales && x_zp == key.x_zp &&
           y_zp == key.y_zp && act == key.act && residual == key.residual && res == key.res &&
           threads == key.threads && std::memcmp(&desc, &key.desc, sizeof(desc)) == 0;
  }
};
thread_local QConvPdMemo last_supported_qconv_pd;

using onednn::PdUse;

// For a support check the descriptor is kept for prepare, and an empty one returned.
Expected<PrimitiveDesc> CreateQConvPd(const PrepareContext& ctx, const QConvSpec& s, QConvDescs* d,
                                      PdUse use) {
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

  ASSIGN_OR_RETURN(onednn::Attr attr, s.residual ? MakeResidualAttr(node, s)
                                                 : onednn::MakeInt8Attr(node, s.act, s.y_zp != 0));
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
  QConvPdMemo key;
  std::memset(&key.desc, 0, sizeof(key.desc));  // padding too, for the byte compare
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_dilated_convolution_forward_desc_init(
          &key.desc, dnnl_forward_inference, dnnl_convolution_direct, &d->src, &d->weights_any,
          s.has_bias ? &d->bias : nullptr, &d->dst, g.strides, g.dilates, g.pad_l, g.pad_r),
      node, "int8 convolution"));
  key.output_scales = s.output_scales;
  key.x_zp = s.x_zp;
  key.y_zp = s.y_zp;
  key.act = s.act;
  key.residual = s.residual;
  key.res = s.res;
  key.threads = omp_get_max_threads();  // oneDNN sizes its blocking by the team
  std::span<const onednn::ImplPreference> preferences = kInt8Preferences;
  if (IsNarrowPointwise(g)) preferences = kInt8NarrowPointwisePreferences;
  if (WidePointwiseKeepsOnednnOrder(g)) preferences = {};
  if (PreferBrdgmmDepthwise(g, onednn::ThreadsFor(ctx, kW))) preferences = {};
  return onednn::KeepPdForPrepare(last_supported_qconv_pd, std::move(key), use, ctx.tactic,
                                  [&](const QConvPdMemo& k, int tactic) {
                                    return onednn::CreatePdPreferring(node, &k.desc, attr.get(),
                                                                      preferences,
                                                                      "int8 convolution", tactic);
                                  });
}

struct QConvState : KernelState {
  PrimitiveRunner runner;
  bool residual = false;
  size_t persistent_bytes() const override { return runner.owned_bytes(); }
  std::string_view implementation() const override { return runner.impl_name(); }
};

bool SupportsQConv(const SupportContext& ctx, bool residual) {
  if (onednn::CpuEngine() == nullptr || ctx.outputs.empty()) return false;
  if (ctx.inputs.empty() || NumElements(ctx.inputs[0].dims) == 0 ||
      NumElements(ctx.outputs[0].dims) == 0) {
    return false;
  }
  PrepareContext pctx(ctx);
  onednn::ScopedOmpThreads team(onednn::ThreadsFor(pctx, kW));  // the team prepare will use
  Expected<QConvSpec> s = QConvSpecOf(pctx, residual);
  if (!s.ok()) return false;
  QConvDescs d;
  return CreateQConvPd(pctx, *s, &d, PdUse::kForSupportCheck).ok();
}

bool SupportsNhwcQLinearConv(const SupportContext& ctx) { return SupportsQConv(ctx, false); }
bool SupportsNhwcQLinearConvAdd(const SupportContext& ctx) { return SupportsQConv(ctx, true); }

Status PrepareQConv(PrepareContext& ctx, bool residual) {
  const int threads = onednn::ThreadsFor(ctx, kW);
  onednn::ScopedOmpThreads team(threads);
  auto state = std::make_unique<QConvState>();
  state->residual = residual;
  ASSIGN_OR_RETURN(QConvSpec s, QConvSpecOf(ctx, residual));
  QConvDescs d;
  ASSIGN_OR_RETURN(PrimitiveDesc pd, CreateQConvPd(ctx, s, &d, PdUse::kForPrepare));
  PrimitiveRunner& r = state->runner;
  RETURN_IF_ERROR(r.Init(pd.get(), ctx.node));
  r.UseThreads(threads);
  // The packed weights carry oneDNN's s8-source compensation when the input is s8; the reorder
  // computes it.
  const dnnl_memory_desc_t* weights =
      dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0);
  ASSIGN_OR_RETURN(onednn::AlignedBuffer packed,
                   onednn::PackConstantInput(ctx, kW, d.weights_user, *weights));
  RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_WEIGHTS, *weights, std::move(packed), ctx.node));
  ctx.packed_constant_inputs |= 1u << kW;
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

Status PrepareNhwcQLinearConv(PrepareContext& ctx) { return PrepareQConv(ctx, false); }
Status PrepareNhwcQLinearConvAdd(PrepareContext& ctx) { return PrepareQConv(ctx, true); }

Status SetupNhwcQLinearConv(SetupContext& ctx) {
  if (ctx.inputs[kX].raw != nullptr && ctx.inputs[kX].raw == ctx.outputs[0].raw) {
    return ctx.Fail("oneDNN QLinearConv cannot run in place on its input");
  }
  return ctx.state_as<QConvState>().runner.Bind(ctx);
}

Status InvokeNhwcQLinearConv(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QConvState>();
  if (s.residual) {
    // The sum post-op reads z from the output buffer.
    const TensorView& z = ctx.inputs[kZ];
    TensorView& y = ctx.outputs[0];
    if (z.raw != y.raw) std::memcpy(y.raw, z.raw, y.bytes());
  }
  return s.runner.Execute(ctx);
}

constexpr DTypeSet kQuantTypes{DType::kU8, DType::kI8};

}  // namespace

std::span<const KernelDef> OnednnQConvKernels() {
  static constexpr KernelDef kKernels[] = {
      {"QLinearConv", KernelPath::kOnednn, kQuantTypes, SupportsNhwcQLinearConv,
       PrepareNhwcQLinearConv, InvokeNhwcQLinearConv, kNhwcDomain, false, false,
       SetupNhwcQLinearConv},
      {"QLinearConvAdd", KernelPath::kOnednn, kQuantTypes, SupportsNhwcQLinearConvAdd,
       PrepareNhwcQLinearConvAdd, InvokeNhwcQLinearConv, kNhwcDomain, /*may_run_in_place=*/true,
       /*output_aliases_input=*/false, SetupNhwcQLinearConv, /*in_place_input=*/kZ},
  };
  return kKernels;
}

}  // namespace edgerun
