// Placeholder until these kernels land: an empty table.
#include "kernels/ref/ref_kernels.h"

namespace edgerun {

std::span<const KernelDef> RefQLinearKernels() { return {}; }

}  // namespace edgerun
