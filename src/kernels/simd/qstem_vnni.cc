#include "kernels/simd/qstem_vnni.h"

#include <omp.h>

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

constexpr int kLanes = 16;
constexpr int kMaxStepsPerRow = kMaxQStemRowBytes / 4;
constexpr int64_t kMaxQStemWeightBytes = 256 * 1024;

struct QStemState : KernelState, QConvGeometry {
  // Four-byte steps over a window row's kernel_w * channels bytes (the last may reach past it).
  int steps_per_row = 0;
  // A window row in the scratch: the input columns the output row reads, the padding included,
  // and the last step's overreach, rounded up to 64 bytes.
  int64_t row_bytes = 0;
  // Byte t of a channel's dot product: window row t / (4 * steps_per_row), its byte
  // t % (4 * steps_per_row) (kx * channels + c), 0 past the row's end. The bias is
  // B - x_zp * sum of the channel's weights (s8 inputs counted as u8).
  QBlockedWeights packed;
  QConvRequant requant;
  uint8_t zero_point_byte = 0;  // the raw input zero point, the padding's value
  int threads = 1;

  int64_t groups() const { return int64_t{kernel_h} * steps_per_row; }
  int64_t window_columns() const { return (out_w - 1) * stride_w + kernel_w; }
  size_t scratch_per_thread() const { return static_cast<size_t>(kernel_h * row_bytes); }
  size_t persistent_bytes() const override { return packed.bytes(); }
  std::string_view implementation() const override { return "qstem:avx512_vnni"; }
};

// Everything but the packed arrays: fills `s` from the node, or says why the node is not ours.
Status ReadNode(const PrepareContext& ctx, QStemState* s) {
  RETURN_IF_ERROR(ReadQConvGeometry(ctx, s));
  if (s->group != 1) return ctx.NotSupported("grouped conv");
  if (s->dilation_h != 1 || s->dilation_w != 1) return ctx.NotSupported("dilation");
  if (s->kernel_h == 1 && s->kernel_w == 1) return ctx.NotSupported("1x1 window");
  const int64_t row_input_bytes = s->kernel_w * s->channels;
  if (s->channels > kMaxQStemChannels || row_input_bytes > kMaxQStemRowBytes) {
    return ctx.NotSupported("input channels or window width");
  }
  s->steps_per_row = static_cast<int>((row_input_bytes + 3) / 4);
  const int64_t padded_channels = (s->out_channels + kLanes - 1) / kLanes * kLanes;
  if (padded_channels * 4 * s->groups() > kMaxQStemWeightBytes) {
    return ctx.NotSupported("weights over 256 KiB");
  }
  const int64_t overreach = 4 * s->steps_per_row - row_input_bytes;
  s->row_bytes = (s->window_columns() * s->channels + overreach + 63) / 64 * 64;
  return ReadQConvRequant(ctx, s->out_channels, &s->requant);
}

bool SupportsQStem(const SupportContext& ctx) {
  if (!CpuHasAvx512Vnni()) return false;
  PrepareContext pctx(ctx);
  QStemState s;
  return ReadNode(pctx, &s).ok();
}

Status PrepareQStem(PrepareContext& ctx) {
  auto s = std::make_unique<QStemState>();
  RETURN_IF_ERROR(ReadNode(ctx, s.get()));
  const int64_t c = s->channels, kh = s->kernel_h, kw = s->kernel_w;
  std::vector<int32_t> bias;
  RETURN_IF_ERROR(FoldInputZeroPoint(ctx, s->out_channels, c * kh * kw, s->requant, &bias));
  const std::byte* w = ctx.constants[kW]->UnalignedBytes();
  const int64_t row_step_bytes = 4 * int64_t{s->steps_per_row};
  s->packed = PackBlockedWeights(s->out_channels, s->groups(), bias,
                                 std::move(s->requant.multipliers), [&](int64_t ch, int64_t t) {
                                   const int64_t ky = t / row_step_bytes, byte = t % row_step_bytes;
                                   const int64_t kx = byte / c, ci = byte % c;
                                   return kx < kw ? LoadAnyAlignment<int8_t>(
                                                        w, ((ch * c + ci) * kh + ky) * kw + kx)
                                                  : int8_t{0};
                                 });
  s->zero_point_byte =
      static_cast<uint8_t>(s->requant.x_zero_point - (s->requant.signed_input ? 128 : 0));
  const double macs = static_cast<double>(s->out_pixels() * s->out_channels * c * kh * kw);
  s->threads = WorthSharing(macs, ctx.share_every_layer) ? ctx.num_threads : 1;
  ctx.scratch_bytes = s->scratch_per_thread() * static_cast<size_t>(s->threads);
  MarkWeightsAndBiasPacked(ctx);
  ctx.state = std::move(s);
  return Status::Ok();
}

// The window rows of output row oy of `image` into `rows` (kernel_h rows of row_bytes), the
// columns and rows outside the image holding the input zero point.
void CopyWindowRows(const QStemState& s, const uint8_t* image, int64_t oy, uint8_t* rows) {
  const int64_t c = s.channels;
  const int64_t first_column = -s.pad_left;
  const int64_t begin = std::max<int64_t>(0, first_column);
  const int64_t end = std::min(s.in_w, first_column + s.window_columns());
  const int64_t lead = (begin - first_column) * c;
  const int64_t copied = std::max<int64_t>(0, end - begin) * c;
  for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
    uint8_t* row = rows + ky * s.row_bytes;
    const int64_t iy = oy * s.stride_h - s.pad_top + ky;
    if (iy < 0 || iy >= s.in_h || copied == 0) {
      std::memset(row, s.zero_point_byte, static_cast<size_t>(s.row_bytes));
      continue;
    }
    std::memset(row, s.zero_point_byte, static_cast<size_t>(lead));
    std::memcpy(row + lead, image + (iy * s.in_w + begin) * c, static_cast<size_t>(copied));
    std::memset(row + lead + copied, s.zero_point_byte,
                static_cast<size_t>(s.row_bytes - lead - copied));
  }
}

#ifdef EDGERUN_VNNI_X86
// Block `block` (kVectors x 16 output channels) of one output row from its window rows, 16 /
// kVectors pixels a step (16 sums in registers; the last step's missing pixels repeat its last
// one and are not stored). kSteps: steps_per_row.
template <bool kSignedInput, int kSteps, int kVectors>
[[EDGERUN_VNNI_TARGET]] void ComputeBlockRow(const QStemState& s, const QOutputBlock& block,
                                             const uint8_t* rows, uint8_t* y_row,
                                             const ByteRequant& r) {
  constexpr int kPixels = 16 / kVectors;
  // Locals: the stores through uint8_t* could alias `s`, whose fields would be read again.
  const int64_t out_w = s.out_w, n = s.out_channels, row_bytes = s.row_bytes;
  const int64_t kernel_h = s.kernel_h, pixel_step = int64_t{s.stride_w} * s.channels;
  const auto tail_mask = static_cast<__mmask32>((uint64_t{1} << block.channels) - 1);
  const int8_t* weights = s.packed.weights.data() + block.first * 4 * s.groups();
  // The bias and multipliers are read from memory where used: 16 sums, the step's weights and a
  // broadcast fill the 32 vector registers' budget.
  const int32_t* bias = s.packed.bias.data() + block.first;
  const float* multipliers = s.packed.multipliers.data() + block.first;
  for (int64_t first = 0; first < out_w; first += kPixels) {
    const uint8_t* pixels[kPixels];
    for (int p = 0; p < kPixels; ++p)
      pixels[p] = rows + std::min(first + p, out_w - 1) * pixel_step;
    __m512i acc[kPixels][kVectors];
    for (int p = 0; p < kPixels; ++p) {
      for (int j = 0; j < kVectors; ++j) acc[p][j] = _mm512_loadu_si512(bias + j * kLanes);
    }
    // One four-byte step of window row ky, pixel by pixel: each broadcast is used at once. The
    // steps of a row are unrolled: GCC copied the 16 sums between registers on every step of a
    // plain loop.
    const auto step = [&](int64_t ky, int step) EDGERUN_VNNI_LAMBDA {
      const int64_t at = ky * row_bytes + 4 * step;
      __m512i w[kVectors];
      for (int j = 0; j < kVectors; ++j) {
        w[j] = _mm512_loadu_si512(weights + ((ky * kSteps + step) * kVectors + j) * 64);
      }
      for (int p = 0; p < kPixels; ++p) {
        const __m512i in = BroadcastFourBytes<kSignedInput>(pixels[p] + at);
        for (int j = 0; j < kVectors; ++j) acc[p][j] = _mm512_dpbusd_epi32(acc[p][j], in, w[j]);
      }
    };
    for (int64_t ky = 0; ky < kernel_h; ++ky) {
#pragma GCC unroll 8
      for (int i = 0; i < kSteps; ++i) step(ky, i);
    }
    const int64_t stored = std::min<int64_t>(kPixels, out_w - first);
    int p = 0;
    if constexpr (kVectors == 2) {
      if (n == 32) {
        // Two pixels' four vectors packed together, then their dwords put in pixel order: one
        // pack and one store for 64 bytes of two adjacent pixels.
        const __m512i order =
            _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
        for (; p + 1 < stored; p += 2) {
          const __m512i q[4] = {
              ScaleAndRound(acc[p][0], _mm512_loadu_ps(multipliers)),
              ScaleAndRound(acc[p][1], _mm512_loadu_ps(multipliers + kLanes)),
              ScaleAndRound(acc[p + 1][0], _mm512_loadu_ps(multipliers)),
              ScaleAndRound(acc[p + 1][1], _mm512_loadu_ps(multipliers + kLanes))};
          _mm512_storeu_si512(y_row + (first + p) * 32,
                              _mm512_permutexvar_epi32(order, PackTo64Bytes(q, r)));
        }
      }
    }
    for (; p < stored; ++p) {
      __m512i q[kVectors];
      for (int j = 0; j < kVectors; ++j) {
        q[j] = ScaleAndRound(acc[p][j], _mm512_loadu_ps(multipliers + j * kLanes));
      }
      StoreBlockBytes<kVectors>(y_row + (first + p) * n + block.first, q, tail_mask, r);
    }
  }
}

// Output rows [row_begin, row_end) (over the batch), block by block; `rows` is the thread's
// scratch.
template <bool kSignedInput, int kSteps>
[[EDGERUN_VNNI_TARGET]] void ComputeRows(const QStemState& s, const uint8_t* x, uint8_t* y,
                                         int64_t row_begin, int64_t row_end, uint8_t* rows) {
  const ByteRequant r = MakeByteRequant(s.requant);
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t image = row / s.out_h, oy = row % s.out_h;
    CopyWindowRows(s, x + image * s.in_h * s.in_w * s.channels, oy, rows);
    uint8_t* y_row = y + row * s.out_w * s.out_channels;
    for (const QOutputBlock& block : s.packed.blocks) {
      if (block.vectors == 4) {
        ComputeBlockRow<kSignedInput, kSteps, 4>(s, block, rows, y_row, r);
      } else if (block.vectors == 2) {
        ComputeBlockRow<kSignedInput, kSteps, 2>(s, block, rows, y_row, r);
      } else {
        ComputeBlockRow<kSignedInput, kSteps, 1>(s, block, rows, y_row, r);
      }
    }
  }
}

using RowsFn = void (*)(const QStemState&, const uint8_t*, uint8_t*, int64_t, int64_t, uint8_t*);

template <bool kSignedInput, int... kSteps>
constexpr auto RowsTable(std::integer_sequence<int, kSteps...>) {
  return std::array<RowsFn, sizeof...(kSteps)>{ComputeRows<kSignedInput, kSteps + 1>...};
}
#endif  // EDGERUN_VNNI_X86

Status InvokeQStem(InvokeContext& ctx) {
#ifdef EDGERUN_VNNI_X86
  const auto& s = ctx.state_as<QStemState>();
  constexpr auto kStepCounts = std::make_integer_sequence<int, kMaxStepsPerRow>();
  static constexpr auto kUnsigned = RowsTable<false>(kStepCounts);
  static constexpr auto kSigned = RowsTable<true>(kStepCounts);
  const RowsFn compute = (s.requant.signed_input ? kSigned : kUnsigned)[s.steps_per_row - 1];
  const auto* x = static_cast<const uint8_t*>(ctx.inputs[kX].raw);
  auto* y = static_cast<uint8_t*>(ctx.outputs[0].raw);
  auto* scratch = static_cast<uint8_t*>(ctx.scratch);
  ForEachShare(static_cast<size_t>(s.batch * s.out_h), s.threads, 1, [&](size_t begin, size_t end) {
    uint8_t* rows = scratch + s.scratch_per_thread() * static_cast<size_t>(omp_get_thread_num());
    compute(s, x, y, static_cast<int64_t>(begin), static_cast<int64_t>(end), rows);
  });
  return Status::Ok();
#else
  return ctx.Fail("the VNNI stem kernel runs on x86 only");
#endif
}

}  // namespace

KernelDef FastQStemKernel(KernelPath path) {
  return {"QLinearConv", path,       DTypeSet{DType::kU8, DType::kI8}, SupportsQStem, PrepareQStem,
          InvokeQStem,   kNhwcDomain};
}

}  // namespace edgerun
