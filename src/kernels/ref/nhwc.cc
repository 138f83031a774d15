// Reference kernels for the NHWC ops (kNhwcDomain): input 0 is transposed to NCHW in scratch,
// the ONNX reference kernel runs, and its output is transposed back. Slow on purpose: it is the
// fallback when no fast backend claims a node, and the oracle the fast NHWC kernels are tested
// against. Conv's residual input 3 is added after the inner conv, then the fused activation.
#include <cstring>

#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {
namespace {

size_t Align(size_t n) { return (n + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment; }

// dst = src with 4-D axes permuted: NHWC -> NCHW when to_nchw, else NCHW -> NHWC.
// `d` are the dims of src.
void Permute4d(const void* src, void* dst, const int64_t* d, size_t elem, bool to_nchw) {
  const auto* s = static_cast<const std::byte*>(src);
  auto* o = static_cast<std::byte*>(dst);
  const int64_t n0 = d[0], a = d[1], b = d[2], c = d[3];
  // src [n][a][b][c]; NHWC->NCHW writes [n][c][a][b], NCHW->NHWC writes [n][b][c][a].
  for (int64_t n = 0; n < n0; ++n) {
    const std::byte* sn = s + n * a * b * c * elem;
    std::byte* on = o + n * a * b * c * elem;
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j)
        for (int64_t k = 0; k < c; ++k) {
          const int64_t from = (i * b + j) * c + k;
          const int64_t to = to_nchw ? (k * a + i) * b + j : (j * c + k) * a + i;
          std::memcpy(on + to * elem, sn + from * elem, elem);
        }
  }
}

struct NhwcState : KernelState {
  Node onnx_node;
  const KernelDef* inner = nullptr;
  std::unique_ptr<KernelState> inner_state;
  size_t inner_scratch = 0;
  TensorType in_nchw, out_nchw;
  size_t in_bytes = 0, out_bytes = 0;
  int onnx_inputs = 0;
  bool residual = false;
  FusedActivation activation;

  size_t persistent_bytes() const override {
    return inner_state ? inner_state->persistent_bytes() : 0;
  }
};

std::vector<int64_t> ToNchw(const std::vector<int64_t>& d) { return {d[0], d[3], d[1], d[2]}; }

Status PrepareNhwc(PrepareContext& ctx) {
  auto st = std::make_unique<NhwcState>();
  st->onnx_node = ctx.node;
  st->onnx_node.domain.clear();
  st->residual = ctx.node.op_type == "Conv" && ctx.inputs.size() > 3 &&
                 ctx.inputs[3].dtype != DType::kUndefined;
  st->onnx_inputs = ctx.node.op_type == "Conv" ? std::min<int>(3, ctx.inputs.size())
                                                : static_cast<int>(ctx.inputs.size());
  st->onnx_node.inputs.resize(st->onnx_inputs);
  if (st->residual) {
    // The activation applies after the residual add, so the inner conv must not apply it.
    ASSIGN_OR_RETURN(st->activation, FusedActivation::FromNode(ctx.node));
    st->onnx_node.attrs.erase("activation");
    st->onnx_node.attrs.erase("activation_params");
    st->onnx_node.attrs.erase("activation_affine");
    if (ctx.inputs[0].dtype != DType::kF32) return ctx.NotSupported("residual needs f32");
  }
  std::vector<TensorType> in_types(ctx.inputs.begin(), ctx.inputs.begin() + st->onnx_inputs);
  in_types[0].dims = ToNchw(in_types[0].dims);
  std::vector<TensorType> out_types(ctx.outputs.begin(), ctx.outputs.end());
  out_types[0].dims = ToNchw(out_types[0].dims);
  st->in_nchw = in_types[0];
  st->out_nchw = out_types[0];
  std::vector<const Tensor*> constants(ctx.constants.begin(),
                                       ctx.constants.begin() + st->onnx_inputs);
  constants[0] = nullptr;

  const KernelPath ref[] = {KernelPath::kReference};
  SupportContext sctx{st->onnx_node, in_types, constants, out_types};
  st->inner = SelectKernel(sctx, ref);
  if (st->inner == nullptr) return ctx.NotSupported("no reference kernel for the NCHW form");
  PrepareContext inner{st->onnx_node, in_types, constants, out_types, ctx.num_threads};
  inner.threadpool = ctx.threadpool;
  if (st->inner->prepare != nullptr) RETURN_IF_ERROR(st->inner->prepare(inner));
  st->inner_state = std::move(inner.state);
  st->inner_scratch = inner.scratch_bytes;
  st->in_bytes = Align(st->in_nchw.num_elements() * DTypeSize(st->in_nchw.dtype));
  st->out_bytes = Align(st->out_nchw.num_elements() * DTypeSize(st->out_nchw.dtype));
  ctx.scratch_bytes = st->in_bytes + st->out_bytes + st->inner_scratch;
  ctx.state = std::move(st);
  return Status::Ok();
}

Status InvokeNhwc(InvokeContext& ctx) {
  const auto& st = ctx.state_as<NhwcState>();
  auto* scratch = static_cast<std::byte*>(ctx.scratch);
  const TensorView& x = ctx.inputs[0];
  void* x_nchw = scratch;
  void* y_nchw = scratch + st.in_bytes;
  Permute4d(x.raw, x_nchw, x.dims, DTypeSize(x.dtype), /*to_nchw=*/true);

  TensorView inputs[16];
  if (st.onnx_inputs > 16) return ctx.Fail("too many inputs");
  for (int i = 0; i < st.onnx_inputs; ++i) inputs[i] = ctx.inputs[i];
  ASSIGN_OR_RETURN(inputs[0], TensorView::Make(st.in_nchw.dtype, st.in_nchw.dims, x_nchw));
  TensorView outputs[1];
  ASSIGN_OR_RETURN(outputs[0], TensorView::Make(st.out_nchw.dtype, st.out_nchw.dims, y_nchw));
  InvokeContext inner{st.onnx_node,
                      st.inner_state.get(),
                      std::span<const TensorView>(inputs, st.onnx_inputs),
                      std::span<TensorView>(outputs, 1),
                      st.inner_scratch ? scratch + st.in_bytes + st.out_bytes : nullptr,
                      st.inner_scratch,
                      ctx.threadpool};
  RETURN_IF_ERROR(st.inner->invoke(inner));

  TensorView& y = ctx.outputs[0];
  Permute4d(y_nchw, y.raw, outputs[0].dims, DTypeSize(y.dtype), /*to_nchw=*/false);
  if (st.residual) {
    float* out = y.data<float>();
    const float* z = ctx.inputs[3].data<float>();
    const int64_t n = y.num_elements();
    for (int64_t i = 0; i < n; ++i) out[i] = st.activation.Apply(out[i] + z[i]);
  }
  return Status::Ok();
}

bool SupportsNhwc(const SupportContext& ctx) {
  return !ctx.inputs.empty() && ctx.inputs[0].rank() == 4 && !ctx.outputs.empty() &&
         ctx.outputs[0].rank() == 4;
}

constexpr std::string_view kNhwc = kNhwcDomain;
const DTypeSet kNhwcTypes = DTypeSet{DType::kF32, DType::kF16, DType::kU8, DType::kI8};

}  // namespace

std::span<const KernelDef> RefNhwcKernels() {
  static const KernelDef kKernels[] = {
      {"Conv", KernelPath::kReference, kNhwcTypes, SupportsNhwc, PrepareNhwc, InvokeNhwc, kNhwc,
       /*may_run_in_place=*/false},
      {"ConvTranspose", KernelPath::kReference, kNhwcTypes, SupportsNhwc, PrepareNhwc, InvokeNhwc,
       kNhwc},
      {"MaxPool", KernelPath::kReference, kNhwcTypes, SupportsNhwc, PrepareNhwc, InvokeNhwc, kNhwc},
      {"AveragePool", KernelPath::kReference, kNhwcTypes, SupportsNhwc, PrepareNhwc, InvokeNhwc,
       kNhwc},
      {"GlobalAveragePool", KernelPath::kReference, kNhwcTypes, SupportsNhwc, PrepareNhwc,
       InvokeNhwc, kNhwc},
      {"GlobalMaxPool", KernelPath::kReference, kNhwcTypes, SupportsNhwc, PrepareNhwc, InvokeNhwc,
       kNhwc},
      {"QLinearConv", KernelPath::kReference, kNhwcTypes, SupportsNhwc, PrepareNhwc, InvokeNhwc,
       kNhwc},
  };
  return kKernels;
}

}  // namespace edgerun
