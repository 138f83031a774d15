// Helpers for the tests of the AVX-512 VNNI int8 conv kernels (qdepthwise_vnni, qpointwise_vnni):
// an NHWC QLinearConv node with random data from a short case description, whether one kernel
// claims it, and the kernel's output against the reference, bit for bit.
//   QConvCase c{{1, 9, 11, 64}};          // a 3x3 depthwise conv
//   QConvNode d;
//   MakeQConvNode(c, seed, &d);
//   ExpectBitExact(table, d, "qdepthwise:avx512_vnni");
//   ExpectCasesBitExact(table, cases, "qdepthwise:avx512_vnni", seed);
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

namespace edgerun::qconv_test {

struct QConvCase {
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
  int64_t group = 0;         // 0: depthwise, one group per input channel
  int64_t out_channels = 0;  // 0: the input channels
  // QLinearConvAdd: y_type and y_zp are the conv output's (a), the add's output has its own;
  // the conv output's scale is multiplied by a_scale_factor (below 1: it saturates before the
  // add).
  bool residual = false;
  DType z_type = DType::kU8, out_type = DType::kU8;
  int32_t z_zp = 0, out_zp = 0;
  float a_scale_factor = 1.0f;
};

// The case as QLinearConvAdd: the residual and the add's output in the given types.
inline QConvCase WithResidual(QConvCase c, DType z_type, int32_t z_zp, DType out_type,
                              int32_t out_zp, float a_scale_factor = 1.0f) {
  c.residual = true;
  c.z_type = z_type;
  c.z_zp = z_zp;
  c.out_type = out_type;
  c.out_zp = out_zp;
  c.a_scale_factor = a_scale_factor;
  return c;
}

// A 1x1 conv case: x (NHWC) to `out_channels`, no padding.
inline QConvCase Pointwise(std::vector<int64_t> x, int64_t out_channels, DType x_type = DType::kU8,
                           DType y_type = DType::kU8, int32_t x_zp = 0, int32_t y_zp = 0) {
  QConvCase c;
  c.x = std::move(x);
  c.kernel = {1, 1};
  c.strides = {1, 1};
  c.pads = {0, 0, 0, 0};
  c.dilations = {1, 1};
  c.x_type = x_type;
  c.y_type = y_type;
  c.x_zp = x_zp;
  c.y_zp = y_zp;
  c.group = 1;
  c.out_channels = out_channels;
  return c;
}

// The case with a fused activation.
inline QConvCase With(QConvCase c, std::string activation, std::vector<float> params = {}) {
  c.activation = std::move(activation);
  c.activation_params = std::move(params);
  return c;
}

inline std::string Describe(const QConvCase& c) {
  return std::string(c.residual ? "residual " + std::string(DTypeName(c.z_type)) + "->" +
                                      std::string(DTypeName(c.out_type)) + " "
                                : "") +
         "x " + DimsToString(c.x) + " group " + std::to_string(c.group) + " out " +
         std::to_string(c.out_channels) + " kernel " + DimsToString(c.kernel) + " strides " +
         DimsToString(c.strides) + " pads " + DimsToString(c.pads) + " dilations " +
         DimsToString(c.dilations) + " " + std::string(DTypeName(c.x_type)) + "->" +
         std::string(DTypeName(c.y_type)) + " " + c.activation;
}

struct QConvNode {
  Node node;
  Tensor x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, b;
  Tensor z, z_scale, z_zp, out_scale, out_zp;  // QLinearConvAdd's
  std::vector<const Tensor*> inputs;
};

inline Tensor Scalar(DType t, double v) { return testing::TensorFromDoubles(t, {1}, {v}); }

inline void MakeQConvNode(const QConvCase& c, uint32_t seed, QConvNode* d) {
  const int64_t ch = c.x[3];
  const int64_t group = c.group > 0 ? c.group : ch;
  const int64_t m = c.out_channels > 0 ? c.out_channels : ch;
  d->node = c.residual
                ? onednn_test::OnednnTestNode("QLinearConvAdd", kNhwcDomain, 14, 10)
                : onednn_test::OnednnTestNode("QLinearConv", kNhwcDomain, c.bias ? 9 : 8, 10);
  Node& n = d->node;
  n.attrs["group"] = Attribute::Int(group);
  onednn_test::SetInts(n, "kernel_shape", c.kernel);
  onednn_test::SetInts(n, "strides", c.strides);
  onednn_test::SetInts(n, "pads", c.pads);
  onednn_test::SetInts(n, "dilations", c.dilations);
  if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
  if (!c.activation_params.empty()) {
    n.attrs["activation_params"] = Attribute::Floats(c.activation_params);
  }
  const bool u8 = c.x_type == DType::kU8;
  using testing::RandomTensor;
  d->x = RandomTensor(c.x_type, c.x, seed, u8 ? 0 : -128, u8 ? 255 : 127);
  d->w = RandomTensor(DType::kI8, {m, ch / group, c.kernel[0], c.kernel[1]}, seed + 1, -128, 127);
  const float xs = 0.02f;
  d->w_scale = RandomTensor(DType::kF32, {c.per_channel ? m : 1}, seed + 2, 0.002, 0.01);
  // Outputs spread over the int8 range (as in onednn_qconv_test.cc): the sum of k products.
  const double k = static_cast<double>(ch / group * c.kernel[0] * c.kernel[1]);
  const float ys =
      static_cast<float>(std::sqrt(k) * 70.0 * 70.0 * xs * 0.006 / 50.0) * c.a_scale_factor;
  d->b = RandomTensor(DType::kI32, {m}, seed + 3, -3000, 3000);
  d->x_scale = Scalar(DType::kF32, xs);
  d->y_scale = Scalar(DType::kF32, ys);
  d->x_zp = Scalar(c.x_type, c.x_zp);
  d->y_zp = Scalar(c.y_type, c.y_zp);
  d->w_zp = Scalar(DType::kI8, c.w_zp);
  d->inputs = {&d->x, &d->x_scale, &d->x_zp, &d->w, &d->w_scale, &d->w_zp, &d->y_scale, &d->y_zp};
  if (c.bias || c.residual) d->inputs.push_back(c.bias ? &d->b : nullptr);
  if (!c.residual) return;
  // The residual has the conv output's shape.
  std::vector<TensorType> types;
  for (const Tensor* t : d->inputs)
    types.push_back(t ? TensorType{t->dtype(), t->dims()} : TensorType{});
  Node conv = onednn_test::OnednnTestNode("QLinearConv", kNhwcDomain, 9, 10);
  conv.attrs = n.attrs;
  Expected<std::vector<TensorType>> a = InferNode(conv, types, d->inputs);
  ASSERT_TRUE(a.ok()) << a.status().message();
  const bool z_u8 = c.z_type == DType::kU8;
  d->z = RandomTensor(c.z_type, (*a)[0].dims, seed + 4, z_u8 ? 0 : -128, z_u8 ? 255 : 127);
  d->z_scale = Scalar(DType::kF32, ys * 0.8f);
  d->z_zp = Scalar(c.z_type, c.z_zp);
  d->out_scale = Scalar(DType::kF32, ys * 1.3f);
  d->out_zp = Scalar(c.out_type, c.out_zp);
  for (const Tensor* t : {&d->z, &d->z_scale, &d->z_zp, &d->out_scale, &d->out_zp}) {
    d->inputs.push_back(t);
  }
}

// Whether the first kernel of `table` claims the node (on the oneDNN path).
inline bool Claims(std::span<const KernelDef> table, const QConvNode& d) {
  std::vector<TensorType> types;
  for (const Tensor* t : d.inputs) {
    types.push_back(t != nullptr ? TensorType{t->dtype(), t->dims()} : TensorType{});
  }
  Expected<std::vector<TensorType>> out = InferNode(d.node, types, d.inputs);
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return false;
  const KernelPath paths[] = {KernelPath::kOnednn};
  SupportContext sctx{d.node, types, d.inputs, *out, 1, true};
  return KernelCandidates(sctx, paths, table).Next() != nullptr;
}

// The reference's output, which must not be one value throughout (degenerate test data) unless
// `constant` is set; then every output must be that value.
inline Tensor Reference(const QConvNode& d, const double* constant = nullptr) {
  Expected<std::vector<Tensor>> ref = EvaluateNode(d.node, d.inputs, KernelPath::kReference);
  EXPECT_TRUE(ref.ok()) << ref.status().message();
  if (!ref.ok()) return Tensor();
  const std::vector<double> want = test_util::ToDoubles((*ref)[0].view());
  int64_t distinct = 0;
  for (double v : want) distinct += v != want[0];
  if (constant != nullptr) {
    EXPECT_EQ(want[0], *constant);
    EXPECT_EQ(distinct, 0);
  } else {
    EXPECT_GT(distinct, 0) << "degenerate test data";
  }
  return std::move((*ref)[0]);
}

// Runs the node on `table` with 1 and 2 threads: implementation `impl`, the reference's bytes.
inline void ExpectBitExact(std::span<const KernelDef> table, const QConvNode& d,
                           const std::string& impl, const double* constant = nullptr) {
  ASSERT_TRUE(Claims(table, d));
  const Tensor want = Reference(d, constant);
  for (int threads : {1, 2}) {
    std::string got_impl;
    const Tensor got = onednn_test::RunOnKernelTable(table, d.node, d.inputs, threads, &got_impl);
    EXPECT_EQ(got_impl, impl);
    const test_util::CompareResult r = test_util::AllClose(got.view(), want.view(), 0, 0);
    EXPECT_TRUE(r.ok) << threads << " threads: " << r.message;
  }
}

// Every case, with seeds from `seed`, through ExpectBitExact; the case at `constant_case` must
// give 127 throughout.
inline void ExpectCasesBitExact(std::span<const KernelDef> table,
                                const std::vector<QConvCase>& cases, const std::string& impl,
                                uint32_t seed, size_t constant_case = SIZE_MAX) {
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(Describe(cases[i]));
    QConvNode d;
    MakeQConvNode(cases[i], seed += 7, &d);
    const double every_output = 127;
    ExpectBitExact(table, d, impl, i == constant_case ? &every_output : nullptr);
  }
}

// The kernel claims none of `refused`, and claims `claimed` exactly on CPUs with AVX-512 VNNI.
inline void ExpectRefused(std::span<const KernelDef> table, const std::vector<QConvCase>& refused,
                          const QConvCase& claimed, uint32_t seed) {
  for (const QConvCase& c : refused) {
    SCOPED_TRACE(Describe(c));
    QConvNode d;
    MakeQConvNode(c, seed += 7, &d);
    EXPECT_FALSE(Claims(table, d));
  }
  QConvNode d;
  MakeQConvNode(claimed, seed, &d);
  EXPECT_EQ(Claims(table, d), CpuHasAvx512Vnni());
}

}  // namespace edgerun::qconv_test
