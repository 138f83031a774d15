// Validation and shape inference of the QLinear op family (ops/qlinear.cc): QLinearConv and
// QLinearMatMul reuse the Conv/MatMul shape rules, every scale and zero point is checked for
// dtype and shape (per-channel w_scale of length M, int32 bias of length M), fused activations
// are limited to Relu/Clip, and every error is one line naming the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::MakeNode;

TensorType T(std::vector<int64_t> dims, DType d) { return TensorType{d, std::move(dims)}; }
TensorType F(std::vector<int64_t> dims = {}) { return T(std::move(dims), DType::kF32); }
TensorType U8(std::vector<int64_t> dims = {}) { return T(std::move(dims), DType::kU8); }
TensorType I8(std::vector<int64_t> dims = {}) { return T(std::move(dims), DType::kI8); }

Expected<std::vector<TensorType>> Infer(const Node& node, const std::vector<TensorType>& inputs,
                                        std::vector<const Tensor*> constants = {}) {
  constants.resize(inputs.size(), nullptr);
  return InferNode(node, inputs, constants);
}

void ExpectError(const Node& node, const std::vector<TensorType>& inputs, const std::string& needle,
                 StatusCode code = StatusCode::kInvalidModel,
                 std::vector<const Tensor*> constants = {}) {
  auto r = Infer(node, inputs, std::move(constants));
  ASSERT_FALSE(r.ok()) << node.op_type << " unexpectedly inferred (want '" << needle << "')";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find(node.Describe()), std::string::npos) << msg;
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// x[1,8,10,10] u8, w[16,8,3,3] s8 per channel, y u8, bias i32[16].
std::vector<TensorType> ConvInputs() {
  return {U8({1, 8, 10, 10}), F(), U8(), I8({16, 8, 3, 3}), F({16}), I8({16}), F(), U8(),
          T({16}, DType::kI32)};
}

TEST(QLinearOpsTest, ConvShapesFollowConv) {
  Node n = MakeNode("QLinearConv", 10, 9, 1, "qc");
  n.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  n.attrs["strides"] = Attribute::Ints({2, 2});
  auto r = Infer(n, ConvInputs());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], U8({1, 16, 5, 5}));
  // The output dtype is y_zero_point's; per-tensor weights; no bias; Clip.
  std::vector<TensorType> in = ConvInputs();
  in[4] = F({1});
  in[5] = I8({});
  in[7] = I8({1});
  in.pop_back();
  Node m = MakeNode("QLinearConv", 10, 8, 1, "qc");
  m.attrs["activation"] = Attribute::String("Clip");
  m.attrs["activation_params"] = Attribute::Floats({0, 6});
  r = Infer(m, in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], I8({1, 16, 8, 8}));
}

TEST(QLinearOpsTest, ConvValidation) {
  Node n = MakeNode("QLinearConv", 10, 9, 1, "qc");
  auto with = [](int i, TensorType t) {
    std::vector<TensorType> in = ConvInputs();
    in[i] = std::move(t);
    return in;
  };
  ExpectError(n, with(0, F({1, 8, 10, 10})), "x (input 0) has dtype f32");
  ExpectError(n, with(1, F({2})), "x_scale (input 1) has shape 2");
  ExpectError(n, with(1, T({}, DType::kF64)), "x_scale (input 1) has dtype f64");
  ExpectError(n, with(2, I8()), "x_zero_point (input 2) has dtype i8 but input 0 has u8");
  ExpectError(n, with(4, F({15})), "w_scale (input 4) has shape 15, expected one element or [16]");
  ExpectError(n, with(5, U8({16})), "w_zero_point (input 5) has dtype u8");
  ExpectError(n, with(5, I8({4})), "w_zero_point (input 5) has shape 4");
  ExpectError(n, with(6, F({16})), "y_scale (input 6)");
  ExpectError(n, with(7, T({}, DType::kI32)), "y_zero_point (input 7) has dtype i32");
  ExpectError(n, with(8, F({16})), "bias B (input 8) has dtype f32, expected int32");
  ExpectError(n, with(8, T({8}, DType::kI32)), "bias B (input 8) has shape 8, expected [16]");
  // Conv's own rules, with this node's name.
  ExpectError(n, with(3, I8({16, 4, 3, 3})), "8 channels");
  // A constant scale must be positive.
  const Tensor zero = Tensor::FromVector(DType::kF32, {}, std::vector<float>{0});
  ExpectError(n, ConvInputs(), "scales must be positive", StatusCode::kInvalidModel,
              {nullptr, &zero});
  // Too few inputs.
  ExpectError(MakeNode("QLinearConv", 10, 7, 1, "qc"),
              {U8({1, 8, 10, 10}), F(), U8(), I8({16, 8, 3, 3}), F(), I8(), F()}, "inputs");
}

TEST(QLinearOpsTest, ActivationsAreLimitedToClamps) {
  Node n = MakeNode("QLinearConv", 10, 9, 1, "qc");
  n.attrs["activation"] = Attribute::String("Sigmoid");
  ExpectError(n, ConvInputs(), "fused activation 'Sigmoid'", StatusCode::kUnsupported);
  n.attrs["activation"] = Attribute::String("Clip");
  n.attrs["activation_params"] = Attribute::Floats({6, 0});
  ExpectError(n, ConvInputs(), "min 6.000000 above max");
  n.attrs["activation"] = Attribute::String("Relu");
  n.attrs["activation_params"] = Attribute::Floats({1});
  ExpectError(n, ConvInputs(), "takes no activation_params");
}

TEST(QLinearOpsTest, MatMulShapesAndValidation) {
  Node n = MakeNode("QLinearMatMul", 10, 8, 1, "qm");
  std::vector<TensorType> in = {U8({2, 3, 4}), F({1}), U8({1}), I8({4, 5}),
                                F({5}),        I8({5}), F(),    I8()};
  auto r = Infer(n, in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], I8({2, 3, 5}));
  auto with = [&](int i, TensorType t) {
    std::vector<TensorType> v = in;
    v[i] = std::move(t);
    return v;
  };
  ExpectError(n, with(3, I8({3, 5})), "inner dims differ");
  ExpectError(n, with(4, F({4})), "b_scale (input 4) has shape 4, expected one element or [5]");
  ExpectError(n, with(5, U8({5})), "b_zero_point (input 5) has dtype u8");
  ExpectError(n, with(1, F({3})), "per-row quantization of a_scale", StatusCode::kUnsupported);
  ExpectError(n, with(0, T({2, 3, 4}, DType::kI32)), "a (input 0) has dtype i32");
}

TEST(QLinearOpsTest, AddBroadcastsAndPoolReduces) {
  Node add = MakeNode("QLinearAdd", 13, 8, 1, "qa");
  add.domain = std::string(kEdgerunDomain);
  auto r = Infer(add, {U8({1, 4, 5, 5}), F(), U8(), I8({4, 1, 1}), F(), I8(), F(), U8()});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], U8({1, 4, 5, 5}));
  ExpectError(add, {U8({1, 4, 5, 5}), F(), U8(), I8({3, 1, 1}), F(), I8(), F(), U8()},
              "broadcast");
  ExpectError(add, {U8({4}), F(), U8(), I8({4}), F({2}), I8(), F(), U8()}, "b_scale (input 4)");

  Node gap = MakeNode("QLinearGlobalAveragePool", 13, 5, 1, "qg");
  gap.domain = std::string(kEdgerunDomain);
  r = Infer(gap, {I8({2, 8, 7, 7}), F(), I8(), F(), U8()});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], U8({2, 8, 1, 1}));
  ExpectError(gap, {I8({2, 8}), F(), I8(), F(), U8()}, "need rank >= 3");
}

}  // namespace
}  // namespace edgerun
