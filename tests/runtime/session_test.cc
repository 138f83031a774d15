#include "edgerun/session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::MakeShapeSubgraphModel;
using testing::MakeSmallCnn;
using testing::RandomF32;

// Evaluates the model node by node with EvaluateNode (no passes, no arena): the oracle.
std::vector<float> EvaluateUnoptimized(const Model& m, const Tensor& input) {
  const Graph& g = m.graph;
  std::vector<std::shared_ptr<const Tensor>> values(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v) values[v] = g.values[v].constant;
  values[g.inputs[0]] = std::make_shared<const Tensor>(input);
  for (const Node& node : g.nodes) {
    std::vector<const Tensor*> ins;
    for (int v : node.inputs) ins.push_back(v >= 0 ? values[v].get() : nullptr);
    auto outs = EvaluateNode(node, ins);
    EXPECT_TRUE(outs.ok()) << outs.status().message();
    if (!outs.ok()) return {};
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      values[node.outputs[i]] = std::make_shared<const Tensor>((*outs)[i]);
    }
  }
  return values[g.outputs[0]]->ToFloatVector();
}

TEST(SessionTest, SmallCnnMatchesNodeByNodeEvaluation) {
  Model m = MakeSmallCnn();
  auto session = Session::Create(m, SessionOptions{});
  ASSERT_TRUE(session.ok()) << session.status().message();
  Session& s = **session;
  Tensor x = RandomF32({1, 3, 16, 16}, 42);
  ASSERT_TRUE(s.SetInput(0, x.view()).ok());
  ASSERT_TRUE(s.Run().ok());
  const std::vector<float> expected = EvaluateUnoptimized(m, x);
  ASSERT_EQ(expected.size(), 10u);
  const TensorView y = s.output(0);
  ASSERT_EQ(y.num_elements(), 10);
  float sum = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR(y.data<float>()[i], expected[i], 1e-5f) << i;
    sum += y.data<float>()[i];
  }
  EXPECT_NEAR(sum, 1.0f, 1e-5f);
  EXPECT_GT(s.arena_bytes(), 0u);
  // Running again on the same input gives the same result: inputs survive a run.
  std::vector<float> first(y.data<float>(), y.data<float>() + 10);
  ASSERT_TRUE(s.Run().ok());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(y.data<float>()[i], first[i]);
}

TEST(SessionTest, ShapeSubgraphFoldsToConstants) {
  Model m = MakeShapeSubgraphModel();
  SessionOptions options;
  options.symbol_values["N"] = 3;
  auto session = Session::Create(m, options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (const Node& node : (*session)->optimized_graph().nodes) {
    EXPECT_NE(node.op_type, "Shape");
    EXPECT_NE(node.op_type, "Gather");
    EXPECT_NE(node.op_type, "Concat");
  }
  EXPECT_EQ((*session)->output(0).shape()[0], 3);
  EXPECT_EQ((*session)->output(0).shape()[1], 4);
}

TEST(SessionTest, UnboundSymbolicDimIsAnErrorNamingInputAndSymbol) {
  Model m = MakeShapeSubgraphModel();
  auto session = Session::Create(m, SessionOptions{});
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(session.status().message().find("input 'x'"), std::string::npos);
  EXPECT_NE(session.status().message().find("'N'"), std::string::npos);
}

TEST(SessionTest, InputShapeContradictionsAreErrors) {
  Model m = MakeSmallCnn();
  SessionOptions wrong_rank;
  wrong_rank.input_shapes["x"] = {1, 3, 16};
  auto a = Session::Create(m, wrong_rank);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("rank 3"), std::string::npos) << a.status().message();

  SessionOptions wrong_dim;
  wrong_dim.input_shapes["x"] = {1, 4, 16, 16};
  auto b = Session::Create(m, wrong_dim);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("fixes it to 3"), std::string::npos) << b.status().message();

  SessionOptions unknown;
  unknown.input_shapes["nope"] = {1};
  auto c = Session::Create(m, unknown);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'nope'"), std::string::npos);
}

TEST(SessionTest, AllUnsupportedOpsAreListedAtOnce) {
  Model m;
  m.path = "two_unknown.onnx";
  Graph& g = m.graph;
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims({4}));
  g.MarkInput(x);
  const int a = g.AddValue("a"), b = g.AddValue("b"), c = g.AddValue("c");
  g.AddNode("first_bad", "FancyOp", {x}, {a});
  g.AddNode("ok_relu", "Relu", {a}, {b});
  Node& n = g.AddNode("second_bad", "OtherOp", {b}, {c});
  n.domain = "com.vendor";
  g.MarkOutput(c);
  auto session = Session::Create(m, SessionOptions{});
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kUnsupported);
  const std::string& msg = session.status().message();
  EXPECT_NE(msg.find("two_unknown.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("first_bad"), std::string::npos) << msg;
  EXPECT_NE(msg.find("FancyOp"), std::string::npos) << msg;
  EXPECT_NE(msg.find("second_bad"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("ok_relu"), std::string::npos) << msg;
}

TEST(SessionTest, AbsurdDimsFailWithoutAllocating) {
  Model m = MakeShapeSubgraphModel();
  SessionOptions options;
  options.input_shapes["x"] = {int64_t{1} << 40, 4};
  auto session = Session::Create(m, options);
  ASSERT_FALSE(session.ok());
  EXPECT_TRUE(session.status().code() == StatusCode::kResourceExhausted ||
              session.status().code() == StatusCode::kInvalidModel)
      << session.status().ToString();
}

TEST(SessionTest, CallerProvidedArenaIsUsed) {
  Model m = MakeSmallCnn();
  auto probe = Session::Create(m, SessionOptions{});
  ASSERT_TRUE(probe.ok());
  const size_t bytes = (*probe)->arena_bytes();
  std::byte* buffer = static_cast<std::byte*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  SessionOptions options;
  options.external_arena = std::span<std::byte>(buffer, bytes);
  auto session = Session::Create(m, options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  const auto* in = static_cast<const std::byte*>((*session)->input(0).raw);
  const auto* out = static_cast<const std::byte*>((*session)->output(0).raw);
  EXPECT_TRUE(in >= buffer && in < buffer + bytes);
  EXPECT_TRUE(out >= buffer && out < buffer + bytes);
  Tensor x = RandomF32({1, 3, 16, 16}, 7);
  ASSERT_TRUE((*session)->SetInput(0, x.view()).ok());
  ASSERT_TRUE((*session)->Run().ok());
  session->reset();
  std::free(buffer);

  SessionOptions too_small;
  std::vector<std::byte> small(64);
  too_small.external_arena = std::span<std::byte>(small.data(), small.size());
  auto bad = Session::Create(m, too_small);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("external arena"), std::string::npos);
}

TEST(SessionTest, SetInputChecksDtypeAndShape) {
  Model m = MakeSmallCnn();
  auto session = Session::Create(m, SessionOptions{});
  ASSERT_TRUE(session.ok());
  Tensor wrong_shape = RandomF32({1, 3, 8, 8}, 1);
  Status s1 = (*session)->SetInput(0, wrong_shape.view());
  ASSERT_FALSE(s1.ok());
  EXPECT_NE(s1.message().find("input 'x' expects shape 1x3x16x16"), std::string::npos)
      << s1.message();
  auto wrong_type = Tensor::Create(DType::kI32, {1, 3, 16, 16});
  Status s2 = (*session)->SetInput(0, wrong_type->view());
  ASSERT_FALSE(s2.ok());
  EXPECT_NE(s2.message().find("expects f32, got i32"), std::string::npos) << s2.message();
}

TEST(SessionTest, ConstantInputsFreezeShapeTensors) {
  Model m;
  m.path = "reshape_by_input";
  Graph& g = m.graph;
  g.opset_imports[""] = 14;
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims({2, 6}));
  const int shape = g.AddValue("shape", DType::kI64, ShapeFromDims({2}));
  g.MarkInput(x);
  g.MarkInput(shape);
  const int y = g.AddValue("y");
  g.AddNode("reshape", "Reshape", {x, shape}, {y});
  g.MarkOutput(y);

  auto dynamic = Session::Create(m, SessionOptions{});
  ASSERT_FALSE(dynamic.ok());
  EXPECT_EQ(dynamic.status().code(), StatusCode::kUnsupported) << dynamic.status().ToString();

  SessionOptions options;
  options.constant_inputs["shape"] =
      Tensor::FromVector(DType::kI64, {2}, std::vector<int64_t>{3, 4});
  auto session = Session::Create(m, options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ((*session)->num_inputs(), 1);
  EXPECT_EQ(DimsToString((*session)->output(0).shape()), "3x4");

  SessionOptions wrong;
  wrong.constant_inputs["shape"] = Tensor::FromVector(DType::kI32, {2}, std::vector<int32_t>{3, 4});
  auto bad = Session::Create(m, wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("constant input 'shape' is i32"), std::string::npos)
      << bad.status().message();
}

TEST(SessionTest, ProfilingCountsEveryNode) {
  Model m = MakeSmallCnn();
  SessionOptions options;
  options.enable_profiling = true;
  auto session = Session::Create(m, options);
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Run().ok());
  ASSERT_TRUE((*session)->Run().ok());
  for (const NodeProfile& p : (*session)->profile()) EXPECT_EQ(p.runs, 2);
  EXPECT_EQ((*session)->profile().size(), (*session)->optimized_graph().nodes.size());
}

// The load profile names every op type of the optimized graph once, slowest first, and its
// per-op times add up to no more than the kernel phase they were measured in.
TEST(SessionTest, LoadProfileCoversEveryOpType) {
  Model m = MakeSmallCnn();
  auto session = Session::Create(m, SessionOptions{});
  ASSERT_TRUE(session.ok()) << session.status().message();
  const LoadProfile& lp = (*session)->load_profile();
  EXPECT_GE(lp.graph_ms, 0);
  EXPECT_GT(lp.kernels_ms, 0);
  EXPECT_GE(lp.plan_ms, 0);
  std::set<std::string> want, got;
  for (const Node& n : (*session)->optimized_graph().nodes) want.insert(n.op_type);
  double sum = 0;
  for (size_t i = 0; i < lp.kernels_by_op.size(); ++i) {
    const auto& [op, ms] = lp.kernels_by_op[i];
    EXPECT_TRUE(got.insert(op).second) << op << " listed twice";
    EXPECT_GE(ms, 0) << op;
    if (i > 0) {
      EXPECT_LE(ms, lp.kernels_by_op[i - 1].second) << op;
    }
    sum += ms;
  }
  EXPECT_EQ(got, want);
  EXPECT_LE(sum, lp.kernels_ms + 1e-9);
}

}  // namespace
}  // namespace edgerun
