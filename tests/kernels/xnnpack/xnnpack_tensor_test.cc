// XNNPACK Concat, Pad and Resize (kernels/xnnpack/xnnpack_tensor.cc) against the reference: every
// Concat axis, constant padding from attributes and inputs, bilinear Resize on NHWC and NCHW data
// for each coordinate mode XNNPACK matches, from scales and from sizes, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_test_util.h"

namespace edgerun {
namespace {

using testing::RandomTensor;
using xnnpack_test::ExpectClose;
using xnnpack_test::MakeNode;
using xnnpack_test::Pools;
using xnnpack_test::PoolName;
using xnnpack_test::XnnpackClaims;

void CheckAgainstReference(const Node& node, const std::vector<const Tensor*>& ins,
                           double rtol = 1e-4) {
  Expected<std::vector<Tensor>> want = EvaluateNode(node, ins, KernelPath::kReference);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  ASSERT_TRUE(XnnpackClaims(node, ins));
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got = EvaluateNode(node, ins, KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectClose((*got)[0], (*want)[0], rtol);
  }
}

TEST(XnnpackConcat, EveryAxis) {
  Tensor a = RandomTensor(DType::kF32, {2, 3, 4, 5}, 1);
  for (int axis = -4; axis < 4; ++axis) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    const int ax = axis < 0 ? axis + 4 : axis;
    std::vector<int64_t> bd = a.dims(), cd = a.dims();
    bd[ax] = 1;
    cd[ax] = 3;
    Tensor b = RandomTensor(DType::kF32, bd, 2);
    Tensor c = RandomTensor(DType::kF32, cd, 3);
    Node node = MakeNode("Concat", 3, 13);
    node.attrs["axis"] = Attribute::Int(axis);
    CheckAgainstReference(node, {&a, &b, &c});
  }
  Tensor i1 = RandomTensor(DType::kI32, {3, 2}, 4, -9, 9);
  Tensor i2 = RandomTensor(DType::kI32, {3, 5}, 5, -9, 9);
  Node node = MakeNode("Concat", 2, 13);
  node.attrs["axis"] = Attribute::Int(1);
  CheckAgainstReference(node, {&i1, &i2});
  Tensor i64 = RandomTensor(DType::kI64, {3, 2}, 6, -9, 9);
  EXPECT_FALSE(XnnpackClaims(node, {&i64, &i64}));
}

TEST(XnnpackPad, ConstantPadding) {
  Tensor x = RandomTensor(DType::kF32, {1, 5, 6, 3}, 1);
  Tensor pads = Tensor::FromVector<int64_t>(DType::kI64, {8}, {0, 1, 2, 0, 0, 2, 1, 0});
  Tensor value = Tensor::FromVector<float>(DType::kF32, {}, {-1.5f});
  CheckAgainstReference(MakeNode("Pad", 3, 13), {&x, &pads, &value});
  CheckAgainstReference(MakeNode("Pad", 2, 13), {&x, &pads});
  Node old = MakeNode("Pad", 1, 2);
  old.attrs["pads"] = Attribute::Ints({1, 0, 0, 2, 0, 1, 3, 0});
  old.attrs["value"] = Attribute::Float(2.0f);
  CheckAgainstReference(old, {&x});
  Node reflect = MakeNode("Pad", 2, 13);
  reflect.attrs["mode"] = Attribute::String("reflect");
  EXPECT_FALSE(XnnpackClaims(reflect, {&x, &pads}));
  Tensor negative = Tensor::FromVector<int64_t>(DType::kI64, {8}, {0, -1, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(XnnpackClaims(MakeNode("Pad", 2, 13), {&x, &negative}));
}

struct ResizeCase {
  std::vector<int64_t> x;
  std::vector<float> scales;   // empty: sizes
  std::vector<int64_t> sizes;
  std::string ctm;
};

void CheckResize(const ResizeCase& c, uint32_t seed) {
  SCOPED_TRACE("x=" + DimsToString(c.x) + " " + c.ctm);
  Tensor x = RandomTensor(DType::kF32, c.x, seed, -2.0, 2.0);
  Tensor roi = Tensor::Create(DType::kF32, {0}).value();
  Tensor scales = c.scales.empty() ? Tensor::Create(DType::kF32, {0}).value()
                                   : Tensor::FromVector<float>(DType::kF32, {4}, c.scales);
  Tensor sizes = Tensor::FromVector<int64_t>(DType::kI64, {4}, c.sizes);
  Node node = MakeNode("Resize", c.scales.empty() ? 4 : 3, 13);
  node.attrs["mode"] = Attribute::String("linear");
  node.attrs["coordinate_transformation_mode"] = Attribute::String(c.ctm);
  std::vector<const Tensor*> ins = {&x, &roi, &scales};
  if (c.scales.empty()) ins.push_back(&sizes);
  // XNNPACK computes coordinates and weights in float.
  CheckAgainstReference(node, ins, 2e-4);
}

TEST(XnnpackResize, BilinearOnNhwcAndNchwData) {
  uint32_t seed = 30;
  for (const std::string ctm : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}) {
    CheckResize({{1, 5, 7, 8}, {1, 2, 2, 1}, {}, ctm}, seed++);        // NHWC 2x
    CheckResize({{2, 4, 6, 3}, {1, 0.5f, 0.5f, 1}, {}, ctm}, seed++);  // NHWC down
    CheckResize({{1, 3, 5, 7}, {}, {1, 3, 9, 13}, ctm}, seed++);      // NCHW from sizes
    CheckResize({{1, 6, 4, 4}, {}, {1, 6, 10, 4}, ctm}, seed++);      // NCHW one axis only
    CheckResize({{1, 9, 11, 4}, {}, {1, 20, 7, 4}, ctm}, seed++);     // NHWC mixed
  }
}

TEST(XnnpackResize, LeavesInexactResizesToOtherPaths) {
  Tensor x = RandomTensor(DType::kF32, {1, 5, 7, 8}, 1);
  Tensor roi = Tensor::Create(DType::kF32, {0}).value();
  Node node = MakeNode("Resize", 3, 13);
  node.attrs["mode"] = Attribute::String("linear");
  // 5 * 1.5 = 7.5 -> 7 rows: ONNX's 1 / 1.5 is not XNNPACK's 5 / 7.
  Tensor fractional = Tensor::FromVector<float>(DType::kF32, {4}, {1, 1.5f, 1.5f, 1});
  EXPECT_FALSE(XnnpackClaims(node, {&x, &roi, &fractional}));
  Tensor all_axes = Tensor::FromVector<float>(DType::kF32, {4}, {1, 2, 2, 2});
  EXPECT_FALSE(XnnpackClaims(node, {&x, &roi, &all_axes}));
  Tensor two = Tensor::FromVector<float>(DType::kF32, {4}, {1, 2, 2, 1});
  EXPECT_TRUE(XnnpackClaims(node, {&x, &roi, &two}));
  Node nearest = node;
  nearest.attrs["mode"] = Attribute::String("nearest");
  EXPECT_FALSE(XnnpackClaims(nearest, {&x, &roi, &two}));
  Node cubic = node;
  cubic.attrs["mode"] = Attribute::String("cubic");
  EXPECT_FALSE(XnnpackClaims(cubic, {&x, &roi, &two}));
  Node crop = node;
  crop.attrs["coordinate_transformation_mode"] = Attribute::String("tf_crop_and_resize");
  Tensor full_roi = Tensor::FromVector<float>(DType::kF32, {8}, {0, 0, 0, 0, 1, 1, 1, 1});
  EXPECT_FALSE(XnnpackClaims(crop, {&x, &full_roi, &two}));
}

}  // namespace
}  // namespace edgerun
