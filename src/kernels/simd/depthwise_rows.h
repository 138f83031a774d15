// A depthwise 2-D convolution over a range of output rows, NHWC float, with Highway (compiled for
// several instruction sets, picked at run time, like silu.h). The banded ExpandDepthwiseConv
// kernel (kernels/onednn/onednn_expand_dw.cc) runs it on each band of expanded rows while they are
// still in cache; the input holds only the rows that band reads.
//   DepthwiseRowsArgs a{...};
//   DepthwiseRows(a, out_row_begin, out_row_end, y + out_row_begin * out_width * channels);
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgerun {

inline constexpr int kMaxDepthwiseKernel = 5;

struct DepthwiseRowsArgs {
  // Image rows [first_row, first_row + rows) of an input [height, width, channels]; the rows the
  // requested output rows read (inside the image) must all be there.
  const float* input = nullptr;
  int64_t first_row = 0, rows = 0;
  int64_t height = 0, width = 0, channels = 0;
  int64_t out_width = 0;
  // A square window of 1 to kMaxDepthwiseKernel taps a side, any stride, no dilation. 3x3 and 5x5
  // at stride 1 or 2 have unrolled code; the rest runs a general loop.
  int kernel = 3, stride = 1, pad_top = 0, pad_left = 0;
  // Weights [kernel * kernel][padded_channels] and bias [padded_channels] (zeros when the conv
  // has none), padded_channels a multiple of 16, the padding zero.
  const float* weights = nullptr;
  const float* bias = nullptr;
  int64_t padded_channels = 0;
  // Each result is clamped to [lo, hi] (Relu: 0, inf; Clip; none: -inf, inf).
  float lo = 0, hi = 0;
};

// Output rows [row_begin, row_end) into `out` (row_begin's first element), [rows][out_width]
// [channels] contiguous.
void DepthwiseRows(const DepthwiseRowsArgs& a, int64_t row_begin, int64_t row_end, float* out);

}  // namespace edgerun
