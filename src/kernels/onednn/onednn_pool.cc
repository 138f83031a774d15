// NHWC MaxPool, AveragePool and GlobalMaxPool on oneDNN's pooling primitive (GlobalAveragePool on
// this path is kernels/simd/global_pool.h).
//
// Source and destination stay NHWC. ceil_mode needs no flag: the trailing padding handed to
// oneDNN is whatever makes the output size the model's. count_include_pad maps to
// avg_include_padding, which divides by the taps inside the padded extent oneDNN was given; the
// node is therefore declined when ceil_mode stretched that extent past the model's own pads
// (ONNX does not count the stretch). Windows that lie entirely in padding are declined too.
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"
#include "kernels/ref/conv.h"

namespace edgerun {
namespace {

using onednn::ArgSource;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

struct PoolSpec {
  dnnl_alg_kind_t alg = dnnl_pooling_max;
  dnnl_data_type_t type = dnnl_f32;
  int64_t src[4] = {}, dst[4] = {};  // N, C, H, W (laid out NHWC)
  dnnl_dims_t strides = {1, 1}, kernel = {1, 1}, dilation = {0, 0};
  dnnl_dims_t pad_l = {0, 0}, pad_r = {0, 0};
};

Expected<PoolSpec> PoolSpecOf(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  const auto& x = ctx.inputs[0].dims;   // N, H, W, C
  const auto& y = ctx.outputs[0].dims;  // N, OH, OW, C
  PoolSpec s;
  if (!onednn::ToDnnlType(ctx.inputs[0].dtype, &s.type)) {
    return ctx.NotSupported("dtype not handled by oneDNN pooling");
  }
  const int64_t src[] = {x[0], x[3], x[1], x[2]};
  const int64_t dst[] = {y[0], y[3], y[1], y[2]};
  std::copy(src, src + 4, s.src);
  std::copy(dst, dst + 4, s.dst);
  const bool max = node.op_type == "MaxPool" || node.op_type == "GlobalMaxPool";
  if (node.op_type == "GlobalMaxPool") {
    s.kernel[0] = x[1];
    s.kernel[1] = x[2];
    s.alg = dnnl_pooling_max;
    return s;
  }
  Window3d w;
  RETURN_IF_ERROR(ResolveNhwcPoolWindow(ctx, &w));
  ASSIGN_OR_RETURN(int64_t include_pad, node.GetInt("count_include_pad", 0));
  s.alg = max ? dnnl_pooling_max
              : (include_pad != 0 ? dnnl_pooling_avg_include_padding
                                  : dnnl_pooling_avg_exclude_padding);
  for (int i = 0; i < 2; ++i) {
    const int j = i + 1;  // Window3d keeps 2-D windows in slots 1 and 2
    const int64_t span = (w.kernel[j] - 1) * w.dilation[j] + 1;
    s.kernel[i] = w.kernel[j];
    s.strides[i] = w.stride[j];
    s.dilation[i] = w.dilation[j] - 1;
    s.pad_l[i] = w.pad[j];
    s.pad_r[i] = w.pad_end(j);
    // Windows past the model's own trailing pad (ceil_mode), which count_include_pad counts.
    if (s.alg == dnnl_pooling_avg_include_padding && s.pad_r[i] > w.declared_pad_end[j]) {
      return ctx.NotSupported("ceil_mode with count_include_pad");
    }
    if (s.pad_l[i] >= span || s.pad_r[i] >= span) {
      return ctx.NotSupported("a pooling window lies entirely in the padding");
    }
  }
  return s;
}

Expected<PrimitiveDesc> CreatePoolPd(const PrepareContext& ctx, const PoolSpec& s,
                                     dnnl_memory_desc_t* src_md, dnnl_memory_desc_t* dst_md) {
  ASSIGN_OR_RETURN(*src_md, onednn::MakeDesc(s.src, s.type, dnnl_nhwc, ctx.node));
  ASSIGN_OR_RETURN(*dst_md, onednn::MakeDesc(s.dst, s.type, dnnl_nhwc, ctx.node));
  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeAttr(ctx.node, false, FusedActivation{}));
  dnnl_pooling_v2_desc_t desc;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, s.alg, src_md, dst_md,
                                        s.strides, s.kernel, s.dilation, s.pad_l, s.pad_r),
      ctx.node, "pooling"));
  PrimitiveDesc pd;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_primitive_desc_create(pd.out(), &desc, attr.get(), onednn::CpuEngine(), nullptr),
      ctx.node, "pooling"));
  return pd;
}

struct PoolState : KernelState {
  PrimitiveRunner runner;
};

bool SupportsNhwcPool(const SupportContext& ctx) {
  if (onednn::CpuEngine() == nullptr || ctx.inputs.empty() || ctx.outputs.empty()) return false;
  // MaxPool's optional Indices output has no oneDNN counterpart here.
  if (ctx.outputs.size() > 1 && ctx.outputs[1].dtype != DType::kUndefined) return false;
  if (ctx.inputs[0].dims.size() != 4 || ctx.outputs[0].dims.size() != 4) return false;
  if (NumElements(ctx.inputs[0].dims) == 0 || NumElements(ctx.outputs[0].dims) == 0) return false;
  // Integer averages would round differently from the reference.
  const bool max = ctx.node.op_type == "MaxPool" || ctx.node.op_type == "GlobalMaxPool";
  if (!max && ctx.inputs[0].dtype != DType::kF32) return false;
  PrepareContext pctx{ctx.node, ctx.inputs, ctx.constants, ctx.outputs};
  Expected<PoolSpec> s = PoolSpecOf(pctx);
  if (!s.ok()) return false;
  dnnl_memory_desc_t src, dst;
  return CreatePoolPd(pctx, *s, &src, &dst).ok();
}

Status PrepareNhwcPool(PrepareContext& ctx) {
  ASSIGN_OR_RETURN(PoolSpec s, PoolSpecOf(ctx));
  const int threads =
      onednn::ThreadsForWork(ctx, PoolWindowSteps(ctx.outputs[0].dims, std::span(s.kernel, 2)));
  onednn::ScopedOmpThreads team(threads);
  auto state = std::make_unique<PoolState>();
  dnnl_memory_desc_t src, dst;
  ASSIGN_OR_RETURN(PrimitiveDesc pd, CreatePoolPd(ctx, s, &src, &dst));
  RETURN_IF_ERROR(state->runner.Init(pd.get(), ctx.node));
  state->runner.UseThreads(threads);
  RETURN_IF_ERROR(state->runner.AddArg(DNNL_ARG_SRC, src, ArgSource::kInput, 0, ctx.node));
  RETURN_IF_ERROR(state->runner.AddArg(DNNL_ARG_DST, dst, ArgSource::kOutput, 0, ctx.node));
  ctx.scratch_bytes = state->runner.scratch_bytes();
  ctx.state = std::move(state);
  return Status::Ok();
}

Status SetupNhwcPool(SetupContext& ctx) { return ctx.state_as<PoolState>().runner.Bind(ctx); }

Status InvokeNhwcPool(InvokeContext& ctx) { return ctx.state_as<PoolState>().runner.Execute(ctx); }

constexpr DTypeSet kMaxTypes{DType::kF32, DType::kU8, DType::kI8};
constexpr DTypeSet kAvgTypes{DType::kF32};

}  // namespace

std::span<const KernelDef> OnednnPoolKernels() {
  static constexpr KernelDef kKernels[] = {
      {"MaxPool", KernelPath::kOnednn, kMaxTypes, SupportsNhwcPool, PrepareNhwcPool, InvokeNhwcPool,
       kNhwcDomain, false, false, SetupNhwcPool},
      {"AveragePool", KernelPath::kOnednn, kAvgTypes, SupportsNhwcPool, PrepareNhwcPool,
       InvokeNhwcPool, kNhwcDomain, false, false, SetupNhwcPool},
      {"GlobalMaxPool", KernelPath::kOnednn, kMaxTypes, SupportsNhwcPool, PrepareNhwcPool,
       InvokeNhwcPool, kNhwcDomain, false, false, SetupNhwcPool},
  };
  return kKernels;
}

}  // namespace edgerun
