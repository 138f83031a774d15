// FoldQdq: QDQ int8 patterns (the format ONNX Runtime's static quantizer writes) into int8 ops.
//
// A QDQ model keeps float operators and marks where tensors are int8: every quantized
// activation goes through QuantizeLinear (Q) -> DequantizeLinear (DQ), weights are int8
// constants behind a DQ, biases int32 constants behind a DQ (or plain floats). The pass reads
// each Q backwards: Q <- [Relu/Clip] <- op <- DQ inputs. When every scale and zero point is a
// constant and the intermediate float values have no other reader, the chain becomes one int8
// op reading the int8 tensors directly and writing the Q's output. The DQ nodes it read from
// stay while other nodes read them; the ones left dead are removed at the end.
// Conv biases are requantized to int32 with scale x_scale * w_scale[c] (float product, as ONNX
// Runtime computes it), rounding half to even; a DQ(int32) bias with exactly that scale keeps
// its integers.
// The classifier of torchvision-style models, GlobalAveragePool -> Flatten -> Gemm, folds too:
// DQ -> Flatten/Reshape -> Q with equal parameters runs the reshape on the int8 tensor, and a
// Gemm(DQ(a), DQ(int8 W), bias) -> Q whose `a` is such an int8 Flatten of an [N, K, 1, 1]
// tensor becomes a 1x1 QLinearConv on that tensor (the Flatten's slot) followed by a Flatten of
// its [N, M, 1, 1] output (the Gemm's slot): the int8 conv kernels take the bias and per-channel
// weight scales that QLinearMatMul has no room for.
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// The constant parameters of one QuantizeLinear / DequantizeLinear node.
struct QdqParams {
  int data = -1;                    // input 0: float for Q, int for DQ
  int scale = -1;                   // value index of the scale constant
  int zero_point = -1;              // value index of the zero-point constant; -1 when omitted
  DType qtype = DType::kUndefined;  // the integer side: DQ's input, Q's output
  std::vector<float> scales;
  std::vector<int64_t> zero_points;  // one per scale (zeros when omitted)
  int axis = -1;                     // normalized per-axis axis; -1 per tensor

  bool per_tensor() const { return axis < 0; }
  bool SameAs(const QdqParams& o) const {
    return qtype == o.qtype && axis == o.axis && scales == o.scales && zero_points == o.zero_points;
  }
};

// Reads the parameters of node `n` (a DQ when `dequantize`, else a Q); nullopt when they are not
// constants or have a shape the int8 ops do not take.
std::optional<QdqParams> ReadParams(GraphRewriter& rw, int n, bool dequantize) {
  const Node& node = rw.node(n);
  if (!IsOnnxOp(node, dequantize ? "DequantizeLinear" : "QuantizeLinear")) return std::nullopt;
  if (node.inputs.size() < 2 || node.inputs.size() > 3 || node.outputs.size() != 1 ||
      node.inputs[0] < 0 || node.inputs[1] < 0 || node.outputs[0] < 0) {
    return std::nullopt;
  }
  QdqParams p;
  p.data = node.inputs[0];
  p.scale = node.inputs[1];
  p.zero_point = node.inputs.size() > 2 ? node.inputs[2] : -1;
  p.qtype = rw.value(dequantize ? node.inputs[0] : node.outputs[0]).dtype;
  if (!IsQuantized(p.qtype) && !(dequantize && p.qtype == DType::kI32)) return std::nullopt;
  const Tensor* scale = rw.Constant(p.scale);
  if (scale == nullptr || scale->dtype() != DType::kF32 || scale->num_elements() < 1) {
    return std::nullopt;
  }
  p.scales = scale->ToFloatVector();
  for (float s : p.scales) {
    if (!(s > 0) || !std::isfinite(s)) return std::nullopt;
  }
  if (p.zero_point >= 0) {
    const Tensor* zp = rw.Constant(p.zero_point);
    if (zp == nullptr || zp->num_elements() != scale->num_elements()) return std::nullopt;
    p.zero_points = zp->ToInt64Vector();
  } else {
    p.zero_points.assign(p.scales.size(), 0);
  }
  if (scale->num_elements() > 1 || scale->rank() > 1) {
    const TensorType data = ValueType(rw.graph(), p.data);
    const int64_t axis_attr = ValueOr(node.GetInt("axis", 1), int64_t{1});
    const int64_t axis = axis_attr < 0 ? axis_attr + data.rank() : axis_attr;
    if (scale->rank() != 1 || axis < 0 || axis >= data.rank() ||
        data.dims[axis] != scale->num_elements()) {
      return std::nullopt;
    }
    p.axis = static_cast<int>(axis);
  }
  return p;
}

// Parameters of the DQ producing value `v`, if any.
std::optional<QdqParams> DqOf(GraphRewriter& rw, int v) {
  const int p = rw.Producer(v);
  if (p < 0) return std::nullopt;
  return ReadParams(rw, p, /*dequantize=*/true);
}

// A Relu/Clip to fuse, as the "activation"/"activation_params" attributes.
struct Clamp {
  std::string name;
  std::vector<float> params;
};

std::optional<Clamp> DescribeClamp(GraphRewriter& rw, const Node& a) {
  if (a.inputs.empty() || a.inputs[0] < 0 || a.outputs.size() != 1) return std::nullopt;
  if (IsOnnxOp(a, "Relu") && a.inputs.size() == 1) return Clamp{"Relu", {}};
  if (!IsOnnxOp(a, "Clip")) return std::nullopt;
  float lo = std::numeric_limits<float>::lowest();
  float hi = std::numeric_limits<float>::max();
  if (a.opset < 11) {
    Expected<float> min = a.GetFloat("min", lo);
    Expected<float> max = a.GetFloat("max", hi);
    if (!min.ok() || !max.ok()) return std::nullopt;
    lo = *min;
    hi = *max;
  } else {
    for (size_t i = 1; i < a.inputs.size() && i < 3; ++i) {
      if (a.inputs[i] < 0) continue;
      const Tensor* t = rw.Constant(a.inputs[i]);
      if (t == nullptr || t->num_elements() != 1) return std::nullopt;
      (i == 1 ? lo : hi) = static_cast<float>(t->ScalarAsDouble(0));
    }
  }
  if (!(lo <= hi)) return std::nullopt;
  return Clamp{"Clip", {lo, hi}};
}

// The activation already fused into `op` (by FuseActivations): absent, Relu/Clip, or nullopt for
// one the int8 ops cannot take.
std::optional<std::optional<Clamp>> ExistingClamp(const Node& op) {
  const std::string name = ValueOr(op.GetString("activation", ""), std::string("?"));
  const std::vector<float> params =
      ValueOr(op.GetFloats("activation_params", {}), std::vector<float>{});
  if (name.empty()) return std::optional<Clamp>();
  if (name == "Relu" || name == "Clip") return std::optional<Clamp>(Clamp{name, params});
  return std::nullopt;
}

// The matched chain: q_node reads `core`'s output, possibly through `act_node`.
struct Chain {
  int q_node = -1;
  int act_node = -1;
  int core = -1;
  QdqParams q;
  std::optional<Clamp> clamp;
};

class QdqFolder {
 public:
  QdqFolder(Graph& g, std::vector<std::string>* log) : g_(g), rw_(g), log_(log) {}

  Status Run() {
    for (int n = 0; n < rw_.num_nodes(); ++n) {
      if (rw_.removed(n) || !IsOnnxOp(rw_.node(n), "QuantizeLinear")) continue;
      std::optional<QdqParams> q = ReadParams(rw_, n, /*dequantize=*/false);
      if (!q || !q->per_tensor() || !IsQuantized(q->qtype)) continue;
      if (TryQdqIdentity(n, *q)) continue;
      std::optional<Chain> chain = MatchChain(n, *q);
      if (!chain) continue;
      const Node& core = rw_.node(chain->core);
      if (IsOnnxOp(core, "Conv")) {
        TryConv(*chain);
      } else if (IsOnnxOp(core, "MatMul")) {
        TryMatMul(*chain);
      } else if (IsOnnxOp(core, "Add")) {
        TryAdd(*chain);
      } else if (IsOnnxOp(core, "GlobalAveragePool")) {
        TryGlobalAveragePool(*chain);
      } else if (IsOnnxOp(core, "MaxPool")) {
        TryMaxPool(*chain);
      } else if (IsOnnxOp(core, "Flatten") || IsOnnxOp(core, "Reshape")) {
        TryReshape(*chain);
      } else if (IsOnnxOp(core, "Gemm")) {
        TryGemm(*chain);
      }
    }
    RemoveDeadQdq();
    return rw_.Finish();
  }

 private:
  // Q <- [Relu/Clip] <- core, where each intermediate value has that single reader.
  std::optional<Chain> MatchChain(int q_node, const QdqParams& q) {
    Chain c;
    c.q_node = q_node;
    c.q = q;
    const int y = q.data;
    if (g_.values[y].dtype != DType::kF32 || !rw_.HasSoleConsumer(y, q_node)) return std::nullopt;
    int p = rw_.Producer(y);
    if (p < 0) return std::nullopt;
    if (std::optional<Clamp> clamp = DescribeClamp(rw_, rw_.node(p))) {
      const int x = rw_.node(p).inputs[0];
      if (!rw_.HasSoleConsumer(x, p)) return std::nullopt;
      c.act_node = p;
      c.clamp = clamp;
      p = rw_.Producer(x);
      if (p < 0) return std::nullopt;
    }
    const Node& core = rw_.node(p);
    if (core.outputs.empty() || core.outputs[0] < 0) return std::nullopt;
    for (size_t i = 1; i < core.outputs.size(); ++i) {
      if (core.outputs[i] >= 0) return std::nullopt;  // e.g. MaxPool indices
    }
    std::optional<std::optional<Clamp>> existing = ExistingClamp(core);
    if (!existing) return std::nullopt;
    if (*existing) {
      if (c.act_node >= 0) return std::nullopt;  // two activations: leave it alone
      c.clamp = *existing;
    }
    c.core = p;
    return c;
  }

  // The zero-point value of `p`, made a scalar zero constant when the model omitted it.
  int ZeroPointValue(const QdqParams& p) {
    if (p.zero_point >= 0) return p.zero_point;
    Tensor zero = p.qtype == DType::kI8
                      ? Tensor::FromVector(DType::kI8, {}, std::vector<int8_t>{0})
                      : Tensor::FromVector(DType::kU8, {}, std::vector<uint8_t>{0});
    return rw_.AddConstant(g_.values[p.data].name + "_zero_point", std::move(zero));
  }

  void SetActivation(Node& node, const std::optional<Clamp>& clamp) {
    node.attrs.erase("activation");
    node.attrs.erase("activation_params");
    if (!clamp) return;
    node.attrs["activation"] = Attribute::String(clamp->name);
    if (!clamp->params.empty()) node.attrs["activation_params"] = Attribute::Floats(clamp->params);
  }

  // Replaces the chain with `fused` in the core's slot (its inputs all precede the core, its
  // output's readers all follow the Q), if a reference kernel can run it.
  bool Commit(const Chain& c, Node fused) {
    if (!CanRunOnReferencePath(g_, fused)) return false;
    const std::string what = rw_.node(c.core).Describe();
    const std::string op = fused.op_type;
    rw_.node(c.core) = std::move(fused);
    rw_.RemoveNode(c.q_node);
    if (c.act_node >= 0) rw_.RemoveNode(c.act_node);
    rw_.Invalidate();
    if (log_ != nullptr) log_->push_back("fold_qdq: " + what + " -> " + op);
    return true;
  }

  Node MakeFused(const Chain& c, std::string op_type, std::string_view domain,
                 std::vector<int> inputs) {
    const Node& core = rw_.node(c.core);
    Node fused;
    fused.name = core.name;
    fused.op_type = std::move(op_type);
    fused.domain = std::string(domain);
    fused.opset = std::max(core.opset, 10);  // the QLinear ops exist from opset 10
    fused.inputs = std::move(inputs);
    fused.outputs = {rw_.node(c.q_node).outputs[0]};
    return fused;
  }

  // Per-tensor u8/i8 activation input.
  std::optional<QdqParams> ActivationDq(int v) {
    std::optional<QdqParams> p = DqOf(rw_, v);
    if (!p || !p->per_tensor() || !IsQuantized(p->qtype)) return std::nullopt;
    return p;
  }

  // Bias as int32 with scale x_scale * w_scale[m]: from float constants, or from a DQ of int32
  // constants (integers kept when the scales agree). nullopt when not representable.
  std::optional<Tensor> QuantizedBias(int v, const QdqParams& x, const QdqParams& w, int64_t m) {
    std::vector<double> real(static_cast<size_t>(m));
    if (const Tensor* b = rw_.Constant(v)) {
      if (b->dtype() != DType::kF32 || b->num_elements() != m) return std::nullopt;
      const std::vector<float> f = b->ToFloatVector();
      for (int64_t i = 0; i < m; ++i) real[i] = f[i];
    } else {
      std::optional<QdqParams> dq = DqOf(rw_, v);
      if (!dq || dq->qtype != DType::kI32) return std::nullopt;
      const Tensor* q = rw_.Constant(dq->data);
      if (q == nullptr || q->num_elements() != m || (!dq->per_tensor() && dq->axis != 0)) {
        return std::nullopt;
      }
      const std::vector<int64_t> ints = q->ToInt64Vector();
      for (int64_t i = 0; i < m; ++i) {
        const size_t c = dq->per_tensor() ? 0 : static_cast<size_t>(i);
        real[i] = static_cast<double>(ints[i] - dq->zero_points[c]) * dq->scales[c];
      }
    }
    std::vector<int32_t> out(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
      const float scale = x.scales[0] * w.scales[w.per_tensor() ? 0 : i];
      if (!(scale > 0) || !std::isfinite(scale)) return std::nullopt;
      const double r = real[i] / static_cast<double>(scale);
      // Round half to even, as QuantizeLinear does.
      double q = std::round(r);
      if (std::fabs(q - r) == 0.5) q = 2.0 * std::round(0.5 * r);
      if (!(std::fabs(q) <= std::numeric_limits<int32_t>::max())) return std::nullopt;
      out[i] = static_cast<int32_t>(q);
    }
    return Tensor::FromVector(DType::kI32, {m}, out);
  }

  void TryConv(const Chain& c) {
    const Node& conv = rw_.node(c.core);
    if (conv.inputs.size() < 2 || conv.inputs.size() > 3 || conv.outputs.size() != 1) return;
    std::optional<QdqParams> x = ActivationDq(conv.inputs[0]);
    std::optional<QdqParams> w = DqOf(rw_, conv.inputs[1]);
    if (!x || !w || !IsQuantized(w->qtype) || rw_.Constant(w->data) == nullptr) return;
    const TensorType wt = ValueType(g_, w->data);
    if (wt.rank() < 3) return;
    const int64_t m = wt.dims[0];
    if (!w->per_tensor() && w->axis != 0) return;  // per output channel only
    int bias = -1;
    if (conv.inputs.size() > 2 && conv.inputs[2] >= 0) {
      std::optional<Tensor> b = QuantizedBias(conv.inputs[2], *x, *w, m);
      if (!b) return;
      bias = rw_.AddConstant(conv.name + "_bias_int32", std::move(*b));
    }
    std::vector<int> inputs = {x->data,   x->scale,           ZeroPointValue(*x),
                               w->data,   w->scale,           ZeroPointValue(*w),
                               c.q.scale, ZeroPointValue(c.q)};
    if (bias >= 0) inputs.push_back(bias);
    Node fused = MakeFused(c, "QLinearConv", "", std::move(inputs));
    fused.attrs = conv.attrs;
    SetActivation(fused, c.clamp);
    Commit(c, std::move(fused));
  }

  void TryMatMul(const Chain& c) {
    const Node& mm = rw_.node(c.core);
    if (mm.inputs.size() != 2) return;
    std::optional<QdqParams> a = ActivationDq(mm.inputs[0]);
    std::optional<QdqParams> b = DqOf(rw_, mm.inputs[1]);
    if (!a || !b || !IsQuantized(b->qtype)) return;
    const TensorType bt = ValueType(g_, b->data);
    if (!b->per_tensor() && (bt.rank() < 2 || b->axis != bt.rank() - 1)) return;  // per column
    Node fused = MakeFused(c, "QLinearMatMul", "",
                           {a->data, a->scale, ZeroPointValue(*a), b->data, b->scale,
                            ZeroPointValue(*b), c.q.scale, ZeroPointValue(c.q)});
    SetActivation(fused, c.clamp);
    Commit(c, std::move(fused));
  }

  void TryAdd(const Chain& c) {
    const Node& add = rw_.node(c.core);
    if (add.inputs.size() != 2) return;
    std::optional<QdqParams> a = ActivationDq(add.inputs[0]);
    std::optional<QdqParams> b = ActivationDq(add.inputs[1]);
    if (!a || !b) return;
    Node fused = MakeFused(c, "QLinearAdd", kEdgerunDomain,
                           {a->data, a->scale, ZeroPointValue(*a), b->data, b->scale,
                            ZeroPointValue(*b), c.q.scale, ZeroPointValue(c.q)});
    SetActivation(fused, c.clamp);
    Commit(c, std::move(fused));
  }

  void TryGlobalAveragePool(const Chain& c) {
    const Node& pool = rw_.node(c.core);
    if (pool.inputs.size() != 1) return;
    std::optional<QdqParams> x = ActivationDq(pool.inputs[0]);
    if (!x) return;
    Node fused = MakeFused(c, "QLinearGlobalAveragePool", kEdgerunDomain,
                           {x->data, x->scale, ZeroPointValue(*x), c.q.scale, ZeroPointValue(c.q)});
    SetActivation(fused, c.clamp);
    Commit(c, std::move(fused));
  }

  // Max commutes with a monotone requantization, and with identical parameters that
  // requantization is the identity: the pool can run on the integers.
  void TryMaxPool(const Chain& c) {
    const Node& pool = rw_.node(c.core);
    if (c.clamp || pool.inputs.size() != 1) return;
    std::optional<QdqParams> x = ActivationDq(pool.inputs[0]);
    if (!x || !x->SameAs(c.q)) return;
    Node fused = pool;
    fused.inputs[0] = x->data;
    fused.outputs = {rw_.node(c.q_node).outputs[0]};
    Commit(c, std::move(fused));
  }

  // Reshapes move bytes only: with identical parameters on both sides they run on the integers.
  void TryReshape(const Chain& c) {
    const Node& node = rw_.node(c.core);
    if (c.clamp || node.inputs.empty()) return;
    std::optional<QdqParams> x = ActivationDq(node.inputs[0]);
    if (!x || !x->SameAs(c.q)) return;
    Node fused = node;
    fused.inputs[0] = x->data;
    fused.outputs = {rw_.node(c.q_node).outputs[0]};
    Commit(c, std::move(fused));
  }

  // Gemm(DQ(a), DQ(W), bias) -> Q where a = Flatten(x) on int8 data and x is [N, K, 1, 1]: the
  // Flatten's slot computes QLinearConv(x, W as [M, K, 1, 1]) into a new [N, M, 1, 1] value, the
  // Gemm's slot flattens it into the Q's output.
  void TryGemm(const Chain& c) {
    const Node& gemm = rw_.node(c.core);
    if (gemm.inputs.size() < 2 || gemm.inputs.size() > 3 || gemm.outputs.size() != 1) return;
    if (ValueOr(gemm.GetFloat("alpha", 1.0f), 0.0f) != 1.0f ||
        ValueOr(gemm.GetFloat("beta", 1.0f), 0.0f) != 1.0f ||
        ValueOr(gemm.GetInt("transA", 0), int64_t{1}) != 0) {
      return;
    }
    const int64_t trans_b = ValueOr(gemm.GetInt("transB", 0), int64_t{-1});
    if (trans_b != 0 && trans_b != 1) return;
    const int dq_a = rw_.Producer(gemm.inputs[0]);
    std::optional<QdqParams> a = ActivationDq(gemm.inputs[0]);
    if (!a || !rw_.HasSoleConsumer(gemm.inputs[0], c.core) || !rw_.HasSoleConsumer(a->data, dq_a)) {
      return;
    }
    const int flat = rw_.Producer(a->data);
    if (flat < 0) return;
    const Node& flatten = rw_.node(flat);
    if (!(IsOnnxOp(flatten, "Flatten") || IsOnnxOp(flatten, "Reshape")) || flatten.inputs.empty() ||
        flatten.inputs[0] < 0 || flatten.outputs.size() != 1) {
      return;
    }
    const int x = flatten.inputs[0];
    const TensorType xt = ValueType(g_, x), at = ValueType(g_, a->data);
    if (xt.rank() != 4 || xt.dims[2] != 1 || xt.dims[3] != 1 || at.rank() != 2 ||
        at.dims[0] != xt.dims[0] || at.dims[1] != xt.dims[1] || xt.dtype != a->qtype) {
      return;
    }
    std::optional<QdqParams> w = DqOf(rw_, gemm.inputs[1]);
    if (!w || w->qtype != DType::kI8) return;
    const Tensor* wq = rw_.Constant(w->data);
    const TensorType wt = ValueType(g_, w->data);
    if (wq == nullptr || wt.rank() != 2) return;
    const int64_t k = xt.dims[1];
    const int64_t m = trans_b ? wt.dims[0] : wt.dims[1];
    if ((trans_b ? wt.dims[1] : wt.dims[0]) != k) return;
    if (!w->per_tensor() && w->axis != (trans_b ? 0 : 1)) return;  // per output channel
    // W as [M, K, 1, 1], and its scale and zero point as the conv's (axis 0).
    std::vector<int8_t> packed(static_cast<size_t>(m * k));
    const int8_t* src = wq->data<int8_t>();
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < k; ++j) packed[i * k + j] = trans_b ? src[i * k + j] : src[j * m + i];
    }
    int bias = -1;
    if (gemm.inputs.size() > 2 && gemm.inputs[2] >= 0) {
      if (ValueType(g_, gemm.inputs[2]).rank() != 1) return;  // per output column only
      std::optional<Tensor> b = QuantizedBias(gemm.inputs[2], *a, *w, m);
      if (!b) return;
      bias = rw_.AddConstant(gemm.name + "_bias_int32", std::move(*b));
    }
    const int w4 = rw_.AddConstant(gemm.name + "_weight_oihw",
                                   Tensor::FromVector(DType::kI8, {m, k, 1, 1}, packed));
    const Node& q = rw_.node(c.q_node);
    std::string name = g_.values[q.outputs[0]].name + "_4d";
    while (NameTaken(name)) name += "_";
    const int y4 = g_.AddValue(name, c.q.qtype, ShapeFromDims({xt.dims[0], m, 1, 1}));
    Node conv;
    conv.name = gemm.name;
    conv.op_type = "QLinearConv";
    conv.opset = std::max(gemm.opset, 10);
    conv.inputs = {x,        a->scale,           ZeroPointValue(*a), w4,
                   w->scale, ZeroPointValue(*w), c.q.scale,          ZeroPointValue(c.q)};
    if (bias >= 0) conv.inputs.push_back(bias);
    conv.outputs = {y4};
    conv.attrs["kernel_shape"] = Attribute::Ints({1, 1});
    SetActivation(conv, c.clamp);
    Node out;
    out.name = gemm.name + "_flatten";
    out.op_type = "Flatten";
    out.opset = gemm.opset;
    out.inputs = {y4};
    out.outputs = {q.outputs[0]};
    out.attrs["axis"] = Attribute::Int(1);
    if (!CanRunOnReferencePath(g_, conv)) return;
    const std::string what = gemm.Describe();
    rw_.node(flat) = std::move(conv);
    rw_.node(c.core) = std::move(out);
    rw_.RemoveNode(c.q_node);
    if (c.act_node >= 0) rw_.RemoveNode(c.act_node);
    rw_.Invalidate();
    if (log_ != nullptr) log_->push_back("fold_qdq: " + what + " -> QLinearConv 1x1 + Flatten");
  }

  bool NameTaken(const std::string& name) const {
    for (const Value& v : g_.values) {
      if (v.name == name) return true;
    }
    return false;
  }

  // Q(DQ(x)) with identical parameters is x.
  bool TryQdqIdentity(int q_node, const QdqParams& q) {
    const int p = rw_.Producer(q.data);
    if (p < 0) return false;
    std::optional<QdqParams> dq = ReadParams(rw_, p, /*dequantize=*/true);
    const int out = rw_.node(q_node).outputs[0];
    if (!dq || !dq->SameAs(q) || g_.IsGraphOutput(out)) return false;
    rw_.ReplaceUses(out, dq->data);
    rw_.RemoveNode(q_node);
    if (log_ != nullptr) {
      log_->push_back("fold_qdq: " + rw_.node(q_node).Describe() + " of DequantizeLinear '" +
                      rw_.node(p).name + "' with the same parameters -> removed");
    }
    return true;
  }

  // DQ and Q nodes nobody reads any more. Reverse order, so a Q feeding only a dead DQ goes too.
  void RemoveDeadQdq() {
    int removed = 0;
    for (int n = rw_.num_nodes() - 1; n >= 0; --n) {
      if (rw_.removed(n)) continue;
      const Node& node = rw_.node(n);
      if (!IsOnnxOp(node, "DequantizeLinear") && !IsOnnxOp(node, "QuantizeLinear")) continue;
      bool dead = true;
      for (int v : node.outputs) {
        if (v >= 0 && (g_.IsGraphOutput(v) || !rw_.Consumers(v).empty())) dead = false;
      }
      if (!dead) continue;
      rw_.RemoveNode(n);
      ++removed;
    }
    if (removed > 0 && log_ != nullptr) {
      log_->push_back("fold_qdq: removed " + std::to_string(removed) +
                      " QuantizeLinear/DequantizeLinear nodes left without readers");
    }
  }

  Graph& g_;
  GraphRewriter rw_;
  std::vector<std::string>* log_;
};

}  // namespace

Status FoldQdq(Graph& g, std::vector<std::string>* log) { return QdqFolder(g, log).Run(); }

}  // namespace edgerun
