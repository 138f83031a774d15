// FuseExpandDepthwise: an NHWC 1x1 Conv (the "expansion" of an inverted-residual block) whose
// large output only a depthwise NHWC Conv reads => one com.edgerun.nhwc ExpandDepthwiseConv. Its
// oneDNN kernel runs the pair on bands of rows, so the expanded rows are still in cache when the
// depthwise conv reads them. As two layers, MobileNetV2's 16->96 expansion at 112x112 wrote 4.8 MB
// that the stride-2 depthwise conv then read back from memory (0.25 ms of the model's 5.4).
#include <algorithm>
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// Activations both parts of the fused kernel apply (oneDNN post-ops, the SiLU pass, a clamp).
bool HasFusableActivation(const Node& n, std::string_view prefix) {
  if (n.has_attr(std::string(prefix) + "activation_affine")) return false;
  Expected<std::string> act = n.GetString(std::string(prefix) + "activation", "");
  return act.ok() && (act->empty() || *act == "Relu" || *act == "Clip" || *act == "SiLU");
}

bool IntsAre(const Node& n, std::string_view attr, std::vector<int64_t> def,
             const std::vector<int64_t>& want) {
  Expected<std::vector<int64_t>> v = n.GetInts(attr, std::move(def));
  return v.ok() && *v == want;
}

bool IsNhwcConv(const Node& n) {
  return n.domain == kNhwcDomain && n.op_type == "Conv" && n.inputs.size() >= 2 &&
         n.inputs.size() <= 3 && n.outputs.size() == 1;
}

// Weights, and the bias when there is one, constant: the banded kernel packs them.
bool HasConstantParameters(GraphRewriter& rw, const Node& n) {
  if (rw.Constant(n.inputs[1]) == nullptr) return false;
  return n.inputs.size() < 3 || n.inputs[2] < 0 || rw.Constant(n.inputs[2]) != nullptr;
}

Expected<std::string> AutoPad(const Node& n) { return n.GetString("auto_pad", "NOTSET"); }

// A 1x1, stride-1, unpadded, ungrouped conv with constant weights [M, C, 1, 1] and bias.
bool IsExpansion(GraphRewriter& rw, const Node& n) {
  if (!IsNhwcConv(n) || !HasConstantParameters(rw, n)) return false;
  const TensorType w = ValueType(rw.graph(), n.inputs[1]);
  Expected<int64_t> group = n.GetInt("group", 1);
  Expected<std::string> auto_pad = AutoPad(n);
  return w.rank() == 4 && w.dims[2] == 1 && w.dims[3] == 1 && group.ok() && *group == 1 &&
         auto_pad.ok() && (*auto_pad == "NOTSET" || *auto_pad == "VALID") &&
         IntsAre(n, "strides", {1, 1}, {1, 1}) && IntsAre(n, "pads", {0, 0, 0, 0}, {0, 0, 0, 0}) &&
         IntsAre(n, "dilations", {1, 1}, {1, 1}) && HasFusableActivation(n, "");
}

// A depthwise conv (group = channels, one input channel each) with a square 3x3 or 5x5 window,
// stride 1 or 2, no dilation, explicit pads each smaller than the window, constant weights and
// bias.
bool IsDepthwise(GraphRewriter& rw, const Node& n, int64_t channels) {
  if (!IsNhwcConv(n) || !HasConstantParameters(rw, n)) return false;
  const TensorType w = ValueType(rw.graph(), n.inputs[1]);
  if (w.rank() != 4 || w.dims[0] != channels || w.dims[1] != 1 || w.dims[2] != w.dims[3] ||
      (w.dims[2] != 3 && w.dims[2] != 5)) {
    return false;
  }
  Expected<int64_t> group = n.GetInt("group", 1);
  Expected<std::string> auto_pad = AutoPad(n);
  Expected<std::vector<int64_t>> strides = n.GetInts("strides", {1, 1});
  Expected<std::vector<int64_t>> pads = n.GetInts("pads", {0, 0, 0, 0});
  if (!group.ok() || *group != channels || !auto_pad.ok() || *auto_pad != "NOTSET" ||
      !strides.ok() || strides->size() != 2 || (*strides)[0] != (*strides)[1] ||
      ((*strides)[0] != 1 && (*strides)[0] != 2) || !pads.ok() || pads->size() != 4 ||
      !IntsAre(n, "dilations", {1, 1}, {1, 1}) || !HasFusableActivation(n, "")) {
    return false;
  }
  for (int64_t p : *pads) {
    if (p < 0 || p >= w.dims[2]) return false;
  }
  return true;
}

}  // namespace

Status FuseExpandDepthwise(Graph& g, std::vector<std::string>* log, int num_threads,
                           size_t min_bytes_per_thread) {
  GraphRewriter rw(g);
  for (int d = 0; d < rw.num_nodes(); ++d) {
    if (rw.removed(d)) continue;
    const Node& dw = rw.node(d);
    if (!IsNhwcConv(dw) || dw.inputs[0] < 0) continue;
    const int expanded = dw.inputs[0];
    const int e = rw.Producer(expanded);
    if (e < 0 || !rw.HasSoleConsumer(expanded, d) || !IsExpansion(rw, rw.node(e))) continue;
    const TensorType t = ValueType(g, expanded);
    if (t.dtype != DType::kF32 || t.rank() != 4 || !IsStaticType(t) ||
        !IsDepthwise(rw, dw, t.dims[3])) {
      continue;
    }
    const TensorType w = ValueType(g, dw.inputs[1]);
    // A smaller share stays in the core's cache between the two layers anyway.
    const double bytes_per_thread =
        static_cast<double>(t.num_elements()) * sizeof(float) / std::max(1, num_threads);
    if (bytes_per_thread <= static_cast<double>(min_bytes_per_thread) || t.dims[1] < w.dims[2]) {
      continue;
    }
    const Node& expand = rw.node(e);
    Node fused = dw;
    fused.op_type = "ExpandDepthwiseConv";
    fused.name = expand.name + "+" + dw.name;
    fused.inputs = {expand.inputs[0], expand.inputs[1],
                    expand.inputs.size() > 2 ? expand.inputs[2] : Node::kNoValue, dw.inputs[1]};
    if (dw.inputs.size() > 2) fused.inputs.push_back(dw.inputs[2]);
    for (const char* attr : {"activation", "activation_params"}) {
      auto it = expand.attrs.find(attr);
      if (it != expand.attrs.end()) fused.attrs[std::string("expand_") + attr] = it->second;
    }
    if (!CanRunOnReferencePath(g, fused)) continue;
    if (log != nullptr) {
      log->push_back("fused Conv '" + expand.name + "' and depthwise Conv '" + dw.name +
                     "' into ExpandDepthwiseConv (row bands)");
    }
    rw.node(d) = std::move(fused);
    rw.RemoveNode(e);
    rw.Invalidate();
  }
  return rw.Finish();
}

}  // namespace edgerun
