// FoldMulIntoConv (src/passes/fold_batchnorm.cc): Conv/ConvTranspose -> Mul(per-channel or scalar
// constant) becomes the conv with scaled weights and bias. Every fold is checked against the
// unfused graph on the reference kernels; every refusal is a case where folding would change
// the result or the graph.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "passes/graph_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::F32;

void ExpectSameResults(const Graph& before, const Graph& after) {
  testing::ExpectSameGraphResults(before, after, 200);
}

// Scale factors away from 1 and of both signs, so a fold that forgot a channel shows.
Tensor Scales(std::vector<int64_t> dims, uint32_t seed) {
  std::vector<float> v = testing::RandomF32(dims, seed).ToFloatVector();
  for (float& f : v) f = f < 0 ? f * 3 - 0.5f : f * 3 + 0.5f;
  return Tensor::FromVector(DType::kF32, dims, v);
}

struct ConvMul {
  Graph g;
  int x = -1, w = -1, c = -1, k = -1, y = -1;
};

// x[1,3,H,W] -> Conv(w[4,3,3,3], b?) pad 1 -> c -> Mul(c, k) (or Mul(k, c)) -> y
ConvMul ConvMulGraph(Tensor k, bool with_bias = true, bool k_first = false, int64_t hw = 6) {
  ConvMul m;
  Graph& g = m.g;
  m.x = F32(g, "x", {1, 3, hw, hw});
  m.w = g.AddConstant("w", testing::RandomF32({4, 3, 3, 3}, 1));
  m.c = F32(g, "c", {1, 4, hw, hw});
  m.y = F32(g, "y", {1, 4, hw, hw});
  std::vector<int> conv_in = {m.x, m.w};
  if (with_bias) conv_in.push_back(g.AddConstant("b", testing::RandomF32({4}, 2)));
  g.AddNode("conv", "Conv", conv_in, {m.c}).attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  m.k = g.AddConstant("k", std::move(k));
  g.AddNode("mul", "Mul", k_first ? std::vector<int>{m.k, m.c} : std::vector<int>{m.c, m.k}, {m.y});
  g.MarkInput(m.x);
  g.MarkOutput(m.y);
  return m;
}

void ExpectFolded(ConvMul m, const std::string& op = "Conv") {
  const Graph before = m.g;
  const std::vector<float> w_before = m.g.values[m.w].constant->ToFloatVector();
  std::vector<std::string> log;
  ASSERT_TRUE(FoldMulIntoConv(m.g, &log).ok());
  ASSERT_EQ(m.g.nodes.size(), 1u);
  const Node& conv = m.g.nodes[0];
  EXPECT_EQ(conv.op_type, op);
  ASSERT_EQ(conv.inputs.size(), 3u);
  ASSERT_TRUE(m.g.values[conv.inputs[1]].is_constant());
  ASSERT_TRUE(m.g.values[conv.inputs[2]].is_constant());
  EXPECT_NE(m.g.values[conv.inputs[1]].constant->ToFloatVector(), w_before);
  EXPECT_EQ(m.g.values[conv.outputs[0]].name, "y");
  EXPECT_EQ(log, (std::vector<std::string>{"folded Mul 'mul' into the weights of " + op + " '" +
                                           conv.name + "'"}));
  EXPECT_EQ(m.g.FindValue("k"), -1);  // the Mul's constant is gone with it
  EXPECT_TRUE(ValidateGraph(m.g).ok());
  ExpectSameResults(before, m.g);
}

void ExpectNotFolded(Graph g) {
  const size_t nodes = g.nodes.size();
  std::vector<std::string> log;
  ASSERT_TRUE(FoldMulIntoConv(g, &log).ok());
  EXPECT_EQ(g.nodes.size(), nodes);
  EXPECT_TRUE(log.empty()) << log[0];
}

TEST(FoldMulIntoConvTest, ScalarConstant) {
  ExpectFolded(ConvMulGraph(Tensor::FromVector(DType::kF32, {}, std::vector<float>{-2.5f})));
  // A one-element tensor of rank 4 is a scalar too.
  ExpectFolded(ConvMulGraph(Scales({1, 1, 1, 1}, 3)));
}

TEST(FoldMulIntoConvTest, PerChannelConstantC11) {
  ExpectFolded(ConvMulGraph(Scales({4, 1, 1}, 4)));
}

TEST(FoldMulIntoConvTest, PerChannelConstant1C11) {
  ExpectFolded(ConvMulGraph(Scales({1, 4, 1, 1}, 5)));
}

TEST(FoldMulIntoConvTest, ConstantFirstAndConvWithoutBias) {
  ExpectFolded(ConvMulGraph(Scales({1, 4, 1, 1}, 6), /*with_bias=*/false, /*k_first=*/true));
  ExpectFolded(ConvMulGraph(Scales({4, 1, 1}, 7), /*with_bias=*/false));
}

TEST(FoldMulIntoConvTest, MatchesTheFormula) {
  // 1x1 conv of one pixel: y[o] = (w[o] * x + b[o]) * k[o].
  Graph g;
  const int x = F32(g, "x", {1, 1, 1, 1});
  const int w = g.AddConstant(
      "w", Tensor::FromVector(DType::kF32, {2, 1, 1, 1}, std::vector<float>{2.f, -3.f}));
  const int b =
      g.AddConstant("b", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{1.f, 0.5f}));
  const int k = g.AddConstant(
      "k", Tensor::FromVector(DType::kF32, {2, 1, 1}, std::vector<float>{4.f, -0.5f}));
  const int c = F32(g, "c", {1, 2, 1, 1});
  const int y = F32(g, "y", {1, 2, 1, 1});
  g.AddNode("conv", "Conv", {x, w, b}, {c});
  g.AddNode("mul", "Mul", {c, k}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  ASSERT_TRUE(FoldMulIntoConv(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.values[g.nodes[0].inputs[1]].constant->ToFloatVector(),
            (std::vector<float>{8.f, 1.5f}));
  EXPECT_EQ(g.values[g.nodes[0].inputs[2]].constant->ToFloatVector(),
            (std::vector<float>{4.f, -0.25f}));
}

TEST(FoldMulIntoConvTest, GroupedStridedConvTranspose) {
  // W[C_in=4, C_out/group=3, 3, 3] with group 2: output channel o of W[i, j] is
  // (i / 2) * 3 + j, which the weight scaling must follow.
  Graph g;
  const int x = F32(g, "x", {1, 4, 5, 5});
  const int w = g.AddConstant("w", testing::RandomF32({4, 3, 3, 3}, 8));
  const int b = g.AddConstant("b", testing::RandomF32({6}, 9));
  const int c = F32(g, "c", {1, 6, 9, 9});
  const int y = F32(g, "y", {1, 6, 9, 9});
  Node& deconv = g.AddNode("deconv", "ConvTranspose", {x, w, b}, {c});
  deconv.attrs["group"] = Attribute::Int(2);
  deconv.attrs["strides"] = Attribute::Ints({2, 2});
  deconv.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  const int k = g.AddConstant("k", Scales({1, 6, 1, 1}, 10));
  g.AddNode("mul", "Mul", {c, k}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  ConvMul m;
  m.g = std::move(g);
  m.w = w;
  ExpectFolded(std::move(m), "ConvTranspose");
}

TEST(FoldMulIntoConvTest, DepthwiseConv) {
  Graph g;
  const int x = F32(g, "x", {2, 3, 7, 7});
  const int w = g.AddConstant("w", testing::RandomF32({3, 1, 3, 3}, 11));
  const int c = F32(g, "c", {2, 3, 3, 3});
  const int y = F32(g, "y", {2, 3, 3, 3});
  Node& conv = g.AddNode("dw", "Conv", {x, w}, {c});
  conv.attrs["group"] = Attribute::Int(3);
  conv.attrs["strides"] = Attribute::Ints({2, 2});
  const int k = g.AddConstant("k", Scales({3, 1, 1}, 12));
  g.AddNode("mul", "Mul", {k, c}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  ConvMul m;
  m.g = std::move(g);
  m.w = w;
  ExpectFolded(std::move(m));
}

TEST(FoldMulIntoConvTest, NotFoldedAfterAFusedActivation) {
  // Relu(conv) * k != Relu(conv * k) for negative k.
  ConvMul m = ConvMulGraph(Scales({1, 4, 1, 1}, 13));
  m.g.nodes[0].attrs["activation"] = Attribute::String("Relu");
  ExpectNotFolded(m.g);
}

TEST(FoldMulIntoConvTest, NotFoldedForPerSpatialConstants) {
  // x is [1,4,4,4]: each of these has 4 elements like a per-channel vector, or broadcasts over
  // H/W, but scales along the spatial axes.
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{
           {4}, {1, 4}, {4, 1}, {1, 1, 4, 1}, {1, 1, 1, 4}, {1, 1, 4, 4}, {4, 4}}) {
    SCOPED_TRACE(DimsToString(dims));
    ConvMul m = ConvMulGraph(Scales(dims, 14), true, false, /*hw=*/4);
    const Graph before = m.g;
    ExpectNotFolded(m.g);
    ExpectSameResults(before, m.g);  // the graph is valid as built
  }
}

TEST(FoldMulIntoConvTest, NotFoldedWhenTheConvOutputHasAnotherReader) {
  ConvMul m = ConvMulGraph(Scales({1, 4, 1, 1}, 15));
  const int n = F32(m.g, "n", {1, 4, 6, 6});
  m.g.AddNode("neg", "Neg", {m.c}, {n});
  m.g.MarkOutput(n);
  ExpectNotFolded(m.g);

  ConvMul m2 = ConvMulGraph(Scales({1, 4, 1, 1}, 16));
  m2.g.MarkOutput(m2.c);  // the unscaled conv output is a graph output
  ExpectNotFolded(m2.g);
}

TEST(FoldMulIntoConvTest, NotFoldedForNonConstantOrNonConvOperands) {
  ConvMul m = ConvMulGraph(Scales({1, 4, 1, 1}, 17));
  const int s = F32(m.g, "s", {1, 4, 1, 1});
  m.g.MarkInput(s);
  m.g.nodes[1].inputs[1] = s;  // the scale is a runtime input
  ExpectNotFolded(m.g);

  ConvMul m2 = ConvMulGraph(Scales({1, 4, 1, 1}, 18));
  const int w_in = F32(m2.g, "w_in", {4, 3, 3, 3});
  m2.g.MarkInput(w_in);
  m2.g.nodes[0].inputs[1] = w_in;  // runtime weights cannot be scaled ahead of time
  ExpectNotFolded(m2.g);
}

TEST(FoldMulIntoConvTest, SharedWeightsStayUntouched) {
  ConvMul m = ConvMulGraph(Scales({1, 4, 1, 1}, 19));
  const std::vector<float> original = m.g.values[m.w].constant->ToFloatVector();
  const int c2 = F32(m.g, "c2", {1, 4, 6, 6});
  m.g.AddNode("conv2", "Conv", {m.x, m.w}, {c2}).attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  m.g.MarkOutput(c2);
  const Graph before = m.g;
  ASSERT_TRUE(FoldMulIntoConv(m.g, nullptr).ok());
  ASSERT_EQ(m.g.nodes.size(), 2u);
  const int w_after = m.g.FindValue("w");
  ASSERT_GE(w_after, 0);
  EXPECT_EQ(m.g.values[w_after].constant->ToFloatVector(), original);
  ExpectSameResults(before, m.g);
}

TEST(FoldMulIntoConvTest, AffineAfterConvFoldsCompletelyInThePipeline) {
  // PP-LCNet's learnable affine block: conv * scale + bias, both per channel.
  ConvMul m = ConvMulGraph(Scales({1, 4, 1, 1}, 20));
  const int add_k = m.g.AddConstant("add_k", testing::RandomF32({1, 4, 1, 1}, 21));
  const int z = F32(m.g, "z", {1, 4, 6, 6});
  m.g.outputs.clear();
  m.g.AddNode("add", "Add", {m.y, add_k}, {z});
  m.g.MarkOutput(z);
  const Graph before = m.g;
  std::vector<std::string> log;
  ASSERT_TRUE(RunGraphPasses(m.g, &log).ok());
  ASSERT_EQ(m.g.nodes.size(), 1u);
  EXPECT_EQ(m.g.nodes[0].op_type, "Conv");
  ExpectSameResults(before, m.g);
}

}  // namespace
}  // namespace edgerun
