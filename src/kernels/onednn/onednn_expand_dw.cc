// com.edgerun.nhwc ExpandDepthwiseConv (f32) on row bands: oneDNN's 1x1 convolution expands a
// band of input rows into a buffer in the node's scratch, and the depthwise conv
// (simd/depthwise_rows.h) reads that band back while it is still in cache. Run as two layers, the
// expansion wrote its whole output to memory and the depthwise conv read it back from there
// (MobileNetV2's 16->96 at 112x112: 4.8 MB, 0.38 + 0.25 ms).
//
// A band of output rows reads a window of expanded rows; consecutive windows overlap by
// kernel - stride rows, which stay in the buffer (moved to its front) instead of being expanded
// again. The expansion primitive is created once per distinct number of new rows a band needs
// (the first band of a thread, the steady bands, the last), all sharing one copy of the packed
// weights. With several threads, each takes a contiguous share of the output rows with its own
// buffer, scratchpad and copies of the primitives, so the threads meet only at the end.
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/unaligned.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"
#include "kernels/openmp_shares.h"
#include "kernels/ref/expand_depthwise.h"
#include "kernels/simd/depthwise_rows.h"
#include "kernels/simd/silu.h"
#include "kernels/simd/simd_target.h"

namespace edgerun {
namespace {

using onednn::AlignedBuffer;
using onednn::IsF32;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

// Expanded rows a band holds: about this many bytes, which stay in a core's L2 (1-2 MiB on the
// x86 CPUs measured) next to the band's input rows and output.
constexpr size_t kBandBytes = 512 * 1024;
constexpr size_t kPaddedChannelMultiple = 16;

size_t AlignUp64(size_t n) { return (n + 63) / 64 * 64; }

// One band of output rows [out_begin, out_end): it reads expanded rows [first, end), of which
// [new_begin, end) are expanded for it (the rest are still in the buffer from the band before).
struct Band {
  int64_t out_begin = 0, out_end = 0;
  int64_t first = 0, end = 0, new_begin = 0;
  int64_t kept_from = 0;  // buffer row where the kept rows [first, new_begin) are
  int runner = 0;         // the expansion primitive for end - new_begin rows, if any
};

struct ThreadPlan {
  std::vector<Band> bands;
  std::vector<PrimitiveRunner> runners;  // one per distinct band height
  size_t scratch_offset = 0;             // this thread's buffer in the node's scratch
};

struct ExpandDepthwiseState : KernelState {
  ExpandDepthwiseGeometry g;
  DepthwiseRowsArgs depthwise;  // input pointer and rows set per band
  AlignedBuffer depthwise_weights, depthwise_bias;
  bool expand_silu = false;  // a SiLU pass after the expansion instead of oneDNN's post-op
  std::vector<ThreadPlan> threads;
  size_t expanded_row_bytes = 0;
  size_t packed_bytes = 0;
  std::string name;

  size_t persistent_bytes() const override {
    return packed_bytes + depthwise_weights.bytes + depthwise_bias.bytes;
  }
  std::string_view implementation() const override { return name; }
};

// The clamp the depthwise kernel applies for `act`, or false when it has none (SiLU is a pass).
bool ClampOf(const FusedActivation& act, float* lo, float* hi) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (act.has_affine()) return false;
  switch (act.kind) {
    case FusedActivation::Kind::kNone:
    case FusedActivation::Kind::kSiLU:
      *lo = -kInf;
      *hi = kInf;
      return true;
    case FusedActivation::Kind::kRelu:
      *lo = 0;
      *hi = kInf;
      return true;
    case FusedActivation::Kind::kClip:
      *lo = act.a;
      *hi = act.b;
      return true;
    default:
      return false;
  }
}

// Output rows per band: its expanded window about kBandBytes.
int64_t BandOutputRows(const ExpandDepthwiseState& s) {
  const ExpandDepthwiseGeometry& g = s.g;
  const int64_t window_rows = std::max<int64_t>(
      g.kernel, static_cast<int64_t>(kBandBytes / std::max<size_t>(s.expanded_row_bytes, 1)));
  return std::max<int64_t>(1, (window_rows - g.kernel) / g.stride + 1);
}

// The bands of output rows [begin, end), each with the window of expanded rows it reads.
std::vector<Band> PlanBands(const ExpandDepthwiseState& s, int64_t begin, int64_t end,
                            int64_t band_rows) {
  const ExpandDepthwiseGeometry& g = s.g;
  std::vector<Band> bands;
  int64_t prev_first = 0, prev_end = -1;
  for (int64_t o = begin; o < end; o += band_rows) {
    Band b;
    b.out_begin = o;
    b.out_end = std::min(end, o + band_rows);
    b.first = std::clamp<int64_t>(o * g.stride - g.pad_top, 0, g.height);
    b.end = std::clamp<int64_t>((b.out_end - 1) * g.stride - g.pad_top + g.kernel, 0, g.height);
    b.new_begin = prev_end < 0 ? b.first : std::clamp(prev_end, b.first, b.end);
    b.kept_from = b.first - prev_first;
    bands.push_back(b);
    prev_first = b.first;
    prev_end = b.end;
  }
  return bands;
}

// The expansion of `rows` input rows: a 1x1 conv [1, C, rows, W] -> [1, M, rows, W], NHWC, one
// thread. `weights` is format_tag_any for the first and that one's choice for the others, which
// then share its packed weights.
Expected<PrimitiveDesc> ExpansionPd(const PrepareContext& ctx, const ExpandDepthwiseState& s,
                                    int64_t rows, const dnnl_memory_desc_t& weights,
                                    const FusedActivation& post_op) {
  const Node& node = ctx.node;
  const int64_t src_dims[] = {1, s.g.in_channels, rows, s.g.width};
  const int64_t dst_dims[] = {1, s.g.channels, rows, s.g.width};
  const int64_t bias_dims[] = {s.g.channels};
  ASSIGN_OR_RETURN(dnnl_memory_desc_t src, onednn::MakeDesc(src_dims, dnnl_f32, dnnl_nhwc, node));
  ASSIGN_OR_RETURN(dnnl_memory_desc_t dst, onednn::MakeDesc(dst_dims, dnnl_f32, dnnl_nhwc, node));
  ASSIGN_OR_RETURN(dnnl_memory_desc_t bias, onednn::MakeDesc(bias_dims, dnnl_f32, dnnl_x, node));
  const bool has_bias = InputPresent(ctx.inputs, 2);
  dnnl_dims_t strides = {1, 1}, dilates = {0, 0}, pads = {0, 0};
  dnnl_convolution_desc_t desc;
  RETURN_IF_ERROR(
      onednn::FromDnnl(dnnl_dilated_convolution_forward_desc_init(
                           &desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights,
                           has_bias ? &bias : nullptr, &dst, strides, dilates, pads, pads),
                       node, "expansion convolution"));
  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeAttr(node, false, post_op));
  return onednn::CreatePdPreferring(node, &desc, attr.get(), {}, "expansion convolution");
}

// The depthwise weights [M, 1, k, k] as [k * k][padded M] and the bias as [padded M].
Status PackDepthwise(PrepareContext& ctx, ExpandDepthwiseState& s) {
  const int64_t padded = s.depthwise.padded_channels, k = s.depthwise.kernel;
  ASSIGN_OR_RETURN(s.depthwise_weights, AlignedBuffer::Allocate(k * k * padded * sizeof(float),
                                                                ctx.node, ctx.weight_pool));
  ASSIGN_OR_RETURN(s.depthwise_bias,
                   AlignedBuffer::Allocate(padded * sizeof(float), ctx.node, ctx.weight_pool));
  auto* w = static_cast<float*>(s.depthwise_weights.data.get());
  auto* b = static_cast<float*>(s.depthwise_bias.data.get());
  // The padding channels stay zero (pool slices come zeroed).
  if (!s.depthwise_weights.zero_filled) std::fill(w, w + k * k * padded, 0.0f);
  if (!s.depthwise_bias.zero_filled) std::fill(b, b + padded, 0.0f);
  const std::byte* src = ctx.constants[3]->UnalignedBytes();
  for (int64_t m = 0; m < s.g.channels; ++m) {
    for (int64_t t = 0; t < k * k; ++t)
      w[t * padded + m] = LoadAnyAlignment<float>(src, m * k * k + t);
  }
  if (InputPresent(ctx.inputs, 4)) {  // constant: SupportsExpandDepthwise checked
    const std::byte* bias = ctx.constants[4]->UnalignedBytes();
    for (int64_t m = 0; m < s.g.channels; ++m) b[m] = LoadAnyAlignment<float>(bias, m);
    ctx.packed_constant_inputs |= 1u << 4;
  }
  ctx.packed_constant_inputs |= 1u << 3;
  s.depthwise.weights = w;
  s.depthwise.bias = b;
  return Status::Ok();
}

bool SupportsExpandDepthwise(const SupportContext& ctx) {
  if (onednn::CpuEngine() == nullptr) return false;
  const auto& in = ctx.inputs;
  if (in.size() < 4 || !IsF32(in[0]) || !IsF32(in[1]) || !IsF32(in[3]) || in[0].dims.size() != 4 ||
      ctx.outputs.empty() || ctx.outputs[0].dims.size() != 4 || ctx.constants.size() < 4 ||
      ctx.constants[1] == nullptr || ctx.constants[3] == nullptr) {
    return false;
  }
  if (InputPresent(in, 2) && !IsF32(in[2])) return false;
  if (InputPresent(in, 4) &&
      (!IsF32(in[4]) || ctx.constants.size() < 5 || ctx.constants[4] == nullptr)) {
    return false;
  }
  const auto& w = in[3].dims;
  if (w.size() != 4 || w[2] < 1 || w[2] > kMaxDepthwiseKernel) return false;
  Expected<ExpandDepthwiseGeometry> g = ExpandDepthwiseGeometryOf(PrepareContext(ctx));
  float lo, hi;
  return g.ok() && ClampOf(g->act, &lo, &hi) && !g->expand_act.has_affine();
}

Status PrepareExpandDepthwise(PrepareContext& ctx) {
  // One implementation: --tune's further tactics would build and time the same one again.
  if (ctx.tactic > 0) return ctx.NotSupported("no alternative implementations");
  ASSIGN_OR_RETURN(ExpandDepthwiseGeometry g, ExpandDepthwiseGeometryOf(ctx));
  const FusedActivation& expand_act = g.expand_act;
  const FusedActivation& act = g.act;
  auto s = std::make_unique<ExpandDepthwiseState>();
  s->g = g;
  DepthwiseRowsArgs& d = s->depthwise;
  d.height = s->g.height;
  d.width = s->g.width;
  d.channels = s->g.channels;
  d.out_width = s->g.out_width;
  d.kernel = static_cast<int>(g.kernel);
  d.stride = static_cast<int>(g.stride);
  d.pad_top = static_cast<int>(g.pad_top);
  d.pad_left = static_cast<int>(g.pad_left);
  d.padded_channels = static_cast<int64_t>((s->g.channels + kPaddedChannelMultiple - 1) /
                                           kPaddedChannelMultiple * kPaddedChannelMultiple);
  if (!ClampOf(act, &d.lo, &d.hi)) {
    return ctx.NotSupported("the depthwise conv's activation has no form in the banded kernel");
  }
  s->expand_silu = expand_act.kind == FusedActivation::Kind::kSiLU && !expand_act.has_affine() &&
                   ctx.silu_after_conv.value_or(onednn::SwishPostOpIsSlow());
  const FusedActivation expand_post_op = s->expand_silu ? FusedActivation{} : expand_act;
  s->expanded_row_bytes = static_cast<size_t>(s->g.width * s->g.channels) * sizeof(float);

  // Threads: the two layers' multiply-adds decide, as for one conv; each thread needs a row.
  const double macs =
      static_cast<double>(s->g.height * s->g.width) * s->g.in_channels * s->g.channels +
      static_cast<double>(s->g.out_height * s->g.out_width) * s->g.channels * d.kernel * d.kernel;
  const int threads = static_cast<int>(
      std::min<int64_t>(onednn::ThreadsForWork(ctx, macs), std::max<int64_t>(1, s->g.out_height)));
  const int64_t band_rows = BandOutputRows(*s);

  // The bands of each thread, and the distinct numbers of rows their expansions take.
  std::vector<int64_t> heights;
  s->threads.resize(threads);
  int64_t buffer_rows = 0;
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = s->g.out_height * t / threads, end = s->g.out_height * (t + 1) / threads;
    s->threads[t].bands = PlanBands(*s, begin, end, band_rows);
    for (Band& b : s->threads[t].bands) {
      buffer_rows = std::max(buffer_rows, b.end - b.first);
      const int64_t rows = b.end - b.new_begin;
      if (rows == 0) continue;  // a last band whose rows the band before expanded (padding)
      auto it = std::find(heights.begin(), heights.end(), rows);
      b.runner = static_cast<int>(it - heights.begin());
      if (it == heights.end()) heights.push_back(rows);
    }
  }

  // One descriptor per height, all with the first one's weight layout, created for one thread.
  onednn::ScopedOmpThreads team(1);
  const int64_t weight_dims[] = {s->g.channels, s->g.in_channels, 1, 1};
  ASSIGN_OR_RETURN(dnnl_memory_desc_t weights_any,
                   onednn::MakeDesc(weight_dims, dnnl_f32, dnnl_format_tag_any, ctx.node));
  ASSIGN_OR_RETURN(dnnl_memory_desc_t weights_user,
                   onednn::MakeDesc(weight_dims, dnnl_f32, dnnl_oihw, ctx.node));
  std::vector<PrimitiveDesc> pds;
  dnnl_memory_desc_t weights = weights_any;
  for (int64_t rows : heights) {
    ASSIGN_OR_RETURN(PrimitiveDesc pd, ExpansionPd(ctx, *s, rows, weights, expand_post_op));
    if (pds.empty()) weights = *dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0);
    pds.push_back(std::move(pd));
  }

  // Scratch: per thread, the largest scratchpad of its primitives, then its buffer of rows.
  size_t scratchpad = 0;
  for (const PrimitiveDesc& pd : pds) {
    const dnnl_memory_desc_t* md =
        dnnl_primitive_desc_query_md(pd.get(), dnnl_query_scratchpad_md, 0);
    if (md != nullptr) scratchpad = std::max(scratchpad, dnnl_memory_desc_get_size(md));
  }
  const size_t buffer_offset = AlignUp64(scratchpad);
  // Plus one vector: the depthwise kernel's loads stay inside.
  const size_t per_thread =
      buffer_offset + AlignUp64(static_cast<size_t>(buffer_rows) * s->expanded_row_bytes + 64);

  ASSIGN_OR_RETURN(AlignedBuffer packed, onednn::PackConstantInput(ctx, 1, weights_user, weights));
  ctx.packed_constant_inputs |= 1u << 1;
  s->packed_bytes = packed.bytes;
  void* const packed_data = packed.data.get();
  for (int t = 0; t < threads; ++t) {
    ThreadPlan& plan = s->threads[t];
    plan.scratch_offset = per_thread * t + buffer_offset;
    plan.runners.resize(pds.size());
    for (size_t i = 0; i < pds.size(); ++i) {
      PrimitiveRunner& r = plan.runners[i];
      RETURN_IF_ERROR(r.Init(pds[i].get(), ctx.node, per_thread * t));
      r.UseThreads(1);
      const dnnl_memory_desc_t src =
          *dnnl_primitive_desc_query_md(pds[i].get(), dnnl_query_src_md, 0);
      const dnnl_memory_desc_t dst =
          *dnnl_primitive_desc_query_md(pds[i].get(), dnnl_query_dst_md, 0);
      RETURN_IF_ERROR(r.AddPerRunArg(DNNL_ARG_SRC, src, ctx.node));
      RETURN_IF_ERROR(r.AddPerRunArg(DNNL_ARG_DST, dst, ctx.node));
      // The first runner owns the packed weights; the others point at them.
      AlignedBuffer view;
      if (t == 0 && i == 0) {
        view = std::move(packed);
      } else {
        view.data =
            std::unique_ptr<void, AlignedBuffer::Free>(packed_data, AlignedBuffer::Free{false});
      }
      RETURN_IF_ERROR(r.AddOwnedArg(DNNL_ARG_WEIGHTS, weights, std::move(view), ctx.node));
      if (InputPresent(ctx.inputs, 2)) {
        const int64_t bias_dims[] = {s->g.channels};
        ASSIGN_OR_RETURN(dnnl_memory_desc_t bias,
                         onednn::MakeDesc(bias_dims, dnnl_f32, dnnl_x, ctx.node));
        RETURN_IF_ERROR(r.AddArg(DNNL_ARG_BIAS, bias, onednn::ArgSource::kInput, 2, ctx.node));
      }
    }
  }
  RETURN_IF_ERROR(PackDepthwise(ctx, *s));
  s->name = std::string(s->threads[0].runners[0].impl_name()) + "+dw_rows:" + SimdTarget();
  ctx.scratch_bytes = per_thread * threads;
  ctx.state = std::move(s);
  return Status::Ok();
}

Status SetupExpandDepthwise(SetupContext& ctx) {
  if (ctx.inputs[0].raw != nullptr && ctx.inputs[0].raw == ctx.outputs[0].raw) {
    return ctx.Fail("ExpandDepthwiseConv cannot run in place on its input 0");
  }
  for (const ThreadPlan& plan : ctx.state_as<ExpandDepthwiseState>().threads) {
    for (const PrimitiveRunner& r : plan.runners) RETURN_IF_ERROR(r.Bind(ctx));
  }
  return Status::Ok();
}

// Thread `plan`'s bands of image `x` -> `y`.
Status RunBands(const InvokeContext& ctx, const ExpandDepthwiseState& s, const ThreadPlan& plan,
                const float* x, float* y) {
  auto* buffer =
      reinterpret_cast<float*>(static_cast<std::byte*>(ctx.scratch) + plan.scratch_offset);
  const int64_t row_floats = s.g.width * s.g.channels;
  DepthwiseRowsArgs d = s.depthwise;
  d.input = buffer;
  for (const Band& b : plan.bands) {
    const int64_t kept = b.new_begin - b.first;
    if (kept > 0 && b.kept_from > 0) {
      std::memmove(buffer, buffer + b.kept_from * row_floats,
                   static_cast<size_t>(kept * row_floats) * sizeof(float));
    }
    float* fresh = buffer + kept * row_floats;
    if (b.end > b.new_begin) {
      void* const args[] = {const_cast<float*>(x + b.new_begin * s.g.width * s.g.in_channels),
                            fresh};
      RETURN_IF_ERROR(plan.runners[b.runner].ExecuteAt(ctx, args));
      if (s.expand_silu)
        SiLUInPlace(fresh, static_cast<size_t>((b.end - b.new_begin) * row_floats));
    }
    d.first_row = b.first;
    d.rows = b.end - b.first;
    float* out = y + b.out_begin * s.g.out_width * s.g.channels;
    DepthwiseRows(d, b.out_begin, b.out_end, out);
    if (s.g.act.kind == FusedActivation::Kind::kSiLU) {  // a pass; the clamp above was none
      SiLUInPlace(out,
                  static_cast<size_t>((b.out_end - b.out_begin) * s.g.out_width * s.g.channels));
    }
  }
  return Status::Ok();
}

Status InvokeExpandDepthwise(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ExpandDepthwiseState>();
  const int threads = static_cast<int>(s.threads.size());
  for (int64_t n = 0; n < s.g.batch; ++n) {
    const float* x = ctx.inputs[0].data<float>() + n * s.g.height * s.g.width * s.g.in_channels;
    float* y = ctx.outputs[0].data<float>() + n * s.g.out_height * s.g.out_width * s.g.channels;
    // One share per thread plan (on the calling thread alone when there is one).
    std::atomic<bool> failed{false};
    ForEachShare(static_cast<size_t>(threads), threads, 1, [&](size_t t, size_t) {
      if (!RunBands(ctx, s, s.threads[t], x, y).ok()) failed = true;
    });
    if (failed) return ctx.Fail("oneDNN expansion failed on a band of rows");
  }
  return Status::Ok();
}

constexpr DTypeSet kF32{DType::kF32};

}  // namespace

std::span<const KernelDef> OnednnExpandDepthwiseKernels() {
  static constexpr KernelDef kKernels[] = {
      {"ExpandDepthwiseConv", KernelPath::kOnednn, kF32, SupportsExpandDepthwise,
       PrepareExpandDepthwise, InvokeExpandDepthwise, kNhwcDomain, false, false,
       SetupExpandDepthwise},
  };
  return kKernels;
}

}  // namespace edgerun
