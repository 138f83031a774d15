// Reference Softmax / LogSoftmax / Hardmax kernels (kernels/ref/reduce.cc): opset < 13
// coerce-to-2D semantics, opset >= 13 single-axis semantics, numerical stability.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"

namespace edgerun {
namespace {

Node MakeNode(const std::string& op, int opset) {
  Node n;
  n.name = "sm";
  n.op_type = op;
  n.opset = opset;
  n.inputs = {0};
  n.outputs = {1};
  return n;
}

// Applies op to each group of `n` elements at stride `inner` (the test's own indexing).
std::vector<double> NaiveSoftmax(const std::string& op, const std::vector<double>& x, int64_t outer,
                                 int64_t n, int64_t inner) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto idx = [&](int64_t k) { return (o * n + k) * inner + i; };
      double sum = 0;
      int64_t arg = 0;
      for (int64_t k = 0; k < n; ++k) {
        sum += std::exp(x[idx(k)]);
        if (x[idx(k)] > x[idx(arg)]) arg = k;
      }
      for (int64_t k = 0; k < n; ++k) {
        if (op == "Softmax") y[idx(k)] = std::exp(x[idx(k)]) / sum;
        if (op == "LogSoftmax") y[idx(k)] = x[idx(k)] - std::log(sum);
        if (op == "Hardmax") y[idx(k)] = k == arg ? 1 : 0;
      }
    }
  }
  return y;
}

void CheckSoftmax(const std::string& op, int opset, const std::vector<int64_t>& dims,
                  std::optional<int64_t> axis, DType dtype = DType::kF32) {
  SCOPED_TRACE(op + " opset " + std::to_string(opset) + " dims " + DimsToString(dims) + " axis " +
               (axis ? std::to_string(*axis) : "default") + " " + std::string(DTypeName(dtype)));
  const int64_t count = NumElements(dims);
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> dist(-3, 3);
  std::vector<double> x(count);
  for (double& v : x) v = dist(rng);
  Tensor data = Tensor::Create(dtype, dims).value();
  for (int64_t i = 0; i < count; ++i) {
    if (dtype == DType::kF32) {
      data.mutable_data<float>()[i] = static_cast<float>(x[i]);
      x[i] = static_cast<float>(x[i]);
    } else {
      data.mutable_data<double>()[i] = x[i];
    }
  }
  Node node = MakeNode(op, opset);
  if (axis) node.attrs["axis"] = Attribute::Int(*axis);
  auto out = EvaluateNode(node, std::vector<const Tensor*>{&data});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ((*out)[0].dims(), dims);
  ASSERT_EQ((*out)[0].dtype(), dtype);

  const int rank = static_cast<int>(dims.size());
  int64_t a = axis ? *axis : (opset < 13 ? 1 : -1);
  if (a < 0) a += rank;
  int64_t outer = 1, n = 1, inner = 1;
  for (int d = 0; d < rank; ++d) {
    if (d < a) outer *= dims[d];
    if (opset < 13 ? d >= a : d == a) n *= dims[d];
    if (opset >= 13 && d > a) inner *= dims[d];
  }
  std::vector<double> want = NaiveSoftmax(op, x, outer, n, inner);
  for (int64_t i = 0; i < count; ++i) {
    EXPECT_NEAR((*out)[0].ScalarAsDouble(i), want[i], 1e-5 * std::max(1.0, std::fabs(want[i])))
        << "at " << i;
  }
}

TEST(RefSoftmaxTest, SingleAxisFromOpset13) {
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    for (std::optional<int64_t> axis :
         {std::optional<int64_t>{}, std::optional<int64_t>{0}, std::optional<int64_t>{1},
          std::optional<int64_t>{2}, std::optional<int64_t>{-2}}) {
      CheckSoftmax(op, 13, {3, 4, 5}, axis);
      CheckSoftmax(op, 13, {3, 4, 5}, axis, DType::kF64);
    }
  }
}

TEST(RefSoftmaxTest, CoerceTo2DBeforeOpset13) {
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    for (int opset : {1, 11}) {
      for (std::optional<int64_t> axis : {std::optional<int64_t>{}, std::optional<int64_t>{0},
                                          std::optional<int64_t>{2}, std::optional<int64_t>{-1}}) {
        CheckSoftmax(op, opset, {3, 4, 5}, axis);
      }
    }
  }
}

TEST(RefSoftmaxTest, Opset11AndOpset13DifferOnTheSameInput) {
  // Same node and data, different semantics: rows of 20 vs columns of 4.
  Tensor data = Tensor::Create(DType::kF32, {3, 4, 5}).value();
  for (int i = 0; i < 60; ++i) data.mutable_data<float>()[i] = static_cast<float>(i % 7);
  Node n11 = MakeNode("Softmax", 11);
  Node n13 = MakeNode("Softmax", 13);
  n11.attrs["axis"] = Attribute::Int(1);
  n13.attrs["axis"] = Attribute::Int(1);
  auto a = EvaluateNode(n11, std::vector<const Tensor*>{&data});
  auto b = EvaluateNode(n13, std::vector<const Tensor*>{&data});
  ASSERT_TRUE(a.ok() && b.ok());
  double sum_row = 0, sum_col = 0;
  for (int k = 0; k < 20; ++k) sum_row += (*a)[0].data<float>()[k];
  for (int k = 0; k < 4; ++k) sum_col += (*b)[0].data<float>()[k * 5];
  EXPECT_NEAR(sum_row, 1.0, 1e-5);
  EXPECT_NEAR(sum_col, 1.0, 1e-5);
  EXPECT_GT(std::fabs((*a)[0].data<float>()[0] - (*b)[0].data<float>()[0]), 1e-3);
}

TEST(RefSoftmaxTest, LargeNumbersStayFinite) {
  Tensor data = Tensor::FromVector(DType::kF32, {2, 4},
                                   std::vector<float>{0, 1, 2, 3, 10000, 10001, 10002, 10003});
  const double e[4] = {std::exp(-3.0), std::exp(-2.0), std::exp(-1.0), 1.0};
  const double sum = e[0] + e[1] + e[2] + e[3];
  auto sm = EvaluateNode(MakeNode("Softmax", 13), std::vector<const Tensor*>{&data});
  auto lsm = EvaluateNode(MakeNode("LogSoftmax", 13), std::vector<const Tensor*>{&data});
  ASSERT_TRUE(sm.ok() && lsm.ok());
  for (int r = 0; r < 2; ++r) {
    for (int k = 0; k < 4; ++k) {
      EXPECT_NEAR((*sm)[0].data<float>()[r * 4 + k], e[k] / sum, 1e-6);
      EXPECT_NEAR((*lsm)[0].data<float>()[r * 4 + k], std::log(e[k] / sum), 1e-5);
    }
  }
}

TEST(RefSoftmaxTest, HardmaxTiesPickFirst) {
  Tensor data = Tensor::FromVector(DType::kF32, {2, 4}, std::vector<float>{3, 1, 3, 2, 0, 0, 0, 0});
  auto out = EvaluateNode(MakeNode("Hardmax", 13), std::vector<const Tensor*>{&data});
  ASSERT_TRUE(out.ok());
  const float want[8] = {1, 0, 0, 0, 1, 0, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ((*out)[0].data<float>()[i], want[i]) << i;
}

TEST(RefSoftmaxTest, HalfPrecision) {
  Tensor data = Tensor::Create(DType::kF16, {2, 3}).value();
  const float x[6] = {1, 2, 3, -1, 0, 1};
  for (int i = 0; i < 6; ++i) data.mutable_data<uint16_t>()[i] = FloatToHalf(x[i]);
  auto out = EvaluateNode(MakeNode("Softmax", 13), std::vector<const Tensor*>{&data});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const double sum = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  for (int r = 0; r < 2; ++r) {
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(HalfToFloat((*out)[0].data<uint16_t>()[r * 3 + k]), std::exp(k - 2.0) / sum,
                  1e-3);
    }
  }
}

}  // namespace
}  // namespace edgerun
