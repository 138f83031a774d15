#include "edgerun/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#include "edgerun/dtype.h"

namespace edgerun {

int64_t NumElements(std::span<const int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

std::string DimsToString(std::span<const int64_t> dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

Expected<TensorView> TensorView::Make(DType dtype, std::span<const int64_t> dims, void* data) {
  if (dims.size() > static_cast<size_t>(kMaxRank)) {
    return Unsupported("rank " + std::to_string(dims.size()) + " exceeds the maximum of " +
                       std::to_string(kMaxRank));
  }
  TensorView v;
  v.dtype = dtype;
  v.rank = static_cast<int>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) v.dims[i] = dims[i];
  v.raw = data;
  return v;
}

Expected<Tensor> Tensor::Create(DType dtype, std::vector<int64_t> dims) {
  return Allocate(dtype, std::move(dims), /*zero=*/true);
}

Expected<Tensor> Tensor::CreateUninitialized(DType dtype, std::vector<int64_t> dims) {
  return Allocate(dtype, std::move(dims), /*zero=*/false);
}

Expected<Tensor> Tensor::Allocate(DType dtype, std::vector<int64_t> dims, bool zero) {
  const int64_t n = NumElements(dims);
  if (n < 0) return InvalidArgument("invalid tensor dims " + DimsToString(dims));
  const size_t elem = DTypeSize(dtype);
  if (elem == 0) return InvalidArgument("tensor has undefined dtype");
  if (static_cast<uint64_t>(n) > kMaxTensorBytes / elem) {
    return ResourceExhausted("tensor of dims " + DimsToString(dims) + " (" +
                             std::string(DTypeName(dtype)) + ") exceeds the " +
                             std::to_string(kMaxTensorBytes >> 30) + " GiB limit");
  }
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.bytes_ = static_cast<size_t>(n) * elem;
  const size_t alloc =
      (std::max<size_t>(t.bytes_, 1) + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, alloc);
  if (p == nullptr) return ResourceExhausted("cannot allocate " + std::to_string(alloc) + " bytes");
  if (zero) {
    std::memset(p, 0, alloc);
  } else if (alloc > t.bytes_) {
    std::memset(static_cast<std::byte*>(p) + t.bytes_, 0, alloc - t.bytes_);  // padding only
  }
  t.storage_ =
      std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  t.data_ = p;
  t.writable_ = true;
  return t;
}

Tensor Tensor::Wrap(DType dtype, std::vector<int64_t> dims, const void* data,
                    std::shared_ptr<const void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.bytes_ = static_cast<size_t>(std::max<int64_t>(NumElements(dims), 0)) * DTypeSize(dtype);
  t.dims_ = std::move(dims);
  t.data_ = data;
  t.storage_ = std::move(keep_alive);
  return t;
}

Tensor Tensor::WrapWritable(DType dtype, std::vector<int64_t> dims, void* data,
                            std::shared_ptr<const void> keep_alive) {
  Tensor t = Wrap(dtype, std::move(dims), data, std::move(keep_alive));
  t.writable_ = true;
  return t;
}

Tensor Tensor::WrapDeferredCopy(DType dtype, std::vector<int64_t> dims, void* data,
                                std::shared_ptr<const void> keep_alive, const std::byte* source,
                                std::shared_ptr<const void> source_keep_alive) {
  Tensor t = WrapWritable(dtype, std::move(dims), data, std::move(keep_alive));
  if (t.bytes_ > 0 && data != nullptr) {
    t.deferred_ = std::make_shared<DeferredCopy>();
    t.deferred_->source = source;
    t.deferred_->source_keep_alive = std::move(source_keep_alive);
  }
  return t;
}

void Tensor::CopyDeferredBytesSlow() const {
  // Sessions may load from one Model on several threads: one copies, the others wait for it.
  std::call_once(deferred_->once, [this] {
    std::memcpy(const_cast<void*>(data_), deferred_->source, bytes_);
    deferred_->done.store(true, std::memory_order_release);
  });
}

void* Tensor::ExclusiveMutableRawToOverwrite() const {
  if (!IsExclusivelyWritable()) return nullptr;
  // No other Tensor shares the buffer, so no other thread can be copying into it.
  if (deferred_ != nullptr) {
    std::call_once(deferred_->once,
                   [this] { deferred_->done.store(true, std::memory_order_release); });
  }
  return const_cast<void*>(data_);
}

Tensor Tensor::WithoutDeferredSource() const {
  Tensor t = *this;
  if (t.deferred_ != nullptr) {
    CopyDeferredBytes();
    t.deferred_.reset();
  }
  return t;
}

Expected<Tensor> Tensor::FromBytes(DType dtype, std::vector<int64_t> dims, const void* data,
                                   size_t bytes) {
  ASSIGN_OR_RETURN(Tensor t, CreateUninitialized(dtype, std::move(dims)));
  if (bytes != t.bytes()) {
    return InvalidArgument("tensor of dims " + DimsToString(t.dims()) + " (" +
                           std::string(DTypeName(dtype)) + ") needs " + std::to_string(t.bytes()) +
                           " bytes, got " + std::to_string(bytes));
  }
  if (bytes > 0) std::memcpy(t.mutable_raw(), data, bytes);
  return t;
}

TensorView Tensor::view() const {
  TensorView v;
  v.dtype = dtype_;
  v.rank = std::min<int>(rank(), kMaxRank);
  for (int i = 0; i < v.rank; ++i) v.dims[i] = dims_[i];
  v.raw = const_cast<void*>(raw());
  return v;
}

double Tensor::ScalarAsDouble(int64_t i) const { return LoadElementAsDouble(raw(), dtype_, i); }

int64_t Tensor::ScalarAsInt(int64_t i) const {
  switch (dtype_) {
    case DType::kI64:
      return data<int64_t>()[i];
    case DType::kU64:
      return static_cast<int64_t>(data<uint64_t>()[i]);
    default:
      return static_cast<int64_t>(ScalarAsDouble(i));
  }
}

std::vector<int64_t> Tensor::ToInt64Vector() const {
  const int64_t n = std::max<int64_t>(num_elements(), 0);
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = ScalarAsInt(i);
  return out;
}

std::vector<float> Tensor::ToFloatVector() const {
  const int64_t n = std::max<int64_t>(num_elements(), 0);
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(ScalarAsDouble(i));
  return out;
}

}  // namespace edgerun
