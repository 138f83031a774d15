// Highway kernel of silu.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/silu.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>

#include "kernels/simd/silu.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// exp(-x) for -x in [-87, 88]: -x = n ln2 + f with |f| <= ln2 / 2 (ln2 in two parts, so that f
// is exact), e^f by a polynomial of degree 5 fitted to the minimum largest relative error on that
// interval (1.1e-7; 1.8e-7 evaluated in float), and 2^n built in the exponent bits. n is rounded by
// adding 1.5 * 2^23, which leaves n + 0x4B400000 in the sum's bits, whose low bits shifted into the
// exponent field give 2^n: no round instruction and no checked float-to-int conversion. On the
// Intel Xeon the pass went from 0.44 to 0.31 ns per element with this and the degree-5 polynomial
// (Taylor's needs degree 6); hwy's Exp is more general, and took 0.47 ns on Zen 4 where this
// function's first version took 0.32.
template <class D, class V>
HWY_INLINE V ExpOfNegated(D d, V x) {
  const V round_magic = hn::Set(d, 12582912.0f);  // 1.5 * 2^23
  const V shifted = hn::NegMulAdd(x, hn::Set(d, 1.44269504088896341f), round_magic);
  const V n = hn::Sub(shifted, round_magic);
  // g = -f = x + n ln2, and e^f as a polynomial in g with the odd coefficients negated.
  V g = hn::MulAdd(n, hn::Set(d, 0.693359375f), x);
  g = hn::MulAdd(n, hn::Set(d, -2.12194440054690583e-4f), g);
  V p = hn::Set(d, -8.312525228e-3f);
  p = hn::MulAdd(p, g, hn::Set(d, 4.189011455e-2f));
  p = hn::MulAdd(p, g, hn::Set(d, -1.666711420e-1f));
  p = hn::MulAdd(p, g, hn::Set(d, 4.999923110e-1f));
  p = hn::MulAdd(p, g, hn::Set(d, -1.0f));
  p = hn::MulAdd(p, g, hn::Set(d, 1.0f));
  // (bits + 127) << 23 keeps the low 9 bits of n + 127 (1..254 for x in range): 2^n.
  const hn::RebindToSigned<D> di;
  const auto biased = hn::Add(hn::BitCast(di, shifted), hn::Set(di, 127));
  return hn::Mul(p, hn::BitCast(d, hn::ShiftLeft<23>(biased)));
}

// 1 / (1 + exp(-x)), with -x clamped to [-87, 88]: above, 1 + exp(-x) is 1 in float (x > 87);
// below (x < -88) the exact value is under 1e-38, and the caller sets the result to zero.
template <class D, class V>
HWY_INLINE V SigmoidUnclampedBelow(D d, V x) {
  const V clamped = hn::Min(hn::Max(x, hn::Set(d, -88.0f)), hn::Set(d, 87.0f));
  const V a = hn::Add(hn::Set(d, 1.0f), ExpOfNegated(d, clamped));
  // 1 / a: the approximate reciprocal (12 or 14 bits) and one Newton step, r * (2 - a * r).
  const V r0 = hn::ApproximateReciprocal(a);
  return hn::Mul(r0, hn::NegMulAdd(a, r0, hn::Set(d, 2.0f)));
}

template <class D, class V>
HWY_INLINE V SiLUVector(D d, V x) {
  return hn::IfThenZeroElse(hn::Lt(x, hn::Set(d, -88.0f)), hn::Mul(x, SigmoidUnclampedBelow(d, x)));
}

// A NaN passes through (the clamp alone would turn it into a bound's value).
template <class D, class V>
HWY_INLINE V SigmoidVector(D d, V x) {
  const V y = hn::IfThenZeroElse(hn::Lt(x, hn::Set(d, -88.0f)), SigmoidUnclampedBelow(d, x));
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

// y[i] = f(y[i]) for i < n, a vector at a time.
template <class Fn>
HWY_INLINE void MapInPlace(float* y, size_t n, Fn&& f) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(f(d, hn::LoadU(d, y + i)), d, y + i);
  if (i < n) {  // the tail through a full vector on the stack: no access past y + n
    HWY_ALIGN float tail[HWY_MAX_BYTES / sizeof(float)] = {};
    std::copy(y + i, y + n, tail);
    hn::Store(f(d, hn::Load(d, tail)), d, tail);
    std::copy(tail, tail + (n - i), y + i);
  }
}

void SiLUInPlaceImpl(float* y, size_t n) {
  MapInPlace(y, n, [](auto d, auto x) { return SiLUVector(d, x); });
}

void SigmoidInPlaceImpl(float* y, size_t n) {
  MapInPlace(y, n, [](auto d, auto x) { return SigmoidVector(d, x); });
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgerun {
namespace internal {
HWY_EXPORT(SiLUInPlaceImpl);
HWY_EXPORT(SigmoidInPlaceImpl);
}  // namespace internal

void SiLUInPlace(float* y, size_t n) { HWY_DYNAMIC_DISPATCH(internal::SiLUInPlaceImpl)(y, n); }

void SigmoidInPlace(float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(internal::SigmoidInPlaceImpl)(y, n);
}

void ApplyActivationInPlace(const FusedActivation& act, float* y, size_t n) {
  if (act.has_affine() ||
      (act.kind != FusedActivation::Kind::kSiLU && act.kind != FusedActivation::Kind::kSigmoid)) {
    act.ApplyInPlace(y, static_cast<int64_t>(n));
  } else if (act.kind == FusedActivation::Kind::kSiLU) {
    SiLUInPlace(y, n);
  } else {
    SigmoidInPlace(y, n);
  }
}

}  // namespace edgerun
#endif  // HWY_ONCE
