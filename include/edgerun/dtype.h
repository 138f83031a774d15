// Element types of edgerun tensors, plus fp16/bf16 bit conversions.
//
// DType is format-neutral: the ONNX and TFLite importers both map onto it.
// Usage:
//   size_t bytes = DTypeSize(DType::kF16) * count;
//   float f = HalfToFloat(bits);  uint16_t h = FloatToHalf(f);
//   Expected<DType> t = ParseDType("f32");
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "edgerun/status.h"

namespace edgerun {

enum class DType : uint8_t {
  kUndefined = 0,
  kF32,
  kF16,
  kBF16,
  kF64,
  kI8,
  kU8,
  kI16,
  kU16,
  kI32,
  kU32,
  kI64,
  kU64,
  kBool,  // one byte per element, 0 or 1
};

constexpr size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: case DType::kU32: return 4;
    case DType::kF16: case DType::kBF16: case DType::kI16: case DType::kU16: return 2;
    case DType::kF64: case DType::kI64: case DType::kU64: return 8;
    case DType::kI8: case DType::kU8: case DType::kBool: return 1;
    case DType::kUndefined: return 0;
  }
  return 0;
}

constexpr bool IsFloat(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64;
}
constexpr bool IsInteger(DType t) {
  return t == DType::kI8 || t == DType::kU8 || t == DType::kI16 || t == DType::kU16 ||
         t == DType::kI32 || t == DType::kU32 || t == DType::kI64 || t == DType::kU64;
}
// The 8-bit types of quantized tensors (QuantizeLinear's outputs, QLinear* activations).
constexpr bool IsQuantized(DType t) { return t == DType::kU8 || t == DType::kI8; }

// Short lower-case name: "f32", "i64", "bool".
std::string_view DTypeName(DType t);
// Accepts the short names and ONNX-style names ("float", "int64", "float16", "uint8").
Expected<DType> ParseDType(std::string_view name);

// A bit set of dtypes, used by kernel tables to say which element types a kernel handles.
class DTypeSet {
 public:
  constexpr DTypeSet() = default;
  constexpr DTypeSet(std::initializer_list<DType> types) {
    for (DType t : types) bits_ |= Bit(t);
  }
  static constexpr DTypeSet All() {
    DTypeSet s;
    s.bits_ = ~uint32_t{0};
    return s;
  }
  constexpr bool contains(DType t) const { return (bits_ & Bit(t)) != 0; }
  constexpr DTypeSet operator|(DTypeSet o) const {
    DTypeSet s;
    s.bits_ = bits_ | o.bits_;
    return s;
  }

 private:
  static constexpr uint32_t Bit(DType t) { return uint32_t{1} << static_cast<unsigned>(t); }
  uint32_t bits_ = 0;
};

inline constexpr DTypeSet kFloatTypes{DType::kF32, DType::kF16, DType::kBF16, DType::kF64};
inline constexpr DTypeSet kIntTypes{DType::kI8,  DType::kU8,  DType::kI16, DType::kU16,
                                    DType::kI32, DType::kU32, DType::kI64, DType::kU64};
inline constexpr DTypeSet kNumericTypes = kFloatTypes | kIntTypes;

// Element i of a buffer of dtype t, converted to double (bool -> 0/1). For slow generic paths:
// shape data, mixed-type ops and tests.
double LoadElementAsDouble(const void* data, DType t, int64_t i);
// Stores v as element i: floats round to nearest, integers truncate toward zero and saturate
// (NaN -> 0), bool is v != 0.
void StoreElementFromDouble(void* data, DType t, int64_t i, double v);

// IEEE binary16 <-> binary32, round to nearest even; NaN and Inf preserved.
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
// bfloat16 <-> binary32, round to nearest even.
inline float BFloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
uint16_t FloatToBFloat16(float f);

}  // namespace edgerun
