// SiLU (x * sigmoid(x), also called swish) and Sigmoid in place over a float buffer, with Highway:
// compiled for several instruction sets and picked at run time, like interleave.h.
//
// oneDNN convs can fuse SiLU as an eltwise post-op, but on the AVX-512 CPUs measured (AMD Zen 4
// and Zen 5, an Intel Xeon) that post-op is slower than this pass: on Zen 4, which executes
// AVX-512 as two 256-bit halves, it costs about 1 ns per element (EfficientNet-B0's 16->96 1x1
// conv at 112x112: 0.47 ms without it, 1.66 with it), while this pass over the conv's output
// costs 0.32 ns (0.38 ms for those 1.2 M elements; 0.31 ns on the Intel Xeon since 2026-12-07,
// 0.44 before). The oneDNN conv kernel then runs the conv without the post-op and this pass after
// it (onednn::SwishPostOpIsSlow decides).
//   SiLUInPlace(y, n);   // y[i] = y[i] / (1 + exp(-y[i]))
//   ApplyActivationInPlace(act, y, n);  // a fused activation, vectorized where it is SiLU/Sigmoid
#pragma once

#include <cstddef>

#include "kernels/ref/ref_util.h"

namespace edgerun {

// y[i] = y[i] * sigmoid(y[i]) for i < n, within about 2 float ulps of the exact value.
void SiLUInPlace(float* y, size_t n);

// y[i] = sigmoid(y[i]) for i < n, within about 2 float ulps (0 below -88).
void SigmoidInPlace(float* y, size_t n);

// act over y[0, n): SiLU and Sigmoid (without an affine) with the functions above, any other
// activation with its scalar FusedActivation::ApplyInPlace.
void ApplyActivationInPlace(const FusedActivation& act, float* y, size_t n);

}  // namespace edgerun
