#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::F32;

std::vector<std::string> NodeNames(const Graph& g) {
  std::vector<std::string> names;
  for (const Node& n : g.nodes) names.push_back(n.name);
  return names;
}

TEST(EliminateDeadNodesTest, RemovesBranchesThatReachNoOutput) {
  Graph g;
  const int x = F32(g, "x", {4});
  const int a = F32(g, "a", {4});
  const int d1 = F32(g, "d1", {4});
  const int d2 = F32(g, "d2", {4});
  const int y = F32(g, "y", {4});
  const int w = g.AddConstant("w", Tensor::FromVector(DType::kF32, {4}, std::vector<float>(4, 2)));
  g.AddNode("relu", "Relu", {x}, {a});
  g.AddNode("dead1", "Mul", {a, w}, {d1});  // its only reader is dead too
  g.AddNode("dead2", "Neg", {d1}, {d2});
  g.AddNode("out", "Sigmoid", {a}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);

  std::vector<std::string> log;
  ASSERT_TRUE(EliminateDeadNodes(g, &log).ok());
  EXPECT_EQ(NodeNames(g), (std::vector<std::string>{"relu", "out"}));
  EXPECT_EQ(log, (std::vector<std::string>{"removed dead node 'dead2' (Neg)",
                                           "removed dead node 'dead1' (Mul)"}));
  EXPECT_EQ(g.FindValue("w"), -1);  // the constant only the dead node read is dropped
  EXPECT_EQ(g.FindValue("d1"), -1);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.values[g.outputs[0]].name, "y");
  EXPECT_EQ(g.values[g.inputs[0]].name, "x");
  EXPECT_TRUE(ValidateGraph(g).ok());
}

TEST(EliminateDeadNodesTest, KeepsNodeWhenAnyOutputIsLive) {
  Graph g;
  const int x = F32(g, "x", {4, 2});
  const int s0 = F32(g, "s0", {2, 2});
  const int s1 = F32(g, "s1", {2, 2});
  g.AddNode("split", "Split", {x}, {s0, s1});
  g.MarkInput(x);
  g.MarkOutput(s0);
  ASSERT_TRUE(EliminateDeadNodes(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  // Split's output count decides the split sizes: its unused output must stay.
  EXPECT_EQ(g.nodes[0].outputs.size(), 2u);
}

TEST(EliminateDeadNodesTest, DropsUnusedOptionalTrailingOutputs) {
  Graph g;
  const int x = F32(g, "x", {1, 1, 4, 4});
  const int p = F32(g, "p", {1, 1, 2, 2});
  const int idx = g.AddValue("idx", DType::kI64, ShapeFromDims({1, 1, 2, 2}));
  const int y = F32(g, "y", {1, 1, 2, 2});
  const int mask = g.AddValue("mask", DType::kBool, ShapeFromDims({1, 1, 2, 2}));
  g.AddNode("pool", "MaxPool", {x}, {p, idx}).attrs["kernel_shape"] = Attribute::Ints({2, 2});
  g.AddNode("drop", "Dropout", {p}, {y, mask});
  g.MarkInput(x);
  g.MarkOutput(y);
  std::vector<std::string> log;
  ASSERT_TRUE(EliminateDeadNodes(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].outputs.size(), 1u);
  EXPECT_EQ(g.nodes[1].outputs.size(), 1u);
  EXPECT_EQ(g.FindValue("idx"), -1);
  EXPECT_EQ(g.FindValue("mask"), -1);
  EXPECT_EQ(log.size(), 2u);
  EXPECT_TRUE(ValidateGraph(g).ok());

  // Now the Dropout is a plain identity.
  ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.values[g.nodes[0].outputs[0]].name, "y");
}

TEST(EliminateDeadNodesTest, KeepsUsedMiddleOutput) {
  Graph g;
  const int x = F32(g, "x", {1, 1, 4, 4});
  const int p = F32(g, "p", {1, 1, 2, 2});
  const int idx = g.AddValue("idx", DType::kI64, ShapeFromDims({1, 1, 2, 2}));
  g.AddNode("pool", "MaxPool", {x}, {p, idx}).attrs["kernel_shape"] = Attribute::Ints({2, 2});
  g.MarkInput(x);
  g.MarkOutput(idx);  // only the indices are wanted
  ASSERT_TRUE(EliminateDeadNodes(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].outputs.size(), 2u);
}

TEST(EliminateDeadNodesTest, GraphWithoutDeadNodesIsUnchanged) {
  Graph g;
  const int x = F32(g, "x", {3});
  const int a = F32(g, "a", {3});
  const int b = F32(g, "b", {3});
  g.AddNode("n1", "Relu", {x}, {a});
  g.AddNode("n2", "Neg", {a}, {b});
  g.MarkInput(x);
  g.MarkOutput(a);
  g.MarkOutput(b);
  std::vector<std::string> log;
  ASSERT_TRUE(EliminateDeadNodes(g, &log).ok());
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(NodeNames(g), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(g.values.size(), 3u);
}

TEST(EliminateDeadNodesTest, UnusedGraphInputIsKept) {
  Graph g;
  const int x = F32(g, "x", {3});
  const int unused = F32(g, "unused", {3});
  const int a = F32(g, "a", {3});
  const int d = F32(g, "d", {3});
  g.AddNode("n1", "Relu", {x}, {a});
  g.AddNode("n2", "Relu", {unused}, {d});
  g.MarkInput(x);
  g.MarkInput(unused);
  g.MarkOutput(a);
  ASSERT_TRUE(EliminateDeadNodes(g, nullptr).ok());
  EXPECT_EQ(NodeNames(g), (std::vector<std::string>{"n1"}));
  ASSERT_EQ(g.inputs.size(), 2u);
  EXPECT_EQ(g.values[g.inputs[1]].name, "unused");
}

}  // namespace
}  // namespace edgerun
