// Reference QuantizeLinear / DequantizeLinear kernels (kernels/ref/quantize.cc): per-tensor and
// per-axis, u8 and i8, round half to even, saturation, optional zero point.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/random_tensor.h"

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

// The vectorized kernel against the definition evaluated in double: random values (many exact
// .5 ties, values beyond the range, +-inf, NaN), odd lengths, u8 and i8, per tensor and per axis.
TEST(RefQuantizeTest, MatchesDefinitionOnRandomData) {
  std::mt19937 rng(5);
  for (DType t : {DType::kU8, DType::kI8}) {
    for (int64_t len : {1, 7, 16, 33, 1000}) {
      std::vector<float> xv(static_cast<size_t>(len * 3));
      for (float& v : xv) {
        switch (rng() % 6) {
          case 0:
            v = 0.5f * static_cast<float>(static_cast<int>(rng() % 600) - 300);
            break;
          case 1:
            v = std::ldexp(static_cast<float>(rng() % 100000), -8) - 150.0f;
            break;
          case 2:
            v = static_cast<float>(static_cast<int>(rng() % 200000) - 100000);
            break;
          case 3:
            v = (rng() % 2 ? 1 : -1) * std::numeric_limits<float>::infinity();
            break;
          case 4:
            v = std::numeric_limits<float>::quiet_NaN();
            break;
          default:
            v = static_cast<float>(rng() % 1000) * 0.37f - 180.0f;
        }
      }
      const Tensor x = Tensor::FromVector(DType::kF32, {3, len}, xv);
      const std::vector<float> scales = {0.5f, 1.0f, 0.37f};
      const std::vector<double> zps =
          t == DType::kU8 ? std::vector<double>{0, 128, 255} : std::vector<double>{-128, 0, 5};
      const double lo = t == DType::kU8 ? 0 : -128, hi = t == DType::kU8 ? 255 : 127;
      for (bool per_axis : {false, true}) {
        const Tensor scale = per_axis
                                 ? Tensor::FromVector(DType::kF32, {3}, scales)
                                 : Tensor::FromVector(DType::kF32, {}, std::vector<float>{0.5f});
        const Tensor zp = per_axis ? testing::TensorFromDoubles(t, {3}, zps)
                                   : testing::TensorFromDoubles(t, {}, {zps[1]});
        auto y = RunQuant("QuantizeLinear", 13, {&x, &scale, &zp},
                          per_axis ? std::optional<int64_t>{0} : std::nullopt);
        ASSERT_TRUE(y.ok()) << y.status().ToString();
        for (int64_t i = 0; i < 3 * len; ++i) {
          const size_t c = per_axis ? static_cast<size_t>(i / len) : 1;
          const float s = per_axis ? scales[c] : 0.5f;
          const float r = xv[i] / s;  // f32 division, as the spec
          const double want =
              std::isnan(r) ? zps[c]
                            : std::clamp(std::nearbyint(static_cast<double>(r)) + zps[c], lo, hi);
          const double got = t == DType::kU8 ? y->data<uint8_t>()[i] : y->data<int8_t>()[i];
          ASSERT_EQ(got, want) << "x " << xv[i] << " scale " << s << " zp " << zps[c];
        }
      }
    }
  }
}

}  // namespace
}  // namespace edgerun
