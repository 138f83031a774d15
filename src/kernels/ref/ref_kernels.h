// Reference kernel tables: portable C++, every op, the oracle for all faster paths.
// One function per source file; kernel_table.cc lists them all explicitly.
#pragma once

#include <span>

#include "kernels/kernel.h"

namespace edgerun {

std::span<const KernelDef> RefElementwiseKernels();      // ref/elementwise.cc: math, logic
std::span<const KernelDef> RefElementwiseCastKernels();  // ref/elementwise_cast.cc: Cast
std::span<const KernelDef> RefNnKernels();               // ref/nn.cc: conv, pool, gemm, norms
std::span<const KernelDef> RefTensorKernels();           // ref/tensor.cc: shape and copy ops
std::span<const KernelDef> RefTensorIndexKernels();      // ref/tensor_index.cc: gather/scatter
std::span<const KernelDef> RefResizeKernels();           // ref/resize.cc: Resize, Upsample
std::span<const KernelDef> RefReduceKernels();           // ref/reduce.cc: reductions, softmax
std::span<const KernelDef> RefTopKKernels();             // ref/topk.cc
std::span<const KernelDef> RefQuantizeKernels();         // ref/quantize.cc: Q/DQ
std::span<const KernelDef> RefQLinearKernels();          // ref/qlinear.cc: int8 conv/matmul
// ref/nhwc.cc: the NHWC-domain ops (kNhwcDomain) run through the NCHW kernels with transposes.
std::span<const KernelDef> RefNhwcKernels();
// ref/expand_depthwise.cc: com.edgerun.nhwc ExpandDepthwiseConv.
std::span<const KernelDef> RefExpandDepthwiseKernels();

}  // namespace edgerun
