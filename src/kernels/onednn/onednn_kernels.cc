// The oneDNN kernel table: every family's kernels, in one list.
#include "kernels/onednn/onednn_kernels.h"

#include <vector>

#include "kernels/simd/channel_binary.h"
#include "kernels/simd/global_pool.h"
#include "kernels/simd/matvec.h"
#include "kernels/simd/max_pool.h"
#include "kernels/simd/qdepthwise_vnni.h"
#include "kernels/simd/qpointwise_vnni.h"
#include "kernels/simd/qstem_vnni.h"
#include "kernels/simd/quantize.h"
#include "kernels/simd/winograd_conv.h"

namespace edgerun {

std::span<const KernelDef> OnednnKernels() {
  static const std::vector<KernelDef> table = [] {
    std::vector<KernelDef> all;
    // Ahead of the pooling primitive (global_pool.h says why).
    all.push_back(FastGlobalAveragePoolKernel(KernelPath::kOnednn));
    // And max pooling (max_pool.h says why).
    all.push_back(FastMaxPoolKernel(KernelPath::kOnednn));
    // Ahead of the binary primitive: the squeeze-excitation scale (channel_binary.h says why).
    for (const KernelDef& k : FastChannelBinaryKernels()) all.push_back(k);
    // Ahead of the matmul primitive: a one-row A reads B unpacked (matvec.h says why).
    for (const KernelDef& k : FastMatVecKernels(KernelPath::kOnednn)) all.push_back(k);
    // Ahead of oneDNN's int8 conv: its depthwise kernel is no faster than fp32 (qdepthwise_vnni.h).
    all.push_back(FastQDepthwiseKernel(KernelPath::kOnednn));
    // And its 1x1 kernel at a fifth of the int8 peak on few input channels (qpointwise_vnni.h).
    for (const KernelDef& k : FastQPointwiseKernels(KernelPath::kOnednn)) all.push_back(k);
    // And its kernel for 3 input channels at a seventh of the int8 peak (qstem_vnni.h).
    all.push_back(FastQStemKernel(KernelPath::kOnednn));
    // Ahead of oneDNN's conv: its only Winograd kernel for these is F(2x2,3x3) (winograd_conv.h).
    all.push_back(FastWinogradConvKernel(KernelPath::kOnednn));
    for (auto family : {OnednnConvKernels(), OnednnPoolKernels(), OnednnMatMulKernels(),
                        OnednnQConvKernels(), OnednnQMatMulKernels(), OnednnTransposeKernels(),
                        OnednnBinaryKernels(), OnednnExpandDepthwiseKernels()}) {
      all.insert(all.end(), family.begin(), family.end());
    }
    // oneDNN's reorder quantizes with a reciprocal multiply, not the spec's division.
    all.push_back(FastQuantizeLinearKernel(KernelPath::kOnednn));
    return all;
  }();
  return table;
}

}  // namespace edgerun
