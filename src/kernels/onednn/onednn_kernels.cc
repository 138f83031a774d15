// Placeholder until the oneDNN kernels land: an empty table.
#include "kernels/onednn/onednn_kernels.h"

namespace edgerun {

std::span<const KernelDef> OnednnKernels() { return {}; }

}  // namespace edgerun
