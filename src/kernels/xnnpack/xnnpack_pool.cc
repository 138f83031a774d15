// XNNPACK NHWC pooling (kNhwcDomain), f32: MaxPool, AveragePool, GlobalAveragePool and
// GlobalMaxPool.
//
// XNNPACK's max pooling replaces padded taps by the nearest edge pixel, which equals "padding
// never wins" only for windows without dilation; with dilation we claim unpadded windows only.
// Its average pooling divides by the taps inside the input whenever any padding is given, which
// is ONNX's count_include_pad=0; count_include_pad=1 matches only when the attribute pads are 0.
// ceil_mode becomes extra trailing padding (see ResolvePoolWindow2d).
#include <string>

#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {
namespace {

constexpr DTypeSet kF32{DType::kF32};

bool IsNhwcF32(const SupportContext& ctx) {
  return ctx.inputs.size() == 1 && ctx.outputs.size() == 1 && IsF32(ctx.inputs[0]) &&
         ctx.inputs[0].rank() == 4 && ctx.outputs[0].rank() == 4 &&
         ctx.inputs[0].num_elements() > 0 && ctx.outputs[0].num_elements() > 0;
}

// Every window along one axis has a tap inside the input (the first ends at or after 0, the last
// starts before the end).
bool EveryWindowTouchesInput(int64_t in, int64_t out, uint32_t kernel, uint32_t stride,
                             uint32_t dilation, uint32_t lead) {
  const int64_t span = (int64_t{kernel} - 1) * dilation + 1;
  return int64_t{lead} < span && (out - 1) * int64_t{stride} - lead < in;
}

struct PoolGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0;
  Window2d window;
};

bool ResolvePool(const SupportContext& ctx, PoolGeometry* g) {
  const auto& x = ctx.inputs[0].dims;
  const auto& y = ctx.outputs[0].dims;
  g->batch = x[0];
  g->in_h = x[1];
  g->in_w = x[2];
  g->channels = x[3];
  for (int64_t d : x) {
    if (!FitsU32(d)) return false;
  }
  if (!ResolvePoolWindow2d(PrepareContext(ctx), &g->window)) {
    return false;
  }
  const Window2d& w = g->window;
  // XNNPACK rejects 1x1 windows and (in newer versions) strides larger than the window.
  if (w.kernel_h * w.kernel_w < 2 || w.stride_h > w.kernel_h || w.stride_w > w.kernel_w) {
    return false;
  }
  return EveryWindowTouchesInput(x[1], y[1], w.kernel_h, w.stride_h, w.dilation_h, w.pads.top) &&
         EveryWindowTouchesInput(x[2], y[2], w.kernel_w, w.stride_w, w.dilation_w, w.pads.left);
}

bool SupportsMaxPool(const SupportContext& ctx) {
  PoolGeometry g;
  if (!IsNhwcF32(ctx) || !ResolvePool(ctx, &g)) return false;
  const Window2d& w = g.window;
  return (w.dilation_h == 1 && w.dilation_w == 1) || !w.pads.any();
}

bool SupportsAveragePool(const SupportContext& ctx) {
  PoolGeometry g;
  if (!IsNhwcF32(ctx) || !ResolvePool(ctx, &g)) return false;
  const Window2d& w = g.window;
  if (w.dilation_h != 1 || w.dilation_w != 1) return false;
  Expected<int64_t> include_pad = ctx.node.GetInt("count_include_pad", 0);
  if (!include_pad.ok()) return false;
  if (*include_pad != 0) {
    // Only when the padded extent is the input itself (ceil_mode padding does not count).
    Expected<std::string> auto_pad = ctx.node.GetString("auto_pad", "NOTSET");
    Expected<std::vector<int64_t>> pads = ctx.node.GetInts("pads", {});
    if (!auto_pad.ok() || !pads.ok()) return false;
    if (*auto_pad == "SAME_UPPER" || *auto_pad == "SAME_LOWER") return false;
    if (*auto_pad != "VALID") {
      for (int64_t p : *pads) {
        if (p != 0) return false;
      }
    }
  }
  return true;
}

struct PoolState : XnnState {
  PoolGeometry g;
};

Status PreparePool(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<PoolState>();
  SupportContext sctx{ctx.node, ctx.inputs, ctx.constants, ctx.outputs};
  if (!ResolvePool(sctx, &s->g)) return ctx.NotSupported("window geometry XNNPACK cannot express");
  const Window2d& w = s->g.window;
  const size_t c = static_cast<size_t>(s->g.channels);
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  xnn_status st;
  if (ctx.node.op_type == "MaxPool") {
    st = xnn_create_max_pooling2d_nhwc_f32(w.pads.top, w.pads.right, w.pads.bottom, w.pads.left,
                                           w.kernel_h, w.kernel_w, w.stride_h, w.stride_w,
                                           w.dilation_h, w.dilation_w, c, c, c, kNoMin, kNoMax, 0,
                                           &op);
  } else {
    st = xnn_create_average_pooling2d_nhwc_f32(w.pads.top, w.pads.right, w.pads.bottom,
                                               w.pads.left, w.kernel_h, w.kernel_w, w.stride_h,
                                               w.stride_w, c, c, c, kNoMin, kNoMax, 0, &op);
  }
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "pooling").status());
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupPool(SetupContext& ctx) {
  auto& s = ctx.state_as<PoolState>();
  const PoolGeometry& g = s.g;
  HeapMeter meter;
  const bool max = ctx.node.op_type == "MaxPool";
  const auto setup = max ? xnn_setup_max_pooling2d_nhwc_f32 : xnn_setup_average_pooling2d_nhwc_f32;
  const xnn_status st = setup(s.ops[0], static_cast<size_t>(g.batch), static_cast<size_t>(g.in_h),
                              static_cast<size_t>(g.in_w), ctx.inputs[0].data<float>(),
                              ctx.outputs[0].data<float>(), ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "pooling");
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

// ---- Global pools ----

bool SupportsGlobalAveragePool(const SupportContext& ctx) {
  if (!IsNhwcF32(ctx)) return false;
  for (int64_t d : ctx.inputs[0].dims) {
    if (!FitsU32(d)) return false;
  }
  return true;
}

// A max pool whose window is the whole image; XNNPACK needs at least two pixels.
bool SupportsGlobalMaxPool(const SupportContext& ctx) {
  return SupportsGlobalAveragePool(ctx) && ctx.inputs[0].dims[1] * ctx.inputs[0].dims[2] > 1;
}

Status PrepareGlobalPool(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<PoolState>();
  const auto& x = ctx.inputs[0].dims;
  s->g.batch = x[0];
  s->g.in_h = x[1];
  s->g.in_w = x[2];
  s->g.channels = x[3];
  const size_t c = static_cast<size_t>(x[3]);
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  xnn_status st;
  if (ctx.node.op_type == "GlobalMaxPool") {
    const auto h = static_cast<uint32_t>(x[1]), w = static_cast<uint32_t>(x[2]);
    st = xnn_create_max_pooling2d_nhwc_f32(0, 0, 0, 0, h, w, 1, 1, 1, 1, c, c, c, kNoMin, kNoMax, 0,
                                           &op);
  } else {
    st = xnn_create_global_average_pooling_nwc_f32(c, c, c, kNoMin, kNoMax, 0, &op);
  }
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "global pooling").status());
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupGlobalPool(SetupContext& ctx) {
  auto& s = ctx.state_as<PoolState>();
  const PoolGeometry& g = s.g;
  HeapMeter meter;
  xnn_status st;
  if (ctx.node.op_type == "GlobalMaxPool") {
    st = xnn_setup_max_pooling2d_nhwc_f32(s.ops[0], static_cast<size_t>(g.batch),
                                          static_cast<size_t>(g.in_h), static_cast<size_t>(g.in_w),
                                          ctx.inputs[0].data<float>(), ctx.outputs[0].data<float>(),
                                          ctx.threadpool);
  } else {
    st = xnn_setup_global_average_pooling_nwc_f32(
        s.ops[0], static_cast<size_t>(g.batch), static_cast<size_t>(g.in_h * g.in_w),
        ctx.inputs[0].data<float>(), ctx.outputs[0].data<float>(), ctx.threadpool);
  }
  if (st != xnn_status_success) return SetupFailed(ctx, st, "global pooling");
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

constexpr KernelPath kXnn = KernelPath::kXnnpack;
constexpr std::string_view kNhwc = kNhwcDomain;

constexpr KernelDef kPoolKernels[] = {
    {"MaxPool", kXnn, kF32, SupportsMaxPool, PreparePool, InvokeXnnOps, kNhwc, false, false,
     SetupPool},
    {"AveragePool", kXnn, kF32, SupportsAveragePool, PreparePool, InvokeXnnOps, kNhwc, false, false,
     SetupPool},
    {"GlobalAveragePool", kXnn, kF32, SupportsGlobalAveragePool, PrepareGlobalPool, InvokeXnnOps,
     kNhwc, false, false, SetupGlobalPool},
    {"GlobalMaxPool", kXnn, kF32, SupportsGlobalMaxPool, PrepareGlobalPool, InvokeXnnOps, kNhwc,
     false, false, SetupGlobalPool},
};

}  // namespace

std::span<const KernelDef> XnnpackPoolKernels() { return kPoolKernels; }

}  // namespace edgerun
