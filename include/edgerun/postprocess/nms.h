// Non-maximum suppression: greedy hard NMS (class-agnostic, class-aware, batched), soft-NMS
// (linear, gaussian) and weighted NMS, with results identical to OpenCV's cv::dnn::NMSBoxes and
// cv::dnn::softNMSBoxes.
//
// Hard NMS sorts candidates once (LSD radix sort on the score bits, stable, so equal scores keep
// index order) and suppresses greedily; only kept boxes that can intersect a candidate are tested,
// found through a uniform grid keyed by the kept boxes' top-left corners, which keeps 100k boxes
// fast while the keep set stays exact.
//   NmsWorkspace ws(100000);                    // reserve once; Nms then does not allocate
//   auto keep = Nms(boxes, scores, {.score_threshold = 0.25f, .iou_threshold = 0.45f}, ws);
//   if (!keep) return keep.status();            // for (int i : *keep) use boxes[i]
//
// Exact semantics (cv::dnn::NMSBoxes for std::vector<cv::Rect2d>, OpenCV 4.6):
//  - a Box becomes Rect2d(x1, y1, x2 - x1, y2 - y1) in double precision; its area is w * h, which
//    is negative for a box inverted on one axis; a box with w <= 0 or h <= 0 intersects nothing;
//  - candidates have score > score_threshold (strict), sorted by score descending, ties in index
//    order; top_k > 0 keeps only the first top_k candidates;
//  - overlap = 1 - float(1 - inter / (area_a + area_b - inter)), and overlap = 1 when
//    area_a + area_b <= DBL_EPSILON (so two degenerate boxes suppress each other anywhere);
//  - a candidate is kept when overlap <= threshold against every kept box; after each keep the
//    threshold is multiplied by eta while it is > 0.5 (eta < 1 only);
//  - max_detections > 0 stops after that many keeps (OpenCV's result truncated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "edgerun/status.h"
#include "edgerun/vision/geometry.h"

namespace edgerun::postprocess {

using vision::Box;

struct NmsOptions {
  float score_threshold = 0.25f;  // candidates need score > this
  float iou_threshold = 0.45f;    // suppress when overlap > this
  int max_detections = 0;         // 0: unlimited
  int top_k = 0;                  // 0: all candidates (OpenCV's top_k)
  float eta = 1.0f;               // adaptive threshold factor in (0, 1] (OpenCV's eta)
};

// Scratch for Nms/NmsPerClass/BatchedNms/SoftNms. Reserve(n) once; runs on at most n boxes (and
// at most `groups` classes or batch*class groups) do not touch the heap. Larger runs grow it.
class NmsWorkspace {
 public:
  NmsWorkspace() = default;
  explicit NmsWorkspace(size_t max_boxes, size_t max_groups = 1) { Reserve(max_boxes, max_groups); }
  void Reserve(size_t max_boxes, size_t max_groups = 1);
  size_t capacity() const { return capacity_; }

  // Internal state, public only so the implementation's helpers can reach it.
  struct RectD {
    double x, y, w, h, area;
  };
  size_t capacity_ = 0;
  std::vector<uint32_t> keys_, keys_tmp_;
  std::vector<int32_t> order_, order_tmp_;
  std::vector<RectD> rects_;                    // candidates in sorted order
  std::vector<int32_t> cand_group_;             // group of each sorted candidate
  std::vector<double> sides_;                   // longer side of each candidate (grid sizing)
  std::vector<int32_t> cell_start_, cell_end_;  // grid: slot range of each cell's kept boxes
  std::vector<int32_t> cand_cell_;  // cell of each candidate's top-left corner, -1: big/empty
  std::vector<double> slot_x1_, slot_y1_, slot_x2_, slot_y2_;  // kept boxes' bounds, by slot
  std::vector<int32_t> slot_pos_;       // sorted position of the kept box in each slot
  std::vector<int32_t> big_;            // kept boxes too large for the grid
  std::vector<int32_t> kept_nonempty_;  // sorted positions of kept boxes with w, h > 0
  std::vector<double> group_min_area_;  // smallest area kept so far, per group
  std::vector<int32_t> keep_;           // result: original indices
  std::vector<float> scores_;           // soft-NMS working scores
  std::vector<float> picked_scores_;    // soft-NMS result scores
};

// Class-agnostic greedy NMS. Returns kept indices into `boxes` in keep order (score descending).
// The span points into `ws` and is valid until the next call with the same workspace.
// Errors: boxes/scores size mismatch, NaN score, non-finite box, bad thresholds.
Expected<std::span<const int32_t>> Nms(std::span<const Box> boxes, std::span<const float> scores,
                                       const NmsOptions& options, NmsWorkspace& ws);

// Class-aware NMS: a box only suppresses boxes of its own class (class_ids[i] >= 0). Same result
// as running Nms per class and merging by score (ties by index); max_detections is global.
Expected<std::span<const int32_t>> NmsPerClass(std::span<const Box> boxes,
                                               std::span<const float> scores,
                                               std::span<const int32_t> class_ids,
                                               const NmsOptions& options, NmsWorkspace& ws);

// Batched NMS over several images in one flat array: boxes interact only within the same
// (batch_ids[i], class_ids[i]) pair; pass an empty class_ids for class-agnostic per image.
// Result is ordered by image, then by score; max_detections applies per image.
Expected<std::span<const int32_t>> BatchedNms(std::span<const Box> boxes,
                                              std::span<const float> scores,
                                              std::span<const int32_t> batch_ids,
                                              std::span<const int32_t> class_ids,
                                              const NmsOptions& options, NmsWorkspace& ws);

enum class SoftNmsMethod { kLinear, kGaussian };

struct SoftNmsOptions {
  float score_threshold = 0.001f;  // boxes whose (decayed) score drops below this are dropped
  float iou_threshold = 0.3f;      // linear: decay only when overlap > this
  float sigma = 0.5f;              // gaussian: score *= exp(-overlap^2 / sigma)
  SoftNmsMethod method = SoftNmsMethod::kGaussian;
  int max_detections = 0;  // 0: unlimited (OpenCV's top_k)
};

struct SoftNmsResult {
  std::span<const int32_t> indices;  // pick order
  std::span<const float> scores;     // decayed score at pick time
};

// Soft-NMS with cv::dnn::softNMSBoxes semantics: repeatedly pick the highest remaining score
// (ties: lowest index), stop when it is < score_threshold (note: >= keeps, unlike Nms), then
// decay every remaining score that is still >= score_threshold by its overlap with the pick.
Expected<SoftNmsResult> SoftNms(std::span<const Box> boxes, std::span<const float> scores,
                                const SoftNmsOptions& options, NmsWorkspace& ws);

// The overlap Nms uses (see the header comment), exposed for tests and decoders.
float NmsOverlap(const Box& a, const Box& b);
// Plain intersection over union of two corner boxes; 0 when the union is empty.
float BoxIou(const Box& a, const Box& b);

}  // namespace edgerun::postprocess
