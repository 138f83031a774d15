// The AVX-512 VNNI int8 stem kernel (kernels/simd/qstem_vnni.cc) against the reference
// QLinearConv, bit for bit: 1 to 4 input channels, every count of four-byte steps per window row
// (1 to 8, the last step reaching past the row), windows 2x2 to 7x7 and non-square, strides 1 to 3,
// symmetric, asymmetric and no padding (padding wider than the window's reach), maps narrower than
// a step's pixels, output channels that leave blocks of 64, 32 and 16, padded blocks and the
// two-pixel stores of a 32-channel output (an odd width leaves one pixel), batch 2, u8 and s8
// inputs and outputs, zero points, per-tensor and per-channel scales, no bias, Relu and Clip; 1 and
// 2 threads. The nodes it leaves to the next kernel: more than 4 input channels, over 32 bytes a
// window row, 1x1 windows, groups, dilation, weight zero points. On CPUs without VNNI it claims
// nothing.
#include "kernels/simd/qstem_vnni.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/cpu_features.h"
#include "kernels/simd/qconv_vnni_test_util.h"

// Cases list their leading fields only.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using qconv_test::Pointwise;
using qconv_test::QConvCase;
using qconv_test::QConvNode;
using qconv_test::With;

std::span<const KernelDef> OnlyThisKernel() {
  static const KernelDef table[] = {FastQStemKernel(KernelPath::kOnednn)};
  return table;
}

// A group-1 conv of x [N, H, W, C] to `out_channels`: the 1x1 case with a window.
QConvCase Stem(std::vector<int64_t> x, int64_t out_channels, std::vector<int64_t> kernel = {3, 3},
               std::vector<int64_t> strides = {2, 2}, std::vector<int64_t> pads = {1, 1, 1, 1},
               DType x_type = DType::kU8, DType y_type = DType::kU8, int32_t x_zp = 0,
               int32_t y_zp = 0) {
  QConvCase c = Pointwise(std::move(x), out_channels, x_type, y_type, x_zp, y_zp);
  c.kernel = std::move(kernel);
  c.strides = std::move(strides);
  c.pads = std::move(pads);
  return c;
}

TEST(QStemVnniTest, MatchesReferenceBitForBit) {
  if (!CpuHasAvx512Vnni())
    GTEST_SKIP() << "this CPU has no AVX-512 VNNI; the kernel claims nothing";
  using D = DType;
  std::vector<QConvCase> cases;
  // Every count of steps per window row: kernel_w * C bytes from 2 to 32.
  for (int64_t c = 1; c <= 4; ++c) {
    for (int64_t kw = 2; kw * c <= 32; kw += 1 + (kw > 4)) {
      cases.push_back(Stem({1, 9, 11, c}, 16 + 8 * c, {3, kw}, {1, 2}, {1, kw / 2, 1, kw / 2},
                           D::kU8, D::kU8, 7 + static_cast<int32_t>(kw), 3));
    }
  }
  // Output channels that leave blocks of 64, 32 and 16, padded blocks and 32 (two-pixel stores,
  // an odd output width leaving one pixel).
  for (int64_t n : {8, 16, 20, 31, 32, 33, 48, 64, 80, 100, 112, 128}) {
    cases.push_back(Stem({1, 10, 13, 3}, n, {3, 3}, {2, 2}, {1, 1, 1, 1}, D::kU8, D::kU8, 128, 4));
  }
  // Strides, padding on one side only, none, and wider than the window reaches.
  cases.push_back(Stem({1, 12, 12, 3}, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}));
  cases.push_back(Stem({1, 12, 13, 3}, 32, {3, 3}, {3, 3}, {0, 0, 0, 0}));
  cases.push_back(Stem({1, 12, 13, 3}, 32, {3, 3}, {2, 2}, {0, 0, 1, 1}));
  cases.push_back(Stem({1, 11, 10, 3}, 32, {3, 3}, {2, 1}, {4, 5, 3, 2}, D::kU8, D::kU8, 250, 0));
  cases.push_back(Stem({1, 16, 16, 3}, 64, {7, 7}, {2, 2}, {3, 3, 3, 3}, D::kU8, D::kU8, 114, 0));
  cases.push_back(Stem({1, 9, 10, 4}, 24, {5, 3}, {1, 2}, {2, 0, 2, 1}, D::kU8, D::kU8, 60, 9));
  cases.push_back(Stem({1, 3, 2, 3}, 16, {2, 2}, {1, 1}, {0, 0, 0, 0}));  // a 2x1 output
  cases.push_back(Stem({2, 7, 9, 3}, 32, {3, 3}, {2, 2}, {1, 1, 1, 1}, D::kI8, D::kU8, -20, 6));
  cases.push_back(Stem({1, 8, 9, 2}, 40, {3, 3}, {1, 1}, {1, 1, 1, 1}, D::kU8, D::kI8, 200, -9));
  cases.push_back(Stem({2, 6, 5, 1}, 16, {3, 3}, {1, 1}, {1, 1, 1, 1}, D::kI8, D::kI8, 17, -128));
  QConvCase no_bias = Stem({1, 7, 8, 3}, 32, {3, 3}, {1, 1});
  no_bias.per_channel = false;
  no_bias.bias = false;
  cases.push_back(no_bias);
  const QConvCase u8 = Stem({1, 9, 9, 3}, 32, {3, 3}, {2, 2}, {1, 1, 1, 1}, D::kU8, D::kU8, 120, 5);
  const QConvCase to_s8 =
      Stem({1, 9, 9, 3}, 48, {3, 3}, {2, 2}, {1, 1, 1, 1}, D::kU8, D::kI8, 120, -7);
  cases.push_back(With(u8, "Relu"));
  cases.push_back(With(to_s8, "Clip", {-0.5f, 1.0f}));
  cases.push_back(With(u8, "Clip", {-100.0f, 100.0f}));
  cases.push_back(With(to_s8, "Clip", {1e6f, 2e6f}));
  const size_t constant_case = cases.size() - 1;  // every output 127
  // MobileNetV2's and ResNet's stems, large enough to meet rounding ties.
  cases.push_back(With(Stem({1, 224, 224, 3}, 32), "Clip", {0.0f, 6.0f}));
  cases.push_back(
      With(Stem({1, 64, 64, 3}, 64, {7, 7}, {2, 2}, {3, 3, 3, 3}, D::kU8, D::kU8, 114, 0), "Relu"));
  qconv_test::ExpectCasesBitExact(OnlyThisKernel(), cases, "qstem:avx512_vnni", 4000,
                                  constant_case);
}

TEST(QStemVnniTest, LeavesOtherNodesToTheNextKernel) {
  const QConvCase base = Stem({1, 9, 9, 3}, 32);
  QConvCase weight_zero_point = base, grouped = Stem({1, 9, 9, 4}, 32), dilated = base;
  weight_zero_point.w_zp = 3;
  grouped.group = 2;
  dilated.dilations = {2, 2};
  const std::vector<QConvCase> refused = {
      weight_zero_point,
      grouped,
      dilated,
      Stem({1, 9, 9, 5}, 32),                                  // 5 input channels
      Stem({1, 12, 12, 4}, 32, {9, 9}, {1, 1}, {4, 4, 4, 4}),  // 36 bytes a window row
      Stem({1, 9, 9, 3}, 32, {1, 1}, {1, 1}, {0, 0, 0, 0}),    // 1x1
      Stem({0, 9, 9, 3}, 32)};                                 // an empty batch
  qconv_test::ExpectRefused(OnlyThisKernel(), refused, base, 5000);
}

}  // namespace
}  // namespace edgerun
