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
  // The trailing pad the model declares (ResolveWindow: explicit, VALID or SAME), which a pool's
  // count_include_pad counts; ceil_mode windows may reach past it (pad_end).
  int64_t declared_pad_end[kMaxSpatial] = {0, 0, 0};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  // The trailing pad of slot j that makes the last window end exactly at the input's end
  // (negative when the last windows leave input unread).
  int64_t pad_end(int j) const {
    return (out[j] - 1) * stride[j] + (kernel[j] - 1) * dilation[j] + 1 - in[j] - pad[j];
  }
  // For a transposed window (ConvTranspose, output from input): the trailing crop of the full
  // output (in - 1) * stride + span that leaves `out` (negative when the output extends past it).
  int64_t pad_end_transposed(int j) const {
    return (in[j] - 1) * stride[j] + (kernel[j] - 1) * dilation[j] + 1 - out[j] - pad[j];
  }
};

// Reads strides/dilations/pads/auto_pad from the node and resolves the leading pads of a forward
// window (Conv and the pools): explicit pads, none for VALID, or the SAME split (the odd pad goes
// to the end for SAME_UPPER, to the start for SAME_LOWER). Spatial ranks above 3 are Unsupported.
Status ResolveWindow(const PrepareContext& ctx, std::span<const int64_t> in_spatial,
                     std::span<const int64_t> out_spatial, std::span<const int64_t> kernel,
                     Window3d* w);

// A 2-D window of `kernel` (kH, kW) over NHWC input 0 [N, H, W, C] and output 0 [N, OH, OW, M],
// resolved with ResolveWindow, in slots 1 and 2 of the Window3d. NotSupported unless both are 4-D.
// ReadNhwcConvShape, ExpandDepthwiseConv and ResolveNhwcPoolWindow read their windows here.
Status ResolveNhwcWindow(const PrepareContext& ctx, std::span<const int64_t> kernel, Window3d* w);

// A pool's window: its kernel_shape (two entries) through ResolveNhwcWindow. The NHWC pool kernels
// (oneDNN's, XNNPACK's, edgerun's max pool) read their windows here.
Status ResolveNhwcPoolWindow(const PrepareContext& ctx, Window3d* w);

// The same for ConvTranspose, whose window runs from output to input: explicit pads crop the
// output; with output_shape or SAME padding they follow from the requested size (the odd pad at
// the end for SAME_UPPER), output_padding counted. A negative total extends the output's end
// (Window3d::pad_end_transposed).
Status ResolveTransposedWindow(const PrepareContext& ctx, std::span<const int64_t> in_spatial,
                               std::span<const int64_t> out_spatial,
                               std::span<const int64_t> kernel, Window3d* w);

// An NHWC ConvTranspose's 2-D window: input 0 [N, H, W, C], weights (input 1) [C, M / group, kH,
// kW] and output 0 [N, OH, OW, M] through ResolveTransposedWindow, in slots 1 and 2. oneDNN's and
// XNNPACK's deconvolutions read it here. NotSupported unless all three are 4-D.
Status ResolveNhwcTransposedWindow(const PrepareContext& ctx, Window3d* w);

// The shapes of a 2-D NHWC conv (kNhwcDomain Conv, QLinearConv), which every fast backend reads
// and converts to its own types: input 0 [N, H, W, C], weights [M, C / group, kH, kW] at input
// `weight_input`, output 0 [N, OH, OW, M]; the window as ResolveWindow resolves it, in slots 1
// and 2 of the Window3d.
struct NhwcConvShape {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0, out_channels = 0;
  int64_t group = 1;
  Window3d window;
};

// NotSupported, naming what disagrees, unless the three tensors are 4-D and consistent.
Expected<NhwcConvShape> ReadNhwcConvShape(const PrepareContext& ctx, int weight_input);

// True for the dtypes/ranks the reference conv kernels handle (f32, 1-3 spatial dims).
bool SupportsConv(const SupportContext& ctx);
Status PrepareConv(PrepareContext& ctx);
Status InvokeConv(InvokeContext& ctx);

Status PrepareConvTranspose(PrepareContext& ctx);
Status InvokeConvTranspose(InvokeContext& ctx);

}  // namespace edgerun
