// Reference Resize/Upsample kernels (kernels/ref/resize.cc): worked examples from the ONNX
// operator documentation plus direct 1-D re-computations of the coordinate formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"

namespace edgerun {
namespace {

Node ResizeNode(int opset, int num_inputs) {
  Node n;
  n.name = "r0";
  n.op_type = "Resize";
  n.opset = opset;
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back(i);
  n.outputs.push_back(num_inputs);
  return n;
}

Tensor F32(std::vector<int64_t> dims, const std::vector<float>& v) {
  return Tensor::FromVector(DType::kF32, std::move(dims), v);
}
Tensor I64(std::vector<int64_t> dims, const std::vector<int64_t>& v) {
  return Tensor::FromVector(DType::kI64, std::move(dims), v);
}

std::vector<float> RunF32(const Node& n, std::vector<const Tensor*> in,
                          std::vector<int64_t>* dims = nullptr) {
  auto r = EvaluateNode(n, in);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  const Tensor& t = (*r)[0];
  if (dims != nullptr) *dims = t.dims();
  return std::vector<float>(t.data<float>(), t.data<float>() + t.num_elements());
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

const Tensor& Square2x2() {
  static const Tensor t = F32({1, 1, 2, 2}, {1, 2, 3, 4});
  return t;
}

TEST(ResizeKernelTest, LinearHalfPixelUpsample) {
  Node n = ResizeNode(13, 3);
  n.attrs["mode"] = Attribute::String("linear");
  Tensor scales = F32({4}, {1, 1, 2, 2});
  std::vector<int64_t> dims;
  auto got = RunF32(n, {&Square2x2(), nullptr, &scales}, &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{1, 1, 4, 4}));
  ExpectNear(got, {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f,
                   3.75f, 4});
}

TEST(ResizeKernelTest, LinearAlignCornersUsesScaledLength) {
  // With scales, align_corners divides by (scale * in - 1), not (out - 1): 4 * 0.6 = 2.4.
  Node n = ResizeNode(13, 3);
  n.attrs["mode"] = Attribute::String("linear");
  n.attrs["coordinate_transformation_mode"] = Attribute::String("align_corners");
  Tensor x = F32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor scales = F32({4}, {1, 1, 0.6f, 0.6f});
  auto got = RunF32(n, {&x, nullptr, &scales});
  const double step = 3.0 / (4 * static_cast<double>(0.6f) - 1);
  ExpectNear(got, {1, static_cast<float>(1 + step)});
}

TEST(ResizeKernelTest, NearestModesAndTransforms) {
  Tensor x = F32({1, 1, 1, 4}, {10, 20, 30, 40});
  Tensor sizes = I64({4}, {1, 1, 1, 7});
  struct Case {
    const char* ctm;
    const char* nearest;
  };
  const Case cases[] = {{"half_pixel", "round_prefer_floor"},
                        {"half_pixel", "round_prefer_ceil"},
                        {"asymmetric", "floor"},
                        {"align_corners", "ceil"},
                        {"tf_half_pixel_for_nn", "floor"},
                        {"pytorch_half_pixel", "round_prefer_ceil"}};
  for (const Case& c : cases) {
    Node n = ResizeNode(11, 4);
    n.attrs["coordinate_transformation_mode"] = Attribute::String(c.ctm);
    n.attrs["nearest_mode"] = Attribute::String(c.nearest);
    Tensor roi = F32({0}, {}), scales = F32({0}, {});
    auto got = RunF32(n, {&x, &roi, &scales, &sizes});
    ASSERT_EQ(got.size(), 7u);
    const double scale = 7.0 / 4.0;
    for (int o = 0; o < 7; ++o) {
      const std::string ctm = c.ctm, nm = c.nearest;
      double xo = ctm == "half_pixel" || ctm == "pytorch_half_pixel" ? (o + 0.5) / scale - 0.5
                  : ctm == "asymmetric"                              ? o / scale
                  : ctm == "align_corners"                           ? o * 3.0 / 6.0
                                                                     : (o + 0.5) / scale;
      double idx = nm == "floor"               ? std::floor(xo)
                   : nm == "ceil"              ? std::ceil(xo)
                   : nm == "round_prefer_ceil" ? std::floor(xo + 0.5)
                                               : std::ceil(xo - 0.5);
      idx = std::min(3.0, std::max(0.0, idx));
      EXPECT_EQ(got[o], 10.0f * static_cast<float>(idx + 1))
          << c.ctm << "/" << c.nearest << " " << o;
    }
  }
}

TEST(ResizeKernelTest, CubicMatchesKernelWeights) {
  // 1-D cubic upsampling by 2 with half_pixel, A = -0.75, edge-clamped taps.
  Node n = ResizeNode(13, 3);
  n.attrs["mode"] = Attribute::String("cubic");
  Tensor x = F32({1, 5}, {1, 4, 2, 8, 3});
  Tensor scales = F32({2}, {1, 2});
  auto got = RunF32(n, {&x, nullptr, &scales});
  ASSERT_EQ(got.size(), 10u);
  auto k = [](double t) {
    const double a = -0.75;
    t = std::abs(t);
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0.0;
  };
  const double v[5] = {1, 4, 2, 8, 3};
  for (int o = 0; o < 10; ++o) {
    const double xo = (o + 0.5) / 2 - 0.5;
    const double f = std::floor(xo);
    double want = 0;
    for (int i = -1; i <= 2; ++i) {
      const int j = std::min(4, std::max(0, static_cast<int>(f) + i));
      want += k(xo - (f + i)) * v[j];
    }
    EXPECT_NEAR(got[o], want, 1e-5) << o;
  }
}

TEST(ResizeKernelTest, CropAndResizeExtrapolates) {
  Node n = ResizeNode(13, 4);
  n.attrs["mode"] = Attribute::String("linear");
  n.attrs["coordinate_transformation_mode"] = Attribute::String("tf_crop_and_resize");
  n.attrs["extrapolation_value"] = Attribute::Float(-1);
  Tensor x = F32({1, 3}, {0, 10, 20});
  Tensor roi = F32({4}, {0, 0.5f, 1, 1.5f});
  Tensor sizes = I64({2}, {1, 3});
  // x_original = 0.5 * 2 + o * (1 * 2) / 2 = 1, 2, 3 -> the last lies outside [0, 2].
  auto got = RunF32(n, {&x, &roi, nullptr, &sizes});
  ExpectNear(got, {10, 20, -1});
}

TEST(ResizeKernelTest, AntialiasWidensTheFilterWhenShrinking) {
  // Opset 18, linear, scale 0.5 with antialias: the triangle filter spans 4 inputs.
  Node n = ResizeNode(18, 3);
  n.attrs["mode"] = Attribute::String("linear");
  n.attrs["antialias"] = Attribute::Int(1);
  n.attrs["axes"] = Attribute::Ints({1});
  Tensor x = F32({1, 8}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor scales = F32({1}, {0.5f});
  auto got = RunF32(n, {&x, nullptr, &scales});
  ASSERT_EQ(got.size(), 4u);
  for (int o = 0; o < 4; ++o) {
    const double xo = (o + 0.5) / 0.5 - 0.5;
    double num = 0, den = 0;
    for (int i = static_cast<int>(std::floor(xo)) - 1; i <= static_cast<int>(std::floor(xo)) + 2;
         ++i) {
      const double w = std::max(0.0, 1 - std::abs((i - xo) * 0.5));
      num += w * std::min(7, std::max(0, i));
      den += w;
    }
    EXPECT_NEAR(got[o], num / den, 1e-5) << o;
  }
  // Without antialias only the two nearest inputs count.
  n.attrs["antialias"] = Attribute::Int(0);
  ExpectNear(RunF32(n, {&x, nullptr, &scales}), {0.5f, 2.5f, 4.5f, 6.5f});
}

// Worked examples from the ONNX Resize documentation (opset 18), 4x4 input 1..16.
TEST(ResizeKernelTest, Opset18DocumentationExamples) {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i + 1);
  Tensor x = F32({1, 1, 4, 4}, v);
  Tensor scales = F32({4}, {1, 1, 0.6f, 0.6f});
  Tensor sizes = I64({4}, {1, 1, 3, 3});
  Node n = ResizeNode(18, 4);
  n.attrs["antialias"] = Attribute::Int(1);
  n.attrs["mode"] = Attribute::String("linear");
  ExpectNear(RunF32(n, {&x, nullptr, &scales}), {2.875f, 4.5f, 9.375f, 11.0f});
  ExpectNear(RunF32(n, {&x, nullptr, nullptr, &sizes}),
             {2.3636363f, 3.590909f, 4.818182f, 7.2727275f, 8.5f, 9.727273f, 12.181818f, 13.409091f,
              14.636364f});
  n.attrs["mode"] = Attribute::String("cubic");
  ExpectNear(RunF32(n, {&x, nullptr, &scales}), {2.5180721f, 4.2858863f, 9.589329f, 11.357142f});

  Node crop = ResizeNode(18, 4);
  crop.attrs["axes"] = Attribute::Ints({2, 3});
  crop.attrs["mode"] = Attribute::String("linear");
  crop.attrs["coordinate_transformation_mode"] = Attribute::String("tf_crop_and_resize");
  Tensor roi = F32({4}, {0.4f, 0.6f, 0.6f, 0.8f});
  Tensor hw = I64({2}, {3, 3});
  ExpectNear(RunF32(crop, {&x, &roi, nullptr, &hw}),
             {7.6f, 7.9f, 8.2f, 8.8f, 9.1f, 9.4f, 10.0f, 10.3f, 10.6f});

  // axes in reverse order pair scales with the listed axes.
  Node rev = ResizeNode(18, 3);
  rev.attrs["axes"] = Attribute::Ints({3, 2});
  Tensor sc = F32({2}, {3, 2});
  std::vector<int64_t> dims;
  RunF32(rev, {&Square2x2(), nullptr, &sc}, &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{1, 1, 4, 6}));
}

TEST(ResizeKernelTest, UpsampleAndOldResizeUseAsymmetricFloor) {
  Node up7;
  up7.name = "u0";
  up7.op_type = "Upsample";
  up7.opset = 7;
  up7.inputs = {0};
  up7.outputs = {1};
  up7.attrs["scales"] = Attribute::Floats({1, 1, 2, 3});
  std::vector<int64_t> dims;
  auto got = RunF32(up7, {&Square2x2()}, &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{1, 1, 4, 6}));
  ExpectNear(got, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});

  Node r10 = ResizeNode(10, 2);
  r10.attrs["mode"] = Attribute::String("linear");
  Tensor scales = F32({4}, {1, 1, 1, 2});
  ExpectNear(RunF32(r10, {&Square2x2(), &scales}), {1, 1.5f, 2, 2, 3, 3.5f, 4, 4});
}

TEST(ResizeKernelTest, IntegerAndHalfInputs) {
  Node n = ResizeNode(13, 3);
  n.attrs["mode"] = Attribute::String("linear");
  Tensor x = Tensor::FromVector(DType::kU8, {1, 2}, std::vector<uint8_t>{0, 255});
  Tensor scales = F32({2}, {1, 2});
  auto r = EvaluateNode(n, std::vector<const Tensor*>{&x, nullptr, &scales});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const uint8_t* u = (*r)[0].data<uint8_t>();
  // 0, 63.75, 191.25, 255 rounded to nearest.
  EXPECT_EQ(std::vector<uint8_t>(u, u + 4), (std::vector<uint8_t>{0, 64, 191, 255}));

  Node nn = ResizeNode(13, 3);
  Tensor h = Tensor::FromVector(DType::kF16, {1, 2},
                                std::vector<uint16_t>{FloatToHalf(1.5f), FloatToHalf(-2)});
  r = EvaluateNode(nn, std::vector<const Tensor*>{&h, nullptr, &scales});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const uint16_t* p = (*r)[0].data<uint16_t>();
  EXPECT_EQ(HalfToFloat(p[0]), 1.5f);
  EXPECT_EQ(HalfToFloat(p[3]), -2.0f);
}

}  // namespace
}  // namespace edgerun
