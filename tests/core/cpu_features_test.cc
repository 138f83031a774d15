// core/cpu_features: the run-time CPU queries agree with the compiler's own checks.
#include "core/cpu_features.h"

#include <gtest/gtest.h>

namespace edgerun {
namespace {

TEST(CpuFeaturesTest, AgreesWithTheCompilersChecks) {
  EXPECT_FALSE(CpuIsIntel() && CpuIsAmd());
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  EXPECT_EQ(CpuHasAvx512(),
            __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"));
  EXPECT_EQ(CpuIsIntel(), __builtin_cpu_is("intel") != 0);
  EXPECT_EQ(CpuIsAmd(), __builtin_cpu_is("amd") != 0);
#else
  EXPECT_FALSE(CpuHasAvx512());
  EXPECT_FALSE(CpuIsIntel());
#endif
}

}  // namespace
}  // namespace edgerun
