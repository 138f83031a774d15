// oneDNN MatMul, Gemm and FusedMatMul (kernels/onednn/onednn_matmul.cc) against the reference
// kernels: constant and run-time B, 1-D operands, batched B with broadcast batch dims, Gemm
// transposes, alpha, beta and every broadcast form of C, bias and activation, 1 and 2 threads.
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
using testing::RandomTensor;

struct MatMulCase {
  std::vector<int64_t> a, b;
  bool b_constant = true;
  std::vector<int64_t> bias;  // FusedMatMul only; empty: none
  std::string activation;
};

// EvaluateNode shows every input to the kernel as a constant; a run-time B is modelled by
// checking SelectKernel with B marked non-constant and then running with the constant view,
// which the kernel handles the same way (it reads B through its input pointer either way when
// it was prepared without a constant). So the run-time B cases go through a direct driver.
Expected<std::vector<Tensor>> RunWithRuntimeB(const Node& n, std::vector<const Tensor*> inputs) {
  std::vector<TensorType> in_types;
  for (const Tensor* t : inputs) in_types.push_back({t->dtype(), t->dims()});
  std::vector<const Tensor*> constants = inputs;
  constants[1] = nullptr;
  ASSIGN_OR_RETURN(std::vector<TensorType> out_types, InferNode(n, in_types, constants));
  const KernelPath order[] = {KernelPath::kOnednn};
  const KernelDef* k = SelectKernel(SupportContext{n, in_types, constants, out_types}, order);
  if (k == nullptr) return Unsupported("no oneDNN kernel for a run-time B");
  PrepareContext pctx{n, in_types, constants, out_types};
  RETURN_IF_ERROR(k->prepare(pctx));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Create(out_types[0].dtype, out_types[0].dims));
  std::vector<TensorView> ins;
  for (const Tensor* t : inputs) ins.push_back(t->view());
  std::vector<TensorView> outs = {y.view()};
  ASSIGN_OR_RETURN(Tensor scratch, Tensor::Create(DType::kU8, {int64_t(pctx.scratch_bytes) + 1}));
  SetupContext sctx{n, pctx.state.get(), ins, outs, scratch.view().raw, pctx.scratch_bytes};
  RETURN_IF_ERROR(k->setup(sctx));
  InvokeContext ictx{n, pctx.state.get(), ins, outs, scratch.view().raw, pctx.scratch_bytes};
  RETURN_IF_ERROR(k->invoke(ictx));
  std::vector<Tensor> out;
  out.push_back(std::move(y));
  return out;
}

TEST(OnednnMatMulTest, MatMulAndFusedMatMul) {
  const MatMulCase cases[] = {
      {{5, 7}, {7, 3}},
      {{2, 3, 5, 7}, {7, 9}},  // batches fold into one tall product
      {{7}, {7, 4}},
      {{3, 7}, {7}},
      {{2, 5, 6}, {2, 6, 3}, false},        // attention-style, B at run time
      {{4, 2, 5, 6}, {1, 2, 6, 3}, false},  // broadcast batch of B
      {{1, 5, 6}, {3, 6, 4}, false},        // broadcast batch of A
      {{2, 5, 6}, {6, 3}, false},
      {{3, 33}, {33, 17}, true, {17}, "Relu"},
      {{2, 4, 10}, {10, 6}, true, {6}, "HardSwish"},
      {{4, 10}, {10, 6}, true, {1}},
      {{4, 10}, {10, 6}, true, {6}, "Sigmoid"},
  };
  uint32_t seed = 1;
  for (const MatMulCase& c : cases) {
    const bool fused = !c.bias.empty() || !c.activation.empty();
    SCOPED_TRACE("a " + DimsToString(c.a) + " b " + DimsToString(c.b));
    Node n = fused ? OnednnTestNode("FusedMatMul", kEdgerunDomain, c.bias.empty() ? 2 : 3, 1)
                   : OnednnTestNode("MatMul", "", 2);
    if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
    Tensor a = RandomTensor(DType::kF32, c.a, seed += 3);
    Tensor b = RandomTensor(DType::kF32, c.b, seed + 1);
    Tensor bias =
        RandomTensor(DType::kF32, c.bias.empty() ? std::vector<int64_t>{1} : c.bias, seed + 2);
    std::vector<const Tensor*> inputs = {&a, &b};
    if (!c.bias.empty()) inputs.push_back(&bias);
    if (c.b_constant) {
      for (int threads : {1, 2}) ExpectMatchesReference(n, inputs, 1e-4, 1e-5, threads);
    } else {
      Expected<std::vector<Tensor>> fast = RunWithRuntimeB(n, inputs);
      ASSERT_TRUE(fast.ok()) << fast.status().message();
      Expected<std::vector<Tensor>> ref = EvaluateNode(n, inputs, KernelPath::kReference);
      ASSERT_TRUE(ref.ok()) << ref.status().message();
      const test_util::CompareResult r =
          test_util::AllClose((*fast)[0].view(), (*ref)[0].view(), 1e-4, 1e-5);
      EXPECT_TRUE(r.ok) << r.message;
    }
  }
}

struct GemmCase {
  int64_t m, k, n;
  int64_t trans_a = 0, trans_b = 0;
  float alpha = 1.0f, beta = 1.0f;
  std::vector<int64_t> c;  // empty: no C
  std::string activation;
};

TEST(OnednnMatMulTest, Gemm) {
  const GemmCase cases[] = {
      {5, 7, 3},
      {5, 7, 3, 0, 1, 1.0f, 1.0f, {3}},
      {6, 9, 4, 1, 0, 1.0f, 1.0f, {6, 4}},
      {6, 9, 4, 1, 1, 0.5f, 1.0f, {1, 4}},
      {6, 9, 4, 0, 1, 1.0f, 2.5f, {6, 1}},
      {6, 9, 4, 0, 1, 1.0f, 0.5f, {}},
      {6, 9, 4, 0, 1, 2.0f, 0.0f, {4}},
      {1, 64, 10, 0, 1, 1.0f, 1.0f, {10}, "Relu"},
      {3, 8, 5, 0, 0, 1.0f, 1.0f, {1}, "Tanh"},
  };
  uint32_t seed = 50;
  for (const GemmCase& c : cases) {
    SCOPED_TRACE("gemm m " + std::to_string(c.m) + " k " + std::to_string(c.k) + " n " +
                 std::to_string(c.n) + " tA " + std::to_string(c.trans_a) + " tB " +
                 std::to_string(c.trans_b));
    Node n = OnednnTestNode("Gemm", "", c.c.empty() ? 2 : 3);
    n.attrs["transA"] = Attribute::Int(c.trans_a);
    n.attrs["transB"] = Attribute::Int(c.trans_b);
    n.attrs["alpha"] = Attribute::Float(c.alpha);
    n.attrs["beta"] = Attribute::Float(c.beta);
    if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
    Tensor a = RandomTensor(
        DType::kF32, c.trans_a ? std::vector<int64_t>{c.k, c.m} : std::vector<int64_t>{c.m, c.k},
        seed += 3);
    Tensor b = RandomTensor(
        DType::kF32, c.trans_b ? std::vector<int64_t>{c.n, c.k} : std::vector<int64_t>{c.k, c.n},
        seed + 1);
    Tensor cc = RandomTensor(DType::kF32, c.c.empty() ? std::vector<int64_t>{1} : c.c, seed + 2);
    std::vector<const Tensor*> inputs = {&a, &b};
    if (!c.c.empty()) inputs.push_back(&cc);
    for (int threads : {1, 2}) ExpectMatchesReference(n, inputs, 1e-4, 1e-5, threads);
  }
}

}  // namespace
}  // namespace edgerun
