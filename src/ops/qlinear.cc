// QLinear op family: int8 operators whose inputs and outputs carry affine quantization
// parameters (real = scale * (q - zero_point)) as explicit inputs.
//
// ONNX QLinearConv and QLinearMatMul (opset 10), plus edgerun's own com.edgerun QLinearAdd and
// QLinearGlobalAveragePool, which the QDQ folding pass (passes/fold_qdq.cc) creates for residual
// adds and global pooling (the pool also in an NHWC form, com.edgerun.nhwc, for the layout pass),
// and com.edgerun.nhwc QLinearConvAdd, an NHWC QLinearConv with the residual QLinearAdd reading
// its output fused in (passes/fuse_qlinear_residual.cc).
// Shapes follow the float ops: QLinearConv and QLinearMatMul run the Conv and MatMul definitions on
// a float view of their data inputs, so both share one set of rules and error messages. Every op
// accepts the fused activation attributes "activation" (Relu or Clip) and "activation_params"
// (Clip: min, max), applied in the real domain before requantization.
#include <string>
#include <vector>

#include "ops/op_families.h"

namespace edgerun {
namespace {

std::string Str(int64_t v) { return std::to_string(v); }

std::string InputLabel(int i, std::string_view what) {
  return std::string(what) + " (input " + Str(i) + ")";
}

Status RequireQuantized(const InferContext& ctx, int i, std::string_view what) {
  if (!ctx.has_input(i)) return ctx.Invalid(InputLabel(i, what) + " is missing");
  if (!IsQuantized(ctx.input(i).dtype)) {
    return ctx.Invalid(InputLabel(i, what) + " has dtype " +
                       std::string(DTypeName(ctx.input(i).dtype)) + ", expected uint8 or int8");
  }
  return Status::Ok();
}

// A scale or zero point holds one element (per tensor: a scalar or a 1-element tensor), or, when
// `per_channel` > 1 is allowed, a 1-D tensor of exactly that many elements.
Status RequireParamShape(const InferContext& ctx, int i, std::string_view what,
                         int64_t per_channel) {
  const TensorType& t = ctx.input(i);
  if (t.num_elements() == 1 && t.rank() <= 1) return Status::Ok();
  if (per_channel > 1 && t.rank() == 1 && t.dims[0] == per_channel) return Status::Ok();
  return ctx.Invalid(InputLabel(i, what) + " has shape " + DimsToString(t.dims) +
                     ", expected one element" +
                     (per_channel > 1 ? " or [" + Str(per_channel) + "]" : std::string()));
}

Status RequireScale(const InferContext& ctx, int i, std::string_view what, int64_t per_channel) {
  if (!ctx.has_input(i)) return ctx.Invalid(InputLabel(i, what) + " is missing");
  if (ctx.input(i).dtype != DType::kF32) {
    return ctx.Invalid(InputLabel(i, what) + " has dtype " +
                       std::string(DTypeName(ctx.input(i).dtype)) + ", expected float32");
  }
  RETURN_IF_ERROR(RequireParamShape(ctx, i, what, per_channel));
  // A constant scale is checked now; a runtime one is the model's responsibility.
  if (const Tensor* c = ctx.constant(i)) {
    for (int64_t k = 0; k < c->num_elements(); ++k) {
      const double s = c->ScalarAsDouble(k);
      if (!(s > 0) || s > 3.4e38) {
        return ctx.Invalid(InputLabel(i, what) + " has entry " + std::to_string(s) +
                           ", scales must be positive and finite");
      }
    }
  }
  return Status::Ok();
}

// The zero point of the quantized tensor at input `of`: same dtype, same shape rules.
Status RequireZeroPoint(const InferContext& ctx, int i, std::string_view what, int of,
                        int64_t per_channel) {
  if (!ctx.has_input(i)) return ctx.Invalid(InputLabel(i, what) + " is missing");
  if (ctx.input(i).dtype != ctx.input(of).dtype) {
    return ctx.Invalid(InputLabel(i, what) + " has dtype " +
                       std::string(DTypeName(ctx.input(i).dtype)) + " but input " + Str(of) +
                       " has " + std::string(DTypeName(ctx.input(of).dtype)));
  }
  return RequireParamShape(ctx, i, what, per_channel);
}

// The output's zero point decides the output dtype (u8 or i8).
Status RequireOutputZeroPoint(const InferContext& ctx, int i, std::string_view what) {
  if (!ctx.has_input(i)) return ctx.Invalid(InputLabel(i, what) + " is missing");
  if (!IsQuantized(ctx.input(i).dtype)) {
    return ctx.Invalid(InputLabel(i, what) + " has dtype " +
                       std::string(DTypeName(ctx.input(i).dtype)) + ", expected uint8 or int8");
  }
  return RequireParamShape(ctx, i, what, 1);
}

// Only the clamping activations have an exact integer form; anything else is refused here so
// that a pass cannot create a node no kernel can run.
Status CheckActivation(const InferContext& ctx) {
  ASSIGN_OR_RETURN(std::string name, ctx.node().GetString("activation", ""));
  ASSIGN_OR_RETURN(std::vector<float> params, ctx.node().GetFloats("activation_params", {}));
  if (name.empty() || name == "Relu") {
    if (!params.empty()) {
      return ctx.Invalid("activation '" + name + "' takes no activation_params, got " +
                         Str(static_cast<int64_t>(params.size())));
    }
    return Status::Ok();
  }
  if (name == "Clip") {
    if (params.size() > 2) {
      return ctx.Invalid("activation 'Clip' takes at most 2 activation_params (min, max), got " +
                         Str(static_cast<int64_t>(params.size())));
    }
    if (params.size() == 2 && !(params[0] <= params[1])) {
      return ctx.Invalid("activation 'Clip' has min " + std::to_string(params[0]) + " above max " +
                         std::to_string(params[1]));
    }
    return Status::Ok();
  }
  return ctx.NotSupported("fused activation '" + name +
                          "' on a quantized op (only Relu and Clip are supported)");
}

// Runs the float op `op_type` on float views of the given inputs (same dims) and returns its
// output dims; its errors name this node.
Expected<std::vector<int64_t>> FloatOpDims(const InferContext& ctx, std::string_view op_type,
                                           std::initializer_list<int> inputs) {
  const OpDef* def = FindOpDef("", op_type);
  if (def == nullptr) return ctx.NotSupported("no definition of " + std::string(op_type));
  std::vector<TensorType> types;
  for (int i : inputs) types.push_back(TensorType{DType::kF32, ctx.input(i).dims});
  std::vector<const Tensor*> constants(types.size(), nullptr);
  std::vector<TensorType> outputs(1);
  InferContext float_ctx(ctx.node(), types, constants, &outputs);
  RETURN_IF_ERROR(def->infer(float_ctx));
  return outputs[0].dims;
}

// The inputs QLinearConv shares with QLinearConvAdd: x, x_scale, x_zero_point, w, w_scale,
// w_zero_point, y_scale, y_zero_point[, B].
Status CheckQLinearConvInputs(const InferContext& ctx) {
  RETURN_IF_ERROR(RequireQuantized(ctx, 0, "x"));
  RETURN_IF_ERROR(RequireQuantized(ctx, 3, "w"));
  const TensorType& w = ctx.input(3);
  if (w.rank() < 1) return ctx.Invalid("w (input 3) must have rank >= 1");
  const int64_t m = w.dims[0];
  RETURN_IF_ERROR(RequireScale(ctx, 1, "x_scale", 1));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 2, "x_zero_point", 0, 1));
  RETURN_IF_ERROR(RequireScale(ctx, 4, "w_scale", m));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 5, "w_zero_point", 3, m));
  RETURN_IF_ERROR(RequireScale(ctx, 6, "y_scale", 1));
  RETURN_IF_ERROR(RequireOutputZeroPoint(ctx, 7, "y_zero_point"));
  if (ctx.has_input(8)) {
    const TensorType& b = ctx.input(8);
    if (b.dtype != DType::kI32) {
      return ctx.Invalid("bias B (input 8) has dtype " + std::string(DTypeName(b.dtype)) +
                         ", expected int32");
    }
    if (b.rank() != 1 || b.dims[0] != m) {
      return ctx.Invalid("bias B (input 8) has shape " + DimsToString(b.dims) + ", expected [" +
                         Str(m) + "]");
    }
  }
  return CheckActivation(ctx);
}

// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point[, B].
Status InferQLinearConv(InferContext& ctx) {
  RETURN_IF_ERROR(CheckQLinearConvInputs(ctx));
  ASSIGN_OR_RETURN(std::vector<int64_t> out, FloatOpDims(ctx, "Conv", {0, 3}));
  ctx.set_output(0, ctx.input(7).dtype, std::move(out));
  return Status::Ok();
}

// com.edgerun.nhwc QLinearConvAdd: the nine QLinearConv inputs (x NHWC; B may be omitted), then
// z (9, NHWC, the output's shape), z_scale (10), z_zero_point (11), out_scale (12),
// out_zero_point (13). It computes QLinearAdd(QLinearConv(x, ..., B), z) exactly as the two
// nodes would, except that the add's float arithmetic is oneDNN's (see kernels/ref/qlinear.cc):
// the conv output is quantized with (y_scale, y_zero_point), saturated and rounded as usual, then
// added to z and requantized to (out_scale, out_zero_point). "activation" (Relu/Clip) belongs to
// the add; the conv part has none. Output dtype: out_zero_point's.
Status InferNhwcQLinearConvAdd(InferContext& ctx) {
  RETURN_IF_ERROR(CheckQLinearConvInputs(ctx));
  const TensorType& x = ctx.input(0);
  if (x.rank() != 4) {
    return ctx.Invalid("NHWC x (input 0) has shape " + DimsToString(x.dims) + ", need rank 4");
  }
  const OpDef* conv = FindOpDef("", "Conv");
  if (conv == nullptr) return ctx.NotSupported("no definition of Conv");
  const TensorType in[2] = {TensorType{DType::kF32, {x.dims[0], x.dims[3], x.dims[1], x.dims[2]}},
                            TensorType{DType::kF32, ctx.input(3).dims}};
  const Tensor* const constants[2] = {nullptr, nullptr};
  std::vector<TensorType> out(1);
  InferContext float_ctx(ctx.node(), in, constants, &out);
  RETURN_IF_ERROR(conv->infer(float_ctx));
  const std::vector<int64_t>& nchw = out[0].dims;
  std::vector<int64_t> dims = {nchw[0], nchw[2], nchw[3], nchw[1]};
  RETURN_IF_ERROR(RequireQuantized(ctx, 9, "z"));
  if (ctx.input(9).dims != dims) {
    return ctx.Invalid("z (input 9) has shape " + DimsToString(ctx.input(9).dims) +
                       ", the convolution's output has " + DimsToString(dims));
  }
  RETURN_IF_ERROR(RequireScale(ctx, 10, "z_scale", 1));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 11, "z_zero_point", 9, 1));
  RETURN_IF_ERROR(RequireScale(ctx, 12, "out_scale", 1));
  RETURN_IF_ERROR(RequireOutputZeroPoint(ctx, 13, "out_zero_point"));
  ctx.set_output(0, ctx.input(13).dtype, std::move(dims));
  return Status::Ok();
}

// QLinearMatMul: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
// b's parameters may be per column (the last dim of b); a's and y's are per tensor.
Status InferQLinearMatMul(InferContext& ctx) {
  RETURN_IF_ERROR(RequireQuantized(ctx, 0, "a"));
  RETURN_IF_ERROR(RequireQuantized(ctx, 3, "b"));
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(3);
  const int64_t n = b.rank() >= 2 ? b.dims.back() : 1;
  // ONNX also allows per-row a and y parameters; no exporter writes them and no fast kernel
  // takes them, so they are refused with a clear message instead of being half supported.
  const int64_t rows = a.rank() >= 2 ? a.dims[a.rank() - 2] : 1;
  for (int i : {1, 2, 6, 7}) {
    const TensorType& t = ctx.input(i);
    if (ctx.has_input(i) && t.rank() == 1 && t.dims[0] == rows && rows > 1) {
      return ctx.NotSupported("per-row quantization of " +
                              std::string(i == 1   ? "a_scale"
                                          : i == 2 ? "a_zero_point"
                                          : i == 6 ? "y_scale"
                                                   : "y_zero_point") +
                              " (input " + Str(i) + ")");
    }
  }
  RETURN_IF_ERROR(RequireScale(ctx, 1, "a_scale", 1));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 2, "a_zero_point", 0, 1));
  RETURN_IF_ERROR(RequireScale(ctx, 4, "b_scale", n));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 5, "b_zero_point", 3, n));
  RETURN_IF_ERROR(RequireScale(ctx, 6, "y_scale", 1));
  RETURN_IF_ERROR(RequireOutputZeroPoint(ctx, 7, "y_zero_point"));
  RETURN_IF_ERROR(CheckActivation(ctx));
  ASSIGN_OR_RETURN(std::vector<int64_t> out, FloatOpDims(ctx, "MatMul", {0, 3}));
  ctx.set_output(0, ctx.input(7).dtype, std::move(out));
  return Status::Ok();
}

// com.edgerun QLinearAdd: a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale,
// c_zero_point; numpy broadcasting, per-tensor parameters.
Status InferQLinearAdd(InferContext& ctx) {
  RETURN_IF_ERROR(RequireQuantized(ctx, 0, "a"));
  RETURN_IF_ERROR(RequireQuantized(ctx, 3, "b"));
  RETURN_IF_ERROR(RequireScale(ctx, 1, "a_scale", 1));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 2, "a_zero_point", 0, 1));
  RETURN_IF_ERROR(RequireScale(ctx, 4, "b_scale", 1));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 5, "b_zero_point", 3, 1));
  RETURN_IF_ERROR(RequireScale(ctx, 6, "c_scale", 1));
  RETURN_IF_ERROR(RequireOutputZeroPoint(ctx, 7, "c_zero_point"));
  RETURN_IF_ERROR(CheckActivation(ctx));
  ASSIGN_OR_RETURN(std::vector<int64_t> out,
                   BroadcastDims(ctx, ctx.input(0).dims, ctx.input(3).dims));
  ctx.set_output(0, ctx.input(7).dtype, std::move(out));
  return Status::Ok();
}

// com.edgerun QLinearGlobalAveragePool: x, x_scale, x_zero_point, y_scale, y_zero_point; NCHW
// (any rank >= 3), the mean over all spatial dims.
Status InferQLinearGlobalAveragePool(InferContext& ctx) {
  RETURN_IF_ERROR(RequireQuantized(ctx, 0, "x"));
  const TensorType& x = ctx.input(0);
  if (x.rank() < 3) {
    return ctx.Invalid("x (input 0) has shape " + DimsToString(x.dims) + ", need rank >= 3");
  }
  RETURN_IF_ERROR(RequireScale(ctx, 1, "x_scale", 1));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 2, "x_zero_point", 0, 1));
  RETURN_IF_ERROR(RequireScale(ctx, 3, "y_scale", 1));
  RETURN_IF_ERROR(RequireOutputZeroPoint(ctx, 4, "y_zero_point"));
  RETURN_IF_ERROR(CheckActivation(ctx));
  std::vector<int64_t> out(x.dims.size(), 1);
  out[0] = x.dims[0];
  out[1] = x.dims[1];
  ctx.set_output(0, ctx.input(4).dtype, std::move(out));
  return Status::Ok();
}

// The NHWC form (com.edgerun.nhwc, made by the layout pass): x is [N, H, W, C], y [N, 1, 1, C].
Status InferNhwcQLinearGlobalAveragePool(InferContext& ctx) {
  RETURN_IF_ERROR(RequireQuantized(ctx, 0, "x"));
  const TensorType& x = ctx.input(0);
  if (x.rank() != 4) {
    return ctx.Invalid("NHWC x (input 0) has shape " + DimsToString(x.dims) + ", need rank 4");
  }
  RETURN_IF_ERROR(RequireScale(ctx, 1, "x_scale", 1));
  RETURN_IF_ERROR(RequireZeroPoint(ctx, 2, "x_zero_point", 0, 1));
  RETURN_IF_ERROR(RequireScale(ctx, 3, "y_scale", 1));
  RETURN_IF_ERROR(RequireOutputZeroPoint(ctx, 4, "y_zero_point"));
  RETURN_IF_ERROR(CheckActivation(ctx));
  ctx.set_output(0, ctx.input(4).dtype, {x.dims[0], 1, 1, x.dims[3]});
  return Status::Ok();
}

constexpr OpDef kQLinearOpDefs[] = {
    {"QLinearConv", 8, 9, 1, 1, InferQLinearConv},
    {"QLinearMatMul", 8, 8, 1, 1, InferQLinearMatMul},
    {"QLinearAdd", 8, 8, 1, 1, InferQLinearAdd, kEdgerunDomain},
    {"QLinearGlobalAveragePool", 5, 5, 1, 1, InferQLinearGlobalAveragePool, kEdgerunDomain},
    {"QLinearGlobalAveragePool", 5, 5, 1, 1, InferNhwcQLinearGlobalAveragePool, kNhwcDomain},
    {"QLinearConvAdd", 14, 14, 1, 1, InferNhwcQLinearConvAdd, kNhwcDomain},
};

}  // namespace

std::span<const OpDef> QLinearOpDefs() { return kQLinearOpDefs; }

}  // namespace edgerun
