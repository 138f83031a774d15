// Elementwise op family: semantics and shape inference for math, activations, logic, comparison,
// Where, Cast/CastLike, Clip and Dropout, plus the internal com.edgerun SiLU and Gelu.
//
// Unary ops keep their input's type; binary, variadic and Where broadcast their inputs with numpy
// rules (BroadcastDims); comparisons and predicates produce bool. Each op checks its input dtypes
// against the set ONNX allows (opsets 7..18), so kernels never see a type they cannot handle.
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_families.h"

namespace edgerun {
namespace {

inline constexpr DTypeSet kSignedInts{DType::kI8, DType::kI16, DType::kI32, DType::kI64};
inline constexpr DTypeSet kUnsignedInts{DType::kU8, DType::kU16, DType::kU32, DType::kU64};
inline constexpr DTypeSet kBoolOnly{DType::kBool};
inline constexpr DTypeSet kSignedNumeric = kFloatTypes | kSignedInts;
inline constexpr DTypeSet kAnyType = kNumericTypes | kBoolOnly;

// Type classes an op accepts for its main input(s). An enum keeps the infer functions plain
// template instantiations usable in the constexpr table.
enum class Accepts { kFloat, kNumeric, kSignedNumeric, kBool, kUnsigned, kAny };

constexpr DTypeSet SetOf(Accepts a) {
  switch (a) {
    case Accepts::kFloat:
      return kFloatTypes;
    case Accepts::kNumeric:
      return kNumericTypes;
    case Accepts::kSignedNumeric:
      return kSignedNumeric;
    case Accepts::kBool:
      return kBoolOnly;
    case Accepts::kUnsigned:
      return kUnsignedInts;
    case Accepts::kAny:
      return kAnyType;
  }
  return {};
}

Status CheckInputDType(const InferContext& ctx, int i, DTypeSet allowed) {
  const DType t = ctx.input(i).dtype;
  if (!allowed.contains(t)) {
    return ctx.Invalid("input " + std::to_string(i) + " has dtype " + std::string(DTypeName(t)) +
                       ", which " + ctx.node().op_type + " does not accept");
  }
  return Status::Ok();
}

Status CheckSameDType(const InferContext& ctx, int i, int j) {
  if (ctx.input(i).dtype != ctx.input(j).dtype) {
    return ctx.Invalid("inputs " + std::to_string(i) + " and " + std::to_string(j) +
                       " have different dtypes (" + std::string(DTypeName(ctx.input(i).dtype)) +
                       " vs " + std::string(DTypeName(ctx.input(j).dtype)) + ")");
  }
  return Status::Ok();
}

// Opset 1-6 binary ops broadcast only with an explicit `broadcast`/`axis` pair (limited, not
// numpy); edgerun implements numpy broadcasting from opset 7 on.
Status RejectLegacyBroadcast(const InferContext& ctx) {
  if (ctx.opset() > 0 && ctx.opset() < 7 && ctx.node().has_attr("axis")) {
    return ctx.NotSupported("legacy (opset " + std::to_string(ctx.opset()) +
                            ") axis-based broadcasting is not supported");
  }
  return Status::Ok();
}

// Output 0 has input 0's dtype and dims.
template <Accepts kIn>
Status InferUnary(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, SetOf(kIn)));
  ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).dims);
  return Status::Ok();
}

// Unary ops with float attributes: parse them here so a malformed attribute fails at load.
template <Accepts kIn>
Status InferUnaryWithFloatAttrs(InferContext& ctx) {
  for (std::string_view name : {"alpha", "beta", "gamma", "bias", "lambd"}) {
    if (ctx.node().has_attr(name)) RETURN_IF_ERROR(ctx.node().GetFloat(name, 0).status());
  }
  return InferUnary<kIn>(ctx);
}

Status InferFloatPredicate(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, kFloatTypes));
  RETURN_IF_ERROR(ctx.node().GetInt("detect_negative", 1).status());
  RETURN_IF_ERROR(ctx.node().GetInt("detect_positive", 1).status());
  ctx.set_output(0, DType::kBool, ctx.input(0).dims);
  return Status::Ok();
}

Status InferGelu(InferContext& ctx) {
  ASSIGN_OR_RETURN(std::string approximate, ctx.node().GetString("approximate", "none"));
  if (approximate != "none" && approximate != "tanh") {
    return ctx.Invalid("attribute 'approximate' is '" + approximate +
                       "', expected 'none' or 'tanh'");
  }
  return InferUnary<Accepts::kFloat>(ctx);
}

// Two same-typed inputs broadcast together; output dtype is the input dtype, or bool.
template <Accepts kIn, bool kBoolOut>
Status InferBinary(InferContext& ctx) {
  RETURN_IF_ERROR(RejectLegacyBroadcast(ctx));
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, SetOf(kIn)));
  RETURN_IF_ERROR(CheckSameDType(ctx, 0, 1));
  ASSIGN_OR_RETURN(std::vector<int64_t> dims,
                   BroadcastDims(ctx, ctx.input(0).dims, ctx.input(1).dims));
  ctx.set_output(0, kBoolOut ? DType::kBool : ctx.input(0).dtype, std::move(dims));
  return Status::Ok();
}

Status InferMod(InferContext& ctx) {
  ASSIGN_OR_RETURN(int64_t fmod, ctx.node().GetInt("fmod", 0));
  if (fmod != 0 && fmod != 1) {
    return ctx.Invalid("attribute 'fmod' is " + std::to_string(fmod) + ", expected 0 or 1");
  }
  return InferBinary<Accepts::kNumeric, false>(ctx);
}

Status InferBitShift(InferContext& ctx) {
  ASSIGN_OR_RETURN(std::string direction, ctx.node().GetString("direction", ""));
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.Invalid("attribute 'direction' is '" + direction + "', expected LEFT or RIGHT");
  }
  return InferBinary<Accepts::kUnsigned, false>(ctx);
}

// Pow: base and exponent may have different numeric dtypes; the output takes the base's.
Status InferPow(InferContext& ctx) {
  RETURN_IF_ERROR(RejectLegacyBroadcast(ctx));
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, kNumericTypes));
  RETURN_IF_ERROR(CheckInputDType(ctx, 1, kNumericTypes));
  ASSIGN_OR_RETURN(std::vector<int64_t> dims,
                   BroadcastDims(ctx, ctx.input(0).dims, ctx.input(1).dims));
  ctx.set_output(0, ctx.input(0).dtype, std::move(dims));
  return Status::Ok();
}

// PRelu: slope broadcasts to X (unidirectionally); the output has X's shape.
Status InferPRelu(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, kSignedNumeric | kUnsignedInts));
  RETURN_IF_ERROR(CheckSameDType(ctx, 0, 1));
  ASSIGN_OR_RETURN(std::vector<int64_t> dims,
                   BroadcastDims(ctx, ctx.input(0).dims, ctx.input(1).dims));
  if (dims != ctx.input(0).dims) {
    return ctx.Invalid("slope of shape " + DimsToString(ctx.input(1).dims) +
                       " does not broadcast to X of shape " + DimsToString(ctx.input(0).dims));
  }
  ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).dims);
  return Status::Ok();
}

// Sum, Mean, Max, Min: one or more same-typed inputs, all broadcast together.
template <Accepts kIn>
Status InferVariadic(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, SetOf(kIn)));
  std::vector<int64_t> dims = ctx.input(0).dims;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Invalid("input " + std::to_string(i) + " is missing");
    RETURN_IF_ERROR(CheckSameDType(ctx, 0, i));
    ASSIGN_OR_RETURN(dims, BroadcastDims(ctx, dims, ctx.input(i).dims));
  }
  ctx.set_output(0, ctx.input(0).dtype, std::move(dims));
  return Status::Ok();
}

Status InferWhere(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, kBoolOnly));
  RETURN_IF_ERROR(CheckInputDType(ctx, 1, kAnyType));
  RETURN_IF_ERROR(CheckSameDType(ctx, 1, 2));
  ASSIGN_OR_RETURN(std::vector<int64_t> dims,
                   BroadcastDims(ctx, ctx.input(0).dims, ctx.input(1).dims));
  ASSIGN_OR_RETURN(dims, BroadcastDims(ctx, dims, ctx.input(2).dims));
  ctx.set_output(0, ctx.input(1).dtype, std::move(dims));
  return Status::Ok();
}

// Clip: bounds are attributes before opset 11 and optional scalar inputs from 11 on.
Status InferClip(InferContext& ctx) {
  const bool attr_form = ctx.opset() > 0 && ctx.opset() < 11;
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, attr_form ? kFloatTypes : kNumericTypes));
  if (attr_form) {
    if (ctx.num_inputs() > 1) return ctx.Invalid("takes bounds as attributes before opset 11");
    RETURN_IF_ERROR(ctx.node().GetFloat("min", 0).status());
    RETURN_IF_ERROR(ctx.node().GetFloat("max", 0).status());
  }
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    RETURN_IF_ERROR(CheckSameDType(ctx, 0, i));
    if (ctx.input(i).num_elements() != 1) {
      return ctx.Invalid(std::string(i == 1 ? "min" : "max") + " must be a scalar, got shape " +
                         DimsToString(ctx.input(i).dims));
    }
  }
  ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).dims);
  return Status::Ok();
}

// Dropout at inference is the identity; the optional mask is all ones (bool from opset 10, the
// input's type before).
Status InferDropout(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, kFloatTypes));
  if (ctx.has_input(1)) {
    RETURN_IF_ERROR(CheckInputDType(ctx, 1, kFloatTypes));
    if (ctx.input(1).num_elements() != 1) return ctx.Invalid("ratio must be a scalar");
  }
  if (ctx.has_input(2)) {
    RETURN_IF_ERROR(CheckInputDType(ctx, 2, kBoolOnly));
    if (ctx.input(2).num_elements() != 1) return ctx.Invalid("training_mode must be a scalar");
  }
  ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).dims);
  if (ctx.num_outputs() > 1) {
    const DType mask = ctx.opset() > 0 && ctx.opset() < 10 ? ctx.input(0).dtype : DType::kBool;
    ctx.set_output(1, mask, ctx.input(0).dims);
  }
  return Status::Ok();
}

Status InferCast(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, kAnyType));
  const Attribute* to = ctx.node().attr("to");
  if (to == nullptr) return ctx.Invalid("attribute 'to' is missing");
  ASSIGN_OR_RETURN(int64_t code, ctx.node().GetInt("to", 0));
  ASSIGN_OR_RETURN(DType out, DTypeFromOnnxCode(ctx, code));
  ctx.set_output(0, out, ctx.input(0).dims);
  return Status::Ok();
}

Status InferCastLike(InferContext& ctx) {
  RETURN_IF_ERROR(CheckInputDType(ctx, 0, kAnyType));
  RETURN_IF_ERROR(CheckInputDType(ctx, 1, kAnyType));
  ctx.set_output(0, ctx.input(1).dtype, ctx.input(0).dims);
  return Status::Ok();
}

constexpr auto kFloatUnary = InferUnary<Accepts::kFloat>;
constexpr auto kFloatUnaryAttrs = InferUnaryWithFloatAttrs<Accepts::kFloat>;
constexpr auto kArith = InferBinary<Accepts::kNumeric, false>;
constexpr auto kCompare = InferBinary<Accepts::kNumeric, true>;
constexpr auto kLogic = InferBinary<Accepts::kBool, true>;

constexpr OpDef kDefs[] = {
    // Unary math.
    {"Abs", 1, 1, 1, 1, InferUnary<Accepts::kNumeric>},
    {"Neg", 1, 1, 1, 1, InferUnary<Accepts::kSignedNumeric>},
    {"Sqrt", 1, 1, 1, 1, kFloatUnary},
    {"Exp", 1, 1, 1, 1, kFloatUnary},
    {"Log", 1, 1, 1, 1, kFloatUnary},
    {"Reciprocal", 1, 1, 1, 1, kFloatUnary},
    {"Floor", 1, 1, 1, 1, kFloatUnary},
    {"Ceil", 1, 1, 1, 1, kFloatUnary},
    {"Round", 1, 1, 1, 1, kFloatUnary},
    {"Sign", 1, 1, 1, 1, InferUnary<Accepts::kNumeric>},
    {"Sin", 1, 1, 1, 1, kFloatUnary},
    {"Cos", 1, 1, 1, 1, kFloatUnary},
    {"Tan", 1, 1, 1, 1, kFloatUnary},
    {"Asin", 1, 1, 1, 1, kFloatUnary},
    {"Acos", 1, 1, 1, 1, kFloatUnary},
    {"Atan", 1, 1, 1, 1, kFloatUnary},
    {"Sinh", 1, 1, 1, 1, kFloatUnary},
    {"Cosh", 1, 1, 1, 1, kFloatUnary},
    {"Asinh", 1, 1, 1, 1, kFloatUnary},
    {"Acosh", 1, 1, 1, 1, kFloatUnary},
    {"Atanh", 1, 1, 1, 1, kFloatUnary},
    {"Erf", 1, 1, 1, 1, kFloatUnary},
    {"Not", 1, 1, 1, 1, InferUnary<Accepts::kBool>},
    {"IsNaN", 1, 1, 1, 1, InferFloatPredicate},
    {"IsInf", 1, 1, 1, 1, InferFloatPredicate},
    {"BitShift", 2, 2, 1, 1, InferBitShift},
    // Activations.
    {"Relu", 1, 1, 1, 1, InferUnary<Accepts::kSignedNumeric>},
    {"LeakyRelu", 1, 1, 1, 1, kFloatUnaryAttrs},
    {"PRelu", 2, 2, 1, 1, InferPRelu},
    {"Elu", 1, 1, 1, 1, kFloatUnaryAttrs},
    {"Selu", 1, 1, 1, 1, kFloatUnaryAttrs},
    {"Celu", 1, 1, 1, 1, kFloatUnaryAttrs},
    {"ThresholdedRelu", 1, 1, 1, 1, kFloatUnaryAttrs},
    {"Sigmoid", 1, 1, 1, 1, kFloatUnary},
    {"HardSigmoid", 1, 1, 1, 1, kFloatUnaryAttrs},
    {"HardSwish", 1, 1, 1, 1, kFloatUnary},
    {"Tanh", 1, 1, 1, 1, kFloatUnary},
    {"Softplus", 1, 1, 1, 1, kFloatUnary},
    {"Softsign", 1, 1, 1, 1, kFloatUnary},
    {"Mish", 1, 1, 1, 1, kFloatUnary},
    {"Shrink", 1, 1, 1, 1, InferUnaryWithFloatAttrs<Accepts::kNumeric>},
    {"Clip", 1, 3, 1, 1, InferClip},
    // Binary.
    {"Add", 2, 2, 1, 1, kArith},
    {"Sub", 2, 2, 1, 1, kArith},
    {"Mul", 2, 2, 1, 1, kArith},
    {"Div", 2, 2, 1, 1, kArith},
    {"Pow", 2, 2, 1, 1, InferPow},
    {"Mod", 2, 2, 1, 1, InferMod},
    {"And", 2, 2, 1, 1, kLogic},
    {"Or", 2, 2, 1, 1, kLogic},
    {"Xor", 2, 2, 1, 1, kLogic},
    {"Equal", 2, 2, 1, 1, InferBinary<Accepts::kAny, true>},
    {"Less", 2, 2, 1, 1, kCompare},
    {"LessOrEqual", 2, 2, 1, 1, kCompare},
    {"Greater", 2, 2, 1, 1, kCompare},
    {"GreaterOrEqual", 2, 2, 1, 1, kCompare},
    // Variadic.
    {"Sum", 1, -1, 1, 1, InferVariadic<Accepts::kNumeric>},
    {"Mean", 1, -1, 1, 1, InferVariadic<Accepts::kFloat>},
    {"Max", 1, -1, 1, 1, InferVariadic<Accepts::kNumeric>},
    {"Min", 1, -1, 1, 1, InferVariadic<Accepts::kNumeric>},
    // Selection, conversion, identity-at-inference.
    {"Where", 3, 3, 1, 1, InferWhere},
    {"Cast", 1, 1, 1, 1, InferCast},
    {"CastLike", 2, 2, 1, 1, InferCastLike},
    {"Dropout", 1, 3, 1, 2, InferDropout},
    // Internal ops created by the fusion pass.
    {"SiLU", 1, 1, 1, 1, kFloatUnary, kEdgerunDomain},
    {"Gelu", 1, 1, 1, 1, InferGelu, kEdgerunDomain},
};

}  // namespace

std::span<const OpDef> ElementwiseOpDefs() { return kDefs; }

}  // namespace edgerun
