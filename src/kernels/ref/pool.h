// Reference pooling kernels: MaxPool (with optional Indices), AveragePool, LpPool and their
// Global variants.
//
// Every pool walks each (n, c) plane in 3-D form (see Window3d in conv.h) and visits the window
// taps that fall inside the input; padding never contributes a value. AveragePool divides by
// the taps inside the input, or with count_include_pad by the taps inside the padded extent.
// Usage (the kernel table in nn.cc):
//   {"MaxPool", KernelPath::kReference, kMaxPoolTypes, SupportsPool, PreparePool, InvokeMaxPool}
#pragma once

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr DTypeSet kMaxPoolTypes{DType::kF32, DType::kF64, DType::kI8, DType::kU8};
inline constexpr DTypeSet kAvgPoolTypes{DType::kF32, DType::kF64};

bool SupportsPool(const SupportContext& ctx);  // 1-3 spatial dims
Status PreparePool(PrepareContext& ctx);       // MaxPool, AveragePool, LpPool
Status InvokeMaxPool(InvokeContext& ctx);
Status InvokeAveragePool(InvokeContext& ctx);
Status InvokeLpPool(InvokeContext& ctx);

Status PrepareGlobalPool(PrepareContext& ctx);  // all three Global* ops
Status InvokeGlobalAveragePool(InvokeContext& ctx);
Status InvokeGlobalMaxPool(InvokeContext& ctx);
Status InvokeGlobalLpPool(InvokeContext& ctx);

}  // namespace edgerun
