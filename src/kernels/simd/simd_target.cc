// SimdTarget (simd_target.h). Compiled once per SIMD target (foreach_target re-includes it), so
// that Highway's dispatch picks the same target here as in the kernels.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/simd_target.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include "kernels/simd/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {

const char* SimdTargetImpl() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgerun {
namespace internal {
HWY_EXPORT(SimdTargetImpl);
}  // namespace internal

const char* SimdTarget() { return HWY_DYNAMIC_DISPATCH(internal::SimdTargetImpl)(); }

}  // namespace edgerun
#endif  // HWY_ONCE
