// Deterministic random tensors of any edgerun dtype, and element access as double, for tests.
//
// Values are drawn uniformly from [lo, hi) with a seeded std::mt19937 and then stored in the
// dtype: integers are drawn from [lo, hi] (both integer bounds reachable), bool is true with
// probability 1/2, f16/bf16 are rounded to nearest even.
// Usage:
//   Tensor x = testing::RandomTensor(DType::kF32, {2, 3}, /*seed=*/7, -4.0, 4.0);
//   double v = testing::ElementAt(x, 5);
//   testing::SetElement(x, 0, 1.5);
#pragma once

#include <cstdint>
#include <vector>

#include "edgerun/tensor.h"

namespace edgerun::testing {

// A tensor of `dtype` and `dims` with values from [lo, hi). For integer dtypes lo and hi should
// lie inside the type's range; bool ignores lo and hi and is true with probability 1/2.
Tensor RandomTensor(DType dtype, std::vector<int64_t> dims, uint32_t seed, double lo = -1.0,
                    double hi = 1.0);

// Element i widened to double (f16/bf16 decoded, bool as 0/1).
double ElementAt(const Tensor& t, int64_t i);

// Stores v into element i, converted like RandomTensor does (floor for integers, != 0 for bool).
void SetElement(Tensor& t, int64_t i, double v);

// A tensor of `dtype` and `dims` holding `values` (converted like SetElement).
Tensor TensorFromDoubles(DType dtype, std::vector<int64_t> dims, const std::vector<double>& values);

}  // namespace edgerun::testing
