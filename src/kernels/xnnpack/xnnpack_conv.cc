// XNNPACK NHWC Conv and ConvTranspose (kNhwcDomain), f32.
//
// Conv: one convolution2d_nhwc_f32 operator (XNNPACK picks GEMM, IGEMM or depthwise kernels) with
// the weights packed at prepare. Relu/Clip clamp inside it; the residual input Z is added by an
// add_nd operator that also clamps (the conv then writes to scratch, so the output may share Z's
// buffer); other activations run in place afterwards. ConvTranspose: deconvolution2d_nhwc_f32.
#include <pthreadpool.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {
namespace {

constexpr DTypeSet kF32{DType::kF32};

// Bias (optional input 2) is a constant f32 vector of `channels` elements.
bool BiasOk(const SupportContext& ctx, int64_t channels) {
  if (ctx.inputs.size() < 3 || !Present(ctx.inputs[2])) return true;
  return IsF32(ctx.inputs[2]) && ctx.constants[2] != nullptr &&
         ctx.inputs[2].num_elements() == channels;
}

const float* BiasOf(const PrepareContext& ctx) {
  if (ctx.inputs.size() < 3 || !Present(ctx.inputs[2]) || ctx.constants[2] == nullptr) {
    return nullptr;
  }
  return ctx.constants[2]->data<float>();
}

// The byte ranges of two views overlap.
bool Overlap(const TensorView& a, const TensorView& b) {
  const auto* pa = static_cast<const std::byte*>(a.raw);
  const auto* pb = static_cast<const std::byte*>(b.raw);
  return pa < pb + b.bytes() && pb < pa + a.bytes();
}

// ---- Conv ----

bool HasResidual(std::span<const TensorType> inputs) {
  return inputs.size() > 3 && Present(inputs[3]);
}

bool SupportsConvCommon(const SupportContext& ctx) {
  if (ctx.inputs.size() < 2 || ctx.outputs.size() != 1) return false;
  const TensorType& x = ctx.inputs[0];
  const TensorType& w = ctx.inputs[1];
  if (!IsF32(x) || x.rank() != 4 || !IsF32(w) || w.rank() != 4 || ctx.constants[1] == nullptr ||
      ctx.outputs[0].rank() != 4) {
    return false;
  }
  if (!BiasOk(ctx, w.dims[0]) || !XnnActivationSupported(ctx.node)) return false;
  if (HasResidual(ctx.inputs) &&
      (!IsF32(ctx.inputs[3]) || ctx.inputs[3].dims != ctx.outputs[0].dims)) {
    return false;
  }
  XnnConvShape g;
  return ResolveXnnConvShape(PrepareContext(ctx), 1, &g);
}

// Two table entries, so only the residual form may write its output over Z.
bool SupportsConvPlain(const SupportContext& ctx) {
  return !HasResidual(ctx.inputs) && SupportsConvCommon(ctx);
}
bool SupportsConvResidual(const SupportContext& ctx) {
  return HasResidual(ctx.inputs) && SupportsConvCommon(ctx);
}

struct ConvState : XnnState {
  XnnConvShape g;
  int conv_op = -1, add_op = -1;
  size_t out_elements = 0;
  XnnActivation act;
};

Status PrepareConv(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<ConvState>();
  XnnConvShape& g = s->g;
  if (!ResolveXnnConvShape(ctx, 1, &g)) {
    return ctx.NotSupported("window geometry XNNPACK cannot express");
  }
  const bool residual = HasResidual(ctx.inputs);
  RETURN_IF_ERROR(ParseActivation(ctx, s->act));
  s->ops.reserve(5);

  // ONNX OIHW -> XNNPACK's [groups][group out][kH][kW][group in]: per output channel, move the
  // input channel innermost. With one input channel per group (depthwise) or a 1x1 kernel the two
  // layouts are the same, and XNNPACK reads the weights in place: no temporary copy, whose fresh
  // pages cost more than the copy (1.5 ms for a 576x144 1x1 conv on this VM).
  const auto& wd = ctx.inputs[1].dims;
  const int64_t m = wd[0], cg = wd[1], kh = wd[2], kw = wd[3];
  const float* w = ctx.constants[1]->data<float>();
  std::vector<float> reordered;
  if (cg > 1 && kh * kw > 1) {
    reordered.resize(static_cast<size_t>(m * cg * kh * kw));
    for (int64_t o = 0; o < m; ++o) {
      for (int64_t c = 0; c < cg; ++c) {
        for (int64_t k = 0; k < kh * kw; ++k) {
          reordered[(o * kh * kw + k) * cg + c] = w[(o * cg + c) * kh * kw + k];
        }
      }
    }
    w = reordered.data();
  }

  HeapMeter meter;
  const Window2d& win = g.xnn_window;
  xnn_operator_t op = nullptr;
  xnn_status st = xnn_create_convolution2d_nhwc_f32(
      win.pads.top, win.pads.right, win.pads.bottom, win.pads.left, win.kernel_h, win.kernel_w,
      win.stride_h, win.stride_w, win.dilation_h, win.dilation_w, static_cast<uint32_t>(g.group),
      static_cast<size_t>(cg), static_cast<size_t>(m / g.group), static_cast<size_t>(g.channels),
      static_cast<size_t>(m), w, BiasOf(ctx), residual ? kNoMin : s->act.output_min,
      residual ? kNoMax : s->act.output_max, 0, &op);
  ASSIGN_OR_RETURN(s->conv_op, s->Adopt(ctx, st, op, "convolution"));
  if (residual) {
    st = xnn_create_add_nd_f32(s->act.output_min, s->act.output_max, 0, &op);
    ASSIGN_OR_RETURN(s->add_op, s->Adopt(ctx, st, op, "residual add"));
  }
  RETURN_IF_ERROR(CreateActivationOps(ctx, *s, s->act));
  s->heap_bytes = meter.bytes();

  s->out_elements = static_cast<size_t>(NumElements(ctx.outputs[0].dims));
  if (residual || s->act.needs_scratch()) ctx.scratch_bytes = s->out_elements * sizeof(float);
  // XNNPACK packed the weights and the bias into the operator at create.
  ctx.packed_constant_inputs |= (1u << 1) | (1u << 2);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupConv(SetupContext& ctx) {
  auto& s = ctx.state_as<ConvState>();
  const TensorView& x = ctx.inputs[0];
  TensorView& y = ctx.outputs[0];
  // The conv reads all of X while writing its result. With a residual it writes scratch, so Y
  // may share X's buffer as well as Z's (when Z is X: y = conv(x) + x).
  const bool residual = s.add_op >= 0;
  if (!residual && Overlap(x, y)) return ctx.Fail("output shares memory with input X");
  float* scratch = static_cast<float*>(ctx.scratch);
  float* conv_out = residual ? scratch : y.data<float>();
  HeapMeter meter;
  xnn_status st = xnn_setup_convolution2d_nhwc_f32(
      s.ops[s.conv_op], static_cast<size_t>(s.g.batch), static_cast<size_t>(s.g.in_h),
      static_cast<size_t>(s.g.in_w), x.data<float>(), conv_out, ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "convolution");
  if (residual) {
    const size_t shape[1] = {s.out_elements};
    st = xnn_setup_add_nd_f32(s.ops[s.add_op], 1, shape, 1, shape, scratch,
                              ctx.inputs[3].data<float>(), y.data<float>(), ctx.threadpool);
    if (st != xnn_status_success) return SetupFailed(ctx, st, "residual add");
  }
  RETURN_IF_ERROR(SetupActivation(ctx, s, s.act, y.data<float>(), s.out_elements, scratch));
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

// ---- ConvTranspose ----

struct DeconvGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0, out_channels = 0, group = 1;
  uint32_t kernel[2] = {1, 1}, stride[2] = {1, 1}, dilation[2] = {1, 1};
  uint32_t lead[2] = {0, 0}, trail[2] = {0, 0}, adjustment[2] = {0, 0};
};

// Pads as the reference resolves them (ResolveTransposedWindow: explicit, VALID, or implied by
// output_shape / SAME), then XNNPACK's form: output = stride * (in - 1) + adjustment + span - lead
// - trail, where the adjustment (< stride) covers an output that extends past the last tap.
bool ResolveDeconv(const PrepareContext& ctx, DeconvGeometry* g) {
  const auto& x = ctx.inputs[0].dims;
  const auto& w = ctx.inputs[1].dims;
  const auto& y = ctx.outputs[0].dims;
  Expected<int64_t> group = ctx.node.GetInt("group", 1);
  if (!group.ok() || !FitsU32(*group)) return false;
  g->batch = x[0];
  g->in_h = x[1];
  g->in_w = x[2];
  g->channels = x[3];
  g->group = *group;
  g->out_channels = w[1] * g->group;
  if (w[0] != x[3] || x[3] % g->group != 0 || y[0] != x[0] || y[3] != g->out_channels) {
    return false;
  }
  for (int64_t d : {x[0], x[1], x[2], x[3], y[1], y[2], y[3]}) {
    if (!FitsU32(d)) return false;
  }
  Window3d win;
  if (!ResolveNhwcTransposedWindow(ctx, &win).ok()) return false;
  for (int i = 0; i < 2; ++i) {
    const int j = i + 1;  // Window3d keeps 2-D windows in slots 1 and 2
    if (!FitsU32(win.kernel[j]) || !FitsU32(win.stride[j]) || !FitsU32(win.dilation[j])) {
      return false;
    }
    const int64_t lead = win.pad[j];
    const int64_t trail = win.pad_end_transposed(j);
    const int64_t adjustment = trail < 0 ? -trail : 0;
    if (lead < 0 || adjustment >= win.stride[j] || lead > int64_t{0xffffffff} ||
        trail > int64_t{0xffffffff}) {
      return false;
    }
    g->kernel[i] = static_cast<uint32_t>(win.kernel[j]);
    g->stride[i] = static_cast<uint32_t>(win.stride[j]);
    g->dilation[i] = static_cast<uint32_t>(win.dilation[j]);
    g->lead[i] = static_cast<uint32_t>(lead);
    g->trail[i] = static_cast<uint32_t>(trail < 0 ? 0 : trail);
    g->adjustment[i] = static_cast<uint32_t>(adjustment);
  }
  return true;
}

bool SupportsDeconv(const SupportContext& ctx) {
  if (ctx.inputs.size() < 2 || ctx.outputs.size() != 1) return false;
  const TensorType& x = ctx.inputs[0];
  const TensorType& w = ctx.inputs[1];
  if (!IsF32(x) || x.rank() != 4 || !IsF32(w) || w.rank() != 4 || ctx.constants[1] == nullptr ||
      ctx.outputs[0].rank() != 4) {
    return false;
  }
  Expected<int64_t> group = ctx.node.GetInt("group", 1);
  if (!group.ok() || *group < 1) return false;
  if (!BiasOk(ctx, w.dims[1] * *group) || !XnnActivationSupported(ctx.node)) return false;
  DeconvGeometry g;
  return ResolveDeconv(PrepareContext(ctx), &g);
}

struct DeconvState : XnnState {
  DeconvGeometry g;
  size_t out_elements = 0;
  XnnActivation act;
};

Status PrepareDeconv(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<DeconvState>();
  DeconvGeometry& g = s->g;
  if (!ResolveDeconv(ctx, &g)) {
    return ctx.NotSupported("window geometry XNNPACK cannot express");
  }
  RETURN_IF_ERROR(ParseActivation(ctx, s->act));
  s->ops.reserve(3);

  // ONNX [C_in = groups * gi][go][kH][kW] -> XNNPACK's [groups][go][kH][kW][gi].
  const auto& wd = ctx.inputs[1].dims;
  const int64_t gi = g.channels / g.group, go = wd[1], kk = wd[2] * wd[3];
  const float* w = ctx.constants[1]->data<float>();
  std::vector<float> packed(static_cast<size_t>(g.group * go * kk * gi));
  for (int64_t grp = 0; grp < g.group; ++grp) {
    for (int64_t c = 0; c < gi; ++c) {
      for (int64_t o = 0; o < go; ++o) {
        for (int64_t k = 0; k < kk; ++k) {
          packed[((grp * go + o) * kk + k) * gi + c] = w[(((grp * gi + c) * go) + o) * kk + k];
        }
      }
    }
  }

  HeapMeter meter;
  xnn_operator_t op = nullptr;
  const xnn_status st = xnn_create_deconvolution2d_nhwc_f32(
      g.lead[0], g.trail[1], g.trail[0], g.lead[1], g.kernel[0], g.kernel[1], g.stride[0],
      g.stride[1], g.dilation[0], g.dilation[1], static_cast<uint32_t>(g.group),
      static_cast<size_t>(gi), static_cast<size_t>(go), static_cast<size_t>(g.channels),
      static_cast<size_t>(g.out_channels), packed.data(), BiasOf(ctx), s->act.output_min,
      s->act.output_max, 0, &op);
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "deconvolution").status());
  RETURN_IF_ERROR(CreateActivationOps(ctx, *s, s->act));
  s->heap_bytes = meter.bytes();
  s->out_elements = static_cast<size_t>(NumElements(ctx.outputs[0].dims));
  if (s->act.needs_scratch()) ctx.scratch_bytes = s->out_elements * sizeof(float);
  // XNNPACK packed the weights and the bias into the operator at create.
  ctx.packed_constant_inputs |= (1u << 1) | (1u << 2);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupDeconv(SetupContext& ctx) {
  auto& s = ctx.state_as<DeconvState>();
  const TensorView& x = ctx.inputs[0];
  TensorView& y = ctx.outputs[0];
  if (Overlap(x, y)) return ctx.Fail("output shares memory with input X");
  HeapMeter meter;
  const xnn_status st = xnn_setup_deconvolution2d_nhwc_f32(
      s.ops[0], static_cast<size_t>(s.g.batch), static_cast<size_t>(s.g.in_h),
      static_cast<size_t>(s.g.in_w), s.g.adjustment[0], s.g.adjustment[1], x.data<float>(),
      y.data<float>(), ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "deconvolution");
  RETURN_IF_ERROR(SetupActivation(ctx, s, s.act, y.data<float>(), s.out_elements,
                                  static_cast<float*>(ctx.scratch)));
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

constexpr KernelPath kXnn = KernelPath::kXnnpack;
constexpr std::string_view kNhwc = kNhwcDomain;

constexpr KernelDef kConvKernels[] = {
    {"Conv", kXnn, kF32, SupportsConvPlain, PrepareConv, InvokeXnnOps, kNhwc, false, false,
     SetupConv},
    {"Conv", kXnn, kF32, SupportsConvResidual, PrepareConv, InvokeXnnOps, kNhwc,
     /*may_run_in_place=*/true, false, SetupConv, /*in_place_input=*/3},
    {"ConvTranspose", kXnn, kF32, SupportsDeconv, PrepareDeconv, InvokeXnnOps, kNhwc, false, false,
     SetupDeconv},
};

}  // namespace

std::span<const KernelDef> XnnpackConvKernels() { return kConvKernels; }

}  // namespace edgerun
