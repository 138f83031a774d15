#include "edgerun/postprocess/ssd.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "edgerun/postprocess/nms.h"

namespace edgerun::postprocess {
namespace {

float CalculateScale(float min_scale, float max_scale, int stride_index, int num_strides) {
  if (num_strides == 1) return (min_scale + max_scale) * 0.5f;
  return min_scale + (max_scale - min_scale) * 1.0f * stride_index / (num_strides - 1.0f);
}

}  // namespace

SsdAnchorOptions BlazeFaceShortRangeAnchors() { return SsdAnchorOptions{}; }

SsdDecodeOptions BlazeFaceDecode() { return SsdDecodeOptions{}; }

Expected<std::vector<Anchor>> GenerateSsdAnchors(const SsdAnchorOptions& o) {
  if (o.input_width <= 0 || o.input_height <= 0) {
    return InvalidArgument(fmt::format("ssd anchors: input size {}x{} must be positive",
                                       o.input_width, o.input_height));
  }
  if (o.num_layers <= 0 || static_cast<int>(o.strides.size()) != o.num_layers) {
    return InvalidArgument(
        fmt::format("ssd anchors: num_layers {} but {} strides", o.num_layers, o.strides.size()));
  }
  for (int s : o.strides) {
    if (s <= 0) return InvalidArgument(fmt::format("ssd anchors: stride {} must be positive", s));
  }
  for (float r : o.aspect_ratios) {
    if (!(r > 0))
      return InvalidArgument(fmt::format("ssd anchors: aspect ratio {} must be > 0", r));
  }
  std::vector<Anchor> anchors;
  const int num_strides = static_cast<int>(o.strides.size());
  int layer = 0;
  while (layer < num_strides) {
    std::vector<float> heights, widths, ratios, scales;
    // Consecutive layers with the same stride share one feature map: their anchors interleave
    // per location, in layer order.
    int last = layer;
    while (last < num_strides && o.strides[last] == o.strides[layer]) {
      const float scale = CalculateScale(o.min_scale, o.max_scale, last, num_strides);
      if (last == 0 && o.reduce_boxes_in_lowest_layer) {
        ratios.insert(ratios.end(), {1.0f, 2.0f, 0.5f});
        scales.insert(scales.end(), {0.1f, scale, scale});
      } else {
        for (float r : o.aspect_ratios) {
          ratios.push_back(r);
          scales.push_back(scale);
        }
        if (o.interpolated_scale_aspect_ratio > 0.0f) {
          const float next = last == num_strides - 1
                                 ? 1.0f
                                 : CalculateScale(o.min_scale, o.max_scale, last + 1, num_strides);
          scales.push_back(std::sqrt(scale * next));
          ratios.push_back(o.interpolated_scale_aspect_ratio);
        }
      }
      ++last;
    }
    for (size_t i = 0; i < ratios.size(); ++i) {
      const float root = std::sqrt(ratios[i]);
      heights.push_back(scales[i] / root);
      widths.push_back(scales[i] * root);
    }
    const int stride = o.strides[layer];
    const int fm_h = static_cast<int>(std::ceil(1.0f * o.input_height / stride));
    const int fm_w = static_cast<int>(std::ceil(1.0f * o.input_width / stride));
    for (int y = 0; y < fm_h; ++y) {
      for (int x = 0; x < fm_w; ++x) {
        for (size_t a = 0; a < heights.size(); ++a) {
          Anchor an;
          an.x_center = (x + o.anchor_offset_x) * 1.0f / fm_w;
          an.y_center = (y + o.anchor_offset_y) * 1.0f / fm_h;
          an.width = o.fixed_anchor_size ? 1.0f : widths[a];
          an.height = o.fixed_anchor_size ? 1.0f : heights[a];
          anchors.push_back(an);
        }
      }
    }
    layer = last;
  }
  return anchors;
}

Expected<std::vector<Detection>> DecodeSsd(std::span<const float> raw_boxes,
                                           std::span<const float> raw_scores,
                                           std::span<const Anchor> anchors,
                                           const SsdDecodeOptions& o) {
  const size_t n = anchors.size();
  if (o.num_classes <= 0 || o.num_coords <= 0) {
    return InvalidArgument("ssd decode: num_classes and num_coords must be positive");
  }
  if (o.box_coord_offset < 0 || o.box_coord_offset + 4 > o.num_coords || o.num_keypoints < 0 ||
      o.num_values_per_keypoint < 2 ||
      (o.num_keypoints > 0 &&
       (o.keypoint_coord_offset < 0 ||
        o.keypoint_coord_offset + o.num_keypoints * o.num_values_per_keypoint > o.num_coords))) {
    return InvalidArgument(fmt::format(
        "ssd decode: box offset {} / {} keypoints x {} at offset {} do not fit in {} coords",
        o.box_coord_offset, o.num_keypoints, o.num_values_per_keypoint, o.keypoint_coord_offset,
        o.num_coords));
  }
  if (raw_boxes.size() != n * o.num_coords) {
    return InvalidArgument(
        fmt::format("ssd decode: raw_boxes has {} values, expected {} anchors x {}",
                    raw_boxes.size(), n, o.num_coords));
  }
  if (raw_scores.size() != n * o.num_classes) {
    return InvalidArgument(
        fmt::format("ssd decode: raw_scores has {} values, expected {} anchors x {} classes",
                    raw_scores.size(), n, o.num_classes));
  }
  if (!(o.x_scale != 0 && o.y_scale != 0 && o.w_scale != 0 && o.h_scale != 0)) {
    return InvalidArgument("ssd decode: x/y/w/h scales must be nonzero");
  }
  std::vector<Detection> out;
  for (size_t i = 0; i < n; ++i) {
    // Best class; NaN scores are an error rather than silently dropped.
    int best_class = 0;
    float best = -std::numeric_limits<float>::infinity();
    for (int c = 0; c < o.num_classes; ++c) {
      float s = raw_scores[i * o.num_classes + c];
      if (std::isnan(s))
        return InvalidArgument(fmt::format("ssd decode: score of anchor {} is NaN", i));
      if (o.score_clipping_thresh > 0) {
        s = std::clamp(s, -o.score_clipping_thresh, o.score_clipping_thresh);
      }
      if (o.sigmoid_score) s = 1.0f / (1.0f + std::exp(-s));
      if (s > best) {
        best = s;
        best_class = c;
      }
    }
    if (!(best >= o.min_score_thresh)) continue;
    const Anchor& a = anchors[i];
    const float* v = raw_boxes.data() + i * o.num_coords;
    const float* b = v + o.box_coord_offset;
    float xc = b[1], yc = b[0], w = b[3], h = b[2];
    if (o.reverse_output_order) xc = b[0], yc = b[1], w = b[2], h = b[3];
    xc = xc / o.x_scale * a.width + a.x_center;
    yc = yc / o.y_scale * a.height + a.y_center;
    if (o.apply_exponential_on_box_size) {
      h = std::exp(h / o.h_scale) * a.height;
      w = std::exp(w / o.w_scale) * a.width;
    } else {
      h = h / o.h_scale * a.height;
      w = w / o.w_scale * a.width;
    }
    Detection d;
    d.box = {xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2};
    d.score = best;
    d.class_id = best_class;
    for (int k = 0; k < o.num_keypoints; ++k) {
      const float* kp = v + o.keypoint_coord_offset + k * o.num_values_per_keypoint;
      float kx = kp[1], ky = kp[0];
      if (o.reverse_output_order) kx = kp[0], ky = kp[1];
      d.keypoints.push_back(
          {kx / o.x_scale * a.width + a.x_center, ky / o.y_scale * a.height + a.y_center});
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<Detection> WeightedNms(std::span<const Detection> detections,
                                   const WeightedNmsOptions& o) {
  std::vector<size_t> remaining(detections.size());
  std::iota(remaining.begin(), remaining.end(), 0);
  std::stable_sort(remaining.begin(), remaining.end(),
                   [&](size_t a, size_t b) { return detections[a].score > detections[b].score; });
  std::vector<Detection> out;
  std::vector<size_t> rest;
  while (!remaining.empty()) {
    const Detection& top = detections[remaining[0]];
    if (top.score < o.min_score) break;
    Detection merged = top;
    float total = 0, x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    std::vector<Point> kps(top.keypoints.size());
    rest.clear();
    for (size_t idx : remaining) {
      const Detection& d = detections[idx];
      if (BoxIou(top.box, d.box) > o.iou_threshold || idx == remaining[0]) {
        total += d.score;
        x1 += d.box.x1 * d.score;
        y1 += d.box.y1 * d.score;
        x2 += d.box.x2 * d.score;
        y2 += d.box.y2 * d.score;
        for (size_t k = 0; k < kps.size() && k < d.keypoints.size(); ++k) {
          kps[k].x += d.keypoints[k].x * d.score;
          kps[k].y += d.keypoints[k].y * d.score;
        }
      } else {
        rest.push_back(idx);
      }
    }
    if (total > 0) {
      merged.box = {x1 / total, y1 / total, x2 / total, y2 / total};
      for (size_t k = 0; k < kps.size(); ++k)
        merged.keypoints[k] = {kps[k].x / total, kps[k].y / total};
    }
    out.push_back(std::move(merged));
    if (o.max_detections > 0 && static_cast<int>(out.size()) >= o.max_detections) break;
    remaining.swap(rest);
  }
  return out;
}

}  // namespace edgerun::postprocess
