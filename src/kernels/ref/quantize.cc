// QuantizeLinear / DequantizeLinear reference kernels (part of the reduce family; listed by
// RefReduceKernels()).
//
// Quantize: q = saturate(round_half_to_even(x / scale) + zero_point), u8 or i8 (the zero point's
// dtype; u8 when it is omitted). Dequantize: y = (x - zero_point) * scale, in f32 like the ONNX
// reference. Scale and zero point are read at invoke time, so they may be runtime inputs; they
// are per-tensor, or per-axis (opset 13) with the input viewed as [outer, channels, inner].
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

#include "core/cpu_features.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

namespace {

struct QuantState : KernelState {
  // Per-tensor parameters use channels == 1 and inner == the element count.
  int64_t outer = 1, channels = 1, inner = 1;
};

Status PrepareQuant(PrepareContext& ctx) {
  auto state = std::make_unique<QuantState>();
  const TensorType& x = ctx.inputs[0];
  const TensorType& scale = ctx.inputs[1];
  const bool per_tensor = scale.num_elements() == 1 && scale.rank() <= 1;
  int axis = -1;
  if (!per_tensor) {
    ASSIGN_OR_RETURN(const int64_t axis_attr, ctx.node.GetInt("axis", 1));
    if (axis_attr < -x.rank() || axis_attr >= x.rank()) return ctx.Invalid("axis out of range");
    axis = static_cast<int>(axis_attr < 0 ? axis_attr + x.rank() : axis_attr);
  }
  for (int d = 0; d < x.rank(); ++d) {
    if (d < axis) state->outer *= x.dims[d];
    if (d == axis) state->channels = x.dims[d];
    if (d > axis) state->inner *= x.dims[d];
  }
  if (state->channels != scale.num_elements()) {
    return ctx.Invalid("scale has " + std::to_string(scale.num_elements()) + " entries, expected " +
                       std::to_string(state->channels));
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

// `zp` is nullptr when the zero point is omitted.
template <typename Q>
int32_t ZeroPoint(const TensorView* zp, int64_t c) {
  if (zp == nullptr) return 0;
  return zp->num_elements() == 1 ? zp->data<const Q>()[0] : zp->data<const Q>()[c];
}

// Round half to even using only truncating conversions, so the result does not depend on the
// FP rounding mode and the loop below vectorizes (SSE2). Needs |v| < 2^31.
inline int32_t RoundHalfEvenToInt(float v) {
  const int32_t i = static_cast<int32_t>(v);  // toward zero
  const float f = v - static_cast<float>(i);  // exact (Sterbenz), in (-1, 1)
  const int32_t odd = i & 1;
  return i + (f > 0.5f) - (f < -0.5f) + (f == 0.5f ? odd : 0) - (f == -0.5f ? odd : 0);
}

const TensorView* OptionalInput(const InvokeContext& ctx, size_t i) {
  return i < ctx.inputs.size() && ctx.inputs[i].raw != nullptr ? &ctx.inputs[i] : nullptr;
}

// Quantizes n values sharing one scale and zero point. Divides in f32 as the spec does (not a
// reciprocal multiply), so results match the ONNX reference bit for bit; then clamps to the
// representable range expressed in scale units, whose bounds are integers, so clamping before
// rounding equals saturating after it (and keeps the int conversion in range, +-inf included);
// then rounds half to even and adds the zero point. NaN maps to the zero point. Branch-free, so
// the loop vectorizes: the graph-input QuantizeLinear of a QDQ model is on the hot path.
template <typename X, typename Q>
[[gnu::always_inline]] inline void QuantizeRow(const X* __restrict x, int64_t n, float scale,
                                               int32_t zp, Q* __restrict y) {
  const float lo = static_cast<float>(std::numeric_limits<Q>::min() - zp);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max() - zp);
  for (int64_t i = 0; i < n; ++i) {
    float v = static_cast<float>(x[i]) / scale;
    v = v == v ? v : 0.0f;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    y[i] = static_cast<Q>(RoundHalfEvenToInt(v) + zp);
  }
}

// The library targets baseline x86-64 (SSE2); the same loop compiled for AVX-512 is picked at
// run time. Same operations, so the same bits.
#if defined(__x86_64__) && defined(__GNUC__)
template <typename X, typename Q>
[[gnu::target("avx512f,avx512bw,avx512vl,avx512dq")]] void QuantizeRowAvx512(const X* __restrict x,
                                                                             int64_t n, float scale,
                                                                             int32_t zp,
                                                                             Q* __restrict y) {
  QuantizeRow(x, n, scale, zp, y);
}
#endif

template <typename X, typename Q>
void RunQuantize(const QuantState& s, const X* x, const float* scale, const TensorView* zp, Q* y) {
#if defined(__x86_64__) && defined(__GNUC__)
  const bool avx512 = CpuHasAvx512();
#endif
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const int64_t start = (o * s.channels + c) * s.inner;
#if defined(__x86_64__) && defined(__GNUC__)
      if (avx512) {
        QuantizeRowAvx512(x + start, s.inner, scale[c], ZeroPoint<Q>(zp, c), y + start);
        continue;
      }
#endif
      QuantizeRow(x + start, s.inner, scale[c], ZeroPoint<Q>(zp, c), y + start);
    }
  }
}

Status InvokeQuantize(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QuantState>();
  const TensorView& x = ctx.inputs[0];
  const float* scale = ctx.inputs[1].data<const float>();
  const TensorView* zp = OptionalInput(ctx, 2);
  TensorView& y = ctx.outputs[0];
  auto run = [&](auto tag) {
    using X = typename decltype(tag)::type;
    if (y.dtype == DType::kU8) {
      RunQuantize<X, uint8_t>(s, x.data<const X>(), scale, zp, y.data<uint8_t>());
    } else if (y.dtype == DType::kI8) {
      RunQuantize<X, int8_t>(s, x.data<const X>(), scale, zp, y.data<int8_t>());
    } else {
      return ctx.Fail("unsupported output dtype " + std::string(DTypeName(y.dtype)));
    }
    return Status::Ok();
  };
  if (x.dtype == DType::kF32) return run(TypeTag<float>{});
  if (x.dtype == DType::kI32) return run(TypeTag<int32_t>{});
  return ctx.Fail("unsupported input dtype " + std::string(DTypeName(x.dtype)));
}

template <typename Q>
void RunDequantize(const QuantState& s, const Q* x, const float* scale, const TensorView* zp,
                   float* y) {
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float sc = scale[c];
      const float z = static_cast<float>(ZeroPoint<Q>(zp, c));
      const int64_t start = (o * s.channels + c) * s.inner;
      for (int64_t i = start; i < start + s.inner; ++i) {
        y[i] = (static_cast<float>(x[i]) - z) * sc;
      }
    }
  }
}

Status InvokeDequantize(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QuantState>();
  const TensorView& x = ctx.inputs[0];
  const float* scale = ctx.inputs[1].data<const float>();
  const TensorView* zp = OptionalInput(ctx, 2);
  float* y = ctx.outputs[0].data<float>();
  switch (x.dtype) {
    case DType::kU8:
      RunDequantize(s, x.data<const uint8_t>(), scale, zp, y);
      break;
    case DType::kI8:
      RunDequantize(s, x.data<const int8_t>(), scale, zp, y);
      break;
    case DType::kI32:
      RunDequantize(s, x.data<const int32_t>(), scale, zp, y);
      break;
    default:
      return ctx.Fail("unsupported input dtype " + std::string(DTypeName(x.dtype)));
  }
  return Status::Ok();
}

constexpr KernelDef kRefQuantizeKernels[] = {
    {"QuantizeLinear", KernelPath::kReference, DTypeSet{DType::kF32, DType::kI32}, nullptr,
     PrepareQuant, InvokeQuantize},
    {"DequantizeLinear", KernelPath::kReference, DTypeSet{DType::kU8, DType::kI8, DType::kI32},
     nullptr, PrepareQuant, InvokeDequantize},
};

}  // namespace

std::span<const KernelDef> RefQuantizeKernels() { return kRefQuantizeKernels; }

}  // namespace edgerun
