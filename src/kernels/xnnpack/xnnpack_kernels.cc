// The XNNPACK kernel table: every family's kernels, concatenated once.
#include "kernels/xnnpack/xnnpack_kernels.h"

#include <vector>

#include "kernels/simd/matvec.h"
#include "kernels/simd/quantize.h"
#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {

std::span<const KernelDef> XnnpackKernels() {
  static const std::vector<KernelDef> table = [] {
    std::vector<KernelDef> all;
    // Ahead of XNNPACK's fully connected operator: a one-row A reads B unpacked (matvec.h).
    for (const KernelDef& k : FastMatVecKernels(KernelPath::kXnnpack)) all.push_back(k);
    for (auto family :
         {XnnpackConvKernels(), XnnpackPoolKernels(), XnnpackMatMulKernels(),
          XnnpackElementwiseKernels(), XnnpackTensorKernels(), XnnpackQConvKernels()}) {
      all.insert(all.end(), family.begin(), family.end());
    }
    // XNNPACK's convert quantizes with a reciprocal multiply, not the spec's division.
    all.push_back(FastQuantizeLinearKernel(KernelPath::kXnnpack));
    return all;
  }();
  return table;
}

}  // namespace edgerun
