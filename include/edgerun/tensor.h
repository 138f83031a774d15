// Tensors: owning constant tensors for the IR, and non-owning views for kernels.
//
// Tensor owns an aligned, immutable-by-convention buffer (weights, folded constants, test data).
// TensorView points into the session arena; it has a fixed-capacity shape so that binding and
// invoking never touch the heap.
// Usage:
//   Tensor t = Tensor::Zeros(DType::kF32, {1, 3, 224, 224});
//   TensorView v = t.view();  float* p = v.data<float>();
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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
  // private weight buffer), so a graph pass may rewrite it in place: see ExclusiveMutableRaw.
  static Tensor WrapWritable(DType dtype, std::vector<int64_t> dims, void* data,
                             std::shared_ptr<const void> keep_alive);
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

  const void* raw() const { return data_; }
  // Writable access; only for the code that builds the tensor.
  void* mutable_raw() { return const_cast<void*>(data_); }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  template <typename T>
  T* mutable_data() {
    return static_cast<T*>(mutable_raw());
  }
  // The data, writable, when no other Tensor shares the buffer and the buffer may be written
  // (allocated here, or WrapWritable); otherwise nullptr. Graph passes that fold a per-channel
  // scale into weights use it to skip a copy: a fresh copy faults in every page, about 15 us per
  // 4 KiB on the VMs we measure, which was a third of PP-OCR rec's load.
  void* ExclusiveMutableRaw() const {
    return writable_ && storage_ != nullptr && storage_.use_count() == 1 ? const_cast<void*>(data_)
                                                                         : nullptr;
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
  static Expected<Tensor> Allocate(DType dtype, std::vector<int64_t> dims, bool zero);
  DType dtype_ = DType::kUndefined;
  std::vector<int64_t> dims_;
  size_t bytes_ = 0;
  const void* data_ = nullptr;
  std::shared_ptr<const void> storage_;
  bool writable_ = false;
};

// Largest single tensor edgerun will allocate (guards against absurd claimed dims).
inline constexpr size_t kMaxTensorBytes = size_t{16} << 30;

}  // namespace edgerun
