// NHWC Mul and Add (f32, 4-D) on oneDNN's binary primitive, shared across the OpenMP team.
//
// Only where it splits the work across threads, and for what edgerun's channel-vector kernel
// (simd/channel_binary.h, ahead of this one) leaves: same-shape operands and other numpy
// broadcasts. The squeeze-excitation scale (x [1, H, W, C] times s [1, 1, 1, C]) went to that
// kernel: on the Intel Xeon at 2 threads this primitive took 0.072 ms on 112x112x32, that kernel
// 0.021. On one thread XNNPACK's operator is as fast or faster, so Supports declines.
//
// The graph's [N, H, W, C] tensors are handed to oneDNN as N, C, H, W dims with the nhwc tag (the
// same bytes), where a per-channel operand is the "per_oc" broadcast oneDNN's jit kernel handles.
// The full-size operand is oneDNN's first source; Mul and Add commute, so a broadcast input 0
// (torchvision writes scale * x) swaps. Shapes whose only implementation is oneDNN's reference
// kernel are declined.
#include <oneapi/dnnl/dnnl.h>

#include <string_view>

#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"

namespace edgerun {
namespace {

using onednn::ArgSource;
using onednn::IsF32;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

// The MAC floor of ThreadsForWork, in elements: each counts as this many MACs. On 2 threads
// (EfficientNet-B0's scales, Intel Xeon) the binary won from 188 K elements up (28x28x240: 0.033
// against XNNPACK's 0.043 ms) and lost below (28x28x144: 0.035 against 0.015); the conv after a
// shared scale also ran faster, its input being spread over both cores' caches.
constexpr double kMacsPerElement = 1.5;

struct BinarySpec {
  int full = 0;  // the input with the output's shape (oneDNN's first source)
  dnnl_alg_kind_t alg = dnnl_binary_mul;
};

// Graph [N, H, W, C] as oneDNN's N, C, H, W (nhwc tag).
Expected<dnnl_memory_desc_t> NhwcDesc(const std::vector<int64_t>& d, const Node& node) {
  const int64_t dims[] = {d[0], d[3], d[1], d[2]};
  return onednn::MakeDesc(dims, dnnl_f32, dnnl_nhwc, node);
}

Expected<BinarySpec> BinarySpecOf(const PrepareContext& ctx) {
  if (ctx.inputs.size() != 2 || ctx.outputs.size() != 1 || !IsF32(ctx.inputs[0]) ||
      !IsF32(ctx.inputs[1]) || !IsF32(ctx.outputs[0])) {
    return ctx.NotSupported("oneDNN binary needs two f32 inputs and one f32 output");
  }
  // Opset < 7 broadcasting with an axis attribute is not numpy broadcasting.
  if (ctx.node.has_attr("axis") || ctx.node.has_attr("broadcast")) {
    return ctx.NotSupported("legacy broadcast attributes");
  }
  const std::vector<int64_t>& y = ctx.outputs[0].dims;
  if (y.size() != 4 || NumElements(y) == 0) return ctx.NotSupported("not a 4-D map");
  BinarySpec s;
  s.alg = ctx.node.op_type == "Add" ? dnnl_binary_add : dnnl_binary_mul;
  s.full = ctx.inputs[0].dims == y ? 0 : 1;
  const std::vector<int64_t>& full = ctx.inputs[s.full].dims;
  const std::vector<int64_t>& other = ctx.inputs[1 - s.full].dims;
  if (full != y || other.size() != 4)
    return ctx.NotSupported("neither input has the output's shape");
  for (size_t i = 0; i < 4; ++i) {
    if (other[i] != 1 && other[i] != y[i]) return ctx.NotSupported("not a numpy broadcast");
  }
  return s;
}

Expected<PrimitiveDesc> CreateBinaryPd(const PrepareContext& ctx, const BinarySpec& s,
                                       dnnl_memory_desc_t* src0, dnnl_memory_desc_t* src1) {
  ASSIGN_OR_RETURN(*src0, NhwcDesc(ctx.inputs[s.full].dims, ctx.node));
  ASSIGN_OR_RETURN(*src1, NhwcDesc(ctx.inputs[1 - s.full].dims, ctx.node));
  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeAttr(ctx.node, false, FusedActivation{}));
  dnnl_binary_desc_t desc;
  RETURN_IF_ERROR(
      onednn::FromDnnl(dnnl_binary_desc_init(&desc, s.alg, src0, src1, src0), ctx.node, "binary"));
  PrimitiveDesc pd;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_primitive_desc_create(pd.out(), &desc, attr.get(), onednn::CpuEngine(), nullptr),
      ctx.node, "binary"));
  if (std::string_view(onednn::ImplName(pd.get())).starts_with("ref")) {
    return ctx.NotSupported("oneDNN has only its reference binary kernel for these shapes");
  }
  return pd;
}

int BinaryThreads(const PrepareContext& ctx) {
  return onednn::ThreadsForWork(
      ctx, static_cast<double>(NumElements(ctx.outputs[0].dims)) * kMacsPerElement);
}

struct BinaryState : KernelState {
  PrimitiveRunner runner;
  std::string_view implementation() const override { return runner.impl_name(); }
};

bool SupportsNhwcBinary(const SupportContext& ctx) {
  if (onednn::CpuEngine() == nullptr) return false;
  PrepareContext pctx(ctx);
  Expected<BinarySpec> s = BinarySpecOf(pctx);
  if (!s.ok()) return false;
  const int threads = BinaryThreads(pctx);
  if (threads <= 1) return false;  // XNNPACK's operator on the calling thread is as fast
  onednn::ScopedOmpThreads team(threads);
  dnnl_memory_desc_t src0, src1;
  return CreateBinaryPd(pctx, *s, &src0, &src1).ok();
}

Status PrepareNhwcBinary(PrepareContext& ctx) {
  ASSIGN_OR_RETURN(BinarySpec s, BinarySpecOf(ctx));
  const int threads = BinaryThreads(ctx);
  onednn::ScopedOmpThreads team(threads);
  auto state = std::make_unique<BinaryState>();
  dnnl_memory_desc_t src0, src1;
  ASSIGN_OR_RETURN(PrimitiveDesc pd, CreateBinaryPd(ctx, s, &src0, &src1));
  PrimitiveRunner& r = state->runner;
  RETURN_IF_ERROR(r.Init(pd.get(), ctx.node));
  r.UseThreads(threads);
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_SRC_0, src0, ArgSource::kInput, s.full, ctx.node));
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_SRC_1, src1, ArgSource::kInput, 1 - s.full, ctx.node));
  RETURN_IF_ERROR(r.AddArg(DNNL_ARG_DST, src0, ArgSource::kOutput, 0, ctx.node));
  ctx.scratch_bytes = r.scratch_bytes();
  ctx.state = std::move(state);
  return Status::Ok();
}

Status SetupNhwcBinary(SetupContext& ctx) { return ctx.state_as<BinaryState>().runner.Bind(ctx); }

Status InvokeNhwcBinary(InvokeContext& ctx) {
  return ctx.state_as<BinaryState>().runner.Execute(ctx);
}

constexpr DTypeSet kF32{DType::kF32};

}  // namespace

std::span<const KernelDef> OnednnBinaryKernels() {
  // Output 0 may take input 0's buffer: oneDNN reads each element of its first source before
  // writing it, and when input 0 is the broadcast one the runtime sees the sizes differ.
  static constexpr KernelDef kKernels[] = {
      {"Mul", KernelPath::kOnednn, kF32, SupportsNhwcBinary, PrepareNhwcBinary, InvokeNhwcBinary,
       "", /*may_run_in_place=*/true, false, SetupNhwcBinary},
      {"Add", KernelPath::kOnednn, kF32, SupportsNhwcBinary, PrepareNhwcBinary, InvokeNhwcBinary,
       "", /*may_run_in_place=*/true, false, SetupNhwcBinary},
  };
  return kKernels;
}

}  // namespace edgerun
