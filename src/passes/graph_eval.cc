#include "passes/graph_eval.h"

#include <optional>
#include <string>

#include "runtime/evaluate_node.h"

namespace edgerun {

Expected<std::vector<Tensor>> EvaluateGraph(const Graph& g, std::span<const Tensor> inputs) {
  if (inputs.size() != g.inputs.size()) {
    return InvalidArgument("graph has " + std::to_string(g.inputs.size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  }
  std::vector<std::optional<Tensor>> env(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (g.values[v].is_constant()) env[v] = *g.values[v].constant;
  }
  for (size_t i = 0; i < inputs.size(); ++i) env[g.inputs[i]] = inputs[i];

  std::vector<const Tensor*> args;
  for (const Node& node : g.nodes) {
    args.assign(node.inputs.size(), nullptr);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (v < 0) continue;
      if (!env[v]) {
        return InvalidModel(node.Describe() + ": input '" + g.values[v].name +
                            "' is not computed before the node");
      }
      args[i] = &*env[v];
    }
    ASSIGN_OR_RETURN(std::vector<Tensor> results, EvaluateNode(node, args));
    for (size_t i = 0; i < node.outputs.size() && i < results.size(); ++i) {
      if (node.outputs[i] >= 0) env[node.outputs[i]] = std::move(results[i]);
    }
  }
  std::vector<Tensor> outputs;
  outputs.reserve(g.outputs.size());
  for (int v : g.outputs) {
    if (!env[v]) return InvalidModel("graph output '" + g.values[v].name + "' is never computed");
    outputs.push_back(*env[v]);
  }
  return outputs;
}

}  // namespace edgerun
