// Reference TopK kernel (kernels/ref/topk.cc): every opset form, largest/smallest, ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "runtime/evaluate_node.h"

namespace edgerun {
namespace {

struct TopKResult {
  std::vector<int64_t> dims;
  std::vector<double> values;
  std::vector<int64_t> indices;
};

// Runs TopK in the form of `opset`: k as attribute (< 10) or input; largest as attribute (>= 11).
Expected<TopKResult> RunTopK(const Tensor& x, int64_t k, int64_t axis, int opset, bool largest) {
  Node n;
  n.name = "topk";
  n.op_type = "TopK";
  n.opset = opset;
  n.attrs["axis"] = Attribute::Int(axis);
  Tensor k_t = Tensor::FromVector(DType::kI64, {1}, std::vector<int64_t>{k});
  std::vector<const Tensor*> inputs = {&x};
  if (opset < 10) {
    n.attrs["k"] = Attribute::Int(k);
    n.inputs = {0};
    n.outputs = {1, 2};
  } else {
    inputs.push_back(&k_t);
    n.inputs = {0, 1};
    n.outputs = {2, 3};
  }
  if (opset >= 11) n.attrs["largest"] = Attribute::Int(largest ? 1 : 0);
  ASSIGN_OR_RETURN(std::vector<Tensor> out, EvaluateNode(n, inputs));
  TopKResult r;
  r.dims = out[0].dims();
  EXPECT_EQ(out[1].dims(), out[0].dims());
  EXPECT_EQ(out[1].dtype(), DType::kI64);
  EXPECT_EQ(out[0].dtype(), x.dtype());
  for (int64_t i = 0; i < out[0].num_elements(); ++i) {
    r.values.push_back(out[0].ScalarAsDouble(i));
    r.indices.push_back(out[1].data<int64_t>()[i]);
  }
  return r;
}

// Expected result by stable-sorting (value, index) pairs of each slice.
TopKResult NaiveTopK(const std::vector<double>& x, const std::vector<int64_t>& dims, int64_t k,
                     int axis, bool largest) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= dims[d];
  for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
  const int64_t n = dims[axis];
  TopKResult r;
  r.dims = dims;
  r.dims[axis] = k;
  r.values.resize(outer * k * inner);
  r.indices.resize(outer * k * inner);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      std::vector<std::pair<double, int64_t>> slice;
      for (int64_t j = 0; j < n; ++j) slice.push_back({x[(o * n + j) * inner + i], j});
      std::stable_sort(slice.begin(), slice.end(), [&](const auto& a, const auto& b) {
        return largest ? a.first > b.first : a.first < b.first;
      });
      for (int64_t j = 0; j < k; ++j) {
        r.values[(o * k + j) * inner + i] = slice[j].first;
        r.indices[(o * k + j) * inner + i] = slice[j].second;
      }
    }
  }
  return r;
}

TEST(RefTopKTest, MatchesStableSortWithTies) {
  const std::vector<int64_t> dims = {3, 6, 4};
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> dist(0, 5);  // many ties
  std::vector<double> x(72);
  for (double& v : x) v = dist(rng);
  for (DType t : {DType::kF32, DType::kF64, DType::kI32, DType::kI64}) {
    Tensor data = Tensor::Create(t, dims).value();
    for (int i = 0; i < 72; ++i) {
      switch (t) {
        case DType::kF32:
          data.mutable_data<float>()[i] = static_cast<float>(x[i]);
          break;
        case DType::kF64:
          data.mutable_data<double>()[i] = x[i];
          break;
        case DType::kI32:
          data.mutable_data<int32_t>()[i] = static_cast<int32_t>(x[i]);
          break;
        default:
          data.mutable_data<int64_t>()[i] = static_cast<int64_t>(x[i]);
          break;
      }
    }
    for (int axis : {0, 1, 2, -1}) {
      const int a = axis < 0 ? axis + 3 : axis;
      for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{2}, dims[a]}) {
        for (bool largest : {true, false}) {
          SCOPED_TRACE(std::string(DTypeName(t)) + " axis " + std::to_string(axis) + " k " +
                       std::to_string(k) + " largest " + std::to_string(largest));
          auto got = RunTopK(data, k, axis, 11, largest);
          ASSERT_TRUE(got.ok()) << got.status().ToString();
          TopKResult want = NaiveTopK(x, dims, k, a, largest);
          EXPECT_EQ(got->dims, want.dims);
          EXPECT_EQ(got->values, want.values);
          EXPECT_EQ(got->indices, want.indices);
        }
      }
    }
  }
}

TEST(RefTopKTest, EveryOpsetForm) {
  Tensor data = Tensor::FromVector(DType::kF32, {3, 4},
                                   std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 11, 10, 9, 8});
  for (int opset : {1, 10, 11}) {
    auto got = RunTopK(data, 3, -1, opset, true);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->dims, (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(got->values, (std::vector<double>{3, 2, 1, 7, 6, 5, 11, 10, 9}));
    EXPECT_EQ(got->indices, (std::vector<int64_t>{3, 2, 1, 3, 2, 1, 0, 1, 2}));
  }
  auto smallest = RunTopK(data, 3, 1, 11, false);
  ASSERT_TRUE(smallest.ok());
  EXPECT_EQ(smallest->values, (std::vector<double>{0, 1, 2, 4, 5, 6, 8, 9, 10}));
  EXPECT_EQ(smallest->indices, (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 3, 2, 1}));
}

TEST(RefTopKTest, NanRanksHighest) {
  Tensor data = Tensor::FromVector(DType::kF32, {4}, std::vector<float>{1, NAN, 3, 2});
  auto got = RunTopK(data, 2, 0, 11, true);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->indices, (std::vector<int64_t>{1, 2}));
  got = RunTopK(data, 2, 0, 11, false);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->indices, (std::vector<int64_t>{0, 3}));
}

}  // namespace
}  // namespace edgerun
