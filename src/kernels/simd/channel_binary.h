// Mul or Add of an f32 NHWC map [N, H, W, C] and a per-channel vector ([N or 1, 1, 1, C], or [C])
// with Highway: the squeeze-excitation scale of EfficientNet and MobileNetV3. On the oneDNN path,
// whose OpenMP workers spin between layers, a map of 256 KiB or more is split across the team in
// the element shares of the SiLU pass that wrote it (openmp_shares.h), so each core scales the part
// in its own cache; the output may take the map's buffer, whichever input the map is.
//
// XNNPACK's operator ran those scales on the calling thread and oneDNN's binary primitive was slow
// below 188 K elements: on the Intel Xeon at 2 threads, 28x28x144 took 0.018 ms on XNNPACK
// against 0.011 at 1 thread, and 0.035 on oneDNN.
//   ApplyChannelBinary(ChannelOp::kMul, x, v, y, channels, c0, n);  // y[i] = x[i] * v[(c0+i) % C]
#pragma once

#include <cstddef>
#include <span>

#include "kernels/kernel.h"

namespace edgerun {

enum class ChannelOp { kMul, kAdd };

// y[i] = x[i] op v[(c0 + i) % channels] for i < n (y may equal x), with c0 < channels: n elements
// of a map whose first element is channel c0 of a pixel.
void ApplyChannelBinary(ChannelOp op, const float* x, const float* v, float* y, size_t channels,
                        size_t c0, size_t n);

// Mul and Add of f32 maps by a vector over their last axis, at least 16 long (the channels of an
// NHWC map), on kOnednn, shared across the OpenMP team as above: one kernel per op and per input
// that holds the map, so the runtime can run each in place over the map.
std::span<const KernelDef> FastChannelBinaryKernels();

}  // namespace edgerun
