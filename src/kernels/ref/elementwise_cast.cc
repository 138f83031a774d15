// Cast and CastLike reference kernels: element conversion between every pair of f32, f64, f16,
// bf16, the integer types and bool.
//
// One loop is instantiated per (source, target) pair and picked in prepare. Conversions follow
// numpy: to bool is `!= 0`, integer narrowing wraps, float to integer truncates toward zero
// (NaN becomes 0 and out-of-range values saturate, where C++ would be undefined), f16 rounds to
// nearest even and bf16 truncates (see BFloat16ByTruncation).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {


namespace {



// Source element -> an arithmetic value (half types widen to float).
template <class S>
inline auto Widen(S v) {
  if constexpr (std::is_same_v<S, F16>) {
    return HalfToFloat(v.bits);
  } else if constexpr (std::is_same_v<S, BF16>) {
    return BFloat16ToFloat(v.bits);
  } else {
    return v;
  }
}

// Cast to bf16 keeps the top 16 bits of the float, as the ONNX reference implementation and its
// conformance data do (Cast leaves the rounding unspecified); NaN stays a quiet NaN even when its
// payload sits only in the dropped bits.
inline uint16_t BFloat16ByTruncation(float f) {
  if (std::isnan(f)) return 0x7fc0;
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return static_cast<uint16_t>(bits >> 16);
}

template <class To, class V>
inline To Convert(V v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != V(0);
  } else if constexpr (std::is_same_v<To, F16>) {
    return F16{FloatToHalf(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, BF16>) {
    return BF16{BFloat16ByTruncation(static_cast<float>(v))};
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<V>) {
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<V>(std::numeric_limits<To>::lowest())) {
      return std::numeric_limits<To>::lowest();
    }
    if (v >= static_cast<V>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);  // integer narrowing wraps (defined since C++20)
  }
}

using CastFn = void (*)(const void* in, void* out, int64_t n);

template <class From, class To>
void CastLoop(const void* in, void* out, int64_t n) {
  const From* x = static_cast<const From*>(in);
  To* y = static_cast<To*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = Convert<To>(Widen(x[i]));
}

void CopyLoop(const void* in, void* out, int64_t n) {
  // Same-type cast; n is in bytes here (see PrepareCast).
  if (in != out) std::memmove(out, in, static_cast<size_t>(n));
}

CastFn PickCast(DType from, DType to) {
  return VisitStorageType(from, [to](auto from_tag) -> CastFn {
    using From = typename decltype(from_tag)::type;
    if constexpr (std::is_void_v<From>) {
      return nullptr;
    } else {
      return VisitStorageType(to, [](auto to_tag) -> CastFn {
        using To = typename decltype(to_tag)::type;
        if constexpr (std::is_void_v<To>) {
          return nullptr;
        } else {
          return &CastLoop<From, To>;
        }
      });
    }
  });
}

struct CastState : KernelState {
  CastFn fn = nullptr;
  bool copy = false;
};

Status PrepareCast(PrepareContext& ctx) {
  auto state = std::make_unique<CastState>();
  const DType from = ctx.inputs[0].dtype, to = ctx.outputs[0].dtype;
  state->copy = from == to;
  state->fn = state->copy ? CopyLoop : PickCast(from, to);
  if (state->fn == nullptr) {
    return ctx.NotSupported("cast from " + std::string(DTypeName(from)) + " to " +
                            std::string(DTypeName(to)) + " is not supported");
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeCast(InvokeContext& ctx) {
  const auto& s = ctx.state_as<CastState>();
  const TensorView& out = ctx.outputs[0];
  s.fn(ctx.inputs[0].raw, out.raw, s.copy ? static_cast<int64_t>(out.bytes()) : out.num_elements());
  return Status::Ok();
}

inline constexpr DTypeSet kCastable = kNumericTypes | DTypeSet{DType::kBool};

constexpr KernelDef kKernels[] = {
    {"Cast", KernelPath::kReference, kCastable, nullptr, PrepareCast, InvokeCast},
    {"CastLike", KernelPath::kReference, kCastable, nullptr, PrepareCast, InvokeCast},
};

}  // namespace

std::span<const KernelDef> RefElementwiseCastKernels() { return kKernels; }

}  // namespace edgerun
