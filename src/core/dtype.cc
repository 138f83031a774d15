#include "edgerun/dtype.h"

#include <cmath>
#include <limits>
#include <string>

namespace edgerun {

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kUndefined: return "undefined";
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kF64: return "f64";
    case DType::kI8: return "i8";
    case DType::kU8: return "u8";
    case DType::kI16: return "i16";
    case DType::kU16: return "u16";
    case DType::kI32: return "i32";
    case DType::kU32: return "u32";
    case DType::kI64: return "i64";
    case DType::kU64: return "u64";
    case DType::kBool: return "bool";
  }
  return "undefined";
}

Expected<DType> ParseDType(std::string_view name) {
  struct Alias {
    std::string_view name;
    DType type;
  };
  static constexpr Alias kAliases[] = {
      {"f32", DType::kF32},   {"float", DType::kF32},    {"float32", DType::kF32},
      {"f16", DType::kF16},   {"float16", DType::kF16},  {"half", DType::kF16},
      {"bf16", DType::kBF16}, {"bfloat16", DType::kBF16}, {"f64", DType::kF64},
      {"double", DType::kF64}, {"float64", DType::kF64}, {"i8", DType::kI8},
      {"int8", DType::kI8},   {"u8", DType::kU8},        {"uint8", DType::kU8},
      {"i16", DType::kI16},   {"int16", DType::kI16},    {"u16", DType::kU16},
      {"uint16", DType::kU16}, {"i32", DType::kI32},     {"int32", DType::kI32},
      {"u32", DType::kU32},   {"uint32", DType::kU32},   {"i64", DType::kI64},
      {"int64", DType::kI64}, {"u64", DType::kU64},      {"uint64", DType::kU64},
      {"bool", DType::kBool},
  };
  for (const Alias& a : kAliases) {
    if (a.name == name) return a.type;
  }
  return InvalidArgument("unknown dtype '" + std::string(name) + "'");
}

double LoadElementAsDouble(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::kF32: return static_cast<const float*>(p)[i];
    case DType::kF64: return static_cast<const double*>(p)[i];
    case DType::kF16: return HalfToFloat(static_cast<const uint16_t*>(p)[i]);
    case DType::kBF16: return BFloat16ToFloat(static_cast<const uint16_t*>(p)[i]);
    case DType::kI8: return static_cast<const int8_t*>(p)[i];
    case DType::kU8: return static_cast<const uint8_t*>(p)[i];
    case DType::kI16: return static_cast<const int16_t*>(p)[i];
    case DType::kU16: return static_cast<const uint16_t*>(p)[i];
    case DType::kI32: return static_cast<const int32_t*>(p)[i];
    case DType::kU32: return static_cast<const uint32_t*>(p)[i];
    case DType::kI64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DType::kU64: return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    case DType::kBool: return static_cast<const uint8_t*>(p)[i] != 0 ? 1.0 : 0.0;
    case DType::kUndefined: return 0;
  }
  return 0;
}

namespace {
template <typename T>
T SaturateCast(double v) {
  if (std::isnan(v)) return T{0};
  constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
  constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (v <= lo) return std::numeric_limits<T>::lowest();
  if (v >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}
}  // namespace

void StoreElementFromDouble(void* p, DType t, int64_t i, double v) {
  switch (t) {
    case DType::kF32: static_cast<float*>(p)[i] = static_cast<float>(v); return;
    case DType::kF64: static_cast<double*>(p)[i] = v; return;
    case DType::kF16: static_cast<uint16_t*>(p)[i] = FloatToHalf(static_cast<float>(v)); return;
    case DType::kBF16:
      static_cast<uint16_t*>(p)[i] = FloatToBFloat16(static_cast<float>(v));
      return;
    case DType::kI8: static_cast<int8_t*>(p)[i] = SaturateCast<int8_t>(v); return;
    case DType::kU8: static_cast<uint8_t*>(p)[i] = SaturateCast<uint8_t>(v); return;
    case DType::kI16: static_cast<int16_t*>(p)[i] = SaturateCast<int16_t>(v); return;
    case DType::kU16: static_cast<uint16_t*>(p)[i] = SaturateCast<uint16_t>(v); return;
    case DType::kI32: static_cast<int32_t*>(p)[i] = SaturateCast<int32_t>(v); return;
    case DType::kU32: static_cast<uint32_t*>(p)[i] = SaturateCast<uint32_t>(v); return;
    case DType::kI64: static_cast<int64_t*>(p)[i] = SaturateCast<int64_t>(v); return;
    case DType::kU64: static_cast<uint64_t*>(p)[i] = SaturateCast<uint64_t>(v); return;
    case DType::kBool: static_cast<uint8_t*>(p)[i] = v != 0; return;
    case DType::kUndefined: return;
  }
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalize into a float exponent.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN
    return sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0);
  }
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to beyond max half -> Inf
  if (abs < 0x38800000u) {                          // result is subnormal or zero
    if (abs < 0x33000000u) return sign;             // below half of the smallest subnormal
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14..24
    // value = mant * 2^(exp-150) and the subnormal unit is 2^-24.
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return sign | static_cast<uint16_t>(h);
}

uint16_t FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

}  // namespace edgerun
