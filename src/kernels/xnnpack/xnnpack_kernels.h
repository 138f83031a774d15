// XNNPACK kernel table: NHWC operators from the XNNPACK library (operator API), created and
// packed in prepare, bound to arena pointers in setup, run on the session's pthreadpool.
#pragma once

#include <span>

#include "kernels/kernel.h"

namespace edgerun {

std::span<const KernelDef> XnnpackKernels();

}  // namespace edgerun
