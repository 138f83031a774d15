// FuseMatMulBias.
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// The bias as a constant of shape [n]: `v` itself when it already is one, a new constant when
// it is [1, ..., 1, n] or a single element (broadcast along the last dim); -1 when it would
// broadcast along any other dim.
int BiasAsVector(GraphRewriter& rw, int v, int64_t n, int out_rank) {
  const Tensor* t = rw.Constant(v);
  if (t == nullptr || t->dtype() != DType::kF32 || t->rank() > out_rank) return -1;
  for (int i = 0; i + 1 < t->rank(); ++i) {
    if (t->dims()[i] != 1) return -1;
  }
  const int64_t last = t->rank() == 0 ? 1 : t->dims().back();
  if (last != n && last != 1) return -1;
  if (t->rank() == 1 && last == n) return v;
  Expected<Tensor> vec = Tensor::Create(DType::kF32, {n});
  if (!vec.ok()) return -1;
  float* dst = vec->mutable_data<float>();
  for (int64_t i = 0; i < n; ++i) dst[i] = t->data<float>()[last == n ? i : 0];
  return rw.AddConstant(rw.graph().values[v].name + "_vec", std::move(vec).value());
}

bool TryFuse(GraphRewriter& rw, int a, std::vector<std::string>* log) {
  Graph& g = rw.graph();
  const Node& add = rw.node(a);
  if (!IsOnnxOp(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) return false;
  for (int i = 0; i < 2; ++i) {
    const int m = add.inputs[i], bias = add.inputs[1 - i];
    if (m < 0 || bias < 0 || m == bias || !g.values[bias].is_constant()) continue;
    if (!rw.HasSoleConsumer(m, a)) continue;
    const int p = rw.Producer(m);
    if (p < 0) continue;
    const Node& mm = rw.node(p);
    if (!IsOnnxOp(mm, "MatMul") || mm.inputs.size() != 2 || mm.outputs.size() != 1) continue;
    const int lhs = mm.inputs[0], rhs = mm.inputs[1];
    const TensorType mt = ValueType(g, m), at = ValueType(g, lhs), bt = ValueType(g, rhs);
    if (mt.dtype != DType::kF32 || mt.rank() < 1 || !g.values[rhs].is_constant() ||
        !g.values[m].quant.empty() || !g.values[lhs].quant.empty()) {
      continue;
    }
    // The sum must keep the product's shape, i.e. the bias broadcasts only along the last dim.
    if (!(ValueType(g, add.outputs[0]) == mt)) continue;
    const int64_t n = mt.dims.back();
    const int bias_vec = BiasAsVector(rw, bias, n, mt.rank());
    if (bias_vec < 0) continue;

    Node fused;
    fused.name = mm.name;
    fused.opset = mm.opset;
    fused.inputs = {lhs, rhs, bias_vec};
    fused.outputs = {add.outputs[0]};
    const bool gemm = at.rank() == 2 && bt.rank() == 2;
    if (gemm) {
      fused.op_type = "Gemm";
    } else {
      fused.op_type = "FusedMatMul";
      fused.domain = std::string(kEdgerunDomain);
    }
    if (!CanRunOnReferencePath(g, fused)) continue;  // the new bias constant, if any, is dropped
    const std::string what = "fused MatMul '" + mm.name + "' and Add '" + add.name + "' into " +
                             fused.op_type + " '" + fused.name + "'";
    rw.node(p) = std::move(fused);
    rw.RemoveNode(a);
    if (log != nullptr) log->push_back(what);
    return true;
  }
  return false;
}

}  // namespace

Status FuseMatMulBias(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (!rw.removed(n)) TryFuse(rw, n, log);
  }
  return rw.Finish();
}

}  // namespace edgerun
