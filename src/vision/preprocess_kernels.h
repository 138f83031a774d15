// SIMD row kernels of the preprocessor, compiled for several instruction sets with Highway and
// picked at run time (HWY_DYNAMIC_DISPATCH): AVX2/AVX-512 on x86-64, NEON on ARM, SSE4/scalar
// elsewhere. Each kernel works on one row so the caller can fuse stages and keep rows in cache.
//   LinearRow(3, row0, row1, row_bytes, xofs, a0, a1, width, b0, b1, dst);  // INTER_LINEAR row
//   PackRow(params, rgb_row, width, tensor_row, plane_bytes);     // u8 pixels -> tensor
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "edgerun/vision/preprocess_spec.h"

namespace edgerun::vision::internal {

// OpenCV INTER_LINEAR's fixed point: 11-bit weights, horizontal sums exact in int32.
inline constexpr int kLinearCoefBits = 11;
inline constexpr int kLinearCoefScale = 1 << kLinearCoefBits;

// One output row of OpenCV INTER_LINEAR on u8 pixels with `channels` (1..4) interleaved channels,
// from source rows s0 and s1 (each `row_bytes` readable bytes). Per output pixel x the taps are
// the pixels at byte offsets xofs[x] and xofs[x] + channels with weights a0[x], a1[x] (summing to
// 2048; a1 is 0 where the right tap would leave the row); b0 + b1 = 2048 weight the rows.
// Rounding is OpenCV's vectorized one: h = exact int32 horizontal sum, then
// (((h0 >> 4) * b0 >> 16) + ((h1 >> 4) * b1 >> 16) + 2) >> 2, saturated to u8.
void LinearRow(int channels, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
               const int32_t* xofs, const int32_t* a0, const int32_t* a1, int dw, int b0, int b1,
               uint8_t* dst);

// INTER_LINEAR tables for LinearRow: per destination pixel the byte offset of its left tap and
// both weights, per destination row both source rows and weights. `a01` (for LinearPackRow) is
// filled separately by PairLinearWeights.
struct LinearTables {
  std::vector<int32_t> ofs0, a0, a1;
  std::vector<int32_t> y0, y1, b0, b1;
  std::vector<int32_t> a01;
};
// True when PlaneResizer runs OpenCV's linear filter for these sizes: bilinear, or area when
// enlarging on an axis. Sizes must differ.
bool UsesLinearFilter(ResizeMode mode, int src_width, int src_height, int dst_width,
                      int dst_height);
void MakeLinearTables(ResizeMode mode, int src_width, int src_height, int dst_width, int dst_height,
                      int channels, LinearTables* t);
// Each pixel's (a0, a1) as a little-endian int16 pair in one int32: the operand of a pairwise
// 16-bit multiply-add.
std::vector<int32_t> PairLinearWeights(const LinearTables& t);

// YUV -> packed R,G,B u8 for one row. `u`/`v` hold one chroma sample per two pixels, `uv_step`
// bytes apart (1 planar, 2 interleaved NV12). Coefficients are 16-bit fixed point.
struct YuvCoeffs {
  int y_offset = 16;  // 0 for full range
  int y_scale = 0;    // Y multiplier << 16
  int r_v = 0;        // R += r_v * (V - 128)
  int g_u = 0;        // G -= g_u * (U - 128)
  int g_v = 0;        // G -= g_v * (V - 128)
  int b_u = 0;        // B += b_u * (U - 128)
};
YuvCoeffs MakeYuvCoeffs(YuvMatrix matrix, YuvRange range);
void YuvToRgbRow(const uint8_t* y, const uint8_t* u, const uint8_t* v, int uv_step, int width,
                 const YuvCoeffs& c, uint8_t* dst);

// u8 pixels (1, 3 or 4 interleaved channels) -> one tensor row: out channel c reads input channel
// src_channel[c], value = x * k[c] + b[c]; for u8/i8 the value is rounded (to nearest even) and
// clamped to [qmin, qmax] (k, b already include the quantization scale and zero point).
struct PackParams {
  int in_channels = 3;
  int out_channels = 3;
  int src_channel[3] = {0, 1, 2};
  float k[3] = {1, 1, 1};
  float b[3] = {0, 0, 0};
  OutputDType dtype = OutputDType::kF32;
  Layout layout = Layout::kNchw;
  float qmin = 0;
  float qmax = 255;
};
// `dst` is the row's first element; NCHW planes are `plane_bytes` apart.
void PackRow(const PackParams& p, const uint8_t* src, int width, void* dst, size_t plane_bytes);

// LinearRow followed by PackRow without the u8 row in between: `p.in_channels` (1, 3 or 4)
// interleaved source channels, `dw` output pixels written to `dst` as PackRow does. `a01` is
// PairLinearWeights of the tables. Results are identical to LinearRow + PackRow.
void LinearPackRow(const PackParams& p, const uint8_t* s0, const uint8_t* s1, size_t row_bytes,
                   const int32_t* xofs, const int32_t* a0, const int32_t* a1, const int32_t* a01,
                   int dw, int b0, int b1, void* dst, size_t plane_bytes);

}  // namespace edgerun::vision::internal
