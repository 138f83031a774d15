// Reference normalization kernels: BatchNormalization (inference and training mode),
// InstanceNormalization, LRN, LayerNormalization and MeanVarianceNormalization.
//
// Statistics are accumulated in double and applied as one multiply-add per element
// (y = x * scale' + shift' with the per-group scale' and shift' folded first).
// Usage (the kernel table in nn.cc):
//   {"LRN", KernelPath::kReference, kNormTypes, nullptr, PrepareLrn, InvokeLrn}
#pragma once

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr DTypeSet kNormTypes{DType::kF32, DType::kF64};

Status PrepareBatchNorm(PrepareContext& ctx);
Status InvokeBatchNorm(InvokeContext& ctx);
Status PrepareInstanceNorm(PrepareContext& ctx);
Status InvokeInstanceNorm(InvokeContext& ctx);
Status PrepareLrn(PrepareContext& ctx);
Status InvokeLrn(InvokeContext& ctx);
Status PrepareLayerNorm(PrepareContext& ctx);
Status InvokeLayerNorm(InvokeContext& ctx);
Status PrepareMvn(PrepareContext& ctx);
Status InvokeMvn(InvokeContext& ctx);

}  // namespace edgerun
