// FuseActivations.
#include <algorithm>
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

bool IsFusableProducer(const Node& p) {
  if (IsOnnxDomain(p.domain)) {
    return p.op_type == "Conv" || p.op_type == "ConvTranspose" || p.op_type == "Gemm";
  }
  if (p.domain == kNhwcDomain) return p.op_type == "Conv" || p.op_type == "ConvTranspose";
  return p.domain == kEdgerunDomain && p.op_type == "FusedMatMul";
}

}  // namespace

Status FuseActivations(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
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
