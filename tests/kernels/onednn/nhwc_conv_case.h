// NHWC Conv cases for the tests of the kernels on the oneDNN path (oneDNN's conv, edgerun's
// Winograd conv): a case's fields, its output dims, its node in kNhwcDomain and random inputs
// (bias, and the residual Z when the case has one).
//   const ConvCase c{.x = {1, 9, 9, 16}, .m = 32, .kernel = {3, 3}, .pads = {1, 1, 1, 1}};
//   ConvInputs in = MakeConvInputs(c, /*seed=*/3);
//   ExpectMatchesReference(ConvNode(c), in.list, 1e-4, 1e-4);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onednn_test_util.h"
#include "util/random_tensor.h"

namespace edgerun::nhwc_conv_test {

struct ConvCase {
  std::vector<int64_t> x;  // N, H, W, C
  int64_t m;               // output channels
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
  bool bias = true;
  bool residual = false;
  std::string activation;
  std::vector<float> activation_params;
  std::vector<float> affine;  // "activation_affine" when not empty
};

inline std::vector<int64_t> ConvOutputDims(const ConvCase& c) {
  std::vector<int64_t> out = {c.x[0], 0, 0, c.m};
  for (int i = 0; i < 2; ++i) {
    const int64_t s = c.strides.empty() ? 1 : c.strides[i];
    const int64_t d = c.dilations.empty() ? 1 : c.dilations[i];
    const int64_t span = (c.kernel[i] - 1) * d + 1;
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
      out[1 + i] = (c.x[1 + i] + s - 1) / s;
    } else {
      const int64_t pads = c.pads.empty() || c.auto_pad == "VALID" ? 0 : c.pads[i] + c.pads[2 + i];
      out[1 + i] = (c.x[1 + i] + pads - span) / s + 1;
    }
  }
  return out;
}

inline Node ConvNode(const ConvCase& c) {
  Node n = onednn_test::OnednnTestNode("Conv", kNhwcDomain, c.residual ? 4 : (c.bias ? 3 : 2));
  if (c.residual && !c.bias) n.inputs[2] = Node::kNoValue;
  n.attrs["group"] = Attribute::Int(c.group);
  onednn_test::SetInts(n, "kernel_shape", c.kernel);
  if (!c.strides.empty()) onednn_test::SetInts(n, "strides", c.strides);
  if (!c.dilations.empty()) onednn_test::SetInts(n, "dilations", c.dilations);
  if (!c.pads.empty()) onednn_test::SetInts(n, "pads", c.pads);
  if (!c.auto_pad.empty()) n.attrs["auto_pad"] = Attribute::String(c.auto_pad);
  if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
  if (!c.activation_params.empty()) {
    n.attrs["activation_params"] = Attribute::Floats(c.activation_params);
  }
  if (!c.affine.empty()) n.attrs["activation_affine"] = Attribute::Floats(c.affine);
  return n;
}

struct ConvInputs {
  Tensor x, w, b, z;
  std::vector<const Tensor*> list;
};

inline ConvInputs MakeConvInputs(const ConvCase& c, uint32_t seed) {
  ConvInputs in;
  in.x = testing::RandomTensor(DType::kF32, c.x, seed, -2.0, 2.0);
  in.w = testing::RandomTensor(DType::kF32, {c.m, c.x[3] / c.group, c.kernel[0], c.kernel[1]},
                               seed + 1);
  in.b = testing::RandomTensor(DType::kF32, {c.m}, seed + 2);
  in.z = testing::RandomTensor(DType::kF32, ConvOutputDims(c), seed + 3, -2.0, 2.0);
  in.list = {&in.x, &in.w};
  if (c.bias || c.residual) in.list.push_back(c.bias ? &in.b : nullptr);
  if (c.residual) in.list.push_back(&in.z);
  return in;
}

}  // namespace edgerun::nhwc_conv_test
