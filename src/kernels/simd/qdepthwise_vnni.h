// The int8 depthwise convolution of NHWC QLinearConv (com.edgerun.nhwc) on x86 CPUs with AVX-512
// VNNI, ahead of oneDNN's int8 kernel on the oneDNN path. oneDNN 2.6 widens every input byte to
// 32 bits and multiplies one tap per instruction; its int8 depthwise layers ran no faster than
// its fp32 ones. Here a vpdpbusd lane sums four window rows of one channel: for each output row
// (3-row windows at stride 1: each pair of rows) the input columns are gathered once, four rows
// interleaved byte- and word-wise into 64-byte vectors, and an output pixel then takes one
// vpdpbusd per window column for 16 channels. The int32 sums are requantized as the reference
// does (float(acc) * multiplier, clamp, round half to even, + zero point; bit-exact) and packed
// back to bytes by the inverse interleave. Padding reads the input zero point, which contributes
// nothing once the bias absorbs x_zp * sum(w). Output rows are shared across the OpenMP team;
// each thread gathers into its own share of the scratch.
// Usage (onednn_kernels.cc puts it ahead of oneDNN's QLinearConv):
//   all.push_back(FastQDepthwiseKernel(KernelPath::kOnednn));
// It claims QLinearConv nodes with group == input channels == output channels (64 or more, or 32;
// a channel count off the 64-channel blocks only at stride 1), u8/s8 activations, s8 weights with
// zero point 0, constant weights, bias, scales and zero points (per-tensor activation
// parameters), Relu/Clip, windows up to kMaxQDepthwiseSide a side; other nodes, and CPUs without
// AVX-512 VNNI, go to the next kernel (qdepthwise_vnni.cc says where oneDNN's was as fast).
#pragma once

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr int kMaxQDepthwiseSide = 8;  // window rows and columns

KernelDef FastQDepthwiseKernel(KernelPath path);

}  // namespace edgerun
