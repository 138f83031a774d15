#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "passes/graph_dump.h"
#include "passes/graph_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "runtime/infer_and_fold.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::F32;

void ExpectSameResults(const Graph& before, const Graph& after) {
  testing::ExpectSameGraphResults(before, after, 500);
}

std::vector<std::string> OpTypes(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

bool Contains(const std::vector<std::string>& log, const std::string& line) {
  return std::find(log.begin(), log.end(), line) != log.end();
}

// x -> Conv -> BN -> Relu -> Identity -> Conv -> (Sigmoid, Mul) -> GlobalAveragePool -> Flatten
//   -> MatMul -> Add -> Dropout -> y, plus a dead Neg branch.
Graph TinyNet() {
  Graph g;
  g.opset_imports[""] = 13;
  const int x = F32(g, "x", {1, 3, 8, 8});
  g.MarkInput(x);
  const int w1 = g.AddConstant("w1", testing::RandomF32({4, 3, 3, 3}, 1));
  const int b1 = g.AddConstant("b1", testing::RandomF32({4}, 2));
  const int c1 = F32(g, "c1", {1, 4, 8, 8});
  g.AddNode("conv1", "Conv", {x, w1, b1}, {c1}).attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  std::vector<float> var(4, 0.7f);
  const int bn = F32(g, "bn", {1, 4, 8, 8});
  g.AddNode("bn1", "BatchNormalization",
            {c1, g.AddConstant("gamma", testing::RandomF32({4}, 3)),
             g.AddConstant("beta", testing::RandomF32({4}, 4)),
             g.AddConstant("mean", testing::RandomF32({4}, 5)),
             g.AddConstant("var", Tensor::FromVector(DType::kF32, {4}, var))},
            {bn});
  const int r1 = F32(g, "r1", {1, 4, 8, 8});
  g.AddNode("relu1", "Relu", {bn}, {r1});
  const int i1 = F32(g, "i1", {1, 4, 8, 8});
  g.AddNode("id1", "Identity", {r1}, {i1});
  const int dead = F32(g, "dead", {1, 4, 8, 8});
  g.AddNode("unused", "Neg", {r1}, {dead});
  const int w2 = g.AddConstant("w2", testing::RandomF32({6, 4, 1, 1}, 6));
  const int c2 = F32(g, "c2", {1, 6, 8, 8});
  g.AddNode("conv2", "Conv", {i1, w2}, {c2});
  const int s2 = F32(g, "s2", {1, 6, 8, 8});
  g.AddNode("sig2", "Sigmoid", {c2}, {s2});
  const int m2 = F32(g, "m2", {1, 6, 8, 8});
  g.AddNode("mul2", "Mul", {c2, s2}, {m2});
  const int p = F32(g, "p", {1, 6, 1, 1});
  g.AddNode("gap", "GlobalAveragePool", {m2}, {p});
  const int f = F32(g, "f", {1, 6});
  g.AddNode("flatten", "Flatten", {p}, {f});
  const int mm = F32(g, "mm", {1, 10});
  g.AddNode("fc", "MatMul", {f, g.AddConstant("fc_w", testing::RandomF32({6, 10}, 7))}, {mm});
  const int logits = F32(g, "logits", {1, 10});
  g.AddNode("fc_bias", "Add", {mm, g.AddConstant("fc_b", testing::RandomF32({10}, 8))}, {logits});
  const int y = F32(g, "y", {1, 10});
  const int mask = g.AddValue("mask", DType::kBool, ShapeFromDims({1, 10}));
  g.AddNode("drop", "Dropout", {logits}, {y, mask});
  g.MarkOutput(y);
  return g;
}

TEST(RunGraphPassesTest, TinyNetIsFullyFused) {
  Graph g = TinyNet();
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(RunGraphPasses(g, &log).ok());
  EXPECT_EQ(OpTypes(g),
            (std::vector<std::string>{"Conv", "Conv", "GlobalAveragePool", "Flatten", "Gemm"}))
      << DumpGraph(g);
  EXPECT_EQ(g.nodes[0].attr("activation")->s, "Relu");
  EXPECT_EQ(g.nodes[1].attr("activation")->s, "SiLU");
  EXPECT_FALSE(g.nodes[4].has_attr("activation"));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.values[g.outputs[0]].name, "y");
  EXPECT_EQ(g.values[g.nodes[4].outputs[0]].name, "y");
  EXPECT_TRUE(Contains(log, "fused BatchNormalization 'bn1' into Conv 'conv1'")) << DumpGraph(g);
  EXPECT_TRUE(Contains(log, "fused Relu 'relu1' into Conv 'conv1'"));
  EXPECT_TRUE(Contains(log, "removed Identity 'id1'"));
  EXPECT_TRUE(Contains(log, "removed dead node 'unused' (Neg)"));
  EXPECT_TRUE(Contains(log, "fused MatMul 'fc' and Add 'fc_bias' into Gemm 'fc'"));
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);

  // A second run finds nothing left to do.
  std::vector<std::string> again;
  ASSERT_TRUE(RunGraphPasses(g, &again).ok());
  EXPECT_TRUE(again.empty()) << again[0];
}

TEST(RunGraphPassesTest, NullLogIsAllowed) {
  Graph g = TinyNet();
  ASSERT_TRUE(RunGraphPasses(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 5u);
}

TEST(RunGraphPassesTest, SmallCnnAfterShapeInference) {
  Model m = testing::MakeSmallCnn();
  Graph g = m.graph;
  ASSERT_TRUE(InferShapesAndFold(g, /*fold=*/true).ok());
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(RunGraphPasses(g, &log).ok());
  EXPECT_TRUE(Contains(log, "fused BatchNormalization 'bn1' into Conv 'conv1'")) << DumpGraph(g);
  EXPECT_TRUE(Contains(log, "fused Relu 'relu1' into Conv 'conv1'"));
  EXPECT_EQ(g.nodes.size(), before.nodes.size() - 2);
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
}

TEST(RunGraphPassesTest, EmptyGraph) {
  Graph g;
  const int x = F32(g, "x", {2});
  g.MarkInput(x);
  g.MarkOutput(x);
  std::vector<std::string> log;
  ASSERT_TRUE(RunGraphPasses(g, &log).ok());
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(g.values.size(), 1u);
}

TEST(ValidateGraphTest, CatchesBrokenOrder) {
  Graph g;
  const int x = F32(g, "x", {2});
  const int a = F32(g, "a", {2});
  const int b = F32(g, "b", {2});
  g.AddNode("second", "Neg", {a}, {b});
  g.AddNode("first", "Relu", {x}, {a});
  g.MarkInput(x);
  g.MarkOutput(b);
  Status s = ValidateGraph(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node 'second' (Neg)"), std::string::npos) << s.message();
}

TEST(ValidateGraphTest, CatchesUntypedOutputAndMissingOutput) {
  Graph g;
  const int x = F32(g, "x", {2});
  const int a = g.AddValue("a");
  g.AddNode("n", "Relu", {x}, {a});
  g.MarkInput(x);
  g.MarkOutput(a);
  EXPECT_FALSE(ValidateGraph(g).ok());

  Graph g2;
  const int x2 = F32(g2, "x", {2});
  const int lost = F32(g2, "lost", {2});
  g2.MarkInput(x2);
  g2.MarkOutput(lost);
  EXPECT_FALSE(ValidateGraph(g2).ok());
}

}  // namespace
}  // namespace edgerun
