// onednn::CreatePdPreferring: oneDNN's first implementation unless a preference names a later one.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

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
  EXPECT_EQ(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference,
                                               dnnl_convolution_direct, src, weights, nullptr, dst,
                                               strides, pad, pad),
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

}  // namespace
}  // namespace edgerun
