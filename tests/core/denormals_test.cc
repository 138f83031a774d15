// Flush-to-zero of subnormal floats (src/core/denormals.h) on the calling thread and on
// pthreadpool workers that inherit the caller's mode.
#include "core/denormals.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cstring>
#include <vector>

namespace edgerun {
namespace {

// 1e-30 * 1e-10 = 1e-40, below FLT_MIN (1.18e-38): a subnormal result, or 0 when flushing.
float SubnormalProduct() {
  volatile float a = 1e-30f, b = 1e-10f;
  return a * b;
}

TEST(DenormalsTest, FlushModeChangesArithmeticAndScopeRestoresIt) {
  if (!FlushDenormalsSupported()) GTEST_SKIP() << "no flush-to-zero control on this CPU";
  SetFlushDenormals(false);
  EXPECT_FALSE(FlushingDenormals());
  EXPECT_NE(SubnormalProduct(), 0.0f);
  {
    const ScopedFlushDenormals flush(true);
    EXPECT_TRUE(FlushingDenormals());
    EXPECT_EQ(SubnormalProduct(), 0.0f);
    volatile float subnormal = 0;
    const uint32_t bits = 1;  // the smallest subnormal, read as an input (DAZ)
    std::memcpy(const_cast<float*>(&subnormal), &bits, sizeof(bits));
    EXPECT_EQ(subnormal * 1.0f, 0.0f);
  }
  EXPECT_FALSE(FlushingDenormals());  // restored
  EXPECT_NE(SubnormalProduct(), 0.0f);
  { const ScopedFlushDenormals off(false); }  // disabled: touches nothing
  EXPECT_FALSE(FlushingDenormals());
  EXPECT_TRUE(SetFlushDenormals(false) == false);
}

struct Products {
  std::vector<float> out;
};

void ProductTask(void* context, size_t i) {
  static_cast<Products*>(context)->out[i] = SubnormalProduct();
}

TEST(DenormalsTest, ThreadpoolWorkersFollowTheCaller) {
  if (!FlushDenormalsSupported()) GTEST_SKIP() << "no flush-to-zero control on this CPU";
  pthreadpool_t pool = pthreadpool_create(2);
  ASSERT_NE(pool, nullptr);
  Products p{std::vector<float>(64, -1.0f)};
  {
    const ScopedFlushDenormals flush(true);
    EXPECT_NE(ThreadpoolFlagsForThisThread(), 0u);
    pthreadpool_parallelize_1d(pool, ProductTask, &p, p.out.size(), ThreadpoolFlagsForThisThread());
  }
  for (float v : p.out) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(ThreadpoolFlagsForThisThread(), 0u);
  pthreadpool_parallelize_1d(pool, ProductTask, &p, p.out.size(), ThreadpoolFlagsForThisThread());
  for (float v : p.out) EXPECT_NE(v, 0.0f);  // the workers were left as they were
  pthreadpool_destroy(pool);
}

}  // namespace
}  // namespace edgerun
