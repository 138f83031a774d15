// The oneDNN kernel table: every family's kernels, in one list.
#include "kernels/onednn/onednn_kernels.h"

#include <vector>

namespace edgerun {

std::span<const KernelDef> OnednnKernels() {
  static const std::vector<KernelDef> table = [] {
    std::vector<KernelDef> all;
    for (auto family :
         {OnednnConvKernels(), OnednnPoolKernels(), OnednnMatMulKernels(), OnednnQConvKernels(),
          OnednnQMatMulKernels(), OnednnTransposeKernels(), OnednnBinaryKernels()}) {
      all.insert(all.end(), family.begin(), family.end());
    }
    return all;
  }();
  return table;
}

}  // namespace edgerun
