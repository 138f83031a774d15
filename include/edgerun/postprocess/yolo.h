// YOLO head decoding: YOLOv5 style (N x (5 + C): cx, cy, w, h, objectness, class scores) and
// YOLOv8 style (transposed (4 + C) x N: cx, cy, w, h, class scores, no objectness), followed by
// NMS (class-aware by default, identical to OpenCV's NMSBoxes per class).
//
// Score is objectness * class score (v5) or the class score (v8); per anchor the best class is
// taken (or every class above the threshold with multi_label). Boxes stay in tensor pixels.
//   YoloOptions opt{.version = YoloVersion::kV8};
//   ASSIGN_OR_RETURN(auto dets, DecodeYolo(session->output(0), opt, ws));
//   MapToSource(dets, pre.transform(), frame_w, frame_h);
#pragma once

#include <span>
#include <vector>

#include "edgerun/postprocess/detection.h"
#include "edgerun/postprocess/nms.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun::postprocess {

enum class YoloVersion { kV5, kV8 };

struct YoloOptions {
  YoloVersion version = YoloVersion::kV5;
  float score_threshold = 0.25f;
  float iou_threshold = 0.45f;
  int max_detections = 300;
  bool class_agnostic = false;  // one NMS over all classes instead of per class
  bool multi_label = false;     // a candidate per (anchor, class) above the threshold
};

// output: f32, [1, N, 5 + C] or [N, 5 + C] for v5; [1, 4 + C, N] or [4 + C, N] for v8.
// Errors name the shape that does not fit.
Expected<std::vector<Detection>> DecodeYolo(const TensorView& output, const YoloOptions& options,
                                            NmsWorkspace& ws);

}  // namespace edgerun::postprocess
