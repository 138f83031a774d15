// XNNPACK NHWC pooling (kernels/xnnpack/xnnpack_pool.cc) against the reference NCHW pools on
// transposed data: kernel sizes, strides, pads, auto_pad, ceil_mode, count_include_pad, dilations,
// the global pools, at 1 and 2 threads; and the windows XNNPACK would get wrong, left to others.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_test_util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using testing::RandomTensor;
using xnnpack_test::ExpectClose;
using xnnpack_test::MakeNode;
using xnnpack_test::Pools;
using xnnpack_test::PoolName;
using xnnpack_test::ToNchw;
using xnnpack_test::ToNhwc;
using xnnpack_test::XnnpackClaims;

struct PoolCase {
  std::string op;
  std::vector<int64_t> x;  // N, C, H, W
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides, pads, dilations;
  std::string auto_pad;
  int64_t ceil_mode = 0;
  int64_t count_include_pad = 0;
};

Node MakePool(const PoolCase& c, bool nhwc) {
  Node n = MakeNode(c.op, 1, 19, nhwc ? std::string(kNhwcDomain) : "");
  if (!c.kernel.empty()) n.attrs["kernel_shape"] = Attribute::Ints(c.kernel);
  if (!c.strides.empty()) n.attrs["strides"] = Attribute::Ints(c.strides);
  if (!c.pads.empty()) n.attrs["pads"] = Attribute::Ints(c.pads);
  if (!c.dilations.empty()) n.attrs["dilations"] = Attribute::Ints(c.dilations);
  if (!c.auto_pad.empty()) n.attrs["auto_pad"] = Attribute::String(c.auto_pad);
  if (c.ceil_mode != 0) n.attrs["ceil_mode"] = Attribute::Int(c.ceil_mode);
  if (c.count_include_pad != 0) n.attrs["count_include_pad"] = Attribute::Int(1);
  return n;
}

std::string Describe(const PoolCase& c) {
  return c.op + " x=" + DimsToString(c.x) + " k=" + DimsToString(c.kernel) +
         " s=" + DimsToString(c.strides) + " pads=" + DimsToString(c.pads) +
         " d=" + DimsToString(c.dilations) + " " + c.auto_pad +
         " ceil=" + std::to_string(c.ceil_mode) + " incl=" + std::to_string(c.count_include_pad);
}

void CheckPool(const PoolCase& c, uint32_t seed) {
  SCOPED_TRACE(Describe(c));
  Tensor x = RandomTensor(DType::kF32, c.x, seed, -3.0, 3.0);
  Expected<std::vector<Tensor>> want = EvaluateNode(MakePool(c, false), std::vector<const Tensor*>{&x});
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Tensor x_nhwc = ToNhwc(x);
  const Node node = MakePool(c, true);
  ASSERT_TRUE(XnnpackClaims(node, {&x_nhwc}));
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got = EvaluateNode(node, std::vector<const Tensor*>{&x_nhwc}, KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectClose(ToNchw((*got)[0]), (*want)[0]);
  }
}

bool Claims(const PoolCase& c) {
  Tensor x = ToNhwc(RandomTensor(DType::kF32, c.x, 1));
  return XnnpackClaims(MakePool(c, true), {&x});
}

TEST(XnnpackPool, MaxPoolMatchesReference) {
  const PoolCase cases[] = {
      {"MaxPool", {1, 16, 12, 12}, {2, 2}, {2, 2}},
      {"MaxPool", {2, 8, 13, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}},           // resnet-style
      {"MaxPool", {1, 5, 9, 10}, {3, 3}, {1, 1}, {1, 1, 1, 1}},
      {"MaxPool", {1, 7, 14, 13}, {3, 3}, {2, 2}, {}, {}, "", 1},          // ceil_mode
      {"MaxPool", {1, 7, 15, 15}, {3, 3}, {2, 2}, {1, 0, 0, 1}, {}, "", 1},
      {"MaxPool", {1, 4, 10, 9}, {2, 3}, {1, 2}, {0, 1, 1, 1}},
      {"MaxPool", {1, 3, 11, 12}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER"},
      {"MaxPool", {1, 3, 11, 12}, {2, 2}, {2, 2}, {}, {}, "SAME_LOWER"},
      {"MaxPool", {1, 6, 12, 12}, {2, 2}, {1, 1}, {}, {2, 2}},              // dilated, no pad
      {"MaxPool", {1, 6, 13, 12}, {5, 5}, {1, 1}, {2, 2, 2, 2}},           // multipass
  };
  uint32_t seed = 10;
  for (const PoolCase& c : cases) CheckPool(c, seed += 3);
}

TEST(XnnpackPool, AveragePoolMatchesReference) {
  const PoolCase cases[] = {
      {"AveragePool", {1, 16, 12, 12}, {2, 2}, {2, 2}},
      {"AveragePool", {1, 5, 9, 10}, {3, 3}, {1, 1}, {1, 1, 1, 1}},         // pads excluded
      {"AveragePool", {2, 7, 11, 13}, {3, 3}, {2, 2}, {1, 0, 1, 2}},
      {"AveragePool", {1, 7, 14, 13}, {3, 3}, {2, 2}, {}, {}, "", 1},       // ceil_mode
      {"AveragePool", {1, 7, 14, 13}, {3, 3}, {2, 2}, {}, {}, "", 1, 1},    // ceil + include_pad
      {"AveragePool", {1, 4, 9, 9}, {3, 3}, {3, 3}, {}, {}, "", 0, 1},      // include_pad, no pad
      {"AveragePool", {1, 3, 11, 12}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER"},
      {"AveragePool", {1, 6, 7, 7}, {7, 7}},                                // global-like
      {"AveragePool", {1, 8, 10, 10}, {5, 5}, {1, 1}, {2, 2, 2, 2}},        // multipass
  };
  uint32_t seed = 50;
  for (const PoolCase& c : cases) CheckPool(c, seed += 3);
}

TEST(XnnpackPool, GlobalPoolsMatchReference) {
  for (const std::string op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    for (const std::vector<int64_t>& x : std::vector<std::vector<int64_t>>{
             {1, 32, 7, 7}, {2, 5, 3, 4}, {1, 1280, 7, 7}, {1, 3, 1, 2}}) {
      CheckPool({op, x}, 90);
    }
  }
  // A single pixel: GlobalAveragePool still runs; GlobalMaxPool (a copy) is left to others.
  CheckPool({"GlobalAveragePool", {1, 8, 1, 1}}, 95);
  EXPECT_FALSE(Claims({"GlobalMaxPool", {1, 8, 1, 1}}));
}

TEST(XnnpackPool, LeavesInexactWindowsToOtherPaths) {
  // Max pooling clamps padded taps to the edge: wrong with dilation.
  EXPECT_FALSE(Claims({"MaxPool", {1, 4, 9, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {2, 2}}));
  // count_include_pad with real padding.
  EXPECT_FALSE(Claims({"AveragePool", {1, 4, 9, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {}, "", 0, 1}));
  EXPECT_FALSE(Claims({"AveragePool", {1, 4, 9, 9}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER", 0, 1}));
  // Dilated average pooling (opset 19) has no XNNPACK kernel.
  EXPECT_FALSE(Claims({"AveragePool", {1, 4, 9, 9}, {2, 2}, {1, 1}, {}, {2, 2}}));
  // 1x1 windows and strides beyond the window.
  EXPECT_FALSE(Claims({"MaxPool", {1, 4, 9, 9}, {1, 1}, {2, 2}}));
  EXPECT_FALSE(Claims({"MaxPool", {1, 4, 9, 9}, {2, 2}, {3, 3}}));
  // The ONNX (NCHW) pools and a second output (Indices) are not XNNPACK's.
  Tensor x = RandomTensor(DType::kF32, {1, 4, 8, 8}, 3);
  Node nchw = MakeNode("MaxPool", 1, 12);
  nchw.attrs["kernel_shape"] = Attribute::Ints({2, 2});
  EXPECT_FALSE(XnnpackClaims(nchw, {&x}));
  Node nhwc = nchw;
  nhwc.domain = std::string(kNhwcDomain);
  EXPECT_TRUE(XnnpackClaims(nhwc, {&x}));
}

}  // namespace
}  // namespace edgerun
