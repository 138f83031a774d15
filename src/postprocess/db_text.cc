#include "edgerun/postprocess/db_text.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace edgerun::postprocess {
namespace {

double Cross(const Point& o, const Point& a, const Point& b) {
  return (static_cast<double>(a.x) - o.x) * (static_cast<double>(b.y) - o.y) -
         (static_cast<double>(a.y) - o.y) * (static_cast<double>(b.x) - o.x);
}

// PaddleOCR's get_mini_boxes ordering: of the two leftmost corners the upper one is first, then
// the upper of the two rightmost, the lower rightmost, the lower leftmost.
std::array<Point, 4> OrderCorners(std::array<Point, 4> p) {
  std::sort(p.begin(), p.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
  const auto [tl, bl] = p[0].y <= p[1].y ? std::pair(p[0], p[1]) : std::pair(p[1], p[0]);
  const auto [tr, br] = p[2].y <= p[3].y ? std::pair(p[2], p[3]) : std::pair(p[3], p[2]);
  return {tl, tr, br, bl};
}

// Mean probability over the pixels whose centres lie in the quadrilateral (edges included with
// half a pixel of tolerance, close to cv::fillPoly's inclusive rasterization).
float BoxScore(std::span<const float> prob, int w, int h, const std::array<Point, 4>& q) {
  float fx0 = q[0].x, fx1 = q[0].x, fy0 = q[0].y, fy1 = q[0].y;
  for (const Point& p : q) {
    fx0 = std::min(fx0, p.x), fx1 = std::max(fx1, p.x);
    fy0 = std::min(fy0, p.y), fy1 = std::max(fy1, p.y);
  }
  const int x0 = std::clamp(static_cast<int>(std::floor(fx0)), 0, w - 1);
  const int x1 = std::clamp(static_cast<int>(std::ceil(fx1)), 0, w - 1);
  const int y0 = std::clamp(static_cast<int>(std::floor(fy0)), 0, h - 1);
  const int y1 = std::clamp(static_cast<int>(std::ceil(fy1)), 0, h - 1);
  // Orientation-independent inside test: same sign (or within tolerance) for all edges.
  double area2 = 0;
  for (int i = 0; i < 4; ++i) area2 += Cross(Point{0, 0}, q[i], q[(i + 1) % 4]);
  const double sign = area2 >= 0 ? 1.0 : -1.0;
  double sum = 0;
  int64_t count = 0;
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      const Point c{static_cast<float>(x), static_cast<float>(y)};
      bool inside = true;
      for (int i = 0; i < 4 && inside; ++i) {
        const Point& a = q[i];
        const Point& b = q[(i + 1) % 4];
        const double len = std::hypot(b.x - a.x, b.y - a.y);
        inside = sign * Cross(a, b, c) >= -0.5 * len;
      }
      if (inside) {
        sum += prob[static_cast<size_t>(y) * w + x];
        ++count;
      }
    }
  }
  return count > 0 ? static_cast<float>(sum / count) : 0.0f;
}

}  // namespace

std::array<Point, 4> RotatedRect::Corners() const {
  const float c = std::cos(angle), s = std::sin(angle);
  const float hw = width / 2, hh = height / 2;
  // Axis u = (c, s) along width, v = (-s, c) along height.
  auto at = [&](float a, float b) {
    return Point{center.x + a * c - b * s, center.y + a * s + b * c};
  };
  return {at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh)};
}

std::vector<Point> ConvexHull(std::vector<Point> pts) {
  std::sort(pts.begin(), pts.end(),
            [](const Point& a, const Point& b) { return a.x != b.x ? a.x < b.x : a.y < b.y; });
  pts.erase(std::unique(pts.begin(), pts.end(),
                        [](const Point& a, const Point& b) { return a.x == b.x && a.y == b.y; }),
            pts.end());
  if (pts.size() < 3) return pts;
  std::vector<Point> hull(2 * pts.size());
  size_t k = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    while (k >= 2 && Cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) --k;
    hull[k++] = pts[i];
  }
  for (size_t i = pts.size() - 1, lower = k + 1; i > 0; --i) {
    while (k >= lower && Cross(hull[k - 2], hull[k - 1], pts[i - 1]) <= 0) --k;
    hull[k++] = pts[i - 1];
  }
  hull.resize(k - 1);
  return hull;
}

RotatedRect MinAreaRect(std::span<const Point> hull) {
  RotatedRect best;
  if (hull.empty()) return best;
  if (hull.size() == 1) {
    best.center = hull[0];
    return best;
  }
  double best_area = -1;
  const size_t n = hull.size();
  for (size_t i = 0; i < n; ++i) {
    const Point& a = hull[i];
    const Point& b = hull[(i + 1) % n];
    const double dx = b.x - a.x, dy = b.y - a.y;
    const double len = std::hypot(dx, dy);
    if (len == 0) continue;
    const double ux = dx / len, uy = dy / len;  // edge direction; normal (-uy, ux)
    double u0 = 1e300, u1 = -1e300, v0 = 1e300, v1 = -1e300;
    for (const Point& p : hull) {
      const double px = p.x - a.x, py = p.y - a.y;
      const double u = px * ux + py * uy, v = -px * uy + py * ux;
      u0 = std::min(u0, u), u1 = std::max(u1, u), v0 = std::min(v0, v), v1 = std::max(v1, v);
    }
    const double area = (u1 - u0) * (v1 - v0);
    if (best_area < 0 || area < best_area) {
      best_area = area;
      const double cu = (u0 + u1) / 2, cv = (v0 + v1) / 2;
      best.center = {static_cast<float>(a.x + cu * ux - cv * uy),
                     static_cast<float>(a.y + cu * uy + cv * ux)};
      best.width = static_cast<float>(u1 - u0);
      best.height = static_cast<float>(v1 - v0);
      best.angle = static_cast<float>(std::atan2(uy, ux));
    }
  }
  return best;
}

Expected<std::vector<TextBox>> DbPostprocess(std::span<const float> prob, int w, int h,
                                             const DbOptions& o, int source_width,
                                             int source_height) {
  if (w <= 0 || h <= 0 || source_width <= 0 || source_height <= 0) {
    return InvalidArgument(
        fmt::format("db postprocess: map {}x{} and source {}x{} must be positive", w, h,
                    source_width, source_height));
  }
  if (prob.size() != static_cast<size_t>(w) * h) {
    return InvalidArgument(fmt::format(
        "db postprocess: probability map has {} values, expected {}x{}", prob.size(), w, h));
  }
  if (!(o.unclip_ratio >= 0) || o.max_candidates < 0) {
    return InvalidArgument("db postprocess: unclip_ratio and max_candidates must be >= 0");
  }
  for (size_t i = 0; i < prob.size(); ++i) {
    if (std::isnan(prob[i])) {
      return InvalidArgument(fmt::format("db postprocess: NaN at ({}, {})", i % w, i / w));
    }
  }
  // 8-connected components of the binary map, found by flood fill in scan order.
  std::vector<int32_t> label(prob.size(), -1);
  std::vector<int32_t> stack;
  std::vector<int> row_min(h), row_max(h);
  std::vector<TextBox> out;
  int candidates = 0;
  for (int sy = 0; sy < h && candidates < o.max_candidates; ++sy) {
    for (int sx = 0; sx < w && candidates < o.max_candidates; ++sx) {
      const size_t s = static_cast<size_t>(sy) * w + sx;
      if (label[s] >= 0 || !(prob[s] > o.thresh)) continue;
      ++candidates;
      // Flood fill; per row keep the extreme columns (enough for the convex hull).
      int ry0 = sy, ry1 = sy;
      std::fill(row_min.begin(), row_min.end(), INT32_MAX);
      std::fill(row_max.begin(), row_max.end(), -1);
      label[s] = candidates;
      stack.assign(1, static_cast<int32_t>(s));
      while (!stack.empty()) {
        const int32_t p = stack.back();
        stack.pop_back();
        const int x = p % w, y = p / w;
        row_min[y] = std::min(row_min[y], x);
        row_max[y] = std::max(row_max[y], x);
        ry0 = std::min(ry0, y), ry1 = std::max(ry1, y);
        for (int dy = -1; dy <= 1; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            const int nx = x + dx, ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
            const size_t q = static_cast<size_t>(ny) * w + nx;
            if (label[q] >= 0 || !(prob[q] > o.thresh)) continue;
            label[q] = candidates;
            stack.push_back(static_cast<int32_t>(q));
          }
        }
      }
      std::vector<Point> pts;
      for (int y = ry0; y <= ry1; ++y) {
        if (row_max[y] < 0) continue;
        pts.push_back({static_cast<float>(row_min[y]), static_cast<float>(y)});
        if (row_max[y] != row_min[y])
          pts.push_back({static_cast<float>(row_max[y]), static_cast<float>(y)});
      }
      const RotatedRect rect = MinAreaRect(ConvexHull(std::move(pts)));
      if (std::min(rect.width, rect.height) < o.min_size) continue;
      const std::array<Point, 4> corners = OrderCorners(rect.Corners());
      const float score = BoxScore(prob, w, h, corners);
      if (o.box_thresh > score) continue;
      // Unclip: the rectangle's offset polygon at distance d is the rectangle grown by d per side.
      const double area = static_cast<double>(rect.width) * rect.height;
      const double perimeter = 2.0 * (static_cast<double>(rect.width) + rect.height);
      const double d = perimeter > 0 ? area * o.unclip_ratio / perimeter : 0.0;
      RotatedRect grown = rect;
      grown.width = static_cast<float>(rect.width + 2 * d);
      grown.height = static_cast<float>(rect.height + 2 * d);
      if (std::min(grown.width, grown.height) < o.min_size + 2) continue;
      TextBox t;
      t.score = score;
      t.points = OrderCorners(grown.Corners());
      const float sx_scale = static_cast<float>(source_width) / w;
      const float sy_scale = static_cast<float>(source_height) / h;
      for (Point& p : t.points) {
        p.x = std::clamp(std::round(p.x * sx_scale), 0.0f, static_cast<float>(source_width));
        p.y = std::clamp(std::round(p.y * sy_scale), 0.0f, static_cast<float>(source_height));
      }
      t.box = {t.points[0].x, t.points[0].y, t.points[0].x, t.points[0].y};
      for (const Point& p : t.points) {
        t.box.x1 = std::min(t.box.x1, p.x), t.box.y1 = std::min(t.box.y1, p.y);
        t.box.x2 = std::max(t.box.x2, p.x), t.box.y2 = std::max(t.box.y2, p.y);
      }
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace edgerun::postprocess
