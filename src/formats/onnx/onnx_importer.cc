#include "formats/onnx/onnx_importer.h"

#include <climits>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <onnx_lite/onnx.pb.h>  // generated from onnx.proto (see CMakeLists.txt)

#include "formats/onnx/onnx_io.h"
#include "formats/onnx/onnx_tensor.h"

namespace edgerun {
namespace {

using onnx::AttributeProto;
using onnx::GraphProto;
using onnx::NodeProto;
using onnx::TypeProto;
using onnx::ValueInfoProto;

// Protobuf's own recursion limit (100 messages) already bounds nesting; this keeps the importer's
// stack use small and independent of protobuf settings.
constexpr int kMaxSubgraphDepth = 32;
// Bounds the size of shapes (and of messages quoting them) taken from corrupt files.
constexpr int kMaxImportRank = 64;
constexpr size_t kMaxNodeNameChars = 512;

std::string NormalizeDomain(const std::string& domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

bool IsConstantNode(const NodeProto& np) {
  return np.op_type() == "Constant" && NormalizeDomain(np.domain()).empty();
}

// Builds a tensor from host values; zero-element tensors never touch the (null) data pointer.
Expected<Tensor> TensorFromValues(DType dtype, std::vector<int64_t> dims, const void* data,
                                  size_t bytes) {
  if (bytes == 0) return Tensor::Create(dtype, std::move(dims));
  return Tensor::FromBytes(dtype, std::move(dims), data, bytes);
}

struct TypeInfo {
  DType dtype = DType::kUndefined;
  std::optional<Shape> shape;
};

// Converts a value's TypeProto. A missing type gives kUndefined and an unknown rank.
Expected<TypeInfo> ConvertType(const TypeProto& type, const std::string& what) {
  TypeInfo info;
  if (type.value_case() == TypeProto::VALUE_NOT_SET) return info;
  if (type.value_case() != TypeProto::kTensorType) {
    return Unsupported(
        fmt::format("{} is not a dense tensor (sequence, map, optional and sparse "
                    "values are not supported)",
                    what));
  }
  const auto& tensor_type = type.tensor_type();
  if (tensor_type.elem_type() != onnx::TensorProto::UNDEFINED) {
    auto dtype = DTypeFromOnnx(tensor_type.elem_type());
    if (!dtype.ok()) return dtype.status().WithPrefix(what);
    info.dtype = *dtype;
  }
  if (!tensor_type.has_shape()) return info;
  const auto& dims = tensor_type.shape().dim();
  if (dims.size() > kMaxImportRank) {
    return Unsupported(
        fmt::format("{} has rank {}, more than {}", what, dims.size(), kMaxImportRank));
  }
  Shape shape;
  shape.reserve(dims.size());
  for (const auto& d : dims) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) {
        return InvalidModel(fmt::format("{} has negative dim {}", what, d.dim_value()));
      }
      shape.emplace_back(d.dim_value());
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      shape.push_back(Dim::Symbolic(d.dim_param()));
    } else {
      shape.emplace_back();  // unknown, anonymous
    }
  }
  info.shape = std::move(shape);
  return info;
}

// Fills in the type of an intermediate value from value_info or a graph output, without
// overriding what is already known.
void ApplyType(const TypeInfo& info, Value* v) {
  if (v->is_constant()) return;
  if (v->dtype == DType::kUndefined) v->dtype = info.dtype;
  if (!v->shape.has_value()) v->shape = info.shape;
}

// Old models (IR version < 3) may leave AttributeProto.type unset; infer it from the payload.
AttributeProto::AttributeType EffectiveType(const AttributeProto& a) {
  if (a.type() != AttributeProto::UNDEFINED) return a.type();
  if (a.ints_size() > 0) return AttributeProto::INTS;
  if (a.floats_size() > 0) return AttributeProto::FLOATS;
  if (a.strings_size() > 0) return AttributeProto::STRINGS;
  if (a.tensors_size() > 0) return AttributeProto::TENSORS;
  if (a.graphs_size() > 0) return AttributeProto::GRAPHS;
  if (a.has_t()) return AttributeProto::TENSOR;
  if (a.has_g()) return AttributeProto::GRAPH;
  if (a.has_sparse_tensor()) return AttributeProto::SPARSE_TENSOR;
  if (a.has_s()) return AttributeProto::STRING;
  if (a.has_i()) return AttributeProto::INT;
  if (a.has_f()) return AttributeProto::FLOAT;
  return AttributeProto::UNDEFINED;
}

struct ModelContext {
  std::string base_dir;
  std::map<std::string, int, std::less<>> opsets;  // normalized domain -> version
  // The main graph's initializer raw_data, split off by the parse (null: still in the protos).
  const SplitRawData* main_raw = nullptr;
};

// Imports one GraphProto (the model's main graph or a control-flow body).
class GraphImporter {
 public:
  GraphImporter(const ModelContext& ctx, const GraphImporter* outer, int depth)
      : ctx_(ctx), outer_(outer), depth_(depth) {}

  // Consumes initializer raw_data from `proto` as it goes, to bound peak memory.
  Expected<Graph> Import(GraphProto* proto);

 private:
  // Where a value name was first defined, for "defined twice" messages.
  struct Definition {
    int value = -1;
    enum class Kind { kInput, kInitializer, kNode } kind = Kind::kInput;
    int node = -1;  // proto node index for kNode
  };

  bool is_main() const { return outer_ == nullptr; }
  bool DefinedInOuterScope(const std::string& name) const;
  std::string DescribeProtoNode(int i) const;
  std::string DescribeDefinition(const Definition& d) const;
  Status Define(const std::string& name, Definition def);

  Status ImportInitializers(GraphProto* proto);
  Status ImportInputs();
  Status DefineNodeValues();
  Status ImportNodes();
  Status ImportOutputs();
  void ApplyValueInfo();

  // The value of the Constant node `index`, without copying its weights: a view of the split-off
  // raw_data, or the proto's raw_data string taken over.
  Expected<Tensor> ConstantNodeValue(NodeProto* np, int index, const std::string& desc) const;
  Expected<int> ResolveInput(const std::string& name, const Node& node) const;
  // Attribute `attr` of the proto node `index`.
  Expected<Attribute> ConvertAttribute(AttributeProto* a, int index, int attr,
                                       const Node& node) const;
  // Where the split parse put the raw_data of a node attribute's tensor (main graph only).
  const RawDataSlice* SplitAttributeTensor(int index, int attr) const {
    return is_main() && ctx_.main_raw != nullptr ? ctx_.main_raw->NodeAttribute(index, attr)
                                                 : nullptr;
  }
  Expected<Tensor> AttributeTensor(AttributeProto* a, int index, int attr) const {
    const RawDataSlice* split = SplitAttributeTensor(index, attr);
    NoteDataFile(a->t());
    return split != nullptr ? TensorFromProtoWithRaw(a->t(), *split, ctx_.base_dir)
                            : TensorFromProtoAdoptingRaw(a->mutable_t(), ctx_.base_dir);
  }
  // Remembers the external data file of `t`, if any (Graph::data_files).
  void NoteDataFile(const onnx::TensorProto& t) const {
    if (t.data_location() != onnx::TensorProto::EXTERNAL || ctx_.base_dir.empty()) return;
    for (const auto& entry : t.external_data()) {
      if (entry.key() == "location" && !entry.value().empty()) {
        data_files_.insert((std::filesystem::path(ctx_.base_dir) / entry.value()).string());
      }
    }
  }

  const ModelContext& ctx_;
  const GraphImporter* outer_;
  int depth_;
  GraphProto* proto_ = nullptr;
  Graph graph_;
  mutable std::set<std::string> data_files_;
  std::unordered_map<std::string, Definition> defs_;
  std::vector<std::string> node_names_;  // per proto node; generated when the proto has none
};

bool GraphImporter::DefinedInOuterScope(const std::string& name) const {
  for (const GraphImporter* g = outer_; g != nullptr; g = g->outer_) {
    if (g->defs_.count(name) > 0) return true;
  }
  return false;
}

std::string GraphImporter::DescribeProtoNode(int i) const {
  Node n;
  n.name = node_names_[i];
  n.op_type = proto_->node(i).op_type();
  n.domain = NormalizeDomain(proto_->node(i).domain());
  return n.Describe();
}

std::string GraphImporter::DescribeDefinition(const Definition& d) const {
  switch (d.kind) {
    case Definition::Kind::kInput:
      return "a graph input";
    case Definition::Kind::kInitializer:
      return "an initializer";
    case Definition::Kind::kNode:
      return DescribeProtoNode(d.node);
  }
  return "?";
}

Status GraphImporter::Define(const std::string& name, Definition def) {
  auto [it, inserted] = defs_.emplace(name, def);
  if (!inserted) {
    return InvalidModel(fmt::format("value '{}' is defined twice: by {} and by {}", name,
                                    DescribeDefinition(it->second), DescribeDefinition(def)));
  }
  return Status::Ok();
}

Status GraphImporter::ImportInitializers(GraphProto* proto) {
  if (proto->sparse_initializer_size() > 0) {
    return Unsupported(fmt::format("sparse initializer '{}' is not supported",
                                   proto->sparse_initializer(0).values().name()));
  }
  for (int i = 0; i < proto->initializer_size(); ++i) {
    onnx::TensorProto* init = proto->mutable_initializer(i);
    if (init->name().empty()) return InvalidModel(fmt::format("initializer #{} has no name", i));
    Definition def{-1, Definition::Kind::kInitializer};
    if (defs_.count(init->name()) > 0) RETURN_IF_ERROR(Define(init->name(), def));
    // Either a view of the split-off raw_data or the proto's own raw_data taken over: no copy,
    // and peak memory stays near one model size.
    const RawDataSlice* raw = nullptr;
    if (is_main() && ctx_.main_raw != nullptr) {
      const auto& split = ctx_.main_raw->initializers.at(static_cast<size_t>(i));
      if (split.has_value()) raw = &*split;
    }
    NoteDataFile(*init);
    auto tensor = raw != nullptr ? TensorFromProtoWithRaw(*init, *raw, ctx_.base_dir)
                                 : TensorFromProtoAdoptingRaw(init, ctx_.base_dir);
    if (!tensor.ok()) return tensor.status().WithPrefix("initializer");
    def.value = graph_.AddConstant(init->name(), std::move(tensor).value());
    RETURN_IF_ERROR(Define(init->name(), def));
  }
  return Status::Ok();
}

Status GraphImporter::ImportInputs() {
  for (int i = 0; i < proto_->input_size(); ++i) {
    const ValueInfoProto& in = proto_->input(i);
    if (in.name().empty()) return InvalidModel(fmt::format("graph input #{} has no name", i));
    auto existing = defs_.find(in.name());
    // IR < 4 lists initializers among the inputs too; they stay constants.
    if (existing != defs_.end() && existing->second.kind == Definition::Kind::kInitializer) {
      continue;
    }
    const std::string what = fmt::format("graph input '{}'", in.name());
    ASSIGN_OR_RETURN(TypeInfo info, ConvertType(in.type(), what));
    if (is_main() && info.dtype == DType::kUndefined) {
      return InvalidModel(fmt::format("{} has no tensor element type", what));
    }
    Definition def{-1, Definition::Kind::kInput};
    if (existing != defs_.end()) RETURN_IF_ERROR(Define(in.name(), def));
    def.value = graph_.AddValue(in.name(), info.dtype, std::move(info.shape));
    RETURN_IF_ERROR(Define(in.name(), def));
    graph_.MarkInput(def.value);
  }
  return Status::Ok();
}

Expected<Tensor> GraphImporter::ConstantNodeValue(NodeProto* mutable_np, int index,
                                                  const std::string& desc) const {
  const NodeProto& np = *mutable_np;
  if (np.input_size() != 0) {
    return InvalidModel(fmt::format("{}: takes no inputs but has {}", desc, np.input_size()));
  }
  if (np.output_size() != 1 || np.output(0).empty()) {
    return InvalidModel(fmt::format("{}: must have exactly one named output", desc));
  }
  static constexpr std::string_view kValueAttrs[] = {"value",         "value_float", "value_floats",
                                                     "value_int",     "value_ints",  "value_string",
                                                     "value_strings", "sparse_value"};
  const AttributeProto* value = nullptr;
  int found = 0, value_index = -1;
  for (int i = 0; i < np.attribute_size(); ++i) {
    for (std::string_view k : kValueAttrs) {
      if (np.attribute(i).name() == k) {
        value = &np.attribute(i);
        value_index = i;
        ++found;
      }
    }
  }
  if (found != 1) {
    return InvalidModel(fmt::format(
        "{}: needs exactly one of value, value_float(s), value_int(s), value_string(s), "
        "sparse_value; has {}",
        desc, found));
  }
  const std::string& kind = value->name();
  if (kind == "value") {
    if (!value->has_t()) return InvalidModel(fmt::format("{}: 'value' holds no tensor", desc));
    // PP-OCR rec keeps its 10 MB of weights in Constant nodes: a copy here cost 18% of its load.
    auto t = AttributeTensor(mutable_np->mutable_attribute(value_index), index, value_index);
    if (!t.ok()) return t.status().WithPrefix(desc + ": attribute 'value'");
    return t;
  }
  if (kind == "value_float") {
    float f = value->f();
    return TensorFromValues(DType::kF32, {}, &f, sizeof(f));
  }
  if (kind == "value_int") {
    int64_t i = value->i();
    return TensorFromValues(DType::kI64, {}, &i, sizeof(i));
  }
  if (kind == "value_floats") {
    std::vector<float> v(value->floats().begin(), value->floats().end());
    return TensorFromValues(DType::kF32, {static_cast<int64_t>(v.size())}, v.data(),
                            v.size() * sizeof(float));
  }
  if (kind == "value_ints") {
    std::vector<int64_t> v(value->ints().begin(), value->ints().end());
    return TensorFromValues(DType::kI64, {static_cast<int64_t>(v.size())}, v.data(),
                            v.size() * sizeof(int64_t));
  }
  if (kind == "sparse_value") {
    return Unsupported(fmt::format("{}: sparse_value is not supported", desc));
  }
  return Unsupported(fmt::format("{}: string constants ({}) are not supported", desc, kind));
}

Status GraphImporter::DefineNodeValues() {
  for (int i = 0; i < proto_->node_size(); ++i) {
    const NodeProto& np = proto_->node(i);
    Definition def{-1, Definition::Kind::kNode, i};
    if (IsConstantNode(np)) {
      ASSIGN_OR_RETURN(Tensor t,
                       ConstantNodeValue(proto_->mutable_node(i), i, DescribeProtoNode(i)));
      const std::string& out = np.output(0);
      if (defs_.count(out) > 0) RETURN_IF_ERROR(Define(out, def));
      def.value = graph_.AddConstant(out, std::move(t));
      RETURN_IF_ERROR(Define(out, def));
      continue;
    }
    for (const std::string& out : np.output()) {
      if (out.empty()) continue;  // omitted optional output
      if (defs_.count(out) > 0) RETURN_IF_ERROR(Define(out, def));
      def.value = graph_.AddValue(out);
      RETURN_IF_ERROR(Define(out, def));
    }
  }
  return Status::Ok();
}

Expected<int> GraphImporter::ResolveInput(const std::string& name, const Node& node) const {
  if (name.empty()) return Node::kNoValue;  // omitted optional input
  auto it = defs_.find(name);
  if (it != defs_.end()) return it->second.value;
  if (DefinedInOuterScope(name)) {
    // Graph values cannot refer across graphs, so such bodies are kept as null graphs.
    return Unsupported(fmt::format("{}: reads outer-scope value '{}'", node.Describe(), name));
  }
  return InvalidModel(fmt::format("{}: input '{}' is not a graph input, initializer or node output",
                                  node.Describe(), name));
}

Expected<Attribute> GraphImporter::ConvertAttribute(AttributeProto* a, int index, int attr,
                                                    const Node& node) const {
  auto where = [&] { return fmt::format("{}: attribute '{}'", node.Describe(), a->name()); };
  const AttributeProto::AttributeType type = EffectiveType(*a);
  switch (type) {
    case AttributeProto::FLOAT:
      return Attribute::Float(a->f());
    case AttributeProto::INT:
      return Attribute::Int(a->i());
    case AttributeProto::STRING:
      return Attribute::String(a->s());
    case AttributeProto::FLOATS:
      return Attribute::Floats(std::vector<float>(a->floats().begin(), a->floats().end()));
    case AttributeProto::INTS:
      return Attribute::Ints(std::vector<int64_t>(a->ints().begin(), a->ints().end()));
    case AttributeProto::STRINGS:
      return Attribute::Strings(std::vector<std::string>(a->strings().begin(), a->strings().end()));
    case AttributeProto::TENSOR: {
      auto t = AttributeTensor(a, index, attr);
      if (!t.ok()) return t.status().WithPrefix(where());
      return Attribute::FromTensor(std::move(t).value());
    }
    case AttributeProto::GRAPH: {
      Attribute attr;
      attr.kind = Attribute::Kind::kGraph;
      if (depth_ + 1 > kMaxSubgraphDepth) return attr;
      GraphImporter sub(ctx_, this, depth_ + 1);
      auto g = sub.Import(a->mutable_g());
      if (g.ok()) {
        attr.graph = std::make_shared<const Graph>(std::move(g).value());
      } else if (g.status().code() != StatusCode::kUnsupported) {
        // Bodies edgerun cannot represent stay null graphs; corrupt ones fail the model.
        return g.status().WithPrefix(where());
      }
      return attr;
    }
    case AttributeProto::UNDEFINED:
      return InvalidModel(fmt::format("{} has no type and no value", where()));
    default:
      break;
  }
  return Unsupported(fmt::format("{} has kind {}, which edgerun cannot represent", where(),
                                 AttributeProto::AttributeType_Name(type)));
}

Status GraphImporter::ImportNodes() {
  for (int i = 0; i < proto_->node_size(); ++i) {
    NodeProto* np = proto_->mutable_node(i);
    if (IsConstantNode(*np)) continue;  // already a constant value
    Node node;
    node.name = node_names_[i];
    node.op_type = np->op_type();
    node.domain = NormalizeDomain(np->domain());
    if (node.op_type.empty())
      return InvalidModel(fmt::format("{} has no op_type", node.Describe()));
    auto opset = ctx_.opsets.find(node.domain);
    if (opset == ctx_.opsets.end()) {
      return InvalidModel(fmt::format("{}: domain '{}' is not in the model's opset_import",
                                      node.Describe(), node.domain));
    }
    node.opset = opset->second;
    for (const std::string& in : np->input()) {
      ASSIGN_OR_RETURN(int v, ResolveInput(in, node));
      node.inputs.push_back(v);
    }
    for (const std::string& out : np->output()) {
      node.outputs.push_back(out.empty() ? Node::kNoValue : defs_.at(out).value);
    }
    // Trailing omitted optionals mean the same as leaving them out.
    while (!node.inputs.empty() && node.inputs.back() == Node::kNoValue) node.inputs.pop_back();
    while (!node.outputs.empty() && node.outputs.back() == Node::kNoValue) node.outputs.pop_back();
    for (int j = 0; j < np->attribute_size(); ++j) {
      AttributeProto* a = np->mutable_attribute(j);
      if (a->name().empty()) {
        return InvalidModel(fmt::format("{}: attribute #{} has no name", node.Describe(), j));
      }
      if (node.has_attr(a->name())) {
        return InvalidModel(
            fmt::format("{}: attribute '{}' appears twice", node.Describe(), a->name()));
      }
      ASSIGN_OR_RETURN(Attribute attr, ConvertAttribute(a, i, j, node));
      node.attrs.emplace(a->name(), std::move(attr));
    }
    Node& added = graph_.AddNode(std::move(node.name), std::move(node.op_type),
                                 std::move(node.inputs), std::move(node.outputs));
    added.domain = std::move(node.domain);
    added.opset = node.opset;
    added.attrs = std::move(node.attrs);
  }
  return Status::Ok();
}

Status GraphImporter::ImportOutputs() {
  if (is_main() && proto_->output_size() == 0) return InvalidModel("the graph has no outputs");
  for (int i = 0; i < proto_->output_size(); ++i) {
    const ValueInfoProto& out = proto_->output(i);
    if (out.name().empty()) return InvalidModel(fmt::format("graph output #{} has no name", i));
    auto it = defs_.find(out.name());
    if (it == defs_.end()) {
      if (DefinedInOuterScope(out.name())) {
        return Unsupported(fmt::format("graph output '{}' is an outer-scope value", out.name()));
      }
      return InvalidModel(fmt::format(
          "graph output '{}' is not produced by any node, graph input or initializer", out.name()));
    }
    const int v = it->second.value;
    ASSIGN_OR_RETURN(TypeInfo info,
                     ConvertType(out.type(), fmt::format("graph output '{}'", out.name())));
    ApplyType(info, &graph_.values[v]);
    graph_.MarkOutput(v);
  }
  return Status::Ok();
}

void GraphImporter::ApplyValueInfo() {
  for (const ValueInfoProto& vi : proto_->value_info()) {
    auto it = defs_.find(vi.name());
    if (it == defs_.end()) continue;  // annotations of unused names are harmless
    // value_info is only a hint (shape inference recomputes it), so unusable entries are skipped.
    auto info = ConvertType(vi.type(), vi.name());
    if (info.ok()) ApplyType(*info, &graph_.values[it->second.value]);
  }
}

Expected<Graph> GraphImporter::Import(GraphProto* proto) {
  proto_ = proto;
  graph_.name = proto->name();
  node_names_.reserve(proto->node_size());
  for (int i = 0; i < proto->node_size(); ++i) {
    const NodeProto& np = proto->node(i);
    // Node names only label messages and reports; keep them printable and bounded.
    node_names_.push_back(Printable(
        np.name().empty() ? fmt::format("{}_{}", np.op_type(), i) : np.name(), kMaxNodeNameChars));
  }
  RETURN_IF_ERROR(ImportInitializers(proto));
  RETURN_IF_ERROR(ImportInputs());
  RETURN_IF_ERROR(DefineNodeValues());
  ApplyValueInfo();
  RETURN_IF_ERROR(ImportNodes());
  RETURN_IF_ERROR(ImportOutputs());
  RETURN_IF_ERROR(graph_.TopologicalSort());
  graph_.data_files.assign(data_files_.begin(), data_files_.end());
  return std::move(graph_);
}

Status ParseModel(std::span<const std::byte> bytes, const std::string& path,
                  onnx::ModelProto* model, SplitRawData* raw) {
  if (bytes.empty()) return InvalidModel(fmt::format("{}: file is empty", path));
  if (bytes.size() > kMaxProtoBytes) {
    return ResourceExhausted(fmt::format(
        "{}: {} bytes is more than protobuf's 2 GB limit (store the weights as external data)",
        path, bytes.size()));
  }
  return ParseModelSplitFromBytes(bytes, path, model, raw);
}

Expected<Graph> ImportModel(onnx::ModelProto& model, const SplitRawData& raw,
                            const std::string& path, const std::string& base_dir) {
  if (!model.has_graph()) {
    return InvalidModel(fmt::format("{}: not an ONNX model (the ModelProto has no graph)", path));
  }
  if (model.opset_import_size() == 0) {
    return Unsupported(fmt::format(
        "{}: the model imports no opset (IR version {}); edgerun needs opset {}..{} of domain ''",
        path, model.ir_version(), kMinOnnxOpset, kMaxOnnxOpset));
  }
  ModelContext ctx;
  ctx.base_dir = base_dir;
  ctx.main_raw = &raw;
  for (const auto& op : model.opset_import()) {
    const std::string domain = NormalizeDomain(op.domain());
    if (op.version() < 1 || op.version() > INT_MAX) {
      return InvalidModel(fmt::format("{}: opset {} of domain '{}' is not a valid version", path,
                                      op.version(), domain));
    }
    const int version = static_cast<int>(op.version());
    if (domain.empty() && (version < kMinOnnxOpset || version > kMaxOnnxOpset)) {
      return Unsupported(fmt::format("{}: opset {} of domain '' is not supported ({}..{})", path,
                                     version, kMinOnnxOpset, kMaxOnnxOpset));
    }
    auto [it, inserted] = ctx.opsets.emplace(domain, version);
    if (!inserted && it->second != version) {
      return InvalidModel(fmt::format("{}: domain '{}' is imported twice, as opset {} and {}", path,
                                      domain, it->second, version));
    }
  }
  GraphImporter importer(ctx, nullptr, 0);
  auto graph = importer.Import(model.mutable_graph());
  if (!graph.ok()) return graph.status().WithPrefix(path);
  Graph& g = *graph;
  g.opset_imports = ctx.opsets;
  g.producer = model.producer_name();
  if (!model.producer_version().empty()) {
    g.producer += (g.producer.empty() ? "" : " ") + model.producer_version();
  }
  g.source_format = "onnx";
  return graph;
}

}  // namespace

Expected<Graph> ImportOnnxFromBytes(std::span<const std::byte> bytes,
                                    const std::string& path_for_messages,
                                    const std::string& base_dir) {
  onnx::ModelProto model;
  SplitRawData raw;
  Status parsed = ParseModel(bytes, path_for_messages, &model, &raw);
  if (!parsed.ok()) return PrintableStatus(parsed);
  auto graph = ImportModel(model, raw, path_for_messages, base_dir);
  // Names in messages come from the file; keep every message one printable line.
  if (!graph.ok()) return PrintableStatus(graph.status());
  return graph;
}

Expected<Graph> ImportOnnxFromBuffer(std::vector<std::byte> bytes,
                                     const std::string& path_for_messages,
                                     const std::string& base_dir) {
  onnx::ModelProto model;
  SplitRawData raw;
  Status parsed = ParseModel(bytes, path_for_messages, &model, &raw);
  if (!parsed.ok()) return PrintableStatus(parsed);
  // The proto and the raw_data buffer hold their own copies; release the serialized bytes first.
  std::vector<std::byte>().swap(bytes);
  auto graph = ImportModel(model, raw, path_for_messages, base_dir);
  if (!graph.ok()) return PrintableStatus(graph.status());
  return graph;
}

Expected<Graph> ImportOnnx(const std::string& path) {
  onnx::ModelProto model;
  SplitRawData raw;
  Status parsed = ParseModelSplit(path, &model, &raw);
  if (!parsed.ok()) return PrintableStatus(parsed);
  auto graph = ImportModel(model, raw, path, DirectoryOf(path));
  if (!graph.ok()) return PrintableStatus(graph.status());
  return graph;
}

}  // namespace edgerun
