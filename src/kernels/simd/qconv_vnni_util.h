// What edgerun's int8 conv kernels for AVX-512 VNNI (qdepthwise_vnni.cc, qpointwise_vnni.cc,
// qstem_vnni.cc) share: reading a QLinearConv node's quantization into the reference's
// requantization (kernels/ref/qlinear.cc: float(acc) * multiplier, clamp, round half to even,
// + zero point), and that requantization of 64 sums into 64 bytes; for the two that broadcast
// four input bytes against 16 output channels' weights (qpointwise, qstem), the weights laid out
// in blocks of output channels. All compute s8 inputs and outputs as u8 (the bytes flipped by
// 0x80).
//   QConvGeometry g;
//   RETURN_IF_ERROR(ReadQConvGeometry(ctx, &g));              // NotSupported: not ours
//   QConvRequant r;
//   RETURN_IF_ERROR(ReadQConvRequant(ctx, g.out_channels, &r));
//   RETURN_IF_ERROR(FoldInputZeroPoint(ctx, out_channels, weights_per_channel, r, &bias));
//   ... const ByteRequant b = MakeByteRequant(r);  bytes = RequantizeTo64Bytes(acc, multipliers,
//   b);
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/ref/conv.h"

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12 warns inside its own AVX-512 intrinsics, which pass _mm512_undefined_*() values along.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define EDGERUN_VNNI_X86 1
#define EDGERUN_VNNI_TARGET gnu::target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
#define EDGERUN_VNNI_INLINE [[EDGERUN_VNNI_TARGET, gnu::always_inline]] inline
// Lambdas do not take the enclosing function's target.
#define EDGERUN_VNNI_LAMBDA \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"), always_inline))
#endif

namespace edgerun {

// An NHWC QLinearConv's shapes and 2-D window, the window also as ints for the kernels' loops.
// The kernels' states derive from it.
struct QConvGeometry : NhwcConvShape {
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;  // the trailing pads follow from the sizes

  int64_t out_pixels() const { return batch * out_h * out_w; }
};

// Reads the geometry of x [N, H, W, C], w [M, C / group, kh, kw] and y [N, OH, OW, M].
// NotSupported unless all are 4-D, consistent and not empty.
Status ReadQConvGeometry(const PrepareContext& ctx, QConvGeometry* g);

struct QConvRequant {
  bool signed_input = false, signed_output = false;
  // The input zero point as the kernels compute it (s8: + 128).
  int32_t x_zero_point = 0;
  // The clamp in output units (the activation's and the output type's bounds, relative to the
  // zero point), and the zero point of the stored bytes (s8 outputs: + 128).
  float lo = 0, hi = 0;
  int32_t stored_zero_point = 0;
  std::vector<float> multipliers;  // per output channel: x_scale * w_scale / y_scale

  // The clamp on the stored bytes: rounding is monotone, so rounding the clamped value equals
  // clamping the rounded one to the rounded bounds.
  uint8_t byte_lo() const;
  uint8_t byte_hi() const;
};

// QLinearConvAdd's add (kernels/ref/qlinear.cc, ConvAddRows) in the sum's output units:
// fma(z - z_zero_point, beta, (a - a_zp) * alpha), where a - a_zp, the conv's quantized output,
// is its rounded value clamped to [conv_lo, conv_hi].
struct QConvResidual {
  float alpha = 0, beta = 0;
  float z_zero_point = 0;  // as computed: s8 residuals flipped to u8, + 128
  bool signed_z = false;
  int32_t conv_lo = 0, conv_hi = 0;
};

// Reads QLinearConv's types and constant quantization parameters. NotSupported unless the
// activations are u8/s8 with per-tensor parameters, the weights s8 with zero point 0, the
// parameters and bias constant and the fused activation none, Relu or Clip. With `residual`
// (QLinearConvAdd), also the add's, which then owns the activation and the output parameters
// in `r`; the multipliers stay the conv's.
Status ReadQConvRequant(const PrepareContext& ctx, int64_t out_channels, QConvRequant* r,
                        QConvResidual* residual = nullptr);

// B[n] - x_zero_point * sum of output channel n's weights (`per_channel` weights each, s8,
// [out_channels][per_channel]). NotSupported when one leaves the int32 range, or when a sum times
// its multiplier could leave it (RequantizeTo64Bytes converts the products to int32 unclamped).
Status FoldInputZeroPoint(const PrepareContext& ctx, int64_t out_channels, int64_t per_channel,
                          const QConvRequant& r, std::vector<int32_t>* bias);

// Tells the session that the kernel keeps its own copies of the weights and the bias.
void MarkWeightsAndBiasPacked(PrepareContext& ctx);

// Output channels in blocks of 64 (four vectors of 16), then one of 32 and one of 16 for what
// remains (padded when 17-31 or fewer than 16 are left). Packing a block's int32 vectors to bytes
// (dword -> word -> byte, in 128-bit lanes) interleaves them: vector j, lane i lands in byte
// (16 or 8) * (i / 4) + 4 * j + i % 4 of a 64- or 32-channel block (a 16-channel block narrows in
// order). Weights, biases and multipliers are stored in that lane order.
struct QOutputBlock {
  int64_t first = 0;  // the block's first output channel
  int vectors = 4;
  int channels = 64;  // real channels: the last block may be padded
};

// The output channel (from the block's first) that vector j's lane i of a block holds.
inline int64_t ChannelOfLane(int vectors, int64_t j, int64_t i) {
  return vectors == 1 ? i : 4 * vectors * (i / 4) + 4 * j + i % 4;
}

// A conv's weights as the broadcasting kernels read them: each output channel a dot product of
// 4 * groups bytes, a vpdpbusd per group of four. Per block, from byte block.first * 4 * groups
// of `weights` and element block.first of the others: weights [group][vector][lane][byte r],
// bias and multipliers [vector][lane]; 0 for padding channels.
struct QBlockedWeights {
  std::vector<QOutputBlock> blocks;
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  std::vector<float> multipliers;

  size_t bytes() const {
    return weights.size() + bias.size() * sizeof(int32_t) + multipliers.size() * sizeof(float);
  }
};

// Packs `out_channels` dot products of 4 * groups bytes, byte t of channel ch being
// weight_at(ch, t), with each channel's bias and multiplier (FoldInputZeroPoint's bias and
// QConvRequant's multipliers, moved in: the kernels read the packed copy only).
QBlockedWeights PackBlockedWeights(int64_t out_channels, int64_t groups,
                                   std::span<const int32_t> bias, std::vector<float> multipliers,
                                   const std::function<int8_t(int64_t ch, int64_t t)>& weight_at);

#ifdef EDGERUN_VNNI_X86
// Four input bytes from `at`, broadcast to 16 lanes (s8 inputs flipped to u8).
template <bool kSignedInput>
EDGERUN_VNNI_INLINE __m512i BroadcastFourBytes(const uint8_t* at) {
  int32_t v;
  std::memcpy(&v, at, 4);
  const __m512i b = _mm512_set1_epi32(v);
  return kSignedInput ? _mm512_xor_si512(b, _mm512_set1_epi8(-128)) : b;
}

// QConvRequant's constants in vectors. The steps that change nothing are skipped: the clamp when
// it spans [0, 255], the 0x80 flip for u8 outputs, adding a zero point of 0. In layers of few
// input channels requantizing is most of the work on the two ports that run 512-bit instructions,
// and these took 5 of its 20 instructions per 64 outputs (MobileNetV2 QDQ: 2.03 -> 1.85 ms at 1
// thread).
struct ByteRequant {
  __m512i zero_point;   // 32 x int16
  __m512i lo, hi;       // 64 x u8
  bool add_zero_point;  // the stored zero point is not 0
  bool clamp;           // [lo, hi] is narrower than [0, 255]
  bool flip_output;     // s8 outputs: the bytes flipped by 0x80
};

[[EDGERUN_VNNI_TARGET]] inline ByteRequant MakeByteRequant(const QConvRequant& r) {
  return {_mm512_set1_epi16(static_cast<int16_t>(r.stored_zero_point)),
          _mm512_set1_epi8(static_cast<char>(r.byte_lo())),
          _mm512_set1_epi8(static_cast<char>(r.byte_hi())),
          r.stored_zero_point != 0,
          r.byte_lo() != 0 || r.byte_hi() != 255,
          r.signed_output};
}

// Two vectors of rounded values as 32 words (in-lane order) plus the zero point, saturated.
EDGERUN_VNNI_INLINE __m512i PackToWords(__m512i a, __m512i b, const ByteRequant& r) {
  const __m512i words = _mm512_packs_epi32(a, b);
  return r.add_zero_point ? _mm512_adds_epi16(words, r.zero_point) : words;
}

// Bytes packed with unsigned saturation, clamped and flipped as `r` says.
EDGERUN_VNNI_INLINE __m512i ClampAndFlip(__m512i bytes, const ByteRequant& r) {
  if (r.clamp) bytes = _mm512_min_epu8(_mm512_max_epu8(bytes, r.lo), r.hi);
  return r.flip_output ? _mm512_xor_si512(bytes, _mm512_set1_epi8(-128)) : bytes;
}

// round(float(acc) * multiplier) in 16 lanes, half to even whatever MXCSR says.
EDGERUN_VNNI_INLINE __m512i ScaleAndRound(__m512i acc, __m512 multiplier) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  return _mm512_cvt_roundps_epi32(
      _mm512_mul_ps(_mm512_cvt_roundepi32_ps(acc, kNearest), multiplier), kNearest);
}

// Rounded values (relative to the zero point) of four vectors as 64 bytes: vector j's lane i in
// byte 16 * (i / 4) + 4 * j + i % 4 (the in-lane order of packing dwords to words to bytes). The
// zero point is added with 16-bit saturation, which keeps every value that can reach a byte;
// packing to bytes saturates to [0, 255], and the clamp to [byte_lo, byte_hi] does the rest.
EDGERUN_VNNI_INLINE __m512i PackTo64Bytes(const __m512i q[4], const ByteRequant& r) {
  const __m512i low = PackToWords(q[0], q[1], r);
  const __m512i high = PackToWords(q[2], q[3], r);
  return ClampAndFlip(_mm512_packus_epi16(low, high), r);
}

// The same for two vectors: vector j's lane i in byte 8 * (i / 4) + 4 * j + i % 4 of the low 32.
EDGERUN_VNNI_INLINE __m256i PackTo32Bytes(const __m512i q[2], const ByteRequant& r) {
  const __m512i words = PackToWords(q[0], q[1], r);
  const __m512i bytes = ClampAndFlip(_mm512_packus_epi16(words, words), r);
  // Bytes 0-7 of each 128-bit lane: qwords 0, 2, 4 and 6.
  return _mm512_castsi512_si256(
      _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 0, 2, 4, 6), bytes));
}

// And for one vector, in lane order.
EDGERUN_VNNI_INLINE __m128i PackTo16Bytes(__m512i q, const ByteRequant& r) {
  const __m512i words = PackToWords(q, q, r);
  const __m512i bytes = ClampAndFlip(_mm512_packus_epi16(words, words), r);
  // Bytes 0-3 of each 128-bit lane: dwords 0, 4, 8 and 12.
  return _mm512_castsi512_si128(_mm512_permutexvar_epi32(
      _mm512_setr_epi32(0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12), bytes));
}

// One pixel's rounded values of a block of kVectors vectors (QOutputBlock's lane order) as bytes
// at y, the bytes past the block's real channels (tail_mask) not stored.
template <int kVectors>
EDGERUN_VNNI_INLINE void StoreBlockBytes(uint8_t* y, const __m512i q[kVectors], __mmask32 tail_mask,
                                         const ByteRequant& r) {
  if constexpr (kVectors == 4) {
    _mm512_storeu_si512(y, PackTo64Bytes(q, r));
  } else if constexpr (kVectors == 2) {
    _mm256_mask_storeu_epi8(y, tail_mask, PackTo32Bytes(q, r));
  } else {
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>(tail_mask), PackTo16Bytes(q[0], r));
  }
}

// The reference's requantization of four vectors of sums as 64 bytes (PackTo64Bytes' order).
EDGERUN_VNNI_INLINE __m512i RequantizeTo64Bytes(const __m512i acc[4], const __m512 multiplier[4],
                                                const ByteRequant& r) {
  __m512i q[4];
  for (int j = 0; j < 4; ++j) q[j] = ScaleAndRound(acc[j], multiplier[j]);
  return PackTo64Bytes(q, r);
}
#endif

}  // namespace edgerun
