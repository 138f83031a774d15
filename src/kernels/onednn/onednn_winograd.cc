// Winograd weights for oneDNN's Winograd convolutions, written by edgerun (see onednn_util.h).
//
// Each 3x3 kernel w of output channel o and input channel i becomes U = G w G^T (alpha x alpha),
// with G the matrix oneDNN's kernels were generated for: F(2x2,3x3) (alpha 4) interpolates at
// 0, 1, -1 and infinity; F(4x4,3x3) (alpha 6) at 0, 5/8, -5/8, 3/2, -3/2 and infinity, with
// rows scaled as below. Element (a, b) of U goes to base_o(o) + base_i(i) + (a * alpha + b) * s;
// the three layouts differ only in those terms. Channels the layout pads are zero. Both the
// matrices and the layouts are checked against oneDNN's own reorder (onednn_util_test).
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/onednn/onednn_util.h"

namespace edgerun::onednn {
namespace {

constexpr double kG4[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
constexpr double kG6[6][3] = {{256.0 / 225, 0, 0},
                              {-2048.0 / 2975, -256.0 / 595, -32.0 / 119},
                              {-2048.0 / 2975, 256.0 / 595, -32.0 / 119},
                              {128.0 / 1071, 64.0 / 357, 32.0 / 119},
                              {128.0 / 1071, -64.0 / 357, 32.0 / 119},
                              {0, 0, 1}};

// The layouts were verified on oneDNN 2.6 only; another version packs with its own reorder.
bool VerifiedLibrary() {
  const dnnl_version_t* v = dnnl_version();
  return v != nullptr && v->major == 2 && v->minor == 6;
}

}  // namespace

namespace {

// Where element (o, i, a, b) goes: base_o(o) + base_i(i) + (a * alpha + b) * ab_stride, with
// base_o and base_i built from these strides (WriteWinogradWeights).
struct Layout {
  int64_t alpha = 0, ab_stride = 0;
  int64_t ocb = 1, oc2b = 1, ocb_outer = 1, o_outer_stride = 0, o2_stride = 0;
  int64_t iblock = 1, i_outer_stride = 0, i_stride = 0;
};

std::optional<Layout> KnownLayout(const dnnl_memory_desc_t& md, int64_t out_channels,
                                  int64_t in_channels) {
  if (!VerifiedLibrary() || md.format_kind != dnnl_format_kind_wino || md.data_type != dnnl_f32) {
    return std::nullopt;
  }
  const dnnl_wino_desc_t& d = md.format_desc.wino_desc;
  const int64_t alpha = d.alpha, oc = d.oc, ic = d.ic;
  const bool two_by_three =
      d.wino_format == dnnl_wino_wei_aaOio || d.wino_format == dnnl_wino_wei_aaOBiOo;
  const bool four_by_three = d.wino_format == dnnl_wino_wei_OBaaIBOIio;
  if (!(two_by_three && alpha == 4) && !(four_by_three && alpha == 6)) return std::nullopt;
  if (d.r != 3 || d.adj_scale != 1.0f || oc < out_channels || ic < in_channels || d.oc_block <= 0 ||
      d.ic_block <= 0 || d.oc2_block <= 0 || d.ic2_block <= 0 ||
      d.size != static_cast<size_t>(alpha * alpha * oc * ic) * sizeof(float)) {
    return std::nullopt;
  }
  Layout l;
  l.alpha = alpha;
  if (two_by_three) {
    // [a][b][o / block][i][o % block]; the block is oc_block (aaOio) or oc_block * oc2_block.
    const int64_t block =
        d.wino_format == dnnl_wino_wei_aaOio ? d.oc_block : d.oc_block * d.oc2_block;
    if (oc % block != 0) return std::nullopt;
    l.ab_stride = oc * ic;
    l.ocb = block;  // o % block, then o / block blocks of ic * block
    l.o_outer_stride = ic * block;
    l.iblock = ic;  // one input block: i * block
    l.i_stride = block;
    return l;
  }
  // [o / (ocb*oc2b)][a][b][i / (icb*ic2b)][(o / ocb) % oc2b][i % (icb*ic2b)][o % ocb].
  const int64_t oblock = d.oc_block * d.oc2_block, iblock = d.ic_block * d.ic2_block;
  if (oc % oblock != 0 || ic % iblock != 0) return std::nullopt;
  l.ab_stride = ic * oblock;
  l.ocb = d.oc_block;
  l.oc2b = d.oc2_block;
  l.o_outer_stride = alpha * alpha * ic * oblock;
  l.o2_stride = iblock * d.oc_block;
  l.iblock = iblock;
  l.i_outer_stride = iblock * oblock;
  l.i_stride = d.oc_block;
  return l;
}

constexpr int64_t kLanes = 16;  // output channels transformed at once

// U = G w G^T for `lanes` (up to kLanes) kernels: output channels o .. o + lanes of input channel
// i, their OIHW source rows `o_stride` bytes apart. Writes element (a, b) of channel o + oo to
// to[(a * alpha + b) * ab_stride + oo]. In float, in loops over the channels that the compiler
// vectorizes.
[[gnu::always_inline]] inline void TransformKernelsInline(const std::byte* first, int64_t o_stride,
                                                          int64_t lanes, const float (*g)[3],
                                                          int64_t alpha, float* to,
                                                          int64_t ab_stride) {
  float w[9][kLanes];  // kernel element, output channel
  for (int64_t oo = 0; oo < lanes; ++oo) {
    float k[9];  // the source may sit at any alignment (in the mapped model file)
    std::memcpy(k, first + oo * o_stride, sizeof(k));
    for (int e = 0; e < 9; ++e) w[e][oo] = k[e];
  }
  for (int64_t oo = lanes; oo < kLanes; ++oo) {
    for (int e = 0; e < 9; ++e) w[e][oo] = 0.0f;
  }
  float gw[6][3][kLanes];  // G w
  for (int64_t a = 0; a < alpha; ++a) {
    for (int c = 0; c < 3; ++c) {
      for (int64_t oo = 0; oo < kLanes; ++oo) {
        gw[a][c][oo] = g[a][0] * w[c][oo] + g[a][1] * w[3 + c][oo] + g[a][2] * w[6 + c][oo];
      }
    }
  }
  for (int64_t a = 0; a < alpha; ++a) {
    for (int64_t b = 0; b < alpha; ++b) {
      float u[kLanes];
      for (int64_t oo = 0; oo < kLanes; ++oo) {
        u[oo] = gw[a][0][oo] * g[b][0] + gw[a][1][oo] * g[b][1] + gw[a][2][oo] * g[b][2];
      }
      float* run = to + (a * alpha + b) * ab_stride;
      if (lanes == kLanes) {
        std::memcpy(run, u, sizeof(u));  // a fixed size: vector moves, not a call
      } else {
        std::memcpy(run, u, static_cast<size_t>(lanes) * sizeof(float));
      }
    }
  }
}

void TransformKernels(const std::byte* first, int64_t o_stride, int64_t lanes, const float (*g)[3],
                      int64_t alpha, float* to, int64_t ab_stride) {
  TransformKernelsInline(first, o_stride, lanes, g, alpha, to, ab_stride);
}

// The library targets baseline x86-64 (SSE2); on AVX-512 CPUs, the only ones oneDNN 2.6 runs
// Winograd on, the same loops compiled for AVX-512 (results may differ in the last bit: fused
// multiply-adds).
#if defined(__x86_64__) && defined(__GNUC__)
[[gnu::target("avx512f,avx512bw,avx512vl,avx512dq")]] void TransformKernelsAvx512(
    const std::byte* first, int64_t o_stride, int64_t lanes, const float (*g)[3], int64_t alpha,
    float* to, int64_t ab_stride) {
  TransformKernelsInline(first, o_stride, lanes, g, alpha, to, ab_stride);
}
#endif

}  // namespace

bool IsKnownWinogradLayout(const dnnl_memory_desc_t& md, int64_t out_channels,
                           int64_t in_channels) {
  return KnownLayout(md, out_channels, in_channels).has_value();
}

bool WriteWinogradWeights(const std::byte* oihw, int64_t out_channels, int64_t in_channels,
                          const dnnl_memory_desc_t& md, void* out) {
  const std::optional<Layout> layout = KnownLayout(md, out_channels, in_channels);
  if (!layout) return false;
  const Layout& l = *layout;
  const int64_t alpha = l.alpha, ab_stride = l.ab_stride;
  std::vector<int64_t> base_o(out_channels), base_i(in_channels);
  for (int64_t o = 0; o < out_channels; ++o) {
    const int64_t inner = o % l.ocb, block = o / l.ocb;
    base_o[o] = block / l.oc2b * l.o_outer_stride + block % l.oc2b * l.o2_stride + inner;
  }
  for (int64_t i = 0; i < in_channels; ++i) {
    base_i[i] = i / l.iblock * l.i_outer_stride + i % l.iblock * l.i_stride;
  }
  const dnnl_wino_desc_t& wd = md.format_desc.wino_desc;
  // Channels the layout pads stay zero; without padding every element is written below.
  if (wd.oc != out_channels || wd.ic != in_channels) std::memset(out, 0, wd.size);
  float* dst = static_cast<float*>(out);
  const double(*g64)[3] = alpha == 4 ? kG4 : kG6;
  float g[6][3];
  for (int64_t a = 0; a < alpha; ++a) {
    for (int c = 0; c < 3; ++c) g[a][c] = static_cast<float>(g64[a][c]);
  }
  // One tile at a time: l.ocb output channels (the layout's innermost block) by up to kTileI
  // input channels within one input block. For each (a, b), the tile is one contiguous run in the
  // destination; writing element by element instead strides by ab_stride (a power of two), which
  // made every store miss the cache: 7 ms instead of under 1 for a 128x128 conv. Transforming
  // kLanes kernels at once in float (TransformKernels) instead of one at a time in double took a
  // 256x256 conv from 2.5 to 0.7 ms (Intel Xeon, AVX-512): 16 ms of ResNet-50's load before.
  constexpr int64_t kTileI = 16;
#if defined(__x86_64__) && defined(__GNUC__)
  const auto transform = CpuHasAvx512() ? TransformKernelsAvx512 : TransformKernels;
#else
  const auto transform = TransformKernels;
#endif
  const int64_t o_stride = in_channels * 9 * static_cast<int64_t>(sizeof(float));
  std::vector<float> tile(static_cast<size_t>(alpha * alpha * kTileI * l.ocb));
  for (int64_t o0 = 0; o0 < out_channels; o0 += l.ocb) {
    const int64_t o_count = std::min(l.ocb, out_channels - o0);
    for (int64_t i0 = 0; i0 < in_channels;) {
      const int64_t i_count =
          std::min({kTileI, in_channels - i0, l.iblock - i0 % l.iblock});  // within one block
      if (o_count < l.ocb) std::fill(tile.begin(), tile.end(), 0.0f);
      for (int64_t ii = 0; ii < i_count; ++ii) {
        for (int64_t og = 0; og < o_count; og += kLanes) {
          transform(oihw + (o0 + og) * o_stride + (i0 + ii) * 9 * sizeof(float), o_stride,
                    std::min(kLanes, o_count - og), g, alpha, &tile[ii * l.ocb + og],
                    kTileI * l.ocb);
        }
      }
      float* run = dst + base_o[o0] + base_i[i0];
      for (int64_t ab = 0; ab < alpha * alpha; ++ab) {
        std::memcpy(run + ab * ab_stride, tile.data() + ab * kTileI * l.ocb,
                    static_cast<size_t>(i_count * l.ocb) * sizeof(float));
      }
      i0 += i_count;
    }
  }
  return true;
}

}  // namespace edgerun::onednn
