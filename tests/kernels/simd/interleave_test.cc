// The Highway interleave (kernels/simd/interleave.cc): against a scalar loop for 2-4
// channels, 1- and 4-byte elements and plane sizes around the vector width; as the Transpose and
// ChannelShuffle kernels of the oneDNN and XNNPACK paths against the reference (exact), and
// which nodes it leaves to the other kernels.
#include "kernels/simd/interleave.h"
#include "kernels/simd/simd_target.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/graph_builders.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

template <typename T>
void ExpectInterleaveMatchesLoop(int channels, size_t plane_size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> in(channels * plane_size);
  for (T& v : in) v = static_cast<T>(rng());
  // Poisoned output: every element must be written.
  std::vector<T> out(in.size(), static_cast<T>(0x5A5A5A5A)), want(in.size());
  for (size_t p = 0; p < plane_size; ++p) {
    for (int c = 0; c < channels; ++c) want[p * channels + c] = in[c * plane_size + p];
  }
  InterleavePlanes(in.data(), channels, plane_size, sizeof(T), out.data());
  EXPECT_EQ(out, want) << channels << " channels, " << plane_size << " pixels, " << sizeof(T)
                       << "-byte elements";
}

TEST(PlaneInterleaveTest, MatchesScalarLoopAroundVectorWidths) {
  uint32_t seed = 1;
  for (int channels = 2; channels <= 4; ++channels) {
    for (size_t plane : {0, 1, 3, 15, 16, 17, 31, 63, 64, 65, 127, 1000, 224 * 224 + 5}) {
      ExpectInterleaveMatchesLoop<uint32_t>(channels, plane, seed++);
      ExpectInterleaveMatchesLoop<uint8_t>(channels, plane, seed++);
    }
  }
  EXPECT_STRNE(SimdTarget(), "");
}

Node TransposeNode(const std::vector<int64_t>& perm) {
  Node n = testing::MakeNode("Transpose", 13, 1);
  n.attrs["perm"] = Attribute::Ints(perm);
  return n;
}

// True when `path` picks the plane interleave for Transpose(perm) of `input`.
bool ClaimedByInterleave(KernelPath path, const std::vector<int64_t>& perm, const TensorType& in) {
  const KernelDef* k = testing::KernelOnPath(path, TransposeNode(perm), {in});
  return k != nullptr && k->supports == PlaneInterleaveTransposeKernel(path).supports;
}

TEST(PlaneInterleaveTest, TransposeKernelMatchesReferenceOnFastPaths) {
  const std::vector<int64_t> perm = {0, 2, 3, 1};
  struct Case {
    DType dtype;
    std::vector<int64_t> dims;
  };
  const Case cases[] = {{DType::kF32, {1, 3, 224, 224}},
                        {DType::kF32, {2, 4, 7, 9}},
                        {DType::kU8, {1, 3, 48, 193}},
                        {DType::kI8, {3, 2, 5, 1}},
                        {DType::kI32, {1, 2, 1, 33}}};
  uint32_t seed = 50;
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(KernelPathName(path)) + " " + DimsToString(c.dims) + " " +
                   std::string(DTypeName(c.dtype)));
      EXPECT_TRUE(ClaimedByInterleave(path, perm, TensorType{c.dtype, c.dims}));
      const Tensor x = testing::RandomTensor(c.dtype, c.dims, seed++, -100, 100);
      const Tensor* inputs[] = {&x};
      Expected<std::vector<Tensor>> fast = EvaluateNode(TransposeNode(perm), inputs, path);
      Expected<std::vector<Tensor>> ref =
          EvaluateNode(TransposeNode(perm), inputs, KernelPath::kReference);
      ASSERT_TRUE(fast.ok()) << fast.status().message();
      ASSERT_TRUE(ref.ok()) << ref.status().message();
      const test_util::CompareResult r =
          test_util::AllClose((*fast)[0].view(), (*ref)[0].view(), 0, 0);
      EXPECT_TRUE(r.ok) << r.message;
    }
  }
}

// On the oneDNN path a large image is split across the OpenMP team: the shares (cut at 64
// pixels) must cover every pixel once, for odd plane sizes and batches too.
TEST(PlaneInterleaveTest, SplitAcrossThreadsMatchesReference) {
  const std::vector<int64_t> perm = {0, 2, 3, 1};
  const Node node = TransposeNode(perm);
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 3, 224, 224}, {2, 3, 151, 173}, {1, 4, 129, 131}, {1, 2, 255, 257}};
  uint32_t seed = 90;
  for (const auto& dims : shapes) {
    for (int threads : {2, 3}) {
      SCOPED_TRACE(DimsToString(dims) + " threads " + std::to_string(threads));
      const Tensor x = testing::RandomTensor(DType::kF32, dims, seed++, -100, 100);
      const Tensor* constants[] = {nullptr};
      const TensorType in_type{DType::kF32, dims};
      Expected<std::vector<TensorType>> out_types = InferNode(node, {&in_type, 1}, constants);
      ASSERT_TRUE(out_types.ok());
      PrepareContext pctx{node, {&in_type, 1}, constants, *out_types, threads};
      pctx.share_every_layer = true;
      const KernelDef k = PlaneInterleaveTransposeKernel(KernelPath::kOnednn);
      ASSERT_TRUE(k.prepare(pctx).ok());
      Tensor y = testing::RandomTensor(DType::kF32, (*out_types)[0].dims, 0, -1, 1);
      std::vector<TensorView> ins = {x.view()}, outs = {y.view()};
      InvokeContext ictx{node, pctx.state.get(), ins, outs, nullptr, 0};
      ASSERT_TRUE(k.invoke(ictx).ok());
      const Tensor* inputs[] = {&x};
      Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
      ASSERT_TRUE(ref.ok());
      const test_util::CompareResult r = test_util::AllClose(y.view(), (*ref)[0].view(), 0, 0);
      EXPECT_TRUE(r.ok) << r.message;
    }
  }
}

TEST(PlaneInterleaveTest, LeavesOtherTransposesToTheGeneralKernel) {
  const TensorType rgb{DType::kF32, {1, 3, 8, 8}};
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 3, 1, 2}, rgb));  // NHWC -> NCHW
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 3, 1}, {DType::kF32, {1, 5, 8, 8}}));
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 3, 1}, {DType::kF32, {1, 1, 8, 8}}));
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 1}, {DType::kF32, {3, 8, 8}}));
    EXPECT_FALSE(ClaimedByInterleave(path, {0, 2, 3, 1}, {DType::kI64, {1, 3, 8, 8}}));
  }
}

Node ShuffleNode(int num_inputs, int64_t group, int64_t axis, int num_outputs = 1) {
  Node n = testing::MakeNode("ChannelShuffle", 1, num_inputs, num_outputs);
  n.domain = std::string(kEdgerunDomain);
  n.attrs["group"] = Attribute::Int(group);
  n.attrs["axis"] = Attribute::Int(axis);
  return n;
}

// `t` cut into `parts` equal pieces along its last axis.
std::vector<Tensor> SplitLastAxis(const Tensor& t, int64_t parts) {
  std::vector<int64_t> dims = t.dims();
  const int64_t width = dims.back() / parts;
  const size_t esize = DTypeSize(t.dtype());
  const int64_t rows = t.num_elements() / dims.back();
  dims.back() = width;
  std::vector<Tensor> out;
  for (int64_t o = 0; o < parts; ++o) {
    std::vector<uint8_t> bytes(static_cast<size_t>(rows * width) * esize);
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(
          bytes.data() + r * width * esize,
          static_cast<const uint8_t*>(t.raw()) + (r * dims.back() * parts + o * width) * esize,
          width * esize);
    }
    out.push_back(Tensor::FromBytes(t.dtype(), dims, bytes.data(), bytes.size()).value());
  }
  return out;
}

std::vector<Tensor> EvaluateAll(const Node& n, const std::vector<const Tensor*>& inputs,
                                KernelPath path) {
  Expected<std::vector<Tensor>> out = EvaluateNode(n, inputs, path);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : std::vector<Tensor>();
}

void ExpectAllEqual(const std::vector<Tensor>& got, const std::vector<Tensor>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    const test_util::CompareResult r = test_util::AllClose(got[i].view(), want[i].view(), 0, 0);
    EXPECT_TRUE(r.ok) << r.message;
  }
}

Tensor Evaluate(const Node& n, const std::vector<const Tensor*>& inputs, KernelPath path) {
  Expected<std::vector<Tensor>> out = EvaluateNode(n, inputs, path);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0] : Tensor();
}

// True when `path` picks the interleave for `n` with inputs `in`.
bool ShuffleClaimedByInterleave(KernelPath path, const Node& n, const std::vector<TensorType>& in) {
  const KernelDef* k = testing::KernelOnPath(path, n, in);
  return k != nullptr && k->supports == InterleaveChannelShuffleKernel(path).supports;
}

// The channel shuffle of ShuffleNet in NHWC, from one input and from one input per group (the
// Concat folded in), into one output or two halves (the Slices folded in), against the reference
// kernel; the reference's several-input, several-output form against an explicit Concat, the
// one-input shuffle and a split.
TEST(InterleaveChannelShuffleTest, MatchesReferenceAndConcatShuffleSplit) {
  uint32_t seed = 300;
  for (int64_t group = 2; group <= 4; ++group) {
    for (int64_t per_group : {1, 2, 5, 16, 17, 34, 58, 130}) {
      for (DType dtype : {DType::kF32, DType::kU8}) {
        const std::vector<int64_t> part = {1, 3, 7, per_group};
        std::vector<Tensor> parts;
        std::vector<const Tensor*> inputs;
        for (int64_t k = 0; k < group; ++k) {
          parts.push_back(testing::RandomTensor(dtype, part, seed++, 0, 100));
        }
        for (const Tensor& t : parts) inputs.push_back(&t);
        Node concat = testing::MakeNode("Concat", 13, static_cast<int>(group));
        concat.attrs["axis"] = Attribute::Int(3);
        const Tensor joined = Evaluate(concat, inputs, KernelPath::kReference);
        const Tensor shuffled =
            Evaluate(ShuffleNode(1, group, 3), {&joined}, KernelPath::kReference);
        for (int outputs : {1, 2}) {
          if (per_group % outputs != 0) continue;
          SCOPED_TRACE("group " + std::to_string(group) + ", " + std::to_string(per_group) +
                       " channels each, " + std::to_string(outputs) + " outputs, " +
                       std::string(DTypeName(dtype)));
          const std::vector<Tensor> want = SplitLastAxis(shuffled, outputs);
          const Node one = ShuffleNode(1, group, 3, outputs);
          const Node many = ShuffleNode(static_cast<int>(group), group, -1, outputs);
          ExpectAllEqual(EvaluateAll(many, inputs, KernelPath::kReference), want);
          ExpectAllEqual(EvaluateAll(one, {&joined}, KernelPath::kReference), want);
          for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
            SCOPED_TRACE(std::string(KernelPathName(path)));
            const std::vector<TensorType> types(group, TensorType{dtype, part});
            EXPECT_TRUE(ShuffleClaimedByInterleave(path, many, types));
            ExpectAllEqual(EvaluateAll(many, inputs, path), want);
            ExpectAllEqual(EvaluateAll(one, {&joined}, path), want);
          }
        }
      }
    }
  }
}

TEST(InterleaveChannelShuffleTest, LeavesOtherShufflesToOtherKernels) {
  const TensorType nhwc{DType::kF32, {1, 4, 4, 8}};
  for (KernelPath path : {KernelPath::kOnednn, KernelPath::kXnnpack}) {
    EXPECT_FALSE(ShuffleClaimedByInterleave(path, ShuffleNode(1, 2, 1), {nhwc}));  // not innermost
    EXPECT_FALSE(ShuffleClaimedByInterleave(path, ShuffleNode(1, 8, 3), {nhwc}));  // group > 4
    EXPECT_FALSE(ShuffleClaimedByInterleave(path, ShuffleNode(3, 2, 3), {nhwc, nhwc, nhwc}));
    EXPECT_FALSE(ShuffleClaimedByInterleave(path, ShuffleNode(2, 2, 3),
                                            {nhwc, {DType::kF32, {1, 4, 4, 4}}}));  // 8 + 4
    EXPECT_FALSE(
        ShuffleClaimedByInterleave(path, ShuffleNode(1, 2, 3), {{DType::kI64, {1, 4, 4, 8}}}));
  }
}

}  // namespace
}  // namespace edgerun
