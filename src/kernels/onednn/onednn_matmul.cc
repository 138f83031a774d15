#include "kernels/onednn/onednn_kernels.h"

namespace edgerun {

std::span<const KernelDef> OnednnMatMulKernels() { return {}; }

}  // namespace edgerun
