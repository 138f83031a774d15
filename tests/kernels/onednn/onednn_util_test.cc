// onednn::CreatePdPreferring: oneDNN's first implementation unless a preference names a later one.
// onednn::PackConstantInput: piecewise packing of a consumable weight gives the same bytes as one
// reorder and gives the source's pages back; a weight it may not consume is left as it was.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/large_buffer.h"
#include "kernels/onednn/onednn_util.h"

namespace edgerun {
namespace {

// An NHWC f32 depthwise 3x3 conv, 32 channels at 28x28, weights in any format.
dnnl_convolution_desc_t DepthwiseDesc(dnnl_memory_desc_t* src, dnnl_memory_desc_t* weights,
                                      dnnl_memory_desc_t* dst) {
  const dnnl_dims_t act = {1, 32, 28, 28};
  const dnnl_dims_t w = {32, 1, 1, 3, 3};
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(src, 4, act, dnnl_f32, dnnl_nhwc), dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(dst, 4, act, dnnl_f32, dnnl_nhwc), dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(weights, 5, w, dnnl_f32, dnnl_format_tag_any),
            dnnl_success);
  dnnl_convolution_desc_t desc;
  const dnnl_dims_t strides = {1, 1}, pad = {1, 1};
  EXPECT_EQ(
      dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                         src, weights, nullptr, dst, strides, pad, pad),
      dnnl_success);
  return desc;
}

TEST(OnednnUtilTest, CreatePdPreferringTakesTheNamedLaterImplementation) {
  ASSERT_NE(onednn::CpuEngine(), nullptr);
  Node node;
  node.name = "dw";
  node.op_type = "Conv";
  dnnl_memory_desc_t src, weights, dst;
  const dnnl_convolution_desc_t desc = DepthwiseDesc(&src, &weights, &dst);

  auto plain = onednn::CreatePdPreferring(node, &desc, nullptr, {}, "convolution");
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  const std::string first = onednn::ImplName(plain->get());
  ASSERT_FALSE(first.empty());

  // Preferring whatever comes first changes nothing; a name no implementation has falls back to
  // the first.
  const onednn::ImplPreference none[] = {{first, "no_such_impl:"}};
  auto fallback = onednn::CreatePdPreferring(node, &desc, nullptr, none, "convolution");
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(onednn::ImplName(fallback->get()), first);

  // The reference implementation accepts every convolution and is listed last: asking for it
  // walks the whole list.
  const onednn::ImplPreference to_ref[] = {{first, "ref:"}};
  auto ref = onednn::CreatePdPreferring(node, &desc, nullptr, to_ref, "convolution");
  ASSERT_TRUE(ref.ok());
  EXPECT_TRUE(std::string_view(onednn::ImplName(ref->get())).starts_with("ref:"))
      << onednn::ImplName(ref->get());
}

TEST(OnednnUtilTest, CreatePdPreferringNamesTheNodeWhenNothingAccepts) {
  Node node;
  node.name = "bad";
  node.op_type = "Conv";
  dnnl_memory_desc_t src, weights, dst;
  dnnl_convolution_desc_t desc = DepthwiseDesc(&src, &weights, &dst);
  desc.src_desc.data_type = dnnl_s32;  // no f32-weights conv takes s32 activations
  auto pd = onednn::CreatePdPreferring(node, &desc, nullptr, {}, "convolution");
  ASSERT_FALSE(pd.ok());
  EXPECT_NE(pd.status().message().find("bad"), std::string::npos) << pd.status().message();
  EXPECT_NE(pd.status().message().find("convolution"), std::string::npos);
}

struct PackCase {
  std::vector<int64_t> dims;
  dnnl_memory_desc_t from, to;
};

// A 1000-column Gemm weight used transposed ([K, N] with N outermost in memory) packed to a blocked
// matmul layout whose outer blocks also run along N; 1000 is not a multiple of the 64-wide blocks.
// With k = 256 and n = 1024 every 256 KiB chunk is full (one reorder primitive serves them all).
PackCase MatMulWeights(int64_t k = 300, int64_t n = 1000) {
  PackCase c{{k, n}, {}, {}};
  const dnnl_dims_t dims = {k, n};
  const dnnl_dims_t strides = {1, k};
  EXPECT_EQ(dnnl_memory_desc_init_by_strides(&c.from, 2, dims, dnnl_f32, strides), dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&c.to, 2, dims, dnnl_f32, dnnl_BA16a64b), dnnl_success);
  return c;
}

// OIHW conv weights packed to OIhw16i16o, 200 output channels (not a multiple of 16).
PackCase ConvWeights(dnnl_format_tag_t packed) {
  PackCase c{{200, 96, 3, 3}, {}, {}};
  const dnnl_dims_t dims = {200, 96, 3, 3};
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&c.from, 4, dims, dnnl_f32, dnnl_oihw), dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&c.to, 4, dims, dnnl_f32, packed), dnnl_success);
  return c;
}

// s8 conv weights packed with oneDNN's s8s8 compensation after them (as for an s8 source).
PackCase Int8ConvWeightsWithCompensation() {
  PackCase c{{512, 128, 3, 3}, {}, {}};
  const dnnl_dims_t dims = {512, 128, 3, 3};
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&c.from, 4, dims, dnnl_s8, dnnl_oihw), dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&c.to, 4, dims, dnnl_s8, dnnl_OIhw4i16o4i), dnnl_success);
  c.to.extra.flags = dnnl_memory_extra_flag_compensation_conv_s8s8;
  c.to.extra.compensation_mask = 1;  // per output channel
  c.to.extra.scale_adjust = 1.0f;
  return c;
}

Tensor RandomWeights(const PackCase& c, uint32_t seed) {
  const bool s8 = c.from.data_type == dnnl_s8;
  Expected<Tensor> t = Tensor::Create(s8 ? DType::kI8 : DType::kF32, c.dims);
  EXPECT_TRUE(t.ok());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int64_t i = 0; i < t->num_elements(); ++i) {
    if (s8) {
      t->mutable_data<int8_t>()[i] = static_cast<int8_t>(1 + (rng() % 120));  // never 0
    } else {
      t->mutable_data<float>()[i] = dist(rng);
    }
  }
  return std::move(t).value();
}

// Packs input 1 of a node whose input 0 is not constant; `consumable` sets the session's grant.
// The packed weights come from `pool`, zero-filled as in a session: bytes the reorder skips (the
// gap before int8 compensation) compare equal.
Expected<onednn::AlignedBuffer> Pack(const PackCase& c, const Tensor& weights, bool consumable,
                                     WeightPool* pool, bool* consumed) {
  Node node;
  node.name = "fc";
  node.op_type = "Gemm";
  const TensorType types[2] = {{DType::kF32, {1, 300}}, {weights.dtype(), c.dims}};
  const Tensor* constants[2] = {nullptr, &weights};
  const TensorType out[1] = {{DType::kF32, {1, 1000}}};
  PrepareContext ctx{node, types, constants, out};
  ctx.consumable_constant_inputs = consumable ? 2u : 0u;
  ctx.weight_pool = pool;
  auto packed = onednn::PackConstantInput(ctx, 1, c.from, c.to);
  *consumed = ctx.constants_consumed;
  return packed;
}

size_t ZeroBytes(const Tensor& t) {
  const auto* p = static_cast<const unsigned char*>(t.raw());
  size_t zeros = 0;
  for (size_t i = 0; i < t.bytes(); ++i) zeros += p[i] == 0;
  return zeros;
}

TEST(OnednnUtilTest, PackConstantInputPiecewiseMatchesOneReorderAndFreesTheSource) {
  ASSERT_NE(onednn::CpuEngine(), nullptr);
  // Along N, as oneDNN's matmul packs it; OIHW to O-outer blocks; OIHW to I-outer blocks, where
  // each chunk of output channels is a strided sub-tensor of the packed weights.
  for (const PackCase& c : {MatMulWeights(), MatMulWeights(256, 1024), ConvWeights(dnnl_OIhw16i16o),
                            ConvWeights(dnnl_IOhw16o16i)}) {
    const Tensor kept = RandomWeights(c, 7);
    Tensor consumable = RandomWeights(c, 7);
    ASSERT_GT(kept.bytes(), size_t{512} << 10);  // large enough to go piecewise
    ASSERT_LT(ZeroBytes(consumable), consumable.bytes() / 16);
    const std::vector<unsigned char> before(
        static_cast<const unsigned char*>(kept.raw()),
        static_cast<const unsigned char*>(kept.raw()) + kept.bytes());
    WeightPool pool;
    bool consumed = true;
    auto whole = Pack(c, kept, /*consumable=*/false, &pool, &consumed);
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    EXPECT_FALSE(consumed);
    EXPECT_EQ(std::memcmp(kept.raw(), before.data(), before.size()), 0);

    auto pieces = Pack(c, consumable, /*consumable=*/true, &pool, &consumed);
    ASSERT_TRUE(pieces.ok()) << pieces.status().message();
    EXPECT_TRUE(consumed);
    const size_t size = dnnl_memory_desc_get_size(&c.to);
    EXPECT_EQ(std::memcmp(whole->data.get(), pieces->data.get(), size), 0);
    // All but the partly covered pages at both ends went back to the OS and read as zeros.
    EXPECT_GT(ZeroBytes(consumable), consumable.bytes() - 2 * 4096);
  }
}

TEST(OnednnUtilTest, PackConstantInputKeepsTheSourceWhenTheLayoutHasExtraData) {
  // The compensation after the packed weights sums over every input channel of each output
  // channel: one reorder computes it, so the source stays even though the session allowed it.
  const PackCase c = Int8ConvWeightsWithCompensation();
  const Tensor kept = RandomWeights(c, 3);
  Tensor consumable = RandomWeights(c, 3);
  ASSERT_GT(kept.bytes(), size_t{512} << 10);
  WeightPool pool;
  bool consumed = true;
  auto whole = Pack(c, kept, false, &pool, &consumed);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  auto same = Pack(c, consumable, true, &pool, &consumed);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_FALSE(consumed);
  EXPECT_EQ(ZeroBytes(consumable), 0u);
  EXPECT_EQ(std::memcmp(kept.raw(), consumable.raw(), kept.bytes()), 0);
  EXPECT_EQ(std::memcmp(whole->data.get(), same->data.get(), dnnl_memory_desc_get_size(&c.to)), 0);
}

}  // namespace
}  // namespace edgerun
