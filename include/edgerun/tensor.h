// Tensors: owning constant tensors for the IR, and non-owning views for kernels.
//
// Tensor owns an aligned, immutable-by-convention buffer (weights, folded constants, test data).
// A model's weights may still sit in its memory-mapped file (at any alignment) until something
// reads them: raw() and data() copy them into their aligned buffer first, while weight packers
// read them where they are with UnalignedBytes() and so skip that copy.
// TensorView points into the session arena; it has a fixed-capacity shape so that binding and
// invoking never touch the heap.
// Usage:
//   Tensor t = Tensor::Zeros(DType::kF32, {1, 3, 224, 224});
//   TensorView v = t.view();  float* p = v.data<float>();
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "edgerun/dtype.h"
#include "edgerun/status.h"

namespace edgerun {

inline constexpr int kMaxRank = 8;
inline constexpr size_t kTensorAlignment = 64;

// Product of dims; 1 for a scalar. Returns -1 on overflow or a negative dim.
int64_t NumElements(std::span<const int64_t> dims);
// "1x3x224x224"; "scalar" for rank 0.
std::string DimsToString(std::span<const int64_t> dims);

// A non-owning view of a dense, row-major tensor.
struct TensorView {
  DType dtype = DType::kUndefined;
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  void* raw = nullptr;  // nullptr for an omitted optional input

  bool present() const { return raw != nullptr || dtype != DType::kUndefined; }
  std::span<const int64_t> shape() const { return {dims, static_cast<size_t>(rank)}; }
  int64_t num_elements() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
  size_t bytes() const { return static_cast<size_t>(num_elements()) * DTypeSize(dtype); }
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw);
  }
  // Fails when dims has more than kMaxRank entries.
  static Expected<TensorView> Make(DType dtype, std::span<const int64_t> dims, void* data);
};

// An owning tensor with a 64-byte aligned buffer. Copies share the buffer (constants are never
// written after construction), so graphs and passes can pass them around cheaply.
class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage. Fails on negative or overflowing dims, or absurd sizes.
  static Expected<Tensor> Create(DType dtype, std::vector<int64_t> dims);
  // Same, without zero-filling: for callers that overwrite every element (large weights).
  static Expected<Tensor> CreateUninitialized(DType dtype, std::vector<int64_t> dims);
  // Wraps existing memory without copying; `keep_alive` owns it (e.g. a memory-mapped file).
  static Tensor Wrap(DType dtype, std::vector<int64_t> dims, const void* data,
                     std::shared_ptr<const void> keep_alive);
  // Same, for memory that is writable and belongs to this tensor alone (a slice of a model's
  // private weight buffer), so a graph pass may rewrite it in place: see
  // ExclusiveMutableRawToOverwrite.
  static Tensor WrapWritable(DType dtype, std::vector<int64_t> dims, void* data,
                             std::shared_ptr<const void> keep_alive);
  // A writable tensor in `data` (aligned, untouched yet) whose bytes are copied from `source` (any
  // alignment, e.g. in a memory-mapped model file; `source_keep_alive` owns it) the first time
  // something asks for raw() or data(); until then UnalignedBytes() reads them at `source`.
  static Tensor WrapDeferredCopy(DType dtype, std::vector<int64_t> dims, void* data,
                                 std::shared_ptr<const void> keep_alive, const std::byte* source,
                                 std::shared_ptr<const void> source_keep_alive);
  // Copies `bytes` from `data`; bytes must equal the tensor size.
  static Expected<Tensor> FromBytes(DType dtype, std::vector<int64_t> dims, const void* data,
                                    size_t bytes);
  template <typename T>
  static Tensor FromVector(DType dtype, std::vector<int64_t> dims, const std::vector<T>& values) {
    auto t = FromBytes(dtype, std::move(dims), values.data(), values.size() * sizeof(T));
    return t.ok() ? std::move(t).value() : Tensor();
  }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t num_elements() const { return NumElements(dims_); }
  size_t bytes() const { return bytes_; }
  bool empty() const { return dtype_ == DType::kUndefined; }

  const void* raw() const {
    CopyDeferredBytes();
    return data_;
  }
  // Writable access; only for the code that builds the tensor.
  void* mutable_raw() { return const_cast<void*>(raw()); }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(raw());
  }
  // Whether the tensor has data (a constant released after packing has none), without copying
  // deferred bytes.
  bool has_data() const { return data_ != nullptr; }
  // The bytes without forcing a deferred copy: in the model file while it is pending (any
  // alignment: read them with memcpy or unaligned loads only), else raw().
  const std::byte* UnalignedBytes() const {
    const DeferredCopy* d = deferred_.get();
    return d != nullptr && !d->done.load(std::memory_order_acquire)
               ? d->source
               : static_cast<const std::byte*>(data_);
  }
  // Whether the bytes are still in the model file (UnalignedBytes() points there).
  bool copy_pending() const {
    return deferred_ != nullptr && !deferred_->done.load(std::memory_order_acquire);
  }
  bool has_deferred_source() const { return deferred_ != nullptr; }
  // The same tensor with its bytes copied (if still pending) and no reference to their source:
  // a session keeps these, so that it holds nothing of the model file once loaded.
  Tensor WithoutDeferredSource() const;
  template <typename T>
  T* mutable_data() {
    return static_cast<T*>(mutable_raw());
  }
  // The data, writable, when no other Tensor shares the buffer and the buffer may be written
  // (allocated here, or WrapWritable); otherwise nullptr. Graph passes that fold a per-channel
  // scale into weights use it to skip a copy: a fresh copy faults in every page, about 15 us per
  // 4 KiB on the VMs we measure, which was a third of PP-OCR rec's load.
  void* ExclusiveMutableRaw() const {
    return IsExclusivelyWritable() ? const_cast<void*>(raw()) : nullptr;
  }
  // ExclusiveMutableRaw() for a caller that writes every byte before reading any: bytes still
  // pending in the model file are not copied into place first (the caller reads them from
  // UnalignedBytes(), taken before this call; the file stays mapped while the tensor lives).
  void* ExclusiveMutableRawToOverwrite() const;
  // Whether ExclusiveMutableRaw() would give the data, without copying deferred bytes.
  bool IsExclusivelyWritable() const {
    return writable_ && storage_ != nullptr && storage_.use_count() == 1;
  }
  // A view over this tensor's data (the view must not be written through for constants).
  TensorView view() const;

  // Reads element i converted to double / int64 (any numeric dtype); for small constants such as
  // shapes, axes and scalars during shape inference.
  double ScalarAsDouble(int64_t i = 0) const;
  int64_t ScalarAsInt(int64_t i = 0) const;
  // All elements as int64 (for shape/axes tensors).
  std::vector<int64_t> ToInt64Vector() const;
  std::vector<float> ToFloatVector() const;

 private:
  struct DeferredCopy {
    const std::byte* source = nullptr;
    std::shared_ptr<const void> source_keep_alive;
    std::once_flag once;
    std::atomic<bool> done{false};
  };
  static Expected<Tensor> Allocate(DType dtype, std::vector<int64_t> dims, bool zero);
  void CopyDeferredBytes() const {
    if (deferred_ != nullptr && !deferred_->done.load(std::memory_order_acquire)) {
      CopyDeferredBytesSlow();
    }
  }
  void CopyDeferredBytesSlow() const;
  DType dtype_ = DType::kUndefined;
  std::vector<int64_t> dims_;
  size_t bytes_ = 0;
  const void* data_ = nullptr;
  std::shared_ptr<const void> storage_;
  // Shared by copies, like storage_; null unless made by WrapDeferredCopy.
  std::shared_ptr<DeferredCopy> deferred_;
  bool writable_ = false;
};

// Largest single tensor edgerun will allocate (guards against absurd claimed dims).
inline constexpr size_t kMaxTensorBytes = size_t{16} << 30;

}  // namespace edgerun
