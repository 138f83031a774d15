// Highway kernel of quantize.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper and the kernel definition.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/quantize.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "kernels/openmp_shares.h"
#include "kernels/simd/quantize.h"
#include "kernels/simd/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One vector: the reference's operations in its order (kernels/ref/quantize.cc). The spec's
// x / scale is a division, 8-16x the cost of a multiply; x * (1 / scale) is within 3 float
// rounding steps of it (relative 2^-22), so where every lane of the product lies farther than
// |x / scale| * 2^-21 from a half-integer, both round to the same integer, and only vectors with a
// lane that close (or NaN, infinite or huge) divide. `reciprocal` is NaN when 1 / scale is not a
// normal float: every vector divides.
template <class D, class DQ>
HWY_INLINE void QuantizeVector(D d, DQ dq, const float* x, hn::Vec<D> scale, hn::Vec<D> reciprocal,
                               hn::Vec<D> lo, hn::Vec<D> hi, hn::Vec<hn::RebindToSigned<D>> zp,
                               hn::TFromD<DQ>* y) {
  const hn::Vec<D> in = hn::LoadU(d, x);
  hn::Vec<D> v = hn::Mul(in, reciprocal);
  const auto to_half = hn::Abs(hn::Sub(v, hn::Add(hn::Floor(v), hn::Set(d, 0.5f))));
  const auto margin = hn::Mul(hn::Abs(v), hn::Set(d, 1.0f / (1 << 21)));
  if (!hn::AllTrue(d, hn::Gt(to_half, margin))) v = hn::Div(in, scale);
  v = hn::IfThenZeroElse(hn::IsNaN(v), v);
  v = hn::Min(hn::Max(v, lo), hi);
  // Round is ties-to-even whatever the MXCSR/FPCR mode; v is an integer in range after it.
  const auto q = hn::Add(hn::ConvertTo(hn::RebindToSigned<D>(), hn::Round(v)), zp);
  hn::StoreU(hn::DemoteTo(dq, q), dq, y);
}

template <typename Q>
void QuantizeTyped(const float* x, size_t n, float scale, int32_t zero_point, Q* y) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<Q, decltype(d)> dq;
  const size_t lanes = hn::Lanes(d);
  const auto vscale = hn::Set(d, scale);
  const float reciprocal = 1.0f / scale;
  const auto vreciprocal =
      hn::Set(d, std::isnormal(reciprocal) ? reciprocal : std::numeric_limits<float>::quiet_NaN());
  const auto lo = hn::Set(d, static_cast<float>(std::numeric_limits<Q>::min() - zero_point));
  const auto hi = hn::Set(d, static_cast<float>(std::numeric_limits<Q>::max() - zero_point));
  const auto zp = hn::Set(hn::RebindToSigned<decltype(d)>(), zero_point);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    QuantizeVector(d, dq, x + i, vscale, vreciprocal, lo, hi, zp, y + i);
  if (i == n) return;
  // The tail through a vector-sized buffer (its padding quantizes to values not stored).
  HWY_ALIGN float in_tail[HWY_MAX_BYTES / sizeof(float)] = {};
  HWY_ALIGN Q out_tail[HWY_MAX_BYTES / sizeof(float)] = {};
  std::memcpy(in_tail, x + i, (n - i) * sizeof(float));
  QuantizeVector(d, dq, in_tail, vscale, vreciprocal, lo, hi, zp, out_tail);
  std::memcpy(y + i, out_tail, (n - i) * sizeof(Q));
}

void QuantizeF32Impl(const float* x, size_t n, float scale, int32_t zero_point, bool to_u8,
                     void* y) {
  if (to_u8) {
    QuantizeTyped(x, n, scale, zero_point, static_cast<uint8_t*>(y));
  } else {
    QuantizeTyped(x, n, scale, zero_point, static_cast<int8_t*>(y));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgerun {
namespace internal {
HWY_EXPORT(QuantizeF32Impl);
}  // namespace internal

void QuantizeF32(const float* x, size_t n, float scale, int32_t zero_point, DType out_type,
                 void* y) {
  HWY_DYNAMIC_DISPATCH(internal::QuantizeF32Impl)
  (x, n, scale, zero_point, out_type == DType::kU8, y);
}

namespace {

struct QuantizeState : KernelState {
  std::string name = std::string("quantize:") + SimdTarget();
  size_t n = 0;
  int threads = 1;  // OpenMP threads splitting the values (the oneDNN path only)
  std::string_view implementation() const override { return name; }
};

bool SupportsFastQuantize(const SupportContext& ctx) {
  if (ctx.inputs.size() < 2 || ctx.outputs.size() != 1) return false;
  const TensorType& x = ctx.inputs[0];
  const TensorType& scale = ctx.inputs[1];
  const DType out = ctx.outputs[0].dtype;
  if (x.dtype != DType::kF32 || scale.dtype != DType::kF32 || scale.num_elements() != 1 ||
      scale.rank() > 1 || (out != DType::kU8 && out != DType::kI8)) {
    return false;
  }
  // The zero point, when present, is one value of the output's type.
  if (ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined) {
    const TensorType& zp = ctx.inputs[2];
    if (zp.dtype != out || zp.num_elements() != 1 || zp.rank() > 1) return false;
  }
  return true;
}

Status PrepareFastQuantize(PrepareContext& ctx) {
  auto state = std::make_unique<QuantizeState>();
  state->n = static_cast<size_t>(ctx.inputs[0].num_elements());
  ctx.state = std::move(state);
  return Status::Ok();
}

Status PrepareFastQuantizeOnOpenMp(PrepareContext& ctx) {
  RETURN_IF_ERROR(PrepareFastQuantize(ctx));
  auto& s = static_cast<QuantizeState&>(*ctx.state);
  s.threads = ThreadsToShare(s.n * sizeof(float), ctx.share_every_layer, ctx.num_threads);
  return Status::Ok();
}

Status InvokeFastQuantize(InvokeContext& ctx) {
  const auto& s = ctx.state_as<QuantizeState>();
  const float* x = ctx.inputs[0].data<const float>();
  const float scale = ctx.inputs[1].data<const float>()[0];
  const TensorView& y = ctx.outputs[0];
  int32_t zero_point = 0;
  if (ctx.inputs.size() > 2 && ctx.inputs[2].raw != nullptr) {
    zero_point = y.dtype == DType::kU8 ? ctx.inputs[2].data<const uint8_t>()[0]
                                       : ctx.inputs[2].data<const int8_t>()[0];
  }
  auto* out = static_cast<uint8_t*>(y.raw);
  // Shares of 64 values: no two threads write the same cache line.
  ForEachShare(s.n, s.threads, 64, [&](size_t begin, size_t end) {
    QuantizeF32(x + begin, end - begin, scale, zero_point, y.dtype, out + begin);
  });
  return Status::Ok();
}

}  // namespace

KernelDef FastQuantizeLinearKernel(KernelPath path) {
  return {"QuantizeLinear",
          path,
          DTypeSet{DType::kF32},
          SupportsFastQuantize,
          path == KernelPath::kOnednn ? PrepareFastQuantizeOnOpenMp : PrepareFastQuantize,
          InvokeFastQuantize};
}

}  // namespace edgerun
#endif  // HWY_ONCE
