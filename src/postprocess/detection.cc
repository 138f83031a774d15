#include "edgerun/postprocess/detection.h"

#include <algorithm>

namespace edgerun::postprocess {

Box ClipBox(const Box& b, float width, float height) {
  return {std::clamp(b.x1, 0.0f, width), std::clamp(b.y1, 0.0f, height),
          std::clamp(b.x2, 0.0f, width), std::clamp(b.y2, 0.0f, height)};
}

Point ClipPoint(Point p, float width, float height) {
  return {std::clamp(p.x, 0.0f, width), std::clamp(p.y, 0.0f, height)};
}

void MapToSource(std::span<Detection> detections, const AxisTransform& source_to_tensor,
                 float width, float height) {
  for (Detection& d : detections) {
    d.box = ClipBox(source_to_tensor.InverseMap(d.box), width, height);
    for (Point& p : d.keypoints) p = ClipPoint(source_to_tensor.InverseMap(p), width, height);
  }
}

AxisTransform PixelsToNormalized(float tensor_width, float tensor_height) {
  return {1.0f / tensor_width, 1.0f / tensor_height, 0.0f, 0.0f};
}

}  // namespace edgerun::postprocess
