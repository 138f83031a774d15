// Binds a graph's dynamic input dims, then runs shape inference and constant folding together.
//
// Nodes are visited in topological order. Each node's OpDef infers static output types from its
// inputs' types (and constant input data); when every input is a constant the node is evaluated
// with the reference kernels and removed, its outputs becoming constants. That single sweep
// turns exporter shape subgraphs (Shape -> Gather -> Concat -> Reshape) into constants.
// Usage:
//   RETURN_IF_ERROR(BindInputShapes(graph, options, model_path));
//   RETURN_IF_ERROR(InferShapesAndFold(graph, /*fold=*/true, FoldMode::kKeepDequantize));
//   ... graph passes ...
//   RETURN_IF_ERROR(InferShapesAndFold(graph, /*fold=*/true));
#pragma once

#include <string>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/session.h"
#include "edgerun/status.h"

namespace edgerun {

// Makes every graph input shape static using options.input_shapes, symbol_values and
// default_dim_value. Errors name the input, the dim and the symbol.
Status BindInputShapes(Graph& graph, const SessionOptions& options);

// Lists every node whose op edgerun does not know (all of them, not just the first).
std::vector<const Node*> FindUnknownOps(const Graph& graph);

// Which all-constant nodes a folding sweep evaluates.
enum class FoldMode {
  kAll,
  // DequantizeLinear nodes stay even when their inputs are constant (int8 weights), so that the
  // graph passes still see the QDQ pattern and can fold it into int8 kernels (passes/fold_qdq.cc).
  // The sweep after the passes then runs with kAll and folds whatever DequantizeLinear remains.
  kKeepDequantize,
};

// Infers static dtype and dims for every value; checks them against shapes the model declares
// (a contradiction is an error naming the value); folds all-constant nodes when `fold`.
Status InferShapesAndFold(Graph& graph, bool fold, FoldMode mode = FoldMode::kAll);

}  // namespace edgerun
