// oneDNN kernel table: primitives created (and weights reordered) in prepare, executed with
// user-provided scratchpads so a run never allocates. Threads with OpenMP (the Debian build).
#pragma once

#include <span>

#include "kernels/kernel.h"

namespace edgerun {

std::span<const KernelDef> OnednnKernels();

}  // namespace edgerun
