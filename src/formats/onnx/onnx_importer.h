// Imports an ONNX ModelProto into the edgerun Graph IR.
//
// The model is parsed by ParseModelSplit (onnx_io.h): the raw_data of the main graph's
// initializers and node attribute tensors (Constant nodes) is read into one huge-page buffer and
// its tensors are views of it, everything else is parsed by protobuf with a 2 GB limit. The
// default-domain opset is checked (7..18), then each graph is imported in two passes: the first
// defines every value (inputs, initializers, node outputs; Constant nodes become constant values)
// and rejects duplicates, the second resolves node inputs, converts attributes (subgraphs
// recursively) and records the nodes, which are finally sorted topologically. Every error is one
// line naming the file and the tensor or node involved.
// Usage:
//   ASSIGN_OR_RETURN(Graph g, ImportOnnx("models/mobilenet.onnx"));
//   ASSIGN_OR_RETURN(Graph g2, ImportOnnxFromBytes(bytes, "in-memory.onnx", "/models"));
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/status.h"

namespace edgerun {

// Opset range of the default ONNX domain that edgerun implements.
inline constexpr int kMinOnnxOpset = 7;
inline constexpr int kMaxOnnxOpset = 18;

// Reads and imports `path` (streamed, never whole in memory; the weights are read straight into
// their final buffer); external data is resolved relative to its directory.
Expected<Graph> ImportOnnx(const std::string& path);

// Imports a serialized ModelProto. `path_for_messages` prefixes every error; external data is
// resolved relative to `base_dir` (empty: models with external data are rejected).
Expected<Graph> ImportOnnxFromBytes(std::span<const std::byte> bytes,
                                    const std::string& path_for_messages,
                                    const std::string& base_dir);

// As ImportOnnxFromBytes, but takes the buffer and frees it as soon as it is parsed, which keeps
// peak memory near one copy of the model while the tensors are decoded.
Expected<Graph> ImportOnnxFromBuffer(std::vector<std::byte> bytes,
                                     const std::string& path_for_messages,
                                     const std::string& base_dir);

}  // namespace edgerun
