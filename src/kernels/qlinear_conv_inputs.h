// The inputs of QLinearConv by position (ONNX), and of edgerun's QLinearConvAdd after them (the
// residual z and the sum's output parameters; passes/fuse_qlinear_residual.cc), for the kernels
// that read them:
//   using enum qlinear_conv::Input;
//   const TensorView& w = ctx.inputs[kW];
#pragma once

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

}  // namespace edgerun::qlinear_conv
