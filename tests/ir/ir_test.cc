#include "edgerun/ir.h"

#include <gtest/gtest.h>

namespace edgerun {
namespace {

TEST(IrTest, TopologicalSortReordersAndKeepsSortedGraphs) {
  Graph g;
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims({2}));
  g.MarkInput(x);
  const int a = g.AddValue("a"), b = g.AddValue("b");
  g.AddNode("second", "Relu", {a}, {b});
  g.AddNode("first", "Relu", {x}, {a});
  g.MarkOutput(b);
  ASSERT_TRUE(g.TopologicalSort().ok());
  EXPECT_EQ(g.nodes[0].name, "first");
  EXPECT_EQ(g.nodes[1].name, "second");
  ASSERT_TRUE(g.TopologicalSort().ok());
  EXPECT_EQ(g.nodes[0].name, "first");
}

TEST(IrTest, CycleAndUndefinedInputAreNamed) {
  Graph g;
  const int a = g.AddValue("a"), b = g.AddValue("b");
  g.AddNode("n1", "Relu", {a}, {b});
  g.AddNode("n2", "Relu", {b}, {a});
  Status s = g.TopologicalSort();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cycle"), std::string::npos);

  Graph h;
  const int ghost = h.AddValue("ghost"), out = h.AddValue("out");
  h.AddNode("reader", "Relu", {ghost}, {out});
  Status t = h.TopologicalSort();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("node 'reader' (Relu)"), std::string::npos) << t.message();
  EXPECT_NE(t.message().find("'ghost'"), std::string::npos);
}

TEST(IrTest, CompactValuesRenumbers) {
  Graph g;
  g.AddValue("unused");
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims({1}));
  const int y = g.AddValue("y");
  g.MarkInput(x);
  g.AddNode("r", "Relu", {x}, {y});
  g.MarkOutput(y);
  g.CompactValues();
  ASSERT_EQ(g.values.size(), 2u);
  EXPECT_EQ(g.values[g.nodes[0].inputs[0]].name, "x");
  EXPECT_EQ(g.values[g.outputs[0]].name, "y");
}

TEST(IrTest, AttributeGettersCheckKinds) {
  Node n;
  n.name = "c";
  n.op_type = "Conv";
  n.attrs["group"] = Attribute::Int(2);
  n.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  n.attrs["auto_pad"] = Attribute::String("NOTSET");
  EXPECT_EQ(*n.GetInt("group", 1), 2);
  EXPECT_EQ(*n.GetInt("missing", 7), 7);
  EXPECT_EQ(n.GetInts("pads", {})->size(), 4u);
  auto bad = n.GetInt("auto_pad", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("node 'c' (Conv): attribute 'auto_pad' is string"),
            std::string::npos)
      << bad.status().message();
}

TEST(IrTest, SymbolicDimsAndShapeStrings) {
  Graph g;
  const int x = g.AddValue("x", DType::kF32, Shape{Dim::Symbolic("batch"), Dim(3), Dim()});
  g.MarkInput(x);
  EXPECT_EQ(g.SymbolicDims(), (std::vector<std::string>{"batch", "?"}));
  EXPECT_EQ(ShapeToString(*g.values[x].shape), "batchx3x?");
  EXPECT_FALSE(IsStatic(*g.values[x].shape));
  EXPECT_EQ(MakeUniqueName(g, "x"), "x_1");
}

}  // namespace
}  // namespace edgerun
