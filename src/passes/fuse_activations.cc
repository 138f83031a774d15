// FuseActivations.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

struct ActivationSpec {
  std::string name;  // as FusedActivation::FromNode expects it
  std::vector<float> params;
};

// The fused form of activation node `a`, or nullopt when it has none (or bounds that are not
// constant).
std::optional<ActivationSpec> DescribeActivation(GraphRewriter& rw, const Node& a) {
  const bool onnx = IsOnnxDomain(a.domain);
  const std::string& op = a.op_type;
  if (onnx && (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish")) {
    if (a.inputs.size() != 1) return std::nullopt;
    return ActivationSpec{op, {}};
  }
  if (!onnx && a.domain == kEdgerunDomain && op == "SiLU") return ActivationSpec{"SiLU", {}};
  if (!onnx) return std::nullopt;
  if (op == "LeakyRelu") {
    Expected<float> alpha = a.GetFloat("alpha", 0.01f);
    if (!alpha.ok()) return std::nullopt;
    return ActivationSpec{op, {*alpha}};
  }
  if (op == "HardSigmoid") {
    Expected<float> alpha = a.GetFloat("alpha", 0.2f);
    Expected<float> beta = a.GetFloat("beta", 0.5f);
    if (!alpha.ok() || !beta.ok()) return std::nullopt;
    return ActivationSpec{op, {*alpha, *beta}};
  }
  if (op == "Clip") {
    float lo = std::numeric_limits<float>::lowest();
    float hi = std::numeric_limits<float>::max();
    if (a.opset < 11) {
      Expected<float> min = a.GetFloat("min", lo);
      Expected<float> max = a.GetFloat("max", hi);
      if (!min.ok() || !max.ok()) return std::nullopt;
      lo = *min;
      hi = *max;
    } else {
      // Opset 11+: optional constant inputs 1 (min) and 2 (max).
      for (size_t i = 1; i < a.inputs.size() && i < 3; ++i) {
        if (a.inputs[i] < 0) continue;
        const Tensor* t = rw.Constant(a.inputs[i]);
        if (t == nullptr || t->num_elements() != 1) return std::nullopt;
        (i == 1 ? lo : hi) = static_cast<float>(t->ScalarAsDouble(0));
      }
    }
    return ActivationSpec{op, {lo, hi}};
  }
  return std::nullopt;
}

// Relu and Clip as clamping intervals; nullopt for other activations.
std::optional<std::pair<float, float>> ClampBounds(const ActivationSpec& a) {
  constexpr float kLowest = std::numeric_limits<float>::lowest();
  constexpr float kMax = std::numeric_limits<float>::max();
  if (a.name == "Relu" && a.params.empty()) return std::pair(0.0f, kMax);
  if (a.name == "Clip" && a.params.size() <= 2) {
    return std::pair(a.params.size() > 0 ? a.params[0] : kLowest,
                     a.params.size() > 1 ? a.params[1] : kMax);
  }
  return std::nullopt;
}

// `second` applied after `first` as one activation: two clamps with overlapping intervals clamp
// to the intersection (exporters write ReLU6 as Relu -> Clip(0, 6)). nullopt otherwise.
std::optional<ActivationSpec> Compose(const ActivationSpec& first, const ActivationSpec& second) {
  const auto a = ClampBounds(first), b = ClampBounds(second);
  if (!a || !b) return std::nullopt;
  const float lo = std::max(a->first, b->first), hi = std::min(a->second, b->second);
  if (!(lo <= hi)) return std::nullopt;
  if (lo == 0 && hi == std::numeric_limits<float>::max()) return ActivationSpec{"Relu", {}};
  return ActivationSpec{"Clip", {lo, hi}};
}

// The activation already fused into `p`, if any (nullopt also for malformed attributes).
std::optional<ActivationSpec> ExistingActivation(const Node& p) {
  Expected<std::string> name = p.GetString("activation", "");
  Expected<std::vector<float>> params = p.GetFloats("activation_params", {});
  if (!name.ok() || !params.ok() || name->empty()) return std::nullopt;
  return ActivationSpec{*name, *params};
}

// A Mul, Add or Sub of the producer's output `y` by a scalar f32 constant, as y * scale + shift;
// nullopt for anything else.
struct Affine {
  float scale = 1, shift = 0;
};
std::optional<Affine> DescribeAffine(GraphRewriter& rw, const Graph& g, const Node& op, int y) {
  if (!IsOnnxDomain(op.domain) && op.domain != kNhwcDomain) return std::nullopt;
  if (op.inputs.size() != 2 || op.outputs.size() != 1) return std::nullopt;
  const bool mul = op.op_type == "Mul", add = op.op_type == "Add", sub = op.op_type == "Sub";
  if (!mul && !add && !sub) return std::nullopt;
  const int data = op.inputs[0] == y ? 0 : (op.inputs[1] == y ? 1 : -1);
  if (data < 0 || op.inputs[1 - data] == y || (sub && data != 0)) return std::nullopt;
  const int c = op.inputs[1 - data];
  const Tensor* t = c >= 0 ? rw.Constant(c) : nullptr;
  if (t == nullptr || t->dtype() != DType::kF32 || t->num_elements() != 1) return std::nullopt;
  // A scalar of higher rank would broadcast y to more dims.
  const Value& out = g.values[op.outputs[0]];
  if (!out.shape || !g.values[y].shape || out.dtype != DType::kF32 ||
      StaticDims(*out.shape) != StaticDims(*g.values[y].shape)) {
    return std::nullopt;
  }
  const float v = t->data<float>()[0];
  if (!std::isfinite(v)) return std::nullopt;
  if (mul) return Affine{v, 0.0f};
  return Affine{1.0f, add ? v : -v};
}

// The affine already fused into `p` (identity when none).
std::optional<Affine> ExistingAffine(const Node& p) {
  if (!p.has_attr("activation_affine")) return Affine{};
  Expected<std::vector<float>> v = p.GetFloats("activation_affine", {});
  if (!v.ok() || v->size() != 2) return std::nullopt;
  return Affine{(*v)[0], (*v)[1]};
}

bool IsFusableProducer(const Node& p) {
  if (IsOnnxDomain(p.domain)) {
    return p.op_type == "Conv" || p.op_type == "ConvTranspose" || p.op_type == "Gemm";
  }
  if (p.domain == kNhwcDomain) return p.op_type == "Conv" || p.op_type == "ConvTranspose";
  return p.domain == kEdgerunDomain && p.op_type == "FusedMatMul";
}

// The f32 output of a fusable producer that only `n` reads, among n's inputs; -1 if none.
int FusableInput(GraphRewriter& rw, const Graph& g, int n) {
  const Node& op = rw.node(n);
  for (int y : op.inputs) {
    if (y < 0 || g.values[y].dtype != DType::kF32 || !g.values[y].quant.empty()) continue;
    if (!rw.HasSoleConsumer(y, n)) continue;
    const int p = rw.Producer(y);
    if (p < 0) continue;
    const Node& producer = rw.node(p);
    if (IsFusableProducer(producer) && producer.outputs.size() == 1 && producer.outputs[0] == y) {
      return y;
    }
  }
  return -1;
}

// A scalar Mul/Add/Sub after a fusable producer becomes (part of) its activation_affine, applied
// after its activation. The producer then always has an "activation" attribute (empty when it has
// none), so passes that fold into a producer only without one (BatchNorm, Mul into weights, the
// residual add) leave it alone.
bool FuseAffine(GraphRewriter& rw, Graph& g, int n, std::vector<std::string>* log) {
  const Node& op = rw.node(n);
  if (op.outputs.size() != 1 || op.outputs[0] < 0) return false;
  const int y = FusableInput(rw, g, n);
  if (y < 0) return false;
  const std::optional<Affine> next = DescribeAffine(rw, g, op, y);
  if (!next) return false;
  Node& producer = rw.node(rw.Producer(y));
  const std::optional<Affine> existing = ExistingAffine(producer);
  if (!existing) return false;
  const Affine both{existing->scale * next->scale, existing->shift * next->scale + next->shift};
  if (!producer.has_attr("activation")) producer.attrs["activation"] = Attribute::String("");
  producer.attrs["activation_affine"] = Attribute::Floats({both.scale, both.shift});
  producer.outputs[0] = op.outputs[0];
  if (log != nullptr) {
    log->push_back("fused " + op.op_type + " '" + op.name + "' by a scalar into " +
                   producer.op_type + " '" + producer.name + "'");
  }
  rw.RemoveNode(n);
  return true;
}

}  // namespace

Status FuseActivations(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
    if (FuseAffine(rw, g, n, log)) continue;
    const Node& act = rw.node(n);
    if (act.inputs.empty() || act.outputs.size() != 1 || act.outputs[0] < 0) continue;
    const int y = act.inputs[0];
    if (y < 0 || g.values[y].dtype != DType::kF32 || !g.values[y].quant.empty()) continue;
    if (!rw.HasSoleConsumer(y, n)) continue;
    const int p = rw.Producer(y);
    if (p < 0) continue;
    Node& producer = rw.node(p);
    if (!IsFusableProducer(producer) || producer.outputs.size() != 1 || producer.outputs[0] != y) {
      continue;
    }
    // An activation after an affine would have to run after it: not representable.
    if (producer.has_attr("activation_affine")) continue;
    std::optional<ActivationSpec> spec = DescribeActivation(rw, act);
    if (!spec) continue;
    if (producer.has_attr("activation")) {
      std::optional<ActivationSpec> existing = ExistingActivation(producer);
      if (!existing) continue;
      spec = Compose(*existing, *spec);
      if (!spec) continue;
    }
    producer.attrs["activation"] = Attribute::String(spec->name);
    producer.attrs["activation_params"] = Attribute::Floats(spec->params);
    producer.outputs[0] = act.outputs[0];
    rw.RemoveNode(n);
    if (log != nullptr) {
      log->push_back("fused " + act.op_type + " '" + act.name + "' into " + producer.op_type +
                     " '" + producer.name + "'");
    }
  }
  return rw.Finish();
}

}  // namespace edgerun
