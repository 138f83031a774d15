// Reference Conv and ConvTranspose kernels (kernels/ref/conv.cc) against naive direct loops in
// double precision: random shapes with odd sizes, groups, depthwise (with multiplier), strides,
// dilations, asymmetric pads, auto_pad, batch > 1, 1-D/2-D/3-D, 1x1 fast path, fused activations.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/ref/conv.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

// Case tables below list only the leading fields that differ from the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::RandomTensor;

Expected<std::vector<Tensor>> Eval(const Node& node, std::vector<const Tensor*> inputs) {
  return EvaluateNode(node, inputs);
}

Node MakeNode(const std::string& op, int num_inputs) {
  Node n;
  n.name = "conv0";
  n.op_type = op;
  n.opset = 13;
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back(i);
  n.outputs.push_back(num_inputs);
  return n;
}

struct ConvCase {
  std::vector<int64_t> x;  // N, C, spatial...
  int64_t m;               // output channels
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  bool bias = true;
  std::string activation;
  std::vector<float> activation_params;
};

double Activate(const std::string& act, const std::vector<float>& p, double v) {
  if (act == "Relu") return std::max(v, 0.0);
  if (act == "Clip") return std::min(std::max(v, double{p[0]}), double{p[1]});
  if (act == "LeakyRelu") return v >= 0 ? v : p[0] * v;
  if (act == "Sigmoid") return 1.0 / (1.0 + std::exp(-v));
  if (act == "HardSwish") return v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0);
  return v;
}

// Pads the spatial vectors of an n-D case to 3-D (leading 1s), as plain arrays.
struct Geometry {
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
};

Geometry MakeGeometry(const ConvCase& c) {
  Geometry g;
  const size_t n = c.kernel.size();
  for (size_t i = 0; i < n; ++i) {
    const size_t j = 3 - n + i;
    g.in[j] = c.x[2 + i];
    g.k[j] = c.kernel[i];
    if (!c.strides.empty()) g.s[j] = c.strides[i];
    if (!c.dilations.empty()) g.d[j] = c.dilations[i];
    if (!c.pads.empty()) {
      g.pb[j] = c.pads[i];
      g.pe[j] = c.pads[n + i];
    }
  }
  return g;
}

void SetWindowAttrs(Node& node, const ConvCase& c) {
  node.attrs["group"] = Attribute::Int(c.group);
  if (!c.strides.empty()) node.attrs["strides"] = Attribute::Ints(c.strides);
  if (!c.dilations.empty()) node.attrs["dilations"] = Attribute::Ints(c.dilations);
  if (!c.pads.empty()) node.attrs["pads"] = Attribute::Ints(c.pads);
  if (!c.activation.empty()) {
    node.attrs["activation"] = Attribute::String(c.activation);
    if (!c.activation_params.empty()) {
      node.attrs["activation_params"] = Attribute::Floats(c.activation_params);
    }
  }
}

void CheckConv(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE("x=" + DimsToString(c.x) + " k=" + DimsToString(c.kernel) +
               " group=" + std::to_string(c.group) + " m=" + std::to_string(c.m));
  const int64_t cg = c.x[1] / c.group, mg = c.m / c.group;
  std::vector<int64_t> wdims = {c.m, cg};
  wdims.insert(wdims.end(), c.kernel.begin(), c.kernel.end());
  Tensor x = RandomTensor(DType::kF32, c.x, seed);
  Tensor w = RandomTensor(DType::kF32, wdims, seed + 1);
  Tensor b = RandomTensor(DType::kF32, {c.m}, seed + 2);
  Node node = MakeNode("Conv", c.bias ? 3 : 2);
  SetWindowAttrs(node, c);
  std::vector<const Tensor*> ins = {&x, &w};
  if (c.bias) ins.push_back(&b);
  auto out = EvaluateNode(node, ins);
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  const Geometry g = MakeGeometry(c);
  int64_t od[3];
  for (int i = 0; i < 3; ++i) {
    od[i] = (g.in[i] + g.pb[i] + g.pe[i] - ((g.k[i] - 1) * g.d[i] + 1)) / g.s[i] + 1;
  }
  std::vector<int64_t> ydims = {c.x[0], c.m};
  for (size_t i = 0; i < c.kernel.size(); ++i) ydims.push_back(od[3 - c.kernel.size() + i]);
  ASSERT_EQ((*out)[0].dims(), ydims);

  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  const int64_t in_size = g.in[0] * g.in[1] * g.in[2], ks = g.k[0] * g.k[1] * g.k[2];
  std::vector<double> want;
  for (int64_t n = 0; n < c.x[0]; ++n) {
    for (int64_t m = 0; m < c.m; ++m) {
      const int64_t grp = m / mg;
      for (int64_t o0 = 0; o0 < od[0]; ++o0)
        for (int64_t o1 = 0; o1 < od[1]; ++o1)
          for (int64_t o2 = 0; o2 < od[2]; ++o2) {
            double acc = c.bias ? b.data<float>()[m] : 0.0;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                    const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                    const int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 ||
                        i2 >= g.in[2]) {
                      continue;
                    }
                    const double xv = xp[(n * c.x[1] + grp * cg + ci) * in_size +
                                         (i0 * g.in[1] + i1) * g.in[2] + i2];
                    const double wv = wp[(m * cg + ci) * ks + (k0 * g.k[1] + k1) * g.k[2] + k2];
                    acc += xv * wv;
                  }
            want.push_back(Activate(c.activation, c.activation_params, acc));
          }
    }
  }
  Tensor expected =
      Tensor::FromVector(DType::kF32, ydims, std::vector<float>(want.begin(), want.end()));
  auto r = test_util::AllClose((*out)[0].view(), expected.view(), 1e-4, 1e-5);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(RefConvTest, MatchesNaive2d) {
  const ConvCase cases[] = {
      {{1, 3, 7, 9}, 5, {3, 3}},
      {{2, 4, 11, 6}, 6, {3, 2}, 1, {2, 1}, {1, 1}, {1, 0, 2, 1}},
      {{1, 6, 10, 10}, 4, {3, 3}, 2, {1, 1}, {2, 2}, {2, 2, 2, 2}},
      {{2, 8, 9, 13}, 8, {5, 3}, 4, {2, 3}, {1, 2}, {0, 3, 1, 0}, false},
      {{1, 16, 5, 5}, 32, {1, 1}},                                 // 1x1 direct GEMM
      {{3, 5, 4, 7}, 7, {1, 1}, 1, {}, {}, {}, false},             // 1x1, batch 3, no bias
      {{1, 3, 6, 6}, 2, {1, 1}, 1, {2, 2}},                        // 1x1 strided -> im2col
      {{1, 2, 3, 3}, 3, {5, 5}, 1, {}, {}, {2, 2, 2, 2}},          // kernel larger than input
      {{1, 70, 20, 21}, 33, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}},  // deep K, several col tiles
  };
  uint32_t seed = 10;
  for (const ConvCase& c : cases) CheckConv(c, seed += 3);
}

TEST(RefConvTest, MatchesNaiveDepthwise) {
  const ConvCase cases[] = {
      {{1, 8, 9, 9}, 8, {3, 3}, 8, {1, 1}, {}, {1, 1, 1, 1}},
      {{2, 6, 12, 7}, 6, {3, 3}, 6, {2, 2}, {}, {1, 0, 1, 2}},
      {{1, 4, 10, 10}, 12, {3, 5}, 4, {1, 2}, {2, 1}, {2, 2, 2, 2}},  // channel multiplier 3
      {{1, 3, 8}, 3, {3}, 3, {2}, {}, {1, 1}},                        // 1-D
      {{1, 2, 4, 5, 6}, 2, {2, 3, 3}, 2, {1, 1, 2}, {}, {1, 1, 1, 0, 1, 1}},  // 3-D
  };
  uint32_t seed = 50;
  for (const ConvCase& c : cases) CheckConv(c, seed += 3);
}

TEST(RefConvTest, MatchesNaive1dAnd3d) {
  const ConvCase cases[] = {
      {{2, 3, 17}, 4, {3}},
      {{1, 4, 20}, 6, {5}, 2, {3}, {2}, {2, 1}},
      {{1, 2, 5, 6, 7}, 3, {3, 3, 3}},
      {{2, 4, 6, 5, 7}, 4, {2, 3, 2}, 2, {2, 1, 2}, {1, 2, 1}, {1, 0, 1, 0, 2, 1}},
  };
  uint32_t seed = 90;
  for (const ConvCase& c : cases) CheckConv(c, seed += 3);
}

TEST(RefConvTest, AppliesFusedActivations) {
  ConvCase base{{1, 4, 8, 8}, 6, {3, 3}, 1, {}, {}, {1, 1, 1, 1}};
  uint32_t seed = 130;
  for (auto [act, params] :
       std::vector<std::pair<std::string, std::vector<float>>>{{"Relu", {}},
                                                               {"Clip", {-0.5f, 0.5f}},
                                                               {"LeakyRelu", {0.1f}},
                                                               {"Sigmoid", {}},
                                                               {"HardSwish", {}}}) {
    ConvCase c = base;
    c.activation = act;
    c.activation_params = params;
    CheckConv(c, seed++);
    ConvCase dw{{1, 4, 8, 8}, 4, {3, 3}, 4, {}, {}, {1, 1, 1, 1}, true, act, params};
    CheckConv(dw, seed++);
  }
}

TEST(RefConvTest, UnknownActivationIsInvalidModel) {
  Tensor x = RandomTensor(DType::kF32, {1, 1, 4, 4}, 1);
  Tensor w = RandomTensor(DType::kF32, {1, 1, 3, 3}, 2);
  Node node = MakeNode("Conv", 2);
  node.attrs["activation"] = Attribute::String("Swishy");
  auto out = Eval(node, {&x, &w});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(out.status().message().find("node 'conv0' (Conv)"), std::string::npos);
  EXPECT_NE(out.status().message().find("Swishy"), std::string::npos);
}

TEST(RefConvTest, SameUpperAndLowerMatchExplicitPads) {
  Tensor x = RandomTensor(DType::kF32, {1, 2, 7, 8}, 3);
  Tensor w = RandomTensor(DType::kF32, {3, 2, 4, 3}, 4);
  // Stride 2: out = ceil(7/2)=4, ceil(8/2)=4; total pads = 3*2+4-7=3 and 3*2+3-8=1.
  for (auto [mode, pads] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"SAME_UPPER", {1, 0, 2, 1}}, {"SAME_LOWER", {2, 1, 1, 0}}, {"VALID", {0, 0, 0, 0}}}) {
    Node a = MakeNode("Conv", 2);
    a.attrs["auto_pad"] = Attribute::String(mode);
    a.attrs["strides"] = Attribute::Ints({2, 2});
    Node b = MakeNode("Conv", 2);
    b.attrs["pads"] = Attribute::Ints(pads);
    b.attrs["strides"] = Attribute::Ints({2, 2});
    auto ra = Eval(a, {&x, &w});
    auto rb = Eval(b, {&x, &w});
    ASSERT_TRUE(ra.ok() && rb.ok()) << mode;
    auto r = test_util::AllClose((*ra)[0].view(), (*rb)[0].view(), 0, 0);
    EXPECT_TRUE(r.ok) << mode << ": " << r.message;
  }
}

// ---- ConvTranspose ----

struct ConvTransposeCase {
  std::vector<int64_t> x;
  int64_t m;  // output channels (all groups)
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads, output_padding;
  bool bias = true;
};

void CheckConvTranspose(const ConvTransposeCase& c, uint32_t seed) {
  SCOPED_TRACE("x=" + DimsToString(c.x) + " k=" + DimsToString(c.kernel));
  const size_t n = c.kernel.size();
  const int64_t cg = c.x[1] / c.group, mg = c.m / c.group;
  std::vector<int64_t> wdims = {c.x[1], mg};
  wdims.insert(wdims.end(), c.kernel.begin(), c.kernel.end());
  Tensor x = RandomTensor(DType::kF32, c.x, seed);
  Tensor w = RandomTensor(DType::kF32, wdims, seed + 1);
  Tensor b = RandomTensor(DType::kF32, {c.m}, seed + 2);
  Node node = MakeNode("ConvTranspose", c.bias ? 3 : 2);
  node.attrs["group"] = Attribute::Int(c.group);
  if (!c.strides.empty()) node.attrs["strides"] = Attribute::Ints(c.strides);
  if (!c.dilations.empty()) node.attrs["dilations"] = Attribute::Ints(c.dilations);
  if (!c.pads.empty()) node.attrs["pads"] = Attribute::Ints(c.pads);
  if (!c.output_padding.empty()) node.attrs["output_padding"] = Attribute::Ints(c.output_padding);
  std::vector<const Tensor*> ins = {&x, &w};
  if (c.bias) ins.push_back(&b);
  auto out = EvaluateNode(node, ins);
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1},
          pb[3] = {0, 0, 0}, od[3] = {1, 1, 1};
  for (size_t i = 0; i < n; ++i) {
    const size_t j = 3 - n + i;
    in[j] = c.x[2 + i];
    k[j] = c.kernel[i];
    if (!c.strides.empty()) s[j] = c.strides[i];
    if (!c.dilations.empty()) d[j] = c.dilations[i];
    const int64_t pe = c.pads.empty() ? 0 : c.pads[n + i];
    if (!c.pads.empty()) pb[j] = c.pads[i];
    const int64_t op = c.output_padding.empty() ? 0 : c.output_padding[i];
    od[j] = s[j] * (in[j] - 1) + op + (k[j] - 1) * d[j] + 1 - pb[j] - pe;
  }
  std::vector<int64_t> ydims = {c.x[0], c.m};
  for (size_t i = 0; i < n; ++i) ydims.push_back(od[3 - n + i]);
  ASSERT_EQ((*out)[0].dims(), ydims);
  const int64_t out_size = od[0] * od[1] * od[2], in_size = in[0] * in[1] * in[2];
  std::vector<double> want(NumElements(ydims), 0.0);
  for (int64_t bn = 0; bn < c.x[0]; ++bn) {
    for (int64_t m = 0; m < c.m; ++m) {
      for (int64_t o = 0; o < out_size; ++o) {
        want[(bn * c.m + m) * out_size + o] = c.bias ? b.data<float>()[m] : 0.0;
      }
    }
    for (int64_t ci = 0; ci < c.x[1]; ++ci) {
      const int64_t grp = ci / cg;
      for (int64_t mi = 0; mi < mg; ++mi)
        for (int64_t i0 = 0; i0 < in[0]; ++i0)
          for (int64_t i1 = 0; i1 < in[1]; ++i1)
            for (int64_t i2 = 0; i2 < in[2]; ++i2)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t o0 = i0 * s[0] - pb[0] + k0 * d[0];
                    const int64_t o1 = i1 * s[1] - pb[1] + k1 * d[1];
                    const int64_t o2 = i2 * s[2] - pb[2] + k2 * d[2];
                    if (o0 < 0 || o0 >= od[0] || o1 < 0 || o1 >= od[1] || o2 < 0 || o2 >= od[2]) {
                      continue;
                    }
                    const double xv = x.data<float>()[(bn * c.x[1] + ci) * in_size +
                                                      (i0 * in[1] + i1) * in[2] + i2];
                    const double wv = w.data<float>()[((ci * mg + mi) * k[0] + k0) * k[1] * k[2] +
                                                      k1 * k[2] + k2];
                    want[(bn * c.m + grp * mg + mi) * out_size + (o0 * od[1] + o1) * od[2] + o2] +=
                        xv * wv;
                  }
    }
  }
  Tensor expected =
      Tensor::FromVector(DType::kF32, ydims, std::vector<float>(want.begin(), want.end()));
  auto r = test_util::AllClose((*out)[0].view(), expected.view(), 1e-4, 1e-5);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(RefConvTransposeTest, MatchesNaive) {
  const ConvTransposeCase cases[] = {
      {{1, 3, 4, 5}, 2, {3, 3}},
      {{2, 4, 5, 3}, 6, {3, 2}, 2, {2, 3}, {1, 2}, {1, 0, 0, 2}, {1, 0}},
      {{1, 2, 6, 6}, 4, {2, 2}, 1, {2, 2}, {}, {}, {}, false},
      {{1, 3, 7}, 5, {4}, 1, {3}, {2}, {1, 2}, {2}},
      {{1, 2, 3, 4, 3}, 2, {2, 3, 2}, 1, {2, 1, 2}, {}, {0, 1, 0, 1, 0, 1}},
      {{1, 40, 18, 18}, 8, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}, {1, 1}},  // several col tiles
  };
  uint32_t seed = 200;
  for (const ConvTransposeCase& c : cases) CheckConvTranspose(c, seed += 3);
}

TEST(RefConvTransposeTest, OutputShapeDerivesPads) {
  // output_shape 10x8 from a 3x3 input, stride 3x2, kernel 3x3: totals -1 and -1 extend the end.
  Tensor x = RandomTensor(DType::kF32, {1, 1, 3, 3}, 5);
  Tensor w = RandomTensor(DType::kF32, {1, 2, 3, 3}, 6);
  Node a = MakeNode("ConvTranspose", 2);
  a.attrs["strides"] = Attribute::Ints({3, 2});
  a.attrs["output_shape"] = Attribute::Ints({10, 8});
  Node b = MakeNode("ConvTranspose", 2);
  b.attrs["strides"] = Attribute::Ints({3, 2});
  b.attrs["output_padding"] = Attribute::Ints({1, 1});
  auto ra = Eval(a, {&x, &w});
  auto rb = Eval(b, {&x, &w});
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ((*ra)[0].dims(), (std::vector<int64_t>{1, 2, 10, 8}));
  auto r = test_util::AllClose((*ra)[0].view(), (*rb)[0].view(), 0, 0);
  EXPECT_TRUE(r.ok) << r.message;
}

// Runs Conv through the kernel entry points with an explicit threadpool (EvaluateNode and the
// tests above pass none), so the parallel GEMM tiles and parallel depthwise planes are covered.
Expected<Tensor> RunConvWithPool(const Node& node, const Tensor& x, const Tensor& w,
                                 pthreadpool_t pool) {
  const std::vector<TensorType> in_types = {{x.dtype(), x.dims()}, {w.dtype(), w.dims()}};
  const std::vector<const Tensor*> constants = {nullptr, &w};
  ASSIGN_OR_RETURN(std::vector<TensorType> out_types, InferNode(node, in_types, constants));
  PrepareContext pctx{node, in_types, constants, out_types};
  RETURN_IF_ERROR(PrepareConv(pctx));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Create(out_types[0].dtype, out_types[0].dims));
  std::vector<float> scratch(pctx.scratch_bytes / sizeof(float) + 1);
  const TensorView ins[] = {x.view(), w.view()};
  TensorView outs[] = {y.view()};
  InvokeContext ictx{node, pctx.state.get(), ins, outs, scratch.data(), pctx.scratch_bytes, pool};
  RETURN_IF_ERROR(InvokeConv(ictx));
  return y;
}

TEST(RefConvTest, ThreadpoolMatchesSingleThread) {
  pthreadpool_t pool = pthreadpool_create(2);
  ASSERT_NE(pool, nullptr);
  Tensor x = RandomTensor(DType::kF32, {2, 24, 45, 37}, 30);
  struct Variant {
    std::vector<int64_t> w;
    int64_t group;
  };
  for (const Variant& v :
       {Variant{{40, 24, 3, 3}, 1}, Variant{{48, 1, 3, 3}, 24}, Variant{{16, 24, 1, 1}, 1}}) {
    Tensor w = RandomTensor(DType::kF32, v.w, 31);
    Node node = MakeNode("Conv", 2);
    node.attrs["group"] = Attribute::Int(v.group);
    if (v.w[2] == 3) node.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
    auto one = RunConvWithPool(node, x, w, nullptr);
    auto two = RunConvWithPool(node, x, w, pool);
    auto ref = Eval(node, {&x, &w});
    ASSERT_TRUE(one.ok() && two.ok() && ref.ok()) << DimsToString(v.w);
    auto r = test_util::AllClose(two->view(), one->view(), 1e-5, 1e-6);
    EXPECT_TRUE(r.ok) << DimsToString(v.w) << ": " << r.message;
    r = test_util::AllClose(one->view(), (*ref)[0].view(), 0, 0);
    EXPECT_TRUE(r.ok) << DimsToString(v.w) << ": " << r.message;
  }
  pthreadpool_destroy(pool);
}

}  // namespace
}  // namespace edgerun
