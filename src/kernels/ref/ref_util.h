// Small helpers shared by the reference kernels: dtype dispatch, broadcasting, fused activations.
//
// Usage:
//   return DispatchNumeric(in.dtype, [&](auto tag) {
//     using T = typename decltype(tag)::type;
//     ...; return Status::Ok();
//   }, ctx.node);
//   BroadcastIndexer idx(out.shape(), {a.shape(), b.shape()});  // then idx.Offsets(i, offs)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "core/unaligned.h"
#include "edgerun/dtype.h"
#include "edgerun/ir.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun {

// Element i of a u8 or s8 constant, widened (zero points).
inline int32_t QuantizedIntAt(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kU8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}

// Element i of an f32 constant (scales), at any alignment: a model file's raw data need not be
// aligned.
inline float FloatAt(const Tensor& t, int64_t i) {
  return LoadAnyAlignment<float>(t.UnalignedBytes(), i);
}

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<T>{}) for the C++ type of `dtype`. Supported: f32, f64, all integers, bool.
// f16/bf16 are not plain arithmetic types; kernels that accept them convert explicitly.
template <typename Fn>
Status DispatchNumeric(DType dtype, Fn&& fn, const Node& node) {
  switch (dtype) {
    case DType::kF32:
      return fn(TypeTag<float>{});
    case DType::kF64:
      return fn(TypeTag<double>{});
    case DType::kI8:
      return fn(TypeTag<int8_t>{});
    case DType::kU8:
      return fn(TypeTag<uint8_t>{});
    case DType::kI16:
      return fn(TypeTag<int16_t>{});
    case DType::kU16:
      return fn(TypeTag<uint16_t>{});
    case DType::kI32:
      return fn(TypeTag<int32_t>{});
    case DType::kU32:
      return fn(TypeTag<uint32_t>{});
    case DType::kI64:
      return fn(TypeTag<int64_t>{});
    case DType::kU64:
      return fn(TypeTag<uint64_t>{});
    case DType::kBool:
      return fn(TypeTag<bool>{});
    default:
      return Unsupported(node.Describe() + ": dtype " + std::string(DTypeName(dtype)) +
                         " is not supported by this kernel");
  }
}

// Calls fn(TypeTag<U>{}) with the unsigned integer type of an element size, for kernels that
// only move bytes (gather, transpose, concat...) and so serve every dtype of that size.
template <typename Fn>
Status DispatchBySize(size_t element_size, const Node& node, Fn&& fn) {
  switch (element_size) {
    case 1:
      return fn(TypeTag<uint8_t>{});
    case 2:
      return fn(TypeTag<uint16_t>{});
    case 4:
      return fn(TypeTag<uint32_t>{});
    case 8:
      return fn(TypeTag<uint64_t>{});
    default:
      return Unsupported(node.Describe() + ": element size " + std::to_string(element_size) +
                         " is not supported");
  }
}

// Storage types for half-precision elements, so typed loops can tell them from uint16_t.
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

// Calls f(TypeTag<S>{}) with the storage type of `t` (F16/BF16 for the half types), or
// f(TypeTag<void>{}) for kUndefined. Unlike DispatchNumeric, f may return any type (e.g. a
// function pointer chosen in prepare).
template <class F>
auto VisitStorageType(DType t, F&& f) {
  switch (t) {
    case DType::kF32:
      return f(TypeTag<float>{});
    case DType::kF64:
      return f(TypeTag<double>{});
    case DType::kF16:
      return f(TypeTag<F16>{});
    case DType::kBF16:
      return f(TypeTag<BF16>{});
    case DType::kI8:
      return f(TypeTag<int8_t>{});
    case DType::kU8:
      return f(TypeTag<uint8_t>{});
    case DType::kI16:
      return f(TypeTag<int16_t>{});
    case DType::kU16:
      return f(TypeTag<uint16_t>{});
    case DType::kI32:
      return f(TypeTag<int32_t>{});
    case DType::kU32:
      return f(TypeTag<uint32_t>{});
    case DType::kI64:
      return f(TypeTag<int64_t>{});
    case DType::kU64:
      return f(TypeTag<uint64_t>{});
    case DType::kBool:
      return f(TypeTag<bool>{});
    case DType::kUndefined:
      break;
  }
  return f(TypeTag<void>{});
}

// Maps a flat output index to the flat offsets of each broadcast input. Built in prepare or on
// the stack (no heap): all arrays are fixed size.
class BroadcastIndexer {
 public:
  static constexpr int kMaxInputs = 4;

  BroadcastIndexer() = default;
  // Inputs are right-aligned against `out` (numpy rules); dims of 1 get stride 0.
  BroadcastIndexer(std::span<const int64_t> out,
                   std::initializer_list<std::span<const int64_t>> ins) {
    rank_ = static_cast<int>(out.size());
    num_inputs_ = static_cast<int>(ins.size());
    for (int d = 0; d < rank_; ++d) out_dims_[d] = out[d];
    int k = 0;
    for (auto in : ins) {
      int64_t stride = 1;
      const int offset = rank_ - static_cast<int>(in.size());
      for (int d = rank_ - 1; d >= 0; --d) {
        const int id = d - offset;
        if (id < 0 || in[id] == 1) {
          strides_[k][d] = 0;
        } else {
          strides_[k][d] = stride;
        }
        if (id >= 0) stride *= in[id];
      }
      ++k;
    }
  }
  int num_inputs() const { return num_inputs_; }
  // offsets[k] = flat offset into input k for flat output index `i`.
  void Offsets(int64_t i, int64_t* offsets) const {
    for (int k = 0; k < num_inputs_; ++k) offsets[k] = 0;
    for (int d = rank_ - 1; d >= 0; --d) {
      const int64_t coord = i % out_dims_[d];
      i /= out_dims_[d];
      for (int k = 0; k < num_inputs_; ++k) offsets[k] += coord * strides_[k][d];
    }
  }

 private:
  int rank_ = 0;
  int num_inputs_ = 0;
  int64_t out_dims_[kMaxRank] = {};
  int64_t strides_[kMaxInputs][kMaxRank] = {};
};

// An activation fused into a producer (Conv, Gemm, FusedMatMul) by the fusion pass. Stored on
// the node as attributes "activation" (string) and "activation_params" (floats).
struct FusedActivation {
  enum class Kind : uint8_t {
    kNone,
    kRelu,
    kClip,
    kLeakyRelu,
    kHardSigmoid,
    kHardSwish,
    kSigmoid,
    kSiLU,
    kTanh
  };
  Kind kind = Kind::kNone;
  float a = 0, b = 0;  // Clip: min,max. LeakyRelu: alpha. HardSigmoid: alpha,beta.
  // Then y * scale + shift (attribute "activation_affine" = [scale, shift]): a Mul and Add by
  // scalar constants after the activation, as PP-LCNet's learnable affine blocks write them.
  float scale = 1, shift = 0;

  // From the node's "activation", "activation_params" and "activation_affine" attributes, or
  // from those names with `prefix` in front (ExpandDepthwiseConv's "expand_activation"...).
  static Expected<FusedActivation> FromNode(const Node& node, std::string_view prefix = "");

  bool has_affine() const { return scale != 1.0f || shift != 0.0f; }
  bool is_identity() const { return kind == Kind::kNone && !has_affine(); }
  bool operator==(const FusedActivation&) const = default;

  float Apply(float x) const {
    const float y = ApplyActivation(x);
    return has_affine() ? y * scale + shift : y;
  }
  void ApplyInPlace(float* data, int64_t n) const {
    if (is_identity()) return;
    for (int64_t i = 0; i < n; ++i) data[i] = Apply(data[i]);
  }

 private:
  float ApplyActivation(float x) const {
    switch (kind) {
      case Kind::kNone:
        return x;
      case Kind::kRelu:
        return x > 0 ? x : 0;
      case Kind::kClip:
        return std::min(std::max(x, a), b);
      case Kind::kLeakyRelu:
        return x >= 0 ? x : a * x;
      case Kind::kHardSigmoid:
        return std::max(0.0f, std::min(1.0f, a * x + b));
      case Kind::kHardSwish:
        return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
      case Kind::kSigmoid:
        return 1.0f / (1.0f + std::exp(-x));
      case Kind::kSiLU:
        return x / (1.0f + std::exp(-x));
      case Kind::kTanh:
        return std::tanh(x);
    }
    return x;
  }
};

}  // namespace edgerun
