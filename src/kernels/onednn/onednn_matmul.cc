// MatMul, Gemm and FusedMatMul (f32) on oneDNN's matmul primitive.
//
// A constant B is reordered once into the primitive's preferred format; a run-time B (attention
// in PaddleOCR rec) is read in place, batched, with size-1 batch dims broadcast by oneDNN. When
// B has no batch (or all size 1) the batches of A fold into one tall matrix. Gemm's transposes
// are strides on the plain descriptors and alpha is the output scale. oneDNN scales the bias
// too (alpha * (A * B + bias)), so the bias is (beta / alpha) * C: C itself when beta equals
// alpha, else a prescaled copy of a constant C. The fused activation is an eltwise post-op.
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"

namespace edgerun {
namespace {

using onednn::ArgSource;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

struct MatMulSpec {
  // All of one rank >= 2, logical (batch..., rows, cols) order.
  std::vector<int64_t> a_dims, a_strides, b_dims, b_strides, y_dims;
  bool b_constant = false;
  float alpha = 1.0f;
  enum class Bias : uint8_t { kNone, kInput, kPrescaled } bias = Bias::kNone;
  std::vector<int64_t> bias_dims;  // same rank as y; 1 where the bias broadcasts
  float bias_scale = 1.0f;         // kPrescaled: bias = bias_scale * C
  FusedActivation act;
};

std::vector<int64_t> ContiguousStrides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

std::vector<int64_t> PadFront(std::vector<int64_t> d, size_t rank) {
  d.insert(d.begin(), rank - d.size(), 1);
  return d;
}

bool AllOnes(std::span<const int64_t> d) {
  return std::all_of(d.begin(), d.end(), [](int64_t v) { return v == 1; });
}

Expected<MatMulSpec> MatMulSpecOf(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  MatMulSpec s;
  const TensorType& a = ctx.inputs[0];
  const TensorType& b = ctx.inputs[1];
  const TensorType& y = ctx.outputs[0];
  s.b_constant = ctx.constants.size() > 1 && ctx.constants[1] != nullptr;
  const bool has_c = ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined;
  if (node.op_type == "Gemm") {
    ASSIGN_OR_RETURN(int64_t ta, node.GetInt("transA", 0));
    ASSIGN_OR_RETURN(int64_t tb, node.GetInt("transB", 0));
    ASSIGN_OR_RETURN(s.alpha, node.GetFloat("alpha", 1.0f));
    ASSIGN_OR_RETURN(float beta, node.GetFloat("beta", 1.0f));
    if (s.alpha == 0.0f) return ctx.NotSupported("Gemm with alpha 0");
    const int64_t m = y.dims[0], n = y.dims[1];
    const int64_t k = ta ? a.dims[0] : a.dims[1];
    s.a_dims = {m, k};
    s.a_strides = ta ? std::vector<int64_t>{1, m} : std::vector<int64_t>{k, 1};
    s.b_dims = {k, n};
    s.b_strides = tb ? std::vector<int64_t>{1, k} : std::vector<int64_t>{n, 1};
    s.y_dims = {m, n};
    if (has_c && beta != 0.0f) {
      s.bias_dims = PadFront(ctx.inputs[2].dims, 2);
      s.bias_scale = beta / s.alpha;
      s.bias = beta == s.alpha ? MatMulSpec::Bias::kInput : MatMulSpec::Bias::kPrescaled;
    }
  } else {
    // MatMul / FusedMatMul: numpy semantics; 1-D operands get a unit row / column.
    std::vector<int64_t> ad = a.dims, bd = b.dims;
    if (ad.size() == 1) ad.insert(ad.begin(), 1);
    if (bd.size() == 1) bd.push_back(1);
    const size_t rank = std::max(ad.size(), bd.size());
    ad = PadFront(ad, rank);
    bd = PadFront(bd, rank);
    std::vector<int64_t> yd(rank);
    for (size_t i = 0; i + 2 < rank; ++i) yd[i] = std::max(ad[i], bd[i]);
    yd[rank - 2] = ad[rank - 2];
    yd[rank - 1] = bd[rank - 1];
    if (NumElements(yd) != NumElements(y.dims)) return ctx.Invalid("MatMul output size mismatch");
    if (rank > 2 && AllOnes(std::span(bd).first(rank - 2))) {
      // B is shared by every batch and A is contiguous: one tall product.
      const int64_t rows = NumElements(ad) / ad[rank - 1];
      ad = {rows, ad[rank - 1]};
      bd = {bd[rank - 2], bd[rank - 1]};
      yd = {rows, yd[rank - 1]};
    }
    s.a_dims = ad;
    s.b_dims = bd;
    s.y_dims = yd;
    s.a_strides = ContiguousStrides(ad);
    s.b_strides = ContiguousStrides(bd);
    if (node.op_type == "FusedMatMul" && has_c) {
      // A bias of n elements runs along the last dim; a single element broadcasts everywhere.
      s.bias_dims.assign(yd.size(), 1);
      s.bias_dims.back() = NumElements(ctx.inputs[2].dims) == 1 ? 1 : yd.back();
      s.bias = MatMulSpec::Bias::kInput;
    }
  }
  if (node.op_type != "MatMul") {
    ASSIGN_OR_RETURN(s.act, FusedActivation::FromNode(node));
  }
  if (s.bias == MatMulSpec::Bias::kPrescaled &&
      (ctx.constants.size() < 3 || ctx.constants[2] == nullptr)) {
    return ctx.NotSupported("Gemm with beta != alpha needs a constant C");
  }
  return s;
}

struct MatMulDescs {
  dnnl_memory_desc_t a, b_user, b_primitive, bias, y;
};

Expected<PrimitiveDesc> CreateMatMulPd(const PrepareContext& ctx, const MatMulSpec& s,
                                       MatMulDescs* d) {
  const Node& node = ctx.node;
  ASSIGN_OR_RETURN(d->a, onednn::MakeStridedDesc(s.a_dims, s.a_strides, dnnl_f32, node));
  ASSIGN_OR_RETURN(d->b_user, onednn::MakeStridedDesc(s.b_dims, s.b_strides, dnnl_f32, node));
  if (s.b_constant) {
    ASSIGN_OR_RETURN(d->b_primitive,
                     onednn::MakeDesc(s.b_dims, dnnl_f32, dnnl_format_tag_any, node));
  } else {
    d->b_primitive = d->b_user;
  }
  ASSIGN_OR_RETURN(d->y,
                   onednn::MakeStridedDesc(s.y_dims, ContiguousStrides(s.y_dims), dnnl_f32, node));
  const bool has_bias = s.bias != MatMulSpec::Bias::kNone;
  if (has_bias) {
    ASSIGN_OR_RETURN(d->bias, onednn::MakeStridedDesc(s.bias_dims, ContiguousStrides(s.bias_dims),
                                                      dnnl_f32, node));
  }
  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeAttr(node, false, s.act));
  if (s.alpha != 1.0f) {
    RETURN_IF_ERROR(onednn::FromDnnl(
        dnnl_primitive_attr_set_output_scales(attr.get(), 1, 0, &s.alpha), node, "output scale"));
  }
  dnnl_matmul_desc_t desc;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_matmul_desc_init(&desc, &d->a, &d->b_primitive, has_bias ? &d->bias : nullptr, &d->y),
      node, "matmul"));
  PrimitiveDesc pd;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_primitive_desc_create(pd.out(), &desc, attr.get(), onednn::CpuEngine(), nullptr), node,
      "matmul"));
  return pd;
}

struct MatMulState : KernelState {
  PrimitiveRunner runner;
  size_t persistent_bytes() const override { return runner.owned_bytes(); }
};

bool SupportsMatMul(const SupportContext& ctx) {
  if (onednn::CpuEngine() == nullptr || ctx.inputs.size() < 2 || ctx.outputs.empty()) {
    return false;
  }
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (ctx.inputs[i].dtype != DType::kUndefined && ctx.inputs[i].dtype != DType::kF32) {
      return false;
    }
  }
  if (ctx.outputs[0].dtype != DType::kF32 || NumElements(ctx.outputs[0].dims) == 0 ||
      NumElements(ctx.inputs[0].dims) == 0 || ctx.inputs[0].dims.empty() ||
      ctx.inputs[1].dims.empty()) {
    return false;
  }
  PrepareContext pctx{ctx.node, ctx.inputs, ctx.constants, ctx.outputs};
  Expected<MatMulSpec> s = MatMulSpecOf(pctx);
  if (!s.ok()) return false;
  MatMulDescs d;
  return CreateMatMulPd(pctx, *s, &d).ok();
}

Status PrepareMatMul(PrepareContext& ctx) {
  const int threads = onednn::ThreadsFor(ctx, 1);
  onednn::ScopedOmpThreads team(threads);
  auto state = std::make_unique<MatMulState>();
  ASSIGN_OR_RETURN(MatMulSpec s, MatMulSpecOf(ctx));
  MatMulDescs d;
  ASSIGN_OR_RETURN(PrimitiveDesc pd, CreateMatMulPd(ctx, s, &d));
  PrimitiveRunner& r = state->runner;
  RETURN_IF_ERROR(r.Init(pd.get(), ctx.node));
  r.UseThreads(threads);
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_SRC, d.a, ArgSource::kInput, 0, ctx.node));
  if (s.b_constant) {
    const dnnl_memory_desc_t* packed_md =
        dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0);
    ASSIGN_OR_RETURN(onednn::AlignedBuffer packed,
                     onednn::PackConstantInput(ctx, 1, d.b_user, *packed_md));
    RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_WEIGHTS, *packed_md, std::move(packed), ctx.node));
    ctx.packed_constant_inputs |= 1u << 1;
  } else {
    RETURN_IF_ERROR(r.AddArg(DNNL_ARG_WEIGHTS, d.b_user, ArgSource::kInput, 1, ctx.node));
  }
  if (s.bias == MatMulSpec::Bias::kInput) {
    RETURN_IF_ERROR(r.AddArg(DNNL_ARG_BIAS, d.bias, ArgSource::kInput, 2, ctx.node));
  } else if (s.bias == MatMulSpec::Bias::kPrescaled) {
    const Tensor& c = *ctx.constants[2];
    const int64_t n = c.view().num_elements();
    ASSIGN_OR_RETURN(onednn::AlignedBuffer scaled,
                     onednn::AlignedBuffer::Allocate(n * sizeof(float), ctx.node));
    float* dst = static_cast<float*>(scaled.data.get());
    for (int64_t i = 0; i < n; ++i) dst[i] = s.bias_scale * c.data<float>()[i];
    RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_BIAS, d.bias, std::move(scaled), ctx.node));
    ctx.packed_constant_inputs |= 1u << 2;
  }
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_DST, d.y, ArgSource::kOutput, 0, ctx.node));
  ctx.scratch_bytes = r.scratch_bytes();
  ctx.state = std::move(state);
  return Status::Ok();
}

Status SetupMatMul(SetupContext& ctx) { return ctx.state_as<MatMulState>().runner.Bind(ctx); }

Status InvokeMatMul(InvokeContext& ctx) { return ctx.state_as<MatMulState>().runner.Execute(ctx); }

constexpr DTypeSet kF32{DType::kF32};

}  // namespace

std::span<const KernelDef> OnednnMatMulKernels() {
  static constexpr KernelDef kKernels[] = {
      {"MatMul", KernelPath::kOnednn, kF32, SupportsMatMul, PrepareMatMul, InvokeMatMul, "", false,
       false, SetupMatMul},
      {"Gemm", KernelPath::kOnednn, kF32, SupportsMatMul, PrepareMatMul, InvokeMatMul, "", false,
       false, SetupMatMul},
      {"FusedMatMul", KernelPath::kOnednn, kF32, SupportsMatMul, PrepareMatMul, InvokeMatMul,
       kEdgerunDomain, false, false, SetupMatMul},
  };
  return kKernels;
}

}  // namespace edgerun
