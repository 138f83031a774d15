// Small IR graphs built in C++ for runtime and CLI tests (no ONNX file needed).
//
// Usage:
//   Model m = MakeSmallCnn();                       // Conv/BN/Relu/Pool/Add/Gemm/Softmax
//   auto s = Session::Create(m, SessionOptions{});
#pragma once

#include <cstdint>
#include <vector>

#include "edgerun/session.h"

namespace edgerun::testing {

// Deterministic pseudo-random f32 tensor in [-1, 1).
Tensor RandomF32(std::vector<int64_t> dims, uint32_t seed);

// x[1,3,16,16] -> Conv 3x3 (8) -> BatchNormalization -> Relu -> MaxPool 2x2
//   -> depthwise Conv 3x3 pad 1 -> Add (residual) -> Clip(0,6) -> GlobalAveragePool
//   -> Flatten -> Gemm (10) -> Softmax -> y[1,10]
Model MakeSmallCnn();

// x[N,4] (N symbolic) -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1 is appended]) -> Reshape
// (the exporter pattern) -> Relu -> y[N,4]
Model MakeShapeSubgraphModel();

}  // namespace edgerun::testing
