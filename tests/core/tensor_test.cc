#include "edgerun/tensor.h"

#include <gtest/gtest.h>

#include <vector>

#include <memory>

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
