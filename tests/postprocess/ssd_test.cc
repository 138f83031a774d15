// SSD anchors for MediaPipe's BlazeFace short-range options, and decode + weighted NMS on
// BlazeFace-style outputs made by encoding known faces (box + 6 keypoints) against the anchors,
// with noise and neighbouring-anchor duplicates, as the model emits them.
#include "edgerun/postprocess/ssd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "edgerun/postprocess/nms.h"

namespace edgerun::postprocess {
namespace {

TEST(SsdAnchorsTest, BlazeFaceShortRangeGives896GoldenAnchors) {
  auto anchors = GenerateSsdAnchors(BlazeFaceShortRangeAnchors());
  ASSERT_TRUE(anchors.ok()) << anchors.status().message();
  ASSERT_EQ(anchors->size(), 896u);  // 16x16x2 (stride 8) + 8x8x6 (three stride-16 layers)
  // Stride 8: two anchors per cell, centres at (x + 0.5) / 16.
  EXPECT_FLOAT_EQ((*anchors)[0].x_center, 0.5f / 16);
  EXPECT_FLOAT_EQ((*anchors)[0].y_center, 0.5f / 16);
  EXPECT_FLOAT_EQ((*anchors)[1].x_center, 0.5f / 16);
  EXPECT_FLOAT_EQ((*anchors)[2].x_center, 1.5f / 16);
  EXPECT_FLOAT_EQ((*anchors)[511].x_center, 15.5f / 16);
  EXPECT_FLOAT_EQ((*anchors)[511].y_center, 15.5f / 16);
  // Stride 16: six anchors per cell, centres at (x + 0.5) / 8.
  for (int k = 512; k < 518; ++k) {
    EXPECT_FLOAT_EQ((*anchors)[k].x_center, 0.5f / 8);
    EXPECT_FLOAT_EQ((*anchors)[k].y_center, 0.5f / 8);
  }
  EXPECT_FLOAT_EQ((*anchors)[518].x_center, 1.5f / 8);
  EXPECT_FLOAT_EQ((*anchors)[895].y_center, 7.5f / 8);
  for (const Anchor& a : *anchors) {
    EXPECT_EQ(a.width, 1.0f);
    EXPECT_EQ(a.height, 1.0f);
  }
}

TEST(SsdAnchorsTest, NonFixedSizesFollowScalesAndRatios) {
  SsdAnchorOptions o;
  o.fixed_anchor_size = false;
  o.num_layers = 2;
  o.strides = {8, 16};
  o.min_scale = 0.2f;
  o.max_scale = 0.6f;
  o.aspect_ratios = {1.0f, 2.0f};
  o.input_width = o.input_height = 64;
  auto anchors = GenerateSsdAnchors(o);
  ASSERT_TRUE(anchors.ok());
  ASSERT_EQ(anchors->size(), 8u * 8 * 3 + 4u * 4 * 3);
  // Layer 0: scale 0.2; ratio 2 -> w = 0.2 * sqrt 2, h = 0.2 / sqrt 2; interpolated sqrt(0.2*0.6).
  EXPECT_FLOAT_EQ((*anchors)[0].width, 0.2f);
  EXPECT_NEAR((*anchors)[1].width, 0.2f * std::sqrt(2.0f), 1e-6);
  EXPECT_NEAR((*anchors)[1].height, 0.2f / std::sqrt(2.0f), 1e-6);
  EXPECT_NEAR((*anchors)[2].width, std::sqrt(0.2f * 0.6f), 1e-6);
  // Last layer: interpolated with next scale 1.
  EXPECT_NEAR(anchors->back().width, std::sqrt(0.6f), 1e-6);
  o.strides = {8};
  EXPECT_FALSE(GenerateSsdAnchors(o).ok());
}

struct Face {
  float cx, cy, w, h;  // normalized
  Point kps[6];
};

// Encodes faces into raw BlazeFace outputs: every anchor whose centre lies near a face centre
// predicts it (with noise), the rest predict background.
void Encode(const std::vector<Face>& faces, const std::vector<Anchor>& anchors,
            std::vector<float>& boxes, std::vector<float>& scores, std::mt19937& rng) {
  std::normal_distribution<float> noise(0.0f, 0.4f);  // in 1/128 units: < 0.5 pixel
  boxes.assign(anchors.size() * 16, 0.0f);
  scores.assign(anchors.size(), -8.0f);
  for (size_t i = 0; i < anchors.size(); ++i) {
    const Anchor& a = anchors[i];
    for (const Face& f : faces) {
      if (std::abs(a.x_center - f.cx) > 0.07f || std::abs(a.y_center - f.cy) > 0.07f) continue;
      float* b = &boxes[i * 16];
      b[0] = (f.cx - a.x_center) * 128 + noise(rng);
      b[1] = (f.cy - a.y_center) * 128 + noise(rng);
      b[2] = f.w * 128 + noise(rng);
      b[3] = f.h * 128 + noise(rng);
      for (int k = 0; k < 6; ++k) {
        b[4 + 2 * k] = (f.kps[k].x - a.x_center) * 128 + noise(rng);
        b[5 + 2 * k] = (f.kps[k].y - a.y_center) * 128 + noise(rng);
      }
      scores[i] = 2.0f + std::abs(noise(rng));
    }
  }
}

TEST(SsdDecodeTest, RecoversEncodedFacesWithKeypoints) {
  auto anchors = GenerateSsdAnchors(BlazeFaceShortRangeAnchors());
  ASSERT_TRUE(anchors.ok());
  std::vector<Face> faces = {{0.30f,
                              0.35f,
                              0.20f,
                              0.24f,
                              {{0.25f, 0.30f},
                               {0.35f, 0.30f},
                               {0.30f, 0.36f},
                               {0.30f, 0.41f},
                               {0.21f, 0.32f},
                               {0.39f, 0.32f}}},
                             {0.72f,
                              0.62f,
                              0.30f,
                              0.34f,
                              {{0.65f, 0.55f},
                               {0.79f, 0.55f},
                               {0.72f, 0.63f},
                               {0.72f, 0.70f},
                               {0.59f, 0.58f},
                               {0.85f, 0.58f}}}};
  std::mt19937 rng(5);
  std::vector<float> raw_boxes, raw_scores;
  Encode(faces, *anchors, raw_boxes, raw_scores, rng);
  auto dets = DecodeSsd(raw_boxes, raw_scores, *anchors, BlazeFaceDecode());
  ASSERT_TRUE(dets.ok()) << dets.status().message();
  EXPECT_GT(dets->size(), 4u);  // several anchors fire per face
  const std::vector<Detection> merged = WeightedNms(*dets, {.iou_threshold = 0.3f});
  ASSERT_EQ(merged.size(), 2u);
  for (const Face& f : faces) {
    bool found = false;
    for (const Detection& d : merged) {
      const float cx = (d.box.x1 + d.box.x2) / 2, cy = (d.box.y1 + d.box.y2) / 2;
      if (std::abs(cx - f.cx) > 0.01f || std::abs(cy - f.cy) > 0.01f) continue;
      found = true;
      EXPECT_NEAR(d.box.Width(), f.w, 0.01f);
      EXPECT_NEAR(d.box.Height(), f.h, 0.01f);
      EXPECT_GT(d.score, 0.85f);
      ASSERT_EQ(d.keypoints.size(), 6u);
      for (int k = 0; k < 6; ++k) {
        EXPECT_NEAR(d.keypoints[k].x, f.kps[k].x, 0.01f);
        EXPECT_NEAR(d.keypoints[k].y, f.kps[k].y, 0.01f);
      }
    }
    EXPECT_TRUE(found) << "face at " << f.cx << "," << f.cy;
  }
  // Hard NMS on the same detections also leaves one per face.
  std::vector<Box> boxes;
  std::vector<float> scores;
  for (const Detection& d : *dets) boxes.push_back(d.box), scores.push_back(d.score);
  NmsWorkspace ws;
  auto keep = Nms(boxes, scores, {.score_threshold = 0.5f, .iou_threshold = 0.3f}, ws);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->size(), 2u);
}

TEST(SsdDecodeTest, BadInputIsAnError) {
  auto anchors = GenerateSsdAnchors(BlazeFaceShortRangeAnchors());
  ASSERT_TRUE(anchors.ok());
  std::vector<float> boxes(896 * 16, 0.0f), scores(896, 0.0f);
  std::vector<float> short_boxes(896 * 15);
  auto r = DecodeSsd(short_boxes, scores, *anchors, BlazeFaceDecode());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("raw_boxes has"), std::string::npos);
  EXPECT_FALSE(DecodeSsd(boxes, std::vector<float>(895), *anchors, BlazeFaceDecode()).ok());
  scores[17] = std::numeric_limits<float>::quiet_NaN();
  r = DecodeSsd(boxes, scores, *anchors, BlazeFaceDecode());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("anchor 17 is NaN"), std::string::npos);
  SsdDecodeOptions bad = BlazeFaceDecode();
  bad.num_keypoints = 7;  // 4 + 7 * 2 > 16
  EXPECT_FALSE(DecodeSsd(boxes, std::vector<float>(896), *anchors, bad).ok());
}

}  // namespace
}  // namespace edgerun::postprocess
