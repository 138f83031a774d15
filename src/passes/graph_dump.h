// Human-readable listing of a graph, used by `edgerun inspect` to show it before and after the
// graph passes.
//
// One line per node: "name  Op(domain)  inputs -> outputs [output shapes] {attrs}", preceded by
// the graph inputs and followed by the outputs. Constant inputs are marked with '*'; long
// attribute lists are abbreviated.
// Usage:
//   std::cout << DumpGraph(model.graph);
//   // conv1  Conv  x, w*, b* -> y [1x16x32x32] {activation=Relu, pads=[1,1,1,1], strides=[1,1]}
#pragma once

#include <string>

#include "edgerun/ir.h"

namespace edgerun {

std::string DumpGraph(const Graph& g);

}  // namespace edgerun
