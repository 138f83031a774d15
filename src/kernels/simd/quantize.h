// QuantizeLinear of f32 values with one scale and zero point (u8 or i8 out), vectorized with
// Highway: the graph-input quantization of every QDQ model, on its hot path.
//
// The reference kernel computes q = saturate(round_half_to_even(x / scale) + zero_point) with
// compares the compiler vectorizes poorly: MobileNetV2 QDQ's 3x224x224 input took 0.036 ms (2.3%
// of the int8 model at 1 thread), here 0.025 (the division is most of it), 0.018 split over 2
// threads. This one does the same float operations (a true division, NaN to the zero point, a
// clamp to the output range in scale units, then a rounding to nearest even that does not depend
// on the FP rounding mode), so results equal the reference bit for bit. The oneDNN and XNNPACK
// paths list FastQuantizeLinearKernel (their libraries quantize with a reciprocal multiply, which
// differs near ties); on the oneDNN path, whose OpenMP workers spin between layers, an input of
// 256 KiB or more is split across them.
//   QuantizeF32(x, n, scale, zero_point, DType::kU8, y)
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel.h"

namespace edgerun {

// y[i] = saturate(round_half_to_even(x[i] / scale) + zero_point) for i < n, as out_type (kU8 or
// kI8); NaN gives zero_point.
void QuantizeF32(const float* x, size_t n, float scale, int32_t zero_point, DType out_type,
                 void* y);

// QuantizeLinear with a per-tensor scale (and zero point, if any) of f32 input, on `path`
// (kOnednn or kXnnpack).
KernelDef FastQuantizeLinearKernel(KernelPath path);

}  // namespace edgerun
