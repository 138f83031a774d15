// The instruction set edgerun's Highway kernels run with on this CPU ("AVX3", "AVX2", "NEON",
// "SCALAR"...). Highway compiles each kernel for several targets and picks the best this CPU
// supports at run time; every kernel is built with the same flags, so the pick is the same for
// all of them. Implementation names in inspect and bench --profile carry it
// ("interleave:AVX3", "brgconv_1x1:avx512_core+silu:AVX3").
#pragma once

namespace edgerun {

const char* SimdTarget();

}  // namespace edgerun
