// The Highway GlobalAveragePool (kernels/simd/global_pool.cc) against the reference NHWC kernel:
// channel counts around the vector widths, pixel counts around the summation block, batches; split
// across 2 and 3 threads on the oneDNN path; and the rounding of a large map against a sum in
// double.
#include "kernels/simd/global_pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

// sums[c] += the pixels' values of channel c, in double.
std::vector<double> ExactSums(const std::vector<float>& x, size_t pixels, size_t channels) {
  std::vector<double> sums(channels, 0.0);
  for (size_t p = 0; p < pixels; ++p) {
    for (size_t c = 0; c < channels; ++c) sums[c] += x[p * channels + c];
  }
  return sums;
}

TEST(ChannelSumsTest, AddsEveryPixelOfEveryChannel) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uni(-2.0f, 2.0f);
  for (size_t channels : {1, 7, 15, 16, 17, 63, 64, 65, 130}) {
    for (size_t pixels : {1, 3, 255, 256, 257, 1000}) {
      SCOPED_TRACE(std::to_string(pixels) + " pixels, " + std::to_string(channels) + " channels");
      std::vector<float> x(pixels * channels);
      for (float& v : x) v = uni(rng);
      std::vector<float> sums(channels, 1.0f);  // added to, not overwritten
      AddChannelSums(x.data(), pixels, channels, sums.data());
      const std::vector<double> want = ExactSums(x, pixels, channels);
      for (size_t c = 0; c < channels; ++c) {
        ASSERT_NEAR(sums[c], want[c] + 1.0, 1e-5 * (1.0 + std::sqrt(double(pixels))))
            << "channel " << c;
      }
    }
  }
}

// A 160x160 map of values near 1 (a detector's squeeze-excitation pool): summing in blocks keeps
// the mean within a few float roundings of the exact one.
TEST(ChannelSumsTest, LargeMapsKeepTheirPrecision) {
  const size_t pixels = 160 * 160, channels = 16;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> uni(0.9f, 1.1f);
  std::vector<float> x(pixels * channels);
  for (float& v : x) v = uni(rng);
  std::vector<float> sums(channels, 0.0f);
  AddChannelSums(x.data(), pixels, channels, sums.data());
  const std::vector<double> want = ExactSums(x, pixels, channels);
  for (size_t c = 0; c < channels; ++c) EXPECT_NEAR(sums[c] / want[c], 1.0, 1e-6) << c;
}

// The kernel as a session runs it, `threads` spinning OpenMP threads on the oneDNN path.
Tensor RunFast(const Tensor& x, int threads) {
  const Node node = onednn_test::OnednnTestNode("GlobalAveragePool", kNhwcDomain, 1);
  const TensorType in_types[] = {{DType::kF32, x.dims()}};
  const Tensor* constants[] = {nullptr};
  const std::vector<int64_t> out_dims = {x.dims()[0], 1, 1, x.dims()[3]};
  const TensorType out_types[] = {{DType::kF32, out_dims}};
  SupportContext sctx{node, in_types, constants, out_types, threads};
  sctx.share_every_layer = true;
  const KernelPath order[] = {KernelPath::kOnednn};
  const KernelDef* kernel = SelectKernel(sctx, order);
  EXPECT_NE(kernel, nullptr);
  if (kernel == nullptr) return Tensor();
  EXPECT_EQ(kernel->prepare, FastGlobalAveragePoolKernel(KernelPath::kOnednn).prepare);
  PrepareContext pctx{node, in_types, constants, out_types, threads};
  pctx.share_every_layer = true;
  EXPECT_TRUE(kernel->prepare(pctx).ok());
  Tensor y = testing::RandomTensor(DType::kF32, out_dims, 3);  // garbage to overwrite
  std::vector<TensorView> ins = {x.view()}, outs = {y.view()};
  // Garbage in the scratch too: the partial sums must start from zero.
  onednn_test::AlignedScratch scratch(pctx.scratch_bytes);
  for (std::byte& b : scratch.storage) b = std::byte{0x7f};
  omp_set_num_threads(threads);
  InvokeContext ictx{node, pctx.state.get(), ins, outs, scratch.get(), pctx.scratch_bytes};
  EXPECT_TRUE(kernel->invoke(ictx).ok());
  omp_set_num_threads(1);
  return y;
}

TEST(FastGlobalAveragePoolTest, MatchesReferenceSplitAcrossThreads) {
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 112, 112, 32},  // EfficientNet-B0's first squeeze-excitation pool: split
      {2, 61, 47, 37},    // odd channels, two images, a share boundary inside an image
      {1, 7, 7, 1280},    // a classifier head: 250 KB, on the calling thread
      {3, 5, 3, 17},     {1, 1, 1, 8},
  };
  uint32_t seed = 11;
  for (const auto& dims : shapes) {
    const Tensor x = testing::RandomTensor(DType::kF32, dims, seed += 2, -3.0, 3.0);
    const Node node = onednn_test::OnednnTestNode("GlobalAveragePool", kNhwcDomain, 1);
    const Tensor* inputs[] = {&x};
    Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(DimsToString(dims) + " threads " + std::to_string(threads));
      const Tensor y = RunFast(x, threads);
      const test_util::CompareResult r =
          test_util::AllClose(y.view(), (*ref)[0].view(), 1e-5, 1e-6);
      EXPECT_TRUE(r.ok) << r.message;
    }
  }
}

}  // namespace
}  // namespace edgerun
