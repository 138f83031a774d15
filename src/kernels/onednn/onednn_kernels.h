// oneDNN kernel table: primitives created (and weights reordered) in prepare, executed with
// user-provided scratchpads so a run never asks oneDNN for memory. Threads with OpenMP (the
// Debian build); onednn_backend.cc sizes the team per session and per run.
//
// Each family file (onednn_conv.cc, onednn_pool.cc, ...) returns its own table; OnednnKernels()
// concatenates them for kernel_table.cc.
// Usage:
//   for (const KernelDef& k : OnednnKernels()) ...
#pragma once

#include <span>

#include "kernels/kernel.h"

namespace edgerun {

std::span<const KernelDef> OnednnKernels();

// The families, one per file.
std::span<const KernelDef> OnednnConvKernels();       // NHWC Conv, ConvTranspose (f32)
std::span<const KernelDef> OnednnPoolKernels();       // NHWC MaxPool, AveragePool, Global*Pool
std::span<const KernelDef> OnednnMatMulKernels();     // MatMul, Gemm, FusedMatMul (f32)
std::span<const KernelDef> OnednnQConvKernels();      // NHWC QLinearConv (u8/s8)
std::span<const KernelDef> OnednnQMatMulKernels();    // QLinearMatMul (u8/s8)
std::span<const KernelDef> OnednnTransposeKernels();  // Transpose, ChannelShuffle (interleave)
std::span<const KernelDef> OnednnBinaryKernels();     // 4-D Mul, Add (f32), shared by threads
std::span<const KernelDef> OnednnExpandDepthwiseKernels();  // NHWC ExpandDepthwiseConv (f32)

}  // namespace edgerun
