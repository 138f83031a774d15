// Flush-to-zero for subnormal floats on the calling thread: x86 MXCSR FTZ and DAZ, ARM FPCR FZ.
//
// Subnormal operands can make float math 10-100x slower on many x86 cores, and models rarely
// depend on values below 1.2e-38. SessionOptions::flush_denormals turns this on for the duration
// of each Session::Run (as ONNX Runtime's session.set_denormal_as_zero does). Usage:
//   ScopedFlushDenormals guard(true);   // this thread flushes until `guard` goes out of scope
// Elsewhere (other CPUs) the functions do nothing and FlushDenormalsSupported() is false.
#pragma once

#include <cstdint>

namespace edgerun {

bool FlushDenormalsSupported();
// Sets this thread's mode; returns the previous one (false where unsupported).
bool SetFlushDenormals(bool on);
// Whether this thread flushes now.
bool FlushingDenormals();
// Flags for pthreadpool_parallelize_* from this thread: its workers flush while the caller does.
uint32_t ThreadpoolFlagsForThisThread();

class ScopedFlushDenormals {
 public:
  explicit ScopedFlushDenormals(bool enable) : active_(enable) {
    if (active_) previous_ = SetFlushDenormals(true);
  }
  ~ScopedFlushDenormals() {
    if (active_) SetFlushDenormals(previous_);
  }
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  bool active_;
  bool previous_ = false;
};

}  // namespace edgerun
