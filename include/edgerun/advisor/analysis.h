// Model analysis for the advisor, on edgerun's format-neutral IR (ONNX today, TFLite once its
// importer lands: nothing here looks at the file format).
//
// The graph is copied, its dynamic dims bound to 1 and constant-folded (as a converter would),
// so exporter shape subgraphs vanish and every remaining op has static shapes. Parameters, op
// uses and patterns come from that graph; MACs and arena bytes come from a real Session (the
// planner's figure, not a guess). Patterns: attention (MatMul -> [scale/mask] -> Softmax ->
// MatMul on activations), LayerNorm (the op or ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div),
// GELU (the op or the Erf form).
// Usage:
//   ASSIGN_OR_RETURN(Model model, LoadModel(path));
//   ASSIGN_OR_RETURN(ModelAnalysis a, AnalyzeModel(model));
//   for (const Pattern& p : a.patterns) ...
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/session.h"
#include "edgerun/status.h"

namespace edgerun::advisor {

struct OpUse {
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain
  int opset = 0;
  int count = 0;
  std::vector<std::string> dtypes;  // distinct input dtypes ("f32", "i8")
  std::vector<std::string> nodes;   // node names, in graph order
  int64_t macs = 0;
};

struct Pattern {
  std::string kind;  // attention | layernorm | gelu
  std::string form;  // "op LayerNormalization" or "decomposed"
  std::vector<std::string> nodes;
  std::vector<std::string> ops;  // op types involved
};

struct TensorInfo {
  std::string name;
  std::string dtype;
  std::string shape;  // "Nx3x224x224"
};

struct ModelAnalysis {
  std::string path;
  std::string format;           // graph.source_format
  std::string producer;         // graph.producer
  std::string framework_guess;  // pytorch, tensorflow, keras, paddle or other (from producer)
  std::map<std::string, int> opset_imports;
  std::vector<TensorInfo> inputs, outputs;
  std::vector<std::string> dynamic_dims;       // input dims left dynamic (not bound by the caller)
  std::vector<std::string> file_dynamic_dims;  // every non-static input dim in the file
  std::vector<TensorInfo> bound_inputs;        // input shapes the figures were computed for
  std::vector<OpUse> ops;                      // ops as written in the file
  std::vector<OpUse> folded_ops;  // ops left after binding dims to 1 and constant folding
  int64_t parameter_count = 0;
  uint64_t parameter_bytes = 0;           // as stored
  int64_t float_parameter_count = 0;      // float weights (re-sized by the chosen precision)
  uint64_t nonfloat_parameter_bytes = 0;  // integer weights keep their size
  int64_t macs = 0;
  uint64_t arena_bytes = 0;              // from the session's planner (dims bound to 1)
  std::string arena_source;              // "planner", or "unavailable: <why>"
  int activation_bytes_per_element = 4;  // element size of the planned activations
  bool quantized = false;                // QDQ / QLinear ops or int8 weights
  std::vector<Pattern> patterns;
  std::vector<std::string> custom_ops;          // "domain::Op" for non-standard domains
  std::vector<std::string> engine_unknown_ops;  // ops edgerun's own engine does not know
  // Folded graph (dims bound to 1), kept for per-op constraint checks; null when folding failed.
  std::shared_ptr<const Graph> folded;
  std::string fold_error;

  bool HasPattern(std::string_view kind) const;
};

// Analyzes a loaded model. Fails only when the model itself is unusable (no graph); folding or
// session errors are recorded (arena_source, fold_error) because the advisor still reasons
// about models edgerun cannot run (custom ops).
// `bind` supplies input_shapes / symbol_values (the CLI's --shape); dims it leaves unbound count
// as dynamic and are set to 1 for the figures.
Expected<ModelAnalysis> AnalyzeModel(const Model& model, const SessionOptions& bind = {});

// Loads `path` with edgerun's importer and analyzes it; errors name the file.
Expected<ModelAnalysis> AnalyzeModelFile(const std::string& path, const SessionOptions& bind = {});

}  // namespace edgerun::advisor
