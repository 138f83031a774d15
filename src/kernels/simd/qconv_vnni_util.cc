#include "kernels/simd/qconv_vnni_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/unaligned.h"
#include "kernels/qlinear_conv_inputs.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

namespace {

using enum qlinear_conv::Input;

// QLinearConvAdd's add: the residual's parameters and the conv output's range.
Status ReadResidual(const PrepareContext& ctx, QConvResidual* add) {
  ASSIGN_OR_RETURN(qlinear_conv::AddParams p, qlinear_conv::ReadAddParams(ctx));
  add->alpha = p.alpha;
  add->beta = p.beta;
  // The sum's magnitude stays far inside int32 when it is rounded.
  if (!(std::fabs(add->alpha) + std::fabs(add->beta) < 1e6f)) {
    return ctx.NotSupported("add scales out of range");
  }
  add->signed_z = p.z_type == DType::kI8;
  add->z_zero_point = static_cast<float>(p.z_zero_point + (add->signed_z ? 128 : 0));
  add->conv_lo = p.conv_lo;
  add->conv_hi = p.conv_hi;
  return Status::Ok();
}

}  // namespace

Status ReadQConvGeometry(const PrepareContext& ctx, QConvGeometry* g) {
  if (ctx.inputs.size() < 8) return ctx.NotSupported("inputs");
  ASSIGN_OR_RETURN(NhwcConvShape shape, ReadNhwcConvShape(ctx, kW));
  static_cast<NhwcConvShape&>(*g) = shape;
  if (NumElements(ctx.inputs[kX].dims) == 0 || NumElements(ctx.inputs[kW].dims) == 0 ||
      NumElements(ctx.outputs[0].dims) == 0) {
    return ctx.NotSupported("empty tensor");
  }
  // Window3d keeps 2-D windows in slots 1 and 2.
  const Window3d& win = shape.window;
  g->kernel_h = static_cast<int>(win.kernel[1]);
  g->kernel_w = static_cast<int>(win.kernel[2]);
  g->stride_h = static_cast<int>(win.stride[1]);
  g->stride_w = static_cast<int>(win.stride[2]);
  g->dilation_h = static_cast<int>(win.dilation[1]);
  g->dilation_w = static_cast<int>(win.dilation[2]);
  g->pad_top = static_cast<int>(win.pad[1]);
  g->pad_left = static_cast<int>(win.pad[2]);
  return Status::Ok();
}

Status ReadQConvRequant(const PrepareContext& ctx, int64_t out_channels, QConvRequant* r,
                        QConvResidual* residual) {
  const auto& in = ctx.inputs;
  const auto& k = ctx.constants;
  if (in.size() < 8 || k.size() < 8 || ctx.outputs.empty()) return ctx.NotSupported("inputs");
  const bool has_bias = qlinear_conv::HasBias(ctx.inputs);
  for (int i = kXScale; i <= (has_bias ? kBias : kYZeroPoint); ++i) {
    if (k[i] == nullptr) return ctx.NotSupported("non-constant parameters");
  }
  const DType y_type = ctx.outputs[0].dtype;
  // With a residual, input 7's type is the conv output's, which the add reads.
  if (!IsQuantized(in[kX].dtype) || in[kW].dtype != DType::kI8 || !IsQuantized(y_type) ||
      in[kXZeroPoint].dtype != in[kX].dtype || !IsQuantized(in[kYZeroPoint].dtype) ||
      (residual == nullptr && in[kYZeroPoint].dtype != y_type) ||
      in[kXScale].dtype != DType::kF32 || in[kWScale].dtype != DType::kF32 ||
      in[kYScale].dtype != DType::kF32 || (has_bias && in[kBias].dtype != DType::kI32)) {
    return ctx.NotSupported("types");
  }
  r->signed_input = in[kX].dtype == DType::kI8;
  r->signed_output = y_type == DType::kI8;
  const Tensor& w_zp = *k[kWZeroPoint];
  const Tensor& w_scale = *k[kWScale];
  const int64_t n_scales = w_scale.view().num_elements();
  if (k[kXScale]->view().num_elements() != 1 || k[kYScale]->view().num_elements() != 1 ||
      k[kXZeroPoint]->view().num_elements() != 1 || k[kYZeroPoint]->view().num_elements() != 1 ||
      (n_scales != 1 && n_scales != out_channels)) {
    return ctx.NotSupported("per-channel activation parameters");
  }
  for (int64_t i = 0; i < w_zp.view().num_elements(); ++i) {
    if (QuantizedIntAt(w_zp, i) != 0) return ctx.NotSupported("weight zero point is not 0");
  }
  r->x_zero_point = QuantizedIntAt(*k[kXZeroPoint], 0) + (r->signed_input ? 128 : 0);
  // The reference's requantization (kernels/ref/qlinear.cc, MakeRequantizer and QuantizeUnits).
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  float act_lo = -std::numeric_limits<float>::infinity();
  float act_hi = std::numeric_limits<float>::infinity();
  if (act.has_affine()) return ctx.NotSupported("fused affine");
  if (act.kind == FusedActivation::Kind::kRelu) {
    act_lo = 0;
  } else if (act.kind == FusedActivation::Kind::kClip) {
    act_lo = act.a;
    act_hi = act.b;
  } else if (act.kind != FusedActivation::Kind::kNone) {
    return ctx.NotSupported("activation");
  }
  const float x_scale = FloatAt(*k[kXScale], 0);
  const float y_scale = FloatAt(*k[kYScale], 0);
  if (residual != nullptr) RETURN_IF_ERROR(ReadResidual(ctx, residual));
  // The activation and the output's parameters: the add's, with a residual.
  const float out_scale = residual != nullptr ? FloatAt(*k[kOutScale], 0) : y_scale;
  const float lo = act_lo / out_scale;
  const float hi = act_hi / out_scale;
  // Clip with min > max clamps to two values depending on the input: not a single clamp.
  if (std::isnan(lo) || std::isnan(hi) || lo > hi) return ctx.NotSupported("clip bounds");
  const int32_t y_zp = QuantizedIntAt(*k[residual != nullptr ? kOutZeroPoint : kYZeroPoint], 0);
  const int32_t q_min = r->signed_output ? -128 : 0;
  const float out_lo = static_cast<float>(q_min - y_zp);
  const float out_hi = static_cast<float>(q_min + 255 - y_zp);
  // Clamping to [lo, hi] and then to [out_lo, out_hi] is one clamp to the intersection, or, when
  // the two do not meet, the constant the second clamp then gives.
  if (lo > out_hi || hi < out_lo) {
    r->lo = r->hi = lo > out_hi ? out_hi : out_lo;
  } else {
    r->lo = std::max(lo, out_lo);
    r->hi = std::min(hi, out_hi);
  }
  r->stored_zero_point = y_zp - q_min;
  r->multipliers.resize(static_cast<size_t>(out_channels));
  for (int64_t ch = 0; ch < out_channels; ++ch) {
    const float m = x_scale * FloatAt(w_scale, n_scales == 1 ? 0 : ch) / y_scale;
    if (!std::isfinite(m)) return ctx.NotSupported("non-finite scale");
    r->multipliers[static_cast<size_t>(ch)] = m;
  }
  return Status::Ok();
}

uint8_t QConvRequant::byte_lo() const {
  return static_cast<uint8_t>(std::nearbyint(lo) + static_cast<float>(stored_zero_point));
}
uint8_t QConvRequant::byte_hi() const {
  return static_cast<uint8_t>(std::nearbyint(hi) + static_cast<float>(stored_zero_point));
}

Status FoldInputZeroPoint(const PrepareContext& ctx, int64_t out_channels, int64_t per_channel,
                          const QConvRequant& r, std::vector<int32_t>* bias) {
  const std::byte* w = ctx.constants[kW]->UnalignedBytes();
  const bool has_bias = qlinear_conv::HasBias(ctx.inputs);
  bias->resize(static_cast<size_t>(out_channels));
  for (int64_t ch = 0; ch < out_channels; ++ch) {
    int64_t sum = 0, magnitude = 0;
    for (int64_t t = 0; t < per_channel; ++t) {
      const int64_t v = LoadAnyAlignment<int8_t>(w, ch * per_channel + t);
      sum += v;
      magnitude += v < 0 ? -v : v;
    }
    const int64_t b =
        (has_bias ? LoadAnyAlignment<int32_t>(ctx.constants[kBias]->UnalignedBytes(), ch) : 0) -
        int64_t{r.x_zero_point} * sum;
    if (b < std::numeric_limits<int32_t>::min() || b > std::numeric_limits<int32_t>::max()) {
      return ctx.NotSupported("bias out of int32 range");
    }
    // Inputs are bytes (u8 as computed), so |sum| <= |b| + 255 * sum of |w|.
    const double largest = (static_cast<double>(b < 0 ? -b : b) + 255.0 * magnitude) *
                           std::fabs(r.multipliers[static_cast<size_t>(ch)]);
    if (largest >= 1073741824.0) return ctx.NotSupported("requantized sums out of int32 range");
    (*bias)[static_cast<size_t>(ch)] = static_cast<int32_t>(b);
  }
  return Status::Ok();
}

QBlockedWeights PackBlockedWeights(int64_t out_channels, int64_t groups,
                                   std::span<const int32_t> bias, std::vector<float> multipliers,
                                   const std::function<int8_t(int64_t ch, int64_t t)>& weight_at) {
  constexpr int kLanes = 16;
  QBlockedWeights packed;
  for (int64_t first = 0; first < out_channels;) {
    // 17-31 channels left take a padded block of two vectors: one broadcast serves both.
    const int vectors = out_channels - first >= 64 ? 4 : out_channels - first > 16 ? 2 : 1;
    packed.blocks.push_back(
        {first, vectors,
         static_cast<int>(std::min<int64_t>(vectors * kLanes, out_channels - first))});
    first += vectors * kLanes;
  }
  const int64_t padded = (out_channels + kLanes - 1) / kLanes * kLanes;
  const int64_t per_channel = 4 * groups;
  packed.weights.assign(static_cast<size_t>(padded * per_channel), 0);
  packed.bias.assign(static_cast<size_t>(padded), 0);
  packed.multipliers.assign(static_cast<size_t>(padded), 0.0f);
  for (const QOutputBlock& block : packed.blocks) {
    int8_t* block_weights = packed.weights.data() + block.first * per_channel;
    for (int64_t j = 0; j < block.vectors; ++j) {
      for (int64_t i = 0; i < kLanes; ++i) {
        const int64_t ch = block.first + ChannelOfLane(block.vectors, j, i);
        if (ch >= out_channels) continue;  // padding: weights, bias and multiplier 0
        const auto at = static_cast<size_t>(block.first + j * kLanes + i);
        packed.bias[at] = bias[static_cast<size_t>(ch)];
        packed.multipliers[at] = multipliers[static_cast<size_t>(ch)];
        for (int64_t t = 0; t < per_channel; ++t) {
          block_weights[(((t / 4) * block.vectors + j) * kLanes + i) * 4 + t % 4] =
              weight_at(ch, t);
        }
      }
    }
  }
  return packed;
}

void MarkWeightsAndBiasPacked(PrepareContext& ctx) {
  ctx.packed_constant_inputs |= 1u << kW;
  if (qlinear_conv::HasBias(ctx.inputs)) ctx.packed_constant_inputs |= 1u << kBias;
}

}  // namespace edgerun
