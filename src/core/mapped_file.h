// A read-only memory mapping of a whole file, so that a model's weights can be read straight from
// the page cache instead of being copied into fresh memory first.
//
// Fresh anonymous memory costs a page fault per page on first touch; on the KVM guests we measure,
// copying ResNet-50's 97 MB of weights into their buffer took 24-200 ms, while reading the same
// bytes through a mapping of the (cached) file took about 15. The ONNX importer maps the model and
// lets each weight tensor copy its bytes only when something other than a weight packer reads them
// (Tensor::WrapDeferredCopy).
//
//   ASSIGN_OR_RETURN(MappedFile file, MappedFile::Map(fd, size, path));
//   const std::byte* bytes = file.data();   // DiscardWholePages drops read pages from the RSS
//
// Without mmap (non-Linux builds) Map fails with Unsupported and callers read the file instead.
// A file truncated while mapped makes reads past its new end fault (SIGBUS), as with any mmap-based
// loader (ONNX Runtime's and TFLite's included): replace model files by renaming a new file over
// them, which leaves the mapped one intact.
#pragma once

#include <cstddef>
#include <string>

#include "edgerun/status.h"

namespace edgerun {

class MappedFile {
 public:
  // Maps `bytes` bytes of the open file `fd` (the file stays mapped after fd is closed). `path`
  // names the file in errors.
  static Expected<MappedFile> Map(int fd, size_t bytes, const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void Release();

  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace edgerun
