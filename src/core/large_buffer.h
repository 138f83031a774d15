// Large buffers for weights and activation arenas, backed by huge pages where the OS allows.
//
// The first touch of a fresh 4 KiB page costs a page fault: about 15 us on the KVM guests we
// benchmark on, so filling 16 MiB of weights spent 60 ms in the kernel, most of a model's load
// time. LargeBuffer maps anonymous memory aligned to 2 MiB and advises transparent huge pages on
// its whole 2 MiB blocks (Linux THP in "always" or "madvise" mode), one fault per 2 MiB. A tail
// shorter than a block keeps small pages, so RSS does not grow by more than the bytes used.
// Requests under one block, and systems without mmap, get aligned_alloc.
//
//   ASSIGN_OR_RETURN(LargeBuffer b, LargeBuffer::Allocate(bytes));   // 64-byte aligned, zeroed
//   b.Discard(offset, length);   // give the whole pages in a range back to the OS
//
// WeightPool hands out aligned slices of a few LargeBuffers: packed weights of many nodes share
// huge pages instead of each taking its own small allocation. Slices live as long as the pool.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "edgerun/status.h"

namespace edgerun {

// Returns the whole pages inside [begin, begin + length) to the OS; they read as zeros after (or,
// in a private read-only file mapping, as the file's bytes again). Bytes of pages the range only
// partly covers are kept. Only for private memory that the caller alone uses (like writing zeros
// to it, but the pages stop counting in RSS). A no-op without mmap.
void DiscardWholePages(const void* begin, size_t length);

class LargeBuffer {
 public:
  static constexpr size_t kHugePageBytes = size_t{2} << 20;

  // Zero-filled, 64-byte aligned. Fails with ResourceExhausted naming the size. Without
  // `huge_pages`, the mapping keeps small pages (RSS grows only with the bytes touched).
  static Expected<LargeBuffer> Allocate(size_t bytes, bool huge_pages = true);

  LargeBuffer() = default;
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;
  ~LargeBuffer();

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  bool huge_pages_advised() const { return huge_bytes_ > 0; }
  size_t huge_page_bytes() const { return huge_bytes_; }  // the whole blocks advised

  // Returns the whole pages inside [offset, offset + length) to the OS; they read as zeros after.
  // Bytes of pages the range only partly covers are kept. A no-op without mmap.
  void Discard(size_t offset, size_t length);

 private:
  void Release();

  std::byte* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // null when data_ came from aligned_alloc
  size_t mapping_bytes_ = 0;
  size_t huge_bytes_ = 0;
};

class WeightPool {
 public:
  // `expected_bytes` sizes the first chunk (the sum of the model's constants is a good guess), so a
  // model's packed weights usually share one mapping. Only that chunk gets huge pages: overflow
  // chunks (padding made the guess short) are mostly empty, and a huge page is resident whole;
  // a slice of 2 MiB or more that does not fit gets a huge-page chunk of its own.
  // Without `huge_pages`, no chunk gets huge pages.
  explicit WeightPool(size_t expected_bytes = 0, bool huge_pages = true)
      : expected_bytes_(expected_bytes), huge_pages_(huge_pages) {}

  // A slice of `bytes`, aligned to `alignment` (a power of two up to 4096), zero-filled.
  Expected<std::byte*> Allocate(size_t bytes, size_t alignment = 64);

  // Gives the whole pages past each chunk's last slice back to the OS. A huge page is resident
  // whole once touched, so a chunk 4.2 MiB into its third block holds 6 MiB without this. Call
  // when the session has packed its weights; later slices still come back zeroed.
  void ReleaseUnused();

  size_t reserved_bytes() const;  // sum of the chunks' sizes
  size_t used_bytes() const { return used_bytes_; }
  size_t huge_page_bytes() const;  // bytes advised as huge pages, over all chunks

 private:
  struct Chunk {
    LargeBuffer buffer;
    size_t used = 0;
  };
  std::vector<Chunk> chunks_;
  size_t expected_bytes_;
  bool huge_pages_;
  size_t used_bytes_ = 0;
};

}  // namespace edgerun
