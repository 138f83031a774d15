// KernelCandidates (src/kernels/kernel.h): the kernel of each path that claims a node, asked for
// one path at a time, so that a path's supports() (for oneDNN, building a primitive descriptor)
// runs only when the session needs another candidate.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/kernel.h"

namespace edgerun {
namespace {

// Counts supports() calls per path of a fake table; the XNNPACK kernel declines the node.
int g_support_calls[4];

bool Claims(KernelPath path, bool claims) {
  ++g_support_calls[static_cast<int>(path)];
  return claims;
}
bool OnednnSupports(const SupportContext&) { return Claims(KernelPath::kOnednn, true); }
bool XnnpackSupports(const SupportContext&) { return Claims(KernelPath::kXnnpack, false); }
bool RefSupports(const SupportContext&) { return Claims(KernelPath::kReference, true); }
Status Nothing(InvokeContext&) { return Status::Ok(); }

constexpr DTypeSet kF32{DType::kF32};
constexpr KernelDef kFakeTable[] = {
    {"Relu", KernelPath::kReference, kF32, RefSupports, nullptr, Nothing},
    {"Relu", KernelPath::kXnnpack, kF32, XnnpackSupports, nullptr, Nothing},
    {"Relu", KernelPath::kOnednn, kF32, OnednnSupports, nullptr, Nothing},
    {"Sigmoid", KernelPath::kOnednn, kF32, nullptr, nullptr, Nothing},
};

TEST(KernelCandidates, AsksEachPathOnlyWhenTheNextCandidateIsNeeded) {
  for (int& calls : g_support_calls) calls = 0;
  Node relu;
  relu.op_type = "Relu";
  const TensorType types[] = {{DType::kF32, {1, 4}}};
  const Tensor* no_constants[] = {nullptr};
  const SupportContext ctx{relu, types, no_constants, types};
  const KernelPath order[] = {KernelPath::kOnednn, KernelPath::kXnnpack, KernelPath::kReference};
  KernelCandidates claims(ctx, order, kFakeTable);
  EXPECT_EQ(g_support_calls[static_cast<int>(KernelPath::kOnednn)], 0);  // nothing asked yet

  const KernelDef* first = claims.Next();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->path, KernelPath::kOnednn);
  EXPECT_EQ(g_support_calls[static_cast<int>(KernelPath::kOnednn)], 1);
  EXPECT_EQ(g_support_calls[static_cast<int>(KernelPath::kXnnpack)], 0);
  EXPECT_EQ(g_support_calls[static_cast<int>(KernelPath::kReference)], 0);

  // XNNPACK declines, so the next candidate is the reference kernel.
  const KernelDef* second = claims.Next();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->path, KernelPath::kReference);
  EXPECT_EQ(g_support_calls[static_cast<int>(KernelPath::kXnnpack)], 1);
  EXPECT_EQ(g_support_calls[static_cast<int>(KernelPath::kReference)], 1);

  EXPECT_EQ(claims.Next(), nullptr);
  EXPECT_EQ(claims.Next(), nullptr);
  EXPECT_EQ(g_support_calls[static_cast<int>(KernelPath::kOnednn)], 1);  // no path asked twice
}

TEST(KernelCandidates, MatchesOpTypeAndDtypeAndFollowsTheGivenOrder) {
  Node sigmoid;
  sigmoid.op_type = "Sigmoid";
  const TensorType f32[] = {{DType::kF32, {2}}};
  const TensorType u8[] = {{DType::kU8, {2}}};
  const Tensor* no_constants[] = {nullptr};
  const KernelPath ref_first[] = {KernelPath::kReference, KernelPath::kOnednn};
  // Only the oneDNN path has a Sigmoid in the fake table; it takes f32 only.
  KernelCandidates f32_claims(SupportContext{sigmoid, f32, no_constants, f32}, ref_first,
                              kFakeTable);
  const KernelDef* k = f32_claims.Next();
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->path, KernelPath::kOnednn);
  EXPECT_EQ(f32_claims.Next(), nullptr);
  KernelCandidates u8_claims(SupportContext{sigmoid, u8, no_constants, u8}, ref_first, kFakeTable);
  EXPECT_EQ(u8_claims.Next(), nullptr);
}

}  // namespace
}  // namespace edgerun
