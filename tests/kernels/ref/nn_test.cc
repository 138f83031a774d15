// Reference nn kernels other than conv (kernels/ref/{pool,matmul,einsum,norm}.cc) against naive
// loops written here: pooling with pads/ceil/dilations/indices, MatMul broadcasting and 1-D
// operands, Gemm attributes and C broadcast, FusedMatMul bias and activation, Einsum forms, and
// the normalization ops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/ref/ref_util.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/graph_builders.h"
#include "util/random_tensor.h"

// Case tables below list only the leading fields that differ from the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::ElementAt;
using testing::RandomTensor;
using testing::TensorFromDoubles;

Node MakeNode(const std::string& op, int opset, int num_inputs, int num_outputs = 1) {
  return testing::MakeNode(op, opset, num_inputs, num_outputs, "nn0");
}

std::vector<Tensor> RunNode(const Node& node, std::vector<const Tensor*> inputs) {
  auto out = EvaluateNode(node, inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : std::vector<Tensor>();
}

void ExpectClose(const Tensor& got, DType dtype, const std::vector<int64_t>& dims,
                 const std::vector<double>& want, double rtol = 1e-5, double atol = 1e-6) {
  Tensor expected = TensorFromDoubles(dtype, dims, want);
  auto r = test_util::AllClose(got.view(), expected.view(), rtol, atol);
  EXPECT_TRUE(r.ok) << r.message;
}

// ---- Pooling ----

struct PoolCase {
  std::vector<int64_t> x;
  std::vector<int64_t> kernel, strides, dilations, pads;
  bool ceil = false;
  bool include_pad = false;
};

// Naive 2-D pooling over explicit pads; mode "max", "avg" or "lp2". Window positions past the
// padded extent (ceil mode) are clipped; avg divides by in-input taps (or padded taps).
std::vector<double> NaivePool2d(const Tensor& x, const PoolCase& c, const std::string& mode,
                                std::vector<int64_t>* dims, std::vector<double>* indices) {
  const int64_t n = c.x[0], ch = c.x[1], h = c.x[2], w = c.x[3];
  const int64_t s0 = c.strides.empty() ? 1 : c.strides[0],
                s1 = c.strides.empty() ? 1 : c.strides[1];
  const int64_t d0 = c.dilations.empty() ? 1 : c.dilations[0];
  const int64_t d1 = c.dilations.empty() ? 1 : c.dilations[1];
  const int64_t pt = c.pads.empty() ? 0 : c.pads[0], pl = c.pads.empty() ? 0 : c.pads[1];
  const int64_t pbot = c.pads.empty() ? 0 : c.pads[2], pr = c.pads.empty() ? 0 : c.pads[3];
  const int64_t span0 = (c.kernel[0] - 1) * d0 + 1, span1 = (c.kernel[1] - 1) * d1 + 1;
  auto out_size = [&](int64_t in, int64_t p, int64_t span, int64_t s, int64_t pb) {
    const int64_t num = in + p - span;
    int64_t o = (c.ceil ? (num + s - 1) / s : num / s) + 1;
    if (c.ceil && (o - 1) * s >= in + pb) --o;
    return o;
  };
  const int64_t oh = out_size(h, pt + pbot, span0, s0, pt);
  const int64_t ow = out_size(w, pl + pr, span1, s1, pl);
  *dims = {n, ch, oh, ow};
  std::vector<double> out;
  for (int64_t p = 0; p < n * ch; ++p) {
    for (int64_t y = 0; y < oh; ++y) {
      for (int64_t xo = 0; xo < ow; ++xo) {
        double acc = mode == "max" ? -std::numeric_limits<double>::infinity() : 0.0;
        int64_t count = 0, padded = 0, arg = -1;
        for (int64_t ky = 0; ky < c.kernel[0]; ++ky) {
          for (int64_t kx = 0; kx < c.kernel[1]; ++kx) {
            const int64_t iy = y * s0 - pt + ky * d0, ix = xo * s1 - pl + kx * d1;
            if (iy >= -pt && iy < h + pbot && ix >= -pl && ix < w + pr) ++padded;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const double v = ElementAt(x, (p * h + iy) * w + ix);
            ++count;
            if (mode == "max") {
              if (v > acc) {
                acc = v;
                arg = (p * h + iy) * w + ix;
              }
            } else if (mode == "avg") {
              acc += v;
            } else {
              acc += v * v;
            }
          }
        }
        if (mode == "avg") acc /= static_cast<double>(c.include_pad ? padded : count);
        if (mode == "lp2") acc = std::sqrt(acc);
        out.push_back(acc);
        if (indices) indices->push_back(static_cast<double>(arg));
      }
    }
  }
  return out;
}

Node PoolNode(const std::string& op, const PoolCase& c, int outputs = 1) {
  Node node = MakeNode(op, op == "LpPool" ? 18 : 12, 1, outputs);
  node.attrs["kernel_shape"] = Attribute::Ints(c.kernel);
  if (!c.strides.empty()) node.attrs["strides"] = Attribute::Ints(c.strides);
  if (!c.dilations.empty()) node.attrs["dilations"] = Attribute::Ints(c.dilations);
  if (!c.pads.empty()) node.attrs["pads"] = Attribute::Ints(c.pads);
  if (c.ceil) node.attrs["ceil_mode"] = Attribute::Int(1);
  if (c.include_pad) node.attrs["count_include_pad"] = Attribute::Int(1);
  return node;
}

const PoolCase kPoolCases[] = {
    {{1, 2, 7, 7}, {3, 3}},
    {{2, 3, 9, 8}, {3, 2}, {2, 2}, {}, {1, 0, 1, 1}},
    {{1, 1, 10, 11}, {3, 3}, {2, 3}, {}, {1, 1, 1, 1}, true},
    {{1, 2, 8, 8}, {2, 3}, {1, 2}, {2, 2}, {}, true},
    {{1, 2, 6, 5}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, true, true},
    {{2, 1, 5, 5}, {5, 5}, {}, {}, {2, 2, 2, 2}, false, true},
};

TEST(RefPoolTest, MaxPoolWithIndicesMatchesNaive) {
  uint32_t seed = 1;
  for (const PoolCase& c : kPoolCases) {
    Tensor x = RandomTensor(DType::kF32, c.x, seed++, -5, 5);
    std::vector<int64_t> dims;
    std::vector<double> idx;
    const std::vector<double> want = NaivePool2d(x, c, "max", &dims, &idx);
    auto out = RunNode(PoolNode("MaxPool", c, 2), {&x});
    ASSERT_EQ(out.size(), 2u);
    ExpectClose(out[0], DType::kF32, dims, want);
    ExpectClose(out[1], DType::kI64, dims, idx, 0, 0);
  }
}

TEST(RefPoolTest, MaxPoolColumnMajorIndicesAndIntegers) {
  Tensor x = TensorFromDoubles(DType::kU8, {1, 1, 3, 4}, {1, 9, 3, 4, 5, 6, 7, 8, 2, 10, 11, 0});
  Node node = MakeNode("MaxPool", 12, 1, 2);
  node.attrs["kernel_shape"] = Attribute::Ints({2, 2});
  node.attrs["strides"] = Attribute::Ints({1, 2});
  node.attrs["storage_order"] = Attribute::Int(1);
  auto out = RunNode(node, {&x});
  ASSERT_EQ(out.size(), 2u);
  ExpectClose(out[0], DType::kU8, {1, 1, 2, 2}, {9, 8, 10, 11}, 0, 0);
  // Column-major flat index h + w * H: 9 at (0,1) -> 3, 8 at (1,3) -> 10, 10 at (2,1) -> 5,
  // 11 at (2,2) -> 8.
  ExpectClose(out[1], DType::kI64, {1, 1, 2, 2}, {3, 10, 5, 8}, 0, 0);
}

TEST(RefPoolTest, AveragePoolMatchesNaive) {
  uint32_t seed = 20;
  for (const PoolCase& c : kPoolCases) {
    if (!c.dilations.empty()) continue;  // AveragePool has no dilations before opset 19
    Tensor x = RandomTensor(DType::kF32, c.x, seed++);
    std::vector<int64_t> dims;
    const std::vector<double> want = NaivePool2d(x, c, "avg", &dims, nullptr);
    auto out = RunNode(PoolNode("AveragePool", c), {&x});
    ASSERT_EQ(out.size(), 1u);
    ExpectClose(out[0], DType::kF32, dims, want);
  }
}

TEST(RefPoolTest, LpPoolMatchesNaive) {
  uint32_t seed = 40;
  for (const PoolCase& c : kPoolCases) {
    Tensor x = RandomTensor(DType::kF64, c.x, seed++);
    std::vector<int64_t> dims;
    const std::vector<double> want = NaivePool2d(x, c, "lp2", &dims, nullptr);
    auto out = RunNode(PoolNode("LpPool", c), {&x});
    ASSERT_EQ(out.size(), 1u);
    ExpectClose(out[0], DType::kF64, dims, want, 1e-12, 1e-12);
  }
}

TEST(RefPoolTest, OneAndThreeDimensionalPools) {
  Tensor x1 = TensorFromDoubles(DType::kF32, {1, 1, 5}, {1, 5, 2, 4, 3});
  Node n1 = MakeNode("MaxPool", 12, 1);
  n1.attrs["kernel_shape"] = Attribute::Ints({2});
  n1.attrs["auto_pad"] = Attribute::String("SAME_UPPER");
  auto o1 = RunNode(n1, {&x1});
  ASSERT_EQ(o1.size(), 1u);
  ExpectClose(o1[0], DType::kF32, {1, 1, 5}, {5, 5, 4, 4, 3});

  Tensor x3 = RandomTensor(DType::kF32, {1, 2, 3, 4, 5}, 9);
  Node n3 = MakeNode("AveragePool", 11, 1);
  n3.attrs["kernel_shape"] = Attribute::Ints({3, 4, 5});
  auto o3 = RunNode(n3, {&x3});
  ASSERT_EQ(o3.size(), 1u);
  std::vector<double> want(2, 0.0);
  for (int64_t i = 0; i < 120; ++i) want[i / 60] += ElementAt(x3, i) / 60.0;
  ExpectClose(o3[0], DType::kF32, {1, 2, 1, 1, 1}, want);
}

TEST(RefPoolTest, GlobalPoolsMatchNaive) {
  Tensor x = RandomTensor(DType::kF32, {2, 3, 4, 5}, 11, -3, 3);
  std::vector<double> avg(6, 0.0), mx(6, -1e30), lp(6, 0.0);
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const double v = ElementAt(x, i);
    avg[i / 20] += v / 20.0;
    mx[i / 20] = std::max(mx[i / 20], v);
    lp[i / 20] += std::pow(std::abs(v), 3);
  }
  for (double& v : lp) v = std::cbrt(v);
  auto a = RunNode(MakeNode("GlobalAveragePool", 13, 1), {&x});
  auto m = RunNode(MakeNode("GlobalMaxPool", 13, 1), {&x});
  Node lp_node = MakeNode("GlobalLpPool", 13, 1);
  lp_node.attrs["p"] = Attribute::Int(3);
  auto l = RunNode(lp_node, {&x});
  ASSERT_TRUE(a.size() == 1 && m.size() == 1 && l.size() == 1);
  ExpectClose(a[0], DType::kF32, {2, 3, 1, 1}, avg);
  ExpectClose(m[0], DType::kF32, {2, 3, 1, 1}, mx);
  ExpectClose(l[0], DType::kF32, {2, 3, 1, 1}, lp);
}

// ---- MatMul / Gemm / FusedMatMul ----

// Naive numpy matmul on double copies, including broadcasting and 1-D operands.
std::vector<double> NaiveMatMul(const Tensor& a, const Tensor& b, std::vector<int64_t>* dims) {
  std::vector<int64_t> ad = a.dims(), bd = b.dims();
  const bool a1 = ad.size() == 1, b1 = bd.size() == 1;
  if (a1) ad.insert(ad.begin(), 1);
  if (b1) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  const size_t rank = std::max(ad.size(), bd.size());
  while (ad.size() < rank) ad.insert(ad.begin(), 1);
  while (bd.size() < rank) bd.insert(bd.begin(), 1);
  std::vector<int64_t> batch;
  for (size_t i = 0; i + 2 < rank; ++i) batch.push_back(std::max(ad[i], bd[i]));
  const int64_t batches = NumElements(batch);
  std::vector<double> out;
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t rem = bi, ao = 0, bo = 0, as = m * k, bs = k * n;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t c = rem % batch[d];
      rem /= batch[d];
      ao += (ad[d] == 1 ? 0 : c) * as;
      bo += (bd[d] == 1 ? 0 : c) * bs;
      as *= ad[d];
      bs *= bd[d];
    }
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          acc += ElementAt(a, ao + i * k + p) * ElementAt(b, bo + p * n + j);
        }
        out.push_back(acc);
      }
    }
  }
  *dims = batch;
  if (!a1) dims->push_back(m);
  if (!b1) dims->push_back(n);
  return out;
}

TEST(RefMatMulTest, BroadcastingAndVectorsMatchNaive) {
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{3, 4}, {4, 5}},          {{2, 3, 4}, {4, 5}},
      {{2, 3, 4}, {2, 4, 5}},    {{1, 3, 4}, {2, 4, 5}},
      {{2, 1, 3, 4}, {3, 4, 2}}, {{4}, {4, 5}},
      {{2, 3, 4}, {4}},          {{7}, {7}},
      {{5}, {3, 5, 2}},          {{1, 9, 70}, {1, 70, 33}},
      {{130, 300}, {300, 17}},
  };
  uint32_t seed = 1;
  for (DType dt : {DType::kF32, DType::kF64, DType::kI32, DType::kI64}) {
    for (const auto& [as, bs] : shapes) {
      Tensor a = RandomTensor(dt, as, seed++, -3, 3);
      Tensor b = RandomTensor(dt, bs, seed++, -3, 3);
      std::vector<int64_t> dims;
      const std::vector<double> want = NaiveMatMul(a, b, &dims);
      auto out = RunNode(MakeNode("MatMul", 13, 2), {&a, &b});
      ASSERT_EQ(out.size(), 1u);
      SCOPED_TRACE(std::string(DTypeName(dt)) + " " + DimsToString(as) + " x " + DimsToString(bs));
      ExpectClose(out[0], dt, dims, want, 1e-4, 1e-4);
    }
  }
}

TEST(RefGemmTest, AttributesAndBiasBroadcastMatchNaive) {
  struct GemmCase {
    int64_t m, n, k;
    int ta, tb;
    float alpha, beta;
    std::vector<int64_t> c;  // empty: no C
  };
  const GemmCase cases[] = {
      {3, 4, 5, 0, 0, 1.0f, 1.0f, {3, 4}}, {3, 4, 5, 1, 0, 0.5f, 2.0f, {4}},
      {7, 2, 9, 0, 1, 1.0f, 1.0f, {}},     {6, 5, 3, 1, 1, -1.0f, 0.5f, {1}},
      {4, 6, 8, 0, 0, 1.0f, 0.0f, {4, 6}}, {5, 3, 2, 0, 1, 2.0f, 1.0f, {5, 1}},
      {2, 3, 4, 0, 0, 1.0f, 3.0f, {}},     {33, 65, 129, 1, 0, 1.0f, 1.0f, {1, 65}},
  };
  uint32_t seed = 7;
  for (DType dt : {DType::kF32, DType::kF64}) {
    for (const GemmCase& g : cases) {
      Tensor a = RandomTensor(
          dt, g.ta ? std::vector<int64_t>{g.k, g.m} : std::vector<int64_t>{g.m, g.k}, seed++);
      Tensor b = RandomTensor(
          dt, g.tb ? std::vector<int64_t>{g.n, g.k} : std::vector<int64_t>{g.k, g.n}, seed++);
      Tensor c = RandomTensor(dt, g.c, seed++);
      Node node = MakeNode("Gemm", 13, g.c.empty() ? 2 : 3);
      node.attrs["transA"] = Attribute::Int(g.ta);
      node.attrs["transB"] = Attribute::Int(g.tb);
      node.attrs["alpha"] = Attribute::Float(g.alpha);
      node.attrs["beta"] = Attribute::Float(g.beta);
      std::vector<const Tensor*> ins = {&a, &b};
      if (!g.c.empty()) ins.push_back(&c);
      auto out = RunNode(node, ins);
      ASSERT_EQ(out.size(), 1u);
      std::vector<double> want;
      for (int64_t i = 0; i < g.m; ++i) {
        for (int64_t j = 0; j < g.n; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < g.k; ++p) {
            acc += ElementAt(a, g.ta ? p * g.m + i : i * g.k + p) *
                   ElementAt(b, g.tb ? j * g.k + p : p * g.n + j);
          }
          double cv = 0;
          if (!g.c.empty()) {
            const int64_t rows = g.c.size() == 2 ? g.c[0] : 1, cols = g.c.back();
            cv = ElementAt(c, (rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j));
          }
          want.push_back(g.alpha * acc + g.beta * cv);
        }
      }
      ExpectClose(out[0], dt, {g.m, g.n}, want, 1e-4, 1e-5);
    }
  }
}

TEST(RefGemmTest, FusedActivation) {
  Tensor a = RandomTensor(DType::kF32, {4, 6}, 1);
  Tensor b = RandomTensor(DType::kF32, {6, 5}, 2);
  Node node = MakeNode("Gemm", 13, 2);
  node.attrs["activation"] = Attribute::String("Clip");
  node.attrs["activation_params"] = Attribute::Floats({-0.25f, 0.3f});
  auto out = RunNode(node, {&a, &b});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < 6; ++p) acc += ElementAt(a, i * 6 + p) * ElementAt(b, p * 5 + j);
      want.push_back(std::clamp(acc, -0.25, 0.3));
    }
  }
  ExpectClose(out[0], DType::kF32, {4, 5}, want);
}

TEST(RefFusedMatMulTest, BiasAndActivation) {
  Tensor a = RandomTensor(DType::kF32, {2, 3, 8}, 3);
  Tensor b = RandomTensor(DType::kF32, {8, 5}, 4);
  Tensor bias = RandomTensor(DType::kF32, {5}, 5);
  for (std::string act : {"", "Relu", "LeakyRelu", "Tanh", "SiLU", "HardSigmoid"}) {
    Node node = MakeNode("FusedMatMul", 1, 3);
    node.domain = std::string(kEdgerunDomain);
    if (!act.empty()) node.attrs["activation"] = Attribute::String(act);
    auto out = RunNode(node, {&a, &b, &bias});
    ASSERT_EQ(out.size(), 1u);
    std::vector<int64_t> dims;
    std::vector<double> want = NaiveMatMul(a, b, &dims);
    for (size_t i = 0; i < want.size(); ++i) {
      double v = want[i] + ElementAt(bias, i % 5);
      if (act == "Relu") v = std::max(v, 0.0);
      if (act == "LeakyRelu") v = v >= 0 ? v : 0.01 * v;
      if (act == "Tanh") v = std::tanh(v);
      if (act == "SiLU") v = v / (1 + std::exp(-v));
      if (act == "HardSigmoid") v = std::clamp(0.2 * v + 0.5, 0.0, 1.0);
      want[i] = v;
    }
    SCOPED_TRACE(act);
    ExpectClose(out[0], DType::kF32, dims, want);
  }
}

// ---- Einsum ----

Tensor RunEinsum(const std::string& eq, std::vector<const Tensor*> ins) {
  Node node = MakeNode("Einsum", 12, static_cast<int>(ins.size()));
  node.attrs["equation"] = Attribute::String(eq);
  auto out = RunNode(node, ins);
  return out.empty() ? Tensor() : out[0];
}

TEST(RefEinsumTest, CommonFormsMatchNaive) {
  Tensor a = RandomTensor(DType::kF64, {3, 4}, 1);
  Tensor b = RandomTensor(DType::kF64, {4, 5}, 2);
  Tensor v = RandomTensor(DType::kF64, {3}, 3);
  Tensor w = RandomTensor(DType::kF64, {4}, 4);
  Tensor ba = RandomTensor(DType::kF64, {2, 3, 4}, 5);
  Tensor bb = RandomTensor(DType::kF64, {2, 4, 5}, 6);
  auto at = [](const Tensor& t, int64_t i) { return ElementAt(t, i); };

  std::vector<double> mm;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 5; ++k) {
      double s = 0;
      for (int j = 0; j < 4; ++j) s += at(a, i * 4 + j) * at(b, j * 5 + k);
      mm.push_back(s);
    }
  ExpectClose(RunEinsum("ij,jk->ik", {&a, &b}), DType::kF64, {3, 5}, mm);
  ExpectClose(RunEinsum("ij,jk", {&a, &b}), DType::kF64, {3, 5}, mm);  // implicit output

  std::vector<double> bmm;
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) {
        double s = 0;
        for (int j = 0; j < 4; ++j) s += at(ba, (n * 3 + i) * 4 + j) * at(bb, (n * 4 + j) * 5 + k);
        bmm.push_back(s);
      }
  ExpectClose(RunEinsum("bij,bjk->bik", {&ba, &bb}), DType::kF64, {2, 3, 5}, bmm);
  ExpectClose(RunEinsum("...ij,...jk->...ik", {&ba, &bb}), DType::kF64, {2, 3, 5}, bmm);

  std::vector<double> tr;
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 3; ++i) tr.push_back(at(a, i * 4 + j));
  ExpectClose(RunEinsum("ij->ji", {&a}), DType::kF64, {4, 3}, tr);
  ExpectClose(RunEinsum("ji", {&a}), DType::kF64, {4, 3}, tr);  // implicit: sorted labels

  std::vector<double> rows(3, 0.0);
  double total = 0;
  for (int i = 0; i < 12; ++i) {
    rows[i / 4] += at(a, i);
    total += at(a, i);
  }
  ExpectClose(RunEinsum("ij->i", {&a}), DType::kF64, {3}, rows);
  ExpectClose(RunEinsum("ij->", {&a}), DType::kF64, {}, {total});

  std::vector<double> outer;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) outer.push_back(at(v, i) * at(w, j));
  ExpectClose(RunEinsum("i,j->ij", {&v, &w}), DType::kF64, {3, 4}, outer);

  double dot = 0;
  for (int i = 0; i < 3; ++i) dot += at(v, i) * at(v, i);
  ExpectClose(RunEinsum("i,i", {&v, &v}), DType::kF64, {}, {dot});

  Tensor sq = RandomTensor(DType::kF32, {2, 3, 3}, 8);
  std::vector<double> diag;
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i) diag.push_back(at(sq, n * 9 + i * 4));
  ExpectClose(RunEinsum("...ii->...i", {&sq}), DType::kF32, {2, 3}, diag);
}

TEST(RefEinsumTest, BroadcastsEllipsisAndIntegers) {
  Tensor a = RandomTensor(DType::kI32, {2, 1, 3, 4}, 1, -5, 5);
  Tensor b = RandomTensor(DType::kI32, {5, 4, 2}, 2, -5, 5);
  Tensor got = RunEinsum("...ij,...jk->...ik", {&a, &b});
  std::vector<int64_t> dims;
  const std::vector<double> want = NaiveMatMul(a, b, &dims);
  ExpectClose(got, DType::kI32, dims, want, 0, 0);
}

// ---- Normalization ----

TEST(RefNormTest, BatchNormInferenceAndTraining) {
  Tensor x = RandomTensor(DType::kF32, {2, 3, 4, 5}, 1);
  Tensor scale = RandomTensor(DType::kF32, {3}, 2);
  Tensor bias = RandomTensor(DType::kF32, {3}, 3);
  Tensor mean = RandomTensor(DType::kF32, {3}, 4);
  Tensor var = RandomTensor(DType::kF32, {3}, 5, 0.5, 2.0);
  Node node = MakeNode("BatchNormalization", 15, 5);
  node.attrs["epsilon"] = Attribute::Float(1e-3f);
  auto out = RunNode(node, {&x, &scale, &bias, &mean, &var});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const int64_t c = (i / 20) % 3;
    want.push_back((ElementAt(x, i) - ElementAt(mean, c)) / std::sqrt(ElementAt(var, c) + 1e-3) *
                       ElementAt(scale, c) +
                   ElementAt(bias, c));
  }
  ExpectClose(out[0], DType::kF32, x.dims(), want);

  Node train = MakeNode("BatchNormalization", 15, 5, 3);
  train.attrs["training_mode"] = Attribute::Int(1);
  train.attrs["momentum"] = Attribute::Float(0.8f);
  auto tout = RunNode(train, {&x, &scale, &bias, &mean, &var});
  ASSERT_EQ(tout.size(), 3u);
  std::vector<double> bm(3, 0.0), bv(3, 0.0), ty, rm, rv;
  for (int64_t i = 0; i < 120; ++i) bm[(i / 20) % 3] += ElementAt(x, i) / 40.0;
  for (int64_t i = 0; i < 120; ++i) {
    const double d = ElementAt(x, i) - bm[(i / 20) % 3];
    bv[(i / 20) % 3] += d * d / 40.0;
  }
  for (int64_t i = 0; i < 120; ++i) {
    const int64_t c = (i / 20) % 3;
    ty.push_back((ElementAt(x, i) - bm[c]) / std::sqrt(bv[c] + 1e-5) * ElementAt(scale, c) +
                 ElementAt(bias, c));
  }
  for (int c = 0; c < 3; ++c) {
    rm.push_back(ElementAt(mean, c) * 0.8 + bm[c] * 0.2);
    rv.push_back(ElementAt(var, c) * 0.8 + bv[c] * 0.2);
  }
  ExpectClose(tout[0], DType::kF32, x.dims(), ty);
  ExpectClose(tout[1], DType::kF32, {3}, rm);
  ExpectClose(tout[2], DType::kF32, {3}, rv);
}

TEST(RefNormTest, InstanceNormMatchesNaive) {
  Tensor x = RandomTensor(DType::kF64, {2, 3, 7}, 1);
  Tensor scale = RandomTensor(DType::kF64, {3}, 2);
  Tensor bias = RandomTensor(DType::kF64, {3}, 3);
  auto out = RunNode(MakeNode("InstanceNormalization", 6, 3), {&x, &scale, &bias});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (int p = 0; p < 6; ++p) {
    double mean = 0, var = 0;
    for (int i = 0; i < 7; ++i) mean += ElementAt(x, p * 7 + i) / 7;
    for (int i = 0; i < 7; ++i) var += std::pow(ElementAt(x, p * 7 + i) - mean, 2) / 7;
    for (int i = 0; i < 7; ++i) {
      want.push_back((ElementAt(x, p * 7 + i) - mean) / std::sqrt(var + 1e-5) *
                         ElementAt(scale, p % 3) +
                     ElementAt(bias, p % 3));
    }
  }
  ExpectClose(out[0], DType::kF64, x.dims(), want, 1e-12, 1e-12);
}

TEST(RefNormTest, LrnMatchesNaive) {
  Tensor x = RandomTensor(DType::kF32, {2, 6, 3, 2}, 4);
  Node node = MakeNode("LRN", 13, 1);
  node.attrs["size"] = Attribute::Int(4);
  node.attrs["alpha"] = Attribute::Float(0.01f);
  node.attrs["beta"] = Attribute::Float(0.6f);
  node.attrs["bias"] = Attribute::Float(2.0f);
  auto out = RunNode(node, {&x});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 6; ++c)
      for (int i = 0; i < 6; ++i) {
        double sq = 0;
        // size 4: floor(3/2) = 1 channel before, ceil(3/2) = 2 after.
        for (int cc = std::max(0, c - 1); cc <= std::min(5, c + 2); ++cc) {
          sq += std::pow(ElementAt(x, (n * 6 + cc) * 6 + i), 2);
        }
        want.push_back(ElementAt(x, (n * 6 + c) * 6 + i) / std::pow(2.0 + 0.01 / 4 * sq, 0.6));
      }
  ExpectClose(out[0], DType::kF32, x.dims(), want);
}

TEST(RefNormTest, LayerNormWithStatsAndBroadcastScale) {
  Tensor x = RandomTensor(DType::kF32, {2, 3, 4}, 5);
  Tensor scale = RandomTensor(DType::kF32, {4}, 6);  // broadcasts over the 3x4 block
  Tensor bias = RandomTensor(DType::kF32, {3, 4}, 7);
  Node node = MakeNode("LayerNormalization", 17, 3, 3);
  node.attrs["axis"] = Attribute::Int(-2);
  node.attrs["epsilon"] = Attribute::Float(1e-3f);
  auto out = RunNode(node, {&x, &scale, &bias});
  ASSERT_EQ(out.size(), 3u);
  std::vector<double> y, means, invs;
  for (int o = 0; o < 2; ++o) {
    double mean = 0, var = 0;
    for (int i = 0; i < 12; ++i) mean += ElementAt(x, o * 12 + i) / 12;
    for (int i = 0; i < 12; ++i) var += std::pow(ElementAt(x, o * 12 + i) - mean, 2) / 12;
    const double inv = 1 / std::sqrt(var + 1e-3);
    means.push_back(mean);
    invs.push_back(inv);
    for (int i = 0; i < 12; ++i) {
      y.push_back((ElementAt(x, o * 12 + i) - mean) * inv * ElementAt(scale, i % 4) +
                  ElementAt(bias, i));
    }
  }
  ExpectClose(out[0], DType::kF32, x.dims(), y);
  ExpectClose(out[1], DType::kF32, {2, 1, 1}, means);
  ExpectClose(out[2], DType::kF32, {2, 1, 1}, invs);
}

TEST(RefNormTest, MeanVarianceNormalizationMatchesNaive) {
  Tensor x = RandomTensor(DType::kF32, {2, 3, 2, 2}, 8);
  for (auto axes : std::vector<std::vector<int64_t>>{{0, 2, 3}, {1}, {2, 3}}) {
    Node node = MakeNode("MeanVarianceNormalization", 13, 1);
    node.attrs["axes"] = Attribute::Ints(axes);
    auto out = RunNode(node, {&x});
    ASSERT_EQ(out.size(), 1u);
    // Group key: the coordinates on the non-normalized axes.
    auto key = [&](int64_t i) {
      int64_t k = 0, rem = i;
      const int64_t dims[4] = {2, 3, 2, 2};
      int64_t coord[4];
      for (int d = 3; d >= 0; --d) {
        coord[d] = rem % dims[d];
        rem /= dims[d];
      }
      for (int d = 0; d < 4; ++d) {
        if (std::find(axes.begin(), axes.end(), d) == axes.end()) k = k * dims[d] + coord[d];
      }
      return k;
    };
    std::vector<double> sum(24, 0.0), sq(24, 0.0), cnt(24, 0.0), want;
    for (int64_t i = 0; i < 24; ++i) {
      sum[key(i)] += ElementAt(x, i);
      sq[key(i)] += ElementAt(x, i) * ElementAt(x, i);
      cnt[key(i)] += 1;
    }
    for (int64_t i = 0; i < 24; ++i) {
      const double mean = sum[key(i)] / cnt[key(i)];
      const double var = sq[key(i)] / cnt[key(i)] - mean * mean;
      want.push_back((ElementAt(x, i) - mean) / (std::sqrt(var) + 1e-9));
    }
    ExpectClose(out[0], DType::kF32, x.dims(), want, 1e-4, 1e-5);
  }
}

// ---- Fused activation attributes ----

TEST(FusedActivationTest, ParsesNamesParamsAndDefaults) {
  Node n = MakeNode("Conv", 13, 2);
  auto none = FusedActivation::FromNode(n);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, FusedActivation::Kind::kNone);
  EXPECT_EQ(none->Apply(-3.0f), -3.0f);

  n.attrs["activation"] = Attribute::String("Clip");
  n.attrs["activation_params"] = Attribute::Floats({0.0f, 6.0f});
  auto clip = FusedActivation::FromNode(n);
  ASSERT_TRUE(clip.ok());
  EXPECT_EQ(clip->kind, FusedActivation::Kind::kClip);
  EXPECT_EQ(clip->Apply(7.5f), 6.0f);
  EXPECT_EQ(clip->Apply(-1.0f), 0.0f);

  n.attrs["activation"] = Attribute::String("LeakyRelu");
  n.attrs.erase("activation_params");
  auto leaky = FusedActivation::FromNode(n);
  ASSERT_TRUE(leaky.ok());
  EXPECT_FLOAT_EQ(leaky->Apply(-2.0f), -0.02f);  // ONNX default alpha 0.01

  n.attrs["activation"] = Attribute::String("HardSigmoid");
  auto hs = FusedActivation::FromNode(n);
  ASSERT_TRUE(hs.ok());
  EXPECT_FLOAT_EQ(hs->Apply(1.0f), 0.7f);  // defaults alpha 0.2, beta 0.5

  n.attrs["activation"] = Attribute::String("Relu");
  n.attrs["activation_params"] = Attribute::Floats({1.0f});
  auto bad = FusedActivation::FromNode(n);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(bad.status().message().find("node 'nn0' (Conv)"), std::string::npos);

  n.attrs.erase("activation_params");
  n.attrs["activation"] = Attribute::String("Gelu");
  auto unknown = FusedActivation::FromNode(n);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(unknown.status().message().find("node 'nn0' (Conv): unknown fused activation 'Gelu'"),
            std::string::npos)
      << unknown.status().message();

  n.attrs["activation"] = Attribute::Int(3);
  EXPECT_FALSE(FusedActivation::FromNode(n).ok());
}

// "activation_affine" = [scale, shift] applies after the activation.
TEST(FusedActivationTest, AffineRunsAfterTheActivation) {
  Node n = MakeNode("Conv", 13, 2);
  n.attrs["activation"] = Attribute::String("Relu");
  n.attrs["activation_affine"] = Attribute::Floats({2.0f, -1.0f});
  auto act = FusedActivation::FromNode(n);
  ASSERT_TRUE(act.ok()) << act.status().ToString();
  EXPECT_TRUE(act->has_affine());
  EXPECT_FALSE(act->is_identity());
  EXPECT_EQ(act->Apply(-3.0f), -1.0f);  // relu(-3) * 2 - 1
  EXPECT_EQ(act->Apply(1.5f), 2.0f);

  n.attrs["activation"] = Attribute::String("");
  auto only_affine = FusedActivation::FromNode(n);
  ASSERT_TRUE(only_affine.ok());
  EXPECT_EQ(only_affine->kind, FusedActivation::Kind::kNone);
  EXPECT_EQ(only_affine->Apply(-3.0f), -7.0f);

  n.attrs["activation_affine"] = Attribute::Floats({1.0f, 0.0f});
  auto identity = FusedActivation::FromNode(n);
  ASSERT_TRUE(identity.ok());
  EXPECT_TRUE(identity->is_identity());

  n.attrs["activation_affine"] = Attribute::Floats({2.0f});
  auto bad = FusedActivation::FromNode(n);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(
      bad.status().message().find("node 'nn0' (Conv): activation_affine takes [scale, shift]"),
      std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace edgerun
