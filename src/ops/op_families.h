// The op families that make up the op table (see op_def.h). One function per family file.
#pragma once

#include <span>

#include "ops/op_def.h"

namespace edgerun {

std::span<const OpDef> ElementwiseOpDefs();  // ops/elementwise.cc: math, activations, logic
std::span<const OpDef> NnOpDefs();           // ops/nn.cc: conv, pooling, gemm, norms
std::span<const OpDef> TensorOpDefs();       // ops/tensor.cc: shape ops, gather, resize, pad
std::span<const OpDef> ReduceOpDefs();       // ops/reduce.cc: reductions, softmax, topk, quant
std::span<const OpDef> QLinearOpDefs();      // ops/qlinear.cc: QLinearConv, QLinearMatMul...
std::span<const OpDef> NhwcOpDefs();         // ops/nhwc.cc: kNhwcDomain versions of NCHW ops

}  // namespace edgerun
