// Matrix-vector products of f32 with Highway, for a batch-1 classifier (Gemm, MatMul, FusedMatMul
// with one row of A and a constant 2-D B) and a squeeze-excitation FC (a 1x1 Conv of one pixel):
// B is read where it lies, in the model file, at any alignment, so nothing is packed at load.
// Every element of B is read once per run whatever its layout, so a packed copy made the run no
// faster, and packing cost the load 2-9 ms (MobileNetV2's 1280x1000: 2.7 ms; ResNet-50's
// 2048x1000: 8.8 ms, Intel Xeon). The exception is a B [n][k] with rows under 64 floats, whose dot
// products would be mostly horizontal sums: it is transposed to [k][n] at prepare.
//   DotRows(b, k, x, 0, n, y);             // B [n][k]: y[r] = sum_i x[i] * B[r][i]
//   AccumulateColumns(b, k, n, x, 0, n, y);  // B [k][n]: y[c] = sum_i x[i] * B[i][c]
#pragma once

#include <cstddef>
#include <span>

#include "kernels/kernel.h"

namespace edgerun {

// y[r - begin] for rows r in [begin, end) of B [rows][k] (row-major floats at `b`, any alignment).
void DotRows(const std::byte* b, size_t k, const float* x, size_t begin, size_t end, float* y);

// y[c - begin] for columns c in [begin, end) of B [k][n] (row-major floats at `b`, any alignment).
void AccumulateColumns(const std::byte* b, size_t k, size_t n, const float* x, size_t begin,
                       size_t end, float* y);

// Gemm, MatMul and FusedMatMul (com.edgerun) whose A has one row and whose B is a constant
// matrix, and 1x1 Convs (kNhwcDomain) of a one-pixel map (squeeze-excitation FCs, weights
// [n, k, 1, 1] as B [n][k]), on `path`: on kOnednn the output columns are shared across the OpenMP
// team when the session's workers spin between layers (openmp_shares.h), elsewhere it runs on the
// calling thread.
std::span<const KernelDef> FastMatVecKernels(KernelPath path);

}  // namespace edgerun
