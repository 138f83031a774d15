// Highway kernel of depthwise_rows.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/depthwise_rows.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>

#include "kernels/simd/depthwise_rows.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One output pixel at a time, channels [c, c + lanes), where every tap falls inside the image:
// the few pixels at the end of a row that the four-pixel loop below leaves.
template <int K, class D>
HWY_INLINE void InnerPixels(D d, const DepthwiseRowsArgs& a, const float* const* rows, int64_t c,
                            int64_t ox_begin, int64_t ox_end, float* HWY_RESTRICT out) {
  const int64_t wstride = a.padded_channels, channels = a.channels;
  const auto lo = hn::Set(d, a.lo), hi = hn::Set(d, a.hi);
  for (int64_t ox = ox_begin; ox < ox_end; ++ox) {
    const int64_t base = (ox * a.stride - a.pad_left) * channels + c;
    auto acc = hn::Load(d, a.bias + c);
    for (int ky = 0; ky < K; ++ky) {
      for (int kx = 0; kx < K; ++kx) {
        acc = hn::MulAdd(hn::LoadU(d, rows[ky] + base + kx * channels),
                         hn::Load(d, a.weights + (ky * K + kx) * wstride + c), acc);
      }
    }
    hn::StoreU(hn::Min(hn::Max(acc, lo), hi), d, out + ox * channels + c);
  }
}

// Four output pixels at a time, every vector of channels in turn, where every tap falls inside
// the image. K (window) and S (stride) are constants, so the loops unroll: each row's 3S + K input
// vectors are loaded once and feed the taps of all four pixels that read them, and each weight
// is loaded once for the four. On the Intel Xeon, 3x3 from L2: 9.4 cycles per vector of outputs
// at stride 1, 16 at stride 2 (L2 bandwidth: every input line is new to L1), against 12 and 20
// with one vector of channels across the whole row first.
template <int K, int S, class D>
HWY_INLINE void FourPixelsAtATime(D d, const DepthwiseRowsArgs& a, const float* const* rows,
                                  int64_t full, int64_t ox_begin, int64_t ox_end,
                                  float* HWY_RESTRICT out) {
  constexpr int kInputs = 3 * S + K;  // input pixels per row for 4 output pixels
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t wstride = a.padded_channels;
  const auto lo = hn::Set(d, a.lo), hi = hn::Set(d, a.hi);
  int64_t ox = ox_begin;
  for (; ox + 4 <= ox_end; ox += 4) {
    const int64_t base = (ox * S - a.pad_left) * a.channels;
    float* HWY_RESTRICT o = out + ox * a.channels;
    for (int64_t c = 0; c < full; c += lanes) {
      // Read here, not above the loops: with it loop-invariant, GCC 12 precomputed the 27 tap
      // addresses and spilled them to the stack (11.7 instead of 9.5 cycles per vector).
      const int64_t channels = a.channels;
      const float* HWY_RESTRICT w = a.weights + c;
      const auto bias = hn::Load(d, a.bias + c);
      auto acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias;
      HWY_UNROLL(16)
      for (int ky = 0; ky < K; ++ky) {
        const float* HWY_RESTRICT p = rows[ky] + base + c;
        const float* HWY_RESTRICT wk = w + ky * K * wstride;
        HWY_UNROLL(16)
        for (int i = 0; i < kInputs; ++i) {
          const auto v = hn::LoadU(d, p);
          p += channels;
          // Pixel j reads input i with tap kx = i - j * S (the conditions fold at compile time).
          if (i < K) acc0 = hn::MulAdd(v, hn::Load(d, wk + i * wstride), acc0);
          if (i >= S && i - S < K) acc1 = hn::MulAdd(v, hn::Load(d, wk + (i - S) * wstride), acc1);
          if (i >= 2 * S && i - 2 * S < K) {
            acc2 = hn::MulAdd(v, hn::Load(d, wk + (i - 2 * S) * wstride), acc2);
          }
          if (i >= 3 * S) acc3 = hn::MulAdd(v, hn::Load(d, wk + (i - 3 * S) * wstride), acc3);
        }
      }
      hn::StoreU(hn::Min(hn::Max(acc0, lo), hi), d, o + c);
      hn::StoreU(hn::Min(hn::Max(acc1, lo), hi), d, o + channels + c);
      hn::StoreU(hn::Min(hn::Max(acc2, lo), hi), d, o + 2 * channels + c);
      hn::StoreU(hn::Min(hn::Max(acc3, lo), hi), d, o + 3 * channels + c);
    }
  }
  for (int64_t c = 0; c < full; c += lanes) InnerPixels<K>(d, a, rows, c, ox, ox_end, out);
}

// The general form: any kernel size, taps outside the image skipped (`rows[ky]` is nullptr above
// and below it). Masked: the last, partial vector of channels, through full vectors on the stack
// (masked loads and stores would touch memory past the row on targets that emulate them).
template <bool Masked, class D>
HWY_INLINE void CheckedPixels(D d, const DepthwiseRowsArgs& a, const float* const* rows, int64_t c,
                              int64_t ox_begin, int64_t ox_end, float* out, size_t valid_lanes) {
  HWY_ALIGN float lane_buffer[HWY_MAX_BYTES / sizeof(float)] = {};
  const auto bias = hn::Load(d, a.bias + c);
  const auto lo = hn::Set(d, a.lo), hi = hn::Set(d, a.hi);
  const int k = a.kernel;
  for (int64_t ox = ox_begin; ox < ox_end; ++ox) {
    auto acc = bias;
    const int64_t ix0 = ox * a.stride - a.pad_left;
    for (int ky = 0; ky < k; ++ky) {
      if (rows[ky] == nullptr) continue;
      const float* w = a.weights + static_cast<int64_t>(ky * k) * a.padded_channels + c;
      for (int kx = 0; kx < k; ++kx) {
        const int64_t ix = ix0 + kx;
        if (ix < 0 || ix >= a.width) continue;
        const float* p = rows[ky] + ix * a.channels + c;
        if (Masked) std::copy(p, p + valid_lanes, lane_buffer);
        const auto v = Masked ? hn::Load(d, lane_buffer) : hn::LoadU(d, p);
        acc = hn::MulAdd(v, hn::Load(d, w + kx * a.padded_channels), acc);
      }
    }
    acc = hn::Min(hn::Max(acc, lo), hi);
    float* o = out + ox * a.channels + c;
    if (Masked) {
      hn::Store(acc, d, lane_buffer);
      std::copy(lane_buffer, lane_buffer + valid_lanes, o);
    } else {
      hn::StoreU(acc, d, o);
    }
  }
}

void DepthwiseRowsImpl(const DepthwiseRowsArgs& a, int64_t row_begin, int64_t row_end, float* out) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  // Output columns whose taps all fall inside the image.
  const int64_t inner_begin =
      std::min<int64_t>(a.out_width, (a.pad_left + a.stride - 1) / a.stride);
  const int64_t last_start = a.width - a.kernel + a.pad_left;  // of a window inside the image
  const int64_t inner_end =
      last_start < 0 ? inner_begin
                     : std::max<int64_t>(inner_begin,
                                         std::min<int64_t>(a.out_width, last_start / a.stride + 1));
  const int64_t full = a.channels / lanes * lanes;
  const float* rows[kMaxDepthwiseKernel];
  for (int64_t oy = row_begin; oy < row_end; ++oy) {
    bool all_rows = true;
    for (int ky = 0; ky < a.kernel; ++ky) {
      const int64_t iy = oy * a.stride - a.pad_top + ky;
      const bool inside = iy >= 0 && iy < a.height;
      rows[ky] = inside ? a.input + (iy - a.first_row) * a.width * a.channels : nullptr;
      all_rows = all_rows && inside;
    }
    float* o = out + (oy - row_begin) * a.out_width * a.channels;
    const bool unrolled = (a.kernel == 3 || a.kernel == 5) && (a.stride == 1 || a.stride == 2);
    if (all_rows && unrolled) {
      for (int64_t c = 0; c < full; c += lanes) {
        CheckedPixels<false>(d, a, rows, c, 0, inner_begin, o, lanes);
        CheckedPixels<false>(d, a, rows, c, inner_end, a.out_width, o, lanes);
      }
      if (a.kernel == 3 && a.stride == 1) {
        FourPixelsAtATime<3, 1>(d, a, rows, full, inner_begin, inner_end, o);
      } else if (a.kernel == 3) {
        FourPixelsAtATime<3, 2>(d, a, rows, full, inner_begin, inner_end, o);
      } else if (a.stride == 1) {
        FourPixelsAtATime<5, 1>(d, a, rows, full, inner_begin, inner_end, o);
      } else {
        FourPixelsAtATime<5, 2>(d, a, rows, full, inner_begin, inner_end, o);
      }
    } else {
      for (int64_t c = 0; c < full; c += lanes) {
        CheckedPixels<false>(d, a, rows, c, 0, a.out_width, o, lanes);
      }
    }
    if (full < a.channels) {
      CheckedPixels<true>(d, a, rows, full, 0, a.out_width, o,
                          static_cast<size_t>(a.channels - full));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgerun {
namespace internal {
HWY_EXPORT(DepthwiseRowsImpl);
}  // namespace internal

void DepthwiseRows(const DepthwiseRowsArgs& a, int64_t row_begin, int64_t row_end, float* out) {
  HWY_DYNAMIC_DISPATCH(internal::DepthwiseRowsImpl)(a, row_begin, row_end, out);
}

}  // namespace edgerun
#endif  // HWY_ONCE
