// oneDNN NHWC Mul and Add (kernels/onednn/onednn_binary.cc) against the reference kernels: the
// squeeze-excitation scale in both operand orders, per-channel and per-image operands, same-shape
// operands, odd channel counts, batch 2, in place over input 0, 2 and 3 threads; and the cases it
// leaves to other kernels (one thread, small maps, no numpy broadcast, other ranks).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/onednn/onednn_kernels.h"
#include "onednn_test_util.h"
#include "util/compare.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

using onednn_test::OnednnTestNode;
using testing::RandomTensor;

struct BinaryRun {
  const KernelDef* kernel = nullptr;  // null: the oneDNN path declined
  Tensor y;
};

// Selects the node from the binary kernels (edgerun's channel-vector kernel is ahead of them on the
// oneDNN path) and runs it as a session with `threads` spinning OpenMP threads would. With
// `in_place` the output is written over input 0's buffer.
BinaryRun RunOnOnednn(const Node& n, const Tensor& a, const Tensor& b, int threads,
                      bool in_place = false) {
  BinaryRun run;
  const Tensor* inputs[] = {&a, &b};
  const TensorType in_types[] = {{a.dtype(), a.dims()}, {b.dtype(), b.dims()}};
  std::vector<int64_t> out_dims = a.dims();  // numpy broadcast of equal ranks
  for (size_t i = 0; i < out_dims.size() && i < b.dims().size(); ++i) {
    out_dims[i] = std::max(out_dims[i], b.dims()[i]);
  }
  const TensorType out_types[] = {{DType::kF32, out_dims}};
  // Activations are not constants in a model: the kernel sees no constant inputs.
  const Tensor* no_constants[] = {nullptr, nullptr};
  SupportContext sctx{n, in_types, no_constants, out_types, threads};
  sctx.share_every_layer = true;
  const KernelPath order[] = {KernelPath::kOnednn};
  run.kernel = KernelCandidates(sctx, order, OnednnBinaryKernels()).Next();
  if (run.kernel == nullptr) return run;
  omp_set_num_threads(threads);
  PrepareContext pctx{n, in_types, no_constants, out_types, threads};
  pctx.share_every_layer = true;
  const Status prepared = run.kernel->prepare(pctx);
  EXPECT_TRUE(prepared.ok()) << prepared.message();
  if (!prepared.ok()) return run;
  Tensor in0 = Tensor::FromBytes(a.dtype(), a.dims(), a.raw(), a.bytes()).value();
  run.y = in_place ? Tensor() : RandomTensor(DType::kF32, out_dims, 5);
  std::vector<TensorView> ins = {in0.view(), inputs[1]->view()};
  std::vector<TensorView> outs = {in_place ? in0.view() : run.y.view()};
  onednn_test::AlignedScratch scratch(pctx.scratch_bytes);
  SetupContext setup{n, pctx.state.get(), ins, outs, scratch.get(), pctx.scratch_bytes};
  EXPECT_TRUE(run.kernel->setup(setup).ok());
  InvokeContext ictx{n, pctx.state.get(), ins, outs, scratch.get(), pctx.scratch_bytes};
  const Status invoked = run.kernel->invoke(ictx);
  EXPECT_TRUE(invoked.ok()) << invoked.message();
  omp_set_num_threads(1);
  if (in_place) run.y = std::move(in0);
  return run;
}

struct BinaryCase {
  std::string op;
  std::vector<int64_t> a, b;
  bool in_place = false;
};

TEST(OnednnBinaryTest, MatchesReferenceWhereItSharesTheWork) {
  const BinaryCase cases[] = {
      {"Mul", {1, 112, 112, 32}, {1, 1, 1, 32}},  // EfficientNet-B0's first scale
      {"Mul", {1, 1, 1, 144}, {1, 56, 56, 144}},  // scale * x, as torchvision writes it
      {"Mul", {2, 61, 47, 37}, {2, 1, 1, 37}},    // odd channels, one scale per image
      {"Mul", {1, 64, 64, 48}, {1, 64, 64, 48}},  // same shape
      {"Add", {1, 56, 56, 96}, {1, 1, 1, 96}},
      {"Add", {1, 70, 50, 64}, {1, 70, 50, 64}},
      {"Mul", {1, 112, 112, 32}, {1, 1, 1, 32}, /*in_place=*/true},
      {"Add", {1, 64, 64, 48}, {1, 64, 64, 48}, /*in_place=*/true},
  };
  uint32_t seed = 1;
  for (const BinaryCase& c : cases) {
    SCOPED_TRACE(c.op + " " + DimsToString(c.a) + " by " + DimsToString(c.b) +
                 (c.in_place ? " in place" : ""));
    const Node n = OnednnTestNode(c.op, "", 2);
    const Tensor a = RandomTensor(DType::kF32, c.a, seed += 2, -3.0, 3.0);
    const Tensor b = RandomTensor(DType::kF32, c.b, seed += 2, -3.0, 3.0);
    const Tensor* inputs[] = {&a, &b};
    Expected<std::vector<Tensor>> ref = EvaluateNode(n, inputs, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    for (int threads : {2, 3}) {
      const BinaryRun run = RunOnOnednn(n, a, b, threads, c.in_place);
      ASSERT_NE(run.kernel, nullptr) << threads << " threads";
      EXPECT_EQ(run.kernel->path, KernelPath::kOnednn);
      // One rounding per element, as in the reference: the results are identical.
      const test_util::CompareResult r = test_util::AllClose(run.y.view(), (*ref)[0].view(), 0, 0);
      EXPECT_TRUE(r.ok) << threads << " threads: " << r.message;
    }
  }
}

TEST(OnednnBinaryTest, LeavesOtherCasesToOtherKernels) {
  const BinaryCase declined[] = {
      {"Mul", {1, 112, 112, 32}, {1, 1, 1, 32}},  // with 1 thread (below)
      {"Mul", {1, 28, 28, 144}, {1, 1, 1, 144}},  // 113 K elements: not worth sharing
      {"Mul", {1, 1, 1, 32}, {1, 112, 112, 1}},   // both broadcast: no input has the output's shape
      {"Mul", {1, 400, 400}, {1, 1, 400}},        // rank 3
      {"Sub", {1, 112, 112, 32}, {1, 1, 1, 32}},  // not an op it claims
  };
  bool first = true;
  for (const BinaryCase& c : declined) {
    SCOPED_TRACE(c.op + " " + DimsToString(c.a) + " by " + DimsToString(c.b));
    const Node n = OnednnTestNode(c.op, "", 2);
    const Tensor a = RandomTensor(DType::kF32, c.a, 3, -1.0, 1.0);
    const Tensor b = RandomTensor(DType::kF32, c.b, 4, -1.0, 1.0);
    const BinaryRun run = RunOnOnednn(n, a, b, first ? 1 : 2);
    EXPECT_EQ(run.kernel, nullptr);
    first = false;
  }
}

}  // namespace
}  // namespace edgerun
