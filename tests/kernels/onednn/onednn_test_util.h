// Helpers for the oneDNN kernel tests: build a single node, run it on the oneDNN path and on the
// reference path with the same inputs, and compare.
//
// Usage:
//   Node n = OnednnTestNode("Conv", kNhwcDomain, 4);
//   SetInts(n, "strides", {2, 2});
//   ExpectMatchesReference(n, {&x, &w, &b, &z}, 1e-4, 1e-4, /*threads=*/2);
#pragma once

#include <gtest/gtest.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/compare.h"

namespace edgerun::onednn_test {

inline Node OnednnTestNode(const std::string& op, std::string_view domain, int num_inputs,
                           int opset = 13) {
  Node n;
  n.name = "n0";
  n.op_type = op;
  n.domain = std::string(domain);
  n.opset = opset;
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back(i);
  n.outputs.push_back(num_inputs);
  return n;
}

inline void SetInts(Node& n, const std::string& name, std::vector<int64_t> v) {
  n.attrs[name] = Attribute::Ints(std::move(v));
}

// A 64-byte aligned scratch buffer of `bytes`, as the session's arena gives a node.
struct AlignedScratch {
  explicit AlignedScratch(size_t bytes) : storage(bytes + 64) {}
  void* get() {
    return reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) / 64 * 64);
  }
  std::vector<std::byte> storage;
};

// Runs node `n` on the first kernel of `table` that claims it (for example one family's table,
// OnednnQConvKernels(), to test that kernel even where another one is ahead of it on the path),
// prepared for `threads` threads with every layer shared, as with spinning workers; returns the
// output and names the implementation in `impl`. With `checked_inputs`, the support check before
// prepare sees those instead (another node's); `winograd` is SessionOptions::winograd.
inline Tensor RunOnKernelTable(std::span<const KernelDef> table, const Node& n,
                               const std::vector<const Tensor*>& inputs, int threads,
                               std::string* impl,
                               const std::vector<const Tensor*>* checked_inputs = nullptr,
                               bool winograd = false) {
  std::vector<TensorType> in_types;
  std::vector<TensorView> ins;
  for (const Tensor* t : inputs) {  // nullptr: an omitted optional input
    in_types.push_back(t != nullptr ? TensorType{t->dtype(), t->dims()} : TensorType{});
    ins.push_back(t != nullptr ? t->view() : TensorView{});
  }
  Expected<std::vector<TensorType>> out_types = InferNode(n, in_types, inputs);
  EXPECT_TRUE(out_types.ok());
  if (!out_types.ok()) return Tensor();
  const std::vector<const Tensor*>& checked = checked_inputs ? *checked_inputs : inputs;
  SupportContext sctx{n,       in_types, checked, *out_types, threads, /*share_every_layer=*/true,
                      winograd};
  const KernelPath paths[] = {table.empty() ? KernelPath::kOnednn : table[0].path};
  const KernelDef* k = KernelCandidates(sctx, paths, table).Next();
  EXPECT_NE(k, nullptr) << "no kernel of the table claims the node";
  if (k == nullptr) return Tensor();
  PrepareContext pctx{n, in_types, inputs, *out_types, threads};
  pctx.share_every_layer = true;
  pctx.winograd = winograd;
  const Status prepared = k->prepare(pctx);
  EXPECT_TRUE(prepared.ok()) << prepared.ToString();
  if (!prepared.ok()) return Tensor();
  *impl = std::string(pctx.state->implementation());
  Tensor y = Tensor::Create((*out_types)[0].dtype, (*out_types)[0].dims).value();
  std::vector<TensorView> outs = {y.view()};
  AlignedScratch scratch(pctx.scratch_bytes);
  SetupContext setup{n, pctx.state.get(), ins, outs, scratch.get(), pctx.scratch_bytes};
  EXPECT_TRUE(k->setup == nullptr || k->setup(setup).ok());
  InvokeContext ictx{n, pctx.state.get(), ins, outs, scratch.get(), pctx.scratch_bytes};
  EXPECT_TRUE(k->invoke(ictx).ok());
  return y;
}

// Runs `node` on oneDNN with `threads` OpenMP threads and on the reference path; every output
// must be allclose. A node oneDNN does not claim fails the test unless `may_decline` is set, in
// which case false is returned.
inline bool ExpectMatchesReference(const Node& node, std::vector<const Tensor*> inputs, double rtol,
                                   double atol, int threads = 1, bool may_decline = false) {
  omp_set_num_threads(threads);
  Expected<std::vector<Tensor>> fast = EvaluateNode(node, inputs, KernelPath::kOnednn);
  omp_set_num_threads(1);
  if (!fast.ok()) {
    if (may_decline && fast.status().code() == StatusCode::kUnsupported) return false;
    ADD_FAILURE() << "oneDNN: " << fast.status().message();
    return false;
  }
  Expected<std::vector<Tensor>> ref = EvaluateNode(node, inputs, KernelPath::kReference);
  if (!ref.ok()) {
    ADD_FAILURE() << "reference: " << ref.status().message();
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < ref->size(); ++i) {
    const test_util::CompareResult r =
        test_util::AllClose((*fast)[i].view(), (*ref)[i].view(), rtol, atol);
    if (!r.ok) {
      ADD_FAILURE() << "output " << i << ": " << r.message;
      ok = false;
    }
  }
  return ok;
}

}  // namespace edgerun::onednn_test
