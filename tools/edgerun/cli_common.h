// Shared pieces of the edgerun CLI: option parsing helpers, model loading with --shape,
// exit-code mapping, input loading and random input generation.
//
// Exit codes follow the brief: 0 success, 1 model or input error, 2 usage error.
// Usage:
//   ASSIGN_OR_RETURN(auto opts, BuildSessionOptions(model.graph, shape_args, threads));
//   return ReportError(status);  // prints "edgerun: <message>" and returns 1
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "edgerun/session.h"

namespace CLI {
class App;
}

namespace edgerun::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInputError = 1;
inline constexpr int kExitUsage = 2;

// Prints the one-line error to stderr and returns the matching exit code.
int ReportError(const Status& status);

// Parses "1x3x224x224" (also "1,3,224,224"); "" or "scalar" is rank 0.
Expected<std::vector<int64_t>> ParseDims(const std::string& text);

// Applies --shape NAME=DIMS arguments: NAME is a graph input (full shape) or a symbolic dim
// (a single number). Errors name the argument.
Status ApplyShapeArgs(const Graph& graph, const std::vector<std::string>& shape_args,
                      SessionOptions& options);

// Fills every byte of `view` deterministically from `seed`: floats uniform in [-1, 1),
// integers in [0, 10), bools 0/1.
void FillRandom(const TensorView& view, uint64_t seed);

// Reads an input tensor from .npy or an ONNX TensorProto .pb file (by extension).
Expected<Tensor> ReadTensorFile(const std::string& path);

// Reads --input NAME=FILE arguments; each NAME must be an input of `graph` (from `model_path`).
Expected<std::map<std::string, Tensor>> ReadInputArgs(const Graph& graph,
                                                      const std::vector<std::string>& input_args,
                                                      const std::string& model_path);
// Shapes the session so the given inputs fit (unless --shape already set them), after
// ApplyShapeArgs.
void ApplyInputShapes(const std::map<std::string, Tensor>& given, SessionOptions& options);
// Binds the given inputs to the session and fills the others with FillRandom(seed + index).
Status SetInputs(Session& session, const std::map<std::string, Tensor>& given, uint64_t seed,
                 const std::string& model_path);

// Output file name for a tensor name: bytes outside [A-Za-z0-9_.-] and a leading '.' become
// %XX (uppercase hex), so "logits:0" -> "logits%3A0.npy" and "../x" -> "%2E.%2Fx.npy".
std::string EscapeFileName(const std::string& tensor_name);

struct EngineArgs;
// Adds --threads, --pin, --kernels, --tune, --tune-cache, --weight-cache, --no-optimize and the
// other engine options to a subcommand.
void AddEngineOptions(CLI::App* cmd, EngineArgs& args);
// Copies them into session options; an unknown kernel path name is a usage error naming it.
Status ApplyEngineArgs(const EngineArgs& args, SessionOptions& options);

// Peak resident set size of this process, in bytes.
size_t PeakRssBytes();

}  // namespace edgerun::cli
