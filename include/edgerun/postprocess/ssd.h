// Anchor-based SSD decoding as MediaPipe does it for BlazeFace: anchor generation from SSD anchor
// options (SsdAnchorsCalculator), box + keypoint decoding against the anchors with sigmoid scores
// (TensorsToDetectionsCalculator), and weighted NMS (NonMaxSuppressionCalculator, WEIGHTED).
//
// Anchors: layers with equal strides are merged; each layer gets one anchor per aspect ratio at
// its scale (min..max scale interpolated over layers) plus an interpolated-scale anchor; centres
// sit at (cell + offset) / feature map size. Boxes and keypoints decode as value / scale * anchor
// size + anchor centre, all normalized to [0, 1].
//   ASSIGN_OR_RETURN(auto anchors, GenerateSsdAnchors(BlazeFaceShortRangeAnchors()));  // 896
//   ASSIGN_OR_RETURN(auto dets, DecodeSsd(raw_boxes, raw_scores, anchors, BlazeFaceDecode()));
//   auto faces = WeightedNms(dets, {.iou_threshold = 0.3f});
#pragma once

#include <span>
#include <vector>

#include "edgerun/postprocess/detection.h"
#include "edgerun/status.h"

namespace edgerun::postprocess {

struct SsdAnchorOptions {
  int input_width = 128;
  int input_height = 128;
  float min_scale = 0.1484375f;
  float max_scale = 0.75f;
  float anchor_offset_x = 0.5f;
  float anchor_offset_y = 0.5f;
  int num_layers = 4;
  std::vector<int> strides = {8, 16, 16, 16};
  std::vector<float> aspect_ratios = {1.0f};
  bool reduce_boxes_in_lowest_layer = false;
  float interpolated_scale_aspect_ratio = 1.0f;  // <= 0: no interpolated anchor
  bool fixed_anchor_size = true;                 // anchors are 1 x 1 (BlazeFace)
};

struct Anchor {
  float x_center = 0, y_center = 0, width = 0, height = 0;  // normalized
};

SsdAnchorOptions BlazeFaceShortRangeAnchors();  // 128x128, strides 8,16,16,16 -> 896 anchors
Expected<std::vector<Anchor>> GenerateSsdAnchors(const SsdAnchorOptions& options);

struct SsdDecodeOptions {
  int num_classes = 1;
  int num_coords = 16;  // values per box in raw_boxes
  int box_coord_offset = 0;
  int keypoint_coord_offset = 4;
  int num_keypoints = 6;
  int num_values_per_keypoint = 2;
  bool reverse_output_order = true;  // x, y, w, h (else y, x, h, w)
  float x_scale = 128, y_scale = 128, w_scale = 128, h_scale = 128;
  bool apply_exponential_on_box_size = false;
  bool sigmoid_score = true;
  float score_clipping_thresh = 100.0f;  // raw scores clipped to +-this before the sigmoid; 0: off
  float min_score_thresh = 0.5f;         // detections need score >= this
};

SsdDecodeOptions BlazeFaceDecode();

// raw_boxes: anchors.size() x num_coords; raw_scores: anchors.size() x num_classes. Returns the
// detections with score >= min_score_thresh (best class per anchor), normalized coordinates.
Expected<std::vector<Detection>> DecodeSsd(std::span<const float> raw_boxes,
                                           std::span<const float> raw_scores,
                                           std::span<const Anchor> anchors,
                                           const SsdDecodeOptions& options);

struct WeightedNmsOptions {
  float iou_threshold = 0.3f;  // boxes with IoU > this merge into the top box
  float min_score = 0.0f;      // stop when the top remaining score is below this
  int max_detections = 0;      // 0: unlimited
};

// MediaPipe's weighted NMS: take the best remaining detection, merge every remaining detection
// overlapping it (IoU > threshold, itself included) into a score-weighted average of boxes and
// keypoints; the merged detection keeps the best score and class.
std::vector<Detection> WeightedNms(std::span<const Detection> detections,
                                   const WeightedNmsOptions& options);

}  // namespace edgerun::postprocess
