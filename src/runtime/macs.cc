#include "runtime/macs.h"

#include <vector>

namespace edgerun {
namespace {

std::vector<int64_t> DimsOf(const Graph& g, int v) {
  if (v < 0 || !g.values[v].shape) return {};
  return StaticDims(*g.values[v].shape);
}

int64_t Product(const std::vector<int64_t>& d, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < d.size(); ++i) p *= d[i];
  return p;
}

}  // namespace

int64_t EstimateMacs(const Graph& g, const Node& node) {
  const std::string& op = node.op_type;
  if (node.inputs.size() < 2 || node.outputs.empty()) return 0;
  // QLinear ops carry (scale, zero point) after each operand: the weights are input 3.
  const bool qlinear = op == "QLinearConv" || op == "QLinearConvAdd" || op == "QLinearMatMul";
  if (qlinear && node.inputs.size() < 4) return 0;
  const std::vector<int64_t> a = DimsOf(g, node.inputs[0]);
  const std::vector<int64_t> w = DimsOf(g, node.inputs[qlinear ? 3 : 1]);
  const std::vector<int64_t> y = DimsOf(g, node.outputs[0]);
  if (a.empty() || w.empty() || y.empty()) return 0;
  if (op == "Conv" || op == "QLinearConv" || op == "QLinearConvAdd") {
    // Each output element costs (C_in / group) * prod(kernel) = prod(W dims after dim 0).
    return Product(y) * Product(w, 1);
  }
  if (op == "ExpandDepthwiseConv" && node.inputs.size() > 3) {
    // The 1x1 expansion (every input pixel times C * M) and the depthwise conv after it.
    const std::vector<int64_t> dw = DimsOf(g, node.inputs[3]);
    if (dw.empty()) return 0;
    return Product(a) * w.front() + Product(y) * Product(dw, 1);
  }
  if (op == "ConvTranspose") {
    // Each input element scatters into (C_out / group) * prod(kernel) outputs.
    return Product(a) * Product(w, 1);
  }
  if (op == "Gemm" || op == "MatMul" || op == "FusedMatMul" || op == "QLinearMatMul") {
    // K is the contracted dim of A: its last dim (or first when transposed in Gemm).
    auto trans_a = node.GetInt("transA", 0);
    const int64_t k = (op == "Gemm" && trans_a.ok() && *trans_a) ? a.front() : a.back();
    return Product(y) * k;
  }
  return 0;
}

}  // namespace edgerun
