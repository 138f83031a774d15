#include "runtime/evaluate_node.h"

#include <cstdlib>
#include <memory>

namespace edgerun {

Expected<std::vector<TensorType>> InferNode(const Node& node, std::span<const TensorType> inputs,
                                            std::span<const Tensor* const> constants) {
  const OpDef* def = FindOpDef(node.domain, node.op_type);
  if (def == nullptr) {
    return Unsupported(node.Describe() + ": op '" + node.op_type + "'" +
                       (node.domain.empty() ? "" : " of domain '" + node.domain + "'") +
                       " is not supported");
  }
  const int n_in = static_cast<int>(inputs.size());
  // Trailing omitted inputs do not count towards the minimum.
  int present_tail = n_in;
  while (present_tail > 0 && inputs[present_tail - 1].dtype == DType::kUndefined) --present_tail;
  if (present_tail < def->min_inputs || (def->max_inputs >= 0 && n_in > def->max_inputs)) {
    return InvalidModel(
        node.Describe() + ": has " + std::to_string(n_in) + " inputs, expected " +
        std::to_string(def->min_inputs) +
        (def->max_inputs < 0 ? " or more" : " to " + std::to_string(def->max_inputs)));
  }
  const int n_out = static_cast<int>(node.outputs.size());
  if (n_out < def->min_outputs || (def->max_outputs >= 0 && n_out > def->max_outputs)) {
    return InvalidModel(
        node.Describe() + ": has " + std::to_string(n_out) + " outputs, expected " +
        std::to_string(def->min_outputs) +
        (def->max_outputs < 0 ? " or more" : " to " + std::to_string(def->max_outputs)));
  }
  for (int i = 0; i < n_in; ++i) {
    if (inputs[i].dims.size() > static_cast<size_t>(kMaxRank)) {
      return Unsupported(node.Describe() + ": input " + std::to_string(i) + " has rank " +
                         std::to_string(inputs[i].dims.size()) + ", edgerun supports up to " +
                         std::to_string(kMaxRank));
    }
  }
  std::vector<TensorType> outputs(n_out);
  InferContext ctx(node, inputs, constants, &outputs);
  RETURN_IF_ERROR(def->infer(ctx));
  for (int i = 0; i < n_out; ++i) {
    if (node.outputs[i] == Node::kNoValue) continue;
    const TensorType& t = outputs[i];
    if (t.dtype == DType::kUndefined) {
      return Internal(node.Describe() + ": shape inference left output " + std::to_string(i) +
                      " untyped");
    }
    if (t.dims.size() > static_cast<size_t>(kMaxRank)) {
      return Unsupported(node.Describe() + ": output " + std::to_string(i) + " has rank " +
                         std::to_string(t.dims.size()) + ", edgerun supports up to " +
                         std::to_string(kMaxRank));
    }
    if (NumElements(t.dims) < 0) {
      return InvalidModel(node.Describe() + ": output " + std::to_string(i) + " has invalid dims " +
                          DimsToString(t.dims));
    }
  }
  return outputs;
}

Expected<std::vector<Tensor>> EvaluateNode(const Node& node, std::span<const Tensor* const> inputs,
                                           KernelPath path, pthreadpool_t threadpool,
                                           int num_threads) {
  std::vector<TensorType> in_types(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr) in_types[i] = TensorType{inputs[i]->dtype(), inputs[i]->dims()};
  }
  ASSIGN_OR_RETURN(std::vector<TensorType> out_types, InferNode(node, in_types, inputs));

  const KernelPath order[] = {path};
  SupportContext sctx{node, in_types, inputs, out_types, num_threads, num_threads > 1};
  const KernelDef* kernel = SelectKernel(sctx, order);
  if (kernel == nullptr) {
    return Unsupported(
        node.Describe() + ": no " + std::string(KernelPathName(path)) + " kernel for input dtype " +
        std::string(DTypeName(in_types.empty() ? DType::kUndefined : in_types[0].dtype)));
  }
  PrepareContext pctx{node, in_types, inputs, out_types, num_threads};
  pctx.threadpool = threadpool;
  pctx.share_every_layer = num_threads > 1;
  if (kernel->prepare != nullptr) RETURN_IF_ERROR(kernel->prepare(pctx));

  std::vector<Tensor> outputs(out_types.size());
  std::vector<TensorView> out_views(out_types.size());
  for (size_t i = 0; i < out_types.size(); ++i) {
    if (out_types[i].dtype == DType::kUndefined) continue;
    ASSIGN_OR_RETURN(outputs[i], Tensor::Create(out_types[i].dtype, out_types[i].dims));
    out_views[i] = outputs[i].view();
  }
  std::vector<TensorView> in_views(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr) in_views[i] = inputs[i]->view();
  }
  std::unique_ptr<std::byte, decltype(&std::free)> scratch(nullptr, &std::free);
  if (pctx.scratch_bytes > 0) {
    const size_t rounded =
        (pctx.scratch_bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    scratch.reset(static_cast<std::byte*>(std::aligned_alloc(kTensorAlignment, rounded)));
    if (!scratch) return ResourceExhausted(node.Describe() + ": cannot allocate scratch");
  }
  if (kernel->setup != nullptr) {
    SetupContext setup{node,          pctx.state.get(),   in_views,  out_views,
                       scratch.get(), pctx.scratch_bytes, threadpool};
    RETURN_IF_ERROR(kernel->setup(setup));
  }
  InvokeContext ictx{node,          pctx.state.get(),   in_views,  out_views,
                     scratch.get(), pctx.scratch_bytes, threadpool};
  RETURN_IF_ERROR(kernel->invoke(ictx));
  return outputs;
}

}  // namespace edgerun
