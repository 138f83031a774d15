// A slow reference interpreter for whole graphs, used to check that graph passes keep numerics.
//
// Runs the nodes in order with EvaluateNode (heap-allocated tensors, reference kernels), no
// arena and no planning. Inputs are given in graph-input order; outputs come back in
// graph-output order (constants and passed-through inputs included).
// Usage:
//   ASSIGN_OR_RETURN(std::vector<Tensor> before, EvaluateGraph(graph, inputs));
//   RETURN_IF_ERROR(RunGraphPasses(graph, nullptr));
//   ASSIGN_OR_RETURN(std::vector<Tensor> after, EvaluateGraph(graph, inputs));
#pragma once

#include <span>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun {

Expected<std::vector<Tensor>> EvaluateGraph(const Graph& g, std::span<const Tensor> inputs);

}  // namespace edgerun
