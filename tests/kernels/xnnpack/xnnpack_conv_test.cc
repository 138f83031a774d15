// XNNPACK NHWC Conv and ConvTranspose (kernels/xnnpack/xnnpack_conv.cc) against the reference
// NCHW kernels on transposed data: odd sizes, groups, depthwise (with multiplier), strides,
// dilations, asymmetric and auto pads, batch > 1, every fused activation, the residual input
// (also written in place over Z), at 1 and 2 threads; plus the cases XNNPACK must not claim.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/ref/ref_util.h"
#include "kernels/xnnpack/xnnpack_test_util.h"

// Case tables below list only the leading fields that differ from the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::RandomTensor;
using xnnpack_test::ExpectClose;
using xnnpack_test::MakeNode;
using xnnpack_test::PoolName;
using xnnpack_test::Pools;
using xnnpack_test::ToNchw;
using xnnpack_test::ToNhwc;
using xnnpack_test::XnnpackClaims;

struct ConvCase {
  std::vector<int64_t> x;  // N, C, H, W (the NHWC input is its transpose)
  int64_t m;               // output channels
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  std::string auto_pad;
  bool bias = true;
  bool residual = false;
  std::string activation;
  std::vector<float> activation_params;
  std::vector<float> affine;  // "activation_affine" when not empty
};

void SetAttrs(Node& node, const ConvCase& c, bool with_activation) {
  node.attrs["group"] = Attribute::Int(c.group);
  if (!c.strides.empty()) node.attrs["strides"] = Attribute::Ints(c.strides);
  if (!c.dilations.empty()) node.attrs["dilations"] = Attribute::Ints(c.dilations);
  if (!c.pads.empty()) node.attrs["pads"] = Attribute::Ints(c.pads);
  if (!c.auto_pad.empty()) node.attrs["auto_pad"] = Attribute::String(c.auto_pad);
  if (with_activation && !c.activation.empty()) {
    node.attrs["activation"] = Attribute::String(c.activation);
    if (!c.activation_params.empty()) {
      node.attrs["activation_params"] = Attribute::Floats(c.activation_params);
    }
  }
  if (with_activation && !c.affine.empty()) {
    node.attrs["activation_affine"] = Attribute::Floats(c.affine);
  }
}

std::string Describe(const ConvCase& c) {
  return "x=" + DimsToString(c.x) + " m=" + std::to_string(c.m) + " k=" + DimsToString(c.kernel) +
         " group=" + std::to_string(c.group) + " act=" + c.activation +
         (c.affine.empty() ? "" : " affine") + (c.residual ? " residual" : "");
}

struct ConvData {
  Tensor x_nchw, x_nhwc, w, b, z_nhwc;
  Tensor expected;  // NHWC
  Node nhwc;
};

// Builds inputs and the expected NHWC output: reference NCHW conv without activation, transposed,
// plus Z, then the activation in float.
ConvData MakeConv(const ConvCase& c, uint32_t seed) {
  ConvData d;
  d.x_nchw = RandomTensor(DType::kF32, c.x, seed);
  d.x_nhwc = ToNhwc(d.x_nchw);
  d.w = RandomTensor(DType::kF32, {c.m, c.x[1] / c.group, c.kernel[0], c.kernel[1]}, seed + 1);
  d.b = RandomTensor(DType::kF32, {c.m}, seed + 2);
  Node ref = MakeNode("Conv", c.bias ? 3 : 2, 13);
  SetAttrs(ref, c, /*with_activation=*/false);
  std::vector<const Tensor*> ins = {&d.x_nchw, &d.w};
  if (c.bias) ins.push_back(&d.b);
  Expected<std::vector<Tensor>> out = EvaluateNode(ref, ins, KernelPath::kReference);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return d;
  d.expected = ToNhwc((*out)[0]);
  d.nhwc = MakeNode("Conv", c.residual ? 4 : (c.bias ? 3 : 2), 13, std::string(kNhwcDomain));
  if (c.residual && !c.bias) d.nhwc.inputs[2] = Node::kNoValue;
  SetAttrs(d.nhwc, c, /*with_activation=*/true);
  if (c.residual) d.z_nhwc = RandomTensor(DType::kF32, d.expected.dims(), seed + 3, -2.0, 2.0);
  Expected<FusedActivation> act = FusedActivation::FromNode(d.nhwc);
  EXPECT_TRUE(act.ok());
  float* e = d.expected.mutable_data<float>();
  for (int64_t i = 0; i < d.expected.num_elements(); ++i) {
    float v = e[i];
    if (c.residual) v += d.z_nhwc.data<float>()[i];
    e[i] = act->Apply(v);
  }
  return d;
}

std::vector<const Tensor*> NhwcInputs(const ConvCase& c, const ConvData& d) {
  std::vector<const Tensor*> ins = {&d.x_nhwc, &d.w};
  if (c.bias || c.residual) ins.push_back(c.bias ? &d.b : nullptr);
  if (c.residual) ins.push_back(&d.z_nhwc);
  return ins;
}

void CheckConv(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE(Describe(c));
  ConvData d = MakeConv(c, seed);
  if (d.expected.empty()) return;
  const std::vector<const Tensor*> ins = NhwcInputs(c, d);
  ASSERT_TRUE(XnnpackClaims(d.nhwc, ins));
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got = EvaluateNode(d.nhwc, ins, KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectClose((*got)[0], d.expected);
  }
}

TEST(XnnpackConv, MatchesReferenceOnAssortedGeometry) {
  const ConvCase cases[] = {
      {{1, 16, 7, 9}, 24, {1, 1}},                                   // 1x1: GEMM
      {{2, 7, 5, 6}, 3, {1, 1}, 1, {}, {}, {}, "", false},           // 1x1, batch, no bias
      {{1, 8, 11, 13}, 16, {3, 3}, 1, {}, {}, {1, 1, 1, 1}},         // 3x3 same size
      {{2, 5, 10, 9}, 7, {3, 3}, 1, {2, 2}, {}, {0, 1, 1, 0}},       // asymmetric pads
      {{1, 6, 9, 9}, 5, {3, 3}, 1, {2, 2}, {}, {1, 1, 3, 3}},        // trailing pad unused
      {{1, 3, 32, 32}, 8, {7, 7}, 1, {2, 2}, {}, {3, 3, 3, 3}},      // resnet stem
      {{1, 16, 9, 9}, 8, {3, 3}, 4, {}, {}, {1, 1, 1, 1}},           // grouped
      {{1, 6, 13, 13}, 5, {3, 3}, 1, {}, {2, 2}, {2, 2, 2, 2}},      // dilated
      {{1, 6, 8, 10}, 4, {1, 5}, 1, {}, {}, {0, 2, 0, 2}},           // 1x5
      {{1, 6, 10, 8}, 4, {5, 1}, 1, {2, 1}, {}, {2, 0, 2, 0}},       // 5x1 strided
      {{1, 4, 10, 11}, 6, {3, 3}, 1, {2, 2}, {}, {}, "SAME_UPPER"},  // auto pads
      {{1, 4, 9, 9}, 3, {4, 4}, 1, {}, {}, {}, "SAME_LOWER"},
      {{1, 4, 9, 9}, 3, {3, 3}, 1, {2, 2}, {}, {}, "VALID"},
      {{3, 5, 6, 7}, 4, {2, 3}, 1, {1, 2}, {}, {1, 0, 0, 1}},  // batch 3
      {{1, 64, 14, 14}, 64, {3, 3}, 1, {}, {}, {1, 1, 1, 1}},  // wide channels
  };
  uint32_t seed = 100;
  for (const ConvCase& c : cases) CheckConv(c, seed += 10);
}

TEST(XnnpackConv, MatchesReferenceOnDepthwise) {
  const ConvCase cases[] = {
      {{1, 32, 12, 12}, 32, {3, 3}, 32, {}, {}, {1, 1, 1, 1}},
      {{1, 24, 15, 15}, 24, {3, 3}, 24, {2, 2}, {}, {1, 1, 1, 1}},
      {{1, 8, 9, 9}, 16, {3, 3}, 8, {}, {}, {1, 1, 1, 1}},  // multiplier 2
      {{1, 16, 14, 14}, 16, {5, 5}, 16, {}, {}, {2, 2, 2, 2}},
      {{1, 20, 11, 11}, 20, {5, 5}, 20, {2, 2}, {}, {1, 2, 2, 1}},
      {{1, 8, 10, 10}, 8, {7, 7}, 8, {}, {}, {3, 3, 3, 3}},       // no 49-tap kernel
      {{2, 13, 7, 9}, 13, {3, 3}, 13, {}, {2, 2}, {2, 2, 2, 2}},  // dilated, odd C
      {{1, 5, 6, 6}, 5, {3, 3}, 5, {}, {}, {}, "", false},        // no bias, no pad
  };
  uint32_t seed = 300;
  for (const ConvCase& c : cases) CheckConv(c, seed += 10);
}

TEST(XnnpackConv, EveryFusedActivation) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"Relu", {}},
      {"Clip", {0.0f, 6.0f}},
      {"Clip", {-0.5f, 0.25f}},
      {"LeakyRelu", {0.1f}},
      {"HardSigmoid", {1.0f / 6, 0.5f}},
      {"HardSwish", {}},
      {"Sigmoid", {}},
      {"SiLU", {}},
  };
  uint32_t seed = 500;
  for (const auto& [name, params] : acts) {
    ConvCase c{{1, 8, 9, 7}, 12, {3, 3}, 1, {}, {}, {1, 1, 1, 1}};
    c.activation = name;
    c.activation_params = params;
    CheckConv(c, seed += 10);
    ConvCase dw{{1, 12, 8, 8}, 12, {3, 3}, 12, {2, 2}, {}, {1, 1, 1, 1}};
    dw.activation = name;
    dw.activation_params = params;
    CheckConv(dw, seed += 10);
  }
}

// A fused scalar affine runs after the activation (and the residual) as a multiply and an add.
TEST(XnnpackConv, FusedAffineAfterActivation) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"", {}}, {"Relu", {}}, {"HardSwish", {}}, {"SiLU", {}}, {"HardSigmoid", {0.2f, 0.5f}}};
  uint32_t seed = 1100;
  for (bool residual : {false, true}) {
    for (const auto& [name, params] : acts) {
      ConvCase c{{1, 8, 9, 7}, 8, {3, 3}, 1, {}, {}, {1, 1, 1, 1}};
      c.residual = residual;
      c.activation = name;
      c.activation_params = params;
      c.affine = {1.75f, -0.5f};
      CheckConv(c, seed += 10);
      ConvCase shift_only{{1, 12, 8, 8}, 12, {3, 3}, 12, {2, 2}, {}, {1, 1, 1, 1}};
      shift_only.residual = residual;
      shift_only.activation = name;
      shift_only.activation_params = params;
      shift_only.affine = {1.0f, 0.25f};
      CheckConv(shift_only, seed += 10);
    }
  }
}

TEST(XnnpackConv, ResidualInputBeforeActivation) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"", {}},          {"Relu", {}}, {"Clip", {0.0f, 6.0f}},
      {"HardSwish", {}}, {"SiLU", {}}, {"HardSigmoid", {0.2f, 0.5f}}};
  uint32_t seed = 700;
  for (const auto& [name, params] : acts) {
    ConvCase c{{1, 16, 7, 7}, 16, {1, 1}};
    c.residual = true;
    c.activation = name;
    c.activation_params = params;
    CheckConv(c, seed += 10);
    ConvCase k3{{2, 6, 9, 8}, 10, {3, 3}, 2, {2, 2}, {}, {1, 1, 1, 1}};
    k3.residual = true;
    k3.activation = name;
    k3.activation_params = params;
    CheckConv(k3, seed += 10);
  }
  ConvCase no_bias{{1, 8, 5, 5}, 8, {3, 3}, 8, {}, {}, {1, 1, 1, 1}, "", false, true, "Relu"};
  CheckConv(no_bias, 800);
}

TEST(XnnpackConv, ResidualOutputMayOverwriteZ) {
  for (const std::string act : {"", "Relu", "SiLU"}) {
    ConvCase c{{1, 8, 6, 6}, 8, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true, true, act};
    SCOPED_TRACE(Describe(c));
    ConvData d = MakeConv(c, 900);
    for (pthreadpool_t pool : Pools().all()) {
      Expected<Tensor> got = xnnpack_test::RunInPlace(d.nhwc, NhwcInputs(c, d), 3, pool);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ExpectClose(*got, d.expected);
    }
  }
}

// y = conv(x) + x: the runtime gives Y the buffer that X and Z share.
TEST(XnnpackConv, ResidualOfItsOwnInput) {
  for (const std::vector<int64_t>& kernel : {std::vector<int64_t>{1, 1}, {3, 3}}) {
    const int64_t pad = kernel[0] / 2;
    const int64_t group = kernel[0] == 1 ? 8 : 1;  // depthwise 1x1, and a full 3x3
    ConvCase c{{1, 8, 6, 7},         8,  kernel, group, {},    {},
               {pad, pad, pad, pad}, "", true,   true,  "Relu"};
    SCOPED_TRACE(Describe(c));
    ConvData d = MakeConv(c, 960);
    // Z := X (NHWC, same shape as the output); recompute the expectation with it.
    d.z_nhwc = d.x_nhwc;
    ConvCase plain = c;
    plain.residual = false;
    plain.activation.clear();
    ConvData conv_only = MakeConv(plain, 960);
    for (int64_t i = 0; i < d.expected.num_elements(); ++i) {
      const float v = conv_only.expected.data<float>()[i] + d.x_nhwc.data<float>()[i];
      d.expected.mutable_data<float>()[i] = v > 0 ? v : 0;
    }
    for (pthreadpool_t pool : Pools().all()) {
      Expected<Tensor> got =
          xnnpack_test::RunInPlace(d.nhwc, NhwcInputs(c, d), 3, pool, /*same_value=*/{0});
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ExpectClose(*got, d.expected);
    }
  }
}

TEST(XnnpackConv, PlainConvDoesNotRunInPlace) {
  ConvCase c{{1, 8, 6, 6}, 8, {1, 1}};
  ConvData d = MakeConv(c, 950);
  Expected<Tensor> got = xnnpack_test::RunInPlace(d.nhwc, NhwcInputs(c, d), 0, nullptr);
  EXPECT_FALSE(got.ok());
}

TEST(XnnpackConv, LeavesWhatItCannotDoExactlyToOtherPaths) {
  ConvCase c{{1, 4, 6, 6}, 4, {3, 3}, 1, {}, {}, {1, 1, 1, 1}};
  ConvData d = MakeConv(c, 1000);
  const std::vector<const Tensor*> ins = NhwcInputs(c, d);
  EXPECT_TRUE(XnnpackClaims(d.nhwc, ins));
  // Weights must be constants (XNNPACK packs them at prepare).
  EXPECT_FALSE(XnnpackClaims(d.nhwc, ins, {true, false, true}));
  EXPECT_FALSE(XnnpackClaims(d.nhwc, ins, {true, true, false}));
  EXPECT_TRUE(XnnpackClaims(d.nhwc, ins, {false, true, true}));
  // No XNNPACK operator for Tanh; an empty clamp range is rejected by XNNPACK.
  Node tanh = d.nhwc;
  tanh.attrs["activation"] = Attribute::String("Tanh");
  EXPECT_FALSE(XnnpackClaims(tanh, ins));
  Node clip = d.nhwc;
  clip.attrs["activation"] = Attribute::String("Clip");
  clip.attrs["activation_params"] = Attribute::Floats({1.0f, 1.0f});
  EXPECT_FALSE(XnnpackClaims(clip, ins));
  // The NCHW ONNX Conv belongs to other paths.
  Node nchw = MakeNode("Conv", 3, 13);
  EXPECT_FALSE(XnnpackClaims(nchw, {&d.x_nchw, &d.w, &d.b}));
  // f64 and 1-D convs are not claimed either.
  Tensor x1 = RandomTensor(DType::kF32, {1, 4, 9}, 1);
  Tensor w1 = RandomTensor(DType::kF32, {2, 4, 3}, 2);
  EXPECT_FALSE(XnnpackClaims(MakeNode("Conv", 2, 13), {&x1, &w1}));
}

TEST(XnnpackConv, ReportsPackedWeightBytes) {
  ConvCase c{{1, 32, 8, 8}, 64, {3, 3}, 1, {}, {}, {1, 1, 1, 1}};
  ConvData d = MakeConv(c, 1100);
  const std::vector<const Tensor*> ins = NhwcInputs(c, d);
  std::vector<TensorType> types;
  for (const Tensor* t : ins) types.push_back({t->dtype(), t->dims()});
  Expected<std::vector<TensorType>> out = InferNode(d.nhwc, types, ins);
  ASSERT_TRUE(out.ok());
  SupportContext sctx{d.nhwc, types, ins, *out};
  const KernelPath order[] = {KernelPath::kXnnpack};
  const KernelDef* k = SelectKernel(sctx, order);
  ASSERT_NE(k, nullptr);
  PrepareContext pctx{d.nhwc, types, ins, *out};
  ASSERT_TRUE(k->prepare(pctx).ok());
  ASSERT_NE(pctx.state, nullptr);
  // Packed weights and bias, at least; not wildly more.
  const size_t weights = (64 * 32 * 9 + 64) * sizeof(float);
  EXPECT_GE(pctx.state->persistent_bytes(), weights);
  EXPECT_LT(pctx.state->persistent_bytes(), 4 * weights + (64 << 10));
}

// ---- ConvTranspose ----

struct DeconvCase {
  std::vector<int64_t> x;  // N, C, H, W
  int64_t m;               // output channels
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads, output_padding, output_shape;
  std::string auto_pad;
  bool bias = true;
  std::string activation;
};

void CheckDeconv(const DeconvCase& c, uint32_t seed) {
  SCOPED_TRACE("x=" + DimsToString(c.x) + " m=" + std::to_string(c.m) +
               " k=" + DimsToString(c.kernel) + " group=" + std::to_string(c.group));
  Tensor x = RandomTensor(DType::kF32, c.x, seed);
  Tensor w = RandomTensor(DType::kF32, {c.x[1], c.m / c.group, c.kernel[0], c.kernel[1]}, seed + 1);
  Tensor b = RandomTensor(DType::kF32, {c.m}, seed + 2);
  auto set_attrs = [&](Node& n) {
    n.attrs["group"] = Attribute::Int(c.group);
    if (!c.strides.empty()) n.attrs["strides"] = Attribute::Ints(c.strides);
    if (!c.dilations.empty()) n.attrs["dilations"] = Attribute::Ints(c.dilations);
    if (!c.pads.empty()) n.attrs["pads"] = Attribute::Ints(c.pads);
    if (!c.output_padding.empty()) n.attrs["output_padding"] = Attribute::Ints(c.output_padding);
    if (!c.output_shape.empty()) n.attrs["output_shape"] = Attribute::Ints(c.output_shape);
    if (!c.auto_pad.empty()) n.attrs["auto_pad"] = Attribute::String(c.auto_pad);
    if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
  };
  Node ref = MakeNode("ConvTranspose", c.bias ? 3 : 2, 13);
  set_attrs(ref);
  std::vector<const Tensor*> ins = {&x, &w};
  if (c.bias) ins.push_back(&b);
  Expected<std::vector<Tensor>> want = EvaluateNode(ref, ins, KernelPath::kReference);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Node nhwc = ref;
  nhwc.domain = std::string(kNhwcDomain);
  Tensor x_nhwc = ToNhwc(x);
  ins[0] = &x_nhwc;
  ASSERT_TRUE(XnnpackClaims(nhwc, ins));
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got = EvaluateNode(nhwc, ins, KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectClose(ToNchw((*got)[0]), (*want)[0]);
  }
}

TEST(XnnpackConvTranspose, MatchesReference) {
  const DeconvCase cases[] = {
      {{1, 8, 5, 5}, 4, {2, 2}, 1, {2, 2}},  // FPN-style 2x
      {{1, 6, 7, 6}, 5, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}},
      {{1, 6, 7, 6}, 5, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}, {1, 1}},  // output_padding
      {{2, 4, 4, 5}, 6, {4, 4}, 2, {2, 2}, {}, {1, 1, 1, 1}},          // grouped
      {{1, 3, 5, 5}, 3, {3, 3}, 1, {1, 1}, {2, 2}, {0, 1, 2, 0}},      // dilated
      {{1, 4, 5, 6}, 2, {3, 3}, 1, {2, 2}, {}, {}, {}, {10, 12}},      // output_shape
      {{1, 4, 5, 6}, 2, {3, 3}, 1, {2, 2}, {}, {}, {}, {}, "SAME_UPPER"},
      {{1, 4, 5, 5}, 4, {2, 2}, 1, {2, 2}, {}, {}, {}, {}, "", false, "Relu"},
      {{1, 4, 5, 5}, 4, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, "", true, "SiLU"},
  };
  uint32_t seed = 2000;
  for (const DeconvCase& c : cases) CheckDeconv(c, seed += 10);
}

}  // namespace
}  // namespace edgerun
