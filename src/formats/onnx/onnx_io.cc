#include "formats/onnx/onnx_io.h"

#include <fcntl.h>
#include <sys/mman.h>
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
#include <google/protobuf/message_lite.h>

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

Expected<MappedFile> MappedFile::Open(const std::string& path, size_t max_bytes) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(int fd, OpenRegularFile(path, max_bytes, &size));
  FdCloser closer(fd);
  MappedFile file;
  if (size == 0) return file;
  void* addr = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) {
    return IoError(fmt::format("{}: cannot map the file: {}", path, std::strerror(errno)));
  }
  // One sequential pass (the parse) follows: read ahead.
  ::madvise(addr, static_cast<size_t>(size), MADV_SEQUENTIAL | MADV_WILLNEED);
  file.addr_ = addr;
  file.size_ = static_cast<size_t>(size);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { Unmap(); }

void MappedFile::Unmap() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
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
