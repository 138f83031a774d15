// Graph-editing helpers shared by the graph passes.
//
// GraphRewriter wraps a Graph during one pass: it answers producer/consumer queries (rebuilt
// lazily after edits), removes nodes by flagging them so node indices stay stable while the
// pass scans, and on Finish() erases the flagged nodes and compacts the values. Rewrites reuse
// the slot of a node they replace, so the topological order never needs repairing.
// Usage:
//   GraphRewriter rw(graph);
//   if (rw.HasSoleConsumer(v, n)) { ...; rw.RemoveNode(n); }
//   return rw.Finish();
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"
#include "ops/op_def.h"

namespace edgerun {

class GraphRewriter {
 public:
  explicit GraphRewriter(Graph& graph) : graph_(graph), removed_(graph.nodes.size(), 0) {}

  Graph& graph() { return graph_; }
  Node& node(int n) { return graph_.nodes[n]; }
  Value& value(int v) { return graph_.values[v]; }
  int num_nodes() const { return static_cast<int>(graph_.nodes.size()); }
  bool removed(int n) const { return removed_[n] != 0; }

  // Node producing `v` (-1 for graph inputs, constants and kNoValue). Removed nodes are ignored.
  int Producer(int v);
  // Distinct live nodes that read `v`, in graph order.
  const std::vector<int>& Consumers(int v);
  // True when `v` is read only by node `n`, exactly once, and is not a graph output: the value
  // can disappear when `n` is merged into v's producer.
  bool HasSoleConsumer(int v, int n);
  // The constant tensor behind value `v`, or nullptr.
  const Tensor* Constant(int v) const;
  // The data of constant `v`, writable, when node `n` is its only reader and nothing outside the
  // graph shares its buffer (no copy of the graph, no other Tensor, writable memory); otherwise
  // nullptr. Lets a fold rewrite weights in place instead of faulting in a fresh copy. The caller
  // writes every element: bytes still in the model file are not copied into place first, so read
  // the old values from Tensor::UnalignedBytes(), taken before this call.
  void* ConstantToOverwrite(int v, int n);

  // Flags node `n` for removal at Finish().
  void RemoveNode(int n);
  // Makes every live node read `to` wherever it read `from` (graph outputs are not touched).
  void ReplaceUses(int from, int to);
  // Adds a constant value named after `base` (made unique) and returns its index.
  int AddConstant(std::string_view base, Tensor t);
  // Call after editing node inputs/outputs directly so the indexes are rebuilt.
  void Invalidate() { dirty_ = true; }

  // Erases flagged nodes and unreferenced values. Node and value indices are invalid afterwards.
  Status Finish();

 private:
  void Rebuild();

  Graph& graph_;
  std::vector<char> removed_;
  std::vector<int> producer_;
  std::vector<std::vector<int>> consumers_;
  bool dirty_ = true;
};

// The value of `e`, or `fallback` when it holds an error (e.g. an attribute of the wrong kind,
// which makes a pattern not match rather than fail the pass).
template <typename T>
T ValueOr(const Expected<T>& e, T fallback) {
  return e.ok() ? e.value() : fallback;
}

// True for the default ONNX domain ("" or "ai.onnx").
bool IsOnnxDomain(std::string_view domain);
// True when `node` is `op_type` in the default ONNX domain.
bool IsOnnxOp(const Node& node, std::string_view op_type);

// The static type of a value (dtype and dims; -1 dims when not static).
TensorType ValueType(const Graph& g, int v);
// True when `t` has a dtype and no unknown (-1) dim.
bool IsStaticType(const TensorType& t);
// True when `v` is a constant with exactly one element equal to `expected` within a relative
// tolerance (exporters write 1/sqrt(2) etc. with varying precision).
bool IsScalarConstant(const Graph& g, int v, double expected, double rel_tol = 1e-4);

// Infers `node` against the values it names in `g` and checks that a reference kernel exists for
// it; used before a pass commits to creating an op that some build might lack.
bool CanRunOnReferencePath(const Graph& g, const Node& node);

// Checks the invariants every pass must keep: value indices in range, nodes topologically
// sorted (each input is a graph input, a constant or produced earlier), each value produced
// at most once, graph outputs defined, and every node output typed with a static shape.
Status ValidateGraph(const Graph& g);

}  // namespace edgerun
