// The Highway Mul and Add by a channel vector (kernels/simd/channel_binary.cc) against the
// reference kernel, bit for bit: either input holding the map, a vector per image or shared, a
// rank-1 vector, channel counts around the vector width, splits across 1-3 threads with share
// boundaries inside a pixel, in place over the map; and the shapes it leaves to other kernels.
#include "kernels/simd/channel_binary.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.dims() == b.dims() && std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

TEST(ApplyChannelBinaryTest, EveryStartingChannelAndLength) {
  for (size_t channels : {16, 17, 31, 32, 40, 96}) {
    const Tensor v = testing::RandomTensor(DType::kF32, {static_cast<int64_t>(channels)}, 3);
    const Tensor x = testing::RandomTensor(DType::kF32, {static_cast<int64_t>(5 * channels)}, 4);
    const float* vd = v.view().data<const float>();
    const float* xd = x.view().data<const float>();
    for (size_t c0 : {size_t{0}, size_t{1}, channels / 2, channels - 1}) {
      for (size_t n : {size_t{1}, channels - c0, channels - c0 + 3, 3 * channels + 5}) {
        for (ChannelOp op : {ChannelOp::kMul, ChannelOp::kAdd}) {
          SCOPED_TRACE(std::to_string(channels) + " channels from " + std::to_string(c0) + ", " +
                       std::to_string(n) + " elements");
          std::vector<float> y(n + 1, -7.0f);  // y[n] must stay
          ApplyChannelBinary(op, xd, vd, y.data(), channels, c0, n);
          for (size_t i = 0; i < n; ++i) {
            const float w = vd[(c0 + i) % channels];
            ASSERT_EQ(y[i], op == ChannelOp::kAdd ? xd[i] + w : xd[i] * w) << i;
          }
          EXPECT_EQ(y[n], -7.0f);
        }
      }
    }
  }
}

struct Case {
  std::string op;
  std::vector<int64_t> map, vector;
  int map_input = 0;
};

// The inputs of `c` in input order (seeded random values).
std::vector<Tensor> InputsOf(const Case& c, uint32_t seed) {
  Tensor m = testing::RandomTensor(DType::kF32, c.map, seed, -3.0, 3.0);
  Tensor v = testing::RandomTensor(DType::kF32, c.vector, seed + 1, -2.0, 2.0);
  std::vector<Tensor> ins;
  ins.push_back(c.map_input == 0 ? std::move(m) : std::move(v));
  ins.push_back(c.map_input == 0 ? std::move(v) : std::move(m));
  return ins;
}

TEST(FastChannelBinaryTest, MatchesReferenceBitForBit) {
  const std::vector<Case> cases = {
      {"Mul", {1, 112, 112, 32}, {1, 1, 1, 32}, 1},  // EfficientNet-B0's first scale: split
      {"Mul", {1, 28, 28, 144}, {1, 1, 1, 144}, 0},  // under the sharing threshold
      {"Mul", {2, 61, 47, 37}, {2, 1, 1, 37}, 1},    // a vector per image; shares inside pixels
      {"Add", {2, 61, 47, 48}, {1, 1, 1, 48}, 0},    // one vector for both images
      {"Add", {3, 5, 3, 16}, {16}, 1},               // rank 1
      {"Mul", {1, 130, 17}, {1, 1, 17}, 0},          // rank 3
  };
  uint32_t seed = 21;
  for (const Case& c : cases) {
    const std::vector<Tensor> inputs = InputsOf(c, seed += 2);
    const Node node = onednn_test::OnednnTestNode(c.op, "", 2);
    const std::vector<const Tensor*> ptrs = {&inputs[0], &inputs[1]};
    Expected<std::vector<Tensor>> ref = EvaluateNode(node, ptrs, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(c.op + " " + DimsToString(c.map) + " by " + DimsToString(c.vector) +
                   " threads " + std::to_string(threads));
      std::string impl;
      const Tensor y =
          onednn_test::RunOnKernelTable(FastChannelBinaryKernels(), node, ptrs, threads, &impl);
      EXPECT_TRUE(impl.starts_with("channel_binary:")) << impl;
      EXPECT_TRUE(SameBits(y, (*ref)[0]));
    }
  }
}

// As the session runs it when the map dies at the node: the output is the map's buffer.
TEST(FastChannelBinaryTest, RunsInPlaceOverTheMap) {
  for (int map_input : {0, 1}) {
    const Case c{"Mul", {1, 64, 65, 48}, {1, 1, 1, 48}, map_input};
    const std::vector<Tensor> inputs = InputsOf(c, 40);
    const Node node = onednn_test::OnednnTestNode(c.op, "", 2);
    const std::vector<const Tensor*> ptrs = {&inputs[0], &inputs[1]};
    Expected<std::vector<Tensor>> ref = EvaluateNode(node, ptrs, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();

    const std::vector<TensorType> in_types = {{DType::kF32, inputs[0].dims()},
                                              {DType::kF32, inputs[1].dims()}};
    const std::vector<TensorType> out_types = {{DType::kF32, c.map}};
    const Tensor* constants[] = {nullptr, nullptr};
    SupportContext sctx{node, in_types, constants, out_types, 2, /*share_every_layer=*/true};
    const KernelPath paths[] = {KernelPath::kOnednn};
    const KernelDef* k = KernelCandidates(sctx, paths, FastChannelBinaryKernels()).Next();
    ASSERT_NE(k, nullptr);
    EXPECT_TRUE(k->may_run_in_place);
    EXPECT_EQ(k->in_place_input, map_input);  // the runtime shares the map's buffer, not v's
    PrepareContext pctx{node, in_types, constants, out_types, 2};
    pctx.share_every_layer = true;
    ASSERT_TRUE(k->prepare(pctx).ok());
    const Tensor& original = inputs[map_input];
    Tensor map =
        Tensor::FromBytes(DType::kF32, original.dims(), original.view().data<const float>(),
                          static_cast<size_t>(original.view().num_elements()) * 4)
            .value();
    std::vector<TensorView> ins = {inputs[0].view(), inputs[1].view()};
    ins[map_input] = map.view();
    std::vector<TensorView> outs = {map.view()};
    InvokeContext ictx{node, pctx.state.get(), ins, outs, nullptr, 0};
    omp_set_num_threads(2);
    EXPECT_TRUE(k->invoke(ictx).ok());
    omp_set_num_threads(1);
    EXPECT_TRUE(SameBits(map, (*ref)[0])) << "map input " << map_input;
  }
}

TEST(FastChannelBinaryTest, LeavesOtherShapesToOtherKernels) {
  const std::vector<Case> refused = {
      {"Mul", {1, 8, 8, 8}, {1, 1, 1, 8}, 0},       // fewer channels than a vector
      {"Mul", {1, 8, 8, 32}, {1, 8, 1, 32}, 0},     // varies along H
      {"Mul", {1, 8, 8, 32}, {1, 8, 8, 32}, 0},     // not a vector
      {"Mul", {1, 8, 8, 32}, {1, 1, 1, 1}, 0},      // a scalar
      {"Mul", {2, 8, 8, 32}, {2, 1, 1, 1, 32}, 0},  // higher rank than the map
  };
  for (const Case& c : refused) {
    SCOPED_TRACE(DimsToString(c.map) + " by " + DimsToString(c.vector));
    const Node node = onednn_test::OnednnTestNode(c.op, "", 2);
    const std::vector<TensorType> in_types = {{DType::kF32, c.map}, {DType::kF32, c.vector}};
    const std::vector<TensorType> out_types = {{DType::kF32, c.map}};
    const Tensor* constants[] = {nullptr, nullptr};
    SupportContext sctx{node, in_types, constants, out_types, 2, true};
    const KernelPath paths[] = {KernelPath::kOnednn};
    EXPECT_EQ(KernelCandidates(sctx, paths, FastChannelBinaryKernels()).Next(), nullptr);
  }
  // Opset < 7's axis broadcasting is not numpy's.
  Node legacy = onednn_test::OnednnTestNode("Mul", "", 2, 6);
  legacy.attrs["broadcast"] = Attribute::Int(1);
  const std::vector<TensorType> in_types = {{DType::kF32, {1, 4, 4, 32}},
                                            {DType::kF32, {1, 1, 1, 32}}};
  const std::vector<TensorType> out_types = {{DType::kF32, {1, 4, 4, 32}}};
  const Tensor* constants[] = {nullptr, nullptr};
  SupportContext sctx{legacy, in_types, constants, out_types, 1};
  const KernelPath paths[] = {KernelPath::kOnednn};
  EXPECT_EQ(KernelCandidates(sctx, paths, FastChannelBinaryKernels()).Next(), nullptr);
}

}  // namespace
}  // namespace edgerun
