// XNNPACK Gemm / MatMul / FusedMatMul (kernels/xnnpack/xnnpack_matmul.cc) against the reference
// kernels: transB, alpha, beta, every broadcastable C, A of rank 1-4, bias and fused activations,
// at 1 and 2 threads; and the operands it leaves to other paths.
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

void CheckAgainstReference(const Node& node, const std::vector<const Tensor*>& ins) {
  Expected<std::vector<Tensor>> want = EvaluateNode(node, ins, KernelPath::kReference);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  ASSERT_TRUE(XnnpackClaims(node, ins));
  for (pthreadpool_t pool : Pools().all()) {
    SCOPED_TRACE(PoolName(pool));
    Expected<std::vector<Tensor>> got = EvaluateNode(node, ins, KernelPath::kXnnpack, pool);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectClose((*got)[0], (*want)[0]);
  }
}

TEST(XnnpackGemm, MatchesReference) {
  struct Case {
    int64_t m, k, n;
    bool trans_b;
    float alpha, beta;
    std::vector<int64_t> c;  // empty: no C
    std::string activation;
  };
  const Case cases[] = {
      {1, 1280, 1000, true, 1.0f, 1.0f, {1000}, ""},  // classifier head (torch layout)
      {3, 17, 9, false, 1.0f, 1.0f, {9}, ""},
      {5, 8, 7, true, 0.5f, 2.0f, {1, 7}, ""},
      {4, 6, 5, false, 1.0f, -1.0f, {1}, ""},
      {2, 3, 4, true, 1.0f, 1.0f, {}, ""},
      {1, 9, 6, false, 1.0f, 1.0f, {1, 6}, ""},          // M=1, C [M, N]
      {2, 5, 3, true, 1.0f, 0.0f, {2, 3}, ""},           // beta 0 ignores C
      {6, 12, 10, true, 1.0f, 1.0f, {10}, "Relu"},
      {6, 12, 10, false, 1.0f, 1.0f, {10}, "HardSwish"},
      {6, 12, 10, false, 1.0f, 1.0f, {10}, "SiLU"},
  };
  uint32_t seed = 10;
  for (const Case& c : cases) {
    SCOPED_TRACE("m=" + std::to_string(c.m) + " k=" + std::to_string(c.k) +
                 " n=" + std::to_string(c.n) + " transB=" + std::to_string(c.trans_b));
    Tensor a = RandomTensor(DType::kF32, {c.m, c.k}, seed++);
    Tensor b = RandomTensor(DType::kF32, c.trans_b ? std::vector<int64_t>{c.n, c.k}
                                                   : std::vector<int64_t>{c.k, c.n}, seed++);
    Tensor cc = RandomTensor(DType::kF32, c.c.empty() ? std::vector<int64_t>{1} : c.c, seed++);
    Node node = MakeNode("Gemm", c.c.empty() ? 2 : 3, 13);
    node.attrs["transB"] = Attribute::Int(c.trans_b ? 1 : 0);
    node.attrs["alpha"] = Attribute::Float(c.alpha);
    node.attrs["beta"] = Attribute::Float(c.beta);
    if (!c.activation.empty()) node.attrs["activation"] = Attribute::String(c.activation);
    std::vector<const Tensor*> ins = {&a, &b};
    if (!c.c.empty()) ins.push_back(&cc);
    CheckAgainstReference(node, ins);
  }
}

TEST(XnnpackMatMul, MatchesReference) {
  const std::vector<std::vector<int64_t>> a_shapes = {{7, 16}, {2, 5, 16}, {1, 3, 4, 16}, {16}};
  uint32_t seed = 40;
  for (const auto& a_dims : a_shapes) {
    SCOPED_TRACE("A " + DimsToString(a_dims));
    Tensor a = RandomTensor(DType::kF32, a_dims, seed++);
    Tensor b = RandomTensor(DType::kF32, {16, 11}, seed++);
    CheckAgainstReference(MakeNode("MatMul", 2, 13), {&a, &b});
  }
}

TEST(XnnpackFusedMatMul, BiasAndActivations) {
  uint32_t seed = 60;
  for (const std::string act : {"", "Relu", "Sigmoid", "LeakyRelu", "HardSigmoid"}) {
    for (const int64_t bias_len : {int64_t{24}, int64_t{1}}) {
      SCOPED_TRACE(act + " bias " + std::to_string(bias_len));
      Tensor a = RandomTensor(DType::kF32, {2, 9, 32}, seed++);
      Tensor b = RandomTensor(DType::kF32, {32, 24}, seed++);
      Tensor bias = RandomTensor(DType::kF32, {bias_len}, seed++);
      Node node = MakeNode("FusedMatMul", 3, 1, std::string(kEdgerunDomain));
      if (!act.empty()) node.attrs["activation"] = Attribute::String(act);
      CheckAgainstReference(node, {&a, &b, &bias});
    }
  }
}

TEST(XnnpackMatMul, LeavesOtherOperandsToOtherPaths) {
  Tensor a = RandomTensor(DType::kF32, {4, 8}, 1);
  Tensor b = RandomTensor(DType::kF32, {8, 6}, 2);
  Node mm = MakeNode("MatMul", 2, 13);
  EXPECT_TRUE(XnnpackClaims(mm, {&a, &b}));
  EXPECT_FALSE(XnnpackClaims(mm, {&a, &b}, {true, false}));  // B computed at run time
  Tensor b3 = RandomTensor(DType::kF32, {2, 8, 6}, 3);         // batched B
  EXPECT_FALSE(XnnpackClaims(mm, {&a, &b3}));
  Tensor a64 = RandomTensor(DType::kF64, {4, 8}, 4);
  Tensor b64 = RandomTensor(DType::kF64, {8, 6}, 5);
  EXPECT_FALSE(XnnpackClaims(mm, {&a64, &b64}));

  Node gemm = MakeNode("Gemm", 3, 13);
  Tensor c_rows = RandomTensor(DType::kF32, {4, 1}, 6);  // C varies along rows
  EXPECT_FALSE(XnnpackClaims(gemm, {&a, &b, &c_rows}));
  Node ta = MakeNode("Gemm", 2, 13);
  ta.attrs["transA"] = Attribute::Int(1);
  Tensor at = RandomTensor(DType::kF32, {8, 4}, 7);
  EXPECT_FALSE(XnnpackClaims(ta, {&at, &b}));
  Node tanh = MakeNode("Gemm", 2, 13);
  tanh.attrs["activation"] = Attribute::String("Tanh");
  EXPECT_FALSE(XnnpackClaims(tanh, {&a, &b}));
}

}  // namespace
}  // namespace edgerun
