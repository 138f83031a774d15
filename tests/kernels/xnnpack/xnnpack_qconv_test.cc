// XNNPACK int8 NHWC QLinearConv (kernels/xnnpack/xnnpack_qconv.cc) against the reference NCHW
// QLinearConv on transposed data: u8 (qu8) and s8 with per-channel scales (qc8), zero points,
// bias, groups, depthwise, strides, pads and fused Relu/Clip, at 1 and 2 threads; and the
// quantization schemes XNNPACK cannot take.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_test_util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::RandomTensor;
using xnnpack_test::MakeNode;
using xnnpack_test::Pools;
using xnnpack_test::PoolName;
using xnnpack_test::ToNchw;
using xnnpack_test::ToNhwc;
using xnnpack_test::XnnpackClaims;

struct QCase {
  DType q;                 // kU8 (qu8) or kI8 (qc8)
  std::vector<int64_t> x;  // N, C, H, W
  int64_t m;
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, pads;
  bool per_channel = false;
  bool bias = true;
  std::string activation;
  std::vector<float> activation_params;
};

Tensor Scalar(DType t, double v) { return testing::TensorFromDoubles(t, {}, {v}); }

struct QData {
  Tensor x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias;
  std::vector<const Tensor*> inputs() const {
    std::vector<const Tensor*> in = {&x, &x_scale, &x_zp, &w, &w_scale, &w_zp, &y_scale, &y_zp};
    if (!bias.empty()) in.push_back(&bias);
    return in;
  }
};

// An output scale that uses most of the 8-bit range for the sums of these cases.
double YScale(const QCase& c) {
  const double taps = static_cast<double>(c.x[1] / c.group * c.kernel[0] * c.kernel[1]);
  return 0.02 * 0.01 * 128 * 128 * std::sqrt(taps) / 40.0;
}

QData MakeData(const QCase& c, uint32_t seed) {
  const bool u8 = c.q == DType::kU8;
  QData d;
  d.x = RandomTensor(c.q, c.x, seed, u8 ? 0 : -128, u8 ? 255 : 127);
  d.w = RandomTensor(c.q, {c.m, c.x[1] / c.group, c.kernel[0], c.kernel[1]}, seed + 1,
                     u8 ? 0 : -127, u8 ? 255 : 127);
  d.x_scale = Scalar(DType::kF32, 0.02);
  d.x_zp = Scalar(c.q, u8 ? 128 : -5);
  if (c.per_channel) {
    d.w_scale = RandomTensor(DType::kF32, {c.m}, seed + 2, 0.002, 0.02);
    d.w_zp = Tensor::Create(c.q, {c.m}).value();  // zeros
  } else {
    d.w_scale = Scalar(DType::kF32, 0.01);
    d.w_zp = Scalar(c.q, u8 ? 120 : 0);
  }
  d.y_scale = Scalar(DType::kF32, YScale(c));
  d.y_zp = Scalar(c.q, u8 ? 100 : 3);
  if (c.bias) d.bias = RandomTensor(DType::kI32, {c.m}, seed + 3, -2000, 2000);
  return d;
}

Node MakeQConv(const QCase& c, bool nhwc) {
  Node n = MakeNode("QLinearConv", c.bias ? 9 : 8, 10, nhwc ? std::string(kNhwcDomain) : "");
  n.attrs["group"] = Attribute::Int(c.group);
  if (!c.strides.empty()) n.attrs["strides"] = Attribute::Ints(c.strides);
  if (!c.pads.empty()) n.attrs["pads"] = Attribute::Ints(c.pads);
  if (!c.activation.empty()) {
    n.attrs["activation"] = Attribute::String(c.activation);
    if (!c.activation_params.empty()) {
      n.attrs["activation_params"] = Attribute::Floats(c.activation_params);
    }
  }
  return n;
}

// Exact on x86 (XNNPACK's fp32 requantization is the reference's); on ARM XNNPACK rounds with
// fixed-point multipliers, which may differ by one step on ties.
void ExpectQuantizedClose(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dims(), want.dims());
  ASSERT_EQ(got.dtype(), want.dtype());
  int64_t off_by_one = 0;
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const double g = testing::ElementAt(got, i), e = testing::ElementAt(want, i);
    ASSERT_LE(std::abs(g - e), 1.0) << "element " << i << ": got " << g << ", expected " << e;
    off_by_one += g != e;
  }
#if defined(__x86_64__)
  EXPECT_EQ(off_by_one, 0);
#else
  EXPECT_LE(off_by_one, want.num_elements() / 100);
#endif
}

void CheckQConv(const QCase& c, uint32_t seed) {
  SCOPED_TRACE(std::string(DTypeName(c.q)) + " x=" + DimsToString(c.x) + " m=" +
               std::to_string(c.m) + " k=" + DimsToString(c.kernel) + " group=" +
               std::to_string(c.group) + " act=" + c.activation);
  QData d = MakeData(c, seed);
  Expected<std::vector<Tensor>> want = EvaluateNode(MakeQConv(c, false), d.inputs());
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  QData nhwc = d;
  nhwc.x = ToNhwc(d.x);
  const Node node = MakeQConv(c, true);
  ASSERT_TRUE(XnnpackClaims(node, nhwc.inputs()));
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got =
        EvaluateNode(node, nhwc.inputs(), KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectQuantizedClose(ToNchw((*got)[0]), (*want)[0]);
  }
}

TEST(XnnpackQLinearConv, MatchesReference) {
  const QCase cases[] = {
      {DType::kU8, {1, 16, 9, 11}, 24, {1, 1}},
      {DType::kU8, {1, 8, 10, 9}, 12, {3, 3}, 1, {}, {1, 1, 1, 1}},
      {DType::kU8, {2, 6, 11, 10}, 5, {3, 3}, 1, {2, 2}, {0, 1, 1, 0}},
      {DType::kU8, {1, 16, 8, 8}, 16, {3, 3}, 16, {}, {1, 1, 1, 1}},     // depthwise
      {DType::kU8, {1, 8, 7, 7}, 8, {3, 3}, 2, {}, {1, 1, 1, 1}, false, false},
      {DType::kI8, {1, 16, 9, 11}, 24, {1, 1}, 1, {}, {}, true},
      {DType::kI8, {1, 8, 10, 9}, 12, {3, 3}, 1, {}, {1, 1, 1, 1}, true},
      {DType::kI8, {1, 24, 12, 12}, 24, {3, 3}, 24, {2, 2}, {1, 1, 1, 1}, true},
      {DType::kI8, {2, 6, 9, 9}, 6, {5, 5}, 3, {}, {2, 2, 2, 2}, false},
      {DType::kI8, {1, 3, 17, 17}, 8, {7, 7}, 1, {2, 2}, {3, 3, 3, 3}, true, false},
  };
  uint32_t seed = 10;
  for (const QCase& c : cases) CheckQConv(c, seed += 10);
}

TEST(XnnpackQLinearConv, FusedRelu6AndClip) {
  uint32_t seed = 200;
  for (DType q : {DType::kU8, DType::kI8}) {
    // Clip bounds in output steps (y_scale units), off the integer grid.
    for (const auto& [act, steps] : std::vector<std::pair<std::string, std::vector<float>>>{
             {"Relu", {}}, {"Clip", {0.0f, 20.4f}}, {"Clip", {-10.5f, 12.6f}}}) {
      QCase c{q, {1, 8, 9, 9}, 16, {3, 3}, 1, {}, {1, 1, 1, 1}, q == DType::kI8};
      c.activation = act;
      for (float v : steps) c.activation_params.push_back(v * static_cast<float>(YScale(c)));
      CheckQConv(c, seed += 10);
    }
    // Bounds that round to one output value: XNNPACK needs min < max.
    QCase flat{q, {1, 8, 9, 9}, 16, {3, 3}, 1, {}, {1, 1, 1, 1}, q == DType::kI8};
    flat.activation = "Clip";
    flat.activation_params = {0.1f * static_cast<float>(YScale(flat)),
                              0.3f * static_cast<float>(YScale(flat))};
    QData d = MakeData(flat, 1);
    d.x = ToNhwc(d.x);
    EXPECT_FALSE(XnnpackClaims(MakeQConv(flat, true), d.inputs()));
  }
}

TEST(XnnpackQLinearConv, LeavesOtherSchemesToOtherPaths) {
  const QCase u8{DType::kU8, {1, 4, 6, 6}, 4, {3, 3}, 1, {}, {1, 1, 1, 1}};
  QData d = MakeData(u8, 1);
  d.x = ToNhwc(d.x);
  const Node node = MakeQConv(u8, true);
  EXPECT_TRUE(XnnpackClaims(node, d.inputs()));
  // Scales must be constants.
  std::vector<bool> constant(9, true);
  constant[1] = false;
  EXPECT_FALSE(XnnpackClaims(node, d.inputs(), constant));
  // qu8 has one weight scale.
  QData per_channel = d;
  per_channel.w_scale = RandomTensor(DType::kF32, {4}, 2, 0.005, 0.01);
  EXPECT_FALSE(XnnpackClaims(node, per_channel.inputs()));
  // s8 weights must be symmetric.
  const QCase s8{DType::kI8, {1, 4, 6, 6}, 4, {3, 3}, 1, {}, {1, 1, 1, 1}};
  QData asym = MakeData(s8, 3);
  asym.x = ToNhwc(asym.x);
  EXPECT_TRUE(XnnpackClaims(MakeQConv(s8, true), asym.inputs()));
  asym.w_zp = Scalar(DType::kI8, 2);
  EXPECT_FALSE(XnnpackClaims(MakeQConv(s8, true), asym.inputs()));
  // u8 activations with s8 weights.
  QData mixed = d;
  mixed.w = RandomTensor(DType::kI8, d.w.dims(), 4, -127, 127);
  mixed.w_zp = Scalar(DType::kI8, 0);
  EXPECT_FALSE(XnnpackClaims(node, mixed.inputs()));
}

}  // namespace
}  // namespace edgerun
