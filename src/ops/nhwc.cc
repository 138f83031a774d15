// The NHWC versions of the layout-sensitive ops (kNhwcDomain): shapes come from the ONNX op's
// own inference on the NCHW view of input 0, so both layouts share one set of rules and errors.
#include <algorithm>

#include "ops/op_families.h"

namespace edgerun {
namespace {

std::vector<int64_t> NhwcToNchw(const std::vector<int64_t>& d) { return {d[0], d[3], d[1], d[2]}; }
std::vector<int64_t> NchwToNhwc(const std::vector<int64_t>& d) { return {d[0], d[2], d[3], d[1]}; }

Status InferNhwc(InferContext& ctx) {
  const OpDef* onnx = FindOpDef("", ctx.node().op_type);
  if (onnx == nullptr) return ctx.NotSupported("no NCHW definition for this op");
  if (!ctx.has_input(0) || ctx.input(0).rank() != 4) {
    return ctx.Invalid("NHWC input 0 must have rank 4");
  }
  // Conv's residual input 3 is not part of the ONNX op.
  const bool has_residual = ctx.node().op_type == "Conv" && ctx.num_inputs() > 3;
  const int onnx_inputs = has_residual ? 3 : ctx.num_inputs();
  std::vector<TensorType> inputs(ctx.num_inputs());
  std::vector<const Tensor*> constants(ctx.num_inputs());
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    inputs[i] = ctx.input(i);
    constants[i] = ctx.constant(i);
  }
  inputs[0].dims = NhwcToNchw(inputs[0].dims);
  std::vector<TensorType> outputs(ctx.num_outputs());
  InferContext onnx_ctx(ctx.node(), std::span(inputs).first(onnx_inputs),
                        std::span<const Tensor* const>(constants).first(onnx_inputs), &outputs);
  RETURN_IF_ERROR(onnx->infer(onnx_ctx));
  if (outputs[0].rank() != 4) return ctx.Invalid("NHWC output 0 must have rank 4");
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    ctx.set_output(i, outputs[i].dtype, i == 0 ? NchwToNhwc(outputs[i].dims) : outputs[i].dims);
  }
  if (has_residual && ctx.has_input(3) && !(ctx.input(3) == ctx.output(0))) {
    return ctx.Invalid("residual input 3 has shape " + DimsToString(ctx.input(3).dims) +
                       ", the output has " + DimsToString(ctx.output(0).dims));
  }
  return Status::Ok();
}

// com.edgerun.nhwc ExpandDepthwiseConv (passes/fuse_expand_depthwise.cc): x [N, H, W, C] (0), the
// 1x1 expansion's weights [M, C, 1, 1] (1) and optional bias [M] (2), then the depthwise conv's
// weights [M, 1, kH, kW] (3) and optional bias [M] (4). The attributes are the depthwise conv's
// (strides, pads, dilations, group = M, activation...), plus "expand_activation" and
// "expand_activation_params" for the expansion. Output: the depthwise conv's, NHWC.
Status InferExpandDepthwise(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& expand = ctx.input(1);
  if (x.rank() != 4) {
    return ctx.Invalid("NHWC x (input 0) has shape " + DimsToString(x.dims) + ", need rank 4");
  }
  if (expand.rank() != 4 || expand.dims[1] != x.dims[3] || expand.dims[2] != 1 ||
      expand.dims[3] != 1) {
    return ctx.Invalid("expansion weights (input 1) have shape " + DimsToString(expand.dims) +
                       ", need 1x1 weights over x's " + std::to_string(x.dims[3]) + " channels");
  }
  if (ctx.has_input(2) && ctx.input(2).dims != std::vector<int64_t>{expand.dims[0]}) {
    return ctx.Invalid("expansion bias (input 2) has shape " + DimsToString(ctx.input(2).dims) +
                       ", need " + std::to_string(expand.dims[0]) + ", one per expanded channel");
  }
  const OpDef* conv = FindOpDef("", "Conv");
  if (conv == nullptr) return ctx.NotSupported("no definition of Conv");
  const TensorType in[3] = {TensorType{x.dtype, {x.dims[0], expand.dims[0], x.dims[1], x.dims[2]}},
                            ctx.input(3), ctx.has_input(4) ? ctx.input(4) : TensorType{}};
  const Tensor* const constants[3] = {nullptr, ctx.constant(3), ctx.constant(4)};
  std::vector<TensorType> out(1);
  InferContext depthwise(ctx.node(), in, constants, &out);
  RETURN_IF_ERROR(conv->infer(depthwise));
  ctx.set_output(0, out[0].dtype, NchwToNhwc(out[0].dims));
  return Status::Ok();
}

constexpr std::string_view kNhwc = kNhwcDomain;
constexpr OpDef kNhwcDefs[] = {
    {"Conv", 2, 4, 1, 1, InferNhwc, kNhwc},
    {"ConvTranspose", 2, 3, 1, 1, InferNhwc, kNhwc},
    {"MaxPool", 1, 1, 1, 1, InferNhwc, kNhwc},
    {"AveragePool", 1, 1, 1, 1, InferNhwc, kNhwc},
    {"GlobalAveragePool", 1, 1, 1, 1, InferNhwc, kNhwc},
    {"GlobalMaxPool", 1, 1, 1, 1, InferNhwc, kNhwc},
    {"QLinearConv", 8, 9, 1, 1, InferNhwc, kNhwc},
    {"ExpandDepthwiseConv", 4, 5, 1, 1, InferExpandDepthwise, kNhwc},
};

}  // namespace

std::span<const OpDef> NhwcOpDefs() { return kNhwcDefs; }

}  // namespace edgerun
