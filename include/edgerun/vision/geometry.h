// Geometry shared by preprocessing and postprocessing: boxes, points, and the axis-aligned
// transform that preprocessing records (crop, resize, letterbox) so that postprocessing can map
// model-space boxes and keypoints back to source-image pixels.
//
//   AxisTransform t = spec_result.transform;          // source -> tensor coordinates
//   Box in_source = t.InverseMap(box_in_tensor);        // tensor -> source coordinates
//   Point p = t.Map({x, y});
#pragma once

namespace edgerun::vision {

struct Point {
  float x = 0;
  float y = 0;
};

// Corner form, pixel units, x1 <= x2 and y1 <= y2 for a valid box.
struct Box {
  float x1 = 0;
  float y1 = 0;
  float x2 = 0;
  float y2 = 0;
  float Width() const { return x2 - x1; }
  float Height() const { return y2 - y1; }
  float Area() const { return (x2 > x1 && y2 > y1) ? (x2 - x1) * (y2 - y1) : 0.0f; }
};

// tensor = source * scale + offset, per axis. Crop, resize and letterbox compose into one of these.
struct AxisTransform {
  float scale_x = 1;
  float scale_y = 1;
  float offset_x = 0;
  float offset_y = 0;

  Point Map(Point p) const { return {p.x * scale_x + offset_x, p.y * scale_y + offset_y}; }
  Point InverseMap(Point p) const {
    return {(p.x - offset_x) / scale_x, (p.y - offset_y) / scale_y};
  }
  Box Map(const Box& b) const {
    const Point a = Map(Point{b.x1, b.y1});
    const Point c = Map(Point{b.x2, b.y2});
    return {a.x, a.y, c.x, c.y};
  }
  Box InverseMap(const Box& b) const {
    const Point a = InverseMap(Point{b.x1, b.y1});
    const Point c = InverseMap(Point{b.x2, b.y2});
    return {a.x, a.y, c.x, c.y};
  }
  // Applies `next` after this one.
  AxisTransform Then(const AxisTransform& next) const {
    return {scale_x * next.scale_x, scale_y * next.scale_y, offset_x * next.scale_x + next.offset_x,
            offset_y * next.scale_y + next.offset_y};
  }
};

}  // namespace edgerun::vision
