// File and protobuf reading helpers shared by the ONNX importer, the model loader and the
// conformance tools.
//
// Files are checked (regular, size limit) before reading; protobuf messages are parsed through a
// CodedInputStream with a 2 GB limit, so malformed input yields an error rather than an abort.
// ParseModelSplit keeps the bulk of a model out of protobuf: it walks the ModelProto wire format,
// copies every field except the raw_data of the main graph's initializers and node attribute
// tensors into a small buffer that protobuf parses, and leaves those raw_data bytes in the
// memory-mapped file, each with its place in one LargeBuffer reserved (untouched) for when
// something reads it: weight packers read the mapping directly, so the bulk of a model is never
// copied (without mmap they are read into that LargeBuffer: huge pages, a few page faults instead
// of one per 4 KiB of weights).
// Usage:
//   onnx::ModelProto model;  SplitRawData raw;
//   RETURN_IF_ERROR(ParseModelSplit("model.onnx", &model, &raw));
//   // raw.initializers[i] holds graph().initializer(i)'s raw_data, if it had one.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/large_buffer.h"
#include "core/mapped_file.h"
#include "edgerun/status.h"

namespace google::protobuf {
class MessageLite;
}  // namespace google::protobuf

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace edgerun {

// Protobuf cannot address more than 2 GB - 1 in one message; larger models use external data.
inline constexpr size_t kMaxProtoBytes = size_t{0x7fffffff};

// Reads the whole file. Errors name the file: NotFound when it does not exist, InvalidArgument
// for a directory, ResourceExhausted when larger than `max_bytes`, IoError otherwise.
Expected<std::vector<std::byte>> ReadFileBytes(const std::string& path, size_t max_bytes);

// Up to `n` bytes from the start of the file (fewer when it is shorter), checked like
// ReadFileBytes: for sniffing a format without reading the whole file.
Expected<std::string> ReadFilePrefix(const std::string& path, size_t n, size_t max_bytes);

// Parses the file at `path` into `message`, streaming it through a small buffer so that the
// serialized bytes are never all in memory next to the parsed message. Errors as ReadFileBytes;
// a malformed message gives `false`.
Expected<bool> ParseProtoFromFile(const std::string& path, size_t max_bytes,
                                  google::protobuf::MessageLite* message);

// Parses `bytes` into `message`. Returns false on malformed or oversized input.
bool ParseProtoFromBytes(std::span<const std::byte> bytes, google::protobuf::MessageLite* message);

// raw_data bytes kept outside their TensorProto: `length` bytes at `offset` in `buffer`. When the
// model file is memory-mapped, the bytes are still at `source` in the mapping (any alignment) and
// `buffer` holds their untouched place; the tensor copies them there when first read.
struct RawDataSlice {
  std::shared_ptr<LargeBuffer> buffer;
  size_t offset = 0;  // 64-byte aligned
  size_t length = 0;
  const std::byte* source = nullptr;  // null: already copied into `buffer`
  std::shared_ptr<const MappedFile> file;

  // Where the bytes are now.
  const std::byte* bytes() const { return source != nullptr ? source : buffer->data() + offset; }
};

// The main graph's raw_data split off by ParseModelSplit, slices of two shared buffers (places
// of the bytes left in the mapped file, and bytes copied at once):
// initializers[i] belongs to graph().initializer(i), node_attributes[n][a] to the tensor `t` of
// graph().node(n).attribute(a) (nullopt where there was no raw_data; node_attributes is empty
// when the parse did not split).
struct SplitRawData {
  std::vector<std::optional<RawDataSlice>> initializers;
  std::vector<std::vector<std::optional<RawDataSlice>>> node_attributes;

  // The slice of node `n`'s attribute `a`, or null.
  const RawDataSlice* NodeAttribute(int n, int a) const {
    if (n < 0 || static_cast<size_t>(n) >= node_attributes.size()) return nullptr;
    const auto& attrs = node_attributes[static_cast<size_t>(n)];
    if (a < 0 || static_cast<size_t>(a) >= attrs.size() || !attrs[static_cast<size_t>(a)]) {
      return nullptr;
    }
    return &*attrs[static_cast<size_t>(a)];
  }
};

// Parses the ModelProto in the file at `path` (streamed; raw_data ranges skipped, then mapped) with
// the main graph's initializer raw_data left out of the protos and put in `raw`. The protos equal
// a plain parse's otherwise, repeated `graph` fields merged as protobuf does. Errors name the file:
// as ReadFileBytes for unreadable files, InvalidModel "not an ONNX model (protobuf parsing
// failed...)" for malformed ones (truncated, lengths past their enclosing message or the file).
Status ParseModelSplit(const std::string& path, onnx::ModelProto* model, SplitRawData* raw);
// The same for a serialized model in memory; errors are prefixed with `path_for_messages`.
Status ParseModelSplitFromBytes(std::span<const std::byte> bytes,
                                const std::string& path_for_messages, onnx::ModelProto* model,
                                SplitRawData* raw);

// `s` with control characters escaped as \xNN and cut to about `max_chars`, so that names from
// untrusted files keep error messages on one readable line.
std::string Printable(std::string_view s, size_t max_chars);
// Applies Printable to a whole error message (limit 4096 characters).
Status PrintableStatus(const Status& status);

// The directory containing `path` ("." for a bare file name); external data is relative to it.
std::string DirectoryOf(const std::string& path);

}  // namespace edgerun
