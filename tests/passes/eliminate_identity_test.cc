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

Tensor Filled(std::vector<int64_t> dims, float v) {
  std::vector<float> data(NumElements(dims), v);
  return Tensor::FromVector(DType::kF32, dims, data);
}

Tensor I64(std::vector<int64_t> values) {
  return Tensor::FromVector(DType::kI64, {static_cast<int64_t>(values.size())}, values);
}

const Node* FindNode(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::string ValueName(const Graph& g, int v) { return v >= 0 ? g.values[v].name : "<none>"; }

void ExpectSameResults(const Graph& before, const Graph& after) {
  std::vector<Tensor> inputs;
  uint32_t seed = 11;
  for (int v : before.inputs) {
    inputs.push_back(testing::RandomF32(StaticDims(*before.values[v].shape), seed++));
  }
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    test_util::CompareResult r = test_util::AllClose((*got)[i].view(), (*want)[i].view(), 0, 0);
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message;
  }
}

// x -> Relu r1 -> a -> <op> -> b -> Relu r2 -> y
Graph ChainThrough(const std::string& op, std::vector<int64_t> in_dims,
                   std::vector<int64_t> out_dims) {
  Graph g;
  const int x = F32(g, "x", in_dims);
  const int a = F32(g, "a", in_dims);
  const int b = F32(g, "b", out_dims);
  const int y = F32(g, "y", out_dims);
  g.AddNode("r1", "Relu", {x}, {a});
  g.AddNode("mid", op, {a}, {b});
  g.AddNode("r2", "Relu", {b}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  return g;
}

TEST(EliminateIdentityTest, RemovesIdentityChain) {
  Graph g;
  const int x = F32(g, "x", {2, 3});
  const int a = F32(g, "a", {2, 3});
  const int b = F32(g, "b", {2, 3});
  const int c = F32(g, "c", {2, 3});
  const int y = F32(g, "y", {2, 3});
  g.AddNode("r1", "Relu", {x}, {a});
  g.AddNode("id1", "Identity", {a}, {b});
  g.AddNode("id2", "Identity", {b}, {c});
  g.AddNode("neg", "Neg", {c}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  const Graph before = g;

  std::vector<std::string> log;
  ASSERT_TRUE(EliminateIdentity(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].name, "r1");
  EXPECT_EQ(g.nodes[1].name, "neg");
  EXPECT_EQ(g.nodes[1].inputs[0], g.nodes[0].outputs[0]);
  EXPECT_EQ(ValueName(g, g.nodes[1].inputs[0]), "a");
  EXPECT_EQ(g.values.size(), 3u);  // b and c compacted away
  EXPECT_EQ(log, (std::vector<std::string>{"removed Identity 'id1'", "removed Identity 'id2'"}));
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
}

TEST(EliminateIdentityTest, KeepsGraphOutputNameByRenamingProducerOutput) {
  Graph g;
  const int x = F32(g, "x", {4});
  const int a = F32(g, "a", {4});
  const int y = F32(g, "y", {4});
  const int z = F32(g, "z", {4});
  g.AddNode("r1", "Relu", {x}, {a});
  g.AddNode("id", "Identity", {a}, {y});
  g.AddNode("neg", "Neg", {a}, {z});  // another reader of a
  g.MarkInput(x);
  g.MarkOutput(y);
  g.MarkOutput(z);
  const Graph before = g;

  ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(ValueName(g, g.nodes[0].outputs[0]), "y");
  EXPECT_EQ(ValueName(g, g.nodes[1].inputs[0]), "y");
  ASSERT_EQ(g.outputs.size(), 2u);
  EXPECT_EQ(ValueName(g, g.outputs[0]), "y");
  EXPECT_EQ(ValueName(g, g.outputs[1]), "z");
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
}

TEST(EliminateIdentityTest, KeepsIdentityBetweenTwoEndpoints) {
  Graph g;
  const int x = F32(g, "x", {4});
  const int y = F32(g, "y", {4});
  const int a = F32(g, "a", {4});
  const int z = F32(g, "z", {4});
  g.AddNode("id_in", "Identity", {x}, {y});  // graph input -> graph output
  g.AddNode("r", "Relu", {x}, {a});
  g.AddNode("id_out", "Identity", {a}, {z});
  g.MarkInput(x);
  g.MarkOutput(y);
  g.MarkOutput(a);  // a is an output too, so z cannot take over its producer
  g.MarkOutput(z);
  std::vector<std::string> log;
  ASSERT_TRUE(EliminateIdentity(g, &log).ok());
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_TRUE(log.empty());
}

TEST(EliminateIdentityTest, DropoutOnlyWithoutMaskOrTraining) {
  {
    Graph g = ChainThrough("Dropout", {2, 5}, {2, 5});
    g.nodes[1].opset = 13;
    const Graph before = g;
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 2u);
    ExpectSameResults(before, g);
  }
  {
    // Mask is read by a graph output: the node must stay.
    Graph g = ChainThrough("Dropout", {2, 5}, {2, 5});
    const int mask = g.AddValue("mask", DType::kBool, ShapeFromDims({2, 5}));
    g.nodes[1].outputs.push_back(mask);
    g.MarkOutput(mask);
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 3u);
  }
  {
    // Unread mask output does not block removal.
    Graph g = ChainThrough("Dropout", {2, 5}, {2, 5});
    const int mask = g.AddValue("mask", DType::kBool, ShapeFromDims({2, 5}));
    g.nodes[1].outputs.push_back(mask);
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 2u);
    EXPECT_EQ(g.FindValue("mask"), -1);
  }
  {
    // training_mode = true (opset 12+ input) is random: keep.
    Graph g = ChainThrough("Dropout", {2, 5}, {2, 5});
    const int ratio =
        g.AddConstant("ratio", Tensor::FromVector(DType::kF32, {}, std::vector<float>{0.5f}));
    const int train =
        g.AddConstant("train", Tensor::FromVector(DType::kBool, {}, std::vector<uint8_t>{1}));
    g.nodes[1].inputs = {g.nodes[1].inputs[0], ratio, train};
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 3u);
  }
}

TEST(EliminateIdentityTest, ShapePreservingReshapeCastSqueeze) {
  for (const std::string op : {"Reshape", "Cast", "Flatten", "Squeeze", "Expand", "Identity"}) {
    SCOPED_TRACE(op);
    Graph g = ChainThrough(op, {3, 4}, {3, 4});
    Node& mid = g.nodes[1];
    if (op == "Reshape" || op == "Expand")
      mid.inputs.push_back(g.AddConstant("shape", I64({3, 4})));
    if (op == "Cast") mid.attrs["to"] = Attribute::Int(1);  // FLOAT
    if (op == "Flatten") mid.attrs["axis"] = Attribute::Int(1);
    const Graph before = g;
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 2u);
    EXPECT_EQ(g.FindValue("shape"), -1);
    EXPECT_TRUE(ValidateGraph(g).ok());
    ExpectSameResults(before, g);
  }
}

TEST(EliminateIdentityTest, KeepsShapeOrTypeChangingNodes) {
  {
    Graph g = ChainThrough("Reshape", {3, 4}, {4, 3});
    g.nodes[1].inputs.push_back(g.AddConstant("shape", I64({4, 3})));
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 3u);
  }
  {
    Graph g;
    const int x = F32(g, "x", {3});
    const int y = g.AddValue("y", DType::kI32, ShapeFromDims({3}));
    g.AddNode("cast", "Cast", {x}, {y}).attrs["to"] = Attribute::Int(6);
    g.MarkInput(x);
    g.MarkOutput(y);
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 1u);
  }
}

TEST(EliminateIdentityTest, TransposeOnlyWhenDataOrderKept) {
  {
    Graph g = ChainThrough("Transpose", {2, 3, 4}, {2, 3, 4});
    g.nodes[1].attrs["perm"] = Attribute::Ints({0, 1, 2});
    const Graph before = g;
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 2u);
    ExpectSameResults(before, g);
  }
  {
    // Only size-1 axes move: [1,5,1] -> perm [2,1,0] -> [1,5,1] is the same bytes.
    Graph g = ChainThrough("Transpose", {1, 5, 1}, {1, 5, 1});
    g.nodes[1].attrs["perm"] = Attribute::Ints({2, 1, 0});
    const Graph before = g;
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 2u);
    ExpectSameResults(before, g);
  }
  {
    // Same shape but a real transpose of a 3x3 matrix.
    Graph g = ChainThrough("Transpose", {2, 3, 3}, {2, 3, 3});
    g.nodes[1].attrs["perm"] = Attribute::Ints({0, 2, 1});
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 3u);
  }
  {
    // Default perm reverses the axes.
    Graph g = ChainThrough("Transpose", {3, 3}, {3, 3});
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 3u);
  }
}

TEST(EliminateIdentityTest, NeutralArithmetic) {
  struct Case {
    std::string op;
    float constant;
    bool constant_first;
    std::vector<int64_t> constant_dims;
    bool removed;
  };
  const Case cases[] = {
      {"Add", 0.f, false, {4}, true},        {"Add", 0.f, true, {}, true},
      {"Mul", 1.f, true, {1, 4}, true},      {"Div", 1.f, false, {}, true},
      {"Sub", 0.f, false, {4}, true},        {"Sub", 0.f, true, {4}, false},  // 0 - x
      {"Div", 1.f, true, {}, false},                                          // 1 / x
      {"Mul", 2.f, false, {}, false},        {"Add", 1.f, false, {}, false},
      {"Mul", 1.f, false, {2, 3, 4}, false},  // broadcasts x to a bigger shape
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op + " " + std::to_string(c.constant) + (c.constant_first ? " first" : ""));
    Graph g;
    std::vector<int64_t> out_dims = {3, 4};
    if (c.constant_dims.size() == 3) out_dims = {2, 3, 4};
    const int x = F32(g, "x", {3, 4});
    const int k = g.AddConstant("k", Filled(c.constant_dims, c.constant));
    const int a = F32(g, "a", out_dims);
    const int y = F32(g, "y", out_dims);
    g.AddNode("op", c.op, c.constant_first ? std::vector<int>{k, x} : std::vector<int>{x, k}, {a});
    g.AddNode("r", "Relu", {a}, {y});
    g.MarkInput(x);
    g.MarkOutput(y);
    const Graph before = g;
    ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), c.removed ? 1u : 2u);
    ExpectSameResults(before, g);
  }
}

TEST(EliminateIdentityTest, SingleInputConcat) {
  Graph g = ChainThrough("Concat", {2, 3}, {2, 3});
  g.nodes[1].attrs["axis"] = Attribute::Int(1);
  const Graph before = g;
  ASSERT_TRUE(EliminateIdentity(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(FindNode(g, "mid"), nullptr);
  ExpectSameResults(before, g);
}

}  // namespace
}  // namespace edgerun
