// Segmentation masks from a model output: per-pixel argmax over classes, or a threshold on a
// single-channel (or chosen-channel) probability map; NCHW or NHWC f32 input, batch 1.
//   ASSIGN_OR_RETURN(SegMask m, ArgmaxMask(session->output(0), SegLayout::kNCHW));
//   uint8_t cls = m.labels[y * m.width + x];
//   ASSIGN_OR_RETURN(SegMask fg, ThresholdMask(session->output(0), SegLayout::kNCHW, 0, 0.5f));
#pragma once

#include <cstdint>
#include <vector>

#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun::postprocess {

enum class SegLayout { kNCHW, kNHWC };

struct SegMask {
  int width = 0;
  int height = 0;
  std::vector<int32_t> labels;  // height x width, row-major
};

// output: f32 [1, C, H, W] (NCHW) or [1, H, W, C] (NHWC), or rank 3 without the batch dim.
// Ties go to the lower class index.
Expected<SegMask> ArgmaxMask(const TensorView& output, SegLayout layout);

// labels = 1 where channel `channel` > threshold, else 0.
Expected<SegMask> ThresholdMask(const TensorView& output, SegLayout layout, int channel,
                                float threshold);

}  // namespace edgerun::postprocess
