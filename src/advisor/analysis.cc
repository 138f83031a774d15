// Model analysis for the advisor (see include/edgerun/advisor/analysis.h).
#include "edgerun/advisor/analysis.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "runtime/infer_and_fold.h"
#include "runtime/macs.h"

namespace edgerun::advisor {
namespace {

bool IsStandardDomain(std::string_view d) {
  return d.empty() || d == "ai.onnx" || d == "ai.onnx.ml";
}

std::string GuessFramework(const std::string& producer) {
  std::string p;
  for (char c : producer) p += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (p.find("pytorch") != std::string::npos || p.find("torch") != std::string::npos)
    return "pytorch";
  if (p.find("keras") != std::string::npos) return "keras";
  if (p.find("tf2onnx") != std::string::npos || p.find("tensorflow") != std::string::npos)
    return "tensorflow";
  if (p.find("paddle") != std::string::npos) return "paddle";
  return "other";
}

std::vector<OpUse> CollectOps(const Graph& g) {
  std::vector<OpUse> uses;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (const Node& n : g.nodes) {
    auto key = std::make_pair(n.domain == "ai.onnx" ? std::string() : n.domain, n.op_type);
    auto [it, inserted] = index.emplace(key, uses.size());
    if (inserted) uses.push_back(OpUse{n.op_type, key.first, n.opset, 0, {}, {}, 0});
    OpUse& u = uses[it->second];
    ++u.count;
    u.nodes.push_back(n.name);
    for (int v : n.inputs) {
      if (v == Node::kNoValue || g.values[v].dtype == DType::kUndefined) continue;
      const std::string t(DTypeName(g.values[v].dtype));
      if (std::find(u.dtypes.begin(), u.dtypes.end(), t) == u.dtypes.end()) u.dtypes.push_back(t);
    }
    bool static_shapes = true;
    for (int v : n.inputs) {
      if (v != Node::kNoValue && (!g.values[v].shape || !IsStatic(*g.values[v].shape)))
        static_shapes = false;
    }
    for (int v : n.outputs) {
      if (v != Node::kNoValue && (!g.values[v].shape || !IsStatic(*g.values[v].shape)))
        static_shapes = false;
    }
    if (static_shapes) u.macs += EstimateMacs(g, n);
  }
  std::sort(uses.begin(), uses.end(), [](const OpUse& a, const OpUse& b) {
    return std::tie(a.domain, a.op_type) < std::tie(b.domain, b.op_type);
  });
  return uses;
}

// Pattern matching over producer/consumer indices.
class PatternFinder {
 public:
  explicit PatternFinder(const Graph& g)
      : g_(g), producer_(g.ProducerIndex()), consumers_(g.ConsumerIndex()) {}

  std::vector<Pattern> FindAll() {
    std::vector<Pattern> out;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (n.op_type == "LayerNormalization" || n.op_type == "SkipLayerNormalization") {
        out.push_back({"layernorm", "op " + n.op_type, {n.name}, {n.op_type}});
      } else if (n.op_type == "Gelu" || n.op_type == "FastGelu" || n.op_type == "BiasGelu") {
        out.push_back({"gelu", "op " + n.op_type, {n.name}, {n.op_type}});
      } else if (n.op_type == "Attention" || n.op_type == "MultiHeadAttention") {
        out.push_back({"attention", "op " + n.op_type, {n.name}, {n.op_type}});
      } else if (n.op_type == "ReduceMean") {
        if (auto p = LayerNormAt(static_cast<int>(i))) out.push_back(*p);
      } else if (n.op_type == "Erf") {
        if (auto p = GeluErfAt(static_cast<int>(i))) out.push_back(*p);
      } else if (n.op_type == "Tanh") {
        if (auto p = GeluTanhAt(static_cast<int>(i))) out.push_back(*p);
      } else if (n.op_type == "Softmax") {
        if (auto p = AttentionAt(static_cast<int>(i))) out.push_back(*p);
      }
    }
    return out;
  }

 private:
  bool IsConst(int v) const { return v >= 0 && g_.values[v].is_constant(); }
  const Node* Producer(int v) const {
    if (v < 0 || producer_[v] < 0) return nullptr;
    return &g_.nodes[producer_[v]];
  }
  // First consumer of value v with op type `op`.
  const Node* ConsumerOf(int v, std::string_view op) const {
    if (v < 0) return nullptr;
    for (int c : consumers_[v]) {
      if (g_.nodes[c].op_type == op) return &g_.nodes[c];
    }
    return nullptr;
  }
  static Pattern Make(std::string kind, std::string form, const std::vector<const Node*>& nodes) {
    Pattern p{std::move(kind), std::move(form), {}, {}};
    for (const Node* n : nodes) {
      p.nodes.push_back(n->name);
      if (std::find(p.ops.begin(), p.ops.end(), n->op_type) == p.ops.end())
        p.ops.push_back(n->op_type);
    }
    return p;
  }

  // ReduceMean(x) -> Sub(x, mean) -> Pow(., 2) | Mul(d, d) -> ReduceMean -> Add(eps) -> Sqrt ->
  // Div(d, .)
  std::optional<Pattern> LayerNormAt(int i) const {
    const Node& mean = g_.nodes[i];
    if (mean.inputs.empty() || mean.outputs.empty()) return std::nullopt;
    const Node* sub = nullptr;
    for (int c : consumers_[mean.outputs[0]]) {
      const Node& n = g_.nodes[c];
      if (n.op_type == "Sub" && n.inputs.size() == 2 && n.inputs[0] == mean.inputs[0] &&
          n.inputs[1] == mean.outputs[0])
        sub = &n;
    }
    if (sub == nullptr) return std::nullopt;
    const int d = sub->outputs[0];
    const Node* sq = nullptr;
    for (int c : consumers_[d]) {
      const Node& n = g_.nodes[c];
      if (n.op_type == "Pow" ||
          (n.op_type == "Mul" && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == d))
        sq = &n;
    }
    if (sq == nullptr) return std::nullopt;
    const Node* var = ConsumerOf(sq->outputs[0], "ReduceMean");
    if (var == nullptr) return std::nullopt;
    const Node* add = ConsumerOf(var->outputs[0], "Add");
    const int to_sqrt = add != nullptr ? add->outputs[0] : var->outputs[0];
    const Node* sqrt = ConsumerOf(to_sqrt, "Sqrt");
    if (sqrt == nullptr) return std::nullopt;
    const Node* div = ConsumerOf(sqrt->outputs[0], "Div");
    if (div == nullptr || div->inputs[0] != d) return std::nullopt;
    std::vector<const Node*> nodes{&mean, sub, sq, var};
    if (add != nullptr) nodes.push_back(add);
    nodes.push_back(sqrt);
    nodes.push_back(div);
    return Make("layernorm", "decomposed", nodes);
  }

  // [Div(x, sqrt2) | Mul(x, 1/sqrt2)] -> Erf -> Add(1) -> Mul(...) (the products in any order)
  std::optional<Pattern> GeluErfAt(int i) const {
    const Node& erf = g_.nodes[i];
    const Node* scale = Producer(erf.inputs[0]);
    if (scale == nullptr || (scale->op_type != "Div" && scale->op_type != "Mul") ||
        scale->inputs.size() != 2 || !IsConst(scale->inputs[1])) {
      return std::nullopt;
    }
    const Node* add = ConsumerOf(erf.outputs[0], "Add");
    if (add == nullptr) return std::nullopt;
    const Node* mul = ConsumerOf(add->outputs[0], "Mul");
    if (mul == nullptr) return std::nullopt;
    std::vector<const Node*> nodes{scale, &erf, add, mul};
    if (const Node* half = ConsumerOf(mul->outputs[0], "Mul")) nodes.push_back(half);
    return Make("gelu", "decomposed (erf)", nodes);
  }

  // Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)): a Pow within three producers upstream of the Tanh.
  std::optional<Pattern> GeluTanhAt(int i) const {
    const Node& tanh = g_.nodes[i];
    std::vector<const Node*> chain{&tanh};
    std::vector<int> frontier{tanh.inputs[0]};
    for (int depth = 0; depth < 3 && !frontier.empty(); ++depth) {
      std::vector<int> next;
      for (int v : frontier) {
        const Node* p = Producer(v);
        if (p == nullptr) continue;
        chain.push_back(p);
        if (p->op_type == "Pow" && p->inputs.size() == 2 && IsConst(p->inputs[1])) {
          const Node* add = ConsumerOf(tanh.outputs[0], "Add");
          if (add == nullptr) return std::nullopt;
          chain.push_back(add);
          return Make("gelu", "decomposed (tanh)", chain);
        }
        for (int in : p->inputs) {
          if (in >= 0 && !IsConst(in)) next.push_back(in);
        }
      }
      frontier = std::move(next);
    }
    return std::nullopt;
  }

  // MatMul(q, k) -> [Div/Mul scale, Add mask, Where, Cast] -> Softmax -> [Cast, Dropout] ->
  // MatMul(., v), with activations (not weights) on both sides of both MatMuls.
  std::optional<Pattern> AttentionAt(int i) const {
    const Node& softmax = g_.nodes[i];
    std::vector<const Node*> nodes;
    bool scaled = false;
    const Node* up = Producer(softmax.inputs[0]);
    const Node* qk = nullptr;
    for (int depth = 0; depth < 4 && up != nullptr; ++depth) {
      if (up->op_type == "MatMul") {
        qk = up;
        break;
      }
      if (up->op_type != "Div" && up->op_type != "Mul" && up->op_type != "Add" &&
          up->op_type != "Where" && up->op_type != "Cast" && up->op_type != "Sub") {
        return std::nullopt;
      }
      if ((up->op_type == "Div" || up->op_type == "Mul") && up->inputs.size() == 2 &&
          IsConst(up->inputs[1]))
        scaled = true;
      nodes.push_back(up);
      up = Producer(up->inputs[0]);
    }
    if (qk == nullptr || qk->inputs.size() != 2 || IsConst(qk->inputs[0]) || IsConst(qk->inputs[1]))
      return std::nullopt;
    int v = softmax.outputs[0];
    const Node* av = nullptr;
    for (int depth = 0; depth < 3 && av == nullptr; ++depth) {
      const Node* next = nullptr;
      for (int c : consumers_[v]) {
        const Node& n = g_.nodes[c];
        if (n.op_type == "MatMul")
          av = &n;
        else if (n.op_type == "Cast" || n.op_type == "Dropout")
          next = &n;
      }
      if (av == nullptr) {
        if (next == nullptr) break;
        nodes.push_back(next);
        v = next->outputs[0];
      }
    }
    if (av == nullptr || av->inputs.size() != 2 || IsConst(av->inputs[0]) || IsConst(av->inputs[1]))
      return std::nullopt;
    // Scaling applied to q or k before the MatMul counts too.
    for (int in : qk->inputs) {
      const Node* p = Producer(in);
      if (p != nullptr && (p->op_type == "Mul" || p->op_type == "Div") && p->inputs.size() == 2 &&
          IsConst(p->inputs[1]))
        scaled = true;
    }
    std::vector<const Node*> all{qk};
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) all.push_back(*it);
    all.push_back(&softmax);
    all.push_back(av);
    return Make("attention",
                scaled ? "decomposed (scaled dot-product)" : "decomposed (unscaled dot-product)",
                all);
  }

  const Graph& g_;
  std::vector<int> producer_;
  std::vector<std::vector<int>> consumers_;
};

TensorInfo Info(const Graph& g, int v) {
  const Value& val = g.values[v];
  return TensorInfo{val.name, std::string(DTypeName(val.dtype)),
                    val.shape ? ShapeToString(*val.shape) : "?"};
}

}  // namespace

bool ModelAnalysis::HasPattern(std::string_view kind) const {
  for (const Pattern& p : patterns) {
    if (p.kind == kind) return true;
  }
  return false;
}

Expected<ModelAnalysis> AnalyzeModel(const Model& model, const SessionOptions& bind) {
  const Graph& g = model.graph;
  ModelAnalysis a;
  a.path = model.path;
  a.format = g.source_format;
  a.producer = g.producer;
  a.framework_guess = GuessFramework(g.producer);
  for (const auto& [domain, version] : g.opset_imports)
    a.opset_imports[domain.empty() ? "ai.onnx" : domain] = version;
  for (int v : g.inputs) a.inputs.push_back(Info(g, v));
  for (int v : g.outputs) a.outputs.push_back(Info(g, v));
  std::set<std::string> dyn, file_dyn;
  for (int v : g.inputs) {
    const Value& in = g.values[v];
    const bool shape_given = bind.input_shapes.count(in.name) > 0;
    if (!in.shape) {
      file_dyn.insert(in.name + ":rank");
      if (!shape_given) dyn.insert(in.name + ":rank");
      continue;
    }
    for (const Dim& d : *in.shape) {
      if (d.is_static()) continue;
      const std::string id = d.symbol.empty() ? in.name + ":?" : d.symbol;
      file_dyn.insert(id);
      if (!shape_given && (d.symbol.empty() || !bind.symbol_values.count(d.symbol))) dyn.insert(id);
    }
  }
  a.dynamic_dims.assign(dyn.begin(), dyn.end());
  a.file_dynamic_dims.assign(file_dyn.begin(), file_dyn.end());
  a.ops = CollectOps(g);

  static const std::set<std::string> kQuantOps{
      "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
      "ConvInteger",    "MatMulInteger",    "QLinearAdd",  "QLinearMul"};
  for (const Value& v : g.values) {
    if (!v.is_constant()) continue;
    a.parameter_count += v.constant->num_elements();
    a.parameter_bytes += v.constant->bytes();
    if (IsFloat(v.dtype)) {
      a.float_parameter_count += v.constant->num_elements();
    } else {
      a.nonfloat_parameter_bytes += v.constant->bytes();
    }
    if ((v.dtype == DType::kI8 || v.dtype == DType::kU8) && v.constant->num_elements() > 16)
      a.quantized = true;
  }
  for (const Node& n : g.nodes) {
    if (kQuantOps.count(n.op_type)) a.quantized = true;
    if (!IsStandardDomain(n.domain)) {
      const std::string id = n.domain + "::" + n.op_type;
      if (std::find(a.custom_ops.begin(), a.custom_ops.end(), id) == a.custom_ops.end())
        a.custom_ops.push_back(id);
    }
  }
  for (const Node* n : FindUnknownOps(g)) {
    const std::string id = (n->domain.empty() ? "" : n->domain + "::") + n->op_type;
    if (std::find(a.engine_unknown_ops.begin(), a.engine_unknown_ops.end(), id) ==
        a.engine_unknown_ops.end()) {
      a.engine_unknown_ops.push_back(id);
    }
  }

  // What a converter sees: dims bound to 1, shape subgraphs folded away.
  SessionOptions options;
  options.input_shapes = bind.input_shapes;
  options.symbol_values = bind.symbol_values;
  options.default_dim_value = 1;
  auto folded = std::make_shared<Graph>(g);
  Status st = BindInputShapes(*folded, options);
  if (st.ok()) st = InferShapesAndFold(*folded, /*fold=*/true, FoldMode::kAll);
  if (st.ok()) {
    for (int v : folded->inputs) a.bound_inputs.push_back(Info(*folded, v));
    a.folded_ops = CollectOps(*folded);
    a.folded = folded;
  } else {
    a.fold_error = st.message();
    a.folded_ops = a.ops;
  }
  a.patterns = PatternFinder(a.folded ? *a.folded : g).FindAll();

  // The real planner's figure and MAC count.
  auto session = Session::Create(model, options);
  if (session) {
    a.arena_bytes = (*session)->arena_bytes();
    a.arena_source = "planner";
    for (const NodeReport& r : (*session)->NodeReports()) a.macs += r.macs;
    // Activation element size: the dtype most graph inputs carry (f32 unless already quantized).
    int bytes = 4;
    for (int v : g.inputs) {
      if (IsFloat(g.values[v].dtype) || g.values[v].dtype == DType::kI8 ||
          g.values[v].dtype == DType::kU8) {
        bytes = static_cast<int>(DTypeSize(g.values[v].dtype));
        break;
      }
    }
    a.activation_bytes_per_element = a.quantized ? 1 : bytes;
  } else {
    a.arena_source = "unavailable: " + session.status().message();
    for (const OpUse& u : a.folded_ops) a.macs += u.macs;
  }
  return a;
}

Expected<ModelAnalysis> AnalyzeModelFile(const std::string& path, const SessionOptions& bind) {
  ASSIGN_OR_RETURN(Model model, LoadModel(path));
  return AnalyzeModel(model, bind);
}

}  // namespace edgerun::advisor
