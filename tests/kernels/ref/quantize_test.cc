// Reference QuantizeLinear / DequantizeLinear kernels (kernels/ref/quantize.cc): per-tensor and
// per-axis, u8 and i8, round half to even, saturation, optional zero point.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"

namespace edgerun {
namespace {

Expected<Tensor> RunQuant(const std::string& op, int opset, std::vector<const Tensor*> inputs,
                          std::optional<int64_t> axis = std::nullopt) {
  Node n;
  n.name = "q";
  n.op_type = op;
  n.opset = opset;
  for (size_t i = 0; i < inputs.size(); ++i) n.inputs.push_back(static_cast<int>(i));
  n.outputs = {static_cast<int>(inputs.size())};
  if (axis) n.attrs["axis"] = Attribute::Int(*axis);
  ASSIGN_OR_RETURN(std::vector<Tensor> out, EvaluateNode(n, inputs));
  return out[0];
}

Tensor Scalar(float v) { return Tensor::FromVector(DType::kF32, {}, std::vector<float>{v}); }

TEST(RefQuantizeTest, RoundsHalfToEvenAndSaturatesU8) {
  // x / scale = -1, 0.5, 1.5, 2.5, -0.5, 3.49, 1000, -1000.
  Tensor x =
      Tensor::FromVector(DType::kF32, {8}, std::vector<float>{-2, 1, 3, 5, -1, 6.98f, 2000, -2000});
  Tensor scale = Scalar(2);
  Tensor zp = Tensor::FromVector(DType::kU8, {}, std::vector<uint8_t>{10});
  for (int opset : {10, 13}) {
    auto y = RunQuant("QuantizeLinear", opset, {&x, &scale, &zp});
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    ASSERT_EQ(y->dtype(), DType::kU8);
    const uint8_t want[8] = {9, 10, 12, 12, 10, 13, 255, 0};
    for (int i = 0; i < 8; ++i) EXPECT_EQ(y->data<uint8_t>()[i], want[i]) << i;
  }
}

TEST(RefQuantizeTest, SignedInt8AndNoZeroPoint) {
  Tensor x = Tensor::FromVector(DType::kF32, {5}, std::vector<float>{-300, -2.5f, 0, 2.5f, 300});
  Tensor scale = Scalar(1);
  Tensor zp = Tensor::FromVector(DType::kI8, {}, std::vector<int8_t>{-1});
  auto y = RunQuant("QuantizeLinear", 13, {&x, &scale, &zp});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ(y->dtype(), DType::kI8);
  const int8_t want[5] = {-128, -3, -1, 1, 127};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(y->data<int8_t>()[i], want[i]) << i;

  // Without a zero point the output is u8 with zero point 0.
  auto u = RunQuant("QuantizeLinear", 13, {&x, &scale});
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  ASSERT_EQ(u->dtype(), DType::kU8);
  const uint8_t want_u[5] = {0, 0, 0, 2, 255};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(u->data<uint8_t>()[i], want_u[i]) << i;
}

TEST(RefQuantizeTest, Int32Input) {
  Tensor x = Tensor::FromVector(DType::kI32, {3}, std::vector<int32_t>{-4, 6, 10});
  Tensor scale = Scalar(4);
  auto y = RunQuant("QuantizeLinear", 10, {&x, &scale});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  const uint8_t want[3] = {0, 2, 2};  // -1 saturates, 1.5 -> 2, 2.5 -> 2
  for (int i = 0; i < 3; ++i) EXPECT_EQ(y->data<uint8_t>()[i], want[i]) << i;
}

// Per-axis parameters along `axis` of a [2, 3, 2] input.
TEST(RefQuantizeTest, PerAxis) {
  std::vector<float> xv(12);
  for (int i = 0; i < 12; ++i) xv[i] = static_cast<float>(i * 3 - 10);
  Tensor x = Tensor::FromVector(DType::kF32, {2, 3, 2}, xv);
  const std::vector<float> scales = {1, 2, 4};
  const std::vector<uint8_t> zps = {0, 10, 128};
  Tensor scale = Tensor::FromVector(DType::kF32, {3}, scales);
  Tensor zp = Tensor::FromVector(DType::kU8, {3}, zps);
  for (std::optional<int64_t> axis :
       {std::optional<int64_t>{}, std::optional<int64_t>{1}, std::optional<int64_t>{-2}}) {
    auto y = RunQuant("QuantizeLinear", 13, {&x, &scale, &zp}, axis);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    auto d = RunQuant("DequantizeLinear", 13, {&*y, &scale, &zp}, axis);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    for (int i = 0; i < 12; ++i) {
      const int c = (i / 2) % 3;
      const double q = std::clamp<double>(std::nearbyint(xv[i] / scales[c]) + zps[c], 0.0, 255.0);
      EXPECT_EQ(y->data<uint8_t>()[i], static_cast<uint8_t>(q)) << i;
      EXPECT_FLOAT_EQ(d->data<float>()[i], static_cast<float>((q - zps[c]) * scales[c])) << i;
    }
  }
  // Along the last axis instead.
  Tensor scale2 = Tensor::FromVector(DType::kF32, {2}, std::vector<float>{1, 10});
  auto y = RunQuant("QuantizeLinear", 13, {&x, &scale2}, 2);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  for (int i = 0; i < 12; ++i) {
    const double q = std::clamp<double>(std::nearbyint(xv[i] / (i % 2 ? 10.0f : 1.0f)), 0.0, 255.0);
    EXPECT_EQ(y->data<uint8_t>()[i], static_cast<uint8_t>(q)) << i;
  }
}

TEST(RefDequantizeTest, PerTensorTypes) {
  Tensor scale = Scalar(0.5f);
  Tensor xu = Tensor::FromVector(DType::kU8, {4}, std::vector<uint8_t>{0, 3, 128, 255});
  Tensor zu = Tensor::FromVector(DType::kU8, {}, std::vector<uint8_t>{128});
  auto y = RunQuant("DequantizeLinear", 10, {&xu, &scale, &zu});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ(y->dtype(), DType::kF32);
  const float want_u[4] = {-64, -62.5f, 0, 63.5f};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y->data<float>()[i], want_u[i]) << i;

  Tensor xi = Tensor::FromVector(DType::kI8, {3}, std::vector<int8_t>{-128, 0, 127});
  Tensor zi = Tensor::FromVector(DType::kI8, {}, std::vector<int8_t>{-1});
  y = RunQuant("DequantizeLinear", 13, {&xi, &scale, &zi});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  const float want_i[3] = {-63.5f, 0.5f, 64};
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(y->data<float>()[i], want_i[i]) << i;

  Tensor x32 = Tensor::FromVector(DType::kI32, {2}, std::vector<int32_t>{-1000000, 7});
  y = RunQuant("DequantizeLinear", 13, {&x32, &scale});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_FLOAT_EQ(y->data<float>()[0], -500000.0f);
  EXPECT_FLOAT_EQ(y->data<float>()[1], 3.5f);
}

TEST(RefDequantizeTest, ConformanceShapedPerAxis) {
  // Same layout as ONNX's dequantizelinear_axis: [1, 3, 3, 2], channel axis 1.
  std::vector<uint8_t> xv(18);
  for (int i = 0; i < 18; ++i) xv[i] = static_cast<uint8_t>(i * 14);
  Tensor x = Tensor::FromVector(DType::kU8, {1, 3, 3, 2}, xv);
  Tensor scale = Tensor::FromVector(DType::kF32, {3}, std::vector<float>{1, 2, 4});
  Tensor zp = Tensor::FromVector(DType::kU8, {3}, std::vector<uint8_t>{0, 0, 128});
  auto y = RunQuant("DequantizeLinear", 13, {&x, &scale, &zp});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  const float s[3] = {1, 2, 4};
  const float z[3] = {0, 0, 128};
  for (int i = 0; i < 18; ++i) {
    const int c = i / 6;
    EXPECT_FLOAT_EQ(y->data<float>()[i], (static_cast<float>(xv[i]) - z[c]) * s[c]) << i;
  }
}

}  // namespace
}  // namespace edgerun
