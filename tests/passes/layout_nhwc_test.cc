// ConvertToNhwc, FuseConvResidual and RunLayoutPasses (passes/layout_nhwc.cc, run_passes.cc):
// where conversions appear and what they look like (Transpose vs free Reshape, shared, only at the
// model's edges), how layout-agnostic ops follow NHWC (axis attributes and constant operands
// permuted), the residual fusion's conditions, and numerics: every rewritten graph is evaluated
// against the original, and whole sessions on every kernel path are compared with the reference
// session (which runs no layout pass).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
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

// Builds small NCHW float graphs; intermediate values get their types from shape inference.
class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name = "layout_model") {
    model_.path = std::move(name);
    g().opset_imports[""] = 17;
  }
  Graph& g() { return model_.graph; }

  int Input(const std::string& name, std::vector<int64_t> dims) {
    const int v = g().AddValue(name, DType::kF32, ShapeFromDims(dims));
    g().MarkInput(v);
    return v;
  }
  int Constant(const std::string& name, Tensor t) { return g().AddConstant(name, std::move(t)); }
  int Ints(const std::string& name, const std::vector<int64_t>& v) {
    return Constant(name, Tensor::FromVector(DType::kI64, {static_cast<int64_t>(v.size())}, v));
  }
  int Floats(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& v) {
    return Constant(name, Tensor::FromVector(DType::kF32, std::move(dims), v));
  }

  // Conv k x k, stride, symmetric pad, bias; returns its output.
  int Conv(const std::string& name, int x, int64_t cin, int64_t cout, int64_t k = 3,
           int64_t pad = 1, int64_t group = 1, int64_t stride = 1) {
    const int w = Constant(name + "_w", RandomF32({cout, cin / group, k, k}, seed_++));
    const int b = Constant(name + "_b", RandomF32({cout}, seed_++));
    const int y = g().AddValue(name + "_out");
    Node& n = g().AddNode(name, "Conv", {x, w, b}, {y});
    n.attrs["pads"] = Attribute::Ints({pad, pad, pad, pad});
    if (group != 1) n.attrs["group"] = Attribute::Int(group);
    if (stride != 1) n.attrs["strides"] = Attribute::Ints({stride, stride});
    return y;
  }

  // A node with one fresh output value named after the node.
  Node& Op(const std::string& name, const std::string& op, std::vector<int> inputs) {
    const int y = g().AddValue(name + "_out");
    return g().AddNode(name, op, std::move(inputs), {y});
  }
  int Out(const Node& n) const { return n.outputs[0]; }
  int Unary(const std::string& name, const std::string& op, int x) {
    return Out(Op(name, op, {x}));
  }

  void Output(int v) { g().MarkOutput(v); }
  Model& model() { return model_; }

 private:
  Model model_;
  uint32_t seed_ = 11;
};

// Shape inference + folding, as a session does before any pass.
void Prepare(Graph& g) {
  const Status st = InferShapesAndFold(g, /*fold=*/true);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::vector<const Node*> NodesOf(const Graph& g, const std::string& op) {
  std::vector<const Node*> out;
  for (const Node& n : g.nodes) {
    if (n.op_type == op) out.push_back(&n);
  }
  return out;
}

const Node* ProducerOf(const Graph& g, int v) {
  for (const Node& n : g.nodes) {
    if (std::find(n.outputs.begin(), n.outputs.end(), v) != n.outputs.end()) return &n;
  }
  return nullptr;
}

const Node* NodeNamed(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::vector<int64_t> DimsOf(const Graph& g, int v) { return StaticDims(*g.values[v].shape); }

std::vector<int64_t> Perm(const Node& transpose) {
  const Attribute* a = transpose.attr("perm");
  return a == nullptr ? std::vector<int64_t>{} : a->ints;
}

// Conversions (Transpose, or Reshape used as a layout change) that read value `v`.
int ConversionsOf(const Graph& g, int v) {
  int count = 0;
  for (const Node& n : g.nodes) {
    if ((n.op_type == "Transpose" || n.op_type == "Reshape") && n.inputs[0] == v) ++count;
  }
  return count;
}

std::vector<Tensor> RandomInputs(const Graph& g, uint32_t seed) {
  std::vector<Tensor> inputs;
  for (int v : g.inputs) inputs.push_back(RandomF32(DimsOf(g, v), seed++));
  return inputs;
}

// rtol 1e-4 with an absolute floor scaled to the output's magnitude (accumulation order differs
// between kernels, so near-zero elements only match absolutely).
void ExpectClose(const TensorView& got, const TensorView& want, const std::string& what) {
  const double atol = 1e-5 * (1.0 + test_util::MaxAbs(test_util::ToDoubles(want)));
  const test_util::CompareResult r = test_util::AllClose(got, want, 1e-4, atol);
  EXPECT_TRUE(r.ok) << what << ": " << r.message;
}

// The rewritten graph computes what the original did (reference kernels, node by node).
void ExpectSameResults(const Graph& before, const Graph& after) {
  const std::vector<Tensor> inputs = RandomInputs(before, 300);
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    ExpectClose((*got)[i].view(), (*want)[i].view(), "output " + std::to_string(i));
  }
}

// Prepares `g`, converts it, and checks validity, output names/shapes and numerics.
Graph Convert(Graph g, std::vector<std::string>* log = nullptr) {
  Prepare(g);
  const Graph before = g;
  const Status st = ConvertToNhwc(g, log);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(ValidateGraph(g).ok());
  EXPECT_EQ(g.outputs.size(), before.outputs.size());
  for (size_t i = 0; i < g.outputs.size() && i < before.outputs.size(); ++i) {
    EXPECT_EQ(g.values[g.outputs[i]].name, before.values[before.outputs[i]].name);
    EXPECT_EQ(DimsOf(g, g.outputs[i]), DimsOf(before, before.outputs[i]))
        << "graph output " << g.values[g.outputs[i]].name << " must keep its NCHW shape";
  }
  EXPECT_EQ(g.inputs.size(), before.inputs.size());
  for (size_t i = 0; i < g.inputs.size() && i < before.inputs.size(); ++i) {
    EXPECT_EQ(DimsOf(g, g.inputs[i]), DimsOf(before, before.inputs[i]));
  }
  ExpectSameResults(before, g);
  return g;
}

// --- Conversions -------------------------------------------------------------------------------

TEST(ConvertToNhwc, ConvChainConvertsOnceAtInputAndOnceAtOutput) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 8, 8});
  int v = b.Conv("conv1", x, 3, 8);
  v = b.Conv("conv2", v, 8, 8);
  v = b.Conv("conv3", v, 8, 5, 1, 0);
  b.Output(v);
  std::vector<std::string> log;
  const Graph g = Convert(b.g(), &log);

  const auto transposes = NodesOf(g, "Transpose");
  ASSERT_EQ(transposes.size(), 2u);
  EXPECT_TRUE(NodesOf(g, "Reshape").empty());
  const Node* in_conv = ProducerOf(g, NodeNamed(g, "conv1")->inputs[0]);
  ASSERT_NE(in_conv, nullptr);
  EXPECT_EQ(in_conv->op_type, "Transpose");
  EXPECT_EQ(in_conv->inputs[0], g.inputs[0]);
  EXPECT_EQ(Perm(*in_conv), (std::vector<int64_t>{0, 2, 3, 1}));
  const Node* out_conv = ProducerOf(g, g.outputs[0]);
  ASSERT_NE(out_conv, nullptr);
  EXPECT_EQ(out_conv->op_type, "Transpose");
  EXPECT_EQ(Perm(*out_conv), (std::vector<int64_t>{0, 3, 1, 2}));
  for (const char* name : {"conv1", "conv2", "conv3"}) {
    const Node* conv = NodeNamed(g, name);
    ASSERT_NE(conv, nullptr) << name;
    EXPECT_EQ(conv->domain, kNhwcDomain) << name;
    EXPECT_EQ(g.values[conv->outputs[0]].layout, Layout::kNHWC) << name;
  }
  EXPECT_EQ(DimsOf(g, NodeNamed(g, "conv2")->outputs[0]), (std::vector<int64_t>{1, 8, 8, 8}));
  EXPECT_EQ(DimsOf(g, NodeNamed(g, "conv3")->outputs[0]), (std::vector<int64_t>{1, 8, 8, 5}));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("3 nodes run NHWC"), std::string::npos) << log[0];
  EXPECT_NE(log[0].find("2 layout conversions"), std::string::npos) << log[0];
}

TEST(ConvertToNhwc, ElementwiseOpsBetweenConvsFollowNhwc) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 4, 6, 7});
  const int c1 = b.Conv("conv1", x, 4, 6);
  const int s = b.Unary("sig", "Sigmoid", c1);
  const int m = b.Out(b.Op("mul", "Mul", {c1, s}));  // a SiLU written out
  const int scalar = b.Floats("half", {}, {0.5f});
  const int h = b.Out(b.Op("scale", "Mul", {m, scalar}));
  const int c2 = b.Conv("conv2", h, 6, 3);
  b.Output(c2);
  const Graph g = Convert(b.g());
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  for (const char* name : {"sig", "mul", "scale"}) {
    const Node* n = NodeNamed(g, name);
    ASSERT_NE(n, nullptr) << name;
    EXPECT_EQ(g.values[n->outputs[0]].layout, Layout::kNHWC) << name;
    EXPECT_EQ(DimsOf(g, n->outputs[0]), (std::vector<int64_t>{1, 6, 7, 6})) << name;
  }
  // The scalar operand is used as is.
  EXPECT_EQ(NodeNamed(g, "scale")->inputs[1], g.FindValue("half"));
}

TEST(ConvertToNhwc, ReshapeAndFlattenConsumersShareOneNchwConversion) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 5, 5});
  const int c = b.Conv("conv", x, 3, 4);
  const int flat = b.Out(b.Op("flatten", "Flatten", {c}));
  const int shape = b.Ints("shape", {1, 4, 25});
  const int reshaped = b.Out(b.Op("reshape", "Reshape", {c, shape}));
  const int relu = b.Unary("relu", "Relu", c);  // an NHWC consumer of the same value
  b.Output(flat);
  b.Output(reshaped);
  b.Output(relu);
  const Graph g = Convert(b.g());
  const Node* flatten = NodeNamed(g, "flatten");
  const Node* reshape = NodeNamed(g, "reshape");
  ASSERT_NE(flatten, nullptr);
  ASSERT_NE(reshape, nullptr);
  EXPECT_EQ(flatten->inputs[0], reshape->inputs[0]) << "one shared conversion";
  const Node* to_nchw = ProducerOf(g, flatten->inputs[0]);
  ASSERT_NE(to_nchw, nullptr);
  EXPECT_EQ(to_nchw->op_type, "Transpose");
  EXPECT_EQ(Perm(*to_nchw), (std::vector<int64_t>{0, 3, 1, 2}));
  EXPECT_EQ(DimsOf(g, flatten->inputs[0]), (std::vector<int64_t>{1, 4, 5, 5}));
  // Input, the shared one, and the Relu output (a graph output): three in all.
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 3u);
}

TEST(ConvertToNhwc, GraphOutputAlsoReadByNchwConsumerIsConvertedOnce) {
  // conv's output is a graph output and also feeds a Flatten: both need the same NCHW data, so
  // one conversion should serve both.
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 5, 5});
  const int c = b.Conv("conv", x, 3, 4);
  const int flat = b.Out(b.Op("flatten", "Flatten", {c}));
  b.Output(c);
  b.Output(flat);
  const Graph g = Convert(b.g());
  const Node* conv = NodeNamed(g, "conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(ConversionsOf(g, conv->outputs[0]), 1)
      << "the NHWC conv output is transposed twice to the same NCHW data";
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
}

TEST(ConvertToNhwc, SameValueListedTwiceAsGraphOutput) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 5, 6});
  const int c = b.Conv("conv", x, 3, 4);
  b.Output(c);
  b.Output(c);
  const Graph g = Convert(b.g());
  ASSERT_EQ(g.outputs.size(), 2u);
  EXPECT_EQ(DimsOf(g, g.outputs[0]), (std::vector<int64_t>{1, 4, 5, 6}));
  EXPECT_EQ(DimsOf(g, g.outputs[1]), (std::vector<int64_t>{1, 4, 5, 6}));
}

TEST(ConvertToNhwc, SizeOneMovesBecomeReshapes) {
  // [1,1,H,W] input (grayscale) -> NHWC [1,H,W,1] and GlobalAveragePool's [1,1,1,C] -> [1,C,1,1]
  // only move size-1 axes: free Reshapes, no Transpose at all.
  GraphBuilder b;
  const int x = b.Input("x", {1, 1, 9, 9});
  const int c = b.Conv("conv", x, 1, 6);
  const int gap = b.Unary("gap", "GlobalAveragePool", c);
  const int flat = b.Out(b.Op("flatten", "Flatten", {gap}));
  b.Output(flat);
  const Graph g = Convert(b.g());
  EXPECT_TRUE(NodesOf(g, "Transpose").empty());
  const Node* gap_node = NodeNamed(g, "gap");
  ASSERT_NE(gap_node, nullptr);
  EXPECT_EQ(gap_node->domain, kNhwcDomain);
  EXPECT_EQ(DimsOf(g, gap_node->outputs[0]), (std::vector<int64_t>{1, 1, 1, 6}));
  const Node* to_nchw = ProducerOf(g, NodeNamed(g, "flatten")->inputs[0]);
  ASSERT_NE(to_nchw, nullptr);
  EXPECT_EQ(to_nchw->op_type, "Reshape");
  EXPECT_EQ(to_nchw->inputs[0], gap_node->outputs[0]);
  EXPECT_EQ(DimsOf(g, to_nchw->outputs[0]), (std::vector<int64_t>{1, 6, 1, 1}));
  const Node* to_nhwc = ProducerOf(g, NodeNamed(g, "conv")->inputs[0]);
  ASSERT_NE(to_nhwc, nullptr);
  EXPECT_EQ(to_nhwc->op_type, "Reshape");
  EXPECT_EQ(DimsOf(g, to_nhwc->outputs[0]), (std::vector<int64_t>{1, 9, 9, 1}));
}

TEST(ConvertToNhwc, ConcatChannelAxisBecomesLastAxis) {
  for (int64_t axis : {int64_t{1}, int64_t{-3}}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    GraphBuilder b;
    const int x = b.Input("x", {1, 3, 6, 6});
    const int a = b.Conv("conv_a", x, 3, 4);
    const int c = b.Conv("conv_b", x, 3, 2, 1, 0);
    Node& cat = b.Op("cat", "Concat", {a, c});
    cat.attrs["axis"] = Attribute::Int(axis);
    const int y = b.Conv("conv_c", b.Out(cat), 6, 3);
    b.Output(y);
    const Graph g = Convert(b.g());
    const Node* concat = NodeNamed(g, "cat");
    ASSERT_NE(concat, nullptr);
    EXPECT_EQ(ValueOr(concat->GetInt("axis", -100), int64_t{-100}), 3);
    EXPECT_EQ(DimsOf(g, concat->outputs[0]), (std::vector<int64_t>{1, 6, 6, 6}));
    // One conversion of x (shared by both convs) and one at the output.
    EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  }
}

TEST(ConvertToNhwc, ConcatOnSpatialAxisMapsToNhwcAxis) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 6, 5});
  const int a = b.Conv("conv_a", x, 3, 4);
  const int c = b.Conv("conv_b", x, 3, 4, 1, 0);
  Node& cat = b.Op("cat", "Concat", {a, c});
  cat.attrs["axis"] = Attribute::Int(3);  // NCHW W
  b.Output(b.Out(cat));
  const Graph g = Convert(b.g());
  EXPECT_EQ(ValueOr(NodeNamed(g, "cat")->GetInt("axis", -100), int64_t{-100}), 2);
}

TEST(ConvertToNhwc, ConstantChannelOperandIsPermuted) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 5, 5});
  const int c = b.Conv("conv", x, 3, 4);
  const std::vector<float> shift = {1.f, -2.f, 3.f, -4.f};
  const int k = b.Floats("shift", {4, 1, 1}, shift);
  const int added = b.Out(b.Op("add", "Add", {c, k}));
  // A [H, W]-shaped constant broadcasts on the spatial axes.
  const int hw = b.Constant("hw", RandomF32({5, 5}, 99));
  const int mul = b.Out(b.Op("mul", "Mul", {hw, added}));
  const int y = b.Conv("conv2", mul, 4, 2);
  b.Output(y);
  const Graph g = Convert(b.g());
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  const Node* add = NodeNamed(g, "add");
  ASSERT_NE(add, nullptr);
  const Value& kv = g.values[add->inputs[1]];
  ASSERT_TRUE(kv.is_constant());
  EXPECT_EQ(kv.constant->dims(), (std::vector<int64_t>{1, 1, 1, 4}));
  EXPECT_EQ(kv.constant->ToFloatVector(), shift);
  const Node* mul_node = NodeNamed(g, "mul");
  ASSERT_NE(mul_node, nullptr);
  EXPECT_EQ(g.values[mul_node->inputs[0]].constant->dims(), (std::vector<int64_t>{1, 5, 5, 1}));
}

TEST(ConvertToNhwc, ResizeScalesAndSizesArePermuted) {
  {
    GraphBuilder b;
    const int x = b.Input("x", {1, 3, 4, 5});
    const int c = b.Conv("conv", x, 3, 4);
    const int scales = b.Floats("scales", {4}, {1.f, 1.f, 2.f, 3.f});
    Node& r = b.Op("resize", "Resize", {c, Node::kNoValue, scales});
    r.attrs["mode"] = Attribute::String("nearest");
    b.Output(b.Conv("conv2", b.Out(r), 4, 2));
    const Graph g = Convert(b.g());
    const Node* resize = NodeNamed(g, "resize");
    ASSERT_NE(resize, nullptr);
    const Value& s = g.values[resize->inputs[2]];
    ASSERT_TRUE(s.is_constant());
    EXPECT_EQ(s.constant->ToFloatVector(), (std::vector<float>{1.f, 2.f, 3.f, 1.f}));
    EXPECT_EQ(DimsOf(g, resize->outputs[0]), (std::vector<int64_t>{1, 8, 15, 4}));
    EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  }
  {
    GraphBuilder b;
    const int x = b.Input("x", {1, 3, 4, 5});
    const int c = b.Conv("conv", x, 3, 4);
    const int roi = b.Floats("roi", {0}, {});
    const int scales = b.Floats("scales", {0}, {});
    const int sizes = b.Ints("sizes", {1, 4, 7, 9});
    Node& r = b.Op("resize", "Resize", {c, roi, scales, sizes});
    r.attrs["mode"] = Attribute::String("linear");
    b.Output(b.Conv("conv2", b.Out(r), 4, 2));
    const Graph g = Convert(b.g());
    const Node* resize = NodeNamed(g, "resize");
    ASSERT_NE(resize, nullptr);
    EXPECT_EQ(g.values[resize->inputs[3]].constant->ToInt64Vector(),
              (std::vector<int64_t>{1, 7, 9, 4}));
    EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  }
}

TEST(ConvertToNhwc, PadAndSliceFollowNhwc) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 6, 7});
  const int c = b.Conv("conv", x, 3, 5);
  const int pads = b.Ints("pads", {0, 0, 1, 2, 0, 1, 3, 0});  // C begins 0, ends 1 (channel pad)
  const int value = b.Floats("value", {}, {0.25f});
  const int p = b.Out(b.Op("pad", "Pad", {c, pads, value}));  // [1,6,10,9]
  const int starts = b.Ints("starts", {1, 2});
  const int ends = b.Ints("ends", {5, 8});
  const int axes = b.Ints("axes", {1, -1});
  const int s = b.Out(b.Op("slice", "Slice", {p, starts, ends, axes}));  // [1,4,10,6]
  b.Output(b.Conv("conv2", s, 4, 2));
  const Graph g = Convert(b.g());
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  const Node* pad = NodeNamed(g, "pad");
  ASSERT_NE(pad, nullptr);
  EXPECT_EQ(g.values[pad->inputs[1]].constant->ToInt64Vector(),
            (std::vector<int64_t>{0, 1, 2, 0, 0, 3, 0, 1}));
  EXPECT_EQ(DimsOf(g, pad->outputs[0]), (std::vector<int64_t>{1, 10, 9, 6}));
  const Node* slice = NodeNamed(g, "slice");
  ASSERT_NE(slice, nullptr);
  EXPECT_EQ(g.values[slice->inputs[3]].constant->ToInt64Vector(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(DimsOf(g, slice->outputs[0]), (std::vector<int64_t>{1, 10, 6, 4}));
}

TEST(ConvertToNhwc, GraphWithoutLayoutSensitiveOpsIsUnchanged) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 4, 4});
  b.Output(b.Unary("relu", "Relu", x));
  Graph g = b.g();
  Prepare(g);
  const size_t nodes = g.nodes.size();
  std::vector<std::string> log;
  ASSERT_TRUE(ConvertToNhwc(g, &log).ok());
  EXPECT_EQ(g.nodes.size(), nodes);
  EXPECT_TRUE(log.empty());
}

TEST(ConvertToNhwc, ConvWithRuntimeWeightsStaysNchw) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 2, 5, 5});
  const int w = b.Input("w", {3, 2, 3, 3});
  const int y = b.Out(b.Op("conv", "Conv", {x, w}));
  b.Output(y);
  const Graph g = Convert(b.g());
  EXPECT_TRUE(NodeNamed(g, "conv")->domain.empty());
  EXPECT_TRUE(NodesOf(g, "Transpose").empty());
}

TEST(ConvertToNhwc, SmallCnnKeepsOutputAndValidates) {
  Model m = testing::MakeSmallCnn();
  Graph g = m.graph;
  Prepare(g);
  ASSERT_TRUE(RunGraphPasses(g, nullptr).ok());
  const Graph before = g;
  ASSERT_TRUE(ConvertToNhwc(g, nullptr).ok());
  EXPECT_TRUE(ValidateGraph(g).ok());
  // NHWC from the input transpose to GlobalAveragePool; [1,1,1,8] -> [1,8,1,1] is a Reshape.
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 1u);
  ExpectSameResults(before, g);
}

// --- FuseConvResidual --------------------------------------------------------------------------

// Converted graph ready for FuseConvResidual.
Graph ConvertedForFusion(Graph g) {
  Prepare(g);
  EXPECT_TRUE(ConvertToNhwc(g, nullptr).ok());
  return g;
}

TEST(FuseConvResidual, FusesConvAddWithEarlierResidual) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 4, 6, 6});
  const int c1 = b.Conv("conv1", x, 4, 4);
  const int r1 = b.Unary("relu1", "Relu", c1);
  const int c2 = b.Conv("conv2", r1, 4, 4);
  const int sum = b.Out(b.Op("add", "Add", {c2, x}));
  b.Output(sum);
  Graph g = ConvertedForFusion(b.g());
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(FuseConvResidual(g, &log).ok());
  EXPECT_TRUE(ValidateGraph(g).ok());
  EXPECT_TRUE(NodesOf(g, "Add").empty());
  const Node* conv2 = NodeNamed(g, "conv2");
  ASSERT_NE(conv2, nullptr);
  ASSERT_EQ(conv2->inputs.size(), 4u);
  // z is x in NHWC: the conversion conv1 reads too.
  EXPECT_EQ(conv2->inputs[3], NodeNamed(g, "conv1")->inputs[0]);
  EXPECT_EQ(g.values[conv2->outputs[0]].name, "add_out_nhwc");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("'add' into Conv 'conv2'"), std::string::npos) << log[0];
  ExpectSameResults(before, g);
}

TEST(FuseConvResidual, ConvWithoutBiasGetsAnEmptyBiasSlot) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 5, 5});
  const int c1 = b.Conv("conv1", x, 3, 4);
  const int w = b.Constant("w2", RandomF32({4, 4, 1, 1}, 5));
  const int c2 = b.Out(b.Op("conv2", "Conv", {c1, w}));
  b.Output(b.Out(b.Op("add", "Add", {c1, c2})));
  Graph g = ConvertedForFusion(b.g());
  const Graph before = g;
  ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
  const Node* conv2 = NodeNamed(g, "conv2");
  ASSERT_EQ(conv2->inputs.size(), 4u);
  EXPECT_EQ(conv2->inputs[2], Node::kNoValue);
  EXPECT_EQ(conv2->inputs[3], NodeNamed(g, "conv1")->outputs[0]);
  ExpectSameResults(before, g);
}

TEST(FuseConvResidual, TheLaterOfTwoConvsTakesTheResidual) {
  // Add(conv_a, conv_b): the fused conv takes the earlier node's slot, so only the conv that runs
  // second can read the other as z.
  GraphBuilder b;
  const int x = b.Input("x", {1, 3, 5, 5});
  const int a = b.Conv("conv_a", x, 3, 4);
  const int c = b.Conv("conv_b", x, 3, 4, 1, 0);
  b.Output(b.Out(b.Op("add", "Add", {a, c})));
  Graph g = ConvertedForFusion(b.g());
  const Graph before = g;
  ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
  EXPECT_TRUE(ValidateGraph(g).ok());
  EXPECT_TRUE(NodesOf(g, "Add").empty());
  EXPECT_EQ(NodeNamed(g, "conv_a")->inputs.size(), 3u);
  const Node* conv_b = NodeNamed(g, "conv_b");
  ASSERT_EQ(conv_b->inputs.size(), 4u);
  EXPECT_EQ(conv_b->inputs[3], NodeNamed(g, "conv_a")->outputs[0]);
  ExpectSameResults(before, g);
}

TEST(FuseConvResidual, NotWhenConvAlreadyHasAnActivation) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 4, 5, 5});
  const int c = b.Conv("conv", x, 4, 4);
  b.g().nodes.back().attrs["activation"] = Attribute::String("Relu");
  b.Output(b.Out(b.Op("add", "Add", {c, x})));
  Graph g = ConvertedForFusion(b.g());
  const size_t nodes = g.nodes.size();
  ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), nodes);
  EXPECT_EQ(NodesOf(g, "Add").size(), 1u);
}

TEST(FuseConvResidual, NotWhenConvOutputHasAnotherConsumer) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 4, 5, 5});
  const int c = b.Conv("conv", x, 4, 4);
  b.Output(b.Out(b.Op("add", "Add", {c, x})));
  b.Output(b.Unary("relu", "Relu", c));
  Graph g = ConvertedForFusion(b.g());
  ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
  EXPECT_EQ(NodesOf(g, "Add").size(), 1u);
  EXPECT_EQ(NodeNamed(g, "conv")->inputs.size(), 3u);
}

TEST(FuseConvResidual, NotWhenConvOutputIsAGraphOutput) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 4, 5, 5});
  const int c = b.Conv("conv", x, 4, 4);
  b.Output(b.Out(b.Op("add", "Add", {c, x})));
  b.Output(c);
  Graph g = ConvertedForFusion(b.g());
  const Graph before = g;
  ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
  EXPECT_EQ(NodesOf(g, "Add").size(), 1u);
  ExpectSameResults(before, g);
}

TEST(FuseConvResidual, NotForConstantsOrBroadcastOperands) {
  {
    GraphBuilder b;
    const int x = b.Input("x", {1, 4, 5, 5});
    const int c = b.Conv("conv", x, 4, 4);
    const int k = b.Constant("k", RandomF32({1, 4, 5, 5}, 3));
    b.Output(b.Conv("conv2", b.Out(b.Op("add", "Add", {c, k})), 4, 2));
    Graph g = ConvertedForFusion(b.g());
    ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
    EXPECT_EQ(NodesOf(g, "Add").size(), 1u) << "a constant z";
  }
  {
    // z [1,4,1,1] broadcasts: not the residual contract (same shape as the output).
    GraphBuilder b;
    const int x = b.Input("x", {1, 4, 5, 5});
    const int c = b.Conv("conv", x, 4, 4);
    const int gap = b.Unary("gap", "GlobalAveragePool", x);
    b.Output(b.Conv("conv2", b.Out(b.Op("add", "Add", {c, gap})), 4, 2));
    Graph g = ConvertedForFusion(b.g());
    const Graph before = g;
    ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
    EXPECT_EQ(NodesOf(g, "Add").size(), 1u) << "a broadcast z";
    ExpectSameResults(before, g);
  }
}

TEST(FuseConvResidual, NotForNchwConvs) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 4, 5, 5});
  const int c = b.Conv("conv", x, 4, 4);
  b.Output(b.Out(b.Op("add", "Add", {c, x})));
  Graph g = b.g();
  Prepare(g);
  ASSERT_TRUE(FuseConvResidual(g, nullptr).ok());
  EXPECT_EQ(NodesOf(g, "Add").size(), 1u);
}

TEST(RunLayoutPasses, ResidualThenReluFuseIntoOneConv) {
  GraphBuilder b;
  const int x = b.Input("x", {1, 4, 6, 6});
  const int c1 = b.Conv("conv1", x, 4, 4);
  const int r1 = b.Unary("relu1", "Relu", c1);
  const int c2 = b.Conv("conv2", r1, 4, 4);
  const int sum = b.Out(b.Op("add", "Add", {c2, x}));
  const int y = b.Unary("relu2", "Relu", sum);
  b.Output(y);
  Graph g = b.g();
  Prepare(g);
  ASSERT_TRUE(RunGraphPasses(g, nullptr).ok());
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(RunLayoutPasses(g, &log).ok());
  EXPECT_TRUE(ValidateGraph(g).ok());
  EXPECT_TRUE(NodesOf(g, "Add").empty());
  EXPECT_TRUE(NodesOf(g, "Relu").empty());
  const Node* conv2 = NodeNamed(g, "conv2");
  ASSERT_NE(conv2, nullptr);
  EXPECT_EQ(conv2->domain, kNhwcDomain);
  ASSERT_EQ(conv2->inputs.size(), 4u);
  ASSERT_TRUE(conv2->has_attr("activation"));
  EXPECT_EQ(conv2->attr("activation")->s, "Relu");
  // conv1 -> Relu fused in RunGraphPasses already, and was not given a residual.
  EXPECT_EQ(NodeNamed(g, "conv1")->inputs.size(), 3u);
  EXPECT_EQ(g.nodes.size(), 4u);  // transpose, conv1, conv2, transpose
  bool logged = false;
  for (const std::string& line : log) logged |= line.find("(residual)") != std::string::npos;
  EXPECT_TRUE(logged);
  ExpectSameResults(before, g);
}

// --- FuseExpandDepthwise
// --------------------------------------------------------------------------

// An inverted-residual block: 1x1 expansion -> Clip(0, 6) -> depthwise k x k -> `act` -> 1x1
// projection. Returns the graph; the expansion's output is named "expand_out".
struct BlockSpec {
  std::vector<int64_t> x = {1, 8, 20, 20};
  int64_t expanded = 24;
  int64_t kernel = 3, stride = 2;
  std::string act = "Relu";
  std::string expand_act = "Clip";  // or "LeakyRelu"
  int64_t dilation = 1;
  bool expansion_also_output = false;
  bool runtime_depthwise_bias = false;  // the depthwise conv's bias is a graph input
};

Model InvertedResidualBlock(const BlockSpec& spec) {
  GraphBuilder b("inverted_residual");
  const int x = b.Input("x", spec.x);
  const int64_t c = spec.x[1], m = spec.expanded;
  const int e = b.Conv("expand", x, c, m, 1, 0);
  int a = e;
  if (spec.expand_act == "Clip") {
    a = b.Out(b.Op("relu6", "Clip", {e, b.Floats("lo", {}, {0.0f}), b.Floats("hi", {}, {6.0f})}));
  } else {
    a = b.Unary("leaky", spec.expand_act, e);
  }
  const int d = b.Conv("dw", a, m, m, spec.kernel, spec.kernel / 2 * spec.dilation, m, spec.stride);
  if (spec.runtime_depthwise_bias) {
    const int bias = b.Input("dw_bias", {m});
    for (Node& n : b.g().nodes) {
      if (n.outputs[0] == d) n.inputs[2] = bias;
    }
  }
  if (spec.dilation != 1) {
    for (Node& n : b.g().nodes) {
      if (n.outputs[0] == d) n.attrs["dilations"] = Attribute::Ints({spec.dilation, spec.dilation});
    }
  }
  const int r = spec.act.empty() ? d : b.Unary("act", spec.act, d);
  b.Output(b.Conv("project", r, m, c, 1, 0));
  if (spec.expansion_also_output) b.Output(a);
  return b.model();
}

// Runs the graph passes, then the layout passes with the fusion on (threshold `min_bytes` per
// thread), and checks the result against the original graph node by node.
Graph FuseBlock(const Model& m, int threads, size_t min_bytes,
                std::vector<std::string>* log = nullptr) {
  Graph g = m.graph;
  Prepare(g);
  EXPECT_TRUE(RunGraphPasses(g, nullptr).ok());
  const Graph before = g;
  LayoutPassOptions options;
  options.fuse_expand_depthwise = true;
  options.num_threads = threads;
  options.min_expanded_bytes_per_thread = min_bytes;
  const Status st = RunLayoutPasses(g, log, options);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
  return g;
}

TEST(FuseExpandDepthwise, InvertedResidualBlockBecomesOneNodeWithBothActivations) {
  std::vector<std::string> log;
  const Graph g = FuseBlock(InvertedResidualBlock({}), 1, 0, &log);
  const std::vector<const Node*> fused = NodesOf(g, "ExpandDepthwiseConv");
  ASSERT_EQ(fused.size(), 1u);
  const Node& n = *fused[0];
  EXPECT_EQ(n.name, "expand+dw");
  EXPECT_EQ(n.domain, kNhwcDomain);
  ASSERT_EQ(n.inputs.size(), 5u);
  EXPECT_EQ(n.attr("expand_activation")->s, "Clip");
  EXPECT_EQ(n.attr("expand_activation_params")->floats, (std::vector<float>{0.0f, 6.0f}));
  EXPECT_EQ(n.attr("activation")->s, "Relu");
  EXPECT_EQ(n.attr("group")->i, 24);
  EXPECT_EQ(NodeNamed(g, "expand"), nullptr);
  EXPECT_EQ(NodeNamed(g, "dw"), nullptr);
  bool logged = false;
  for (const std::string& line : log)
    logged |= line.find("ExpandDepthwiseConv") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST(FuseExpandDepthwise, FiveByFiveStrideOneAndNoActivation) {
  BlockSpec spec;
  spec.kernel = 5;
  spec.stride = 1;
  spec.act = "";
  const Graph g = FuseBlock(InvertedResidualBlock(spec), 1, 0);
  ASSERT_EQ(NodesOf(g, "ExpandDepthwiseConv").size(), 1u);
  EXPECT_FALSE(NodesOf(g, "ExpandDepthwiseConv")[0]->has_attr("activation"));
}

TEST(FuseExpandDepthwise, OnlyWhenEachThreadsShareOutgrowsTheCache) {
  // The expanded tensor: 24 x 20 x 20 floats.
  const size_t bytes = 24 * 20 * 20 * sizeof(float);
  const Model m = InvertedResidualBlock({});
  EXPECT_EQ(NodesOf(FuseBlock(m, 1, bytes - 1), "ExpandDepthwiseConv").size(), 1u);
  EXPECT_EQ(NodesOf(FuseBlock(m, 1, bytes), "ExpandDepthwiseConv").size(), 0u);
  EXPECT_EQ(NodesOf(FuseBlock(m, 2, bytes / 2 - 1), "ExpandDepthwiseConv").size(), 1u);
  EXPECT_EQ(NodesOf(FuseBlock(m, 2, bytes / 2), "ExpandDepthwiseConv").size(), 0u);
}

TEST(FuseExpandDepthwise, NotWhenTheKernelCannotTakeThePair) {
  BlockSpec shared;
  shared.expansion_also_output = true;  // the expanded tensor has another reader
  BlockSpec dilated;
  dilated.dilation = 2;
  BlockSpec seven;
  seven.kernel = 7;
  BlockSpec leaky;
  leaky.expand_act = "LeakyRelu";
  BlockSpec sigmoid;
  sigmoid.act = "Sigmoid";
  BlockSpec stride3;
  stride3.stride = 3;
  BlockSpec runtime_bias;
  runtime_bias.runtime_depthwise_bias = true;
  for (const BlockSpec& spec : {shared, dilated, seven, leaky, sigmoid, stride3, runtime_bias}) {
    const Graph g = FuseBlock(InvertedResidualBlock(spec), 1, 0);
    EXPECT_TRUE(NodesOf(g, "ExpandDepthwiseConv").empty());
  }
}

TEST(FuseExpandDepthwise, NotUnlessAsked) {
  Graph g = InvertedResidualBlock({}).graph;
  Prepare(g);
  ASSERT_TRUE(RunGraphPasses(g, nullptr).ok());
  ASSERT_TRUE(RunLayoutPasses(g, nullptr).ok());
  EXPECT_TRUE(NodesOf(g, "ExpandDepthwiseConv").empty());
}

// --- Whole sessions: every path against the reference session -----------------------------------

Model ResidualBlocks() {
  GraphBuilder b("residual_blocks");
  const int x = b.Input("x", {1, 8, 10, 10});
  int v = x;
  for (int block = 0; block < 2; ++block) {
    const std::string p = "b" + std::to_string(block) + "_";
    const int c1 = b.Conv(p + "conv1", v, 8, 8);
    const int r1 = b.Unary(p + "relu1", "Relu", c1);
    const int c2 = b.Conv(p + "conv2", r1, 8, 8);
    const int sum = b.Out(b.Op(p + "add", "Add", {v, c2}));
    v = b.Unary(p + "relu2", "Relu", sum);
  }
  // A downsampling block: the shortcut is a strided 1x1 conv.
  const int c1 = b.Conv("down_conv1", v, 8, 12, 3, 1, 1, 2);
  const int c2 = b.Conv("down_conv2", b.Unary("down_relu1", "Relu", c1), 12, 12);
  const int sc = b.Conv("down_shortcut", v, 8, 12, 1, 0, 1, 2);
  b.Output(b.Unary("down_relu2", "Relu", b.Out(b.Op("down_add", "Add", {c2, sc}))));
  return b.model();
}

Model ConcatResizePadSlice() {
  GraphBuilder b("concat_resize_pad_slice");
  const int x = b.Input("x", {1, 3, 12, 11});
  const int c1 = b.Conv("conv1", x, 3, 4);
  const int c2 = b.Conv("conv2", x, 3, 5, 1, 0);
  Node& cat = b.Op("cat", "Concat", {c1, c2});
  cat.attrs["axis"] = Attribute::Int(1);
  const int scale =
      b.Floats("chan_scale", {9, 1, 1}, {0.5f, 1.f, 1.5f, 2.f, -1.f, 0.25f, 3.f, -0.5f, 1.25f});
  const int scaled = b.Out(b.Op("scale", "Mul", {b.Out(cat), scale}));
  const int sizes_scales = b.Floats("scales", {4}, {1.f, 1.f, 2.f, 2.f});
  Node& up = b.Op("up", "Resize", {scaled, Node::kNoValue, sizes_scales});
  up.attrs["mode"] = Attribute::String("linear");  // [1,9,24,22]
  const int pads = b.Ints("pads", {0, 0, 1, 2, 0, 0, 2, 1});
  const int value = b.Floats("pad_value", {}, {0.5f});
  const int padded = b.Out(b.Op("pad", "Pad", {b.Out(up), pads, value}));  // [1,9,27,25]
  const int starts = b.Ints("starts", {1, 2});
  const int ends = b.Ints("ends", {8, 20});
  const int axes = b.Ints("axes", {1, 3});
  const int sliced = b.Out(b.Op("slice", "Slice", {padded, starts, ends, axes}));  // [1,7,27,18]
  const int c3 = b.Conv("conv3", sliced, 7, 6, 3, 1, 1, 2);
  const int zero_pads = b.Ints("zero_pads", {0, 0, 1, 1, 0, 0, 0, 1});
  const int zp = b.Out(b.Op("zero_pad", "Pad", {c3, zero_pads}));  // folds into conv4
  const int c4 = b.Conv("conv4", zp, 6, 4, 3, 0);
  Node& down =
      b.Op("down", "Resize", {c4, Node::kNoValue, b.Floats("half", {4}, {1, 1, .5f, .5f})});
  down.attrs["mode"] = Attribute::String("nearest");
  b.Output(b.Unary("sig", "Sigmoid", b.Out(down)));
  return b.model();
}

Model DepthwiseHardSwish() {
  GraphBuilder b("depthwise_hardswish");
  const int x = b.Input("x", {1, 8, 9, 9});
  const int e = b.Unary("hs1", "HardSwish", b.Conv("expand", x, 8, 16, 1, 0));
  const int d = b.Unary("hs2", "HardSwish", b.Conv("dw", e, 16, 16, 3, 1, 16, 2));
  const int p = b.Conv("project", d, 16, 8, 1, 0);
  const int dw2 = b.Conv("dw_s1", p, 8, 8, 5, 2, 8);  // 5x5 depthwise, stride 1
  b.Output(b.Unary("hs3", "HardSwish", dw2));
  return b.model();
}

Model PoolFlattenGemmHead() {
  GraphBuilder b("pool_head");
  const int x = b.Input("x", {1, 4, 7, 7});
  const int r = b.Unary("relu", "Relu", b.Conv("conv", x, 4, 16));
  Node& mp = b.Op("maxpool", "MaxPool", {r});
  mp.attrs["kernel_shape"] = Attribute::Ints({3, 3});
  mp.attrs["strides"] = Attribute::Ints({2, 2});
  mp.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  Node& ap = b.Op("avgpool", "AveragePool", {b.Out(mp)});
  ap.attrs["kernel_shape"] = Attribute::Ints({2, 2});
  ap.attrs["pads"] = Attribute::Ints({0, 0, 1, 1});
  const int pooled = b.Out(ap);  // node references do not survive adding nodes
  const int gap = b.Unary("gap", "GlobalAveragePool", pooled);
  const int gmp = b.Unary("gmp", "GlobalMaxPool", pooled);
  const int flat = b.Out(b.Op("flatten", "Flatten", {gap}));
  const int w = b.Constant("fc_w", RandomF32({10, 16}, 77));
  const int bias = b.Constant("fc_b", RandomF32({10}, 78));
  Node& gemm = b.Op("fc", "Gemm", {flat, w, bias});
  gemm.attrs["transB"] = Attribute::Int(1);
  b.Output(b.Out(gemm));
  const int shape = b.Ints("shape", {1, 16});
  b.Output(b.Out(b.Op("reshape", "Reshape", {gmp, shape})));
  return b.model();
}

// Split and a channel Softmax on NHWC data (segmentation-style head), then a residual sum.
Model SplitSoftmaxHead() {
  GraphBuilder b("split_softmax_head");
  const int x = b.Input("x", {1, 4, 6, 6});
  const int c = b.Conv("conv", x, 4, 6);
  const int split_sizes = b.Ints("split_sizes", {2, 4});
  const int a = b.g().AddValue("split_a");
  const int rest = b.g().AddValue("split_b");
  b.g().AddNode("split", "Split", {c, split_sizes}, {a, rest}).attrs["axis"] = Attribute::Int(1);
  Node& sm = b.Op("softmax", "Softmax", {a});
  sm.attrs["axis"] = Attribute::Int(1);
  const int probs = b.Out(sm);
  const int merged = b.Conv("merge", rest, 4, 2, 1, 0);
  b.Output(b.Out(b.Op("sum", "Add", {probs, merged})));
  return b.model();
}

// MaxPool -> QuantizeLinear -> DequantizeLinear -> Conv: the pair follows NHWC. MaxPool is exact
// on every path, so no rounding step can flip between sessions.
Model PoolQdqConv() {
  GraphBuilder b("pool_qdq_conv");
  const int x = b.Input("x", {1, 6, 8, 8});
  Node& pool = b.Op("pool", "MaxPool", {x});
  pool.attrs["kernel_shape"] = Attribute::Ints({2, 2});
  pool.attrs["strides"] = Attribute::Ints({2, 2});
  const int c = b.Out(pool);
  const int scale = b.Floats("scale", {}, {0.05f});
  const int zp = b.Constant("zp", Tensor::FromVector(DType::kU8, {}, std::vector<uint8_t>{128}));
  const int q = b.Out(b.Op("quant", "QuantizeLinear", {c, scale, zp}));
  const int dq = b.Out(b.Op("dequant", "DequantizeLinear", {q, scale, zp}));
  b.Output(b.Conv("conv2", dq, 6, 4));
  return b.model();
}

struct SessionResult {
  std::vector<Tensor> outputs;
  std::vector<NodeReport> reports;
};

SessionResult RunSession(const Model& m, const SessionOptions& options,
                         const std::vector<Tensor>& inputs) {
  SessionResult result;
  auto session = Session::Create(m, options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return result;
  Session& s = **session;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Status st = s.SetInput(static_cast<int>(i), inputs[i].view());
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  const Status st = s.Run();
  EXPECT_TRUE(st.ok()) << st.ToString();
  for (int i = 0; i < s.num_outputs(); ++i) {
    const TensorView y = s.output(i);
    const std::vector<int64_t> dims(y.shape().begin(), y.shape().end());
    result.outputs.push_back(Tensor::FromBytes(y.dtype, dims, y.raw, y.bytes()).value());
  }
  result.reports = s.NodeReports();
  return result;
}

bool Available(KernelPath p) {
  const BackendDef* b = FindBackend(p);
  return b != nullptr && b->available();
}

void ExpectAllPathsMatchReference(const Model& m) {
  SCOPED_TRACE(m.path);
  const std::vector<Tensor> inputs = RandomInputs(m.graph, 500);
  SessionOptions ref_options;
  ref_options.kernel_paths = {KernelPath::kReference};
  const SessionResult want = RunSession(m, ref_options, inputs);
  ASSERT_FALSE(want.outputs.empty());
  for (const NodeReport& r : want.reports) EXPECT_TRUE(r.layout.empty()) << r.name;

  struct Config {
    const char* name;
    std::vector<KernelPath> paths;
  };
  const Config configs[] = {
      {"default", {}},
      {"xnnpack+ref", {KernelPath::kXnnpack, KernelPath::kReference}},
      {"onednn+ref", {KernelPath::kOnednn, KernelPath::kReference}},
  };
  for (const Config& c : configs) {
    SCOPED_TRACE(c.name);
    SessionOptions options;
    options.kernel_paths = c.paths;
    const SessionResult got = RunSession(m, options, inputs);
    ASSERT_EQ(got.outputs.size(), want.outputs.size());
    for (size_t i = 0; i < got.outputs.size(); ++i) {
      ExpectClose(got.outputs[i].view(), want.outputs[i].view(), "output " + std::to_string(i));
    }
    // The layout pass ran (fast paths present) and some node used the fast path when it exists.
    int nhwc = 0, fast = 0;
    for (const NodeReport& r : got.reports) {
      nhwc += r.layout == "NHWC";
      fast += r.kernel != "ref";
    }
    EXPECT_GT(nhwc, 0);
    if (!c.paths.empty() && Available(c.paths[0])) {
      EXPECT_GT(fast, 0) << "no node ran on " << KernelPathName(c.paths[0]);
    }
  }
}

TEST(ConvertToNhwc, QuantizeDequantizeFollowNhwc) {
  const Graph g = Convert(PoolQdqConv().graph);
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  for (const char* name : {"quant", "dequant"}) {
    const Node* n = NodeNamed(g, name);
    ASSERT_NE(n, nullptr) << name;
    EXPECT_EQ(g.values[n->outputs[0]].layout, Layout::kNHWC) << name;
    EXPECT_EQ(DimsOf(g, n->outputs[0]), (std::vector<int64_t>{1, 4, 4, 6})) << name;
  }
}

TEST(ConvertToNhwc, SplitAndChannelSoftmaxFollowNhwc) {
  const Graph g = Convert(SplitSoftmaxHead().graph);
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  const Node* split = NodeNamed(g, "split");
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(ValueOr(split->GetInt("axis", -100), int64_t{-100}), 3);
  EXPECT_EQ(DimsOf(g, split->outputs[1]), (std::vector<int64_t>{1, 6, 6, 4}));
  EXPECT_EQ(ValueOr(NodeNamed(g, "softmax")->GetInt("axis", -100), int64_t{-100}), 3);
}

TEST(LayoutSessions, SmallCnn) { ExpectAllPathsMatchReference(testing::MakeSmallCnn()); }
TEST(LayoutSessions, ResidualBlocks) { ExpectAllPathsMatchReference(ResidualBlocks()); }
TEST(LayoutSessions, ConcatResizePadSlice) { ExpectAllPathsMatchReference(ConcatResizePadSlice()); }
TEST(LayoutSessions, DepthwiseHardSwish) { ExpectAllPathsMatchReference(DepthwiseHardSwish()); }
TEST(LayoutSessions, PoolFlattenGemmHead) { ExpectAllPathsMatchReference(PoolFlattenGemmHead()); }
TEST(LayoutSessions, SplitSoftmaxHead) { ExpectAllPathsMatchReference(SplitSoftmaxHead()); }
TEST(LayoutSessions, PoolQdqConv) { ExpectAllPathsMatchReference(PoolQdqConv()); }

TEST(LayoutSessions, ResidualBlocksFuseIntoConvs) {
  const Model m = ResidualBlocks();
  auto session = Session::Create(m, SessionOptions{});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const Graph& g = (*session)->optimized_graph();
  EXPECT_TRUE(NodesOf(g, "Add").empty());
  EXPECT_TRUE(NodesOf(g, "Relu").empty());
  EXPECT_EQ(NodesOf(g, "Transpose").size(), 2u);
  int residual = 0;
  for (const Node& n : g.nodes) residual += n.op_type == "Conv" && n.inputs.size() == 4;
  EXPECT_EQ(residual, 3);
}

// MobileNetV2's second block: the expanded tensor (96 x 112 x 112 floats, 4.8 MB) outgrows the L2
// cache of every CPU we know of, so a session whose first path is oneDNN fuses the pair.
TEST(LayoutSessions, LargeExpansionFusesWhenOneDnnComesFirst) {
  BlockSpec spec;
  spec.x = {1, 16, 112, 112};
  spec.expanded = 96;
  const Model m = InvertedResidualBlock(spec);
  ExpectAllPathsMatchReference(m);
  auto session = Session::Create(m, SessionOptions{});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const size_t fused = NodesOf((*session)->optimized_graph(), "ExpandDepthwiseConv").size();
  EXPECT_EQ(fused, DefaultPathOrder().front() == KernelPath::kOnednn ? 1u : 0u);
}

TEST(LayoutSessions, PoolHeadConvertsWithReshapesAfterGlobalPools) {
  auto session = Session::Create(PoolFlattenGemmHead(), SessionOptions{});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  // Only the input needs a real transpose; the global pools' [1,1,1,16] outputs are reshaped.
  EXPECT_EQ(NodesOf((*session)->optimized_graph(), "Transpose").size(), 1u);
}

}  // namespace
}  // namespace edgerun
