#include "kernels/onednn/onednn_kernels.h"

namespace edgerun {

std::span<const KernelDef> OnednnQConvKernels() { return {}; }

}  // namespace edgerun
