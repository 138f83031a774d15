// Dense matrix multiply for the reference kernels (Conv, Gemm, MatMul, FusedMatMul).
//
// Sgemm is a cache-blocked f32 GEMM in the BLIS style: op(B) is packed into KC x NC blocks and
// op(A) into MC x KC blocks (both on the stack, so no heap), and a register-tiled MR x NR
// micro-kernel written in plain C++ (auto-vectorized) accumulates each tile. With a threadpool,
// independent (N block, M range) tiles run in parallel. GemmGeneric is the plain loop used for
// the other dtypes (f64, integers), where speed matters little.
// Usage:
//   // C[M,N] = 1.0 * A[M,K] * B[K,N] + 0.0 * C
//   Sgemm(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N, /*threadpool=*/nullptr);
#pragma once

#include <cstdint>

typedef struct pthreadpool* pthreadpool_t;

namespace edgerun {

// Row-major C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. op(A) is M x K, op(B) is
// K x N. A is read as [M, lda] (or [K, lda] when ta), B as [K, ldb] (or [N, ldb] when tb).
// When beta == 0, C is not read (it may hold NaNs). Never allocates.
void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
           pthreadpool_t threadpool);

// The same contract for any arithmetic T, with a straightforward i-k-j loop.
template <typename T>
void GemmGeneric(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                 int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    if (beta == T(0)) {
      for (int64_t j = 0; j < n; ++j) crow[j] = T(0);
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < n; ++j) crow[j] *= beta;
    }
    for (int64_t p = 0; p < k; ++p) {
      const T av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
      if (tb) {
        for (int64_t j = 0; j < n; ++j) crow[j] += av * b[j * ldb + p];
      } else {
        const T* brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
      }
    }
  }
}

}  // namespace edgerun
