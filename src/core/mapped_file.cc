#include "core/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#define EDGERUN_HAVE_MMAP 1
#endif

namespace edgerun {

Expected<MappedFile> MappedFile::Map(int fd, size_t bytes, const std::string& path) {
  MappedFile file;
  if (bytes == 0) return file;
#if EDGERUN_HAVE_MMAP
  void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    return IoError(path + ": cannot map the file: " + std::strerror(errno));
  }
  file.data_ = static_cast<const std::byte*>(p);
  file.size_ = bytes;
  return file;
#else
  (void)fd;
  return Unsupported(path + ": memory mapping is not available on this system");
#endif
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { Release(); }

void MappedFile::Release() {
#if EDGERUN_HAVE_MMAP
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
#endif
  data_ = nullptr;
  size_ = 0;
}

}  // namespace edgerun
