#include "core/cpu_features.h"

#include <unistd.h>

namespace edgerun {

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return has;
}
bool CpuHasAvx512Vnni() {
  static const bool has = CpuHasAvx512() && __builtin_cpu_supports("avx512vnni");
  return has;
}
bool CpuIsIntel() {
  static const bool intel = __builtin_cpu_is("intel");
  return intel;
}
bool CpuIsAmd() {
  static const bool amd = __builtin_cpu_is("amd");
  return amd;
}
#else
bool CpuHasAvx512() { return false; }
bool CpuHasAvx512Vnni() { return false; }
bool CpuIsIntel() { return false; }
bool CpuIsAmd() { return false; }
#endif

size_t CpuL2CacheBytes() {
  static const size_t bytes = [] {
#ifdef _SC_LEVEL2_CACHE_SIZE
    const long reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (reported > 0) return static_cast<size_t>(reported);
#endif
    return static_cast<size_t>(1) << 20;
  }();
  return bytes;
}

}  // namespace edgerun
