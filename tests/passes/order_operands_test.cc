// OrderCommutativeOperands: the broadcast operand of Add and Mul goes second (so the output may
// reuse the full-size operand's buffer); other ops and equal shapes stay as they are; results are
// unchanged; and a session plans the same arena for either operand order.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edgerun/session.h"
#include "passes/passes.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::F32;

// x[1,8,16,16] -> Relu -> r; GlobalAveragePool(r) -> Sigmoid -> s[1,8,1,1]; `op`(s, r) (or
// (r, s) with `scale_second`) -> y -> Relu -> z: a squeeze-excitation block.
Graph SqueezeExcitation(const std::string& op, bool scale_second) {
  Graph g;
  const int x = F32(g, "x", {1, 8, 16, 16});
  g.MarkInput(x);
  const int r = F32(g, "r", {1, 8, 16, 16});
  g.AddNode("relu", "Relu", {x}, {r});
  const int pooled = F32(g, "pooled", {1, 8, 1, 1});
  g.AddNode("pool", "GlobalAveragePool", {r}, {pooled});
  const int s = F32(g, "s", {1, 8, 1, 1});
  g.AddNode("sigmoid", "Sigmoid", {pooled}, {s});
  const int y = F32(g, "y", {1, 8, 16, 16});
  g.AddNode("scale", op, scale_second ? std::vector<int>{r, s} : std::vector<int>{s, r}, {y});
  const int z = F32(g, "z", {1, 8, 16, 16});  // graph outputs get buffers of their own
  g.AddNode("relu2", "Relu", {y}, {z});
  g.MarkOutput(z);
  return g;
}

TEST(OrderCommutativeOperandsTest, BroadcastOperandOfAddAndMulGoesSecond) {
  for (const std::string op : {"Mul", "Add"}) {
    SCOPED_TRACE(op);
    const Graph before = SqueezeExcitation(op, /*scale_second=*/false);
    Graph g = before;
    std::vector<std::string> log;
    ASSERT_TRUE(OrderCommutativeOperands(g, &log).ok());
    const Node& n = g.nodes[3];
    EXPECT_EQ(g.values[n.inputs[0]].name, "r");
    EXPECT_EQ(g.values[n.inputs[1]].name, "s");
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("scale"), std::string::npos) << log[0];
    testing::ExpectSameGraphResults(before, g, 3);
    // Already in order: nothing to do.
    log.clear();
    ASSERT_TRUE(OrderCommutativeOperands(g, &log).ok());
    EXPECT_TRUE(log.empty());
  }
}

TEST(OrderCommutativeOperandsTest, LeavesOtherOpsAndEqualShapesAlone) {
  for (const std::string op : {"Sub", "Div", "Max"}) {
    Graph g = SqueezeExcitation(op, /*scale_second=*/false);
    std::vector<std::string> log;
    ASSERT_TRUE(OrderCommutativeOperands(g, &log).ok());
    EXPECT_EQ(g.values[g.nodes[3].inputs[0]].name, "s") << op;
    EXPECT_TRUE(log.empty()) << op;
  }
  Graph g;
  const int a = F32(g, "a", {2, 3}), b = F32(g, "b", {2, 3}), y = F32(g, "y", {2, 3});
  g.MarkInput(a);
  g.MarkInput(b);
  g.AddNode("mul", "Mul", {a, b}, {y});
  g.MarkOutput(y);
  std::vector<std::string> log;
  ASSERT_TRUE(OrderCommutativeOperands(g, &log).ok());
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<int>{a, b}));
  EXPECT_TRUE(log.empty());
}

// With the scale first, the Mul's output used to need a buffer of its own.
TEST(OrderCommutativeOperandsTest, SessionPlansTheSameArenaForEitherOrder) {
  size_t arena[2] = {0, 0};
  for (int scale_second = 0; scale_second < 2; ++scale_second) {
    Model m{"se.onnx", SqueezeExcitation("Mul", scale_second != 0)};
    auto session = Session::Create(std::move(m), SessionOptions{});
    ASSERT_TRUE(session.ok()) << session.status().message();
    arena[scale_second] = (*session)->arena_bytes();
  }
  EXPECT_EQ(arena[0], arena[1]);
}

}  // namespace
}  // namespace edgerun
