// The int8 convolution of few input channels (a network's stem: 3x3 or 7x7 over an RGB image) for
// NHWC QLinearConv (com.edgerun.nhwc) on x86 CPUs with AVX-512 VNNI, ahead of oneDNN's int8
// kernel on the oneDNN path. oneDNN 2.6 ran MobileNetV2's 3x3x3 -> 32 stem at about a seventh of
// the int8 peak. In NHWC the kernel_w * C input bytes of a window row are adjacent, so an output
// pixel's window is kernel_h runs of bytes: each run is read four bytes at a time, straight from
// a copy of the window's input rows padded with the input zero point, and one vpdpbusd multiplies
// four bytes (broadcast) by 16 output channels' weights (zero past the run's end). 16 sums stay
// in registers (8 pixels x 32 output channels, 4 x 64 or 16 x 16), as in qpointwise_vnni, then
// the requantization qconv_vnni_util.h shares (bit-exact). Output rows are shared across the
// OpenMP team; each thread copies its window rows into its own share of the scratch.
// Usage (onednn_kernels.cc puts it ahead of oneDNN's QLinearConv):
//   all.push_back(FastQStemKernel(KernelPath::kOnednn));
// It claims QLinearConv nodes of group 1 without dilation, windows other than 1x1, at most
// kMaxQStemChannels input channels and kMaxQStemRowBytes bytes per window row, weights up to
// 256 KiB and the quantization qconv_vnni_util.h reads; other nodes, and CPUs without AVX-512
// VNNI, go to the next kernel.
#pragma once

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr int kMaxQStemChannels = 4;   // gray, RGB, RGBA
inline constexpr int kMaxQStemRowBytes = 32;  // kernel_w * channels: 8 four-byte steps

KernelDef FastQStemKernel(KernelPath path);

}  // namespace edgerun
