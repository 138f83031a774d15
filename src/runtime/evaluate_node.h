// Runs a single node outside any session, on owning tensors.
//
// Used by constant folding at session creation and by kernel tests: it performs the same
// validate -> infer -> select kernel -> prepare -> invoke sequence as a session, with buffers
// allocated on the heap instead of the arena.
// Usage:
//   Node n; n.op_type = "Add"; n.inputs = {0, 1}; n.outputs = {2}; n.opset = 17;
//   ASSIGN_OR_RETURN(std::vector<Tensor> out, EvaluateNode(n, {&a, &b}));
#pragma once

#include <span>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/session.h"
#include "edgerun/tensor.h"
#include "kernels/kernel.h"
#include "ops/op_def.h"

namespace edgerun {

// Validates arity against the OpDef and infers output types. `constants[i]` may be nullptr.
// Omitted optional inputs have dtype kUndefined. Errors name the node.
Expected<std::vector<TensorType>> InferNode(const Node& node, std::span<const TensorType> inputs,
                                            std::span<const Tensor* const> constants);

// `inputs[i]` nullptr means an omitted optional input. Output count follows node.outputs.
// Every input is visible to the kernel as a constant (weights get packed as in a session).
// Runs prepare -> setup -> invoke on `path` only; `threadpool` may be null. With `num_threads` > 1
// the kernel is prepared as a session of that many threads whose workers spin between layers
// (PrepareContext::share_every_layer), so even small nodes are split across the threads.
Expected<std::vector<Tensor>> EvaluateNode(const Node& node, std::span<const Tensor* const> inputs,
                                           KernelPath path = KernelPath::kReference,
                                           pthreadpool_t threadpool = nullptr, int num_threads = 1);

}  // namespace edgerun
