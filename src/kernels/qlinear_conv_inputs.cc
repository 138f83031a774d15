#include "kernels/qlinear_conv_inputs.h"

#include "edgerun/dtype.h"
#include "kernels/ref/ref_util.h"

namespace edgerun::qlinear_conv {

Expected<AddParams> ReadAddParams(const PrepareContext& ctx) {
  const auto& in = ctx.inputs;
  const auto& k = ctx.constants;
  if (in.size() != kOutZeroPoint + 1 || k.size() != kOutZeroPoint + 1 || ctx.outputs.empty()) {
    return ctx.NotSupported("QLinearConvAdd needs 14 inputs");
  }
  for (int i : {kYScale, kYZeroPoint, kZScale, kZZeroPoint, kOutScale, kOutZeroPoint}) {
    if (k[i] == nullptr || k[i]->view().num_elements() != 1) {
      return ctx.NotSupported("QLinearConvAdd with non-constant or per-channel output parameters");
    }
  }
  if (!IsQuantized(in[kZ].dtype) || !IsQuantized(in[kYZeroPoint].dtype) ||
      in[kZZeroPoint].dtype != in[kZ].dtype || in[kOutZeroPoint].dtype != ctx.outputs[0].dtype ||
      in[kYScale].dtype != DType::kF32 || in[kZScale].dtype != DType::kF32 ||
      in[kOutScale].dtype != DType::kF32 || in[kZ].dims != ctx.outputs[0].dims) {
    return ctx.NotSupported("QLinearConvAdd needs a u8/s8 residual of the output's shape");
  }
  const float out_scale = FloatAt(*k[kOutScale], 0);
  if (!(out_scale > 0.0f)) return ctx.NotSupported("QLinearConvAdd with a non-positive scale");
  AddParams p;
  p.alpha = FloatAt(*k[kYScale], 0) / out_scale;
  p.beta = FloatAt(*k[kZScale], 0) / out_scale;
  p.z_zero_point = QuantizedIntAt(*k[kZZeroPoint], 0);
  p.z_type = in[kZ].dtype;
  const int32_t conv_zp = QuantizedIntAt(*k[kYZeroPoint], 0);
  const int32_t conv_min = in[kYZeroPoint].dtype == DType::kI8 ? -128 : 0;
  p.conv_lo = conv_min - conv_zp;
  p.conv_hi = conv_min + 255 - conv_zp;
  return p;
}

}  // namespace edgerun::qlinear_conv
