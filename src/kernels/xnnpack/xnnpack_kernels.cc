// Placeholder until the XNNPACK kernels land: an empty table.
#include "kernels/xnnpack/xnnpack_kernels.h"

namespace edgerun {

std::span<const KernelDef> XnnpackKernels() { return {}; }

}  // namespace edgerun
