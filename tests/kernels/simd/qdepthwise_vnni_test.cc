// The AVX-512 VNNI int8 depthwise kernel (kernels/simd/qdepthwise_vnni.cc) against the reference
// QLinearConv, bit for bit: channel counts around its 64-channel blocks and the 16- and 32-byte
// slots of their tails (several pixels per block), windows of 1x1 to 7x7 (3x3 compiled in, 3-row
// windows at stride 1 in row pairs, 5x5 and 7x7 in two row groups), strides 1 to 3, dilation,
// asymmetric and no padding, maps narrower than a block's pixels, row pairs across images, u8 and
// s8 inputs and outputs, zero points, per-tensor and per-channel scales, no bias, Relu, Clip
// bounds inside and outside the output's range, batch 2; 1 and 2 threads. The nodes it leaves to
// the next kernel: weight zero points, a channel multiplier, windows over 8 a side, channel tails
// at strides over 1, fewer than 64 channels but for 32 at stride 1. On CPUs without VNNI it claims
// nothing.
#include "kernels/simd/qdepthwise_vnni.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/cpu_features.h"
#include "kernels/simd/qconv_vnni_test_util.h"

// Cases list their leading fields only.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using qconv_test::QConvCase;
using qconv_test::QConvNode;
using qconv_test::With;

std::span<const KernelDef> OnlyThisKernel() {
  static const KernelDef table[] = {FastQDepthwiseKernel(KernelPath::kOnednn)};
  return table;
}

TEST(QDepthwiseVnniTest, MatchesReferenceBitForBit) {
  if (!CpuHasAvx512Vnni())
    GTEST_SKIP() << "this CPU has no AVX-512 VNNI; the kernel claims nothing";
  using D = DType;
  std::vector<QConvCase> cases;
  // Tails of 1, 8 and 16 channels take 16-byte slots (4 pixels a block), 17-32 32-byte slots,
  // 33-63 one masked pixel.
  for (int64_t ch : {64, 65, 72, 80, 81, 96, 97, 127, 128, 144, 200}) {
    cases.push_back({{1, 9, 11, ch}});
  }
  cases.push_back(
      {{2, 12, 13, 128}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kI8, 131, -7});
  cases.push_back(
      {{2, 12, 13, 104}, {3, 3}, {2, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kI8, 131, -7});
  cases.push_back({{1, 14, 15, 72}, {5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, D::kI8, D::kU8, -3, 17});
  cases.push_back({{1, 14, 15, 64}, {5, 5}, {2, 2}, {1, 2, 2, 1}, {1, 1}, D::kI8, D::kI8, 9, 3});
  cases.push_back({{1, 16, 16, 88}, {7, 7}, {1, 1}, {3, 3, 3, 3}});
  cases.push_back({{1, 10, 10, 112}, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, D::kU8, D::kU8, 4, 9});
  cases.push_back({{1, 11, 12, 64}, {3, 5}, {3, 2}, {0, 1, 2, 2}, {1, 1}, D::kU8, D::kU8, 77, 3});
  cases.push_back({{1, 11, 12, 70}, {3, 5}, {3, 1}, {0, 1, 2, 2}, {1, 1}, D::kU8, D::kU8, 77, 3});
  cases.push_back({{1, 13, 13, 100}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, D::kU8, D::kU8, 12, 0});
  cases.push_back({{1, 13, 14, 80}, {3, 3}, {1, 1}, {2, 1, 2, 3}, {2, 2}, D::kU8, D::kU8, 12, 0});
  // Row pairs across two images whose odd row count leaves the last row of each unpaired.
  cases.push_back({{2, 7, 9, 64}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 30, 2});
  cases.push_back({{2, 7, 9, 144}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kI8, D::kU8, 3, 2});
  cases.push_back({{1, 3, 2, 81}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 200, 0});
  QConvCase no_bias{{1, 8, 9, 84}, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, D::kU8, D::kU8, 5, 0};
  no_bias.per_channel = false;
  no_bias.bias = false;
  cases.push_back(no_bias);
  const QConvCase u8{{1, 9, 9, 64}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 120, 5};
  const QConvCase to_s8{{1, 9, 9, 80}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8,
                        D::kI8,        120,    -7};
  cases.push_back(With(u8, "Relu"));
  cases.push_back(With(to_s8, "Clip", {-0.5f, 1.0f}));
  // Clip bounds beyond what the output type holds, and a Clip entirely above it.
  cases.push_back(With(u8, "Clip", {-100.0f, 100.0f}));
  cases.push_back(With(to_s8, "Clip", {1e6f, 2e6f}));
  const size_t constant_case = cases.size() - 1;  // every output 127
  // 32 channels at stride 1: a block's two pixels are one run of bytes, odd widths leave half a
  // block at a row's end.
  cases.push_back({{1, 9, 11, 32}});
  cases.push_back({{2, 7, 8, 32}, {3, 3}, {1, 1}, {0, 2, 1, 0}, {1, 1}, D::kI8, D::kI8, 9, -4});
  cases.push_back({{1, 6, 5, 32}, {5, 5}, {2, 1}, {2, 2, 2, 2}, {1, 1}, D::kU8, D::kU8, 40, 3});
  cases.push_back({{1, 10, 9, 32}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, D::kU8, D::kI8, 1, 5});
  // MobileNetV2 sizes, large enough to meet rounding ties.
  const QConvCase mobile{{1, 28, 28, 192}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8,
                         D::kU8,           0,      0};
  cases.push_back(With(mobile, "Clip", {0.0f, 6.0f}));
  cases.push_back(With(QConvCase{{1, 112, 112, 32}}, "Clip", {0.0f, 6.0f}));
  cases.push_back({{1, 56, 56, 144}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 3, 0});
  cases.push_back({{1, 28, 28, 192}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 3, 0});
  qconv_test::ExpectCasesBitExact(OnlyThisKernel(), cases, "qdepthwise:avx512_vnni", 1000,
                                  constant_case);
}

TEST(QDepthwiseVnniTest, LeavesOtherNodesToTheNextKernel) {
  const QConvCase base{{1, 9, 9, 64}};
  QConvCase weight_zero_point = base, two_per_channel = base;
  weight_zero_point.w_zp = 3;
  two_per_channel.out_channels = 128;
  const std::vector<QConvCase> refused = {weight_zero_point,
                                          two_per_channel,
                                          {{1, 12, 12, 64}, {9, 9}, {1, 1}, {4, 4, 4, 4}},
                                          // Where oneDNN's kernel is as fast: a channel tail at
                                          // stride 2, fewer than 64 channels (but 32 at stride 1).
                                          {{1, 12, 12, 96}, {3, 3}, {2, 2}},
                                          {{1, 12, 12, 16}},
                                          {{1, 12, 12, 32}, {3, 3}, {2, 2}},
                                          {{0, 12, 12, 64}}};  // an empty batch
  qconv_test::ExpectRefused(OnlyThisKernel(), refused, {{1, 9, 9, 64}}, 5000);
}

}  // namespace
}  // namespace edgerun
