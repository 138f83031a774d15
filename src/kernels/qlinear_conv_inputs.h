// The inputs of QLinearConv by position (ONNX), and of edgerun's QLinearConvAdd after them (the
// residual z and the sum's output parameters; passes/fuse_qlinear_residual.cc), for the kernels
// that read them; and the reading of QLinearConvAdd's add that the fast kernels share:
//   using enum qlinear_conv::Input;
//   const TensorView& w = ctx.inputs[kW];
//   ASSIGN_OR_RETURN(qlinear_conv::AddParams add, qlinear_conv::ReadAddParams(ctx));
#pragma once

#include <cstdint>
#include <span>

#include "kernels/kernel.h"

namespace edgerun::qlinear_conv {

enum Input {
  kX = 0,
  kXScale,
  kXZeroPoint,
  kW,
  kWScale,
  kWZeroPoint,
  kYScale,
  kYZeroPoint,
  kBias,
  kZ,
  kZScale,
  kZZeroPoint,
  kOutScale,
  kOutZeroPoint
};

// Whether the node has the optional bias input.
inline bool HasBias(std::span<const TensorType> inputs) { return InputPresent(inputs, kBias); }

// QLinearConvAdd's add, with per-tensor constant parameters, as the reference kernel computes it
// (kernels/ref/qlinear.cc): out = alpha * (y - y_zero_point) + beta * (z - z_zero_point) in the
// output's units, where y is the conv's output rounded and saturated to its type.
struct AddParams {
  float alpha = 1;  // y_scale / out_scale
  float beta = 1;   // z_scale / out_scale
  int32_t z_zero_point = 0;
  DType z_type = DType::kU8;
  // The conv output's integer range minus its zero point: where y - y_zero_point saturates.
  int32_t conv_lo = 0, conv_hi = 0;
};

// NotSupported unless the node has QLinearConvAdd's 14 inputs, the add's and the conv's output
// parameters are constant and per-tensor, the residual is u8/s8 of the output's shape and the
// output scale is positive.
Expected<AddParams> ReadAddParams(const PrepareContext& ctx);

}  // namespace edgerun::qlinear_conv
