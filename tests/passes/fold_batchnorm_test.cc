#include <gtest/gtest.h>

#include <cmath>
#include <memory>
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

Tensor Positive(std::vector<int64_t> dims, uint32_t seed) {
  Tensor r = testing::RandomF32(dims, seed);
  std::vector<float> v = r.ToFloatVector();
  for (float& f : v) f = std::fabs(f) + 0.1f;
  return Tensor::FromVector(DType::kF32, dims, v);
}

void ExpectSameResults(const Graph& before, const Graph& after) {
  testing::ExpectSameGraphResults(before, after, 100);
}

struct BnParams {
  int scale, bias, mean, var;
};

BnParams AddBnParams(Graph& g, int64_t c, uint32_t seed) {
  return {g.AddConstant("gamma", testing::RandomF32({c}, seed)),
          g.AddConstant("beta", testing::RandomF32({c}, seed + 1)),
          g.AddConstant("mean", testing::RandomF32({c}, seed + 2)),
          g.AddConstant("var", Positive({c}, seed + 3))};
}

Node& AddBn(Graph& g, int x, const BnParams& p, int y) {
  Node& bn = g.AddNode("bn", "BatchNormalization", {x, p.scale, p.bias, p.mean, p.var}, {y});
  bn.attrs["epsilon"] = Attribute::Float(1e-3f);
  return bn;
}

// x[1,3,8,8] -> Conv(W[4,3,3,3], B?) pad 1 -> c -> BN -> y -> Relu -> z
Graph ConvBnGraph(bool with_bias) {
  Graph g;
  const int x = F32(g, "x", {1, 3, 8, 8});
  const int w = g.AddConstant("w", testing::RandomF32({4, 3, 3, 3}, 1));
  const int c = F32(g, "c", {1, 4, 8, 8});
  const int y = F32(g, "y", {1, 4, 8, 8});
  const int z = F32(g, "z", {1, 4, 8, 8});
  std::vector<int> conv_in = {x, w};
  if (with_bias) conv_in.push_back(g.AddConstant("b", testing::RandomF32({4}, 2)));
  Node& conv = g.AddNode("conv", "Conv", conv_in, {c});
  conv.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  AddBn(g, c, AddBnParams(g, 4, 10), y);
  g.AddNode("relu", "Relu", {y}, {z});
  g.MarkInput(x);
  g.MarkOutput(z);
  return g;
}

TEST(FoldBatchNormTest, FoldsIntoConvWithBias) {
  Graph g = ConvBnGraph(true);
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(FoldBatchNormIntoConv(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node& conv = g.nodes[0];
  EXPECT_EQ(conv.op_type, "Conv");
  ASSERT_EQ(conv.inputs.size(), 3u);
  EXPECT_TRUE(g.values[conv.inputs[1]].is_constant());
  EXPECT_TRUE(g.values[conv.inputs[2]].is_constant());
  EXPECT_EQ(g.values[conv.inputs[2]].dtype, DType::kF32);
  EXPECT_EQ(g.values[conv.outputs[0]].name, "y");
  EXPECT_EQ(log, (std::vector<std::string>{"fused BatchNormalization 'bn' into Conv 'conv'"}));
  EXPECT_EQ(g.FindValue("gamma"), -1);
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
}

TEST(FoldBatchNormTest, FoldsIntoConvWithoutBias) {
  Graph g = ConvBnGraph(false);
  const Graph before = g;
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].inputs.size(), 3u);
  ExpectSameResults(before, g);
}

TEST(FoldBatchNormTest, FoldsMatchesFormula) {
  // 1x1 conv on one pixel: y = s * (w * x + b - mean) + beta, checked against the formula.
  Graph g;
  const int x = F32(g, "x", {1, 1, 1, 1});
  const int w = g.AddConstant(
      "w", Tensor::FromVector(DType::kF32, {2, 1, 1, 1}, std::vector<float>{2.f, -3.f}));
  const int b =
      g.AddConstant("b", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{1.f, 0.5f}));
  const int c = F32(g, "c", {1, 2, 1, 1});
  const int y = F32(g, "y", {1, 2, 1, 1});
  g.AddNode("conv", "Conv", {x, w, b}, {c});
  BnParams p{
      g.AddConstant("gamma", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{4.f, 1.f})),
      g.AddConstant("beta", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{0.25f, -1.f})),
      g.AddConstant("mean", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{3.f, 2.f})),
      g.AddConstant("var",
                    Tensor::FromVector(DType::kF32, {2}, std::vector<float>{15.999f, 0.999f}))};
  AddBn(g, c, p, y);
  g.MarkInput(x);
  g.MarkOutput(y);
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  const std::vector<float> nw = g.values[g.nodes[0].inputs[1]].constant->ToFloatVector();
  const std::vector<float> nb = g.values[g.nodes[0].inputs[2]].constant->ToFloatVector();
  // s = gamma / sqrt(var + 1e-3) = {1, 1}
  EXPECT_NEAR(nw[0], 2.f, 1e-5);
  EXPECT_NEAR(nw[1], -3.f, 1e-5);
  EXPECT_NEAR(nb[0], (1.f - 3.f) * 1.f + 0.25f, 1e-5);
  EXPECT_NEAR(nb[1], (0.5f - 2.f) * 1.f - 1.f, 1e-5);
}

TEST(FoldBatchNormTest, DepthwiseStridedConv) {
  Graph g;
  const int x = F32(g, "x", {2, 3, 7, 7});
  const int w = g.AddConstant("w", testing::RandomF32({3, 1, 3, 3}, 3));
  const int c = F32(g, "c", {2, 3, 3, 3});
  const int y = F32(g, "y", {2, 3, 3, 3});
  Node& conv = g.AddNode("dw", "Conv", {x, w}, {c});
  conv.attrs["group"] = Attribute::Int(3);
  conv.attrs["strides"] = Attribute::Ints({2, 2});
  AddBn(g, c, AddBnParams(g, 3, 20), y);
  g.MarkInput(x);
  g.MarkOutput(y);
  const Graph before = g;
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.values[g.outputs[0]].name, "y");
  ExpectSameResults(before, g);
}

TEST(FoldBatchNormTest, GroupedConvTranspose) {
  Graph g;
  const int x = F32(g, "x", {1, 4, 5, 5});
  const int w = g.AddConstant("w", testing::RandomF32({4, 3, 3, 3}, 4));  // C_out = 3 * 2
  const int b = g.AddConstant("b", testing::RandomF32({6}, 5));
  const int c = F32(g, "c", {1, 6, 9, 9});
  const int y = F32(g, "y", {1, 6, 9, 9});
  Node& conv = g.AddNode("deconv", "ConvTranspose", {x, w, b}, {c});
  conv.attrs["group"] = Attribute::Int(2);
  conv.attrs["strides"] = Attribute::Ints({2, 2});
  conv.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  AddBn(g, c, AddBnParams(g, 6, 30), y);
  g.MarkInput(x);
  g.MarkOutput(y);
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(FoldBatchNormIntoConv(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(
      log, (std::vector<std::string>{"fused BatchNormalization 'bn' into ConvTranspose 'deconv'"}));
  ExpectSameResults(before, g);
}

TEST(FoldBatchNormTest, SharedWeightsStayUntouched) {
  Graph g = ConvBnGraph(true);
  const int x = g.inputs[0];
  const int w = g.FindValue("w");
  const std::vector<float> original = g.values[w].constant->ToFloatVector();
  const int c2 = F32(g, "c2", {1, 4, 8, 8});
  g.AddNode("conv2", "Conv", {x, w}, {c2}).attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  g.MarkOutput(c2);
  const Graph before = g;
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 3u);
  const int w_after = g.FindValue("w");
  ASSERT_GE(w_after, 0);
  EXPECT_EQ(g.values[w_after].constant->ToFloatVector(), original);
  EXPECT_EQ(g.nodes[2].inputs[1], w_after);  // conv2 still reads the original weights
  EXPECT_NE(g.nodes[0].inputs[1], w_after);  // conv got folded copies
  ExpectSameResults(before, g);
}

// A copy of `g` whose constants have buffers of their own, so `g` holds its weights alone.
Graph WithOwnConstants(const Graph& g) {
  Graph copy = g;
  for (Value& v : copy.values) {
    if (!v.is_constant()) continue;
    v.constant =
        std::make_shared<const Tensor>(Tensor::FromBytes(v.constant->dtype(), v.constant->dims(),
                                                         v.constant->raw(), v.constant->bytes())
                                           .value());
  }
  return copy;
}

TEST(FoldBatchNormTest, WeightsHeldByTheGraphAloneAreScaledInPlace) {
  Graph g = ConvBnGraph(true);
  const Graph before = WithOwnConstants(g);
  const void* w_data = g.values[g.FindValue("w")].constant->raw();
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.values[g.nodes[0].inputs[1]].constant->raw(), w_data);  // no copy was made
  ExpectSameResults(before, g);
}

TEST(FoldBatchNormTest, ReadOnlyWeightsAreCopied) {
  // Weights wrapping memory the graph does not own (a mapped file) are never written.
  Graph g = ConvBnGraph(true);
  const int w = g.FindValue("w");
  auto keep = std::make_shared<const Tensor>(*g.values[w].constant);
  g.values[w].constant = std::make_shared<const Tensor>(
      Tensor::Wrap(DType::kF32, keep->dims(), keep->raw(), std::shared_ptr<const void>(keep)));
  const std::vector<float> original = keep->ToFloatVector();
  const Graph before = WithOwnConstants(g);
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  EXPECT_NE(g.values[g.nodes[0].inputs[1]].constant->raw(), keep->raw());
  EXPECT_EQ(keep->ToFloatVector(), original);
  ExpectSameResults(before, g);
}

TEST(FoldBatchNormTest, NotFoldedWhenParamsAreNotConstant) {
  Graph g = ConvBnGraph(true);
  // Replace the BN mean with a graph input.
  const int mean_in = F32(g, "mean_in", {4});
  g.MarkInput(mean_in);
  g.nodes[1].inputs[3] = mean_in;
  std::vector<std::string> log;
  ASSERT_TRUE(FoldBatchNormIntoConv(g, &log).ok());
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_TRUE(log.empty());
}

TEST(FoldBatchNormTest, NotFoldedWhenConvWeightsAreNotConstant) {
  Graph g = ConvBnGraph(true);
  const int w_in = F32(g, "w_in", {4, 3, 3, 3});
  g.MarkInput(w_in);
  g.nodes[0].inputs[1] = w_in;
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 3u);
}

TEST(FoldBatchNormTest, NotFoldedWhenConvOutputHasOtherReaders) {
  Graph g = ConvBnGraph(true);
  g.MarkOutput(g.FindValue("c"));  // the pre-BN activation is also a graph output
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 3u);

  Graph g2 = ConvBnGraph(true);
  const int c = g2.FindValue("c");
  const int n = F32(g2, "n", {1, 4, 8, 8});
  g2.AddNode("neg", "Neg", {c}, {n});
  g2.MarkOutput(n);
  ASSERT_TRUE(FoldBatchNormIntoConv(g2, nullptr).ok());
  EXPECT_EQ(g2.nodes.size(), 4u);
}

TEST(FoldBatchNormTest, NotFoldedInTrainingModeOrAfterActivation) {
  Graph g = ConvBnGraph(true);
  g.nodes[1].attrs["training_mode"] = Attribute::Int(1);
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 3u);

  Graph g2 = ConvBnGraph(true);
  g2.nodes[0].attrs["activation"] = Attribute::String("Relu");
  ASSERT_TRUE(FoldBatchNormIntoConv(g2, nullptr).ok());
  EXPECT_EQ(g2.nodes.size(), 3u);
}

}  // namespace
}  // namespace edgerun
