// onednn::CreatePdPreferring: oneDNN's first implementation unless a preference names a later one.
// onednn::PackConstantInput: piecewise packing of a consumable weight gives the same bytes as one
// reorder and gives the source's pages back; a weight it may not consume is left as it was.
// onednn::WriteWinogradWeights: the same values as oneDNN's reorder into each Winograd layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/large_buffer.h"
#include "kernels/onednn/onednn_pack.h"
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
  // each chunk of output channels is a strided sub-tensor of the packed weights. These go through
  // onednn::BlockedCopy; the last layout (two blocks on I) through oneDNN's reorder, in chunks.
  const PackCase reordered = ConvWeights(dnnl_OIhw4i16o4i);
  ASSERT_FALSE(onednn::BlockedCopy::Plan(reordered.from, reordered.to).has_value());
  for (const PackCase& c : {MatMulWeights(), MatMulWeights(256, 1024), ConvWeights(dnnl_OIhw16i16o),
                            ConvWeights(dnnl_IOhw16o16i), reordered}) {
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

// Weights still in the mapped model file (here a misaligned buffer standing in for it) are packed
// from there, piecewise when consumable, and never copied into their aligned place.
TEST(OnednnUtilTest, PackConstantInputReadsWeightsStillInTheModelFile) {
  ASSERT_NE(onednn::CpuEngine(), nullptr);
  for (const PackCase& c : {MatMulWeights(), ConvWeights(dnnl_OIhw16i16o)}) {
    const Tensor want_source = RandomWeights(c, 13);
    WeightPool pool;
    bool consumed = false;
    auto want = Pack(c, want_source, /*consumable=*/false, &pool, &consumed);
    ASSERT_TRUE(want.ok()) << want.status().message();
    for (bool consumable : {false, true}) {
      SCOPED_TRACE(consumable ? "consumable" : "kept");
      std::vector<std::byte> file(want_source.bytes() + 3);
      std::memcpy(file.data() + 3, want_source.raw(), want_source.bytes());
      auto place = std::make_shared<std::vector<std::byte>>(want_source.bytes() + 64);
      void* aligned =
          reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(place->data()) + 63) / 64 * 64);
      const Tensor deferred = Tensor::WrapDeferredCopy(want_source.dtype(), want_source.dims(),
                                                       aligned, place, file.data() + 3, nullptr);
      auto got = Pack(c, deferred, consumable, &pool, &consumed);
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_EQ(consumed, consumable);  // large enough to go piecewise
      EXPECT_EQ(std::memcmp(got->data.get(), want->data.get(), dnnl_memory_desc_get_size(&c.to)),
                0);
      EXPECT_TRUE(deferred.copy_pending());
    }
  }
}

TEST(OnednnUtilTest, PackConstantInputIntoThePoolLeavesThePaddingZeroWithoutAMemset) {
  // Pool slices come zero-filled, so packing into one skips the memset of the padding (which
  // faulted in the whole packed buffer before piecewise packing gave any source page back). The
  // bytes must equal a heap buffer's, which is zeroed first: 200 output channels pad to 208, and
  // the matmul's N to a multiple of 64.
  ASSERT_NE(onednn::CpuEngine(), nullptr);
  for (const PackCase& c : {MatMulWeights(), ConvWeights(dnnl_OIhw16i16o)}) {
    const size_t size = dnnl_memory_desc_get_size(&c.to);
    ASSERT_GT(size, static_cast<size_t>(NumElements(c.dims)) * sizeof(float));  // padded
    const Tensor weights = RandomWeights(c, 11);
    Tensor consumable = RandomWeights(c, 11);
    bool consumed = false;
    auto heap = Pack(c, weights, /*consumable=*/false, nullptr, &consumed);
    ASSERT_TRUE(heap.ok()) << heap.status().message();
    EXPECT_FALSE(heap->zero_filled);
    WeightPool pool;
    auto pooled = Pack(c, consumable, /*consumable=*/true, &pool, &consumed);
    ASSERT_TRUE(pooled.ok()) << pooled.status().message();
    EXPECT_TRUE(pooled->zero_filled);
    EXPECT_TRUE(consumed);
    EXPECT_EQ(std::memcmp(heap->data.get(), pooled->data.get(), size), 0);
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

namespace edgerun {
namespace {

// Every Winograd implementation oneDNN offers for a 3x3, stride-1, pad-1 conv of `ic` -> `oc`
// channels on an h x h map: (implementation name, weights descriptor).
std::vector<std::pair<std::string, dnnl_memory_desc_t>> WinogradWeightDescs(int64_t ic, int64_t oc,
                                                                            int64_t h) {
  const dnnl_dims_t src_dims = {1, ic, h, h}, dst_dims = {1, oc, h, h};
  const dnnl_dims_t w_dims = {oc, ic, 3, 3}, b_dims = {oc};
  dnnl_memory_desc_t src, weights, bias, dst;
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&src, 4, src_dims, dnnl_f32, dnnl_format_tag_any),
            dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any),
            dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&weights, 4, w_dims, dnnl_f32, dnnl_format_tag_any),
            dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&bias, 1, b_dims, dnnl_f32, dnnl_x), dnnl_success);
  dnnl_convolution_desc_t desc;
  const dnnl_dims_t strides = {1, 1}, pad = {1, 1};
  EXPECT_EQ(
      dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_winograd,
                                         &src, &weights, &bias, &dst, strides, pad, pad),
      dnnl_success);
  std::vector<std::pair<std::string, dnnl_memory_desc_t>> out;
  dnnl_primitive_desc_iterator_t it = nullptr;
  if (dnnl_primitive_desc_iterator_create(&it, &desc, nullptr, onednn::CpuEngine(), nullptr) !=
      dnnl_success) {
    return out;  // no Winograd kernel on this CPU
  }
  do {
    onednn::PrimitiveDesc pd(dnnl_primitive_desc_iterator_fetch(it));
    const std::string name = onednn::ImplName(pd.get());
    if (name.find("wino") != std::string::npos) {
      out.emplace_back(name, *dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0));
    }
  } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
  dnnl_primitive_desc_iterator_destroy(it);
  return out;
}

// oneDNN's own reorder of OIHW weights into `to`.
std::vector<float> ReorderedByOnednn(const std::vector<float>& oihw, int64_t oc, int64_t ic,
                                     const dnnl_memory_desc_t& to) {
  const dnnl_dims_t w_dims = {oc, ic, 3, 3};
  dnnl_memory_desc_t from;
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&from, 4, w_dims, dnnl_f32, dnnl_oihw), dnnl_success);
  std::vector<float> out(dnnl_memory_desc_get_size(&to) / sizeof(float), -1.0f);
  onednn::PrimitiveDesc pd;
  EXPECT_EQ(dnnl_reorder_primitive_desc_create(pd.out(), &from, onednn::CpuEngine(), &to,
                                               onednn::CpuEngine(), nullptr),
            dnnl_success);
  onednn::Primitive reorder;
  EXPECT_EQ(dnnl_primitive_create(reorder.out(), pd.get()), dnnl_success);
  onednn::Memory src, dst;
  EXPECT_EQ(
      dnnl_memory_create(src.out(), &from, onednn::CpuEngine(), const_cast<float*>(oihw.data())),
      dnnl_success);
  EXPECT_EQ(dnnl_memory_create(dst.out(), &to, onednn::CpuEngine(), out.data()), dnnl_success);
  onednn::Stream stream;
  EXPECT_EQ(dnnl_stream_create(stream.out(), onednn::CpuEngine(), dnnl_stream_default_flags),
            dnnl_success);
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, src.get()}, {DNNL_ARG_TO, dst.get()}};
  EXPECT_EQ(dnnl_primitive_execute(reorder.get(), stream.get(), 2, args), dnnl_success);
  EXPECT_EQ(dnnl_stream_wait(stream.get()), dnnl_success);
  return out;
}

// The transform matrices and all three layouts against the library's reorder: channel counts
// that fill the blocks, that the layout pads (17, 20, 24, 40, 100), every oc2/ic2 blocking seen on
// ResNet and SqueezeNet layers, and both F(2x2,3x3) and F(4x4,3x3).
TEST(OnednnWinogradTest, WeightsMatchTheLibrarysReorder) {
  ASSERT_NE(onednn::CpuEngine(), nullptr);
  struct Shape {
    int64_t ic, oc, h;
  };
  const Shape shapes[] = {{64, 64, 56},   {256, 256, 14}, {16, 64, 55},  {48, 192, 13},
                          {48, 48, 28},   {24, 24, 80},   {17, 100, 20}, {32, 128, 27},
                          {128, 128, 28}, {20, 36, 30},   {40, 80, 40}};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<int> formats_seen;
  int checked = 0;
  for (const Shape& s : shapes) {
    std::vector<float> w(static_cast<size_t>(s.oc * s.ic * 9));
    for (float& v : w) v = uniform(rng);
    for (const auto& [name, md] : WinogradWeightDescs(s.ic, s.oc, s.h)) {
      SCOPED_TRACE(name + " ic " + std::to_string(s.ic) + " oc " + std::to_string(s.oc));
      ASSERT_TRUE(onednn::IsKnownWinogradLayout(md, s.oc, s.ic));
      const std::vector<float> want = ReorderedByOnednn(w, s.oc, s.ic, md);
      std::vector<float> got(want.size(), -1.0f);
      // The source at any alignment (weights still in the mapped model file).
      const size_t shift = static_cast<size_t>(checked % 4);
      std::vector<std::byte> source(w.size() * sizeof(float) + shift);
      std::memcpy(source.data() + shift, w.data(), w.size() * sizeof(float));
      ASSERT_TRUE(onednn::WriteWinogradWeights(source.data() + shift, s.oc, s.ic, md, got.data()));
      float max_abs = 0.0f;
      for (float v : want) max_abs = std::max(max_abs, std::abs(v));
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], 1e-6f * max_abs) << "element " << i;
      }
      formats_seen.push_back(md.format_desc.wino_desc.wino_format);
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "oneDNN has no Winograd kernels on this CPU (AVX-512 only)";
  for (int f : {dnnl_wino_wei_aaOio, dnnl_wino_wei_aaOBiOo, dnnl_wino_wei_OBaaIBOIio}) {
    EXPECT_NE(std::find(formats_seen.begin(), formats_seen.end(), f), formats_seen.end())
        << "layout " << f << " not covered";
  }
}

TEST(OnednnWinogradTest, DeclinesOtherLayouts) {
  const dnnl_dims_t dims = {16, 16, 3, 3};
  dnnl_memory_desc_t plain;
  ASSERT_EQ(dnnl_memory_desc_init_by_tag(&plain, 4, dims, dnnl_f32, dnnl_OIhw16i16o), dnnl_success);
  EXPECT_FALSE(onednn::IsKnownWinogradLayout(plain, 16, 16));
  std::vector<float> w(16 * 16 * 9, 1.0f), out(16 * 16 * 9, -1.0f);
  EXPECT_FALSE(onednn::WriteWinogradWeights(reinterpret_cast<const std::byte*>(w.data()), 16, 16,
                                            plain, out.data()));
  EXPECT_EQ(out[0], -1.0f);  // nothing written
  for (const auto& [name, md] : WinogradWeightDescs(16, 16, 56)) {
    // More channels than the layout holds.
    EXPECT_FALSE(onednn::IsKnownWinogradLayout(md, 32, 16)) << name;
  }
}

}  // namespace
}  // namespace edgerun
