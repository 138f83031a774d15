// Shared plumbing of the oneDNN kernels: the CPU engine, owning handles for the C
// API's objects, status conversion, fused activations as post-ops, one-time reorders of constant
// weights, and PrimitiveRunner, which binds a primitive's arguments to the session's buffers.
//
// A kernel builds its primitive descriptor in prepare (supports() builds it too, so a node is
// only claimed when oneDNN has an implementation), reorders constant weights once into the
// format the primitive chose (owned here, reported as persistent bytes), and declares where each
// execute argument lives: a node input, a node output, the node's scratch (oneDNN's user-mode
// scratchpad, planned in the arena), or an owned buffer. Setup binds the final pointers; invoke
// executes. The C API is used throughout because the C++ API throws.
// Usage:
//   PrimitiveRunner r;
//   RETURN_IF_ERROR(r.Init(pd.get(), ctx.node));  // creates the primitive, sizes the scratchpad
//   RETURN_IF_ERROR(r.AddArg(DNNL_ARG_SRC, src_md, ArgSource::kInput, 0, ctx.node));
//   ctx.scratch_bytes = r.scratch_bytes();
//   setup: RETURN_IF_ERROR(r.Bind(setup_ctx));   invoke: return r.Execute(invoke_ctx);
#pragma once

#include <oneapi/dnnl/dnnl.h>

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/ref_util.h"

namespace edgerun::onednn {

// The process-wide CPU engine, created on first use; nullptr if oneDNN cannot create it. Streams
// are per primitive (PrimitiveRunner), so sessions running on different threads share nothing
// mutable; with the OpenMP runtime a stream executes synchronously on the calling thread's team.
dnnl_engine_t CpuEngine();

// True on the calling thread while dnnl_primitive_execute runs. oneDNN 2.6 builds a hash map of
// the arguments on every call (nargs + 2 small heap blocks per execute, on the calling thread),
// which no public API avoids; allocation-counting tests use this to tell those apart from
// edgerun's own allocations. Everything else (weights, scratchpad, arena) is allocated ahead.
bool InsidePrimitiveExecute();

// Ok for dnnl_success; otherwise Unsupported (dnnl_unimplemented) or Internal naming the node
// and the call that failed.
Status FromDnnl(dnnl_status_t s, const Node& node, std::string_view what);

// Moves ownership of one C API handle; destroys it at scope exit.
template <typename T, dnnl_status_t (*Destroy)(T)>
class Owned {
 public:
  Owned() = default;
  explicit Owned(T h) : h_(h) {}
  Owned(Owned&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Owned& operator=(Owned&& o) noexcept {
    reset(std::exchange(o.h_, nullptr));
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { reset(); }

  T get() const { return h_; }
  // For C calls that create the object into a T*.
  T* out() {
    reset();
    return &h_;
  }
  void reset(T h = nullptr) {
    if (h_ != nullptr) Destroy(h_);
    h_ = h;
  }

 private:
  T h_ = nullptr;
};
using PrimitiveDesc = Owned<dnnl_primitive_desc_t, dnnl_primitive_desc_destroy>;
using Primitive = Owned<dnnl_primitive_t, dnnl_primitive_destroy>;
using Memory = Owned<dnnl_memory_t, dnnl_memory_destroy>;
using Attr = Owned<dnnl_primitive_attr_t, dnnl_primitive_attr_destroy>;
using PostOps = Owned<dnnl_post_ops_t, dnnl_post_ops_destroy>;
using Stream = Owned<dnnl_stream_t, dnnl_stream_destroy>;

// A 64-byte aligned buffer (packed weights, prescaled biases): its own heap block, or a slice of
// the session's WeightPool, which outlives every kernel state.
struct FreeIfOwned {
  bool owned = true;
  void operator()(void* p) const {
    if (owned) std::free(p);
  }
};
struct AlignedBuffer {
  using Free = FreeIfOwned;
  std::unique_ptr<void, Free> data;
  size_t bytes = 0;
  // Slices of a WeightPool come zero-filled: their padding needs no memset, which would fault in
  // the whole buffer before piecewise packing gives the source's pages back.
  bool zero_filled = false;

  // From `pool` when given (shares huge pages with other weights), else from the heap.
  static Expected<AlignedBuffer> Allocate(size_t bytes, const Node& node,
                                          WeightPool* pool = nullptr);
};

// A 4-byte buffer holding `value` (run-time zero points of int8 primitives).
Expected<AlignedBuffer> Int32Buffer(int32_t value, const Node& node);

// For supports() and prepare(): whether a node's input or output is f32 (whether an optional
// input is there: InputPresent in kernels/kernel.h).
inline bool IsF32(const TensorType& t) { return t.dtype == DType::kF32; }

// f32, s8, u8, s32; false for anything else.
bool ToDnnlType(DType t, dnnl_data_type_t* out);

// A plain descriptor for `dims` with format `tag` (dnnl_format_tag_any lets the primitive pick).
Expected<dnnl_memory_desc_t> MakeDesc(std::span<const int64_t> dims, dnnl_data_type_t type,
                                      dnnl_format_tag_t tag, const Node& node);
// A descriptor with explicit element strides (transposed Gemm operands, broadcast batches).
Expected<dnnl_memory_desc_t> MakeStridedDesc(std::span<const int64_t> dims,
                                             std::span<const int64_t> strides,
                                             dnnl_data_type_t type, const Node& node);

// Appends the post-ops computing `act` (after whatever is already in `post_ops`). False when
// oneDNN 2.6 has no exact equivalent, e.g. Clip with min > max.
bool AppendActivation(dnnl_post_ops_t post_ops, const FusedActivation& act);

// Attributes every kernel uses: user-mode scratchpad (the arena holds it), then an optional
// residual accumulation (post-op sum: dst = op(...) + dst), then the fused activation.
// Fails with Unsupported when the activation has no oneDNN form.
Expected<Attr> MakeAttr(const Node& node, bool residual_sum, const FusedActivation& act);

// Attributes of the int8 kernels (QLinearConv, QLinearMatMul): user-mode scratchpad, the fused
// activation (already in output units), then, when the output has a zero point, an eltwise round
// (half to even). oneDNN adds the dst zero point in float before its final conversion; rounding
// first keeps that sum an exact integer, so the result is round_half_even(v) + zp saturated, as
// in the reference kernels and ONNX Runtime, instead of round(v + zp), which differs whenever
// v + zp is not representable (about 3e-5 of the outputs at |zp| ~ 128).
Expected<Attr> MakeInt8Attr(const Node& node, const FusedActivation& act, bool has_dst_zero_point);

// A reorder `from` -> `to` run per inference (layout conversions), with a user-mode scratchpad like
// every other primitive here. `what` names it in errors.
Expected<PrimitiveDesc> CreateReorderPd(const dnnl_memory_desc_t& from,
                                        const dnnl_memory_desc_t& to, const Node& node,
                                        std::string_view what);

// oneDNN tries its implementations in a fixed order and takes the first that accepts the problem.
// A preference overrides that for one kind of layer: when the first implementation's name starts
// with `first`, the first later one whose name starts with `instead` is taken (or the first, if
// none does). The orders we measured are next to each table.
struct ImplPreference {
  std::string_view first, instead;
};
// `op_desc` is a convolution (or other op) descriptor, `what` names it in errors. A `tactic` of
// k >= 1 (PrepareContext::tactic) skips the preferences and takes the k-th implementation oneDNN
// lists, its reference ones not counted; Unsupported when there are fewer.
Expected<PrimitiveDesc> CreatePdPreferring(const Node& node, const void* op_desc,
                                           const_dnnl_primitive_attr_t attr,
                                           std::span<const ImplPreference> preferences,
                                           std::string_view what, int tactic = 0);
// A kernel's support check builds the primitive descriptor that its prepare, run right after it
// for the same node, needs again, and creating one is most of a conv's preparation (oneDNN tries
// its implementations in turn). The check keeps it in `kept` (a Memo with a `pd` member and
// `bool Matches(const Memo& key)` comparing everything the descriptor depends on) and returns an
// empty one; a prepare whose `key` matches takes it, other calls run `create(key, tactic)`.
enum class PdUse { kForSupportCheck, kForPrepare };
template <typename Memo, typename Create>
Expected<PrimitiveDesc> KeepPdForPrepare(Memo& kept, Memo&& key, PdUse use, int tactic,
                                         Create&& create) {
  if (use == PdUse::kForPrepare && tactic == 0 && kept.Matches(key)) return std::move(kept.pd);
  Expected<PrimitiveDesc> pd = create(std::as_const(key), use == PdUse::kForPrepare ? tactic : 0);
  if (!pd.ok() || use == PdUse::kForPrepare) return pd;
  kept = std::move(key);
  kept.pd = std::move(pd).value();
  return PrimitiveDesc();
}

// "brgconv:avx512_core" and the like; "" when oneDNN does not say.
const char* ImplName(const_dnnl_primitive_desc_t pd);

// Packs constant input `input` of the node, laid out as `from`, into a new buffer laid out as `to`
// (the primitive's blocked format), once, at prepare time. When the session lets the kernel
// consume that input (PrepareContext::consumable_constant_inputs), a large one is packed in
// chunks along its outermost dimension, and each chunk's source pages go back to the OS once it is
// packed: the peak holds the weight about once, not twice. The caller reports the input in
// packed_constant_inputs.
// With a weight cache (PrepareContext::weight_cache), bytes packed by an earlier load of the same
// model are mapped from there instead (PackCached).
Expected<AlignedBuffer> PackConstantInput(PrepareContext& ctx, int input,
                                          const dnnl_memory_desc_t& from,
                                          const dnnl_memory_desc_t& to);

// The packed form (laid out as `to`) of constant input `input`: from the session's weight cache
// when an earlier load packed the same source bytes into the same layout the same `method` way,
// else `pack()`'s buffer, which is then added to the cache. The cache's entry names the node, the
// input, the method, both layouts and a sampled fingerprint of the source bytes. A cached buffer
// is read-only and 64-byte aligned; it lives as long as the session.
Expected<AlignedBuffer> PackCached(PrepareContext& ctx, int input, std::string_view method,
                                   const dnnl_memory_desc_t& from, const dnnl_memory_desc_t& to,
                                   const std::function<Expected<AlignedBuffer>()>& pack);

// Writes 3x3 weights [out_channels, in_channels, 3, 3] (OIHW) into `out`, laid out as `md`, the
// weights of one of oneDNN's Winograd convolutions (format_kind wino, md.format_desc.wino_desc.size
// bytes). oneDNN's own reorder into those layouts ran at about 40 MB/s here (25 ms for one of
// ResNet-18's 256-channel convs, where a direct conv's weights take 3 ms), so edgerun transforms
// them itself. False, with nothing written, when `md` is not a layout verified against the library
// (another oneDNN version, another format): the caller then uses oneDNN's reorder.
bool WriteWinogradWeights(const std::byte* oihw, int64_t out_channels, int64_t in_channels,
                          const dnnl_memory_desc_t& md, void* out);
// Whether WriteWinogradWeights handles `md` (checked before allocating its buffer).
bool IsKnownWinogradLayout(const dnnl_memory_desc_t& md, int64_t out_channels, int64_t in_channels);

// The oneDNN view of one 2-D NHWC conv node (Conv, QLinearConv): sizes, strides, dilations
// counted from 0 as oneDNN does, and both pads; the trailing pad is whatever makes the output
// size the model's (it may be negative when the last windows leave input columns unread).
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  int64_t in[2] = {0, 0}, out[2] = {0, 0}, kernel[2] = {0, 0};
  dnnl_dims_t strides = {1, 1};
  dnnl_dims_t dilates = {0, 0};
  dnnl_dims_t pad_l = {0, 0}, pad_r = {0, 0};

  // The 2-D window in slots 1 and 2 of `w` (ResolveWindow, or ResolveTransposedWindow when
  // `transposed`), with oneDNN's dilations (minus 1) and trailing pads.
  void SetWindow(const Window3d& w, bool transposed);
};
// Input 0 is [N, H, W, C], input `weight_input` is [M, C/group, kH, kW], output 0 is
// [N, OH, OW, M]; strides/dilations/pads/auto_pad as the reference kernels resolve them.
Expected<ConvGeometry> ConvGeometryOf(const PrepareContext& ctx, int weight_input);

enum class ArgSource : uint8_t { kInput, kOutput, kScratch, kOwned };

// Threads for one primitive. oneDNN splits every primitive across the whole OpenMP team; layers
// under kMinMacsToShareSpinning or kMinMacsForThreads (kernel.h, by share_every_layer) run on
// the calling thread alone. `weight_input` is the node input holding the weights (1 for
// Conv/MatMul, 3 for QLinear*).
int ThreadsFor(const PrepareContext& ctx, int weight_input);
// The same for a primitive with `macs` multiply-adds (or comparable steps: a pool's output
// elements times its window).
int ThreadsForWork(const PrepareContext& ctx, double macs);

// Whether oneDNN's swish (SiLU) post-op is slower than the conv without it plus a separate pass
// (simd/silu.h): on x86 CPUs with AVX-512, measured on AMD Zen 4 and Zen 5 and on an Intel Xeon
// (CPUID model 207, VNNI without AMX). On Zen 4, which executes AVX-512 as two 256-bit halves,
// its generated code costs about 1 ns per element (the 16->96 1x1 conv at 112x112: 0.47 ms, with
// the post-op 1.66 ms; in EfficientNet-B0 1.24 -> 1.02 ms with the pass); on Zen 5 that layer in
// the model took 0.62-0.72 ms with the post-op and 0.53-0.54 with the pass, EfficientNet-B0
// 8.7 -> 7.8 ms at 1 thread. On the Xeon, EfficientNet-B0 11.60-11.74 -> 10.91-11.24 ms at 1
// thread and 6.44-6.64 -> 6.40-6.54 at 2 (4 alternating runs each). An earlier Xeon measurement
// (with AMX) favoured the post-op, against an older pass built on hwy's Exp. CPUs without AVX-512
// are untested and keep the post-op.
bool SwishPostOpIsSlow();

// Sets the calling thread's OpenMP team size for its lifetime (oneDNN sizes its work split when
// a primitive is created and when it runs, so both are wrapped).
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int threads);
  ~ScopedOmpThreads();
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int saved_ = 0;
};

// One primitive with its execute arguments. Memory objects are created in prepare (without a
// buffer for run-time arguments); Bind points them at the session's buffers, so Execute only
// runs the primitive. Execute re-points an argument whose buffer moved (cheap, no allocation),
// so a caller that skips setup still gets correct results.
class PrimitiveRunner {
 public:
  static constexpr int kMaxArgs = 8;

  // Creates the primitive, its stream and, when the primitive needs one, the scratchpad
  // argument (its size becomes the node's scratch request), `scratchpad_offset` bytes into the
  // node's scratch (one per thread when several threads run copies of a primitive). `pd` must use
  // dnnl_scratchpad_mode_user.
  Status Init(const_dnnl_primitive_desc_t pd, const Node& node, size_t scratchpad_offset = 0);
  // A run-time argument: node input/output `index`, or the scratch (index ignored).
  Status AddArg(int arg, const dnnl_memory_desc_t& md, ArgSource source, int index,
                const Node& node);
  // A run-time argument at `offset` bytes into the node's scratch: a buffer the kernel lays out
  // there next to the primitives' scratchpads (which all start at offset 0).
  Status AddScratchArg(int arg, const dnnl_memory_desc_t& md, size_t offset, const Node& node);
  // An argument whose buffer the runner owns (reordered weights, prescaled bias).
  Status AddOwnedArg(int arg, const dnnl_memory_desc_t& md, AlignedBuffer buffer, const Node& node);
  // An argument whose buffer the caller gives on each ExecuteAt (a band of rows of a tensor).
  Status AddPerRunArg(int arg, const dnnl_memory_desc_t& md, const Node& node);

  // The OpenMP team size the primitive was created for (ThreadsFor); Execute runs with it.
  void UseThreads(int threads) { threads_ = threads; }
  int threads() const { return threads_; }
  size_t scratch_bytes() const { return scratch_bytes_; }
  // Where the furthest scratch region its arguments use ends (scratchpad and AddScratchArg).
  size_t scratch_end() const { return scratch_end_; }
  size_t owned_bytes() const;
  // Implementation name, e.g. "brgconv:avx512_core" (for tests and profiling).
  const char* impl_name() const;

  Status Bind(const SetupContext& ctx) const;
  Status Execute(const InvokeContext& ctx) const;
  // Execute with the AddPerRunArg arguments pointing at `buffers`, in the order they were added.
  Status ExecuteAt(const InvokeContext& ctx, std::span<void* const> buffers) const;

 private:
  struct Source {
    ArgSource kind = ArgSource::kOwned;
    int index = 0;
    size_t scratch_offset = 0;
    bool per_run = false;
  };
  template <typename Ctx>
  Status BindFrom(const Ctx& ctx) const;

  Primitive primitive_;
  Stream stream_;
  const_dnnl_primitive_desc_t pd_ = nullptr;  // owned by primitive_
  Memory memories_[kMaxArgs];
  Source sources_[kMaxArgs];
  // The buffer each memory object was last pointed at by BindFrom: asking oneDNN costs about
  // 0.1 us a call (0.5% of MobileNetV2's run when every Execute asked for every argument).
  mutable void* bound_[kMaxArgs] = {};
  dnnl_exec_arg_t args_[kMaxArgs] = {};
  int num_args_ = 0;
  size_t scratch_bytes_ = 0;
  size_t scratch_end_ = 0;
  int threads_ = 0;  // 0: the session's team
  std::vector<AlignedBuffer> owned_;
};

}  // namespace edgerun::onednn
