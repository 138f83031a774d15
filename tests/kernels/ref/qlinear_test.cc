// Reference int8 kernels (kernels/ref/qlinear.cc) against direct loops: QLinearConv and
// QLinearMatMul against the integer sum requantized both with the documented float multiplier
// (must match exactly) and in double precision (within one step); random shapes with padding and
// nonzero input zero points, groups, depthwise, per-channel scales, u8/s8 everywhere, u8 weights
// with a zero point, fused Relu/Clip, 1-D/3-D convs, batch broadcasting. QLinearAdd must equal
// DequantizeLinear -> Add -> [Relu] -> QuantizeLinear bit for bit. Plus the ONNX example data.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"
#include "util/random_tensor.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::ElementAt;
using testing::MakeNode;
using testing::RandomTensor;
using testing::TensorFromDoubles;

double QMin(DType t) { return t == DType::kU8 ? 0 : -128; }
double QMax(DType t) { return t == DType::kU8 ? 255 : 127; }

// Random integers over the dtype's whole range.
Tensor RandomQ(DType t, std::vector<int64_t> dims, uint32_t seed) {
  return RandomTensor(t, std::move(dims), seed, QMin(t), QMax(t));
}

Expected<std::vector<Tensor>> Eval(const Node& node, std::vector<const Tensor*> inputs) {
  return EvaluateNode(node, inputs);
}

Tensor Scalar(float v) { return Tensor::FromVector(DType::kF32, {}, std::vector<float>{v}); }
Tensor ScalarQ(DType t, double v) { return TensorFromDoubles(t, {}, {v}); }

// The oracle's rounding: nearbyint in the default mode (half to even), an implementation
// independent of the kernel's.
double Saturate(double rounded, double zp, DType t) {
  return std::clamp(rounded + zp, QMin(t), QMax(t));
}

struct Activation {
  std::string name;  // "", "Relu", "Clip"
  float lo = 0, hi = 0;
};

void SetActivation(Node& n, const Activation& a) {
  if (a.name.empty()) return;
  n.attrs["activation"] = Attribute::String(a.name);
  if (a.name == "Clip") n.attrs["activation_params"] = Attribute::Floats({a.lo, a.hi});
}

// Requantizes one int32 sum both ways; `multiplier_f` is the documented float multiplier.
struct Want {
  double exact;    // float multiplier, as documented
  double double_;  // everything in double
};

Want Requantize(int64_t acc, float x_s, float w_s, float y_s, double y_zp, DType y_type,
                const Activation& act) {
  const float mult = x_s * w_s / y_s;
  float v = static_cast<float>(acc) * mult;
  double real = static_cast<double>(acc) * x_s * w_s;
  if (act.name == "Relu") {
    v = std::max(v, 0.0f);
    real = std::max(real, 0.0);
  } else if (act.name == "Clip") {
    v = std::clamp(v, act.lo / y_s, act.hi / y_s);
    real = std::clamp(real, double{act.lo}, double{act.hi});
  }
  return {Saturate(std::nearbyint(v), y_zp, y_type),
          Saturate(std::nearbyint(real / y_s), y_zp, y_type)};
}

// ---- QLinearConv ----

struct ConvCase {
  std::vector<int64_t> x;  // N, C, spatial...
  int64_t m;
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  DType x_type = DType::kU8, w_type = DType::kI8, y_type = DType::kU8;
  bool per_channel = true;
  bool bias = true;
  Activation act;
  bool w_zero_point = false;  // nonzero weight zero point(s)
};

std::vector<int64_t> Or(const std::vector<int64_t>& v, size_t n, int64_t def) {
  return v.empty() ? std::vector<int64_t>(n, def) : v;
}

void RunConvCase(const ConvCase& c, uint32_t seed, pthreadpool_t pool = nullptr) {
  SCOPED_TRACE("conv case seed " + std::to_string(seed));
  const size_t sp = c.x.size() - 2;
  const std::vector<int64_t> st = Or(c.strides, sp, 1), dil = Or(c.dilations, sp, 1),
                             pads = Or(c.pads, 2 * sp, 0);
  const int64_t n = c.x[0], ch = c.x[1], cg = ch / c.group, mg = c.m / c.group;
  std::vector<int64_t> w_dims = {c.m, cg};
  w_dims.insert(w_dims.end(), c.kernel.begin(), c.kernel.end());
  std::vector<int64_t> out_sp(sp);
  for (size_t i = 0; i < sp; ++i) {
    out_sp[i] =
        (c.x[2 + i] + pads[i] + pads[i + sp] - ((c.kernel[i] - 1) * dil[i] + 1)) / st[i] + 1;
  }

  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale_dist(0.002f, 0.05f);
  const Tensor x = RandomQ(c.x_type, c.x, seed + 1);
  const Tensor w = RandomQ(c.w_type, w_dims, seed + 2);
  const float x_s = scale_dist(rng);
  const double x_zp = c.x_type == DType::kU8 ? 131 : -7;  // nonzero: padding must read as real 0
  const int64_t ns = c.per_channel ? c.m : 1;
  std::vector<double> w_s(ns), w_zp(ns, 0.0);
  for (int64_t i = 0; i < ns; ++i) {
    w_s[i] = scale_dist(rng);
    if (c.w_zero_point) w_zp[i] = c.w_type == DType::kU8 ? 100 + i % 50 : -3 + i % 7;
  }
  std::vector<double> bias(c.m, 0.0);
  if (c.bias) {
    for (double& b : bias) b = std::floor(std::uniform_real_distribution<double>(-3e4, 3e4)(rng));
  }

  // Integer sums, then a y_scale that makes the outputs span (and slightly exceed) the range.
  std::vector<int64_t> y_dims = {n, c.m};
  y_dims.insert(y_dims.end(), out_sp.begin(), out_sp.end());
  const int64_t out_size = NumElements(out_sp);
  std::vector<int64_t> acc(static_cast<size_t>(NumElements(y_dims)));
  int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, o3[3] = {1, 1, 1}, s3[3] = {1, 1, 1},
          d3[3] = {1, 1, 1}, p3[3] = {0, 0, 0};
  for (size_t i = 0; i < sp; ++i) {
    const size_t j = 3 - sp + i;
    in3[j] = c.x[2 + i];
    k3[j] = c.kernel[i];
    o3[j] = out_sp[i];
    s3[j] = st[i];
    d3[j] = dil[i];
    p3[j] = pads[i];
  }
  const int64_t in_size = in3[0] * in3[1] * in3[2], ksize = k3[0] * k3[1] * k3[2];
  double max_abs = 1;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < c.m; ++oc) {
      const int64_t g = oc / mg;
      for (int64_t od = 0; od < o3[0]; ++od)
        for (int64_t oh = 0; oh < o3[1]; ++oh)
          for (int64_t ow = 0; ow < o3[2]; ++ow) {
            int64_t sum = static_cast<int64_t>(bias[oc]);
            for (int64_t ic = 0; ic < cg; ++ic)
              for (int64_t kd = 0; kd < k3[0]; ++kd)
                for (int64_t kh = 0; kh < k3[1]; ++kh)
                  for (int64_t kw = 0; kw < k3[2]; ++kw) {
                    const int64_t id = od * s3[0] + kd * d3[0] - p3[0];
                    const int64_t ih = oh * s3[1] + kh * d3[1] - p3[1];
                    const int64_t iw = ow * s3[2] + kw * d3[2] - p3[2];
                    // Padding holds x_zp: (x - x_zp) == 0.
                    if (id < 0 || id >= in3[0] || ih < 0 || ih >= in3[1] || iw < 0 ||
                        iw >= in3[2]) {
                      continue;
                    }
                    const int64_t xi =
                        ((b * ch + g * cg + ic) * in_size) + (id * in3[1] + ih) * in3[2] + iw;
                    const int64_t wi = (oc * cg + ic) * ksize + (kd * k3[1] + kh) * k3[2] + kw;
                    sum += static_cast<int64_t>(ElementAt(x, xi) - x_zp) *
                           static_cast<int64_t>(ElementAt(w, wi) - w_zp[c.per_channel ? oc : 0]);
                  }
            acc[(b * c.m + oc) * out_size + (od * o3[1] + oh) * o3[2] + ow] = sum;
            max_abs = std::max(
                max_abs, std::fabs(static_cast<double>(sum)) * x_s * w_s[c.per_channel ? oc : 0]);
          }
    }
  const float y_s = static_cast<float>(max_abs / 140.0);
  const double y_zp = c.y_type == DType::kU8 ? 120 : 9;

  Node node = MakeNode("QLinearConv", 10, c.bias ? 9 : 8, 1, "qconv");
  node.attrs["strides"] = Attribute::Ints(st);
  node.attrs["dilations"] = Attribute::Ints(dil);
  node.attrs["pads"] = Attribute::Ints(pads);
  node.attrs["group"] = Attribute::Int(c.group);
  SetActivation(node, c.act);
  const Tensor xs = Scalar(x_s), ys = Scalar(y_s);
  const Tensor xz = ScalarQ(c.x_type, x_zp), yz = ScalarQ(c.y_type, y_zp);
  const Tensor ws = c.per_channel ? TensorFromDoubles(DType::kF32, {c.m}, w_s)
                                  : TensorFromDoubles(DType::kF32, {}, w_s);
  const Tensor wz = c.per_channel ? TensorFromDoubles(c.w_type, {c.m}, w_zp)
                                  : TensorFromDoubles(c.w_type, {}, w_zp);
  const Tensor bt = TensorFromDoubles(DType::kI32, {c.m}, bias);
  std::vector<const Tensor*> inputs = {&x, &xs, &xz, &w, &ws, &wz, &ys, &yz};
  if (c.bias) inputs.push_back(&bt);
  Expected<std::vector<Tensor>> got = EvaluateNode(node, inputs, KernelPath::kReference, pool);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const Tensor& y = (*got)[0];
  ASSERT_EQ(y.dtype(), c.y_type);
  ASSERT_EQ(y.dims(), y_dims);
  int64_t exact_mismatch = 0, far = 0, saturated = 0;
  for (int64_t i = 0; i < y.num_elements(); ++i) {
    const int64_t oc = (i / out_size) % c.m;
    const Want want = Requantize(acc[i], x_s, static_cast<float>(w_s[c.per_channel ? oc : 0]), y_s,
                                 y_zp, c.y_type, c.act);
    const double v = ElementAt(y, i);
    if (v != want.exact && exact_mismatch++ < 5) {
      ADD_FAILURE() << "element " << i << ": got " << v << ", float formula " << want.exact;
    }
    if (std::fabs(v - want.double_) > 1 && far++ < 5) {
      ADD_FAILURE() << "element " << i << ": got " << v << ", double formula " << want.double_;
    }
    saturated += v == QMin(c.y_type) || v == QMax(c.y_type);
  }
  // The case must exercise the value range, not just saturate.
  EXPECT_LT(saturated, y.num_elements() / 2 + 2);
}

TEST(RefQLinearConvTest, MatchesIntegerFormulaOnRandomShapes) {
  const Activation relu{"Relu"}, clip{"Clip", -0.5f, 1.5f};
  const ConvCase cases[] = {
      // 3x3 pad 1, per-channel s8 weights, u8 in/out, bias.
      {{1, 3, 7, 6}, 5, {3, 3}, 1, {}, {}, {1, 1, 1, 1}},
      // Strided, asymmetric pads, dilation, s8 activations, per-tensor weights, Relu.
      {{2, 4, 9, 8},
       6,
       {3, 2},
       1,
       {2, 1},
       {1, 2},
       {0, 2, 1, 0},
       DType::kI8,
       DType::kI8,
       DType::kI8,
       false,
       true,
       relu},
      // Groups, u8 weights with per-channel zero points, Clip, no bias.
      {{1, 6, 5, 5},
       4,
       {3, 3},
       2,
       {},
       {},
       {1, 1, 1, 1},
       DType::kU8,
       DType::kU8,
       DType::kU8,
       true,
       false,
       clip,
       true},
      // Depthwise with channel multiplier 2, stride 2, pad 1, s8 out.
      {{1, 5, 8, 7},
       10,
       {3, 3},
       5,
       {2, 2},
       {},
       {1, 1, 1, 1},
       DType::kU8,
       DType::kI8,
       DType::kI8,
       true,
       true,
       relu},
      // Depthwise, dilation 2, s8 in, per-channel weight zero points.
      {{2, 3, 6, 6},
       3,
       {3, 3},
       3,
       {},
       {2, 2},
       {2, 2, 2, 2},
       DType::kI8,
       DType::kI8,
       DType::kU8,
       true,
       true,
       {},
       true},
      // 1x1 (many rows: exercises the row blocks and their remainder), 1-D and 3-D.
      {{1, 16, 5, 3}, 11, {1, 1}},
      {{2, 3, 11}, 4, {3}, 1, {2}, {}, {1, 2}},
      {{1, 2, 4, 5, 3}, 3, {2, 3, 1}, 1, {1, 2, 1}, {}, {1, 0, 1, 0, 1, 0}, DType::kI8},
  };
  uint32_t seed = 100;
  for (const ConvCase& c : cases) RunConvCase(c, seed += 10);
}

TEST(RefQLinearConvTest, ThreadPoolGivesTheSameResult) {
  pthreadpool_t pool = pthreadpool_create(2);
  ASSERT_NE(pool, nullptr);
  RunConvCase({{1, 8, 9, 9}, 9, {3, 3}, 1, {}, {}, {1, 1, 1, 1}}, 7, pool);
  RunConvCase({{1, 6, 9, 9}, 6, {3, 3}, 6, {}, {}, {1, 1, 1, 1}}, 8, pool);
  pthreadpool_destroy(pool);
}

// The first ONNX example (onnx/backend/test/case/node/qlinearconv.py): u8 weights whose zero
// point is 255.
TEST(RefQLinearConvTest, OnnxExample) {
  const std::vector<double> xv = {255, 174, 162, 25,  203, 168, 58,  15,  59,  237, 95,  129, 0,
                                  64,  56,  242, 153, 221, 168, 12,  166, 232, 178, 186, 195, 237,
                                  162, 237, 188, 39,  124, 77,  80,  102, 43,  127, 230, 21,  83,
                                  41,  40,  134, 255, 154, 92,  141, 42,  148, 247};
  const std::vector<double> want = {0,   81,  93,  230, 52,  87,  197, 240, 196, 18,  160, 126, 255,
                                    191, 199, 13,  102, 34,  87,  243, 89,  23,  77,  69,  60,  18,
                                    93,  18,  67,  216, 131, 178, 175, 153, 212, 128, 25,  234, 172,
                                    214, 215, 121, 0,   101, 163, 114, 213, 107, 8};
  const Tensor x = TensorFromDoubles(DType::kU8, {1, 1, 7, 7}, xv);
  const Tensor xs = Scalar(0.00369204697f), xz = ScalarQ(DType::kU8, 132);
  const Tensor w = TensorFromDoubles(DType::kU8, {1, 1, 1, 1}, {0});
  const Tensor ws = TensorFromDoubles(DType::kF32, {1}, {0.00172794575});
  const Tensor wz = TensorFromDoubles(DType::kU8, {1}, {255});
  const Tensor ys = Scalar(0.00162681262f), yz = ScalarQ(DType::kU8, 123);
  Expected<std::vector<Tensor>> got =
      Eval(MakeNode("QLinearConv", 10, 8), {&x, &xs, &xz, &w, &ws, &wz, &ys, &yz});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  for (int64_t i = 0; i < 49; ++i) EXPECT_EQ(ElementAt((*got)[0], i), want[i]) << i;
}

// Weights that are not constants are packed at every run, from scratch.
TEST(RefQLinearConvTest, RuntimeWeightsInASession) {
  Model model;
  Graph& g = model.graph;
  g.opset_imports[""] = 13;
  const int x = g.AddValue("x", DType::kU8, ShapeFromDims({1, 2, 5, 5}));
  const int w = g.AddValue("w", DType::kI8, ShapeFromDims({3, 2, 3, 3}));
  const int xs = g.AddConstant("xs", Scalar(0.02f));
  const int xz = g.AddConstant("xz", ScalarQ(DType::kU8, 128));
  const int ws = g.AddConstant("ws", TensorFromDoubles(DType::kF32, {3}, {0.01, 0.02, 0.03}));
  const int wz = g.AddConstant("wz", ScalarQ(DType::kI8, 0));
  const int ys = g.AddConstant("ys", Scalar(0.05f));
  const int yz = g.AddConstant("yz", ScalarQ(DType::kU8, 100));
  const int y = g.AddValue("y");
  g.AddNode("qconv", "QLinearConv", {x, xs, xz, w, ws, wz, ys, yz}, {y}).attrs["pads"] =
      Attribute::Ints({1, 1, 1, 1});
  g.nodes.back().opset = 13;
  g.MarkInput(x);
  g.MarkInput(w);
  g.MarkOutput(y);
  SessionOptions options;
  options.kernel_paths = {KernelPath::kReference};
  auto session = Session::Create(model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const Tensor xv = RandomQ(DType::kU8, {1, 2, 5, 5}, 1);
  const Tensor wv = RandomQ(DType::kI8, {3, 2, 3, 3}, 2);
  ASSERT_TRUE((*session)->SetInput(0, xv.view()).ok());
  ASSERT_TRUE((*session)->SetInput(1, wv.view()).ok());
  ASSERT_TRUE((*session)->Run().ok());

  Node node = g.nodes[0];
  node.inputs = {0, 1, 2, 3, 4, 5, 6, 7};
  node.outputs = {8};
  std::vector<const Tensor*> in = {&xv,
                                   g.values[xs].constant.get(),
                                   g.values[xz].constant.get(),
                                   &wv,
                                   g.values[ws].constant.get(),
                                   g.values[wz].constant.get(),
                                   g.values[ys].constant.get(),
                                   g.values[yz].constant.get()};
  Expected<std::vector<Tensor>> want = EvaluateNode(node, in);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  const TensorView out = (*session)->output(0);
  ASSERT_EQ(out.num_elements(), (*want)[0].num_elements());
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    EXPECT_EQ(out.data<uint8_t>()[i], (*want)[0].data<uint8_t>()[i]) << i;
  }
}

// ---- QLinearMatMul ----

struct MatMulCase {
  std::vector<int64_t> a, b;
  DType a_type = DType::kU8, b_type = DType::kI8, y_type = DType::kU8;
  bool per_column = false;
  Activation act;
};

void RunMatMulCase(const MatMulCase& c, uint32_t seed) {
  SCOPED_TRACE("matmul case seed " + std::to_string(seed));
  // Output dims and batch offsets, computed directly.
  const std::vector<int64_t> a2 = c.a.size() == 1 ? std::vector<int64_t>{1, c.a[0]} : c.a;
  const std::vector<int64_t> b2 = c.b.size() == 1 ? std::vector<int64_t>{c.b[0], 1} : c.b;
  const int64_t m = a2[a2.size() - 2], k = a2.back(), n = b2.back();
  const std::vector<int64_t> ab(a2.begin(), a2.end() - 2), bb(b2.begin(), b2.end() - 2);
  const size_t rank = std::max(ab.size(), bb.size());
  std::vector<int64_t> batch(rank, 1);
  auto dim_at = [&](const std::vector<int64_t>& d, size_t i) {
    const int64_t off = static_cast<int64_t>(rank) - static_cast<int64_t>(d.size());
    return static_cast<int64_t>(i) < off ? 1 : d[i - off];
  };
  for (size_t i = 0; i < rank; ++i) batch[i] = std::max(dim_at(ab, i), dim_at(bb, i));
  const int64_t batches = NumElements(batch);

  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale_dist(0.002f, 0.05f);
  const Tensor a = RandomQ(c.a_type, c.a, seed + 1);
  const Tensor b = RandomQ(c.b_type, c.b, seed + 2);
  const float a_s = scale_dist(rng);
  const double a_zp = c.a_type == DType::kU8 ? 121 : 5;
  const int64_t ns = c.per_column ? n : 1;
  std::vector<double> b_s(ns), b_zp(ns);
  for (int64_t i = 0; i < ns; ++i) {
    b_s[i] = scale_dist(rng);
    b_zp[i] = c.b_type == DType::kU8 ? 128 + i % 3 : i % 3 - 1;
  }
  std::vector<int64_t> acc(static_cast<size_t>(batches * m * n));
  double max_abs = 1;
  for (int64_t bi = 0; bi < batches; ++bi) {
    // Flat offsets of the broadcast a and b matrices for this batch.
    int64_t rem = bi, ao = 0, bo = 0, astride = m * k, bstride = k * n;
    for (size_t d = rank; d-- > 0;) {
      const int64_t coord = rem % batch[d];
      rem /= batch[d];
      const int64_t ad = dim_at(ab, d), bd = dim_at(bb, d);
      ao += (ad == 1 ? 0 : coord) * astride;
      bo += (bd == 1 ? 0 : coord) * bstride;
      astride *= ad;
      bstride *= bd;
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t sum = 0;
        for (int64_t kk = 0; kk < k; ++kk) {
          sum += static_cast<int64_t>(ElementAt(a, ao + i * k + kk) - a_zp) *
                 static_cast<int64_t>(ElementAt(b, bo + kk * n + j) - b_zp[c.per_column ? j : 0]);
        }
        acc[(bi * m + i) * n + j] = sum;
        max_abs = std::max(max_abs, std::fabs(double(sum)) * a_s * b_s[c.per_column ? j : 0]);
      }
  }
  const float y_s = static_cast<float>(max_abs / 130.0);
  const double y_zp = c.y_type == DType::kU8 ? 127 : -3;

  Node node = MakeNode("QLinearMatMul", 10, 8, 1, "qmm");
  SetActivation(node, c.act);
  const Tensor as = Scalar(a_s), ys = Scalar(y_s);
  const Tensor az = ScalarQ(c.a_type, a_zp), yz = ScalarQ(c.y_type, y_zp);
  const Tensor bs = c.per_column ? TensorFromDoubles(DType::kF32, {n}, b_s) : Scalar(b_s[0]);
  const Tensor bz =
      c.per_column ? TensorFromDoubles(c.b_type, {n}, b_zp) : ScalarQ(c.b_type, b_zp[0]);
  Expected<std::vector<Tensor>> got = Eval(node, {&a, &as, &az, &b, &bs, &bz, &ys, &yz});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const Tensor& y = (*got)[0];
  ASSERT_EQ(y.dtype(), c.y_type);
  ASSERT_EQ(y.num_elements(), batches * m * n);
  for (int64_t i = 0; i < y.num_elements(); ++i) {
    const int64_t j = i % n;
    const Want want = Requantize(acc[i], a_s, static_cast<float>(b_s[c.per_column ? j : 0]), y_s,
                                 y_zp, c.y_type, c.act);
    ASSERT_EQ(ElementAt(y, i), want.exact) << "element " << i;
    ASSERT_LE(std::fabs(ElementAt(y, i) - want.double_), 1.0) << "element " << i;
  }
}

TEST(RefQLinearMatMulTest, MatchesIntegerFormulaOnRandomShapes) {
  const MatMulCase cases[] = {
      {{3, 7}, {7, 5}},
      {{2, 4, 9}, {9, 6}, DType::kI8, DType::kI8, DType::kI8, true},
      {{2, 1, 3, 5}, {4, 5, 2}, DType::kU8, DType::kU8, DType::kU8, false, {"Relu"}},
      {{6}, {6, 4}, DType::kI8, DType::kU8, DType::kU8, true, {"Clip", -0.2f, 0.4f}},
      {{2, 3, 6}, {6}, DType::kU8, DType::kI8, DType::kI8},
  };
  uint32_t seed = 500;
  for (const MatMulCase& c : cases) RunMatMulCase(c, seed += 10);
}

TEST(RefQLinearMatMulTest, OnnxExample2D) {
  const Tensor a = TensorFromDoubles(DType::kU8, {2, 4}, {208, 236, 0, 238, 3, 214, 255, 29});
  const Tensor as = TensorFromDoubles(DType::kF32, {1}, {0.0066});
  const Tensor az = TensorFromDoubles(DType::kU8, {1}, {113});
  const Tensor b = TensorFromDoubles(DType::kU8, {4, 3},
                                     {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247});
  const Tensor bs = TensorFromDoubles(DType::kF32, {1}, {0.00705});
  const Tensor bz = TensorFromDoubles(DType::kU8, {1}, {114});
  const Tensor ys = TensorFromDoubles(DType::kF32, {1}, {0.0107});
  const Tensor yz = TensorFromDoubles(DType::kU8, {1}, {118});
  Expected<std::vector<Tensor>> got =
      Eval(MakeNode("QLinearMatMul", 10, 8), {&a, &as, &az, &b, &bs, &bz, &ys, &yz});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const double want[] = {168, 115, 255, 1, 66, 151};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ElementAt((*got)[0], i), want[i]) << i;
}

// ---- QLinearAdd and QLinearGlobalAveragePool ----

Tensor Run1(const Node& node, std::vector<const Tensor*> inputs) {
  Expected<std::vector<Tensor>> out = EvaluateNode(node, inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? (*out)[0] : Tensor();
}

TEST(RefQLinearAddTest, EqualsDequantizeAddQuantize) {
  struct Case {
    std::vector<int64_t> a, b;
    DType a_type, b_type, c_type;
    std::string act;
  };
  const Case cases[] = {
      {{1, 4, 5, 5}, {1, 4, 5, 5}, DType::kU8, DType::kU8, DType::kU8, "Relu"},
      {{2, 3, 4}, {3, 1}, DType::kI8, DType::kU8, DType::kI8, ""},
      {{5}, {2, 1}, DType::kU8, DType::kI8, DType::kU8, "Clip"},
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    const Tensor a = RandomQ(c.a_type, c.a, ++seed), b = RandomQ(c.b_type, c.b, ++seed);
    const Tensor as = Scalar(0.031f), bs = Scalar(0.017f), cs = Scalar(0.043f);
    const Tensor az = ScalarQ(c.a_type, c.a_type == DType::kU8 ? 140 : -9);
    const Tensor bz = ScalarQ(c.b_type, c.b_type == DType::kU8 ? 99 : 4);
    const Tensor cz = ScalarQ(c.c_type, c.c_type == DType::kU8 ? 60 : -20);
    Node add = MakeNode("QLinearAdd", 13, 8);
    add.domain = std::string(kEdgerunDomain);
    SetActivation(add, {c.act, -0.7f, 1.1f});
    const Tensor got = Run1(add, {&a, &as, &az, &b, &bs, &bz, &cs, &cz});

    const Tensor da = Run1(MakeNode("DequantizeLinear", 13, 3), {&a, &as, &az});
    const Tensor db = Run1(MakeNode("DequantizeLinear", 13, 3), {&b, &bs, &bz});
    Tensor sum = Run1(MakeNode("Add", 13, 2), {&da, &db});
    if (c.act == "Relu") sum = Run1(MakeNode("Relu", 13, 1), {&sum});
    if (c.act == "Clip") {
      const Tensor lo = Scalar(-0.7f), hi = Scalar(1.1f);
      sum = Run1(MakeNode("Clip", 13, 3), {&sum, &lo, &hi});
    }
    const Tensor want = Run1(MakeNode("QuantizeLinear", 13, 3), {&sum, &cs, &cz});
    ASSERT_EQ(got.dims(), want.dims());
    ASSERT_EQ(got.dtype(), want.dtype());
    for (int64_t i = 0; i < got.num_elements(); ++i) {
      ASSERT_EQ(ElementAt(got, i), ElementAt(want, i)) << "element " << i;
    }
  }
}

TEST(RefQLinearGlobalAveragePoolTest, MatchesMeanFormula) {
  for (DType xt : {DType::kU8, DType::kI8}) {
    const DType yt = xt == DType::kU8 ? DType::kI8 : DType::kU8;
    const Tensor x = RandomQ(xt, {2, 3, 5, 7}, 4);
    const double x_zp = xt == DType::kU8 ? 77 : -30, y_zp = yt == DType::kU8 ? 128 : 0;
    const float x_s = 0.05f, y_s = 0.02f;
    const Tensor xs = Scalar(x_s), ys = Scalar(y_s);
    const Tensor xz = ScalarQ(xt, x_zp), yz = ScalarQ(yt, y_zp);
    Node gap = MakeNode("QLinearGlobalAveragePool", 13, 5);
    gap.domain = std::string(kEdgerunDomain);
    const Tensor y = Run1(gap, {&x, &xs, &xz, &ys, &yz});
    ASSERT_EQ(y.dims(), (std::vector<int64_t>{2, 3, 1, 1}));
    ASSERT_EQ(y.dtype(), yt);
    for (int64_t p = 0; p < 6; ++p) {
      double sum = 0;
      for (int64_t i = 0; i < 35; ++i) sum += ElementAt(x, p * 35 + i) - x_zp;
      const double want = Saturate(std::nearbyint(x_s * sum / 35 / y_s), y_zp, yt);
      EXPECT_EQ(ElementAt(y, p), want) << p;
    }
  }
}

// The NHWC form (from the layout pass) gives the same bits as the NCHW one on the transposed
// input: odd channel counts, u8/i8 both ways, a Relu and a Clip.
TEST(RefQLinearGlobalAveragePoolTest, NhwcFormEqualsNchw) {
  struct Case {
    std::vector<int64_t> nchw;
    DType xt, yt;
    std::string act;
  };
  const Case cases[] = {{{1, 7, 3, 5}, DType::kU8, DType::kU8, ""},
                        {{2, 33, 7, 7}, DType::kI8, DType::kU8, "Relu"},
                        {{3, 1, 1, 9}, DType::kU8, DType::kI8, "Clip"},
                        {{1, 130, 4, 1}, DType::kI8, DType::kI8, ""}};
  uint32_t seed = 70;
  for (const Case& c : cases) {
    const Tensor x = RandomQ(c.xt, c.nchw, ++seed);
    const int64_t n = c.nchw[0], ch = c.nchw[1], h = c.nchw[2], w = c.nchw[3];
    std::vector<double> xv(static_cast<size_t>(x.num_elements()));
    for (int64_t b = 0; b < n; ++b)
      for (int64_t k = 0; k < ch; ++k)
        for (int64_t i = 0; i < h * w; ++i) {
          xv[((b * h * w) + i) * ch + k] = ElementAt(x, (b * ch + k) * h * w + i);
        }
    const Tensor x_nhwc = TensorFromDoubles(c.xt, {n, h, w, ch}, xv);
    const Tensor xs = Scalar(0.037f), ys = Scalar(0.011f);
    const Tensor xz = ScalarQ(c.xt, c.xt == DType::kU8 ? 131 : -5);
    const Tensor yz = ScalarQ(c.yt, c.yt == DType::kU8 ? 17 : 3);
    Node gap = MakeNode("QLinearGlobalAveragePool", 13, 5);
    gap.domain = std::string(kEdgerunDomain);
    SetActivation(gap, {c.act, -0.3f, 0.4f});
    const Tensor want = Run1(gap, {&x, &xs, &xz, &ys, &yz});
    gap.domain = std::string(kNhwcDomain);
    const Tensor got = Run1(gap, {&x_nhwc, &xs, &xz, &ys, &yz});
    ASSERT_EQ(got.dims(), (std::vector<int64_t>{n, 1, 1, ch}));
    ASSERT_EQ(got.dtype(), c.yt);
    for (int64_t i = 0; i < got.num_elements(); ++i) {
      ASSERT_EQ(ElementAt(got, i), ElementAt(want, i)) << "element " << i;
    }
  }
}

}  // namespace
}  // namespace edgerun
