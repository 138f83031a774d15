// File and protobuf reading helpers shared by the ONNX importer, the model loader and the
// conformance tools.
//
// Files are read whole into memory after a size check; protobuf messages are parsed from that
// memory through a CodedInputStream with a 2 GB limit, so malformed input yields `false` rather
// than an abort or an exception.
// Usage:
//   ASSIGN_OR_RETURN(std::vector<std::byte> bytes, ReadFileBytes("model.onnx", kMaxProtoBytes));
//   onnx::ModelProto model;
//   if (!ParseProtoFromBytes(bytes, &model)) return InvalidModel("model.onnx: not protobuf");
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/status.h"

namespace google::protobuf {
class MessageLite;
}  // namespace google::protobuf

namespace edgerun {

// Protobuf cannot address more than 2 GB - 1 in one message; larger models use external data.
inline constexpr size_t kMaxProtoBytes = size_t{0x7fffffff};

// Reads the whole file. Errors name the file: NotFound when it does not exist, InvalidArgument
// for a directory, ResourceExhausted when larger than `max_bytes`, IoError otherwise.
Expected<std::vector<std::byte>> ReadFileBytes(const std::string& path, size_t max_bytes);

// A read-only memory map of a whole file, checked like ReadFileBytes. Parsing a model straight
// from the map avoids copying it into a buffer first. Move-only; unmaps on destruction.
class MappedFile {
 public:
  static Expected<MappedFile> Open(const std::string& path, size_t max_bytes);
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(addr_), size_}; }
  void Unmap();

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

// Parses the file at `path` into `message`, streaming it through a small buffer so that the
// serialized bytes are never all in memory next to the parsed message. Errors as ReadFileBytes;
// a malformed message gives `false`.
Expected<bool> ParseProtoFromFile(const std::string& path, size_t max_bytes,
                                  google::protobuf::MessageLite* message);

// Parses `bytes` into `message`. Returns false on malformed or oversized input.
bool ParseProtoFromBytes(std::span<const std::byte> bytes, google::protobuf::MessageLite* message);

// `s` with control characters escaped as \xNN and cut to about `max_chars`, so that names from
// untrusted files keep error messages on one readable line.
std::string Printable(std::string_view s, size_t max_chars);
// Applies Printable to a whole error message (limit 4096 characters).
Status PrintableStatus(const Status& status);

// The directory containing `path` ("." for a bare file name); external data is relative to it.
std::string DirectoryOf(const std::string& path);

}  // namespace edgerun
