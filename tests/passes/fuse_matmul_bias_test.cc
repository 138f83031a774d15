#include <gtest/gtest.h>

#include <algorithm>
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
  std::vector<Tensor> inputs;
  uint32_t seed = 400;
  for (int v : before.inputs) {
    inputs.push_back(testing::RandomF32(StaticDims(*before.values[v].shape), seed++));
  }
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    test_util::CompareResult r =
        test_util::AllClose((*got)[i].view(), (*want)[i].view(), 1e-5, 1e-6);
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message;
  }
}

// a[a_dims] -> MatMul(B[K,N] constant) -> m -> Add(bias[bias_dims]) -> y -> Relu -> z
Graph MatMulAdd(std::vector<int64_t> a_dims, std::vector<int64_t> b_dims,
                std::vector<int64_t> bias_dims, bool bias_first = false) {
  Graph g;
  std::vector<int64_t> m_dims = a_dims;
  m_dims.back() = b_dims.back();
  std::vector<int64_t> y_dims = m_dims;
  if (bias_dims.size() > y_dims.size())
    y_dims.insert(y_dims.begin(), bias_dims.size() - y_dims.size(), 1);
  for (size_t i = 0; i < bias_dims.size(); ++i) {
    int64_t& d = y_dims[y_dims.size() - bias_dims.size() + i];
    d = std::max(d, bias_dims[i]);
  }
  const int a = F32(g, "a", a_dims);
  const int b = g.AddConstant("B", testing::RandomF32(b_dims, 1));
  const int bias = g.AddConstant("bias", testing::RandomF32(bias_dims, 2));
  const int m = F32(g, "m", m_dims);
  const int y = F32(g, "y", y_dims);
  const int z = F32(g, "z", y_dims);
  g.AddNode("mm", "MatMul", {a, b}, {m});
  g.AddNode("add", "Add", bias_first ? std::vector<int>{bias, m} : std::vector<int>{m, bias}, {y});
  g.AddNode("relu", "Relu", {y}, {z});
  g.MarkInput(a);
  g.MarkOutput(z);
  return g;
}

TEST(FuseMatMulBiasTest, BatchedBecomesFusedMatMul) {
  Graph g = MatMulAdd({2, 3, 4}, {4, 5}, {5});
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(FuseMatMulBias(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "FusedMatMul");
  EXPECT_EQ(n.domain, kEdgerunDomain);
  EXPECT_EQ(n.name, "mm");
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(g.values[n.inputs[2]].name, "bias");
  EXPECT_EQ(g.values[n.outputs[0]].name, "y");
  EXPECT_EQ(log,
            (std::vector<std::string>{"fused MatMul 'mm' and Add 'add' into FusedMatMul 'mm'"}));
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
}

TEST(FuseMatMulBiasTest, TwoDimensionalBecomesGemm) {
  Graph g = MatMulAdd({3, 4}, {4, 6}, {6}, /*bias_first=*/true);
  const Graph before = g;
  ASSERT_TRUE(FuseMatMulBias(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op_type, "Gemm");
  EXPECT_TRUE(g.nodes[0].domain.empty());
  ExpectSameResults(before, g);
}

TEST(FuseMatMulBiasTest, RowBiasIsReshapedToVector) {
  Graph g = MatMulAdd({2, 3, 4}, {4, 5}, {1, 1, 5});
  const Graph before = g;
  ASSERT_TRUE(FuseMatMulBias(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  const Value& bias = g.values[g.nodes[0].inputs[2]];
  ASSERT_TRUE(bias.is_constant());
  EXPECT_EQ(bias.constant->dims(), (std::vector<int64_t>{5}));
  EXPECT_EQ(g.FindValue("bias"), -1);
  ExpectSameResults(before, g);
}

TEST(FuseMatMulBiasTest, ScalarBiasIsBroadcastToVector) {
  Graph g = MatMulAdd({3, 4}, {4, 6}, {1});
  const Graph before = g;
  ASSERT_TRUE(FuseMatMulBias(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.values[g.nodes[0].inputs[2]].constant->dims(), (std::vector<int64_t>{6}));
  ExpectSameResults(before, g);
}

TEST(FuseMatMulBiasTest, NotFusedWhenBiasBroadcastsAlongOtherDims) {
  for (std::vector<int64_t> bias_dims :
       {std::vector<int64_t>{3, 1}, std::vector<int64_t>{3, 6}, std::vector<int64_t>{2, 3, 6}}) {
    Graph g = MatMulAdd({3, 4}, {4, 6}, bias_dims);
    std::vector<std::string> log;
    ASSERT_TRUE(FuseMatMulBias(g, &log).ok());
    EXPECT_EQ(g.nodes.size(), 3u) << DimsToString(bias_dims);
    EXPECT_TRUE(log.empty());
  }
}

TEST(FuseMatMulBiasTest, NotFusedWhenWeightsOrBiasAreNotConstant) {
  {
    Graph g = MatMulAdd({3, 4}, {4, 6}, {6});
    const int b_in = F32(g, "b_in", {4, 6});
    g.MarkInput(b_in);
    g.nodes[0].inputs[1] = b_in;
    ASSERT_TRUE(FuseMatMulBias(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 3u);
  }
  {
    Graph g = MatMulAdd({3, 4}, {4, 6}, {6});
    const int bias_in = F32(g, "bias_in", {6});
    g.MarkInput(bias_in);
    g.nodes[1].inputs[1] = bias_in;
    ASSERT_TRUE(FuseMatMulBias(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 3u);
  }
}

TEST(FuseMatMulBiasTest, NotFusedWhenProductIsReadElsewhere) {
  Graph g = MatMulAdd({2, 3, 4}, {4, 5}, {5});
  g.MarkOutput(g.FindValue("m"));
  ASSERT_TRUE(FuseMatMulBias(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 3u);
}

TEST(FuseMatMulBiasTest, AddOutputAsGraphOutputKeepsName) {
  Graph g = MatMulAdd({2, 3, 4}, {4, 5}, {5});
  g.MarkOutput(g.FindValue("y"));
  const Graph before = g;
  ASSERT_TRUE(FuseMatMulBias(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  ASSERT_EQ(g.outputs.size(), 2u);
  EXPECT_EQ(g.values[g.outputs[1]].name, "y");
  ExpectSameResults(before, g);
}

}  // namespace
}  // namespace edgerun
