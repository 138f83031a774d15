#include "core/denormals.h"

#include <pthreadpool.h>

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <xmmintrin.h>
#define EDGERUN_DENORMALS_X86 1
#elif defined(__aarch64__)
#define EDGERUN_DENORMALS_AARCH64 1
#endif

namespace edgerun {
namespace {

#if EDGERUN_DENORMALS_X86
constexpr unsigned kFlushToZero = 1u << 15;      // MXCSR.FTZ: subnormal results become zero
constexpr unsigned kDenormalsAreZero = 1u << 6;  // MXCSR.DAZ: subnormal inputs read as zero
constexpr unsigned kBoth = kFlushToZero | kDenormalsAreZero;
#elif EDGERUN_DENORMALS_AARCH64
constexpr uint64_t kFpcrFz = uint64_t{1} << 24;  // FPCR.FZ covers inputs and results
#endif

}  // namespace

bool FlushDenormalsSupported() {
#if EDGERUN_DENORMALS_X86 || EDGERUN_DENORMALS_AARCH64
  return true;
#else
  return false;
#endif
}

bool SetFlushDenormals(bool on) {
#if EDGERUN_DENORMALS_X86
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? (csr | kBoth) : (csr & ~kBoth));
  return (csr & kBoth) == kBoth;
#elif EDGERUN_DENORMALS_AARCH64
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  const uint64_t next = on ? (fpcr | kFpcrFz) : (fpcr & ~kFpcrFz);
  __asm__ __volatile__("msr fpcr, %0" : : "r"(next));
  return (fpcr & kFpcrFz) != 0;
#else
  (void)on;
  return false;
#endif
}

bool FlushingDenormals() {
#if EDGERUN_DENORMALS_X86
  return (_mm_getcsr() & kBoth) == kBoth;
#elif EDGERUN_DENORMALS_AARCH64
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  return (fpcr & kFpcrFz) != 0;
#else
  return false;
#endif
}

uint32_t ThreadpoolFlagsForThisThread() {
  return FlushingDenormals() ? PTHREADPOOL_FLAG_DISABLE_DENORMALS : 0;
}

}  // namespace edgerun
