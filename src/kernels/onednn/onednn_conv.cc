// NHWC Conv and ConvTranspose (f32) on oneDNN's convolution and deconvolution primitives.
//
// Activations stay NHWC (format tag nhwc) so no reorder runs per inference; the weights, constant,
// are reordered once into whatever blocked format the primitive picked. Bias is bound straight
// from the node's input. The residual input Z of an NHWC Conv becomes a sum post-op: the
// primitive accumulates into the output buffer, which is Z's own buffer when the runtime let the
// node run in place, and otherwise holds a copy of Z made just before executing. The fused
// activation follows as eltwise post-ops.
//
// With PrepareContext::winograd, a 3x3 stride-1 conv on a large enough map that edgerun's own
// Winograd kernel (simd/winograd_conv.h, ahead on this path) leaves runs on oneDNN's Winograd
// kernels instead. They read and write oneDNN's blocked layout only, so the node reorders
// its NHWC input (and residual) into blocked buffers in its scratch, and the result back to NHWC.
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/onednn/onednn_util.h"
#include "kernels/openmp_shares.h"
#include "kernels/ref/conv.h"
#include "kernels/simd/silu.h"
#include "kernels/simd/simd_target.h"

namespace edgerun {
namespace {

using onednn::ArgSource;
using onednn::ConvGeometry;
using onednn::IsF32;
using onednn::PrimitiveDesc;
using onednn::PrimitiveRunner;

constexpr int kResidualInput = 3;

// ONNX ConvTranspose geometry, as the reference kernel resolves it (ResolveTransposedWindow).
Expected<ConvGeometry> DeconvGeometryOf(const PrepareContext& ctx) {
  const auto& x = ctx.inputs[0].dims;   // N, H, W, C
  const auto& wt = ctx.inputs[1].dims;  // C, M/g, kH, kW
  const auto& y = ctx.outputs[0].dims;  // N, OH, OW, M
  if (x.size() != 4 || wt.size() != 4 || y.size() != 4) {
    return ctx.NotSupported("oneDNN deconvolution needs 4-D NHWC input, weights and output");
  }
  ConvGeometry g;
  ASSIGN_OR_RETURN(g.group, ctx.node.GetInt("group", 1));
  Window3d w;
  RETURN_IF_ERROR(ResolveNhwcTransposedWindow(ctx, &w));
  g.batch = x[0];
  g.in_channels = x[3];
  g.out_channels = wt[1] * g.group;
  g.SetWindow(w, /*transposed=*/true);
  return g;
}

struct ConvDescs {
  dnnl_memory_desc_t src, weights_any, weights_user, bias, dst;
};

Expected<ConvDescs> MakeConvDescs(const PrepareContext& ctx, const ConvGeometry& g, bool deconv) {
  const Node& node = ctx.node;
  ConvDescs d;
  const int64_t src_dims[] = {g.batch, g.in_channels, g.in[0], g.in[1]};
  const int64_t dst_dims[] = {g.batch, g.out_channels, g.out[0], g.out[1]};
  ASSIGN_OR_RETURN(d.src, onednn::MakeDesc(src_dims, dnnl_f32, dnnl_nhwc, node));
  ASSIGN_OR_RETURN(d.dst, onednn::MakeDesc(dst_dims, dnnl_f32, dnnl_nhwc, node));
  const int64_t oc = g.out_channels / g.group, ic = g.in_channels / g.group;
  // ONNX Conv weights are [M, C/g, kH, kW] (goihw with g outermost); ConvTranspose weights are
  // [C, M/g, kH, kW] (giohw).
  if (g.group == 1) {
    const int64_t dims[] = {g.out_channels, g.in_channels, g.kernel[0], g.kernel[1]};
    ASSIGN_OR_RETURN(d.weights_any, onednn::MakeDesc(dims, dnnl_f32, dnnl_format_tag_any, node));
    ASSIGN_OR_RETURN(d.weights_user,
                     onednn::MakeDesc(dims, dnnl_f32, deconv ? dnnl_iohw : dnnl_oihw, node));
  } else {
    const int64_t dims[] = {g.group, oc, ic, g.kernel[0], g.kernel[1]};
    ASSIGN_OR_RETURN(d.weights_any, onednn::MakeDesc(dims, dnnl_f32, dnnl_format_tag_any, node));
    ASSIGN_OR_RETURN(d.weights_user,
                     onednn::MakeDesc(dims, dnnl_f32, deconv ? dnnl_giohw : dnnl_goihw, node));
  }
  const int64_t bias_dims[] = {g.out_channels};
  ASSIGN_OR_RETURN(d.bias, onednn::MakeDesc(bias_dims, dnnl_f32, dnnl_x, node));
  return d;
}

// Session creation asks whether oneDNN can run a conv (SupportsConvLike) and then builds it
// (PrepareConvLike); each needs a primitive descriptor, whose implementation search was a tenth
// of a small model's load. So the support check leaves its descriptor here, keyed by everything
// dnnl_primitive_desc_create reads, and the prepare that follows on this thread takes it.
struct PdMemo {
  bool deconv = false;
  bool residual = false;
  int threads = 0;
  FusedActivation act;
  dnnl_convolution_desc_t desc;  // dnnl_deconvolution_desc_t is the same type
  PrimitiveDesc pd;              // null once taken

  bool Matches(const PdMemo& key) const {
    return pd.get() != nullptr && deconv == key.deconv && residual == key.residual &&
           threads == key.threads && act == key.act &&
           std::memcmp(&desc, &key.desc, sizeof(desc)) == 0;
  }
};
thread_local PdMemo last_supported_pd;

using onednn::PdUse;

// Depthwise: oneDNN lists brdgmm_dw first, but its older jit_dw kernel ran PP-OCR cls 11% faster
// (0.415 -> 0.368 ms, 9 depthwise layers at 24x96 and smaller), MobileNetV2 and V3-small 1.5-2%
// faster and the others within the noise (1 thread, AVX-512 EPYC, 3 alternating runs each). 1x1
// convs keep brgconv_1x1: jit_1x1 was 4-13% slower on all four.
constexpr onednn::ImplPreference kF32Preferences[] = {{"brdgmm_dw:", "jit_dw:"}};

// The activation the primitive fuses as a post-op: none when SiLU runs as a pass after the conv
// instead (PrepareContext::silu_after_conv, onednn::SwishPostOpIsSlow).
bool SiLUAfterConv(const PrepareContext& ctx, const FusedActivation& act) {
  return act.kind == FusedActivation::Kind::kSiLU && !act.has_affine() &&
         ctx.silu_after_conv.value_or(onednn::SwishPostOpIsSlow());
}

Expected<FusedActivation> PostOpActivation(const PrepareContext& ctx) {
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  return SiLUAfterConv(ctx, act) ? FusedActivation{} : act;
}

// Builds the primitive descriptor; Unsupported when oneDNN has no implementation for it.
Expected<PrimitiveDesc> CreatePd(const PrepareContext& ctx, const ConvGeometry& g,
                                 const ConvDescs& d, bool deconv, bool has_bias, bool residual,
                                 PdUse use) {
  PdMemo key;
  key.deconv = deconv;
  key.residual = residual;
  key.threads = omp_get_max_threads();  // oneDNN sizes its blocking by the team
  ASSIGN_OR_RETURN(key.act, PostOpActivation(ctx));
  const dnnl_memory_desc_t* bias = has_bias ? &d.bias : nullptr;
  std::memset(&key.desc, 0, sizeof(key.desc));  // padding too, for the byte compare
  dnnl_status_t s = deconv
                        ? dnnl_dilated_deconvolution_forward_desc_init(
                              &key.desc, dnnl_forward_inference, dnnl_deconvolution_direct, &d.src,
                              &d.weights_any, bias, &d.dst, g.strides, g.dilates, g.pad_l, g.pad_r)
                        : dnnl_dilated_convolution_forward_desc_init(
                              &key.desc, dnnl_forward_inference, dnnl_convolution_direct, &d.src,
                              &d.weights_any, bias, &d.dst, g.strides, g.dilates, g.pad_l, g.pad_r);
  RETURN_IF_ERROR(onednn::FromDnnl(s, ctx.node, deconv ? "deconvolution" : "convolution"));
  return onednn::KeepPdForPrepare(
      last_supported_pd, std::move(key), use, ctx.tactic,
      [&](const PdMemo& k, int tactic) -> Expected<PrimitiveDesc> {
        ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeAttr(ctx.node, residual, k.act));
        return onednn::CreatePdPreferring(ctx.node, &k.desc, attr.get(), kF32Preferences,
                                          deconv ? "deconvolution" : "convolution", tactic);
      });
}

// Winograd F(2x2,3x3) (oneDNN's jit_fp32_wino_2x3, AVX-512) against the direct conv, 1 thread,
// AVX-512 EPYC, reorders to and from NHWC included: ResNet-18's 64 channels at 56x56 1.14 -> 0.66
// ms, 256 at 14x14 1.15 -> 0.63, SqueezeNet's 16->64 at 55x55 0.29 -> 0.22; but 512 at 7x7 only
// 1.16 -> 1.01 for 1.8x the weight bytes, 64->256 at 13x13 slower, and a model's first conv (3
// input channels) gains nothing. Its transformed weights are 16/9 of the original and its
// scratchpad stays under 2 MB. F(4x4,3x3) (jit_wino_4x3) was faster still on some layers (128
// channels at 28x28: 0.50 ms, where 2x3 is not offered) but takes 4x the weight bytes and a 7-17
// MB scratchpad: ResNet-50's peak RSS went from 136 to 148 MiB for 2% of its time, so it is not
// used. On 2 threads it is used on every map size too: on the AVX-512 EPYC it was about even with
// the direct conv on maps over 28x28 (64 channels at 56x56: 0.60 ms against 0.63), and on an AMD
// Zen 4, whose AVX-512 runs as two 256-bit halves so that the direct conv is compute-bound, it
// wins there by 40% (the same layer: 0.60 against 1.01 ms; ResNet-18 at 2 threads 15.4 -> 13.8
// ms). The outputs differ from a direct conv by rounding: about 2e-6 of the output's magnitude.
constexpr std::string_view kWinogradImpl = "jit_fp32_wino_2x3:";
constexpr onednn::ImplPreference kWinogradPreferences[] = {{"jit_wino_4x3:", kWinogradImpl}};
constexpr int64_t kMinWinogradChannels = 16;
constexpr int64_t kMinWinogradPixels = 14 * 14;
// On an Intel Xeon (CPUID model 207, AVX-512, 1 thread) Winograd also wins at 13x13, where its
// 2x2 tiles overhang the map by a row and a column: SqueezeNet's 48->192 0.168 -> 0.140 ms and
// 64->256 0.298 -> 0.240, the model 4.61 -> 4.44 ms at 1 thread, 2.62 -> 2.54 at 2 (alternating
// runs), for 1.4 MiB more kernel state. On the AMD EPYC the 64->256 layer was slower (above).
constexpr int64_t kMinWinogradPixelsIntel = 13 * 13;

bool WinogradCandidate(const ConvGeometry& g) {
  const int64_t pixels = g.out[0] * g.out[1];
  return g.group == 1 && g.kernel[0] == 3 && g.kernel[1] == 3 && g.strides[0] == 1 &&
         g.strides[1] == 1 && g.dilates[0] == 0 && g.dilates[1] == 0 &&
         g.in_channels >= kMinWinogradChannels && g.out_channels >= kMinWinogradChannels &&
         pixels >= (CpuIsIntel() ? kMinWinogradPixelsIntel : kMinWinogradPixels);
}

size_t AlignUp64(size_t n) { return (n + 63) / 64 * 64; }

struct ConvState : KernelState {
  PrimitiveRunner runner;  // the convolution
  bool residual = false;
  // Winograd: the convolution reads and writes blocked buffers in the node's scratch; these
  // reorder the input (and residual) into them and the result back to the NHWC output.
  bool blocked = false;
  PrimitiveRunner to_blocked_src, to_blocked_dst, to_nhwc;
  // SiLU as a pass over the NHWC output after the conv, on the conv's team.
  bool silu_after = false;
  std::string name_with_pass;  // "brgconv_1x1:avx512_core+silu:AVX3" when silu_after
  size_t persistent_bytes() const override { return runner.owned_bytes(); }
  std::string_view implementation() const override {
    return silu_after ? std::string_view(name_with_pass) : runner.impl_name();
  }
};

// A layout reorder `from` -> `to` into `r`.
Status InitReorder(PrimitiveRunner& r, const dnnl_memory_desc_t& from, const dnnl_memory_desc_t& to,
                   const Node& node) {
  ASSIGN_OR_RETURN(PrimitiveDesc pd, onednn::CreateReorderPd(from, to, node, "layout reorder"));
  return r.Init(pd.get(), node);
}

// The weights of a Winograd conv, transformed into oneDNN's layout for it.
Expected<onednn::AlignedBuffer> TransformWinogradWeights(const PrepareContext& ctx,
                                                         const ConvGeometry& g,
                                                         const dnnl_memory_desc_t& weights) {
  ASSIGN_OR_RETURN(onednn::AlignedBuffer packed,
                   onednn::AlignedBuffer::Allocate(dnnl_memory_desc_get_size(&weights), ctx.node,
                                                   ctx.weight_pool));
  onednn::WriteWinogradWeights(ctx.constants[1]->UnalignedBytes(), g.out_channels, g.in_channels,
                               weights, packed.data.get());
  return packed;
}

// Builds the Winograd plan into `s` (weights not yet bound). Unsupported when oneDNN has no
// Winograd implementation for this conv and its post-ops; nothing is consumed then.
Status PlanWinograd(const PrepareContext& ctx, const ConvGeometry& g, const ConvDescs& d,
                    bool has_bias, int threads, ConvState& s, dnnl_memory_desc_t* weights) {
  const Node& node = ctx.node;
  const int64_t src_dims[] = {g.batch, g.in_channels, g.in[0], g.in[1]};
  const int64_t dst_dims[] = {g.batch, g.out_channels, g.out[0], g.out[1]};
  ASSIGN_OR_RETURN(dnnl_memory_desc_t src_any,
                   onednn::MakeDesc(src_dims, dnnl_f32, dnnl_format_tag_any, node));
  ASSIGN_OR_RETURN(dnnl_memory_desc_t dst_any,
                   onednn::MakeDesc(dst_dims, dnnl_f32, dnnl_format_tag_any, node));
  dnnl_convolution_desc_t desc;
  RETURN_IF_ERROR(onednn::FromDnnl(
      dnnl_dilated_convolution_forward_desc_init(
          &desc, dnnl_forward_inference, dnnl_convolution_winograd, &src_any, &d.weights_any,
          has_bias ? &d.bias : nullptr, &dst_any, g.strides, g.dilates, g.pad_l, g.pad_r),
      node, "Winograd convolution"));
  ASSIGN_OR_RETURN(FusedActivation act, PostOpActivation(ctx));
  ASSIGN_OR_RETURN(onednn::Attr attr, onednn::MakeAttr(node, s.residual, act));
  ASSIGN_OR_RETURN(PrimitiveDesc pd,
                   onednn::CreatePdPreferring(node, &desc, attr.get(), kWinogradPreferences,
                                              "Winograd convolution"));
  if (!std::string_view(onednn::ImplName(pd.get())).starts_with(kWinogradImpl)) {
    return ctx.NotSupported("oneDNN offered no F(2x2,3x3) Winograd kernel");
  }
  const dnnl_memory_desc_t src_blocked =
      *dnnl_primitive_desc_query_md(pd.get(), dnnl_query_src_md, 0);
  const dnnl_memory_desc_t dst_blocked =
      *dnnl_primitive_desc_query_md(pd.get(), dnnl_query_dst_md, 0);
  *weights = *dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0);
  RETURN_IF_ERROR(s.runner.Init(pd.get(), node));
  RETURN_IF_ERROR(InitReorder(s.to_blocked_src, d.src, src_blocked, node));
  RETURN_IF_ERROR(InitReorder(s.to_nhwc, dst_blocked, d.dst, node));
  if (s.residual) RETURN_IF_ERROR(InitReorder(s.to_blocked_dst, d.dst, dst_blocked, node));
  // Scratch: every primitive's scratchpad at offset 0 (they run one after another), then the
  // blocked input, then the blocked output.
  const size_t scratchpad = std::max({s.runner.scratch_bytes(), s.to_blocked_src.scratch_bytes(),
                                      s.to_nhwc.scratch_bytes(), s.to_blocked_dst.scratch_bytes()});
  const size_t src_offset = AlignUp64(scratchpad);
  const size_t dst_offset = src_offset + AlignUp64(dnnl_memory_desc_get_size(&src_blocked));
  RETURN_IF_ERROR(s.to_blocked_src.AddArg(DNNL_ARG_FROM, d.src, ArgSource::kInput, 0, node));
  RETURN_IF_ERROR(s.to_blocked_src.AddScratchArg(DNNL_ARG_TO, src_blocked, src_offset, node));
  if (s.residual) {
    RETURN_IF_ERROR(
        s.to_blocked_dst.AddArg(DNNL_ARG_FROM, d.dst, ArgSource::kInput, kResidualInput, node));
    RETURN_IF_ERROR(s.to_blocked_dst.AddScratchArg(DNNL_ARG_TO, dst_blocked, dst_offset, node));
  }
  RETURN_IF_ERROR(s.runner.AddScratchArg(DNNL_ARG_SRC, src_blocked, src_offset, node));
  RETURN_IF_ERROR(s.runner.AddScratchArg(DNNL_ARG_DST, dst_blocked, dst_offset, node));
  RETURN_IF_ERROR(s.to_nhwc.AddScratchArg(DNNL_ARG_FROM, dst_blocked, dst_offset, node));
  RETURN_IF_ERROR(s.to_nhwc.AddArg(DNNL_ARG_TO, d.dst, ArgSource::kOutput, 0, node));
  for (PrimitiveRunner* r : {&s.runner, &s.to_blocked_src, &s.to_blocked_dst, &s.to_nhwc}) {
    r->UseThreads(threads);
  }
  s.blocked = true;
  return Status::Ok();
}

// Shared by Conv and ConvTranspose: f32 NHWC input, constant 4-D weights, optional bias of any
// provenance, and a primitive oneDNN can build.
bool SupportsConvLike(const SupportContext& ctx, bool deconv) {
  if (onednn::CpuEngine() == nullptr) return false;
  const auto& in = ctx.inputs;
  if (in.size() < 2 || !IsF32(in[0]) || !IsF32(in[1]) || in[0].dims.size() != 4 ||
      in[1].dims.size() != 4 || ctx.constants.size() < 2 || ctx.constants[1] == nullptr) {
    return false;
  }
  if (ctx.outputs.empty() || ctx.outputs[0].dims.size() != 4) return false;
  if (NumElements(in[0].dims) == 0 || NumElements(ctx.outputs[0].dims) == 0) return false;
  const bool has_bias = InputPresent(in, 2);
  if (has_bias && !IsF32(in[2])) return false;
  const bool residual = !deconv && InputPresent(in, kResidualInput);
  if (residual && (!IsF32(in[kResidualInput]) || in[kResidualInput].dims != ctx.outputs[0].dims)) {
    return false;
  }
  PrepareContext pctx(ctx);
  onednn::ScopedOmpThreads team(onednn::ThreadsFor(pctx, 1));  // the team prepare will use
  Expected<ConvGeometry> g = deconv ? DeconvGeometryOf(pctx) : onednn::ConvGeometryOf(pctx, 1);
  if (!g.ok()) return false;
  Expected<ConvDescs> d = MakeConvDescs(pctx, *g, deconv);
  if (!d.ok()) return false;
  return CreatePd(pctx, *g, *d, deconv, has_bias, residual, PdUse::kForSupportCheck).ok();
}

Status PrepareConvLike(PrepareContext& ctx, bool deconv) {
  const int threads = onednn::ThreadsFor(ctx, 1);
  onednn::ScopedOmpThreads team(threads);
  auto s = std::make_unique<ConvState>();
  const bool has_bias = InputPresent(ctx.inputs, 2);
  s->residual = !deconv && InputPresent(ctx.inputs, kResidualInput);
  ASSIGN_OR_RETURN(FusedActivation act, FusedActivation::FromNode(ctx.node));
  const bool silu_after = SiLUAfterConv(ctx, act);
  ASSIGN_OR_RETURN(ConvGeometry g, deconv ? DeconvGeometryOf(ctx) : onednn::ConvGeometryOf(ctx, 1));
  ASSIGN_OR_RETURN(ConvDescs d, MakeConvDescs(ctx, g, deconv));
  ASSIGN_OR_RETURN(PrimitiveDesc pd,
                   CreatePd(ctx, g, d, deconv, has_bias, s->residual, PdUse::kForPrepare));
  if (ctx.constants.size() < 2 || ctx.constants[1] == nullptr) {
    return ctx.NotSupported("oneDNN conv needs constant weights");
  }
  dnnl_memory_desc_t weights;
  // Tactics other than the default time oneDNN's direct implementations.
  if (!deconv && ctx.winograd && ctx.tactic == 0 && WinogradCandidate(g)) {
    Status planned = PlanWinograd(ctx, g, d, has_bias, threads, *s, &weights);
    if (!planned.ok()) {
      if (planned.code() != StatusCode::kUnsupported) return planned;
      s = std::make_unique<ConvState>();  // the direct conv below
      s->residual = InputPresent(ctx.inputs, kResidualInput);
    }
  }
  if (!s->blocked) {
    RETURN_IF_ERROR(s->runner.Init(pd.get(), ctx.node));
    s->runner.UseThreads(threads);
    weights = *dnnl_primitive_desc_query_md(pd.get(), dnnl_query_weights_md, 0);
    RETURN_IF_ERROR(s->runner.AddArg(DNNL_ARG_SRC, d.src, ArgSource::kInput, 0, ctx.node));
    RETURN_IF_ERROR(s->runner.AddArg(DNNL_ARG_DST, d.dst, ArgSource::kOutput, 0, ctx.node));
  }
  onednn::AlignedBuffer packed;
  if (s->blocked && onednn::IsKnownWinogradLayout(weights, g.out_channels, g.in_channels)) {
    ASSIGN_OR_RETURN(packed, onednn::PackCached(ctx, 1, "winograd", d.weights_user, weights, [&] {
                       return TransformWinogradWeights(ctx, g, weights);
                     }));
  } else {
    ASSIGN_OR_RETURN(packed, onednn::PackConstantInput(ctx, 1, d.weights_user, weights));
  }
  RETURN_IF_ERROR(s->runner.AddOwnedArg(DNNL_ARG_WEIGHTS, weights, std::move(packed), ctx.node));
  ctx.packed_constant_inputs |= 1u << 1;
  if (has_bias) {
    RETURN_IF_ERROR(s->runner.AddArg(DNNL_ARG_BIAS, d.bias, ArgSource::kInput, 2, ctx.node));
  }
  s->silu_after = silu_after;
  if (silu_after) s->name_with_pass = std::string(s->runner.impl_name()) + "+silu:" + SimdTarget();
  // The direct conv: its scratchpad. Winograd: up to the end of the blocked output.
  ctx.scratch_bytes = 0;
  for (const PrimitiveRunner* r :
       {&s->runner, &s->to_blocked_src, &s->to_blocked_dst, &s->to_nhwc}) {
    ctx.scratch_bytes = std::max(ctx.scratch_bytes, r->scratch_end());
  }
  ctx.state = std::move(s);
  return Status::Ok();
}

bool SupportsNhwcConv(const SupportContext& ctx) { return SupportsConvLike(ctx, false); }
bool SupportsNhwcConvTranspose(const SupportContext& ctx) { return SupportsConvLike(ctx, true); }
Status PrepareNhwcConv(PrepareContext& ctx) { return PrepareConvLike(ctx, false); }
Status PrepareNhwcConvTranspose(PrepareContext& ctx) { return PrepareConvLike(ctx, true); }

Status SetupConvLike(SetupContext& ctx) {
  // The primitive reads the input while writing the output: they must not share a buffer.
  if (ctx.inputs[0].raw != nullptr && ctx.inputs[0].raw == ctx.outputs[0].raw) {
    return ctx.Fail("oneDNN conv cannot run in place on its input 0");
  }
  const auto& s = ctx.state_as<ConvState>();
  if (s.blocked) {
    RETURN_IF_ERROR(s.to_blocked_src.Bind(ctx));
    if (s.residual) RETURN_IF_ERROR(s.to_blocked_dst.Bind(ctx));
    RETURN_IF_ERROR(s.to_nhwc.Bind(ctx));
  }
  return s.runner.Bind(ctx);
}

// SiLU over the whole output, shared by the conv's team (16 floats fill a cache line).
void ApplySiLU(const ConvState& s, TensorView& y) {
  float* data = static_cast<float*>(y.raw);
  ForEachShare(y.bytes() / sizeof(float), s.runner.threads(), 16,
               [data](size_t begin, size_t end) { SiLUInPlace(data + begin, end - begin); });
}

Status InvokeConvLike(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ConvState>();
  if (s.blocked) {
    // The residual goes into the blocked output first: the sum post-op accumulates onto it.
    RETURN_IF_ERROR(s.to_blocked_src.Execute(ctx));
    if (s.residual) RETURN_IF_ERROR(s.to_blocked_dst.Execute(ctx));
    RETURN_IF_ERROR(s.runner.Execute(ctx));
    RETURN_IF_ERROR(s.to_nhwc.Execute(ctx));
  } else {
    if (s.residual) {
      const TensorView& z = ctx.inputs[kResidualInput];
      TensorView& y = ctx.outputs[0];
      // The sum post-op accumulates into the output: start from Z unless it already is there.
      if (z.raw != y.raw) std::memcpy(y.raw, z.raw, y.bytes());
    }
    RETURN_IF_ERROR(s.runner.Execute(ctx));
  }
  if (s.silu_after) ApplySiLU(s, ctx.outputs[0]);
  return Status::Ok();
}

constexpr DTypeSet kF32{DType::kF32};

}  // namespace

std::span<const KernelDef> OnednnConvKernels() {
  static constexpr KernelDef kKernels[] = {
      {"Conv", KernelPath::kOnednn, kF32, SupportsNhwcConv, PrepareNhwcConv, InvokeConvLike,
       kNhwcDomain, /*may_run_in_place=*/true, /*output_aliases_input=*/false, SetupConvLike,
       /*in_place_input=*/kResidualInput},
      {"ConvTranspose", KernelPath::kOnednn, kF32, SupportsNhwcConvTranspose,
       PrepareNhwcConvTranspose, InvokeConvLike, kNhwcDomain, false, false, SetupConvLike},
  };
  return kKernels;
}

}  // namespace edgerun
