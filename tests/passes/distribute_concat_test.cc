// DistributeConcat (passes/distribute_concat.cc): a channel Concat read only by a MaxPool or
// AveragePool, or by a 1x1 group-1 Conv, disappears into per-part pools (then a smaller Concat)
// or per-part convs summed by Adds (unless the conv has more weights than the Concat has
// elements); every other Concat stays. Each case also checks that the
// graph computes what it did before, and the SqueezeNet-shaped case that the full pass pipeline
// leaves no Concat and no Add behind (the Adds become conv residuals).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"
#include "runtime/infer_and_fold.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::ExpectSameGraphResults;
using testing::RandomF32;

struct ConcatCase {
  std::vector<int64_t> parts = {3, 5};  // channels of each Concat input
  int64_t axis = 1;
  std::string reader = "Conv";           // Conv, MaxPool, AveragePool, Pool+Conv, Relu
  std::vector<int64_t> kernel = {1, 1};  // of the reading conv
  int64_t group = 1;
  std::vector<int64_t> conv_strides = {1, 1};
  std::vector<int64_t> conv_pads = {0, 0, 0, 0};
  bool bias = true;
  bool concat_is_graph_output = false;
  bool second_reader = false;  // a Relu also reads the Concat
  bool pool_indices = false;   // MaxPool with its Indices output
  bool constant_part = false;  // the last part is a constant
  int64_t squeeze_out = 6;     // output channels of the reading conv
};

int Conv(Graph& g, const std::string& name, int x, int64_t in_c, int64_t out_c,
         std::vector<int64_t> kernel, uint32_t seed, bool bias = true, int64_t group = 1) {
  std::vector<int> in = {
      x, g.AddConstant(name + "_w", RandomF32({out_c, in_c / group, kernel[0], kernel[1]}, seed))};
  if (bias) in.push_back(g.AddConstant(name + "_b", RandomF32({out_c}, seed + 1)));
  const int y = g.AddValue(name + "_y");
  Node& n = g.AddNode(name, "Conv", in, {y});
  const int64_t pad = kernel[0] / 2;
  n.attrs["pads"] = Attribute::Ints({pad, pad, pad, pad});
  n.attrs["group"] = Attribute::Int(group);
  return y;
}

int Pool(Graph& g, const std::string& op, const std::string& name, int x, bool indices = false) {
  const int y = g.AddValue(name + "_y");
  std::vector<int> out = {y};
  if (indices) out.push_back(g.AddValue(name + "_i"));
  Node& n = g.AddNode(name, op, {x}, out);
  n.attrs["kernel_shape"] = Attribute::Ints({3, 3});
  n.attrs["strides"] = Attribute::Ints({2, 2});
  n.attrs["ceil_mode"] = Attribute::Int(1);
  if (indices) g.MarkOutput(out[1]);
  return y;
}

// x [1, 4, 9, 11] -> one 1x1/3x3 conv per part (Relu after the first) -> Concat -> reader -> y
Graph ConcatThenReader(const ConcatCase& c) {
  Graph g;
  g.opset_imports[""] = 13;
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims({1, 4, 9, 11}));
  g.MarkInput(x);
  std::vector<int> parts;
  int64_t channels = 0;
  for (size_t i = 0; i < c.parts.size(); ++i) {
    const std::string name = "expand" + std::to_string(i);
    if (c.constant_part && i + 1 == c.parts.size()) {
      parts.push_back(g.AddConstant(name, RandomF32({1, c.parts[i], 9, 11}, 70)));
    } else {
      int y = Conv(g, name, x, 4, c.parts[i], {i % 2 == 0 ? 1 : 3, i % 2 == 0 ? 1 : 3},
                   10 + 2 * static_cast<uint32_t>(i));
      if (i == 0) {
        const int r = g.AddValue(name + "_relu");
        g.AddNode(name + "_relu", "Relu", {y}, {r});
        y = r;
      }
      parts.push_back(y);
    }
    channels += c.parts[i];
  }
  const int cat = g.AddValue("cat");
  g.AddNode("concat", "Concat", parts, {cat}).attrs["axis"] = Attribute::Int(c.axis);
  if (c.concat_is_graph_output) g.MarkOutput(cat);
  if (c.second_reader) {
    const int r = g.AddValue("cat_relu");
    g.AddNode("cat_relu", "Relu", {cat}, {r});
    g.MarkOutput(r);
  }
  int y = cat;
  if (c.reader == "MaxPool" || c.reader == "AveragePool" || c.reader == "Pool+Conv") {
    y = Pool(g, c.reader == "AveragePool" ? "AveragePool" : "MaxPool", "pool", y, c.pool_indices);
  }
  if (c.reader == "Conv" || c.reader == "Pool+Conv") {
    const int64_t in_c = c.axis == 1 ? channels : 4;
    std::vector<int> in = {
        y, g.AddConstant("squeeze_w",
                         RandomF32({c.squeeze_out, in_c / c.group, c.kernel[0], c.kernel[1]}, 30))};
    if (c.bias) in.push_back(g.AddConstant("squeeze_b", RandomF32({c.squeeze_out}, 31)));
    const int out = g.AddValue("squeeze_y");
    Node& n = g.AddNode("squeeze", "Conv", in, {out});
    n.attrs["group"] = Attribute::Int(c.group);
    n.attrs["strides"] = Attribute::Ints(c.conv_strides);
    n.attrs["pads"] = Attribute::Ints(c.conv_pads);
    y = out;
  }
  if (c.reader == "Relu") {
    const int r = g.AddValue("relu_y");
    g.AddNode("relu", "Relu", {y}, {r});
    y = r;
  }
  g.MarkOutput(y);
  return g;
}

int CountOps(const Graph& g, std::string_view op) {
  int count = 0;
  for (const Node& n : g.nodes) count += n.op_type == op ? 1 : 0;
  return count;
}

// Runs the pass; returns its log (one line per distributed Concat).
std::vector<std::string> Distribute(const ConcatCase& c, Graph* out = nullptr) {
  Graph g = ConcatThenReader(c);
  const Status inferred = InferShapesAndFold(g, /*fold=*/true);
  EXPECT_TRUE(inferred.ok()) << inferred.ToString();
  const Graph before = g;
  std::vector<std::string> log;
  const Status st = DistributeConcat(g, &log);
  EXPECT_TRUE(st.ok()) << st.ToString();
  const Status valid = ValidateGraph(g);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  ExpectSameGraphResults(before, g, 50);
  if (log.empty()) {
    EXPECT_EQ(g.nodes.size(), before.nodes.size());
  }
  if (out != nullptr) *out = g;
  return log;
}

TEST(DistributeConcat, ConvSplitsIntoOneConvPerPartAndAdds) {
  ConcatCase c;
  c.parts = {3, 5, 2};
  Graph g;
  const std::vector<std::string> log = Distribute(c, &g);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0], "distributed Concat 'concat' over Conv 'squeeze' (3 parts)");
  EXPECT_EQ(CountOps(g, "Concat"), 0);
  EXPECT_EQ(CountOps(g, "Add"), 2);
  EXPECT_EQ(CountOps(g, "Conv"), 3 + 3);  // three expands, three squeeze parts
}

TEST(DistributeConcat, StridedPaddedAndBiaslessConvsSplit) {
  ConcatCase strided;
  strided.conv_strides = {2, 2};
  strided.conv_pads = {1, 0, 1, 2};
  EXPECT_EQ(Distribute(strided).size(), 1u);
  ConcatCase no_bias;
  no_bias.bias = false;
  EXPECT_EQ(Distribute(no_bias).size(), 1u);
}

TEST(DistributeConcat, PoolsMoveAboveTheConcat) {
  for (const char* op : {"MaxPool", "AveragePool"}) {
    SCOPED_TRACE(op);
    ConcatCase c;
    c.reader = op;
    Graph g;
    const std::vector<std::string> log = Distribute(c, &g);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(CountOps(g, op), 2);
    EXPECT_EQ(CountOps(g, "Concat"), 1);
    EXPECT_EQ(g.nodes.back().op_type, "Concat");  // now the graph's last node, on pooled parts
  }
}

TEST(DistributeConcat, PoolThenConvLeavesNoConcat) {
  ConcatCase c;
  c.reader = "Pool+Conv";
  Graph g;
  EXPECT_EQ(Distribute(c, &g).size(), 2u);
  EXPECT_EQ(CountOps(g, "Concat"), 0);
  EXPECT_EQ(CountOps(g, "MaxPool"), 2);
}

TEST(DistributeConcat, FullPipelineFoldsTheAddsIntoConvResiduals) {
  ConcatCase c;
  c.reader = "Pool+Conv";
  Graph g = ConcatThenReader(c);
  // A Relu after the squeeze conv, as in SqueezeNet's Fire modules.
  const int y = g.outputs[0];
  const int r = g.AddValue("out");
  g.AddNode("squeeze_relu", "Relu", {y}, {r});
  g.outputs = {r};
  ASSERT_TRUE(InferShapesAndFold(g, /*fold=*/true).ok());
  const Graph before = g;
  ASSERT_TRUE(RunGraphPasses(g, nullptr).ok());
  ASSERT_TRUE(RunLayoutPasses(g, nullptr).ok());
  EXPECT_EQ(CountOps(g, "Concat"), 0);
  EXPECT_EQ(CountOps(g, "Add"), 0);
  EXPECT_EQ(CountOps(g, "Relu"), 0);
  ExpectSameGraphResults(before, g, 50);
}

TEST(DistributeConcat, OtherConcatsStay) {
  std::vector<std::pair<std::string, ConcatCase>> cases;
  ConcatCase c;
  c.concat_is_graph_output = true;
  cases.push_back({"concat is a graph output", c});
  c = {};
  c.second_reader = true;
  cases.push_back({"concat read twice", c});
  c = {};
  c.kernel = {3, 3};
  c.conv_pads = {1, 1, 1, 1};
  cases.push_back({"3x3 conv", c});
  c = {};
  c.parts = {4, 4};
  c.group = 2;
  cases.push_back({"grouped conv", c});
  c = {};
  c.reader = "Relu";
  cases.push_back({"elementwise reader", c});
  c = {};
  c.reader = "MaxPool";
  c.pool_indices = true;
  cases.push_back({"MaxPool with indices", c});
  c = {};
  c.constant_part = true;
  cases.push_back({"constant part", c});
  c = {};
  c.squeeze_out = 100;  // 800 weights, 792 concatenated elements: copying W would cost more
  cases.push_back({"more weights than concatenated elements", c});
  for (const auto& [what, concat_case] : cases) {
    SCOPED_TRACE(what);
    EXPECT_TRUE(Distribute(concat_case).empty());
  }
}

TEST(DistributeConcat, SpatialConcatStays) {
  ConcatCase c;
  c.parts = {4, 4};
  c.axis = 2;  // each part [1, 4, 9, 11] conv output: the parts stack along H
  c.reader = "MaxPool";
  EXPECT_TRUE(Distribute(c).empty());
}

}  // namespace
}  // namespace edgerun
