#include "edgerun/postprocess/nms.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace edgerun::postprocess {
namespace {

using RectD = NmsWorkspace::RectD;

RectD ToRect(const Box& b) {
  RectD r;
  r.x = b.x1;
  r.y = b.y1;
  r.w = static_cast<double>(b.x2) - static_cast<double>(b.x1);
  r.h = static_cast<double>(b.y2) - static_cast<double>(b.y1);
  r.area = r.w * r.h;
  return r;
}

bool Empty(const RectD& r) { return r.w <= 0 || r.h <= 0; }

// cv::Rect2d intersection area, step for step as OpenCV 4.6's operator&= computes it, so the
// rounding is the same (the min/offset form differs from max/min corners in the last bit).
double IntersectionArea(const RectD& a, const RectD& b) {
  if (Empty(a) || Empty(b)) return 0.0;
  const RectD& x_min = (a.x < b.x) ? a : b;
  const RectD& x_max = (a.x < b.x) ? b : a;
  const RectD& y_min = (a.y < b.y) ? a : b;
  const RectD& y_max = (a.y < b.y) ? b : a;
  if ((x_min.x < 0 && x_min.x + x_min.w < x_max.x) ||
      (y_min.y < 0 && y_min.y + y_min.h < y_max.y)) {
    return 0.0;
  }
  const double w = std::min(x_min.w - (x_max.x - x_min.x), x_max.w);
  const double h = std::min(y_min.h - (y_max.y - y_min.y), y_max.h);
  if (w <= 0 || h <= 0) return 0.0;
  return w * h;
}

// 1 - jaccardDistance(a, b), narrowed to float as cv::dnn's rectOverlap does.
float Overlap(const RectD& a, const RectD& b) {
  const double sum = a.area + b.area;
  if (sum <= std::numeric_limits<double>::epsilon()) return 1.0f;
  const double inter = IntersectionArea(a, b);
  const double distance = 1.0 - inter / (sum - inter);
  return 1.0f - static_cast<float>(distance);
}

// Order-preserving map of a float to uint32 (total order of the values; -0 folded to +0).
uint32_t OrderedBits(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f + 0.0f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Sorts ws.order_[0..n) by ws.keys_ ascending, stable; LSD radix, 8 bits per pass, skipping bytes
// that all keys share. Small inputs use std::sort on (key, index), which is equivalent.
void SortCandidates(NmsWorkspace& ws, size_t n) {
  uint32_t* keys = ws.keys_.data();
  int32_t* order = ws.order_.data();
  if (n < 128) {
    // Insertion sort: stable, allocation-free, fast at this size.
    for (size_t i = 1; i < n; ++i) {
      const uint32_t k = keys[i];
      const int32_t o = order[i];
      size_t j = i;
      while (j > 0 && keys[j - 1] > k) {
        keys[j] = keys[j - 1];
        order[j] = order[j - 1];
        --j;
      }
      keys[j] = k;
      order[j] = o;
    }
    return;
  }
  uint32_t counts[4][256] = {};
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = keys[i];
    ++counts[0][k & 0xff];
    ++counts[1][(k >> 8) & 0xff];
    ++counts[2][(k >> 16) & 0xff];
    ++counts[3][k >> 24];
  }
  uint32_t* src_k = keys;
  int32_t* src_o = order;
  uint32_t* dst_k = ws.keys_tmp_.data();
  int32_t* dst_o = ws.order_tmp_.data();
  for (int pass = 0; pass < 4; ++pass) {
    const int shift = pass * 8;
    if (counts[pass][(src_k[0] >> shift) & 0xff] == n) continue;  // byte shared by all keys
    uint32_t offsets[256];
    uint32_t sum = 0;
    for (int b = 0; b < 256; ++b) {
      offsets[b] = sum;
      sum += counts[pass][b];
    }
    for (size_t i = 0; i < n; ++i) {
      const uint32_t pos = offsets[(src_k[i] >> shift) & 0xff]++;
      dst_k[pos] = src_k[i];
      dst_o[pos] = src_o[i];
    }
    std::swap(src_k, dst_k);
    std::swap(src_o, dst_o);
  }
  if (src_k != keys) {
    std::memcpy(keys, src_k, n * sizeof(uint32_t));
    std::memcpy(order, src_o, n * sizeof(int32_t));
  }
}

Status ValidateCommon(std::span<const Box> boxes, std::span<const float> scores) {
  if (boxes.size() != scores.size()) {
    return InvalidArgument(
        fmt::format("nms: boxes has {} entries but scores has {}", boxes.size(), scores.size()));
  }
  if (boxes.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2)) {
    return InvalidArgument(fmt::format("nms: {} boxes is too many", boxes.size()));
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) return InvalidArgument(fmt::format("nms: score {} is NaN", i));
    const Box& b = boxes[i];
    if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) ||
        !std::isfinite(b.y2)) {
      return InvalidArgument(fmt::format("nms: box {} has a non-finite coordinate", i));
    }
  }
  return Status::Ok();
}

Status ValidateOptions(const NmsOptions& o) {
  if (!std::isfinite(o.score_threshold)) {
    return InvalidArgument("nms: score_threshold must be finite");
  }
  if (!(o.iou_threshold >= 0.0f) || !std::isfinite(o.iou_threshold)) {
    return InvalidArgument(fmt::format("nms: iou_threshold {} must be >= 0", o.iou_threshold));
  }
  if (!(o.eta > 0.0f && o.eta <= 1.0f)) {
    return InvalidArgument(fmt::format("nms: eta {} must be in (0, 1]", o.eta));
  }
  if (o.max_detections < 0) return InvalidArgument("nms: max_detections must be >= 0");
  if (o.top_k < 0) return InvalidArgument("nms: top_k must be >= 0");
  return Status::Ok();
}

Status ValidateIds(std::span<const int32_t> ids, size_t n, const char* what, int32_t* max_id) {
  *max_id = 0;
  if (ids.empty()) return Status::Ok();
  if (ids.size() != n) {
    return InvalidArgument(
        fmt::format("nms: {} has {} entries but boxes has {}", what, ids.size(), n));
  }
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0) {
      return InvalidArgument(fmt::format("nms: {}[{}] = {} is negative", what, i, ids[i]));
    }
    *max_id = std::max(*max_id, ids[i]);
  }
  return Status::Ok();
}

// Greedy suppression over the sorted candidates. `group(i)` gives the interaction group of box i
// (boxes in different groups never suppress each other); `limit_group(i)` the group whose keep
// count max_detections bounds (0 for a global bound).
template <typename GroupFn, typename LimitFn>
void Greedy(std::span<const Box> boxes, std::span<const float> scores, const NmsOptions& options,
            size_t num_groups, size_t num_limit_groups, GroupFn group, LimitFn limit_group,
            NmsWorkspace& ws) {
  ws.keep_.clear();
  const size_t n = boxes.size();
  // 1. Candidates with score > threshold, sorted by score descending, stable.
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    if (scores[i] > options.score_threshold) {
      ws.keys_[m] = ~OrderedBits(scores[i]);
      ws.order_[m] = static_cast<int32_t>(i);
      ++m;
    }
  }
  if (m == 0) return;
  SortCandidates(ws, m);
  if (options.top_k > 0 && static_cast<size_t>(options.top_k) < m) m = options.top_k;

  // 2. Geometry of the candidates and the grid. Each kept box goes into the one cell holding its
  // top-left corner, so it is visited at most once per query. Boxes with a side above `big`
  // (outliers) are kept in a short list that every query scans; any other
  // kept box intersecting r has its corner in [r.x - big, r.x2] x [r.y - big, r.y2].
  double min_x = std::numeric_limits<double>::max(), min_y = min_x;
  double max_x = std::numeric_limits<double>::lowest(), max_y = max_x;
  size_t nonempty = 0;
  for (size_t j = 0; j < m; ++j) {
    const int32_t i = ws.order_[j];
    const RectD r = ToRect(boxes[i]);
    ws.rects_[j] = r;
    ws.cand_group_[j] = static_cast<int32_t>(group(i));
    if (!Empty(r)) {
      min_x = std::min(min_x, r.x);
      min_y = std::min(min_y, r.y);
      max_x = std::max(max_x, r.x);
      max_y = std::max(max_y, r.y);
      ws.sides_[nonempty++] = std::max(r.w, r.h);
    }
  }
  double big = 0;
  if (nonempty > 0) {
    // The largest side, unless a few outliers exceed twice the 98th percentile: those go to the
    // short list rather than widening every query.
    const size_t p = std::min(nonempty - 1, nonempty * 98 / 100);
    std::nth_element(ws.sides_.begin(), ws.sides_.begin() + p, ws.sides_.begin() + nonempty);
    const double max_side = *std::max_element(ws.sides_.begin() + p, ws.sides_.begin() + nonempty);
    big = std::min(max_side, 2.0 * ws.sides_[p]);
  }
  double cell = std::max(big * 0.5, 1e-30);
  int64_t gx = 1, gy = 1;
  if (nonempty > 0) {
    const double max_cells = static_cast<double>(ws.cell_start_.size());
    for (;;) {
      gx = static_cast<int64_t>(std::min((max_x - min_x) / cell, 1e9)) + 1;
      gy = static_cast<int64_t>(std::min((max_y - min_y) / cell, 1e9)) + 1;
      if (static_cast<double>(gx) * static_cast<double>(gy) <= max_cells) break;
      cell *= 1.5;
    }
  }
  const double inv_cell = 1.0 / cell;
  auto cell_of = [](double v, int64_t hi) {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor(v)), 0, hi - 1);
  };
  // Each cell owns a contiguous slot range sized by the candidates whose corner falls in it, so
  // the kept boxes of a cell are scanned sequentially (bounds in SoA arrays) during queries.
  int32_t* cell_start = ws.cell_start_.data();
  int32_t* cell_end = ws.cell_end_.data();
  std::fill_n(cell_end, gx * gy, 0);
  for (size_t j = 0; j < m; ++j) {
    const RectD& r = ws.rects_[j];
    if (Empty(r) || std::max(r.w, r.h) > big) {
      ws.cand_cell_[j] = -1;
      continue;
    }
    const int64_t c =
        cell_of((r.y - min_y) * inv_cell, gy) * gx + cell_of((r.x - min_x) * inv_cell, gx);
    ws.cand_cell_[j] = static_cast<int32_t>(c);
    ++cell_end[c];
  }
  int32_t total = 0;
  for (int64_t c = 0; c < gx * gy; ++c) {
    cell_start[c] = total;
    total += cell_end[c];
    cell_end[c] = cell_start[c];  // becomes the fill pointer
  }
  double* kx1 = ws.slot_x1_.data();
  double* ky1 = ws.slot_y1_.data();
  double* kx2 = ws.slot_x2_.data();
  double* ky2 = ws.slot_y2_.data();
  int32_t* kpos = ws.slot_pos_.data();
  for (size_t g = 0; g < num_groups; ++g) {
    ws.group_min_area_[g] = std::numeric_limits<double>::infinity();
  }
  std::vector<int32_t>& limit_count = ws.order_tmp_;  // free after sorting
  std::fill_n(limit_count.begin(), num_limit_groups, 0);
  size_t limit_groups_full = 0;
  ws.big_.clear();
  ws.kept_nonempty_.clear();
  constexpr int64_t kMaxQueryCells = 64;

  float threshold = options.iou_threshold;
  const size_t max_det = options.max_detections > 0 ? options.max_detections : SIZE_MAX;
  for (size_t j = 0; j < m; ++j) {
    const int32_t original = ws.order_[j];
    const size_t lg = limit_group(original);
    if (static_cast<size_t>(limit_count[lg]) >= max_det) continue;
    const RectD& r = ws.rects_[j];
    const int32_t grp = ws.cand_group_[j];
    // Degenerate pairs: overlap is 1 whenever the two areas sum to <= epsilon, wherever the kept
    // box lies; floating-point addition is monotonic, so the smallest kept area decides.
    bool keep = !(r.area + ws.group_min_area_[grp] <= std::numeric_limits<double>::epsilon()) ||
                !(1.0f > threshold);
    // Only kept boxes that intersect r can have a nonzero overlap (the degenerate case is handled
    // above), and a zero overlap never suppresses since threshold >= 0. The slack makes the grid
    // and the bounding test below conservative against rounding; the decision itself is always
    // the exact OpenCV overlap.
    const double slack = 1e-9 * (std::abs(r.x) + std::abs(r.y) + r.w + r.h + big) + 1e-30;
    const double rx2 = r.x + r.w + slack, ry2 = r.y + r.h + slack;
    const double rx1 = r.x - slack, ry1 = r.y - slack;
    auto exact = [&](int32_t k) {
      if (ws.cand_group_[k] != grp) return;
      if (!(Overlap(r, ws.rects_[k]) <= threshold)) keep = false;
    };
    auto test = [&](int32_t k) {
      const RectD& o = ws.rects_[k];
      if (o.x > rx2 || o.y > ry2 || o.x + o.w < rx1 || o.y + o.h < ry1) return;
      exact(k);
    };
    if (keep && !Empty(r)) {
      for (size_t b = 0; keep && b < ws.big_.size(); ++b) test(ws.big_[b]);
      const int64_t x0 = cell_of((rx1 - big - min_x) * inv_cell, gx);
      const int64_t x1 = cell_of((rx2 - min_x) * inv_cell, gx);
      const int64_t y0 = cell_of((ry1 - big - min_y) * inv_cell, gy);
      const int64_t y1 = cell_of((ry2 - min_y) * inv_cell, gy);
      if ((x1 - x0 + 1) * (y1 - y0 + 1) > kMaxQueryCells) {
        for (size_t b = 0; keep && b < ws.kept_nonempty_.size(); ++b) test(ws.kept_nonempty_[b]);
      } else {
        for (int64_t cy = y0; keep && cy <= y1; ++cy) {
          const int64_t row = cy * gx;
          for (int64_t cx = x0; keep && cx <= x1; ++cx) {
            const int32_t end = cell_end[row + cx];
            for (int32_t s = cell_start[row + cx]; keep && s < end; ++s) {
              // One branch instead of four: the bound tests mispredict often.
              const bool hit =
                  (kx1[s] <= rx2) & (ky1[s] <= ry2) & (kx2[s] >= rx1) & (ky2[s] >= ry1);
              if (hit) exact(kpos[s]);
            }
          }
        }
      }
    }
    if (!keep) continue;
    ws.keep_.push_back(original);
    ws.group_min_area_[grp] = std::min(ws.group_min_area_[grp], r.area);
    if (!Empty(r)) {
      ws.kept_nonempty_.push_back(static_cast<int32_t>(j));
      const int32_t c = ws.cand_cell_[j];
      if (c < 0) {
        ws.big_.push_back(static_cast<int32_t>(j));
      } else {
        const int32_t s = cell_end[c]++;
        kx1[s] = r.x;
        ky1[s] = r.y;
        kx2[s] = r.x + r.w;
        ky2[s] = r.y + r.h;
        kpos[s] = static_cast<int32_t>(j);
      }
    }
    if (++limit_count[lg] == static_cast<int32_t>(std::min<size_t>(max_det, INT32_MAX))) {
      if (++limit_groups_full == num_limit_groups) break;
    }
    if (options.eta < 1.0f && threshold > 0.5f) threshold *= options.eta;
  }
}

void EnsureCapacity(NmsWorkspace& ws, size_t n, size_t groups) {
  if (n > ws.capacity() || groups > ws.group_min_area_.size()) {
    ws.Reserve(std::max(n, ws.capacity()), std::max(groups, ws.group_min_area_.size()));
  }
}

}  // namespace

void NmsWorkspace::Reserve(size_t max_boxes, size_t max_groups) {
  const size_t n = std::max<size_t>(max_boxes, 1);
  capacity_ = n;
  keys_.resize(n);
  keys_tmp_.resize(n);
  order_.resize(n);
  order_tmp_.resize(std::max(n, max_groups + 1));
  rects_.resize(n);
  cand_group_.resize(n);
  cell_start_.resize(2 * n + 64);
  cell_end_.resize(2 * n + 64);
  cand_cell_.resize(n);
  slot_x1_.resize(n);
  slot_y1_.resize(n);
  slot_x2_.resize(n);
  slot_y2_.resize(n);
  slot_pos_.resize(n);
  sides_.resize(n);
  big_.reserve(n);
  kept_nonempty_.reserve(n);
  group_min_area_.resize(std::max<size_t>(max_groups, 1));
  keep_.reserve(n);
  scores_.resize(n);
  picked_scores_.resize(n);
}

Expected<std::span<const int32_t>> Nms(std::span<const Box> boxes, std::span<const float> scores,
                                       const NmsOptions& options, NmsWorkspace& ws) {
  RETURN_IF_ERROR(ValidateOptions(options));
  RETURN_IF_ERROR(ValidateCommon(boxes, scores));
  EnsureCapacity(ws, boxes.size(), 1);
  Greedy(
      boxes, scores, options, 1, 1, [](int32_t) { return 0; }, [](int32_t) { return 0; }, ws);
  return std::span<const int32_t>(ws.keep_);
}

Expected<std::span<const int32_t>> NmsPerClass(std::span<const Box> boxes,
                                               std::span<const float> scores,
                                               std::span<const int32_t> class_ids,
                                               const NmsOptions& options, NmsWorkspace& ws) {
  RETURN_IF_ERROR(ValidateOptions(options));
  RETURN_IF_ERROR(ValidateCommon(boxes, scores));
  if (class_ids.size() != boxes.size()) {
    return InvalidArgument(fmt::format("nms: class_ids has {} entries but boxes has {}",
                                       class_ids.size(), boxes.size()));
  }
  int32_t max_class = 0;
  RETURN_IF_ERROR(ValidateIds(class_ids, boxes.size(), "class_ids", &max_class));
  EnsureCapacity(ws, boxes.size(), static_cast<size_t>(max_class) + 1);
  Greedy(
      boxes, scores, options, static_cast<size_t>(max_class) + 1, 1,
      [&](int32_t i) { return class_ids[i]; }, [](int32_t) { return 0; }, ws);
  return std::span<const int32_t>(ws.keep_);
}

Expected<std::span<const int32_t>> BatchedNms(std::span<const Box> boxes,
                                              std::span<const float> scores,
                                              std::span<const int32_t> batch_ids,
                                              std::span<const int32_t> class_ids,
                                              const NmsOptions& options, NmsWorkspace& ws) {
  RETURN_IF_ERROR(ValidateOptions(options));
  RETURN_IF_ERROR(ValidateCommon(boxes, scores));
  if (batch_ids.size() != boxes.size()) {
    return InvalidArgument(fmt::format("nms: batch_ids has {} entries but boxes has {}",
                                       batch_ids.size(), boxes.size()));
  }
  int32_t max_batch = 0, max_class = 0;
  RETURN_IF_ERROR(ValidateIds(batch_ids, boxes.size(), "batch_ids", &max_batch));
  RETURN_IF_ERROR(ValidateIds(class_ids, boxes.size(), "class_ids", &max_class));
  const size_t num_batches = static_cast<size_t>(max_batch) + 1;
  const size_t num_classes = static_cast<size_t>(max_class) + 1;
  if (num_batches * num_classes > static_cast<size_t>(INT32_MAX)) {
    return InvalidArgument("nms: batch_ids x class_ids groups overflow");
  }
  EnsureCapacity(ws, boxes.size(), num_batches * num_classes);
  auto group = [&](int32_t i) {
    return static_cast<size_t>(batch_ids[i]) * num_classes +
           (class_ids.empty() ? 0 : static_cast<size_t>(class_ids[i]));
  };
  Greedy(
      boxes, scores, options, num_batches * num_classes, num_batches, group,
      [&](int32_t i) { return static_cast<size_t>(batch_ids[i]); }, ws);
  // Group the keeps by image, keeping score order inside each (stable by construction).
  // Counting sort (stable, allocation-free): order_ and order_tmp_ are free after Greedy.
  std::vector<int32_t>& start = ws.order_tmp_;
  std::fill_n(start.begin(), num_batches + 1, 0);
  for (int32_t i : ws.keep_) ++start[batch_ids[i] + 1];
  for (size_t b = 0; b < num_batches; ++b) start[b + 1] += start[b];
  for (int32_t i : ws.keep_) ws.order_[start[batch_ids[i]]++] = i;
  std::copy_n(ws.order_.begin(), ws.keep_.size(), ws.keep_.begin());
  return std::span<const int32_t>(ws.keep_);
}

Expected<SoftNmsResult> SoftNms(std::span<const Box> boxes, std::span<const float> scores,
                                const SoftNmsOptions& options, NmsWorkspace& ws) {
  RETURN_IF_ERROR(ValidateCommon(boxes, scores));
  if (!std::isfinite(options.score_threshold) || !(options.iou_threshold >= 0.0f) ||
      !(options.sigma > 0.0f)) {
    return InvalidArgument(
        "soft-nms: score_threshold must be finite, iou_threshold >= 0 and sigma > 0");
  }
  if (options.max_detections < 0) return InvalidArgument("soft-nms: max_detections must be >= 0");
  EnsureCapacity(ws, boxes.size(), 1);
  ws.keep_.clear();
  // Working set: (score, index, rect) of boxes still >= threshold; scores only decay, so a box
  // that falls below the threshold never comes back (OpenCV skips those in its updates).
  size_t m = 0;
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (!(scores[i] < options.score_threshold)) {
      ws.order_[m] = static_cast<int32_t>(i);
      ws.rects_[m] = ToRect(boxes[i]);
      ws.scores_[m] = scores[i];
      ++m;
    }
  }
  float* picked_scores = ws.picked_scores_.data();
  const size_t limit = options.max_detections > 0 ? options.max_detections : boxes.size();
  size_t picked = 0;
  while (picked < limit && m > 0) {
    size_t best = 0;
    for (size_t j = 1; j < m; ++j) {
      const float s = ws.scores_[j], b = ws.scores_[best];
      if (s > b || (s == b && ws.order_[j] < ws.order_[best])) best = j;
    }
    const float best_score = ws.scores_[best];
    const RectD best_rect = ws.rects_[best];
    ws.keep_.push_back(ws.order_[best]);
    picked_scores[picked++] = best_score;
    // Remove the pick (swap with last) and decay the rest, dropping those that fall below.
    --m;
    ws.order_[best] = ws.order_[m];
    ws.rects_[best] = ws.rects_[m];
    ws.scores_[best] = ws.scores_[m];
    size_t out = 0;
    for (size_t j = 0; j < m; ++j) {
      float s = ws.scores_[j];
      const float overlap = Overlap(best_rect, ws.rects_[j]);
      if (options.method == SoftNmsMethod::kLinear) {
        if (overlap > options.iou_threshold) s *= 1.0f - overlap;
      } else {
        s *= std::exp(-(overlap * overlap) / options.sigma);
      }
      if (s < options.score_threshold) continue;
      ws.order_[out] = ws.order_[j];
      ws.rects_[out] = ws.rects_[j];
      ws.scores_[out] = s;
      ++out;
    }
    m = out;
  }
  return SoftNmsResult{std::span<const int32_t>(ws.keep_),
                       std::span<const float>(picked_scores, picked)};
}

float NmsOverlap(const Box& a, const Box& b) { return Overlap(ToRect(a), ToRect(b)); }

float BoxIou(const Box& a, const Box& b) {
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0.0f;
  const float inter = iw * ih;
  const float uni = a.Area() + b.Area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

}  // namespace edgerun::postprocess
