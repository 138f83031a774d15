// OrderCommutativeOperands: a broadcast operand of Add or Mul goes second.
//
// Elementwise kernels may write their output over input 0 (KernelDef::in_place_input) when it has
// the output's size and no later reader. Exporters write a squeeze-excitation scale as
// Mul(scale, x) (torchvision's EfficientNet and MobileNetV3), which kept x's buffer from being
// reused: the Mul read 1.6 MB and wrote 1.6 MB more into memory the cache had not seen yet.
// a + b and a * b are the same float operation either way round, so the swap changes no result.
#include <string>
#include <utility>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {

Status OrderCommutativeOperands(Graph& g, std::vector<std::string>* log) {
  for (Node& node : g.nodes) {
    if ((!IsOnnxOp(node, "Add") && !IsOnnxOp(node, "Mul")) || node.inputs.size() != 2 ||
        node.outputs.size() != 1) {
      continue;
    }
    const int a = node.inputs[0], b = node.inputs[1], y = node.outputs[0];
    if (a < 0 || b < 0 || y < 0 || !g.values[a].shape || !g.values[b].shape || !g.values[y].shape) {
      continue;
    }
    // Swap when b alone has the output's shape: a broadcasts into it.
    const Shape& out = *g.values[y].shape;
    if (*g.values[b].shape == out && *g.values[a].shape != out &&
        g.values[b].dtype == g.values[y].dtype) {
      std::swap(node.inputs[0], node.inputs[1]);
      if (log != nullptr) {
        log->push_back("OrderCommutativeOperands: " + node.name + " takes its full-size operand '" +
                       g.values[b].name + "' first");
      }
    }
  }
  return Status::Ok();
}

}  // namespace edgerun
