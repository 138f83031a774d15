// YOLOv5 / YOLOv8 head decoding on synthetic heads with known boxes, duplicates and classes.
#include "edgerun/postprocess/yolo.h"

#include <gtest/gtest.h>

#include <limits>

namespace edgerun::postprocess {
namespace {

struct Cand {
  float cx, cy, w, h, obj;
  int cls;
  float cls_score;
};

// Builds a v5 head [1, N, 5 + C] or a v8 head [1, 4 + C, N] holding the candidates.
std::vector<float> MakeHead(const std::vector<Cand>& cands, int classes, bool v8) {
  const int n = static_cast<int>(cands.size());
  const int vals = (v8 ? 4 : 5) + classes;
  std::vector<float> head(static_cast<size_t>(n) * vals, 0.01f);
  for (int i = 0; i < n; ++i) {
    const Cand& c = cands[i];
    const float v[5] = {c.cx, c.cy, c.w, c.h, c.obj};
    for (int k = 0; k < (v8 ? 4 : 5); ++k) (v8 ? head[k * n + i] : head[i * vals + k]) = v[k];
    const int k = (v8 ? 4 : 5) + c.cls;
    (v8 ? head[k * n + i] : head[i * vals + k]) = c.cls_score;
  }
  return head;
}

const std::vector<Cand> kCands = {
    {100, 100, 50, 40, 0.9f, 2, 0.95f},  // object A
    {102, 101, 52, 40, 0.8f, 2, 0.90f},  // duplicate of A (suppressed)
    {101, 99, 50, 42, 0.9f, 1, 0.90f},   // same place, other class (kept unless agnostic)
    {300, 200, 80, 60, 0.7f, 0, 0.80f},  // object B
    {500, 400, 30, 30, 0.2f, 0, 0.99f},  // low objectness (v5 drops it)
    {600, 100, 30, 30, 0.9f, 3, 0.10f},  // low class score
};

TEST(YoloTest, DecodesV5Head) {
  std::vector<float> head = MakeHead(kCands, 4, false);
  const int64_t dims[] = {1, 6, 9};
  auto view = TensorView::Make(DType::kF32, dims, head.data());
  ASSERT_TRUE(view.ok());
  NmsWorkspace ws;
  auto dets = DecodeYolo(*view, {.version = YoloVersion::kV5}, ws);
  ASSERT_TRUE(dets.ok()) << dets.status().message();
  ASSERT_EQ(dets->size(), 3u);
  EXPECT_EQ((*dets)[0].class_id, 2);
  EXPECT_FLOAT_EQ((*dets)[0].score, 0.9f * 0.95f);
  EXPECT_FLOAT_EQ((*dets)[0].box.x1, 75);
  EXPECT_FLOAT_EQ((*dets)[0].box.y2, 120);
  EXPECT_EQ((*dets)[1].class_id, 1);
  EXPECT_EQ((*dets)[2].class_id, 0);
  auto agnostic = DecodeYolo(*view, {.version = YoloVersion::kV5, .class_agnostic = true}, ws);
  ASSERT_TRUE(agnostic.ok());
  EXPECT_EQ(agnostic->size(), 2u);
}

TEST(YoloTest, DecodesV8TransposedHead) {
  std::vector<float> head = MakeHead(kCands, 4, true);
  const int64_t dims[] = {1, 8, 6};
  auto view = TensorView::Make(DType::kF32, dims, head.data());
  ASSERT_TRUE(view.ok());
  NmsWorkspace ws;
  auto dets = DecodeYolo(*view, {.version = YoloVersion::kV8}, ws);
  ASSERT_TRUE(dets.ok()) << dets.status().message();
  // No objectness: the candidate at (500, 400) now counts (score 0.99) and comes first.
  ASSERT_EQ(dets->size(), 4u);
  EXPECT_FLOAT_EQ((*dets)[0].score, 0.99f);
  EXPECT_FLOAT_EQ((*dets)[0].box.x1, 485);
  EXPECT_EQ((*dets)[1].class_id, 2);
  // Multi-label: an anchor above threshold in two classes yields two candidates.
  head[(4 + 0) * 6 + 3] = 0.8f;  // B: class 0 at 0.8 (already)
  head[(4 + 1) * 6 + 3] = 0.7f;  // B: also class 1
  auto multi = DecodeYolo(*view, {.version = YoloVersion::kV8, .multi_label = true}, ws);
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->size(), 5u);
}

TEST(YoloTest, WrongShapesAndNaNAreErrors) {
  std::vector<float> data(64, 0.5f);
  NmsWorkspace ws;
  const int64_t rank4[] = {1, 1, 4, 16};
  auto v = TensorView::Make(DType::kF32, rank4, data.data());
  auto r = DecodeYolo(*v, {}, ws);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1x1x4x16"), std::string::npos);
  const int64_t too_few[] = {1, 16, 4};  // v5 needs > 5 values per row
  v = TensorView::Make(DType::kF32, too_few, data.data());
  EXPECT_FALSE(DecodeYolo(*v, {}, ws).ok());
  const int64_t batch2[] = {2, 4, 8};
  v = TensorView::Make(DType::kF32, batch2, data.data());
  EXPECT_FALSE(DecodeYolo(*v, {}, ws).ok());
  const int64_t ok[] = {1, 8, 8};
  data[4] = std::numeric_limits<float>::quiet_NaN();  // objectness of anchor 0
  v = TensorView::Make(DType::kF32, ok, data.data());
  r = DecodeYolo(*v, {}, ws);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("NaN"), std::string::npos);
  v = TensorView::Make(DType::kU8, ok, data.data());
  EXPECT_FALSE(DecodeYolo(*v, {}, ws).ok());
}

}  // namespace
}  // namespace edgerun::postprocess
