// FuseSiLU: SiLU, HardSwish and GELU pattern fusion.
#include <cmath>
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kGeluTanhCubic = 0.044715;

// For a binary node reading `v`, the other operand (v itself for Mul(v, v)); -1 if it does not
// read v or is not binary.
int OtherOperand(const Node& n, int v) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return -1;
}

// The only node reading `v` when v is an internal value with a single reader, else -1.
int SoleConsumer(GraphRewriter& rw, int v) {
  if (v < 0 || rw.graph().IsGraphOutput(v)) return -1;
  const std::vector<int>& c = rw.Consumers(v);
  return c.size() == 1 ? c[0] : -1;
}

// Node producing `v` when it is `op` in the ONNX domain, with one output; else -1.
int ProducerOp(GraphRewriter& rw, int v, std::string_view op) {
  const int p = rw.Producer(v);
  if (p < 0) return -1;
  const Node& n = rw.node(p);
  return IsOnnxOp(n, op) && n.outputs.size() == 1 ? p : -1;
}

int ConsumerOp(GraphRewriter& rw, int v, std::string_view op) {
  const int c = SoleConsumer(rw, v);
  if (c < 0) return -1;
  const Node& n = rw.node(c);
  return IsOnnxOp(n, op) && n.outputs.size() == 1 ? c : -1;
}

int Out(GraphRewriter& rw, int n) { return rw.node(n).outputs[0]; }

// v == x * c (Mul, either order) or x / (1/c) (Div); returns the Mul/Div node, sets *x.
int MatchScaled(GraphRewriter& rw, int v, double c, int* x) {
  const Graph& g = rw.graph();
  if (int m = ProducerOp(rw, v, "Mul"); m >= 0) {
    const Node& n = rw.node(m);
    for (int i = 0; i < 2; ++i) {
      if (IsScalarConstant(g, n.inputs[i], c) && !g.values[n.inputs[1 - i]].is_constant()) {
        *x = n.inputs[1 - i];
        return m;
      }
    }
  }
  if (int d = ProducerOp(rw, v, "Div"); d >= 0) {
    const Node& n = rw.node(d);
    if (n.inputs.size() == 2 && IsScalarConstant(g, n.inputs[1], 1.0 / c)) {
      *x = n.inputs[0];
      return d;
    }
  }
  return -1;
}

// Matches 0.5 * x * a for the term a = 1 + f(x), in the associations exporters produce:
// (x * a) * 0.5, (x * a) / 2, (a * 0.5) * x, a * (x * 0.5), a * (x / 2).
// Appends the matched nodes and returns the product's value, or -1.
int MatchHalfProduct(GraphRewriter& rw, int a, int x, std::vector<int>* nodes) {
  const Graph& g = rw.graph();
  const int m1 = ConsumerOp(rw, a, "Mul");
  if (m1 < 0) return -1;
  const int q = OtherOperand(rw.node(m1), a);
  if (q < 0 || q == a) return -1;
  const int m1_out = Out(rw, m1);
  if (q == x) {
    const int c = SoleConsumer(rw, m1_out);
    if (c < 0) return -1;
    const Node& n = rw.node(c);
    const bool half = (IsOnnxOp(n, "Mul") && IsScalarConstant(g, OtherOperand(n, m1_out), 0.5)) ||
                      (IsOnnxOp(n, "Div") && n.inputs.size() == 2 && n.inputs[0] == m1_out &&
                       IsScalarConstant(g, n.inputs[1], 2.0));
    if (!half || n.outputs.size() != 1) return -1;
    nodes->insert(nodes->end(), {m1, c});
    return Out(rw, c);
  }
  if (IsScalarConstant(g, q, 0.5)) {
    const int m2 = ConsumerOp(rw, m1_out, "Mul");
    if (m2 < 0 || OtherOperand(rw.node(m2), m1_out) != x) return -1;
    nodes->insert(nodes->end(), {m1, m2});
    return Out(rw, m2);
  }
  int scaled_x = -1;
  const int h = MatchScaled(rw, q, 0.5, &scaled_x);
  if (h < 0 || scaled_x != x || SoleConsumer(rw, q) != m1) return -1;
  nodes->insert(nodes->end(), {h, m1});
  return m1_out;
}

// a = 1 + t (Add, either order) where t has `t_node` as producer; returns the Add or -1.
int MatchOnePlus(GraphRewriter& rw, int t) {
  const int add = ConsumerOp(rw, t, "Add");
  if (add < 0 || !IsScalarConstant(rw.graph(), OtherOperand(rw.node(add), t), 1.0)) return -1;
  return add;
}

// Erf form: Erf(x / sqrt2) or Erf(x * (1/sqrt2)). Returns x, fills the nodes up to 1 + erf.
int MatchGeluErf(GraphRewriter& rw, int erf, std::vector<int>* nodes, int* one_plus) {
  const Node& e = rw.node(erf);
  if (e.inputs.size() != 1 || e.outputs.size() != 1) return -1;
  int x = -1;
  const int scale = MatchScaled(rw, e.inputs[0], 1.0 / kSqrt2, &x);
  if (scale < 0 || SoleConsumer(rw, e.inputs[0]) != erf) return -1;
  const int add = MatchOnePlus(rw, Out(rw, erf));
  if (add < 0) return -1;
  nodes->insert(nodes->end(), {scale, erf, add});
  *one_plus = Out(rw, add);
  return x;
}

// x^3 as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x). Returns x, appends nodes.
int MatchCube(GraphRewriter& rw, int cube, std::vector<int>* nodes) {
  const Graph& g = rw.graph();
  if (int p = ProducerOp(rw, cube, "Pow"); p >= 0) {
    const Node& n = rw.node(p);
    if (n.inputs.size() != 2 || !IsScalarConstant(g, n.inputs[1], 3.0)) return -1;
    nodes->push_back(p);
    return n.inputs[0];
  }
  const int m = ProducerOp(rw, cube, "Mul");
  if (m < 0) return -1;
  const Node& n = rw.node(m);
  if (n.inputs.size() != 2) return -1;
  for (int i = 0; i < 2; ++i) {
    const int sq = n.inputs[i], x = n.inputs[1 - i];
    const int s = ProducerOp(rw, sq, "Mul");
    if (s < 0 || SoleConsumer(rw, sq) != m) continue;
    const Node& sn = rw.node(s);
    if (sn.inputs.size() == 2 && sn.inputs[0] == x && sn.inputs[1] == x) {
      nodes->insert(nodes->end(), {s, m});
      return x;
    }
  }
  return -1;
}

// Tanh form: Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)). Returns x, fills nodes up to 1 + tanh.
int MatchGeluTanh(GraphRewriter& rw, int tanh, std::vector<int>* nodes, int* one_plus) {
  const Node& t = rw.node(tanh);
  if (t.inputs.size() != 1 || t.outputs.size() != 1) return -1;
  int inner = -1;
  const int outer_scale = MatchScaled(rw, t.inputs[0], kSqrt2OverPi, &inner);
  if (outer_scale < 0 || !IsOnnxOp(rw.node(outer_scale), "Mul") ||
      SoleConsumer(rw, t.inputs[0]) != tanh) {
    return -1;
  }
  const int sum = ProducerOp(rw, inner, "Add");
  if (sum < 0 || SoleConsumer(rw, inner) != outer_scale) return -1;
  const Node& s = rw.node(sum);
  if (s.inputs.size() != 2) return -1;
  for (int i = 0; i < 2; ++i) {
    const int x = s.inputs[i], term = s.inputs[1 - i];
    int cube = -1;
    const int cubic_scale = MatchScaled(rw, term, kGeluTanhCubic, &cube);
    if (cubic_scale < 0 || !IsOnnxOp(rw.node(cubic_scale), "Mul") ||
        SoleConsumer(rw, term) != sum || SoleConsumer(rw, cube) != cubic_scale) {
      continue;
    }
    std::vector<int> cube_nodes;
    if (MatchCube(rw, cube, &cube_nodes) != x) continue;
    const int add = MatchOnePlus(rw, Out(rw, tanh));
    if (add < 0) return -1;
    nodes->insert(nodes->end(), cube_nodes.begin(), cube_nodes.end());
    nodes->insert(nodes->end(), {cubic_scale, sum, outer_scale, tanh, add});
    *one_plus = Out(rw, add);
    return x;
  }
  return -1;
}

bool SameType(const Graph& g, int a, int b) {
  const TensorType ta = ValueType(g, a);
  return IsFloat(ta.dtype) && ta == ValueType(g, b);
}

// Replaces the nodes in `matched` (the last one produces `out`) by `fused`, which takes the slot
// of the producer of `out`. Fails (changing nothing) when no reference kernel can run it.
bool Commit(GraphRewriter& rw, const std::vector<int>& matched, int out, Node fused) {
  const int slot = rw.Producer(out);
  if (slot < 0 || !CanRunOnReferencePath(rw.graph(), fused)) return false;
  for (int n : matched) {
    if (rw.removed(n)) return false;
  }
  for (int n : matched) {
    if (n != slot) rw.RemoveNode(n);
  }
  rw.node(slot) = std::move(fused);
  rw.Invalidate();
  return true;
}

Node MakeNode(const Node& like, std::string op_type, std::string_view domain, int x, int out) {
  Node n;
  n.name = like.name;
  n.op_type = std::move(op_type);
  n.domain = std::string(domain);
  n.opset = like.opset;
  n.inputs = {x};
  n.outputs = {out};
  return n;
}

std::string Names(GraphRewriter& rw, const std::vector<int>& nodes) {
  std::string s;
  for (int n : nodes) {
    if (!s.empty()) s += ", ";
    s += rw.node(n).op_type + " '" + rw.node(n).name + "'";
  }
  return s;
}

// x * Sigmoid(x) => SiLU, x * HardSigmoid(x; 1/6, 0.5) => HardSwish.
bool TryGatedUnit(GraphRewriter& rw, int n, std::vector<std::string>* log) {
  const Node& gate = rw.node(n);
  const bool sigmoid = IsOnnxOp(gate, "Sigmoid");
  if (!sigmoid && !IsOnnxOp(gate, "HardSigmoid")) return false;
  if (gate.inputs.size() != 1 || gate.outputs.size() != 1) return false;
  if (!sigmoid && !(std::fabs(ValueOr(gate.GetFloat("alpha", 0.2f), 0.f) - 1.0 / 6) < 1e-6 &&
                    std::fabs(ValueOr(gate.GetFloat("beta", 0.5f), 0.f) - 0.5) < 1e-6)) {
    return false;
  }
  const int x = gate.inputs[0], s = gate.outputs[0];
  const int mul = ConsumerOp(rw, s, "Mul");
  if (x < 0 || mul < 0 || OtherOperand(rw.node(mul), s) != x || x == s) return false;
  const int out = Out(rw, mul);
  if (!SameType(rw.graph(), x, out)) return false;
  const std::vector<int> matched = {n, mul};
  const std::string what = Names(rw, matched);
  Node fused = sigmoid ? MakeNode(rw.node(mul), "SiLU", kEdgerunDomain, x, out)
                       : MakeNode(rw.node(mul), "HardSwish", "", x, out);
  const std::string desc = fused.op_type + " '" + fused.name + "'";
  if (!Commit(rw, matched, out, std::move(fused))) return false;
  if (log != nullptr) log->push_back("fused " + what + " into " + desc);
  return true;
}

// v / 6 or v * (1/6) as the sole reader of v; returns that node or -1.
int SixthOf(GraphRewriter& rw, int v) {
  const Graph& g = rw.graph();
  const int c = SoleConsumer(rw, v);
  if (c < 0) return -1;
  const Node& n = rw.node(c);
  if (n.outputs.size() != 1 || n.inputs.size() != 2) return -1;
  if (IsOnnxOp(n, "Div") && n.inputs[0] == v && IsScalarConstant(g, n.inputs[1], 6.0)) return c;
  if (IsOnnxOp(n, "Mul") && IsScalarConstant(g, OtherOperand(n, v), 1.0 / 6)) return c;
  return -1;
}

// Clip(t, 0, 6) with the bounds as constant inputs (opset >= 11) or attributes (older).
bool IsRelu6(const Graph& g, const Node& clip) {
  if (!IsOnnxOp(clip, "Clip") || clip.inputs.empty() || clip.outputs.size() != 1) return false;
  if (clip.inputs.size() >= 3) {
    return IsScalarConstant(g, clip.inputs[1], 0.0) && IsScalarConstant(g, clip.inputs[2], 6.0);
  }
  // Bounds as attributes exist only before opset 11; later Clips ignore them.
  if (clip.inputs.size() != 1 || clip.opset <= 0 || clip.opset >= 11) return false;
  return ValueOr(clip.GetFloat("min", -1.f), -1.f) == 0.f &&
         ValueOr(clip.GetFloat("max", -1.f), -1.f) == 6.f;
}

// x * Clip(x + 3, 0, 6) / 6 in either association => HardSwish (MobileNetV3 and PP-LCNet
// exports spell it out this way).
bool TryHardSwishArithmetic(GraphRewriter& rw, int n, std::vector<std::string>* log) {
  const Graph& g = rw.graph();
  if (!IsRelu6(g, rw.node(n))) return false;
  const int t = rw.node(n).inputs[0], c = Out(rw, n);
  const int add = ProducerOp(rw, t, "Add");
  if (add < 0 || SoleConsumer(rw, t) != n || rw.node(add).inputs.size() != 2) return false;
  int x = -1;
  for (int i = 0; i < 2; ++i) {
    if (IsScalarConstant(g, rw.node(add).inputs[i], 3.0)) x = rw.node(add).inputs[1 - i];
  }
  if (x < 0 || g.values[x].is_constant()) return false;
  std::vector<int> matched = {add, n};
  int out = -1;
  if (const int mul = ConsumerOp(rw, c, "Mul"); mul >= 0 && OtherOperand(rw.node(mul), c) == x) {
    const int sixth = SixthOf(rw, Out(rw, mul));  // (x * clip) / 6
    if (sixth < 0) return false;
    matched.insert(matched.end(), {mul, sixth});
    out = Out(rw, sixth);
  } else if (const int sixth = SixthOf(rw, c); sixth >= 0) {
    const int mul2 = ConsumerOp(rw, Out(rw, sixth), "Mul");  // x * (clip / 6)
    if (mul2 < 0 || OtherOperand(rw.node(mul2), Out(rw, sixth)) != x) return false;
    matched.insert(matched.end(), {sixth, mul2});
    out = Out(rw, mul2);
  } else {
    return false;
  }
  if (!SameType(g, x, out)) return false;
  const std::string what = Names(rw, matched);
  Node fused = MakeNode(rw.node(rw.Producer(out)), "HardSwish", "", x, out);
  const std::string desc = "HardSwish '" + fused.name + "'";
  if (!Commit(rw, matched, out, std::move(fused))) return false;
  if (log != nullptr) log->push_back("fused " + what + " into " + desc);
  return true;
}

bool TryGelu(GraphRewriter& rw, int n, std::vector<std::string>* log) {
  const Node& node = rw.node(n);
  const bool erf = IsOnnxOp(node, "Erf");
  if (!erf && !IsOnnxOp(node, "Tanh")) return false;
  std::vector<int> matched;
  int one_plus = -1;
  const int x =
      erf ? MatchGeluErf(rw, n, &matched, &one_plus) : MatchGeluTanh(rw, n, &matched, &one_plus);
  if (x < 0) return false;
  const int out = MatchHalfProduct(rw, one_plus, x, &matched);
  if (out < 0 || !SameType(rw.graph(), x, out)) return false;
  const std::string what = Names(rw, matched);
  Node fused = MakeNode(rw.node(rw.Producer(out)), "Gelu", kEdgerunDomain, x, out);
  fused.attrs["approximate"] = Attribute::String(erf ? "none" : "tanh");
  const std::string desc = "Gelu '" + fused.name + "'";
  if (!Commit(rw, matched, out, std::move(fused))) return false;
  if (log != nullptr) log->push_back("fused " + what + " into " + desc);
  return true;
}

}  // namespace

Status FuseSiLU(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
    if (!TryGatedUnit(rw, n, log) && !TryHardSwishArithmetic(rw, n, log)) TryGelu(rw, n, log);
  }
  return rw.Finish();
}

}  // namespace edgerun
