// EliminateIdentity and EliminateDeadNodes.
#include <algorithm>
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

bool SameType(const Graph& g, int a, int b) {
  const TensorType ta = ValueType(g, a), tb = ValueType(g, b);
  return ta.dtype != DType::kUndefined && ta == tb &&
         std::none_of(ta.dims.begin(), ta.dims.end(), [](int64_t d) { return d < 0; });
}

// True when every element of constant `v` equals `x`.
bool IsConstantFilledWith(const Graph& g, int v, double x) {
  if (v < 0 || !g.values[v].is_constant()) return false;
  const Tensor& t = *g.values[v].constant;
  if (!IsFloat(t.dtype()) && !IsInteger(t.dtype())) return false;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (t.ScalarAsDouble(i) != x) return false;
  }
  return true;
}

// Transpose keeps the data order when the axes of size > 1 stay in increasing order.
bool IsNoOpTranspose(const Graph& g, const Node& node) {
  const TensorType in = ValueType(g, node.inputs[0]);
  const int rank = in.rank();
  std::vector<int64_t> perm(rank);
  for (int i = 0; i < rank; ++i) perm[i] = rank - 1 - i;
  if (const Attribute* a = node.attr("perm"); a != nullptr && a->kind == Attribute::Kind::kInts) {
    perm = a->ints;
  }
  if (static_cast<int>(perm.size()) != rank) return false;
  int64_t last = -1;
  for (int64_t p : perm) {
    if (p < 0 || p >= rank) return false;
    if (in.dims[p] == 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

// The data input this node forwards unchanged to output 0, or -1 when it is not a no-op.
int ForwardedInput(GraphRewriter& rw, int n) {
  const Graph& g = rw.graph();
  const Node& node = g.nodes[n];
  if (!IsOnnxDomain(node.domain) || node.inputs.empty() || node.outputs.empty()) return -1;
  const int in = node.inputs[0];
  const int out = node.outputs[0];
  if (in < 0 || out < 0) return -1;
  // Every other output must be unused for the node to disappear.
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    const int v = node.outputs[i];
    if (v >= 0 && (g.IsGraphOutput(v) || !rw.Consumers(v).empty())) return -1;
  }
  const std::string& op = node.op_type;
  if (op == "Identity") return SameType(g, in, out) ? in : -1;
  if (op == "Dropout") {
    // Opset 12+ takes training_mode as input 2; training drops values at random.
    if (node.inputs.size() > 2 && node.inputs[2] >= 0) {
      const Tensor* mode = rw.Constant(node.inputs[2]);
      if (mode == nullptr || mode->num_elements() != 1 || mode->ScalarAsInt(0) != 0) return -1;
    }
    if (node.has_attr("training_mode")) return -1;
    return SameType(g, in, out) ? in : -1;
  }
  if (op == "Cast" || op == "CastLike" || op == "Reshape" || op == "Flatten" || op == "Squeeze" ||
      op == "Unsqueeze" || op == "Expand" || op == "Tile") {
    return SameType(g, in, out) ? in : -1;
  }
  if (op == "Transpose") return SameType(g, in, out) && IsNoOpTranspose(g, node) ? in : -1;
  if (op == "Concat") return node.inputs.size() == 1 && SameType(g, in, out) ? in : -1;
  if (node.inputs.size() == 2 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")) {
    const double neutral = (op == "Add" || op == "Sub") ? 0.0 : 1.0;
    const bool commutative = op == "Add" || op == "Mul";
    const int a = node.inputs[0], b = node.inputs[1];
    // The neutral operand must not broadcast the other one to a bigger shape.
    if (IsConstantFilledWith(g, b, neutral) && SameType(g, a, out)) return a;
    if (commutative && IsConstantFilledWith(g, a, neutral) && SameType(g, b, out)) return b;
  }
  return -1;
}

bool IsOptionalOutputOp(const Node& node) {
  return IsOnnxDomain(node.domain) &&
         (node.op_type == "Dropout" || node.op_type == "MaxPool" ||
          node.op_type == "BatchNormalization" || node.op_type == "LayerNormalization");
}

}  // namespace

Status EliminateIdentity(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    const int in = ForwardedInput(rw, n);
    if (in < 0) continue;
    Node& node = rw.node(n);
    const int out = node.outputs[0];
    if (!g.IsGraphOutput(out)) {
      rw.RemoveNode(n);
      rw.ReplaceUses(out, in);
    } else {
      // The output name must survive: let the input's producer write `out` directly. Not
      // possible when the input is itself an endpoint or a constant, so the node stays.
      const int producer = rw.Producer(in);
      if (producer < 0 || g.IsGraphOutput(in) || g.IsGraphInput(in)) continue;
      rw.RemoveNode(n);
      for (int& v : rw.node(producer).outputs) {
        if (v == in) v = out;
      }
      rw.ReplaceUses(in, out);
    }
    if (log != nullptr) log->push_back("removed " + node.op_type + " '" + node.name + "'");
  }
  return rw.Finish();
}

Status EliminateDeadNodes(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  std::vector<char> live(g.values.size(), 0);
  for (int v : g.outputs) live[v] = 1;
  for (int n = rw.num_nodes() - 1; n >= 0; --n) {
    Node& node = rw.node(n);
    const bool needed = std::any_of(node.outputs.begin(), node.outputs.end(),
                                    [&](int v) { return v >= 0 && live[v]; });
    if (!needed) {
      rw.RemoveNode(n);
      if (log != nullptr) {
        log->push_back("removed dead node '" + node.name + "' (" + node.op_type + ")");
      }
      continue;
    }
    for (int v : node.inputs) {
      if (v >= 0) live[v] = 1;
    }
    // Ops whose trailing outputs are optional extras (Split is not: its output count sets the
    // split sizes). Dropping unread ones lets kernels skip work (MaxPool indices) and lets
    // EliminateIdentity remove a Dropout.
    if (!IsOptionalOutputOp(node)) continue;
    size_t keep = node.outputs.size();
    while (keep > 1 && (node.outputs[keep - 1] < 0 || !live[node.outputs[keep - 1]])) --keep;
    for (size_t i = keep; i < node.outputs.size(); ++i) {
      if (node.outputs[i] >= 0 && log != nullptr) {
        log->push_back("dropped unused output '" + g.values[node.outputs[i]].name + "' of " +
                       node.Describe());
      }
    }
    node.outputs.resize(keep);
  }
  rw.Invalidate();
  return rw.Finish();
}

}  // namespace edgerun
