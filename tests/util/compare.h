// Numeric comparison of tensors for tests: numpy-style allclose and whole-tensor similarity.
//
// Every numeric dtype is widened to double (fp16/bf16 decoded) before comparing. AllClose follows
// numpy.allclose(actual, expected, rtol, atol, equal_nan=True): |a - e| <= atol + rtol * |e|,
// infinities must match exactly; integer and bool tensors must be bit-exact. The result names the
// first mismatch, which is what a failing test should print.
// Usage:
//   CompareResult r = AllClose(session->output(0), expected.view(), 1e-3, 1e-7);
//   if (!r.ok) std::cerr << r.message << "\n";
//   double cos = CosineSimilarity(ToDoubles(a), ToDoubles(b));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgerun/tensor.h"

namespace edgerun::test_util {

// Element values widened to double; empty for kUndefined. Integers beyond 2^53 lose precision,
// so exact integer comparison does not go through here.
std::vector<double> ToDoubles(const TensorView& t);

// Cosine of the angle between a and b; 1 when both are all zero, 0 when exactly one is, NaN when
// the sizes differ or any element is NaN.
double CosineSimilarity(std::span<const double> a, std::span<const double> b);
// max |a_i - b_i| (NaN if any difference is NaN or the sizes differ; 0 for empty inputs).
double MaxAbsError(std::span<const double> a, std::span<const double> b);
// max |a_i| (0 for empty input).
double MaxAbs(std::span<const double> a);

struct CompareResult {
  bool ok = false;
  int64_t mismatches = 0;       // number of elements outside tolerance
  int64_t first_mismatch = -1;  // flat index, -1 when none or when dtype/shape differ
  std::string message;          // one line; empty when ok
};

// Compares dtype, shape and values. The message looks like
//   "dtype f32 != expected f64", "shape 2x3 != expected 3x2" or
//   "3 of 6 elements differ; first at [0, 2] (flat 2): got 1.5, expected 1.25 (|diff| 0.25 > tol
//   0.00125)".
CompareResult AllClose(const TensorView& actual, const TensorView& expected, double rtol,
                       double atol);

}  // namespace edgerun::test_util
