// The Highway QuantizeLinear (kernels/simd/quantize.cc) against the reference kernel, bit for
// bit: sizes around the vector widths, u8 and i8 with zero points, ties, saturation, NaN and
// infinities; split across threads on the oneDNN path; and the nodes it leaves to the reference.
#include "kernels/simd/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

Node QuantizeNode(int num_inputs) { return testing::MakeNode("QuantizeLinear", 13, num_inputs); }

// Values that exercise every branch of the rounding: ties (k + 0.5 in scale units, exact for a
// power-of-two scale), values just off ties, beyond the output range, NaN and infinities; a third
// near ties of any scale (float((k + 0.5) * scale) and its neighbours), where dividing by the
// scale and multiplying by its reciprocal round to different integers; the rest random.
std::vector<float> HardValues(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-300.0f, 300.0f);
  std::uniform_int_distribution<int> tie(-140, 270);
  const float specials[] = {0.5f,
                            -0.5f,
                            1.5f,
                            -1.5f,
                            2.5f,
                            -2.5f,
                            127.5f,
                            128.5f,
                            -128.5f,
                            254.5f,
                            255.5f,
                            1e9f,
                            -1e9f,
                            0.0f,
                            -0.0f,
                            0.4999999f,
                            0.5000001f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    if (i % 3 == 0) {
      x[i] = specials[(i / 3) % std::size(specials)] * scale;
    } else if (i % 3 == 1) {
      const float near = (static_cast<float>(tie(rng)) + 0.5f) * scale;
      const int step = static_cast<int>(i / 3 % 3) - 1;  // -1, 0, +1 ulp
      x[i] = step == 0 ? near : std::nextafter(near, step * 1e30f);
    } else {
      x[i] = uni(rng) * scale;
    }
  }
  return x;
}

Tensor Scalar(DType dtype, double v) {
  if (dtype == DType::kF32)
    return Tensor::FromVector(DType::kF32, {}, std::vector<float>{float(v)});
  if (dtype == DType::kU8) {
    return Tensor::FromVector(DType::kU8, {}, std::vector<uint8_t>{static_cast<uint8_t>(v)});
  }
  return Tensor::FromVector(DType::kI8, {}, std::vector<int8_t>{static_cast<int8_t>(v)});
}

void ExpectEqualTensors(const Tensor& got, const Tensor& want) {
  const test_util::CompareResult r = test_util::AllClose(got.view(), want.view(), 0, 0);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(FastQuantizeTest, MatchesReferenceBitForBit) {
  struct Params {
    DType out;
    float scale;
    int zero_point;  // -1000: no zero point input (u8, zero 0)
  };
  const Params params[] = {{DType::kU8, 0.5f, 128},  {DType::kU8, 0.25f, 0},
                           {DType::kU8, 0.0371f, 3}, {DType::kI8, 1.0f, 0},
                           {DType::kI8, 0.125f, -7}, {DType::kU8, 0.02f, -1000}};
  uint32_t seed = 1;
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    for (const Params& p : params) {
      for (int64_t n : {1, 7, 15, 16, 17, 31, 33, 64, 65, 1000, 3 * 224 * 224 + 1}) {
        SCOPED_TRACE(std::string(KernelPathName(path)) + " " + std::string(DTypeName(p.out)) +
                     " scale " + std::to_string(p.scale) + " zp " + std::to_string(p.zero_point) +
                     " n " + std::to_string(n));
        const Tensor x = Tensor::FromVector(DType::kF32, {n}, HardValues(n, p.scale, seed++));
        const Tensor scale = Scalar(DType::kF32, p.scale);
        const Tensor zp = Scalar(p.out, p.zero_point);
        std::vector<const Tensor*> inputs = {&x, &scale};
        if (p.zero_point != -1000) inputs.push_back(&zp);
        const Node node = QuantizeNode(static_cast<int>(inputs.size()));
        Expected<std::vector<Tensor>> fast = EvaluateNode(node, inputs, path);
        Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
        ASSERT_TRUE(fast.ok()) << fast.status().message();
        ASSERT_TRUE(ref.ok()) << ref.status().message();
        ExpectEqualTensors((*fast)[0], (*ref)[0]);
      }
    }
  }
}

// The kernel multiplies by the reciprocal where every lane of a vector is far from a rounding
// boundary and divides otherwise: mostly random values with one near a tie (float((k + 0.5) *
// scale) or a neighbour) every 37, so most vectors mix both, over scales whose reciprocal is
// inexact, overflows (1e-39) or is subnormal (3e38).
TEST(FastQuantizeTest, SparseNearTiesMatchReferenceBitForBit) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-300.0f, 300.0f);
  std::uniform_int_distribution<int> tie(-140, 270);
  std::uniform_int_distribution<int> step(-2, 2);
  for (float scale : {0.0371f, 1.0f / 3.0f, 0.0073f, 0.017f, 3.7f, 1e-39f, 3e38f}) {
    SCOPED_TRACE("scale " + std::to_string(scale));
    std::vector<float> values(4096);
    for (size_t i = 0; i < values.size(); ++i) {
      float v = uni(rng) * scale;
      if (i % 37 == 0) {
        v = (static_cast<float>(tie(rng)) + 0.5f) * scale;
        for (int k = step(rng); k != 0; k += k > 0 ? -1 : 1) v = std::nextafter(v, k * 1e30f);
      }
      values[i] = v;
    }
    const Tensor x = Tensor::FromVector(DType::kF32, {4096}, values);
    const Tensor scale_t = Scalar(DType::kF32, scale);
    const Tensor zp = Scalar(DType::kU8, 100);
    const std::vector<const Tensor*> inputs = {&x, &scale_t, &zp};
    const Node node = QuantizeNode(3);
    Expected<std::vector<Tensor>> fast = EvaluateNode(node, inputs, KernelPath::kOnednn);
    Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
    ASSERT_TRUE(fast.ok()) << fast.status().message();
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    ExpectEqualTensors((*fast)[0], (*ref)[0]);
  }
}

// The rounding itself, against values worked out by hand.
TEST(FastQuantizeTest, RoundsHalfToEvenAndSaturates) {
  const std::vector<float> x = {0.5f,
                                1.5f,
                                2.5f,
                                -0.5f,
                                -1.5f,
                                3.49f,
                                300.0f,
                                -300.0f,
                                std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::infinity()};
  std::vector<uint8_t> u8(x.size());
  QuantizeF32(x.data(), x.size(), 1.0f, 10, DType::kU8, u8.data());
  EXPECT_EQ(u8, (std::vector<uint8_t>{10, 12, 12, 10, 8, 13, 255, 0, 10, 255}));
  std::vector<int8_t> i8(x.size());
  QuantizeF32(x.data(), x.size(), 1.0f, 0, DType::kI8, i8.data());
  EXPECT_EQ(i8, (std::vector<int8_t>{0, 2, 2, 0, -2, 3, 127, -128, 0, 127}));
}

// On the oneDNN path a large input is split across the OpenMP team: the shares (cut at 64
// values) must cover every value once.
TEST(FastQuantizeTest, SplitAcrossThreadsMatchesReference) {
  const Node node = QuantizeNode(3);
  uint32_t seed = 70;
  for (int64_t n : {int64_t{3 * 224 * 224}, int64_t{65537 + 13}, int64_t{200003}}) {
    for (int threads : {2, 3}) {
      SCOPED_TRACE("n " + std::to_string(n) + " threads " + std::to_string(threads));
      const Tensor x = Tensor::FromVector(DType::kF32, {n}, HardValues(n, 0.05f, seed++));
      const Tensor scale = Scalar(DType::kF32, 0.05f);
      const Tensor zp = Scalar(DType::kU8, 100);
      const std::vector<TensorType> in_types = {
          {DType::kF32, {n}}, {DType::kF32, {}}, {DType::kU8, {}}};
      const Tensor* constants[] = {nullptr, &scale, &zp};
      Expected<std::vector<TensorType>> out_types = InferNode(node, in_types, constants);
      ASSERT_TRUE(out_types.ok());
      PrepareContext pctx{node, in_types, constants, *out_types, threads};
      pctx.share_every_layer = true;
      const KernelDef k = FastQuantizeLinearKernel(KernelPath::kOnednn);
      ASSERT_TRUE(k.prepare(pctx).ok());
      Tensor y = Tensor::FromVector(DType::kU8, {n}, std::vector<uint8_t>(n, 0x5A));
      std::vector<TensorView> ins = {x.view(), scale.view(), zp.view()}, outs = {y.view()};
      InvokeContext ictx{node, pctx.state.get(), ins, outs, nullptr, 0};
      ASSERT_TRUE(k.invoke(ictx).ok());
      const Tensor* inputs[] = {&x, &scale, &zp};
      Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
      ASSERT_TRUE(ref.ok());
      ExpectEqualTensors(y, (*ref)[0]);
    }
  }
}

TEST(FastQuantizeTest, LeavesPerAxisAndIntegerInputsToTheReference) {
  const Node node = QuantizeNode(3);
  auto claimed = [&](KernelPath path, const std::vector<TensorType>& in) {
    const KernelDef* k = testing::KernelOnPath(path, node, in);
    return k != nullptr && k->supports == FastQuantizeLinearKernel(path).supports;
  };
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    SCOPED_TRACE(KernelPathName(path));
    EXPECT_TRUE(claimed(path, {{DType::kF32, {1, 3, 8, 8}}, {DType::kF32, {}}, {DType::kU8, {}}}));
    EXPECT_TRUE(claimed(path, {{DType::kF32, {5}}, {DType::kF32, {1}}, {DType::kI8, {1}}}));
    // Per-channel scales, integer input.
    EXPECT_FALSE(
        claimed(path, {{DType::kF32, {1, 3, 8, 8}}, {DType::kF32, {3}}, {DType::kU8, {3}}}));
    EXPECT_FALSE(claimed(path, {{DType::kI32, {8}}, {DType::kF32, {}}, {DType::kU8, {}}}));
  }
}

}  // namespace
}  // namespace edgerun
