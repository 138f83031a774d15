#include "formats/onnx/onnx_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <onnx_lite/onnx.pb.h>  // generated from onnx.proto (see CMakeLists.txt)

#include "edgerun/tensor.h"

namespace edgerun {
namespace {

// Closes a POSIX file descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  void Release() { fd_ = -1; }
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

// Opens `path` read-only after the checks every reader shares; returns the fd (owned by the
// caller) and sets *size.
static Expected<int> OpenRegularFile(const std::string& path, size_t max_bytes,
                                     uint64_t* size_out) {
  if (path.empty()) return InvalidArgument("empty file path");
  if (path.find('\0') != std::string::npos) {
    return InvalidArgument(fmt::format("{}: file path contains a NUL character", path));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return NotFound(fmt::format("{}: file not found", path));
    return IoError(fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return IoError(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) return InvalidArgument(fmt::format("{}: is a directory", path));
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(fmt::format("{}: is not a regular file", path));
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    return ResourceExhausted(
        fmt::format("{}: file is {} bytes, more than the {} byte limit", path, size, max_bytes));
  }
  *size_out = size;
  closer.Release();
  return fd;
}

Expected<std::vector<std::byte>> ReadFileBytes(const std::string& path, size_t max_bytes) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(int fd, OpenRegularFile(path, max_bytes, &size));
  FdCloser closer(fd);
  std::vector<std::byte> bytes(static_cast<size_t>(size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
    }
    if (n == 0) {
      return IoError(
          fmt::format("{}: file shrank while reading ({} of {} bytes)", path, done, size));
    }
    done += static_cast<size_t>(n);
  }
  return bytes;
}

Expected<std::string> ReadFilePrefix(const std::string& path, size_t n, size_t max_bytes) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(int fd, OpenRegularFile(path, max_bytes, &size));
  FdCloser closer(fd);
  std::string bytes(static_cast<size_t>(std::min<uint64_t>(n, size)), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t r = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
    }
    if (r == 0) break;  // shrank since the stat: what is there is the prefix
    done += static_cast<size_t>(r);
  }
  bytes.resize(done);
  return bytes;
}

Expected<bool> ParseProtoFromFile(const std::string& path, size_t max_bytes,
                                  google::protobuf::MessageLite* message) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(int fd, OpenRegularFile(path, max_bytes, &size));
  FdCloser closer(fd);
  if (size > kMaxProtoBytes) return false;
  google::protobuf::io::FileInputStream stream(fd, 1 << 16);
  google::protobuf::io::CodedInputStream input(&stream);
  input.SetTotalBytesLimit(INT_MAX);
  if (!message->ParseFromCodedStream(&input) || !input.ConsumedEntireMessage()) return false;
  if (stream.GetErrno() != 0) {
    return IoError(fmt::format("{}: read failed: {}", path, std::strerror(stream.GetErrno())));
  }
  return true;
}

bool ParseProtoFromBytes(std::span<const std::byte> bytes, google::protobuf::MessageLite* message) {
  if (bytes.size() > kMaxProtoBytes) return false;
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  input.SetTotalBytesLimit(INT_MAX);
  return message->ParseFromCodedStream(&input) && input.ConsumedEntireMessage();
}

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

constexpr uint32_t kModelGraphTag =
    WireFormatLite::MakeTag(7, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);  // ModelProto.graph
constexpr uint32_t kGraphInitializerTag = WireFormatLite::MakeTag(
    5, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);  // GraphProto.initializer
constexpr uint32_t kTensorRawDataTag =
    WireFormatLite::MakeTag(9, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);  // TensorProto.raw_data
constexpr uint32_t kGraphNodeTag =
    WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);  // GraphProto.node
constexpr uint32_t kNodeAttributeTag =
    WireFormatLite::MakeTag(5, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);  // NodeProto.attribute
constexpr uint32_t kAttributeTensorTag =
    WireFormatLite::MakeTag(5, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);  // AttributeProto.t

// Where one initializer's raw_data lies in the serialized model.
struct RawRange {
  uint64_t source_offset = 0;
  size_t length = 0;
};

// Walks ModelProto -> graph -> initializer -> raw_data, and graph -> node -> attribute -> t ->
// raw_data (Constant nodes' weights), on the wire and copies every other field verbatim, so that
// the copy is a valid ModelProto encoding without those raw_data fields. Only lengths are
// interpreted here; protobuf validates everything else when it parses the copy.
class WireSplitter {
 public:
  // `dry`: only find the raw_data ranges, copy nothing (a cheap scan of the file).
  WireSplitter(CodedInputStream* in, int size, bool dry = false)
      : in_(in), size_(size), dry_(dry) {}

  bool Model(std::string* out) {
    return CopyFields(size_, {kModelGraphTag}, out, [&](int at, uint32_t, CodedOutputStream* copy) {
      return Nested(at, size_, kModelGraphTag, "graph", copy,
                    [&](int end, std::string* inner) { return Graph(end, inner); });
    });
  }

  const std::string& error() const { return error_; }
  // One per initializer of the (merged) main graph, in order.
  const std::vector<std::optional<RawRange>>& ranges() const { return ranges_; }
  // One per node of the main graph, with one entry per attribute: its tensor's raw_data.
  const std::vector<std::vector<std::optional<RawRange>>>& node_ranges() const {
    return node_ranges_;
  }

 private:
  bool Graph(int end, std::string* out) {
    return CopyFields(
        end, {kGraphInitializerTag, kGraphNodeTag}, out,
        [&](int at, uint32_t tag, CodedOutputStream* copy) {
          if (tag == kGraphNodeTag) {
            const size_t node = node_ranges_.size();
            node_ranges_.emplace_back();
            return Nested(
                at, end, tag, fmt::format("node #{}", node), copy,
                [&](int node_end, std::string* inner) { return Node(node_end, node, inner); });
          }
          const std::string what = fmt::format("initializer #{}", ranges_.size());
          std::optional<RawRange> raw;
          const bool ok = Nested(at, end, tag, what, copy, [&](int tensor_end, std::string* inner) {
            return Tensor(tensor_end, what, inner, &raw);
          });
          ranges_.push_back(raw);
          return ok;
        });
  }

  bool Node(int end, size_t node, std::string* out) {
    return CopyFields(
        end, {kNodeAttributeTag}, out, [&](int at, uint32_t tag, CodedOutputStream* copy) {
          auto& attrs = node_ranges_[node];
          const std::string what = fmt::format("attribute #{} of node #{}", attrs.size(), node);
          attrs.emplace_back();
          const size_t index = attrs.size() - 1;
          return Nested(at, end, tag, what, copy, [&](int attr_end, std::string* inner) {
            return Attribute(attr_end, what, inner, node, index);
          });
        });
  }

  // A repeated `t` merges into the first, as protobuf does; a later raw_data replaces the earlier.
  bool Attribute(int end, const std::string& what, std::string* out, size_t node, size_t index) {
    return CopyFields(
        end, {kAttributeTensorTag}, out, [&](int at, uint32_t tag, CodedOutputStream* copy) {
          std::optional<RawRange> raw = node_ranges_[node][index];
          const bool ok = Nested(at, end, tag, what, copy, [&](int tensor_end, std::string* inner) {
            return Tensor(tensor_end, what, inner, &raw);
          });
          node_ranges_[node][index] = raw;
          return ok;
        });
  }

  bool Tensor(int end, const std::string& what, std::string* out, std::optional<RawRange>* raw) {
    return CopyFields(end, {kTensorRawDataTag}, out, [&](int at, uint32_t, CodedOutputStream*) {
      uint32_t length = 0;
      if (!ReadLength(at, end, "raw_data of " + what, &length)) return false;
      const int start = in_->CurrentPosition();
      // Skip, not read: the bytes go straight to their final buffer later. A repeated raw_data
      // replaces the earlier one, as in protobuf.
      if (!in_->Skip(static_cast<int>(length))) {
        return Fail(at, fmt::format("the input ends inside raw_data of {}", what));
      }
      *raw = RawRange{static_cast<uint64_t>(start), length};
      return true;
    });
  }

  // Copies the fields before `end` into `out`, except those with one of `special_tags`:
  // `special(at, tag, copy)` gets those (positioned after the tag) and writes to `copy` what it
  // keeps.
  template <typename Special>
  bool CopyFields(int end, std::initializer_list<uint32_t> special_tags, std::string* out,
                  Special special) {
    StringOutputStream sink(out);
    CodedOutputStream copy(&sink);
    while (in_->CurrentPosition() < end) {
      const int at = in_->CurrentPosition();
      const uint32_t tag = in_->ReadTag();
      // CodedInputStream takes 10-byte tags that protobuf's parser refuses; the copy would hide
      // them, so refuse them here.
      if (tag == 0 || in_->CurrentPosition() - at > kMaxVarint32Bytes) {
        return Fail(at, "invalid or truncated field tag");
      }
      if (std::find(special_tags.begin(), special_tags.end(), tag) != special_tags.end()) {
        if (!special(at, tag, &copy)) return false;
        continue;
      }
      switch (WireFormatLite::GetTagWireType(tag)) {
        case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
          // Copied here rather than by SkipField, to check the length prefix as strictly.
          uint32_t length = 0;
          if (!ReadLength(at, end, "field", &length)) return false;
          if (dry_) {
            if (!in_->Skip(static_cast<int>(length))) return Fail(at, "truncated field");
            break;
          }
          scratch_.resize(length);
          if (!in_->ReadRaw(scratch_.data(), static_cast<int>(length))) {
            return Fail(at, "truncated field");
          }
          copy.WriteTag(tag);
          copy.WriteVarint32(length);
          copy.WriteRaw(scratch_.data(), static_cast<int>(length));
          break;
        }
        case WireFormatLite::WIRETYPE_START_GROUP:
        case WireFormatLite::WIRETYPE_END_GROUP:
          // Deprecated groups never occur in ONNX files; copying them would re-encode their
          // contents unchecked.
          return Fail(at, "group fields are not supported");
        default:
          if (!(dry_ ? WireFormatLite::SkipField(in_, tag)
                     : WireFormatLite::SkipField(in_, tag, &copy))) {
            return Fail(at, "truncated or malformed field");
          }
      }
    }
    return true;
  }

  // A length-delimited submessage: `walk(end, &inner)` splits its fields, which are written back
  // to `copy` under `tag`.
  template <typename Walk>
  bool Nested(int at, int end, uint32_t tag, const std::string& what, CodedOutputStream* copy,
              Walk walk) {
    uint32_t length = 0;
    if (!ReadLength(at, end, what, &length)) return false;
    const int inner_end = in_->CurrentPosition() + static_cast<int>(length);
    std::string inner;
    const CodedInputStream::Limit limit = in_->PushLimit(static_cast<int>(length));
    const bool ok = walk(inner_end, &inner);
    in_->PopLimit(limit);
    if (!ok) return false;
    if (dry_) return true;
    copy->WriteTag(tag);
    copy->WriteVarint32(static_cast<uint32_t>(inner.size()));
    copy->WriteString(inner);
    return true;
  }

  // Reads a length prefix and checks that the field ends within its message (at `end`).
  // Protobuf's rules: at most 5 bytes, no bits dropped.
  bool ReadLength(int at, int end, const std::string& what, uint32_t* length) {
    const int start = in_->CurrentPosition();
    uint64_t value = 0;
    if (!in_->ReadVarint64(&value) || in_->CurrentPosition() - start > kMaxVarint32Bytes) {
      return Fail(at, fmt::format("invalid or truncated length of {}", what));
    }
    const int64_t left = int64_t{end} - in_->CurrentPosition();
    if (value > static_cast<uint64_t>(left)) {
      const bool past_eof = value > static_cast<uint64_t>(size_ - in_->CurrentPosition());
      return Fail(at, fmt::format("{} of {} bytes runs past the end of {}", what, value,
                                  past_eof ? "the file" : "its enclosing message"));
    }
    *length = static_cast<uint32_t>(value);
    return true;
  }

  bool Fail(int at, std::string reason) {
    error_ = fmt::format("{} at byte {}", reason, at);
    return false;
  }

  static constexpr int kMaxVarint32Bytes = 5;

  CodedInputStream* in_;
  int size_;
  bool dry_;
  std::string scratch_;  // one field's bytes on their way to the copy
  std::vector<std::optional<RawRange>> ranges_;
  std::vector<std::vector<std::optional<RawRange>>> node_ranges_;
  std::string error_;
};

Status NotAModel(const std::string& path, const std::string& detail) {
  if (detail.empty()) {
    return InvalidModel(fmt::format("{}: not an ONNX model (protobuf parsing failed)", path));
  }
  return InvalidModel(
      fmt::format("{}: not an ONNX model (protobuf parsing failed: {})", path, detail));
}

size_t RoundUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Below this, raw_data is copied out of the mapped model file while parsing.
constexpr size_t kDeferredCopyMinBytes = 4096;

// The split itself, over `in` (positioned at the start of `size` bytes); `read(offset, length,
// dst)` copies a raw_data range of the source into the shared buffer. With `file` (the source
// mapped), nothing is read: each slice points into the mapping and its place stays untouched.
template <typename ReadRange>
Status SplitParse(CodedInputStream* in, int size, const std::string& path, ReadRange read,
                  onnx::ModelProto* model, SplitRawData* raw,
                  std::shared_ptr<const MappedFile> file = nullptr) {
  in->SetTotalBytesLimit(INT_MAX);
  // Bounds every read (and protobuf's reservations for claimed lengths) by the real size.
  in->PushLimit(size);
  WireSplitter splitter(in, size);
  std::string rest;
  if (!splitter.Model(&rest)) return NotAModel(path, splitter.error());
  if (!ParseProtoFromBytes(std::as_bytes(std::span(rest)), model)) return NotAModel(path, "");
  const auto& ranges = splitter.ranges();
  const auto& node_ranges = splitter.node_ranges();
  const onnx::GraphProto& graph = model->graph();
  if (static_cast<size_t>(graph.initializer_size()) != ranges.size() ||
      static_cast<size_t>(graph.node_size()) != node_ranges.size()) {
    return Internal(fmt::format(
        "{}: split parse found {} initializers and {} nodes, protobuf {} "
        "and {}",
        path, ranges.size(), node_ranges.size(), graph.initializer_size(), graph.node_size()));
  }
  for (size_t n = 0; n < node_ranges.size(); ++n) {
    if (static_cast<size_t>(graph.node(static_cast<int>(n)).attribute_size()) !=
        node_ranges[n].size()) {
      return Internal(
          fmt::format("{}: split parse and protobuf disagree on node #{}'s attributes", path, n));
    }
  }
  // Every split range with its destination slot, in file order (so readahead keeps up).
  raw->initializers.assign(ranges.size(), std::nullopt);
  raw->node_attributes.assign(node_ranges.size(), {});
  std::vector<std::pair<RawRange, std::optional<RawDataSlice>*>> pieces;
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i]) pieces.emplace_back(*ranges[i], &raw->initializers[i]);
  }
  for (size_t n = 0; n < node_ranges.size(); ++n) {
    raw->node_attributes[n].assign(node_ranges[n].size(), std::nullopt);
    for (size_t a = 0; a < node_ranges[n].size(); ++a) {
      if (node_ranges[n][a]) pieces.emplace_back(*node_ranges[n][a], &raw->node_attributes[n][a]);
    }
  }
  std::sort(pieces.begin(), pieces.end(), [](const auto& x, const auto& y) {
    return x.first.source_offset < y.first.source_offset;
  });
  // With the file mapped, pieces of kDeferredCopyMinBytes or more only get an untouched place
  // (their tensors copy them there if something reads them); smaller ones, which shape logic
  // reads anyway, are copied at once into a buffer of their own, so that they do not touch the
  // pages of the places around them.
  auto deferred = [&](const RawRange& r) {
    return file != nullptr && r.length >= kDeferredCopyMinBytes;
  };
  size_t copied_total = 0, deferred_total = 0;
  for (const auto& p : pieces) {
    size_t& total = deferred(p.first) ? deferred_total : copied_total;
    total = RoundUp(total, kTensorAlignment) + p.first.length;
  }
  auto copied = std::make_shared<LargeBuffer>();
  ASSIGN_OR_RETURN(*copied, LargeBuffer::Allocate(copied_total));
  auto places = std::make_shared<LargeBuffer>();
  // Small pages: only the tensors that something reads are copied to their place, and a huge page
  // is resident whole once any of it is touched (huge pages here: MobileNetV3-small's peak RSS
  // 29.8 -> 33.8 MiB, EfficientNet-B0's 45.4 -> 53.5; PP-OCR rec, whose folded scales rewrite
  // every conv weight in place, loaded 3 ms faster).
  ASSIGN_OR_RETURN(*places, LargeBuffer::Allocate(deferred_total, /*huge_pages=*/false));
  size_t copied_offset = 0, deferred_offset = 0;
  for (const auto& [range, slot] : pieces) {
    if (file != nullptr && range.source_offset + range.length > file->size()) {
      return Internal(fmt::format("{}: raw_data range past the mapped file", path));
    }
    if (deferred(range)) {
      deferred_offset = RoundUp(deferred_offset, kTensorAlignment);
      *slot = RawDataSlice{places, deferred_offset, range.length,
                           file->data() + range.source_offset, file};
      deferred_offset += range.length;
      continue;
    }
    copied_offset = RoundUp(copied_offset, kTensorAlignment);
    std::byte* dst = copied->data() + copied_offset;
    if (range.length > 0 && file != nullptr) {
      std::memcpy(dst, file->data() + range.source_offset, range.length);
    } else if (range.length > 0) {
      RETURN_IF_ERROR(read(range.source_offset, range.length, dst));
    }
    *slot = RawDataSlice{copied, copied_offset, range.length, nullptr, nullptr};
    copied_offset += range.length;
  }
  return Status::Ok();
}

}  // namespace

Status ParseModelSplit(const std::string& path, onnx::ModelProto* model, SplitRawData* raw) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(int fd, OpenRegularFile(path, kMaxProtoBytes, &size));
  FdCloser closer(fd);
  auto read = [&](uint64_t offset, size_t length, std::byte* dst) -> Status {
    size_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(fd, dst + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
      if (n == 0) return IoError(fmt::format("{}: file shrank while reading", path));
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  };
  // The split pays when raw_data (of initializers and of node attributes such as Constant's
  // value, where PaddleOCR rec keeps its weights) is most of the file. Other models would only
  // pay for the split's extra copies, so a scan that copies nothing decides; those take the plain
  // streamed parse, whose raw_data strings the importer adopts.
  {
    google::protobuf::io::FileInputStream probe(fd, 16 << 10);
    CodedInputStream input(&probe);
    input.SetTotalBytesLimit(INT_MAX);
    input.PushLimit(static_cast<int>(size));
    WireSplitter scan(&input, static_cast<int>(size), /*dry=*/true);
    std::string unused;
    if (scan.Model(&unused)) {
      uint64_t raw_bytes = 0;
      for (const auto& r : scan.ranges()) raw_bytes += r ? r->length : 0;
      for (const auto& node : scan.node_ranges()) {
        for (const auto& r : node) raw_bytes += r ? r->length : 0;
      }
      if (raw_bytes * 2 < size) {
        ASSIGN_OR_RETURN(bool parsed, ParseProtoFromFile(path, kMaxProtoBytes, model));
        if (!parsed) return NotAModel(path, "");
        raw->initializers.assign(static_cast<size_t>(model->graph().initializer_size()),
                                 std::nullopt);
        raw->node_attributes.clear();
        return Status::Ok();
      }
    }
    // A scan that fails falls through: the split reports the error with its position.
    if (::lseek(fd, 0, SEEK_SET) != 0) {
      return IoError(fmt::format("{}: cannot seek: {}", path, std::strerror(errno)));
    }
  }
  // Small blocks: after each skipped raw_data the stream refills from the new position, and
  // the bytes it reads past the next header are thrown away.
  google::protobuf::io::FileInputStream stream(fd, 16 << 10);
  // Without a mapping (no mmap here, or it failed) the ranges are read instead.
  std::shared_ptr<const MappedFile> file;
  if (auto mapped = MappedFile::Map(fd, size, path); mapped.ok()) {
    file = std::make_shared<const MappedFile>(std::move(mapped).value());
  }
  Status status;
  {
    CodedInputStream input(&stream);
    status = SplitParse(&input, static_cast<int>(size), path, read, model, raw, std::move(file));
  }
  if (stream.GetErrno() != 0) {
    return IoError(fmt::format("{}: read failed: {}", path, std::strerror(stream.GetErrno())));
  }
  return status;
}

Status ParseModelSplitFromBytes(std::span<const std::byte> bytes,
                                const std::string& path_for_messages, onnx::ModelProto* model,
                                SplitRawData* raw) {
  if (bytes.size() > kMaxProtoBytes) {
    return ResourceExhausted(fmt::format("{}: {} bytes is more than protobuf's 2 GB limit",
                                         path_for_messages, bytes.size()));
  }
  auto read = [&](uint64_t offset, size_t length, std::byte* dst) -> Status {
    std::memcpy(dst, bytes.data() + offset, length);
    return Status::Ok();
  };
  CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                         static_cast<int>(bytes.size()));
  return SplitParse(&input, static_cast<int>(bytes.size()), path_for_messages, read, model, raw);
}

std::string Printable(std::string_view s, size_t max_chars) {
  std::string out;
  out.reserve(std::min(s.size(), max_chars) + 3);
  for (unsigned char c : s) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Status PrintableStatus(const Status& status) {
  if (status.ok()) return status;
  return Status(status.code(), Printable(status.message(), 4096));
}

std::string DirectoryOf(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace edgerun
