// The geometry of a com.edgerun.nhwc ExpandDepthwiseConv node (ops/nhwc.cc), as its reference
// kernel (expand_depthwise.cc) and oneDNN's banded kernel (onednn/onednn_expand_dw.cc) both read
// it: sizes, the depthwise window, and both parts' fused activations.
//   ASSIGN_OR_RETURN(ExpandDepthwiseGeometry g, ExpandDepthwiseGeometryOf(ctx));
#pragma once

#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

struct ExpandDepthwiseGeometry {
  int64_t batch = 0, height = 0, width = 0, in_channels = 0;  // x: N, H, W, C
  int64_t channels = 0;                                       // M, expanded
  int64_t out_height = 0, out_width = 0;
  int64_t kernel = 0, stride = 1, pad_top = 0, pad_left = 0;  // square window, equal strides
  FusedActivation expand_act, act;                            // of the expansion; of the whole
};

// InvalidModel naming the node when the shapes or attributes do not describe such a node;
// Unsupported for dilations other than 1 and SAME auto_pad, which no kernel of it computes.
Expected<ExpandDepthwiseGeometry> ExpandDepthwiseGeometryOf(const PrepareContext& ctx);

}  // namespace edgerun
