#include "edgerun/tensor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace edgerun {
namespace {

TEST(TensorTest, CreateIsZeroedAndAligned) {
  auto t = Tensor::Create(DType::kF32, {2, 3});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->bytes(), 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw()) % kTensorAlignment, 0u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t->data<float>()[i], 0.0f);
}

TEST(TensorTest, RejectsNegativeOverflowingAndAbsurdDims) {
  EXPECT_FALSE(Tensor::Create(DType::kF32, {-1, 3}).ok());
  EXPECT_FALSE(Tensor::Create(DType::kF32, {int64_t{1} << 40, int64_t{1} << 40}).ok());
  auto huge = Tensor::Create(DType::kF32, {int64_t{1} << 33});
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted);
}

TEST(TensorTest, ExclusiveMutableRawOnlyForAnUnsharedWritableBuffer) {
  Tensor a = Tensor::Create(DType::kF32, {4}).value();
  EXPECT_EQ(a.ExclusiveMutableRaw(), a.raw());
  {
    const Tensor copy = a;  // copies share the buffer: neither may write it
    EXPECT_EQ(a.ExclusiveMutableRaw(), nullptr);
    EXPECT_EQ(copy.ExclusiveMutableRaw(), nullptr);
  }
  EXPECT_EQ(a.ExclusiveMutableRaw(), a.raw());
  auto buffer = std::make_shared<std::vector<float>>(4, 1.f);
  const Tensor wrapped = Tensor::Wrap(DType::kF32, {4}, buffer->data(), buffer);
  EXPECT_EQ(wrapped.ExclusiveMutableRaw(), nullptr);  // may be a read-only mapping
  float* data = buffer->data();
  const Tensor writable = Tensor::WrapWritable(DType::kF32, {4}, data, std::move(buffer));
  EXPECT_EQ(writable.ExclusiveMutableRaw(), nullptr);  // `wrapped` still shares the buffer
  EXPECT_EQ(Tensor::WrapWritable(DType::kF32, {4}, data, nullptr).ExclusiveMutableRaw(), nullptr);
}

TEST(TensorTest, WrapWritableOwnsItsBufferAlone) {
  auto buffer = std::make_shared<std::vector<float>>(4, 1.f);
  float* data = buffer->data();
  const Tensor t = Tensor::WrapWritable(DType::kF32, {4}, data, std::move(buffer));
  EXPECT_EQ(t.ExclusiveMutableRaw(), data);
}

// A weight still in the model file: packers read it there (at any alignment) through
// UnalignedBytes(); raw(), data(), view() and the scalar accessors copy it into place first.
TEST(TensorTest, DeferredCopyHappensOnFirstReadOnly) {
  std::vector<std::byte> file(4 * 6 + 1);
  const float values[6] = {1, -2, 3.5f, 4, 5, 6};
  std::memcpy(file.data() + 1, values, sizeof(values));  // misaligned, as in a protobuf
  auto place = std::make_shared<std::vector<float>>(6, 0.f);
  float* dest = place->data();
  auto source_alive = std::make_shared<int>(0);
  const Tensor t =
      Tensor::WrapDeferredCopy(DType::kF32, {2, 3}, dest, place, file.data() + 1, source_alive);
  const Tensor copy = t;  // copies share the pending copy
  EXPECT_TRUE(t.copy_pending());
  EXPECT_TRUE(t.has_data());
  EXPECT_FALSE(t.IsExclusivelyWritable());  // `copy` shares it
  EXPECT_EQ(t.UnalignedBytes(), file.data() + 1);
  EXPECT_EQ(dest[0], 0.f);  // nothing copied by asking
  EXPECT_EQ(copy.ScalarAsDouble(2), 3.5);
  EXPECT_FALSE(t.copy_pending());
  EXPECT_EQ(t.UnalignedBytes(), reinterpret_cast<const std::byte*>(dest));
  EXPECT_EQ(t.data<float>(), dest);
  EXPECT_EQ(t.ToFloatVector(), std::vector<float>(values, values + 6));
  // Detached from the source: the file may go.
  EXPECT_TRUE(t.has_deferred_source());
  const Tensor detached = copy.WithoutDeferredSource();
  EXPECT_FALSE(detached.has_deferred_source());
  EXPECT_EQ(detached.raw(), dest);
}

TEST(TensorTest, DeferredCopyRunsOnceAcrossThreads) {
  std::vector<float> source(1 << 16);
  for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<float>(i);
  auto place = std::make_shared<std::vector<float>>(source.size(), 0.f);
  const Tensor t =
      Tensor::WrapDeferredCopy(DType::kF32, {static_cast<int64_t>(source.size())}, place->data(),
                               place, reinterpret_cast<const std::byte*>(source.data()), nullptr);
  std::vector<std::thread> readers;
  std::atomic<int> wrong{0};
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      const float* p = t.data<float>();
      for (size_t i = 0; i < source.size(); i += 997) wrong += p[i] != source[i];
    });
  }
  for (auto& th : readers) th.join();
  EXPECT_EQ(wrong.load(), 0);
  // The view made by ExclusiveMutableRaw, too, sees the copied bytes.
  auto small = std::make_shared<std::vector<float>>(4, 0.f);
  float* small_data = small->data();
  const Tensor alone =
      Tensor::WrapDeferredCopy(DType::kF32, {4}, small_data, std::move(small),
                               reinterpret_cast<const std::byte*>(source.data() + 8), nullptr);
  ASSERT_NE(alone.ExclusiveMutableRaw(), nullptr);
  EXPECT_EQ(static_cast<const float*>(alone.ExclusiveMutableRaw())[1], 9.f);
}

TEST(TensorTest, FromBytesChecksSize) {
  std::vector<float> v = {1, 2, 3};
  EXPECT_FALSE(Tensor::FromBytes(DType::kF32, {2, 2}, v.data(), 12).ok());
  auto t = Tensor::FromBytes(DType::kF32, {3}, v.data(), 12);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ToFloatVector(), v);
}

TEST(TensorTest, ScalarAccessorsConvert) {
  Tensor t = Tensor::FromVector(DType::kI64, {3}, std::vector<int64_t>{-5, 7, 1 << 20});
  EXPECT_EQ(t.ToInt64Vector(), (std::vector<int64_t>{-5, 7, 1 << 20}));
  EXPECT_DOUBLE_EQ(t.ScalarAsDouble(1), 7.0);
  Tensor h = Tensor::FromVector(DType::kF16, {1}, std::vector<uint16_t>{0x3c00});
  EXPECT_DOUBLE_EQ(h.ScalarAsDouble(0), 1.0);
}

TEST(TensorTest, ViewMirrorsShape) {
  auto t = Tensor::Create(DType::kU8, {1, 2, 3});
  TensorView v = t->view();
  EXPECT_EQ(v.rank, 3);
  EXPECT_EQ(v.num_elements(), 6);
  EXPECT_EQ(v.bytes(), 6u);
  EXPECT_EQ(DimsToString(v.shape()), "1x2x3");
  std::vector<int64_t> too_deep(kMaxRank + 1, 1);
  EXPECT_FALSE(TensorView::Make(DType::kF32, too_deep, nullptr).ok());
}

TEST(StatusTest, ExpectedAndMacros) {
  auto fails = []() -> Expected<int> { return InvalidModel("bad"); };
  auto works = []() -> Expected<int> { return 3; };
  auto chain = [&]() -> Status {
    ASSIGN_OR_RETURN(int a, works());
    EXPECT_EQ(a, 3);
    ASSIGN_OR_RETURN(int b, fails());
    (void)b;
    return Status::Ok();
  };
  Status s = chain();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_EQ(s.WithPrefix("m.onnx").message(), "m.onnx: bad");
  EXPECT_EQ(s.ToString(), "invalid model: bad");
}

}  // namespace
}  // namespace edgerun
