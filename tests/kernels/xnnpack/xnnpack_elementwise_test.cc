// XNNPACK elementwise kernels (kernels/xnnpack/xnnpack_elementwise.cc) against the reference:
// binary ops with numpy broadcasting up to rank 6, unary ops (also in place), Clip from attributes
// and inputs, PRelu along the last axis and Softmax over trailing dims, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_test_util.h"

// Case tables below list only the leading fields that differ from the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::RandomTensor;
using xnnpack_test::ExpectClose;
using xnnpack_test::MakeNode;
using xnnpack_test::Pools;
using xnnpack_test::PoolName;
using xnnpack_test::XnnpackClaims;

void CheckAgainstReference(const Node& node, const std::vector<const Tensor*>& ins) {
  Expected<std::vector<Tensor>> want = EvaluateNode(node, ins, KernelPath::kReference);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  ASSERT_TRUE(XnnpackClaims(node, ins));
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got = EvaluateNode(node, ins, KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectClose((*got)[0], (*want)[0]);
    // Output written over input 0, as the runtime may arrange.
    if ((*want)[0].dims() == ins[0]->dims()) {
      Expected<Tensor> in_place = xnnpack_test::RunInPlace(node, ins, 0, pool);
      ASSERT_TRUE(in_place.ok()) << in_place.status().ToString();
      ExpectClose(*in_place, (*want)[0]);
    }
  }
}

TEST(XnnpackBinary, BroadcastingMatchesReference) {
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{1, 7, 7, 32}, {32}},        {{1, 7, 7, 32}, {1, 1, 1, 32}},
      {{4, 5}, {4, 1}},             {{3, 1, 5}, {1, 4, 1}},        {{1}, {6, 2}},
      {{2, 3, 2, 2, 3, 2}, {3, 1, 1, 3, 1}},                       {{5}, {}},
      {{1, 16, 16, 24}, {1, 16, 16, 1}},
  };
  uint32_t seed = 1;
  for (const std::string op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
    for (const auto& [a_dims, b_dims] : shapes) {
      SCOPED_TRACE(op + " " + DimsToString(a_dims) + " " + DimsToString(b_dims));
      Tensor a = RandomTensor(DType::kF32, a_dims, seed++, -2.0, 2.0);
      // Divisors away from zero keep the relative comparison meaningful.
      Tensor b = op == "Div" ? RandomTensor(DType::kF32, b_dims, seed++, 0.5, 2.0)
                             : RandomTensor(DType::kF32, b_dims, seed++, -2.0, 2.0);
      CheckAgainstReference(MakeNode(op, 2, 14), {&a, &b});
    }
  }
}

TEST(XnnpackUnary, MatchesReference) {
  struct Case {
    std::string op;
    std::vector<std::pair<std::string, float>> attrs;
    double lo = -4.0, hi = 4.0;
  };
  const Case cases[] = {
      {"Relu"},        {"Sigmoid"},   {"HardSwish"}, {"LeakyRelu"},
      {"LeakyRelu", {{"alpha", 0.2f}}},               {"Elu"},
      {"Elu", {{"alpha", 0.5f}}},                     {"Abs"},
      {"Neg"},         {"Floor"},     {"Ceil"},      {"Round"},
      {"Sqrt", {}, 0.0, 9.0},
      {"HardSigmoid"},
      {"HardSigmoid", {{"alpha", 1.0f / 6}, {"beta", 0.5f}}},
  };
  uint32_t seed = 100;
  for (const Case& c : cases) {
    for (const std::vector<int64_t>& dims :
         std::vector<std::vector<int64_t>>{{1, 13, 7, 5}, {4099}, {2, 3}}) {
      SCOPED_TRACE(c.op + " " + DimsToString(dims));
      Tensor x = RandomTensor(DType::kF32, dims, seed++, c.lo, c.hi);
      Node node = MakeNode(c.op, 1, 14);
      for (const auto& [name, v] : c.attrs) node.attrs[name] = Attribute::Float(v);
      CheckAgainstReference(node, {&x});
    }
  }
  // Round: halves go to even.
  Tensor halves = Tensor::FromVector<float>(DType::kF32, {6}, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f});
  CheckAgainstReference(MakeNode("Round", 1, 11), {&halves});
}

TEST(XnnpackUnary, ClipFromAttributesAndInputs) {
  Tensor x = RandomTensor(DType::kF32, {3, 50}, 7, -8.0, 8.0);
  Node old = MakeNode("Clip", 1, 6);
  old.attrs["min"] = Attribute::Float(-1.0f);
  old.attrs["max"] = Attribute::Float(6.0f);
  CheckAgainstReference(old, {&x});
  Tensor lo = Tensor::FromVector<float>(DType::kF32, {}, {0.0f});
  Tensor hi = Tensor::FromVector<float>(DType::kF32, {}, {6.0f});
  CheckAgainstReference(MakeNode("Clip", 3, 13), {&x, &lo, &hi});
  Node only_max = MakeNode("Clip", 3, 13);
  only_max.inputs[1] = Node::kNoValue;
  CheckAgainstReference(only_max, {&x, nullptr, &hi});
  CheckAgainstReference(MakeNode("Clip", 2, 13), {&x, &lo});
  // Bounds computed at run time, or an empty range, go elsewhere.
  EXPECT_FALSE(XnnpackClaims(MakeNode("Clip", 3, 13), {&x, &lo, &hi}, {true, false, true}));
  EXPECT_FALSE(XnnpackClaims(MakeNode("Clip", 3, 13), {&x, &hi, &lo}));
}

TEST(XnnpackUnary, PowOfTwoIsSquare) {
  Tensor x = RandomTensor(DType::kF32, {2, 40, 120}, 30, -3.0, 3.0);
  Tensor two = Tensor::FromVector<float>(DType::kF32, {}, {2.0f});
  CheckAgainstReference(MakeNode("Pow", 2, 15), {&x, &two});
  Tensor two_int = Tensor::FromVector<int64_t>(DType::kI64, {1}, {2});
  CheckAgainstReference(MakeNode("Pow", 2, 15), {&x, &two_int});
  Tensor three = Tensor::FromVector<float>(DType::kF32, {}, {3.0f});
  EXPECT_FALSE(XnnpackClaims(MakeNode("Pow", 2, 15), {&x, &three}));
  EXPECT_FALSE(XnnpackClaims(MakeNode("Pow", 2, 15), {&x, &two}, {true, false}));
}

TEST(XnnpackUnary, PReluAlongTheLastAxis) {
  Tensor x = RandomTensor(DType::kF32, {1, 6, 5, 16}, 9, -2.0, 2.0);
  Tensor per_channel = RandomTensor(DType::kF32, {16}, 10);
  Tensor shaped = RandomTensor(DType::kF32, {1, 1, 16}, 11);
  Tensor scalar = RandomTensor(DType::kF32, {1}, 12);
  for (const Tensor* slope : {&per_channel, &shaped, &scalar}) {
    SCOPED_TRACE("slope " + DimsToString(slope->dims()));
    CheckAgainstReference(MakeNode("PRelu", 2, 16), {&x, slope});
  }
  Tensor nchw_slope = RandomTensor(DType::kF32, {6, 1, 1}, 13);  // along axis 1
  EXPECT_FALSE(XnnpackClaims(MakeNode("PRelu", 2, 16), {&x, &nchw_slope}));
}

TEST(XnnpackUnary, SoftmaxOverTrailingDims) {
  Tensor x = RandomTensor(DType::kF32, {2, 3, 37}, 20, -5.0, 5.0);
  CheckAgainstReference(MakeNode("Softmax", 1, 13), {&x});  // axis -1
  Node old = MakeNode("Softmax", 1, 11);                      // axis 1: the last two dims
  CheckAgainstReference(old, {&x});
  Node last = MakeNode("Softmax", 1, 13);
  last.attrs["axis"] = Attribute::Int(2);
  CheckAgainstReference(last, {&x});
  Node inner = MakeNode("Softmax", 1, 13);
  inner.attrs["axis"] = Attribute::Int(1);
  EXPECT_FALSE(XnnpackClaims(inner, {&x}));
  Tensor logits = RandomTensor(DType::kF32, {1, 1000}, 21, -10.0, 10.0);
  CheckAgainstReference(MakeNode("Softmax", 1, 13), {&logits});
}

TEST(XnnpackElementwise, LeavesOtherDtypesAndRanksToOtherPaths) {
  Tensor i = RandomTensor(DType::kI32, {4}, 1, -5, 5);
  EXPECT_FALSE(XnnpackClaims(MakeNode("Add", 2, 14), {&i, &i}));
  Tensor d = RandomTensor(DType::kF64, {4}, 2);
  EXPECT_FALSE(XnnpackClaims(MakeNode("Relu", 1, 14), {&d}));
  Tensor r7 = RandomTensor(DType::kF32, {2, 1, 2, 1, 2, 1, 2}, 3);
  EXPECT_FALSE(XnnpackClaims(MakeNode("Mul", 2, 14), {&r7, &r7}));
  Tensor x = RandomTensor(DType::kF32, {4}, 4);
  EXPECT_FALSE(XnnpackClaims(MakeNode("Max", 3, 13), {&x, &x, &x}));  // variadic
  Tensor empty = Tensor::Create(DType::kF32, {0, 3}).value();
  EXPECT_FALSE(XnnpackClaims(MakeNode("Relu", 1, 14), {&empty}));
}

}  // namespace
}  // namespace edgerun
