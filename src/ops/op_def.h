// Operator semantics: validation and shape/type inference, one OpDef per op type.
//
// Inference runs at session creation, node by node in topological order, with every input's
// dtype and static dims known (symbolic dims are bound first). Inputs that are constants expose
// their data, which is how Reshape's shape input or Slice's starts are read. An OpDef validates
// attributes and inputs and sets each output's dtype and dims, or returns an error naming the
// node. Op families live in src/ops/<family>.cc and are gathered into one explicit table in
// op_table.cc (no static registration).
// Usage (inside an op family file):
//   Status InferRelu(InferContext& ctx) {
//     ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).dims);
//     return Status::Ok();
//   }
//   constexpr OpDef kDefs[] = {{"Relu", 1, 1, 1, 1, InferRelu}};
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun {

// A static type: dtype plus concrete dims.
struct TensorType {
  DType dtype = DType::kUndefined;
  std::vector<int64_t> dims;
  int rank() const { return static_cast<int>(dims.size()); }
  int64_t num_elements() const { return NumElements(dims); }
  bool operator==(const TensorType& o) const { return dtype == o.dtype && dims == o.dims; }
};

class InferContext {
 public:
  InferContext(const Node& node, std::span<const TensorType> inputs,
               std::span<const Tensor* const> constants, std::vector<TensorType>* outputs)
      : node_(node), inputs_(inputs), constants_(constants), outputs_(outputs) {}

  const Node& node() const { return node_; }
  int opset() const { return node_.opset; }
  // Number of input slots, including omitted optional ones.
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // True when slot i exists and is not an omitted optional input.
  bool has_input(int i) const {
    return i >= 0 && i < num_inputs() && inputs_[i].dtype != DType::kUndefined;
  }
  const TensorType& input(int i) const { return inputs_[i]; }
  // The input's data when it is a constant (initializer or folded), else nullptr.
  const Tensor* constant(int i) const {
    return i >= 0 && i < static_cast<int>(constants_.size()) ? constants_[i] : nullptr;
  }
  int num_outputs() const { return static_cast<int>(outputs_->size()); }
  void set_output(int i, DType dtype, std::vector<int64_t> dims) {
    (*outputs_)[i] = TensorType{dtype, std::move(dims)};
  }
  const TensorType& output(int i) const { return (*outputs_)[i]; }

  // Error helpers: the message gets the node prefix, e.g. "node 'c1' (Conv): <msg>".
  Status Invalid(std::string_view msg) const {
    return InvalidModel(node_.Describe() + ": " + std::string(msg));
  }
  Status NotSupported(std::string_view msg) const {
    return Unsupported(node_.Describe() + ": " + std::string(msg));
  }

 private:
  const Node& node_;
  std::span<const TensorType> inputs_;
  std::span<const Tensor* const> constants_;
  std::vector<TensorType>* outputs_;
};

using InferFn = Status (*)(InferContext&);

struct OpDef {
  std::string_view op_type;
  int min_inputs;
  int max_inputs;   // -1: variadic
  int min_outputs;
  int max_outputs;  // -1: variadic
  InferFn infer;
  // Domain: "" for ONNX ops (also "ai.onnx"), kEdgerunDomain for internal fused ops.
  std::string_view domain = "";
};

// The op table: every op edgerun understands. Lookup is by (domain, op_type).
std::span<const OpDef> AllOpDefs();
const OpDef* FindOpDef(std::string_view domain, std::string_view op_type);

// Shared inference helpers for op families.
// Multidirectional (numpy) broadcast of two shapes; error names the node when incompatible.
Expected<std::vector<int64_t>> BroadcastDims(const InferContext& ctx,
                                             std::span<const int64_t> a,
                                             std::span<const int64_t> b);
// Maps an ONNX TensorProto element-type code (Cast's `to`, EyeLike's `dtype`...) to a DType;
// string, complex and unknown codes are Unsupported errors naming the node.
Expected<DType> DTypeFromOnnxCode(const InferContext& ctx, int64_t code);
// Normalizes a possibly negative axis into [0, rank); error when out of range.
Expected<int> NormalizeAxis(const InferContext& ctx, int64_t axis, int rank);

}  // namespace edgerun
