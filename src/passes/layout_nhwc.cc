// ConvertToNhwc and FuseConvResidual: the channels-last layout pass and the residual fusion
// that NHWC makes possible.
//
// Layout assignment walks the nodes in order and decides, per 4-D value, whether it is stored
// NCHW (the model's view) or NHWC. Layout-sensitive ops (Conv, pools...) always run NHWC;
// layout-agnostic ops (elementwise, Concat, Resize, Pad, Slice...) follow their inputs when one of
// them is already NHWC, with their axis attributes and constant operands permuted; every other op
// sees NCHW. A conversion is a Transpose inserted only where a consumer needs the other layout,
// shared by all such consumers and remembered both ways, so NHWC -> NCHW -> NHWC round trips
// never materialize. Graph inputs and outputs keep the model's layout.
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// NHWC axis k holds NCHW axis kToNchw[k]; NCHW axis a lives at NHWC axis kToNhwc[a].
constexpr int kToNchw[4] = {0, 2, 3, 1};
constexpr int kToNhwc[4] = {0, 3, 1, 2};

std::vector<int64_t> PermuteToNhwc(const std::vector<int64_t>& nchw) {
  return {nchw[0], nchw[2], nchw[3], nchw[1]};
}

bool IsRank4(const Graph& g, int v) {
  return v >= 0 && g.values[v].shape && g.values[v].shape->size() == 4 &&
         IsStatic(*g.values[v].shape);
}

bool IsLayoutSensitive(const Graph& g, const Node& n) {
  if (n.inputs.empty() || !IsRank4(g, n.inputs[0])) return false;
  if (n.outputs.empty() || !IsRank4(g, n.outputs[0])) return false;
  // The int8 global pool of folded QDQ models: per-tensor parameters, a channel-wise reduction.
  if (n.domain == kEdgerunDomain) return n.op_type == "QLinearGlobalAveragePool";
  if (!IsOnnxDomain(n.domain)) return false;
  const std::string& op = n.op_type;
  if (op == "MaxPool") {
    // The Indices output encodes NCHW offsets.
    return n.outputs.size() == 1 && ValueOr(n.GetInt("storage_order", 0), int64_t{1}) == 0;
  }
  if (op == "Conv" || op == "ConvTranspose" || op == "QLinearConv") {
    // Weights must be constants: backends pack them, and NHWC kernels read them as OIHW.
    const int w = op == "QLinearConv" ? 3 : 1;
    return static_cast<int>(n.inputs.size()) > w && n.inputs[w] >= 0 &&
           g.values[n.inputs[w]].is_constant();
  }
  return op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool";
}

enum class Agnostic { kNo, kElementwise, kAxisAttr, kConcat, kResize, kPad, kSlice };

Agnostic ClassifyAgnostic(const Node& n) {
  static const std::set<std::string, std::less<>> kUnaryOrBinary = {
      "Relu",        "Sigmoid",   "Tanh",     "Clip",  "LeakyRelu",
      "HardSigmoid", "HardSwish", "Elu",      "Selu",  "Softplus",
      "Abs",         "Neg",       "Exp",      "Log",   "Sqrt",
      "Reciprocal",  "Floor",     "Ceil",     "Round", "Erf",
      "Cast",        "Identity",  "Sin",      "Cos",   "Sign",
      "Add",         "Sub",       "Mul",      "Div",   "Pow",
      "Max",         "Min",       "Sum",      "Mean",  "PRelu",
      "Equal",       "Greater",   "Less",     "And",   "Or",
      "Where",       "Not",       "Softsign", "Mod",   "GreaterOrEqual",
      "LessOrEqual"};
  if (n.domain == kEdgerunDomain) {
    if (n.op_type == "ChannelShuffle") return Agnostic::kAxisAttr;  // its `axis` is remapped
    // QLinearAdd's scales and zero points are per tensor (scalars), so it is elementwise with
    // numpy broadcasting like Add; following NHWC avoids Transposes around residual adds.
    return n.op_type == "SiLU" || n.op_type == "Gelu" || n.op_type == "QLinearAdd"
               ? Agnostic::kElementwise
               : Agnostic::kNo;
  }
  if (!IsOnnxDomain(n.domain)) return Agnostic::kNo;
  if (kUnaryOrBinary.count(n.op_type)) return Agnostic::kElementwise;
  if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") {
    return Agnostic::kElementwise;  // per-axis scales are handled like constants by axis remap
  }
  if (n.op_type == "Concat") return Agnostic::kConcat;
  if (n.op_type == "Split") return Agnostic::kAxisAttr;
  if (n.op_type == "Softmax" || n.op_type == "LogSoftmax") {
    return n.opset >= 13 ? Agnostic::kAxisAttr : Agnostic::kNo;
  }
  if (n.op_type == "Resize") return Agnostic::kResize;
  if (n.op_type == "Pad") return Agnostic::kPad;
  if (n.op_type == "Slice" && n.opset >= 10) return Agnostic::kSlice;
  return Agnostic::kNo;
}

class LayoutPass {
 public:
  explicit LayoutPass(Graph& g) : g_(g) {}

  Status Run(std::vector<std::string>* log) {
    nhwc_.assign(g_.values.size(), 0);
    std::vector<Node> old_nodes = std::move(g_.nodes);
    g_.nodes.clear();
    int converted = 0;
    for (Node& node : old_nodes) {
      if (IsLayoutSensitive(g_, node)) {
        node.inputs[0] = Nhwc(node.inputs[0]);
        node.domain = std::string(kNhwcDomain);
        MarkNhwc(node.outputs[0]);
        ++converted;
        g_.nodes.push_back(std::move(node));
        continue;
      }
      const Agnostic kind = ClassifyAgnostic(node);
      if (kind != Agnostic::kNo && FollowsNhwc(node) && TryConvertAgnostic(node, kind)) {
        g_.nodes.push_back(std::move(node));
        continue;
      }
      for (int& v : node.inputs) {
        if (v >= 0 && v < static_cast<int>(nhwc_.size()) && nhwc_[v]) v = Nchw(v);
      }
      g_.nodes.push_back(std::move(node));
    }
    // Graph outputs keep the model's layout: the NHWC producer writes a new value, converted
    // into the original (named) output.
    for (int& out : g_.outputs) {
      if (out >= static_cast<int>(nhwc_.size()) || !nhwc_[out]) continue;
      nhwc_[out] = 0;  // a value listed twice as an output is converted once
      if (auto it = to_nchw_.find(out); it != to_nchw_.end()) {
        // Already converted for an NCHW consumer: that conversion becomes the output itself.
        const int existing = it->second;
        const int inner = g_.AddValue(MakeUniqueName(g_, g_.values[out].name + "_nhwc"),
                                      g_.values[out].dtype, g_.values[out].shape);
        g_.values[inner].layout = Layout::kNHWC;
        for (Node& n : g_.nodes) {
          for (int& v : n.inputs) v = v == out ? inner : (v == existing ? out : v);
          for (int& v : n.outputs) v = v == out ? inner : (v == existing ? out : v);
        }
        g_.values[out].shape = g_.values[existing].shape;
        g_.values[out].layout = Layout::kAny;
        continue;
      }
      const int inner = g_.AddValue(MakeUniqueName(g_, g_.values[out].name + "_nhwc"),
                                    g_.values[out].dtype, g_.values[out].shape);
      g_.values[inner].layout = Layout::kNHWC;
      for (Node& n : g_.nodes) {
        for (int& v : n.inputs) v = v == out ? inner : v;
        for (int& v : n.outputs) v = v == out ? inner : v;
      }
      std::vector<int64_t> nhwc_dims = StaticDims(*g_.values[inner].shape);
      g_.values[out].shape =
          ShapeFromDims({nhwc_dims[0], nhwc_dims[3], nhwc_dims[1], nhwc_dims[2]});
      g_.values[out].layout = Layout::kAny;
      EmitConversion(inner, out, /*to_nhwc=*/false);
    }
    if (converted > 0 && log != nullptr) {
      log->push_back("layout: " + std::to_string(converted) + " nodes run NHWC, " +
                     std::to_string(num_transposes_) + " layout conversions");
    }
    return ValidateGraph(g_).WithPrefix("after the NHWC layout pass");
  }

 private:
  bool IsNhwc(int v) const { return v >= 0 && v < static_cast<int>(nhwc_.size()) && nhwc_[v]; }

  void MarkNhwc(int v) {
    if (v >= static_cast<int>(nhwc_.size())) nhwc_.resize(v + 1, 0);
    nhwc_[v] = 1;
    Value& val = g_.values[v];
    val.shape = ShapeFromDims(PermuteToNhwc(StaticDims(*val.shape)));
    val.layout = Layout::kNHWC;
  }

  // True when the node should follow NHWC: some non-constant 4-D input is already NHWC.
  bool FollowsNhwc(const Node& n) const {
    for (int v : n.inputs) {
      if (IsNhwc(v)) return true;
    }
    return false;
  }

  // Converts an NCHW value (model layout) to NHWC, reusing earlier conversions.
  int Nhwc(int v) {
    if (IsNhwc(v)) return v;
    if (auto it = to_nhwc_.find(v); it != to_nhwc_.end()) return it->second;
    const Value& src = g_.values[v];
    const int out = g_.AddValue(MakeUniqueName(g_, src.name + "_nhwc"), src.dtype,
                                ShapeFromDims(PermuteToNhwc(StaticDims(*src.shape))));
    nhwc_.resize(g_.values.size(), 0);
    nhwc_[out] = 1;
    g_.values[out].layout = Layout::kNHWC;
    EmitConversion(v, out, /*to_nhwc=*/true);
    return out;
  }

  // The NCHW view of an NHWC value, reusing earlier conversions.
  int Nchw(int v) {
    if (auto it = to_nchw_.find(v); it != to_nchw_.end()) return it->second;
    const Value& src = g_.values[v];
    std::vector<int64_t> d = StaticDims(*src.shape);
    const int out = g_.AddValue(MakeUniqueName(g_, src.name + "_nchw"), src.dtype,
                                ShapeFromDims({d[0], d[3], d[1], d[2]}));
    nhwc_.resize(g_.values.size(), 0);
    EmitConversion(v, out, /*to_nhwc=*/false);
    return out;
  }

  // Transpose, or a free Reshape when only size-1 axes move (e.g. [N,1,1,C] <-> [N,C,1,1]).
  void EmitConversion(int from, int to, bool to_nhwc) {
    const std::vector<int64_t> d = StaticDims(*g_.values[from].shape);
    const std::vector<int64_t> perm =
        to_nhwc ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 3, 1, 2};
    int64_t last = -1;
    bool order_kept = true;
    for (int64_t axis : perm) {
      if (d[axis] == 1) continue;
      if (axis < last) order_kept = false;
      last = axis;
    }
    const std::string name = MakeUniqueName(g_, g_.values[to].name + "_layout");
    if (order_kept) {
      std::vector<int64_t> target = StaticDims(*g_.values[to].shape);
      Tensor shape = Tensor::Create(DType::kI64, {4}).value();
      std::memcpy(shape.mutable_raw(), target.data(), 4 * sizeof(int64_t));
      const int shape_value = g_.AddConstant(MakeUniqueName(g_, name + "_shape"), std::move(shape));
      Node& n = g_.AddNode(name, "Reshape", {from, shape_value}, {to});
      n.opset = 14;
    } else {
      Node& n = g_.AddNode(name, "Transpose", {from}, {to});
      n.opset = 13;
      n.attrs["perm"] = Attribute::Ints(perm);
      ++num_transposes_;
    }
    nhwc_.resize(g_.values.size(), 0);
    if (to_nhwc) {
      to_nhwc_[from] = to;
      to_nchw_[to] = from;
    } else {
      to_nchw_[from] = to;
      to_nhwc_[to] = from;
    }
  }

  // A constant operand of an elementwise op, broadcast against a 4-D NCHW value: the same data
  // as NHWC (reshaped to rank 4 with leading 1s, then transposed). Scalars stay as they are.
  std::optional<int> PermutedConstant(int v) {
    const Tensor& t = *g_.values[v].constant;
    if (t.num_elements() <= 1 || t.rank() == 0) return v;
    if (t.rank() > 4) return std::nullopt;
    std::vector<int64_t> d4(4 - t.rank(), 1);
    d4.insert(d4.end(), t.dims().begin(), t.dims().end());
    const std::vector<int64_t> out_dims = PermuteToNhwc(d4);
    Expected<Tensor> out = Tensor::Create(t.dtype(), out_dims);
    if (!out.ok()) return std::nullopt;
    const size_t elem = DTypeSize(t.dtype());
    const auto* src = static_cast<const std::byte*>(t.raw());
    auto* dst = static_cast<std::byte*>(out->mutable_raw());
    // dst[n][h][w][c] = src[n][c][h][w]
    for (int64_t n = 0; n < d4[0]; ++n)
      for (int64_t h = 0; h < d4[2]; ++h)
        for (int64_t w = 0; w < d4[3]; ++w)
          for (int64_t c = 0; c < d4[1]; ++c) {
            const int64_t s = ((n * d4[1] + c) * d4[2] + h) * d4[3] + w;
            const int64_t o = ((n * d4[2] + h) * d4[3] + w) * d4[1] + c;
            std::memcpy(dst + o * elem, src + s * elem, elem);
          }
    return g_.AddConstant(MakeUniqueName(g_, g_.values[v].name + "_nhwc"), std::move(*out));
  }

  // A 1-D int64 constant rewritten by `fn`; nullopt when `v` is not such a constant.
  std::optional<int> RewriteInts(
      int v, const std::function<std::vector<int64_t>(const std::vector<int64_t>&)>& fn) {
    if (v < 0 || !g_.values[v].is_constant()) return std::nullopt;
    const Tensor& t = *g_.values[v].constant;
    if (t.dtype() != DType::kI64 || t.rank() != 1) return std::nullopt;
    std::vector<int64_t> in(t.data<int64_t>(), t.data<int64_t>() + t.num_elements());
    std::vector<int64_t> out = fn(in);
    if (out.empty() && !in.empty()) return std::nullopt;
    Tensor r = Tensor::Create(DType::kI64, {static_cast<int64_t>(out.size())}).value();
    std::memcpy(r.mutable_raw(), out.data(), out.size() * sizeof(int64_t));
    return g_.AddConstant(MakeUniqueName(g_, g_.values[v].name + "_nhwc"), std::move(r));
  }

  // Rewrites an agnostic node to consume and produce NHWC; false (node untouched) when some
  // operand cannot follow.
  bool TryConvertAgnostic(Node& node, Agnostic kind) {
    for (int v : node.outputs) {
      if (v >= 0 && !IsRank4(g_, v)) return false;
    }
    std::vector<int> new_inputs = node.inputs;
    std::map<std::string, Attribute, std::less<>> new_attrs = node.attrs;
    const size_t data_inputs =
        kind == Agnostic::kElementwise || kind == Agnostic::kConcat ? node.inputs.size() : 1;
    // Data inputs: 4-D values follow; constants are permuted (elementwise/concat only).
    for (size_t i = 0; i < data_inputs; ++i) {
      const int v = node.inputs[i];
      if (v < 0) continue;
      const bool quant_param =
          (node.op_type == "QuantizeLinear" || node.op_type == "DequantizeLinear") && i > 0;
      if (quant_param) {
        if (g_.values[v].is_constant() && g_.values[v].constant->num_elements() > 1) {
          continue;  // per-axis: handled by the axis remap below
        }
        continue;
      }
      if (g_.values[v].is_constant()) {
        if (kind == Agnostic::kConcat && !IsRank4(g_, v)) return false;
        std::optional<int> c = PermutedConstant(v);
        if (!c) return false;
        new_inputs[i] = *c;
      } else if (IsRank4(g_, v)) {
        new_inputs[i] = -2 - v;  // placeholder: converted below once the node is accepted
      } else if (g_.values[v].shape && NumElements(StaticDims(*g_.values[v].shape)) == 1) {
        // a runtime scalar broadcasts the same way in either layout
      } else {
        return false;
      }
    }
    auto remap_axis = [&](const char* attr, int64_t def) -> bool {
      Expected<int64_t> a = node.GetInt(attr, def);
      if (!a.ok()) return false;
      int64_t axis = *a < 0 ? *a + 4 : *a;
      if (axis < 0 || axis > 3) return false;
      new_attrs[attr] = Attribute::Int(kToNhwc[axis]);
      return true;
    };
    switch (kind) {
      case Agnostic::kElementwise:
        if (node.op_type == "QuantizeLinear" || node.op_type == "DequantizeLinear") {
          if (!remap_axis("axis", 1)) return false;
        }
        break;
      case Agnostic::kConcat:
      case Agnostic::kAxisAttr:
        if (!remap_axis("axis", node.op_type == "Softmax" || node.op_type == "LogSoftmax" ? -1
                                : node.op_type == "ChannelShuffle"                        ? 1
                                                                                          : 0))
          return false;
        break;
      case Agnostic::kResize: {
        if (node.has_attr("axes")) return false;
        for (size_t i = 1; i < node.inputs.size(); ++i) {
          const int v = node.inputs[i];
          if (v < 0) continue;
          const Tensor* t = g_.values[v].constant.get();
          if (t == nullptr) return false;
          if (t->num_elements() == 0) continue;
          if (i == 2 && t->dtype() == DType::kF32 && t->num_elements() == 4) {
            const float* s = t->data<float>();
            Tensor r = Tensor::Create(DType::kF32, {4}).value();
            for (int k = 0; k < 4; ++k) r.mutable_data<float>()[k] = s[kToNchw[k]];
            new_inputs[i] =
                g_.AddConstant(MakeUniqueName(g_, g_.values[v].name + "_nhwc"), std::move(r));
          } else if (i == 3) {
            std::optional<int> r = RewriteInts(v, [](const std::vector<int64_t>& s) {
              return s.size() == 4 ? PermuteToNhwc(s) : std::vector<int64_t>{};
            });
            if (!r) return false;
            new_inputs[i] = *r;
          } else {
            return false;  // roi for tf_crop_and_resize, odd dtypes
          }
        }
        break;
      }
      case Agnostic::kPad: {
        if (node.opset < 11 || node.inputs.size() < 2 || node.inputs.size() > 3) return false;
        std::optional<int> r = RewriteInts(node.inputs[1], [](const std::vector<int64_t>& p) {
          if (p.size() != 8) return std::vector<int64_t>{};
          std::vector<int64_t> begin(p.begin(), p.begin() + 4), end(p.begin() + 4, p.end());
          std::vector<int64_t> out = PermuteToNhwc(begin), e = PermuteToNhwc(end);
          out.insert(out.end(), e.begin(), e.end());
          return out;
        });
        if (!r) return false;
        new_inputs[1] = *r;
        break;
      }
      case Agnostic::kSlice: {
        // starts, ends keep their order; axes are remapped (explicit axes required).
        if (node.inputs.size() < 4 || node.inputs[3] < 0) return false;
        std::optional<int> r = RewriteInts(node.inputs[3], [](const std::vector<int64_t>& axes) {
          std::vector<int64_t> out;
          for (int64_t a : axes) {
            const int64_t axis = a < 0 ? a + 4 : a;
            if (axis < 0 || axis > 3) return std::vector<int64_t>{};
            out.push_back(kToNhwc[axis]);
          }
          return out;
        });
        if (!r) return false;
        new_inputs[3] = *r;
        break;
      }
      case Agnostic::kNo:
        return false;
    }
    for (int& v : new_inputs) {
      if (v <= -2) v = Nhwc(-2 - v);
    }
    node.inputs = std::move(new_inputs);
    node.attrs = std::move(new_attrs);
    for (int v : node.outputs) {
      if (v >= 0) MarkNhwc(v);
    }
    return true;
  }

  Graph& g_;
  std::vector<char> nhwc_;
  std::map<int, int> to_nhwc_, to_nchw_;
  int num_transposes_ = 0;
};

}  // namespace

Status ConvertToNhwc(Graph& g, std::vector<std::string>* log) {
  LayoutPass pass(g);
  return pass.Run(log);
}

Status FuseConvResidual(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
    Node& add = rw.node(n);
    if (!IsOnnxOp(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    for (int side = 0; side < 2; ++side) {
      const int y = add.inputs[side], z = add.inputs[1 - side];
      if (y < 0 || z < 0 || y == z || g.values[z].is_constant()) continue;
      const int p = rw.Producer(y);
      if (p < 0 || !rw.HasSoleConsumer(y, n)) continue;
      Node& conv = rw.node(p);
      if (conv.domain != kNhwcDomain || conv.op_type != "Conv" || conv.has_attr("activation") ||
          conv.inputs.size() > 3 || g.values[y].dtype != DType::kF32) {
        continue;
      }
      if (!(ValueType(g, y) == ValueType(g, z)) ||
          !(ValueType(g, add.outputs[0]) == ValueType(g, y))) {
        continue;
      }
      // z must exist before the conv runs, since the conv takes its slot.
      const int zp = rw.Producer(z);
      if (zp > p) continue;
      conv.inputs.resize(3, Node::kNoValue);
      conv.inputs.push_back(z);
      conv.outputs[0] = add.outputs[0];
      rw.RemoveNode(n);
      rw.Invalidate();
      if (log != nullptr) {
        log->push_back("fused Add '" + add.name + "' into Conv '" + conv.name + "' (residual)");
      }
      break;
    }
  }
  return rw.Finish();
}

}  // namespace edgerun
