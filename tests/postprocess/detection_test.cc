// Mapping boxes and keypoints back through letterbox / crop transforms, with clipping.
#include "edgerun/postprocess/detection.h"

#include <gtest/gtest.h>

namespace edgerun::postprocess {
namespace {

TEST(MapToSourceTest, UndoesLetterboxAndCrop) {
  // Source 1920x1080, crop x >= 160 (a 1600x1080 region), letterbox into 640x640:
  // scale 0.4, padded 424 rows -> offset y (640 - 432) / 2 = 104.
  const AxisTransform crop{1, 1, -160, 0};
  const AxisTransform letterbox{0.4f, 0.4f, 0, 104};
  const AxisTransform t = crop.Then(letterbox);
  const Box in_source{400, 300, 800, 700};
  Detection d;
  d.box = t.Map(in_source);
  d.keypoints = {t.Map(Point{500, 400})};
  EXPECT_FLOAT_EQ(d.box.x1, (400 - 160) * 0.4f);
  EXPECT_FLOAT_EQ(d.box.y1, 300 * 0.4f + 104);
  std::vector<Detection> dets = {d};
  MapToSource(dets, t, 1920, 1080);
  EXPECT_NEAR(dets[0].box.x1, 400, 1e-3);
  EXPECT_NEAR(dets[0].box.y1, 300, 1e-3);
  EXPECT_NEAR(dets[0].box.x2, 800, 1e-3);
  EXPECT_NEAR(dets[0].box.y2, 700, 1e-3);
  EXPECT_NEAR(dets[0].keypoints[0].x, 500, 1e-3);
  EXPECT_NEAR(dets[0].keypoints[0].y, 400, 1e-3);
}

TEST(MapToSourceTest, ClipsToImageAndMapsNormalized) {
  // A box partly in the letterbox padding maps outside the source; it is clipped.
  const AxisTransform letterbox{0.5f, 0.5f, 0,
                                80};  // 1280x960 -> 640x480 placed at y 80 in 640x640
  std::vector<Detection> dets(1);
  dets[0].box = {-10, 40, 700, 600};
  dets[0].keypoints = {{-5, 10}};
  MapToSource(dets, letterbox, 1280, 960);
  EXPECT_EQ(dets[0].box.x1, 0);
  EXPECT_EQ(dets[0].box.y1, 0);
  EXPECT_EQ(dets[0].box.x2, 1280);
  EXPECT_EQ(dets[0].box.y2, 960);
  EXPECT_EQ(dets[0].keypoints[0].x, 0);
  EXPECT_EQ(dets[0].keypoints[0].y, 0);
  // SSD-style normalized output through a 2x downscale to a 128x128 tensor.
  const AxisTransform to_tensor{0.5f, 0.5f, 0, 0};
  std::vector<Detection> faces(1);
  faces[0].box = {0.25f, 0.5f, 0.5f, 0.75f};
  MapToSource(faces, to_tensor.Then(PixelsToNormalized(128, 128)), 256, 256);
  EXPECT_NEAR(faces[0].box.x1, 64, 1e-4);
  EXPECT_NEAR(faces[0].box.y1, 128, 1e-4);
  EXPECT_NEAR(faces[0].box.x2, 128, 1e-4);
  EXPECT_NEAR(faces[0].box.y2, 192, 1e-4);
}

}  // namespace
}  // namespace edgerun::postprocess
