// oneDNN NHWC pooling (kernels/onednn/onednn_pool.cc) against the reference NHWC kernels: odd
// sizes, strides, dilations, asymmetric and automatic pads, ceil_mode, count_include_pad, int8
// max pooling, the global pools, 1 and 2 OpenMP threads; and the cases it must decline.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "onednn_test_util.h"
#include "util/random_tensor.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using onednn_test::ExpectMatchesReference;
using onednn_test::OnednnTestNode;
using onednn_test::SetInts;
using testing::RandomTensor;

struct PoolCase {
  std::string op;
  std::vector<int64_t> x;  // N, H, W, C
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
  int64_t ceil_mode = 0;
  int64_t count_include_pad = 0;
  DType dtype = DType::kF32;
};

Node PoolNode(const PoolCase& c) {
  Node n = OnednnTestNode(c.op, kNhwcDomain, 1, c.dilations.empty() ? 11 : 12);
  if (!c.kernel.empty()) SetInts(n, "kernel_shape", c.kernel);
  if (!c.strides.empty()) SetInts(n, "strides", c.strides);
  if (!c.dilations.empty()) SetInts(n, "dilations", c.dilations);
  if (!c.pads.empty()) SetInts(n, "pads", c.pads);
  if (!c.auto_pad.empty()) n.attrs["auto_pad"] = Attribute::String(c.auto_pad);
  if (c.ceil_mode != 0) n.attrs["ceil_mode"] = Attribute::Int(c.ceil_mode);
  if (c.count_include_pad != 0) n.attrs["count_include_pad"] = Attribute::Int(1);
  return n;
}

Tensor PoolInput(const PoolCase& c, uint32_t seed) {
  if (c.dtype == DType::kU8) return RandomTensor(c.dtype, c.x, seed, 0, 255);
  if (c.dtype == DType::kI8) return RandomTensor(c.dtype, c.x, seed, -128, 127);
  return RandomTensor(c.dtype, c.x, seed, -3.0, 3.0);
}

TEST(OnednnPoolTest, MatchesReference) {
  const PoolCase cases[] = {
      {"MaxPool", {1, 7, 9, 3}, {3, 3}},
      {"MaxPool", {2, 11, 10, 5}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}},
      {"MaxPool", {1, 12, 13, 4}, {3, 2}, {2, 2}, {}, {0, 1, 1, 0}, "", 1},
      {"MaxPool", {1, 10, 11, 3}, {2, 2}, {2, 2}, {}, {}, "SAME_UPPER"},
      {"MaxPool", {1, 10, 11, 3}, {3, 3}, {2, 2}, {}, {}, "SAME_LOWER"},
      {"MaxPool", {1, 12, 12, 6}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}},
      {"MaxPool", {1, 9, 8, 16}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, "", 0, 0, DType::kU8},
      {"MaxPool", {1, 9, 8, 7}, {2, 2}, {2, 2}, {}, {}, "", 1, 0, DType::kI8},
      {"AveragePool", {1, 7, 9, 3}, {3, 3}},
      {"AveragePool", {2, 11, 10, 5}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}},
      {"AveragePool", {1, 11, 10, 5}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, "", 0, 1},
      {"AveragePool", {1, 12, 13, 4}, {3, 2}, {2, 2}, {}, {0, 1, 1, 0}, "", 1},
      {"AveragePool", {1, 10, 11, 3}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER"},
      {"AveragePool", {1, 10, 11, 3}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER", 0, 1},
      {"AveragePool", {1, 10, 10, 3}, {2, 2}, {3, 3}},  // windows leave a tail uncovered
      {"GlobalAveragePool", {2, 7, 5, 9}, {}},
      {"GlobalMaxPool", {1, 7, 5, 9}, {}},
      {"GlobalMaxPool", {1, 3, 6, 8}, {}, {}, {}, {}, "", 0, 0, DType::kU8},
  };
  uint32_t seed = 1;
  for (const PoolCase& c : cases) {
    SCOPED_TRACE(c.op + " x " + DimsToString(c.x) + " dtype " + std::string(DTypeName(c.dtype)));
    const Tensor x = PoolInput(c, seed += 3);
    for (int threads : {1, 2}) ExpectMatchesReference(PoolNode(c), {&x}, 1e-5, 1e-6, threads);
  }
}

// ceil_mode stretches the trailing pad; with count_include_pad ONNX does not count the stretch
// but oneDNN would, so oneDNN must leave the node to another path.
TEST(OnednnPoolTest, DeclinesCeilModeWithCountIncludePad) {
  const PoolCase c{"AveragePool", {1, 12, 12, 4}, {3, 3}, {2, 2}, {}, {0, 0, 0, 0}, "", 1, 1};
  const Tensor x = PoolInput(c, 4);
  Expected<std::vector<Tensor>> r =
      EvaluateNode(PoolNode(c), std::vector<const Tensor*>{&x}, KernelPath::kOnednn);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().message();
}

TEST(OnednnPoolTest, DeclinesMaxPoolIndices) {
  const PoolCase c{"MaxPool", {1, 6, 6, 2}, {2, 2}, {2, 2}};
  Node n = PoolNode(c);
  n.outputs.push_back(2);
  const Tensor x = PoolInput(c, 4);
  Expected<std::vector<Tensor>> r =
      EvaluateNode(n, std::vector<const Tensor*>{&x}, KernelPath::kOnednn);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace edgerun
