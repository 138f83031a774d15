#include "kernels/ref/gemm.h"

#include <pthreadpool.h>

#include <algorithm>
#include <cstddef>

#include "core/denormals.h"

namespace edgerun {
namespace {

// Micro-tile: 6 x 8 floats of accumulators fit the 16 SSE registers of baseline x86-64 with room
// for the B row and the A broadcast; wider ISAs simply get more slack.
constexpr int kMr = 6;
constexpr int kNr = 8;
// KC x NR of B (8 KB) stays in L1 while a MC x KC block of A (72 KB) streams from L2. The two
// packing buffers (200 KB) live on the stack of whichever thread runs a task.
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 72;
constexpr int64_t kNc = 128;

// acc = Ap(kc x MR panel) * Bp(kc x NR panel); then C[mr x nr] = alpha * acc + beta * C.
// The full-tile store is separate so the common case has no per-element bounds checks.
void MicroKernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, float alpha,
                 float beta, float* __restrict c, int64_t ldc, int mr, int nr) {
  float acc[kMr][kNr] = {};
  // Unrolling only the row loop leaves an 8-wide inner loop that GCC vectorizes at -O2 and -O3
  // alike while keeping acc in registers (fully unrolling both defeats the -O3 vectorizer).
  for (int64_t p = 0; p < kc; ++p) {
    const float* ak = ap + p * kMr;
    const float* bk = bp + p * kNr;
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i) {
      const float av = ak[i];
      for (int j = 0; j < kNr; ++j) acc[i][j] += av * bk[j];
    }
  }
  if (mr == kMr && nr == kNr) {
    if (beta == 0.0f) {
#pragma GCC unroll 8
      for (int i = 0; i < kMr; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < kNr; ++j) c[i * ldc + j] = alpha * acc[i][j];
      }
    } else {
#pragma GCC unroll 8
      for (int i = 0; i < kMr; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < kNr; ++j) c[i * ldc + j] = alpha * acc[i][j] + beta * c[i * ldc + j];
      }
    }
    return;
  }
  for (int i = 0; i < mr; ++i) {
    for (int j = 0; j < nr; ++j) {
      c[i * ldc + j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[i * ldc + j];
    }
  }
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] into MR-row panels, k-major inside a panel, zero-padded.
void PackA(bool ta, const float* a, int64_t lda, int64_t i0, int64_t p0, int64_t mc, int64_t kc,
           float* __restrict out) {
  for (int64_t ir = 0; ir < mc; ir += kMr) {
    const int rows = static_cast<int>(std::min<int64_t>(kMr, mc - ir));
    float* panel = out + ir * kc;
    if (!ta) {
      for (int i = 0; i < kMr; ++i) {
        if (i < rows) {
          const float* src = a + (i0 + ir + i) * lda + p0;
          for (int64_t p = 0; p < kc; ++p) panel[p * kMr + i] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) panel[p * kMr + i] = 0.0f;
        }
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0 + ir;
        for (int i = 0; i < kMr; ++i) panel[p * kMr + i] = i < rows ? src[i] : 0.0f;
      }
    }
  }
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] into NR-column panels, k-major inside a panel, zero-padded.
void PackB(bool tb, const float* b, int64_t ldb, int64_t p0, int64_t j0, int64_t kc, int64_t nc,
           float* __restrict out) {
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    const int cols = static_cast<int>(std::min<int64_t>(kNr, nc - jr));
    float* panel = out + jr * kc;
    if (!tb) {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = b + (p0 + p) * ldb + j0 + jr;
        if (cols == kNr) {
          for (int j = 0; j < kNr; ++j) panel[p * kNr + j] = src[j];
        } else {
          for (int j = 0; j < kNr; ++j) panel[p * kNr + j] = j < cols ? src[j] : 0.0f;
        }
      }
    } else {
      for (int j = 0; j < kNr; ++j) {
        if (j < cols) {
          const float* src = b + (j0 + jr + j) * ldb + p0;
          for (int64_t p = 0; p < kc; ++p) panel[p * kNr + j] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) panel[p * kNr + j] = 0.0f;
        }
      }
    }
  }
}

struct GemmArgs {
  bool ta, tb;
  int64_t m, n, k;
  float alpha;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
  int64_t n_blocks;  // ceil(n / kNc)
  int64_t m_splits;  // tasks per N block, each taking a contiguous range of MC blocks
};

// One task: N block `task / m_splits`, the `task % m_splits`-th share of the MC blocks.
void GemmTask(const GemmArgs& g, int64_t task) {
  alignas(64) float packed_b[kKc * kNc];
  alignas(64) float packed_a[kMc * kKc];
  const int64_t jb = task / g.m_splits;
  const int64_t split = task % g.m_splits;
  const int64_t m_blocks = (g.m + kMc - 1) / kMc;
  const int64_t mb_begin = m_blocks * split / g.m_splits;
  const int64_t mb_end = m_blocks * (split + 1) / g.m_splits;
  if (mb_begin >= mb_end) return;
  const int64_t j0 = jb * kNc;
  const int64_t nc = std::min(kNc, g.n - j0);
  for (int64_t p0 = 0; p0 < g.k; p0 += kKc) {
    const int64_t kc = std::min(kKc, g.k - p0);
    const float beta = p0 == 0 ? g.beta : 1.0f;
    PackB(g.tb, g.b, g.ldb, p0, j0, kc, nc, packed_b);
    for (int64_t mb = mb_begin; mb < mb_end; ++mb) {
      const int64_t i0 = mb * kMc;
      const int64_t mc = std::min(kMc, g.m - i0);
      PackA(g.ta, g.a, g.lda, i0, p0, mc, kc, packed_a);
      for (int64_t jr = 0; jr < nc; jr += kNr) {
        const int nr = static_cast<int>(std::min<int64_t>(kNr, nc - jr));
        for (int64_t ir = 0; ir < mc; ir += kMr) {
          const int mr = static_cast<int>(std::min<int64_t>(kMr, mc - ir));
          MicroKernel(kc, packed_a + ir * kc, packed_b + jr * kc, g.alpha, beta,
                      g.c + (i0 + ir) * g.ldc + j0 + jr, g.ldc, mr, nr);
        }
      }
    }
  }
}

void GemmTaskThunk(void* context, size_t task) {
  GemmTask(*static_cast<const GemmArgs*>(context), static_cast<int64_t>(task));
}

}  // namespace

void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
           pthreadpool_t threadpool) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    }
    return;
  }
  GemmArgs g{ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, (n + kNc - 1) / kNc, 1};
  const size_t threads = threadpool != nullptr ? pthreadpool_get_threads_count(threadpool) : 1;
  // Small products are not worth waking the pool for.
  if (threads <= 1 || m * n * k < (int64_t{1} << 18)) {
    for (int64_t t = 0; t < g.n_blocks; ++t) GemmTask(g, t);
    return;
  }
  const int64_t m_blocks = (m + kMc - 1) / kMc;
  const int64_t want = static_cast<int64_t>(threads) * 2;
  g.m_splits = std::clamp<int64_t>((want + g.n_blocks - 1) / g.n_blocks, 1, m_blocks);
  pthreadpool_parallelize_1d(threadpool, GemmTaskThunk, &g,
                             static_cast<size_t>(g.n_blocks * g.m_splits),
                             ThreadpoolFlagsForThisThread());
}

}  // namespace edgerun
