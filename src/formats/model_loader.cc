// LoadModel: reads a model file and dispatches on its content to the matching importer.
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "edgerun/session.h"
#include "formats/onnx/onnx_importer.h"
#include "formats/onnx/onnx_io.h"

namespace edgerun {
namespace {

// TFLite flatbuffers carry the file identifier "TFL3" after the 4-byte root table offset.
bool IsTfliteFlatbuffer(std::string_view head) {
  return head.size() >= 8 && head.substr(4, 4) == "TFL3";
}

}  // namespace

Expected<Model> LoadModel(const std::string& path) {
  // Only the first bytes decide the format; the importer reads the file itself.
  ASSIGN_OR_RETURN(std::string head, ReadFilePrefix(path, 8, kMaxProtoBytes));
  if (head.empty()) return InvalidModel(fmt::format("{}: file is empty", path));
  if (IsTfliteFlatbuffer(head)) {
    return Unsupported(
        fmt::format("{}: this is a TFLite model; edgerun reads only ONNX today (the TFLite "
                    "importer is planned)",
                    path));
  }
  // Anything else must be an ONNX ModelProto; protobuf has no magic number, so the importer's
  // parse (and its "no graph" check) is the detection.
  ASSIGN_OR_RETURN(Graph graph, ImportOnnx(path));
  Model model;
  model.path = path;
  model.graph = std::move(graph);
  return model;
}

}  // namespace edgerun
