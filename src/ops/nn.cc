// Nn op family: convolution, pooling, matrix products and normalization ops.
//
// Shape inference follows the ONNX operator docs for opsets 6..18: conv and pool output sizes
// from kernel, stride, dilation and explicit or automatic (SAME_UPPER/SAME_LOWER/VALID) pads;
// MatMul with numpy batch broadcasting and 1-D operands; Gemm with optional, broadcast C.
#include <algorithm>
#include <string>
#include <vector>

#include "kernels/ref/einsum.h"
#include "ops/op_families.h"

namespace edgerun {
namespace {

std::string Str(int64_t v) { return std::to_string(v); }

std::string VecToString(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += Str(v[i]);
  }
  s += ']';
  return s;
}

Status RequireFloat(const InferContext& ctx, int i, std::string_view what) {
  if (!IsFloat(ctx.input(i).dtype)) {
    return ctx.Invalid(std::string(what) + " has dtype " +
                       std::string(DTypeName(ctx.input(i).dtype)) + ", expected a float type");
  }
  return Status::Ok();
}

Status RequireSameDType(const InferContext& ctx, int i, std::string_view what) {
  if (ctx.has_input(i) && ctx.input(i).dtype != ctx.input(0).dtype) {
    return ctx.Invalid(std::string(what) + " has dtype " +
                       std::string(DTypeName(ctx.input(i).dtype)) + " but input 0 has " +
                       std::string(DTypeName(ctx.input(0).dtype)));
  }
  return Status::Ok();
}

// Checks that input i is a 1-D tensor of `n` elements.
Status RequireVector(const InferContext& ctx, int i, int64_t n, std::string_view what) {
  const TensorType& t = ctx.input(i);
  if (t.rank() != 1 || t.dims[0] != n) {
    return ctx.Invalid(std::string(what) + " (input " + Str(i) + ") has shape " +
                       DimsToString(t.dims) + ", expected [" + Str(n) + "]");
  }
  return Status::Ok();
}

// Kernel/stride/dilation/pad attributes shared by Conv, ConvTranspose and the pools.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: all begins, then all ends
  std::string auto_pad;
};

Expected<std::vector<int64_t>> GetSpatialInts(const InferContext& ctx, std::string_view name,
                                              size_t n, int64_t def, int64_t min_value) {
  ASSIGN_OR_RETURN(std::vector<int64_t> v, ctx.node().GetInts(name, std::vector<int64_t>(n, def)));
  if (v.size() != n) {
    return ctx.Invalid(std::string(name) + " " + VecToString(v) + " has " + Str(v.size()) +
                       " entries, expected " + Str(n));
  }
  for (int64_t x : v) {
    if (x < min_value) {
      return ctx.Invalid(std::string(name) + " " + VecToString(v) + " has a value below " +
                         Str(min_value));
    }
  }
  return v;
}

// `kernel_from_weight` (Conv): the kernel shape W implies; empty for pools (attribute required).
Expected<Window> ParseWindow(const InferContext& ctx, int spatial,
                             const std::vector<int64_t>& kernel_from_weight) {
  Window w;
  const size_t n = static_cast<size_t>(spatial);
  if (ctx.node().has_attr("kernel_shape") || kernel_from_weight.empty()) {
    if (!ctx.node().has_attr("kernel_shape")) return ctx.Invalid("missing attribute kernel_shape");
    ASSIGN_OR_RETURN(w.kernel, GetSpatialInts(ctx, "kernel_shape", n, 1, 1));
    if (!kernel_from_weight.empty() && w.kernel != kernel_from_weight) {
      return ctx.Invalid("kernel_shape " + VecToString(w.kernel) +
                         " does not match the weight's spatial dims " +
                         VecToString(kernel_from_weight));
    }
  } else {
    w.kernel = kernel_from_weight;
    for (int64_t k : w.kernel) {
      if (k < 1) return ctx.Invalid("weight has an empty spatial dim " + VecToString(w.kernel));
    }
  }
  ASSIGN_OR_RETURN(w.strides, GetSpatialInts(ctx, "strides", n, 1, 1));
  ASSIGN_OR_RETURN(w.dilations, GetSpatialInts(ctx, "dilations", n, 1, 1));
  ASSIGN_OR_RETURN(w.pads, GetSpatialInts(ctx, "pads", 2 * n, 0, 0));
  ASSIGN_OR_RETURN(w.auto_pad, ctx.node().GetString("auto_pad", "NOTSET"));
  if (w.auto_pad.empty()) w.auto_pad = "NOTSET";
  if (w.auto_pad != "NOTSET" && w.auto_pad != "VALID" && w.auto_pad != "SAME_UPPER" &&
      w.auto_pad != "SAME_LOWER") {
    return ctx.Invalid("unknown auto_pad '" + w.auto_pad + "'");
  }
  return w;
}

// Output size of one spatial axis for Conv and the pools.
Expected<int64_t> WindowOutputSize(const InferContext& ctx, const Window& w, int i, int64_t in,
                                   bool ceil_mode) {
  const int64_t n = static_cast<int64_t>(w.kernel.size());
  const int64_t s = w.strides[i];
  const int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
  if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") return (in + s - 1) / s;
  const int64_t padded = w.auto_pad == "VALID" ? in : in + w.pads[i] + w.pads[i + n];
  if (padded < span) {
    return ctx.Invalid("spatial axis " + Str(i) + " of size " + Str(in) + " (padded " +
                       Str(padded) + ") is smaller than the kernel extent " + Str(span));
  }
  int64_t out = ceil_mode ? (padded - span + s - 1) / s + 1 : (padded - span) / s + 1;
  // In ceil mode the last window must start inside the input or the leading pad.
  if (ceil_mode && w.auto_pad == "NOTSET" && (out - 1) * s >= in + w.pads[i]) --out;
  return out;
}

// ---- Conv / ConvTranspose ----

Status InferConv(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& wt = ctx.input(1);
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  RETURN_IF_ERROR(RequireSameDType(ctx, 1, "weight W"));
  if (x.rank() < 3)
    return ctx.Invalid("input X has shape " + DimsToString(x.dims) + ", need rank >= 3");
  if (wt.rank() != x.rank()) {
    return ctx.Invalid("weight W has shape " + DimsToString(wt.dims) + " but input X has rank " +
                       Str(x.rank()));
  }
  ASSIGN_OR_RETURN(int64_t group, ctx.node().GetInt("group", 1));
  if (group < 1) return ctx.Invalid("group " + Str(group) + " must be >= 1");
  const int64_t c = x.dims[1], m = wt.dims[0];
  if (wt.dims[1] * group != c) {
    return ctx.Invalid("input X has " + Str(c) + " channels but weight W " + DimsToString(wt.dims) +
                       " with group " + Str(group) + " expects " + Str(wt.dims[1] * group));
  }
  if (m % group != 0) {
    return ctx.Invalid("weight W has " + Str(m) + " output channels, not divisible by group " +
                       Str(group));
  }
  if (ctx.has_input(2)) {
    RETURN_IF_ERROR(RequireSameDType(ctx, 2, "bias B"));
    RETURN_IF_ERROR(RequireVector(ctx, 2, m, "bias B"));
  }
  const int spatial = x.rank() - 2;
  ASSIGN_OR_RETURN(Window w, ParseWindow(ctx, spatial, {wt.dims.begin() + 2, wt.dims.end()}));
  std::vector<int64_t> out = {x.dims[0], m};
  for (int i = 0; i < spatial; ++i) {
    ASSIGN_OR_RETURN(int64_t o, WindowOutputSize(ctx, w, i, x.dims[2 + i], false));
    out.push_back(o);
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::Ok();
}

Status InferConvTranspose(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& wt = ctx.input(1);
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  RETURN_IF_ERROR(RequireSameDType(ctx, 1, "weight W"));
  if (x.rank() < 3)
    return ctx.Invalid("input X has shape " + DimsToString(x.dims) + ", need rank >= 3");
  if (wt.rank() != x.rank()) {
    return ctx.Invalid("weight W has shape " + DimsToString(wt.dims) + " but input X has rank " +
                       Str(x.rank()));
  }
  ASSIGN_OR_RETURN(int64_t group, ctx.node().GetInt("group", 1));
  if (group < 1) return ctx.Invalid("group " + Str(group) + " must be >= 1");
  if (wt.dims[0] != x.dims[1] || x.dims[1] % group != 0) {
    return ctx.Invalid("input X has " + Str(x.dims[1]) + " channels but weight W has shape " +
                       DimsToString(wt.dims) + " (group " + Str(group) + ")");
  }
  const int64_t m = wt.dims[1] * group;
  if (ctx.has_input(2)) {
    RETURN_IF_ERROR(RequireSameDType(ctx, 2, "bias B"));
    RETURN_IF_ERROR(RequireVector(ctx, 2, m, "bias B"));
  }
  const int spatial = x.rank() - 2;
  ASSIGN_OR_RETURN(Window w, ParseWindow(ctx, spatial, {wt.dims.begin() + 2, wt.dims.end()}));
  ASSIGN_OR_RETURN(std::vector<int64_t> out_pad,
                   GetSpatialInts(ctx, "output_padding", spatial, 0, 0));
  ASSIGN_OR_RETURN(std::vector<int64_t> out_shape, ctx.node().GetInts("output_shape", {}));
  // Some exporters give the full N,C,... shape; only the spatial tail matters.
  if (out_shape.size() == static_cast<size_t>(x.rank())) {
    out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  }
  if (!out_shape.empty() && out_shape.size() != static_cast<size_t>(spatial)) {
    return ctx.Invalid("output_shape " + VecToString(out_shape) + " has the wrong length for " +
                       Str(spatial) + " spatial dims");
  }
  std::vector<int64_t> out = {x.dims[0], m};
  for (int i = 0; i < spatial; ++i) {
    const int64_t in = x.dims[2 + i];
    const int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t o;
    if (!out_shape.empty()) {
      o = out_shape[i];
    } else if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
      o = in * w.strides[i];
    } else {
      const int64_t pads = w.auto_pad == "VALID" ? 0 : w.pads[i] + w.pads[i + spatial];
      o = w.strides[i] * (in - 1) + out_pad[i] + span - pads;
    }
    if (o < 1) {
      return ctx.Invalid("spatial axis " + Str(i) + " would have output size " + Str(o));
    }
    out.push_back(o);
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::Ok();
}

// ---- Pooling ----

Status InferPool(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  const bool is_max = ctx.node().op_type == "MaxPool";
  if (!is_max) RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  if (x.rank() < 3)
    return ctx.Invalid("input X has shape " + DimsToString(x.dims) + ", need rank >= 3");
  const int spatial = x.rank() - 2;
  ASSIGN_OR_RETURN(Window w, ParseWindow(ctx, spatial, {}));
  ASSIGN_OR_RETURN(int64_t ceil_mode, ctx.node().GetInt("ceil_mode", 0));
  if (ctx.node().op_type == "LpPool") {
    ASSIGN_OR_RETURN(int64_t p, ctx.node().GetInt("p", 2));
    if (p < 1) return ctx.Invalid("p " + Str(p) + " must be >= 1");
  }
  if (is_max) {
    ASSIGN_OR_RETURN(int64_t order, ctx.node().GetInt("storage_order", 0));
    if (order != 0 && order != 1) return ctx.Invalid("storage_order must be 0 or 1");
  }
  std::vector<int64_t> out = {x.dims[0], x.dims[1]};
  for (int i = 0; i < spatial; ++i) {
    ASSIGN_OR_RETURN(int64_t o, WindowOutputSize(ctx, w, i, x.dims[2 + i], ceil_mode != 0));
    out.push_back(o);
  }
  if (ctx.num_outputs() > 1) ctx.set_output(1, DType::kI64, out);
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::Ok();
}

Status InferGlobalPool(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (ctx.node().op_type != "GlobalMaxPool") RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  if (x.rank() < 3)
    return ctx.Invalid("input X has shape " + DimsToString(x.dims) + ", need rank >= 3");
  std::vector<int64_t> out(x.dims.size(), 1);
  out[0] = x.dims[0];
  out[1] = x.dims[1];
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::Ok();
}

// ---- Matrix products ----

Status InferGemm(InferContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  RETURN_IF_ERROR(RequireSameDType(ctx, 1, "input B"));
  if (a.rank() != 2 || b.rank() != 2) {
    return ctx.Invalid("inputs A " + DimsToString(a.dims) + " and B " + DimsToString(b.dims) +
                       " must be 2-D");
  }
  ASSIGN_OR_RETURN(int64_t ta, ctx.node().GetInt("transA", 0));
  ASSIGN_OR_RETURN(int64_t tb, ctx.node().GetInt("transB", 0));
  const int64_t m = ta ? a.dims[1] : a.dims[0];
  const int64_t k = ta ? a.dims[0] : a.dims[1];
  const int64_t kb = tb ? b.dims[1] : b.dims[0];
  const int64_t n = tb ? b.dims[0] : b.dims[1];
  if (k != kb) {
    return ctx.Invalid("inner dims differ: A " + DimsToString(a.dims) +
                       (ta ? " (transposed)" : "") + ", B " + DimsToString(b.dims) +
                       (tb ? " (transposed)" : ""));
  }
  if (ctx.has_input(2)) {
    RETURN_IF_ERROR(RequireSameDType(ctx, 2, "input C"));
    const std::vector<int64_t>& c = ctx.input(2).dims;
    const std::vector<int64_t> mn = {m, n};
    bool ok = c.size() <= 2;
    for (size_t i = 0; ok && i < c.size(); ++i) {
      const int64_t target = mn[2 - c.size() + i];
      ok = c[i] == 1 || c[i] == target;
    }
    if (!ok) {
      return ctx.Invalid("input C with shape " + DimsToString(c) + " cannot broadcast to " +
                         DimsToString(mn));
    }
  }
  ctx.set_output(0, a.dtype, {m, n});
  return Status::Ok();
}

// Shared by MatMul and FusedMatMul.
Expected<std::vector<int64_t>> MatMulDims(const InferContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  RETURN_IF_ERROR(RequireSameDType(ctx, 1, "input B"));
  if (a.rank() < 1 || b.rank() < 1) return ctx.Invalid("MatMul inputs must have rank >= 1");
  const int64_t k = a.dims.back();
  const int64_t kb = b.rank() == 1 ? b.dims[0] : b.dims[b.rank() - 2];
  if (k != kb) {
    return ctx.Invalid("inner dims differ: A " + DimsToString(a.dims) + ", B " +
                       DimsToString(b.dims));
  }
  std::vector<int64_t> a_batch(a.dims.begin(), a.dims.end() - std::min(a.rank(), 2));
  std::vector<int64_t> b_batch(b.dims.begin(), b.dims.end() - std::min(b.rank(), 2));
  ASSIGN_OR_RETURN(std::vector<int64_t> out, BroadcastDims(ctx, a_batch, b_batch));
  if (a.rank() >= 2) out.push_back(a.dims[a.rank() - 2]);
  if (b.rank() >= 2) out.push_back(b.dims.back());
  return out;
}

Status InferMatMul(InferContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<int64_t> out, MatMulDims(ctx));
  ctx.set_output(0, ctx.input(0).dtype, std::move(out));
  return Status::Ok();
}

Status InferFusedMatMul(InferContext& ctx) {
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input A"));
  ASSIGN_OR_RETURN(std::vector<int64_t> out, MatMulDims(ctx));
  if (ctx.has_input(2)) {
    RETURN_IF_ERROR(RequireSameDType(ctx, 2, "bias"));
    const int64_t n = out.empty() ? 1 : out.back();
    const TensorType& bias = ctx.input(2);
    if (bias.num_elements() != n && bias.num_elements() != 1) {
      return ctx.Invalid("bias " + DimsToString(bias.dims) +
                         " does not match the last output dim " + Str(n));
    }
  }
  ctx.set_output(0, ctx.input(0).dtype, std::move(out));
  return Status::Ok();
}

Status InferEinsum(InferContext& ctx) {
  ASSIGN_OR_RETURN(std::string equation, ctx.node().GetString("equation", ""));
  if (equation.empty()) return ctx.Invalid("missing attribute equation");
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    RETURN_IF_ERROR(RequireSameDType(ctx, i, "input " + Str(i)));
  }
  std::vector<TensorType> operands(ctx.num_inputs());
  for (int i = 0; i < ctx.num_inputs(); ++i) operands[i] = ctx.input(i);
  ASSIGN_OR_RETURN(EinsumSpec spec, ParseEinsum(ctx.node(), equation, operands));
  ctx.set_output(0, ctx.input(0).dtype, spec.OutputDims());
  return Status::Ok();
}

// ---- Normalization ----

Status InferBatchNorm(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  if (x.rank() < 2)
    return ctx.Invalid("input X has shape " + DimsToString(x.dims) + ", need rank >= 2");
  ASSIGN_OR_RETURN(int64_t spatial, ctx.node().GetInt("spatial", 1));
  if (spatial == 0) return ctx.NotSupported("non-spatial BatchNormalization (spatial=0)");
  const int64_t c = x.dims[1];
  static constexpr std::string_view kNames[] = {"", "scale", "B", "input_mean", "input_var"};
  for (int i = 1; i < 5; ++i) {
    if (!IsFloat(ctx.input(i).dtype)) {
      return ctx.Invalid(std::string(kNames[i]) + " must have a float dtype");
    }
    RETURN_IF_ERROR(RequireVector(ctx, i, c, kNames[i]));
  }
  ASSIGN_OR_RETURN(int64_t training, ctx.node().GetInt("training_mode", 0));
  int extra = 0;
  for (int i = 1; i < ctx.num_outputs(); ++i) extra += ctx.node().outputs[i] != Node::kNoValue;
  if (extra > 0) {
    if (ctx.opset() < 14 || !training) {
      return ctx.NotSupported(
          "training outputs (mean/var) of BatchNormalization are not "
          "supported outside training_mode (opset >= 14)");
    }
    if (ctx.num_outputs() > 3) return ctx.Invalid("training mode has at most 3 outputs");
    for (int i = 1; i < ctx.num_outputs(); ++i) ctx.set_output(i, ctx.input(3).dtype, {c});
  }
  ctx.set_output(0, x.dtype, x.dims);
  return Status::Ok();
}

Status InferInstanceNorm(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  if (x.rank() < 2)
    return ctx.Invalid("input X has shape " + DimsToString(x.dims) + ", need rank >= 2");
  RETURN_IF_ERROR(RequireSameDType(ctx, 1, "scale"));
  RETURN_IF_ERROR(RequireSameDType(ctx, 2, "B"));
  RETURN_IF_ERROR(RequireVector(ctx, 1, x.dims[1], "scale"));
  RETURN_IF_ERROR(RequireVector(ctx, 2, x.dims[1], "B"));
  ctx.set_output(0, x.dtype, x.dims);
  return Status::Ok();
}

Status InferLrn(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  if (x.rank() < 2)
    return ctx.Invalid("input X has shape " + DimsToString(x.dims) + ", need rank >= 2");
  if (!ctx.node().has_attr("size")) return ctx.Invalid("missing attribute size");
  ASSIGN_OR_RETURN(int64_t size, ctx.node().GetInt("size", 1));
  if (size < 1) return ctx.Invalid("size " + Str(size) + " must be >= 1");
  ctx.set_output(0, x.dtype, x.dims);
  return Status::Ok();
}

Status InferLayerNorm(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  RETURN_IF_ERROR(RequireSameDType(ctx, 1, "Scale"));
  RETURN_IF_ERROR(RequireSameDType(ctx, 2, "B"));
  ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
  ASSIGN_OR_RETURN(int axis, NormalizeAxis(ctx, axis_attr, x.rank()));
  const std::vector<int64_t> normalized(x.dims.begin() + axis, x.dims.end());
  for (int i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    const std::vector<int64_t>& d = ctx.input(i).dims;
    bool ok = d.size() <= normalized.size();
    for (size_t j = 0; ok && j < d.size(); ++j) {
      const int64_t target = normalized[normalized.size() - d.size() + j];
      ok = d[j] == 1 || d[j] == target;
    }
    if (!ok) {
      return ctx.Invalid(std::string(i == 1 ? "Scale" : "B") + " with shape " + DimsToString(d) +
                         " does not broadcast to the normalized dims " + DimsToString(normalized));
    }
  }
  ASSIGN_OR_RETURN(int64_t stash, ctx.node().GetInt("stash_type", 1));
  const DType stat_type = stash == 1 ? DType::kF32 : x.dtype;
  std::vector<int64_t> stat_dims = x.dims;
  for (int i = axis; i < x.rank(); ++i) stat_dims[i] = 1;
  for (int i = 1; i < ctx.num_outputs(); ++i) ctx.set_output(i, stat_type, stat_dims);
  ctx.set_output(0, x.dtype, x.dims);
  return Status::Ok();
}

Status InferMvn(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  RETURN_IF_ERROR(RequireFloat(ctx, 0, "input X"));
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.node().GetInts("axes", {0, 2, 3}));
  for (int64_t a : axes) {
    RETURN_IF_ERROR(NormalizeAxis(ctx, a, x.rank()).status());
  }
  ctx.set_output(0, x.dtype, x.dims);
  return Status::Ok();
}

constexpr OpDef kNnOpDefs[] = {
    {"Conv", 2, 3, 1, 1, InferConv},
    {"ConvTranspose", 2, 3, 1, 1, InferConvTranspose},
    {"MaxPool", 1, 1, 1, 2, InferPool},
    {"AveragePool", 1, 1, 1, 1, InferPool},
    {"LpPool", 1, 1, 1, 1, InferPool},
    {"GlobalAveragePool", 1, 1, 1, 1, InferGlobalPool},
    {"GlobalMaxPool", 1, 1, 1, 1, InferGlobalPool},
    {"GlobalLpPool", 1, 1, 1, 1, InferGlobalPool},
    {"Gemm", 2, 3, 1, 1, InferGemm},
    {"MatMul", 2, 2, 1, 1, InferMatMul},
    {"Einsum", 1, -1, 1, 1, InferEinsum},
    {"BatchNormalization", 5, 5, 1, 5, InferBatchNorm},
    {"InstanceNormalization", 3, 3, 1, 1, InferInstanceNorm},
    {"LRN", 1, 1, 1, 1, InferLrn},
    {"LayerNormalization", 2, 3, 1, 3, InferLayerNorm},
    {"MeanVarianceNormalization", 1, 1, 1, 1, InferMvn},
    {"FusedMatMul", 2, 3, 1, 1, InferFusedMatMul, kEdgerunDomain},
};

}  // namespace

std::span<const OpDef> NnOpDefs() { return kNnOpDefs; }

}  // namespace edgerun
