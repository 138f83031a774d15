#include "kernels/simd/qpointwise_vnni.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "core/unaligned.h"
#include "kernels/openmp_shares.h"
#include "kernels/qlinear_conv_inputs.h"
#include "kernels/simd/qconv_vnni_util.h"

namespace edgerun {
namespace {

using enum qlinear_conv::Input;

// Output channels in QOutputBlocks (qconv_vnni_util.h), each pixel's input channels a dot product
// of four-byte groups.
constexpr int kLanes = 16;
constexpr int kUnrolledGroups = 16;
constexpr int64_t kMaxQPointwiseWeightBytes = 256 * 1024;

struct QPointwiseState : KernelState, QConvGeometry {
  // Byte t of a channel's dot product is input channel t's weight; the bias is
  // B - x_zp * sum of the channel's weights (s8 inputs counted as u8).
  QBlockedWeights packed;
  // QLinearConvAdd: requant holds the add's output parameters, `add` the add. Its per-channel
  // multipliers are read into `packed`.
  QConvRequant requant;
  bool residual = false;
  QConvResidual add;
  int threads = 1;

  int groups() const { return static_cast<int>(channels / 4); }
  size_t persistent_bytes() const override { return packed.bytes(); }
  std::string_view implementation() const override { return "qpointwise:avx512_vnni"; }
};

// Everything but the packed arrays: fills `s` from the node, or says why the node is not ours.
Status ReadNode(const PrepareContext& ctx, QPointwiseState* s) {
  RETURN_IF_ERROR(ReadQConvGeometry(ctx, s));
  // Equal sizes at stride 1 without leading pads leave no trailing pads either.
  if (s->group != 1 || s->kernel_h != 1 || s->kernel_w != 1 || s->stride_h != 1 ||
      s->stride_w != 1 || s->pad_top != 0 || s->pad_left != 0 || s->out_h != s->in_h ||
      s->out_w != s->in_w) {
    return ctx.NotSupported("not a 1x1 conv at stride 1 without padding");
  }
  const int64_t k = s->channels, n = s->out_channels;
  // Up to kUnrolledGroups groups of four input channels the group loop is compiled in; beyond,
  // it runs four groups a step.
  if (k % 4 != 0 || k == 0 || k > kMaxQPointwiseInputChannels ||
      (k > 4 * kUnrolledGroups && k % 16 != 0)) {
    return ctx.NotSupported("input channels");
  }
  // oneDNN's blocking wins on large weights (MobileNetV2's 320 -> 1280 on 7x7: 0.081 ms against
  // 0.086; 160 -> 960: 0.033-0.034 here against 0.035-0.038).
  if (k * n > kMaxQPointwiseWeightBytes) return ctx.NotSupported("weights over 256 KiB");
  s->residual = ctx.node.op_type == "QLinearConvAdd";
  // A residual is added on the group loop's path only, four groups a step.
  if (s->residual && k % 16 != 0) return ctx.NotSupported("input channels");
  return ReadQConvRequant(ctx, n, &s->requant, s->residual ? &s->add : nullptr);
}

bool SupportsQPointwise(const SupportContext& ctx) {
  if (!CpuHasAvx512Vnni()) return false;
  PrepareContext pctx(ctx);
  QPointwiseState s;
  return ReadNode(pctx, &s).ok();
}

Status PreparePointwise(PrepareContext& ctx) {
  auto s = std::make_unique<QPointwiseState>();
  RETURN_IF_ERROR(ReadNode(ctx, s.get()));
  const int64_t k = s->channels, n = s->out_channels;
  std::vector<int32_t> bias;
  RETURN_IF_ERROR(FoldInputZeroPoint(ctx, n, k, s->requant, &bias));
  const std::byte* w = ctx.constants[kW]->UnalignedBytes();
  s->packed = PackBlockedWeights(
      n, s->groups(), bias, std::move(s->requant.multipliers),
      [&](int64_t ch, int64_t t) { return LoadAnyAlignment<int8_t>(w, ch * k + t); });
  const double macs = static_cast<double>(s->out_pixels() * n * k);
  s->threads = WorthSharing(macs, ctx.share_every_layer) ? ctx.num_threads : 1;
  MarkWeightsAndBiasPacked(ctx);
  ctx.state = std::move(s);
  return Status::Ok();
}

#ifdef EDGERUN_VNNI_X86
// The add's constants in vectors.
struct ResidualVectors {
  __m512 alpha, beta, z_zero_point;
  __m512i conv_lo, conv_hi, flip_z;
};

// A pixel's residual bytes for a block of kVectors vectors (s8 flipped to u8).
template <int kVectors>
EDGERUN_VNNI_INLINE __m512i LoadResidual(const uint8_t* z, __mmask32 mask,
                                         const ResidualVectors& a) {
  __m512i bytes;
  if constexpr (kVectors == 4) {
    bytes = _mm512_loadu_si512(z);
  } else if constexpr (kVectors == 2) {
    bytes = _mm512_castsi256_si512(_mm256_maskz_loadu_epi8(mask, z));
  } else {
    bytes = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(static_cast<__mmask16>(mask), z));
  }
  return _mm512_xor_si512(bytes, a.flip_z);
}

// QLinearConvAdd's add on a pixel's rounded conv values q (relative to the conv's zero point, in
// the lane order of a block of kVectors vectors) and its residual bytes: q becomes the rounded
// sum in the add's output units.
template <int kVectors>
EDGERUN_VNNI_INLINE void AddResidual(__m512i bytes, const ResidualVectors& a, __m512i q[kVectors]) {
  for (int j = 0; j < kVectors; ++j) {
    // Vector j's lane i reads the byte of its channel (ChannelOfLane): dword kVectors * L + j.
    __m128i lane_bytes = _mm512_castsi512_si128(bytes);
    if constexpr (kVectors > 1) {
      const __m512i dwords = _mm512_setr_epi32(j, kVectors + j, 2 * kVectors + j, 3 * kVectors + j,
                                               0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
      lane_bytes = _mm512_castsi512_si128(_mm512_permutexvar_epi32(dwords, bytes));
    }
    const __m512 residual =
        _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(lane_bytes)), a.z_zero_point);
    const __m512i conv = _mm512_min_epi32(_mm512_max_epi32(q[j], a.conv_lo), a.conv_hi);
    // One rounding for the product and the sum, as the reference (an FMA).
    const __m512 sum =
        _mm512_fmadd_ps(residual, a.beta, _mm512_mul_ps(_mm512_cvtepi32_ps(conv), a.alpha));
    q[j] = _mm512_cvt_roundps_epi32(sum, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
}

// Block `block` (kVectors x 16 output channels) of pixels [begin, end), 16 / kVectors pixels a
// step (16 sums in registers; the last step's missing pixels repeat its last one). kGroups: the
// groups of four input channels, 0 for s.groups() (a multiple of 4) at run time.
// kPixelsInOneVector: a 16-channel output (one vector a pixel) stores four pixels' bytes at once.
// kResidual: QLinearConvAdd, z its residual (which y may be: each pixel's z is read before its
// output is written).
template <bool kSignedInput, int kGroups, int kVectors, bool kPixelsInOneVector, bool kResidual>
[[EDGERUN_VNNI_TARGET]] void ComputeBlock(const QPointwiseState& s, const QOutputBlock& block,
                                          const uint8_t* x, const uint8_t* z, uint8_t* y,
                                          int64_t begin, int64_t end, const ByteRequant& r,
                                          const ResidualVectors& a) {
  constexpr int kPixels = 16 / kVectors;
  // Locals: the stores through uint8_t* could alias `s`, whose fields would be read again.
  const int64_t k = s.channels, n = s.out_channels;
  // Blocks of one or two vectors may be padded: their stores are masked.
  const auto tail_mask = static_cast<__mmask32>((uint64_t{1} << block.channels) - 1);
  const int8_t* weights = s.packed.weights.data() + block.first * k;
  const int groups = kGroups > 0 ? kGroups : s.groups();
  __m512i bias[kVectors];
  __m512 multiplier[kVectors];
  for (int j = 0; j < kVectors; ++j) {
    bias[j] = _mm512_loadu_si512(s.packed.bias.data() + block.first + j * kLanes);
    multiplier[j] = _mm512_loadu_ps(s.packed.multipliers.data() + block.first + j * kLanes);
  }
  for (int64_t first = begin; first < end; first += kPixels) {
    const uint8_t* pixels[kPixels];
    for (int p = 0; p < kPixels; ++p) pixels[p] = x + std::min(first + p, end - 1) * k;
    __m512i acc[kPixels][kVectors];
    for (int p = 0; p < kPixels; ++p) {
      for (int j = 0; j < kVectors; ++j) acc[p][j] = bias[j];
    }
    // One group of four input channels. The loop over them is unrolled (by four beyond
    // kUnrolledGroups): GCC copied the 16 sums between registers on every step of a plain loop.
    const auto step = [&](int g) EDGERUN_VNNI_LAMBDA {
      __m512i in[kPixels];
      for (int p = 0; p < kPixels; ++p) in[p] = BroadcastFourBytes<kSignedInput>(pixels[p] + 4 * g);
      for (int j = 0; j < kVectors; ++j) {
        const __m512i w = _mm512_loadu_si512(weights + (g * kVectors + j) * 64);
        for (int p = 0; p < kPixels; ++p) acc[p][j] = _mm512_dpbusd_epi32(acc[p][j], in[p], w);
      }
    };
    if constexpr (kGroups > 0) {
#pragma GCC unroll 16
      for (int g = 0; g < kGroups; ++g) step(g);
    } else {
      for (int g0 = 0; g0 < groups; g0 += 4) {
#pragma GCC unroll 4
        for (int g = g0; g < g0 + 4; ++g) step(g);
      }
    }
    if constexpr (kPixelsInOneVector) {
      // Four pixels' vectors requantized together leave pixel j's channels 4L..4L+3 in dword
      // 4L + j; the transpose puts them at dword 4j + L.
      const __m512i transpose =
          _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      const __m512 same[4] = {multiplier[0], multiplier[0], multiplier[0], multiplier[0]};
      for (int p = 0; p < kPixels; p += 4) {
        const __m512i four[4] = {acc[p][0], acc[p + 1][0], acc[p + 2][0], acc[p + 3][0]};
        const __m512i bytes =
            _mm512_permutexvar_epi32(transpose, RequantizeTo64Bytes(four, same, r));
        const int64_t stored = std::min<int64_t>(4, end - first - p);
        if (stored <= 0) break;
        const __mmask64 mask = stored == 4 ? ~__mmask64{0} : (__mmask64{1} << (16 * stored)) - 1;
        _mm512_mask_storeu_epi8(y + (first + p) * 16, mask, bytes);
      }
    } else {
      // The last step's repeated pixels are not stored again: in place, their z is gone. The
      // step's residuals are loaded before its first store: a masked store that overlaps a later
      // load's bytes (even masked off) stalls the load until the store retires.
      const int pixels = static_cast<int>(std::min<int64_t>(kPixels, end - first));
      __m512i residual[kResidual ? kPixels : 1];
      if constexpr (kResidual) {
        for (int p = 0; p < pixels; ++p) {
          residual[p] = LoadResidual<kVectors>(z + (first + p) * n + block.first, tail_mask, a);
        }
      }
      for (int p = 0; p < pixels; ++p) {
        const int64_t at = (first + p) * n + block.first;
        __m512i q[kVectors];
        for (int j = 0; j < kVectors; ++j) q[j] = ScaleAndRound(acc[p][j], multiplier[j]);
        if constexpr (kResidual) AddResidual<kVectors>(residual[p], a, q);
        StoreBlockBytes<kVectors>(y + at, q, tail_mask, r);
      }
    }
  }
}

// Pixels [begin, end), block by block.
template <bool kSignedInput, int kGroups, bool kResidual = false>
[[EDGERUN_VNNI_TARGET]] void ComputePixels(const QPointwiseState& s, const uint8_t* x,
                                           const uint8_t* z, uint8_t* y, int64_t begin,
                                           int64_t end) {
  const ByteRequant r = MakeByteRequant(s.requant);
  const ResidualVectors a{
      _mm512_set1_ps(s.add.alpha),        _mm512_set1_ps(s.add.beta),
      _mm512_set1_ps(s.add.z_zero_point), _mm512_set1_epi32(s.add.conv_lo),
      _mm512_set1_epi32(s.add.conv_hi),   _mm512_set1_epi8(s.add.signed_z ? -128 : 0)};
  for (const QOutputBlock& block : s.packed.blocks) {
    if (block.vectors == 4) {
      ComputeBlock<kSignedInput, kGroups, 4, false, kResidual>(s, block, x, z, y, begin, end, r, a);
    } else if (block.vectors == 2) {
      ComputeBlock<kSignedInput, kGroups, 2, false, kResidual>(s, block, x, z, y, begin, end, r, a);
    } else if (s.out_channels == kLanes && !kResidual) {
      ComputeBlock<kSignedInput, kGroups, 1, true, false>(s, block, x, z, y, begin, end, r, a);
    } else {
      ComputeBlock<kSignedInput, kGroups, 1, false, kResidual>(s, block, x, z, y, begin, end, r, a);
    }
  }
}

using PixelsFn = void (*)(const QPointwiseState&, const uint8_t*, const uint8_t*, uint8_t*, int64_t,
                          int64_t);

template <bool kSignedInput, int... kGroups>
constexpr auto PixelsTable(std::integer_sequence<int, kGroups...>) {
  return std::array<PixelsFn, sizeof...(kGroups)>{ComputePixels<kSignedInput, kGroups + 1>...};
}
#endif  // EDGERUN_VNNI_X86

Status InvokeQPointwise(InvokeContext& ctx) {
#ifdef EDGERUN_VNNI_X86
  const auto& s = ctx.state_as<QPointwiseState>();
  constexpr auto kGroupCounts = std::make_integer_sequence<int, kUnrolledGroups>();
  static constexpr auto kUnsigned = PixelsTable<false>(kGroupCounts);
  static constexpr auto kSigned = PixelsTable<true>(kGroupCounts);
  const bool sign = s.requant.signed_input;
  PixelsFn compute = (sign ? kSigned : kUnsigned)[std::min(s.groups(), kUnrolledGroups) - 1];
  if (s.residual) {
    compute = sign ? ComputePixels<true, 0, true> : ComputePixels<false, 0, true>;
  } else if (s.groups() > kUnrolledGroups) {
    compute = sign ? ComputePixels<true, 0> : ComputePixels<false, 0>;
  }
  const auto* x = static_cast<const uint8_t*>(ctx.inputs[kX].raw);
  const auto* z = s.residual ? static_cast<const uint8_t*>(ctx.inputs[kZ].raw) : nullptr;
  auto* y = static_cast<uint8_t*>(ctx.outputs[0].raw);
  ForEachShare(static_cast<size_t>(s.out_pixels()), s.threads, 2, [&](size_t begin, size_t end) {
    compute(s, x, z, y, static_cast<int64_t>(begin), static_cast<int64_t>(end));
  });
  return Status::Ok();
#else
  return ctx.Fail("the VNNI 1x1 kernel runs on x86 only");
#endif
}

}  // namespace

std::array<KernelDef, 2> FastQPointwiseKernels(KernelPath path) {
  constexpr DTypeSet kTypes{DType::kU8, DType::kI8};
  return {KernelDef{"QLinearConv", path, kTypes, SupportsQPointwise, PreparePointwise,
                    InvokeQPointwise, kNhwcDomain},
          KernelDef{"QLinearConvAdd", path, kTypes, SupportsQPointwise, PreparePointwise,
                    InvokeQPointwise, kNhwcDomain, /*may_run_in_place=*/true,
                    /*output_aliases_input=*/false, /*setup=*/nullptr, /*in_place_input=*/kZ}};
}

}  // namespace edgerun
