// Parsing of fused-activation attributes (see FusedActivation in ref_util.h).
#include "kernels/ref/ref_util.h"

#include <string>
#include <vector>

namespace edgerun {

Expected<FusedActivation> FusedActivation::FromNode(const Node& node, std::string_view prefix) {
  FusedActivation act;
  const std::string attr = std::string(prefix) + "activation";
  ASSIGN_OR_RETURN(std::string name, node.GetString(attr, ""));
  ASSIGN_OR_RETURN(std::vector<float> params, node.GetFloats(attr + "_params", {}));
  if (node.has_attr(attr + "_affine")) {
    ASSIGN_OR_RETURN(std::vector<float> affine, node.GetFloats(attr + "_affine", {}));
    if (affine.size() != 2) {
      return InvalidModel(node.Describe() + ": " + attr + "_affine takes [scale, shift], got " +
                          std::to_string(affine.size()) + " values");
    }
    act.scale = affine[0];
    act.shift = affine[1];
  }
  if (name.empty()) return act;

  // Defaults follow the standalone ONNX ops, so a fusion pass may omit params it did not see.
  struct Entry {
    std::string_view name;
    Kind kind;
    size_t num_params;
    float def_a, def_b;
  };
  static constexpr Entry kEntries[] = {
      {"Relu", Kind::kRelu, 0, 0, 0},
      {"Clip", Kind::kClip, 2, -3.402823466e+38f, 3.402823466e+38f},
      {"LeakyRelu", Kind::kLeakyRelu, 1, 0.01f, 0},
      {"HardSigmoid", Kind::kHardSigmoid, 2, 0.2f, 0.5f},
      {"HardSwish", Kind::kHardSwish, 0, 0, 0},
      {"Sigmoid", Kind::kSigmoid, 0, 0, 0},
      {"SiLU", Kind::kSiLU, 0, 0, 0},
      {"Tanh", Kind::kTanh, 0, 0, 0},
  };
  for (const Entry& e : kEntries) {
    if (e.name != name) continue;
    if (params.size() > e.num_params) {
      return InvalidModel(node.Describe() + ": " + attr + " '" + name + "' takes at most " +
                          std::to_string(e.num_params) + " " + attr + "_params, got " +
                          std::to_string(params.size()));
    }
    act.kind = e.kind;
    act.a = params.size() > 0 ? params[0] : e.def_a;
    act.b = params.size() > 1 ? params[1] : e.def_b;
    return act;
  }
  return InvalidModel(node.Describe() + ": unknown fused " + attr + " '" + name + "'");
}

}  // namespace edgerun
