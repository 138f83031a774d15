#include "util/compare.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace edgerun::test_util {
namespace {

TEST(AllCloseTest, FollowsNumpyAllcloseForFloats) {
  Tensor want = Tensor::FromVector<float>(DType::kF32, {2, 2}, {1.0f, -2.0f, 100.0f, 0.0f});
  // Within atol + rtol * |expected| everywhere (1e-3 * 100 = 0.1 for the third element).
  Tensor near = Tensor::FromVector<float>(DType::kF32, {2, 2}, {1.0009f, -2.0019f, 100.09f, 5e-8f});
  EXPECT_TRUE(AllClose(near.view(), want.view(), 1e-3, 1e-7).ok);

  Tensor far = Tensor::FromVector<float>(DType::kF32, {2, 2}, {1.0f, -2.0f, 100.2f, 1e-6f});
  CompareResult r = AllClose(far.view(), want.view(), 1e-3, 1e-7);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.mismatches, 2);
  EXPECT_EQ(r.first_mismatch, 2);
  EXPECT_NE(r.message.find("[1, 0] (flat 2)"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("2 of 4"), std::string::npos) << r.message;
}

TEST(AllCloseTest, TreatsNanAsEqualAndInfinitiesExactly) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Tensor a = Tensor::FromVector<float>(DType::kF32, {3}, {nan, inf, -inf});
  EXPECT_TRUE(AllClose(a.view(), a.view(), 1e-3, 1e-7).ok);
  Tensor b = Tensor::FromVector<float>(DType::kF32, {3}, {nan, -inf, -inf});
  EXPECT_FALSE(AllClose(b.view(), a.view(), 1e-3, 1e-7).ok);
  Tensor c = Tensor::FromVector<float>(DType::kF32, {3}, {0.0f, inf, -inf});
  EXPECT_FALSE(AllClose(c.view(), a.view(), 1e-3, 1e-7).ok);
}

TEST(AllCloseTest, RequiresExactIntegersAndMatchingTypeAndShape) {
  Tensor a = Tensor::FromVector<int64_t>(DType::kI64, {2}, {INT64_MAX, 5});
  Tensor b = Tensor::FromVector<int64_t>(DType::kI64, {2}, {INT64_MAX - 1, 5});
  CompareResult r = AllClose(b.view(), a.view(), 1e-3, 1e-7);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("9223372036854775806"), std::string::npos) << r.message;
  EXPECT_TRUE(AllClose(a.view(), a.view(), 0, 0).ok);

  Tensor i32 = Tensor::FromVector<int32_t>(DType::kI32, {2}, {1, 5});
  EXPECT_NE(AllClose(i32.view(), a.view(), 1, 1).message.find("dtype i32"), std::string::npos);
  Tensor reshaped = Tensor::FromVector<int64_t>(DType::kI64, {1, 2}, {INT64_MAX, 5});
  EXPECT_NE(AllClose(reshaped.view(), a.view(), 1, 1).message.find("shape"), std::string::npos);

  Tensor t = Tensor::FromVector<uint8_t>(DType::kBool, {2}, {1, 0});
  Tensor f = Tensor::FromVector<uint8_t>(DType::kBool, {2}, {1, 1});
  EXPECT_FALSE(AllClose(f.view(), t.view(), 1, 1).ok);
}

TEST(SimilarityTest, CosineAndErrors) {
  const std::vector<double> a = {1, 2, 3};
  const std::vector<double> b = {2, 4, 6};
  const std::vector<double> c = {-3, 0, 1};
  EXPECT_NEAR(CosineSimilarity(a, b), 1.0, 1e-15);
  EXPECT_NEAR(CosineSimilarity(a, c), 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(MaxAbsError(a, b), 3.0);
  EXPECT_DOUBLE_EQ(MaxAbs(c), 3.0);
  EXPECT_TRUE(std::isnan(CosineSimilarity(a, std::vector<double>{1, 2})));
  EXPECT_TRUE(std::isnan(MaxAbsError(a, std::vector<double>{1, std::nan(""), 3})));
  const std::vector<double> zero = {0, 0, 0};
  EXPECT_EQ(CosineSimilarity(zero, zero), 1.0);
  EXPECT_EQ(CosineSimilarity(zero, a), 0.0);

  Tensor h =
      Tensor::FromVector<uint16_t>(DType::kF16, {2}, {FloatToHalf(0.5f), FloatToHalf(-2.0f)});
  EXPECT_EQ(ToDoubles(h.view()), (std::vector<double>{0.5, -2.0}));
}

}  // namespace
}  // namespace edgerun::test_util
