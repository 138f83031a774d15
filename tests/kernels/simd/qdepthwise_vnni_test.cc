// The AVX-512 VNNI int8 depthwise kernel (kernels/simd/qdepthwise_vnni.cc) against the reference
// QLinearConv, bit for bit: channel counts around its 64-channel blocks and the 16- and 32-byte
// slots of their tails (several pixels per block), windows of 1x1 to 7x7 (3x3 compiled in, 3-row
// windows at stride 1 in row pairs, 5x5 and 7x7 in two row groups), strides 1 to 3, dilation,
// asymmetric and no padding, maps narrower than a block's pixels, row pairs across images, u8 and
// s8 inputs and outputs, zero points, per-tensor and per-channel scales, no bias, Relu, Clip
// bounds inside and outside the output's range, batch 2; 1 and 2 threads. The nodes it leaves to
// the next kernel: weight zero points, a channel multiplier, windows over 8 a side, channel tails
// at strides over 1, fewer than 64 channels. On CPUs without VNNI it claims nothing.
#include "kernels/simd/qdepthwise_vnni.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

// Cases list their leading fields only.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using onednn_test::OnednnTestNode;
using onednn_test::SetInts;
using testing::RandomTensor;

struct DwCase {
  std::vector<int64_t> x;  // N, H, W, C
  std::vector<int64_t> kernel = {3, 3};
  std::vector<int64_t> strides = {1, 1};
  std::vector<int64_t> pads = {1, 1, 1, 1};
  std::vector<int64_t> dilations = {1, 1};
  DType x_type = DType::kU8, y_type = DType::kU8;
  int32_t x_zp = 0, y_zp = 0;
  bool per_channel = true;
  bool bias = true;
  std::string activation;
  std::vector<float> activation_params;
  int32_t w_zp = 0;
  int64_t multiplier = 1;  // output channels per input channel
};

Tensor Scalar(DType t, double v) { return testing::TensorFromDoubles(t, {1}, {v}); }

struct DwNode {
  Node node;
  Tensor x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, b;
  std::vector<const Tensor*> inputs;
};

void MakeDwNode(const DwCase& c, uint32_t seed, DwNode* d) {
  const int64_t ch = c.x[3];
  const int64_t m = ch * c.multiplier;
  d->node = OnednnTestNode("QLinearConv", kNhwcDomain, c.bias ? 9 : 8, 10);
  Node& n = d->node;
  n.attrs["group"] = Attribute::Int(ch);
  SetInts(n, "kernel_shape", c.kernel);
  SetInts(n, "strides", c.strides);
  SetInts(n, "pads", c.pads);
  SetInts(n, "dilations", c.dilations);
  if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
  if (!c.activation_params.empty()) {
    n.attrs["activation_params"] = Attribute::Floats(c.activation_params);
  }
  const bool u8 = c.x_type == DType::kU8;
  d->x = RandomTensor(c.x_type, c.x, seed, u8 ? 0 : -128, u8 ? 255 : 127);
  d->w = RandomTensor(DType::kI8, {m, 1, c.kernel[0], c.kernel[1]}, seed + 1, -128, 127);
  const float xs = 0.02f;
  d->w_scale = RandomTensor(DType::kF32, {c.per_channel ? m : 1}, seed + 2, 0.002, 0.01);
  // Outputs spread over the int8 range (as in onednn_qconv_test.cc).
  const double k = static_cast<double>(c.kernel[0] * c.kernel[1]);
  const float ys = static_cast<float>(std::sqrt(k) * 70.0 * 70.0 * xs * 0.006 / 50.0);
  d->b = RandomTensor(DType::kI32, {m}, seed + 3, -3000, 3000);
  d->x_scale = Scalar(DType::kF32, xs);
  d->y_scale = Scalar(DType::kF32, ys);
  d->x_zp = Scalar(c.x_type, c.x_zp);
  d->y_zp = Scalar(c.y_type, c.y_zp);
  d->w_zp = Scalar(DType::kI8, c.w_zp);
  d->inputs = {&d->x, &d->x_scale, &d->x_zp, &d->w, &d->w_scale, &d->w_zp, &d->y_scale, &d->y_zp};
  if (c.bias) d->inputs.push_back(&d->b);
}

std::span<const KernelDef> OnlyThisKernel() {
  static const KernelDef table[] = {FastQDepthwiseKernel(KernelPath::kOnednn)};
  return table;
}

// Whether the kernel claims the node (on a VNNI machine).
bool Claims(const DwNode& d) {
  std::vector<TensorType> types;
  for (const Tensor* t : d.inputs) types.push_back(TensorType{t->dtype(), t->dims()});
  Expected<std::vector<TensorType>> out = InferNode(d.node, types, d.inputs);
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return false;
  const KernelPath paths[] = {KernelPath::kOnednn};
  SupportContext sctx{d.node, types, d.inputs, *out, 1, true};
  return KernelCandidates(sctx, paths, OnlyThisKernel()).Next() != nullptr;
}

std::string Describe(const DwCase& c) {
  return "x " + DimsToString(c.x) + " kernel " + DimsToString(c.kernel) + " strides " +
         DimsToString(c.strides) + " pads " + DimsToString(c.pads) + " dilations " +
         DimsToString(c.dilations) + " " + std::string(DTypeName(c.x_type)) + "->" +
         std::string(DTypeName(c.y_type)) + " " + c.activation;
}

// The case with a fused activation.
DwCase With(DwCase c, std::string activation, std::vector<float> params = {}) {
  c.activation = std::move(activation);
  c.activation_params = std::move(params);
  return c;
}

TEST(QDepthwiseVnniTest, MatchesReferenceBitForBit) {
  if (!CpuHasAvx512Vnni())
    GTEST_SKIP() << "this CPU has no AVX-512 VNNI; the kernel claims nothing";
  using D = DType;
  std::vector<DwCase> cases;
  // Tails of 1, 8 and 16 channels take 16-byte slots (4 pixels a block), 17-32 32-byte slots,
  // 33-63 one masked pixel.
  for (int64_t ch : {64, 65, 72, 80, 81, 96, 97, 127, 128, 144, 200}) {
    cases.push_back({{1, 9, 11, ch}});
  }
  cases.push_back(
      {{2, 12, 13, 128}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kI8, 131, -7});
  cases.push_back(
      {{2, 12, 13, 104}, {3, 3}, {2, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kI8, 131, -7});
  cases.push_back({{1, 14, 15, 72}, {5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, D::kI8, D::kU8, -3, 17});
  cases.push_back({{1, 14, 15, 64}, {5, 5}, {2, 2}, {1, 2, 2, 1}, {1, 1}, D::kI8, D::kI8, 9, 3});
  cases.push_back({{1, 16, 16, 88}, {7, 7}, {1, 1}, {3, 3, 3, 3}});
  cases.push_back({{1, 10, 10, 112}, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, D::kU8, D::kU8, 4, 9});
  cases.push_back({{1, 11, 12, 64}, {3, 5}, {3, 2}, {0, 1, 2, 2}, {1, 1}, D::kU8, D::kU8, 77, 3});
  cases.push_back({{1, 11, 12, 70}, {3, 5}, {3, 1}, {0, 1, 2, 2}, {1, 1}, D::kU8, D::kU8, 77, 3});
  cases.push_back({{1, 13, 13, 100}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, D::kU8, D::kU8, 12, 0});
  cases.push_back({{1, 13, 14, 80}, {3, 3}, {1, 1}, {2, 1, 2, 3}, {2, 2}, D::kU8, D::kU8, 12, 0});
  // Row pairs across two images whose odd row count leaves the last row of each unpaired.
  cases.push_back({{2, 7, 9, 64}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 30, 2});
  cases.push_back({{2, 7, 9, 144}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kI8, D::kU8, 3, 2});
  cases.push_back({{1, 3, 2, 81}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 200, 0});
  DwCase no_bias{{1, 8, 9, 84}, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, D::kU8, D::kU8, 5, 0};
  no_bias.per_channel = false;
  no_bias.bias = false;
  cases.push_back(no_bias);
  const DwCase u8{{1, 9, 9, 64}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 120, 5};
  const DwCase to_s8{{1, 9, 9, 80}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kI8, 120, -7};
  cases.push_back(With(u8, "Relu"));
  cases.push_back(With(to_s8, "Clip", {-0.5f, 1.0f}));
  // Clip bounds beyond what the output type holds, and a Clip entirely above it.
  cases.push_back(With(u8, "Clip", {-100.0f, 100.0f}));
  cases.push_back(With(to_s8, "Clip", {1e6f, 2e6f}));
  const size_t constant_case = cases.size() - 1;  // every output 127
  // MobileNetV2 sizes, large enough to meet rounding ties.
  const DwCase mobile{{1, 28, 28, 192}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 0, 0};
  cases.push_back(With(mobile, "Clip", {0.0f, 6.0f}));
  cases.push_back({{1, 56, 56, 144}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 3, 0});
  cases.push_back({{1, 28, 28, 192}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, D::kU8, D::kU8, 3, 0});
  uint32_t seed = 1000;
  for (size_t i = 0; i < cases.size(); ++i) {
    const DwCase& c = cases[i];
    SCOPED_TRACE(Describe(c));
    DwNode d;
    MakeDwNode(c, seed += 7, &d);
    ASSERT_TRUE(Claims(d));
    Expected<std::vector<Tensor>> ref = EvaluateNode(d.node, d.inputs, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    int64_t distinct = 0;
    const std::vector<double> want = test_util::ToDoubles((*ref)[0].view());
    for (double v : want) distinct += v != want[0];
    if (i == constant_case) {
      EXPECT_EQ(want[0], 127);
    } else {
      EXPECT_GT(distinct, 0) << "degenerate test data";
    }
    for (int threads : {1, 2}) {
      std::string impl;
      const Tensor got =
          onednn_test::RunOnKernelTable(OnlyThisKernel(), d.node, d.inputs, threads, &impl);
      EXPECT_EQ(impl, "qdepthwise:avx512_vnni");
      const test_util::CompareResult r = test_util::AllClose(got.view(), (*ref)[0].view(), 0, 0);
      EXPECT_TRUE(r.ok) << threads << " threads: " << r.message;
    }
  }
}

TEST(QDepthwiseVnniTest, LeavesOtherNodesToTheNextKernel) {
  const DwCase base{{1, 9, 9, 64}};
  DwCase weight_zero_point = base, two_per_channel = base;
  weight_zero_point.w_zp = 3;
  two_per_channel.multiplier = 2;
  const std::vector<DwCase> refused = {
      weight_zero_point,
      two_per_channel,
      {{1, 12, 12, 64}, {9, 9}, {1, 1}, {4, 4, 4, 4}},
      // Where oneDNN's kernel is as fast: a channel tail at stride 2, fewer than 64 channels.
      {{1, 12, 12, 96}, {3, 3}, {2, 2}},
      {{1, 12, 12, 32}},
      {{0, 12, 12, 64}}};  // an empty batch
  uint32_t seed = 5000;
  for (const DwCase& c : refused) {
    SCOPED_TRACE(Describe(c));
    DwNode d;
    MakeDwNode(c, seed += 7, &d);
    EXPECT_FALSE(Claims(d));
  }
  DwNode d;
  MakeDwNode({{1, 9, 9, 64}}, 1, &d);
  EXPECT_EQ(Claims(d), CpuHasAvx512Vnni());
}

}  // namespace
}  // namespace edgerun
