#include "io/npy.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace edgerun {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// Headers beyond this are not something numpy writes; refuse before scanning them.
constexpr size_t kMaxHeaderLen = size_t{1} << 20;
constexpr size_t kHeaderAlignment = 64;

struct NpyType {
  std::string_view code;  // descr without the byte-order character
  DType dtype;
};
constexpr NpyType kTypes[] = {
    {"f2", DType::kF16}, {"f4", DType::kF32}, {"f8", DType::kF64}, {"i1", DType::kI8},
    {"u1", DType::kU8},  {"i2", DType::kI16}, {"u2", DType::kU16}, {"i4", DType::kI32},
    {"u4", DType::kU32}, {"i8", DType::kI64}, {"u8", DType::kU64}, {"b1", DType::kBool},
};

std::optional<DType> DTypeFromCode(std::string_view code) {
  for (const NpyType& t : kTypes) {
    if (t.code == code) return t.dtype;
  }
  return std::nullopt;
}

std::string_view CodeFromDType(DType d) {
  for (const NpyType& t : kTypes) {
    if (t.dtype == d) return t.code;
  }
  return {};
}

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// A parser for the one Python literal numpy writes as the header, e.g.
// "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }". Anything else is an error;
// numpy's own reader uses ast.literal_eval, which accepts the same inputs for these keys.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  Expected<Header> Parse() {
    Header h;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      std::string key;
      if (!ParseString(&key)) return Error("expected a quoted key");
      SkipSpace();
      if (!Consume(':')) return Error("expected ':' after '" + key + "'");
      SkipSpace();
      if (key == "descr") {
        if (seen_descr) return Error("duplicate key 'descr'");
        seen_descr = true;
        if (Peek() == '[') {
          return Status(StatusCode::kUnsupported, "structured dtypes are not supported");
        }
        if (!ParseString(&h.descr)) return Error("'descr' is not a string");
      } else if (key == "fortran_order") {
        if (seen_fortran) return Error("duplicate key 'fortran_order'");
        seen_fortran = true;
        if (ConsumeWord("True")) {
          h.fortran_order = true;
        } else if (ConsumeWord("False")) {
          h.fortran_order = false;
        } else {
          return Error("'fortran_order' is not True or False");
        }
      } else if (key == "shape") {
        if (seen_shape) return Error("duplicate key 'shape'");
        seen_shape = true;
        Status s = ParseShape(&h.shape);
        if (!s.ok()) return s;
      } else {
        return Error("unexpected key '" + key + "'");
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing characters after the header dict");
    if (!seen_descr || !seen_fortran || !seen_shape) {
      return Error("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return h;
  }

 private:
  Status Error(const std::string& msg) const {
    return InvalidArgument(fmt::format("bad header at offset {}: {}", pos_, msg));
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool ConsumeWord(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  // Quoted string without escapes (numpy never writes any in these fields).
  bool ParseString(std::string* out) {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') return false;
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return false;
    *out = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
    if (out->find('\\') != std::string::npos) return false;
    pos_ = end + 1;
    return true;
  }
  Status ParseShape(std::vector<int64_t>* shape) {
    if (!Consume('(')) return Error("'shape' is not a tuple");
    while (true) {
      SkipSpace();
      if (Consume(')')) return Status::Ok();
      if (Peek() < '0' || Peek() > '9') return Error("'shape' holds a non-integer");
      int64_t v = 0;
      while (Peek() >= '0' && Peek() <= '9') {
        const int digit = Peek() - '0';
        if (v > (INT64_MAX - digit) / 10) return Error("dimension overflows int64");
        v = v * 10 + digit;
        ++pos_;
      }
      Consume('L');  // Python 2 long suffix, found in old files
      shape->push_back(v);
      if (shape->size() > 64) return Error("more than 64 dimensions");
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume(')')) {
        // "(3)" is not a tuple in Python, so a one-element shape needs its trailing comma.
        if (shape->size() == 1) return Error("one-element 'shape' lacks its trailing comma");
        return Status::Ok();
      }
      return Error("expected ',' or ')' in 'shape'");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Status WithName(const Status& s, std::string_view name) { return s.WithPrefix(name); }

uint32_t ReadLE(const std::byte* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string ShapeLiteral(std::span<const int64_t> dims) {
  if (dims.empty()) return "()";
  if (dims.size() == 1) return fmt::format("({},)", dims[0]);
  return fmt::format("({})", fmt::join(dims, ", "));
}

}  // namespace

Expected<Tensor> ParseNpy(std::span<const std::byte> bytes, std::string_view source_name) {
  auto fail = [&](std::string msg) {
    return InvalidArgument(fmt::format("{}: {}", source_name, msg));
  };
  if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0) {
    return fail(bytes.size() < kMagicLen + 4 ? "truncated npy preamble"
                                             : "not an npy file (bad magic)");
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_start;
  size_t header_len;
  if (major == 1) {
    header_len = ReadLE(bytes.data() + 8, 2);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return fail("truncated npy preamble");
    header_len = ReadLE(bytes.data() + 8, 4);
    header_start = 12;
  } else {
    return Status(StatusCode::kUnsupported,
                  fmt::format("{}: unsupported npy format version {}", source_name, major));
  }
  if (header_len > kMaxHeaderLen)
    return fail(fmt::format("header length {} is absurd", header_len));
  if (bytes.size() - header_start < header_len) {
    return fail(fmt::format("truncated header ({} of {} bytes present)",
                            bytes.size() - header_start, header_len));
  }
  // v1/v2 headers are latin-1, v3 UTF-8; the fields we accept are ASCII either way.
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + header_start), header_len);
  Expected<Header> parsed = HeaderParser(text).Parse();
  if (!parsed) return WithName(parsed.status(), source_name);
  const Header& h = *parsed;

  if (h.fortran_order) {
    return Status(
        StatusCode::kUnsupported,
        fmt::format("{}: fortran_order arrays are not supported (save with C order)", source_name));
  }
  if (h.descr.size() < 2) return fail(fmt::format("bad dtype descr '{}'", h.descr));
  const char order = h.descr[0];
  std::optional<DType> dtype = DTypeFromCode(std::string_view(h.descr).substr(1));
  if (!dtype || (order != '<' && order != '|' && order != '=' && order != '>')) {
    return Status(StatusCode::kUnsupported,
                  fmt::format("{}: unsupported dtype '{}'", source_name, h.descr));
  }
  // '=' is native order, which is little-endian on every platform edgerun targets.
  if (order == '>' && DTypeSize(*dtype) > 1) {
    return Status(StatusCode::kUnsupported,
                  fmt::format("{}: big-endian dtype '{}' is not supported", source_name, h.descr));
  }

  const int64_t count = NumElements(h.shape);
  const size_t elem = DTypeSize(*dtype);
  if (count < 0 || static_cast<uint64_t>(count) > kMaxTensorBytes / elem) {
    return fail(fmt::format("shape {} is too large", ShapeLiteral(h.shape)));
  }
  const size_t data_bytes = static_cast<size_t>(count) * elem;
  const size_t data_start = header_start + header_len;
  const size_t available = bytes.size() - data_start;
  if (available < data_bytes) {
    return fail(fmt::format("truncated data: shape {} of {} needs {} bytes, {} present",
                            ShapeLiteral(h.shape), h.descr, data_bytes, available));
  }
  if (available > data_bytes) {
    return fail(fmt::format("{} unexpected bytes after the data of shape {}",
                            available - data_bytes, ShapeLiteral(h.shape)));
  }
  Expected<Tensor> t = Tensor::FromBytes(*dtype, h.shape, bytes.data() + data_start, data_bytes);
  if (!t) return WithName(t.status(), source_name);
  if (*dtype == DType::kBool) {
    // edgerun bools are exactly 0 or 1; numpy only writes those, but a foreign writer might not.
    uint8_t* p = t->mutable_data<uint8_t>();
    for (size_t i = 0; i < data_bytes; ++i) p[i] = p[i] != 0;
  }
  return t;
}

Expected<Tensor> ReadNpy(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    const std::string msg = fmt::format("{}: cannot open: {}", path, std::strerror(err));
    return err == ENOENT ? NotFound(msg) : IoError(msg);
  }
  std::vector<std::byte> bytes;
  bool size_ok = std::fseek(f, 0, SEEK_END) == 0;
  const long size = size_ok ? std::ftell(f) : -1;
  size_ok = size >= 0 && std::fseek(f, 0, SEEK_SET) == 0;
  if (!size_ok) {
    std::fclose(f);
    return IoError(fmt::format("{}: cannot determine file size (not a regular file?)", path));
  }
  if (static_cast<size_t>(size) > kMaxTensorBytes + kMaxHeaderLen + 16) {
    std::fclose(f);
    return ResourceExhausted(fmt::format("{}: file of {} bytes is too large", path, size));
  }
  bytes.resize(static_cast<size_t>(size));
  const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error || got != bytes.size()) return IoError(fmt::format("{}: read failed", path));
  return ParseNpy(bytes, path);
}

Expected<std::string> EncodeNpy(const TensorView& t) {
  if (t.dtype == DType::kUndefined) return InvalidArgument("cannot encode a tensor of no dtype");
  if (t.rank < 0 || t.rank > kMaxRank) return InvalidArgument("tensor rank out of range");
  const int64_t count = NumElements(t.shape());
  if (count < 0) return InvalidArgument("tensor has negative dims");
  if (count > 0 && t.raw == nullptr) return InvalidArgument("tensor has no data");
  const DType out_type = t.dtype == DType::kBF16 ? DType::kF32 : t.dtype;
  const std::string_view code = CodeFromDType(out_type);
  const char order = DTypeSize(out_type) == 1 ? '|' : '<';

  std::string header = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': {}, }}",
                                   order, code, ShapeLiteral(t.shape()));
  // Pad with spaces so the data starts 64-byte aligned, as numpy does; '\n' ends the header.
  size_t preamble = 10;
  size_t total =
      (preamble + header.size() + 1 + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
  if (total - preamble > 0xffff) {
    preamble = 12;
    total =
        (preamble + header.size() + 1 + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
  }
  header.append(total - preamble - header.size() - 1, ' ');
  header.push_back('\n');

  std::string out(kMagic, kMagicLen);
  out.push_back(static_cast<char>(preamble == 10 ? 1 : 2));
  out.push_back('\0');
  const uint32_t len = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < preamble - 8; ++i)
    out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += header;

  const size_t payload = static_cast<size_t>(count) * DTypeSize(out_type);
  const size_t data_start = out.size();
  out.resize(data_start + payload);
  if (t.dtype == DType::kBF16) {
    const uint16_t* src = t.data<const uint16_t>();
    for (int64_t i = 0; i < count; ++i) {
      const float v = BFloat16ToFloat(src[i]);
      std::memcpy(&out[data_start + static_cast<size_t>(i) * 4], &v, 4);
    }
  } else if (payload > 0) {
    std::memcpy(&out[data_start], t.raw, payload);
  }
  return out;
}

Status WriteNpy(const std::string& path, const TensorView& t) {
  Expected<std::string> image = EncodeNpy(t);
  if (!image) return image.status().WithPrefix(path);
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return IoError(fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
  }
  const bool wrote = std::fwrite(image->data(), 1, image->size(), f) == image->size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    std::remove(tmp.c_str());
    return IoError(fmt::format("{}: write failed", path));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return IoError(fmt::format("{}: cannot rename into place: {}", path, std::strerror(err)));
  }
  return Status::Ok();
}

}  // namespace edgerun
