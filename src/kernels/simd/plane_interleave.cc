// Highway kernel of plane_interleave.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper and the kernel definition.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/plane_interleave.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <cstdint>
#include <cstring>

#include "kernels/simd/plane_interleave.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <typename T>
void InterleaveTyped(const T* in, int channels, size_t plane_size, T* out) {
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  // Plane pointers only for the planes that exist (one past the end would be out of bounds).
  const T* c0 = in;
  const T* c1 = in + plane_size;
  const T* c2 = channels > 2 ? in + 2 * plane_size : in;
  const T* c3 = channels > 3 ? in + 3 * plane_size : in;
  size_t p = 0;
  if (channels == 2) {
    for (; p + lanes <= plane_size; p += lanes) {
      hn::StoreInterleaved2(hn::LoadU(d, c0 + p), hn::LoadU(d, c1 + p), d, out + 2 * p);
    }
  } else if (channels == 3) {
    for (; p + lanes <= plane_size; p += lanes) {
      hn::StoreInterleaved3(hn::LoadU(d, c0 + p), hn::LoadU(d, c1 + p), hn::LoadU(d, c2 + p), d,
                            out + 3 * p);
    }
  } else {
    for (; p + lanes <= plane_size; p += lanes) {
      hn::StoreInterleaved4(hn::LoadU(d, c0 + p), hn::LoadU(d, c1 + p), hn::LoadU(d, c2 + p),
                            hn::LoadU(d, c3 + p), d, out + 4 * p);
    }
  }
  for (; p < plane_size; ++p) {
    for (int c = 0; c < channels; ++c) out[p * channels + c] = in[c * plane_size + p];
  }
}

void InterleavePlanesImpl(const void* in, int channels, size_t plane_size, size_t element_bytes,
                          void* out) {
  if (element_bytes == 4) {
    // Bits are moved, not values: uint32 lanes carry floats and int32 alike.
    InterleaveTyped(static_cast<const uint32_t*>(in), channels, plane_size,
                    static_cast<uint32_t*>(out));
  } else {
    InterleaveTyped(static_cast<const uint8_t*>(in), channels, plane_size,
                    static_cast<uint8_t*>(out));
  }
}

const char* TargetNameImpl() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgerun {
namespace internal {
HWY_EXPORT(InterleavePlanesImpl);
HWY_EXPORT(TargetNameImpl);
}  // namespace internal

void InterleavePlanes(const void* in, int channels, size_t plane_size, size_t element_bytes,
                      void* out) {
  HWY_DYNAMIC_DISPATCH(internal::InterleavePlanesImpl)
  (in, channels, plane_size, element_bytes, out);
}

const char* InterleavePlanesTarget() { return HWY_DYNAMIC_DISPATCH(internal::TargetNameImpl)(); }

namespace {

struct PlaneInterleaveState : KernelState {
  int64_t batch = 0, channels = 0;
  size_t plane_size = 0, element_bytes = 0;
  std::string name;
  std::string_view implementation() const override { return name; }
};

bool SupportsPlaneInterleave(const SupportContext& ctx) {
  if (ctx.inputs.size() != 1 || ctx.outputs.size() != 1) return false;
  const TensorType& in = ctx.inputs[0];
  if (in.rank() != 4 || in.dims[1] < 2 || in.dims[1] > 4) return false;
  const size_t element_bytes = DTypeSize(in.dtype);
  if (element_bytes != 1 && element_bytes != 4) return false;
  Expected<std::vector<int64_t>> perm = ctx.node.GetInts("perm", {});
  return perm.ok() && *perm == std::vector<int64_t>{0, 2, 3, 1};
}

Status PreparePlaneInterleave(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  auto state = std::make_unique<PlaneInterleaveState>();
  state->batch = in.dims[0];
  state->channels = in.dims[1];
  state->plane_size = static_cast<size_t>(in.dims[2] * in.dims[3]);
  state->element_bytes = DTypeSize(in.dtype);
  state->name = std::string("interleave:") + InterleavePlanesTarget();
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokePlaneInterleave(InvokeContext& ctx) {
  const auto& s = ctx.state_as<PlaneInterleaveState>();
  const size_t image_bytes = static_cast<size_t>(s.channels) * s.plane_size * s.element_bytes;
  const auto* in = static_cast<const uint8_t*>(ctx.inputs[0].raw);
  auto* out = static_cast<uint8_t*>(ctx.outputs[0].raw);
  for (int64_t n = 0; n < s.batch; ++n) {
    InterleavePlanes(in + n * image_bytes, static_cast<int>(s.channels), s.plane_size,
                     s.element_bytes, out + n * image_bytes);
  }
  return Status::Ok();
}

}  // namespace

KernelDef PlaneInterleaveTransposeKernel(KernelPath path) {
  constexpr DTypeSet kTypes{DType::kF32, DType::kI32, DType::kU32, DType::kU8, DType::kI8};
  return {"Transpose",          path, kTypes, SupportsPlaneInterleave, PreparePlaneInterleave,
          InvokePlaneInterleave};
}

}  // namespace edgerun
#endif  // HWY_ONCE
