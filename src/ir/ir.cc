#include "edgerun/ir.h"

#include <algorithm>
#include <set>

namespace edgerun {

bool IsStatic(const Shape& s) {
  return std::all_of(s.begin(), s.end(), [](const Dim& d) { return d.is_static(); });
}

std::vector<int64_t> StaticDims(const Shape& s) {
  std::vector<int64_t> dims;
  dims.reserve(s.size());
  for (const Dim& d : s) dims.push_back(d.is_static() ? d.value : -1);
  return dims;
}

Shape ShapeFromDims(const std::vector<int64_t>& dims) {
  Shape s;
  s.reserve(dims.size());
  for (int64_t d : dims) s.emplace_back(d);
  return s;
}

std::string ShapeToString(const Shape& s) {
  if (s.empty()) return "scalar";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += 'x';
    if (s[i].is_static()) {
      out += std::to_string(s[i].value);
    } else {
      out += s[i].symbol.empty() ? "?" : s[i].symbol;
    }
  }
  return out;
}

std::string_view LayoutName(Layout l) {
  switch (l) {
    case Layout::kAny: return "any";
    case Layout::kNCHW: return "NCHW";
    case Layout::kNHWC: return "NHWC";
    case Layout::kOIHW: return "OIHW";
    case Layout::kOHWI: return "OHWI";
  }
  return "any";
}

Attribute Attribute::Int(int64_t v) {
  Attribute a;
  a.kind = Kind::kInt;
  a.i = v;
  return a;
}
Attribute Attribute::Float(float v) {
  Attribute a;
  a.kind = Kind::kFloat;
  a.f = v;
  return a;
}
Attribute Attribute::String(std::string v) {
  Attribute a;
  a.kind = Kind::kString;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::Ints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Kind::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::Floats(std::vector<float> v) {
  Attribute a;
  a.kind = Kind::kFloats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::Strings(std::vector<std::string> v) {
  Attribute a;
  a.kind = Kind::kStrings;
  a.strings = std::move(v);
  return a;
}
Attribute Attribute::FromTensor(Tensor t) {
  Attribute a;
  a.kind = Kind::kTensor;
  a.tensor = std::make_shared<const Tensor>(std::move(t));
  return a;
}

std::string_view AttributeKindName(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kStrings: return "strings";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kGraph: return "graph";
  }
  return "?";
}

const Attribute* Node::attr(std::string_view n) const {
  auto it = attrs.find(n);
  return it == attrs.end() ? nullptr : &it->second;
}

namespace {
Status WrongKind(const Node& node, std::string_view name, const Attribute& a,
                 std::string_view want) {
  return InvalidModel(node.Describe() + ": attribute '" + std::string(name) + "' is " +
                      std::string(AttributeKindName(a.kind)) + ", expected " + std::string(want));
}
}  // namespace

Expected<int64_t> Node::GetInt(std::string_view n, int64_t def) const {
  const Attribute* a = attr(n);
  if (a == nullptr) return def;
  if (a->kind != Attribute::Kind::kInt) return WrongKind(*this, n, *a, "int");
  return a->i;
}

Expected<float> Node::GetFloat(std::string_view n, float def) const {
  const Attribute* a = attr(n);
  if (a == nullptr) return def;
  if (a->kind == Attribute::Kind::kInt) return static_cast<float>(a->i);
  if (a->kind != Attribute::Kind::kFloat) return WrongKind(*this, n, *a, "float");
  return a->f;
}

Expected<std::string> Node::GetString(std::string_view n, std::string def) const {
  const Attribute* a = attr(n);
  if (a == nullptr) return def;
  if (a->kind != Attribute::Kind::kString) return WrongKind(*this, n, *a, "string");
  return a->s;
}

Expected<std::vector<int64_t>> Node::GetInts(std::string_view n, std::vector<int64_t> def) const {
  const Attribute* a = attr(n);
  if (a == nullptr) return def;
  if (a->kind == Attribute::Kind::kInt) return std::vector<int64_t>{a->i};
  if (a->kind != Attribute::Kind::kInts) return WrongKind(*this, n, *a, "ints");
  return a->ints;
}

Expected<std::vector<float>> Node::GetFloats(std::string_view n, std::vector<float> def) const {
  const Attribute* a = attr(n);
  if (a == nullptr) return def;
  if (a->kind == Attribute::Kind::kFloat) return std::vector<float>{a->f};
  if (a->kind != Attribute::Kind::kFloats) return WrongKind(*this, n, *a, "floats");
  return a->floats;
}

std::string Node::Describe() const {
  std::string op = domain.empty() ? op_type : domain + "::" + op_type;
  return "node '" + name + "' (" + op + ")";
}

int Node::num_present_inputs() const {
  return static_cast<int>(std::count_if(inputs.begin(), inputs.end(),
                                        [](int v) { return v != kNoValue; }));
}

int Graph::AddValue(std::string value_name, DType dtype, std::optional<Shape> shape) {
  Value v;
  v.name = std::move(value_name);
  v.dtype = dtype;
  v.shape = std::move(shape);
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::AddConstant(std::string value_name, Tensor t) {
  Value v;
  v.name = std::move(value_name);
  v.dtype = t.dtype();
  v.shape = ShapeFromDims(t.dims());
  v.constant = std::make_shared<const Tensor>(std::move(t));
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

Node& Graph::AddNode(std::string node_name, std::string op_type, std::vector<int> in,
                     std::vector<int> out) {
  Node n;
  n.name = std::move(node_name);
  n.op_type = std::move(op_type);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  auto it = opset_imports.find("");
  n.opset = it == opset_imports.end() ? 17 : it->second;
  nodes.push_back(std::move(n));
  return nodes.back();
}

int Graph::FindValue(std::string_view value_name) const {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].name == value_name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<int> Graph::ProducerIndex() const {
  std::vector<int> producer(values.size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int v : nodes[n].outputs) {
      if (v >= 0) producer[v] = static_cast<int>(n);
    }
  }
  return producer;
}

std::vector<std::vector<int>> Graph::ConsumerIndex() const {
  std::vector<std::vector<int>> consumers(values.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int v : nodes[n].inputs) {
      if (v >= 0 && (consumers[v].empty() || consumers[v].back() != static_cast<int>(n))) {
        consumers[v].push_back(static_cast<int>(n));
      }
    }
  }
  return consumers;
}

bool Graph::IsGraphOutput(int v) const {
  return std::find(outputs.begin(), outputs.end(), v) != outputs.end();
}
bool Graph::IsGraphInput(int v) const {
  return std::find(inputs.begin(), inputs.end(), v) != inputs.end();
}

Status Graph::TopologicalSort() {
  const size_t n = nodes.size();
  std::vector<int> producer = ProducerIndex();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> dependents(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> deps;
    for (int v : nodes[i].inputs) {
      if (v < 0) continue;
      if (v >= static_cast<int>(values.size())) {
        return InvalidModel(nodes[i].Describe() + ": input refers to an unknown value");
      }
      const int p = producer[v];
      if (p < 0 && !values[v].is_constant() && !IsGraphInput(v)) {
        return InvalidModel(nodes[i].Describe() + ": input '" + values[v].name +
                            "' is neither a graph input, an initializer nor a node output");
      }
      if (p >= 0 && p != static_cast<int>(i)) deps.insert(p);
      if (p == static_cast<int>(i)) {
        return InvalidModel(nodes[i].Describe() + ": reads its own output '" + values[v].name +
                            "'");
      }
    }
    pending[i] = static_cast<int>(deps.size());
    for (int d : deps) dependents[d].push_back(static_cast<int>(i));
  }
  // Kahn's algorithm, taking ready nodes in original order so sorted graphs stay unchanged.
  std::vector<int> order;
  order.reserve(n);
  std::set<int> ready;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.insert(static_cast<int>(i));
  }
  while (!ready.empty()) {
    const int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int d : dependents[i]) {
      if (--pending[d] == 0) ready.insert(d);
    }
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i) {
      if (pending[i] > 0) return InvalidModel(nodes[i].Describe() + ": is part of a cycle");
    }
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (int i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);
  return Status::Ok();
}

void Graph::CompactValues() {
  std::vector<char> used(values.size(), 0);
  for (const Node& node : nodes) {
    for (int v : node.inputs) if (v >= 0) used[v] = 1;
    for (int v : node.outputs) if (v >= 0) used[v] = 1;
  }
  for (int v : inputs) used[v] = 1;
  for (int v : outputs) used[v] = 1;
  std::vector<int> remap(values.size(), -1);
  std::vector<Value> kept;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!used[i]) continue;
    remap[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(values[i]));
  }
  values = std::move(kept);
  auto fix = [&](std::vector<int>& ids) {
    for (int& v : ids) if (v >= 0) v = remap[v];
  };
  for (Node& node : nodes) {
    fix(node.inputs);
    fix(node.outputs);
  }
  fix(inputs);
  fix(outputs);
}

std::map<std::string, int> Graph::OpHistogram() const {
  std::map<std::string, int> h;
  for (const Node& n : nodes) {
    ++h[n.domain.empty() || n.domain == "ai.onnx" ? n.op_type : n.domain + "::" + n.op_type];
  }
  return h;
}

std::vector<std::string> Graph::SymbolicDims() const {
  std::vector<std::string> out;
  for (int v : inputs) {
    if (!values[v].shape) continue;
    for (const Dim& d : *values[v].shape) {
      if (d.is_static()) continue;
      const std::string s = d.symbol.empty() ? "?" : d.symbol;
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }
  return out;
}

std::string MakeUniqueName(const Graph& g, std::string_view base) {
  std::string name(base);
  for (int i = 1; g.FindValue(name) >= 0 ||
                  std::any_of(g.nodes.begin(), g.nodes.end(),
                              [&](const Node& n) { return n.name == name; });
       ++i) {
    name = std::string(base) + "_" + std::to_string(i);
  }
  return name;
}

}  // namespace edgerun
