// The format-neutral graph IR that every importer produces and every pass and backend consumes.
//
// A Graph owns Values (tensors: graph inputs, constants, intermediates) and Nodes (operators)
// stored in topological order. Nodes refer to values by index. Op types use ONNX names and
// semantics (the TFLite importer maps onto them); edgerun-internal fused ops use the domain
// kEdgerunDomain. Shapes may hold named symbolic dims until a session binds them.
// Usage:
//   Graph g;
//   int x = g.AddValue("x", DType::kF32, Shape{Dim::Symbolic("N"), Dim(3)});
//   int y = g.AddValue("y");
//   g.AddNode("relu0", "Relu", {x}, {y});
//   g.MarkInput(x); g.MarkOutput(y);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "edgerun/dtype.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun {

inline constexpr std::string_view kEdgerunDomain = "com.edgerun";
// NHWC versions of ONNX ops (same op_type and attributes): input 0 and output 0 are NHWC, other
// inputs (weights, scales) keep their ONNX layout. Conv also takes an optional input 3, a residual
// added before the fused activation. Produced by the layout pass, never by importers.
inline constexpr std::string_view kNhwcDomain = "com.edgerun.nhwc";

// One dimension: a static size, or a named symbol ("batch") or anonymous unknown (value -1).
struct Dim {
  int64_t value = -1;
  std::string symbol;

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: implicit for brevity in shape literals
  static Dim Symbolic(std::string name) {
    Dim d;
    d.symbol = std::move(name);
    return d;
  }
  bool is_static() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
};
using Shape = std::vector<Dim>;

bool IsStatic(const Shape& s);
std::vector<int64_t> StaticDims(const Shape& s);  // -1 for non-static dims
Shape ShapeFromDims(const std::vector<int64_t>& dims);
std::string ShapeToString(const Shape& s);  // "Nx3x224x224", "?" for anonymous dims

// Affine quantization: real = scale * (q - zero_point). Per-tensor when scale has one entry,
// per-axis (per-channel) otherwise, along `axis`.
struct QuantParams {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int axis = 0;
  bool empty() const { return scale.empty(); }
  bool per_axis() const { return scale.size() > 1; }
};

// Memory layout of a 4-D activation or weight. kAny for tensors where it does not matter.
enum class Layout : uint8_t { kAny, kNCHW, kNHWC, kOIHW, kOHWI };
std::string_view LayoutName(Layout l);

struct Value {
  std::string name;
  DType dtype = DType::kUndefined;
  std::optional<Shape> shape;  // nullopt: rank unknown
  // Present for initializers and folded constants.
  std::shared_ptr<const Tensor> constant;
  QuantParams quant;
  Layout layout = Layout::kAny;

  bool is_constant() const { return constant != nullptr; }
  // The constant's data, writable in place, when this value alone holds the Tensor (no caller's
  // Model or graph copy shares it) and the Tensor alone holds a writable buffer; else nullptr.
  // For a caller that writes every element: bytes still in the model file are not copied in
  // first (Tensor::ExclusiveMutableRawToOverwrite). Whether other nodes read the value is the
  // caller's to check.
  void* ExclusiveConstantDataToOverwrite() const {
    return HasExclusiveConstant() ? constant->ExclusiveMutableRawToOverwrite() : nullptr;
  }
  // Whether ExclusiveConstantDataToOverwrite() would give the data, without copying bytes still in
  // the model file (Tensor::copy_pending).
  bool HasExclusiveConstant() const {
    return constant != nullptr && constant.use_count() == 1 && constant->IsExclusivelyWritable();
  }
};

struct Graph;

// An attribute value. Kinds follow ONNX; TFLite options map onto them.
struct Attribute {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor, kGraph };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<const Tensor> tensor;
  std::shared_ptr<const Graph> graph;  // control-flow bodies (not executed yet)

  static Attribute Int(int64_t v);
  static Attribute Float(float v);
  static Attribute String(std::string v);
  static Attribute Ints(std::vector<int64_t> v);
  static Attribute Floats(std::vector<float> v);
  static Attribute Strings(std::vector<std::string> v);
  static Attribute FromTensor(Tensor t);
};
std::string_view AttributeKindName(Attribute::Kind k);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;        // "" is the default ONNX domain
  int opset = 0;             // opset version of `domain` that the model imports
  std::vector<int> inputs;   // value indices; kNoValue for an omitted optional input
  std::vector<int> outputs;  // value indices; kNoValue for an omitted optional output
  std::map<std::string, Attribute, std::less<>> attrs;

  static constexpr int kNoValue = -1;

  bool has_attr(std::string_view n) const { return attrs.find(n) != attrs.end(); }
  const Attribute* attr(std::string_view n) const;
  // Typed getters: return the default when absent; an error when present with the wrong kind.
  Expected<int64_t> GetInt(std::string_view n, int64_t def) const;
  Expected<float> GetFloat(std::string_view n, float def) const;
  Expected<std::string> GetString(std::string_view n, std::string def) const;
  Expected<std::vector<int64_t>> GetInts(std::string_view n, std::vector<int64_t> def) const;
  Expected<std::vector<float>> GetFloats(std::string_view n, std::vector<float> def) const;
  // "node 'conv1' (Conv)"; used as the prefix of every error about this node.
  std::string Describe() const;
  int num_present_inputs() const;
};

struct Graph {
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topologically sorted
  std::vector<int> inputs;  // non-constant graph inputs, in model order
  std::vector<int> outputs;
  std::map<std::string, int, std::less<>> opset_imports;  // domain -> version
  std::string producer;                                   // e.g. "pytorch 1.13.1"
  std::string source_format;                              // "onnx", "tflite"
  // Files besides the model that its constants were read from (ONNX external data), sorted.
  std::vector<std::string> data_files;

  int AddValue(std::string value_name, DType dtype = DType::kUndefined,
               std::optional<Shape> shape = std::nullopt);
  int AddConstant(std::string value_name, Tensor t);
  Node& AddNode(std::string node_name, std::string op_type, std::vector<int> in,
                std::vector<int> out);
  void MarkInput(int v) { inputs.push_back(v); }
  void MarkOutput(int v) { outputs.push_back(v); }

  int FindValue(std::string_view value_name) const;  // -1 if absent
  // Index of the node producing each value (-1 for inputs and constants).
  std::vector<int> ProducerIndex() const;
  // For each value, the indices of the nodes that read it.
  std::vector<std::vector<int>> ConsumerIndex() const;
  bool IsGraphOutput(int v) const;
  bool IsGraphInput(int v) const;

  // Sorts nodes topologically; fails (naming a node) on a cycle or a value read before any
  // producer exists.
  Status TopologicalSort();
  // Drops values no node or graph endpoint references, and renumbers the rest.
  void CompactValues();
  // Histogram of op types, for inspect.
  std::map<std::string, int> OpHistogram() const;
  // Distinct unbound symbolic dims among graph inputs ("batch", "height"...).
  std::vector<std::string> SymbolicDims() const;
};

// Unique name helper for passes that create values and nodes.
std::string MakeUniqueName(const Graph& g, std::string_view base);

}  // namespace edgerun
