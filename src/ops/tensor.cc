// Tensor op family: semantics and shape inference for data-movement ops (reshapes, transposes,
// concat/split/slice, gathers and scatters, padding, resizing, shape queries, generators).
//
// Several of these ops have an output shape that depends on the *values* of an input (Reshape's
// shape, Slice's starts, Resize's scales...). edgerun plans memory statically, so such inputs must
// be constants at session creation (initializers or folded Shape->Gather->Concat chains); when
// they are not, inference returns Unsupported naming the input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ops/op_families.h"

namespace edgerun {
namespace {

std::string IntsToString(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

// The data of a shape-defining input, which must be a constant (see the file comment).
Expected<std::vector<int64_t>> ConstInts(const InferContext& ctx, int i, std::string_view role) {
  const Tensor* t = ctx.constant(i);
  if (t == nullptr) {
    return ctx.NotSupported(std::string(role) +
                            " must be a constant at session creation (edgerun plans memory "
                            "statically)");
  }
  if (!IsInteger(t->dtype())) {
    return ctx.Invalid(std::string(role) + " must be an integer tensor, got " +
                       std::string(DTypeName(t->dtype())));
  }
  return t->ToInt64Vector();
}

Expected<std::vector<float>> ConstFloats(const InferContext& ctx, int i, std::string_view role) {
  const Tensor* t = ctx.constant(i);
  if (t == nullptr) {
    return ctx.NotSupported(std::string(role) +
                            " must be a constant at session creation (edgerun plans memory "
                            "statically)");
  }
  return t->ToFloatVector();
}

// Axes given as attribute `name` before `input_opset`, as optional input `input` from then on.
// nullopt when absent.
Expected<std::optional<std::vector<int64_t>>> AttrOrInputInts(const InferContext& ctx,
                                                              std::string_view name, int input,
                                                              int input_opset) {
  const Node& node = ctx.node();
  if (ctx.opset() < input_opset || node.has_attr(name)) {
    if (!node.has_attr(name)) return std::optional<std::vector<int64_t>>();
    ASSIGN_OR_RETURN(auto v, node.GetInts(name, {}));
    return std::optional<std::vector<int64_t>>(std::move(v));
  }
  if (!ctx.has_input(input)) return std::optional<std::vector<int64_t>>();
  ASSIGN_OR_RETURN(auto v, ConstInts(ctx, input, "input '" + std::string(name) + "'"));
  return std::optional<std::vector<int64_t>>(std::move(v));
}

// Normalizes every axis into [0, rank) and rejects duplicates.
Expected<std::vector<int>> NormalizeAxes(const InferContext& ctx, const std::vector<int64_t>& axes,
                                         int rank) {
  std::vector<int> out;
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return ctx.Invalid("axis " + std::to_string(a) + " is out of range for rank " +
                         std::to_string(rank));
    }
    const int n = static_cast<int>(a < 0 ? a + rank : a);
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      return ctx.Invalid("axis " + std::to_string(a) + " appears twice in " + IntsToString(axes));
    }
    out.push_back(n);
  }
  return out;
}

Status RequireIndexType(const InferContext& ctx, int i, std::string_view role) {
  const DType t = ctx.input(i).dtype;
  if (t != DType::kI32 && t != DType::kI64) {
    return ctx.Invalid(std::string(role) + " must be int32 or int64, got " +
                       std::string(DTypeName(t)));
  }
  return Status::Ok();
}

// ---- Reshaping ops --------------------------------------------------------------------------

Status InferIdentity(InferContext& ctx) {
  ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).dims);
  return Status::Ok();
}

Status InferReshape(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ConstInts(ctx, 1, "input 'shape'"));
  ASSIGN_OR_RETURN(int64_t allowzero, ctx.node().GetInt("allowzero", 0));
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer_at >= 0) return ctx.Invalid("shape " + IntsToString(shape) + " has two -1 dims");
      infer_at = static_cast<int>(i);
      continue;
    }
    if (shape[i] == 0 && allowzero == 0) {
      if (i >= in.dims.size()) {
        return ctx.Invalid("shape " + IntsToString(shape) + " copies dim " + std::to_string(i) +
                           " but the input " + DimsToString(in.dims) + " has rank " +
                           std::to_string(in.rank()));
      }
      shape[i] = in.dims[i];
    } else if (shape[i] < 0) {
      return ctx.Invalid("shape " + IntsToString(shape) + " has a negative dim");
    }
    known *= shape[i];
  }
  const int64_t total = in.num_elements();
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0) {
      return ctx.Invalid("cannot reshape " + DimsToString(in.dims) + " to " + IntsToString(shape));
    }
    shape[infer_at] = total / known;
  } else if (known != total) {
    return ctx.Invalid("cannot reshape " + DimsToString(in.dims) + " (" + std::to_string(total) +
                       " elements) to " + IntsToString(shape));
  }
  ctx.set_output(0, in.dtype, std::move(shape));
  return Status::Ok();
}

Status InferFlatten(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis", 1));
  if (axis < -in.rank() || axis > in.rank()) {
    return ctx.Invalid("axis " + std::to_string(axis) + " is out of range for rank " +
                       std::to_string(in.rank()));
  }
  if (axis < 0) axis += in.rank();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < in.rank(); ++i) (i < axis ? outer : inner) *= in.dims[i];
  ctx.set_output(0, in.dtype, {outer, inner});
  return Status::Ok();
}

Status InferSqueeze(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(auto axes, AttrOrInputInts(ctx, "axes", 1, 13));
  std::vector<int64_t> out;
  if (!axes) {
    for (int64_t d : in.dims) {
      if (d != 1) out.push_back(d);
    }
  } else {
    ASSIGN_OR_RETURN(std::vector<int> norm, NormalizeAxes(ctx, *axes, in.rank()));
    for (int a : norm) {
      if (in.dims[a] != 1) {
        return ctx.Invalid("cannot squeeze axis " + std::to_string(a) + " of size " +
                           std::to_string(in.dims[a]) + " in " + DimsToString(in.dims));
      }
    }
    for (int i = 0; i < in.rank(); ++i) {
      if (std::find(norm.begin(), norm.end(), i) == norm.end()) out.push_back(in.dims[i]);
    }
  }
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

Status InferUnsqueeze(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(auto axes, AttrOrInputInts(ctx, "axes", 1, 13));
  if (!axes) return ctx.Invalid("axes are required");
  const int out_rank = in.rank() + static_cast<int>(axes->size());
  ASSIGN_OR_RETURN(std::vector<int> norm, NormalizeAxes(ctx, *axes, out_rank));
  std::vector<int64_t> out(out_rank, 1);
  int src = 0;
  for (int i = 0; i < out_rank; ++i) {
    if (std::find(norm.begin(), norm.end(), i) == norm.end()) out[i] = in.dims[src++];
  }
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

Status InferTranspose(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  std::vector<int64_t> def(in.rank());
  for (int i = 0; i < in.rank(); ++i) def[i] = in.rank() - 1 - i;
  ASSIGN_OR_RETURN(std::vector<int64_t> perm, ctx.node().GetInts("perm", def));
  if (static_cast<int>(perm.size()) != in.rank()) {
    return ctx.Invalid("perm " + IntsToString(perm) + " does not match input rank " +
                       std::to_string(in.rank()));
  }
  ASSIGN_OR_RETURN(std::vector<int> norm, NormalizeAxes(ctx, perm, in.rank()));
  std::vector<int64_t> out(in.rank());
  for (int i = 0; i < in.rank(); ++i) out[i] = in.dims[norm[i]];
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

// ---- Concat, Split, Slice -----------------------------------------------------------------

Status InferConcat(InferContext& ctx) {
  const TensorType& first = ctx.input(0);
  if (!ctx.node().has_attr("axis")) return ctx.Invalid("attribute 'axis' is required");
  ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  if (first.rank() == 0) return ctx.Invalid("cannot concatenate scalars");
  ASSIGN_OR_RETURN(int axis, NormalizeAxis(ctx, axis_attr, first.rank()));
  std::vector<int64_t> out = first.dims;
  out[axis] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Invalid("input " + std::to_string(i) + " is missing");
    const TensorType& t = ctx.input(i);
    if (t.dtype != first.dtype) {
      return ctx.Invalid("input " + std::to_string(i) + " has dtype " +
                         std::string(DTypeName(t.dtype)) + ", expected " +
                         std::string(DTypeName(first.dtype)));
    }
    bool ok = t.rank() == first.rank();
    for (int d = 0; ok && d < t.rank(); ++d) ok = d == axis || t.dims[d] == first.dims[d];
    if (!ok) {
      return ctx.Invalid("input " + std::to_string(i) + " has shape " + DimsToString(t.dims) +
                         ", incompatible with " + DimsToString(first.dims) + " along axis " +
                         std::to_string(axis));
    }
    out[axis] += t.dims[axis];
  }
  ctx.set_output(0, first.dtype, std::move(out));
  return Status::Ok();
}

Status InferSplit(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  const Node& node = ctx.node();
  if (in.rank() == 0) return ctx.Invalid("cannot split a scalar");
  ASSIGN_OR_RETURN(int64_t axis_attr, node.GetInt("axis", 0));
  ASSIGN_OR_RETURN(int axis, NormalizeAxis(ctx, axis_attr, in.rank()));
  const int n = ctx.num_outputs();
  const int64_t dim = in.dims[axis];
  ASSIGN_OR_RETURN(auto split, AttrOrInputInts(ctx, "split", 1, 13));
  std::vector<int64_t> sizes;
  if (split) {
    if (static_cast<int>(split->size()) != n) {
      return ctx.Invalid("split " + IntsToString(*split) + " has " + std::to_string(split->size()) +
                         " entries for " + std::to_string(n) + " outputs");
    }
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0) return ctx.Invalid("split " + IntsToString(*split) + " has a negative size");
      sum += s;
    }
    if (sum != dim) {
      return ctx.Invalid("split " + IntsToString(*split) + " sums to " + std::to_string(sum) +
                         ", but axis " + std::to_string(axis) + " has size " + std::to_string(dim));
    }
    sizes = *split;
  } else if (node.has_attr("num_outputs")) {
    ASSIGN_OR_RETURN(int64_t num, node.GetInt("num_outputs", n));
    if (num != n || num <= 0) {
      return ctx.Invalid("num_outputs " + std::to_string(num) + " does not match the " +
                         std::to_string(n) + " outputs");
    }
    // Opset 18: chunks of ceil(dim / n), the last one smaller.
    const int64_t chunk = (dim + n - 1) / n;
    for (int i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - chunk * i)));
  } else {
    if (dim % n != 0) {
      return ctx.Invalid("axis " + std::to_string(axis) + " of size " + std::to_string(dim) +
                         " cannot be split into " + std::to_string(n) + " equal parts");
    }
    sizes.assign(n, dim / n);
  }
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> d = in.dims;
    d[axis] = sizes[i];
    ctx.set_output(i, in.dtype, std::move(d));
  }
  return Status::Ok();
}

Status InferSlice(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  const Node& node = ctx.node();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    ASSIGN_OR_RETURN(starts, node.GetInts("starts", {}));
    ASSIGN_OR_RETURN(ends, node.GetInts("ends", {}));
    ASSIGN_OR_RETURN(axes, node.GetInts("axes", {}));
  } else {
    if (!ctx.has_input(1) || !ctx.has_input(2)) return ctx.Invalid("starts and ends are required");
    ASSIGN_OR_RETURN(starts, ConstInts(ctx, 1, "input 'starts'"));
    ASSIGN_OR_RETURN(ends, ConstInts(ctx, 2, "input 'ends'"));
    if (ctx.has_input(3)) {
      ASSIGN_OR_RETURN(axes, ConstInts(ctx, 3, "input 'axes'"));
    }
    if (ctx.has_input(4)) {
      ASSIGN_OR_RETURN(steps, ConstInts(ctx, 4, "input 'steps'"));
    }
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return ctx.Invalid("starts " + IntsToString(starts) + ", ends " + IntsToString(ends) +
                       ", axes " + IntsToString(axes) + " and steps " + IntsToString(steps) +
                       " must have equal lengths");
  }
  ASSIGN_OR_RETURN(std::vector<int> norm, NormalizeAxes(ctx, axes, in.rank()));
  std::vector<int64_t> out = in.dims;
  for (size_t i = 0; i < norm.size(); ++i) {
    const int64_t dim = in.dims[norm[i]];
    const int64_t step = steps[i];
    if (step == 0) return ctx.Invalid("slice step is 0 for axis " + std::to_string(axes[i]));
    int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      out[norm[i]] = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      out[norm[i]] = start > end ? (start - end - step - 1) / -step : 0;
    }
  }
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

// ---- Gather / scatter ---------------------------------------------------------------------

Status InferGather(InferContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  RETURN_IF_ERROR(RequireIndexType(ctx, 1, "indices"));
  if (data.rank() == 0) return ctx.Invalid("data must have rank >= 1");
  ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  ASSIGN_OR_RETURN(int axis, NormalizeAxis(ctx, axis_attr, data.rank()));
  std::vector<int64_t> out(data.dims.begin(), data.dims.begin() + axis);
  out.insert(out.end(), idx.dims.begin(), idx.dims.end());
  out.insert(out.end(), data.dims.begin() + axis + 1, data.dims.end());
  ctx.set_output(0, data.dtype, std::move(out));
  return Status::Ok();
}

Status InferGatherElements(InferContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  RETURN_IF_ERROR(RequireIndexType(ctx, 1, "indices"));
  if (data.rank() == 0 || idx.rank() != data.rank()) {
    return ctx.Invalid("indices " + DimsToString(idx.dims) + " must have the rank of data " +
                       DimsToString(data.dims) + " (>= 1)");
  }
  ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  RETURN_IF_ERROR(NormalizeAxis(ctx, axis_attr, data.rank()).status());
  ctx.set_output(0, data.dtype, idx.dims);
  return Status::Ok();
}

Status InferGatherND(InferContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  if (idx.dtype != DType::kI64) return ctx.Invalid("indices must be int64");
  ASSIGN_OR_RETURN(int64_t b, ctx.node().GetInt("batch_dims", 0));
  if (data.rank() < 1 || idx.rank() < 1) return ctx.Invalid("data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(data.rank(), idx.rank())) {
    return ctx.Invalid("batch_dims " + std::to_string(b) + " must be less than the ranks of data " +
                       DimsToString(data.dims) + " and indices " + DimsToString(idx.dims));
  }
  for (int i = 0; i < b; ++i) {
    if (data.dims[i] != idx.dims[i]) {
      return ctx.Invalid("batch dim " + std::to_string(i) + " differs: data " +
                         DimsToString(data.dims) + ", indices " + DimsToString(idx.dims));
    }
  }
  const int64_t k = idx.dims.back();
  if (k < 1 || k > data.rank() - b) {
    return ctx.Invalid("indices last dim " + std::to_string(k) + " must be in [1, " +
                       std::to_string(data.rank() - b) + "]");
  }
  std::vector<int64_t> out(idx.dims.begin(), idx.dims.end() - 1);
  out.insert(out.end(), data.dims.begin() + b + k, data.dims.end());
  ctx.set_output(0, data.dtype, std::move(out));
  return Status::Ok();
}

Status CheckReduction(const InferContext& ctx) {
  ASSIGN_OR_RETURN(std::string r, ctx.node().GetString("reduction", "none"));
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min") {
    return ctx.Invalid("unknown reduction '" + r + "'");
  }
  return Status::Ok();
}

Status InferScatterElements(InferContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  const TensorType& upd = ctx.input(2);
  RETURN_IF_ERROR(RequireIndexType(ctx, 1, "indices"));
  RETURN_IF_ERROR(CheckReduction(ctx));
  if (idx.dims != upd.dims || idx.rank() != data.rank() || data.rank() == 0) {
    return ctx.Invalid("indices " + DimsToString(idx.dims) + " and updates " +
                       DimsToString(upd.dims) + " must have equal shapes of the rank of data " +
                       DimsToString(data.dims));
  }
  if (upd.dtype != data.dtype) return ctx.Invalid("updates dtype differs from data dtype");
  ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  RETURN_IF_ERROR(NormalizeAxis(ctx, axis_attr, data.rank()).status());
  ctx.set_output(0, data.dtype, data.dims);
  return Status::Ok();
}

Status InferScatterND(InferContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  const TensorType& upd = ctx.input(2);
  if (idx.dtype != DType::kI64) return ctx.Invalid("indices must be int64");
  RETURN_IF_ERROR(CheckReduction(ctx));
  if (idx.rank() < 1 || data.rank() < 1) return ctx.Invalid("data and indices must have rank >= 1");
  const int64_t k = idx.dims.back();
  if (k < 1 || k > data.rank()) {
    return ctx.Invalid("indices last dim " + std::to_string(k) + " exceeds data rank " +
                       std::to_string(data.rank()));
  }
  std::vector<int64_t> expect(idx.dims.begin(), idx.dims.end() - 1);
  expect.insert(expect.end(), data.dims.begin() + k, data.dims.end());
  if (upd.dims != expect) {
    return ctx.Invalid("updates have shape " + DimsToString(upd.dims) + ", expected " +
                       DimsToString(expect));
  }
  if (upd.dtype != data.dtype) return ctx.Invalid("updates dtype differs from data dtype");
  ctx.set_output(0, data.dtype, data.dims);
  return Status::Ok();
}

// ---- Broadcasting and padding -------------------------------------------------------------

Status InferExpand(InferContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ConstInts(ctx, 1, "input 'shape'"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.Invalid("shape " + IntsToString(shape) + " has a negative dim");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> out, BroadcastDims(ctx, ctx.input(0).dims, shape));
  ctx.set_output(0, ctx.input(0).dtype, std::move(out));
  return Status::Ok();
}

Status InferTile(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(std::vector<int64_t> reps, ConstInts(ctx, 1, "input 'repeats'"));
  if (static_cast<int>(reps.size()) != in.rank()) {
    return ctx.Invalid("repeats " + IntsToString(reps) + " must have one entry per input dim " +
                       DimsToString(in.dims));
  }
  std::vector<int64_t> out(in.rank());
  for (int i = 0; i < in.rank(); ++i) {
    if (reps[i] < 0) return ctx.Invalid("repeats " + IntsToString(reps) + " has a negative entry");
    out[i] = in.dims[i] * reps[i];
  }
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

Status InferPad(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  const Node& node = ctx.node();
  ASSIGN_OR_RETURN(std::string mode, node.GetString("mode", "constant"));
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    return ctx.NotSupported("pad mode '" + mode + "' is not supported");
  }
  std::vector<int64_t> pads;
  std::vector<int> axes;
  if (ctx.opset() < 11) {
    ASSIGN_OR_RETURN(pads, node.GetInts(node.has_attr("paddings") ? "paddings" : "pads", {}));
  } else {
    ASSIGN_OR_RETURN(pads, ConstInts(ctx, 1, "input 'pads'"));
    if (ctx.has_input(3)) {
      ASSIGN_OR_RETURN(std::vector<int64_t> a, ConstInts(ctx, 3, "input 'axes'"));
      ASSIGN_OR_RETURN(axes, NormalizeAxes(ctx, a, in.rank()));
    }
  }
  if (axes.empty()) {
    for (int i = 0; i < in.rank(); ++i) axes.push_back(i);
  }
  const size_t n = axes.size();
  if (pads.size() != 2 * n) {
    return ctx.Invalid("pads " + IntsToString(pads) + " must have " + std::to_string(2 * n) +
                       " entries");
  }
  std::vector<int64_t> out = in.dims;
  for (size_t i = 0; i < n; ++i) {
    const int a = axes[i];
    out[a] = in.dims[a] + pads[i] + pads[i + n];
    if (out[a] < 0) return ctx.Invalid("pads " + IntsToString(pads) + " crop below zero size");
    if (mode != "constant" && in.dims[a] == 0 && out[a] > 0) {
      return ctx.Invalid("cannot " + mode + "-pad empty axis " + std::to_string(a));
    }
  }
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

// ---- Shape queries and generators ---------------------------------------------------------

Status InferShape(InferContext& ctx) {
  const int r = ctx.input(0).rank();
  ASSIGN_OR_RETURN(int64_t start, ctx.node().GetInt("start", 0));
  ASSIGN_OR_RETURN(int64_t end, ctx.node().GetInt("end", r));
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  ctx.set_output(0, DType::kI64, {std::max<int64_t>(0, end - start)});
  return Status::Ok();
}

Status InferSize(InferContext& ctx) {
  ctx.set_output(0, DType::kI64, {});
  return Status::Ok();
}

Status InferConstantOfShape(InferContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ConstInts(ctx, 0, "input 'shape'"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.Invalid("shape " + IntsToString(shape) + " has a negative dim");
  }
  DType dtype = DType::kF32;
  if (const Attribute* a = ctx.node().attr("value")) {
    if (a->kind != Attribute::Kind::kTensor || !a->tensor || a->tensor->num_elements() != 1) {
      return ctx.Invalid("attribute 'value' must be a one-element tensor");
    }
    dtype = a->tensor->dtype();
  }
  ctx.set_output(0, dtype, std::move(shape));
  return Status::Ok();
}

Status InferRange(InferContext& ctx) {
  const DType t = ctx.input(0).dtype;
  for (int i = 0; i < 3; ++i) {
    if (ctx.input(i).dtype != t || ctx.input(i).num_elements() != 1) {
      return ctx.Invalid("start, limit and delta must be scalars of one dtype");
    }
    if (ctx.constant(i) == nullptr) {
      return ctx.NotSupported(
          "inputs 'start', 'limit' and 'delta' must be constants at session creation (edgerun "
          "plans memory statically)");
    }
  }
  if (t != DType::kF32 && t != DType::kF64 && t != DType::kI16 && t != DType::kI32 &&
      t != DType::kI64) {
    return ctx.NotSupported("dtype " + std::string(DTypeName(t)) + " is not supported");
  }
  int64_t n = 0;
  if (IsFloat(t)) {
    const double start = ctx.constant(0)->ScalarAsDouble(),
                 limit = ctx.constant(1)->ScalarAsDouble(),
                 delta = ctx.constant(2)->ScalarAsDouble();
    if (delta == 0) return ctx.Invalid("delta is 0");
    n = static_cast<int64_t>(std::max(0.0, std::ceil((limit - start) / delta)));
  } else {
    const int64_t start = ctx.constant(0)->ScalarAsInt(), limit = ctx.constant(1)->ScalarAsInt(),
                  delta = ctx.constant(2)->ScalarAsInt();
    if (delta == 0) return ctx.Invalid("delta is 0");
    const int64_t span = limit - start;
    n = delta > 0 ? (span > 0 ? (span + delta - 1) / delta : 0)
                  : (span < 0 ? (-span + -delta - 1) / -delta : 0);
  }
  ctx.set_output(0, t, {n});
  return Status::Ok();
}

Status InferEyeLike(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (in.rank() != 2) return ctx.Invalid("input must be 2-D, got " + DimsToString(in.dims));
  DType t = in.dtype;
  if (ctx.node().has_attr("dtype")) {
    ASSIGN_OR_RETURN(int64_t code, ctx.node().GetInt("dtype", 1));
    ASSIGN_OR_RETURN(t, DTypeFromOnnxCode(ctx, code));
  }
  ctx.set_output(0, t, in.dims);
  return Status::Ok();
}

Status InferOneHot(InferContext& ctx) {
  const TensorType& idx = ctx.input(0);
  if (ctx.input(2).num_elements() != 2) return ctx.Invalid("values must have 2 elements");
  if (ctx.constant(1) == nullptr) {
    return ctx.NotSupported(
        "input 'depth' must be a constant at session creation (edgerun plans memory "
        "statically)");
  }
  const double depth_f = ctx.constant(1)->ScalarAsDouble();
  const int64_t depth = static_cast<int64_t>(depth_f);
  if (depth < 1) return ctx.Invalid("depth must be positive, got " + std::to_string(depth_f));
  ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis", -1));
  const int out_rank = idx.rank() + 1;
  if (axis < -out_rank || axis >= out_rank) {
    return ctx.Invalid("axis " + std::to_string(axis) + " is out of range for output rank " +
                       std::to_string(out_rank));
  }
  if (axis < 0) axis += out_rank;
  std::vector<int64_t> out = idx.dims;
  out.insert(out.begin() + axis, depth);
  ctx.set_output(0, ctx.input(2).dtype, std::move(out));
  return Status::Ok();
}

Status InferTrilu(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (in.rank() < 2) return ctx.Invalid("input must have rank >= 2, got " + DimsToString(in.dims));
  if (ctx.has_input(1) && ctx.input(1).num_elements() != 1)
    return ctx.Invalid("k must be a scalar");
  ctx.set_output(0, in.dtype, in.dims);
  return Status::Ok();
}

Status InferNonZero(InferContext& ctx) {
  const Tensor* c = ctx.constant(0);
  if (c == nullptr) {
    return ctx.NotSupported(
        "the output size depends on input 'X', which must be a constant at session creation "
        "(edgerun plans memory statically)");
  }
  const int64_t n = c->num_elements();
  int64_t nnz = 0;
  for (int64_t i = 0; i < n; ++i) nnz += c->ScalarAsDouble(i) != 0;
  ctx.set_output(0, DType::kI64, {static_cast<int64_t>(ctx.input(0).rank()), nnz});
  return Status::Ok();
}

Status InferReverseSequence(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (in.rank() < 2) return ctx.Invalid("input must have rank >= 2");
  ASSIGN_OR_RETURN(int64_t batch_axis, ctx.node().GetInt("batch_axis", 1));
  ASSIGN_OR_RETURN(int64_t time_axis, ctx.node().GetInt("time_axis", 0));
  if ((batch_axis != 0 && batch_axis != 1) || (time_axis != 0 && time_axis != 1) ||
      batch_axis == time_axis) {
    return ctx.Invalid("batch_axis and time_axis must be 0 and 1 in some order");
  }
  if (ctx.input(1).dims != std::vector<int64_t>{in.dims[batch_axis]}) {
    return ctx.Invalid("sequence_lens has shape " + DimsToString(ctx.input(1).dims) +
                       ", expected [" + std::to_string(in.dims[batch_axis]) + "]");
  }
  RETURN_IF_ERROR(RequireIndexType(ctx, 1, "sequence_lens"));
  ctx.set_output(0, in.dtype, in.dims);
  return Status::Ok();
}

Status InferCompress(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  const Tensor* cond = ctx.constant(1);
  if (cond == nullptr) {
    return ctx.NotSupported(
        "input 'condition' must be a constant at session creation (edgerun plans memory "
        "statically)");
  }
  if (ctx.input(1).rank() != 1) return ctx.Invalid("condition must be 1-D");
  int64_t dim = in.num_elements();
  std::optional<int> axis;
  if (ctx.node().has_attr("axis")) {
    ASSIGN_OR_RETURN(int64_t a, ctx.node().GetInt("axis", 0));
    ASSIGN_OR_RETURN(int na, NormalizeAxis(ctx, a, in.rank()));
    axis = na;
    dim = in.dims[na];
  }
  if (cond->num_elements() > dim) {
    return ctx.Invalid("condition has " + std::to_string(cond->num_elements()) +
                       " entries, more than the " + std::to_string(dim) + " selectable slices");
  }
  int64_t count = 0;
  for (int64_t i = 0; i < cond->num_elements(); ++i) count += cond->ScalarAsDouble(i) != 0;
  std::vector<int64_t> out = axis ? in.dims : std::vector<int64_t>{0};
  out[axis.value_or(0)] = count;
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

// ---- Depth/space rearrangement ------------------------------------------------------------

Status InferDepthToSpace(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(int64_t b, ctx.node().GetInt("blocksize", 0));
  ASSIGN_OR_RETURN(std::string mode, ctx.node().GetString("mode", "DCR"));
  if (mode != "DCR" && mode != "CRD") return ctx.Invalid("unknown mode '" + mode + "'");
  if (in.rank() != 4) return ctx.Invalid("input must be 4-D, got " + DimsToString(in.dims));
  if (b < 1 || in.dims[1] % (b * b) != 0) {
    return ctx.Invalid("channels " + std::to_string(in.dims[1]) +
                       " are not divisible by blocksize^2 (blocksize " + std::to_string(b) + ")");
  }
  ctx.set_output(0, in.dtype, {in.dims[0], in.dims[1] / (b * b), in.dims[2] * b, in.dims[3] * b});
  return Status::Ok();
}

// com.edgerun ChannelShuffle(x...; group, axis) -> y...: the inputs concatenated along `axis` (one
// input is the usual case; a Concat feeding the shuffle is folded in after the layout pass), then
// that axis of size C viewed as [group, C/group] and transposed to [C/group, group] (ShuffleNet's
// Reshape -> Transpose -> Reshape, one op that the layout pass can move to NHWC by remapping
// `axis`); with several outputs, the result split evenly along `axis` (the Slices after it).
Status InferChannelShuffle(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(int64_t group, ctx.node().GetInt("group", 0));
  ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 1));
  ASSIGN_OR_RETURN(int axis, NormalizeAxis(ctx, axis_attr, in.rank()));
  std::vector<int64_t> out = in.dims;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const TensorType& t = ctx.input(i);
    bool ok = t.dtype == in.dtype && t.rank() == in.rank();
    for (int d = 0; ok && d < t.rank(); ++d) ok = d == axis || t.dims[d] == in.dims[d];
    if (!ok) {
      return ctx.Invalid("input " + std::to_string(i) + " (" + std::string(DTypeName(t.dtype)) +
                         " " + DimsToString(t.dims) + ") does not concatenate with input 0 (" +
                         std::string(DTypeName(in.dtype)) + " " + DimsToString(in.dims) +
                         ") along axis " + std::to_string(axis));
    }
    out[axis] += t.dims[axis];
  }
  if (group < 1 || out[axis] % group != 0) {
    return ctx.Invalid("axis " + std::to_string(axis) + " of size " + std::to_string(out[axis]) +
                       " is not divisible by group " + std::to_string(group));
  }
  // Several outputs split the shuffled axis evenly (the Slices after the shuffle folded in).
  const int outputs = ctx.num_outputs();
  if (out[axis] % outputs != 0) {
    return ctx.Invalid("axis " + std::to_string(axis) + " of size " + std::to_string(out[axis]) +
                       " does not split evenly into " + std::to_string(outputs) + " outputs");
  }
  out[axis] /= outputs;
  for (int o = 0; o < outputs; ++o) ctx.set_output(o, in.dtype, out);
  return Status::Ok();
}

Status InferSpaceToDepth(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  ASSIGN_OR_RETURN(int64_t b, ctx.node().GetInt("blocksize", 0));
  if (in.rank() != 4) return ctx.Invalid("input must be 4-D, got " + DimsToString(in.dims));
  if (b < 1 || in.dims[2] % b != 0 || in.dims[3] % b != 0) {
    return ctx.Invalid("spatial dims " + DimsToString(in.dims) +
                       " are not divisible by blocksize " + std::to_string(b));
  }
  ctx.set_output(0, in.dtype, {in.dims[0], in.dims[1] * b * b, in.dims[2] / b, in.dims[3] / b});
  return Status::Ok();
}

// ---- Resize / Upsample --------------------------------------------------------------------

Status InferResize(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  const Node& node = ctx.node();
  const int r = in.rank();
  const bool upsample = node.op_type == "Upsample";
  ASSIGN_OR_RETURN(std::string mode, node.GetString("mode", "nearest"));
  if (mode != "nearest" && mode != "linear" && mode != "cubic" && mode != "bilinear") {
    return ctx.Invalid("unknown mode '" + mode + "'");
  }
  if (!IsFloat(in.dtype) && in.dtype != DType::kI8 && in.dtype != DType::kU8 &&
      in.dtype != DType::kI32 && in.dtype != DType::kI64) {
    return ctx.NotSupported("dtype " + std::string(DTypeName(in.dtype)) + " is not supported");
  }
  std::vector<int> axes;
  if (node.has_attr("axes")) {
    ASSIGN_OR_RETURN(std::vector<int64_t> a, node.GetInts("axes", {}));
    ASSIGN_OR_RETURN(axes, NormalizeAxes(ctx, a, r));
  } else {
    for (int i = 0; i < r; ++i) axes.push_back(i);
  }
  if (!upsample && node.opset >= 11) {
    ASSIGN_OR_RETURN(std::string ctm,
                     node.GetString("coordinate_transformation_mode", "half_pixel"));
    static constexpr std::string_view kModes[] = {
        "half_pixel",         "pytorch_half_pixel",   "align_corners",       "asymmetric",
        "tf_crop_and_resize", "tf_half_pixel_for_nn", "half_pixel_symmetric"};
    if (std::find(std::begin(kModes), std::end(kModes), ctm) == std::end(kModes)) {
      return ctx.Invalid("unknown coordinate_transformation_mode '" + ctm + "'");
    }
    ASSIGN_OR_RETURN(std::string nm, node.GetString("nearest_mode", "round_prefer_floor"));
    if (nm != "round_prefer_floor" && nm != "round_prefer_ceil" && nm != "floor" && nm != "ceil") {
      return ctx.Invalid("unknown nearest_mode '" + nm + "'");
    }
    if (ctm == "tf_crop_and_resize") {
      if (!ctx.has_input(1) ||
          ctx.input(1).num_elements() != static_cast<int64_t>(2 * axes.size())) {
        return ctx.Invalid("tf_crop_and_resize needs a roi with " +
                           std::to_string(2 * axes.size()) + " entries");
      }
      if (ctx.constant(1) == nullptr) {
        return ctx.NotSupported(
            "input 'roi' must be a constant at session creation (edgerun plans memory "
            "statically)");
      }
    }
  }
  // Where scales / sizes come from depends on the op and opset.
  const int scales_in = upsample || node.opset < 11 ? 1 : 2;
  const int sizes_in = upsample || node.opset < 11 ? -1 : 3;
  std::vector<int64_t> out = in.dims;
  const bool has_scales = (upsample && node.opset < 9)
                              ? node.has_attr("scales")
                              : ctx.has_input(scales_in) && ctx.input(scales_in).num_elements() > 0;
  const bool has_sizes =
      sizes_in >= 0 && ctx.has_input(sizes_in) && ctx.input(sizes_in).num_elements() > 0;
  if (has_scales == has_sizes) return ctx.Invalid("exactly one of scales and sizes must be given");
  if (has_scales) {
    std::vector<float> scales;
    if (upsample && node.opset < 9) {
      ASSIGN_OR_RETURN(scales, node.GetFloats("scales", {}));
    } else {
      ASSIGN_OR_RETURN(scales, ConstFloats(ctx, scales_in, "input 'scales'"));
    }
    if (scales.size() != axes.size()) {
      return ctx.Invalid("scales has " + std::to_string(scales.size()) + " entries for " +
                         std::to_string(axes.size()) + " axes");
    }
    for (size_t i = 0; i < axes.size(); ++i) {
      if (!(scales[i] > 0)) return ctx.Invalid("scales must be positive");
      out[axes[i]] =
          static_cast<int64_t>(std::floor(static_cast<double>(in.dims[axes[i]]) * scales[i]));
    }
  } else {
    ASSIGN_OR_RETURN(std::vector<int64_t> sizes, ConstInts(ctx, sizes_in, "input 'sizes'"));
    if (sizes.size() != axes.size()) {
      return ctx.Invalid("sizes has " + std::to_string(sizes.size()) + " entries for " +
                         std::to_string(axes.size()) + " axes");
    }
    ASSIGN_OR_RETURN(std::string policy, node.GetString("keep_aspect_ratio_policy", "stretch"));
    if (policy == "stretch") {
      for (size_t i = 0; i < axes.size(); ++i) {
        if (sizes[i] < 0)
          return ctx.Invalid("sizes " + IntsToString(sizes) + " has a negative dim");
        out[axes[i]] = sizes[i];
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      double scale = policy == "not_larger" ? std::numeric_limits<double>::max() : 0.0;
      for (size_t i = 0; i < axes.size(); ++i) {
        const double s = static_cast<double>(sizes[i]) / static_cast<double>(in.dims[axes[i]]);
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      for (size_t i = 0; i < axes.size(); ++i) {
        out[axes[i]] = static_cast<int64_t>(std::floor(scale * in.dims[axes[i]] + 0.5));
      }
    } else {
      return ctx.Invalid("unknown keep_aspect_ratio_policy '" + policy + "'");
    }
  }
  ctx.set_output(0, in.dtype, std::move(out));
  return Status::Ok();
}

constexpr OpDef kTensorDefs[] = {
    {"Identity", 1, 1, 1, 1, InferIdentity},
    {"Reshape", 2, 2, 1, 1, InferReshape},
    {"Flatten", 1, 1, 1, 1, InferFlatten},
    {"Squeeze", 1, 2, 1, 1, InferSqueeze},
    {"Unsqueeze", 1, 2, 1, 1, InferUnsqueeze},
    {"Transpose", 1, 1, 1, 1, InferTranspose},
    {"Concat", 1, -1, 1, 1, InferConcat},
    {"Split", 1, 2, 1, -1, InferSplit},
    {"Slice", 1, 5, 1, 1, InferSlice},
    {"Gather", 2, 2, 1, 1, InferGather},
    {"GatherElements", 2, 2, 1, 1, InferGatherElements},
    {"GatherND", 2, 2, 1, 1, InferGatherND},
    {"ScatterElements", 3, 3, 1, 1, InferScatterElements},
    {"Scatter", 3, 3, 1, 1, InferScatterElements},
    {"ScatterND", 3, 3, 1, 1, InferScatterND},
    {"Expand", 2, 2, 1, 1, InferExpand},
    {"Tile", 2, 2, 1, 1, InferTile},
    {"Pad", 1, 4, 1, 1, InferPad},
    {"Shape", 1, 1, 1, 1, InferShape},
    {"Size", 1, 1, 1, 1, InferSize},
    {"ConstantOfShape", 1, 1, 1, 1, InferConstantOfShape},
    {"Range", 3, 3, 1, 1, InferRange},
    {"DepthToSpace", 1, 1, 1, 1, InferDepthToSpace},
    {"SpaceToDepth", 1, 1, 1, 1, InferSpaceToDepth},
    {"ChannelShuffle", 1, -1, 1, -1, InferChannelShuffle, kEdgerunDomain},
    {"Resize", 1, 4, 1, 1, InferResize},
    {"Upsample", 1, 2, 1, 1, InferResize},
    {"EyeLike", 1, 1, 1, 1, InferEyeLike},
    {"OneHot", 3, 3, 1, 1, InferOneHot},
    {"Trilu", 1, 2, 1, 1, InferTrilu},
    {"NonZero", 1, 1, 1, 1, InferNonZero},
    {"ReverseSequence", 2, 2, 1, 1, InferReverseSequence},
    {"Compress", 2, 2, 1, 1, InferCompress},
};

}  // namespace

std::span<const OpDef> TensorOpDefs() { return kTensorDefs; }

}  // namespace edgerun
