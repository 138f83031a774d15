// FoldQdq (passes/fold_qdq.cc) on small QDQ graphs built the way ONNX Runtime's quantizer writes
// them: each pattern is rewritten into its int8 op (checked by op list and log line), the
// outputs stay within one quantization step of the unfused QDQ graph run literally on the
// reference kernels, and patterns with extra readers or non-constant parameters are left alone.
// Also covers FoldMode::kKeepDequantize of the folding sweep, which keeps the pattern visible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

// Builds QDQ graphs; values get their types from InferShapesAndFold in Finish().
class QdqGraph {
 public:
  QdqGraph() { g_.opset_imports[""] = 13; }

  int Input(const std::string& name, std::vector<int64_t> dims) {
    const int v = g_.AddValue(name, DType::kF32, ShapeFromDims(dims));
    g_.MarkInput(v);
    return v;
  }
  int Const(Tensor t) { return g_.AddConstant(Fresh("c"), std::move(t)); }
  int Op(const std::string& op, std::vector<int> inputs, const std::string& name = "") {
    const int y = g_.AddValue(Fresh("v"));
    Node& n = g_.AddNode(name.empty() ? Fresh(op) : name, op, std::move(inputs), {y});
    n.opset = 13;
    return y;
  }
  Node& last() { return g_.nodes.back(); }
  // QuantizeLinear then DequantizeLinear with the same per-tensor parameters (a fake-quantized
  // activation); returns the DQ output. `q_out` receives the int8 value.
  int QDQ(int x, float scale, double zp, DType t, int* q_out = nullptr) {
    const int s = Const(Scalar(scale));
    const int z = Const(TensorFromDoubles(t, {}, {zp}));
    const int q = Op("QuantizeLinear", {x, s, z});
    if (q_out != nullptr) *q_out = q;
    return Op("DequantizeLinear", {q, s, z});
  }
  // An int8 weight behind a DequantizeLinear: symmetric s8, per channel along `axis` (or per
  // tensor with axis -1), from random floats.
  int Weight(std::vector<int64_t> dims, int axis, uint32_t seed) {
    const Tensor w = testing::RandomF32(dims, seed);
    const std::vector<float> f = w.ToFloatVector();
    const int64_t channels = axis < 0 ? 1 : dims[axis];
    int64_t inner = 1;
    for (size_t d = axis < 0 ? 0 : axis + 1; d < dims.size(); ++d) inner *= dims[d];
    std::vector<double> scale(channels, 0.0), q(f.size());
    for (size_t i = 0; i < f.size(); ++i) {
      const int64_t c = axis < 0 ? 0 : (static_cast<int64_t>(i) / inner) % channels;
      scale[c] = std::max(scale[c], std::fabs(double{f[i]}) / 127.0);
    }
    for (size_t i = 0; i < f.size(); ++i) {
      const int64_t c = axis < 0 ? 0 : (static_cast<int64_t>(i) / inner) % channels;
      q[i] = std::nearbyint(f[i] / scale[c]);
    }
    const int wq = Const(TensorFromDoubles(DType::kI8, dims, q));
    const std::vector<int64_t> sdims =
        axis < 0 ? std::vector<int64_t>{} : std::vector<int64_t>{channels};
    const int s = Const(TensorFromDoubles(DType::kF32, sdims, scale));
    const int z = Const(TensorFromDoubles(DType::kI8, sdims, std::vector<double>(channels, 0.0)));
    const int y = Op("DequantizeLinear", {wq, s, z});
    if (axis >= 0) last().attrs["axis"] = Attribute::Int(axis);
    return y;
  }
  void Output(int v) { g_.MarkOutput(v); }

  // Types every value, keeping the weights' DequantizeLinear nodes (as the session does before
  // the passes).
  Graph Finish() {
    Graph g = g_;
    const Status st = InferShapesAndFold(g, /*fold=*/true, FoldMode::kKeepDequantize);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return g;
  }

 private:
  std::string Fresh(const std::string& base) { return base + std::to_string(next_++); }
  Graph g_;
  int next_ = 0;
};

std::vector<std::string> OpTypes(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

bool LogHas(const std::vector<std::string>& log, const std::string& needle) {
  return std::any_of(log.begin(), log.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

// Runs FoldQdq and checks validity, then compares outputs (float, after the final DQ) against
// the unfused graph: within `step` (one quantization step of the output) everywhere.
Graph FoldAndCompare(const Graph& before, double step, std::vector<std::string>* log) {
  Graph after = before;
  const Status st = FoldQdq(after, log);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(ValidateGraph(after).ok()) << ValidateGraph(after).ToString();
  std::vector<Tensor> inputs;
  uint32_t seed = 40;
  for (int v : before.inputs) {
    Tensor x = testing::RandomF32(StaticDims(*before.values[v].shape), seed++);
    inputs.push_back(std::move(x));
  }
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  EXPECT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!want.ok() || !got.ok()) return after;
  for (size_t i = 0; i < got->size(); ++i) {
    const std::vector<double> a = test_util::ToDoubles((*got)[i].view());
    const std::vector<double> b = test_util::ToDoubles((*want)[i].view());
    EXPECT_EQ(a.size(), b.size());
    EXPECT_LE(test_util::MaxAbsError(a, b), step * 1.0001) << "output " << i;
  }
  return after;
}

// x -> QDQ(u8) -> Conv(DQ(W s8 per channel), float bias) -> Relu -> QDQ(u8) -> y
TEST(FoldQdqTest, ConvReluBecomesQLinearConv) {
  QdqGraph b;
  const int x = b.Input("x", {1, 3, 8, 8});
  const int xd = b.QDQ(x, 2.0f / 255, 128, DType::kU8);
  const int w = b.Weight({4, 3, 3, 3}, 0, 1);
  const int bias = b.Const(testing::RandomF32({4}, 2));
  const int c = b.Op("Conv", {xd, w, bias}, "conv");
  b.last().attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  const int r = b.Op("Relu", {c});
  const float ys = 0.02f;
  b.Output(b.QDQ(r, ys, 0, DType::kU8));
  std::vector<std::string> log;
  const Graph after = FoldAndCompare(b.Finish(), ys, &log);
  EXPECT_EQ(OpTypes(after),
            (std::vector<std::string>{"QuantizeLinear", "QLinearConv", "DequantizeLinear"}));
  EXPECT_TRUE(LogHas(log, "fold_qdq: node 'conv' (Conv) -> QLinearConv")) << log.front();
  const Node& qc = after.nodes[1];
  EXPECT_EQ(qc.name, "conv");
  ASSERT_EQ(qc.inputs.size(), 9u);
  EXPECT_EQ(after.values[qc.inputs[8]].dtype, DType::kI32);
  EXPECT_EQ(qc.attr("activation")->s, "Relu");
  EXPECT_EQ(qc.attr("pads")->ints, (std::vector<int64_t>{1, 1, 1, 1}));
}

// The classifier head of torchvision models: GlobalAveragePool -> Flatten -> Gemm, each with
// Q/DQ around it. The Flatten runs on the int8 tensor, and the Gemm becomes a 1x1 QLinearConv on
// the pooled [N, K, 1, 1] tensor plus a Flatten, for W as [M, K] (transB=1, per-channel axis 0)
// and as [K, M] (transB=0, axis 1). alpha != 1 keeps the float Gemm.
TEST(FoldQdqTest, ClassifierGemmBecomesQLinearConv) {
  for (int trans_b : {1, 0, -1}) {
    SCOPED_TRACE("transB " + std::to_string(trans_b));
    QdqGraph b;
    const int x = b.Input("x", {2, 5, 3, 3});
    const int xd = b.QDQ(x, 2.0f / 255, 128, DType::kU8);
    const int gap = b.Op("GlobalAveragePool", {xd});
    const float ps = 1.0f / 255;
    const int gd = b.QDQ(gap, ps, 120, DType::kU8);
    const int flat = b.Op("Flatten", {gd});
    const int fd = b.QDQ(flat, ps, 120, DType::kU8);
    const int w = trans_b != 0 ? b.Weight({7, 5}, 0, 11) : b.Weight({5, 7}, 1, 11);
    const int bias = b.Const(testing::RandomF32({7}, 12));
    const int y = b.Op("Gemm", {fd, w, bias}, "fc");
    b.last().attrs["transB"] = Attribute::Int(trans_b != 0 ? 1 : 0);
    if (trans_b < 0) b.last().attrs["alpha"] = Attribute::Float(0.5f);
    const float ys = 0.02f;
    b.Output(b.QDQ(y, ys, 100, DType::kU8));
    std::vector<std::string> log;
    // The pooled value's one-step differences feed the Gemm: two steps of the final scale.
    const Graph after = FoldAndCompare(b.Finish(), 2 * ys, &log);
    if (trans_b < 0) {
      EXPECT_FALSE(LogHas(log, "(Gemm) -> QLinearConv"));
      const std::vector<std::string> ops = OpTypes(after);
      EXPECT_EQ(std::count(ops.begin(), ops.end(), "Gemm"), 1);
      continue;
    }
    EXPECT_EQ(OpTypes(after),
              (std::vector<std::string>{"QuantizeLinear", "QLinearGlobalAveragePool", "QLinearConv",
                                        "Flatten", "DequantizeLinear"}));
    EXPECT_TRUE(LogHas(log, "fold_qdq: node 'fc' (Gemm) -> QLinearConv 1x1 + Flatten"));
    const Node& conv = after.nodes[2];
    EXPECT_EQ(ValueType(after, conv.inputs[3]).dims, (std::vector<int64_t>{7, 5, 1, 1}));
    EXPECT_EQ(ValueType(after, conv.outputs[0]).dims, (std::vector<int64_t>{2, 7, 1, 1}));
    ASSERT_EQ(conv.inputs.size(), 9u);
    EXPECT_EQ(after.values[conv.inputs[8]].dtype, DType::kI32);
  }
}

// s8 activations, DQ(int32) bias, Clip(0, 6) as inputs, depthwise, and a Conv whose Relu was
// already fused by FuseActivations.
TEST(FoldQdqTest, ClipInt32BiasAndPrefusedActivation) {
  QdqGraph b;
  const int x = b.Input("x", {1, 4, 6, 6});
  const float xs = 1.0f / 127;
  const int xd = b.QDQ(x, xs, 0, DType::kI8);
  const int w = b.Weight({4, 1, 3, 3}, 0, 3);
  // Bias as ORT writes it: int32 with scale x_scale * w_scale (here a single made-up scale, so
  // the pass must requantize it).
  const int bq = b.Const(TensorFromDoubles(DType::kI32, {4}, {-300, 25, 0, 1000}));
  const int bs = b.Const(Scalar(1e-4f));
  const int bias = b.Op("DequantizeLinear", {bq, bs});
  const int c = b.Op("Conv", {xd, w, bias}, "dw");
  b.last().attrs["group"] = Attribute::Int(4);
  b.last().attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  const int lo = b.Const(Scalar(0)), hi = b.Const(Scalar(0.3f));
  const int r = b.Op("Clip", {c, lo, hi});
  const float ys = 0.3f / 127;
  const int yd = b.QDQ(r, ys, 0, DType::kI8);
  // A second conv fed by the first, with its Relu fused beforehand.
  const int w2 = b.Weight({2, 4, 1, 1}, -1, 4);
  const int c2 = b.Op("Conv", {yd, w2}, "pw");
  const int r2 = b.Op("Relu", {c2});
  b.Output(b.QDQ(r2, 0.01f, -128, DType::kI8));
  Graph g = b.Finish();
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  std::vector<std::string> log;
  // Two int8 convs in a row: the first one's one-step differences feed the second, so allow
  // two steps of the final scale.
  const Graph after = FoldAndCompare(g, 2 * 0.01, &log);
  EXPECT_EQ(OpTypes(after), (std::vector<std::string>{"QuantizeLinear", "QLinearConv",
                                                      "QLinearConv", "DequantizeLinear"}));
  EXPECT_EQ(after.nodes[1].attr("activation")->s, "Clip");
  EXPECT_EQ(after.nodes[1].attr("activation_params")->floats, (std::vector<float>{0, 0.3f}));
  EXPECT_EQ(after.nodes[2].attr("activation")->s, "Relu");
  EXPECT_EQ(after.nodes[2].inputs.size(), 8u);  // no bias
  EXPECT_TRUE(LogHas(log, "node 'pw' (Conv) -> QLinearConv"));
  EXPECT_TRUE(LogHas(log, "left without readers"));
}

// a -> QDQ -> MatMul(DQ(B s8 per column)) -> QDQ; two residual-style inputs -> Add -> Relu -> QDQ;
// GlobalAveragePool between QDQs.
TEST(FoldQdqTest, MatMulAddAndGlobalAveragePool) {
  QdqGraph b;
  const int a = b.Input("a", {2, 5});
  const int ad = b.QDQ(a, 2.0f / 255, 127, DType::kU8);
  const int w = b.Weight({5, 3}, 1, 5);
  const int mm = b.Op("MatMul", {ad, w}, "mm");
  b.Output(b.QDQ(mm, 0.02f, 120, DType::kU8));

  const int p = b.Input("p", {1, 3, 4, 4});
  const int q = b.Input("q", {1, 3, 4, 4});
  const int pd = b.QDQ(p, 2.0f / 255, 128, DType::kU8);
  const int qd = b.QDQ(q, 1.0f / 127, 0, DType::kI8);
  const int sum = b.Op("Add", {pd, qd}, "add");
  const int r = b.Op("Relu", {sum});
  const int sd = b.QDQ(r, 2.0f / 255, 0, DType::kU8);
  const int gap = b.Op("GlobalAveragePool", {sd}, "gap");
  b.Output(b.QDQ(gap, 1.0f / 255, 0, DType::kU8));
  std::vector<std::string> log;
  const Graph after = FoldAndCompare(b.Finish(), 0.02, &log);
  const std::vector<std::string> ops = OpTypes(after);
  for (const char* op : {"QLinearMatMul", "QLinearAdd", "QLinearGlobalAveragePool"}) {
    EXPECT_EQ(std::count(ops.begin(), ops.end(), op), 1) << op;
  }
  // Left: the three input Qs and the two output DQs.
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "QuantizeLinear"), 3);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "DequantizeLinear"), 2);
  EXPECT_EQ(ops.size(), 8u);
  EXPECT_TRUE(LogHas(log, "node 'add' (Add) -> QLinearAdd"));
  EXPECT_TRUE(LogHas(log, "node 'gap' (GlobalAveragePool) -> QLinearGlobalAveragePool"));
}

// MaxPool between identical QDQ parameters runs on the integers; Q(DQ(x)) with identical
// parameters disappears.
TEST(FoldQdqTest, MaxPoolAndRedundantRequantization) {
  QdqGraph b;
  const int x = b.Input("x", {1, 2, 6, 6});
  int xq = -1;
  const int xd = b.QDQ(x, 2.0f / 255, 128, DType::kU8, &xq);
  const int mp = b.Op("MaxPool", {xd}, "pool");
  b.last().attrs["kernel_shape"] = Attribute::Ints({3, 3});
  b.last().attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  b.last().attrs["strides"] = Attribute::Ints({2, 2});
  const int md = b.QDQ(mp, 2.0f / 255, 128, DType::kU8);
  // Requantized again with the same parameters.
  b.Output(b.QDQ(md, 2.0f / 255, 128, DType::kU8));
  std::vector<std::string> log;
  const Graph after = FoldAndCompare(b.Finish(), 2.0 / 255, &log);
  EXPECT_EQ(OpTypes(after),
            (std::vector<std::string>{"QuantizeLinear", "MaxPool", "DequantizeLinear"}));
  EXPECT_EQ(after.values[after.nodes[1].inputs[0]].dtype, DType::kU8);
  EXPECT_TRUE(LogHas(log, "node 'pool' (MaxPool) -> MaxPool"));
  EXPECT_TRUE(LogHas(log, "with the same parameters -> removed"));
}

TEST(FoldQdqTest, LeavesPatternsWithOtherReadersOrDifferentParameters) {
  QdqGraph b;
  const int x = b.Input("x", {1, 2, 5, 5});
  const int xd = b.QDQ(x, 2.0f / 255, 128, DType::kU8);
  // Conv output is also a graph output.
  const int c = b.Op("Conv", {xd, b.Weight({2, 2, 1, 1}, 0, 7)}, "conv_out");
  b.Output(c);
  b.Output(b.QDQ(c, 0.02f, 128, DType::kU8));
  // Conv output read twice (by the Q and by a Neg).
  const int c2 = b.Op("Conv", {xd, b.Weight({2, 2, 1, 1}, 0, 8)}, "conv_shared");
  b.Output(b.QDQ(c2, 0.02f, 128, DType::kU8));
  b.Output(b.Op("Neg", {c2}));
  // MaxPool whose output parameters differ from its input's.
  const int mp = b.Op("MaxPool", {xd}, "pool");
  b.last().attrs["kernel_shape"] = Attribute::Ints({2, 2});
  b.Output(b.QDQ(mp, 4.0f / 255, 128, DType::kU8));
  // A weight scale that is a graph input, not a constant.
  const int ws = b.Input("ws", {});
  const int wq = b.Const(TensorFromDoubles(DType::kI8, {2, 2, 1, 1}, {1, 2, 3, 4}));
  const int w = b.Op("DequantizeLinear", {wq, ws});
  b.Output(b.QDQ(b.Op("Conv", {xd, w}, "conv_runtime_scale"), 0.02f, 128, DType::kU8));
  const Graph before = b.Finish();
  Graph after = before;
  std::vector<std::string> log;
  ASSERT_TRUE(FoldQdq(after, &log).ok());
  EXPECT_TRUE(log.empty()) << log.front();
  EXPECT_EQ(OpTypes(after), OpTypes(before));
}

TEST(FoldQdqTest, KeepDequantizeModeLeavesWeightDequantizeForThePass) {
  QdqGraph b;
  const int x = b.Input("x", {1, 2, 4, 4});
  const int c = b.Op("Conv", {x, b.Weight({3, 2, 1, 1}, 0, 9)});
  b.Output(c);
  const Graph kept = b.Finish();
  EXPECT_EQ(OpTypes(kept), (std::vector<std::string>{"DequantizeLinear", "Conv"}));
  Graph folded = kept;
  ASSERT_TRUE(InferShapesAndFold(folded, /*fold=*/true).ok());
  EXPECT_EQ(OpTypes(folded), (std::vector<std::string>{"Conv"}));
  EXPECT_EQ(folded.values[folded.nodes[0].inputs[1]].dtype, DType::kF32);
}

// After FoldQdq, the layout pass runs the int8 ops NHWC end to end: QLinearConv and
// QLinearGlobalAveragePool take their NHWC forms, the residual QLinearAdd follows its NHWC
// inputs, so the only Transpose is at the graph input; results are bit-identical to NCHW.
TEST(FoldQdqTest, Int8OpsStayNhwcThroughTheLayoutPass) {
  QdqGraph b;
  const int x = b.Input("x", {1, 3, 6, 6});
  const int xd = b.QDQ(x, 2.0f / 255, 128, DType::kU8);
  const int c1 = b.Op("Conv", {xd, b.Weight({5, 3, 3, 3}, 0, 11)}, "c1");
  b.last().attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  const int r1 = b.QDQ(b.Op("Relu", {c1}), 0.05f, 0, DType::kU8);
  const int c2 = b.Op("Conv", {r1, b.Weight({5, 5, 1, 1}, 0, 12)}, "c2");
  const int c2d = b.QDQ(c2, 0.04f, 120, DType::kU8);
  const int sum = b.QDQ(b.Op("Add", {c2d, r1}, "add"), 0.06f, 110, DType::kU8);
  const int gap = b.Op("GlobalAveragePool", {sum}, "gap");
  b.Output(b.QDQ(gap, 0.01f, 100, DType::kU8));
  Graph folded = b.Finish();
  ASSERT_TRUE(FoldQdq(folded, nullptr).ok());
  Graph nhwc = folded;
  ASSERT_TRUE(ConvertToNhwc(nhwc, nullptr).ok());
  int transposes = 0;
  for (const Node& n : nhwc.nodes) {
    transposes += n.op_type == "Transpose";
    if (n.op_type == "QLinearConv" || n.op_type == "QLinearGlobalAveragePool") {
      EXPECT_EQ(n.domain, kNhwcDomain) << n.name;
    }
    if (n.op_type == "QLinearAdd") {
      for (int v : {n.inputs[0], n.inputs[3], n.outputs[0]}) {
        EXPECT_EQ(nhwc.values[v].layout, Layout::kNHWC) << nhwc.values[v].name;
      }
    }
  }
  EXPECT_EQ(transposes, 1);  // the graph input; the pooled [1,1,1,C] output is a Reshape
  const std::vector<Tensor> inputs = {testing::RandomF32({1, 3, 6, 6}, 3)};
  Expected<std::vector<Tensor>> want = EvaluateGraph(folded, inputs);
  Expected<std::vector<Tensor>> got = EvaluateGraph(nhwc, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(test_util::ToDoubles((*got)[0].view()), test_util::ToDoubles((*want)[0].view()));
}

}  // namespace
}  // namespace edgerun
