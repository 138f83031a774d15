// com.edgerun.nhwc ExpandDepthwiseConv: the reference kernel (kernels/ref/expand_depthwise.cc)
// against the two NHWC Conv nodes it replaces, and oneDNN's banded kernel
// (kernels/onednn/onednn_expand_dw.cc) against the reference, on 1 and 2 threads: odd sizes,
// channel counts that leave a partial vector, 3x3 and 5x5 windows, strides 1 and 2, asymmetric
// pads, batch 2, every activation the fusion takes, and images tall enough for several bands per
// thread (the rows a band keeps from the one before, and expansions of three different heights).
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "onednn_test_util.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

using onednn_test::OnednnTestNode;
using onednn_test::SetInts;
using testing::RandomTensor;

struct Activation {
  std::string name;  // "" for none
  std::vector<float> params;
};

struct Case {
  std::vector<int64_t> x;  // N, H, W, C
  int64_t channels;        // of the expansion
  int64_t kernel, stride;
  std::vector<int64_t> pads;  // top, left, bottom, right
  Activation expand_act, act;
  bool expand_bias = true, bias = true;
};

void SetActivation(Node& n, const std::string& prefix, const Activation& a) {
  if (a.name.empty()) return;
  n.attrs[prefix + "activation"] = Attribute::String(a.name);
  if (!a.params.empty()) n.attrs[prefix + "activation_params"] = Attribute::Floats(a.params);
}

void SetDepthwiseAttrs(Node& n, const Case& c) {
  n.attrs["group"] = Attribute::Int(c.channels);
  SetInts(n, "kernel_shape", {c.kernel, c.kernel});
  SetInts(n, "strides", {c.stride, c.stride});
  SetInts(n, "pads", c.pads);
  SetActivation(n, "", c.act);
}

struct Inputs {
  Tensor x, w1, b1, w2, b2;
};

Inputs MakeInputs(const Case& c, uint32_t seed) {
  Inputs in;
  in.x = RandomTensor(DType::kF32, c.x, seed, -2.0, 2.0);
  in.w1 = RandomTensor(DType::kF32, {c.channels, c.x[3], 1, 1}, seed + 1);
  in.b1 = RandomTensor(DType::kF32, {c.channels}, seed + 2);
  in.w2 = RandomTensor(DType::kF32, {c.channels, 1, c.kernel, c.kernel}, seed + 3);
  in.b2 = RandomTensor(DType::kF32, {c.channels}, seed + 4);
  return in;
}

Node FusedNode(const Case& c) {
  Node n = OnednnTestNode("ExpandDepthwiseConv", kNhwcDomain, 5);
  if (!c.expand_bias) n.inputs[2] = Node::kNoValue;
  if (!c.bias) n.inputs.pop_back();
  SetDepthwiseAttrs(n, c);
  SetActivation(n, "expand_", c.expand_act);
  return n;
}

std::vector<const Tensor*> FusedInputs(const Case& c, const Inputs& in) {
  std::vector<const Tensor*> list = {&in.x, &in.w1, c.expand_bias ? &in.b1 : nullptr, &in.w2};
  if (c.bias) list.push_back(&in.b2);
  return list;
}

// The two layers the fusion replaces, on the reference path.
Expected<Tensor> UnfusedReference(const Case& c, const Inputs& in) {
  Node expand = OnednnTestNode("Conv", kNhwcDomain, c.expand_bias ? 3 : 2);
  SetInts(expand, "kernel_shape", {1, 1});
  SetActivation(expand, "", c.expand_act);
  std::vector<const Tensor*> expand_inputs = {&in.x, &in.w1};
  if (c.expand_bias) expand_inputs.push_back(&in.b1);
  ASSIGN_OR_RETURN(std::vector<Tensor> mid, EvaluateNode(expand, expand_inputs));
  Node depthwise = OnednnTestNode("Conv", kNhwcDomain, c.bias ? 3 : 2);
  SetDepthwiseAttrs(depthwise, c);
  std::vector<const Tensor*> depthwise_inputs = {&mid[0], &in.w2};
  if (c.bias) depthwise_inputs.push_back(&in.b2);
  ASSIGN_OR_RETURN(std::vector<Tensor> out, EvaluateNode(depthwise, depthwise_inputs));
  return std::move(out[0]);
}

void ExpectClose(const Tensor& got, const Tensor& want, const std::string& what) {
  const test_util::CompareResult r = test_util::AllClose(got.view(), want.view(), 1e-4, 1e-4);
  EXPECT_TRUE(r.ok) << what << ": " << r.message;
}

void Check(const Case& c, uint32_t seed) {
  const Inputs in = MakeInputs(c, seed);
  const Node fused = FusedNode(c);
  const std::vector<const Tensor*> inputs = FusedInputs(c, in);
  Expected<Tensor> unfused = UnfusedReference(c, in);
  ASSERT_TRUE(unfused.ok()) << unfused.status().message();
  Expected<std::vector<Tensor>> ref = EvaluateNode(fused, inputs, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  ASSERT_EQ((*ref)[0].dims(), unfused->dims());
  ExpectClose((*ref)[0], *unfused, "reference kernel against the two Conv nodes");
  for (int threads : {1, 2}) {
    Expected<std::vector<Tensor>> fast =
        EvaluateNode(fused, inputs, KernelPath::kOnednn, nullptr, threads);
    ASSERT_TRUE(fast.ok()) << fast.status().message();
    ExpectClose((*fast)[0], (*ref)[0], "oneDNN on " + std::to_string(threads) + " threads");
  }
}

void CheckAll(std::span<const Case> cases, uint32_t seed) {
  for (const Case& c : cases) {
    SCOPED_TRACE("x " + DimsToString(c.x) + " channels " + std::to_string(c.channels) + " kernel " +
                 std::to_string(c.kernel) + " stride " + std::to_string(c.stride));
    Check(c, seed += 11);
  }
}

const Activation kNone{};
const Activation kRelu{"Relu", {}};
const Activation kRelu6{"Clip", {0.0f, 6.0f}};
const Activation kNarrowClip{"Clip", {-0.5f, 0.25f}};
const Activation kSiLU{"SiLU", {}};

TEST(OnednnExpandDepthwiseTest, SmallImages) {
  const Case cases[] = {
      {{1, 7, 9, 3}, 16, 3, 1, {1, 1, 1, 1}, kRelu6, kRelu6},
      {{1, 13, 17, 5}, 20, 3, 2, {1, 1, 1, 1}, kRelu, kNone},  // a partial vector of channels
      {{2, 9, 8, 4}, 24, 5, 2, {2, 2, 2, 2}, kSiLU, kSiLU, false, false},
      {{1, 11, 10, 8}, 32, 5, 1, {2, 1, 0, 2}, kNarrowClip, kSiLU},
      {{1, 3, 4, 6}, 8, 3, 1, {0, 0, 0, 0}, kNone, kRelu},  // one output row
      {{1, 6, 3, 2}, 17, 3, 2, {0, 1, 1, 0}, kRelu6, kNarrowClip},
      // Strides and sizes without unrolled code: the general loop.
      {{1, 13, 14, 4}, 16, 3, 3, {1, 1, 1, 1}, kRelu, kRelu6},
      {{1, 12, 11, 3}, 32, 5, 3, {2, 2, 2, 2}, kNone, kSiLU},
      {{1, 9, 10, 5}, 16, 1, 1, {0, 0, 0, 0}, kRelu6, kNone},
  };
  CheckAll(cases, 100);
}

TEST(OnednnExpandDepthwiseTest, SeveralBandsPerThread) {
  // Expanded rows of 15-25 KB: a band holds 20-27 of them, so each image takes 4-8 bands.
  const Case cases[] = {
      {{1, 100, 67, 8}, 72, 3, 1, {1, 1, 1, 1}, kRelu6, kRelu6},
      // The last band, one row, reads only rows the band before expanded.
      {{1, 101, 67, 8}, 72, 3, 1, {1, 1, 1, 1}, kRelu6, kRelu6},
      {{1, 121, 64, 16}, 96, 3, 2, {1, 1, 1, 1}, kRelu6, kRelu6},
      {{1, 95, 40, 8}, 128, 5, 2, {2, 2, 2, 2}, kSiLU, kSiLU},
      {{2, 90, 33, 5}, 112, 5, 1, {2, 2, 2, 2}, kSiLU, kNone},
  };
  CheckAll(cases, 300);
}

TEST(OnednnExpandDepthwiseTest, DilatedOrSamePaddedNodesAreRefusedNamingTheNode) {
  const Case c{{1, 9, 9, 4}, 16, 3, 1, {1, 1, 1, 1}, kRelu6, kRelu6};
  const Inputs in = MakeInputs(c, 7);
  Node dilated = FusedNode(c);
  SetInts(dilated, "dilations", {2, 2});
  Node same = FusedNode(c);
  same.attrs.erase("pads");
  same.attrs["auto_pad"] = Attribute::String("SAME_UPPER");
  for (const Node* n : {&dilated, &same}) {
    for (KernelPath path : {KernelPath::kReference, KernelPath::kOnednn}) {
      Expected<std::vector<Tensor>> out = EvaluateNode(*n, FusedInputs(c, in), path);
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.status().code(), StatusCode::kUnsupported) << out.status().message();
      EXPECT_NE(out.status().message().find("node 'n0'"), std::string::npos)
          << out.status().message();
    }
  }
}

TEST(OnednnExpandDepthwiseTest, MisshapenWeightsAreRejectedNamingTheNode) {
  const Node n = FusedNode({{1, 8, 8, 8}, 24, 3, 1, {1, 1, 1, 1}, kRelu6, kRelu6});
  const TensorType x{DType::kF32, {1, 8, 8, 8}};
  const TensorType wrong_expansion{DType::kF32, {24, 5, 1, 1}};
  const TensorType bias{DType::kF32, {24}};
  const TensorType depthwise{DType::kF32, {24, 1, 3, 3}};
  const TensorType types[] = {x, wrong_expansion, bias, depthwise, bias};
  const Tensor* const constants[5] = {};
  Expected<std::vector<TensorType>> out = InferNode(n, types, constants);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("node 'n0' (com.edgerun.nhwc::ExpandDepthwiseConv)"),
            std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find(
                "expansion weights (input 1) have shape 24x5x1x1, need 1x1 weights over x's 8"),
            std::string::npos)
      << out.status().message();
  const TensorType wrong_bias{DType::kF32, {23}};
  const TensorType types2[] = {x, TensorType{DType::kF32, {24, 8, 1, 1}}, wrong_bias, depthwise,
                               bias};
  out = InferNode(n, types2, constants);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("expansion bias (input 2) has shape 23, need 24"),
            std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace edgerun
