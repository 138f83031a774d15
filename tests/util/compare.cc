#include "util/compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace edgerun::test_util {
namespace {

double ElementAsDouble(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32:
      return t.data<const float>()[i];
    case DType::kF64:
      return t.data<const double>()[i];
    case DType::kF16:
      return HalfToFloat(t.data<const uint16_t>()[i]);
    case DType::kBF16:
      return BFloat16ToFloat(t.data<const uint16_t>()[i]);
    case DType::kI8:
      return t.data<const int8_t>()[i];
    case DType::kU8:
      return t.data<const uint8_t>()[i];
    case DType::kI16:
      return t.data<const int16_t>()[i];
    case DType::kU16:
      return t.data<const uint16_t>()[i];
    case DType::kI32:
      return t.data<const int32_t>()[i];
    case DType::kU32:
      return t.data<const uint32_t>()[i];
    case DType::kI64:
      return static_cast<double>(t.data<const int64_t>()[i]);
    case DType::kU64:
      return static_cast<double>(t.data<const uint64_t>()[i]);
    case DType::kBool:
      return t.data<const uint8_t>()[i] != 0 ? 1.0 : 0.0;
    case DType::kUndefined:
      return 0;
  }
  return 0;
}

// Integers (and bools) compare bit-exactly through their raw bytes, widened to 64 bits.
bool ExactEqual(const TensorView& a, const TensorView& b, int64_t i) {
  const size_t size = DTypeSize(a.dtype);
  const auto* pa = static_cast<const unsigned char*>(a.raw) + static_cast<size_t>(i) * size;
  const auto* pb = static_cast<const unsigned char*>(b.raw) + static_cast<size_t>(i) * size;
  if (a.dtype == DType::kBool) return (*pa != 0) == (*pb != 0);
  return std::memcmp(pa, pb, size) == 0;
}

std::string IntElementString(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DType::kI64:
      return std::to_string(t.data<const int64_t>()[i]);
    case DType::kU64:
      return std::to_string(t.data<const uint64_t>()[i]);
    default:
      return fmt::format("{}", ElementAsDouble(t, i));
  }
}

std::vector<int64_t> Unflatten(std::span<const int64_t> dims, int64_t flat) {
  std::vector<int64_t> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    if (dims[d] > 0) {
      idx[d] = flat % dims[d];
      flat /= dims[d];
    }
  }
  return idx;
}

}  // namespace

std::vector<double> ToDoubles(const TensorView& t) {
  std::vector<double> out;
  if (t.dtype == DType::kUndefined || t.raw == nullptr) return out;
  const int64_t n = t.num_elements();
  out.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = ElementAsDouble(t, i);
  return out;
}

double CosineSimilarity(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return std::nan("");
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (std::isnan(dot) || std::isnan(na) || std::isnan(nb)) return std::nan("");
  if (na == 0 && nb == 0) return 1.0;
  if (na == 0 || nb == 0) return 0.0;
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

double MaxAbsError(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return std::nan("");
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    if (std::isnan(d)) return d;
    m = std::max(m, d);
  }
  return m;
}

double MaxAbs(std::span<const double> a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::fabs(v));
  return m;
}

CompareResult AllClose(const TensorView& actual, const TensorView& expected, double rtol,
                       double atol) {
  CompareResult r;
  if (actual.dtype != expected.dtype) {
    r.message =
        fmt::format("dtype {} != expected {}", DTypeName(actual.dtype), DTypeName(expected.dtype));
    return r;
  }
  if (actual.rank != expected.rank ||
      !std::equal(actual.dims, actual.dims + actual.rank, expected.dims)) {
    r.message = fmt::format("shape {} != expected {}", DimsToString(actual.shape()),
                            DimsToString(expected.shape()));
    return r;
  }
  const int64_t n = expected.num_elements();
  if (n > 0 && (actual.raw == nullptr || expected.raw == nullptr)) {
    r.message = "tensor has no data";
    return r;
  }
  const bool exact = !IsFloat(expected.dtype);
  std::string first;
  for (int64_t i = 0; i < n; ++i) {
    bool close;
    double a = 0, e = 0;
    if (exact) {
      close = ExactEqual(actual, expected, i);
    } else {
      a = ElementAsDouble(actual, i);
      e = ElementAsDouble(expected, i);
      if (std::isnan(a) || std::isnan(e)) {
        close = std::isnan(a) && std::isnan(e);
      } else if (std::isinf(a) || std::isinf(e)) {
        close = a == e;
      } else {
        close = std::fabs(a - e) <= atol + rtol * std::fabs(e);
      }
    }
    if (close) continue;
    if (r.mismatches++ == 0) {
      r.first_mismatch = i;
      const std::string where =
          fmt::format("[{}] (flat {})", fmt::join(Unflatten(expected.shape(), i), ", "), i);
      if (exact) {
        first = fmt::format("first at {}: got {}, expected {}", where, IntElementString(actual, i),
                            IntElementString(expected, i));
      } else {
        first = fmt::format("first at {}: got {:.9g}, expected {:.9g} (|diff| {:.3g} > tol {:.3g})",
                            where, a, e, std::fabs(a - e), atol + rtol * std::fabs(e));
      }
    }
  }
  r.ok = r.mismatches == 0;
  if (!r.ok) r.message = fmt::format("{} of {} elements differ; {}", r.mismatches, n, first);
  return r;
}

}  // namespace edgerun::test_util
