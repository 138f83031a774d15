// Reference kernels of the kNhwcDomain ops (kernels/ref/nhwc.cc) against the ONNX reference ops
// on transposed data: Conv (groups, depthwise, strides, dilations, pads, auto_pad, bias, every
// fused activation, the residual input 3 added before the activation), ConvTranspose, MaxPool,
// AveragePool, GlobalAveragePool, GlobalMaxPool and QLinearConv, in f32 and 8-bit types.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

// Case tables below list only the leading fields that differ from the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::RandomTensor;

// [N,C,H,W] <-> [N,H,W,C] for any dtype.
Tensor Permute(const Tensor& t, bool to_nhwc) {
  const std::vector<int64_t>& d = t.dims();
  const int64_t n = d[0];
  const int64_t c = to_nhwc ? d[1] : d[3];
  const int64_t h = to_nhwc ? d[2] : d[1];
  const int64_t w = to_nhwc ? d[3] : d[2];
  Tensor out = Tensor::Create(t.dtype(), to_nhwc ? std::vector<int64_t>{n, h, w, c}
                                                 : std::vector<int64_t>{n, c, h, w})
                   .value();
  const size_t elem = DTypeSize(t.dtype());
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t ih = 0; ih < h; ++ih)
        for (int64_t iw = 0; iw < w; ++iw) {
          const int64_t nchw = ((in * c + ic) * h + ih) * w + iw;
          const int64_t nhwc = ((in * h + ih) * w + iw) * c + ic;
          std::memcpy(dst + (to_nhwc ? nhwc : nchw) * elem,
                      src + (to_nhwc ? nchw : nhwc) * elem, elem);
        }
  return out;
}
Tensor ToNhwc(const Tensor& t) { return Permute(t, true); }

Node MakeNode(const std::string& op, int num_inputs, bool nhwc) {
  Node n;
  n.name = "n0";
  n.op_type = op;
  n.opset = 17;
  if (nhwc) n.domain = std::string(kNhwcDomain);
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back(i);
  n.outputs.push_back(num_inputs);
  return n;
}

using Attrs = std::map<std::string, Attribute, std::less<>>;

// Runs the ONNX op on NCHW data and the NHWC op on the transposed input 0 (other inputs as
// given); returns {expected NHWC, got NHWC}.
std::pair<Tensor, Tensor> RunBoth(const std::string& op, const Attrs& attrs,
                                  const std::vector<const Tensor*>& inputs) {
  Node onnx = MakeNode(op, static_cast<int>(inputs.size()), /*nhwc=*/false);
  onnx.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == nullptr) onnx.inputs[i] = Node::kNoValue;
  }
  Node nhwc = onnx;
  nhwc.domain = std::string(kNhwcDomain);
  Expected<std::vector<Tensor>> want = EvaluateNode(onnx, inputs, KernelPath::kReference);
  EXPECT_TRUE(want.ok()) << want.status().ToString();
  const Tensor x_nhwc = ToNhwc(*inputs[0]);
  std::vector<const Tensor*> nhwc_inputs = inputs;
  nhwc_inputs[0] = &x_nhwc;
  Expected<std::vector<Tensor>> got = EvaluateNode(nhwc, nhwc_inputs, KernelPath::kReference);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!want.ok() || !got.ok()) return {};
  return {ToNhwc((*want)[0]), (*got)[0]};
}

void ExpectEqualTensors(const Tensor& got, const Tensor& want) {
  ASSERT_FALSE(want.empty());
  // Same inner kernel on the same data: equal up to float noise (exact for integer types).
  const test_util::CompareResult r = test_util::AllClose(got.view(), want.view(), 1e-6, 1e-6);
  EXPECT_TRUE(r.ok) << r.message;
}

struct ConvCase {
  std::vector<int64_t> x;  // NCHW
  int64_t m = 4;
  std::vector<int64_t> kernel = {3, 3};
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
  bool bias = true;
  std::string activation;
  std::vector<float> activation_params;
  bool residual = false;
};

std::string Describe(const ConvCase& c) {
  return "x=" + DimsToString(c.x) + " m=" + std::to_string(c.m) + " k=" + DimsToString(c.kernel) +
         " group=" + std::to_string(c.group) + " strides=" + DimsToString(c.strides) +
         " pads=" + DimsToString(c.pads) + " auto_pad=" + c.auto_pad +
         (c.bias ? " bias" : "") + " act=" + c.activation + (c.residual ? " residual" : "");
}

Attrs ConvAttrs(const ConvCase& c, bool with_activation) {
  Attrs a;
  a["group"] = Attribute::Int(c.group);
  a["kernel_shape"] = Attribute::Ints(c.kernel);
  if (!c.strides.empty()) a["strides"] = Attribute::Ints(c.strides);
  if (!c.dilations.empty()) a["dilations"] = Attribute::Ints(c.dilations);
  if (!c.pads.empty()) a["pads"] = Attribute::Ints(c.pads);
  if (!c.auto_pad.empty()) a["auto_pad"] = Attribute::String(c.auto_pad);
  if (with_activation && !c.activation.empty()) {
    a["activation"] = Attribute::String(c.activation);
    if (!c.activation_params.empty()) {
      a["activation_params"] = Attribute::Floats(c.activation_params);
    }
  }
  return a;
}

// The activation in double, written out independently of the kernels' FusedActivation.
double Activate(const ConvCase& c, double v) {
  const std::string& a = c.activation;
  const std::vector<float>& p = c.activation_params;
  if (a == "Relu") return v > 0 ? v : 0;
  if (a == "Clip") return std::min(std::max(v, double{p[0]}), double{p[1]});
  if (a == "LeakyRelu") return v >= 0 ? v : p[0] * v;
  if (a == "HardSigmoid") return std::max(0.0, std::min(1.0, p[0] * v + p[1]));
  if (a == "HardSwish") return v * std::max(0.0, std::min(1.0, v / 6 + 0.5));
  if (a == "Sigmoid") return 1 / (1 + std::exp(-v));
  if (a == "Tanh") return std::tanh(v);
  if (a == "SiLU") return v / (1 + std::exp(-v));
  EXPECT_TRUE(a.empty()) << "unknown activation " << a;
  return v;
}

void CheckConv(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE(Describe(c));
  // Inputs scaled so that conv outputs straddle every activation's kinks.
  const Tensor x = RandomTensor(DType::kF32, c.x, seed, -2.0, 2.0);
  const Tensor w = RandomTensor(DType::kF32, {c.m, c.x[1] / c.group, c.kernel[0], c.kernel[1]},
                                seed + 1);
  const Tensor b = RandomTensor(DType::kF32, {c.m}, seed + 2);
  std::vector<const Tensor*> onnx_inputs = {&x, &w};
  if (c.bias) onnx_inputs.push_back(&b);

  // The ONNX conv without activation, transposed: the residual and activation come after.
  Node onnx = MakeNode("Conv", static_cast<int>(onnx_inputs.size()), false);
  onnx.attrs = ConvAttrs(c, /*with_activation=*/false);
  Expected<std::vector<Tensor>> plain = EvaluateNode(onnx, onnx_inputs, KernelPath::kReference);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  Tensor expected = ToNhwc((*plain)[0]);
  Tensor z;
  if (c.residual) z = RandomTensor(DType::kF32, expected.dims(), seed + 3, -3.0, 3.0);
  float* e = expected.mutable_data<float>();
  for (int64_t i = 0; i < expected.num_elements(); ++i) {
    const double v = double{e[i]} + (c.residual ? z.data<float>()[i] : 0.0);
    e[i] = static_cast<float>(Activate(c, v));
  }

  const Tensor x_nhwc = ToNhwc(x);
  std::vector<const Tensor*> inputs = {&x_nhwc, &w};
  if (c.bias || c.residual) inputs.push_back(c.bias ? &b : nullptr);
  if (c.residual) inputs.push_back(&z);
  Node nhwc = MakeNode("Conv", static_cast<int>(inputs.size()), true);
  if (!c.bias && c.residual) nhwc.inputs[2] = Node::kNoValue;
  nhwc.attrs = ConvAttrs(c, /*with_activation=*/true);
  Expected<std::vector<Tensor>> got = EvaluateNode(nhwc, inputs, KernelPath::kReference);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)[0].dims(), expected.dims());
  const test_util::CompareResult r = test_util::AllClose((*got)[0].view(), expected.view(), 1e-5,
                                                         1e-5);
  EXPECT_TRUE(r.ok) << r.message;

  // Without a residual the NHWC conv is the ONNX conv (with its fused activation) transposed.
  if (!c.residual) {
    auto [want, same] = RunBoth("Conv", ConvAttrs(c, true), onnx_inputs);
    ExpectEqualTensors(same, want);
  }
}

TEST(RefNhwcConv, MatchesOnnxConvOnTransposedData) {
  const ConvCase cases[] = {
      {{1, 3, 7, 6}, 5, {3, 3}, 1, {}, {}, {1, 1, 1, 1}},
      {{2, 6, 5, 7}, 4, {3, 2}, 2, {2, 2}, {}, {0, 1, 2, 0}},
      {{1, 4, 8, 8}, 8, {3, 3}, 4, {}, {2, 2}, {2, 2, 2, 2}},  // depthwise x2, dilated
      {{1, 5, 9, 9}, 3, {1, 1}, 1, {2, 2}, {}, {}, "", /*bias=*/false},
      {{1, 3, 6, 5}, 4, {3, 3}, 1, {2, 1}, {}, {}, "SAME_UPPER"},
      {{1, 4, 5, 5}, 6, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true, "Relu"},
      {{1, 4, 5, 5}, 6, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true, "Clip", {0.f, 0.5f}},
      {{1, 2, 6, 4}, 3, {2, 2}, 1, {}, {}, {}, "", true, "LeakyRelu", {0.1f}},
      {{1, 2, 6, 4}, 3, {2, 2}, 1, {}, {}, {}, "", false, "HardSigmoid", {0.2f, 0.5f}},
      {{1, 8, 6, 6}, 8, {3, 3}, 8, {2, 2}, {}, {1, 1, 1, 1}, "", true, "HardSwish"},
      {{1, 3, 4, 4}, 2, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true, "Sigmoid"},
      {{1, 3, 4, 4}, 2, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true, "Tanh"},
  };
  uint32_t seed = 1;
  for (const ConvCase& c : cases) CheckConv(c, seed += 10);
}

TEST(RefNhwcConv, ResidualIsAddedBeforeTheActivation) {
  ConvCase base{{1, 4, 6, 5}, 4, {3, 3}, 1, {}, {}, {1, 1, 1, 1}};
  base.residual = true;
  uint32_t seed = 200;
  for (const char* act : {"", "Relu", "LeakyRelu", "Clip", "HardSwish", "Sigmoid"}) {
    ConvCase c = base;
    c.activation = act;
    if (c.activation == "LeakyRelu") c.activation_params = {0.2f};
    if (c.activation == "Clip") c.activation_params = {-0.5f, 1.0f};
    CheckConv(c, seed += 10);
  }
  ConvCase no_bias = base;
  no_bias.bias = false;
  no_bias.activation = "Relu";
  CheckConv(no_bias, 300);
  ConvCase grouped{{1, 6, 7, 7}, 6, {3, 3}, 3, {2, 2}, {}, {1, 1, 1, 1}};
  grouped.residual = true;
  grouped.activation = "Relu";
  CheckConv(grouped, 310);
}

TEST(RefNhwcConvTranspose, MatchesOnnxOnTransposedData) {
  struct Case {
    std::vector<int64_t> x;
    int64_t m, group;
    Attrs attrs;
    bool bias;
  };
  const Case cases[] = {
      {{1, 4, 5, 6}, 3, 1,
       {{"strides", Attribute::Ints({2, 2})},
        {"pads", Attribute::Ints({1, 1, 1, 1})},
        {"output_padding", Attribute::Ints({1, 0})}},
       true},
      {{2, 4, 3, 4}, 6, 2, {{"strides", Attribute::Ints({1, 2})}}, false},
      {{1, 3, 4, 4}, 2, 1,
       {{"dilations", Attribute::Ints({2, 1})}, {"activation", Attribute::String("Relu")}},
       true},
  };
  uint32_t seed = 50;
  for (const Case& c : cases) {
    SCOPED_TRACE("x=" + DimsToString(c.x));
    const Tensor x = RandomTensor(DType::kF32, c.x, seed++);
    const Tensor w = RandomTensor(DType::kF32, {c.x[1], c.m / c.group, 3, 3}, seed++);
    const Tensor b = RandomTensor(DType::kF32, {c.m}, seed++);
    Attrs attrs = c.attrs;
    attrs["group"] = Attribute::Int(c.group);
    std::vector<const Tensor*> inputs = {&x, &w};
    if (c.bias) inputs.push_back(&b);
    auto [want, got] = RunBoth("ConvTranspose", attrs, inputs);
    ExpectEqualTensors(got, want);
  }
}

TEST(RefNhwcPool, MaxPoolMatchesOnnx) {
  const std::vector<Attrs> cases = {
      {{"kernel_shape", Attribute::Ints({3, 3})},
       {"strides", Attribute::Ints({2, 2})},
       {"pads", Attribute::Ints({1, 1, 1, 1})}},
      {{"kernel_shape", Attribute::Ints({2, 3})},
       {"strides", Attribute::Ints({2, 2})},
       {"ceil_mode", Attribute::Int(1)}},
      {{"kernel_shape", Attribute::Ints({2, 2})}, {"dilations", Attribute::Ints({2, 2})}},
      {{"kernel_shape", Attribute::Ints({3, 3})}, {"auto_pad", Attribute::String("SAME_LOWER")}},
  };
  uint32_t seed = 70;
  for (const Attrs& attrs : cases) {
    for (DType dtype : {DType::kF32, DType::kU8, DType::kI8}) {
      SCOPED_TRACE(std::string(DTypeName(dtype)));
      const double lo = dtype == DType::kU8 ? 0 : dtype == DType::kI8 ? -128 : -1;
      const double hi = dtype == DType::kU8 ? 255 : dtype == DType::kI8 ? 127 : 1;
      const Tensor x = RandomTensor(dtype, {2, 3, 7, 8}, seed++, lo, hi);
      auto [want, got] = RunBoth("MaxPool", attrs, {&x});
      ExpectEqualTensors(got, want);
    }
  }
}

TEST(RefNhwcPool, AveragePoolMatchesOnnx) {
  const std::vector<Attrs> cases = {
      {{"kernel_shape", Attribute::Ints({3, 3})},
       {"strides", Attribute::Ints({2, 2})},
       {"pads", Attribute::Ints({1, 1, 1, 1})}},
      {{"kernel_shape", Attribute::Ints({3, 3})},
       {"strides", Attribute::Ints({2, 2})},
       {"pads", Attribute::Ints({1, 0, 1, 2})},
       {"count_include_pad", Attribute::Int(1)}},
      {{"kernel_shape", Attribute::Ints({2, 2})},
       {"strides", Attribute::Ints({2, 2})},
       {"ceil_mode", Attribute::Int(1)}},
  };
  uint32_t seed = 90;
  for (const Attrs& attrs : cases) {
    const Tensor x = RandomTensor(DType::kF32, {1, 5, 7, 6}, seed++);
    auto [want, got] = RunBoth("AveragePool", attrs, {&x});
    ExpectEqualTensors(got, want);
  }
}

TEST(RefNhwcPool, GlobalPoolsMatchOnnx) {
  const Tensor x = RandomTensor(DType::kF32, {2, 5, 3, 4}, 111);
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    SCOPED_TRACE(op);
    auto [want, got] = RunBoth(op, {}, {&x});
    ExpectEqualTensors(got, want);
    EXPECT_EQ(got.dims(), (std::vector<int64_t>{2, 1, 1, 5}));
  }
}

TEST(RefNhwcQLinearConv, MatchesOnnxOnTransposedData) {
  const Tensor x = RandomTensor(DType::kU8, {1, 4, 6, 5}, 120, 0, 255);
  const Tensor x_scale = Tensor::FromVector(DType::kF32, {}, std::vector<float>{0.02f});
  const Tensor x_zp = Tensor::FromVector(DType::kU8, {}, std::vector<uint8_t>{128});
  const Tensor w = RandomTensor(DType::kI8, {6, 2, 3, 3}, 121, -127, 127);
  const Tensor w_scale = RandomTensor(DType::kF32, {6}, 122, 0.001, 0.01);
  const Tensor w_zp = Tensor::FromVector(DType::kI8, {6}, std::vector<int8_t>(6, 0));
  const Tensor y_scale = Tensor::FromVector(DType::kF32, {}, std::vector<float>{0.05f});
  const Tensor y_zp = Tensor::FromVector(DType::kU8, {}, std::vector<uint8_t>{100});
  const Tensor bias = RandomTensor(DType::kI32, {6}, 123, -500, 500);
  Attrs attrs = {{"group", Attribute::Int(2)},
                 {"pads", Attribute::Ints({1, 1, 1, 1})},
                 {"strides", Attribute::Ints({1, 2})}};
  auto [want, got] = RunBoth("QLinearConv", attrs,
                             {&x, &x_scale, &x_zp, &w, &w_scale, &w_zp, &y_scale, &y_zp, &bias});
  ExpectEqualTensors(got, want);
}

TEST(RefNhwcConv, ResidualOfTheWrongShapeIsRejected) {
  const Tensor x = RandomTensor(DType::kF32, {1, 5, 5, 3}, 130);  // NHWC
  const Tensor w = RandomTensor(DType::kF32, {4, 3, 3, 3}, 131);
  const Tensor b = RandomTensor(DType::kF32, {4}, 132);
  const Tensor z = RandomTensor(DType::kF32, {1, 4, 3, 3}, 133);  // NCHW-shaped by mistake
  Node nhwc = MakeNode("Conv", 4, true);
  const std::vector<const Tensor*> inputs = {&x, &w, &b, &z};
  Expected<std::vector<Tensor>> got = EvaluateNode(nhwc, inputs, KernelPath::kReference);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("residual"), std::string::npos)
      << got.status().message();
}

}  // namespace
}  // namespace edgerun
