// The int8 1x1 convolution of NHWC QLinearConv (com.edgerun.nhwc) with few input channels, on x86
// CPUs with AVX-512 VNNI, ahead of oneDNN's int8 kernel on the oneDNN path. MobileNet-style
// expansions (16 -> 96 channels on 112x112) do few multiply-adds per output, and oneDNN 2.6's
// 1x1 kernel ran them at about a fifth of the int8 peak. Here the weights of all output channels
// stay in L1 and each pixel's input channels are broadcast four at a time: per pair of pixels and
// 64 output channels, one vpdpbusd per four input channels and 16 outputs, then the reference's
// requantization (bit-exact, qconv_vnni_util.h) and a pack to 64 bytes. Pixels are shared across
// the OpenMP team.
// Usage (onednn_kernels.cc puts it ahead of oneDNN's QLinearConv):
//   all.push_back(FastQPointwiseKernel(KernelPath::kOnednn));
// It claims 1x1 QLinearConv nodes at stride 1 without padding and group 1, with a multiple of 4
// input channels up to kMaxQPointwiseInputChannels and a multiple of 16 output channels, and the
// quantization qconv_vnni_util.h reads; other nodes, and CPUs without AVX-512 VNNI, go to the
// next kernel.
#pragma once

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr int kMaxQPointwiseInputChannels = 64;

KernelDef FastQPointwiseKernel(KernelPath path);

}  // namespace edgerun
