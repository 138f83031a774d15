// GlobalAveragePool of f32 NHWC tensors with Highway: per image, each channel's mean over the
// pixels. On the oneDNN path, whose OpenMP workers spin between layers, a map of 256 KiB or more
// is summed in one contiguous share of pixels per thread, split as the layer before it split its
// writes (a conv's SiLU pass, ForEachShare), so each core reads the part in its own cache; the
// calling thread then adds the shares' sums.
//
// oneDNN's pooling primitive took twice as long at 2 threads as at 1 on EfficientNet-B0's
// squeeze-excitation pools (0.38 against 0.18 ms for its 17 on the Intel Xeon), reading half of
// each map from the other core's cache, and creating its 17 primitives took 0.7 ms of the load.
//   AddChannelSums(x, pixels, channels, sums);   // sums[c] += x[p * channels + c] for every p
#pragma once

#include <cstddef>

#include "kernels/kernel.h"

namespace edgerun {

// sums[c] += the sum over p < pixels of x[p * channels + c], for c < channels. Pixels are added
// in blocks (each block's sum in float, then added to sums), which keeps the rounding error of a
// 160x160 map near that of a 256-pixel one.
void AddChannelSums(const float* x, size_t pixels, size_t channels, float* sums);

// GlobalAveragePool of rank-4 f32 NHWC input (kNhwcDomain) on `path` (on kOnednn shared across the
// OpenMP team as above; elsewhere on the calling thread).
KernelDef FastGlobalAveragePoolKernel(KernelPath path);

}  // namespace edgerun
