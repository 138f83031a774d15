// XNNPACK Gemm, MatMul and FusedMatMul (com.edgerun) with a constant B, f32, as one
// fully_connected_nc_f32 operator: A's leading dims fold into rows, B is packed at prepare (its
// [K, N] layout through XNN_FLAG_TRANSPOSE_WEIGHTS, Gemm's transB=1 [N, K] as is), Gemm's alpha
// scales the packed copy and beta * C becomes the bias when C broadcasts along rows.
#include <cmath>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {
namespace {

constexpr DTypeSet kF32{DType::kF32};

struct FcParams {
  int64_t rows = 0, k = 0, n = 0;
  bool b_is_nk = false;  // B stored [N, K] (Gemm transB=1)
  float alpha = 1.0f;
  // Bias source: input index 2 scaled by beta, or none.
  bool has_bias = false;
  float beta = 1.0f;
};

// All inputs but A are constant; C / bias broadcasts along the last dim only.
bool ResolveFc(const Node& node, std::span<const TensorType> inputs,
               std::span<const Tensor* const> constants, std::span<const TensorType> outputs,
               FcParams* p) {
  if (inputs.size() < 2 || outputs.size() != 1) return false;
  const TensorType& a = inputs[0];
  const TensorType& b = inputs[1];
  if (!IsF32(a) || !IsF32(b) || b.rank() != 2 || constants[1] == nullptr || a.rank() < 1) {
    return false;
  }
  const bool gemm = node.op_type == "Gemm";
  if (gemm) {
    Expected<int64_t> ta = node.GetInt("transA", 0);
    Expected<int64_t> tb = node.GetInt("transB", 0);
    Expected<float> alpha = node.GetFloat("alpha", 1.0f);
    Expected<float> beta = node.GetFloat("beta", 1.0f);
    if (!ta.ok() || !tb.ok() || !alpha.ok() || !beta.ok() || *ta != 0 || a.rank() != 2 ||
        !std::isfinite(*alpha) || !std::isfinite(*beta)) {
      return false;
    }
    p->b_is_nk = *tb != 0;
    p->alpha = *alpha;
    p->beta = *beta;
  }
  p->k = a.dims.back();
  p->n = p->b_is_nk ? b.dims[0] : b.dims[1];
  if ((p->b_is_nk ? b.dims[1] : b.dims[0]) != p->k) return false;
  p->rows = p->k > 0 ? a.num_elements() / p->k : 0;
  if (p->rows <= 0 || p->k <= 0 || p->n <= 0) return false;
  if (outputs[0].num_elements() != p->rows * p->n || outputs[0].dims.back() != p->n) return false;
  if (inputs.size() > 2 && Present(inputs[2]) && !(gemm && p->beta == 0.0f)) {
    const TensorType& c = inputs[2];
    if (!IsF32(c) || constants[2] == nullptr) return false;
    // [N], [1, N], [1], [1, 1] or a scalar: the same bias for every row.
    const int64_t last = c.rank() == 0 ? 1 : c.dims.back();
    if (last != p->n && last != 1) return false;
    if (c.num_elements() != last) return false;
    p->has_bias = true;
  }
  return XnnActivationSupported(node);
}

bool SupportsFc(const SupportContext& ctx) {
  FcParams p;
  return ResolveFc(ctx.node, ctx.inputs, ctx.constants, ctx.outputs, &p);
}

struct FcState : XnnState {
  FcParams p;
  XnnActivation act;
};

Status PrepareFc(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<FcState>();
  FcParams& p = s->p;
  if (!ResolveFc(ctx.node, ctx.inputs, ctx.constants, ctx.outputs, &p)) {
    return ctx.NotSupported("operands XNNPACK's fully connected operator cannot take");
  }
  RETURN_IF_ERROR(ParseActivation(ctx, s->act));
  s->ops.reserve(3);

  const float* b = ctx.constants[1]->data<float>();
  std::vector<float> scaled;
  if (p.alpha != 1.0f) {
    scaled.assign(b, b + p.k * p.n);
    for (float& v : scaled) v *= p.alpha;
    b = scaled.data();
  }
  std::vector<float> bias;
  if (p.has_bias) {
    const Tensor& c = *ctx.constants[2];
    const float* cv = c.data<float>();
    bias.resize(static_cast<size_t>(p.n));
    for (int64_t j = 0; j < p.n; ++j) {
      bias[j] = p.beta * cv[c.num_elements() == 1 ? 0 : j];
    }
  }

  HeapMeter meter;
  xnn_operator_t op = nullptr;
  const uint32_t flags = p.b_is_nk ? 0 : XNN_FLAG_TRANSPOSE_WEIGHTS;
  const xnn_status st = xnn_create_fully_connected_nc_f32(
      static_cast<size_t>(p.k), static_cast<size_t>(p.n), static_cast<size_t>(p.k),
      static_cast<size_t>(p.n), b, p.has_bias ? bias.data() : nullptr, s->act.output_min,
      s->act.output_max, flags, &op);
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "fully connected").status());
  RETURN_IF_ERROR(CreateActivationOps(ctx, *s, s->act));
  s->heap_bytes = meter.bytes();
  if (s->act.needs_scratch()) {
    ctx.scratch_bytes = static_cast<size_t>(p.rows * p.n) * sizeof(float);
  }
  // XNNPACK packed B and the bias into the operator at create.
  ctx.packed_constant_inputs |= (1u << 1) | (1u << 2);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupFc(SetupContext& ctx) {
  auto& s = ctx.state_as<FcState>();
  const TensorView& a = ctx.inputs[0];
  TensorView& y = ctx.outputs[0];
  HeapMeter meter;
  const xnn_status st = xnn_setup_fully_connected_nc_f32(
      s.ops[0], static_cast<size_t>(s.p.rows), a.data<float>(), y.data<float>(), ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "fully connected");
  RETURN_IF_ERROR(SetupActivation(ctx, s, s.act, y.data<float>(),
                                  static_cast<size_t>(s.p.rows * s.p.n),
                                  static_cast<float*>(ctx.scratch)));
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

constexpr KernelPath kXnn = KernelPath::kXnnpack;

constexpr KernelDef kMatMulKernels[] = {
    {"Gemm", kXnn, kF32, SupportsFc, PrepareFc, InvokeXnnOps, "", false, false, SetupFc},
    {"MatMul", kXnn, kF32, SupportsFc, PrepareFc, InvokeXnnOps, "", false, false, SetupFc},
    {"FusedMatMul", kXnn, kF32, SupportsFc, PrepareFc, InvokeXnnOps, kEdgerunDomain, false, false,
     SetupFc},
};

}  // namespace

std::span<const KernelDef> XnnpackMatMulKernels() { return kMatMulKernels; }

}  // namespace edgerun
