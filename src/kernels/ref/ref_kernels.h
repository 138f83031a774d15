// Reference kernel families: portable C++, every op, the oracle for all faster paths.
#pragma once

#include <span>

#include "kernels/kernel.h"

namespace edgerun {

std::span<const KernelDef> RefElementwiseKernels();  // kernels/ref/elementwise.cc
std::span<const KernelDef> RefNnKernels();           // kernels/ref/nn.cc (conv.cc, pool.cc...)
std::span<const KernelDef> RefTensorKernels();       // kernels/ref/tensor.cc
std::span<const KernelDef> RefReduceKernels();       // kernels/ref/reduce.cc

}  // namespace edgerun
