// Reduce op family: semantics and shape inference for reductions, arg reductions, the softmax
// family, TopK, CumSum and linear (de)quantization.
//
// The attribute-vs-input forms of each op are chosen by node.opset (e.g. ReduceSum's axes became
// an input in opset 13, the other reductions' in opset 18; TopK's k in opset 10). Inputs that
// decide an output shape (axes, k) must be constants, except an axes input whose static shape
// says it is empty.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/op_families.h"

namespace edgerun {
namespace {

bool IsSupportedReduceType(DType t) { return IsFloat(t) || IsInteger(t); }

// True when the reduction takes its axes from input 1 rather than an attribute.
bool ReduceAxesFromInput(const InferContext& ctx) {
  return ctx.opset() >= 18 || (ctx.node().op_type == "ReduceSum" && ctx.opset() >= 13);
}

std::string AxesToString(const std::vector<int64_t>& axes) {
  std::string s = "[";
  for (size_t i = 0; i < axes.size(); ++i) {
    if (i > 0) s += ",";
    s += std::to_string(axes[i]);
  }
  return s + "]";
}

Status InferReduce(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsSupportedReduceType(x.dtype)) {
    return ctx.NotSupported("input dtype " + std::string(DTypeName(x.dtype)) + " is not supported");
  }
  ASSIGN_OR_RETURN(const int64_t keepdims, ctx.node().GetInt("keepdims", 1));
  std::vector<int64_t> axes;
  bool noop = false;
  if (ReduceAxesFromInput(ctx)) {
    if (ctx.node().has_attr("axes")) {
      return ctx.Invalid("attribute 'axes' is not allowed at opset " + std::to_string(ctx.opset()) +
                         " (axes is an input)");
    }
    ASSIGN_OR_RETURN(const int64_t noop_attr, ctx.node().GetInt("noop_with_empty_axes", 0));
    if (ctx.has_input(1)) {
      const TensorType& a = ctx.input(1);
      if (a.dtype != DType::kI64 || a.rank() != 1) {
        return ctx.Invalid("axes input must be a 1-D int64 tensor, got " +
                           std::string(DTypeName(a.dtype)) + " " + DimsToString(a.dims));
      }
      if (a.num_elements() > 0) {
        const Tensor* c = ctx.constant(1);
        if (c == nullptr) return ctx.NotSupported("axes input must be a constant");
        axes = c->ToInt64Vector();
      }
    }
    noop = axes.empty() && noop_attr != 0;
  } else {
    if (ctx.has_input(1)) {
      return ctx.Invalid("takes axes as an attribute at opset " + std::to_string(ctx.opset()) +
                         ", not as an input");
    }
    ASSIGN_OR_RETURN(axes, ctx.node().GetInts("axes", {}));
  }
  if (noop) {
    ctx.set_output(0, x.dtype, x.dims);
    return Status::Ok();
  }
  const int rank = x.rank();
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return ctx.Invalid("axes " + AxesToString(axes) + " out of range for rank " +
                         std::to_string(rank));
    }
    const int axis = static_cast<int>(a < 0 ? a + rank : a);
    if (reduced[axis]) return ctx.Invalid("axes " + AxesToString(axes) + " repeat an axis");
    reduced[axis] = true;
  }
  std::vector<int64_t> out;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[d]) {
      out.push_back(x.dims[d]);
    } else if (keepdims != 0) {
      out.push_back(1);
    }
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::Ok();
}

Status InferArgReduce(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsSupportedReduceType(x.dtype)) {
    return ctx.NotSupported("input dtype " + std::string(DTypeName(x.dtype)) + " is not supported");
  }
  ASSIGN_OR_RETURN(const int64_t axis_attr, ctx.node().GetInt("axis", 0));
  ASSIGN_OR_RETURN(const int64_t keepdims, ctx.node().GetInt("keepdims", 1));
  if (x.rank() == 0) return ctx.Invalid("input must have rank >= 1");
  ASSIGN_OR_RETURN(const int axis, NormalizeAxis(ctx, axis_attr, x.rank()));
  if (x.dims[axis] == 0) {
    return ctx.Invalid("cannot take the index of an extremum over an empty axis " +
                       std::to_string(axis) + " of " + DimsToString(x.dims));
  }
  std::vector<int64_t> out = x.dims;
  if (keepdims != 0) {
    out[axis] = 1;
  } else {
    out.erase(out.begin() + axis);
  }
  ctx.set_output(0, DType::kI64, std::move(out));
  return Status::Ok();
}

Status InferSoftmax(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsFloat(x.dtype)) {
    return ctx.NotSupported("input dtype " + std::string(DTypeName(x.dtype)) +
                            " is not supported (float types only)");
  }
  const bool coerce_2d = ctx.opset() < 13;
  ASSIGN_OR_RETURN(const int64_t axis, ctx.node().GetInt("axis", coerce_2d ? 1 : -1));
  if (x.rank() == 0) return ctx.Invalid("input must have rank >= 1");
  RETURN_IF_ERROR(NormalizeAxis(ctx, axis, x.rank()).status());
  ctx.set_output(0, x.dtype, x.dims);
  return Status::Ok();
}

Status InferTopK(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsSupportedReduceType(x.dtype)) {
    return ctx.NotSupported("input dtype " + std::string(DTypeName(x.dtype)) + " is not supported");
  }
  if (x.rank() == 0) return ctx.Invalid("input must have rank >= 1");
  ASSIGN_OR_RETURN(const int64_t axis_attr, ctx.node().GetInt("axis", -1));
  ASSIGN_OR_RETURN(const int axis, NormalizeAxis(ctx, axis_attr, x.rank()));
  int64_t k = 0;
  if (ctx.opset() < 10) {
    if (ctx.num_inputs() > 1) return ctx.Invalid("takes k as an attribute before opset 10");
    if (!ctx.node().has_attr("k")) return ctx.Invalid("missing required attribute 'k'");
    ASSIGN_OR_RETURN(k, ctx.node().GetInt("k", 0));
  } else {
    if (!ctx.has_input(1)) return ctx.Invalid("missing input 'K'");
    const TensorType& kt = ctx.input(1);
    if (kt.dtype != DType::kI64 || kt.num_elements() != 1 || kt.rank() > 1) {
      return ctx.Invalid("K must be a 1-element 1-D int64 tensor, got " +
                         std::string(DTypeName(kt.dtype)) + " " + DimsToString(kt.dims));
    }
    const Tensor* c = ctx.constant(1);
    if (c == nullptr) return ctx.NotSupported("input K must be a constant");
    k = c->ScalarAsInt(0);
  }
  if (k < 0 || k > x.dims[axis]) {
    return ctx.Invalid("k = " + std::to_string(k) + " is out of range for axis " +
                       std::to_string(axis) + " of " + DimsToString(x.dims));
  }
  std::vector<int64_t> out = x.dims;
  out[axis] = k;
  ctx.set_output(0, x.dtype, out);
  if (ctx.num_outputs() > 1) ctx.set_output(1, DType::kI64, std::move(out));
  return Status::Ok();
}

Status InferCumSum(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsSupportedReduceType(x.dtype)) {
    return ctx.NotSupported("input dtype " + std::string(DTypeName(x.dtype)) + " is not supported");
  }
  if (x.rank() == 0) return ctx.Invalid("input must have rank >= 1");
  const TensorType& a = ctx.input(1);
  if ((a.dtype != DType::kI32 && a.dtype != DType::kI64) || a.num_elements() != 1 || a.rank() > 1) {
    return ctx.Invalid("axis must be an int32 or int64 scalar, got " +
                       std::string(DTypeName(a.dtype)) + " " + DimsToString(a.dims));
  }
  if (const Tensor* c = ctx.constant(1)) {
    RETURN_IF_ERROR(NormalizeAxis(ctx, c->ScalarAsInt(0), x.rank()).status());
  }
  ctx.set_output(0, x.dtype, x.dims);
  return Status::Ok();
}

// Shared checks for QuantizeLinear / DequantizeLinear: scale (and zero point) are scalars or
// 1-element tensors (per-tensor), or 1-D tensors as long as the `axis` dim (per-axis, opset 13).
Status CheckQuantParams(const InferContext& ctx, const TensorType& x) {
  const TensorType& scale = ctx.input(1);
  if (scale.dtype != DType::kF32) {
    return ctx.NotSupported("scale dtype " + std::string(DTypeName(scale.dtype)) +
                            " is not supported (float only)");
  }
  const bool per_tensor = scale.num_elements() == 1 && scale.rank() <= 1;
  if (!per_tensor) {
    if (ctx.opset() < 13 || scale.rank() != 1) {
      return ctx.Invalid("scale must be a scalar" +
                         std::string(ctx.opset() >= 13 ? " or a 1-D tensor" : "") + ", got " +
                         DimsToString(scale.dims));
    }
    ASSIGN_OR_RETURN(const int64_t axis_attr, ctx.node().GetInt("axis", 1));
    ASSIGN_OR_RETURN(const int axis, NormalizeAxis(ctx, axis_attr, x.rank()));
    if (scale.dims[0] != x.dims[axis]) {
      return ctx.Invalid("per-axis scale has " + std::to_string(scale.dims[0]) +
                         " entries, input dim " + std::to_string(axis) + " is " +
                         std::to_string(x.dims[axis]));
    }
  }
  if (ctx.has_input(2) && ctx.input(2).dims != scale.dims &&
      !(per_tensor && ctx.input(2).num_elements() == 1 && ctx.input(2).rank() <= 1)) {
    return ctx.Invalid("zero point shape " + DimsToString(ctx.input(2).dims) +
                       " differs from scale shape " + DimsToString(scale.dims));
  }
  return Status::Ok();
}

Status InferQuantizeLinear(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (x.dtype != DType::kF32 && x.dtype != DType::kI32) {
    return ctx.NotSupported("input dtype " + std::string(DTypeName(x.dtype)) +
                            " is not supported (float, int32)");
  }
  RETURN_IF_ERROR(CheckQuantParams(ctx, x));
  DType out = DType::kU8;
  if (ctx.has_input(2)) {
    out = ctx.input(2).dtype;
    if (out != DType::kU8 && out != DType::kI8) {
      return ctx.NotSupported("zero point dtype " + std::string(DTypeName(out)) +
                              " is not supported (uint8, int8)");
    }
  }
  ctx.set_output(0, out, x.dims);
  return Status::Ok();
}

Status InferDequantizeLinear(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (x.dtype != DType::kU8 && x.dtype != DType::kI8 && x.dtype != DType::kI32) {
    return ctx.NotSupported("input dtype " + std::string(DTypeName(x.dtype)) +
                            " is not supported (uint8, int8, int32)");
  }
  RETURN_IF_ERROR(CheckQuantParams(ctx, x));
  if (ctx.has_input(2) && ctx.input(2).dtype != x.dtype) {
    return ctx.Invalid("zero point dtype " + std::string(DTypeName(ctx.input(2).dtype)) +
                       " differs from input dtype " + std::string(DTypeName(x.dtype)));
  }
  ctx.set_output(0, DType::kF32, x.dims);
  return Status::Ok();
}

constexpr OpDef kReduceOpDefs[] = {
    {"ReduceSum", 1, 2, 1, 1, InferReduce},
    {"ReduceMean", 1, 2, 1, 1, InferReduce},
    {"ReduceMax", 1, 2, 1, 1, InferReduce},
    {"ReduceMin", 1, 2, 1, 1, InferReduce},
    {"ReduceProd", 1, 2, 1, 1, InferReduce},
    {"ReduceL1", 1, 2, 1, 1, InferReduce},
    {"ReduceL2", 1, 2, 1, 1, InferReduce},
    {"ReduceLogSum", 1, 2, 1, 1, InferReduce},
    {"ReduceLogSumExp", 1, 2, 1, 1, InferReduce},
    {"ReduceSumSquare", 1, 2, 1, 1, InferReduce},
    {"ArgMax", 1, 1, 1, 1, InferArgReduce},
    {"ArgMin", 1, 1, 1, 1, InferArgReduce},
    {"Softmax", 1, 1, 1, 1, InferSoftmax},
    {"LogSoftmax", 1, 1, 1, 1, InferSoftmax},
    {"Hardmax", 1, 1, 1, 1, InferSoftmax},
    {"TopK", 1, 2, 2, 2, InferTopK},
    {"CumSum", 2, 2, 1, 1, InferCumSum},
    {"QuantizeLinear", 2, 3, 1, 1, InferQuantizeLinear},
    {"DequantizeLinear", 2, 3, 1, 1, InferDequantizeLinear},
};

}  // namespace

std::span<const OpDef> ReduceOpDefs() { return kReduceOpDefs; }

}  // namespace edgerun
