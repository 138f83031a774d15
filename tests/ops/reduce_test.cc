// Shape and type inference of the reduce family (ops/reduce.cc), every opset form.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/op_def.h"
#include "util/graph_builders.h"
#include "runtime/evaluate_node.h"

namespace edgerun {
namespace {

using testing::MakeNode;

Tensor I64(std::vector<int64_t> dims, const std::vector<int64_t>& v) {
  return Tensor::FromVector(DType::kI64, std::move(dims), v);
}

// Runs inference; `consts[i]` is the constant data of input i (nullptr: not a constant).
Expected<std::vector<TensorType>> Infer(const Node& n, const std::vector<TensorType>& in,
                                        std::vector<const Tensor*> consts = {}) {
  consts.resize(in.size(), nullptr);
  return InferNode(n, in, consts);
}

TensorType F32(std::vector<int64_t> dims) { return {DType::kF32, std::move(dims)}; }

TEST(ReduceInferTest, AxesAttributeKeepDims) {
  Node n = MakeNode("ReduceMean", 13, 1);
  n.attrs["axes"] = Attribute::Ints({1, -1});
  auto r = Infer(n, {F32({2, 3, 4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({2, 1, 1}));

  n.attrs["keepdims"] = Attribute::Int(0);
  r = Infer(n, {F32({2, 3, 4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({2}));
}

TEST(ReduceInferTest, NoAxesReducesEverything) {
  for (const char* op : {"ReduceMax", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare"}) {
    Node n = MakeNode(op, 11, 1);
    auto r = Infer(n, {{DType::kF64, {2, 3, 4}}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)[0], (TensorType{DType::kF64, {1, 1, 1}})) << op;
    n.attrs["keepdims"] = Attribute::Int(0);
    r = Infer(n, {{DType::kF64, {2, 3, 4}}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].dims, std::vector<int64_t>{}) << op;
  }
}

TEST(ReduceInferTest, ReduceSumAxesInputFromOpset13) {
  Node n = MakeNode("ReduceSum", 13, 2);
  n.attrs["keepdims"] = Attribute::Int(0);
  Tensor axes = I64({1}, {0});
  auto r = Infer(n, {{DType::kI32, {5, 6}}, {DType::kI64, {1}}}, {nullptr, &axes});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kI32, {6}}));

  // The same axes as an attribute are an error from opset 13 on.
  Node bad = MakeNode("ReduceSum", 13, 1);
  bad.attrs["axes"] = Attribute::Ints({0});
  r = Infer(bad, {F32({5, 6})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node 'n0' (ReduceSum)"), std::string::npos);
}

TEST(ReduceInferTest, ReduceSumAxesAttributeBeforeOpset13) {
  Node n = MakeNode("ReduceSum", 11, 1);
  n.attrs["axes"] = Attribute::Ints({0});
  auto r = Infer(n, {F32({5, 6})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({1, 6}));

  Node bad = MakeNode("ReduceSum", 11, 2);
  Tensor axes = I64({1}, {0});
  r = Infer(bad, {F32({5, 6}), {DType::kI64, {1}}}, {nullptr, &axes});
  EXPECT_FALSE(r.ok());
}

TEST(ReduceInferTest, OtherReductionsTakeAxesInputFromOpset18) {
  Node n = MakeNode("ReduceMax", 18, 2);
  Tensor axes = I64({2}, {-1, 0});
  auto r = Infer(n, {F32({2, 3, 4}), {DType::kI64, {2}}}, {nullptr, &axes});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({1, 3, 1}));

  // At opset 17 ReduceMax still takes an attribute.
  Node old = MakeNode("ReduceMax", 17, 2);
  r = Infer(old, {F32({2, 3, 4}), {DType::kI64, {2}}}, {nullptr, &axes});
  EXPECT_FALSE(r.ok());
}

TEST(ReduceInferTest, EmptyAxesInputAndNoop) {
  // A non-constant axes input is fine when its shape says it is empty.
  Node n = MakeNode("ReduceSum", 13, 2);
  auto r = Infer(n, {F32({3, 2}), {DType::kI64, {0}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({1, 1}));

  n.attrs["noop_with_empty_axes"] = Attribute::Int(1);
  r = Infer(n, {F32({3, 2}), {DType::kI64, {0}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({3, 2}));

  // Omitted axes input behaves like an empty one.
  Node omitted = MakeNode("ReduceSum", 13, 1);
  omitted.attrs["noop_with_empty_axes"] = Attribute::Int(1);
  r = Infer(omitted, {F32({3, 2})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], F32({3, 2}));
}

TEST(ReduceInferTest, NonConstantAxesAreUnsupported) {
  Node n = MakeNode("ReduceSum", 13, 2);
  auto r = Infer(n, {F32({3, 2}), {DType::kI64, {1}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(ReduceInferTest, ZeroSizeReducedDim) {
  Node n = MakeNode("ReduceProd", 13, 1);
  n.attrs["axes"] = Attribute::Ints({1});
  auto r = Infer(n, {F32({2, 0, 4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({2, 1, 4}));
}

TEST(ReduceInferTest, BadAxesNameTheNode) {
  Node n = MakeNode("ReduceL1", 13, 1);
  n.name = "l1";
  n.attrs["axes"] = Attribute::Ints({3});
  auto r = Infer(n, {F32({2, 3})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node 'l1' (ReduceL1)"), std::string::npos);
  EXPECT_NE(r.status().message().find("out of range"), std::string::npos);

  n.attrs["axes"] = Attribute::Ints({1, -1});
  r = Infer(n, {F32({2, 3})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("repeat"), std::string::npos);
}

TEST(ReduceInferTest, BoolInputUnsupported) {
  Node n = MakeNode("ReduceSum", 11, 1);
  auto r = Infer(n, {{DType::kBool, {2}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(ArgReduceInferTest, ShapesAndInt64Output) {
  Node n = MakeNode("ArgMax", 13, 1);
  auto r = Infer(n, {F32({2, 3, 4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kI64, {1, 3, 4}}));

  Node m = MakeNode("ArgMin", 11, 1);
  m.attrs["axis"] = Attribute::Int(-1);
  m.attrs["keepdims"] = Attribute::Int(0);
  r = Infer(m, {{DType::kI32, {2, 3, 4}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kI64, {2, 3}}));

  m.attrs["axis"] = Attribute::Int(3);
  EXPECT_FALSE(Infer(m, {F32({2, 3, 4})}).ok());
  // No index exists over an empty axis.
  m.attrs["axis"] = Attribute::Int(1);
  EXPECT_FALSE(Infer(m, {F32({2, 0, 4})}).ok());
}

TEST(SoftmaxInferTest, SameTypeOutAndAxisChecks) {
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    for (int opset : {11, 13}) {
      Node n = MakeNode(op, opset, 1);
      auto r = Infer(n, {F32({3, 4, 5})});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ((*r)[0], F32({3, 4, 5}));
      n.attrs["axis"] = Attribute::Int(-4);
      EXPECT_FALSE(Infer(n, {F32({3, 4, 5})}).ok()) << op << opset;
    }
  }
  Node n = MakeNode("Softmax", 13, 1);
  auto r = Infer(n, {{DType::kI32, {3}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(TopKInferTest, KAttributeBeforeOpset10) {
  Node n = MakeNode("TopK", 1, 1, 2);
  n.attrs["k"] = Attribute::Int(2);
  auto r = Infer(n, {F32({3, 4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({3, 2}));
  EXPECT_EQ((*r)[1], (TensorType{DType::kI64, {3, 2}}));

  Node missing = MakeNode("TopK", 1, 1, 2);
  EXPECT_FALSE(Infer(missing, {F32({3, 4})}).ok());
}

TEST(TopKInferTest, KInputFromOpset10) {
  for (int opset : {10, 11}) {
    Node n = MakeNode("TopK", opset, 2, 2);
    n.attrs["axis"] = Attribute::Int(0);
    Tensor k = I64({1}, {3});
    auto r = Infer(n, {F32({3, 4}), {DType::kI64, {1}}}, {nullptr, &k});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)[0], F32({3, 4}));
    EXPECT_EQ((*r)[1], (TensorType{DType::kI64, {3, 4}}));

    Tensor big = I64({1}, {4});
    r = Infer(n, {F32({3, 4}), {DType::kI64, {1}}}, {nullptr, &big});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("k = 4"), std::string::npos);

    r = Infer(n, {F32({3, 4}), {DType::kI64, {1}}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  }
}

TEST(CumSumInferTest, ShapeAndAxisChecks) {
  Node n = MakeNode("CumSum", 14, 2);
  auto r = Infer(n, {{DType::kF64, {2, 3}}, {DType::kI32, {}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kF64, {2, 3}}));

  Tensor axis = Tensor::FromVector(DType::kI32, {}, std::vector<int32_t>{2});
  EXPECT_FALSE(Infer(n, {{DType::kF64, {2, 3}}, {DType::kI32, {}}}, {nullptr, &axis}).ok());
  EXPECT_FALSE(Infer(n, {{DType::kF64, {2, 3}}, {DType::kF32, {}}}).ok());
}

TEST(QuantizeInferTest, OutputDtypeFollowsZeroPoint) {
  Node n = MakeNode("QuantizeLinear", 13, 3);
  auto r = Infer(n, {F32({1, 3, 2}), F32({}), {DType::kI8, {}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kI8, {1, 3, 2}}));

  Node no_zp = MakeNode("QuantizeLinear", 10, 2);
  r = Infer(no_zp, {F32({4}), F32({})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kU8, {4}}));
}

TEST(QuantizeInferTest, PerAxisChecks) {
  Node n = MakeNode("QuantizeLinear", 13, 3);
  auto r = Infer(n, {F32({1, 3, 2}), F32({3}), {DType::kU8, {3}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // Default axis is 1; a scale of the wrong length is an error.
  r = Infer(n, {F32({1, 3, 2}), F32({2}), {DType::kU8, {2}}});
  EXPECT_FALSE(r.ok());
  n.attrs["axis"] = Attribute::Int(2);
  r = Infer(n, {F32({1, 3, 2}), F32({2}), {DType::kU8, {2}}});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  // Zero point must match the scale's shape.
  r = Infer(n, {F32({1, 3, 2}), F32({2}), {DType::kU8, {3}}});
  EXPECT_FALSE(r.ok());

  // Per-axis parameters do not exist before opset 13.
  Node old = MakeNode("QuantizeLinear", 10, 3);
  EXPECT_FALSE(Infer(old, {F32({1, 3, 2}), F32({3}), {DType::kU8, {3}}}).ok());
}

TEST(DequantizeInferTest, FloatOutputAndZeroPointType) {
  Node n = MakeNode("DequantizeLinear", 13, 3);
  auto r = Infer(n, {{DType::kU8, {1, 3, 3, 2}}, F32({3}), {DType::kU8, {3}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({1, 3, 3, 2}));

  r = Infer(n, {{DType::kU8, {4}}, F32({}), {DType::kI8, {}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("zero point dtype"), std::string::npos);

  Node i32 = MakeNode("DequantizeLinear", 10, 2);
  r = Infer(i32, {{DType::kI32, {4}}, F32({})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({4}));
  EXPECT_FALSE(Infer(i32, {F32({4}), F32({})}).ok());
}

}  // namespace
}  // namespace edgerun
