// Highway kernel of global_pool.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper and the kernel.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/global_pool.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>

#include "kernels/simd/global_pool.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kPixelBlock = 256;

void AddChannelSumsImpl(const float* x, size_t pixels, size_t channels, float* sums) {
  const hn::ScalableTag<float> d;
  const size_t n = hn::Lanes(d);
  size_t c = 0;
  // Four vectors of channels at a time, their block sums in registers.
  for (; c + 4 * n <= channels; c += 4 * n) {
    for (size_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
      const size_t p1 = std::min(pixels, p0 + kPixelBlock);
      auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
      const float* row = x + p0 * channels + c;
      for (size_t p = p0; p < p1; ++p, row += channels) {
        a0 = hn::Add(a0, hn::LoadU(d, row));
        a1 = hn::Add(a1, hn::LoadU(d, row + n));
        a2 = hn::Add(a2, hn::LoadU(d, row + 2 * n));
        a3 = hn::Add(a3, hn::LoadU(d, row + 3 * n));
      }
      float* s = sums + c;
      hn::StoreU(hn::Add(hn::LoadU(d, s), a0), d, s);
      hn::StoreU(hn::Add(hn::LoadU(d, s + n), a1), d, s + n);
      hn::StoreU(hn::Add(hn::LoadU(d, s + 2 * n), a2), d, s + 2 * n);
      hn::StoreU(hn::Add(hn::LoadU(d, s + 3 * n), a3), d, s + 3 * n);
    }
  }
  for (; c + n <= channels; c += n) {
    for (size_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
      const size_t p1 = std::min(pixels, p0 + kPixelBlock);
      auto a = hn::Zero(d);
      for (size_t p = p0; p < p1; ++p) a = hn::Add(a, hn::LoadU(d, x + p * channels + c));
      hn::StoreU(hn::Add(hn::LoadU(d, sums + c), a), d, sums + c);
    }
  }
  // Channels past the last full vector (none for the usual multiples of 16).
  for (; c < channels; ++c) {
    for (size_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
      const size_t p1 = std::min(pixels, p0 + kPixelBlock);
      float a = 0.0f;
      for (size_t p = p0; p < p1; ++p) a += x[p * channels + c];
      sums[c] += a;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cstring>
#include <memory>
#include <string>

#include "kernels/openmp_shares.h"
#include "kernels/simd/simd_target.h"

namespace edgerun {
namespace internal {
HWY_EXPORT(AddChannelSumsImpl);
}  // namespace internal

void AddChannelSums(const float* x, size_t pixels, size_t channels, float* sums) {
  HWY_DYNAMIC_DISPATCH(internal::AddChannelSumsImpl)(x, pixels, channels, sums);
}

namespace {

struct GlobalPoolState : KernelState {
  std::string name = std::string("global_average:") + SimdTarget();
  size_t batch = 0, pixels = 0, channels = 0;
  int threads = 1;  // OpenMP threads splitting the pixels (the oneDNN path only)
  std::string_view implementation() const override { return name; }
};

// Floats from one thread's sums to the next's: a multiple of 16 (64 bytes).
size_t ThreadSumsStride(const GlobalPoolState& s) { return (s.batch * s.channels + 15) / 16 * 16; }

bool SupportsFastGlobalAveragePool(const SupportContext& ctx) {
  if (ctx.inputs.empty() || ctx.outputs.size() != 1) return false;
  const TensorType& x = ctx.inputs[0];
  const TensorType& y = ctx.outputs[0];
  return x.dtype == DType::kF32 && x.rank() == 4 && y.dtype == DType::kF32 && y.rank() == 4 &&
         x.num_elements() > 0 && y.dims[0] == x.dims[0] && y.dims[1] == 1 && y.dims[2] == 1 &&
         y.dims[3] == x.dims[3];
}

Status PrepareFastGlobalAveragePool(PrepareContext& ctx) {
  auto state = std::make_unique<GlobalPoolState>();
  const auto& x = ctx.inputs[0].dims;  // N, H, W, C
  state->batch = static_cast<size_t>(x[0]);
  state->pixels = static_cast<size_t>(x[1] * x[2]);
  state->channels = static_cast<size_t>(x[3]);
  // One row of sums per image and thread, each thread's rows on cache lines of their own.
  ctx.scratch_bytes = ThreadSumsStride(*state) * sizeof(float);
  ctx.state = std::move(state);
  return Status::Ok();
}

Status PrepareFastGlobalAveragePoolOnOpenMp(PrepareContext& ctx) {
  RETURN_IF_ERROR(PrepareFastGlobalAveragePool(ctx));
  auto& s = static_cast<GlobalPoolState&>(*ctx.state);
  s.threads = ThreadsToShare(static_cast<size_t>(ctx.inputs[0].num_elements()) * sizeof(float),
                             ctx.share_every_layer, ctx.num_threads);
  ctx.scratch_bytes *= static_cast<size_t>(s.threads);
  return Status::Ok();
}

Status InvokeFastGlobalAveragePool(InvokeContext& ctx) {
  const auto& s = ctx.state_as<GlobalPoolState>();
  const float* x = ctx.inputs[0].data<const float>();
  float* y = ctx.outputs[0].data<float>();
  float* partial = static_cast<float*>(ctx.scratch);
  const size_t row = ThreadSumsStride(s);  // from one thread's sums to the next's
  std::memset(partial, 0, static_cast<size_t>(s.threads) * row * sizeof(float));
  // Thread t sums pixels [t * share, (t + 1) * share) of all images, laid end to end.
  const size_t total = s.batch * s.pixels;
  const size_t share =
      (total + static_cast<size_t>(s.threads) - 1) / static_cast<size_t>(s.threads);
  ForEachShare(static_cast<size_t>(s.threads), s.threads, 1, [&](size_t t, size_t) {
    const size_t end = std::min(total, (t + 1) * share);
    for (size_t p = t * share; p < end;) {
      const size_t image = p / s.pixels;
      const size_t count = std::min(end, (image + 1) * s.pixels) - p;
      AddChannelSums(x + p * s.channels, count, s.channels, partial + t * row + image * s.channels);
      p += count;
    }
  });
  const float count = static_cast<float>(s.pixels);
  for (size_t i = 0; i < s.batch * s.channels; ++i) {
    float sum = partial[i];
    for (int t = 1; t < s.threads; ++t) sum += partial[static_cast<size_t>(t) * row + i];
    y[i] = sum / count;
  }
  return Status::Ok();
}

}  // namespace

KernelDef FastGlobalAveragePoolKernel(KernelPath path) {
  return {"GlobalAveragePool",
          path,
          DTypeSet{DType::kF32},
          SupportsFastGlobalAveragePool,
          path == KernelPath::kOnednn ? PrepareFastGlobalAveragePoolOnOpenMp
                                      : PrepareFastGlobalAveragePool,
          InvokeFastGlobalAveragePool,
          kNhwcDomain};
}

}  // namespace edgerun
#endif  // HWY_ONCE
