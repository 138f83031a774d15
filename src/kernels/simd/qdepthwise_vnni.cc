#include "kernels/simd/qdepthwise_vnni.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "core/cpu_features.h"
#include "core/unaligned.h"
#include "kernels/openmp_shares.h"
#include "kernels/qlinear_conv_inputs.h"
#include "kernels/ref/ref_util.h"
#include "kernels/simd/qconv_vnni_util.h"

namespace edgerun {
namespace {

using enum qlinear_conv::Input;

// Channels per block: 64 bytes of a pixel.
constexpr int kBlock = 64;
// Window rows one vpdpbusd lane sums: its four bytes hold four rows of one input column.
constexpr int kRowsPerGroup = 4;
// Unpacking four 64-byte rows byte- then word-wise leaves, in vector j (of 4), lane i the four
// rows of byte 16 * (i / 4) + 4 * j + i % 4 of the block; packing the four accumulators back
// (dword -> word -> byte, the inverse in-lane interleave) restores byte order. Weights, biases
// and multipliers are stored in that lane order.
constexpr int kVectors = 4;
int64_t ByteOfLane(int64_t vector, int64_t lane) { return 16 * (lane / 4) + 4 * vector + lane % 4; }

// The last block of a pixel's channels, when fewer than 64 remain, holds that many channels of
// 64 / slot neighbouring output pixels, each in a slot of 16 or 32 bytes (more than 32 channels:
// one pixel, masked), so that a tail such as MobileNetV2's 144 = 2 * 64 + 16 does not compute
// mostly padding.
struct BlockShape {
  int64_t channels = kBlock;  // real channels per slot
  int slot = kBlock;          // bytes per slot
};
BlockShape ShapeOfBlock(int64_t total_channels, int64_t block) {
  const int64_t rest = std::min<int64_t>(kBlock, total_channels - block * kBlock);
  return {rest, rest > 32 ? 64 : rest > 16 ? 32 : 16};
}

struct QDepthwiseState : KernelState, QConvGeometry {
  // A 3-row window at stride 1 (3x3 and 3xN) gathers four input rows at once and computes two
  // output rows from them: the first with the weights in bytes 0-2 of each lane, the second with
  // them in bytes 1-3 (two weight variants). Other windows gather groups of four window rows.
  bool row_pairs = false;
  // Per block: weights [variant][row group][kx][vector][lane][byte r] = w(channel, ky, kx) with
  // ky = 4 * group + r - variant, zero where that is no window row or no channel (a slot's
  // padding); bias (B - x_zp * sum of the channel's weights, s8 inputs counted as u8) and
  // requant.multipliers [vector][lane]. Before prepare lays them out, multipliers are per channel.
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  QConvRequant requant;
  std::vector<uint8_t> zero_point_row;  // the raw input zero point, a block-padded row
  int threads = 1;

  int variants() const { return row_pairs ? 2 : 1; }
  int row_groups() const { return (kernel_h + kRowsPerGroup - 1) / kRowsPerGroup; }
  int64_t blocks() const { return (channels + kBlock - 1) / kBlock; }
  // Input columns one output row reads, the padding included.
  int64_t window_columns() const {
    return (out_w - 1) * stride_w + int64_t{kernel_w - 1} * dilation_w + 1;
  }
  // A thread's scratch: the gathered columns, [row group][column][vector] of 64 bytes.
  size_t scratch_per_thread() const {
    return static_cast<size_t>(row_groups() * window_columns() * kVectors) * 64;
  }
  size_t persistent_bytes() const override {
    return weights.size() + bias.size() * sizeof(int32_t) +
           requant.multipliers.size() * sizeof(float) + zero_point_row.size();
  }
  std::string_view implementation() const override { return "qdepthwise:avx512_vnni"; }
};

// Everything but the packed arrays: fills `s` from the node, or says why the node is not ours.
Status ReadNode(const PrepareContext& ctx, QDepthwiseState* s) {
  RETURN_IF_ERROR(ReadQConvGeometry(ctx, s));
  const int64_t c = s->channels;
  if (s->group != c || s->out_channels != c) return ctx.NotSupported("not depthwise");
  if (s->kernel_h > kMaxQDepthwiseSide || s->kernel_w > kMaxQDepthwiseSide) {
    return ctx.NotSupported("window");
  }
  // Where oneDNN's kernel was as fast or faster (MobileNetV2's layers, each alone, 1 thread, this
  // kernel's time / oneDNN's): a channel tail (c % 64) at stride 2, whose slots of neighbouring
  // pixels are gathered one by one (112x112x96 and 56x56x144: 1.6), and fewer than 64 channels
  // (56x56x16: 1.4) but for 32 at stride 1, whose two pixels a block load and store as one run
  // (112x112x32: 0.79). Whole blocks ran 1.2-1.7x faster, tails at stride 1 (56x56x144)
  // 1.05-1.2x.
  if (c < kBlock && !(c == 32 && s->stride_w == 1)) {
    return ctx.NotSupported("fewer than 64 channels");
  }
  if (c % kBlock != 0 && s->stride_w != 1) return ctx.NotSupported("channel tail at stride > 1");
  return ReadQConvRequant(ctx, c, &s->requant);
}

bool SupportsQDepthwise(const SupportContext& ctx) {
  if (!CpuHasAvx512Vnni()) return false;
  PrepareContext pctx(ctx);
  QDepthwiseState s;
  return ReadNode(pctx, &s).ok();
}

Status PrepareQDepthwise(PrepareContext& ctx) {
  auto s = std::make_unique<QDepthwiseState>();
  RETURN_IF_ERROR(ReadNode(ctx, s.get()));
  const int64_t c = s->channels;
  s->row_pairs = s->kernel_h == 3 && s->stride_h == 1 && s->dilation_h == 1;
  const std::byte* w_bytes = ctx.constants[kW]->UnalignedBytes();
  const int32_t x_zp = s->requant.x_zero_point;
  const int variants = s->variants(), groups = s->row_groups(), cols = s->kernel_w;
  std::vector<int32_t> bias;
  RETURN_IF_ERROR(FoldInputZeroPoint(ctx, c, int64_t{s->kernel_h} * cols, s->requant, &bias));
  const std::vector<float> multipliers = std::move(s->requant.multipliers);
  s->weights.assign(static_cast<size_t>(s->blocks() * variants * groups * cols * kVectors * 64), 0);
  s->bias.assign(static_cast<size_t>(s->blocks() * kBlock), 0);
  s->requant.multipliers.assign(static_cast<size_t>(s->blocks() * kBlock), 0.0f);
  for (int64_t block = 0; block < s->blocks(); ++block) {
    const BlockShape shape = ShapeOfBlock(c, block);
    for (int64_t j = 0; j < kVectors; ++j) {
      for (int64_t lane = 0; lane < 16; ++lane) {
        const int64_t byte = ByteOfLane(j, lane) % shape.slot;
        if (byte >= shape.channels) continue;  // a slot's padding: weights, bias, scale 0
        const int64_t ch = block * kBlock + byte;
        const auto at = static_cast<size_t>(block * kBlock + j * 16 + lane);
        s->bias[at] = bias[static_cast<size_t>(ch)];
        s->requant.multipliers[at] = multipliers[static_cast<size_t>(ch)];
        for (int ky = 0; ky < s->kernel_h; ++ky) {
          for (int kx = 0; kx < cols; ++kx) {
            const int8_t v = LoadAnyAlignment<int8_t>(w_bytes, (ch * s->kernel_h + ky) * cols + kx);
            for (int variant = 0; variant < variants; ++variant) {
              const int64_t row = ky + variant;  // of the gathered rows
              const int64_t vectors =
                  ((block * variants + variant) * groups + row / kRowsPerGroup) * cols + kx;
              s->weights[static_cast<size_t>(((vectors * kVectors + j) * 16 + lane) * 4 +
                                             row % kRowsPerGroup)] = v;
            }
          }
        }
      }
    }
  }
  s->zero_point_row.assign(static_cast<size_t>(s->blocks() * kBlock),
                           static_cast<uint8_t>(x_zp - (s->requant.signed_input ? 128 : 0)));
  const double macs =
      static_cast<double>(s->batch * s->out_h * s->out_w * c * s->kernel_h * s->kernel_w);
  s->threads = WorthSharing(macs, ctx.share_every_layer) ? ctx.num_threads : 1;
  ctx.scratch_bytes = s->scratch_per_thread() * static_cast<size_t>(s->threads);
  MarkWeightsAndBiasPacked(ctx);
  ctx.state = std::move(s);
  return Status::Ok();
}

#ifdef EDGERUN_VNNI_X86
// Whether a block's slots are whole pixels of adjacent columns (16 or 32 channels at stride 1): the
// block then loads and stores as one run of bytes.
bool AdjacentSlots(const QDepthwiseState& s, const BlockShape& shape) {
  return s.channels == shape.slot && s.stride_w == 1;
}

// A gathered row: its first image column's block, and the bytes to the next column (0 for a row
// outside the image, which reads the zero-point row throughout).
struct GatherRow {
  const uint8_t* first;
  int64_t column_stride;
};

// 64 bytes of one gathered row for the output pixels of a block: kPixels slots of `slot` bytes,
// slot p from image column x + p * stride (the zero-point row outside the image), each holding
// `channels` channels (the rest of the slot zero).
// kInside: every slot's column is inside the image.
template <int kPixels, bool kInside>
[[EDGERUN_VNNI_TARGET]] __m512i LoadSlots(const QDepthwiseState& s, const GatherRow& row, int64_t x,
                                          int64_t stride, uint64_t slot_mask,
                                          const uint8_t* zero_point) {
  const auto at = [&](int64_t column) EDGERUN_VNNI_LAMBDA {
    if (kInside || (column >= 0 && column < s.in_w)) return row.first + column * row.column_stride;
    return zero_point;
  };
  if constexpr (kPixels == 1) {
    return _mm512_maskz_loadu_epi8(slot_mask, at(x));
  }
  if constexpr (kPixels == 2) {
    const auto m = static_cast<__mmask32>(slot_mask);
    const __m256i lo = _mm256_maskz_loadu_epi8(m, at(x));
    const __m256i hi = _mm256_maskz_loadu_epi8(m, at(x + stride));
    return _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1);
  } else {
    const auto m = static_cast<__mmask16>(slot_mask);
    const __m256i lo =
        _mm256_inserti128_si256(_mm256_zextsi128_si256(_mm_maskz_loadu_epi8(m, at(x))),
                                _mm_maskz_loadu_epi8(m, at(x + stride)), 1);
    const __m256i hi =
        _mm256_inserti128_si256(_mm256_zextsi128_si256(_mm_maskz_loadu_epi8(m, at(x + 2 * stride))),
                                _mm_maskz_loadu_epi8(m, at(x + 3 * stride)), 1);
    return _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1);
  }
}

// One output row's (or row pair's) input columns for one block: for each group of four gathered
// rows and column xi, four vectors whose lane bytes are the four rows of one channel (see
// kVectors). Column xi serves the output pixels whose window starts there: with several pixels
// per block, slot p holds column xi + p * stride_w. Columns outside the image hold the input zero
// point. kPixels 1 with kWhole: a whole block of 64 channels, read without masks or bounds checks
// inside the image.
template <bool kSignedInput, int kPixels, bool kWhole>
[[EDGERUN_VNNI_TARGET]] void GatherColumns(const QDepthwiseState& s, const GatherRow* rows,
                                           int groups, const BlockShape& shape, int64_t c0,
                                           __m512i* columns) {
  const int64_t count = s.window_columns(), pad_left = s.pad_left, stride = s.stride_w;
  const __m512i flip = _mm512_set1_epi8(-128);
  const uint64_t slot_mask =
      shape.channels >= 64 ? ~uint64_t{0} : (uint64_t{1} << shape.channels) - 1;
  const uint8_t* zero_point = s.zero_point_row.data() + c0;
  // A column whose slots all lie inside the image (or, for whole blocks, just one).
  const int64_t span = (kPixels - 1) * stride;
  const int64_t inside_begin = std::min<int64_t>(count, pad_left);
  const int64_t inside_end = std::clamp<int64_t>(s.in_w + pad_left - span, inside_begin, count);
  // Slots that are whole pixels at stride 1 (16 or 32 channels) are adjacent in the row: one load.
  const bool adjacent = AdjacentSlots(s, shape);
  for (int g = 0; g < groups; ++g) {
    __m512i* out = columns + g * count * kVectors;
    const GatherRow* r = rows + g * kRowsPerGroup;
    for (int64_t xi = 0; xi < count; ++xi) {
      const int64_t x = xi - pad_left;
      __m512i row[kRowsPerGroup];
      const bool inside = xi >= inside_begin && xi < inside_end;
      for (int k = 0; k < kRowsPerGroup; ++k) {
        if ((kWhole || adjacent) && inside) {
          row[k] = _mm512_loadu_si512(r[k].first + x * r[k].column_stride);
        } else if (inside) {
          row[k] = LoadSlots<kPixels, true>(s, r[k], x, stride, slot_mask, zero_point);
        } else {
          row[k] = LoadSlots<kPixels, false>(s, r[k], x, stride, slot_mask, zero_point);
        }
        if constexpr (kSignedInput) row[k] = _mm512_xor_si512(row[k], flip);
      }
      const __m512i rows01_lo = _mm512_unpacklo_epi8(row[0], row[1]);
      const __m512i rows01_hi = _mm512_unpackhi_epi8(row[0], row[1]);
      const __m512i rows23_lo = _mm512_unpacklo_epi8(row[2], row[3]);
      const __m512i rows23_hi = _mm512_unpackhi_epi8(row[2], row[3]);
      __m512i* column = out + xi * kVectors;
      column[0] = _mm512_unpacklo_epi16(rows01_lo, rows23_lo);
      column[1] = _mm512_unpackhi_epi16(rows01_lo, rows23_lo);
      column[2] = _mm512_unpacklo_epi16(rows01_hi, rows23_hi);
      column[3] = _mm512_unpackhi_epi16(rows01_hi, rows23_hi);
    }
  }
}

// One output row of one block from its gathered columns, with weight variant `variant`: per
// step of kPixels output pixels and per vector one vpdpbusd per window column and row group, then
// the requantization and the packing back into 64 bytes in slot order, stored at once (one pixel)
// or slot by slot. kCols: the window's width when compiled in (3, one row group), else 0.
template <int kPixels, bool kWhole, int kCols>
[[EDGERUN_VNNI_TARGET]] void ComputeOutputRow(const QDepthwiseState& s, const __m512i* columns,
                                              int runtime_groups, int64_t block,
                                              const BlockShape& shape, int variant, uint8_t* out) {
  const int cols = kCols > 0 ? kCols : s.kernel_w;
  const int groups = kCols > 0 ? 1 : runtime_groups;
  // Locals: the stores through uint8_t* could alias `s`, whose fields would be read again.
  const int64_t count = s.window_columns(), stride = s.stride_w, dilation = s.dilation_w;
  const int64_t out_w = s.out_w, c = s.channels;
  const int8_t* weights =
      s.weights.data() + ((block * s.variants() + variant) * groups) * cols * kVectors * 64;
  const ByteRequant requant = MakeByteRequant(s.requant);
  const uint64_t slot_mask =
      shape.channels >= 64 ? ~uint64_t{0} : (uint64_t{1} << shape.channels) - 1;
  const bool adjacent = AdjacentSlots(s, shape);
  __m512i bias[kVectors];
  __m512 multiplier[kVectors];
  for (int j = 0; j < kVectors; ++j) {
    bias[j] = _mm512_loadu_si512(s.bias.data() + block * kBlock + j * 16);
    multiplier[j] = _mm512_loadu_ps(s.requant.multipliers.data() + block * kBlock + j * 16);
  }
  for (int64_t ox = 0; ox < out_w; ox += kPixels) {
    const __m512i* first = columns + ox * stride * kVectors;
    // The four vectors' chains interleaved, each step one column of one row group.
    __m512i acc[kVectors];
    for (int j = 0; j < kVectors; ++j) acc[j] = bias[j];
    for (int step = 0; step < groups * cols; ++step) {
      const int g = step / cols, kx = step % cols;
      const __m512i* column = first + (g * count + kx * dilation) * kVectors;
      const int8_t* w = weights + step * kVectors * 64;
      for (int j = 0; j < kVectors; ++j) {
        acc[j] = _mm512_dpbusd_epi32(acc[j], column[j], _mm512_loadu_si512(w + j * 64));
      }
    }
    const __m512i bytes = RequantizeTo64Bytes(acc, multiplier, requant);
    uint8_t* dst = out + ox * c;
    if constexpr (kWhole) {
      _mm512_storeu_si512(dst, bytes);
    } else if (kPixels == 1) {
      _mm512_mask_storeu_epi8(dst, slot_mask, bytes);
    } else if (adjacent) {
      const int64_t pixels = std::min<int64_t>(kPixels, out_w - ox);
      _mm512_mask_storeu_epi8(
          dst, pixels == kPixels ? ~__mmask64{0} : (__mmask64{1} << (pixels * c)) - 1, bytes);
    } else {
      // Slot by slot; slots past the row's last pixel stay unwritten.
      const int64_t pixels = std::min<int64_t>(kPixels, out_w - ox);
      alignas(64) uint8_t slots[64];
      _mm512_store_si512(slots, bytes);
      for (int64_t p = 0; p < pixels; ++p) {
        for (int half = 0; half < shape.slot / 16; ++half) {
          const auto* from = reinterpret_cast<const __m128i*>(slots + p * shape.slot + half * 16);
          _mm_mask_storeu_epi8(dst + p * c + half * 16,
                               static_cast<__mmask16>(slot_mask >> (16 * half)),
                               _mm_load_si128(from));
        }
      }
    }
  }
}

// Output rows [row_begin, row_end) of all images ([batch * out_h] rows) for one block: per row
// (or row pair) gathers the columns into this thread's scratch, then computes the row(s).
template <bool kSignedInput, int kPixels, bool kWhole, int kCols>
[[EDGERUN_VNNI_TARGET]] void ComputeBlockRows(const QDepthwiseState& s, const uint8_t* x,
                                              uint8_t* y, int64_t row_begin, int64_t row_end,
                                              int64_t block, __m512i* columns) {
  const int64_t c = s.channels, c0 = block * kBlock;
  const BlockShape shape = ShapeOfBlock(c, block);
  const int groups = s.row_pairs ? 1 : s.row_groups();
  GatherRow rows[kMaxQDepthwiseSide + kRowsPerGroup];
  for (int64_t r = row_begin; r < row_end;) {
    const int64_t n = r / s.out_h, oy = r % s.out_h;
    // A pair when both rows belong to this share and to the same image.
    const bool pair = s.row_pairs && r + 1 < row_end && oy + 1 < s.out_h;
    const uint8_t* image = x + n * s.in_h * s.in_w * c;
    for (int k = 0; k < groups * kRowsPerGroup; ++k) {
      // Gathered row k is window row k (pairs: k - 1 for the second output row).
      const int64_t iy = oy * s.stride_h - s.pad_top + int64_t{k} * s.dilation_h;
      const bool used = s.row_pairs ? k < 4 : k < s.kernel_h;
      rows[k] = used && iy >= 0 && iy < s.in_h ? GatherRow{image + iy * s.in_w * c + c0, c}
                                               : GatherRow{s.zero_point_row.data() + c0, 0};
    }
    GatherColumns<kSignedInput, kPixels, kWhole>(s, rows, groups, shape, c0, columns);
    uint8_t* out_row = y + r * s.out_w * c + c0;
    ComputeOutputRow<kPixels, kWhole, kCols>(s, columns, groups, block, shape, 0, out_row);
    if (pair) {
      ComputeOutputRow<kPixels, kWhole, kCols>(s, columns, groups, block, shape, 1,
                                               out_row + s.out_w * c);
    }
    r += pair ? 2 : 1;
  }
}

using BlockRowsFn = void (*)(const QDepthwiseState&, const uint8_t*, uint8_t*, int64_t, int64_t,
                             int64_t, __m512i*);

// The variant for a block: [pixels per block: 1 whole, 1 masked, 2, 4][3 columns compiled in].
template <bool kSignedInput>
BlockRowsFn BlockRowsFor(const BlockShape& shape, bool compiled) {
  static constexpr BlockRowsFn kTable[4][2] = {
      {ComputeBlockRows<kSignedInput, 1, true, 0>, ComputeBlockRows<kSignedInput, 1, true, 3>},
      {ComputeBlockRows<kSignedInput, 1, false, 0>, ComputeBlockRows<kSignedInput, 1, false, 3>},
      {ComputeBlockRows<kSignedInput, 2, false, 0>, ComputeBlockRows<kSignedInput, 2, false, 3>},
      {ComputeBlockRows<kSignedInput, 4, false, 0>, ComputeBlockRows<kSignedInput, 4, false, 3>}};
  const int kind = shape.channels == kBlock ? 0 : shape.slot == 64 ? 1 : shape.slot == 32 ? 2 : 3;
  return kTable[kind][compiled];
}

template <bool kSignedInput>
void ComputeRows(const QDepthwiseState& s, const uint8_t* x, uint8_t* y, int64_t row_begin,
                 int64_t row_end, __m512i* columns) {
  // A window of three columns and one row group (3x3, 2x3...) has compiled-in loops.
  const bool compiled = s.kernel_w == 3 && s.row_groups() == 1;
  for (int64_t block = 0; block < s.blocks(); ++block) {
    BlockRowsFor<kSignedInput>(ShapeOfBlock(s.channels, block), compiled)(s, x, y, row_begin,
                                                                          row_end, block, columns);
  }
}
#endif  // EDGERUN_VNNI_X86

Status InvokeQDepthwise(InvokeContext& ctx) {
#ifdef EDGERUN_VNNI_X86
  const auto& s = ctx.state_as<QDepthwiseState>();
  const auto* x = static_cast<const uint8_t*>(ctx.inputs[kX].raw);
  auto* y = static_cast<uint8_t*>(ctx.outputs[0].raw);
  auto* scratch = static_cast<std::byte*>(ctx.scratch);
  using Fn = void (*)(const QDepthwiseState&, const uint8_t*, uint8_t*, int64_t, int64_t, __m512i*);
  const Fn compute = s.requant.signed_input ? ComputeRows<true> : ComputeRows<false>;
  ForEachShare(static_cast<size_t>(s.batch * s.out_h), s.threads, 1, [&](size_t begin, size_t end) {
    auto* columns = reinterpret_cast<__m512i*>(
        scratch + s.scratch_per_thread() * static_cast<size_t>(omp_get_thread_num()));
    compute(s, x, y, static_cast<int64_t>(begin), static_cast<int64_t>(end), columns);
  });
  return Status::Ok();
#else
  return ctx.Fail("the VNNI depthwise kernel runs on x86 only");
#endif
}

}  // namespace

KernelDef FastQDepthwiseKernel(KernelPath path) {
  return {"QLinearConv",
          path,
          DTypeSet{DType::kU8, DType::kI8},
          SupportsQDepthwise,
          PrepareQDepthwise,
          InvokeQDepthwise,
          kNhwcDomain};
}

}  // namespace edgerun
