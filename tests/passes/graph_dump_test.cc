#include "passes/graph_dump.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace edgerun {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(GraphDumpTest, OneLinePerNodeWithShapesAndAttributes) {
  Graph g;
  const int x = g.AddValue("x", DType::kF32, Shape{Dim::Symbolic("N"), Dim(3), Dim(8), Dim(8)});
  const int w = g.AddConstant(
      "w", Tensor::FromVector(DType::kF32, {4, 3, 1, 1}, std::vector<float>(12, 1.f)));
  const int c = g.AddValue("c", DType::kF32, ShapeFromDims({1, 4, 8, 8}));
  const int y = g.AddValue("y", DType::kF32, ShapeFromDims({1, 4, 8, 8}));
  Node& conv = g.AddNode("conv1", "Conv", {x, w, Node::kNoValue}, {c});
  conv.attrs["strides"] = Attribute::Ints({1, 1});
  conv.attrs["activation"] = Attribute::String("Clip");
  conv.attrs["activation_params"] = Attribute::Floats({0, 6.5f});
  g.AddNode("silu", "SiLU", {c}, {y}).domain = std::string(kEdgerunDomain);
  g.MarkInput(x);
  g.MarkOutput(y);

  const std::vector<std::string> lines = Lines(DumpGraph(g));
  ASSERT_EQ(lines.size(), 4u) << DumpGraph(g);
  EXPECT_EQ(lines[0], "inputs: x [Nx3x8x8 f32]");
  EXPECT_EQ(lines[1],
            "conv1  Conv  x, w*, - -> c [1x4x8x8] "
            "{activation=Clip, activation_params=[0,6.5], strides=[1,1]}");
  EXPECT_EQ(lines[2], "silu  SiLU(com.edgerun)  c -> y [1x4x8x8]");
  EXPECT_EQ(lines[3], "outputs: y [1x4x8x8 f32]");
}

TEST(GraphDumpTest, LongListsAreAbbreviated) {
  Graph g;
  const int x = g.AddValue("x", DType::kI64, ShapeFromDims({20}));
  const int y = g.AddValue("y", DType::kI64, ShapeFromDims({20}));
  std::vector<int64_t> perm(20);
  for (int i = 0; i < 20; ++i) perm[i] = i;
  g.AddNode("t", "Transpose", {x}, {y}).attrs["perm"] = Attribute::Ints(perm);
  const std::string dump = DumpGraph(g);
  EXPECT_NE(dump.find("perm=[0,1,2,3,4,5,6,7,...(20)]"), std::string::npos) << dump;
}

}  // namespace
}  // namespace edgerun
