// The Highway NHWC MaxPool (kernels/simd/max_pool.cc) against the reference, bit for bit: f32, u8
// and s8; channel counts below, at and around the vector widths (the overlapping last vector, the
// scalar path under one vector); windows 2x2 to 9x9 (over 64 taps: the scalar path) and
// non-square; strides 1 to 3; dilation; asymmetric pads; ceil_mode; SAME padding; windows with
// no tap inside the input; NaN and -inf; batch 2; 1 and 2 threads sharing the rows. The nodes it
// leaves to the next kernel: an Indices output, 3-D windows, f64.
#include "kernels/simd/max_pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

// Cases list their leading fields only.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

std::span<const KernelDef> OnlyThisKernel() {
  static const KernelDef table[] = {FastMaxPoolKernel(KernelPath::kOnednn)};
  return table;
}

struct PoolCase {
  std::vector<int64_t> x;  // N, H, W, C
  std::vector<int64_t> kernel = {3, 3};
  std::vector<int64_t> strides = {2, 2};
  std::vector<int64_t> pads = {0, 0, 0, 0};
  std::vector<int64_t> dilations = {1, 1};
  int64_t ceil_mode = 0;
  std::string auto_pad;
};

Node PoolNode(const PoolCase& c) {
  Node n = onednn_test::OnednnTestNode("MaxPool", kNhwcDomain, 1, 12);
  onednn_test::SetInts(n, "kernel_shape", c.kernel);
  onednn_test::SetInts(n, "strides", c.strides);
  onednn_test::SetInts(n, "dilations", c.dilations);
  if (c.auto_pad.empty()) {
    onednn_test::SetInts(n, "pads", c.pads);
  } else {
    n.attrs["auto_pad"] = Attribute::String(c.auto_pad);
  }
  n.attrs["ceil_mode"] = Attribute::Int(c.ceil_mode);
  return n;
}

std::string Describe(const PoolCase& c, DType type) {
  return std::string(DTypeName(type)) + " x " + DimsToString(c.x) + " kernel " +
         DimsToString(c.kernel) + " strides " + DimsToString(c.strides) + " pads " +
         DimsToString(c.pads) + " dilations " + DimsToString(c.dilations) + " ceil " +
         std::to_string(c.ceil_mode) + " " + c.auto_pad;
}

// The kernel at 1 and 2 threads gives the reference's output exactly.
void ExpectBitExact(const PoolCase& c, DType type, const Tensor& x) {
  SCOPED_TRACE(Describe(c, type));
  const Node node = PoolNode(c);
  const Tensor* inputs[] = {&x};
  Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  for (int threads : {1, 2}) {
    std::string impl;
    const Tensor got = onednn_test::RunOnKernelTable(OnlyThisKernel(), node, {&x}, threads, &impl);
    EXPECT_EQ(impl.rfind("max_pool:", 0), 0u) << impl;
    ASSERT_EQ(got.dims(), (*ref)[0].dims());
    // Byte for byte: NaN where the reference has NaN, -0 where it has -0.
    EXPECT_EQ(std::memcmp(got.view().raw, (*ref)[0].view().raw, got.view().bytes()), 0)
        << threads
        << " threads: " << test_util::AllClose(got.view(), (*ref)[0].view(), 0, 0).message;
  }
}

Tensor Input(DType type, const std::vector<int64_t>& dims, uint32_t seed) {
  if (type == DType::kU8) return testing::RandomTensor(type, dims, seed, 0, 255);
  if (type == DType::kI8) return testing::RandomTensor(type, dims, seed, -128, 127);
  return testing::RandomTensor(type, dims, seed, -4.0, 4.0);
}

TEST(MaxPoolTest, MatchesReferenceBitForBit) {
  std::vector<PoolCase> cases;
  // Channels around the vector widths (16 floats, 64 bytes with AVX-512).
  for (int64_t ch : {1, 3, 15, 16, 17, 31, 63, 64, 65, 100, 128, 130}) {
    cases.push_back({{1, 9, 11, ch}});
  }
  cases.push_back({{2, 12, 13, 64}, {3, 3}, {1, 1}, {1, 1, 1, 1}});
  cases.push_back({{1, 12, 13, 48}, {2, 2}, {2, 2}});
  cases.push_back({{1, 12, 13, 80}, {3, 2}, {3, 1}, {0, 1, 2, 0}});
  cases.push_back({{1, 14, 15, 64}, {5, 5}, {1, 2}, {2, 2, 2, 2}, {2, 1}});
  cases.push_back({{1, 20, 21, 32}, {9, 9}, {2, 2}, {4, 4, 4, 4}});  // 81 taps
  // ceil_mode: SqueezeNet's 3x3/2 over an odd size, the last window cut by the end.
  cases.push_back({{1, 111, 111, 64}, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1});
  cases.push_back({{1, 10, 12, 40}, {3, 3}, {3, 3}, {1, 0, 0, 1}, {1, 1}, 1});
  cases.push_back({{1, 11, 10, 64}, {3, 3}, {2, 2}, {}, {1, 1}, 0, "SAME_UPPER"});
  cases.push_back({{1, 11, 10, 17}, {4, 4}, {3, 3}, {}, {1, 1}, 0, "SAME_LOWER"});
  // ResNet's 3x3/2 with pads of 1.
  cases.push_back({{1, 112, 112, 64}, {3, 3}, {2, 2}, {1, 1, 1, 1}});
  // Pads as large as the window: the corner windows have no tap inside the input.
  cases.push_back({{1, 5, 6, 20}, {2, 2}, {2, 2}, {2, 2, 2, 2}});
  uint32_t seed = 100;
  for (DType type : {DType::kF32, DType::kU8, DType::kI8}) {
    for (const PoolCase& c : cases) ExpectBitExact(c, type, Input(type, c.x, seed++));
  }
}

TEST(MaxPoolTest, NanAndInfinityAsTheReference) {
  // A NaN first tap stays; a later one never replaces the maximum; -inf is an ordinary value.
  const PoolCase c{{1, 7, 8, 40}, {3, 3}, {1, 1}, {1, 1, 1, 1}};
  Tensor x = Input(DType::kF32, c.x, 7);
  float* v = static_cast<float*>(x.view().raw);
  const int64_t n = x.view().num_elements();
  for (int64_t i = 0; i < n; i += 7) v[i] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 3; i < n; i += 11) v[i] = -std::numeric_limits<float>::infinity();
  for (int64_t i = 5; i < n; i += 13) v[i] = -0.0f;
  ExpectBitExact(c, DType::kF32, x);
}

TEST(MaxPoolTest, LeavesOtherNodesToTheNextKernel) {
  const KernelPath paths[] = {KernelPath::kOnednn};
  const auto claims = [&](const Node& node, const std::vector<TensorType>& in,
                          const std::vector<TensorType>& out) {
    const std::vector<const Tensor*> constants(in.size(), nullptr);
    SupportContext ctx{node, in, constants, out, 1, true};
    return KernelCandidates(ctx, paths, OnlyThisKernel()).Next() != nullptr;
  };
  const Node pool = PoolNode({{1, 9, 9, 16}});
  const TensorType x{DType::kF32, {1, 9, 9, 16}}, y{DType::kF32, {1, 4, 4, 16}};
  EXPECT_TRUE(claims(pool, {x}, {y}));
  // An Indices output.
  EXPECT_FALSE(claims(pool, {x}, {y, TensorType{DType::kI64, {1, 4, 4, 16}}}));
  // f64.
  EXPECT_FALSE(claims(pool, {{DType::kF64, x.dims}}, {{DType::kF64, y.dims}}));
  // A 3-D window.
  PoolCase three_d{{1, 5, 9, 9, 16}, {3, 3, 3}, {2, 2, 2}, {0, 0, 0, 0, 0, 0}, {1, 1, 1}};
  EXPECT_FALSE(
      claims(PoolNode(three_d), {{DType::kF32, three_d.x}}, {{DType::kF32, {1, 2, 4, 4, 16}}}));
}

}  // namespace
}  // namespace edgerun
