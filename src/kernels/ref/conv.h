// Reference convolution kernels (Conv, ConvTranspose) and the window geometry they share with
// the pooling kernels.
//
// Conv lowers each group to a GEMM: an im2col tile of the input (in scratch, a bounded number of
// output columns at a time) times the group's weights, via Sgemm; a 1x1 stride-1 unpadded conv
// multiplies the input directly. Depthwise convs (one input channel per group) run a direct loop
// instead, since they are memory bound. ConvTranspose is the adjoint: a GEMM with W^T into a
// column buffer, then col2im scatter-adds into the output. 1-D and 2-D inputs are treated as 3-D
// with leading size-1 spatial dims. Bias and the fused activation are applied per output row.
// Usage (the kernel table in nn.cc):
//   {"Conv", KernelPath::kReference, {DType::kF32}, SupportsConv, PrepareConv, InvokeConv}
#pragma once

#include <cstdint>
#include <span>

#include "kernels/kernel.h"

namespace edgerun {

inline constexpr int kMaxSpatial = 3;

// One conv/pool window in 3-D form; dims missing from a 1-D/2-D op are 1 (kernel 1, stride 1,
// no pad), placed first. pad is the leading pad; the trailing pad is implied by the sizes.
struct Window3d {
  int64_t in[kMaxSpatial] = {1, 1, 1};
  int64_t out[kMaxSpatial] = {1, 1, 1};
  int64_t kernel[kMaxSpatial] = {1, 1, 1};
  int64_t stride[kMaxSpatial] = {1, 1, 1};
  int64_t dilation[kMaxSpatial] = {1, 1, 1};
  int64_t pad[kMaxSpatial] = {0, 0, 0};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// Reads strides/dilations/pads/auto_pad from the node and resolves the leading pads of a forward
// window (Conv and the pools): explicit pads, none for VALID, or the SAME split (the odd pad goes
// to the end for SAME_UPPER, to the start for SAME_LOWER). Spatial ranks above 3 are Unsupported.
Status ResolveWindow(const PrepareContext& ctx, std::span<const int64_t> in_spatial,
                     std::span<const int64_t> out_spatial, std::span<const int64_t> kernel,
                     Window3d* w);

// True for the dtypes/ranks the reference conv kernels handle (f32, 1-3 spatial dims).
bool SupportsConv(const SupportContext& ctx);
Status PrepareConv(PrepareContext& ctx);
Status InvokeConv(InvokeContext& ctx);

Status PrepareConvTranspose(PrepareContext& ctx);
Status InvokeConvTranspose(InvokeContext& ctx);

}  // namespace edgerun
