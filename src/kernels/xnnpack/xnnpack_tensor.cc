// XNNPACK data-movement kernels: Concat (any axis, 4-byte elements) as one strided copy_nc_x32
// per input, constant Pad (constant_pad_nd_x32) and bilinear Resize of rank-4 tensors whose
// resized axes are (1, 2) (NHWC data) or (2, 3) (NCHW data).
//
// Resize is claimed only where XNNPACK's coordinates equal ONNX's: XNNPACK derives the scale as
// in / out, so the ONNX scale must be out / in; half_pixel, pytorch_half_pixel (outputs > 1),
// align_corners and asymmetric map onto its default, XNN_FLAG_ALIGN_CORNERS and
// XNN_FLAG_TENSORFLOW_LEGACY_MODE.
#include <cmath>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "kernels/simd/interleave.h"
#include "kernels/xnnpack/xnnpack_util.h"

namespace edgerun {
namespace {

constexpr DTypeSet kX32{DType::kF32, DType::kI32, DType::kU32};

bool Is32Bit(const TensorType& t) {
  return t.dtype == DType::kF32 || t.dtype == DType::kI32 || t.dtype == DType::kU32;
}

// ---- Concat ----

struct ConcatState : XnnState {
  size_t rows = 0;
  std::vector<size_t> offsets;  // element offset of each input's columns in an output row
};

int ConcatAxis(const Node& node, int rank) {
  Expected<int64_t> axis = node.GetInt("axis", 0);
  if (!axis.ok() || *axis < -rank || *axis >= rank) return -1;
  return static_cast<int>(*axis < 0 ? *axis + rank : *axis);
}

bool SupportsConcat(const SupportContext& ctx) {
  if (ctx.inputs.empty() || ctx.outputs.size() != 1) return false;
  const int rank = ctx.outputs[0].rank();
  if (rank < 1 || ConcatAxis(ctx.node, rank) < 0) return false;
  for (const TensorType& t : ctx.inputs) {
    if (!Is32Bit(t) || t.dtype != ctx.inputs[0].dtype || t.rank() != rank ||
        t.num_elements() <= 0) {
      return false;
    }
  }
  return true;
}

Status PrepareConcat(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<ConcatState>();
  const auto& out = ctx.outputs[0].dims;
  const int axis = ConcatAxis(ctx.node, static_cast<int>(out.size()));
  if (axis < 0) return ctx.Invalid("axis out of range");
  s->rows = 1;
  for (int d = 0; d < axis; ++d) s->rows *= static_cast<size_t>(out[d]);
  size_t out_stride = 1;
  for (size_t d = axis; d < out.size(); ++d) out_stride *= static_cast<size_t>(out[d]);
  s->ops.reserve(ctx.inputs.size());
  s->offsets.reserve(ctx.inputs.size());
  HeapMeter meter;
  size_t offset = 0;
  for (const TensorType& t : ctx.inputs) {
    size_t cols = 1;
    for (size_t d = axis; d < t.dims.size(); ++d) cols *= static_cast<size_t>(t.dims[d]);
    xnn_operator_t op = nullptr;
    const xnn_status st = xnn_create_copy_nc_x32(cols, cols, out_stride, 0, &op);
    RETURN_IF_ERROR(s->Adopt(ctx, st, op, "copy").status());
    s->offsets.push_back(offset);
    offset += cols;
  }
  if (offset != out_stride) return ctx.Invalid("inputs do not add up to the output");
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupConcat(SetupContext& ctx) {
  auto& s = ctx.state_as<ConcatState>();
  auto* y = static_cast<uint32_t*>(ctx.outputs[0].raw);
  HeapMeter meter;
  for (size_t i = 0; i < s.ops.size(); ++i) {
    const xnn_status st = xnn_setup_copy_nc_x32(s.ops[i], s.rows, ctx.inputs[i].raw,
                                                y + s.offsets[i], ctx.threadpool);
    if (st != xnn_status_success) return SetupFailed(ctx, st, "copy");
  }
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

// ---- Pad ----

struct PadState : XnnState {
  uint32_t value_bits = 0;  // the operator reads the padding value from here at create
  int rank = 0;
  size_t shape[XNN_MAX_TENSOR_DIMS] = {};
  size_t pre[XNN_MAX_TENSOR_DIMS] = {};
  size_t post[XNN_MAX_TENSOR_DIMS] = {};
};

// Pads, constant value and mode as the ONNX op gives them (attributes before opset 11, constant
// inputs after); false for anything but non-negative constant padding of rank <= 6.
bool ResolvePad(const Node& node, std::span<const TensorType> inputs,
                std::span<const Tensor* const> constants, PadState* s) {
  if (inputs.empty() || !Is32Bit(inputs[0]) || inputs[0].num_elements() <= 0) return false;
  const int rank = inputs[0].rank();
  if (rank < 1 || rank > XNN_MAX_TENSOR_DIMS) return false;
  Expected<std::string> mode = node.GetString("mode", "constant");
  if (!mode.ok() || *mode != "constant") return false;
  std::vector<int64_t> pads;
  uint32_t bits = 0;
  if (node.opset > 0 && node.opset < 11) {
    Expected<std::vector<int64_t>> p = node.GetInts("pads", {});
    Expected<float> value = node.GetFloat("value", 0.0f);
    if (!p.ok() || !value.ok() || inputs[0].dtype != DType::kF32) return false;
    pads = *p;
    std::memcpy(&bits, &*value, sizeof(bits));
  } else {
    if (inputs.size() < 2 || constants[1] == nullptr) return false;
    if (inputs.size() > 3 && Present(inputs[3])) return false;  // axes (opset 18)
    pads = constants[1]->ToInt64Vector();
    if (inputs.size() > 2 && Present(inputs[2])) {
      const Tensor* v = constants[2];
      if (v == nullptr || v->dtype() != inputs[0].dtype || v->num_elements() != 1) return false;
      std::memcpy(&bits, v->raw(), sizeof(bits));
    }
  }
  if (pads.size() != static_cast<size_t>(2 * rank)) return false;
  for (int64_t p : pads) {
    if (p < 0) return false;
  }
  if (s != nullptr) {
    s->rank = rank;
    s->value_bits = bits;
    for (int d = 0; d < rank; ++d) {
      s->shape[d] = static_cast<size_t>(inputs[0].dims[d]);
      s->pre[d] = static_cast<size_t>(pads[d]);
      s->post[d] = static_cast<size_t>(pads[rank + d]);
    }
  }
  return true;
}

bool SupportsPad(const SupportContext& ctx) {
  return ctx.outputs.size() == 1 && ResolvePad(ctx.node, ctx.inputs, ctx.constants, nullptr);
}

Status PreparePad(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<PadState>();
  if (!ResolvePad(ctx.node, ctx.inputs, ctx.constants, s.get())) {
    return ctx.NotSupported("padding XNNPACK cannot express");
  }
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  const xnn_status st = xnn_create_constant_pad_nd_x32(&s->value_bits, 0, &op);
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "constant pad").status());
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupPad(SetupContext& ctx) {
  auto& s = ctx.state_as<PadState>();
  HeapMeter meter;
  const xnn_status st =
      xnn_setup_constant_pad_nd_x32(s.ops[0], static_cast<size_t>(s.rank), s.shape, s.pre, s.post,
                                    ctx.inputs[0].raw, ctx.outputs[0].raw, ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "constant pad");
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

// ---- ChannelShuffle (com.edgerun), on the innermost axis: NHWC data after the layout pass ----

struct ShuffleState : XnnState {
  size_t batch = 0;
};

bool SupportsChannelShuffle(const SupportContext& ctx) {
  if (ctx.inputs.size() != 1 || ctx.outputs.size() != 1 || !Is32Bit(ctx.inputs[0]) ||
      ctx.inputs[0].num_elements() <= 0) {
    return false;
  }
  const int rank = ctx.inputs[0].rank();
  Expected<int64_t> axis = ctx.node.GetInt("axis", 1);
  Expected<int64_t> group = ctx.node.GetInt("group", 0);
  // XNNPACK rejects a single group (a plain copy), which the reference kernel handles.
  return axis.ok() && group.ok() && (*axis == rank - 1 || *axis == -1) && *group >= 2 &&
         ctx.inputs[0].dims[rank - 1] % *group == 0;
}

Status PrepareChannelShuffle(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<ShuffleState>();
  const auto& dims = ctx.inputs[0].dims;
  ASSIGN_OR_RETURN(int64_t group, ctx.node.GetInt("group", 1));
  const auto channels = static_cast<size_t>(dims.back());
  s->batch = static_cast<size_t>(ctx.inputs[0].num_elements()) / channels;
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  const xnn_status st = xnn_create_channel_shuffle_nc_x32(static_cast<size_t>(group),
                                                          channels / static_cast<size_t>(group),
                                                          channels, channels, 0, &op);
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "channel shuffle").status());
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupChannelShuffle(SetupContext& ctx) {
  auto& s = ctx.state_as<ShuffleState>();
  // XNNPACK reads the input while writing the output: they must not share a buffer.
  if (ctx.inputs[0].raw == ctx.outputs[0].raw) {
    return ctx.Fail("XNNPACK channel shuffle cannot run in place");
  }
  HeapMeter meter;
  const xnn_status st = xnn_setup_channel_shuffle_nc_x32(s.ops[0], s.batch, ctx.inputs[0].raw,
                                                         ctx.outputs[0].raw, ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "channel shuffle");
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

// ---- Resize ----

struct ResizeGeometry {
  bool nhwc = true;
  size_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  uint32_t flags = 0;
};

bool ResolveResize(const Node& node, std::span<const TensorType> inputs,
                   std::span<const Tensor* const> constants, std::span<const TensorType> outputs,
                   ResizeGeometry* g) {
  if (inputs.empty() || outputs.size() != 1 || !IsF32(inputs[0]) || inputs[0].rank() != 4 ||
      outputs[0].rank() != 4) {
    return false;
  }
  const auto& in = inputs[0].dims;
  const auto& out = outputs[0].dims;
  for (int d = 0; d < 4; ++d) {
    if (!FitsU32(in[d]) || !FitsU32(out[d]) || in[d] >= (1 << 24) || out[d] >= (1 << 24)) {
      return false;
    }
  }
  Expected<std::string> mode = node.GetString("mode", "nearest");
  if (!mode.ok() || (*mode != "linear" && *mode != "bilinear")) return false;
  std::string ctm = "asymmetric";
  if (node.opset >= 11) {
    Expected<std::string> c = node.GetString("coordinate_transformation_mode", "half_pixel");
    Expected<int64_t> antialias = node.GetInt("antialias", 0);
    Expected<std::string> policy = node.GetString("keep_aspect_ratio_policy", "stretch");
    if (!c.ok() || !antialias.ok() || *antialias != 0 || !policy.ok() || *policy != "stretch" ||
        node.has_attr("axes")) {
      return false;
    }
    ctm = *c;
  }
  // Per-axis scales: the constant scales input, or out / in when sizes are given.
  const size_t scales_in = node.opset >= 11 ? 2 : 1;
  double scale[4];
  const bool has_scales = inputs.size() > scales_in && Present(inputs[scales_in]) &&
                          inputs[scales_in].num_elements() > 0;
  if (has_scales) {
    if (constants[scales_in] == nullptr || constants[scales_in]->num_elements() != 4) return false;
    const std::vector<float> s = constants[scales_in]->ToFloatVector();
    for (int d = 0; d < 4; ++d) scale[d] = s[d];
  } else {
    for (int d = 0; d < 4; ++d) scale[d] = static_cast<double>(out[d]) / static_cast<double>(in[d]);
  }
  auto unchanged = [&](int d) { return out[d] == in[d] && scale[d] == 1.0; };
  if (!unchanged(0)) return false;
  int h = 1;
  if (unchanged(3)) {
    g->nhwc = true;
    h = 1;
  } else if (unchanged(1)) {
    g->nhwc = false;
    h = 2;
  } else {
    return false;
  }
  for (int d = h; d < h + 2; ++d) {
    const double exact = static_cast<double>(out[d]) / static_cast<double>(in[d]);
    if (std::abs(scale[d] - exact) > 1e-6 * exact) return false;
    if (ctm == "pytorch_half_pixel" && out[d] == 1 && in[d] != 1) return false;
  }
  if (ctm == "half_pixel" || ctm == "pytorch_half_pixel") {
    g->flags = 0;
  } else if (ctm == "align_corners") {
    g->flags = XNN_FLAG_ALIGN_CORNERS;
  } else if (ctm == "asymmetric") {
    g->flags = XNN_FLAG_TENSORFLOW_LEGACY_MODE;
  } else {
    return false;
  }
  g->batch = static_cast<size_t>(in[0]);
  g->channels = static_cast<size_t>(g->nhwc ? in[3] : in[1]);
  g->in_h = static_cast<size_t>(in[h]);
  g->in_w = static_cast<size_t>(in[h + 1]);
  g->out_h = static_cast<size_t>(out[h]);
  g->out_w = static_cast<size_t>(out[h + 1]);
  // XNNPACK's CHW kernel needs at least 2x2 input pixels.
  if (!g->nhwc && (g->in_h < 2 || g->in_w < 2)) return false;
  return true;
}

bool SupportsResize(const SupportContext& ctx) {
  ResizeGeometry g;
  return ResolveResize(ctx.node, ctx.inputs, ctx.constants, ctx.outputs, &g);
}

struct ResizeState : XnnState {
  ResizeGeometry g;
};

Status PrepareResize(PrepareContext& ctx) {
  if (!XnnpackInitialized()) return ctx.NotSupported("XNNPACK cannot run on this CPU");
  auto s = std::make_unique<ResizeState>();
  ResizeGeometry& g = s->g;
  if (!ResolveResize(ctx.node, ctx.inputs, ctx.constants, ctx.outputs, &g)) {
    return ctx.NotSupported("a resize XNNPACK cannot express exactly");
  }
  HeapMeter meter;
  xnn_operator_t op = nullptr;
  const xnn_status st =
      g.nhwc
          ? xnn_create_resize_bilinear2d_nhwc_f32(g.channels, g.channels, g.channels, g.flags, &op)
          : xnn_create_resize_bilinear2d_nchw_f32(g.channels, g.channels, g.channels, g.flags, &op);
  RETURN_IF_ERROR(s->Adopt(ctx, st, op, "bilinear resize").status());
  s->heap_bytes = meter.bytes();
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupResize(SetupContext& ctx) {
  auto& s = ctx.state_as<ResizeState>();
  const ResizeGeometry& g = s.g;
  HeapMeter meter;
  const auto setup =
      g.nhwc ? xnn_setup_resize_bilinear2d_nhwc_f32 : xnn_setup_resize_bilinear2d_nchw_f32;
  const xnn_status st =
      setup(s.ops[0], g.batch, g.in_h, g.in_w, g.out_h, g.out_w, ctx.inputs[0].data<float>(),
            ctx.outputs[0].data<float>(), ctx.threadpool);
  if (st != xnn_status_success) return SetupFailed(ctx, st, "bilinear resize");
  s.heap_bytes += meter.bytes();
  return Status::Ok();
}

constexpr KernelPath kXnn = KernelPath::kXnnpack;
constexpr DTypeSet kF32{DType::kF32};

constexpr KernelDef kTensorKernels[] = {
    {"Concat", kXnn, kX32, SupportsConcat, PrepareConcat, InvokeXnnOps, "", false, false,
     SetupConcat},
    {"Pad", kXnn, kX32, SupportsPad, PreparePad, InvokeXnnOps, "", false, false, SetupPad},
    {"ChannelShuffle", kXnn, kX32, SupportsChannelShuffle, PrepareChannelShuffle, InvokeXnnOps,
     kEdgerunDomain, false, false, SetupChannelShuffle},
    {"Resize", kXnn, kF32, SupportsResize, PrepareResize, InvokeXnnOps, "", false, false,
     SetupResize},
};

}  // namespace

std::span<const KernelDef> XnnpackTensorKernels() {
  // XNNPACK (2022) has no transpose operator; the path's NCHW -> NHWC input conversion is the
  // Highway plane interleave, so it does not fall back to the reference copy on ARM.
  static const std::vector<KernelDef> kernels = [] {
    std::vector<KernelDef> all(std::begin(kTensorKernels), std::end(kTensorKernels));
    all.push_back(PlaneInterleaveTransposeKernel(KernelPath::kXnnpack));
    // A ChannelShuffle with a Concat or Slices folded in (several inputs or outputs), which
    // XNNPACK's cannot take.
    all.push_back(InterleaveChannelShuffleKernel(KernelPath::kXnnpack));
    return all;
  }();
  return kernels;
}

}  // namespace edgerun
