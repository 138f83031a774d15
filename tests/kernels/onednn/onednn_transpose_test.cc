// oneDNN Transpose (kernels/onednn/onednn_transpose.cc) against the reference copy kernel:
// random permutations of ranks 1-6 with odd sizes, the model-input NCHW->NHWC case (run by the
// Highway plane interleave, kernels/simd/interleave.cc), every dtype it
// claims (exact equality), the default (reversing) perm, negative axes, and what it declines.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "onednn_test_util.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

using onednn_test::ExpectMatchesReference;
using onednn_test::OnednnTestNode;
using onednn_test::SetInts;
using testing::RandomTensor;

Node TransposeNode(const std::vector<int64_t>& perm) {
  Node n = OnednnTestNode("Transpose", "", 1);
  if (!perm.empty()) SetInts(n, "perm", perm);
  return n;
}

Tensor Input(DType dtype, const std::vector<int64_t>& dims, uint32_t seed) {
  if (dtype == DType::kU8) return RandomTensor(dtype, dims, seed, 0, 255);
  if (dtype == DType::kI8) return RandomTensor(dtype, dims, seed, -128, 127);
  if (dtype == DType::kI32) return RandomTensor(dtype, dims, seed, -100000, 100000);
  return RandomTensor(dtype, dims, seed, -3.0, 3.0);
}

TEST(OnednnTransposeTest, RandomPermutationsMatchReferenceExactly) {
  std::mt19937 rng(7);
  uint32_t seed = 1;
  for (int trial = 0; trial < 60; ++trial) {
    const int rank = 1 + trial % 6;
    std::vector<int64_t> dims(rank);
    for (auto& d : dims) d = std::uniform_int_distribution<int>(1, rank <= 3 ? 13 : 5)(rng);
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    const DType dtypes[] = {DType::kF32, DType::kU8, DType::kI8, DType::kI32};
    const DType dtype = dtypes[trial % 4];
    SCOPED_TRACE("dims " + DimsToString(dims) + " perm " + DimsToString(perm) + " " +
                 std::string(DTypeName(dtype)));
    const Tensor x = Input(dtype, dims, seed++);
    ExpectMatchesReference(TransposeNode(perm), {&x}, 0.0, 0.0);
  }
}

TEST(OnednnTransposeTest, ModelInputLayoutConversions) {
  const std::vector<int64_t> shapes[] = {{1, 3, 224, 224}, {1, 3, 48, 193}, {2, 4, 7, 9}};
  uint32_t seed = 100;
  for (const auto& dims : shapes) {
    for (DType dtype : {DType::kF32, DType::kU8}) {
      SCOPED_TRACE(DimsToString(dims) + " " + std::string(DTypeName(dtype)));
      const Tensor x = Input(dtype, dims, seed++);
      ExpectMatchesReference(TransposeNode({0, 2, 3, 1}), {&x}, 0.0, 0.0);  // NCHW -> NHWC
      ExpectMatchesReference(TransposeNode({0, 3, 1, 2}), {&x}, 0.0, 0.0);  // NHWC -> NCHW
    }
  }
}

TEST(OnednnTransposeTest, DefaultAndNegativePerm) {
  const Tensor x = Input(DType::kF32, {2, 3, 5}, 9);
  ExpectMatchesReference(TransposeNode({}), {&x}, 0.0, 0.0);  // reverses the axes
  ExpectMatchesReference(TransposeNode({-1, 0, -2}), {&x}, 0.0, 0.0);
}

TEST(OnednnTransposeTest, DeclinesWhatItCannotRun) {
  // 64-bit integers have no oneDNN type; an empty tensor has nothing to reorder.
  auto as_i64 = Tensor::Create(DType::kI64, {2, 3});
  ASSERT_TRUE(as_i64.ok());
  EXPECT_FALSE(ExpectMatchesReference(TransposeNode({1, 0}), {&*as_i64}, 0.0, 0.0, 1, true));
  auto empty = Tensor::Create(DType::kF32, {2, 0, 3});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(ExpectMatchesReference(TransposeNode({2, 1, 0}), {&*empty}, 0.0, 0.0, 1, true));
}

}  // namespace
}  // namespace edgerun
