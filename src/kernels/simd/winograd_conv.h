// 3x3 stride-1 f32 NHWC convolutions by Winograd F(4x4,3x3), with Highway. Each 4x4 output tile
// is A^T [U (.) (B^T d B)] A: d is the tile's 6x6 input window, U = G g G^T the 3x3 filter
// transformed once at prepare (36 positions), so a tile costs 36 multiplies per input and output
// channel instead of 144. Per block of tiles: the inputs' transforms into V[36][tiles][C], 36
// GEMMs V[p] x U[p] into M[36][tiles][K], then the outputs' transforms with bias, the residual and
// Relu/Clip, stored NHWC. Results differ from a direct conv by rounding (the transforms' constants
// reach 8 and 1/24): up to a few 1e-6 of the largest output at these channel counts.
//
// oneDNN 2.6 offers only F(2x2,3x3) for these layers (jit_fp32_wino_2x3, 16 multiplies a tile of
// 4 pixels instead of 36 for 16), and only in its blocked layout, with reorders from and to NHWC
// around it. Its transformed weights are 16/9 of the filter; these are 4x, so the kernel takes
// layers whose transformed weights stay small (kMaxWinogradWeightBytes).
//   TransformWinogradWeights(oihw, k, c, g.padded_channels, g.padded_out_channels, u);  // prepare
//   RunWinogradConvTiles(g, u, bias, lo, hi, x, z, y, begin, end, scratch);  // tiles [begin, end)
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/ref/conv.h"

namespace edgerun {

inline constexpr int64_t kWinogradPositions = 36;  // a 6x6 input tile
inline constexpr int64_t kWinogradTile = 4;        // a 4x4 output tile
// Channel counts are padded to, and V and M cut into, slices of this many floats (the widest
// vector).
inline constexpr int64_t kWinogradSlice = 16;
// The GEMM's register block holds this many tiles; blocks of tiles are multiples of it.
inline constexpr int64_t kWinogradRowBlock = 6;
// The largest transformed weights the kernel takes: peak RSS counts them (4x the filter's).
// On maps of kWinogradLargeMap pixels or more, where F(4x4,3x3) saves the most over oneDNN's
// direct or F(2x2,3x3) kernels, up to kMaxWinogradWeightBytesLargeMap (ResNet's 128-channel
// 28x28 convs: 2.25 MiB).
inline constexpr int64_t kMaxWinogradWeightBytes = 1 << 20;
inline constexpr int64_t kMaxWinogradWeightBytesLargeMap = 5 << 19;
inline constexpr int64_t kWinogradLargeMap = 28 * 28;

struct WinogradConvGeometry {
  NhwcConvShape shape;               // as ReadNhwcConvShape reads it
  int64_t tiles_h = 0, tiles_w = 0;  // 4x4 output tiles down and across an image
  int64_t padded_channels = 0;       // C rounded up to kWinogradSlice
  int64_t padded_out_channels = 0;   // K rounded up to kWinogradSlice
  int64_t tiles_per_block = 0;       // the tiles transformed and multiplied together

  int64_t tiles() const { return shape.batch * tiles_h * tiles_w; }
  // U's floats: 36 positions x padded channels x padded output channels.
  int64_t weight_floats() const {
    return kWinogradPositions * padded_channels * padded_out_channels;
  }
  // V and M of one block, in floats.
  int64_t scratch_floats() const {
    return kWinogradPositions * tiles_per_block * (padded_channels + padded_out_channels);
  }
};

// The geometry of a conv of `shape` (3x3, stride 1, no dilation, ungrouped) whose tiles
// `threads` threads share.
WinogradConvGeometry MakeWinogradConvGeometry(const NhwcConvShape& shape, int threads = 1);

// U[36][padded_channels][padded_out_channels] (64-byte aligned) from 3x3 OIHW weights at any
// alignment; the padding is zero.
void TransformWinogradWeights(const std::byte* oihw, int64_t out_channels, int64_t channels,
                              int64_t padded_channels, int64_t padded_out_channels, float* u);

// Tiles [tile_begin, tile_end) (over batch x tiles_h x tiles_w) of x [N, H, W, C] into y
// [N, OH, OW, K]: clamp(conv + bias + z, lo, hi). bias holds padded_out_channels floats; z (the
// residual, shaped as y) may be null, and may be y itself. scratch holds scratch_floats(), 64-byte
// aligned.
void RunWinogradConvTiles(const WinogradConvGeometry& g, const float* u, const float* bias,
                          float lo, float hi, const float* x, const float* z, float* y,
                          int64_t tile_begin, int64_t tile_end, float* scratch);

// NHWC Conv (kNhwcDomain) of f32, 3x3 windows, stride 1, no dilation, one group, constant weights
// and bias, at least 8 input and 16 output channels, fused activation none, Relu or Clip, optional
// residual; only with Winograd allowed (SupportContext::winograd). On the oneDNN path the tiles
// are shared across the OpenMP team.
KernelDef FastWinogradConvKernel(KernelPath path);

}  // namespace edgerun
