#include "passes/pass_util.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernel.h"
#include "runtime/evaluate_node.h"

namespace edgerun {

void GraphRewriter::Rebuild() {
  const size_t nv = graph_.values.size();
  producer_.assign(nv, -1);
  consumers_.assign(nv, {});
  for (int n = 0; n < num_nodes(); ++n) {
    if (removed_[n]) continue;
    const Node& node = graph_.nodes[n];
    for (int v : node.outputs) {
      if (v >= 0) producer_[v] = n;
    }
    for (int v : node.inputs) {
      if (v >= 0 && (consumers_[v].empty() || consumers_[v].back() != n)) {
        consumers_[v].push_back(n);
      }
    }
  }
  dirty_ = false;
}

int GraphRewriter::Producer(int v) {
  if (v < 0) return -1;
  if (dirty_ || static_cast<size_t>(v) >= producer_.size()) Rebuild();
  return producer_[v];
}

const std::vector<int>& GraphRewriter::Consumers(int v) {
  if (dirty_ || static_cast<size_t>(v) >= consumers_.size()) Rebuild();
  return consumers_[v];
}

bool GraphRewriter::HasSoleConsumer(int v, int n) {
  if (v < 0 || graph_.IsGraphOutput(v)) return false;
  const std::vector<int>& c = Consumers(v);
  if (c.size() != 1 || c[0] != n) return false;
  const std::vector<int>& in = graph_.nodes[n].inputs;
  return std::count(in.begin(), in.end(), v) == 1;
}

bool IsStaticType(const TensorType& t) {
  if (t.dtype == DType::kUndefined) return false;
  for (int64_t d : t.dims) {
    if (d < 0) return false;
  }
  return true;
}

const Tensor* GraphRewriter::Constant(int v) const {
  if (v < 0) return nullptr;
  return graph_.values[v].constant.get();
}

void* GraphRewriter::ConstantToOverwrite(int v, int n) {
  if (Constant(v) == nullptr || !HasSoleConsumer(v, n)) return nullptr;
  return graph_.values[v].ExclusiveConstantDataToOverwrite();
}

void GraphRewriter::RemoveNode(int n) {
  removed_[n] = 1;
  dirty_ = true;
}

void GraphRewriter::ReplaceUses(int from, int to) {
  for (int n = 0; n < num_nodes(); ++n) {
    if (removed_[n]) continue;
    for (int& v : graph_.nodes[n].inputs) {
      if (v == from) v = to;
    }
  }
  dirty_ = true;
}

int GraphRewriter::AddConstant(std::string_view base, Tensor t) {
  const int v = graph_.AddConstant(MakeUniqueName(graph_, base), std::move(t));
  dirty_ = true;
  return v;
}

Status GraphRewriter::Finish() {
  std::vector<Node> kept;
  kept.reserve(graph_.nodes.size());
  for (int n = 0; n < num_nodes(); ++n) {
    if (!removed_[n]) kept.push_back(std::move(graph_.nodes[n]));
  }
  graph_.nodes = std::move(kept);
  removed_.assign(graph_.nodes.size(), 0);
  graph_.CompactValues();
  dirty_ = true;
  return Status::Ok();
}

bool IsOnnxDomain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

bool IsOnnxOp(const Node& node, std::string_view op_type) {
  return node.op_type == op_type && IsOnnxDomain(node.domain);
}

TensorType ValueType(const Graph& g, int v) {
  TensorType t;
  if (v < 0) return t;
  const Value& val = g.values[v];
  t.dtype = val.dtype;
  if (val.shape) t.dims = StaticDims(*val.shape);
  return t;
}

bool IsScalarConstant(const Graph& g, int v, double expected, double rel_tol) {
  if (v < 0 || !g.values[v].is_constant()) return false;
  const Tensor& t = *g.values[v].constant;
  if (t.num_elements() != 1 || !(IsFloat(t.dtype()) || IsInteger(t.dtype()))) return false;
  const double x = t.ScalarAsDouble(0);
  return std::fabs(x - expected) <= rel_tol * std::max(1.0, std::fabs(expected));
}

bool CanRunOnReferencePath(const Graph& g, const Node& node) {
  if (FindOpDef(node.domain, node.op_type) == nullptr) return false;
  std::vector<TensorType> in_types(node.inputs.size());
  std::vector<const Tensor*> constants(node.inputs.size(), nullptr);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    in_types[i] = ValueType(g, node.inputs[i]);
    if (node.inputs[i] >= 0) constants[i] = g.values[node.inputs[i]].constant.get();
  }
  Expected<std::vector<TensorType>> out_types = InferNode(node, in_types, constants);
  if (!out_types.ok()) return false;
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    if (node.outputs[i] < 0) continue;
    if (!((*out_types)[i] == ValueType(g, node.outputs[i]))) return false;
  }
  const KernelPath order[] = {KernelPath::kReference};
  SupportContext ctx{node, in_types, constants, *out_types};
  return SelectKernel(ctx, order) != nullptr;
}

Status ValidateGraph(const Graph& g) {
  const int nv = static_cast<int>(g.values.size());
  std::vector<char> defined(nv, 0);
  for (int v : g.inputs) {
    if (v < 0 || v >= nv) return Internal("graph input index " + std::to_string(v) + " is invalid");
    defined[v] = 1;
  }
  for (int v = 0; v < nv; ++v) {
    if (g.values[v].is_constant()) defined[v] = 1;
  }
  for (const Node& node : g.nodes) {
    for (int v : node.inputs) {
      if (v == Node::kNoValue) continue;
      if (v < 0 || v >= nv) return Internal(node.Describe() + ": input index out of range");
      if (!defined[v]) {
        return Internal(node.Describe() + ": reads '" + g.values[v].name +
                        "' before it is produced");
      }
    }
    for (int v : node.outputs) {
      if (v == Node::kNoValue) continue;
      if (v < 0 || v >= nv) return Internal(node.Describe() + ": output index out of range");
      if (defined[v]) {
        return Internal(node.Describe() + ": output '" + g.values[v].name + "' is already defined");
      }
      const Value& val = g.values[v];
      if (val.dtype == DType::kUndefined || !val.shape || !IsStatic(*val.shape)) {
        return Internal(node.Describe() + ": output '" + val.name + "' has no static type");
      }
      defined[v] = 1;
    }
  }
  for (int v : g.outputs) {
    if (v < 0 || v >= nv || !defined[v]) {
      return Internal("graph output " +
                      (v >= 0 && v < nv ? "'" + g.values[v].name + "'" : std::to_string(v)) +
                      " is not produced");
    }
  }
  return Status::Ok();
}

}  // namespace edgerun
