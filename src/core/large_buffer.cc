#include "core/large_buffer.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "edgerun/tensor.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#define EDGERUN_HAVE_MMAP 1
#endif

namespace edgerun {
namespace {

// Below this, a mapping's bookkeeping costs more than it saves.
constexpr size_t kMinMappedBytes = size_t{64} << 10;

size_t RoundUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

Status CannotAllocate(size_t bytes) {
  return ResourceExhausted("cannot allocate " + std::to_string(bytes) + " bytes");
}

}  // namespace

Expected<LargeBuffer> LargeBuffer::Allocate(size_t bytes, bool huge_pages) {
  LargeBuffer b;
  b.size_ = bytes;
  if (bytes == 0) return b;
#if EDGERUN_HAVE_MMAP
  if (bytes >= kMinMappedBytes) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t length = RoundUp(bytes, page);
    // Over-map by one huge page so the start can be aligned to it, then unmap the slack.
    const size_t over = length + kHugePageBytes;
    void* raw = ::mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return CannotAllocate(bytes);
    const auto base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = RoundUp(base, kHugePageBytes);
    if (aligned > base) ::munmap(raw, aligned - base);
    const size_t tail = base + over - (aligned + length);
    if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + length), tail);
    b.mapping_ = reinterpret_cast<void*>(aligned);
    b.mapping_bytes_ = length;
    b.data_ = static_cast<std::byte*>(b.mapping_);
    b.huge_bytes_ = huge_pages ? bytes / kHugePageBytes * kHugePageBytes : 0;
    // Advice only: kernels without THP (or with it disabled) return an error we can ignore.
    if (b.huge_bytes_ > 0 && ::madvise(b.mapping_, b.huge_bytes_, MADV_HUGEPAGE) != 0) {
      b.huge_bytes_ = 0;
    }
    // Asked for small pages: keep them small where THP is "always" too.
    if (!huge_pages) ::madvise(b.mapping_, b.mapping_bytes_, MADV_NOHUGEPAGE);
    return b;
  }
#endif
  void* p = std::aligned_alloc(kTensorAlignment, RoundUp(bytes, kTensorAlignment));
  if (p == nullptr) return CannotAllocate(bytes);
  std::memset(p, 0, bytes);
  b.data_ = static_cast<std::byte*>(p);
  return b;
}

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_bytes_(std::exchange(other.mapping_bytes_, 0)),
      huge_bytes_(std::exchange(other.huge_bytes_, 0)) {}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
    huge_bytes_ = std::exchange(other.huge_bytes_, 0);
  }
  return *this;
}

LargeBuffer::~LargeBuffer() { Release(); }

void LargeBuffer::Release() {
#if EDGERUN_HAVE_MMAP
  if (mapping_ != nullptr) {
    ::munmap(mapping_, mapping_bytes_);
  } else {
    std::free(data_);
  }
#else
  std::free(data_);
#endif
  data_ = nullptr;
  mapping_ = nullptr;
  size_ = mapping_bytes_ = huge_bytes_ = 0;
}

void DiscardWholePages(const void* begin, size_t length) {
#if EDGERUN_HAVE_MMAP
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = RoundUp(reinterpret_cast<uintptr_t>(begin), page);
  const uintptr_t last = (reinterpret_cast<uintptr_t>(begin) + length) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
#else
  (void)begin;
  (void)length;
#endif
}

void LargeBuffer::Discard(size_t offset, size_t length) {
  if (mapping_ == nullptr || offset >= size_) return;
  DiscardWholePages(data_ + offset, std::min(length, size_ - offset));
}

Expected<std::byte*> WeightPool::Allocate(size_t bytes, size_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 4096) {
    return InvalidArgument("weight pool: alignment " + std::to_string(alignment) +
                           " is not a power of two up to 4096");
  }
  bytes = std::max<size_t>(bytes, 1);
  if (!chunks_.empty()) {
    Chunk& c = chunks_.back();
    const size_t offset = RoundUp(c.used, alignment);
    if (offset + bytes <= c.buffer.size()) {
      c.used = offset + bytes;
      used_bytes_ += bytes;
      return c.buffer.data() + offset;
    }
  }
  // Mappings start 2 MiB-aligned, aligned_alloc ones 64-byte aligned: pad for larger alignments.
  constexpr size_t kMinOverflowChunk = size_t{256} << 10;
  const bool first = chunks_.empty();
  if (!first && bytes >= LargeBuffer::kHugePageBytes) {
    // A slice the guess missed (padding: MobileNetV3's 1000-class FC packs to 4 MiB) gets a chunk
    // of its own with huge pages: it fills the chunk, and small pages cost a fault per 4 KiB
    // (15 ms for those 4 MiB). It goes before the last chunk, which keeps taking small slices.
    ASSIGN_OR_RETURN(LargeBuffer own, LargeBuffer::Allocate(bytes + alignment, huge_pages_));
    const auto own_base = reinterpret_cast<uintptr_t>(own.data());
    std::byte* slice = own.data() + (RoundUp(own_base, alignment) - own_base);
    chunks_.insert(chunks_.end() - 1, Chunk{std::move(own), bytes + alignment});
    used_bytes_ += bytes;
    return slice;
  }
  const size_t chunk_bytes =
      std::max(first ? expected_bytes_ : std::max(expected_bytes_ / 4, kMinOverflowChunk),
               bytes + alignment);
  ASSIGN_OR_RETURN(LargeBuffer buffer, LargeBuffer::Allocate(chunk_bytes, first && huge_pages_));
  chunks_.push_back(Chunk{std::move(buffer), 0});
  Chunk& c = chunks_.back();
  const auto base = reinterpret_cast<uintptr_t>(c.buffer.data());
  const size_t offset = RoundUp(base, alignment) - base;
  c.used = offset + bytes;
  used_bytes_ += bytes;
  return c.buffer.data() + offset;
}

size_t WeightPool::reserved_bytes() const {
  size_t total = 0;
  for (const Chunk& c : chunks_) total += c.buffer.size();
  return total;
}

void WeightPool::ReleaseUnused() {
  for (Chunk& c : chunks_) c.buffer.Discard(c.used, c.buffer.size() - c.used);
}

size_t WeightPool::huge_page_bytes() const {
  size_t total = 0;
  for (const Chunk& c : chunks_) total += c.buffer.huge_page_bytes();
  return total;
}

}  // namespace edgerun
