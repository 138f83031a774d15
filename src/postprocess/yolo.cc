#include "edgerun/postprocess/yolo.h"

#include <cmath>

#include <fmt/format.h>

namespace edgerun::postprocess {

Expected<std::vector<Detection>> DecodeYolo(const TensorView& output, const YoloOptions& o,
                                            NmsWorkspace& ws) {
  const bool v5 = o.version == YoloVersion::kV5;
  const char* name = v5 ? "yolov5" : "yolov8";
  if (output.dtype != DType::kF32 || output.raw == nullptr) {
    return InvalidArgument(fmt::format("{} decode: output must be a present f32 tensor", name));
  }
  if (output.rank != 2 && !(output.rank == 3 && output.dims[0] == 1)) {
    return InvalidArgument(fmt::format("{} decode: output shape {} must be [1, a, b] or [a, b]",
                                       name, DimsToString(output.shape())));
  }
  const int64_t a = output.dims[output.rank - 2], b = output.dims[output.rank - 1];
  // v5 rows are anchors (N x (5 + C)); v8 is transposed ((4 + C) x N).
  const int64_t num = v5 ? a : b;
  const int64_t values = v5 ? b : a;
  const int64_t first_class = v5 ? 5 : 4;
  if (values <= first_class || num <= 0) {
    return InvalidArgument(fmt::format(
        "{} decode: output shape {} needs {} > {} values per anchor ({}) and anchors > 0", name,
        DimsToString(output.shape()), v5 ? "the last dim" : "dim -2", first_class,
        v5 ? "cx, cy, w, h, obj, classes" : "cx, cy, w, h, classes"));
  }
  const int64_t classes = values - first_class;
  const float* data = output.data<float>();
  auto at = [&](int64_t anchor, int64_t k) {
    return v5 ? data[anchor * values + k] : data[k * num + anchor];
  };
  std::vector<Box> boxes;
  std::vector<float> scores;
  std::vector<int32_t> class_ids;
  for (int64_t i = 0; i < num; ++i) {
    const float obj = v5 ? at(i, 4) : 1.0f;
    if (std::isnan(obj))
      return InvalidArgument(fmt::format("{} decode: anchor {} objectness is NaN", name, i));
    if (v5 && !(obj > o.score_threshold)) continue;  // cheap early-out, as YOLOv5's own NMS does
    int best = -1;
    float best_score = 0;
    for (int64_t c = 0; c < classes; ++c) {
      const float s = obj * at(i, first_class + c);
      if (std::isnan(s)) {
        return InvalidArgument(
            fmt::format("{} decode: anchor {} class {} score is NaN", name, i, c));
      }
      if (!(s > o.score_threshold)) continue;
      if (o.multi_label) {
        const float cx = at(i, 0), cy = at(i, 1), w = at(i, 2), h = at(i, 3);
        boxes.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
        scores.push_back(s);
        class_ids.push_back(static_cast<int32_t>(c));
      } else if (best < 0 || s > best_score) {
        best = static_cast<int>(c);
        best_score = s;
      }
    }
    if (!o.multi_label && best >= 0) {
      const float cx = at(i, 0), cy = at(i, 1), w = at(i, 2), h = at(i, 3);
      boxes.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
      scores.push_back(best_score);
      class_ids.push_back(best);
    }
  }
  NmsOptions nms;
  nms.score_threshold = o.score_threshold;
  nms.iou_threshold = o.iou_threshold;
  nms.max_detections = o.max_detections;
  auto keep = o.class_agnostic ? Nms(boxes, scores, nms, ws)
                               : NmsPerClass(boxes, scores, class_ids, nms, ws);
  if (!keep)
    return Status(keep.status().code(),
                  fmt::format("{} decode: {}", name, keep.status().message()));
  std::vector<Detection> out;
  out.reserve(keep->size());
  for (int32_t k : *keep) {
    Detection d;
    d.box = boxes[k];
    d.score = scores[k];
    d.class_id = class_ids[k];
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace edgerun::postprocess
