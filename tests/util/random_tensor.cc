#include "util/random_tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

namespace edgerun::testing {

double ElementAt(const Tensor& t, int64_t i) {
  if (t.empty()) std::abort();  // a test asked for an element of an empty tensor
  return LoadElementAsDouble(t.raw(), t.dtype(), i);
}

void SetElement(Tensor& t, int64_t i, double v) {
  void* p = t.mutable_raw();
  const double f = std::floor(v);
  switch (t.dtype()) {
    case DType::kF32:
      static_cast<float*>(p)[i] = static_cast<float>(v);
      return;
    case DType::kF64:
      static_cast<double*>(p)[i] = v;
      return;
    case DType::kF16:
      static_cast<uint16_t*>(p)[i] = FloatToHalf(static_cast<float>(v));
      return;
    case DType::kBF16:
      static_cast<uint16_t*>(p)[i] = FloatToBFloat16(static_cast<float>(v));
      return;
    case DType::kI8:
      static_cast<int8_t*>(p)[i] = static_cast<int8_t>(f);
      return;
    case DType::kU8:
      static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(f);
      return;
    case DType::kI16:
      static_cast<int16_t*>(p)[i] = static_cast<int16_t>(f);
      return;
    case DType::kU16:
      static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(f);
      return;
    case DType::kI32:
      static_cast<int32_t*>(p)[i] = static_cast<int32_t>(f);
      return;
    case DType::kU32:
      static_cast<uint32_t*>(p)[i] = static_cast<uint32_t>(f);
      return;
    case DType::kI64:
      static_cast<int64_t*>(p)[i] = static_cast<int64_t>(f);
      return;
    case DType::kU64:
      static_cast<uint64_t*>(p)[i] = static_cast<uint64_t>(f);
      return;
    case DType::kBool:
      static_cast<uint8_t*>(p)[i] = v != 0 ? 1 : 0;
      return;
    case DType::kUndefined:
      break;
  }
  std::abort();
}

Tensor RandomTensor(DType dtype, std::vector<int64_t> dims, uint32_t seed, double lo, double hi) {
  Expected<Tensor> created = Tensor::Create(dtype, std::move(dims));
  if (!created.ok()) std::abort();  // bad test input: dims or dtype
  Tensor t = std::move(created).value();
  std::mt19937 rng(seed);
  const bool is_bool = dtype == DType::kBool;
  // Integers: draw from [lo, hi + 1) and floor, so both integer bounds are reachable.
  std::uniform_real_distribution<double> dist(is_bool ? 0.0 : lo,
                                              IsInteger(dtype) ? hi + 1.0 : (is_bool ? 1.0 : hi));
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    double v = dist(rng);
    if (IsInteger(dtype)) v = std::min(std::floor(v), hi);
    if (is_bool) v = v >= 0.5 ? 1.0 : 0.0;
    SetElement(t, i, v);
  }
  return t;
}

Tensor TensorFromDoubles(DType dtype, std::vector<int64_t> dims,
                         const std::vector<double>& values) {
  Expected<Tensor> created = Tensor::Create(dtype, std::move(dims));
  if (!created.ok() || created->num_elements() != static_cast<int64_t>(values.size())) {
    std::abort();  // bad test input
  }
  Tensor t = std::move(created).value();
  for (size_t i = 0; i < values.size(); ++i) SetElement(t, static_cast<int64_t>(i), values[i]);
  return t;
}

}  // namespace edgerun::testing
