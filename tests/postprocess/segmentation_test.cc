// Segmentation masks by argmax (NCHW, NHWC, ties) and threshold; bad shapes.
#include "edgerun/postprocess/segmentation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace edgerun::postprocess {
namespace {

TEST(SegmentationTest, ArgmaxNchwAndNhwcAgree) {
  const int c = 5, h = 7, w = 9;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> level(0, 3);  // few levels: many ties
  std::vector<float> nchw(c * h * w), nhwc(c * h * w);
  for (int k = 0; k < c; ++k) {
    for (int i = 0; i < h * w; ++i) nchw[k * h * w + i] = nhwc[i * c + k] = level(rng) * 0.25f;
  }
  const int64_t d1[] = {1, c, h, w}, d2[] = {1, h, w, c};
  auto a = ArgmaxMask(*TensorView::Make(DType::kF32, d1, nchw.data()), SegLayout::kNCHW);
  auto b = ArgmaxMask(*TensorView::Make(DType::kF32, d2, nhwc.data()), SegLayout::kNHWC);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->width, w);
  EXPECT_EQ(a->height, h);
  EXPECT_EQ(a->labels, b->labels);
  for (int i = 0; i < h * w; ++i) {
    int best = 0;  // brute force: first maximal class
    for (int k = 1; k < c; ++k) {
      if (nchw[k * h * w + i] > nchw[best * h * w + i]) best = k;
    }
    EXPECT_EQ(a->labels[i], best) << i;
  }
}

TEST(SegmentationTest, ThresholdChannel) {
  const std::vector<float> p = {0.1f, 0.6f, 0.5f, 0.9f, /*ch1*/ 1, 1, 1, 1};
  const int64_t d[] = {2, 2, 2};  // rank 3 NCHW: C = 2
  auto m = ThresholdMask(*TensorView::Make(DType::kF32, d, const_cast<float*>(p.data())),
                         SegLayout::kNCHW, 0, 0.5f);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->labels, (std::vector<int32_t>{0, 1, 0, 1}));
  EXPECT_FALSE(ThresholdMask(*TensorView::Make(DType::kF32, d, const_cast<float*>(p.data())),
                             SegLayout::kNCHW, 2, 0.5f)
                   .ok());
}

TEST(SegmentationTest, BadInputIsAnError) {
  std::vector<float> p(8, std::nanf(""));
  const int64_t d[] = {1, 2, 2, 2};
  EXPECT_FALSE(ArgmaxMask(*TensorView::Make(DType::kF32, d, p.data()), SegLayout::kNCHW).ok());
  const int64_t batch2[] = {2, 1, 2, 2};
  p.assign(8, 0.0f);
  auto r = ArgmaxMask(*TensorView::Make(DType::kF32, batch2, p.data()), SegLayout::kNCHW);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2x1x2x2"), std::string::npos);
  const int64_t rank2[] = {2, 4};
  EXPECT_FALSE(ArgmaxMask(*TensorView::Make(DType::kF32, rank2, p.data()), SegLayout::kNCHW).ok());
}

}  // namespace
}  // namespace edgerun::postprocess
