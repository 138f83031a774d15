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

// The thread's floating-point control register and the bits that make it flush.
#if EDGERUN_DENORMALS_X86
// MXCSR.FTZ (bit 15): subnormal results become zero; MXCSR.DAZ (bit 6): subnormal inputs read
// as zero.
constexpr uint64_t kFlushBits = (uint64_t{1} << 15) | (uint64_t{1} << 6);
uint64_t ReadControl() { return _mm_getcsr(); }
void WriteControl(uint64_t v) { _mm_setcsr(static_cast<unsigned>(v)); }
#elif EDGERUN_DENORMALS_AARCH64
constexpr uint64_t kFlushBits = uint64_t{1} << 24;  // FPCR.FZ covers inputs and results
uint64_t ReadControl() {
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  return fpcr;
}
void WriteControl(uint64_t v) { __asm__ __volatile__("msr fpcr, %0" : : "r"(v)); }
#else
constexpr uint64_t kFlushBits = 0;
uint64_t ReadControl() { return 0; }
void WriteControl(uint64_t) {}
#endif

}  // namespace

bool FlushDenormalsSupported() { return kFlushBits != 0; }

bool SetFlushDenormals(bool on) {
  const uint64_t control = ReadControl();
  if (kFlushBits != 0) WriteControl(on ? (control | kFlushBits) : (control & ~kFlushBits));
  return kFlushBits != 0 && (control & kFlushBits) == kFlushBits;
}

bool FlushingDenormals() { return kFlushBits != 0 && (ReadControl() & kFlushBits) == kFlushBits; }

uint32_t ThreadpoolFlagsForThisThread() {
  return FlushingDenormals() ? PTHREADPOOL_FLAG_DISABLE_DENORMALS : 0;
}

}  // namespace edgerun
