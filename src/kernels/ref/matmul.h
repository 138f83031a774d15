// Reference matrix-product kernels: MatMul, Gemm and edgerun's FusedMatMul.
//
// All three reduce to Sgemm (f32) or GemmGeneric (other dtypes) per batch. MatMul broadcasts
// batch dims numpy-style, with offsets per batch precomputed in prepare; when B has no batch
// dims the batches of a contiguous A fold into one tall GEMM. Gemm writes beta * C (broadcast)
// into Y first and accumulates alpha * A * B on top. FusedMatMul adds a bias along the last dim
// and applies the fused activation, as does Gemm when the fusion pass gave it one.
// Usage (the kernel table in nn.cc):
//   {"MatMul", KernelPath::kReference, kMatMulTypes, nullptr, PrepareMatMul, InvokeMatMul}
#pragma once

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr DTypeSet kMatMulTypes{DType::kF32, DType::kF64, DType::kI32,
                                       DType::kI64, DType::kU32, DType::kU64};

Status PrepareMatMul(PrepareContext& ctx);  // MatMul and FusedMatMul
Status InvokeMatMul(InvokeContext& ctx);

Status PrepareGemm(PrepareContext& ctx);
Status InvokeGemm(InvokeContext& ctx);

}  // namespace edgerun
