// FoldPadIntoConv (passes/fold_pad.cc): a zero constant Pad on the spatial axes disappears into
// the following Conv's pads (adding to the conv's own); every other Pad (non-zero value, reflect
// or edge mode, batch or channel padding, negative pads, shared output, auto_pad convs) stays.
// Each case also checks that the graph computes what it did before.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "passes/graph_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "runtime/infer_and_fold.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::RandomF32;

struct PadCase {
  std::vector<int64_t> x = {1, 2, 6, 7};
  std::vector<int64_t> pads = {0, 0, 1, 2, 0, 0, 3, 1};  // [begin..., end...]
  int opset = 13;
  bool pads_as_attribute = false;  // opset < 11 form
  std::string mode;                // empty: attribute absent (constant)
  bool value_input = false;
  float value = 0.f;
  std::vector<int64_t> conv_pads;  // empty: attribute absent
  std::string auto_pad;
  bool pad_output_also_graph_output = false;
};

// x -> Pad -> Conv(W [3, C, 3, 3], B) -> y
Graph PadThenConv(const PadCase& c) {
  Graph g;
  g.opset_imports[""] = c.opset;
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims(c.x));
  g.MarkInput(x);
  const int padded = g.AddValue("padded");
  std::vector<int> pad_inputs = {x};
  if (!c.pads_as_attribute) {
    pad_inputs.push_back(g.AddConstant(
        "pads", Tensor::FromVector(DType::kI64, {static_cast<int64_t>(c.pads.size())}, c.pads)));
    if (c.value_input) {
      pad_inputs.push_back(
          g.AddConstant("value", Tensor::FromVector(DType::kF32, {}, std::vector<float>{c.value})));
    }
  }
  Node& pad = g.AddNode("pad", "Pad", pad_inputs, {padded});
  if (c.pads_as_attribute) {
    pad.attrs["pads"] = Attribute::Ints(c.pads);
    if (c.value != 0.f) pad.attrs["value"] = Attribute::Float(c.value);
  }
  if (!c.mode.empty()) pad.attrs["mode"] = Attribute::String(c.mode);
  const int64_t channels = c.x[1] + c.pads[1] + c.pads[c.x.size() + 1];
  std::vector<int64_t> w_dims = {3, channels, 3};
  if (c.x.size() == 4) w_dims.push_back(3);
  const int w = g.AddConstant("w", RandomF32(w_dims, 1));
  const int b = g.AddConstant("b", RandomF32({3}, 2));
  const int y = g.AddValue("y");
  Node& conv = g.AddNode("conv", "Conv", {padded, w, b}, {y});
  if (!c.conv_pads.empty()) conv.attrs["pads"] = Attribute::Ints(c.conv_pads);
  if (!c.auto_pad.empty()) conv.attrs["auto_pad"] = Attribute::String(c.auto_pad);
  g.MarkOutput(y);
  if (c.pad_output_also_graph_output) g.MarkOutput(padded);
  return g;
}

const Node* NodeNamed(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

void ExpectSameResults(const Graph& before, const Graph& after) {
  std::vector<Tensor> inputs;
  uint32_t seed = 40;
  for (int v : before.inputs) {
    inputs.push_back(RandomF32(StaticDims(*before.values[v].shape), seed++));
  }
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    const test_util::CompareResult r =
        test_util::AllClose((*got)[i].view(), (*want)[i].view(), 1e-5, 1e-6);
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message;
  }
}

// Runs the pass; returns the conv's pads when the Pad was folded, nullopt when it was kept.
std::optional<std::vector<int64_t>> Fold(const PadCase& c) {
  Graph g = PadThenConv(c);
  const Status inferred = InferShapesAndFold(g, /*fold=*/true);
  EXPECT_TRUE(inferred.ok()) << inferred.ToString();
  if (!inferred.ok()) return std::nullopt;
  const Graph before = g;
  std::vector<std::string> log;
  const Status st = FoldPadIntoConv(g, &log);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
  const Node* conv = NodeNamed(g, "conv");
  EXPECT_NE(conv, nullptr);
  if (conv == nullptr) return std::nullopt;
  if (NodeNamed(g, "pad") != nullptr) {
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(conv->inputs[0], g.FindValue("padded"));
    return std::nullopt;
  }
  EXPECT_EQ(conv->inputs[0], g.inputs[0]);
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(log.size(), 1u);
  if (!log.empty()) {
    EXPECT_EQ(log[0], "folded Pad 'pad' into Conv 'conv'");
  }
  return ValueOr(conv->GetInts("pads", {}), std::vector<int64_t>{});
}

using Pads = std::vector<int64_t>;

TEST(FoldPadIntoConv, ZeroSpatialPadFoldsIntoConvWithoutPads) {
  PadCase c;
  EXPECT_EQ(Fold(c), Pads({1, 2, 3, 1}));
}

TEST(FoldPadIntoConv, PadsAddToTheConvsOwn) {
  PadCase c;
  c.conv_pads = {1, 0, 2, 1};
  EXPECT_EQ(Fold(c), Pads({2, 2, 5, 2}));
}

TEST(FoldPadIntoConv, ExplicitZeroValueAndConstantModeFold) {
  PadCase c;
  c.value_input = true;
  c.value = 0.f;
  c.mode = "constant";
  EXPECT_EQ(Fold(c), Pads({1, 2, 3, 1}));
}

TEST(FoldPadIntoConv, OldOpsetAttributeFormFolds) {
  PadCase c;
  c.opset = 2;
  c.pads_as_attribute = true;
  c.conv_pads = {1, 1, 1, 1};
  EXPECT_EQ(Fold(c), Pads({2, 3, 4, 2}));
}

TEST(FoldPadIntoConv, OneDimensionalConvFolds) {
  PadCase c;
  c.x = {1, 2, 9};
  c.pads = {0, 0, 2, 0, 0, 1};
  c.conv_pads = {1, 0};
  EXPECT_EQ(Fold(c), Pads({3, 1}));
}

TEST(FoldPadIntoConv, NonZeroValueDoesNotFold) {
  PadCase c;
  c.value_input = true;
  c.value = 0.5f;
  EXPECT_EQ(Fold(c), std::nullopt);
  PadCase attr;
  attr.opset = 2;
  attr.pads_as_attribute = true;
  attr.value = -1.f;
  EXPECT_EQ(Fold(attr), std::nullopt);
}

TEST(FoldPadIntoConv, ReflectAndEdgeModesDoNotFold) {
  for (const char* mode : {"reflect", "edge"}) {
    SCOPED_TRACE(mode);
    PadCase c;
    c.mode = mode;
    EXPECT_EQ(Fold(c), std::nullopt);
  }
}

TEST(FoldPadIntoConv, ChannelOrBatchPaddingDoesNotFold) {
  PadCase channel;
  channel.pads = {0, 1, 1, 1, 0, 0, 1, 1};
  EXPECT_EQ(Fold(channel), std::nullopt);
  PadCase channel_end;
  channel_end.pads = {0, 0, 1, 1, 0, 2, 1, 1};
  EXPECT_EQ(Fold(channel_end), std::nullopt);
  PadCase batch;
  batch.pads = {1, 0, 1, 1, 0, 0, 1, 1};
  EXPECT_EQ(Fold(batch), std::nullopt);
}

TEST(FoldPadIntoConv, NegativePadsDoNotFold) {
  PadCase c;
  c.pads = {0, 0, -1, 1, 0, 0, 1, 1};
  EXPECT_EQ(Fold(c), std::nullopt);
}

TEST(FoldPadIntoConv, SharedPadOutputDoesNotFold) {
  PadCase c;
  c.pad_output_also_graph_output = true;
  EXPECT_EQ(Fold(c), std::nullopt);
}

TEST(FoldPadIntoConv, AutoPadConvDoesNotFold) {
  PadCase c;
  c.auto_pad = "SAME_UPPER";
  EXPECT_EQ(Fold(c), std::nullopt);
}

TEST(FoldPadIntoConv, RunGraphPassesFoldsAndKeepsNumerics) {
  PadCase c;
  c.conv_pads = {0, 1, 0, 1};
  Graph g = PadThenConv(c);
  ASSERT_TRUE(InferShapesAndFold(g, true).ok());
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(RunGraphPasses(g, &log).ok());
  EXPECT_EQ(g.nodes.size(), 1u);
  bool logged = false;
  for (const std::string& line : log) logged |= line == "folded Pad 'pad' into Conv 'conv'";
  EXPECT_TRUE(logged);
  ExpectSameResults(before, g);
}

}  // namespace
}  // namespace edgerun
