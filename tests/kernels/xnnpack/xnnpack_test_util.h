// Helpers for the XNNPACK kernel tests: NCHW <-> NHWC transposes, running one node on the XNNPACK
// path at 1 and 2 threads, the kernel-selection probe for supports() checks, and a runner whose
// output shares a chosen input's buffer (in-place execution).
//
// Usage:
//   Tensor x_nhwc = ToNhwc(x_nchw);
//   for (pthreadpool_t pool : Pools()) {
//     auto y = EvaluateNode(node, ins, KernelPath::kXnnpack, pool);
//   }
//   EXPECT_FALSE(XnnpackClaims(node, ins));
#pragma once

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"
#include "util/random_tensor.h"

namespace edgerun::xnnpack_test {

// [N, C, H, W] -> [N, H, W, C] and back, any dtype.
inline Tensor Permute4(const Tensor& t, bool to_nhwc) {
  const auto& d = t.dims();
  const int64_t n = d[0];
  const int64_t c = to_nhwc ? d[1] : d[3];
  const int64_t h = to_nhwc ? d[2] : d[1];
  const int64_t w = to_nhwc ? d[3] : d[2];
  std::vector<int64_t> out_dims =
      to_nhwc ? std::vector<int64_t>{n, h, w, c} : std::vector<int64_t>{n, c, h, w};
  Tensor out = Tensor::Create(t.dtype(), out_dims).value();
  const size_t es = DTypeSize(t.dtype());
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t ic = 0; ic < c; ++ic) {
      for (int64_t ih = 0; ih < h; ++ih) {
        for (int64_t iw = 0; iw < w; ++iw) {
          const int64_t nchw = ((in * c + ic) * h + ih) * w + iw;
          const int64_t nhwc = ((in * h + ih) * w + iw) * c + ic;
          const int64_t from = to_nhwc ? nchw : nhwc, to = to_nhwc ? nhwc : nchw;
          std::memcpy(dst + to * es, src + from * es, es);
        }
      }
    }
  }
  return out;
}
inline Tensor ToNhwc(const Tensor& nchw) { return Permute4(nchw, true); }
inline Tensor ToNchw(const Tensor& nhwc) { return Permute4(nhwc, false); }

// No pool (the calling thread) and a 2-thread pthreadpool, for every kernel check.
class ThreadPools {
 public:
  ThreadPools() : two_(pthreadpool_create(2)) {}
  ~ThreadPools() { pthreadpool_destroy(two_); }
  std::vector<pthreadpool_t> all() const { return {nullptr, two_}; }

 private:
  pthreadpool_t two_;
};

inline const ThreadPools& Pools() {
  static const ThreadPools pools;
  return pools;
}

inline std::string PoolName(pthreadpool_t pool) {
  return pool == nullptr ? "1 thread" : "2 threads";
}

// A node with inputs 0..n-1 and one output n.
inline Node MakeNode(const std::string& op, int num_inputs, int opset = 17,
                     const std::string& domain = "") {
  Node n;
  n.name = "n0";
  n.op_type = op;
  n.domain = domain;
  n.opset = opset;
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back(i);
  n.outputs.push_back(num_inputs);
  return n;
}

// Whether the XNNPACK path claims the node. `constant[i]` false hides input i's value (as a
// session does for activations); by default every input is a constant.
inline bool XnnpackClaims(const Node& node, const std::vector<const Tensor*>& inputs,
                          std::vector<bool> constant = {}) {
  std::vector<TensorType> in_types(inputs.size());
  std::vector<const Tensor*> constants(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == nullptr) continue;
    in_types[i] = TensorType{inputs[i]->dtype(), inputs[i]->dims()};
    if (constant.empty() || constant[i]) constants[i] = inputs[i];
  }
  Expected<std::vector<TensorType>> out = InferNode(node, in_types, inputs);
  if (!out.ok()) {
    ADD_FAILURE() << "shape inference failed: " << out.status().ToString();
    return false;
  }
  SupportContext ctx{node, in_types, constants, *out};
  const KernelPath order[] = {KernelPath::kXnnpack};
  return SelectKernel(ctx, order) != nullptr;
}

// Runs `node` on the XNNPACK path with output 0 written over input `shared` (a copy of it), as
// the runtime does for kernels with may_run_in_place. Inputs listed in `same_value` read that
// buffer too (the graph feeds one value to several inputs). Returns output 0.
inline Expected<Tensor> RunInPlace(const Node& node, const std::vector<const Tensor*>& inputs,
                                   int shared, pthreadpool_t pool,
                                   const std::vector<int>& same_value = {}) {
  std::vector<TensorType> in_types(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr) in_types[i] = TensorType{inputs[i]->dtype(), inputs[i]->dims()};
  }
  ASSIGN_OR_RETURN(std::vector<TensorType> out_types, InferNode(node, in_types, inputs));
  SupportContext sctx{node, in_types, inputs, out_types};
  const KernelPath order[] = {KernelPath::kXnnpack};
  const KernelDef* k = SelectKernel(sctx, order);
  if (k == nullptr) return Unsupported("no XNNPACK kernel");
  if (!k->may_run_in_place || k->in_place_input != shared) {
    return Unsupported("kernel does not declare input " + std::to_string(shared) + " in place");
  }
  PrepareContext pctx{node, in_types, inputs, out_types};
  pctx.threadpool = pool;
  RETURN_IF_ERROR(k->prepare(pctx));
  // The shared buffer: a copy of input `shared`, which the output then overwrites.
  Tensor buffer = Tensor::FromBytes(inputs[shared]->dtype(), inputs[shared]->dims(),
                                    inputs[shared]->raw(), inputs[shared]->bytes())
                      .value();
  std::vector<TensorView> in_views(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr) in_views[i] = inputs[i]->view();
  }
  in_views[shared] = buffer.view();
  for (int i : same_value) in_views[i] = buffer.view();
  std::vector<TensorView> out_views = {
      TensorView::Make(out_types[0].dtype, out_types[0].dims, buffer.mutable_raw()).value()};
  std::unique_ptr<std::byte, decltype(&std::free)> scratch(nullptr, &std::free);
  if (pctx.scratch_bytes > 0) {
    scratch.reset(
        static_cast<std::byte*>(std::aligned_alloc(64, (pctx.scratch_bytes + 63) / 64 * 64)));
  }
  if (k->setup != nullptr) {
    SetupContext setup{node,          pctx.state.get(),   in_views, out_views,
                       scratch.get(), pctx.scratch_bytes, pool};
    RETURN_IF_ERROR(k->setup(setup));
  }
  InvokeContext ictx{node,          pctx.state.get(),   in_views, out_views,
                     scratch.get(), pctx.scratch_bytes, pool};
  RETURN_IF_ERROR(k->invoke(ictx));
  return buffer;
}

// rtol 1e-4 (accumulation order differs), atol scaled to the output's magnitude.
inline void ExpectClose(const Tensor& got, const Tensor& want, double rtol = 1e-4) {
  const std::vector<double> w = test_util::ToDoubles(want.view());
  const double atol = 1e-5 * (1.0 + test_util::MaxAbs(w));
  const test_util::CompareResult r = test_util::AllClose(got.view(), want.view(), rtol, atol);
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace edgerun::xnnpack_test
