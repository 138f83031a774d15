// NMS against OpenCV 4.6 (cv::dnn::NMSBoxes on Rect2d, cv::dnn::softNMSBoxes on Rect) as the
// oracle: identical keep sets, same order, on random sets with ties, duplicates and degenerate
// boxes; class-aware and batched NMS against per-group OpenCV runs merged by score.
#include "edgerun/postprocess/nms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <opencv2/dnn.hpp>

namespace edgerun::postprocess {
namespace {

struct BoxSet {
  std::vector<Box> boxes;
  std::vector<float> scores;
};

struct GenOptions {
  float extent = 640;
  float min_side = 4;
  float max_side = 120;
  int score_levels = 0;     // > 0: scores quantized to this many levels (many ties)
  double degenerate = 0.0;  // fraction of zero-area or inverted boxes
  double duplicates = 0.0;  // fraction that copy an earlier box (and often its score)
  bool integer = false;     // integer coordinates (for the cv::Rect soft-NMS oracle)
};

BoxSet MakeBoxes(size_t n, const GenOptions& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(0, g.extent), side(g.min_side, g.max_side), unit(0, 1);
  BoxSet s;
  for (size_t i = 0; i < n; ++i) {
    float score = unit(rng);
    if (g.score_levels > 0) score = std::floor(score * g.score_levels) / g.score_levels;
    Box b;
    if (i > 0 && unit(rng) < g.duplicates) {
      const size_t j = std::uniform_int_distribution<size_t>(0, i - 1)(rng);
      b = s.boxes[j];
      if (unit(rng) < 0.5f) score = s.scores[j];
    } else {
      b.x1 = pos(rng) - 50;  // some negative coordinates
      b.y1 = pos(rng) - 50;
      b.x2 = b.x1 + side(rng);
      b.y2 = b.y1 + side(rng) * (0.5f + unit(rng));
      if (unit(rng) < g.degenerate) {
        switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
          case 0:
            b.x2 = b.x1;
            break;  // zero width
          case 1:
            b.y2 = b.y1;
            break;  // zero height
          case 2:
            std::swap(b.x1, b.x2);
            break;  // inverted x: negative area
          default:
            std::swap(b.x1, b.x2), std::swap(b.y1, b.y2);  // inverted both: positive area
        }
      }
    }
    if (g.integer) {
      b = {std::round(b.x1), std::round(b.y1), std::round(b.x2), std::round(b.y2)};
    }
    s.boxes.push_back(b);
    s.scores.push_back(score);
  }
  return s;
}

std::vector<cv::Rect2d> ToRect2d(const std::vector<Box>& boxes) {
  std::vector<cv::Rect2d> r;
  for (const Box& b : boxes) {
    r.emplace_back(b.x1, b.y1, static_cast<double>(b.x2) - b.x1, static_cast<double>(b.y2) - b.y1);
  }
  return r;
}

std::vector<int> OpenCvNms(const BoxSet& s, const NmsOptions& o) {
  std::vector<int> keep;
  cv::dnn::NMSBoxes(ToRect2d(s.boxes), s.scores, o.score_threshold, o.iou_threshold, keep, o.eta,
                    o.top_k);
  if (o.max_detections > 0 && keep.size() > static_cast<size_t>(o.max_detections)) {
    keep.resize(o.max_detections);
  }
  return keep;
}

std::vector<int> Edgerun(const BoxSet& s, const NmsOptions& o, NmsWorkspace& ws) {
  auto keep = Nms(s.boxes, s.scores, o, ws);
  EXPECT_TRUE(keep.ok()) << keep.status().message();
  return keep.ok() ? std::vector<int>(keep->begin(), keep->end()) : std::vector<int>{};
}

TEST(NmsTest, MatchesOpenCvOnRandomSets) {
  NmsWorkspace ws;
  const size_t sizes[] = {10, 37, 100, 1000, 5000};
  uint32_t seed = 1;
  for (size_t n : sizes) {
    for (int variant = 0; variant < 6; ++variant) {
      GenOptions g;
      NmsOptions o;
      switch (variant) {
        case 0:
          break;
        case 1:
          g.score_levels = 8;
          o.score_threshold = 0.25f;
          break;  // heavy ties, on threshold
        case 2:
          g.degenerate = 0.3;
          break;
        case 3:
          g.duplicates = 0.3;
          g.score_levels = 20;
          o.iou_threshold = 0.0f;
          break;
        case 4:
          o.eta = 0.9f;
          o.iou_threshold = 0.7f;
          o.top_k = static_cast<int>(n / 2);
          break;
        case 5:
          g.max_side = 400;
          g.degenerate = 0.1;
          o.max_detections = 7;
          o.score_threshold = 0;
          break;
      }
      const BoxSet s = MakeBoxes(n, g, seed++);
      const std::vector<int> want = OpenCvNms(s, o);
      EXPECT_EQ(Edgerun(s, o, ws), want) << "n=" << n << " variant=" << variant;
      if (variant == 0) {
        EXPECT_GT(want.size(), 1u);
      }
    }
  }
}

TEST(NmsTest, MatchesOpenCvOnTenThousandAndHundredThousandBoxes) {
  NmsWorkspace ws(100000);
  // 10k sparse boxes (the benchmark's case (c)); 100k dense boxes, so OpenCV's O(N * kept) stays
  // fast enough for a test, with ties and degenerate boxes mixed in.
  GenOptions sparse;
  sparse.extent = 1920;
  sparse.min_side = 8;
  sparse.max_side = 64;
  const BoxSet a = MakeBoxes(10000, sparse, 42);
  NmsOptions o;
  EXPECT_EQ(Edgerun(a, o, ws), OpenCvNms(a, o));

  GenOptions dense;
  dense.extent = 640;
  dense.min_side = 60;
  dense.max_side = 200;
  dense.score_levels = 1000;
  dense.degenerate = 0.01;
  const BoxSet b = MakeBoxes(100000, dense, 43);
  const std::vector<int> want = OpenCvNms(b, o);
  EXPECT_EQ(Edgerun(b, o, ws), want);
  EXPECT_GT(want.size(), 10u);
}

TEST(NmsTest, OverlapMatchesOpenCvJaccard) {
  const BoxSet s = MakeBoxes(400, {.degenerate = 0.3}, 7);
  const std::vector<cv::Rect2d> r = ToRect2d(s.boxes);
  for (size_t i = 0; i + 1 < s.boxes.size(); ++i) {
    const float want = 1.f - static_cast<float>(cv::jaccardDistance(r[i], r[i + 1]));
    EXPECT_EQ(NmsOverlap(s.boxes[i], s.boxes[i + 1]), want) << i;
  }
}

TEST(NmsTest, DegenerateBoxesSuppressEachOtherAnywhere) {
  // OpenCV treats two boxes whose areas sum to <= epsilon as identical (overlap 1).
  const std::vector<Box> boxes = {{0, 0, 0, 10}, {500, 500, 500, 500}, {0, 0, 10, 10}};
  const std::vector<float> scores = {0.9f, 0.8f, 0.7f};
  NmsWorkspace ws;
  auto keep = Nms(boxes, scores, {}, ws);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(std::vector<int>(keep->begin(), keep->end()), (std::vector<int>{0, 2}));
}

// Reference for class-aware / batched: OpenCV per group, merged by (score desc, index asc).
std::vector<int> GroupedReference(const BoxSet& s, const std::vector<int>& group,
                                  const NmsOptions& o) {
  std::vector<int> merged;
  const int num_groups = *std::max_element(group.begin(), group.end()) + 1;
  for (int g = 0; g < num_groups; ++g) {
    BoxSet sub;
    std::vector<int> map;
    for (size_t i = 0; i < s.boxes.size(); ++i) {
      if (group[i] == g) {
        sub.boxes.push_back(s.boxes[i]);
        sub.scores.push_back(s.scores[i]);
        map.push_back(static_cast<int>(i));
      }
    }
    NmsOptions no_limit = o;
    no_limit.max_detections = 0;
    for (int k : OpenCvNms(sub, no_limit)) merged.push_back(map[k]);
  }
  std::sort(merged.begin(), merged.end(), [&](int a, int b) {
    return s.scores[a] != s.scores[b] ? s.scores[a] > s.scores[b] : a < b;
  });
  return merged;
}

TEST(NmsTest, ClassAwareMatchesPerClassOpenCv) {
  NmsWorkspace ws;
  for (uint32_t seed = 0; seed < 6; ++seed) {
    const BoxSet s =
        MakeBoxes(2000, {.score_levels = 50, .degenerate = 0.05, .duplicates = 0.1}, 100 + seed);
    std::mt19937 rng(seed);
    std::vector<int32_t> cls(s.boxes.size());
    for (auto& c : cls) c = std::uniform_int_distribution<int>(0, 4)(rng);
    NmsOptions o;
    o.max_detections = seed % 2 ? 25 : 0;
    std::vector<int> want = GroupedReference(s, std::vector<int>(cls.begin(), cls.end()), o);
    if (o.max_detections > 0) want.resize(std::min<size_t>(want.size(), o.max_detections));
    auto keep = NmsPerClass(s.boxes, s.scores, cls, o, ws);
    ASSERT_TRUE(keep.ok()) << keep.status().message();
    EXPECT_EQ(std::vector<int>(keep->begin(), keep->end()), want) << seed;
  }
}

TEST(NmsTest, BatchedMatchesPerImagePerClassOpenCv) {
  NmsWorkspace ws;
  const BoxSet s = MakeBoxes(3000, {.score_levels = 30, .duplicates = 0.1}, 9);
  std::mt19937 rng(3);
  std::vector<int32_t> batch(s.boxes.size()), cls(s.boxes.size());
  for (size_t i = 0; i < s.boxes.size(); ++i) {
    batch[i] = std::uniform_int_distribution<int>(0, 2)(rng);
    cls[i] = std::uniform_int_distribution<int>(0, 3)(rng);
  }
  NmsOptions o;
  o.max_detections = 40;
  std::vector<int> want;
  for (int b = 0; b < 3; ++b) {
    BoxSet img;
    std::vector<int> map, img_cls;
    for (size_t i = 0; i < s.boxes.size(); ++i) {
      if (batch[i] != b) continue;
      img.boxes.push_back(s.boxes[i]);
      img.scores.push_back(s.scores[i]);
      img_cls.push_back(cls[i]);
      map.push_back(static_cast<int>(i));
    }
    std::vector<int> per = GroupedReference(img, img_cls, o);
    per.resize(std::min<size_t>(per.size(), o.max_detections));
    for (int k : per) want.push_back(map[k]);
  }
  auto keep = BatchedNms(s.boxes, s.scores, batch, cls, o, ws);
  ASSERT_TRUE(keep.ok()) << keep.status().message();
  EXPECT_EQ(std::vector<int>(keep->begin(), keep->end()), want);
  // Class-agnostic per image.
  want.clear();
  for (int b = 0; b < 3; ++b) {
    BoxSet img;
    std::vector<int> map;
    for (size_t i = 0; i < s.boxes.size(); ++i) {
      if (batch[i] != b) continue;
      img.boxes.push_back(s.boxes[i]);
      img.scores.push_back(s.scores[i]);
      map.push_back(static_cast<int>(i));
    }
    for (int k : OpenCvNms(img, o)) want.push_back(map[k]);
  }
  keep = BatchedNms(s.boxes, s.scores, batch, {}, o, ws);
  ASSERT_TRUE(keep.ok()) << keep.status().message();
  EXPECT_EQ(std::vector<int>(keep->begin(), keep->end()), want);
}

TEST(NmsTest, SoftNmsMatchesOpenCv) {
  NmsWorkspace ws;
  uint32_t seed = 200;
  for (SoftNmsMethod method : {SoftNmsMethod::kLinear, SoftNmsMethod::kGaussian}) {
    for (size_t n : {10, 100, 600}) {
      GenOptions g{.extent = 300,
                   .score_levels = 40,
                   .degenerate = 0.05,
                   .duplicates = 0.1,
                   .integer = true};
      const BoxSet s = MakeBoxes(n, g, seed++);
      SoftNmsOptions o;
      o.method = method;
      o.score_threshold = 0.05f;
      o.iou_threshold = 0.3f;
      o.sigma = 0.5f;
      o.max_detections = n == 100 ? 20 : 0;
      std::vector<cv::Rect> rects;
      for (const Box& b : s.boxes) {
        rects.emplace_back(static_cast<int>(b.x1), static_cast<int>(b.y1),
                           static_cast<int>(b.x2 - b.x1), static_cast<int>(b.y2 - b.y1));
      }
      std::vector<int> want;
      std::vector<float> want_scores;
      cv::dnn::softNMSBoxes(rects, s.scores, want_scores, o.score_threshold, o.iou_threshold, want,
                            o.max_detections, o.sigma,
                            method == SoftNmsMethod::kLinear
                                ? cv::dnn::SoftNMSMethod::SOFTNMS_LINEAR
                                : cv::dnn::SoftNMSMethod::SOFTNMS_GAUSSIAN);
      auto got = SoftNms(s.boxes, s.scores, o, ws);
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_EQ(std::vector<int>(got->indices.begin(), got->indices.end()), want) << n;
      EXPECT_EQ(std::vector<float>(got->scores.begin(), got->scores.end()), want_scores) << n;
      EXPECT_GT(want.size(), 1u);
    }
  }
}

TEST(NmsTest, EmptyInputGivesEmptyResult) {
  NmsWorkspace ws;
  auto keep = Nms({}, {}, {}, ws);
  ASSERT_TRUE(keep.ok());
  EXPECT_TRUE(keep->empty());
  const std::vector<Box> boxes = {{0, 0, 1, 1}};
  const std::vector<float> low = {0.1f};
  keep = Nms(boxes, low, {}, ws);  // below the score threshold
  ASSERT_TRUE(keep.ok());
  EXPECT_TRUE(keep->empty());
}

TEST(NmsTest, BadInputIsAnError) {
  NmsWorkspace ws;
  const std::vector<Box> boxes = {{0, 0, 1, 1}, {2, 2, 3, 3}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> one = {0.5f};
  const std::vector<float> with_nan = {0.5f, nan};
  auto r = Nms(boxes, one, {}, ws);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("boxes has 2 entries but scores has 1"), std::string::npos);
  r = Nms(boxes, with_nan, {}, ws);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("score 1 is NaN"), std::string::npos);
  const std::vector<Box> inf_box = {{0, 0, 1, 1},
                                    {0, 0, std::numeric_limits<float>::infinity(), 1}};
  const std::vector<float> two = {0.5f, 0.6f};
  EXPECT_FALSE(Nms(inf_box, two, {}, ws).ok());
  EXPECT_FALSE(Nms(boxes, two, {.iou_threshold = -0.1f}, ws).ok());
  EXPECT_FALSE(Nms(boxes, two, {.eta = 0.0f}, ws).ok());
  const std::vector<int32_t> one_class = {0};
  EXPECT_FALSE(NmsPerClass(boxes, two, one_class, {}, ws).ok());
  const std::vector<int32_t> negative_class = {0, -1};
  EXPECT_FALSE(NmsPerClass(boxes, two, negative_class, {}, ws).ok());
  EXPECT_FALSE(BatchedNms(boxes, two, one_class, {}, {}, ws).ok());
  EXPECT_FALSE(SoftNms(boxes, with_nan, {}, ws).ok());
  EXPECT_FALSE(SoftNms(boxes, two, {.sigma = 0.0f}, ws).ok());
}

TEST(NmsTest, WorkspaceIsReusedWithoutGrowing) {
  NmsWorkspace ws(5000);
  const BoxSet s = MakeBoxes(5000, {}, 77);
  const int32_t* before = ws.keep_.data();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Nms(s.boxes, s.scores, {}, ws).ok());
  EXPECT_EQ(ws.capacity(), 5000u);
  EXPECT_EQ(ws.keep_.data(), before);
}

}  // namespace
}  // namespace edgerun::postprocess
