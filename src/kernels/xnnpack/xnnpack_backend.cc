// XNNPACK as a backend: initialized once on first use, with an allocator that counts bytes so
// each kernel state can report the packed weights and buffers it holds. Threads with the
// session's pthreadpool.
#include <xnnpack.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/backend.h"
#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {
namespace {

// Every block starts with this header just before the pointer handed to XNNPACK, so frees and
// reallocations know the size and the start of the underlying allocation.
struct alignas(16) BlockHeader {
  void* base;
  size_t size;
};
static_assert(sizeof(BlockHeader) == 16);

// Operators are created, set up and deleted on the session-creating thread, so a thread-local
// running total gives exact per-call deltas without contention.
thread_local int64_t t_heap_bytes = 0;

void Count(int64_t delta) { t_heap_bytes += delta; }

void* Publish(void* base, size_t header_offset, size_t size) {
  auto* user = static_cast<std::byte*>(base) + header_offset;
  auto* h = reinterpret_cast<BlockHeader*>(user) - 1;
  h->base = base;
  h->size = size;
  Count(static_cast<int64_t>(size));
  return user;
}

BlockHeader* HeaderOf(void* p) { return reinterpret_cast<BlockHeader*>(p) - 1; }

void* Allocate(void*, size_t size) {
  void* base = std::malloc(size + sizeof(BlockHeader));
  return base == nullptr ? nullptr : Publish(base, sizeof(BlockHeader), size);
}

void* AlignedAllocate(void*, size_t alignment, size_t size) {
  alignment = std::max(alignment, sizeof(BlockHeader));
  // aligned_alloc wants a multiple of the alignment; the header sits in the first chunk.
  const size_t total = (size + alignment + alignment - 1) / alignment * alignment;
  void* base = std::aligned_alloc(alignment, total);
  return base == nullptr ? nullptr : Publish(base, alignment, size);
}

void Deallocate(void*, void* p) {
  if (p == nullptr) return;
  BlockHeader* h = HeaderOf(p);
  Count(-static_cast<int64_t>(h->size));
  std::free(h->base);
}

void* Reallocate(void*, void* p, size_t size) {
  if (p == nullptr) return Allocate(nullptr, size);
  // Copy instead of realloc: XNNPACK only grows indirection buffers at setup, and this keeps
  // one path for blocks of either allocation kind.
  void* q = Allocate(nullptr, size);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, std::min(size, HeaderOf(p)->size));
  Deallocate(nullptr, p);
  return q;
}

const xnn_allocator kCountingAllocator = {
    nullptr, Allocate, Reallocate, Deallocate, AlignedAllocate, Deallocate,
};

std::string XnnpackVersion() { return "XNNPACK 0.0~git20220216"; }

}  // namespace

bool XnnpackInitialized() {
  // xnn_initialize fails on CPUs XNNPACK does not support (it needs SSE2 / NEON).
  static const bool ok = xnn_initialize(&kCountingAllocator) == xnn_status_success;
  return ok;
}

int64_t XnnpackThreadHeapBytes() { return t_heap_bytes; }

BackendDef XnnpackBackend() {
  return BackendDef{KernelPath::kXnnpack, XnnpackInitialized, XnnpackVersion, nullptr, nullptr};
}

}  // namespace edgerun
