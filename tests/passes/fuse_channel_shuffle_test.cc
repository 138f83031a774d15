// FuseChannelShuffle (passes/fuse_channel_shuffle.cc) and ChannelShuffle in the NHWC layout pass
// (passes/layout_nhwc.cc): Reshape -> Transpose (swapping the split axes) -> Reshape back becomes
// one com.edgerun ChannelShuffle at whichever axis was split; near misses (another perm, a second
// reader or a graph output in the middle, a different final shape) stay as they are; fused graphs
// compute exactly what the unfused ones did on the reference path; and a conv -> shuffle -> conv
// session with fast kernels runs the shuffle NHWC with no Transposes around it.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgerun/session.h"
#include "kernels/backend.h"
#include "passes/graph_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "runtime/infer_and_fold.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::RandomF32;

std::vector<int64_t> DimsOf(const Graph& g, int v) { return StaticDims(*g.values[v].shape); }

int Ints(Graph& g, const std::string& name, const std::vector<int64_t>& v) {
  return g.AddConstant(name, Tensor::FromVector(DType::kI64, {static_cast<int64_t>(v.size())}, v));
}

// x -> Reshape(split) -> Transpose(perm) -> Reshape(back) -> y, the ShuffleNet export.
struct ShuffleGraph {
  Graph g;
  int x = -1, split = -1, swapped = -1, y = -1;
};

ShuffleGraph BuildShuffle(const std::vector<int64_t>& x_dims, const std::vector<int64_t>& split,
                          const std::vector<int64_t>& perm, const std::vector<int64_t>& back) {
  ShuffleGraph s;
  Graph& g = s.g;
  g.opset_imports[""] = 17;
  s.x = g.AddValue("x", DType::kF32, ShapeFromDims(x_dims));
  g.MarkInput(s.x);
  s.split = g.AddValue("split");
  g.AddNode("reshape_split", "Reshape", {s.x, Ints(g, "split_shape", split)}, {s.split});
  s.swapped = g.AddValue("swapped");
  g.AddNode("transpose", "Transpose", {s.split}, {s.swapped}).attrs["perm"] = Attribute::Ints(perm);
  s.y = g.AddValue("y");
  g.AddNode("reshape_back", "Reshape", {s.swapped, Ints(g, "back_shape", back)}, {s.y});
  g.MarkOutput(s.y);
  return s;
}

// The swap of axes `a` and `a + 1` over `rank` axes.
std::vector<int64_t> SwapPerm(int rank, int a) {
  std::vector<int64_t> p(rank);
  for (int d = 0; d < rank; ++d) p[d] = d;
  std::swap(p[a], p[a + 1]);
  return p;
}

// x's dims with dims[axis] split into [group, dims[axis] / group].
std::vector<int64_t> SplitDims(std::vector<int64_t> x, int axis, int64_t group) {
  const int64_t c = x[axis];
  x[axis] = c / group;
  x.insert(x.begin() + axis, group);
  return x;
}

void Prepare(Graph& g) {
  const Status st = InferShapesAndFold(g, /*fold=*/true);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

int Count(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(),
                                        [&](const Node& n) { return n.op_type == op; }));
}

const Node* Find(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes) {
    if (n.op_type == op) return &n;
  }
  return nullptr;
}

std::vector<Tensor> RandomInputs(const Graph& g, uint32_t seed) {
  std::vector<Tensor> inputs;
  for (int v : g.inputs) inputs.push_back(RandomF32(DimsOf(g, v), seed++));
  return inputs;
}

// A shuffle only moves elements: the results must be bit-identical.
void ExpectIdentical(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dims(), want.dims()) << what;
  const std::vector<float> a = got.ToFloatVector(), b = want.ToFloatVector();
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) bad += a[i] != b[i];
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << a.size() << " elements differ";
}

// Both graphs evaluated node by node with the reference kernels on the same random inputs.
void ExpectSameResults(const Graph& before, const Graph& after) {
  const std::vector<Tensor> inputs = RandomInputs(before, 300);
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    ExpectIdentical((*got)[i], (*want)[i], "output " + std::to_string(i));
  }
}

// Prepares `g`, runs the pass, checks validity and numerics; returns the rewritten graph.
Graph RunFuse(Graph g, std::vector<std::string>* log) {
  Prepare(g);
  const Graph before = g;
  const Status st = FuseChannelShuffle(g, log);
  EXPECT_TRUE(st.ok()) << st.ToString();
  const Status valid = ValidateGraph(g);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  ExpectSameResults(before, g);
  return g;
}

// The pattern collapsed into one ChannelShuffle(x) -> y with these attributes.
void ExpectFused(const ShuffleGraph& s, int64_t group, int64_t axis) {
  std::vector<std::string> log;
  const Graph g = RunFuse(s.g, &log);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "ChannelShuffle");
  EXPECT_EQ(n.domain, kEdgerunDomain);
  EXPECT_EQ(n.name, "reshape_back");
  EXPECT_EQ(n.inputs, std::vector<int>{s.x});
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(n.outputs, std::vector<int>{g.outputs[0]});
  EXPECT_EQ(g.values[g.outputs[0]].name, "y");
  EXPECT_EQ(DimsOf(g, g.outputs[0]), DimsOf(s.g, s.x));
  EXPECT_EQ(ValueOr(n.GetInt("group", -1), int64_t{-1}), group);
  EXPECT_EQ(ValueOr(n.GetInt("axis", -100), int64_t{-100}), axis);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("ChannelShuffle 'reshape_back'"), std::string::npos) << log[0];
  EXPECT_NE(log[0].find("Transpose 'transpose'"), std::string::npos) << log[0];
}

// The pass leaves the graph as it was (and numerics therefore hold trivially, but are checked).
void ExpectNotFused(const Graph& g0) {
  std::vector<std::string> log;
  const Graph g = RunFuse(g0, &log);
  EXPECT_EQ(Count(g, "ChannelShuffle"), 0);
  EXPECT_EQ(Count(g, "Transpose"), 1);
  EXPECT_EQ(Count(g, "Reshape"), 2);
  EXPECT_TRUE(log.empty());
}

// --- Fused -------------------------------------------------------------------------------------

TEST(FuseChannelShuffle, NchwChannelAxis) {
  // ShuffleNet v2: [1, 8, 5, 6] -> [1, 2, 4, 5, 6] -> [1, 4, 2, 5, 6] -> [1, 8, 5, 6].
  const std::vector<int64_t> x = {1, 8, 5, 6};
  ExpectFused(BuildShuffle(x, SplitDims(x, 1, 2), SwapPerm(5, 1), x), 2, 1);
  // Exporters often write the reshapes with -1 and 0 (0 copies the 5-D input's dim 0): the
  // pass looks at the inferred shapes, not the literals.
  ExpectFused(BuildShuffle(x, {1, 4, -1, 5, 6}, SwapPerm(5, 1), {0, -1, 5, 6}), 4, 1);
  // Batch 3, odd spatial dims, group 3.
  const std::vector<int64_t> x3 = {3, 9, 3, 7};
  ExpectFused(BuildShuffle(x3, SplitDims(x3, 1, 3), SwapPerm(5, 1), x3), 3, 1);
}

TEST(FuseChannelShuffle, OtherAxes) {
  struct Case {
    std::vector<int64_t> x;
    int axis;
    int64_t group;
  };
  const Case cases[] = {
      {{1, 5, 7, 12}, 3, 4},  // NHWC channels, last axis
      {{2, 3, 10, 4}, 2, 5},  // a spatial axis
      {{6, 4, 3}, 0, 2},      // the leading axis of a 3-D tensor
      {{4, 15}, 1, 3},        // 2-D, groups of 5
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("x=" + DimsToString(c.x) + " axis " + std::to_string(c.axis));
    const int rank = static_cast<int>(c.x.size());
    ExpectFused(BuildShuffle(c.x, SplitDims(c.x, c.axis, c.group), SwapPerm(rank + 1, c.axis), c.x),
                c.group, c.axis);
  }
}

TEST(FuseChannelShuffle, FusedShuffleRunsInAReferenceSessionLikeTheUnfusedModel) {
  const std::vector<int64_t> x = {2, 12, 3, 5};
  Model m{"shuffle_model", BuildShuffle(x, SplitDims(x, 1, 3), SwapPerm(5, 1), x).g};
  const std::vector<Tensor> inputs = RandomInputs(m.graph, 40);
  std::vector<Tensor> results;
  for (bool optimize : {false, true}) {
    SessionOptions options;
    options.kernel_paths = {KernelPath::kReference};
    options.optimize = optimize;
    auto session = Session::Create(m, options);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    const Graph& g = (*session)->optimized_graph();
    EXPECT_EQ(Count(g, "ChannelShuffle"), optimize ? 1 : 0);
    EXPECT_EQ(Count(g, "Transpose"), optimize ? 0 : 1);
    ASSERT_TRUE((*session)->SetInput(0, inputs[0].view()).ok());
    ASSERT_TRUE((*session)->Run().ok());
    const TensorView y = (*session)->output(0);
    const std::vector<int64_t> dims(y.shape().begin(), y.shape().end());
    results.push_back(Tensor::FromBytes(y.dtype, dims, y.raw, y.bytes()).value());
  }
  ExpectIdentical(results[1], results[0], "optimized vs unoptimized");
}

// --- Not fused ---------------------------------------------------------------------------------

TEST(FuseChannelShuffle, NotForOtherPerms) {
  const std::vector<int64_t> x = {1, 8, 4, 6};
  const std::vector<int64_t> split = SplitDims(x, 1, 2);         // [1, 2, 4, 4, 6]
  ExpectNotFused(BuildShuffle(x, split, {0, 1, 2, 4, 3}, x).g);  // swaps the wrong pair
  ExpectNotFused(BuildShuffle(x, split, {0, 2, 1, 4, 3}, x).g);  // the right pair and another
  ExpectNotFused(BuildShuffle(x, split, {0, 3, 2, 1, 4}, x).g);  // non-adjacent axes
  ExpectNotFused(BuildShuffle(x, split, {0, 1, 2, 3, 4}, x).g);  // identity
  // No perm attribute: the reversal.
  ShuffleGraph s = BuildShuffle(x, split, {0, 2, 1, 3, 4}, x);
  s.g.nodes[1].attrs.erase("perm");
  ExpectNotFused(s.g);
}

TEST(FuseChannelShuffle, NotWhenTheSplitValueHasASecondReader) {
  const std::vector<int64_t> x = {1, 8, 4, 4};
  ShuffleGraph s = BuildShuffle(x, SplitDims(x, 1, 2), SwapPerm(5, 1), x);
  const int r = s.g.AddValue("relu_out");
  s.g.AddNode("relu", "Relu", {s.split}, {r});
  s.g.MarkOutput(r);
  ExpectNotFused(s.g);
}

TEST(FuseChannelShuffle, NotWhenTheTransposedValueHasASecondReader) {
  const std::vector<int64_t> x = {1, 8, 4, 4};
  ShuffleGraph s = BuildShuffle(x, SplitDims(x, 1, 2), SwapPerm(5, 1), x);
  const int r = s.g.AddValue("relu_out");
  s.g.AddNode("relu", "Relu", {s.swapped}, {r});
  s.g.MarkOutput(r);
  ExpectNotFused(s.g);
}

TEST(FuseChannelShuffle, NotWhenAnIntermediateIsAGraphOutput) {
  const std::vector<int64_t> x = {1, 8, 4, 4};
  for (bool split_out : {true, false}) {
    SCOPED_TRACE(split_out ? "split is an output" : "transposed is an output");
    ShuffleGraph s = BuildShuffle(x, SplitDims(x, 1, 2), SwapPerm(5, 1), x);
    s.g.MarkOutput(split_out ? s.split : s.swapped);
    ExpectNotFused(s.g);
  }
}

TEST(FuseChannelShuffle, NotWhenTheFinalShapeDiffers) {
  const std::vector<int64_t> x = {1, 8, 5, 6};
  const std::vector<int64_t> split = SplitDims(x, 1, 2);
  ExpectNotFused(BuildShuffle(x, split, SwapPerm(5, 1), {1, 8, 30}).g);
  ExpectNotFused(BuildShuffle(x, split, SwapPerm(5, 1), {1, 8, 6, 5}).g);
  ExpectNotFused(BuildShuffle(x, split, SwapPerm(5, 1), {8, 1, 5, 6}).g);
}

TEST(FuseChannelShuffle, NotWhenTheFirstReshapeIsNotASplit) {
  const std::vector<int64_t> x = {1, 8, 5, 6};
  // Rank + 1 but the axes around the split moved ([1, 2, 4, 6, 5] is not x split at one axis).
  ExpectNotFused(BuildShuffle(x, {1, 2, 4, 6, 5}, SwapPerm(5, 1), x).g);
  // Same rank + 1 but a group of one ([1, 1, 8, 5, 6]): nothing to shuffle.
  ExpectNotFused(BuildShuffle(x, {1, 1, 8, 5, 6}, SwapPerm(5, 1), x).g);
}

// --- NHWC layout with fast kernels ---------------------------------------------------------------

int AddConv(Graph& g, const std::string& name, int x, int64_t cin, int64_t cout, uint32_t seed) {
  const int w = g.AddConstant(name + "_w", RandomF32({cout, cin, 3, 3}, seed));
  const int b = g.AddConstant(name + "_b", RandomF32({cout}, seed + 1));
  const int y = g.AddValue(name + "_out");
  g.AddNode(name, "Conv", {x, w, b}, {y}).attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  return y;
}

// A ChannelShuffle(group 2) node reading `inputs`, writing `out`.
Node& AddShuffle(Graph& g, const std::vector<int>& inputs, int out, std::optional<int64_t> axis) {
  Node& s = g.AddNode("shuffle", "ChannelShuffle", inputs, {out});
  s.domain = std::string(kEdgerunDomain);
  s.opset = 1;
  s.attrs["group"] = Attribute::Int(2);
  if (axis) s.attrs["axis"] = Attribute::Int(*axis);
  return s;
}

// A model named `path` with input x[batch, 3, 8, 8]; returns x.
int StartModel(Model& m, const std::string& path, int64_t batch = 1) {
  m.path = path;
  m.graph.opset_imports[""] = 17;
  const int x = m.graph.AddValue("x", DType::kF32, ShapeFromDims({batch, 3, 8, 8}));
  m.graph.MarkInput(x);
  return x;
}

// x[n, 3, 8, 8] -> conv (c) -> shuffle (group 2, as Reshape/Transpose/Reshape or, with
// `direct_axis`, as a ChannelShuffle node) -> conv (5) -> y.
Model ConvShuffleConv(int64_t n, int64_t c, const std::optional<int64_t>& direct_axis = {},
                      bool direct = false) {
  Model m;
  const int x = StartModel(m, "conv_shuffle_conv", n);
  Graph& g = m.graph;
  const int a = AddConv(g, "conv1", x, 3, c, 21);
  int shuffled = -1;
  if (direct) {
    shuffled = g.AddValue("shuffled");
    AddShuffle(g, {a}, shuffled, direct_axis);
  } else {
    const int split = g.AddValue("split");
    g.AddNode("reshape_split", "Reshape", {a, Ints(g, "split_shape", {n, 2, c / 2, 8, 8})},
              {split});
    const int swapped = g.AddValue("swapped");
    g.AddNode("transpose", "Transpose", {split}, {swapped}).attrs["perm"] =
        Attribute::Ints({0, 2, 1, 3, 4});
    shuffled = g.AddValue("shuffled");
    g.AddNode("shuffle", "Reshape", {swapped, Ints(g, "back_shape", {n, c, 8, 8})}, {shuffled});
  }
  g.MarkOutput(AddConv(g, "conv2", shuffled, c, 5, 31));
  return m;
}

struct SessionRun {
  bool ok = false;
  Tensor y;
  std::vector<NodeReport> reports;
  Graph graph;
};

SessionRun RunSession(const Model& m, std::vector<KernelPath> paths, const Tensor& x) {
  SessionRun r;
  SessionOptions options;
  options.kernel_paths = std::move(paths);
  auto session = Session::Create(m, options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return r;
  Session& s = **session;
  Status st = s.SetInput(0, x.view());
  EXPECT_TRUE(st.ok()) << st.ToString();
  st = s.Run();
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (!st.ok()) return r;
  const TensorView y = s.output(0);
  const std::vector<int64_t> dims(y.shape().begin(), y.shape().end());
  r.y = Tensor::FromBytes(y.dtype, dims, y.raw, y.bytes()).value();
  r.reports = s.NodeReports();
  r.graph = s.optimized_graph();
  r.ok = true;
  return r;
}

bool Available(KernelPath p) {
  const BackendDef* b = FindBackend(p);
  return b != nullptr && b->available();
}

void ExpectClose(const Tensor& got, const Tensor& want) {
  const double atol = 1e-5 * (1.0 + test_util::MaxAbs(test_util::ToDoubles(want.view())));
  const test_util::CompareResult r = test_util::AllClose(got.view(), want.view(), 1e-4, atol);
  EXPECT_TRUE(r.ok) << r.message;
}

// Runs `m` on the reference path (no layout pass) and with fast kernels; the fast session must
// match and run the shuffle NHWC, fed and read by NHWC convs, with no Transposes next to it.
void ExpectShuffleRunsNhwc(const Model& m, int64_t n) {
  const Tensor x = RandomF32({n, 3, 8, 8}, 77);
  const SessionRun want = RunSession(m, {KernelPath::kReference}, x);
  ASSERT_TRUE(want.ok);
  struct Config {
    const char* name;
    std::vector<KernelPath> paths;
  };
  const Config configs[] = {{"default", {}},
                            {"xnnpack+ref", {KernelPath::kXnnpack, KernelPath::kReference}}};
  for (const Config& c : configs) {
    SCOPED_TRACE(c.name);
    const SessionRun got = RunSession(m, c.paths, x);
    ASSERT_TRUE(got.ok);
    ExpectClose(got.y, want.y);
    const Graph& g = got.graph;
    ASSERT_EQ(Count(g, "ChannelShuffle"), 1);
    const Node& s = *Find(g, "ChannelShuffle");
    const int64_t axis = ValueOr(s.GetInt("axis", -100), int64_t{-100});
    EXPECT_TRUE(axis == 3 || axis == -1) << "NHWC channels are the last axis, got " << axis;
    EXPECT_EQ(g.values[s.inputs[0]].layout, Layout::kNHWC);
    EXPECT_EQ(g.values[s.outputs[0]].layout, Layout::kNHWC);
    // Only the model's edges convert: the input before conv1 and the output after conv2.
    EXPECT_EQ(Count(g, "Transpose"), 2);
    const std::vector<int> producers = g.ProducerIndex();
    const int p = producers[s.inputs[0]];
    ASSERT_GE(p, 0);
    EXPECT_EQ(g.nodes[p].op_type, "Conv");
    EXPECT_EQ(g.nodes[p].domain, kNhwcDomain);
    const std::vector<std::vector<int>> consumers = g.ConsumerIndex();
    ASSERT_EQ(consumers[s.outputs[0]].size(), 1u);
    const Node& next = g.nodes[consumers[s.outputs[0]][0]];
    EXPECT_EQ(next.op_type, "Conv");
    EXPECT_EQ(next.domain, kNhwcDomain);
    bool reported = false;
    for (const NodeReport& r : got.reports) {
      if (r.op_type != "com.edgerun::ChannelShuffle") continue;
      reported = true;
      if (Available(KernelPath::kXnnpack) || Available(KernelPath::kOnednn)) {
        EXPECT_NE(r.kernel, "ref");
      }
      ASSERT_EQ(r.output_shapes.size(), 1u);
      EXPECT_EQ(r.output_shapes[0], (std::vector<int64_t>{n, 8, 8, 6}));
    }
    EXPECT_TRUE(reported);
  }
}

TEST(ChannelShuffleLayout, FusedShuffleBetweenConvsRunsNhwc) {
  ExpectShuffleRunsNhwc(ConvShuffleConv(1, 6), 1);
  ExpectShuffleRunsNhwc(ConvShuffleConv(2, 6), 2);
}

TEST(ChannelShuffleLayout, ShuffleNodeWithNegativeAxisRunsNhwc) {
  ExpectShuffleRunsNhwc(ConvShuffleConv(2, 6, int64_t{-3}, /*direct=*/true), 2);
}

// ChannelShuffle's axis defaults to 1 (ops/tensor.cc); the layout pass must remap that default,
// not some other op's.
TEST(ChannelShuffleLayout, ShuffleNodeWithDefaultAxisRunsNhwc) {
  ExpectShuffleRunsNhwc(ConvShuffleConv(2, 6, std::nullopt, /*direct=*/true), 2);
  ExpectShuffleRunsNhwc(ConvShuffleConv(1, 6, std::nullopt, /*direct=*/true), 1);
}

// x -> conv a (c/2), conv b (c/2) -> Concat(axis 1) -> ChannelShuffle(group 2, axis 1) -> conv
// -> y; with `second_reader` the Concat's output is also a graph output, with `other_axis` the
// Concat joins along the height instead.
Model ConcatShuffle(int64_t c, bool second_reader = false, bool other_axis = false) {
  Model m;
  const int x = StartModel(m, "concat_shuffle");
  Graph& g = m.graph;
  const int a = AddConv(g, "conv_a", x, 3, c / 2, 41);
  const int b = AddConv(g, "conv_b", x, 3, c / 2, 51);
  const int joined = g.AddValue("joined");
  g.AddNode("concat", "Concat", {a, b}, {joined}).attrs["axis"] =
      Attribute::Int(other_axis ? 2 : 1);
  const int shuffled = g.AddValue("shuffled");
  AddShuffle(g, {joined}, shuffled, 1);
  g.MarkOutput(AddConv(g, "conv2", shuffled, other_axis ? c / 2 : c, 5, 61));
  if (second_reader) g.MarkOutput(joined);
  return m;
}

TEST(ConcatIntoChannelShuffle, FoldedAfterTheLayoutPassAndExact) {
  const Tensor x = RandomF32({1, 3, 8, 8}, 91);
  for (int64_t c : {2, 6, 34}) {
    SCOPED_TRACE("channels " + std::to_string(c));
    const Model m = ConcatShuffle(c);
    const SessionRun want = RunSession(m, {KernelPath::kReference}, x);
    ASSERT_TRUE(want.ok);
    EXPECT_EQ(Count(want.graph, "Concat"), 1);  // no layout pass on the reference path
    for (const std::vector<KernelPath>& paths :
         {std::vector<KernelPath>{}, {KernelPath::kXnnpack, KernelPath::kReference}}) {
      const SessionRun got = RunSession(m, paths, x);
      ASSERT_TRUE(got.ok);
      ExpectClose(got.y, want.y);
      EXPECT_EQ(Count(got.graph, "Concat"), 0);
      ASSERT_EQ(Count(got.graph, "ChannelShuffle"), 1);
      EXPECT_EQ(Find(got.graph, "ChannelShuffle")->inputs.size(), 2u);
    }
  }
}

TEST(ConcatIntoChannelShuffle, NotWhenTheConcatHasAnotherReaderOrAxis) {
  const Tensor x = RandomF32({1, 3, 8, 8}, 92);
  for (bool second_reader : {true, false}) {
    const bool other_axis = !second_reader;
    SCOPED_TRACE(second_reader ? "second reader" : "other axis");
    const Model m = ConcatShuffle(8, second_reader, other_axis);
    const SessionRun want = RunSession(m, {KernelPath::kReference}, x);
    const SessionRun got = RunSession(m, {}, x);
    ASSERT_TRUE(want.ok && got.ok);
    ExpectClose(got.y, want.y);
    EXPECT_EQ(Count(got.graph, "Concat"), 1);
    EXPECT_EQ(Find(got.graph, "ChannelShuffle")->inputs.size(), 1u);
  }
}

// x -> conv (c) -> ChannelShuffle(group 2, axis 1) -> Slices along the channels (opset 13, with
// constant starts/ends/axes) -> one conv each -> Add -> y, as ShuffleNet V2 splits a unit's input.
// `ranges` are the slices' [start, end); `step` 0 leaves steps out.
Model ShuffleSlices(int64_t c, const std::vector<std::pair<int64_t, int64_t>>& ranges,
                    int64_t step = 0) {
  Model m;
  const int x = StartModel(m, "shuffle_slices");
  Graph& g = m.graph;
  const int a = AddConv(g, "conv", x, 3, c, 71);
  const int shuffled = g.AddValue("shuffled");
  AddShuffle(g, {a}, shuffled, 1);
  int sum = -1;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const std::string n = "slice" + std::to_string(i);
    std::vector<int> inputs = {shuffled, Ints(g, n + "_starts", {ranges[i].first}),
                               Ints(g, n + "_ends", {ranges[i].second}), Ints(g, n + "_axes", {1})};
    if (step != 0) inputs.push_back(Ints(g, n + "_steps", {step}));
    const int part = g.AddValue(n + "_out");
    g.AddNode(n, "Slice", inputs, {part}).opset = 13;
    const int64_t end = std::min(ranges[i].second, c);
    const int64_t width =
        (end - ranges[i].first + (step > 1 ? step - 1 : 0)) / (step > 1 ? step : 1);
    const int y = AddConv(g, "conv_" + n, part, width, 4, 81 + static_cast<uint32_t>(i));
    if (sum < 0) {
      sum = y;
    } else {
      const int added = g.AddValue("sum" + std::to_string(i));
      g.AddNode("add" + std::to_string(i), "Add", {sum, y}, {added});
      sum = added;
    }
  }
  g.MarkOutput(sum);
  return m;
}

int SliceCount(const Graph& g) { return Count(g, "Slice"); }

TEST(SlicesIntoChannelShuffle, EqualConsecutivePartsBecomeItsOutputs) {
  const Tensor x = RandomF32({1, 3, 8, 8}, 93);
  struct Case {
    int64_t c;
    std::vector<std::pair<int64_t, int64_t>> ranges;
  };
  const Case cases[] = {{8, {{0, 4}, {4, 8}}},
                        {116, {{58, 116}, {0, 58}}},  // readers in any order
                        {12, {{0, 4}, {4, 8}, {8, 12}}},
                        {8, {{0, 4}, {4, 1 << 30}}}};  // an end past the axis is clamped
  for (const Case& c : cases) {
    SCOPED_TRACE("channels " + std::to_string(c.c));
    const Model m = ShuffleSlices(c.c, c.ranges);
    const SessionRun want = RunSession(m, {KernelPath::kReference}, x);
    ASSERT_TRUE(want.ok);
    for (const std::vector<KernelPath>& paths :
         {std::vector<KernelPath>{}, {KernelPath::kXnnpack, KernelPath::kReference}}) {
      const SessionRun got = RunSession(m, paths, x);
      ASSERT_TRUE(got.ok);
      ExpectClose(got.y, want.y);
      EXPECT_EQ(SliceCount(got.graph), 0);
      ASSERT_EQ(Count(got.graph, "ChannelShuffle"), 1);
      EXPECT_EQ(Find(got.graph, "ChannelShuffle")->outputs.size(), c.ranges.size());
    }
  }
}

TEST(SlicesIntoChannelShuffle, NotForUnequalOverlappingOrSteppedSlices) {
  const Tensor x = RandomF32({1, 3, 8, 8}, 94);
  struct Case {
    const char* name;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    int64_t step;
  };
  const Case cases[] = {{"unequal", {{0, 2}, {2, 8}}, 0},
                        {"overlapping", {{0, 4}, {2, 6}}, 0},
                        {"a gap", {{0, 4}, {6, 8}}, 0},
                        {"one slice", {{0, 4}}, 0},
                        {"step 2", {{0, 4}, {4, 8}}, 2}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Model m = ShuffleSlices(8, c.ranges, c.step);
    const SessionRun want = RunSession(m, {KernelPath::kReference}, x);
    const SessionRun got = RunSession(m, {}, x);
    ASSERT_TRUE(want.ok && got.ok);
    ExpectClose(got.y, want.y);
    EXPECT_EQ(SliceCount(got.graph), static_cast<int>(c.ranges.size()));
    EXPECT_EQ(Find(got.graph, "ChannelShuffle")->outputs.size(), 1u);
  }
}

}  // namespace
}  // namespace edgerun
