// Small IR graphs built in C++ for runtime and CLI tests (no ONNX file needed).
//
// Usage:
//   Model m = MakeSmallCnn();                       // Conv/BN/Relu/Pool/Add/Gemm/Softmax
//   auto s = Session::Create(m, SessionOptions{});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgerun/session.h"
#include "kernels/kernel.h"

namespace edgerun::testing {

// A node with inputs 0..num_inputs-1 and the outputs after them, for single-node tests
// (EvaluateNode only looks at the ids' positions).
Node MakeNode(const std::string& op, int opset, int num_inputs, int num_outputs = 1,
              const std::string& name = "n0");

// The kernel `path` picks for `node` with input types `in` (no constants), or nullptr when none
// of its kernels claims it or the types do not infer.
const KernelDef* KernelOnPath(KernelPath path, const Node& node, const std::vector<TensorType>& in);

// Deterministic pseudo-random f32 tensor in [-1, 1).
Tensor RandomF32(std::vector<int64_t> dims, uint32_t seed);

// Adds an f32 value with static `dims` to `g` and returns its index.
int F32(Graph& g, const std::string& name, std::vector<int64_t> dims);

// Evaluates both graphs with the reference kernels on the same seeded random inputs and expects
// every output within 1e-4 relative / 1e-5 absolute (a pass must not change results).
void ExpectSameGraphResults(const Graph& before, const Graph& after, uint32_t seed);

// x[1,3,16,16] -> Conv 3x3 (8) -> BatchNormalization -> Relu -> MaxPool 2x2
//   -> depthwise Conv 3x3 pad 1 -> Add (residual) -> Clip(0,6) -> GlobalAveragePool
//   -> Flatten -> Gemm (10) -> Softmax -> y[1,10]
Model MakeSmallCnn();

// x[N,4] (N symbolic) -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1 is appended]) -> Reshape
// (the exporter pattern) -> Relu -> y[N,4]
Model MakeShapeSubgraphModel();

}  // namespace edgerun::testing
