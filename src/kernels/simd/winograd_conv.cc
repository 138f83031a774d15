// Highway kernel of winograd_conv.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper, the weight transform and the kernel
// definition.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/winograd_conv.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/unaligned.h"
#include "kernels/simd/winograd_conv.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Vectors of at most one slice: the padded channel counts are whole slices.
using DF = hn::CappedTag<float, kWinogradSlice>;
using VF = hn::Vec<DF>;

// The GEMM's register block: kRows tiles by up to kMaxVectors vectors of output channels. With 16
// vector registers (SSE4, AVX2) 6 x 2 sums; with 32 (AVX-512, NEON) 6 x 4.
constexpr int kRows = static_cast<int>(kWinogradRowBlock);
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
constexpr int kMaxVectors = 2;
#else
constexpr int kMaxVectors = 4;
#endif

// B^T d over six inputs (a column or a row of the 6x6 tile).
HWY_INLINE void InputTransform(const VF in[6], VF out[6]) {
  const DF d;
  const VF two = hn::Set(d, 2.0f), four = hn::Set(d, 4.0f), five = hn::Set(d, 5.0f);
  out[0] = hn::MulAdd(four, in[0], hn::NegMulAdd(five, in[2], in[4]));
  const VF sum12 = hn::Add(in[1], in[2]), sum34 = hn::Add(in[3], in[4]);
  out[1] = hn::NegMulAdd(four, sum12, sum34);
  const VF diff12 = hn::Sub(in[1], in[2]), diff43 = hn::Sub(in[4], in[3]);
  out[2] = hn::MulAdd(four, diff12, diff43);
  const VF diff31 = hn::Sub(in[3], in[1]), diff42 = hn::Sub(in[4], in[2]);
  out[3] = hn::MulAdd(two, diff31, diff42);
  out[4] = hn::NegMulAdd(two, diff31, diff42);
  out[5] = hn::MulAdd(four, in[1], hn::NegMulAdd(five, in[3], in[5]));
}

// A^T m over six values: four outputs.
HWY_INLINE void OutputTransform(const VF in[6], VF out[4]) {
  const DF d;
  const VF sum12 = hn::Add(in[1], in[2]), sum34 = hn::Add(in[3], in[4]);
  const VF diff12 = hn::Sub(in[1], in[2]), diff34 = hn::Sub(in[3], in[4]);
  out[0] = hn::Add(hn::Add(in[0], sum12), sum34);
  out[1] = hn::MulAdd(hn::Set(d, 2.0f), diff34, diff12);
  out[2] = hn::MulAdd(hn::Set(d, 4.0f), sum34, sum12);
  out[3] = hn::MulAdd(hn::Set(d, 8.0f), diff34, hn::Add(diff12, in[5]));
}

struct TileOrigin {
  int64_t image, y, x;  // the tile's first output pixel
};

inline TileOrigin OriginOf(const WinogradConvGeometry& g, int64_t tile) {
  const int64_t per_image = g.tiles_h * g.tiles_w;
  const int64_t in_image = tile % per_image;
  return {tile / per_image, in_image / g.tiles_w * kWinogradTile,
          in_image % g.tiles_w * kWinogradTile};
}

// V and M hold each tile's channels in slices of 16, and each slice as its 36 positions of 16
// floats: [tile][slice][position][16]. A position's vectors then sit at constant offsets from the
// slice, for the transforms; the GEMM broadcasts V's floats and stores M's vectors at such offsets
// too.
constexpr int64_t kSlice = kWinogradSlice;
constexpr int64_t kSliceFloats = kWinogradPositions * kSlice;

// Element `at` (a channel) of a tile's slices, from the tile's first slice.
constexpr int64_t SliceOffset(int64_t at) { return at / kSlice * kSliceFloats + at % kSlice; }

// One tile's V: B^T d B, d the 6x6 window from (y - pad_top, x - pad_left), zero outside the
// image and past the channels. The rows' transforms go to `v`, then the columns' transforms read
// and overwrite them there.
void TransformInputTile(const WinogradConvGeometry& g, const float* x, int64_t tile, float* v) {
  const DF d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const NhwcConvShape& s = g.shape;
  const TileOrigin o = OriginOf(g, tile);
  const int64_t iy0 = o.y - s.window.pad[1], ix0 = o.x - s.window.pad[2];
  const float* image = x + o.image * s.in_h * s.in_w * s.channels;
  const float* rows[6];
  bool column_inside[6];
  for (int i = 0; i < 6; ++i) {
    const int64_t iy = iy0 + i, ix = ix0 + i;
    rows[i] = iy >= 0 && iy < s.in_h ? image + iy * s.in_w * s.channels : nullptr;
    column_inside[i] = ix >= 0 && ix < s.in_w;
  }
  for (int64_t c0 = 0; c0 < g.padded_channels; c0 += lanes) {
    float* out = v + SliceOffset(c0);
    const int64_t count = std::min(lanes, s.channels - c0);
    if (count <= 0) {
      for (int p = 0; p < kWinogradPositions; ++p) hn::Store(hn::Zero(d), d, out + p * kSlice);
      continue;
    }
    const auto valid = hn::FirstN(d, static_cast<size_t>(count));
    for (int i = 0; i < 6; ++i) {
      VF in[6], t[6];
      for (int j = 0; j < 6; ++j) {
        in[j] = rows[i] != nullptr && column_inside[j]
                    ? hn::MaskedLoad(valid, d, rows[i] + (ix0 + j) * s.channels + c0)
                    : hn::Zero(d);
      }
      InputTransform(in, t);
      for (int j = 0; j < 6; ++j) hn::Store(t[j], d, out + (i * 6 + j) * kSlice);
    }
    for (int j = 0; j < 6; ++j) {
      VF column[6], t[6];
      for (int i = 0; i < 6; ++i) column[i] = hn::Load(d, out + (i * 6 + j) * kSlice);
      InputTransform(column, t);
      for (int i = 0; i < 6; ++i) hn::Store(t[i], d, out + (i * 6 + j) * kSlice);
    }
  }
}

// Position p's products for kRowsHere tiles and kVectors vectors of output channels:
// m = sum over the input channels of v * u. v and m point at the first tile's position p in its
// first slice (of the inputs and of this group of outputs), tiles `v_stride` and `m_stride` floats
// apart; u at U[p]'s first input channel and this group, rows `u_stride` apart.
template <int kRowsHere, int kVectors>
HWY_INLINE void MultiplyBlock(const float* HWY_RESTRICT v, int64_t v_stride, int64_t slices,
                              const float* HWY_RESTRICT u, int64_t u_stride, float* HWY_RESTRICT m,
                              int64_t m_stride) {
  const DF d;
  constexpr int64_t kLanes = static_cast<int64_t>(hn::MaxLanes(d));
  VF acc[kRowsHere][kVectors];
  for (int r = 0; r < kRowsHere; ++r) {
    for (int j = 0; j < kVectors; ++j) acc[r][j] = hn::Zero(d);
  }
  for (int64_t slice = 0; slice < slices; ++slice) {
    const float* vs = v + slice * kSliceFloats;
    const float* us = u + slice * kSlice * u_stride;
    for (int64_t c = 0; c < kSlice; ++c) {
      VF w[kVectors];
      for (int j = 0; j < kVectors; ++j) w[j] = hn::Load(d, us + c * u_stride + j * kLanes);
      for (int r = 0; r < kRowsHere; ++r) {
        const VF a = hn::Set(d, vs[r * v_stride + c]);
        for (int j = 0; j < kVectors; ++j) acc[r][j] = hn::MulAdd(a, w[j], acc[r][j]);
      }
    }
  }
  for (int r = 0; r < kRowsHere; ++r) {
    for (int j = 0; j < kVectors; ++j) {
      hn::Store(acc[r][j], d, m + r * m_stride + SliceOffset(j * kLanes));
    }
  }
}

// MultiplyBlock of `rows` (1 to kRows - 1) tiles.
template <int kVectors, int... kLess>
HWY_INLINE void MultiplyRemainder(int64_t rows, const float* v, int64_t v_stride, int64_t slices,
                                  const float* u, int64_t u_stride, float* m, int64_t m_stride,
                                  std::integer_sequence<int, kLess...>) {
  ((rows == kLess + 1
        ? MultiplyBlock<kLess + 1, kVectors>(v, v_stride, slices, u, u_stride, m, m_stride)
        : void()),
   ...);
}

// All `rows` tiles of one group of kVectors vectors.
template <int kVectors>
void MultiplyRows(const float* v, int64_t v_stride, int64_t slices, const float* u,
                  int64_t u_stride, float* m, int64_t m_stride, int64_t rows) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) {
    MultiplyBlock<kRows, kVectors>(v + r * v_stride, v_stride, slices, u, u_stride,
                                   m + r * m_stride, m_stride);
  }
  MultiplyRemainder<kVectors>(rows - r, v + r * v_stride, v_stride, slices, u, u_stride,
                              m + r * m_stride, m_stride,
                              std::make_integer_sequence<int, kRows - 1>());
}

// MultiplyRows of a group of `vectors` (1 to kMaxVectors - 1) vectors.
template <int... kLess>
HWY_INLINE void MultiplyGroupRemainder(int64_t vectors, const float* v, int64_t v_stride,
                                       int64_t slices, const float* u, int64_t u_stride, float* m,
                                       int64_t m_stride, int64_t rows,
                                       std::integer_sequence<int, kLess...>) {
  ((vectors == kLess + 1
        ? MultiplyRows<kLess + 1>(v, v_stride, slices, u, u_stride, m, m_stride, rows)
        : void()),
   ...);
}

// M at position p = V at p x U[p], for the `rows` tiles of a block; v and m point at the first
// tile's position p.
void MultiplyPosition(const WinogradConvGeometry& g, const float* v, const float* u, float* m,
                      int64_t rows) {
  const DF d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t cp = g.padded_channels, kp = g.padded_out_channels;
  const int64_t slices = cp / kSlice, v_stride = slices * kSliceFloats;
  const int64_t m_stride = kp / kSlice * kSliceFloats;
  const int64_t vectors = kp / lanes;
  int64_t j = 0;
  for (; j + kMaxVectors <= vectors; j += kMaxVectors) {
    MultiplyRows<kMaxVectors>(v, v_stride, slices, u + j * lanes, kp, m + SliceOffset(j * lanes),
                              m_stride, rows);
  }
  MultiplyGroupRemainder(vectors - j, v, v_stride, slices, u + j * lanes, kp,
                         m + SliceOffset(j * lanes), m_stride, rows,
                         std::make_integer_sequence<int, kMaxVectors - 1>());
}

// One tile's outputs from its M (`m`, overwritten): A^T M A + bias (+ z), clamped to [lo, hi],
// the pixels inside the output stored. The rows' transforms go to the first four positions of
// each row of M, where the columns' transforms read them.
void TransformOutputTile(const WinogradConvGeometry& g, float* m, const float* bias, float lo,
                         float hi, const float* z, float* y, int64_t tile) {
  const DF d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const NhwcConvShape& s = g.shape;
  const TileOrigin o = OriginOf(g, tile);
  const int64_t rows = std::min(kWinogradTile, s.out_h - o.y);
  const int64_t columns = std::min(kWinogradTile, s.out_w - o.x);
  const int64_t k = s.out_channels;
  float* first = y + ((o.image * s.out_h + o.y) * s.out_w + o.x) * k;
  const float* first_z = z != nullptr ? z + (first - y) : nullptr;
  const VF vlo = hn::Set(d, lo), vhi = hn::Set(d, hi);
  for (int64_t k0 = 0; k0 < k; k0 += lanes) {
    float* in = m + SliceOffset(k0);
    for (int i = 0; i < 6; ++i) {
      VF row[6], t[4];
      for (int j = 0; j < 6; ++j) row[j] = hn::Load(d, in + (i * 6 + j) * kSlice);
      OutputTransform(row, t);
      for (int j = 0; j < 4; ++j) hn::Store(t[j], d, in + (i * 6 + j) * kSlice);
    }
    const int64_t width = std::min(lanes, k - k0);
    const auto valid = hn::FirstN(d, static_cast<size_t>(width));
    const VF b = hn::Load(d, bias + k0);
    for (int64_t j = 0; j < columns; ++j) {
      VF column[6], out[4];
      for (int i = 0; i < 6; ++i) column[i] = hn::Load(d, in + (i * 6 + j) * kSlice);
      OutputTransform(column, out);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t at = (r * s.out_w + j) * k + k0;
        VF value = hn::Add(out[r], b);
        if (first_z != nullptr) value = hn::Add(value, hn::MaskedLoad(valid, d, first_z + at));
        value = hn::Min(hn::Max(value, vlo), vhi);
        if (width == lanes) {
          hn::StoreU(value, d, first + at);
        } else {
          hn::BlendedStore(value, valid, d, first + at);
        }
      }
    }
  }
}

void WinogradConvTilesImpl(const WinogradConvGeometry& g, const float* u, const float* bias,
                           float lo, float hi, const float* x, const float* z, float* y,
                           int64_t tile_begin, int64_t tile_end, float* scratch) {
  const int64_t block = g.tiles_per_block;
  const int64_t cp = g.padded_channels, kp = g.padded_out_channels;
  const int64_t v_tile = cp / kSlice * kSliceFloats, m_tile = kp / kSlice * kSliceFloats;
  float* v = scratch;                   // [block][cp / 16][36][16]
  float* m = scratch + block * v_tile;  // [block][kp / 16][36][16]
  // Blocks of equal size (at most `block` tiles): a thread's share of 25 tiles of 6-tile blocks
  // runs as 5 blocks of 5, not 4 of 6 and one of 1.
  const int64_t tiles = tile_end - tile_begin;
  const int64_t blocks = (tiles + block - 1) / block;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t t0 = tile_begin + tiles * b / blocks;
    const int64_t count = tile_begin + tiles * (b + 1) / blocks - t0;
    for (int64_t i = 0; i < count; ++i) TransformInputTile(g, x, t0 + i, v + i * v_tile);
    for (int64_t p = 0; p < kWinogradPositions; ++p) {
      MultiplyPosition(g, v + p * kSlice, u + p * cp * kp, m + p * kSlice, count);
    }
    for (int64_t i = 0; i < count; ++i) {
      TransformOutputTile(g, m + i * m_tile, bias, lo, hi, z, y, t0 + i);
    }
  }
}

// U = G g G^T for sixteen output channels at a time, a vector of them per operation, so that
// each position's row of U is written as whole cache lines (one channel at a time, writing 36
// floats 1 KiB apart, took 0.5 ms per ResNet-18 64-channel conv, and in scalar double 2.5% of its
// load). In double, rounded to float once: in float, Inception v3 moved 7.6e-4 from the
// reference, over its test's limit of 7.0e-4. Channels past out_channels and rows past channels
// stay zero.
void TransformWeightsImpl(const std::byte* oihw, int64_t out_channels, int64_t channels,
                          int64_t padded_channels, int64_t padded_out_channels, float* u) {
  static constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
  const hn::CappedTag<double, kWinogradSlice> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many floats as dd has doubles
  using VD = hn::Vec<decltype(dd)>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(dd));
  HWY_ALIGN double taps[9][kWinogradSlice];  // the filters' 9 taps, a channel per lane
  for (int64_t c = 0; c < padded_channels; ++c) {
    for (int64_t k0 = 0; k0 < padded_out_channels; k0 += kWinogradSlice) {
      const int64_t count =
          c < channels ? std::clamp<int64_t>(out_channels - k0, 0, kWinogradSlice) : 0;
      for (int i = 0; i < 9; ++i) {
        for (int64_t kk = 0; kk < kWinogradSlice; ++kk) {
          taps[i][kk] =
              kk < count ? LoadAnyAlignment<float>(oihw, ((k0 + kk) * channels + c) * 9 + i) : 0;
        }
      }
      for (int64_t l = 0; l < kWinogradSlice; l += lanes) {
        VD g[9];
        for (int i = 0; i < 9; ++i) g[i] = hn::Load(dd, taps[i] + l);
        VD gw[6][3];  // G g
        for (int i = 0; i < 6; ++i) {
          for (int j = 0; j < 3; ++j) {
            gw[i][j] = hn::MulAdd(hn::Set(dd, kG[i][0]), g[j],
                                  hn::MulAdd(hn::Set(dd, kG[i][1]), g[3 + j],
                                             hn::Mul(hn::Set(dd, kG[i][2]), g[6 + j])));
          }
        }
        for (int i = 0; i < 6; ++i) {
          for (int j = 0; j < 6; ++j) {
            const VD value = hn::MulAdd(hn::Set(dd, kG[j][0]), gw[i][0],
                                        hn::MulAdd(hn::Set(dd, kG[j][1]), gw[i][1],
                                                   hn::Mul(hn::Set(dd, kG[j][2]), gw[i][2])));
            hn::StoreU(hn::DemoteTo(df, value), df,
                       u + ((i * 6 + j) * padded_channels + c) * padded_out_channels + k0 + l);
          }
        }
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <hwy/aligned_allocator.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "kernels/openmp_shares.h"
#include "kernels/ref/ref_util.h"
#include "kernels/simd/simd_target.h"

namespace edgerun {
namespace internal {
HWY_EXPORT(WinogradConvTilesImpl);
HWY_EXPORT(TransformWeightsImpl);
}  // namespace internal

void RunWinogradConvTiles(const WinogradConvGeometry& g, const float* u, const float* bias,
                          float lo, float hi, const float* x, const float* z, float* y,
                          int64_t tile_begin, int64_t tile_end, float* scratch) {
  HWY_DYNAMIC_DISPATCH(internal::WinogradConvTilesImpl)
  (g, u, bias, lo, hi, x, z, y, tile_begin, tile_end, scratch);
}

namespace {

// A block's V and M together: about this many bytes (in a core's L2 with U).
constexpr int64_t kBlockBytes = 256 * 1024;
// Up to this many bytes U stays in a core's L2 across the blocks.
constexpr int64_t kWeightBytesKeptInL2 = 1 << 20;

int64_t PadToSlice(int64_t n) { return (n + kWinogradSlice - 1) / kWinogradSlice * kWinogradSlice; }

}  // namespace

WinogradConvGeometry MakeWinogradConvGeometry(const NhwcConvShape& shape, int threads) {
  WinogradConvGeometry g;
  g.shape = shape;
  g.tiles_h = (shape.out_h + kWinogradTile - 1) / kWinogradTile;
  g.tiles_w = (shape.out_w + kWinogradTile - 1) / kWinogradTile;
  g.padded_channels = PadToSlice(shape.channels);
  g.padded_out_channels = PadToSlice(shape.out_channels);
  // Whole register blocks of tiles, as many as fit the block's bytes.
  const int64_t tile_bytes =
      kWinogradPositions * (g.padded_channels + g.padded_out_channels) * int64_t{sizeof(float)};
  g.tiles_per_block =
      std::max<int64_t>(1, kBlockBytes / tile_bytes / kWinogradRowBlock) * kWinogradRowBlock;
  if (g.weight_floats() * int64_t{sizeof(float)} > kWeightBytesKeptInL2) {
    // Each block reads all of U: larger ones came from L3 once per block (ResNet's 128-channel
    // 28x28 convs: 8 blocks, 19 MB a run). One block per thread reads it once.
    g.tiles_per_block = std::max<int64_t>(g.tiles_per_block, (g.tiles() + threads - 1) / threads);
  }
  return g;
}

void TransformWinogradWeights(const std::byte* oihw, int64_t out_channels, int64_t channels,
                              int64_t padded_channels, int64_t padded_out_channels, float* u) {
  HWY_DYNAMIC_DISPATCH(internal::TransformWeightsImpl)
  (oihw, out_channels, channels, padded_channels, padded_out_channels, u);
}

namespace {

constexpr int kBias = 2;
constexpr int kResidual = 3;
constexpr int64_t kMinChannels = 8;
constexpr int64_t kMinOutChannels = 16;

struct WinogradState : KernelState {
  std::string name = std::string("winograd_f4x4:") + SimdTarget();
  WinogradConvGeometry geometry;
  hwy::AlignedFreeUniquePtr<float[]> weights;  // U
  hwy::AlignedFreeUniquePtr<float[]> bias;     // padded_out_channels
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  bool residual = false;
  int threads = 1;

  size_t persistent_bytes() const override {
    const WinogradConvGeometry& g = geometry;
    return static_cast<size_t>(g.weight_floats() + g.padded_out_channels) *
           sizeof(float);  // U, bias
  }
  std::string_view implementation() const override { return name; }
};

// Fills `s` (all but the weights) from the node, or says why the node is not this kernel's.
Status ReadNode(const PrepareContext& ctx, WinogradState* s) {
  if (!ctx.winograd) return ctx.NotSupported("Winograd not allowed");
  const auto& in = ctx.inputs;
  if (in.size() < 2 || in[0].dtype != DType::kF32 || in[1].dtype != DType::kF32 ||
      ctx.outputs.empty() || ctx.outputs[0].dtype != DType::kF32 || ctx.constants.size() < 2 ||
      ctx.constants[1] == nullptr) {
    return ctx.NotSupported("f32 input and constant f32 weights");
  }
  ASSIGN_OR_RETURN(NhwcConvShape shape, ReadNhwcConvShape(ctx, 1));
  const Window3d& w = shape.window;
  if (shape.group != 1 || w.kernel[1] != 3 || w.kernel[2] != 3 || w.stride[1] != 1 ||
      w.stride[2] != 1 || w.dilation[1] != 1 || w.dilation[2] != 1) {
    return ctx.NotSupported("not an ungrouped 3x3 stride-1 conv");
  }
  if (shape.channels < kMinChannels || shape.out_channels < kMinOutChannels ||
      shape.batch * shape.out_h * shape.out_w == 0) {
    return ctx.NotSupported("too few channels");
  }
  s->geometry = MakeWinogradConvGeometry(shape);
  const WinogradConvGeometry& g = s->geometry;
  const bool large_map = shape.out_h * shape.out_w >= kWinogradLargeMap;
  if (g.weight_floats() * int64_t{sizeof(float)} >
      (large_map ? kMaxWinogradWeightBytesLargeMap : kMaxWinogradWeightBytes)) {
    return ctx.NotSupported("transformed weights over kMaxWinogradWeightBytes");
  }
  if (InputPresent(in, kBias) &&
      (in[kBias].dtype != DType::kF32 || ctx.constants.size() <= kBias ||
       ctx.constants[kBias] == nullptr || in[kBias].num_elements() != shape.out_channels)) {
    return ctx.NotSupported("bias not a constant f32 vector");
  }
  s->residual = InputPresent(in, kResidual);
  if (s->residual &&
      (in[kResidual].dtype != DType::kF32 || in[kResidual].dims != ctx.outputs[0].dims)) {
    return ctx.NotSupported("residual input not shaped as the output");
  }
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  if (act.has_affine()) return ctx.NotSupported("activation affine");
  switch (act.kind) {
    case FusedActivation::Kind::kNone:
      break;
    case FusedActivation::Kind::kRelu:
      s->lo = 0.0f;
      break;
    case FusedActivation::Kind::kClip:
      s->lo = act.a;
      s->hi = act.b;
      break;
    default:
      return ctx.NotSupported("activation other than Relu or Clip");
  }
  return Status::Ok();
}

bool SupportsWinogradConv(const SupportContext& ctx) {
  PrepareContext pctx(ctx);
  WinogradState s;
  return ReadNode(pctx, &s).ok();
}

// With `share_tiles` (the oneDNN path, whose OpenMP workers spin between layers) the tiles are
// shared across the team when the layer is worth it.
Status PrepareWinogradConv(PrepareContext& ctx, bool share_tiles) {
  auto s = std::make_unique<WinogradState>();
  RETURN_IF_ERROR(ReadNode(ctx, s.get()));
  const WinogradConvGeometry& g = s->geometry;
  const NhwcConvShape& shape = g.shape;
  s->weights = hwy::AllocateAligned<float>(static_cast<size_t>(g.weight_floats()));
  s->bias = hwy::AllocateAligned<float>(static_cast<size_t>(g.padded_out_channels));
  if (s->weights == nullptr || s->bias == nullptr) {
    return ctx.Invalid("out of memory for Winograd weights");
  }
  TransformWinogradWeights(ctx.constants[1]->UnalignedBytes(), shape.out_channels, shape.channels,
                           g.padded_channels, g.padded_out_channels, s->weights.get());
  std::fill(s->bias.get(), s->bias.get() + g.padded_out_channels, 0.0f);
  ctx.packed_constant_inputs |= 1u << 1;
  if (InputPresent(ctx.inputs, kBias)) {
    const std::byte* b = ctx.constants[kBias]->UnalignedBytes();
    for (int64_t k = 0; k < shape.out_channels; ++k) s->bias[k] = LoadAnyAlignment<float>(b, k);
    ctx.packed_constant_inputs |= 1u << kBias;
  }
  const double macs = static_cast<double>(shape.batch * shape.out_h * shape.out_w) *
                      static_cast<double>(shape.channels * shape.out_channels * 9);
  if (share_tiles && WorthSharing(macs, ctx.share_every_layer)) {
    s->threads = ctx.num_threads;
    const NhwcConvShape read = shape;  // the geometry (and `shape` in it) is rebuilt
    s->geometry = MakeWinogradConvGeometry(read, s->threads);
  }
  ctx.scratch_bytes =
      static_cast<size_t>(g.scratch_floats()) * sizeof(float) * static_cast<size_t>(s->threads);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeWinogradConv(InvokeContext& ctx) {
  const auto& s = ctx.state_as<WinogradState>();
  const WinogradConvGeometry& g = s.geometry;
  const auto* x = static_cast<const float*>(ctx.inputs[0].raw);
  const auto* z = s.residual ? static_cast<const float*>(ctx.inputs[kResidual].raw) : nullptr;
  auto* y = static_cast<float*>(ctx.outputs[0].raw);
  auto* scratch = static_cast<float*>(ctx.scratch);
  // Shares of single tiles: 49 tiles in 6-tile granules split 30 / 19.
  ForEachShare(static_cast<size_t>(g.tiles()), s.threads, 1, [&](size_t begin, size_t end) {
    float* own = scratch + g.scratch_floats() * omp_get_thread_num();
    RunWinogradConvTiles(g, s.weights.get(), s.bias.get(), s.lo, s.hi, x, z, y,
                         static_cast<int64_t>(begin), static_cast<int64_t>(end), own);
  });
  return Status::Ok();
}

Status PrepareWinogradConvAlone(PrepareContext& ctx) { return PrepareWinogradConv(ctx, false); }
Status PrepareWinogradConvOnOpenMp(PrepareContext& ctx) { return PrepareWinogradConv(ctx, true); }

}  // namespace

KernelDef FastWinogradConvKernel(KernelPath path) {
  return {"Conv",
          path,
          DTypeSet{DType::kF32},
          SupportsWinogradConv,
          path == KernelPath::kOnednn ? PrepareWinogradConvOnOpenMp : PrepareWinogradConvAlone,
          InvokeWinogradConv,
          kNhwcDomain,
          /*may_run_in_place=*/true,
          /*output_aliases_input=*/false,
          /*setup=*/nullptr,
          /*in_place_input=*/kResidual};
}

}  // namespace edgerun
#endif  // HWY_ONCE
