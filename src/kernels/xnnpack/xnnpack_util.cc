#include "kernels/xnnpack/xnnpack_util.h"

#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace edgerun {

std::string_view XnnStatusName(xnn_status status) {
  switch (status) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "XNNPACK is not initialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "unknown status";
}

XnnState::~XnnState() {
  for (xnn_operator_t op : ops) xnn_delete_operator(op);
}

Expected<int> XnnState::Adopt(const PrepareContext& ctx, xnn_status status, xnn_operator_t op,
                              std::string_view what) {
  if (status != xnn_status_success) {
    return ctx.NotSupported("XNNPACK could not create the " + std::string(what) + " operator (" +
                            std::string(XnnStatusName(status)) + ")");
  }
  ops.push_back(op);
  return static_cast<int>(ops.size()) - 1;
}

Status SetupFailed(const SetupContext& ctx, xnn_status status, std::string_view what) {
  return ctx.Fail("XNNPACK could not set up the " + std::string(what) + " operator (" +
                  std::string(XnnStatusName(status)) + ")");
}

Status InvokeXnnOps(InvokeContext& ctx) {
  const auto& s = ctx.state_as<XnnState>();
  for (xnn_operator_t op : s.ops) {
    const xnn_status st = xnn_run_operator(op, ctx.threadpool);
    if (st != xnn_status_success) {
      return ctx.Fail("XNNPACK operator failed to run (" + std::string(XnnStatusName(st)) + ")");
    }
  }
  return Status::Ok();
}

// ---- Fused activations ----

namespace {

// Valid producer clamps: XNNPACK rejects empty or NaN ranges.
bool ValidClamp(float lo, float hi) { return !std::isnan(lo) && !std::isnan(hi) && lo < hi; }

}  // namespace

bool XnnActivationSupported(const Node& node) {
  Expected<FusedActivation> act = FusedActivation::FromNode(node);
  if (!act.ok() || !std::isfinite(act->scale) || !std::isfinite(act->shift)) return false;
  using Kind = FusedActivation::Kind;
  switch (act->kind) {
    case Kind::kNone:
    case Kind::kRelu:
    case Kind::kHardSwish:
    case Kind::kSigmoid:
    case Kind::kSiLU:
      return true;
    case Kind::kClip:
      return ValidClamp(act->a, act->b);
    case Kind::kLeakyRelu:
      return std::isfinite(act->a);
    case Kind::kHardSigmoid:
      return std::isfinite(act->a) && std::isfinite(act->b);
    case Kind::kTanh:
      return false;
  }
  return false;
}

Status ParseActivation(const PrepareContext& ctx, XnnActivation& a) {
  ASSIGN_OR_RETURN(a.act, FusedActivation::FromNode(ctx.node));
  using Kind = FusedActivation::Kind;
  if (a.act.kind == Kind::kRelu) {
    a.output_min = 0.0f;
  } else if (a.act.kind == Kind::kClip) {
    if (!ValidClamp(a.act.a, a.act.b)) return ctx.NotSupported("fused Clip with min >= max");
    a.output_min = a.act.a;
    a.output_max = a.act.b;
  } else if (a.act.kind == Kind::kTanh) {
    return ctx.NotSupported("fused Tanh has no XNNPACK operator");
  }
  return Status::Ok();
}

Status CreateActivationOps(const PrepareContext& ctx, XnnState& s, XnnActivation& a) {
  using Kind = FusedActivation::Kind;
  const int first = static_cast<int>(s.ops.size());
  xnn_operator_t op = nullptr;
  switch (a.act.kind) {
    case Kind::kNone:
    case Kind::kRelu:
    case Kind::kClip:
      break;
    case Kind::kLeakyRelu: {
      const xnn_status st = xnn_create_leaky_relu_nc_f32(1, 1, 1, a.act.a, 0, &op);
      RETURN_IF_ERROR(s.Adopt(ctx, st, op, "leaky relu").status());
      break;
    }
    case Kind::kHardSwish: {
      const xnn_status st = xnn_create_hardswish_nc_f32(1, 1, 1, 0, &op);
      RETURN_IF_ERROR(s.Adopt(ctx, st, op, "hardswish").status());
      break;
    }
    case Kind::kSigmoid: {
      const xnn_status st = xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &op);
      RETURN_IF_ERROR(s.Adopt(ctx, st, op, "sigmoid").status());
      break;
    }
    case Kind::kSiLU: {
      xnn_status st = xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &op);
      RETURN_IF_ERROR(s.Adopt(ctx, st, op, "sigmoid").status());
      st = xnn_create_multiply_nd_f32(kNoMin, kNoMax, 0, &op);
      RETURN_IF_ERROR(s.Adopt(ctx, st, op, "multiply").status());
      break;
    }
    case Kind::kHardSigmoid: {
      // max(0, min(1, alpha * x + beta)): a multiply, then an add that clamps to [0, 1]; the
      // two roundings are the reference's.
      a.alpha = a.act.a;
      a.beta = a.act.b;
      xnn_status st = xnn_create_multiply_nd_f32(kNoMin, kNoMax, 0, &op);
      RETURN_IF_ERROR(s.Adopt(ctx, st, op, "multiply").status());
      st = xnn_create_add_nd_f32(0.0f, 1.0f, 0, &op);
      RETURN_IF_ERROR(s.Adopt(ctx, st, op, "add").status());
      break;
    }
    case Kind::kTanh:
      return ctx.NotSupported("fused Tanh has no XNNPACK operator");
  }
  if (static_cast<int>(s.ops.size()) > first) a.first_op = first;
  if (a.act.has_affine()) {
    // y * scale + shift as a multiply and an add by scalars, the two roundings of the unfused ops.
    a.affine_op = static_cast<int>(s.ops.size());
    xnn_status st = xnn_create_multiply_nd_f32(kNoMin, kNoMax, 0, &op);
    RETURN_IF_ERROR(s.Adopt(ctx, st, op, "multiply").status());
    st = xnn_create_add_nd_f32(kNoMin, kNoMax, 0, &op);
    RETURN_IF_ERROR(s.Adopt(ctx, st, op, "add").status());
  }
  return Status::Ok();
}

Status SetupActivation(const SetupContext& ctx, XnnState& s, const XnnActivation& a, float* data,
                       size_t num_elements, float* scratch) {
  using Kind = FusedActivation::Kind;
  const size_t shape[1] = {num_elements};
  const size_t one[1] = {1};
  xnn_status st = xnn_status_success;
  if (a.affine_op >= 0) {
    xnn_operator_t* ops = s.ops.data() + a.affine_op;
    st = xnn_setup_multiply_nd_f32(ops[0], 1, shape, 1, one, data, &a.act.scale, data,
                                   ctx.threadpool);
    if (st == xnn_status_success) {
      st = xnn_setup_add_nd_f32(ops[1], 1, shape, 1, one, data, &a.act.shift, data, ctx.threadpool);
    }
    if (st != xnn_status_success) return SetupFailed(ctx, st, "fused affine");
  }
  if (a.first_op < 0) return Status::Ok();
  xnn_operator_t* ops = s.ops.data() + a.first_op;
  switch (a.act.kind) {
    case Kind::kLeakyRelu:
      st = xnn_setup_leaky_relu_nc_f32(ops[0], num_elements, data, data, ctx.threadpool);
      break;
    case Kind::kHardSwish:
      st = xnn_setup_hardswish_nc_f32(ops[0], num_elements, data, data, ctx.threadpool);
      break;
    case Kind::kSigmoid:
      st = xnn_setup_sigmoid_nc_f32(ops[0], num_elements, data, data, ctx.threadpool);
      break;
    case Kind::kSiLU:
      if (scratch == nullptr) return ctx.Fail("SiLU needs scratch");
      st = xnn_setup_sigmoid_nc_f32(ops[0], num_elements, data, scratch, ctx.threadpool);
      if (st == xnn_status_success) {
        st = xnn_setup_multiply_nd_f32(ops[1], 1, shape, 1, shape, data, scratch, data,
                                       ctx.threadpool);
      }
      break;
    case Kind::kHardSigmoid:
      st =
          xnn_setup_multiply_nd_f32(ops[0], 1, shape, 1, one, data, &a.alpha, data, ctx.threadpool);
      if (st == xnn_status_success) {
        st = xnn_setup_add_nd_f32(ops[1], 1, shape, 1, one, data, &a.beta, data, ctx.threadpool);
      }
      break;
    default:
      break;
  }
  if (st != xnn_status_success) return SetupFailed(ctx, st, "fused activation");
  return Status::Ok();
}

// ---- Window geometry ----

namespace {

// XNNPACK's trailing pad for one axis, from the resolved leading one; false when out cannot be
// produced.
bool ResolveAxis(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation,
                 int64_t lead, uint32_t* xnn_lead, uint32_t* xnn_trail) {
  const int64_t span = (kernel - 1) * dilation + 1;
  // XNNPACK: out = (in + lead + trail - span) / stride + 1 (floor). Take the smallest trail.
  const int64_t trail = std::max<int64_t>(0, (out - 1) * stride + span - in - lead);
  if (lead < 0 || (in + lead + trail - span) / stride + 1 != out) return false;
  if (in + lead + trail < span) return false;
  if (lead > int64_t{0xffffffff} || trail > int64_t{0xffffffff}) return false;
  *xnn_lead = static_cast<uint32_t>(lead);
  *xnn_trail = static_cast<uint32_t>(trail);
  return true;
}

// Slots 1 and 2 of a resolved window in XNNPACK's form.
bool ToWindow2d(const Window3d& w, Window2d* out) {
  for (int j = 1; j <= 2; ++j) {
    if (!FitsU32(w.kernel[j]) || !FitsU32(w.stride[j]) || !FitsU32(w.dilation[j])) return false;
  }
  out->kernel_h = static_cast<uint32_t>(w.kernel[1]);
  out->kernel_w = static_cast<uint32_t>(w.kernel[2]);
  out->stride_h = static_cast<uint32_t>(w.stride[1]);
  out->stride_w = static_cast<uint32_t>(w.stride[2]);
  out->dilation_h = static_cast<uint32_t>(w.dilation[1]);
  out->dilation_w = static_cast<uint32_t>(w.dilation[2]);
  return ResolveAxis(w.in[1], w.out[1], w.kernel[1], w.stride[1], w.dilation[1], w.pad[1],
                     &out->pads.top, &out->pads.bottom) &&
         ResolveAxis(w.in[2], w.out[2], w.kernel[2], w.stride[2], w.dilation[2], w.pad[2],
                     &out->pads.left, &out->pads.right);
}

}  // namespace

bool ResolvePoolWindow2d(const PrepareContext& ctx, Window2d* w) {
  Window3d window;
  return ResolveNhwcPoolWindow(ctx, &window).ok() && ToWindow2d(window, w);
}

bool ResolveXnnConvShape(const PrepareContext& ctx, int weight_input, XnnConvShape* shape) {
  Expected<NhwcConvShape> read = ReadNhwcConvShape(ctx, weight_input);
  if (!read.ok()) return false;
  static_cast<NhwcConvShape&>(*shape) = *read;
  const NhwcConvShape& s = *read;
  for (int64_t d :
       {s.batch, s.in_h, s.in_w, s.channels, s.out_h, s.out_w, s.out_channels, s.group}) {
    if (!FitsU32(d)) return false;
  }
  return ToWindow2d(s.window, &shape->xnn_window);
}

}  // namespace edgerun
