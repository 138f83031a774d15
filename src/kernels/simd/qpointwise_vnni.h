// The int8 1x1 convolution of NHWC QLinearConv (com.edgerun.nhwc) on x86 CPUs with AVX-512 VNNI,
// ahead of oneDNN's int8 kernel on the oneDNN path. MobileNet-style expansions (16 -> 96 channels
// on 112x112) do few multiply-adds per output, and oneDNN 2.6's 1x1 kernel ran them at about a
// fifth of the int8 peak. Here a block of output channels keeps its weights in L1 while each
// pixel's input channels are broadcast four at a time: 16 sums stay in registers (4 pixels x 64
// output channels, 8 x 32 or 16 x 16), one vpdpbusd per four input channels and 16 outputs, then
// the requantization qconv_vnni_util.h shares (bit-exact). QLinearConvAdd (a residual add fused
// in) adds each pixel's residual to the rounded conv values before packing, as the reference
// does, and may write over the residual. Pixels are shared across the OpenMP team.
// Usage (onednn_kernels.cc puts it ahead of oneDNN's QLinearConv):
//   for (const KernelDef& k : FastQPointwiseKernels(KernelPath::kOnednn)) all.push_back(k);
// It claims 1x1 QLinearConv nodes at stride 1 without padding and group 1, with a multiple of 4
// input channels up to kMaxQPointwiseInputChannels (beyond 64, and with a residual: of 16),
// weights up to 256 KiB and the quantization qconv_vnni_util.h reads; other nodes, and CPUs
// without AVX-512 VNNI, go to the next kernel (qpointwise_vnni.cc says where oneDNN's was
// faster).
#pragma once

#include <array>

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr int kMaxQPointwiseInputChannels = 384;

// QLinearConv, and QLinearConvAdd (the residual add fused in, passes/fuse_qlinear_residual.cc).
std::array<KernelDef, 2> FastQPointwiseKernels(KernelPath path);

}  // namespace edgerun
