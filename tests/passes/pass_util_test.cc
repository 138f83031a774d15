// GraphRewriter::WritableConstant: a constant's data may be rewritten in place only by its sole
// reader, and only when nothing outside the graph shares the buffer.
#include "passes/pass_util.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::F32;

// x -> Mul(x, c) -> y, with c a 4-element constant; optionally a second Mul reads c too.
Graph MulGraph(bool second_reader) {
  Graph g;
  const int x = F32(g, "x", {4});
  const int c =
      g.AddConstant("c", Tensor::FromVector(DType::kF32, {4}, std::vector<float>(4, 2.f)));
  const int y = F32(g, "y", {4});
  g.AddNode("mul", "Mul", {x, c}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  if (second_reader) {
    const int z = F32(g, "z", {4});
    g.AddNode("mul2", "Mul", {x, c}, {z});
    g.MarkOutput(z);
  }
  return g;
}

TEST(GraphRewriterTest, WritableConstantOnlyForTheSoleReaderOfAnUnsharedBuffer) {
  Graph g = MulGraph(false);
  const int c = g.FindValue("c");
  {
    GraphRewriter rw(g);
    EXPECT_EQ(rw.WritableConstant(c, 0), g.values[c].constant->raw());
    EXPECT_EQ(rw.WritableConstant(g.FindValue("x"), 0), nullptr);  // not a constant
    EXPECT_EQ(rw.WritableConstant(c, 1), nullptr);                 // no such reader
  }
  {
    const Graph copy = g;  // the copy shares the tensor: neither may write it
    GraphRewriter rw(g);
    EXPECT_EQ(rw.WritableConstant(c, 0), nullptr);
  }
  {
    const Tensor other = *g.values[c].constant;  // another Tensor shares the buffer
    GraphRewriter rw(g);
    EXPECT_EQ(rw.WritableConstant(c, 0), nullptr);
  }
  {
    auto keep = std::make_shared<std::vector<float>>(4, 2.f);
    g.values[c].constant = std::make_shared<const Tensor>(
        Tensor::Wrap(DType::kF32, {4}, keep->data(), keep));  // may be read-only memory
    GraphRewriter rw(g);
    EXPECT_EQ(rw.WritableConstant(c, 0), nullptr);
  }
  Graph shared = MulGraph(true);
  GraphRewriter rw(shared);
  EXPECT_EQ(rw.WritableConstant(shared.FindValue("c"), 0), nullptr);  // two readers
}

}  // namespace
}  // namespace edgerun
