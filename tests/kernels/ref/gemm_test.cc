// The blocked f32 GEMM (kernels/ref/gemm.cc) against a naive double-precision triple loop:
// all transpose combinations, alpha/beta, odd sizes around the block edges, strided (ld > cols)
// operands, with and without a threadpool.
#include "kernels/ref/gemm.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <random>
#include <vector>

namespace edgerun {
namespace {

struct Case {
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
};

// Fills op(A) (m x k) and op(B) (k x n) stored with padding columns, runs Sgemm and compares.
void CheckCase(const Case& c, pthreadpool_t pool, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int64_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  const int64_t lda = a_cols + 3, ldb = b_cols + 1, ldc = c.n + 2;
  std::vector<float> a(a_rows * lda), b(b_rows * ldb), y(c.m * ldc);
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  for (float& v : y) v = dist(rng);
  std::vector<float> y0 = y;
  Sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, y.data(), ldc,
        pool);
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < c.k; ++p) {
        const double av = c.ta ? a[p * lda + i] : a[i * lda + p];
        const double bv = c.tb ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      const double want = c.alpha * acc + (c.beta == 0 ? 0.0 : c.beta * y0[i * ldc + j]);
      ASSERT_NEAR(y[i * ldc + j], want, 1e-4 * (1 + std::abs(want)) + 1e-4 * std::sqrt(c.k))
          << "ta=" << c.ta << " tb=" << c.tb << " m=" << c.m << " n=" << c.n << " k=" << c.k
          << " at (" << i << "," << j << ")";
    }
    // Padding columns of C are never touched.
    for (int64_t j = c.n; j < ldc; ++j) ASSERT_EQ(y[i * ldc + j], y0[i * ldc + j]);
  }
}

const Case kCases[] = {
    {false, false, 1, 1, 1, 1.0f, 0.0f},      {false, false, 7, 9, 5, 1.0f, 0.0f},
    {true, false, 13, 17, 300, 0.5f, 1.0f},   {false, true, 73, 31, 257, 1.0f, 0.25f},
    {true, true, 6, 8, 256, -2.0f, 0.0f},     {false, false, 150, 300, 70, 1.0f, 0.0f},
    {false, false, 72, 256, 512, 1.0f, 1.0f}, {true, true, 97, 263, 129, 1.5f, -0.5f},
    {false, false, 1, 500, 600, 1.0f, 0.0f},  {false, true, 300, 1, 33, 1.0f, 0.0f},
};

TEST(SgemmTest, MatchesNaiveSingleThreaded) {
  uint32_t seed = 1;
  for (const Case& c : kCases) CheckCase(c, nullptr, seed++);
}

TEST(SgemmTest, MatchesNaiveWithThreadpool) {
  pthreadpool_t pool = pthreadpool_create(2);
  ASSERT_NE(pool, nullptr);
  uint32_t seed = 100;
  for (const Case& c : kCases) CheckCase(c, pool, seed++);
  pthreadpool_destroy(pool);
}

TEST(SgemmTest, BetaZeroIgnoresNaNInOutput) {
  std::vector<float> a = {1, 2, 3, 4}, b = {1, 0, 0, 1}, y(4, NAN);
  Sgemm(false, false, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, y.data(), 2, nullptr);
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4}));
}

TEST(SgemmTest, EmptyDepthScalesC) {
  std::vector<float> y = {1, 2, 3};
  Sgemm(false, false, 1, 3, 0, 1.0f, nullptr, 1, nullptr, 3, 2.0f, y.data(), 3, nullptr);
  EXPECT_EQ(y, (std::vector<float>{2, 4, 6}));
}

TEST(GemmGenericTest, MatchesHandComputedProduct) {
  const std::vector<int64_t> a = {1, 2, 3, 4, 5, 6};  // 2x3
  const std::vector<int64_t> b = {1, 0, 0, 1, 1, 1};  // 3x2
  std::vector<int64_t> y(4, 7);
  GemmGeneric<int64_t>(false, false, 2, 2, 3, 1, a.data(), 3, b.data(), 2, 1, y.data(), 2);
  EXPECT_EQ(y, (std::vector<int64_t>{1 + 3 + 7, 2 + 3 + 7, 4 + 6 + 7, 5 + 6 + 7}));
  // Transposed A (stored 3x2) and B (stored 2x3).
  const std::vector<double> at = {1, 4, 2, 5, 3, 6}, bt = {1, 0, 1, 0, 1, 1};
  std::vector<double> z(4);
  GemmGeneric<double>(true, true, 2, 2, 3, 2.0, at.data(), 2, bt.data(), 3, 0.0, z.data(), 2);
  EXPECT_EQ(z, (std::vector<double>{8, 10, 20, 22}));
}

}  // namespace
}  // namespace edgerun
