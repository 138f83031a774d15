// Nn reference kernels: the table gathering conv.cc, pool.cc, matmul.cc, einsum.cc and norm.cc.
#include "kernels/ref/conv.h"
#include "kernels/ref/einsum.h"
#include "kernels/ref/matmul.h"
#include "kernels/ref/norm.h"
#include "kernels/ref/pool.h"
#include "kernels/ref/ref_kernels.h"

namespace edgerun {
namespace {

constexpr KernelPath kRef = KernelPath::kReference;
constexpr DTypeSet kF32{DType::kF32};
constexpr DTypeSet kGemmTypes{DType::kF32, DType::kF64};
constexpr DTypeSet kEinsumTypes = kIntTypes | DTypeSet{DType::kF32, DType::kF64};

constexpr KernelDef kRefNnKernels[] = {
    {"Conv", kRef, kF32, SupportsConv, PrepareConv, InvokeConv},
    {"ConvTranspose", kRef, kF32, SupportsConv, PrepareConvTranspose, InvokeConvTranspose},
    {"MaxPool", kRef, kMaxPoolTypes, SupportsPool, PreparePool, InvokeMaxPool},
    {"AveragePool", kRef, kAvgPoolTypes, SupportsPool, PreparePool, InvokeAveragePool},
    {"LpPool", kRef, kAvgPoolTypes, SupportsPool, PreparePool, InvokeLpPool},
    {"GlobalAveragePool", kRef, kAvgPoolTypes, nullptr, PrepareGlobalPool, InvokeGlobalAveragePool},
    {"GlobalMaxPool", kRef, kMaxPoolTypes, nullptr, PrepareGlobalPool, InvokeGlobalMaxPool},
    {"GlobalLpPool", kRef, kAvgPoolTypes, nullptr, PrepareGlobalPool, InvokeGlobalLpPool},
    {"Gemm", kRef, kGemmTypes, nullptr, PrepareGemm, InvokeGemm},
    {"MatMul", kRef, kMatMulTypes, nullptr, PrepareMatMul, InvokeMatMul},
    {"FusedMatMul", kRef, kF32, nullptr, PrepareMatMul, InvokeMatMul, kEdgerunDomain},
    {"Einsum", kRef, kEinsumTypes, nullptr, PrepareEinsum, InvokeEinsum},
    {"BatchNormalization", kRef, kNormTypes, nullptr, PrepareBatchNorm, InvokeBatchNorm},
    {"InstanceNormalization", kRef, kNormTypes, nullptr, PrepareInstanceNorm, InvokeInstanceNorm},
    {"LRN", kRef, kNormTypes, nullptr, PrepareLrn, InvokeLrn},
    {"LayerNormalization", kRef, kNormTypes, nullptr, PrepareLayerNorm, InvokeLayerNorm},
    {"MeanVarianceNormalization", kRef, kNormTypes, nullptr, PrepareMvn, InvokeMvn},
};

}  // namespace

std::span<const KernelDef> RefNnKernels() { return kRefNnKernels; }

}  // namespace edgerun
