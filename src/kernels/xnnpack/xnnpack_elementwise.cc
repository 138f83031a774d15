// XNNPACK elementwise kernels, f32: the binary *_nd operators with numpy broadcasting (Add, Sub,
// Mul, Div, Max, Min with two inputs) and the unary *_nc operators over the flattened tensor
// (Relu and Clip as clamps, Sigmoid, HardSwish, HardSigmoid, LeakyRelu, Elu, Abs, Neg, Floor, Ceil,
// Round, Sqrt, Pow with a constant exponent of 2), PRelu with a slope along the last axis, and
// Softmax over the trailing dims.
// All of them may write their output over input 0: XNNPACK reads each element before writing it.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {
namespace {

constexpr DTypeSet kF32{DType::kF32};

bool NonEmptyF32(const TensorType& t) { return IsF32(t) && t.num_elements() > 0; }

// ---- Binary ----

enum class BinaryOp : uint8_t { kAdd, kSub, kMul, kDiv, kMax, kMin };

BinaryOp BinaryOpOf(std::string_view op) {
  if (op == "Sub") return BinaryOp::kSub;
  if (op == "Mul") return BinaryOp::kMul;
  if (op == "Div") return BinaryOp::kDiv;
  if (op == "Max") return BinaryOp::kMax;
  if (op == "Min") return BinaryOp::kMin;
  return BinaryOp::kAdd;
}

bool SupportsBinary(const SupportContext& ctx) {
  if (ctx.inputs.size() != 2 || ctx.outputs.size() != 1) return false;
  // Opset < 7 broadcasting with an axis attribute is not numpy broadcasting.
  if (ctx.node.has_attr("axis") || ctx.node.has_attr("broadcast")) return false;
  for (const TensorType& t : ctx.inputs) {
    if (!NonEmptyF32(t) || t.rank() > XNN_MAX_TENSOR_DIMS) return false;
  }
  return ctx.outputs[0].num_elements() > 0 && ctx.outputs[0].rank() <= XNN_MAX_TENSOR_DIMS;
}

struct BinaryState : XnnState {
  BinaryOp op = BinaryOp::kAdd;
};

Status PrepareBinary(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<BinaryState>();
  s->op = BinaryOpOf(ctx.node.op_type);
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  xnn_status st = xnn_status_invalid_parameter;
  switch (s->op) {
    case BinaryOp::kAdd: st = xnn_create_add_nd_f32(kNoMin, kNoMax, 0, &op); break;
    case BinaryOp::kSub: st = xnn_create_subtract_nd_f32(kNoMin, kNoMax, 0, &op); break;
    case BinaryOp::kMul: st = xnn_create_multiply_nd_f32(kNoMin, kNoMax, 0, &op); break;
    case BinaryOp::kDiv: st = xnn_create_divide_nd_f32(kNoMin, kNoMax, 0, &op); break;
    case BinaryOp::kMax: st = xnn_create_maximum_nd_f32(0, &op); break;
    case BinaryOp::kMin: st = xnn_create_minimum_nd_f32(0, &op); break;
  }
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, ctx.node.op_type).status());
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupBinary(SetupContext& ctx) {
  auto& s = ctx.state_as<BinaryState>();
  const TensorView& a = ctx.inputs[0];
  const TensorView& b = ctx.inputs[1];
  size_t a_shape[XNN_MAX_TENSOR_DIMS], b_shape[XNN_MAX_TENSOR_DIMS];
  for (int i = 0; i < a.rank; ++i) a_shape[i] = static_cast<size_t>(a.dims[i]);
  for (int i = 0; i < b.rank; ++i) b_shape[i] = static_cast<size_t>(b.dims[i]);
  const size_t ra = static_cast<size_t>(a.rank), rb = static_cast<size_t>(b.rank);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* y = ctx.outputs[0].data<float>();
  xnn_operator_t op = s.ops[0];
  pthreadpool_t tp = ctx.threadpool;
  HeapMeter meter;
  xnn_status st = xnn_status_invalid_parameter;
  switch (s.op) {
    case BinaryOp::kAdd: st = xnn_setup_add_nd_f32(op, ra, a_shape, rb, b_shape, pa, pb, y, tp); break;
    case BinaryOp::kSub:
      st = xnn_setup_subtract_nd_f32(op, ra, a_shape, rb, b_shape, pa, pb, y, tp);
      break;
    case BinaryOp::kMul:
      st = xnn_setup_multiply_nd_f32(op, ra, a_shape, rb, b_shape, pa, pb, y, tp);
      break;
    case BinaryOp::kDiv:
      st = xnn_setup_divide_nd_f32(op, ra, a_shape, rb, b_shape, pa, pb, y, tp);
      break;
    case BinaryOp::kMax:
      st = xnn_setup_maximum_nd_f32(op, ra, a_shape, rb, b_shape, pa, pb, y, tp);
      break;
    case BinaryOp::kMin:
      st = xnn_setup_minimum_nd_f32(op, ra, a_shape, rb, b_shape, pa, pb, y, tp);
      break;
  }
  if (st != xnn_status_success) return SetupFailed(ctx, st, ctx.node.op_type);
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

// ---- Unary (flattened: channels 1, one "batch" row per element) ----

enum class UnaryOp : uint8_t {
  kClamp, kSigmoid, kHardSwish, kHardSigmoid, kLeakyRelu, kElu, kAbs, kNeg, kFloor, kCeil, kRound,
  kSqrt, kSquare, kPRelu, kSoftmax
};

struct UnaryState : XnnState {
  UnaryOp op = UnaryOp::kClamp;
  size_t rows = 0;  // batch_size at setup; the operator's channels cover the rest
  // HardSigmoid: a multiply by alpha, then an add of beta clamped to [0, 1]; the operators read
  // these as their second operand, so they live here (the state does not move).
  float alpha = 0, beta = 0;
};

// Pow whose exponent is the constant 2 (LayerNorm's variance): XNNPACK's square. The exponent
// may have any numeric dtype and must not broadcast X to a higher rank.
bool IsSquare(std::span<const TensorType> inputs, std::span<const Tensor* const> constants) {
  if (inputs.size() != 2 || constants[1] == nullptr || constants[1]->num_elements() != 1 ||
      inputs[1].rank() > inputs[0].rank()) {
    return false;
  }
  return constants[1]->ScalarAsDouble(0) == 2.0;
}

// Clip's bounds as the reference reads them: attributes before opset 11, else optional constant
// scalar inputs (absent: unbounded). False when a bound is not a constant.
bool ClipBounds(const Node& node, std::span<const TensorType> inputs,
                std::span<const Tensor* const> constants, float* lo, float* hi) {
  if (node.opset > 0 && node.opset < 11) {
    Expected<float> mn = node.GetFloat("min", std::numeric_limits<float>::lowest());
    Expected<float> mx = node.GetFloat("max", std::numeric_limits<float>::max());
    if (!mn.ok() || !mx.ok()) return false;
    *lo = *mn;
    *hi = *mx;
    return true;
  }
  *lo = kNoMin;
  *hi = kNoMax;
  for (size_t i = 1; i < inputs.size() && i < 3; ++i) {
    if (!Present(inputs[i])) continue;
    if (!IsF32(inputs[i]) || constants[i] == nullptr || constants[i]->num_elements() != 1) {
      return false;
    }
    (i == 1 ? *lo : *hi) = constants[i]->data<float>()[0];
  }
  return true;
}

// The PRelu slope as one value per channel of the last axis, when it broadcasts that way.
bool PReluSlope(std::span<const TensorType> inputs, std::span<const Tensor* const> constants,
                std::vector<float>* slope) {
  if (inputs.size() != 2 || !IsF32(inputs[1]) || constants[1] == nullptr) return false;
  const TensorType& x = inputs[0];
  const TensorType& sl = inputs[1];
  if (x.rank() < 1 || sl.rank() > x.rank()) return false;
  const int64_t c = x.dims.back();
  for (int i = 0; i + 1 < sl.rank(); ++i) {
    if (sl.dims[i] != 1) return false;
  }
  const int64_t last = sl.rank() == 0 ? 1 : sl.dims.back();
  if (last != c && last != 1) return false;
  if (slope != nullptr) {
    const float* v = constants[1]->data<float>();
    slope->resize(static_cast<size_t>(c));
    for (int64_t i = 0; i < c; ++i) (*slope)[i] = v[last == 1 ? 0 : i];
  }
  return true;
}

// Softmax's inner extent: the last dim from opset 13, the flattened trailing dims from `axis`
// before; 0 when the node reduces along another axis.
int64_t SoftmaxChannels(const Node& node, const TensorType& x) {
  const bool coerce_2d = node.opset < 13;
  Expected<int64_t> axis = node.GetInt("axis", coerce_2d ? 1 : -1);
  if (!axis.ok() || *axis < -x.rank() || *axis >= x.rank()) return 0;
  const int64_t a = *axis < 0 ? *axis + x.rank() : *axis;
  if (!coerce_2d && a != x.rank() - 1) return 0;
  int64_t c = 1;
  for (int i = static_cast<int>(a); i < x.rank(); ++i) c *= x.dims[i];
  return c;
}

UnaryOp UnaryOpOf(std::string_view op) {
  if (op == "Sigmoid") return UnaryOp::kSigmoid;
  if (op == "HardSwish") return UnaryOp::kHardSwish;
  if (op == "HardSigmoid") return UnaryOp::kHardSigmoid;
  if (op == "Pow") return UnaryOp::kSquare;
  if (op == "LeakyRelu") return UnaryOp::kLeakyRelu;
  if (op == "Elu") return UnaryOp::kElu;
  if (op == "Abs") return UnaryOp::kAbs;
  if (op == "Neg") return UnaryOp::kNeg;
  if (op == "Floor") return UnaryOp::kFloor;
  if (op == "Ceil") return UnaryOp::kCeil;
  if (op == "Round") return UnaryOp::kRound;
  if (op == "Sqrt") return UnaryOp::kSqrt;
  if (op == "PRelu") return UnaryOp::kPRelu;
  if (op == "Softmax") return UnaryOp::kSoftmax;
  return UnaryOp::kClamp;  // Relu, Clip
}

bool SupportsUnary(const SupportContext& ctx) {
  if (ctx.inputs.empty() || ctx.outputs.size() != 1 || !NonEmptyF32(ctx.inputs[0])) return false;
  const UnaryOp op = UnaryOpOf(ctx.node.op_type);
  switch (op) {
    case UnaryOp::kClamp: {
      if (ctx.node.op_type == "Relu") return ctx.inputs.size() == 1;
      float lo = 0, hi = 0;
      return ClipBounds(ctx.node, ctx.inputs, ctx.constants, &lo, &hi) && !std::isnan(lo) &&
             !std::isnan(hi) && lo < hi;
    }
    case UnaryOp::kLeakyRelu: {
      Expected<float> alpha = ctx.node.GetFloat("alpha", 0.01f);
      return alpha.ok() && std::isfinite(*alpha);
    }
    case UnaryOp::kElu: {
      // XNNPACK requires a positive, normal alpha.
      Expected<float> alpha = ctx.node.GetFloat("alpha", 1.0f);
      return alpha.ok() && std::isnormal(*alpha) && *alpha > 0;
    }
    case UnaryOp::kHardSigmoid: {
      Expected<float> alpha = ctx.node.GetFloat("alpha", 0.2f);
      Expected<float> beta = ctx.node.GetFloat("beta", 0.5f);
      return ctx.inputs.size() == 1 && alpha.ok() && beta.ok() && std::isfinite(*alpha) &&
             std::isfinite(*beta);
    }
    case UnaryOp::kSquare:
      return IsSquare(ctx.inputs, ctx.constants);
    case UnaryOp::kPRelu:
      return PReluSlope(ctx.inputs, ctx.constants, nullptr);
    case UnaryOp::kSoftmax:
      return SoftmaxChannels(ctx.node, ctx.inputs[0]) > 0;
    default:
      return ctx.inputs.size() == 1;
  }
}

Status PrepareUnary(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<UnaryState>();
  s->op = UnaryOpOf(ctx.node.op_type);
  const int64_t n = ctx.inputs[0].num_elements();
  size_t channels = 1;
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  xnn_status st = xnn_status_invalid_parameter;
  switch (s->op) {
    case UnaryOp::kClamp: {
      float lo = 0, hi = kNoMax;
      if (ctx.node.op_type == "Clip" &&
          !ClipBounds(ctx.node, ctx.inputs, ctx.constants, &lo, &hi)) {
        return ctx.NotSupported("Clip bounds that are not constant");
      }
      st = xnn_create_clamp_nc_f32(1, 1, 1, lo, hi, 0, &op);
      break;
    }
    case UnaryOp::kSigmoid: st = xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kHardSwish: st = xnn_create_hardswish_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kHardSigmoid: {
      ASSIGN_OR_RETURN(s->alpha, ctx.node.GetFloat("alpha", 0.2f));
      ASSIGN_OR_RETURN(s->beta, ctx.node.GetFloat("beta", 0.5f));
      st = xnn_create_multiply_nd_f32(kNoMin, kNoMax, 0, &op);
      RETURN_IF_ERROR(s->Adopt(ctx, st, op, "multiply").status());
      st = xnn_create_add_nd_f32(0.0f, 1.0f, 0, &op);
      break;
    }
    case UnaryOp::kSquare: st = xnn_create_square_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kLeakyRelu: {
      ASSIGN_OR_RETURN(float alpha, ctx.node.GetFloat("alpha", 0.01f));
      st = xnn_create_leaky_relu_nc_f32(1, 1, 1, alpha, 0, &op);
      break;
    }
    case UnaryOp::kElu: {
      ASSIGN_OR_RETURN(float alpha, ctx.node.GetFloat("alpha", 1.0f));
      st = xnn_create_elu_nc_f32(1, 1, 1, alpha, 0, &op);
      break;
    }
    case UnaryOp::kAbs: st = xnn_create_abs_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kNeg: st = xnn_create_negate_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kFloor: st = xnn_create_floor_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kCeil: st = xnn_create_ceiling_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kRound: st = xnn_create_bankers_rounding_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kSqrt: st = xnn_create_square_root_nc_f32(1, 1, 1, 0, &op); break;
    case UnaryOp::kPRelu: {
      std::vector<float> slope;
      if (!PReluSlope(ctx.inputs, ctx.constants, &slope)) {
        return ctx.NotSupported("PRelu slope that does not run along the last axis");
      }
      channels = slope.size();
      st = xnn_create_prelu_nc_f32(channels, channels, channels, slope.data(), 0, &op);
      break;
    }
    case UnaryOp::kSoftmax:
      channels = static_cast<size_t>(SoftmaxChannels(ctx.node, ctx.inputs[0]));
      if (channels == 0) return ctx.NotSupported("Softmax along an inner axis");
      st = xnn_create_softmax_nc_f32(channels, channels, channels, 0, &op);
      break;
  }
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, ctx.node.op_type).status());
  s->heap_bytes = meter.bytes();
  s->rows = static_cast<size_t>(n) / channels;
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupUnary(SetupContext& ctx) {
  auto& s = ctx.state_as<UnaryState>();
  const float* x = ctx.inputs[0].data<float>();
  float* y = ctx.outputs[0].data<float>();
  xnn_operator_t op = s.ops[0];
  const size_t rows = s.rows;
  pthreadpool_t tp = ctx.threadpool;
  HeapMeter meter;
  xnn_status st = xnn_status_invalid_parameter;
  switch (s.op) {
    case UnaryOp::kClamp: st = xnn_setup_clamp_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kSigmoid: st = xnn_setup_sigmoid_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kHardSwish: st = xnn_setup_hardswish_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kHardSigmoid: {
      const size_t shape[1] = {rows};
      const size_t one[1] = {1};
      st = xnn_setup_multiply_nd_f32(op, 1, shape, 1, one, x, &s.alpha, y, tp);
      if (st == xnn_status_success) {
        st = xnn_setup_add_nd_f32(s.ops[1], 1, shape, 1, one, y, &s.beta, y, tp);
      }
      break;
    }
    case UnaryOp::kSquare: st = xnn_setup_square_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kLeakyRelu: st = xnn_setup_leaky_relu_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kElu: st = xnn_setup_elu_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kAbs: st = xnn_setup_abs_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kNeg: st = xnn_setup_negate_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kFloor: st = xnn_setup_floor_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kCeil: st = xnn_setup_ceiling_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kRound: st = xnn_setup_bankers_rounding_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kSqrt: st = xnn_setup_square_root_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kPRelu: st = xnn_setup_prelu_nc_f32(op, rows, x, y, tp); break;
    case UnaryOp::kSoftmax: st = xnn_setup_softmax_nc_f32(op, rows, x, y, tp); break;
  }
  if (st != xnn_status_success) return SetupFailed(ctx, st, ctx.node.op_type);
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

constexpr KernelPath kXnn = KernelPath::kXnnpack;

#define EDGERUN_XNN_BINARY(op) \
  KernelDef{op, kXnn, kF32, SupportsBinary, PrepareBinary, InvokeXnnOps, "", true, false, SetupBinary}
#define EDGERUN_XNN_UNARY(op) \
  KernelDef{op, kXnn, kF32, SupportsUnary, PrepareUnary, InvokeXnnOps, "", true, false, SetupUnary}

constexpr KernelDef kElementwiseKernels[] = {
    EDGERUN_XNN_BINARY("Add"),      EDGERUN_XNN_BINARY("Sub"),       EDGERUN_XNN_BINARY("Mul"),
    EDGERUN_XNN_BINARY("Div"),      EDGERUN_XNN_BINARY("Max"),       EDGERUN_XNN_BINARY("Min"),
    EDGERUN_XNN_UNARY("Relu"),      EDGERUN_XNN_UNARY("Clip"),       EDGERUN_XNN_UNARY("Sigmoid"),
    EDGERUN_XNN_UNARY("HardSwish"), EDGERUN_XNN_UNARY("LeakyRelu"),  EDGERUN_XNN_UNARY("Elu"),
    EDGERUN_XNN_UNARY("Abs"),       EDGERUN_XNN_UNARY("Neg"),        EDGERUN_XNN_UNARY("Floor"),
    EDGERUN_XNN_UNARY("Ceil"),      EDGERUN_XNN_UNARY("Round"),      EDGERUN_XNN_UNARY("Sqrt"),
    EDGERUN_XNN_UNARY("PRelu"),     EDGERUN_XNN_UNARY("Softmax"),    EDGERUN_XNN_UNARY("HardSigmoid"),
    EDGERUN_XNN_UNARY("Pow"),
};

#undef EDGERUN_XNN_BINARY
#undef EDGERUN_XNN_UNARY

}  // namespace

std::span<const KernelDef> XnnpackElementwiseKernels() { return kElementwiseKernels; }

}  // namespace edgerun
