// The Winograd F(4x4,3x3) conv (kernels/simd/winograd_conv.cc) against the reference conv: maps
// smaller than a tile, not a multiple of 4, and wide enough for several blocks of tiles; channel
// counts around the 16-float slices (the masked loads and stores); symmetric, asymmetric and no
// padding; batch 2; bias or none; the residual, also in place; no activation, Relu and Clip; 1
// and 2 threads; nothing stored past the output's last float. Then the nodes it leaves to the
// next kernel.
#include "kernels/simd/winograd_conv.h"

#include <gtest/gtest.h>
#include <hwy/aligned_allocator.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/onednn/nhwc_conv_case.h"
#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

// Cases list their leading fields only.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::RandomTensor;

std::span<const KernelDef> OnlyThisKernel() {
  static const KernelDef table[] = {FastWinogradConvKernel(KernelPath::kOnednn)};
  return table;
}

using nhwc_conv_test::ConvCase;
using nhwc_conv_test::ConvInputs;
using nhwc_conv_test::ConvNode;
using nhwc_conv_test::ConvOutputDims;
using nhwc_conv_test::MakeConvInputs;

// A 3x3 stride-1 conv, the kind the kernel takes, of x (N, H, W, C) into m channels.
ConvCase Conv3x3(std::vector<int64_t> x, int64_t m, std::vector<int64_t> pads = {1, 1, 1, 1},
                 bool bias = true, bool residual = false, std::string activation = "",
                 std::vector<float> activation_params = {}) {
  ConvCase c{std::move(x), m, {3, 3}};
  c.pads = std::move(pads);
  c.bias = bias;
  c.residual = residual;
  c.activation = std::move(activation);
  c.activation_params = std::move(activation_params);
  return c;
}

std::string Describe(const ConvCase& c) {
  return "x " + DimsToString(c.x) + " m " + std::to_string(c.m) + " pads " + DimsToString(c.pads) +
         (c.bias ? " bias" : "") + (c.residual ? " residual" : "") + " " + c.activation;
}

// Winograd rounds differently from a direct conv: allow 1e-5 of the largest output before the
// activation clamps it (the errors seen reach about 3e-6 of it), on top of 1e-4 relative.
void ExpectClose(const TensorView& got, const Tensor& want, const ConvCase& c,
                 const ConvInputs& in) {
  ConvCase unclamped = c;
  unclamped.activation.clear();
  unclamped.activation_params.clear();
  Expected<std::vector<Tensor>> raw =
      EvaluateNode(ConvNode(unclamped), in.list, KernelPath::kReference);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  const float* w = (*raw)[0].data<float>();
  float largest = 0;
  for (int64_t i = 0; i < want.num_elements(); ++i) largest = std::max(largest, std::abs(w[i]));
  const test_util::CompareResult r = test_util::AllClose(got, want.view(), 1e-4, 1e-5 * largest);
  EXPECT_TRUE(r.ok) << r.message;
}

void ExpectMatchesReference(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE(Describe(c));
  const Node node = ConvNode(c);
  const ConvInputs in = MakeConvInputs(c, seed);
  Expected<std::vector<Tensor>> ref = EvaluateNode(node, in.list, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  for (int threads : {1, 2}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    std::string impl;
    const Tensor got = onednn_test::RunOnKernelTable(OnlyThisKernel(), node, in.list, threads,
                                                     &impl, nullptr, /*winograd=*/true);
    EXPECT_EQ(impl.rfind("winograd_f4x4:", 0), 0u) << impl;
    ASSERT_EQ(got.dims(), (*ref)[0].dims());
    ExpectClose(got.view(), (*ref)[0], c, in);
  }
}

// The case's shape as the kernel reads it.
Expected<NhwcConvShape> ShapeOf(const ConvCase& c, const ConvInputs& in) {
  std::vector<TensorType> types;
  for (const Tensor* t : in.list) types.push_back({t->dtype(), t->dims()});
  const std::vector<TensorType> out = {{DType::kF32, ConvOutputDims(c)}};
  return ReadNhwcConvShape(PrepareContext(ConvNode(c), types, in.list, out), 1);
}

// What RunWinogradConvTiles takes besides the tensors, for one thread: U and the bias (zero when
// the case has none) in aligned buffers, as the kernel's vector loads need, and the scratch.
struct DirectRun {
  WinogradConvGeometry g;
  hwy::AlignedFreeUniquePtr<float[]> u, bias;
  std::unique_ptr<onednn_test::AlignedScratch> scratch;

  DirectRun(const ConvCase& c, const ConvInputs& in, const NhwcConvShape& shape)
      : g(MakeWinogradConvGeometry(shape)) {
    u = hwy::AllocateAligned<float>(static_cast<size_t>(g.weight_floats()));
    TransformWinogradWeights(in.w.UnalignedBytes(), c.m, c.x[3], g.padded_channels,
                             g.padded_out_channels, u.get());
    bias = hwy::AllocateAligned<float>(static_cast<size_t>(g.padded_out_channels));
    std::fill(bias.get(), bias.get() + g.padded_out_channels, 0.0f);
    if (c.bias) std::copy(in.b.data<float>(), in.b.data<float>() + c.m, bias.get());
    scratch = std::make_unique<onednn_test::AlignedScratch>(
        static_cast<size_t>(g.scratch_floats()) * sizeof(float));
  }
  void Run(const float* x, float lo, float hi, const float* z, float* y) const {
    RunWinogradConvTiles(g, u.get(), bias.get(), lo, hi, x, z, y, 0, g.tiles(),
                         static_cast<float*>(scratch->get()));
  }
};

TEST(WinogradConvTest, MatchesReferenceOnMapSizes) {
  // 1x1 and 3x3 maps (one tile, mostly outside), 4x4, 5x5, 7x9, and 30x30 (64 tiles: several
  // blocks of tiles, shared by two threads).
  for (const std::vector<int64_t>& hw :
       std::vector<std::vector<int64_t>>{{1, 1}, {3, 3}, {4, 4}, {5, 5}, {7, 9}, {30, 30}}) {
    ExpectMatchesReference(Conv3x3({1, hw[0], hw[1], 16}, 32, {1, 1, 1, 1}, true, false, "Relu"),
                           1);
  }
}

TEST(WinogradConvTest, MatchesReferenceOnChannelCounts) {
  // Input channels: 8 (half a slice), 16, 17, 33 (a slice and a masked tail); outputs: 16, 17
  // (a masked store), 40, 64 (the 4-vector group), 80 (a group and a 1-vector remainder), 112
  // (a group and 3).
  for (int64_t c : {8, 16, 17, 33}) {
    for (int64_t m : {16, 17, 40, 64, 80, 112}) {
      ExpectMatchesReference(Conv3x3({1, 9, 10, c}, m), static_cast<uint32_t>(c * 131 + m));
    }
  }
}

TEST(WinogradConvTest, MatchesReferenceOnPaddingBatchBiasResidualActivation) {
  ExpectMatchesReference(Conv3x3({1, 12, 11, 16}, 24, {0, 0, 0, 0}), 2);  // VALID: 10x9
  ExpectMatchesReference(Conv3x3({1, 12, 11, 16}, 24, {2, 0, 0, 1}), 3);  // asymmetric: 12x10
  ExpectMatchesReference(Conv3x3({1, 6, 6, 16}, 16, {2, 2, 2, 2}), 4);    // wider than the window
  ExpectMatchesReference(Conv3x3({2, 13, 13, 24}, 48, {1, 1, 1, 1}),
                         5);  // batch 2: tiles of image 2
  ExpectMatchesReference(Conv3x3({1, 13, 13, 16}, 32, {1, 1, 1, 1}, false), 6);
  ExpectMatchesReference(Conv3x3({1, 13, 13, 16}, 32, {1, 1, 1, 1}, true, true, "Relu"), 7);
  ExpectMatchesReference(Conv3x3({1, 13, 13, 16}, 33, {1, 1, 1, 1}, false, true), 8);
  ExpectMatchesReference(
      Conv3x3({1, 13, 13, 16}, 32, {1, 1, 1, 1}, true, false, "Clip", {-0.5f, 0.5f}), 9);
}

// Transformed weights over 1 MiB on a 28x28 map: one block of tiles per thread.
TEST(WinogradConvTest, MatchesReferenceWithOneBlockPerThread) {
  const ConvCase c = Conv3x3({1, 28, 28, 96}, 96, {1, 1, 1, 1}, true, true, "Relu");
  Expected<NhwcConvShape> shape = ShapeOf(c, MakeConvInputs(c, 13));
  ASSERT_TRUE(shape.ok()) << shape.status().message();
  EXPECT_EQ(MakeWinogradConvGeometry(*shape, 1).tiles_per_block, 49);
  EXPECT_EQ(MakeWinogradConvGeometry(*shape, 2).tiles_per_block, 25);
  ExpectMatchesReference(c, 13);
}

// The residual's buffer as the output (the runtime runs the node in place): each output reads its
// own residual before it is overwritten.
TEST(WinogradConvTest, ResidualInPlace) {
  const ConvCase c = Conv3x3({1, 14, 15, 16}, 20, {1, 1, 1, 1}, true, true, "Relu");
  const Node node = ConvNode(c);
  const ConvInputs in = MakeConvInputs(c, 11);
  Expected<std::vector<Tensor>> ref = EvaluateNode(node, in.list, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  Expected<NhwcConvShape> shape = ShapeOf(c, in);
  ASSERT_TRUE(shape.ok()) << shape.status().message();
  const DirectRun run(c, in, *shape);
  Tensor y = RandomTensor(DType::kF32, ConvOutputDims(c), 0);
  float* out = y.mutable_data<float>();
  std::copy(in.z.data<float>(), in.z.data<float>() + y.num_elements(), out);
  run.Run(in.x.data<float>(), 0.0f, INFINITY, out, out);
  ExpectClose(y.view(), (*ref)[0], c, in);
}

// 17 output channels: each pixel's second vector is a masked store, and the last pixel's ends 15
// floats before the buffer does. The floats after the output keep their values.
TEST(WinogradConvTest, StoresNothingPastTheOutput) {
  const ConvCase c = Conv3x3({1, 7, 6, 16}, 17);
  const ConvInputs in = MakeConvInputs(c, 12);
  Expected<NhwcConvShape> shape = ShapeOf(c, in);
  ASSERT_TRUE(shape.ok()) << shape.status().message();
  const int64_t size = NumElements(ConvOutputDims(c));
  constexpr float kGuard = 12345.0f;
  std::vector<float> y(static_cast<size_t>(size + kWinogradSlice), kGuard);
  DirectRun(c, in, *shape).Run(in.x.data<float>(), -INFINITY, INFINITY, nullptr, y.data());
  for (int64_t i = size; i < size + kWinogradSlice; ++i) EXPECT_EQ(y[i], kGuard) << i;
}

// U = G g G^T rounded once to float, for 20 filters of 3 channels (a full slice of output
// channels and a partial one), and zero in the padding.
TEST(WinogradConvTest, WeightTransformRoundsOnce) {
  constexpr int64_t kOut = 20, kIn = 3, kPaddedIn = 16, kPaddedOut = 32;
  const Tensor w = RandomTensor(DType::kF32, {kOut, kIn, 3, 3}, 21, -3.0, 3.0);
  auto u = hwy::AllocateAligned<float>(kWinogradPositions * kPaddedIn * kPaddedOut);
  std::fill(u.get(), u.get() + kWinogradPositions * kPaddedIn * kPaddedOut, -1.0f);
  TransformWinogradWeights(w.UnalignedBytes(), kOut, kIn, kPaddedIn, kPaddedOut, u.get());
  const long double g[6][3] = {{0.25L, 0, 0},
                               {-1.0L / 6, -1.0L / 6, -1.0L / 6},
                               {-1.0L / 6, 1.0L / 6, -1.0L / 6},
                               {1.0L / 24, 1.0L / 12, 1.0L / 6},
                               {1.0L / 24, -1.0L / 12, 1.0L / 6},
                               {0, 0, 1}};
  const float* wf = w.data<float>();
  for (int64_t k = 0; k < kPaddedOut; ++k) {
    for (int64_t c = 0; c < kPaddedIn; ++c) {
      for (int i = 0; i < 6; ++i) {
        for (int j = 0; j < 6; ++j) {
          long double want = 0;
          if (k < kOut && c < kIn) {
            for (int a = 0; a < 3; ++a) {
              for (int b = 0; b < 3; ++b)
                want += g[i][a] * wf[((k * kIn + c) * 3 + a) * 3 + b] * g[j][b];
            }
          }
          const float got = u[((i * 6 + j) * kPaddedIn + c) * kPaddedOut + k];
          // Within half a float ulp of the exact value, plus the double arithmetic's error.
          EXPECT_NEAR(got, static_cast<double>(want),
                      std::abs(static_cast<double>(want)) * 6.0e-8 + 1e-12)
              << "k " << k << " c " << c << " position " << i * 6 + j;
        }
      }
    }
  }
}

TEST(WinogradConvTest, LeavesOtherNodes) {
  const auto claims = [](const ConvCase& c, bool winograd = true) {
    const Node node = ConvNode(c);
    const ConvInputs in = MakeConvInputs(c, 1);
    std::vector<TensorType> types;
    for (const Tensor* t : in.list) types.push_back({t->dtype(), t->dims()});
    const std::vector<TensorType> out = {{DType::kF32, ConvOutputDims(c)}};
    SupportContext sctx{node, types, in.list, out, 1, false, winograd};
    return OnlyThisKernel()[0].supports(sctx);
  };
  const ConvCase base = Conv3x3({1, 8, 8, 16}, 16);
  EXPECT_TRUE(claims(base));
  EXPECT_FALSE(claims(base, /*winograd=*/false));
  ConvCase c = base;
  c.strides = {2, 2};
  EXPECT_FALSE(claims(c));
  c = base;
  c.dilations = {2, 2};
  EXPECT_FALSE(claims(c));
  c = base;
  c.group = 2;
  EXPECT_FALSE(claims(c));
  c = base;
  c.kernel = {5, 5};
  EXPECT_FALSE(claims(c));
  c = base;
  c.x[3] = 4;  // too few input channels
  EXPECT_FALSE(claims(c));
  c = base;
  c.m = 8;  // too few output channels
  EXPECT_FALSE(claims(c));
  c = base;
  c.x[3] = c.m = 96;  // 1.3 MiB of transformed weights on an 8x8 map
  EXPECT_FALSE(claims(c));
  c.x[1] = c.x[2] = 28;  // on a 28x28 map, up to 2.5 MiB
  EXPECT_TRUE(claims(c));
  c.x[3] = c.m = 144;  // 2.8 MiB
  EXPECT_FALSE(claims(c));
  c = base;
  c.activation = "LeakyRelu";
  c.activation_params = {0.1f};
  EXPECT_FALSE(claims(c));
  // Weights computed at run time.
  const Node node = ConvNode(base);
  const ConvInputs in = MakeConvInputs(base, 1);
  std::vector<TensorType> types;
  for (const Tensor* t : in.list) types.push_back({t->dtype(), t->dims()});
  const std::vector<TensorType> out = {{DType::kF32, ConvOutputDims(base)}};
  const std::vector<const Tensor*> no_weights = {&in.x, nullptr, &in.b};
  EXPECT_FALSE(
      OnlyThisKernel()[0].supports(SupportContext{node, types, no_weights, out, 1, false, true}));
}

}  // namespace
}  // namespace edgerun
