// LoadModel: reads a model file and dispatches on its content to the matching importer.
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "edgerun/session.h"
#include "formats/onnx/onnx_importer.h"
#include "formats/onnx/onnx_io.h"

namespace edgerun {
namespace {

// TFLite flatbuffers carry the file identifier "TFL3" after the 4-byte root table offset.
bool IsTfliteFlatbuffer(std::span<const std::byte> bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data() + 4, "TFL3", 4) == 0;
}

}  // namespace

Expected<Model> LoadModel(const std::string& path) {
  ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path, kMaxProtoBytes));
  if (file.bytes().empty()) return InvalidModel(fmt::format("{}: file is empty", path));
  if (IsTfliteFlatbuffer(file.bytes())) {
    return Unsupported(
        fmt::format("{}: this is a TFLite model; edgerun reads only ONNX today (the TFLite "
                    "importer is planned)",
                    path));
  }
  // Anything else must be an ONNX ModelProto; protobuf has no magic number, so the importer's
  // parse (and its "no graph" check) is the detection.
  file.Unmap();
  ASSIGN_OR_RETURN(Graph graph, ImportOnnx(path));
  Model model;
  model.path = path;
  model.graph = std::move(graph);
  return model;
}

}  // namespace edgerun
