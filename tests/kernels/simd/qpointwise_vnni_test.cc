// The AVX-512 VNNI int8 1x1 kernel (kernels/simd/qpointwise_vnni.cc) against the reference
// QLinearConv, bit for bit: input channels 4 to 64 (every compiled group count) and 80 to 384 (the
// group loop), output channels that leave blocks of 64, 32 and 16 and padded blocks, pixel counts
// off the step (the last pixels repeated), batch
// 2, u8 and s8 inputs and outputs, zero points, per-tensor and per-channel scales, no bias, Relu
// and Clip; 1 and 2 threads. The nodes it leaves to the next kernel: padding, strides, groups,
// windows over 1x1, input channels not a multiple of 4 (beyond 64: of 16) or over 384, weight
// zero points. On CPUs without VNNI it claims nothing.
#include "kernels/simd/qpointwise_vnni.h"

#include <gtest/gtest.h>

#include <array>
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
using qconv_test::WithResidual;

std::span<const KernelDef> OnlyThisKernel() {
  static const std::array<KernelDef, 2> table = FastQPointwiseKernels(KernelPath::kOnednn);
  return table;
}

TEST(QPointwiseVnniTest, MatchesReferenceBitForBit) {
  if (!CpuHasAvx512Vnni())
    GTEST_SKIP() << "this CPU has no AVX-512 VNNI; the kernel claims nothing";
  using D = DType;
  std::vector<QConvCase> cases;
  for (int64_t k = 4; k <= 64; k += 4) {
    cases.push_back(Pointwise({1, 5, 7, k}, 16 * (1 + k % 7), D::kU8, D::kU8, 3, 1));
  }
  // Beyond 64 input channels the group loop runs four groups a step.
  for (int64_t k : {80, 96, 144, 384}) {
    cases.push_back(Pointwise({1, 5, 3, k}, 16 * (1 + k % 5), D::kU8, D::kU8, 9, 2));
  }
  // Counts off the multiples of 16 pad the last block of one or two vectors.
  for (int64_t n : {16, 32, 48, 64, 80, 96, 112, 144, 192, 8, 20, 24, 40, 56, 100}) {
    cases.push_back(Pointwise({1, 6, 5, 24}, n, D::kU8, D::kU8, 131, 7));
  }
  cases.push_back(Pointwise({2, 3, 3, 16}, 96, D::kI8, D::kU8, -5, 2));
  cases.push_back(Pointwise({1, 4, 5, 32}, 48, D::kU8, D::kI8, 200, -9));
  cases.push_back(Pointwise({2, 3, 5, 8}, 32, D::kI8, D::kI8, 17, -128));
  cases.push_back(Pointwise({1, 1, 1, 12}, 16));  // one pixel
  QConvCase no_bias = Pointwise({1, 7, 3, 20}, 64, D::kU8, D::kU8, 9, 0);
  no_bias.per_channel = false;
  no_bias.bias = false;
  cases.push_back(no_bias);
  const QConvCase u8 = Pointwise({1, 8, 9, 16}, 96, D::kU8, D::kU8, 120, 5);
  const QConvCase to_s8 = Pointwise({1, 8, 9, 24}, 144, D::kU8, D::kI8, 120, -7);
  cases.push_back(With(u8, "Relu"));
  cases.push_back(With(to_s8, "Clip", {-0.5f, 1.0f}));
  cases.push_back(With(u8, "Clip", {-100.0f, 100.0f}));
  cases.push_back(With(to_s8, "Clip", {1e6f, 2e6f}));
  const size_t constant_case = cases.size() - 1;  // every output 127
  // MobileNetV2 sizes, large enough to meet rounding ties.
  cases.push_back(With(Pointwise({1, 112, 112, 16}, 96), "Clip", {0.0f, 6.0f}));
  cases.push_back(With(Pointwise({1, 56, 56, 24}, 144), "Clip", {0.0f, 6.0f}));
  cases.push_back(Pointwise({1, 28, 28, 32}, 192, D::kU8, D::kU8, 3, 0));
  qconv_test::ExpectCasesBitExact(OnlyThisKernel(), cases, "qpointwise:avx512_vnni", 2000,
                                  constant_case);
}

// QLinearConvAdd: the residual add fused in (kernels/ref/qlinear.cc, ConvAddRows).
TEST(QPointwiseVnniTest, ResidualAddMatchesReferenceBitForBit) {
  if (!CpuHasAvx512Vnni())
    GTEST_SKIP() << "this CPU has no AVX-512 VNNI; the kernel claims nothing";
  using D = DType;
  const QConvCase mobile = Pointwise({1, 56, 56, 144}, 24, D::kU8, D::kU8, 3, 121);
  QConvCase no_bias = Pointwise({1, 5, 7, 32}, 64, D::kU8, D::kU8, 7, 130);
  no_bias.bias = false;
  const std::vector<QConvCase> cases = {
      WithResidual(mobile, D::kU8, 117, D::kU8, 125),
      // Blocks of 64, 32 and 16 channels and padded ones, pixel counts off the step.
      WithResidual(Pointwise({1, 5, 7, 16}, 112), D::kU8, 3, D::kU8, 9),
      WithResidual(Pointwise({2, 3, 5, 48}, 40), D::kI8, -4, D::kU8, 100),
      WithResidual(Pointwise({1, 9, 3, 96}, 8, D::kI8, D::kI8, 5, -3), D::kU8, 200, D::kI8, 7),
      WithResidual(Pointwise({1, 4, 4, 384}, 96, D::kU8, D::kI8, 1, 0), D::kI8, 0, D::kI8, -20),
      // The conv output saturates before the add.
      WithResidual(Pointwise({1, 6, 6, 64}, 32, D::kU8, D::kU8, 0, 128), D::kU8, 128, D::kU8, 128,
                   0.05f),
      WithResidual(no_bias, D::kU8, 50, D::kU8, 60),
      WithResidual(With(Pointwise({1, 6, 5, 32}, 48), "Relu"), D::kU8, 20, D::kU8, 0),
      WithResidual(With(Pointwise({1, 6, 5, 32}, 48, D::kU8, D::kI8, 0, -5), "Clip", {-0.2f, 0.7f}),
                   D::kI8, 3, D::kI8, -100),
  };
  qconv_test::ExpectCasesBitExact(OnlyThisKernel(), cases, "qpointwise:avx512_vnni", 4000);
}

TEST(QPointwiseVnniTest, LeavesOtherNodesToTheNextKernel) {
  const QConvCase base = Pointwise({1, 6, 6, 16}, 32);
  QConvCase padded = base, strided = base, grouped = base, window = base, weight_zero_point = base;
  padded.pads = {1, 1, 1, 1};
  strided.strides = {2, 2};
  grouped.group = 2;
  window.kernel = {3, 3};
  window.pads = {1, 1, 1, 1};
  weight_zero_point.w_zp = 3;
  const std::vector<QConvCase> refused = {
      padded, strided, grouped, window, weight_zero_point, Pointwise({1, 6, 6, 18}, 32),
      Pointwise({1, 6, 6, 68}, 32), Pointwise({1, 6, 6, 400}, 32),
      Pointwise({1, 2, 2, 320}, 1280),  // 400 KiB of weights
      // A residual with input channels off the multiples of 16.
      WithResidual(Pointwise({1, 4, 4, 24}, 32), DType::kU8, 0, DType::kU8, 0),
      Pointwise({0, 6, 6, 16}, 32)};  // an empty batch
  qconv_test::ExpectRefused(OnlyThisKernel(), refused, base, 6000);
}

}  // namespace
}  // namespace edgerun
