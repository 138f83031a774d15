// XNNPACK ChannelShuffle (kernels/xnnpack/xnnpack_tensor.cc) against the reference kernel: the
// innermost axis of f32 and i32 tensors of random shapes (odd sizes included) for groups 1..4, at
// 1 and 2 threads (a single group may be left to the reference path, but what XNNPACK claims it
// must run); the reference itself against the definition (index arithmetic); which nodes
// XNNPACK leaves to other paths (other axes, 64-bit and 8-bit types, empty tensors).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_test_util.h"

namespace edgerun {
namespace {

using testing::ElementAt;
using testing::RandomTensor;
using xnnpack_test::PoolName;
using xnnpack_test::Pools;
using xnnpack_test::XnnpackClaims;

Expected<std::vector<Tensor>> Eval(const Node& node, const Tensor& x,
                                   KernelPath path = KernelPath::kReference,
                                   pthreadpool_t pool = nullptr) {
  const std::vector<const Tensor*> inputs = {&x};
  return EvaluateNode(node, inputs, path, pool);
}

Node Shuffle(int64_t group, int64_t axis) {
  Node n = xnnpack_test::MakeNode("ChannelShuffle", 1, 1, std::string(kEdgerunDomain));
  n.attrs["group"] = Attribute::Int(group);
  n.attrs["axis"] = Attribute::Int(axis);
  return n;
}

// The definition: axis of size C viewed as [group, C/group] and transposed, so output channel
// j * group + i holds input channel i * (C/group) + j.
std::vector<double> ShuffleByDefinition(const Tensor& x, int64_t group, int axis) {
  const auto& d = x.dims();
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= d[k];
  for (size_t k = axis + 1; k < d.size(); ++k) inner *= d[k];
  const int64_t c = d[axis], per = c / group;
  std::vector<double> out(static_cast<size_t>(x.num_elements()));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < group; ++i) {
      for (int64_t j = 0; j < per; ++j) {
        for (int64_t r = 0; r < inner; ++r) {
          const int64_t src = (o * c + i * per + j) * inner + r;
          const int64_t dst = (o * c + j * group + i) * inner + r;
          out[static_cast<size_t>(dst)] = ElementAt(x, src);
        }
      }
    }
  }
  return out;
}

// Bit-exact: a shuffle only moves elements.
void ExpectEqual(const Tensor& got, const std::vector<double>& want) {
  ASSERT_EQ(static_cast<size_t>(got.num_elements()), want.size());
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < got.num_elements(); ++i) {
    if (ElementAt(got, i) != want[static_cast<size_t>(i)]) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << bad << " elements differ, first at " << first << ": got "
                    << ElementAt(got, first) << ", want " << want[static_cast<size_t>(first)];
}

void ExpectEqual(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.dtype(), want.dtype());
  EXPECT_EQ(got.dims(), want.dims());
  std::vector<double> w(static_cast<size_t>(want.num_elements()));
  for (int64_t i = 0; i < want.num_elements(); ++i) w[static_cast<size_t>(i)] = ElementAt(want, i);
  ExpectEqual(got, w);
}

TEST(ChannelShuffleReference, MatchesTheDefinitionOnEveryAxis) {
  const std::vector<int64_t> dims = {2, 6, 4, 6};
  Tensor x = RandomTensor(DType::kF32, dims, 7);
  int checked = 0;
  for (int axis = 0; axis < 4; ++axis) {
    for (int64_t group : {1, 2, 3, 6}) {
      if (dims[axis] % group != 0) continue;
      SCOPED_TRACE("axis " + std::to_string(axis) + " group " + std::to_string(group));
      Expected<std::vector<Tensor>> got = Eval(Shuffle(group, axis), x);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ExpectEqual((*got)[0], ShuffleByDefinition(x, group, axis));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 12);
  // A negative axis is the same axis counted from the end.
  Expected<std::vector<Tensor>> neg = Eval(Shuffle(3, -3), x);
  ASSERT_TRUE(neg.ok()) << neg.status().ToString();
  ExpectEqual((*neg)[0], ShuffleByDefinition(x, 3, 1));
}

// XNNPACK vs reference on the innermost axis, random shapes including odd sizes.
void CheckAgainstReference(DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  int ran = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const int64_t group = 1 + trial % 4;
    const int rank = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> dims;
    for (int k = 0; k + 1 < rank; ++k) dims.push_back(1 + static_cast<int64_t>(rng() % 7));
    // Innermost axis: group times an odd or even count (1..9 per group).
    dims.push_back(group * (1 + static_cast<int64_t>(rng() % 9)));
    const bool last_negative = trial % 2 == 1;
    const Node node = Shuffle(group, last_negative ? -1 : rank - 1);
    SCOPED_TRACE(std::string(DTypeName(dtype)) + " x=" + DimsToString(dims) +
                 " group=" + std::to_string(group) + (last_negative ? " axis=-1" : ""));
    Tensor x = dtype == DType::kI32 ? RandomTensor(dtype, dims, seed + trial, -1000, 1000)
                                    : RandomTensor(dtype, dims, seed + trial);
    Expected<std::vector<Tensor>> want = Eval(node, x, KernelPath::kReference);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    // XNNPACK's operator needs two groups or more; a single group (a copy) may go elsewhere, but
    // whatever XNNPACK claims it must run.
    const bool claimed = XnnpackClaims(node, {&x}, {false});
    EXPECT_TRUE(claimed || group == 1) << "XNNPACK declines a shuffle of " << group << " groups";
    if (!claimed) continue;
    bool all_ran = true;
    for (pthreadpool_t pool : Pools().all()) {
      SCOPED_TRACE(PoolName(pool));
      Expected<std::vector<Tensor>> got = Eval(node, x, KernelPath::kXnnpack, pool);
      if (!got.ok()) {
        ADD_FAILURE() << "claimed but failed: " << got.status().ToString();
        all_ran = false;
        continue;
      }
      ExpectEqual((*got)[0], (*want)[0]);
    }
    ran += all_ran;
  }
  EXPECT_GE(ran, 18);  // every trial with two groups or more
}

TEST(XnnpackChannelShuffle, F32RandomShapesGroups1To4) { CheckAgainstReference(DType::kF32, 100); }

TEST(XnnpackChannelShuffle, I32RandomShapesGroups1To4) { CheckAgainstReference(DType::kI32, 200); }

TEST(XnnpackChannelShuffle, NhwcChannelsOfAShuffleNetBlock) {
  // The shape the layout pass produces for ShuffleNet v2's first stage: [1, 28, 28, 116], g=2.
  Tensor x = RandomTensor(DType::kF32, {1, 28, 28, 116}, 5);
  const Node node = Shuffle(2, 3);
  Expected<std::vector<Tensor>> want = Eval(node, x, KernelPath::kReference);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got = Eval(node, x, KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectEqual((*got)[0], (*want)[0]);
  }
}

TEST(XnnpackChannelShuffle, LeavesOtherAxesAndTypesToOtherPaths) {
  Tensor x = RandomTensor(DType::kF32, {1, 6, 4, 4}, 1);
  EXPECT_FALSE(XnnpackClaims(Shuffle(2, 1), {&x}, {false}));  // NCHW channels
  EXPECT_FALSE(XnnpackClaims(Shuffle(2, -3), {&x}, {false}));
  EXPECT_FALSE(XnnpackClaims(Shuffle(2, 2), {&x}, {false}));
  EXPECT_TRUE(XnnpackClaims(Shuffle(2, 3), {&x}, {false}));
  Tensor i64 = RandomTensor(DType::kI64, {2, 6}, 2, -9, 9);
  EXPECT_FALSE(XnnpackClaims(Shuffle(2, 1), {&i64}, {false}));
  // XNNPACK's shuffle is 32-bit only; the path's Highway interleave (kernels/simd) takes u8.
  Tensor u8 = RandomTensor(DType::kU8, {2, 6}, 3, 0, 255);
  EXPECT_TRUE(XnnpackClaims(Shuffle(2, 1), {&u8}, {false}));
  Tensor empty = Tensor::Create(DType::kF32, {0, 6}).value();
  EXPECT_FALSE(XnnpackClaims(Shuffle(2, 1), {&empty}, {false}));
}

}  // namespace
}  // namespace edgerun
