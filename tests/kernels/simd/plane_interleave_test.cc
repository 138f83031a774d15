// The Highway plane interleave (kernels/simd/plane_interleave.cc): against a scalar loop for 2-4
// channels, 1- and 4-byte elements and plane sizes around the vector width; as the Transpose
// kernel of the oneDNN and XNNPACK paths against the reference copy (exact), and which nodes it
// leaves to the general Transpose.
#include "kernels/simd/plane_interleave.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/graph_builders.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

template <typename T>
void ExpectInterleaveMatchesLoop(int channels, size_t plane_size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> in(channels * plane_size);
  for (T& v : in) v = static_cast<T>(rng());
  // Poisoned output: every element must be written.
  std::vector<T> out(in.size(), static_cast<T>(0x5A5A5A5A)), want(in.size());
  for (size_t p = 0; p < plane_size; ++p) {
    for (int c = 0; c < channels; ++c) want[p * channels + c] = in[c * plane_size + p];
  }
  InterleavePlanes(in.data(), channels, plane_size, sizeof(T), out.data());
  EXPECT_EQ(out, want) << channels << " channels, " << plane_size << " pixels, " << sizeof(T)
                       << "-byte elements";
}

TEST(PlaneInterleaveTest, MatchesScalarLoopAroundVectorWidths) {
  uint32_t seed = 1;
  for (int channels = 2; channels <= 4; ++channels) {
    for (size_t plane : {0, 1, 3, 15, 16, 17, 31, 63, 64, 65, 127, 1000, 224 * 224 + 5}) {
      ExpectInterleaveMatchesLoop<uint32_t>(channels, plane, seed++);
      ExpectInterleaveMatchesLoop<uint8_t>(channels, plane, seed++);
    }
  }
  EXPECT_STRNE(InterleavePlanesTarget(), "");
}

Node TransposeNode(const std::vector<int64_t>& perm) {
  Node n = testing::MakeNode("Transpose", 13, 1);
  n.attrs["perm"] = Attribute::Ints(perm);
  return n;
}

// True when `path` picks the plane interleave for Transpose(perm) of `input`.
bool ClaimedByInterleave(KernelPath path, const std::vector<int64_t>& perm, const TensorType& in) {
  const Node node = TransposeNode(perm);
  const Tensor* constants[] = {nullptr};
  Expected<std::vector<TensorType>> out = InferNode(node, {&in, 1}, constants);
  if (!out.ok()) return false;
  SupportContext ctx{node, {&in, 1}, constants, *out};
  const KernelPath order[] = {path};
  const KernelDef* k = SelectKernel(ctx, order);
  return k != nullptr && k->supports == PlaneInterleaveTransposeKernel(path).supports;
}

TEST(PlaneInterleaveTest, TransposeKernelMatchesReferenceOnFastPaths) {
  const std::vector<int64_t> perm = {0, 2, 3, 1};
  struct Case {
    DType dtype;
    std::vector<int64_t> dims;
  };
  const Case cases[] = {{DType::kF32, {1, 3, 224, 224}},
                        {DType::kF32, {2, 4, 7, 9}},
                        {DType::kU8, {1, 3, 48, 193}},
                        {DType::kI8, {3, 2, 5, 1}},
                        {DType::kI32, {1, 2, 1, 33}}};
  uint32_t seed = 50;
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(KernelPathName(path)) + " " + DimsToString(c.dims) + " " +
                   std::string(DTypeName(c.dtype)));
      EXPECT_TRUE(ClaimedByInterleave(path, perm, TensorType{c.dtype, c.dims}));
      const Tensor x = testing::RandomTensor(c.dtype, c.dims, seed++, -100, 100);
      const Tensor* inputs[] = {&x};
      Expected<std::vector<Tensor>> fast = EvaluateNode(TransposeNode(perm), inputs, path);
      Expected<std::vector<Tensor>> ref =
          EvaluateNode(TransposeNode(perm), inputs, KernelPath::kReference);
      ASSERT_TRUE(fast.ok()) << fast.status().message();
      ASSERT_TRUE(ref.ok()) << ref.status().message();
      const test_util::CompareResult r =
          test_util::AllClose((*fast)[0].view(), (*ref)[0].view(), 0, 0);
      EXPECT_TRUE(r.ok) << r.message;
    }
  }
}

TEST(PlaneInterleaveTest, LeavesOtherTransposesToTheGeneralKernel) {
  const TensorType rgb{DType::kF32, {1, 3, 8, 8}};
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 3, 1, 2}, rgb));  // NHWC -> NCHW
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 3, 1}, {DType::kF32, {1, 5, 8, 8}}));
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 3, 1}, {DType::kF32, {1, 1, 8, 8}}));
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 1}, {DType::kF32, {3, 8, 8}}));
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 3, 1}, {DType::kI64, {1, 3, 8, 8}}));
  }
}

}  // namespace
}  // namespace edgerun
