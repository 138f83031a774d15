// Detections as decoders return them, and mapping them back to source-image pixels.
//
// Decoders work in model-input coordinates (pixels of the tensor, or normalized [0, 1] for SSD);
// the preprocessor records the source -> tensor AxisTransform (crop, resize, letterbox), and
// MapToSource applies its inverse, then clips to the source image.
//   std::vector<Detection> dets = DecodeYolo(...);
//   MapToSource(dets, preprocessor.transform(), frame_width, frame_height);
//   for (const Detection& d : dets) Draw(d.box);
#pragma once

#include <span>
#include <vector>

#include "edgerun/vision/geometry.h"

namespace edgerun::postprocess {

using vision::AxisTransform;
using vision::Box;
using vision::Point;

struct Detection {
  Box box;
  float score = 0;
  int class_id = 0;
  std::vector<Point> keypoints;  // empty unless the decoder has keypoints (e.g. BlazeFace: 6)
};

// Clamps a box to [0, width] x [0, height] (corner form; a box fully outside becomes empty).
Box ClipBox(const Box& b, float width, float height);
Point ClipPoint(Point p, float width, float height);

// Maps boxes and keypoints from tensor coordinates to the source image through the inverse of
// `source_to_tensor`, then clips them to the source image (width x height pixels).
void MapToSource(std::span<Detection> detections, const AxisTransform& source_to_tensor,
                 float width, float height);

// Tensor pixels -> normalized [0, 1] coordinates. SSD decoders output normalized boxes; map them
// with MapToSource(dets, pre.transform().Then(PixelsToNormalized(128, 128)), w, h).
AxisTransform PixelsToNormalized(float tensor_width, float tensor_height);

}  // namespace edgerun::postprocess
