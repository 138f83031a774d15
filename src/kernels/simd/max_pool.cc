// Highway kernel of max_pool.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper and the kernel definition.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/max_pool.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/simd/max_pool.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The taps k < kernel whose input index start + k * dilation lies in [0, in): [*first, *last).
inline void TapsInside(int64_t start, int64_t dilation, int64_t kernel, int64_t in, int64_t* first,
                       int64_t* last) {
  // Ceiling divisions of non-negative numerators.
  *first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  *last = in <= start ? 0 : std::min(kernel, (in - start + dilation - 1) / dilation);
  *last = std::max(*last, *first);
}

// The running maximum of the reference: a tap replaces it only when greater (NaN never does; a
// NaN first tap stays).
template <class D>
HWY_INLINE hn::Vec<D> Greater(hn::Vec<D> best, hn::Vec<D> v) {
  return hn::IfThenElse(hn::Gt(v, best), v, best);
}

template <typename T>
void MaxPoolRowsTyped(const MaxPoolGeometry& g, const T* x, T* y, int64_t row_begin,
                      int64_t row_end) {
  const hn::ScalableTag<T> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t c = g.channels;
  // Window3d keeps 2-D windows in slots 1 (rows) and 2 (columns).
  const Window3d& w = g.window;
  const int64_t in_h = w.in[1], in_w = w.in[2], out_h = w.out[1], out_w = w.out[2];
  const T lowest = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                        : std::numeric_limits<T>::lowest();
  // Up to this many taps a pixel's addresses are kept in a local array.
  constexpr int64_t kMaxTaps = 64;
  const T* taps[kMaxTaps];
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / out_h, oy = row % out_h;
    int64_t ky0, ky1;
    const int64_t iy0 = oy * w.stride[1] - w.pad[1];
    TapsInside(iy0, w.dilation[1], w.kernel[1], in_h, &ky0, &ky1);
    T* out = y + row * out_w * c;
    for (int64_t ox = 0; ox < out_w; ++ox, out += c) {
      int64_t kx0, kx1;
      const int64_t ix0 = ox * w.stride[2] - w.pad[2];
      TapsInside(ix0, w.dilation[2], w.kernel[2], in_w, &kx0, &kx1);
      int64_t count = 0;
      for (int64_t ky = ky0; ky < ky1 && count < kMaxTaps; ++ky) {
        const T* in_row = x + ((n * in_h + iy0 + ky * w.dilation[1]) * in_w) * c;
        for (int64_t kx = kx0; kx < kx1 && count < kMaxTaps; ++kx) {
          taps[count++] = in_row + (ix0 + kx * w.dilation[2]) * c;
        }
      }
      if (count == 0) {
        std::fill(out, out + c, lowest);
        continue;
      }
      if (c < lanes || count < (ky1 - ky0) * (kx1 - kx0)) {
        // Fewer channels than a vector, or more than kMaxTaps taps: one value at a time.
        for (int64_t ch = 0; ch < c; ++ch) {
          bool first = true;
          T best = lowest;
          for (int64_t ky = ky0; ky < ky1; ++ky) {
            const T* in_row = x + ((n * in_h + iy0 + ky * w.dilation[1]) * in_w) * c + ch;
            for (int64_t kx = kx0; kx < kx1; ++kx) {
              const T v = in_row[(ix0 + kx * w.dilation[2]) * c];
              if (first || v > best) best = v;
              first = false;
            }
          }
          out[ch] = best;
        }
        continue;
      }
      // Channels a vector at a time; the last vector overlaps the one before it (its maximum is
      // computed twice, to the same values).
      for (int64_t c0 = 0; c0 < c; c0 += lanes) {
        const int64_t at = std::min(c0, c - lanes);
        auto best = hn::LoadU(d, taps[0] + at);
        for (int64_t t = 1; t < count; ++t)
          best = Greater<decltype(d)>(best, hn::LoadU(d, taps[t] + at));
        hn::StoreU(best, d, out + at);
      }
    }
  }
}

void MaxPoolRowsImpl(const MaxPoolGeometry& g, DType type, const void* x, void* y,
                     int64_t row_begin, int64_t row_end) {
  switch (type) {
    case DType::kU8:
      MaxPoolRowsTyped(g, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), row_begin,
                       row_end);
      return;
    case DType::kI8:
      MaxPoolRowsTyped(g, static_cast<const int8_t*>(x), static_cast<int8_t*>(y), row_begin,
                       row_end);
      return;
    default:
      MaxPoolRowsTyped(g, static_cast<const float*>(x), static_cast<float*>(y), row_begin, row_end);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/openmp_shares.h"
#include "kernels/ref/conv.h"
#include "kernels/simd/simd_target.h"

namespace edgerun {
namespace internal {
HWY_EXPORT(MaxPoolRowsImpl);
}  // namespace internal

void RunMaxPoolRows(const MaxPoolGeometry& g, DType type, const void* x, void* y, int64_t row_begin,
                    int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(internal::MaxPoolRowsImpl)(g, type, x, y, row_begin, row_end);
}

namespace {

struct MaxPoolState : KernelState {
  std::string name = std::string("max_pool:") + SimdTarget();
  MaxPoolGeometry geometry;
  DType type = DType::kF32;
  int threads = 1;  // OpenMP threads sharing the output rows (the oneDNN path only)
  std::string_view implementation() const override { return name; }
};

Status ReadGeometry(const PrepareContext& ctx, MaxPoolGeometry* g) {
  if (ctx.inputs.size() != 1 || ctx.outputs.empty()) return ctx.NotSupported("inputs");
  // The optional Indices output has no counterpart here.
  if (ctx.outputs.size() > 1 && ctx.outputs[1].dtype != DType::kUndefined) {
    return ctx.NotSupported("Indices output");
  }
  const TensorType& x = ctx.inputs[0];
  const TensorType& y = ctx.outputs[0];
  if ((x.dtype != DType::kF32 && x.dtype != DType::kU8 && x.dtype != DType::kI8) ||
      y.dtype != x.dtype || x.rank() != 4 || y.rank() != 4 || x.num_elements() == 0 ||
      y.num_elements() == 0 || y.dims[0] != x.dims[0] || y.dims[3] != x.dims[3]) {
    return ctx.NotSupported("types or shapes");
  }
  g->batch = x.dims[0];
  g->channels = x.dims[3];
  return ResolveNhwcPoolWindow(ctx, &g->window);
}

bool SupportsFastMaxPool(const SupportContext& ctx) {
  PrepareContext pctx(ctx);
  MaxPoolGeometry g;
  return ReadGeometry(pctx, &g).ok();
}

Status PrepareFastMaxPool(PrepareContext& ctx) {
  auto state = std::make_unique<MaxPoolState>();
  RETURN_IF_ERROR(ReadGeometry(ctx, &state->geometry));
  state->type = ctx.inputs[0].dtype;
  ctx.state = std::move(state);
  return Status::Ok();
}

Status PrepareFastMaxPoolOnOpenMp(PrepareContext& ctx) {
  RETURN_IF_ERROR(PrepareFastMaxPool(ctx));
  auto& s = static_cast<MaxPoolState&>(*ctx.state);
  const Window3d& w = s.geometry.window;
  const int64_t kernel[] = {w.kernel[1], w.kernel[2]};
  if (WorthSharing(PoolWindowSteps(ctx.outputs[0].dims, kernel), ctx.share_every_layer)) {
    s.threads = ctx.num_threads;
  }
  return Status::Ok();
}

Status InvokeFastMaxPool(InvokeContext& ctx) {
  const auto& s = ctx.state_as<MaxPoolState>();
  const void* x = ctx.inputs[0].raw;
  void* y = ctx.outputs[0].raw;
  const MaxPoolGeometry& g = s.geometry;
  ForEachShare(
      static_cast<size_t>(g.batch * g.window.out[1]), s.threads, 1, [&](size_t begin, size_t end) {
        RunMaxPoolRows(g, s.type, x, y, static_cast<int64_t>(begin), static_cast<int64_t>(end));
      });
  return Status::Ok();
}

}  // namespace

KernelDef FastMaxPoolKernel(KernelPath path) {
  return {"MaxPool",
          path,
          DTypeSet{DType::kF32, DType::kU8, DType::kI8},
          SupportsFastMaxPool,
          path == KernelPath::kOnednn ? PrepareFastMaxPoolOnOpenMp : PrepareFastMaxPool,
          InvokeFastMaxPool,
          kNhwcDomain};
}

}  // namespace edgerun
#endif  // HWY_ONCE
