// onednn::BlockedCopy: the same bytes as oneDNN's own reorder, padding included, for the weight
// layouts oneDNN's conv and matmul choose (one and two inner blocks, dims that are not multiples
// of the block, 1- and 4-byte elements), whole or a range of one dimension at a time; and the
// layouts it must leave to oneDNN.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/onednn/onednn_pack.h"
#include "kernels/onednn/onednn_util.h"

namespace edgerun {
namespace {

struct Layouts {
  std::string name;
  dnnl_memory_desc_t from{}, to{};
};

Layouts Make(std::vector<int64_t> dims, dnnl_data_type_t type, dnnl_format_tag_t from,
             dnnl_format_tag_t to) {
  Layouts l;
  l.name = std::to_string(dims.size()) + "-D dims " + std::to_string(dims[0]) + "x" +
           std::to_string(dims[1]) + " tags " + std::to_string(from) + " -> " + std::to_string(to);
  const int n = static_cast<int>(dims.size());
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&l.from, n, dims.data(), type, from), dnnl_success);
  EXPECT_EQ(dnnl_memory_desc_init_by_tag(&l.to, n, dims.data(), type, to), dnnl_success);
  return l;
}

std::vector<unsigned char> RandomBytes(const dnnl_memory_desc_t& md, uint32_t seed) {
  std::vector<unsigned char> bytes(dnnl_memory_desc_get_size(&md));
  std::mt19937 rng(seed);
  // Never zero, so a skipped element shows against the zeroed padding.
  for (auto& b : bytes) b = static_cast<unsigned char>(1 + rng() % 255);
  return bytes;
}

// oneDNN's reorder into a buffer first filled with `fill`, as PackConstantInput's fallback.
std::vector<unsigned char> LibraryReorder(const Layouts& l, const std::vector<unsigned char>& src,
                                          unsigned char fill) {
  dnnl_engine_t engine = onednn::CpuEngine();
  EXPECT_NE(engine, nullptr);
  std::vector<unsigned char> dst(dnnl_memory_desc_get_size(&l.to), fill);
  dnnl_primitive_desc_t pd = nullptr;
  EXPECT_EQ(dnnl_reorder_primitive_desc_create(&pd, &l.from, engine, &l.to, engine, nullptr),
            dnnl_success);
  dnnl_primitive_t reorder = nullptr;
  EXPECT_EQ(dnnl_primitive_create(&reorder, pd), dnnl_success);
  dnnl_memory_t from = nullptr, to = nullptr;
  EXPECT_EQ(dnnl_memory_create(&from, &l.from, engine, const_cast<unsigned char*>(src.data())),
            dnnl_success);
  EXPECT_EQ(dnnl_memory_create(&to, &l.to, engine, dst.data()), dnnl_success);
  dnnl_stream_t stream = nullptr;
  EXPECT_EQ(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), dnnl_success);
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  EXPECT_EQ(dnnl_primitive_execute(reorder, stream, 2, args), dnnl_success);
  EXPECT_EQ(dnnl_stream_wait(stream), dnnl_success);
  dnnl_stream_destroy(stream);
  dnnl_memory_destroy(from);
  dnnl_memory_destroy(to);
  dnnl_primitive_destroy(reorder);
  dnnl_primitive_desc_destroy(pd);
  return dst;
}

std::vector<Layouts> HandledLayouts() {
  std::vector<Layouts> all;
  // Conv weights, O-outer blocks (brgconv): 1x1 and 3x3, O a multiple of the block or not.
  for (dnnl_format_tag_t tag : {dnnl_Acdb16a, dnnl_Acdb32a, dnnl_Acdb48a, dnnl_Acdb64a}) {
    all.push_back(Make({96, 576, 1, 1}, dnnl_f32, dnnl_oihw, tag));
    all.push_back(Make({100, 37, 3, 3}, dnnl_f32, dnnl_oihw, tag));
  }
  // Matmul weights [K, N]: stored transposed (Gemm transB, "ba") or not ("ab"), N-outer blocks
  // of 16 K by 16..64 N; K and N not multiples of the blocks.
  for (dnnl_format_tag_t tag : {dnnl_BA16a16b, dnnl_BA16a32b, dnnl_BA16a48b, dnnl_BA16a64b}) {
    all.push_back(Make({1024, 1000}, dnnl_f32, dnnl_ba, tag));
    all.push_back(Make({120, 333}, dnnl_f32, dnnl_ab, tag));
  }
  // Depthwise weights [G, 1, 1, kH, kW], activations nChw16c, two inner blocks on O and I.
  all.push_back(Make({40, 1, 1, 5, 5}, dnnl_f32, dnnl_abcde, dnnl_Abcde16a));
  all.push_back(Make({2, 35, 7, 9}, dnnl_f32, dnnl_abcd, dnnl_aBcd16b));
  all.push_back(Make({50, 40, 3, 3}, dnnl_f32, dnnl_abcd, dnnl_ABcd16b16a));
  // 1-byte elements.
  all.push_back(Make({70, 64, 3, 3}, dnnl_s8, dnnl_oihw, dnnl_Acdb64a));
  all.push_back(Make({300, 200}, dnnl_u8, dnnl_ba, dnnl_BA16a64b));
  return all;
}

// A handled layout pair with random source bytes and oneDNN's reorder of them.
struct Expectation {
  Layouts layouts;
  std::optional<onednn::BlockedCopy> plan;
  std::vector<unsigned char> src;
  std::vector<unsigned char> want;
};

std::vector<Expectation> HandledExpectations(uint32_t seed) {
  std::vector<Expectation> all;
  for (Layouts& l : HandledLayouts()) {
    Expectation e{l, onednn::BlockedCopy::Plan(l.from, l.to), RandomBytes(l.from, seed++), {}};
    e.want = LibraryReorder(l, e.src, 0);
    all.push_back(std::move(e));
  }
  return all;
}

TEST(OnednnBlockedCopyTest, MatchesTheLibrarysReorderWithZeroPadding) {
  for (const auto& [l, plan, src, want] : HandledExpectations(1)) {
    SCOPED_TRACE(l.name);
    ASSERT_TRUE(plan.has_value());
    // A destination full of garbage: padding must come out zero all the same.
    std::vector<unsigned char> got(want.size(), 0xAB);
    plan->ZeroPadding(got.data());
    plan->Copy(src.data(), got.data(), 0, 0, l.from.dims[0]);
    const bool padded = std::memcmp(l.to.dims, l.to.padded_dims, sizeof(l.to.dims)) != 0;
    if (!padded) {
      // Without padding nothing is zeroed first: every byte must be written by the copy.
      std::vector<unsigned char> unzeroed(want.size(), 0xAB);
      plan->Copy(src.data(), unzeroed.data(), 0, 0, l.from.dims[0]);
      EXPECT_EQ(unzeroed, want);
    }
    EXPECT_EQ(got, want);
  }
}

// Weights still in a mapped model file sit at any byte offset: the copy reads them there.
TEST(OnednnBlockedCopyTest, ReadsSourcesAtAnyAlignment) {
  for (const auto& [l, plan, src, want] : HandledExpectations(50)) {
    SCOPED_TRACE(l.name);
    ASSERT_TRUE(plan.has_value());
    for (size_t shift : {1, 2, 3, 5}) {
      SCOPED_TRACE(shift);
      std::vector<unsigned char> shifted(src.size() + shift);
      std::memcpy(shifted.data() + shift, src.data(), src.size());
      std::vector<unsigned char> got(want.size(), 0xAB);
      plan->ZeroPadding(got.data());
      plan->Copy(shifted.data() + shift, got.data(), 0, 0, l.from.dims[0]);
      EXPECT_EQ(got, want);
    }
  }
}

TEST(OnednnBlockedCopyTest, RangesOfOneDimensionAddUpToTheWhole) {
  for (const auto& [l, plan, src, want] : HandledExpectations(100)) {
    SCOPED_TRACE(l.name);
    ASSERT_TRUE(plan.has_value());
    for (int dim = 0; dim < l.from.ndims; ++dim) {
      // Steps that are multiples of any block on `dim`, as PackConstantInput's chunks are.
      int64_t block = 1;
      const dnnl_blocking_desc_t& b = l.to.format_desc.blocking;
      for (int k = 0; k < b.inner_nblks; ++k) {
        if (b.inner_idxs[k] == dim) block *= b.inner_blks[k];
      }
      const int64_t step = block * 2;
      std::vector<unsigned char> got(want.size(), 0);
      for (int64_t begin = 0; begin < l.from.dims[dim]; begin += step) {
        plan->Copy(src.data(), got.data(), dim, begin, begin + step);
      }
      EXPECT_EQ(got, want) << "in steps of " << step << " along dim " << dim;
    }
  }
}

TEST(OnednnBlockedCopyTest, LeavesOtherLayoutsToTheLibrary) {
  // Two inner blocks on one dim (int8 conv weights' 4i16o4i).
  Layouts twice = Make({64, 64, 3, 3}, dnnl_s8, dnnl_oihw, dnnl_OIhw4i16o4i);
  EXPECT_FALSE(onednn::BlockedCopy::Plan(twice.from, twice.to).has_value());
  // Extra data after the weights (s8s8 compensation).
  Layouts compensated = Make({64, 64, 3, 3}, dnnl_s8, dnnl_oihw, dnnl_Acdb64a);
  compensated.to.extra.flags = dnnl_memory_extra_flag_compensation_conv_s8s8;
  compensated.to.extra.compensation_mask = 1;
  EXPECT_FALSE(onednn::BlockedCopy::Plan(compensated.from, compensated.to).has_value());
  // A blocked source, a plain destination, a change of data type.
  Layouts blocked_source = Make({32, 32, 3, 3}, dnnl_f32, dnnl_oihw, dnnl_Acdb16a);
  EXPECT_FALSE(onednn::BlockedCopy::Plan(blocked_source.to, blocked_source.from).has_value());
  Layouts plain = Make({32, 32, 3, 3}, dnnl_f32, dnnl_oihw, dnnl_ohwi);
  EXPECT_FALSE(onednn::BlockedCopy::Plan(plain.from, plain.to).has_value());
  Layouts converting = Make({32, 32}, dnnl_f32, dnnl_ab, dnnl_BA16a64b);
  converting.to.data_type = dnnl_s8;
  EXPECT_FALSE(onednn::BlockedCopy::Plan(converting.from, converting.to).has_value());
}

}  // namespace
}  // namespace edgerun
