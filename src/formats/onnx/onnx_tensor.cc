#include "formats/onnx/onnx_tensor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "formats/onnx/onnx_io.h"

namespace edgerun {
namespace {

// raw_data is little-endian by spec and is copied as-is.
static_assert(std::endian::native == std::endian::little, "edgerun assumes a little-endian host");

using onnx::TensorProto;

// ONNX allows any rank; this bound only keeps corrupt files from producing megabyte messages.
constexpr int kMaxImportRank = 64;

std::string Label(const TensorProto& p) {
  return p.name().empty() ? std::string("unnamed tensor") : fmt::format("tensor '{}'", p.name());
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// Dims, element count and byte size of a tensor proto, validated without allocating.
struct CheckedLayout {
  std::vector<int64_t> dims;
  int64_t count = 1;
  size_t bytes = 0;
};

Expected<CheckedLayout> CheckLayout(const TensorProto& p, DType dtype) {
  if (p.dims_size() > kMaxImportRank) {
    return Unsupported(
        fmt::format("{}: rank {} is larger than {}", Label(p), p.dims_size(), kMaxImportRank));
  }
  CheckedLayout layout;
  layout.dims.assign(p.dims().begin(), p.dims().end());
  for (int64_t d : layout.dims) {
    if (d < 0) {
      return InvalidModel(fmt::format("{}: negative dim {} in dims [{}]", Label(p), d,
                                      fmt::join(layout.dims, ", ")));
    }
    if (__builtin_mul_overflow(layout.count, d, &layout.count)) {
      return InvalidModel(fmt::format("{}: dims [{}] overflow the element count", Label(p),
                                      fmt::join(layout.dims, ", ")));
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(layout.count),
                             static_cast<uint64_t>(DTypeSize(dtype)), &bytes) ||
      bytes > kMaxTensorBytes) {
    return ResourceExhausted(
        fmt::format("{}: dims [{}] of {} need more than the {} GiB tensor limit", Label(p),
                    fmt::join(layout.dims, ", "), DTypeName(dtype), kMaxTensorBytes >> 30));
  }
  layout.bytes = static_cast<size_t>(bytes);
  return layout;
}

// Number of elements stored in the typed field ONNX uses for `dtype`, and that field's name.
std::pair<int64_t, const char*> TypedFieldCount(const TensorProto& p, DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return {p.float_data_size(), "float_data"};
    case DType::kF64:
      return {p.double_data_size(), "double_data"};
    case DType::kI64:
      return {p.int64_data_size(), "int64_data"};
    case DType::kU32:
    case DType::kU64:
      return {p.uint64_data_size(), "uint64_data"};
    case DType::kI32:
    case DType::kI8:
    case DType::kU8:
    case DType::kI16:
    case DType::kU16:
    case DType::kBool:
    case DType::kF16:
    case DType::kBF16:
      return {p.int32_data_size(), "int32_data"};
    case DType::kUndefined:
      break;
  }
  return {0, "no field"};
}

template <typename Dst, typename Field>
void CopyConverted(const Field& src, Tensor* t) {
  Dst* out = t->mutable_data<Dst>();
  int64_t i = 0;
  for (auto v : src) out[i++] = static_cast<Dst>(v);
}

// Fills `t` (already sized to the field's count) from the typed field for its dtype. int32_data
// carries the 8/16-bit types widened, and fp16/bf16 as their bit patterns in the low 16 bits.
void DecodeTypedField(const TensorProto& p, Tensor* t) {
  switch (t->dtype()) {
    case DType::kF32:
      CopyConverted<float>(p.float_data(), t);
      break;
    case DType::kF64:
      CopyConverted<double>(p.double_data(), t);
      break;
    case DType::kI64:
      CopyConverted<int64_t>(p.int64_data(), t);
      break;
    case DType::kU32:
      CopyConverted<uint32_t>(p.uint64_data(), t);
      break;
    case DType::kU64:
      CopyConverted<uint64_t>(p.uint64_data(), t);
      break;
    case DType::kI32:
      CopyConverted<int32_t>(p.int32_data(), t);
      break;
    case DType::kI8:
      CopyConverted<int8_t>(p.int32_data(), t);
      break;
    case DType::kU8:
      CopyConverted<uint8_t>(p.int32_data(), t);
      break;
    case DType::kI16:
      CopyConverted<int16_t>(p.int32_data(), t);
      break;
    case DType::kU16:
    case DType::kF16:
    case DType::kBF16:
      CopyConverted<uint16_t>(p.int32_data(), t);
      break;
    case DType::kBool: {
      uint8_t* out = t->mutable_data<uint8_t>();
      int64_t i = 0;
      for (int32_t v : p.int32_data()) out[i++] = v != 0 ? 1 : 0;
      break;
    }
    case DType::kUndefined:
      break;
  }
}

Expected<uint64_t> ParseExternalNumber(const TensorProto& p, const std::string& key,
                                       const std::string& text) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return InvalidModel(fmt::format("{}: external data '{}' is not a non-negative integer: '{}'",
                                    Label(p), key, text));
  }
  return v;
}

// Rejects locations that could read outside the model's directory.
Status CheckExternalLocation(const TensorProto& p, const std::string& location) {
  if (location.empty()) {
    return InvalidModel(fmt::format("{}: external data has no 'location'", Label(p)));
  }
  if (location.find('\0') != std::string::npos) {
    return InvalidModel(
        fmt::format("{}: external data location contains a NUL character", Label(p)));
  }
  std::filesystem::path path(location);
  if (path.is_absolute() || path.has_root_directory() || path.has_root_name()) {
    return InvalidModel(
        fmt::format("{}: external data location '{}' is absolute; it must be relative to the model",
                    Label(p), location));
  }
  for (const auto& part : path) {
    if (part == "..") {
      return InvalidModel(fmt::format("{}: external data location '{}' escapes the model directory",
                                      Label(p), location));
    }
  }
  return Status::Ok();
}

Expected<Tensor> ReadExternalData(const TensorProto& p, DType dtype, const CheckedLayout& layout,
                                  const std::string& base_dir) {
  std::string location;
  uint64_t offset = 0;
  bool has_length = false;
  uint64_t length = 0;
  for (const auto& entry : p.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      ASSIGN_OR_RETURN(offset, ParseExternalNumber(p, "offset", entry.value()));
    } else if (entry.key() == "length") {
      ASSIGN_OR_RETURN(length, ParseExternalNumber(p, "length", entry.value()));
      has_length = true;
    }
    // "checksum" and unknown keys carry nothing edgerun needs.
  }
  RETURN_IF_ERROR(CheckExternalLocation(p, location));
  if (base_dir.empty()) {
    return InvalidArgument(fmt::format(
        "{}: uses external data file '{}', but no model directory is known", Label(p), location));
  }
  const std::string file = (std::filesystem::path(base_dir) / location).string();
  if (has_length && length != layout.bytes) {
    return InvalidModel(fmt::format(
        "{}: external data length {} in '{}' does not match the {} bytes of {} [{}]", Label(p),
        length, file, layout.bytes, DTypeName(dtype), fmt::join(layout.dims, ", ")));
  }
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound(fmt::format("{}: external data file '{}' not found", Label(p), file));
    }
    return IoError(fmt::format("{}: cannot open external data file '{}': {}", Label(p), file,
                               std::strerror(err)));
  }
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return InvalidModel(
        fmt::format("{}: external data file '{}' is not a regular file", Label(p), file));
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (offset > file_size) {
    return InvalidModel(
        fmt::format("{}: external data offset {} is past the end of '{}' ({} bytes)", Label(p),
                    offset, file, file_size));
  }
  if (file_size - offset < layout.bytes) {
    return InvalidModel(fmt::format(
        "{}: external data file '{}' is too short: {} bytes needed at offset {}, {} available",
        Label(p), file, layout.bytes, offset, file_size - offset));
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::Create(dtype, layout.dims));
  auto* out = static_cast<char*>(t.mutable_raw());
  size_t done = 0;
  while (done < layout.bytes) {
    ssize_t n = ::pread(fd, out + done, layout.bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return IoError(fmt::format("{}: short read from external data file '{}' ({} of {} bytes)",
                                 Label(p), file, done, layout.bytes));
    }
    done += static_cast<size_t>(n);
  }
  return t;
}

Status RawSizeMismatch(const TensorProto& p, DType dtype, const CheckedLayout& layout,
                       size_t raw_bytes) {
  return InvalidModel(fmt::format("{}: raw_data has {} bytes, but {} [{}] needs {} bytes", Label(p),
                                  raw_bytes, DTypeName(dtype), fmt::join(layout.dims, ", "),
                                  layout.bytes));
}

void NormalizeBools(Tensor* t) {
  if (t->dtype() != DType::kBool) return;
  uint8_t* b = t->mutable_data<uint8_t>();
  for (int64_t i = 0; i < t->num_elements(); ++i) b[i] = b[i] != 0 ? 1 : 0;
}

}  // namespace

Expected<DType> DTypeFromOnnx(int32_t onnx_type) {
  switch (onnx_type) {
    case TensorProto::FLOAT:
      return DType::kF32;
    case TensorProto::UINT8:
      return DType::kU8;
    case TensorProto::INT8:
      return DType::kI8;
    case TensorProto::UINT16:
      return DType::kU16;
    case TensorProto::INT16:
      return DType::kI16;
    case TensorProto::INT32:
      return DType::kI32;
    case TensorProto::INT64:
      return DType::kI64;
    case TensorProto::BOOL:
      return DType::kBool;
    case TensorProto::FLOAT16:
      return DType::kF16;
    case TensorProto::DOUBLE:
      return DType::kF64;
    case TensorProto::UINT32:
      return DType::kU32;
    case TensorProto::UINT64:
      return DType::kU64;
    case TensorProto::BFLOAT16:
      return DType::kBF16;
    case TensorProto::STRING:
    case TensorProto::COMPLEX64:
    case TensorProto::COMPLEX128:
      return Unsupported(
          fmt::format("element type {} is not supported", OnnxDataTypeName(onnx_type)));
    case TensorProto::UNDEFINED:
      return InvalidModel("element type is UNDEFINED");
    default:
      break;
  }
  return Unsupported(fmt::format("unknown element type {}", onnx_type));
}

int32_t OnnxFromDType(DType t) {
  switch (t) {
    case DType::kF32:
      return TensorProto::FLOAT;
    case DType::kF16:
      return TensorProto::FLOAT16;
    case DType::kBF16:
      return TensorProto::BFLOAT16;
    case DType::kF64:
      return TensorProto::DOUBLE;
    case DType::kI8:
      return TensorProto::INT8;
    case DType::kU8:
      return TensorProto::UINT8;
    case DType::kI16:
      return TensorProto::INT16;
    case DType::kU16:
      return TensorProto::UINT16;
    case DType::kI32:
      return TensorProto::INT32;
    case DType::kU32:
      return TensorProto::UINT32;
    case DType::kI64:
      return TensorProto::INT64;
    case DType::kU64:
      return TensorProto::UINT64;
    case DType::kBool:
      return TensorProto::BOOL;
    case DType::kUndefined:
      break;
  }
  return TensorProto::UNDEFINED;
}

std::string OnnxDataTypeName(int32_t onnx_type) {
  if (onnx::TensorProto_DataType_IsValid(onnx_type)) {
    return onnx::TensorProto_DataType_Name(static_cast<TensorProto::DataType>(onnx_type));
  }
  return fmt::format("<{}>", onnx_type);
}

Expected<Tensor> TensorFromProtoAdoptingRaw(TensorProto* proto, const std::string& base_dir) {
  auto dtype = DTypeFromOnnx(proto->data_type());
  const bool adoptable = dtype.ok() && *dtype != DType::kBool && !proto->has_segment() &&
                         proto->data_location() != TensorProto::EXTERNAL && proto->has_raw_data() &&
                         !proto->raw_data().empty();
  if (!adoptable) return TensorFromProto(*proto, base_dir);
  ASSIGN_OR_RETURN(CheckedLayout layout, CheckLayout(*proto, *dtype));
  if (proto->raw_data().size() != layout.bytes) return TensorFromProto(*proto, base_dir);
  auto holder = std::make_shared<std::string>(std::move(*proto->mutable_raw_data()));
  proto->clear_raw_data();
  // The string's heap block is malloc-aligned (16 bytes), enough for every element type.
  if (reinterpret_cast<uintptr_t>(holder->data()) % DTypeSize(*dtype) != 0) {
    return Tensor::FromBytes(*dtype, layout.dims, holder->data(), holder->size());
  }
  void* data = holder->data();
  return Tensor::WrapWritable(*dtype, layout.dims, data,
                              std::shared_ptr<const void>(std::move(holder)));
}

Expected<Tensor> TensorFromProto(const TensorProto& proto, const std::string& base_dir) {
  auto dtype = DTypeFromOnnx(proto.data_type());
  if (!dtype.ok()) return dtype.status().WithPrefix(Label(proto));
  if (proto.has_segment()) {
    return Unsupported(fmt::format("{}: segmented tensors are not supported", Label(proto)));
  }
  ASSIGN_OR_RETURN(CheckedLayout layout, CheckLayout(proto, *dtype));

  if (proto.data_location() == TensorProto::EXTERNAL) {
    return ReadExternalData(proto, *dtype, layout, base_dir);
  }
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != layout.bytes) return RawSizeMismatch(proto, *dtype, layout, raw.size());
    ASSIGN_OR_RETURN(Tensor t, Tensor::FromBytes(*dtype, layout.dims, raw.data(), raw.size()));
    NormalizeBools(&t);
    return t;
  }
  auto [count, field] = TypedFieldCount(proto, *dtype);
  if (count != layout.count) {
    return InvalidModel(fmt::format("{}: {} has {} elements, but {} [{}] needs {}", Label(proto),
                                    field, count, DTypeName(*dtype), fmt::join(layout.dims, ", "),
                                    layout.count));
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::Create(*dtype, layout.dims));
  DecodeTypedField(proto, &t);
  return t;
}

Expected<Tensor> TensorFromProtoWithRaw(const TensorProto& proto, const RawDataSlice& raw,
                                        const std::string& base_dir) {
  // Checks in TensorFromProto's order, so that a model gives the same error either way.
  auto unused = [&raw] {
    if (raw.buffer != nullptr) raw.buffer->Discard(raw.offset, raw.length);
  };
  auto dtype = DTypeFromOnnx(proto.data_type());
  if (!dtype.ok()) {
    unused();
    return dtype.status().WithPrefix(Label(proto));
  }
  if (proto.has_segment()) {
    unused();
    return Unsupported(fmt::format("{}: segmented tensors are not supported", Label(proto)));
  }
  auto layout = CheckLayout(proto, *dtype);
  if (!layout.ok() || proto.data_location() == TensorProto::EXTERNAL) {
    unused();
    if (!layout.ok()) return layout.status();
    return ReadExternalData(proto, *dtype, *layout, base_dir);
  }
  if (raw.length != layout->bytes) {
    unused();
    return RawSizeMismatch(proto, *dtype, *layout, raw.length);
  }
  if (raw.length == 0) return Tensor::Create(*dtype, layout->dims);
  std::byte* data = raw.buffer->data() + raw.offset;
  // The buffer is shared by all of the model's initializers; this tensor's pages go back to the
  // OS as soon as nothing uses it (e.g. after the session packed it), not when the last goes. So
  // do the pages of the mapped file it was read from (kept mapped until then by `file`).
  std::shared_ptr<const void> keep_alive(
      data, [buffer = raw.buffer, offset = raw.offset, length = raw.length, source = raw.source,
             file = raw.file](const void*) {
        buffer->Discard(offset, length);
        if (source != nullptr) DiscardWholePages(source, length);
      });
  // Still in the mapped file: copied into the slice when first read (weight packers read the
  // file instead). Bools are copied now, to be normalized.
  if (raw.source != nullptr && *dtype == DType::kBool) {
    std::memcpy(data, raw.source, raw.length);
  } else if (raw.source != nullptr) {
    return Tensor::WrapDeferredCopy(*dtype, std::move(layout->dims), data, std::move(keep_alive),
                                    raw.source, raw.file);
  }
  Tensor t = Tensor::WrapWritable(*dtype, std::move(layout->dims), data, std::move(keep_alive));
  NormalizeBools(&t);  // the slice is this tensor's own: normalized in place
  return t;
}

Expected<std::pair<std::string, Tensor>> LoadTensorProtoFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::byte> bytes, ReadFileBytes(path, kMaxProtoBytes));
  if (bytes.empty()) return InvalidModel(fmt::format("{}: file is empty", path));
  TensorProto proto;
  if (!ParseProtoFromBytes(bytes, &proto)) {
    return InvalidModel(fmt::format("{}: not a serialized ONNX TensorProto", path));
  }
  auto t = TensorFromProto(proto, DirectoryOf(path));
  if (!t.ok()) return PrintableStatus(t.status().WithPrefix(path));
  return std::pair<std::string, Tensor>(proto.name(), std::move(t).value());
}

Status TensorToProto(const Tensor& t, const std::string& name, TensorProto* out) {
  if (t.empty()) return InvalidArgument(fmt::format("tensor '{}' has no data type", name));
  out->Clear();
  out->set_name(name);
  out->set_data_type(OnnxFromDType(t.dtype()));
  for (int64_t d : t.dims()) out->add_dims(d);
  if (t.bytes() > 0) {
    out->set_raw_data(static_cast<const char*>(t.raw()), t.bytes());
  } else {
    out->set_raw_data(std::string());
  }
  return Status::Ok();
}

}  // namespace edgerun
