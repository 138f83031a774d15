// Shape and type inference of the nn op family (ops/nn.cc): conv/pool output sizes for explicit
// and automatic pads, ceil mode, ConvTranspose output_shape, MatMul broadcasting, Gemm, Einsum,
// the norms, and errors that name the node and the offending value.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::MakeNode;

TensorType T(std::vector<int64_t> dims, DType d = DType::kF32) {
  return TensorType{d, std::move(dims)};
}

Expected<std::vector<TensorType>> Infer(const Node& node, const std::vector<TensorType>& inputs) {
  std::vector<const Tensor*> constants(inputs.size(), nullptr);
  return InferNode(node, inputs, constants);
}

std::vector<int64_t> OutDims(const Node& node, const std::vector<TensorType>& inputs, int i = 0) {
  auto r = Infer(node, inputs);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? (*r)[i].dims : std::vector<int64_t>{-1};
}

void ExpectError(const Node& node, const std::vector<TensorType>& inputs, const std::string& needle,
                 StatusCode code = StatusCode::kInvalidModel) {
  auto r = Infer(node, inputs);
  ASSERT_FALSE(r.ok()) << node.op_type << " unexpectedly inferred";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find(node.Describe()), std::string::npos) << msg;
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
}

TEST(NnOpsTest, ConvOutputSizes) {
  Node n = MakeNode("Conv", 11, 3);
  EXPECT_EQ(OutDims(n, {T({1, 3, 224, 224}), T({64, 3, 7, 7}), T({64})}),
            (std::vector<int64_t>{1, 64, 218, 218}));
  n.attrs["strides"] = Attribute::Ints({2, 2});
  n.attrs["pads"] = Attribute::Ints({3, 3, 3, 3});
  EXPECT_EQ(OutDims(n, {T({1, 3, 224, 224}), T({64, 3, 7, 7}), T({64})}),
            (std::vector<int64_t>{1, 64, 112, 112}));
  Node same = MakeNode("Conv", 11, 2);
  same.attrs["auto_pad"] = Attribute::String("SAME_LOWER");
  same.attrs["strides"] = Attribute::Ints({2, 3});
  EXPECT_EQ(OutDims(same, {T({2, 4, 11, 10}), T({8, 4, 3, 3})}),
            (std::vector<int64_t>{2, 8, 6, 4}));
  Node valid = MakeNode("Conv", 11, 2);
  valid.attrs["auto_pad"] = Attribute::String("VALID");
  valid.attrs["dilations"] = Attribute::Ints({2});
  EXPECT_EQ(OutDims(valid, {T({1, 2, 10}), T({3, 2, 3})}), (std::vector<int64_t>{1, 3, 6}));
  Node grouped = MakeNode("Conv", 11, 2);
  grouped.attrs["group"] = Attribute::Int(4);
  EXPECT_EQ(OutDims(grouped, {T({1, 8, 5, 5, 5}), T({12, 2, 1, 1, 1})}),
            (std::vector<int64_t>{1, 12, 5, 5, 5}));
}

TEST(NnOpsTest, ConvErrorsNameNodeAndValue) {
  Node n = MakeNode("Conv", 11, 2);
  ExpectError(n, {T({1, 3, 8, 8}), T({4, 2, 3, 3})}, "3 channels");
  ExpectError(n, {T({1, 3, 8, 8}), T({4, 3, 3})}, "weight W");
  ExpectError(n, {T({1, 3, 2, 2}), T({4, 3, 3, 3})}, "smaller than the kernel");
  n.attrs["group"] = Attribute::Int(2);
  ExpectError(n, {T({1, 4, 8, 8}), T({3, 2, 3, 3})}, "not divisible by group 2");
  Node k = MakeNode("Conv", 11, 2);
  k.attrs["kernel_shape"] = Attribute::Ints({5, 5});
  ExpectError(k, {T({1, 3, 8, 8}), T({4, 3, 3, 3})}, "kernel_shape [5,5]");
  Node s = MakeNode("Conv", 11, 2);
  s.attrs["strides"] = Attribute::Ints({1});
  ExpectError(s, {T({1, 3, 8, 8}), T({4, 3, 3, 3})}, "strides");
  Node b = MakeNode("Conv", 11, 3);
  ExpectError(b, {T({1, 3, 8, 8}), T({4, 3, 3, 3}), T({5})}, "bias B");
  Node p = MakeNode("Conv", 11, 2);
  p.attrs["auto_pad"] = Attribute::String("SAME");
  ExpectError(p, {T({1, 3, 8, 8}), T({4, 3, 3, 3})}, "auto_pad 'SAME'");
  ExpectError(MakeNode("Conv", 11, 2), {T({1, 3, 8, 8}, DType::kI32), T({4, 3, 3, 3}, DType::kI32)},
              "dtype i32");
}

TEST(NnOpsTest, ConvTransposeOutputSizes) {
  Node n = MakeNode("ConvTranspose", 11, 2);
  n.attrs["strides"] = Attribute::Ints({3, 2});
  EXPECT_EQ(OutDims(n, {T({1, 1, 3, 3}), T({1, 2, 3, 3})}), (std::vector<int64_t>{1, 2, 9, 7}));
  n.attrs["output_padding"] = Attribute::Ints({1, 1});
  n.attrs["pads"] = Attribute::Ints({1, 2, 1, 2});
  EXPECT_EQ(OutDims(n, {T({1, 1, 3, 3}), T({1, 2, 3, 3})}), (std::vector<int64_t>{1, 2, 8, 4}));
  Node shaped = MakeNode("ConvTranspose", 11, 2);
  shaped.attrs["output_shape"] = Attribute::Ints({10, 8});
  EXPECT_EQ(OutDims(shaped, {T({1, 1, 3, 3}), T({1, 2, 3, 3})}),
            (std::vector<int64_t>{1, 2, 10, 8}));
  Node same = MakeNode("ConvTranspose", 11, 2);
  same.attrs["auto_pad"] = Attribute::String("SAME_UPPER");
  same.attrs["strides"] = Attribute::Ints({2, 2});
  same.attrs["group"] = Attribute::Int(2);
  EXPECT_EQ(OutDims(same, {T({1, 4, 3, 5}), T({4, 3, 3, 3})}), (std::vector<int64_t>{1, 6, 6, 10}));
  ExpectError(MakeNode("ConvTranspose", 11, 2), {T({1, 4, 3, 3}), T({2, 3, 3, 3})}, "4 channels");
}

TEST(NnOpsTest, PoolOutputSizes) {
  Node n = MakeNode("MaxPool", 12, 1, 2);
  n.attrs["kernel_shape"] = Attribute::Ints({3, 3});
  n.attrs["strides"] = Attribute::Ints({2, 2});
  auto r = Infer(n, {T({1, 64, 112, 112})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T({1, 64, 55, 55}));
  EXPECT_EQ((*r)[1], T({1, 64, 55, 55}, DType::kI64));
  n.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  EXPECT_EQ(OutDims(n, {T({1, 64, 112, 112})}), (std::vector<int64_t>{1, 64, 56, 56}));
  // Ceil mode: 4 -> ceil(1/2)+1 = 2; the PyTorch rule drops a window starting in the end pad.
  Node c = MakeNode("AveragePool", 11, 1);
  c.attrs["kernel_shape"] = Attribute::Ints({3, 2});
  c.attrs["strides"] = Attribute::Ints({2, 2});
  c.attrs["ceil_mode"] = Attribute::Int(1);
  EXPECT_EQ(OutDims(c, {T({1, 1, 4, 5})}), (std::vector<int64_t>{1, 1, 2, 3}));
  // W: 4 + 1 pad - 2 = 3 -> ceil(3/2)+1 = 3, but window 3 would start at 4, inside the pad.
  c.attrs["pads"] = Attribute::Ints({0, 0, 0, 1});
  EXPECT_EQ(OutDims(c, {T({1, 1, 4, 4})}), (std::vector<int64_t>{1, 1, 2, 2}));
  Node same = MakeNode("LpPool", 18, 1);
  same.attrs["kernel_shape"] = Attribute::Ints({3});
  same.attrs["strides"] = Attribute::Ints({2});
  same.attrs["auto_pad"] = Attribute::String("SAME_UPPER");
  EXPECT_EQ(OutDims(same, {T({2, 3, 9})}), (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(OutDims(MakeNode("GlobalAveragePool", 1, 1), {T({2, 3, 7, 9, 4})}),
            (std::vector<int64_t>{2, 3, 1, 1, 1}));
  EXPECT_EQ(OutDims(MakeNode("GlobalMaxPool", 1, 1), {T({2, 3, 7}, DType::kU8)}),
            (std::vector<int64_t>{2, 3, 1}));
}

TEST(NnOpsTest, PoolErrors) {
  ExpectError(MakeNode("MaxPool", 12, 1), {T({1, 3, 8, 8})}, "kernel_shape");
  Node n = MakeNode("MaxPool", 12, 1);
  n.attrs["kernel_shape"] = Attribute::Ints({3});
  ExpectError(n, {T({1, 3, 8, 8})}, "kernel_shape [3] has 1 entries, expected 2");
  Node a = MakeNode("AveragePool", 11, 1);
  a.attrs["kernel_shape"] = Attribute::Ints({2, 2});
  ExpectError(a, {T({1, 3, 8, 8}, DType::kI32)}, "dtype i32");
  ExpectError(a, {T({3, 8})}, "rank >= 3");
}

TEST(NnOpsTest, MatMulBroadcastsAndHandlesVectors) {
  Node n = MakeNode("MatMul", 13, 2);
  EXPECT_EQ(OutDims(n, {T({2, 3}), T({3, 4})}), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(OutDims(n, {T({5, 1, 2, 3}), T({4, 3, 6})}), (std::vector<int64_t>{5, 4, 2, 6}));
  EXPECT_EQ(OutDims(n, {T({3}), T({2, 3, 4})}), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(OutDims(n, {T({2, 3, 4}), T({4})}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(OutDims(n, {T({4}), T({4})}), (std::vector<int64_t>{}));
  ExpectError(n, {T({2, 3}), T({4, 5})}, "inner dims differ");
  ExpectError(n, {T({2, 2, 3}), T({3, 3, 5})}, "cannot broadcast");
  ExpectError(n, {T({2, 3}), T({3, 5}, DType::kF64)}, "input B has dtype f64");
}

TEST(NnOpsTest, GemmShapes) {
  Node n = MakeNode("Gemm", 13, 3);
  n.attrs["transA"] = Attribute::Int(1);
  EXPECT_EQ(OutDims(n, {T({5, 3}), T({5, 4}), T({4})}), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(OutDims(n, {T({5, 3}), T({5, 4}), T({3, 1})}), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(OutDims(MakeNode("Gemm", 13, 2), {T({2, 3}), T({3, 4})}), (std::vector<int64_t>{2, 4}));
  ExpectError(n, {T({5, 3}), T({5, 4}), T({3})}, "input C with shape 3 cannot broadcast");
  ExpectError(n, {T({3, 5}), T({5, 4}), T({4})}, "inner dims differ");
  ExpectError(n, {T({5, 3, 1}), T({5, 4}), T({4})}, "must be 2-D");
}

TEST(NnOpsTest, FusedMatMulIsInTheEdgerunDomain) {
  Node n = MakeNode("FusedMatMul", 1, 3);
  n.domain = std::string(kEdgerunDomain);
  EXPECT_EQ(OutDims(n, {T({2, 7, 3}), T({3, 5}), T({5})}), (std::vector<int64_t>{2, 7, 5}));
  ExpectError(n, {T({2, 7, 3}), T({3, 5}), T({4})}, "bias");
  Node onnx = MakeNode("FusedMatMul", 13, 2);
  EXPECT_FALSE(Infer(onnx, {T({2, 3}), T({3, 4})}).ok());
}

TEST(NnOpsTest, EinsumShapes) {
  Node n = MakeNode("Einsum", 12, 2);
  n.attrs["equation"] = Attribute::String("bij, bjk -> bik");
  EXPECT_EQ(OutDims(n, {T({2, 3, 4}), T({2, 4, 5})}), (std::vector<int64_t>{2, 3, 5}));
  n.attrs["equation"] = Attribute::String("...ij,...jk");
  EXPECT_EQ(OutDims(n, {T({7, 1, 3, 4}), T({6, 4, 5})}), (std::vector<int64_t>{7, 6, 3, 5}));
  Node one = MakeNode("Einsum", 12, 1);
  one.attrs["equation"] = Attribute::String("ii->i");
  EXPECT_EQ(OutDims(one, {T({3, 3})}), (std::vector<int64_t>{3}));
  one.attrs["equation"] = Attribute::String("ij->");
  EXPECT_EQ(OutDims(one, {T({3, 4})}), (std::vector<int64_t>{}));
  n.attrs["equation"] = Attribute::String("ij,jk->ik");
  ExpectError(n, {T({2, 3}), T({4, 5})}, "size mismatch");
  n.attrs["equation"] = Attribute::String("ij->ik");
  ExpectError(n, {T({2, 3}), T({3, 5})}, "2 inputs");
  one.attrs["equation"] = Attribute::String("ij->iz");
  ExpectError(one, {T({2, 3})}, "'z' does not appear");
  one.attrs["equation"] = Attribute::String("ijk->i");
  ExpectError(one, {T({2, 3})}, "rank 2");
  one.attrs["equation"] = Attribute::String("i$->i");
  ExpectError(one, {T({2, 3})}, "invalid character");
}

TEST(NnOpsTest, NormalizationShapes) {
  Node bn = MakeNode("BatchNormalization", 15, 5);
  const std::vector<TensorType> bn_in = {T({2, 3, 4, 4}), T({3}), T({3}), T({3}), T({3})};
  EXPECT_EQ(OutDims(bn, bn_in), (std::vector<int64_t>{2, 3, 4, 4}));
  ExpectError(bn, {T({2, 3, 4, 4}), T({4}), T({3}), T({3}), T({3})}, "scale (input 1)");
  Node bn_train = MakeNode("BatchNormalization", 15, 5, 3);
  ExpectError(bn_train, bn_in, "training", StatusCode::kUnsupported);
  bn_train.attrs["training_mode"] = Attribute::Int(1);
  EXPECT_EQ(OutDims(bn_train, bn_in, 2), (std::vector<int64_t>{3}));
  Node bn7 = MakeNode("BatchNormalization", 7, 5, 5);
  ExpectError(bn7, bn_in, "training", StatusCode::kUnsupported);

  Node ln = MakeNode("LayerNormalization", 17, 2, 3);
  ln.attrs["axis"] = Attribute::Int(1);
  auto r = Infer(ln, {T({2, 3, 4}), T({3, 4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T({2, 3, 4}));
  EXPECT_EQ((*r)[1], T({2, 1, 1}));
  EXPECT_EQ((*r)[2], T({2, 1, 1}));
  ExpectError(ln, {T({2, 3, 4}), T({5})}, "Scale with shape 5");
  ln.attrs["axis"] = Attribute::Int(3);
  ExpectError(ln, {T({2, 3, 4}), T({4})}, "axis 3");

  EXPECT_EQ(OutDims(MakeNode("InstanceNormalization", 6, 3), {T({2, 3, 5}), T({3}), T({3})}),
            (std::vector<int64_t>{2, 3, 5}));
  ExpectError(MakeNode("InstanceNormalization", 6, 3), {T({2, 3, 5}), T({2}), T({3})}, "scale");
  ExpectError(MakeNode("LRN", 13, 1), {T({1, 3, 4, 4})}, "size");
  EXPECT_EQ(OutDims(MakeNode("MeanVarianceNormalization", 13, 1), {T({1, 3, 4, 4})}),
            (std::vector<int64_t>{1, 3, 4, 4}));
}

}  // namespace
}  // namespace edgerun
