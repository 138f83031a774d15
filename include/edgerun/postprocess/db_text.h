// DB text detection postprocess (PaddleOCR's DBPostProcess): probability map -> text boxes.
//
// Threshold the map (> thresh), label 8-connected regions, and per region take the minimum-area
// rotated rectangle of its convex hull (rotating calipers). Keep it if its short side >= min_size
// and its score (mean probability inside the rectangle) >= box_thresh, then "unclip": grow it by
// d = area * unclip_ratio / perimeter on every side, drop it if the short side < min_size + 2,
// and scale it to the source image.
// Differences from PaddleOCR, by design: regions are 8-connected components, so holes inside a
// region (cv2.RETR_LIST's inner contours) give no extra candidates (their low score drops them
// in PaddleOCR anyway); the unclip offsets the rectangle exactly, where pyclipper's round joins
// add rounded corners whose minimum-area rectangle is that same grown rectangle.
//   ASSIGN_OR_RETURN(auto boxes, DbPostprocess(prob, map_w, map_h, {}, image_w, image_h));
//   for (const TextBox& t : boxes) Crop(image, t.points);  // clockwise from top-left
#pragma once

#include <array>
#include <span>
#include <vector>

#include "edgerun/status.h"
#include "edgerun/vision/geometry.h"

namespace edgerun::postprocess {

using vision::Box;
using vision::Point;

struct DbOptions {
  float thresh = 0.3f;      // binarization threshold on the probability map
  float box_thresh = 0.6f;  // minimum mean probability inside a box
  float unclip_ratio = 1.5f;
  int max_candidates = 1000;  // regions considered (in scan order)
  float min_size = 3.0f;      // minimum short side, map pixels
};

struct TextBox {
  std::array<Point, 4> points;  // top-left, top-right, bottom-right, bottom-left (source pixels)
  Box box;                      // axis-aligned bounds of points
  float score = 0;              // mean probability inside the box (before unclip)
};

// prob: map_height x map_width probabilities, row-major. Output in source pixels
// (coordinates scaled by source / map size, rounded and clipped like PaddleOCR).
Expected<std::vector<TextBox>> DbPostprocess(std::span<const float> prob, int map_width,
                                             int map_height, const DbOptions& options,
                                             int source_width, int source_height);

// Geometry helpers (exposed for tests).
struct RotatedRect {
  Point center;
  float width = 0, height = 0;  // along the two rectangle axes
  float angle = 0;              // radians, direction of the `width` side
  std::array<Point, 4> Corners() const;
};
// Convex hull (counter-clockwise in y-down coordinates, no collinear points); Andrew's chain.
std::vector<Point> ConvexHull(std::vector<Point> points);
// Minimum-area enclosing rectangle of a convex polygon (rotating calipers over hull edges).
RotatedRect MinAreaRect(std::span<const Point> hull);

}  // namespace edgerun::postprocess
