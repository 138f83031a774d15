// Multiply-accumulate counts per node, from static shapes; reported by inspect and bench.
//
// Counts only the dominant products (conv, matmul-like ops); elementwise ops count zero.
// Usage:
//   int64_t macs = EstimateMacs(graph, graph.nodes[i]);
#pragma once

#include <cstdint>

#include "edgerun/ir.h"

namespace edgerun {

int64_t EstimateMacs(const Graph& graph, const Node& node);

}  // namespace edgerun
