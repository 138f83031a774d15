#include "runtime/infer_and_fold.h"

#include <algorithm>
#include <optional>

#include "ops/op_def.h"
#include "runtime/evaluate_node.h"

namespace edgerun {
namespace {

// Folding larger results would bloat memory for no speed benefit (e.g. a huge ConstantOfShape).
constexpr size_t kMaxFoldedBytes = size_t{64} << 20;

// Ops whose result must not be computed at load time even with constant inputs.
bool NeverFold(const Node& node) {
  return node.op_type == "RandomNormal" || node.op_type == "RandomUniform" ||
         node.op_type == "RandomNormalLike" || node.op_type == "RandomUniformLike" ||
         node.op_type == "Multinomial" || node.op_type == "Bernoulli";
}

Status CheckDeclared(const Graph& graph, const Node& node, int v, const TensorType& inferred) {
  const Value& value = graph.values[v];
  if (value.dtype != DType::kUndefined && value.dtype != inferred.dtype) {
    return InvalidModel(node.Describe() + ": output '" + value.name + "' is declared " +
                        std::string(DTypeName(value.dtype)) + " but computes " +
                        std::string(DTypeName(inferred.dtype)));
  }
  if (!value.shape) return Status::Ok();
  const Shape& declared = *value.shape;
  bool contradiction = declared.size() != inferred.dims.size();
  for (size_t i = 0; !contradiction && i < declared.size(); ++i) {
    contradiction = declared[i].is_static() && declared[i].value != inferred.dims[i];
  }
  if (contradiction) {
    return InvalidModel(node.Describe() + ": output '" + value.name + "' is declared with shape " +
                        ShapeToString(declared) + " but computes " +
                        DimsToString(inferred.dims));
  }
  return Status::Ok();
}

// Shape and Size depend only on their input's static dims, so they fold even when the input
// is computed at run time; this is what collapses exporters' Shape->Gather->Reshape chains.
Expected<std::optional<Tensor>> FoldShapeOnlyOp(const Node& node, const TensorType& input) {
  if (node.domain != "" && node.domain != "ai.onnx") return std::optional<Tensor>();
  if (node.op_type == "Size") {
    return std::optional<Tensor>(
        Tensor::FromVector(DType::kI64, {}, std::vector<int64_t>{input.num_elements()}));
  }
  if (node.op_type != "Shape") return std::optional<Tensor>();
  const int64_t rank = input.rank();
  ASSIGN_OR_RETURN(int64_t start, node.GetInt("start", 0));
  ASSIGN_OR_RETURN(int64_t end, node.GetInt("end", rank));
  auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
  start = clamp(start);
  end = clamp(end);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(input.dims[i]);
  const int64_t n = static_cast<int64_t>(dims.size());
  return std::optional<Tensor>(Tensor::FromVector(DType::kI64, {n}, dims));
}

}  // namespace

Status BindInputShapes(Graph& graph, const SessionOptions& options) {
  for (const auto& [name, dims] : options.input_shapes) {
    const int v = graph.FindValue(name);
    if (v < 0 || !graph.IsGraphInput(v)) {
      std::string known;
      for (int in : graph.inputs) known += (known.empty() ? "" : ", ") + graph.values[in].name;
      return InvalidArgument("--shape names input '" + name + "', but the model's inputs are: " +
                             known);
    }
  }
  for (const auto& [name, tensor] : options.constant_inputs) {
    const int v = graph.FindValue(name);
    if (v < 0 || !graph.IsGraphInput(v)) {
      return InvalidArgument("constant input '" + name + "' is not an input of the model");
    }
    Value& value = graph.values[v];
    if (value.dtype != tensor.dtype()) {
      return InvalidArgument("constant input '" + name + "' is " +
                             std::string(DTypeName(tensor.dtype())) + ", the model declares " +
                             std::string(DTypeName(value.dtype)));
    }
    if (value.shape) {
      bool fits = value.shape->size() == tensor.dims().size();
      for (size_t i = 0; fits && i < tensor.dims().size(); ++i) {
        fits = !(*value.shape)[i].is_static() || (*value.shape)[i].value == tensor.dims()[i];
      }
      if (!fits) {
        return InvalidArgument("constant input '" + name + "' has shape " +
                               DimsToString(tensor.dims()) + ", the model declares " +
                               ShapeToString(*value.shape));
      }
    }
    value.shape = ShapeFromDims(tensor.dims());
    value.constant = std::make_shared<const Tensor>(tensor);
    graph.inputs.erase(std::find(graph.inputs.begin(), graph.inputs.end(), v));
  }
  for (int v : graph.inputs) {
    Value& value = graph.values[v];
    if (value.dtype == DType::kUndefined) {
      return InvalidModel("input '" + value.name + "' has no element type");
    }
    auto given = options.input_shapes.find(value.name);
    if (given != options.input_shapes.end()) {
      const std::vector<int64_t>& dims = given->second;
      if (value.shape && value.shape->size() != dims.size()) {
        return InvalidArgument("input '" + value.name + "': shape " + DimsToString(dims) +
                               " has rank " + std::to_string(dims.size()) +
                               ", the model declares " + ShapeToString(*value.shape) + " (rank " +
                               std::to_string(value.shape->size()) + ")");
      }
      for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] < 0) {
          return InvalidArgument("input '" + value.name + "': dim " + std::to_string(i) +
                                 " is negative");
        }
        if (value.shape && (*value.shape)[i].is_static() && (*value.shape)[i].value != dims[i]) {
          return InvalidArgument("input '" + value.name + "': dim " + std::to_string(i) + " is " +
                                 std::to_string(dims[i]) + ", but the model fixes it to " +
                                 std::to_string((*value.shape)[i].value) + " (model shape " +
                                 ShapeToString(*value.shape) + ")");
        }
      }
      value.shape = ShapeFromDims(dims);
      continue;
    }
    if (!value.shape) {
      return InvalidArgument("input '" + value.name +
                             "' has unknown rank; give its shape with --shape " + value.name +
                             "=DxDx...");
    }
    for (size_t i = 0; i < value.shape->size(); ++i) {
      Dim& d = (*value.shape)[i];
      if (d.is_static()) continue;
      auto sym = d.symbol.empty() ? options.symbol_values.end() : options.symbol_values.find(d.symbol);
      if (sym != options.symbol_values.end()) {
        d = Dim(sym->second);
      } else if (options.default_dim_value >= 0) {
        d = Dim(options.default_dim_value);
      } else {
        return InvalidArgument("input '" + value.name + "' dim " + std::to_string(i) + " ('" +
                               (d.symbol.empty() ? "?" : d.symbol) +
                               "') is dynamic; set it with --shape " + value.name + "=" +
                               ShapeToString(*value.shape));
      }
    }
  }
  return Status::Ok();
}

std::vector<const Node*> FindUnknownOps(const Graph& graph) {
  std::vector<const Node*> unknown;
  for (const Node& node : graph.nodes) {
    if (FindOpDef(node.domain, node.op_type) == nullptr) unknown.push_back(&node);
  }
  return unknown;
}

Status InferShapesAndFold(Graph& graph, bool fold, FoldMode mode) {
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (Node& node : graph.nodes) {
    const size_t n_in = node.inputs.size();
    std::vector<TensorType> in_types(n_in);
    std::vector<const Tensor*> constants(n_in, nullptr);
    bool all_constant = true;
    for (size_t i = 0; i < n_in; ++i) {
      const int v = node.inputs[i];
      if (v == Node::kNoValue) continue;
      const Value& value = graph.values[v];
      if (!value.shape || !IsStatic(*value.shape) || value.dtype == DType::kUndefined) {
        return Internal(node.Describe() + ": input '" + value.name + "' has no static type");
      }
      in_types[i] = TensorType{value.dtype, StaticDims(*value.shape)};
      constants[i] = value.constant.get();
      all_constant = all_constant && value.is_constant();
    }
    ASSIGN_OR_RETURN(std::vector<TensorType> out_types, InferNode(node, in_types, constants));
    size_t out_bytes = 0;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const int v = node.outputs[i];
      if (v == Node::kNoValue) continue;
      RETURN_IF_ERROR(CheckDeclared(graph, node, v, out_types[i]));
      graph.values[v].dtype = out_types[i].dtype;
      graph.values[v].shape = ShapeFromDims(out_types[i].dims);
      out_bytes += static_cast<size_t>(out_types[i].num_elements()) * DTypeSize(out_types[i].dtype);
    }
    if (fold && !all_constant && node.outputs.size() == 1 && node.outputs[0] != Node::kNoValue &&
        !in_types.empty()) {
      ASSIGN_OR_RETURN(std::optional<Tensor> folded, FoldShapeOnlyOp(node, in_types[0]));
      if (folded) {
        graph.values[node.outputs[0]].constant = std::make_shared<const Tensor>(std::move(*folded));
        continue;
      }
    }
    const bool kept_dequantize = mode == FoldMode::kKeepDequantize &&
                                 node.op_type == "DequantizeLinear" &&
                                 (node.domain.empty() || node.domain == "ai.onnx");
    if (fold && all_constant && !NeverFold(node) && !kept_dequantize &&
        out_bytes <= kMaxFoldedBytes) {
      ASSIGN_OR_RETURN(std::vector<Tensor> results, EvaluateNode(node, constants));
      for (size_t i = 0; i < node.outputs.size(); ++i) {
        const int v = node.outputs[i];
        if (v == Node::kNoValue) continue;
        graph.values[v].constant = std::make_shared<const Tensor>(std::move(results[i]));
      }
      continue;  // the node is gone: its outputs are constants now
    }
    kept.push_back(std::move(node));
  }
  graph.nodes = std::move(kept);
  graph.CompactValues();
  return Status::Ok();
}

}  // namespace edgerun
