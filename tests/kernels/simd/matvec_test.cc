// The Highway matrix-vector kernels (kernels/simd/matvec.cc): DotRows and AccumulateColumns
// against sums in double, with B at every byte misalignment and sizes around the vector widths;
// and the Gemm/MatMul/FusedMatMul kernel on the oneDNN and XNNPACK paths against the reference
// kernels (transposes, alpha, beta, biases of n values and of one, activations, 1-D A, 2 threads),
// including that it takes only one-row products with a constant B; and the one-pixel 1x1 Conv
// (squeeze-excitation FC), with short rows of weights transposed, and the convs it leaves.
#include "kernels/simd/matvec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

// Cases list their leading fields only.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using onednn_test::OnednnTestNode;
using testing::RandomTensor;

// Rows x cols floats of B placed `offset` bytes into a buffer (any alignment), and their values.
struct Placed {
  std::vector<std::byte> storage;
  std::vector<float> values;
  const std::byte* data() const { return storage.data() + offset; }
  size_t offset = 0;
};

Placed PlaceMatrix(size_t count, size_t offset, std::mt19937& rng) {
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  Placed p;
  p.offset = offset;
  p.values.resize(count);
  for (float& v : p.values) v = uni(rng);
  p.storage.resize(count * sizeof(float) + offset);
  std::memcpy(p.storage.data() + offset, p.values.data(), count * sizeof(float));
  return p;
}

void ExpectNearDouble(const std::vector<float>& got, const std::vector<double>& want, size_t k) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    // k products of magnitude <= 1, summed in float.
    EXPECT_NEAR(got[i], want[i], 1e-6 * static_cast<double>(k) + 1e-6) << "element " << i;
  }
}

// `compute(begin, end, y)` writes entries [begin, end) of a product whose exact values are `want`
// to y[0...]: checked for all of them, and for a share that lands at y[0].
template <class Compute>
void ExpectAllAndAShare(const std::vector<double>& want, size_t k, Compute&& compute) {
  const size_t n = want.size();
  std::vector<float> got(n, -7.0f);
  compute(0, n, got.data());
  ExpectNearDouble(got, want, k);
  if (n > 2) {
    std::vector<float> part(n - 2, -7.0f);
    compute(1, n - 1, part.data());
    ExpectNearDouble(part, std::vector<double>(want.begin() + 1, want.end() - 1), k);
  }
}

TEST(MatVecTest, DotRowsAtAnyAlignment) {
  std::mt19937 rng(3);
  for (size_t k : {1, 15, 16, 17, 40, 1280}) {
    for (size_t n : {1, 3, 4, 5, 9}) {
      for (size_t offset : {0, 1, 2, 3, 4}) {
        SCOPED_TRACE("k " + std::to_string(k) + " n " + std::to_string(n) + " offset " +
                     std::to_string(offset));
        const Placed b = PlaceMatrix(n * k, offset, rng);
        const Placed x = PlaceMatrix(k, 0, rng);
        std::vector<double> want(n, 0.0);
        for (size_t r = 0; r < n; ++r) {
          for (size_t i = 0; i < k; ++i) want[r] += double{x.values[i]} * b.values[r * k + i];
        }
        ExpectAllAndAShare(want, k, [&](size_t begin, size_t end, float* y) {
          DotRows(b.data(), k, x.values.data(), begin, end, y);
        });
      }
    }
  }
}

TEST(MatVecTest, AccumulateColumnsAtAnyAlignment) {
  std::mt19937 rng(4);
  for (size_t k : {1, 7, 300}) {
    for (size_t n : {1, 15, 16, 17, 64, 65, 130}) {
      for (size_t offset : {0, 1, 3}) {
        SCOPED_TRACE("k " + std::to_string(k) + " n " + std::to_string(n) + " offset " +
                     std::to_string(offset));
        const Placed b = PlaceMatrix(k * n, offset, rng);
        const Placed x = PlaceMatrix(k, 0, rng);
        std::vector<double> want(n, 0.0);
        for (size_t i = 0; i < k; ++i) {
          for (size_t c = 0; c < n; ++c) want[c] += double{x.values[i]} * b.values[i * n + c];
        }
        ExpectAllAndAShare(want, k, [&](size_t begin, size_t end, float* y) {
          AccumulateColumns(b.data(), k, n, x.values.data(), begin, end, y);
        });
      }
    }
  }
}

struct ProductCase {
  std::string op;  // Gemm, MatMul, FusedMatMul
  std::vector<int64_t> a, b, c;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  std::string activation;
};

Node ProductNode(const ProductCase& pc) {
  const bool has_c = !pc.c.empty();
  Node n = OnednnTestNode(pc.op, pc.op == "FusedMatMul" ? kEdgerunDomain : "", has_c ? 3 : 2);
  if (pc.op == "Gemm") {
    n.attrs["transA"] = Attribute::Int(pc.trans_a);
    n.attrs["transB"] = Attribute::Int(pc.trans_b);
    n.attrs["alpha"] = Attribute::Float(pc.alpha);
    n.attrs["beta"] = Attribute::Float(pc.beta);
  }
  if (!pc.activation.empty()) n.attrs["activation"] = Attribute::String(pc.activation);
  return n;
}

// Runs `node` on `path` (expecting the matvec kernel) and on the reference path.
void CheckOnMatVec(const Node& node, const std::vector<const Tensor*>& inputs, KernelPath path,
                   int threads) {
  // The path picks this kernel, not its library's.
  std::vector<TensorType> types;
  for (const Tensor* t : inputs) types.push_back({t->dtype(), t->dims()});
  Expected<std::vector<TensorType>> out_types = InferNode(node, types, inputs);
  ASSERT_TRUE(out_types.ok()) << out_types.status().message();
  const KernelPath order[] = {path};
  const KernelDef* picked = SelectKernel(SupportContext{node, types, inputs, *out_types}, order);
  ASSERT_NE(picked, nullptr);
  EXPECT_EQ(picked->invoke, FastMatVecKernels(path)[0].invoke);
  Expected<std::vector<Tensor>> fast = EvaluateNode(node, inputs, path, nullptr, threads);
  ASSERT_TRUE(fast.ok()) << fast.status().message();
  Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  const test_util::CompareResult r =
      test_util::AllClose((*fast)[0].view(), (*ref)[0].view(), 1e-5, 1e-5);
  EXPECT_TRUE(r.ok) << r.message;
}

void CheckProduct(const ProductCase& pc, KernelPath path, int threads, uint32_t seed) {
  const Tensor a = RandomTensor(DType::kF32, pc.a, seed);
  const Tensor b = RandomTensor(DType::kF32, pc.b, seed + 1);
  const Tensor c = pc.c.empty() ? Tensor() : RandomTensor(DType::kF32, pc.c, seed + 2);
  std::vector<const Tensor*> inputs = {&a, &b};
  if (!pc.c.empty()) inputs.push_back(&c);
  CheckOnMatVec(ProductNode(pc), inputs, path, threads);
}

const std::vector<ProductCase>& Cases() {
  static const std::vector<ProductCase> cases = {
      {"Gemm", {1, 37}, {19, 37}, {19}, false, true},             // classifier: B [n][k]
      {"Gemm", {1, 37}, {37, 19}, {1, 19}, false, false},         // B [k][n], C [1, n]
      {"Gemm", {37, 1}, {37, 70}, {1}, true, false, 0.5f, 2.0f},  // A^T, alpha, beta, scalar C
      {"Gemm", {1, 64}, {33, 64}, {}, false, true, 1.5f},         // no C
      {"MatMul", {1, 50}, {50, 21}, {}},
      {"MatMul", {50}, {50, 21}, {}},  // 1-D A
      {"MatMul", {1, 1, 50}, {50, 3}, {}},
      {"FusedMatMul", {1, 29}, {29, 40}, {40}, false, false, 1, 1, "Relu"},
      {"FusedMatMul", {1, 29}, {29, 40}, {1}, false, false, 1, 1, "Sigmoid"},
      // 1 MB of B: shared across the threads on the oneDNN path.
      {"Gemm", {1, 512}, {500, 512}, {500}, false, true},
      {"Gemm", {1, 512}, {512, 500}, {500}, false, false},
  };
  return cases;
}

TEST(MatVecTest, OneRowProductsMatchTheReferenceOnEveryPath) {
  uint32_t seed = 50;
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    for (int threads : {1, 2}) {
      for (const ProductCase& pc : Cases()) {
        SCOPED_TRACE(std::string(KernelPathName(path)) + ", " + std::to_string(threads) +
                     " threads, " + pc.op + " A " + DimsToString(pc.a) + " B " +
                     DimsToString(pc.b));
        CheckProduct(pc, path, threads, seed += 3);
      }
    }
  }
}

// A squeeze-excitation FC: an NHWC 1x1 Conv of one pixel, weights [n, k, 1, 1].
Node SqueezeExcitationConv(bool bias, const std::string& activation) {
  Node n = OnednnTestNode("Conv", kNhwcDomain, bias ? 3 : 2);
  n.attrs["kernel_shape"] = Attribute::Ints({1, 1});
  if (!activation.empty()) n.attrs["activation"] = Attribute::String(activation);
  return n;
}

TEST(MatVecTest, OnePixelPointwiseConvsMatchTheReference) {
  struct ConvCase {
    int64_t k, n;
    bool bias;
    std::string activation;
  };
  const ConvCase cases[] = {
      {1152, 48, true, "SiLU"},     // EfficientNet-B0's squeeze: rows of B dotted with x
      {48, 1152, true, "Sigmoid"},  // its excitation: short rows, B transposed at prepare
      {63, 70, false, ""},          // just short of a dotted row
      {64, 33, true, "Relu"},       // just long enough
      {5, 17, true, ""},
  };
  uint32_t seed = 90;
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    for (int threads : {1, 2}) {
      for (const ConvCase& c : cases) {
        SCOPED_TRACE(std::string(KernelPathName(path)) + ", " + std::to_string(threads) +
                     " threads, " + std::to_string(c.k) + " -> " + std::to_string(c.n));
        const Tensor x = RandomTensor(DType::kF32, {1, 1, 1, c.k}, seed += 3);
        const Tensor w = RandomTensor(DType::kF32, {c.n, c.k, 1, 1}, seed + 1);
        const Tensor b = RandomTensor(DType::kF32, {c.n}, seed + 2);
        std::vector<const Tensor*> inputs = {&x, &w};
        if (c.bias) inputs.push_back(&b);
        CheckOnMatVec(SqueezeExcitationConv(c.bias, c.activation), inputs, path, threads);
      }
    }
  }
}

TEST(MatVecTest, LeavesConvsOfMorePixelsOrGroupsToConvKernels) {
  const KernelDef* conv = nullptr;
  for (const KernelDef& k : FastMatVecKernels(KernelPath::kOnednn)) {
    if (k.op_type == "Conv") conv = &k;
  }
  ASSERT_NE(conv, nullptr);
  const Node node = SqueezeExcitationConv(false, "");
  const Tensor w = RandomTensor(DType::kF32, {8, 16, 1, 1}, 1);
  const Tensor* constant_w[] = {nullptr, &w};
  const Tensor* runtime_w[] = {nullptr, nullptr};
  const TensorType one_pixel[] = {{DType::kF32, {1, 1, 1, 16}}, {DType::kF32, {8, 16, 1, 1}}};
  const TensorType two_pixels[] = {{DType::kF32, {1, 1, 2, 16}}, {DType::kF32, {8, 16, 1, 1}}};
  const TensorType out_one[] = {{DType::kF32, {1, 1, 1, 8}}};
  const TensorType out_two[] = {{DType::kF32, {1, 1, 2, 8}}};
  EXPECT_TRUE(conv->supports(SupportContext{node, one_pixel, constant_w, out_one}));
  EXPECT_FALSE(conv->supports(SupportContext{node, two_pixels, constant_w, out_two}));
  EXPECT_FALSE(conv->supports(SupportContext{node, one_pixel, runtime_w, out_one}));
  // Two groups of 8 channels: weights [8, 8, 1, 1].
  Node grouped = SqueezeExcitationConv(false, "");
  grouped.attrs["group"] = Attribute::Int(2);
  const Tensor wg = RandomTensor(DType::kF32, {8, 8, 1, 1}, 2);
  const Tensor* constant_wg[] = {nullptr, &wg};
  const TensorType grouped_types[] = {{DType::kF32, {1, 1, 1, 16}}, {DType::kF32, {8, 8, 1, 1}}};
  EXPECT_FALSE(conv->supports(SupportContext{grouped, grouped_types, constant_wg, out_one}));
  // A 3x3 kernel padded to a one-pixel output.
  const Tensor w3 = RandomTensor(DType::kF32, {8, 16, 3, 3}, 3);
  const Tensor* constant_w3[] = {nullptr, &w3};
  const TensorType padded[] = {{DType::kF32, {1, 1, 1, 16}}, {DType::kF32, {8, 16, 3, 3}}};
  EXPECT_FALSE(conv->supports(SupportContext{node, padded, constant_w3, out_one}));
  // A fused residual input.
  const Node with_residual = OnednnTestNode("Conv", kNhwcDomain, 4);
  const Tensor* four_constants[] = {nullptr, &w, nullptr, nullptr};
  const TensorType four[] = {one_pixel[0], one_pixel[1], {}, {DType::kF32, {1, 1, 1, 8}}};
  EXPECT_FALSE(conv->supports(SupportContext{with_residual, four, four_constants, out_one}));
}

TEST(MatVecTest, TakesOnlyOneRowTimesAConstantMatrix) {
  const KernelDef* gemm = nullptr;
  for (const KernelDef& k : FastMatVecKernels(KernelPath::kOnednn)) {
    if (k.op_type == "Gemm") gemm = &k;
  }
  ASSERT_NE(gemm, nullptr);
  const Node node = ProductNode({"Gemm", {}, {}, {}, false, true});
  const Tensor b = RandomTensor(DType::kF32, {8, 16}, 1);
  const Tensor* constant_b[] = {nullptr, &b};
  const Tensor* runtime_b[] = {nullptr, nullptr};
  const TensorType one_row[] = {{DType::kF32, {1, 16}}, {DType::kF32, {8, 16}}};
  const TensorType two_rows[] = {{DType::kF32, {2, 16}}, {DType::kF32, {8, 16}}};
  const TensorType out_one[] = {{DType::kF32, {1, 8}}};
  const TensorType out_two[] = {{DType::kF32, {2, 8}}};
  EXPECT_TRUE(gemm->supports(SupportContext{node, one_row, constant_b, out_one}));
  EXPECT_FALSE(gemm->supports(SupportContext{node, two_rows, constant_b, out_two}));
  EXPECT_FALSE(gemm->supports(SupportContext{node, one_row, runtime_b, out_one}));
}

}  // namespace
}  // namespace edgerun
