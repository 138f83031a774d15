#include "passes/graph_dump.h"

#include <cstdio>
#include <string>

namespace edgerun {
namespace {

constexpr size_t kMaxListed = 8;  // attribute list entries shown before "..."

std::string FormatFloat(float f) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(f));
  return buf;
}

template <typename T, typename Fn>
std::string JoinList(const std::vector<T>& items, Fn&& fmt) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) {
    if (i) s += ',';
    s += fmt(items[i]);
  }
  if (items.size() > kMaxListed) s += ",...(" + std::to_string(items.size()) + ")";
  return s;
}

std::string FormatAttribute(const Attribute& a) {
  switch (a.kind) {
    case Attribute::Kind::kInt:
      return std::to_string(a.i);
    case Attribute::Kind::kFloat:
      return FormatFloat(a.f);
    case Attribute::Kind::kString:
      return a.s;
    case Attribute::Kind::kInts:
      return "[" + JoinList(a.ints, [](int64_t v) { return std::to_string(v); }) + "]";
    case Attribute::Kind::kFloats:
      return "[" + JoinList(a.floats, FormatFloat) + "]";
    case Attribute::Kind::kStrings:
      return "[" + JoinList(a.strings, [](const std::string& s) { return s; }) + "]";
    case Attribute::Kind::kTensor:
      return a.tensor ? "tensor(" + std::string(DTypeName(a.tensor->dtype())) + " " +
                            DimsToString(a.tensor->dims()) + ")"
                      : "tensor";
    case Attribute::Kind::kGraph:
      return "graph";
  }
  return "?";
}

std::string ValueLabel(const Graph& g, int v) {
  if (v < 0 || v >= static_cast<int>(g.values.size())) return "-";
  const Value& val = g.values[v];
  return val.is_constant() ? val.name + "*" : val.name;
}

std::string ValueShape(const Graph& g, int v) {
  if (v < 0 || v >= static_cast<int>(g.values.size())) return "-";
  const Value& val = g.values[v];
  return val.shape ? ShapeToString(*val.shape) : "?";
}

std::string Endpoints(const Graph& g, const std::vector<int>& ids) {
  std::string s;
  for (int v : ids) {
    if (!s.empty()) s += ", ";
    s += ValueLabel(g, v) + " [" + ValueShape(g, v) + " " +
         std::string(DTypeName(v >= 0 ? g.values[v].dtype : DType::kUndefined)) + "]";
  }
  return s;
}

}  // namespace

std::string DumpGraph(const Graph& g) {
  std::string out = "inputs: " + Endpoints(g, g.inputs) + "\n";
  for (const Node& node : g.nodes) {
    std::string line = node.name + "  " + node.op_type;
    if (!node.domain.empty() && node.domain != "ai.onnx") line += "(" + node.domain + ")";
    line += "  ";
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (i) line += ", ";
      line += ValueLabel(g, node.inputs[i]);
    }
    line += " -> ";
    std::string shapes;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (i) {
        line += ", ";
        shapes += ", ";
      }
      line += ValueLabel(g, node.outputs[i]);
      shapes += ValueShape(g, node.outputs[i]);
    }
    line += " [" + shapes + "]";
    if (!node.attrs.empty()) {
      line += " {";
      bool first = true;
      for (const auto& [key, attr] : node.attrs) {
        if (!first) line += ", ";
        first = false;
        line += key + "=" + FormatAttribute(attr);
      }
      line += "}";
    }
    out += line + "\n";
  }
  out += "outputs: " + Endpoints(g, g.outputs) + "\n";
  return out;
}

}  // namespace edgerun
