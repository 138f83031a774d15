// MaxPool of NHWC tensors (f32, u8, s8; 2-D windows with any strides, dilations, pads and
// ceil_mode) with Highway: each output pixel's channels, a vector at a time, are the maximum over
// the window taps inside the input, compared as the reference does (a tap replaces the running
// maximum only when greater, so results match it bit for bit, NaN included). On the oneDNN path,
// whose OpenMP workers spin between layers, output rows are shared across the team in contiguous
// shares, so each core mostly reads the rows that it wrote as the conv before it.
//
// oneDNN's pooling primitive ran SqueezeNet's first 3x3/2 pool (111x111x64) in 0.162 ms at 2
// threads, slower than XNNPACK's 0.148 on one.
//   RunMaxPoolRows(geometry, dtype, x, y, row_begin, row_end);   // rows over batch x out_h
#pragma once

#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/ref/conv.h"

namespace edgerun {

// An NHWC max pool: batch, channels and the 2-D window as ResolveNhwcPoolWindow resolves it
// (extents, kernel, strides, dilations and pads in slots 1 and 2).
struct MaxPoolGeometry {
  int64_t batch = 0, channels = 0;
  Window3d window;
};

// Output rows [row_begin, row_end) of batch x out_h, of x [N, H, W, C] into y [N, OH, OW, C], as
// `type` (kF32, kU8 or kI8). A window without a tap inside the input gives the type's lowest
// value (-inf for f32), as the reference.
void RunMaxPoolRows(const MaxPoolGeometry& g, DType type, const void* x, void* y, int64_t row_begin,
                    int64_t row_end);

// MaxPool without an Indices output, rank-4 NHWC (kNhwcDomain), on `path` (kOnednn: shared across
// the OpenMP team as above).
KernelDef FastMaxPoolKernel(KernelPath path);

}  // namespace edgerun
