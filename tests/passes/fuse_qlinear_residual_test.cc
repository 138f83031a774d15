// FuseQLinearResidual (passes/fuse_qlinear_residual.cc) on generated QDQ residual blocks, the
// way ONNX Runtime's quantizer writes them: x -> QDQ -> Conv -> Relu -> QDQ -> Conv -> QDQ ->
// Add(., residual) [-> Relu] -> QDQ. Random shapes with odd channel counts, u8 and s8
// activations, the residual on either side of the Add. After FoldQdq and the layout pass, the
// fusion must turn the block's QLinearConv + QLinearAdd into one QLinearConvAdd, and its output
// must stay within one output quantization step of the unfused graph, both on the reference
// kernels (graph evaluation) and through a session on the fast kernels against the reference
// path. Blocks whose conv output has another reader, whose conv has an activation, or whose add
// broadcasts stay unfused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "edgerun/session.h"
#include "passes/graph_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "runtime/infer_and_fold.h"
#include "util/compare.h"
#include "util/graph_builders.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

using testing::TensorFromDoubles;

Tensor Scalar(float v) { return Tensor::FromVector(DType::kF32, {}, std::vector<float>{v}); }

// A QDQ graph under construction (float ops with QuantizeLinear/DequantizeLinear pairs).
class QdqBlock {
 public:
  QdqBlock() { g_.opset_imports[""] = 13; }

  int Input(std::vector<int64_t> dims) {
    const int v = g_.AddValue("x", DType::kF32, ShapeFromDims(dims));
    g_.MarkInput(v);
    return v;
  }
  int Const(Tensor t) { return g_.AddConstant(Fresh("c"), std::move(t)); }
  int Op(const std::string& op, std::vector<int> inputs) {
    const int y = g_.AddValue(Fresh("v"));
    g_.AddNode(Fresh(op), op, std::move(inputs), {y}).opset = 13;
    return y;
  }
  Node& last() { return g_.nodes.back(); }
  int QDQ(int x, float scale, double zp, DType t) {
    const int s = Const(Scalar(scale));
    const int z = Const(TensorFromDoubles(t, {}, {zp}));
    return Op("DequantizeLinear", {Op("QuantizeLinear", {x, s, z}), s, z});
  }
  // Conv with s8 per-channel weights behind a DequantizeLinear and an int32 bias behind one.
  int Conv(int x, int64_t cin, int64_t cout, int64_t k, float x_scale, uint32_t seed) {
    const Tensor w = testing::RandomF32({cout, cin, k, k}, seed);
    const std::vector<float> f = w.ToFloatVector();
    const int64_t inner = cin * k * k;
    std::vector<double> scale(cout, 1e-6), q(f.size()), bias(cout);
    for (size_t i = 0; i < f.size(); ++i) {
      scale[i / inner] = std::max(scale[i / inner], std::fabs(double{f[i]}) / 127.0);
    }
    for (size_t i = 0; i < f.size(); ++i) q[i] = std::nearbyint(f[i] / scale[i / inner]);
    std::mt19937 rng(seed);
    std::vector<double> bias_scale(cout);
    for (int64_t c = 0; c < cout; ++c) {
      bias[c] = static_cast<double>(static_cast<int>(rng() % 2001) - 1000);
      bias_scale[c] = static_cast<double>(x_scale * static_cast<float>(scale[c]));
    }
    const int wq = Const(TensorFromDoubles(DType::kI8, {cout, cin, k, k}, q));
    const int ws = Const(TensorFromDoubles(DType::kF32, {cout}, scale));
    const int wz = Const(TensorFromDoubles(DType::kI8, {cout}, std::vector<double>(cout, 0.0)));
    const int wd = Op("DequantizeLinear", {wq, ws, wz});
    last().attrs["axis"] = Attribute::Int(0);
    const int bq = Const(TensorFromDoubles(DType::kI32, {cout}, bias));
    const int bs = Const(TensorFromDoubles(DType::kF32, {cout}, bias_scale));
    const int bz = Const(TensorFromDoubles(DType::kI32, {cout}, std::vector<double>(cout, 0.0)));
    const int bd = Op("DequantizeLinear", {bq, bs, bz});
    last().attrs["axis"] = Attribute::Int(0);
    const int y = Op("Conv", {x, wd, bd});
    last().attrs["kernel_shape"] = Attribute::Ints({k, k});
    last().attrs["pads"] = Attribute::Ints({k / 2, k / 2, k / 2, k / 2});
    return y;
  }
  void Output(int v) { g_.MarkOutput(v); }
  Graph graph() const { return g_; }

 private:
  std::string Fresh(const std::string& base) { return base + std::to_string(next_++); }
  Graph g_;
  int next_ = 0;
};

struct BlockSpec {
  int64_t channels = 8, hidden = 12, h = 6, w = 7;
  DType type = DType::kU8;
  bool residual_first = false;  // Add(residual, conv) instead of Add(conv, residual)
  bool relu_after_add = false;
  bool conv_relu = false;     // a Relu between the second conv and its Q: not fusable
  bool extra_reader = false;  // the second conv's output also is a graph output: not fusable
  bool broadcast = false;     // the residual is [1, C, 1, 1]: not fusable
};

struct Block {
  Graph graph;
  double out_step = 0;
};

Block MakeBlock(const BlockSpec& s, uint32_t seed) {
  QdqBlock b;
  const bool u8 = s.type == DType::kU8;
  const double zp = u8 ? 128 : 0;
  const int x = b.Input({1, s.channels, s.h, s.w});
  const float xs = 2.0f / 255;
  const int xd = b.QDQ(x, xs, zp, s.type);
  const int c1 = b.Conv(xd, s.channels, s.hidden, 3, xs, seed);
  const int r1 = b.Op("Relu", {c1});
  const float hs = 0.03f;
  const int h = b.QDQ(r1, hs, u8 ? 0 : -128, s.type);
  int c2 = b.Conv(h, s.hidden, s.channels, 1, hs, seed + 1);
  if (s.conv_relu) c2 = b.Op("Relu", {c2});
  const float ys = 0.025f;
  const int y = b.QDQ(c2, ys, zp + (u8 ? 3 : -3), s.type);
  if (s.extra_reader) b.Output(y);
  int residual = xd;
  if (s.broadcast) {
    const int pooled = b.Op("GlobalAveragePool", {xd});
    residual = b.QDQ(pooled, xs, zp, s.type);
  }
  int sum = s.residual_first ? b.Op("Add", {residual, y}) : b.Op("Add", {y, residual});
  if (s.relu_after_add) sum = b.Op("Relu", {sum});
  const float out_scale = 0.035f;
  b.Output(b.QDQ(sum, out_scale, s.relu_after_add ? (u8 ? 0 : -128) : zp - 5, s.type));
  return {b.graph(), out_scale};
}

// The session's pipeline up to and including the layout pass, without the residual fusion.
Graph Unfused(const Graph& model) {
  Graph g = model;
  EXPECT_TRUE(InferShapesAndFold(g, true, FoldMode::kKeepDequantize).ok());
  EXPECT_TRUE(RunGraphPasses(g, nullptr).ok());
  EXPECT_TRUE(InferShapesAndFold(g, true).ok());
  EXPECT_TRUE(ConvertToNhwc(g, nullptr).ok());
  EXPECT_TRUE(InferShapesAndFold(g, true).ok());
  return g;
}

int Count(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(),
                                        [&](const Node& n) { return n.op_type == op; }));
}

std::vector<Tensor> RandomInputs(const Graph& g, uint32_t seed) {
  std::vector<Tensor> inputs;
  for (int v : g.inputs)
    inputs.push_back(testing::RandomF32(StaticDims(*g.values[v].shape), seed++));
  return inputs;
}

double MaxSteps(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double step) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const std::vector<double> a = test_util::ToDoubles(got[i].view());
    const std::vector<double> b = test_util::ToDoubles(want[i].view());
    EXPECT_EQ(a.size(), b.size());
    worst = std::max(worst, test_util::MaxAbsError(a, b) / step);
  }
  return worst;
}

std::vector<Tensor> RunSession(const Graph& g, std::vector<KernelPath> paths,
                               const std::vector<Tensor>& inputs, int* fused) {
  Model m;
  m.graph = g;
  SessionOptions options;
  options.kernel_paths = std::move(paths);
  auto session = Session::Create(m, options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  Session& s = **session;
  *fused = Count(s.optimized_graph(), "QLinearConvAdd");
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_TRUE(s.SetInput(static_cast<int>(i), inputs[i].view()).ok());
  }
  const Status st = s.Run();
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<Tensor> out;
  for (int i = 0; i < s.num_outputs(); ++i) {
    const TensorView y = s.output(i);
    const std::vector<int64_t> dims(y.shape().begin(), y.shape().end());
    out.push_back(Tensor::FromBytes(y.dtype, dims, y.raw, y.bytes()).value());
  }
  return out;
}

TEST(FuseQLinearResidualTest, FusesResidualBlocksWithinOneStep) {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 12; ++trial) {
    BlockSpec s;
    s.channels = 3 + static_cast<int64_t>(rng() % 30);  // odd counts included
    s.hidden = 5 + static_cast<int64_t>(rng() % 40);
    s.h = 3 + static_cast<int64_t>(rng() % 12);
    s.w = 3 + static_cast<int64_t>(rng() % 12);
    s.type = trial % 3 == 2 ? DType::kI8 : DType::kU8;
    s.residual_first = trial % 2 == 1;
    s.relu_after_add = trial % 4 >= 2;
    SCOPED_TRACE("trial " + std::to_string(trial) + ": C " + std::to_string(s.channels) +
                 " hidden " + std::to_string(s.hidden) + " " + std::to_string(s.h) + "x" +
                 std::to_string(s.w) + " " + std::string(DTypeName(s.type)));
    const Block block = MakeBlock(s, 100 + trial);
    const Graph unfused = Unfused(block.graph);
    ASSERT_EQ(Count(unfused, "QLinearAdd"), 1);
    Graph fused = unfused;
    std::vector<std::string> log;
    ASSERT_TRUE(FuseQLinearResidual(fused, &log).ok());
    ASSERT_TRUE(ValidateGraph(fused).ok()) << ValidateGraph(fused).ToString();
    EXPECT_EQ(Count(fused, "QLinearAdd"), 0);
    EXPECT_EQ(Count(fused, "QLinearConvAdd"), 1);
    EXPECT_EQ(Count(fused, "QLinearConv"), 1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("(residual)"), std::string::npos) << log[0];

    const std::vector<Tensor> inputs = RandomInputs(block.graph, 7 + trial);
    Expected<std::vector<Tensor>> want = EvaluateGraph(unfused, inputs);
    Expected<std::vector<Tensor>> got = EvaluateGraph(fused, inputs);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_LE(MaxSteps(*got, *want, block.out_step), 1.0001);

    // End to end: the fast session fuses (oneDNN runs QLinearConvAdd), the reference session
    // runs the unfused NCHW graph.
    int fast_fused = 0, ref_fused = 0;
    const std::vector<Tensor> fast = RunSession(block.graph, {}, inputs, &fast_fused);
    const std::vector<Tensor> ref =
        RunSession(block.graph, {KernelPath::kReference}, inputs, &ref_fused);
    EXPECT_EQ(fast_fused, 1);
    EXPECT_EQ(ref_fused, 0);
    EXPECT_LE(MaxSteps(fast, ref, block.out_step), 1.0001);
  }
}

TEST(FuseQLinearResidualTest, LeavesOtherPatternsAlone) {
  BlockSpec relu, extra, broadcast;
  relu.conv_relu = true;
  extra.extra_reader = true;
  broadcast.broadcast = true;
  for (const BlockSpec& s : {relu, extra, broadcast}) {
    const Graph unfused = Unfused(MakeBlock(s, 5).graph);
    ASSERT_EQ(Count(unfused, "QLinearAdd"), 1);
    Graph g = unfused;
    std::vector<std::string> log;
    ASSERT_TRUE(FuseQLinearResidual(g, &log).ok());
    EXPECT_TRUE(log.empty()) << log[0];
    EXPECT_EQ(Count(g, "QLinearConvAdd"), 0);
    EXPECT_EQ(Count(g, "QLinearAdd"), 1);
  }
}

}  // namespace
}  // namespace edgerun
