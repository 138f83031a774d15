// FuseQLinearResidual: the int8 counterpart of FuseConvResidual. An NHWC QLinearConv (no fused
// activation) whose output is read only by a com.edgerun QLinearAdd, the other addend z of the
// output's shape => com.edgerun.nhwc QLinearConvAdd (the conv's nine inputs, then z, z_scale,
// z_zero_point and the add's output scale and zero point; the add's activation moves along).
// oneDNN then adds z in the conv's epilogue (a sum post-op) instead of a separate pass over three
// tensors, and the output may take z's buffer.
//
// The fused op still quantizes the conv output with its own scale and zero point before adding
// (saturation and rounding included), so the result equals the two nodes' except where the add's
// float arithmetic (oneDNN's, see kernels/ref/qlinear.cc) rounds across a tie: one output step at
// most, rarely.
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// QLinearAdd input slots: a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale,
// c_zero_point.
constexpr int kAddInputs = 8;

bool IsNhwcQLinearConv(const Node& n) {
  return n.domain == kNhwcDomain && n.op_type == "QLinearConv" && n.outputs.size() == 1 &&
         n.inputs.size() >= 8 && n.inputs.size() <= 9 && !n.has_attr("activation");
}

}  // namespace

Status FuseQLinearResidual(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
    const Node& add = rw.node(n);
    if (add.domain != kEdgerunDomain || add.op_type != "QLinearAdd" ||
        static_cast<int>(add.inputs.size()) != kAddInputs || add.outputs.size() != 1 ||
        add.outputs[0] < 0) {
      continue;
    }
    // The conv that runs last, so that the other addend exists when the fused node runs.
    int best_side = -1, best_conv = -1;
    for (int side = 0; side < 2; ++side) {
      const int y = add.inputs[3 * side], z = add.inputs[3 * (1 - side)];
      if (y < 0 || z < 0 || y == z || g.values[z].is_constant()) continue;
      const int p = rw.Producer(y);
      if (p < 0 || !rw.HasSoleConsumer(y, n) || !IsNhwcQLinearConv(rw.node(p))) continue;
      const TensorType yt = ValueType(g, y), zt = ValueType(g, z);
      const TensorType out = ValueType(g, add.outputs[0]);
      if (yt.rank() != 4 || yt.dims != zt.dims || out.dims != yt.dims || !IsQuantized(zt.dtype)) {
        continue;
      }
      if (rw.Producer(z) > p || p <= best_conv) continue;
      best_side = side;
      best_conv = p;
    }
    if (best_conv < 0) continue;
    const int z_slot = 3 * (1 - best_side);
    Node fused = rw.node(best_conv);
    fused.op_type = "QLinearConvAdd";
    fused.inputs.resize(9, Node::kNoValue);
    for (int i = 0; i < 3; ++i) fused.inputs.push_back(add.inputs[z_slot + i]);
    fused.inputs.push_back(add.inputs[6]);
    fused.inputs.push_back(add.inputs[7]);
    fused.outputs = {add.outputs[0]};
    for (const char* attr : {"activation", "activation_params"}) {
      auto it = add.attrs.find(attr);
      if (it != add.attrs.end()) fused.attrs[attr] = it->second;
    }
    if (!CanRunOnReferencePath(g, fused)) continue;
    const std::string what = "fused QLinearAdd '" + add.name + "' into QLinearConv '" +
                             rw.node(best_conv).name + "' (residual)";
    rw.node(best_conv) = std::move(fused);
    rw.RemoveNode(n);
    rw.Invalidate();
    if (log != nullptr) log->push_back(what);
  }
  return rw.Finish();
}

}  // namespace edgerun
