// FoldPadIntoConv.
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// The Pad node's pads as [begin..., end...] when it is a zero constant pad; empty otherwise.
std::vector<int64_t> ZeroConstantPads(GraphRewriter& rw, const Node& pad, int rank) {
  std::vector<int64_t> pads;
  if (pad.opset < 11) {
    pads = ValueOr(pad.GetInts("pads", {}), std::vector<int64_t>{});
    if (ValueOr(pad.GetFloat("value", 0.f), 1.f) != 0.f) return {};
  } else {
    if (pad.inputs.size() < 2 || pad.inputs.size() > 3) return {};
    const Tensor* p = rw.Constant(pad.inputs[1]);
    if (p == nullptr || p->dtype() != DType::kI64) return {};
    pads.assign(p->data<int64_t>(), p->data<int64_t>() + p->num_elements());
    if (pad.inputs.size() == 3 && pad.inputs[2] >= 0 &&
        !IsScalarConstant(rw.graph(), pad.inputs[2], 0.0, 0.0)) {
      return {};
    }
  }
  if (ValueOr(pad.GetString("mode", "constant"), std::string()) != "constant") return {};
  if (static_cast<int>(pads.size()) != 2 * rank) return {};
  for (int64_t p : pads) {
    if (p < 0) return {};
  }
  return pads;
}

}  // namespace

Status FoldPadIntoConv(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
    Node& conv = rw.node(n);
    if (!IsOnnxOp(conv, "Conv") || conv.inputs.empty() || conv.inputs[0] < 0) continue;
    if (ValueOr(conv.GetString("auto_pad", "NOTSET"), std::string()) != "NOTSET") continue;
    const int x = conv.inputs[0];
    const int p = rw.Producer(x);
    if (p < 0 || !rw.HasSoleConsumer(x, n)) continue;
    const Node& pad = rw.node(p);
    if (!IsOnnxOp(pad, "Pad") || pad.inputs.empty() || pad.inputs[0] < 0) continue;
    const TensorType xt = ValueType(g, pad.inputs[0]);
    const int rank = xt.rank();
    if (rank < 3 || xt.dtype != DType::kF32) continue;
    const std::vector<int64_t> pads = ZeroConstantPads(rw, pad, rank);
    if (pads.empty()) continue;
    // Only spatial axes: batch and channel padding change the conv's shape contract.
    if (pads[0] || pads[1] || pads[rank] || pads[rank + 1]) continue;
    const int spatial = rank - 2;
    std::vector<int64_t> conv_pads =
        ValueOr(conv.GetInts("pads", {}), std::vector<int64_t>{-1});
    if (conv_pads.empty()) conv_pads.assign(2 * spatial, 0);
    if (static_cast<int>(conv_pads.size()) != 2 * spatial) continue;
    for (int i = 0; i < spatial; ++i) {
      conv_pads[i] += pads[2 + i];
      conv_pads[spatial + i] += pads[rank + 2 + i];
    }
    conv.attrs["pads"] = Attribute::Ints(conv_pads);
    conv.inputs[0] = pad.inputs[0];
    if (log != nullptr) {
      log->push_back("folded Pad '" + pad.name + "' into Conv '" + conv.name + "'");
    }
    rw.RemoveNode(p);
    rw.Invalidate();
  }
  return rw.Finish();
}

}  // namespace edgerun
