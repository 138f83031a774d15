// Interleaving 2-4 rows of values element by element: the NCHW -> NHWC Transpose of an image-like
// tensor with 2-4 channels (a model's input, converted once per inference by the NHWC layout
// pass), and ShuffleNet's channel shuffle in NHWC (with the Concat before it and the Slices after
// it folded in).
//
// Neither oneDNN's reorder nor an element-by-element copy is fast here: three planes of floats
// make a stride-3 scatter. Highway's StoreInterleaved2/3/4 writes whole vectors instead, compiled
// for several instruction sets and picked at run time (AVX2/AVX-512 on x86-64, NEON on ARM,
// scalar elsewhere). The oneDNN and XNNPACK paths list PlaneInterleaveTransposeKernel ahead of
// their general Transpose (it claims only perm (0, 2, 3, 1) of rank 4 with 2-4 channels) and
// InterleaveChannelShuffleKernel for ChannelShuffle (innermost axis, group 2-4). Both take 1- or
// 4-byte elements and copy bits, so results equal the reference exactly. On the oneDNN path, whose
// OpenMP workers spin between layers, an image of 256 KiB or more is split across them.
//   Transpose(perm=[0,2,3,1]) of x [N, 3, H, W] f32: InterleavePlanes(x, 3, H * W, 4, y)
//   ChannelShuffle(a, b; group=2), [P, C/2] each:   InterleaveRows({a, b}, 2, C/2, P, C/2, 4, y)
#pragma once

#include <cstddef>

#include "kernels/kernel.h"

namespace edgerun {

// For each row r < rows, element i < n and source k < count (2..4), with elements of
// element_bytes (1 or 4): out[(r * n + i) * count + k] = sources[k][r * source_stride + i].
void InterleaveRows(const void* const* sources, int count, size_t n, size_t rows,
                    size_t source_stride, size_t element_bytes, void* out);

// For each pixel p in [begin, end) (default: all plane_size) and channel c < channels (2..4),
// with elements of element_bytes (1 or 4): out[p * channels + c] = in[c * plane_size + p]. One
// image; in and out do not overlap. Disjoint pixel ranges may run on different threads.
void InterleavePlanes(const void* in, int channels, size_t plane_size, size_t element_bytes,
                      void* out, size_t begin = 0, size_t end = static_cast<size_t>(-1));

// The Transpose kernel for the case above, on `path` (kOnednn or kXnnpack).
KernelDef PlaneInterleaveTransposeKernel(KernelPath path);

// com.edgerun ChannelShuffle on the innermost axis (NHWC channels) with group 2-4, from one
// input or from `group` inputs of C / group channels each (a Concat folded into the shuffle),
// into one output or several that split the channels evenly (Slices folded in): each pixel's
// channels are the group rows interleaved.
KernelDef InterleaveChannelShuffleKernel(KernelPath path);

}  // namespace edgerun
