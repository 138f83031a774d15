// QLinearMatMul (u8/s8 a, constant s8 b) on oneDNN's int8 matmul primitive.
//
// Same arithmetic as the int8 conv (onednn_qconv.cc): y = saturate(round(acc * a_scale *
// b_scale[n] / y_scale) + y_zp) with acc the exact int32 sum of (a - a_zp) * b; a_zp is a
// run-time src zero point, the per-column scales are output scales on the last dst dim, a fused
// Relu/Clip (real domain) is an eltwise post-op in output units, and y_zp is a dst zero point
// added after an eltwise round (onednn::MakeInt8Attr).
// a's batches fold into rows, since b is one matrix. b's zero points must be 0 and every scale
// and zero point constant.
#include <oneapi/dnnl/dnnl.h>

#include <cstdint>
#include <vector>

#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {
namespace {

using onednn::ArgSource;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

enum QMatMulInput { kA = 0, kAScale, kAZeroPoint, kB, kBScale, kBZeroPoint, kYScale, kYZeroPoint };

struct QMatMulSpec {
  int64_t rows = 0, k = 0, n = 0;
  dnnl_data_type_t a_type = dnnl_u8, y_type = dnnl_u8;
  std::vector<float> output_scales;  // one, or one per column
  int32_t a_zp = 0, y_zp = 0;
  FusedActivation act;  // Relu, or Clip in output units
};

Expected<QMatMulSpec> QMatMulSpecOf(const PrepareContext& ctx) {
  const auto& in = ctx.inputs;
  const auto& c = ctx.constants;
  if (in.size() != 8 || c.size() != 8) return ctx.Invalid("QLinearMatMul needs 8 inputs");
  for (int i : {kAScale, kAZeroPoint, kB, kBScale, kBZeroPoint, kYScale, kYZeroPoint}) {
    if (c[i] == nullptr) {
      return ctx.NotSupported("oneDNN QLinearMatMul needs constant b, scales and zero points");
    }
  }
  const TensorType& a = in[kA];
  const TensorType& b = in[kB];
  const TensorType& y = ctx.outputs[0];
  if (!IsQuantized(a.dtype) || b.dtype != DType::kI8 || !IsQuantized(y.dtype) || a.rank() < 2 ||
      b.rank() < 2 || in[kAZeroPoint].dtype != a.dtype || in[kYZeroPoint].dtype != y.dtype) {
    return ctx.NotSupported("oneDNN QLinearMatMul handles u8/s8 a, s8 b, rank >= 2");
  }
  for (int i = 0; i + 2 < b.rank(); ++i) {
    if (b.dims[i] != 1) return ctx.NotSupported("batched b");
  }
  QMatMulSpec s;
  onednn::ToDnnlType(a.dtype, &s.a_type);
  onednn::ToDnnlType(y.dtype, &s.y_type);
  s.k = a.dims.back();
  s.n = b.dims.back();
  s.rows = NumElements(a.dims) / s.k;
  const Tensor& a_scale = *c[kAScale];
  const Tensor& b_scale = *c[kBScale];
  const Tensor& y_scale = *c[kYScale];
  const Tensor& b_zp = *c[kBZeroPoint];
  const int64_t n_b = b_scale.view().num_elements();
  if (a_scale.view().num_elements() != 1 || y_scale.view().num_elements() != 1 ||
      c[kAZeroPoint]->view().num_elements() != 1 || c[kYZeroPoint]->view().num_elements() != 1 ||
      (n_b != 1 && n_b != s.n)) {
    return ctx.NotSupported("oneDNN QLinearMatMul needs per-tensor a and y parameters");
  }
  for (int64_t i = 0; i < b_zp.view().num_elements(); ++i) {
    if (QuantizedIntAt(b_zp, i) != 0) return ctx.NotSupported("b zero point is not 0");
  }
  const float as = a_scale.data<float>()[0];
  const float ys = y_scale.data<float>()[0];
  if (!(as > 0.0f) || !(ys > 0.0f)) return ctx.NotSupported("non-positive scale");
  s.output_scales.resize(n_b);
  for (int64_t j = 0; j < n_b; ++j) s.output_scales[j] = as * b_scale.data<float>()[j] / ys;
  s.a_zp = QuantizedIntAt(*c[kAZeroPoint], 0);
  s.y_zp = QuantizedIntAt(*c[kYZeroPoint], 0);
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  if (act.has_affine()) return ctx.NotSupported("fused affine on QLinearMatMul");
  if (act.kind == FusedActivation::Kind::kRelu) {
    s.act = act;
  } else if (act.kind == FusedActivation::Kind::kClip) {
    s.act = act;
    s.act.a = act.a / ys;
    s.act.b = act.b / ys;
  } else if (act.kind != FusedActivation::Kind::kNone) {
    return ctx.NotSupported("fused activation other than Relu/Clip on QLinearMatMul");
  }
  return s;
}

struct QMatMulDescs {
  dnnl_memory_desc_t a, b_any, b_user, y, zero_point;
};

Expected<PrimitiveDesc> CreateQMatMulPd(const PrepareContext& ctx, const QMatMulSpec& s,
                                        QMatMulDescs* d) {
  const Node& node = ctx.node;
  const int64_t a_dims[] = {s.rows, s.k}, b_dims[] = {s.k, s.n}, y_dims[] = {s.rows, s.n};
  const int64_t one[] = {1};
  ASSIGN_OR_RETURN(d->a, onednn::MakeDesc(a_dims, s.a_type, dnnl_ab, node));
  ASSIGN_OR_RETURN(d->b_any, onednn::MakeDesc(b_dims, dnnl_s8, dnnl_format_tag_any, node));
  ASSIGN_OR_RETURN(d->b_user, onednn::MakeDesc(b_dims, dnnl_s8, dnnl_ab, node));
  ASSIGN_OR_RETURN(d->y, onednn::MakeDesc(y_dims, s.y_type, dnnl_ab, node));
  ASSIGN_OR_RETURN(d->zero_point, onednn::MakeDesc(one, dnnl_s32, dnnl_x, node));
  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeInt8Attr(node, s.act, s.y_zp != 0));
  const int mask = s.output_scales.size() > 1 ? 1 << 1 : 0;  // per column of the 2-D dst
  RETURN_IF_ERROR(onednn::FromDnnl(dnnl_primitive_attr_set_output_scales(
                                       attr.get(), static_cast<dnnl_dim_t>(s.output_scales.size()),
                                       mask, s.output_scales.data()),
                                   node, "output scales"));
  const int32_t runtime_zp = DNNL_RUNTIME_S32_VAL;
  if (s.a_zp != 0) {
    RETURN_IF_ERROR(onednn::FromDnnl(
        dnnl_primitive_attr_set_zero_points(attr.get(), DNNL_ARG_SRC, 1, 0, &runtime_zp), node,
        "src zero point"));
  }
  if (s.y_zp != 0) {
    RETURN_IF_ERROR(onednn::FromDnnl(
        dnnl_primitive_attr_set_zero_points(attr.get(), DNNL_ARG_DST, 1, 0, &runtime_zp), node,
        "dst zero point"));
  }
  dnnl_matmul_desc_t desc;
  RETURN_IF_ERROR(onednn::FromDnnl(dnnl_matmul_desc_init(&desc, &d->a, &d->b_any, nullptr, &d->y),
                                   node, "int8 matmul"));
  PrimitiveDesc pd;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_primitive_desc_create(pd.out(), &desc, attr.get(), onednn::CpuEngine(), nullptr), node,
      "int8 matmul"));
  return pd;
}

struct QMatMulState : KernelState {
  PrimitiveRunner runner;
  size_t persistent_bytes() const override { return runner.owned_bytes(); }
};

bool SupportsQLinearMatMul(const SupportContext& ctx) {
  if (onednn::CpuEngine() == nullptr || ctx.outputs.empty() || ctx.inputs.empty()) return false;
  if (NumElements(ctx.inputs[0].dims) == 0 || NumElements(ctx.outputs[0].dims) == 0) return false;
  PrepareContext pctx{ctx.node, ctx.inputs, ctx.constants, ctx.outputs};
  Expected<QMatMulSpec> s = QMatMulSpecOf(pctx);
  if (!s.ok()) return false;
  QMatMulDescs d;
  return CreateQMatMulPd(pctx, *s, &d).ok();
}

Status PrepareQLinearMatMul(PrepareContext& ctx) {
  const int threads = onednn::ThreadsFor(ctx, 3);
  onednn::ScopedOmpThreads team(threads);
  auto state = std::make_unique<QMatMulState>();
  ASSIGN_OR_RETURN(QMatMulSpec s, QMatMulSpecOf(ctx));
  QMatMulDescs d;
  ASSIGN_OR_RETURN(PrimitiveDesc pd, CreateQMatMulPd(ctx, s, &d));
  PrimitiveRunner& r = state->runner;
  RETURN_IF_ERROR(r.Init(pd.get(), ctx.node));
  r.UseThreads(threads);
  const dnnl_memory_desc_t* packed_md =
      dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0);
  ASSIGN_OR_RETURN(onednn::AlignedBuffer packed,
                   onednn::PackConstantInput(ctx, kB, d.b_user, *packed_md));
  RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_WEIGHTS, *packed_md, std::move(packed), ctx.node));
  ctx.packed_constant_inputs |= 1u << kB;
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_SRC, d.a, ArgSource::kInput, kA, ctx.node));
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_DST, d.y, ArgSource::kOutput, 0, ctx.node));
  if (s.a_zp != 0) {
    ASSIGN_OR_RETURN(onednn::AlignedBuffer zp, onednn::Int32Buffer(s.a_zp, ctx.node));
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

Status SetupQLinearMatMul(SetupContext& ctx) {
  return ctx.state_as<QMatMulState>().runner.Bind(ctx);
}

Status InvokeQLinearMatMul(InvokeContext& ctx) {
  return ctx.state_as<QMatMulState>().runner.Execute(ctx);
}

constexpr DTypeSet kQuantTypes{DType::kU8, DType::kI8};

}  // namespace

std::span<const KernelDef> OnednnQMatMulKernels() {
  static constexpr KernelDef kKernels[] = {
      {"QLinearMatMul", KernelPath::kOnednn, kQuantTypes, SupportsQLinearMatMul,
       PrepareQLinearMatMul, InvokeQLinearMatMul, "", false, false, SetupQLinearMatMul},
  };
  return kKernels;
}

}  // namespace edgerun
