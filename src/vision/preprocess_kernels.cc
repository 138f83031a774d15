// Highway row kernels of the preprocessor; see preprocess_kernels.h. This file is compiled once
// per SIMD target (foreach_target re-includes it); HWY_ONCE holds the dispatching wrappers.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "vision/preprocess_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "edgerun/dtype.h"
#include "vision/preprocess_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace vision {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Byte `i` (0..7) of each lane's 8-byte window, split into its low and high 32-bit halves.
template <int kByte, class V>
HWY_INLINE V WindowByte(V lo, V hi, V mask) {
  if constexpr (kByte < 4) {
    return hn::And(hn::ShiftRight<8 * kByte>(lo), mask);
  } else {
    return hn::And(hn::ShiftRight<8 * (kByte - 4)>(hi), mask);
  }
}

inline uint64_t LoadWindow(const uint8_t* row, size_t row_bytes, int32_t ofs) {
  uint64_t w = 0;
  const size_t avail = row_bytes - static_cast<size_t>(ofs);
  std::memcpy(&w, row + ofs, avail < 8 ? avail : 8);
  return w;
}

// OpenCV's INTER_LINEAR for `lanes` pixels of each channel, as int32 (not yet saturated).
// Without kTwoRows the second row has weight 0 and adds exactly 0; it is not computed.
template <int kCn, bool kTwoRows = true, class D, class V>
HWY_INLINE void LinearChannels(D d, V lo0, V hi0, V lo1, V hi1, V a0, V a1, V b0, V b1, V* out) {
  const V mask = hn::Set(d, 0xFF);
  const V two = hn::Set(d, 2);
  auto channel = [&](auto c_tag) {
    constexpr int c = decltype(c_tag)::value;
    const V h0 = hn::Add(hn::Mul(WindowByte<c>(lo0, hi0, mask), a0),
                         hn::Mul(WindowByte<c + kCn>(lo0, hi0, mask), a1));
    const V t0 = hn::ShiftRight<16>(hn::Mul(hn::ShiftRight<4>(h0), b0));
    if constexpr (kTwoRows) {
      const V h1 = hn::Add(hn::Mul(WindowByte<c>(lo1, hi1, mask), a0),
                           hn::Mul(WindowByte<c + kCn>(lo1, hi1, mask), a1));
      const V t1 = hn::ShiftRight<16>(hn::Mul(hn::ShiftRight<4>(h1), b1));
      out[c] = hn::ShiftRight<2>(hn::Add(hn::Add(t0, t1), two));
    } else {
      out[c] = hn::ShiftRight<2>(hn::Add(t0, two));
    }
  };
  channel(std::integral_constant<int, 0>());
  if constexpr (kCn > 1) channel(std::integral_constant<int, 1>());
  if constexpr (kCn > 2) channel(std::integral_constant<int, 2>());
  if constexpr (kCn > 3) channel(std::integral_constant<int, 3>());
}

// Fetches the 8-byte windows (left tap onwards) of `lanes` pixels from both rows (only s0 when
// kTwoRows is false; lo1/hi1 are then left alone); windows that would run past the row end are
// zero-filled (their right tap has weight 0). Scalar loads: AVX-512 gathers measured 30% slower
// for the whole kernel on the benchmark machine (AMD EPYC, Zen 4).
template <bool kTwoRows = true, class D>
HWY_INLINE void LoadWindows(D d, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                            const int32_t* xofs, bool safe, hn::Vec<D>& lo0, hn::Vec<D>& hi0,
                            hn::Vec<D>& lo1, hn::Vec<D>& hi1) {
  constexpr size_t kMax = hn::MaxLanes(D());
  HWY_ALIGN uint64_t w0[kMax];
  HWY_ALIGN uint64_t w1[kMax];
  const int lanes = static_cast<int>(hn::Lanes(d));
  if (safe) {
    for (int i = 0; i < lanes; ++i) {
      std::memcpy(&w0[i], s0 + xofs[i], 8);
      if constexpr (kTwoRows) std::memcpy(&w1[i], s1 + xofs[i], 8);
    }
  } else {
    for (int i = 0; i < lanes; ++i) {
      w0[i] = LoadWindow(s0, row_bytes, xofs[i]);
      if constexpr (kTwoRows) w1[i] = LoadWindow(s1, row_bytes, xofs[i]);
    }
  }
  hn::LoadInterleaved2(d, reinterpret_cast<const int32_t*>(w0), lo0, hi0);
  if constexpr (kTwoRows) hn::LoadInterleaved2(d, reinterpret_cast<const int32_t*>(w1), lo1, hi1);
}

// Pixels [0, safe) have their whole 8-byte window inside the row.
inline int SafePixels(const int32_t* xofs, int dw, size_t row_bytes) {
  int safe = dw;
  while (safe > 0 && static_cast<size_t>(xofs[safe - 1]) + 8 > row_bytes) --safe;
  return safe;
}

// Scalar INTER_LINEAR for channel c of pixel x.
template <int kCn>
inline int LinearPixel(const uint8_t* s0, const uint8_t* s1, size_t row_bytes, const int32_t* xofs,
                       const int32_t* a0, const int32_t* a1, int b0, int b1, int x, int c) {
  const uint8_t* p0 = s0 + xofs[x];
  const uint8_t* p1 = s1 + xofs[x];
  const bool last = static_cast<size_t>(xofs[x]) + 2 * kCn > row_bytes;  // a1 is 0 there
  const int h0 = p0[c] * a0[x] + (last ? 0 : p0[c + kCn] * a1[x]);
  const int h1 = p1[c] * a0[x] + (last ? 0 : p1[c + kCn] * a1[x]);
  const int r = (((h0 >> 4) * b0 >> 16) + ((h1 >> 4) * b1 >> 16) + 2) >> 2;
  return std::clamp(r, 0, 255);
}

// One output row of OpenCV's INTER_LINEAR: both source rows' horizontal taps and the vertical
// blend fused, so the int32 horizontal rows never touch memory. Each pixel's two taps lie in
// the 8 bytes starting at its left tap, fetched with one scalar load per pixel (cheaper than
// hardware gathers here).
template <int kCn>
void LinearRowT(const uint8_t* s0, const uint8_t* s1, size_t row_bytes, const int32_t* xofs,
                const int32_t* a0, const int32_t* a1, int dw, int b0, int b1, uint8_t* dst) {
  const hn::ScalableTag<int32_t> d;
  const hn::Rebind<uint8_t, decltype(d)> d8;
  const int lanes = static_cast<int>(hn::Lanes(d));
  const int safe = SafePixels(xofs, dw, row_bytes);
  const auto vb0 = hn::Set(d, b0);
  const auto vb1 = hn::Set(d, b1);
  int x = 0;
  for (; x + lanes <= dw; x += lanes) {
    hn::Vec<decltype(d)> lo0, hi0, lo1, hi1;
    LoadWindows(d, s0, s1, row_bytes, xofs + x, x + lanes <= safe, lo0, hi0, lo1, hi1);
    hn::Vec<decltype(d)> v[4];
    LinearChannels<kCn>(d, lo0, hi0, lo1, hi1, hn::LoadU(d, a0 + x), hn::LoadU(d, a1 + x), vb0, vb1,
                        v);
    uint8_t* o = dst + x * kCn;
    if constexpr (kCn == 1) hn::StoreU(hn::DemoteTo(d8, v[0]), d8, o);
    if constexpr (kCn == 2) {
      hn::StoreInterleaved2(hn::DemoteTo(d8, v[0]), hn::DemoteTo(d8, v[1]), d8, o);
    }
    if constexpr (kCn == 3) {
      hn::StoreInterleaved3(hn::DemoteTo(d8, v[0]), hn::DemoteTo(d8, v[1]), hn::DemoteTo(d8, v[2]),
                            d8, o);
    }
    if constexpr (kCn == 4) {
      hn::StoreInterleaved4(hn::DemoteTo(d8, v[0]), hn::DemoteTo(d8, v[1]), hn::DemoteTo(d8, v[2]),
                            hn::DemoteTo(d8, v[3]), d8, o);
    }
  }
  for (; x < dw; ++x) {
    for (int c = 0; c < kCn; ++c) {
      dst[x * kCn + c] =
          static_cast<uint8_t>(LinearPixel<kCn>(s0, s1, row_bytes, xofs, a0, a1, b0, b1, x, c));
    }
  }
}

void LinearRowImpl(int channels, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                   const int32_t* xofs, const int32_t* a0, const int32_t* a1, int dw, int b0,
                   int b1, uint8_t* dst) {
  switch (channels) {
    case 1:
      return LinearRowT<1>(s0, s1, row_bytes, xofs, a0, a1, dw, b0, b1, dst);
    case 2:
      return LinearRowT<2>(s0, s1, row_bytes, xofs, a0, a1, dw, b0, b1, dst);
    case 3:
      return LinearRowT<3>(s0, s1, row_bytes, xofs, a0, a1, dw, b0, b1, dst);
    default:
      return LinearRowT<4>(s0, s1, row_bytes, xofs, a0, a1, dw, b0, b1, dst);
  }
}

inline void YuvPixel(int y, int u, int v, const YuvCoeffs& c, uint8_t* out) {
  const int yy = std::max(y - c.y_offset, 0) * c.y_scale + (1 << 15);
  const int du = u - 128;
  const int dv = v - 128;
  out[0] = static_cast<uint8_t>(std::clamp((yy + c.r_v * dv) >> 16, 0, 255));
  out[1] = static_cast<uint8_t>(std::clamp((yy - c.g_u * du - c.g_v * dv) >> 16, 0, 255));
  out[2] = static_cast<uint8_t>(std::clamp((yy + c.b_u * du) >> 16, 0, 255));
}

// Even and odd pixels are computed in separate int32 vectors: both share lane i's chroma sample,
// so 4:2:0/4:2:2 chroma needs no per-pixel duplication, and recombining them is a 16-bit
// (even | odd << 8) pack.
void YuvToRgbRowImpl(const uint8_t* y, const uint8_t* u, const uint8_t* v, int uv_step, int width,
                     const YuvCoeffs& c, uint8_t* dst) {
  int x = 0;
#if HWY_TARGET != HWY_SCALAR  // needs two u8 lanes per u16 lane
  const hn::ScalableTag<int32_t> d;
  const hn::Rebind<uint16_t, decltype(d)> d16;
  const hn::Rebind<uint8_t, decltype(d)> d8;
  const hn::Repartition<uint8_t, decltype(d16)> dpix;  // 2 * lanes pixels
  const int lanes = static_cast<int>(hn::Lanes(d));
  const auto y_off = hn::Set(d, c.y_offset);
  const auto y_scale = hn::Set(d, c.y_scale);
  const auto half = hn::Set(d, 1 << 15);
  const auto c128 = hn::Set(d, 128);
  const auto r_v = hn::Set(d, c.r_v);
  const auto g_u = hn::Set(d, c.g_u);
  const auto g_v = hn::Set(d, c.g_v);
  const auto b_u = hn::Set(d, c.b_u);
  const auto zero = hn::Zero(d);
  const auto max8 = hn::Set(d, 255);
  const auto mask = hn::Set(d, 0xFF);
  auto clamp8 = [&](auto x) { return hn::Min(hn::Max(hn::ShiftRight<16>(x), zero), max8); };
  auto combine = [&](auto even, auto odd) {
    return hn::BitCast(dpix, hn::DemoteTo(d16, hn::Or(even, hn::ShiftLeft<8>(odd))));
  };
  for (; x + 2 * lanes <= width; x += 2 * lanes) {
    const auto ypair = hn::PromoteTo(d, hn::LoadU(d16, reinterpret_cast<const uint16_t*>(y + x)));
    hn::Vec<decltype(d)> du, dv;
    const int ci = (x >> 1) * uv_step;
    if (uv_step == 2) {
      const auto uv = hn::PromoteTo(d, hn::LoadU(d16, reinterpret_cast<const uint16_t*>(u + ci)));
      // NV12: `u` points at interleaved U,V pairs (little-endian: U is the low byte).
      du = hn::Sub(hn::And(uv, mask), c128);
      dv = hn::Sub(hn::ShiftRight<8>(uv), c128);
    } else {
      du = hn::Sub(hn::PromoteTo(d, hn::LoadU(d8, u + ci)), c128);
      dv = hn::Sub(hn::PromoteTo(d, hn::LoadU(d8, v + ci)), c128);
    }
    const auto rc = hn::Mul(r_v, dv);
    const auto gc = hn::Add(hn::Mul(g_u, du), hn::Mul(g_v, dv));
    const auto bc = hn::Mul(b_u, du);
    const auto ye =
        hn::Add(hn::Mul(hn::Max(hn::Sub(hn::And(ypair, mask), y_off), zero), y_scale), half);
    const auto yo =
        hn::Add(hn::Mul(hn::Max(hn::Sub(hn::ShiftRight<8>(ypair), y_off), zero), y_scale), half);
    const auto r = combine(clamp8(hn::Add(ye, rc)), clamp8(hn::Add(yo, rc)));
    const auto g = combine(clamp8(hn::Sub(ye, gc)), clamp8(hn::Sub(yo, gc)));
    const auto b = combine(clamp8(hn::Add(ye, bc)), clamp8(hn::Add(yo, bc)));
    hn::StoreInterleaved3(r, g, b, dpix, dst + 3 * x);
  }
#endif
  for (; x < width; ++x) {
    const int ci = (x >> 1) * uv_step;
    YuvPixel(y[x], u[ci], v[ci], c, dst + 3 * x);
  }
}

// ---------------------------------------------------------------------------------------------
// PackRow

template <class D>
HWY_INLINE void StoreChannels(D df, const hn::Vec<D>* vals, int out_channels, const PackParams& p,
                              uint8_t* dst, size_t plane_bytes, int x) {
  const hn::Rebind<int32_t, D> di;
  const bool nchw = p.layout == Layout::kNchw;
  switch (p.dtype) {
    case OutputDType::kF32: {
      if (nchw || out_channels == 1) {
        for (int c = 0; c < out_channels; ++c) {
          hn::StoreU(vals[c], df, reinterpret_cast<float*>(dst + c * plane_bytes) + x);
        }
      } else {
        hn::StoreInterleaved3(vals[0], vals[1], vals[2], df, reinterpret_cast<float*>(dst) + 3 * x);
      }
      return;
    }
    case OutputDType::kF16: {
      const hn::Rebind<hwy::float16_t, D> dh;
      const hn::Rebind<uint16_t, D> du16;
      if (nchw || out_channels == 1) {
        for (int c = 0; c < out_channels; ++c) {
          hn::StoreU(hn::DemoteTo(dh, vals[c]), dh,
                     reinterpret_cast<hwy::float16_t*>(dst + c * plane_bytes) + x);
        }
      } else {
        hn::StoreInterleaved3(hn::BitCast(du16, hn::DemoteTo(dh, vals[0])),
                              hn::BitCast(du16, hn::DemoteTo(dh, vals[1])),
                              hn::BitCast(du16, hn::DemoteTo(dh, vals[2])), du16,
                              reinterpret_cast<uint16_t*>(dst) + 3 * x);
      }
      return;
    }
    case OutputDType::kU8:
    case OutputDType::kI8: {
      const auto lo = hn::Set(df, p.qmin);
      const auto hi = hn::Set(df, p.qmax);
      // Clamping in float first keeps the integer conversion in range.
      hn::Vec<decltype(di)> q[3];
      for (int c = 0; c < out_channels; ++c) {
        q[c] = hn::NearestInt(hn::Min(hn::Max(vals[c], lo), hi));
      }
      if (p.dtype == OutputDType::kU8) {
        const hn::Rebind<uint8_t, D> d8;
        if (nchw || out_channels == 1) {
          for (int c = 0; c < out_channels; ++c) {
            hn::StoreU(hn::DemoteTo(d8, q[c]), d8, dst + c * plane_bytes + x);
          }
        } else {
          hn::StoreInterleaved3(hn::DemoteTo(d8, q[0]), hn::DemoteTo(d8, q[1]),
                                hn::DemoteTo(d8, q[2]), d8, dst + 3 * x);
        }
      } else {
        const hn::Rebind<int8_t, D> d8;
        if (nchw || out_channels == 1) {
          for (int c = 0; c < out_channels; ++c) {
            hn::StoreU(hn::DemoteTo(d8, q[c]), d8,
                       reinterpret_cast<int8_t*>(dst + c * plane_bytes) + x);
          }
        } else {
          hn::StoreInterleaved3(hn::DemoteTo(d8, q[0]), hn::DemoteTo(d8, q[1]),
                                hn::DemoteTo(d8, q[2]), d8, reinterpret_cast<int8_t*>(dst) + 3 * x);
        }
      }
      return;
    }
  }
}

void StoreScalar(const PackParams& p, int c, float v, uint8_t* dst, size_t plane_bytes, int x,
                 int out_channels) {
  const bool nchw = p.layout == Layout::kNchw;
  const size_t index = nchw ? static_cast<size_t>(x) : static_cast<size_t>(x) * out_channels + c;
  uint8_t* base = nchw ? dst + c * plane_bytes : dst;
  switch (p.dtype) {
    case OutputDType::kF32:
      reinterpret_cast<float*>(base)[index] = v;
      return;
    case OutputDType::kF16:
      reinterpret_cast<uint16_t*>(base)[index] = FloatToHalf(v);
      return;
    case OutputDType::kU8:
      base[index] = static_cast<uint8_t>(std::nearbyint(std::clamp(v, p.qmin, p.qmax)));
      return;
    case OutputDType::kI8:
      reinterpret_cast<int8_t*>(base)[index] =
          static_cast<int8_t>(std::nearbyint(std::clamp(v, p.qmin, p.qmax)));
      return;
  }
}

template <int kIn, int kOut>
void PackRowT(const PackParams& p, const uint8_t* src, int width, uint8_t* dst,
              size_t plane_bytes) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int32_t, decltype(df)> di;
  const hn::Rebind<uint8_t, decltype(df)> d8;
  const int lanes = static_cast<int>(hn::Lanes(df));
  hn::Vec<decltype(df)> k[3], b[3];
  for (int c = 0; c < kOut; ++c) {
    k[c] = hn::Set(df, p.k[c]);
    b[c] = hn::Set(df, p.b[c]);
  }
  int x = 0;
  for (; x + lanes <= width; x += lanes) {
    hn::Vec<decltype(d8)> ch[4];
    if constexpr (kIn == 1) {
      ch[0] = hn::LoadU(d8, src + x);
    } else if constexpr (kIn == 3) {
      hn::LoadInterleaved3(d8, src + 3 * x, ch[0], ch[1], ch[2]);
    } else {
      hn::LoadInterleaved4(d8, src + 4 * x, ch[0], ch[1], ch[2], ch[3]);
    }
    hn::Vec<decltype(df)> vals[3];
    for (int c = 0; c < kOut; ++c) {
      const auto xf = hn::ConvertTo(df, hn::PromoteTo(di, ch[p.src_channel[c]]));
      vals[c] = hn::MulAdd(xf, k[c], b[c]);
    }
    StoreChannels(df, vals, kOut, p, dst, plane_bytes, x);
  }
  for (; x < width; ++x) {
    for (int c = 0; c < kOut; ++c) {
      const float xf = src[x * kIn + p.src_channel[c]];
      StoreScalar(p, c, std::fma(xf, p.k[c], p.b[c]), dst, plane_bytes, x, kOut);
    }
  }
}

void PackRowImpl(const PackParams& p, const uint8_t* src, int width, void* dst,
                 size_t plane_bytes) {
  auto* out = static_cast<uint8_t*>(dst);
  if (p.in_channels == 1 && p.out_channels == 1)
    return PackRowT<1, 1>(p, src, width, out, plane_bytes);
  if (p.in_channels == 1) return PackRowT<1, 3>(p, src, width, out, plane_bytes);
  if (p.in_channels == 3) return PackRowT<3, 3>(p, src, width, out, plane_bytes);
  return PackRowT<4, 3>(p, src, width, out, plane_bytes);
}

// LinearRowT's vectors go straight into PackRowT's arithmetic: the blended channels are already
// de-interleaved int32 lanes, so the u8 row, its interleaving and its re-loading disappear.
// kSwap: output channel c reads blended channel 2 - c (RGB <-> BGR), else c; fixing this at
// compile time keeps the blended vectors in registers (a run-time index spills them). kF32Planar
// is f32 NCHW (or one channel), stored directly; other outputs go through StoreChannels.
template <int kIn, int kOut, bool kSwap, bool kF32Planar, bool kTwoRows>
void LinearPackRowT(const PackParams& params, const uint8_t* s0, const uint8_t* s1,
                    size_t row_bytes, const int32_t* xofs, const int32_t* a0, const int32_t* a1,
                    int dw, int b0, int b1, uint8_t* dst, size_t plane_bytes) {
  // A local copy: u8 stores may alias the caller's struct, which would reload it per vector.
  const PackParams p = params;
  const hn::ScalableTag<int32_t> d;
  const hn::Rebind<float, decltype(d)> df;
  const int lanes = static_cast<int>(hn::Lanes(d));
  const int safe = SafePixels(xofs, dw, row_bytes);
  const auto vb0 = hn::Set(d, b0);
  const auto vb1 = hn::Set(d, b1);
  const auto zero = hn::Zero(d);
  const auto max8 = hn::Set(d, 255);
  hn::Vec<decltype(df)> k[3], b[3];
  for (int c = 0; c < kOut; ++c) {
    k[c] = hn::Set(df, p.k[c]);
    b[c] = hn::Set(df, p.b[c]);
  }
  float* planes[3] = {};
  for (int c = 0; c < kOut; ++c) planes[c] = reinterpret_cast<float*>(dst + c * plane_bytes);
  int x = 0;
  for (; x + lanes <= dw; x += lanes) {
    hn::Vec<decltype(d)> lo0, hi0, lo1, hi1;
    LoadWindows<kTwoRows>(d, s0, s1, row_bytes, xofs + x, x + lanes <= safe, lo0, hi0, lo1, hi1);
    hn::Vec<decltype(d)> v[4];
    LinearChannels<kIn, kTwoRows>(d, lo0, hi0, lo1, hi1, hn::LoadU(d, a0 + x), hn::LoadU(d, a1 + x),
                                  vb0, vb1, v);
    hn::Vec<decltype(df)> vals[3];
    for (int c = 0; c < kOut; ++c) {
      // Saturating to u8 first keeps the result identical to LinearRow + PackRow.
      const int src_c = kIn == 1 ? 0 : (kSwap ? 2 - c : c);
      const auto u8 = hn::Min(hn::Max(v[src_c], zero), max8);
      vals[c] = hn::MulAdd(hn::ConvertTo(df, u8), k[c], b[c]);
      if constexpr (kF32Planar) hn::StoreU(vals[c], df, planes[c] + x);
    }
    if constexpr (!kF32Planar) StoreChannels(df, vals, kOut, p, dst, plane_bytes, x);
  }
  for (; x < dw; ++x) {
    for (int c = 0; c < kOut; ++c) {
      const float xf = static_cast<float>(
          LinearPixel<kIn>(s0, s1, row_bytes, xofs, a0, a1, b0, b1, x, p.src_channel[c]));
      StoreScalar(p, c, std::fma(xf, p.k[c], p.b[c]), dst, plane_bytes, x, kOut);
    }
  }
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_SSSE3
// INTER_LINEAR + pack with x86's pairwise 16-bit multiply-add (pmaddwd), 4 pixels per 128-bit
// block. The 8-byte windows (left tap onwards) of a group's pixels are loaded by broadcast and
// blended into two vectors: lane i of W0 holds pixel 4*(i/2) + i%2, of W1 pixel 4*(i/2) + 2 + i%2,
// so one in-block byte shuffle per half spreads a channel's left/right taps of 4 consecutive
// pixels into int16 pairs, already in pixel order (no cross-block permutes). Taps (< 256) and
// weights (<= 2048) are exact int16, so pmaddwd with the (a0, a1) pairs gives OpenCV's int32
// horizontal sums; the vertical step is OpenCV's 16-bit mulhi on (h >> 4). Results equal
// LinearPixel. Broadcast + blend beats both gathers and inserting lanes one by one here; the
// frame's rows (2.6 MB read per 1080p -> 224 frame) then take about half the time, and software
// prefetching of the next rows measured no gain.

// Shuffle indices for channel kC of both pixels in a 128-bit block of windows, placed in the low
// (kHigh false) or high 8 bytes as (left, right) u16 pairs; 0x80 gives 0.
template <int kCn, int kC, bool kHigh, class D8>
HWY_INLINE hn::Vec<D8> TapIndices(D8 d8) {
  constexpr uint8_t z = 0x80;
  alignas(16) static constexpr uint8_t kLow[16] = {
      kC, z, kC + kCn, z, 8 + kC, z, 8 + kC + kCn, z, z, z, z, z, z, z, z, z};
  alignas(16) static constexpr uint8_t kHighHalf[16] = {
      z, z, z, z, z, z, z, z, kC, z, kC + kCn, z, 8 + kC, z, 8 + kC + kCn, z};
  return hn::LoadDup128(d8, kHigh ? kHighHalf : kLow);
}

// One vector from per-lane broadcasts: lane i of the result is lane i of b[i].
template <class D64>
HWY_INLINE hn::Vec<D64> BlendLanes(D64 d, const hn::Vec<D64>* b) {
  constexpr size_t kLanes = hn::MaxLanes(D64());
  if constexpr (kLanes == 2) {
    return hn::OddEven(b[1], b[0]);
  } else if constexpr (kLanes == 4) {
    return hn::ConcatUpperLower(d, hn::OddEven(b[3], b[2]), hn::OddEven(b[1], b[0]));
  } else {
    static_assert(kLanes == 8, "x86 vectors hold 2, 4 or 8 u64 lanes");
    const auto lo = hn::OddEvenBlocks(hn::OddEven(b[3], b[2]), hn::OddEven(b[1], b[0]));
    const auto hi = hn::OddEvenBlocks(hn::OddEven(b[7], b[6]), hn::OddEven(b[5], b[4]));
    return hn::ConcatUpperLower(d, hi, lo);
  }
}

// Windows of half kHalf of the group's pixels at `xofs`, as described above, from s0 into w0
// and (with kTwoRows) from s1 into w1; both rows share each offset load. Unsafe groups zero-fill
// past the row end.
template <int kHalf, bool kTwoRows, class D64>
HWY_INLINE void HalfWindows(D64 d, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                            const int32_t* xofs, bool safe, hn::Vec<D64>& w0, hn::Vec<D64>& w1) {
  constexpr size_t kLanes = hn::MaxLanes(D64());
  hn::Vec<D64> b0[kLanes], b1[kLanes];
  for (size_t i = 0; i < kLanes; ++i) {
    const int32_t ofs = xofs[4 * (i / 2) + 2 * kHalf + i % 2];
    uint64_t v0 = 0, v1 = 0;
    if (safe) {
      std::memcpy(&v0, s0 + ofs, 8);
      if constexpr (kTwoRows) std::memcpy(&v1, s1 + ofs, 8);
    } else {
      v0 = LoadWindow(s0, row_bytes, ofs);
      if constexpr (kTwoRows) v1 = LoadWindow(s1, row_bytes, ofs);
    }
    b0[i] = hn::Set(d, v0);
    if constexpr (kTwoRows) b1[i] = hn::Set(d, v1);
  }
  w0 = BlendLanes(d, b0);
  if constexpr (kTwoRows) w1 = BlendLanes(d, b1);
}

// Horizontal sums >> 4 of channel kC for the 4 pixels per block held in windows w0, w1.
template <int kCn, int kC, class D32, class V64, class V16>
HWY_INLINE hn::Vec<D32> HorizontalTaps(D32 d32, V64 w0, V64 w1, V16 weights) {
  const hn::Repartition<uint8_t, D32> d8;
  const hn::Repartition<int16_t, D32> d16;
  const auto taps =
      hn::Or(hn::TableLookupBytesOr0(hn::BitCast(d8, w0), TapIndices<kCn, kC, false>(d8)),
             hn::TableLookupBytesOr0(hn::BitCast(d8, w1), TapIndices<kCn, kC, true>(d8)));
  hn::Vec<D32> unused = hn::Zero(d32);  // x86 puts each pair's sum in lane order into sum0
  return hn::ShiftRight<4>(
      hn::ReorderWidenMulAccumulate(d32, hn::BitCast(d16, taps), weights, hn::Zero(d32), unused));
}

// kIn interleaved channels (1, 3, 4; alpha unused) -> kOut output channels, as LinearPackRowT,
// one group of Lanes(int32) pixels per call. `a01` holds each pixel's (a0, a1) as two int16.
template <int kIn, int kOut, bool kSwap, bool kF32Planar, bool kTwoRows>
struct LinearPackGroups {
  using D = hn::ScalableTag<int32_t>;
  using D64 = hn::Repartition<uint64_t, D>;
  using D16 = hn::Repartition<int16_t, D>;
  using DF = hn::Rebind<float, D>;
  static constexpr int kUsed = kIn < 3 ? kIn : 3;  // channels the output reads

  LinearPackGroups(const PackParams& params, const uint8_t* row0, const uint8_t* row1, size_t bytes,
                   const int32_t* ofs, const int32_t* weights, int b0, int b1, uint8_t* out,
                   size_t plane)
      : p(params),
        s0(row0),
        s1(row1),
        row_bytes(bytes),
        xofs(ofs),
        a01(weights),
        vb0(hn::Set(D16(), static_cast<int16_t>(b0))),
        vb1(hn::Set(D16(), static_cast<int16_t>(b1))),
        dst(out),
        plane_bytes(plane) {
    for (int c = 0; c < kOut; ++c) {
      k[c] = hn::Set(DF(), p.k[c]);
      bias[c] = hn::Set(DF(), p.b[c]);
      planes[c] = reinterpret_cast<float*>(dst + c * plane_bytes);
    }
  }

  // Pixels [x, x + Lanes); kSafe: all their windows lie inside the rows.
  template <bool kSafe>
  HWY_INLINE void Group(int x) const {
    const D d;
    const D64 d64;
    const D16 d16;
    const DF df;
    hn::Vec<D64> w00, w01, w10, w11;  // [row][half]
    HalfWindows<0, kTwoRows>(d64, s0, s1, row_bytes, xofs + x, kSafe, w00, w10);
    HalfWindows<1, kTwoRows>(d64, s0, s1, row_bytes, xofs + x, kSafe, w01, w11);
    const auto weights = hn::BitCast(d16, hn::LoadU(d, a01 + x));
    const auto two = hn::Set(d, 2);
    const auto max8 = hn::Set(d, 255);
    hn::Vec<D> v[3];
    auto channel = [&](auto c_tag) HWY_ATTR {
      constexpr int c = decltype(c_tag)::value;
      const auto h0 = HorizontalTaps<kIn, c>(d, w00, w01, weights);
      // (h >> 4) < 2^15, so the int16 mulhi of each int32 lane's low half is OpenCV's
      // (h >> 4) * b >> 16; the high half is 0 and stays 0.
      auto sum = hn::BitCast(d, hn::MulHigh(hn::BitCast(d16, h0), vb0));
      if constexpr (kTwoRows) {
        const auto h1 = HorizontalTaps<kIn, c>(d, w10, w11, weights);
        sum = hn::Add(sum, hn::BitCast(d, hn::MulHigh(hn::BitCast(d16, h1), vb1)));
      }
      // Every term is >= 0, so only the upper saturation of LinearPixel can apply.
      v[c] = hn::Min(hn::ShiftRight<2>(hn::Add(sum, two)), max8);
    };
    channel(std::integral_constant<int, 0>());
    if constexpr (kUsed > 1) channel(std::integral_constant<int, 1>());
    if constexpr (kUsed > 2) channel(std::integral_constant<int, 2>());
    hn::Vec<DF> vals[3];
    for (int c = 0; c < kOut; ++c) {
      const int src_c = kIn == 1 ? 0 : (kSwap ? 2 - c : c);
      vals[c] = hn::MulAdd(hn::ConvertTo(df, v[src_c]), k[c], bias[c]);
      if constexpr (kF32Planar) hn::StoreU(vals[c], df, planes[c] + x);
    }
    if constexpr (!kF32Planar) StoreChannels(df, vals, kOut, p, dst, plane_bytes, x);
  }

  const PackParams p;  // a copy: u8 stores may alias the caller's struct
  const uint8_t* s0;
  const uint8_t* s1;
  size_t row_bytes;
  const int32_t* xofs;
  const int32_t* a01;
  hn::Vec<D16> vb0, vb1;
  uint8_t* dst;
  size_t plane_bytes;
  hn::Vec<DF> k[3], bias[3];
  float* planes[3] = {};
};

template <int kIn, int kOut, bool kSwap, bool kF32Planar, bool kTwoRows>
void LinearPackRowMaddT(const PackParams& p, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                        const int32_t* xofs, const int32_t* a0, const int32_t* a1,
                        const int32_t* a01, int dw, int b0, int b1, uint8_t* dst,
                        size_t plane_bytes) {
  // With a fused MulAdd (AVX2 and up) a vector computes what the scalar tail's std::fma does, so
  // the last pixels are one more group ending at dw, overlapping its predecessor (rewriting the
  // same values). SSE4's MulAdd rounds twice: there the tail stays scalar, as in PackRow.
  constexpr bool kVectorTail = HWY_TARGET <= HWY_AVX2;
  const int lanes = static_cast<int>(hn::Lanes(hn::ScalableTag<int32_t>()));
  const int vector_end = kVectorTail ? (dw < lanes ? 0 : dw) : dw - dw % lanes;
  int x = 0;
  if (vector_end > 0) {
    const LinearPackGroups<kIn, kOut, kSwap, kF32Planar, kTwoRows> g(p, s0, s1, row_bytes, xofs,
                                                                     a01, b0, b1, dst, plane_bytes);
    const int safe = SafePixels(xofs, dw, row_bytes);
    for (; x + lanes <= vector_end && x + lanes <= safe; x += lanes) g.template Group<true>(x);
    while (x < vector_end) {
      const int gx = std::min(x, vector_end - lanes);
      if (gx + lanes <= safe) {
        g.template Group<true>(gx);
      } else {
        g.template Group<false>(gx);
      }
      x = gx + lanes;
    }
  }
  for (; x < dw; ++x) {
    for (int c = 0; c < kOut; ++c) {
      const float xf = static_cast<float>(
          LinearPixel<kIn>(s0, s1, row_bytes, xofs, a0, a1, b0, b1, x, p.src_channel[c]));
      StoreScalar(p, c, std::fma(xf, p.k[c], p.b[c]), dst, plane_bytes, x, kOut);
    }
  }
}
#endif  // HWY_ARCH_X86 && HWY_TARGET <= HWY_SSSE3

template <int kIn, int kOut, bool kSwap, bool kF32Planar, bool kTwoRows>
void LinearPackRowPick(const PackParams& p, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                       const int32_t* xofs, const int32_t* a0, const int32_t* a1,
                       const int32_t* a01, int dw, int b0, int b1, uint8_t* dst,
                       size_t plane_bytes) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_SSSE3
  return LinearPackRowMaddT<kIn, kOut, kSwap, kF32Planar, kTwoRows>(
      p, s0, s1, row_bytes, xofs, a0, a1, a01, dw, b0, b1, dst, plane_bytes);
#else
  (void)a01;
  return LinearPackRowT<kIn, kOut, kSwap, kF32Planar, kTwoRows>(p, s0, s1, row_bytes, xofs, a0, a1,
                                                                dw, b0, b1, dst, plane_bytes);
#endif
}

template <int kIn, int kOut, bool kSwap>
void LinearPackRowDispatch(const PackParams& p, const uint8_t* s0, const uint8_t* s1,
                           size_t row_bytes, const int32_t* xofs, const int32_t* a0,
                           const int32_t* a1, const int32_t* a01, int dw, int b0, int b1,
                           uint8_t* dst, size_t plane_bytes) {
  const bool f32_planar = p.dtype == OutputDType::kF32 && (p.layout == Layout::kNchw || kOut == 1);
  const bool two_rows = b1 != 0;
#define EDGERUN_LINEAR_PICK(kPlanar, kTwo)                                                      \
  return LinearPackRowPick<kIn, kOut, kSwap, kPlanar, kTwo>(p, s0, s1, row_bytes, xofs, a0, a1, \
                                                            a01, dw, b0, b1, dst, plane_bytes)
  if (f32_planar && two_rows) EDGERUN_LINEAR_PICK(true, true);
  if (f32_planar) EDGERUN_LINEAR_PICK(true, false);
  if (two_rows) EDGERUN_LINEAR_PICK(false, true);
  EDGERUN_LINEAR_PICK(false, false);
#undef EDGERUN_LINEAR_PICK
}

void LinearPackRowImpl(const PackParams& p, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                       const int32_t* xofs, const int32_t* a0, const int32_t* a1,
                       const int32_t* a01, int dw, int b0, int b1, void* dst, size_t plane_bytes) {
  auto* out = static_cast<uint8_t*>(dst);
  const bool swap = p.src_channel[0] == 2;  // colour inputs map channels as 0,1,2 or 2,1,0
#define EDGERUN_LINEAR_PACK(kIn, kOut, kSwap)                                                     \
  return LinearPackRowDispatch<kIn, kOut, kSwap>(p, s0, s1, row_bytes, xofs, a0, a1, a01, dw, b0, \
                                                 b1, out, plane_bytes)
  if (p.in_channels == 1 && p.out_channels == 1) EDGERUN_LINEAR_PACK(1, 1, false);
  if (p.in_channels == 1) EDGERUN_LINEAR_PACK(1, 3, false);
  if (p.in_channels == 3) {
    if (swap) EDGERUN_LINEAR_PACK(3, 3, true);
    EDGERUN_LINEAR_PACK(3, 3, false);
  }
  if (swap) EDGERUN_LINEAR_PACK(4, 3, true);
  EDGERUN_LINEAR_PACK(4, 3, false);
#undef EDGERUN_LINEAR_PACK
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace vision
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgerun {
namespace vision {
namespace internal {

HWY_EXPORT(LinearRowImpl);
HWY_EXPORT(YuvToRgbRowImpl);
HWY_EXPORT(PackRowImpl);
HWY_EXPORT(LinearPackRowImpl);

void LinearRow(int channels, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
               const int32_t* xofs, const int32_t* a0, const int32_t* a1, int dw, int b0, int b1,
               uint8_t* dst) {
  HWY_DYNAMIC_DISPATCH(LinearRowImpl)(channels, s0, s1, row_bytes, xofs, a0, a1, dw, b0, b1, dst);
}

void YuvToRgbRow(const uint8_t* y, const uint8_t* u, const uint8_t* v, int uv_step, int width,
                 const YuvCoeffs& c, uint8_t* dst) {
  HWY_DYNAMIC_DISPATCH(YuvToRgbRowImpl)(y, u, v, uv_step, width, c, dst);
}

void PackRow(const PackParams& p, const uint8_t* src, int width, void* dst, size_t plane_bytes) {
  HWY_DYNAMIC_DISPATCH(PackRowImpl)(p, src, width, dst, plane_bytes);
}

void LinearPackRow(const PackParams& p, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                   const int32_t* xofs, const int32_t* a0, const int32_t* a1, const int32_t* a01,
                   int dw, int b0, int b1, void* dst, size_t plane_bytes) {
  HWY_DYNAMIC_DISPATCH(LinearPackRowImpl)
  (p, s0, s1, row_bytes, xofs, a0, a1, a01, dw, b0, b1, dst, plane_bytes);
}

std::vector<int32_t> PairLinearWeights(const LinearTables& t) {
  std::vector<int32_t> a01(t.a0.size());
  for (size_t i = 0; i < a01.size(); ++i) {
    // Little-endian int16 pair (a0, a1); both fit: weights are at most 2048.
    a01[i] = static_cast<int32_t>(static_cast<uint32_t>(t.a0[i] & 0xFFFF) |
                                  (static_cast<uint32_t>(t.a1[i] & 0xFFFF) << 16));
  }
  return a01;
}

YuvCoeffs MakeYuvCoeffs(YuvMatrix matrix, YuvRange range) {
  // Y'CbCr -> R'G'B' from the matrix's luma weights (ITU-R BT.601 / BT.709).
  const double kr = matrix == YuvMatrix::kBt601 ? 0.299 : 0.2126;
  const double kb = matrix == YuvMatrix::kBt601 ? 0.114 : 0.0722;
  const double kg = 1.0 - kr - kb;
  const bool limited = range == YuvRange::kLimited;
  const double ys = limited ? 255.0 / 219.0 : 1.0;
  const double cs = limited ? 255.0 / 224.0 : 1.0;
  const double one = 65536.0;
  YuvCoeffs c;
  c.y_offset = limited ? 16 : 0;
  c.y_scale = static_cast<int>(std::lround(ys * one));
  c.r_v = static_cast<int>(std::lround(2.0 * (1.0 - kr) * cs * one));
  c.b_u = static_cast<int>(std::lround(2.0 * (1.0 - kb) * cs * one));
  c.g_u = static_cast<int>(std::lround(2.0 * kb * (1.0 - kb) / kg * cs * one));
  c.g_v = static_cast<int>(std::lround(2.0 * kr * (1.0 - kr) / kg * cs * one));
  return c;
}

}  // namespace internal
}  // namespace vision
}  // namespace edgerun
#endif  // HWY_ONCE
