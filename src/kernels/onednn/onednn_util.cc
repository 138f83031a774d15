#include "kernels/onednn/onednn_util.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "core/cpu_features.h"
#include "core/hash.h"
#include "core/large_buffer.h"
#include "kernels/onednn/onednn_pack.h"
#include "kernels/ref/conv.h"

namespace edgerun::onednn {

namespace {

thread_local bool inside_execute = false;

std::string_view DnnlStatusName(dnnl_status_t s) {
  switch (s) {
    case dnnl_success:
      return "success";
    case dnnl_out_of_memory:
      return "out of memory";
    case dnnl_invalid_arguments:
      return "invalid arguments";
    case dnnl_unimplemented:
      return "unimplemented";
    case dnnl_iterator_ends:
      return "iterator ends";
    case dnnl_runtime_error:
      return "runtime error";
    case dnnl_not_required:
      return "not required";
  }
  return "unknown status";
}

}  // namespace

bool InsidePrimitiveExecute() { return inside_execute; }

// Never destroyed: primitives of sessions that outlive static destruction may still reference
// the engine.
dnnl_engine_t CpuEngine() {
  static const dnnl_engine_t engine = [] {
    dnnl_engine_t e = nullptr;
    return dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success ? e : nullptr;
  }();
  return engine;
}

Status FromDnnl(dnnl_status_t s, const Node& node, std::string_view what) {
  if (s == dnnl_success) return Status::Ok();
  std::string msg = node.Describe() + ": oneDNN " + std::string(what) + " failed (" +
                    std::string(DnnlStatusName(s)) + ")";
  if (s == dnnl_unimplemented) return Unsupported(std::move(msg));
  if (s == dnnl_out_of_memory) return ResourceExhausted(std::move(msg));
  return Internal(std::move(msg));
}

Expected<AlignedBuffer> AlignedBuffer::Allocate(size_t bytes, const Node& node, WeightPool* pool) {
  AlignedBuffer b;
  if (pool != nullptr) {
    auto slice = pool->Allocate(bytes, kTensorAlignment);
    if (!slice.ok()) return slice.status().WithPrefix(node.Describe() + ": packed oneDNN weights");
    b.data = std::unique_ptr<void, Free>(*slice, Free{false});
    b.bytes = bytes;
    b.zero_filled = true;
    return b;
  }
  const size_t rounded =
      (std::max<size_t>(bytes, 1) + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  b.data.reset(std::aligned_alloc(kTensorAlignment, rounded));
  if (b.data == nullptr) {
    return ResourceExhausted(node.Describe() + ": cannot allocate " + std::to_string(bytes) +
                             " bytes for packed oneDNN weights");
  }
  b.bytes = bytes;
  return b;
}

Expected<AlignedBuffer> Int32Buffer(int32_t value, const Node& node) {
  ASSIGN_OR_RETURN(AlignedBuffer b, AlignedBuffer::Allocate(sizeof(int32_t), node));
  *static_cast<int32_t*>(b.data.get()) = value;
  return b;
}

bool ToDnnlType(DType t, dnnl_data_type_t* out) {
  switch (t) {
    case DType::kF32:
      *out = dnnl_f32;
      return true;
    case DType::kI8:
      *out = dnnl_s8;
      return true;
    case DType::kU8:
      *out = dnnl_u8;
      return true;
    case DType::kI32:
      *out = dnnl_s32;
      return true;
    default:
      return false;
  }
}

Expected<dnnl_memory_desc_t> MakeDesc(std::span<const int64_t> dims, dnnl_data_type_t type,
                                      dnnl_format_tag_t tag, const Node& node) {
  dnnl_memory_desc_t md;
  dnnl_dims_t d;
  if (dims.size() > static_cast<size_t>(DNNL_MAX_NDIMS)) {
    return Unsupported(node.Describe() + ": rank " + std::to_string(dims.size()) +
                       " is above oneDNN's limit");
  }
  for (size_t i = 0; i < dims.size(); ++i) d[i] = dims[i];
  RETURN_IF_ERROR(
      FromDnnl(dnnl_memory_desc_init_by_tag(&md, static_cast<int>(dims.size()), d, type, tag), node,
               "memory descriptor"));
  return md;
}

Expected<dnnl_memory_desc_t> MakeStridedDesc(std::span<const int64_t> dims,
                                             std::span<const int64_t> strides,
                                             dnnl_data_type_t type, const Node& node) {
  dnnl_memory_desc_t md;
  dnnl_dims_t d, s;
  if (dims.size() > static_cast<size_t>(DNNL_MAX_NDIMS) || strides.size() != dims.size()) {
    return Unsupported(node.Describe() + ": rank " + std::to_string(dims.size()) +
                       " is above oneDNN's limit");
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    d[i] = dims[i];
    s[i] = strides[i];
  }
  RETURN_IF_ERROR(
      FromDnnl(dnnl_memory_desc_init_by_strides(&md, static_cast<int>(dims.size()), d, type, s),
               node, "strided memory descriptor"));
  return md;
}

namespace {

bool AppendActivationOnly(dnnl_post_ops_t post_ops, const FusedActivation& act) {
  using Kind = FusedActivation::Kind;
  auto eltwise = [&](dnnl_alg_kind_t alg, float alpha, float beta) {
    return dnnl_post_ops_append_eltwise(post_ops, 1.0f, alg, alpha, beta) == dnnl_success;
  };
  switch (act.kind) {
    case Kind::kNone:
      return true;
    case Kind::kRelu:
      return eltwise(dnnl_eltwise_relu, 0.0f, 0.0f);
    case Kind::kLeakyRelu:
      return eltwise(dnnl_eltwise_relu, act.a, 0.0f);
    // oneDNN's clip returns the lower bound when min > max; ONNX (and the reference) the upper.
    case Kind::kClip:
      return act.a <= act.b && eltwise(dnnl_eltwise_clip, act.a, act.b);
    // 2.6 has no hardsigmoid: alpha * x + beta, then clamp to [0, 1].
    case Kind::kHardSigmoid:
      return eltwise(dnnl_eltwise_linear, act.a, act.b) && eltwise(dnnl_eltwise_clip, 0.0f, 1.0f);
    case Kind::kHardSwish:
      return eltwise(dnnl_eltwise_hardswish, 0.0f, 0.0f);
    case Kind::kSigmoid:
      return eltwise(dnnl_eltwise_logistic, 0.0f, 0.0f);
    case Kind::kSiLU:
      return eltwise(dnnl_eltwise_swish, 1.0f, 0.0f);
    case Kind::kTanh:
      return eltwise(dnnl_eltwise_tanh, 0.0f, 0.0f);
  }
  return false;
}

}  // namespace

bool AppendActivation(dnnl_post_ops_t post_ops, const FusedActivation& act) {
  if (!AppendActivationOnly(post_ops, act)) return false;
  return !act.has_affine() || dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_linear,
                                                           act.scale, act.shift) == dnnl_success;
}

Expected<Attr> MakeAttr(const Node& node, bool residual_sum, const FusedActivation& act) {
  Attr attr;
  RETURN_IF_ERROR(FromDnnl(dnnl_primitive_attr_create(attr.out()), node, "attribute creation"));
  RETURN_IF_ERROR(
      FromDnnl(dnnl_primitive_attr_set_scratchpad_mode(attr.get(), dnnl_scratchpad_mode_user), node,
               "scratchpad mode"));
  if (residual_sum || !act.is_identity()) {
    PostOps post_ops;
    RETURN_IF_ERROR(FromDnnl(dnnl_post_ops_create(post_ops.out()), node, "post-op creation"));
    if (residual_sum) {
      RETURN_IF_ERROR(
          FromDnnl(dnnl_post_ops_append_sum(post_ops.get(), 1.0f), node, "residual sum post-op"));
    }
    if (!AppendActivation(post_ops.get(), act)) {
      return Unsupported(node.Describe() + ": fused activation has no oneDNN post-op");
    }
    RETURN_IF_ERROR(
        FromDnnl(dnnl_primitive_attr_set_post_ops(attr.get(), post_ops.get()), node, "post-ops"));
  }
  return attr;
}

Expected<PrimitiveDesc> CreateReorderPd(const dnnl_memory_desc_t& from,
                                        const dnnl_memory_desc_t& to, const Node& node,
                                        std::string_view what) {
  ASSIGN_OR_RETURN(Attr attr, MakeAttr(node, false, FusedActivation{}));
  PrimitiveDesc pd;
  RETURN_IF_ERROR(FromDnnl(dnnl_reorder_primitive_desc_create(pd.out(), &from, CpuEngine(), &to,
                                                              CpuEngine(), attr.get()),
                           node, what));
  return pd;
}

Expected<Attr> MakeInt8Attr(const Node& node, const FusedActivation& act, bool has_dst_zero_point) {
  ASSIGN_OR_RETURN(Attr attr, MakeAttr(node, false, FusedActivation{}));
  PostOps post_ops;
  RETURN_IF_ERROR(FromDnnl(dnnl_post_ops_create(post_ops.out()), node, "post-op creation"));
  if (!AppendActivation(post_ops.get(), act)) {
    return Unsupported(node.Describe() + ": fused activation has no oneDNN post-op");
  }
  if (has_dst_zero_point) {
    RETURN_IF_ERROR(
        FromDnnl(dnnl_post_ops_append_eltwise(post_ops.get(), 1.0f, dnnl_eltwise_round, 0.0f, 0.0f),
                 node, "round post-op"));
  }
  if (dnnl_post_ops_len(post_ops.get()) > 0) {
    RETURN_IF_ERROR(
        FromDnnl(dnnl_primitive_attr_set_post_ops(attr.get(), post_ops.get()), node, "post-ops"));
  }
  return attr;
}

const char* ImplName(const_dnnl_primitive_desc_t pd) {
  const char* name = "";
  if (pd == nullptr ||
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success) {
    return "";
  }
  return name;
}

Expected<PrimitiveDesc> CreatePdPreferring(const Node& node, const void* op_desc,
                                           const_dnnl_primitive_attr_t attr,
                                           std::span<const ImplPreference> preferences,
                                           std::string_view what, int tactic) {
  using Iterator = Owned<dnnl_primitive_desc_iterator_t, dnnl_primitive_desc_iterator_destroy>;
  Iterator it;
  RETURN_IF_ERROR(
      FromDnnl(dnnl_primitive_desc_iterator_create(it.out(), op_desc, attr, CpuEngine(), nullptr),
               node, what));
  PrimitiveDesc first(dnnl_primitive_desc_iterator_fetch(it.get()));
  if (first.get() == nullptr)
    return Internal(node.Describe() + ": oneDNN returned no implementation");
  if (tactic > 0) {
    int seen = 0;
    for (PrimitiveDesc pd = std::move(first);;) {
      if (!std::string_view(ImplName(pd.get())).starts_with("ref") && ++seen == tactic) return pd;
      if (dnnl_primitive_desc_iterator_next(it.get()) != dnnl_success) break;
      pd = PrimitiveDesc(dnnl_primitive_desc_iterator_fetch(it.get()));
    }
    return Unsupported(node.Describe() + ": oneDNN lists " + std::to_string(seen) + " " +
                       std::string(what) + " implementation" + (seen == 1 ? "" : "s") + ", not " +
                       std::to_string(tactic));
  }
  const std::string_view name = ImplName(first.get());
  std::string_view want;
  for (const ImplPreference& p : preferences) {
    if (name.starts_with(p.first)) want = p.instead;
  }
  if (want.empty()) return first;
  while (dnnl_primitive_desc_iterator_next(it.get()) == dnnl_success) {
    PrimitiveDesc next(dnnl_primitive_desc_iterator_fetch(it.get()));
    if (std::string_view(ImplName(next.get())).starts_with(want)) return next;
  }
  return first;
}

namespace {

// Reorders `from` at `src` into `to` at `dst`: one primitive, run once per call of `run`.
class ConstantReorder {
 public:
  Status Init(const dnnl_memory_desc_t& from, const dnnl_memory_desc_t& to, const Node& node) {
    dnnl_engine_t engine = CpuEngine();
    if (engine == nullptr) return Internal(node.Describe() + ": no oneDNN CPU engine");
    PrimitiveDesc pd;
    RETURN_IF_ERROR(
        FromDnnl(dnnl_reorder_primitive_desc_create(pd.out(), &from, engine, &to, engine, nullptr),
                 node, "weight reorder"));
    RETURN_IF_ERROR(
        FromDnnl(dnnl_primitive_create(reorder_.out(), pd.get()), node, "weight reorder"));
    RETURN_IF_ERROR(
        FromDnnl(dnnl_memory_create(src_.out(), &from, engine, DNNL_MEMORY_NONE), node, "weights"));
    RETURN_IF_ERROR(
        FromDnnl(dnnl_memory_create(dst_.out(), &to, engine, DNNL_MEMORY_NONE), node, "weights"));
    return FromDnnl(dnnl_stream_create(stream_.out(), engine, dnnl_stream_default_flags), node,
                    "stream creation");
  }

  Status Run(const void* src, void* dst, const Node& node) {
    // The reorder only reads `src`; the C API takes a non-const handle.
    RETURN_IF_ERROR(
        FromDnnl(dnnl_memory_set_data_handle(src_.get(), const_cast<void*>(src)), node, "weights"));
    RETURN_IF_ERROR(FromDnnl(dnnl_memory_set_data_handle(dst_.get(), dst), node, "weights"));
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, src_.get()}, {DNNL_ARG_TO, dst_.get()}};
    RETURN_IF_ERROR(FromDnnl(dnnl_primitive_execute(reorder_.get(), stream_.get(), 2, args), node,
                             "weight reorder"));
    return FromDnnl(dnnl_stream_wait(stream_.get()), node, "weight reorder");
  }

 private:
  Primitive reorder_;
  Memory src_, dst_;
  Stream stream_;
};

// Source bytes packed per chunk when a consumable constant is packed piecewise.
constexpr size_t kPackChunkBytes = size_t{256} << 10;

int64_t BlockOf(const dnnl_blocking_desc_t& b, int dim) {
  int64_t block = 1;
  for (int i = 0; i < b.inner_nblks; ++i) {
    if (b.inner_idxs[i] == dim) block *= b.inner_blks[i];
  }
  return block;
}

// A blocked layout starting at its buffer, without extra data after it (int8 compensation).
bool IsPlainBlocked(const dnnl_memory_desc_t& md) {
  if (md.format_kind != dnnl_blocked || md.extra.flags != 0 || md.offset0 != 0) return false;
  for (int d = 0; d < md.ndims; ++d) {
    if (md.padded_offsets[d] != 0) return false;
  }
  return true;
}

// The dimension whose index is outermost in memory, with everything else dense under it: a run
// of its indices is one contiguous byte range. -1 for anything else.
int DenseOutermostDim(const dnnl_memory_desc_t& md) {
  if (!IsPlainBlocked(md)) return -1;
  int64_t padded_elements = 1;
  for (int d = 0; d < md.ndims; ++d) padded_elements *= md.padded_dims[d];
  const dnnl_blocking_desc_t& b = md.format_desc.blocking;
  for (int d = 0; d < md.ndims; ++d) {
    const int64_t outer = md.padded_dims[d] / BlockOf(b, d);
    if (outer > 1 && b.strides[d] * outer == padded_elements) return d;
  }
  return -1;
}

// `md` cut down to `length` indices of `dim` (`padded_length` with the block padding), strides
// kept: the sub-tensor starting where the caller points the memory handle.
dnnl_memory_desc_t CutAlong(const dnnl_memory_desc_t& md, int dim, int64_t length,
                            int64_t padded_length) {
  dnnl_memory_desc_t cut = md;
  cut.dims[dim] = length;
  cut.padded_dims[dim] = padded_length;
  return cut;
}

// What a packed buffer depends on in a layout: its dims, type and blocking (the fields oneDNN
// sets; a union's unused bytes are not read).
void HashDesc(Hasher& h, const dnnl_memory_desc_t& md) {
  h.Mix(static_cast<uint64_t>(md.ndims));
  h.Mix(static_cast<uint64_t>(md.data_type));
  h.Mix(static_cast<uint64_t>(md.format_kind));
  h.Mix(static_cast<uint64_t>(md.offset0));
  for (int d = 0; d < md.ndims; ++d) {
    h.Mix(static_cast<uint64_t>(md.dims[d]));
    h.Mix(static_cast<uint64_t>(md.padded_dims[d]));
    h.Mix(static_cast<uint64_t>(md.padded_offsets[d]));
  }
  if (md.format_kind == dnnl_blocked) {
    const dnnl_blocking_desc_t& b = md.format_desc.blocking;
    for (int d = 0; d < md.ndims; ++d) h.Mix(static_cast<uint64_t>(b.strides[d]));
    h.Mix(static_cast<uint64_t>(b.inner_nblks));
    for (int i = 0; i < b.inner_nblks; ++i) {
      h.Mix(static_cast<uint64_t>(b.inner_blks[i]));
      h.Mix(static_cast<uint64_t>(b.inner_idxs[i]));
    }
  } else {
    h.Bytes(&md.format_desc, sizeof(md.format_desc));
  }
  h.Mix(md.extra.flags);
  h.Mix(static_cast<uint64_t>(md.extra.compensation_mask));
  h.Mix(static_cast<uint64_t>(md.extra.asymm_compensation_mask));
  uint32_t scale_bits;
  std::memcpy(&scale_bits, &md.extra.scale_adjust, sizeof(scale_bits));
  h.Mix(scale_bits);
}

// A fingerprint of a weight's bytes from 33 samples of 8 bytes spread over it (all of it up to
// 264 bytes): reading every byte of ResNet-50's 97 MB would cost more than the cache saves. The
// cache file's key already names the model file (path, size, modification time, inode); this
// guards against graph passes computing other weights from the same file.
void HashSource(Hasher& h, const std::byte* bytes, size_t n) {
  h.Mix(n);
  constexpr size_t kSamples = 33;
  if (n <= kSamples * 8) {
    h.Bytes(bytes, n);
    return;
  }
  for (size_t i = 0; i < kSamples; ++i) h.Bytes(bytes + (n - 8) / (kSamples - 1) * i, 8);
}

Expected<AlignedBuffer> PackConstantInputNow(PrepareContext& ctx, int input,
                                             const dnnl_memory_desc_t& from,
                                             const dnnl_memory_desc_t& to) {
  const Node& node = ctx.node;
  const Tensor* constant = ctx.constants[input];
  if (constant == nullptr || !constant->has_data()) {
    return Internal(node.Describe() + ": input " + std::to_string(input) + " is not a constant");
  }
  const size_t element = dnnl_data_type_size(from.data_type);
  ASSIGN_OR_RETURN(AlignedBuffer out,
                   AlignedBuffer::Allocate(dnnl_memory_desc_get_size(&to), node, ctx.weight_pool));
  const std::optional<BlockedCopy> copy = BlockedCopy::Plan(from, to);
  // BlockedCopy reads any alignment, so it packs weights still in the mapped model file from there
  // (no copy into their aligned place first); oneDNN's reorder reads the aligned copy.
  const void* source =
      copy ? static_cast<const void*>(constant->UnalignedBytes()) : constant->raw();
  // Packing a consumable constant piecewise along its outermost dimension lets each packed
  // chunk's source pages go back at once (in the packed layout a chunk may be spread out: a
  // blocked sub-tensor); otherwise one reorder of the whole tensor. Pages of the file mapping go
  // back just as well (a later read maps them again).
  const bool consumable = input < 32 && (ctx.consumable_constant_inputs >> input & 1u) &&
                          (constant->copy_pending() || constant->IsExclusivelyWritable());
  const int dim = DenseOutermostDim(from);
  const bool piecewise = consumable && dim >= 0 && IsPlainBlocked(to) &&
                         BlockOf(from.format_desc.blocking, dim) == 1 &&
                         constant->bytes() > 2 * kPackChunkBytes;
  if (!piecewise) {
    if (copy) {
      if (!out.zero_filled) copy->ZeroPadding(out.data.get());
      copy->Copy(source, out.data.get(), 0, 0, from.dims[0]);
      return out;
    }
    ConstantReorder whole;
    RETURN_IF_ERROR(whole.Init(from, to, node));
    RETURN_IF_ERROR(whole.Run(source, out.data.get(), node));
    return out;
  }
  const int64_t extent = from.dims[dim];
  const int64_t block = BlockOf(to.format_desc.blocking, dim);
  const size_t src_unit = static_cast<size_t>(from.format_desc.blocking.strides[dim]) * element;
  const size_t dst_unit = static_cast<size_t>(to.format_desc.blocking.strides[dim]) * element;
  const int64_t step =
      std::max<int64_t>(1, static_cast<int64_t>(kPackChunkBytes / src_unit) / block) * block;
  // Every chunk but the last has the same shape, so at most two primitives cover the tensor (none
  // with `copy`). Both are created before the first source page is given back: nothing fails half
  // way for want of one.
  const int64_t tail = extent % step == 0 ? step : extent % step;
  const int64_t tail_padded = to.padded_dims[dim] - (extent - tail);
  const bool tail_is_full = tail == step && tail_padded == step;
  ConstantReorder body, short_tail;
  if (copy) {
    if (!out.zero_filled) copy->ZeroPadding(out.data.get());
  } else {
    if (extent > step || tail_is_full) {
      RETURN_IF_ERROR(
          body.Init(CutAlong(from, dim, step, step), CutAlong(to, dim, step, step), node));
    }
    if (!tail_is_full) {
      RETURN_IF_ERROR(short_tail.Init(CutAlong(from, dim, tail, tail),
                                      CutAlong(to, dim, tail, tail_padded), node));
    }
  }
  ConstantReorder& last = tail_is_full ? body : short_tail;
  const std::byte* src = static_cast<const std::byte*>(source);
  std::byte* dst = static_cast<std::byte*>(out.data.get());
  ctx.constants_consumed = true;
  // The page a chunk boundary splits goes back with the chunk after it.
  int64_t previous = 0;
  for (int64_t begin = 0; begin < extent; begin += step) {
    const bool is_last = begin + step >= extent;
    const int64_t end = is_last ? extent : begin + step;
    if (copy) {
      copy->Copy(src, dst, dim, begin, end);
    } else {
      RETURN_IF_ERROR((is_last ? last : body)
                          .Run(src + begin * src_unit, dst + begin / block * dst_unit, node));
    }
    DiscardWholePages(src + previous * src_unit, (end - previous) * src_unit);
    previous = begin;
  }
  return out;
}

}  // namespace

Expected<AlignedBuffer> PackCached(PrepareContext& ctx, int input, std::string_view method,
                                   const dnnl_memory_desc_t& from, const dnnl_memory_desc_t& to,
                                   const std::function<Expected<AlignedBuffer>()>& pack) {
  const Tensor* constant = ctx.constants[input];
  // Only pool slices outlive a failed prepare until the cache is written.
  if (ctx.weight_cache == nullptr || ctx.weight_pool == nullptr || constant == nullptr ||
      !constant->has_data()) {
    return pack();
  }
  Hasher h;
  HashDesc(h, from);
  HashDesc(h, to);
  h.Mix(static_cast<uint64_t>(constant->dtype()));
  HashSource(h, static_cast<const std::byte*>(constant->UnalignedBytes()), constant->bytes());
  char digest[17];
  std::snprintf(digest, sizeof(digest), "%016llx", static_cast<unsigned long long>(h.h));
  const std::string entry =
      ctx.node.name + "#" + std::to_string(input) + "#" + std::string(method) + "#" + digest;
  const size_t bytes = dnnl_memory_desc_get_size(&to);
  if (const std::byte* cached = ctx.weight_cache->Find(entry, bytes)) {
    AlignedBuffer b;
    // oneDNN only reads weights; the mapping is read-only, so a stray write would fault, not
    // corrupt the file.
    b.data = std::unique_ptr<void, AlignedBuffer::Free>(const_cast<std::byte*>(cached),
                                                        AlignedBuffer::Free{false});
    b.bytes = bytes;
    return b;
  }
  ASSIGN_OR_RETURN(AlignedBuffer packed, pack());
  if (packed.bytes == bytes) ctx.weight_cache->Add(entry, packed.data.get(), bytes);
  return packed;
}

Expected<AlignedBuffer> PackConstantInput(PrepareContext& ctx, int input,
                                          const dnnl_memory_desc_t& from,
                                          const dnnl_memory_desc_t& to) {
  return PackCached(ctx, input, "reorder", from, to,
                    [&] { return PackConstantInputNow(ctx, input, from, to); });
}

Expected<ConvGeometry> ConvGeometryOf(const PrepareContext& ctx, int weight_input) {
  ASSIGN_OR_RETURN(NhwcConvShape shape, ReadNhwcConvShape(ctx, weight_input));
  const Window3d& w = shape.window;
  ConvGeometry g;
  g.group = shape.group;
  g.batch = shape.batch;
  g.in_channels = shape.channels;
  g.out_channels = shape.out_channels;
  g.SetWindow(w, /*transposed=*/false);
  return g;
}

void ConvGeometry::SetWindow(const Window3d& w, bool transposed) {
  for (int i = 0; i < 2; ++i) {
    const int j = i + 1;  // Window3d keeps 2-D windows in slots 1 and 2
    in[i] = w.in[j];
    out[i] = w.out[j];
    kernel[i] = w.kernel[j];
    strides[i] = w.stride[j];
    dilates[i] = w.dilation[j] - 1;
    pad_l[i] = w.pad[j];
    pad_r[i] = transposed ? w.pad_end_transposed(j) : w.pad_end(j);
  }
}

// ---- PrimitiveRunner ----

Status PrimitiveRunner::Init(const_dnnl_primitive_desc_t pd, const Node& node,
                             size_t scratchpad_offset) {
  if (CpuEngine() == nullptr) return Internal(node.Describe() + ": no oneDNN CPU engine");
  RETURN_IF_ERROR(
      FromDnnl(dnnl_stream_create(stream_.out(), CpuEngine(), dnnl_stream_default_flags), node,
               "stream creation"));
  RETURN_IF_ERROR(
      FromDnnl(dnnl_primitive_create(primitive_.out(), pd), node, "primitive creation"));
  RETURN_IF_ERROR(FromDnnl(dnnl_primitive_get_primitive_desc(primitive_.get(), &pd_), node,
                           "primitive descriptor query"));
  const dnnl_memory_desc_t* scratch =
      dnnl_primitive_desc_query_md(pd_, dnnl_query_scratchpad_md, 0);
  scratch_bytes_ = scratch != nullptr ? dnnl_memory_desc_get_size(scratch) : 0;
  if (scratch_bytes_ > 0) {
    RETURN_IF_ERROR(AddScratchArg(DNNL_ARG_SCRATCHPAD, *scratch, scratchpad_offset, node));
  }
  return Status::Ok();
}

Status PrimitiveRunner::AddArg(int arg, const dnnl_memory_desc_t& md, ArgSource source, int index,
                               const Node& node) {
  if (num_args_ == kMaxArgs) return Internal(node.Describe() + ": too many oneDNN arguments");
  Memory& m = memories_[num_args_];
  RETURN_IF_ERROR(FromDnnl(dnnl_memory_create(m.out(), &md, CpuEngine(), DNNL_MEMORY_NONE), node,
                           "memory creation"));
  sources_[num_args_] = {source, index, 0};
  if (source == ArgSource::kScratch) {
    scratch_end_ = std::max(scratch_end_, dnnl_memory_desc_get_size(&md));
  }
  args_[num_args_] = {arg, m.get()};
  ++num_args_;
  return Status::Ok();
}

Status PrimitiveRunner::AddScratchArg(int arg, const dnnl_memory_desc_t& md, size_t offset,
                                      const Node& node) {
  RETURN_IF_ERROR(AddArg(arg, md, ArgSource::kScratch, 0, node));
  sources_[num_args_ - 1].scratch_offset = offset;
  scratch_end_ = std::max(scratch_end_, offset + dnnl_memory_desc_get_size(&md));
  return Status::Ok();
}

Status PrimitiveRunner::AddOwnedArg(int arg, const dnnl_memory_desc_t& md, AlignedBuffer buffer,
                                    const Node& node) {
  RETURN_IF_ERROR(AddArg(arg, md, ArgSource::kOwned, 0, node));
  RETURN_IF_ERROR(
      FromDnnl(dnnl_memory_set_data_handle(memories_[num_args_ - 1].get(), buffer.data.get()), node,
               "memory binding"));
  owned_.push_back(std::move(buffer));
  return Status::Ok();
}

Status PrimitiveRunner::AddPerRunArg(int arg, const dnnl_memory_desc_t& md, const Node& node) {
  RETURN_IF_ERROR(AddArg(arg, md, ArgSource::kOwned, 0, node));
  sources_[num_args_ - 1].per_run = true;
  return Status::Ok();
}

size_t PrimitiveRunner::owned_bytes() const {
  size_t total = 0;
  for (const AlignedBuffer& b : owned_) total += b.bytes;
  return total;
}

const char* PrimitiveRunner::impl_name() const { return ImplName(pd_); }

template <typename Ctx>
Status PrimitiveRunner::BindFrom(const Ctx& ctx) const {
  for (int i = 0; i < num_args_; ++i) {
    void* want = nullptr;
    switch (sources_[i].kind) {
      case ArgSource::kOwned:
        continue;
      case ArgSource::kInput:
        want = ctx.inputs[sources_[i].index].raw;
        break;
      case ArgSource::kOutput:
        want = ctx.outputs[sources_[i].index].raw;
        break;
      case ArgSource::kScratch:
        if (ctx.scratch == nullptr) return ctx.Fail("oneDNN argument needs scratch but has none");
        want = static_cast<std::byte*>(ctx.scratch) + sources_[i].scratch_offset;
        break;
    }
    if (want != nullptr && bound_[i] == want) continue;
    if (want == nullptr || dnnl_memory_set_data_handle(memories_[i].get(), want) != dnnl_success) {
      return ctx.Fail("cannot bind a oneDNN argument to its buffer");
    }
    bound_[i] = want;
  }
  return Status::Ok();
}

Status PrimitiveRunner::Bind(const SetupContext& ctx) const { return BindFrom(ctx); }

int ThreadsFor(const PrepareContext& ctx, int weight_input) {
  if (ctx.num_threads <= 1 || ctx.outputs.empty()) return 1;
  const TensorType& out = ctx.outputs[0];
  const int64_t channels = out.dims.empty() ? 1 : std::max<int64_t>(out.dims.back(), 1);
  int64_t weights = 1;
  if (static_cast<int>(ctx.inputs.size()) > weight_input &&
      ctx.inputs[weight_input].dtype != DType::kUndefined) {
    weights = ctx.inputs[weight_input].num_elements();
  }
  // NHWC output elements x weights per output channel: the MACs of a conv or a matmul.
  return ThreadsForWork(ctx, static_cast<double>(out.num_elements()) *
                                 static_cast<double>(weights) / static_cast<double>(channels));
}

bool SwishPostOpIsSlow() { return CpuHasAvx512(); }

int ThreadsForWork(const PrepareContext& ctx, double macs) {
  if (ctx.num_threads <= 1) return 1;
  // Spinning workers join a layer within microseconds, so then all but the tiniest layers are worth
  // sharing.
  return WorthSharing(macs, ctx.share_every_layer) ? ctx.num_threads : 1;
}

ScopedOmpThreads::ScopedOmpThreads(int threads) : saved_(omp_get_max_threads()) {
  if (threads > 0 && threads != saved_) omp_set_num_threads(threads);
}

ScopedOmpThreads::~ScopedOmpThreads() {
  if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
}

Status PrimitiveRunner::ExecuteAt(const InvokeContext& ctx, std::span<void* const> buffers) const {
  size_t next = 0;
  for (int i = 0; i < num_args_; ++i) {
    if (!sources_[i].per_run) continue;
    if (next == buffers.size() ||
        dnnl_memory_set_data_handle(memories_[i].get(), buffers[next++]) != dnnl_success) {
      return ctx.Fail("cannot bind a oneDNN argument to its band of rows");
    }
  }
  if (next != buffers.size()) return ctx.Fail("more buffers than per-run oneDNN arguments");
  return Execute(ctx);
}

Status PrimitiveRunner::Execute(const InvokeContext& ctx) const {
  RETURN_IF_ERROR(BindFrom(ctx));
  ScopedOmpThreads team(threads_);
  inside_execute = true;
  const bool ok =
      dnnl_primitive_execute(primitive_.get(), stream_.get(), num_args_, args_) == dnnl_success &&
      dnnl_stream_wait(stream_.get()) == dnnl_success;
  inside_execute = false;
  if (!ok) return ctx.Fail("oneDNN primitive execution failed");
  return Status::Ok();
}

}  // namespace edgerun::onednn
