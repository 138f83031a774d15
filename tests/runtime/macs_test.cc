// EstimateMacs: the MAC counts inspect and bench report, and that the session's threading rule
// reads, for float and for folded int8 (QLinear*) nodes.
#include "runtime/macs.h"

#include <gtest/gtest.h>

namespace edgerun {
namespace {

// Adds a value with a static shape (no data: EstimateMacs reads shapes only).
int Val(Graph& g, const std::string& name, std::vector<int64_t> dims, DType dt = DType::kF32) {
  return g.AddValue(name, dt, ShapeFromDims(dims));
}

TEST(EstimateMacs, ConvCountsOutputsTimesWeightsPerOutputChannel) {
  Graph g;
  const int x = Val(g, "x", {1, 8, 16, 16}), w = Val(g, "w", {4, 2, 3, 3});  // group 4
  const int y = Val(g, "y", {1, 4, 14, 14});
  const Node& conv = g.AddNode("conv", "Conv", {x, w}, {y});
  EXPECT_EQ(EstimateMacs(g, conv), int64_t{4 * 14 * 14} * (2 * 3 * 3));
}

TEST(EstimateMacs, ExpandDepthwiseConvCountsBothParts) {
  Graph g;
  const int x = Val(g, "x", {1, 20, 20, 8}), expand = Val(g, "expand", {24, 8, 1, 1});
  const int dw = Val(g, "dw", {24, 1, 3, 3}), y = Val(g, "y", {1, 10, 10, 24});
  const Node& n = g.AddNode("fused", "ExpandDepthwiseConv", {x, expand, Node::kNoValue, dw}, {y});
  EXPECT_EQ(EstimateMacs(g, n), int64_t{20 * 20 * 8} * 24 + int64_t{10 * 10 * 24} * (1 * 3 * 3));
}

TEST(EstimateMacs, QLinearConvReadsItsWeightsFromInputThree) {
  Graph g;
  const int x = Val(g, "x", {1, 8, 16, 16}, DType::kU8), xs = Val(g, "xs", {}),
            xz = Val(g, "xz", {}, DType::kU8), w = Val(g, "w", {16, 8, 3, 3}, DType::kI8),
            ws = Val(g, "ws", {16}), wz = Val(g, "wz", {16}, DType::kI8), ys = Val(g, "ys", {}),
            yz = Val(g, "yz", {}, DType::kU8), y = Val(g, "y", {1, 16, 16, 16}, DType::kU8);
  const Node& conv = g.AddNode("qconv", "QLinearConv", {x, xs, xz, w, ws, wz, ys, yz}, {y});
  EXPECT_EQ(EstimateMacs(g, conv), int64_t{16 * 16 * 16} * (8 * 3 * 3));
  // Too few inputs for a QLinear op: no count rather than a wrong one.
  const Node& broken = g.AddNode("broken", "QLinearConv", {x, xs}, {y});
  EXPECT_EQ(EstimateMacs(g, broken), 0);
}

TEST(EstimateMacs, QLinearMatMulCountsTheContractedDimOfA) {
  Graph g;
  const int a = Val(g, "a", {2, 5, 64}, DType::kU8), as = Val(g, "as", {}),
            az = Val(g, "az", {}, DType::kU8), b = Val(g, "b", {64, 10}, DType::kI8),
            bs = Val(g, "bs", {}), bz = Val(g, "bz", {}, DType::kI8), ys = Val(g, "ys", {}),
            yz = Val(g, "yz", {}, DType::kU8), y = Val(g, "y", {2, 5, 10}, DType::kU8);
  const Node& mm = g.AddNode("qmm", "QLinearMatMul", {a, as, az, b, bs, bz, ys, yz}, {y});
  EXPECT_EQ(EstimateMacs(g, mm), int64_t{2 * 5 * 10} * 64);
}

TEST(EstimateMacs, ElementwiseAndUnknownShapesCountZero) {
  Graph g;
  const int a = Val(g, "a", {4, 4}), b = Val(g, "b", {4, 4}), c = Val(g, "c", {4, 4});
  EXPECT_EQ(EstimateMacs(g, g.AddNode("add", "Add", {a, b}, {c})), 0);
  const int u = g.AddValue("u");  // no shape
  EXPECT_EQ(EstimateMacs(g, g.AddNode("mm", "MatMul", {u, b}, {c})), 0);
}

}  // namespace
}  // namespace edgerun
