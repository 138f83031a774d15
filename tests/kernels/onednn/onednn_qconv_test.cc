// oneDNN int8 kernels against the reference QLinear kernels. NHWC QLinearConv
// (kernels/onednn/onednn_qconv.cc): u8 and s8 activations, per-tensor and per-channel weight
// scales, input and output zero points, padding (where the input zero point must contribute
// nothing), strides, groups and depthwise, int32 bias, fused Relu/Clip; QLinearConvAdd (the
// residual add fused in as post-ops) with u8/s8 residuals and outputs, zero points, Relu/Clip
// after the add, and conv outputs that saturate before the add. QLinearMatMul
// (onednn_qmatmul.cc): batched a, per-column scales, zero points, Relu/Clip. 1 and 2 threads.
// Results must match exactly: the int8 kernels round half to even before oneDNN adds the output
// zero point (onednn::MakeInt8Attr). Adding it first would round v + zp instead, which differs
// for about 1.5e-5 of the outputs; the large 1x1 case below (half a million outputs, odd zero
// point) catches that.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/onednn/onednn_kernels.h"
#include "onednn_test_util.h"
#include "util/random_tensor.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using onednn_test::OnednnTestNode;
using onednn_test::SetInts;
using testing::RandomTensor;

struct QConvCase {
  std::vector<int64_t> x;  // N, H, W, C
  int64_t m;
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, pads;
  DType x_type = DType::kU8, y_type = DType::kU8;
  bool per_channel = true;
  int32_t x_zp = 0, y_zp = 0;
  bool bias = true;
  std::string activation;
  std::vector<float> activation_params;
};

Tensor Scalar(DType t, double v) { return testing::TensorFromDoubles(t, {1}, {v}); }

void ExpectExact(const Node& n, const std::vector<const Tensor*>& inputs,
                 std::span<const KernelDef> family = OnednnQConvKernels());

void CheckQConv(const QConvCase& c, uint32_t seed) {
  Node n = OnednnTestNode("QLinearConv", kNhwcDomain, c.bias ? 9 : 8, 10);
  n.attrs["group"] = Attribute::Int(c.group);
  SetInts(n, "kernel_shape", c.kernel);
  if (!c.strides.empty()) SetInts(n, "strides", c.strides);
  if (!c.pads.empty()) SetInts(n, "pads", c.pads);
  if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
  if (!c.activation_params.empty()) {
    n.attrs["activation_params"] = Attribute::Floats(c.activation_params);
  }
  const bool u8 = c.x_type == DType::kU8;
  Tensor x = RandomTensor(c.x_type, c.x, seed, u8 ? 0 : -128, u8 ? 255 : 127);
  const int64_t cg = c.x[3] / c.group;
  Tensor w = RandomTensor(DType::kI8, {c.m, cg, c.kernel[0], c.kernel[1]}, seed + 1, -127, 127);
  const float xs = 0.02f;
  Tensor w_scale = RandomTensor(DType::kF32, {c.per_channel ? c.m : 1}, seed + 2, 0.002, 0.01);
  // Spread the outputs over the int8 range: the sum's typical real size is about
  // sqrt(K) * |x - zp| * |w| * scales.
  const double k = static_cast<double>(cg * c.kernel[0] * c.kernel[1]);
  const float ys = static_cast<float>(std::sqrt(k) * 70.0 * 70.0 * xs * 0.006 / 50.0);
  Tensor b = RandomTensor(DType::kI32, {c.m}, seed + 3, -3000, 3000);
  Tensor x_scale = Scalar(DType::kF32, xs), y_scale = Scalar(DType::kF32, ys);
  Tensor x_zp = Scalar(c.x_type, c.x_zp), y_zp = Scalar(c.y_type, c.y_zp);
  Tensor w_zp = testing::TensorFromDoubles(DType::kI8, {1}, {0});
  std::vector<const Tensor*> inputs = {&x, &x_scale, &x_zp, &w, &w_scale, &w_zp, &y_scale, &y_zp};
  if (c.bias) inputs.push_back(&b);

  ExpectExact(n, inputs);
}

// Every output equal to the reference's.
void ExpectSameBits(const Tensor& got_tensor, const Tensor& want_tensor, const std::string& what) {
  ASSERT_EQ(got_tensor.dtype(), want_tensor.dtype()) << what;
  const std::vector<double> got = test_util::ToDoubles(got_tensor.view());
  const std::vector<double> want = test_util::ToDoubles(want_tensor.view());
  ASSERT_EQ(got.size(), want.size()) << what;
  int64_t differ = 0, distinct = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i] && differ++ == 0) {
      ADD_FAILURE() << what << ", element " << i << ": got " << got[i] << ", expected " << want[i];
    }
    distinct += want[i] != want[0];
  }
  EXPECT_EQ(differ, 0) << "of " << got.size() << " outputs, " << what;
  EXPECT_GT(distinct, 0) << "degenerate test data";
}

// The oneDNN path (what a session runs: for depthwise convs on VNNI machines the kernel of
// simd/qdepthwise_vnni.h) and the first kernel of `family` (oneDNN's own) that claims the node,
// on 1 and 2 threads.
void ExpectExact(const Node& n, const std::vector<const Tensor*>& inputs,
                 std::span<const KernelDef> family) {
  Expected<std::vector<Tensor>> ref = EvaluateNode(n, inputs, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Expected<std::vector<Tensor>> fast = EvaluateNode(n, inputs, KernelPath::kOnednn);
    omp_set_num_threads(1);
    ASSERT_TRUE(fast.ok()) << fast.status().message();
    ExpectSameBits((*fast)[0], (*ref)[0], "oneDNN path, " + std::to_string(threads) + " threads");
    std::string impl;
    const Tensor own = onednn_test::RunOnKernelTable(family, n, inputs, threads, &impl);
    ExpectSameBits(own, (*ref)[0], impl + ", " + std::to_string(threads) + " threads");
  }
}

TEST(OnednnQConvTest, MatchesReference) {
  const QConvCase cases[] = {
      {{1, 7, 9, 16}, 8, {3, 3}},
      {{1, 9, 8, 5}, 7, {3, 3}, 1, {2, 2}, {1, 1, 1, 1}, DType::kU8, DType::kU8, true, 128, 10},
      {{2, 6, 7, 12}, 9, {3, 3}, 3, {1, 2}, {0, 1, 2, 1}, DType::kU8, DType::kI8, false, 7, -3},
      {{1, 10, 11, 32},
       32,
       {3, 3},
       32,
       {2, 2},
       {1, 1, 1, 1},
       DType::kU8,
       DType::kU8,
       true,
       100,
       128},
      {{1, 8, 8, 24}, 48, {1, 1}, 1, {}, {}, DType::kI8, DType::kI8, true, -5, 2},
      {{1, 64, 64, 32}, 128, {1, 1}, 1, {}, {}, DType::kU8, DType::kU8, true, 128, 117},
      {{1, 9, 9, 8}, 16, {3, 3}, 1, {1, 1}, {1, 1, 1, 1}, DType::kI8, DType::kU8, true, 3, 0},
      {{1, 9, 9, 8},
       16,
       {3, 3},
       1,
       {1, 1},
       {1, 1, 1, 1},
       DType::kU8,
       DType::kU8,
       true,
       0,
       0,
       false},
      {{1, 9, 9, 8},
       16,
       {3, 3},
       1,
       {1, 1},
       {1, 1, 1, 1},
       DType::kU8,
       DType::kU8,
       true,
       120,
       5,
       true,
       "Relu"},
      {{1, 9, 9, 8},
       16,
       {3, 3},
       1,
       {1, 1},
       {1, 1, 1, 1},
       DType::kU8,
       DType::kI8,
       true,
       120,
       -7,
       true,
       "Clip",
       {-0.5f, 1.0f}},
      {{1, 12, 12, 16},
       16,
       {3, 3},
       16,
       {1, 1},
       {1, 1, 1, 1},
       DType::kU8,
       DType::kU8,
       true,
       128,
       0,
       true,
       "Clip",
       {0.0f, 6.0f}},
  };
  uint32_t seed = 7;
  for (const QConvCase& c : cases) {
    SCOPED_TRACE("x " + DimsToString(c.x) + " m " + std::to_string(c.m) + " group " +
                 std::to_string(c.group) + " x " + std::string(DTypeName(c.x_type)) + " y " +
                 std::string(DTypeName(c.y_type)) + " " + c.activation);
    CheckQConv(c, seed += 11);
  }
}

// Depthwise 3x3 (oneDNN's jit_int8 kernel, preferred over brdgmm_dw): channel counts off the
// 16-lane blocks, strides 1 and 2, odd sizes, symmetric, asymmetric and no padding, zero points,
// s8 output, no bias, Relu/Clip, batch 2, and MobileNetV2 layer sizes (large enough to meet
// rounding ties).
TEST(OnednnQConvTest, DepthwiseMatchesReference) {
  using D = DType;
  const QConvCase cases[] = {
      {{1, 9, 7, 21}, 21, {3, 3}, 21, {1, 1}, {1, 1, 1, 1}, D::kU8, D::kU8, true, 0, 0},
      {{2, 11, 10, 37}, 37, {3, 3}, 37, {2, 2}, {1, 1, 1, 1}, D::kU8, D::kI8, true, 131, -7},
      {{1, 8, 9, 16},
       16,
       {3, 3},
       16,
       {2, 1},
       {0, 0, 1, 1},
       D::kU8,
       D::kU8,
       false,
       5,
       128,
       true,
       "Relu"},
      {{1, 6, 6, 48},
       48,
       {3, 3},
       48,
       {1, 1},
       {0, 0, 0, 0},
       D::kU8,
       D::kU8,
       true,
       77,
       3,
       true,
       "Clip",
       {-0.25f, 0.5f}},
      {{1, 3, 3, 5}, 5, {3, 3}, 5, {2, 2}, {1, 1, 1, 1}, D::kU8, D::kU8, true, 200, 0},
      {{1, 56, 56, 144},
       144,
       {3, 3},
       144,
       {1, 1},
       {1, 1, 1, 1},
       D::kU8,
       D::kU8,
       true,
       0,
       0,
       true,
       "Clip",
       {0.0f, 6.0f}},
      {{1, 112, 112, 96}, 96, {3, 3}, 96, {2, 2}, {1, 1, 1, 1}, D::kU8, D::kU8, true, 3, 0},
      {{1, 7, 7, 960}, 960, {3, 3}, 960, {1, 1}, {1, 1, 1, 1}, D::kU8, D::kU8, true, 0, 0},
  };
  uint32_t seed = 300;
  for (const QConvCase& c : cases) {
    SCOPED_TRACE("x " + DimsToString(c.x) + " strides " + DimsToString(c.strides) + " pads " +
                 DimsToString(c.pads) + " y " + std::string(DTypeName(c.y_type)) + " " +
                 c.activation);
    CheckQConv(c, seed += 17);
  }
}

// Random int8 data for QLinearConv node `n` (u8 input of `x_dims`, i8 weights of `w_dims` with
// per-output-channel scales in [w_scale_lo, w_scale_hi), i32 bias, output zero point 0), run on
// oneDNN with each of `threads` and checked against the reference bit for bit. Returns the
// implementation each thread count ran.
std::vector<std::string> RunQConvAgainstReference(const Node& n, const std::vector<int64_t>& x_dims,
                                                  const std::vector<int64_t>& w_dims,
                                                  double w_scale_lo, double w_scale_hi, int x_zp,
                                                  double y_scale, uint32_t seed,
                                                  std::initializer_list<int> threads) {
  const int64_t m = w_dims[0];
  const Tensor x = RandomTensor(DType::kU8, x_dims, seed, 0, 255);
  const Tensor w = RandomTensor(DType::kI8, w_dims, seed + 1, -127, 127);
  const Tensor w_scale = RandomTensor(DType::kF32, {m}, seed + 2, w_scale_lo, w_scale_hi);
  const Tensor b = RandomTensor(DType::kI32, {m}, seed + 3, -3000, 3000);
  const Tensor x_scale = Scalar(DType::kF32, 0.02), y_scale_t = Scalar(DType::kF32, y_scale);
  const Tensor x_zp_t = Scalar(DType::kU8, x_zp), y_zp = Scalar(DType::kU8, 0);
  const Tensor w_zp = testing::TensorFromDoubles(DType::kI8, {1}, {0});
  const std::vector<const Tensor*> inputs = {&x,    &x_scale,   &x_zp_t, &w, &w_scale,
                                             &w_zp, &y_scale_t, &y_zp,   &b};
  Expected<std::vector<Tensor>> ref = EvaluateNode(n, inputs, KernelPath::kReference);
  EXPECT_TRUE(ref.ok()) << ref.status().message();
  std::vector<std::string> impls;
  for (int t : threads) {
    impls.emplace_back();
    const Tensor y =
        onednn_test::RunOnKernelTable(OnednnQConvKernels(), n, inputs, t, &impls.back());
    if (!ref.ok()) continue;
    const test_util::CompareResult r = test_util::AllClose(y.view(), (*ref)[0].view(), 0, 0);
    EXPECT_TRUE(r.ok) << t << " threads: " << r.message;
  }
  return impls;
}

// On several threads the int8 depthwise convs on maps of 14x14 or smaller take oneDNN's own
// first choice (brdgmm_dw on AVX-512 VNNI), on one thread jit_int8; both match the reference.
// Output zero point 0, as after MobileNetV2's ReLU6 (oneDNN 2.6 offers no brdgmm_dw with one).
TEST(OnednnQConvTest, SmallDepthwiseOnTwoThreadsTakesBrdgmm) {
  struct Case {
    std::vector<int64_t> x;
    int64_t stride;
    bool small;  // output map of 14x14 or less
  };
  const Case cases[] = {{{1, 14, 14, 384}, 1, true},
                        {{1, 28, 28, 192}, 2, true},
                        {{1, 7, 7, 960}, 1, true},
                        {{1, 28, 28, 192}, 1, false}};
  uint32_t seed = 900;
  for (const Case& c : cases) {
    SCOPED_TRACE("x " + DimsToString(c.x) + " stride " + std::to_string(c.stride));
    const int64_t ch = c.x[3];
    Node n = OnednnTestNode("QLinearConv", kNhwcDomain, 9, 10);
    n.attrs["group"] = Attribute::Int(ch);
    SetInts(n, "kernel_shape", {3, 3});
    SetInts(n, "strides", {c.stride, c.stride});
    SetInts(n, "pads", {1, 1, 1, 1});
    const std::vector<std::string> impls =
        RunQConvAgainstReference(n, c.x, {ch, 1, 3, 3}, 0.002, 0.01, 0, 0.01, seed, {1, 2});
    seed += 4;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512vnni")) {
      EXPECT_TRUE(impls[0].starts_with("jit_int8:")) << impls[0];
      EXPECT_EQ(impls[1].starts_with("brdgmm_dw:"), c.small) << impls[1];
    }
#endif
  }
}

// Int8 1x1 convs: the narrow ones take jit_int8_1x1; the wide ones (at least 128 in and 256 out
// channels) keep oneDNN's order on Intel CPUs (brgconv_1x1 without AMX) and take jit_int8_1x1
// elsewhere. Every choice matches the reference.
TEST(OnednnQConvTest, PointwiseImplementationByWidthAndVendor) {
  struct Case {
    std::vector<int64_t> x;
    int64_t m;
    bool wide;
  };
  const Case cases[] = {{{1, 7, 7, 320}, 1280, true},
                        {{1, 7, 7, 160}, 960, true},
                        {{1, 56, 56, 24}, 144, false},
                        {{1, 14, 14, 384}, 64, false}};
  uint32_t seed = 950;
  for (const Case& c : cases) {
    SCOPED_TRACE("x " + DimsToString(c.x) + " m " + std::to_string(c.m));
    Node n = OnednnTestNode("QLinearConv", kNhwcDomain, 9, 10);
    SetInts(n, "kernel_shape", {1, 1});
    const std::string impl =
        RunQConvAgainstReference(n, c.x, {c.m, c.x[3], 1, 1}, 0.0005, 0.002, 3, 0.05, seed, {1})[0];
    seed += 4;
#if defined(__x86_64__)
    // With AMX, oneDNN lists its AMX kernels first for the wide ones.
    if (__builtin_cpu_supports("avx512vnni") && impl.find("amx") == std::string::npos) {
      const bool onednn_order = c.wide && CpuIsIntel();
      EXPECT_EQ(impl.starts_with("brgconv_1x1:"), onednn_order) << impl;
      EXPECT_EQ(impl.starts_with("jit_int8_1x1:"), !onednn_order) << impl;
    }
#endif
  }
}

// The support check keeps its primitive descriptor for the prepare after it. A prepare for a
// conv that differs only in its scales (so only in oneDNN's attributes) must build its own:
// its output matches its reference, not the checked conv's.
TEST(OnednnQConvTest, PrepareAfterAnotherConvsSupportCheckUsesItsOwnScales) {
  Node n = OnednnTestNode("QLinearConv", kNhwcDomain, 9, 10);
  SetInts(n, "kernel_shape", {1, 1});
  const Tensor x = RandomTensor(DType::kU8, {1, 8, 8, 32}, 970, 0, 255);
  const Tensor w = RandomTensor(DType::kI8, {64, 32, 1, 1}, 971, -127, 127);
  const Tensor w_scale = RandomTensor(DType::kF32, {64}, 972, 0.0005, 0.002);
  const Tensor b = RandomTensor(DType::kI32, {64}, 973, -3000, 3000);
  const Tensor x_scale = Scalar(DType::kF32, 0.02), x_zp = Scalar(DType::kU8, 3);
  const Tensor y_scale_a = Scalar(DType::kF32, 0.05), y_scale_b = Scalar(DType::kF32, 0.11);
  const Tensor y_zp = Scalar(DType::kU8, 0);
  const Tensor w_zp = testing::TensorFromDoubles(DType::kI8, {1}, {0});
  const std::vector<const Tensor*> a = {&x,    &x_scale,   &x_zp, &w, &w_scale,
                                        &w_zp, &y_scale_a, &y_zp, &b};
  const std::vector<const Tensor*> b_inputs = {&x,    &x_scale,   &x_zp, &w, &w_scale,
                                               &w_zp, &y_scale_b, &y_zp, &b};
  Expected<std::vector<Tensor>> want = EvaluateNode(n, b_inputs, KernelPath::kReference);
  ASSERT_TRUE(want.ok()) << want.status().message();
  std::string impl;
  const Tensor got = onednn_test::RunOnKernelTable(OnednnQConvKernels(), n, b_inputs, 1, &impl, &a);
  const test_util::CompareResult r = test_util::AllClose(got.view(), (*want)[0].view(), 0, 0);
  EXPECT_TRUE(r.ok) << r.message;
}

struct QConvAddCase {
  std::vector<int64_t> x;  // N, H, W, C
  int64_t m;
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, pads;
  DType x_type = DType::kU8, a_type = DType::kU8, z_type = DType::kU8, out_type = DType::kU8;
  int32_t x_zp = 0, a_zp = 0, z_zp = 0, out_zp = 0;
  bool bias = true;
  std::string activation;
  std::vector<float> activation_params;
  float a_scale_factor = 1;  // < 1: the conv output saturates often before the add
};

void CheckQConvAdd(const QConvAddCase& c, uint32_t seed) {
  Node n = OnednnTestNode("QLinearConvAdd", kNhwcDomain, 14, 10);
  n.attrs["group"] = Attribute::Int(c.group);
  SetInts(n, "kernel_shape", c.kernel);
  if (!c.strides.empty()) SetInts(n, "strides", c.strides);
  if (!c.pads.empty()) SetInts(n, "pads", c.pads);
  if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
  if (!c.activation_params.empty()) {
    n.attrs["activation_params"] = Attribute::Floats(c.activation_params);
  }
  auto random_q = [](DType t, const std::vector<int64_t>& dims, uint32_t s) {
    const bool u8 = t == DType::kU8;
    return RandomTensor(t, dims, s, u8 ? 0 : -128, u8 ? 255 : 127);
  };
  Tensor x = random_q(c.x_type, c.x, seed);
  const int64_t cg = c.x[3] / c.group;
  Tensor w = RandomTensor(DType::kI8, {c.m, cg, c.kernel[0], c.kernel[1]}, seed + 1, -127, 127);
  const float xs = 0.02f;
  Tensor w_scale = RandomTensor(DType::kF32, {c.m}, seed + 2, 0.002, 0.01);
  const double k = static_cast<double>(cg * c.kernel[0] * c.kernel[1]);
  const float as =
      static_cast<float>(std::sqrt(k) * 70.0 * 70.0 * xs * 0.006 / 50.0) * c.a_scale_factor;
  Tensor b = RandomTensor(DType::kI32, {c.m}, seed + 3, -3000, 3000);
  Tensor x_scale = Scalar(DType::kF32, xs), a_scale = Scalar(DType::kF32, as);
  // The residual needs the output's shape: the plain conv on the reference path gives it.
  Tensor x_zp = Scalar(c.x_type, c.x_zp), a_zp = Scalar(c.a_type, c.a_zp);
  Tensor w_zp = testing::TensorFromDoubles(DType::kI8, {1}, {0});
  Node conv = OnednnTestNode("QLinearConv", kNhwcDomain, 9, 10);
  conv.attrs = n.attrs;
  conv.attrs.erase("activation");
  conv.attrs.erase("activation_params");
  const std::vector<const Tensor*> conv_inputs = {&x,    &x_scale, &x_zp, &w, &w_scale,
                                                  &w_zp, &a_scale, &a_zp, &b};
  Expected<std::vector<Tensor>> a = EvaluateNode(conv, conv_inputs);
  ASSERT_TRUE(a.ok()) << a.status().message();
  const TensorView a_view = (*a)[0].view();
  const std::vector<int64_t> out_dims(a_view.dims, a_view.dims + a_view.rank);
  Tensor z = random_q(c.z_type, out_dims, seed + 4);
  Tensor z_scale = Scalar(DType::kF32, as * 0.8f), z_zp = Scalar(c.z_type, c.z_zp);
  Tensor out_scale = Scalar(DType::kF32, as * 1.3f), out_zp = Scalar(c.out_type, c.out_zp);
  std::vector<const Tensor*> inputs = {
      &x, &x_scale, &x_zp, &w,         &w_scale, &w_zp, &a_scale, &a_zp, c.bias ? &b : nullptr,
      &z, &z_scale, &z_zp, &out_scale, &out_zp};
  ExpectExact(n, inputs);
}

TEST(OnednnQConvAddTest, MatchesReference) {
  using D = DType;
  QConvAddCase cases[] = {
      // 1x1 projections as in MobileNetV2, odd channel counts.
      {{1, 9, 11, 37}, 13, {1, 1}, 1, {}, {}, D::kU8, D::kU8, D::kU8, D::kU8, 0, 131, 127, 125},
      {{2, 6, 5, 24}, 7, {1, 1}, 1, {}, {}, D::kU8, D::kI8, D::kI8, D::kI8, 3, -5, 9, -2},
      // 3x3 with padding and stride, then the residual (ResNet), Relu after the add.
      {{1, 8, 9, 16},
       16,
       {3, 3},
       1,
       {1, 1},
       {1, 1, 1, 1},
       D::kU8,
       D::kU8,
       D::kU8,
       D::kU8,
       120,
       128,
       110,
       0,
       true,
       "Relu"},
      {{1, 10, 10, 8},
       24,
       {3, 3},
       1,
       {2, 2},
       {1, 1, 1, 1},
       D::kI8,
       D::kU8,
       D::kU8,
       D::kI8,
       -4,
       100,
       140,
       3,
       false,
       "Clip",
       {-0.5f, 2.0f}},
      // A Clip after the add next to the conv's own saturating clip (oneDNN once gave both the
      // first clip's bounds), across residual, input and output types.
      {{1, 10, 10, 8},
       24,
       {3, 3},
       1,
       {2, 2},
       {1, 1, 1, 1},
       D::kI8,
       D::kU8,
       D::kI8,
       D::kI8,
       -4,
       100,
       14,
       3,
       false,
       "Clip",
       {-0.5f, 2.0f}},
      {{1, 10, 10, 8},
       24,
       {3, 3},
       1,
       {2, 2},
       {1, 1, 1, 1},
       D::kI8,
       D::kU8,
       D::kU8,
       D::kI8,
       -4,
       100,
       140,
       3,
       true,
       "Clip",
       {-0.5f, 2.0f}},
      {{1, 10, 10, 8},
       24,
       {3, 3},
       1,
       {2, 2},
       {1, 1, 1, 1},
       D::kU8,
       D::kU8,
       D::kU8,
       D::kI8,
       4,
       100,
       140,
       3,
       false,
       "Clip",
       {-0.5f, 2.0f}},
      {{1, 10, 10, 8},
       24,
       {3, 3},
       1,
       {2, 2},
       {1, 1, 1, 1},
       D::kI8,
       D::kU8,
       D::kU8,
       D::kI8,
       -4,
       100,
       140,
       3,
       false,
       "",
       {}},
      {{1, 10, 10, 8},
       24,
       {3, 3},
       1,
       {2, 2},
       {1, 1, 1, 1},
       D::kI8,
       D::kU8,
       D::kU8,
       D::kU8,
       -4,
       100,
       140,
       3,
       false,
       "Clip",
       {-0.5f, 2.0f}},
      // Depthwise, s8 residual into a u8 output.
      {{1, 12, 12, 21},
       21,
       {3, 3},
       21,
       {1, 1},
       {1, 1, 1, 1},
       D::kU8,
       D::kU8,
       D::kI8,
       D::kU8,
       0,
       128,
       -3,
       128},
      // A conv output range far too small: most values saturate before the add.
      {{1, 7, 7, 32},
       19,
       {1, 1},
       1,
       {},
       {},
       D::kU8,
       D::kU8,
       D::kU8,
       D::kU8,
       128,
       128,
       128,
       128,
       true,
       "",
       {},
       0.1f},
      // Large enough (half a million outputs) that ties and rounding differences would show.
      {{1, 64, 64, 40}, 128, {1, 1}, 1, {}, {}, D::kU8, D::kU8, D::kU8, D::kU8, 128, 117, 121, 119},
  };
  uint32_t seed = 900;
  for (const QConvAddCase& c : cases) {
    SCOPED_TRACE("x " + DimsToString(c.x) + " m " + std::to_string(c.m) + " group " +
                 std::to_string(c.group) + " x " + std::string(DTypeName(c.x_type)) + " z " +
                 std::string(DTypeName(c.z_type)) + " out " + std::string(DTypeName(c.out_type)) +
                 (c.bias ? " bias " : " ") + c.activation);
    CheckQConvAdd(c, seed += 13);
  }
}

// The kernel must refuse what it cannot express rather than compute something else.
TEST(OnednnQConvAddTest, DeclinesNonConstantAddParameters) {
  Node n = OnednnTestNode("QLinearConvAdd", kNhwcDomain, 14, 10);
  SetInts(n, "kernel_shape", {1, 1});
  std::vector<TensorType> in(14);
  in[0] = {DType::kU8, {1, 4, 4, 8}};
  in[1] = in[4] = in[6] = in[10] = in[12] = {DType::kF32, {1}};
  in[2] = in[7] = in[11] = in[13] = {DType::kU8, {1}};
  in[3] = {DType::kI8, {8, 8, 1, 1}};
  in[5] = {DType::kI8, {1}};
  in[9] = {DType::kU8, {1, 4, 4, 8}};
  std::vector<TensorType> out = {{DType::kU8, {1, 4, 4, 8}}};
  Tensor f = Scalar(DType::kF32, 0.1), u = Scalar(DType::kU8, 3), s = Scalar(DType::kI8, 0);
  Tensor w = RandomTensor(DType::kI8, {8, 8, 1, 1}, 3, -127, 127);
  std::vector<const Tensor*> constants = {nullptr, &f,      &u, &w, &f,      &s, &f, &u,
                                          nullptr, nullptr, &f, &u, nullptr, &u};  // out_scale
  const KernelPath order[] = {KernelPath::kOnednn};
  EXPECT_EQ(SelectKernel(SupportContext{n, in, constants, out}, order), nullptr);
  constants[12] = &f;
  EXPECT_NE(SelectKernel(SupportContext{n, in, constants, out}, order), nullptr);
}

struct QMatMulCase {
  std::vector<int64_t> a, b;
  DType a_type = DType::kU8, y_type = DType::kU8;
  bool per_column = true;
  int32_t a_zp = 0, y_zp = 0;
  std::string activation;
  std::vector<float> activation_params;
};

TEST(OnednnQMatMulTest, MatchesReference) {
  const QMatMulCase cases[] = {
      {{5, 64}, {64, 24}},
      {{2, 7, 33}, {33, 17}, DType::kU8, DType::kI8, false, 128, -4},
      {{3, 48}, {48, 40}, DType::kI8, DType::kI8, true, -3, 6},
      {{4, 32}, {32, 16}, DType::kU8, DType::kU8, true, 100, 20, "Relu"},
      {{4, 32}, {32, 16}, DType::kU8, DType::kU8, true, 100, 20, "Clip", {-1.0f, 2.0f}},
  };
  uint32_t seed = 500;
  for (const QMatMulCase& c : cases) {
    SCOPED_TRACE("a " + DimsToString(c.a) + " b " + DimsToString(c.b) + " " + c.activation);
    Node n = OnednnTestNode("QLinearMatMul", "", 8, 10);
    if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
    if (!c.activation_params.empty()) {
      n.attrs["activation_params"] = Attribute::Floats(c.activation_params);
    }
    const bool u8 = c.a_type == DType::kU8;
    Tensor a = RandomTensor(c.a_type, c.a, seed += 7, u8 ? 0 : -128, u8 ? 255 : 127);
    Tensor b = RandomTensor(DType::kI8, c.b, seed + 1, -127, 127);
    const int64_t cols = c.b.back();
    const float as = 0.02f;
    Tensor b_scale = RandomTensor(DType::kF32, {c.per_column ? cols : 1}, seed + 2, 0.002, 0.01);
    const float ys =
        static_cast<float>(std::sqrt(double(c.b[0])) * 70.0 * 70.0 * as * 0.006 / 50.0);
    Tensor a_scale = Scalar(DType::kF32, as), y_scale = Scalar(DType::kF32, ys);
    Tensor a_zp = Scalar(c.a_type, c.a_zp), y_zp = Scalar(c.y_type, c.y_zp);
    Tensor b_zp = testing::TensorFromDoubles(DType::kI8, {1}, {0});
    ExpectExact(n, {&a, &a_scale, &a_zp, &b, &b_scale, &b_zp, &y_scale, &y_zp},
                OnednnQMatMulKernels());
  }
}

}  // namespace
}  // namespace edgerun
