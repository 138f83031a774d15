// Index-driven tensor reference kernels: Gather, GatherElements, GatherND, ScatterElements
// (and the deprecated Scatter), ScatterND, OneHot, NonZero, Compress, ReverseSequence.
//
// Gathers copy whole contiguous slices with memcpy where the indexing allows it (Gather,
// GatherND, Compress, ReverseSequence) and walk output coordinates with an odometer otherwise.
// Indices are read at invoke time and bounds-checked (negative values count from the end); an
// out-of-range index fails the run with an error naming the node. Scatter reductions
// (add/mul/max/min) run in the element type; f16/bf16 go through float.
#include <algorithm>
#include <cstring>
#include <memory>

#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

namespace {


int64_t LoadIndex(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DType::kI64:
      return t.data<const int64_t>()[i];
    case DType::kI32:
      return t.data<const int32_t>()[i];
    default:
      return static_cast<int64_t>(LoadElementAsDouble(t.raw, t.dtype, i));
  }
}

void RowMajorStrides(const TensorView& t, int64_t* s) {
  int64_t acc = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    s[d] = acc;
    acc *= t.dims[d];
  }
}

// Resolves a possibly negative index against `dim`; false when out of range.
bool ResolveIndex(int64_t* idx, int64_t dim) {
  if (*idx < 0) *idx += dim;
  return *idx >= 0 && *idx < dim;
}

Status IndexError(const InvokeContext& ctx, int64_t idx, int64_t dim) {
  return InvalidArgument(ctx.node.Describe() + ": index " + std::to_string(idx) +
                         " is out of range for a dim of size " + std::to_string(dim));
}

struct AxisState : KernelState {
  int axis = 0;
};

Status PrepareAxis(PrepareContext& ctx, int64_t def, int rank) {
  ASSIGN_OR_RETURN(int64_t axis, ctx.node.GetInt("axis", def));
  auto state = std::make_unique<AxisState>();
  state->axis = static_cast<int>(axis < 0 ? axis + rank : axis);
  ctx.state = std::move(state);
  return Status::Ok();
}
Status PrepareDataAxis(PrepareContext& ctx) { return PrepareAxis(ctx, 0, ctx.inputs[0].rank()); }

// ---- Gather ---------------------------------------------------------------------------------

Status InvokeGather(InvokeContext& ctx) {
  const TensorView& data = ctx.inputs[0];
  const TensorView& idx = ctx.inputs[1];
  const int axis = ctx.state_as<AxisState>().axis;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < data.rank; ++d) {
    if (d < axis) outer *= data.dims[d];
    if (d > axis) inner *= data.dims[d];
  }
  const int64_t dim = data.dims[axis];
  const int64_t n = idx.num_elements();
  const size_t block = static_cast<size_t>(inner) * DTypeSize(data.dtype);
  const auto* src = static_cast<const std::byte*>(data.raw);
  auto* dst = static_cast<std::byte*>(ctx.outputs[0].raw);
  for (int64_t i = 0; i < n; ++i) {
    int64_t j = LoadIndex(idx, i);
    if (!ResolveIndex(&j, dim)) return IndexError(ctx, LoadIndex(idx, i), dim);
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(dst + (o * n + i) * block, src + (o * dim + j) * block, block);
    }
  }
  return Status::Ok();
}

// ---- GatherElements / ScatterElements --------------------------------------------------------

// Walks every element of `idx` and calls fn(flat index into idx, flat offset into data), where
// the data offset uses idx's coordinates except along `axis`, which takes the index value.
template <typename Fn>
Status ForEachElementIndex(const InvokeContext& ctx, const TensorView& data, const TensorView& idx,
                           int axis, Fn&& fn) {
  int64_t ds[kMaxRank];
  RowMajorStrides(data, ds);
  const int r = idx.rank;
  const int64_t n = idx.num_elements();
  int64_t coord[kMaxRank] = {};
  int64_t base = 0;  // data offset of coord with the axis coordinate left out
  for (int64_t i = 0; i < n; ++i) {
    int64_t j = LoadIndex(idx, i);
    if (!ResolveIndex(&j, data.dims[axis]))
      return IndexError(ctx, LoadIndex(idx, i), data.dims[axis]);
    fn(i, base + j * ds[axis]);
    for (int d = r - 1; d >= 0; --d) {
      if (d != axis) base += ds[d];
      if (++coord[d] < idx.dims[d]) break;
      if (d != axis) base -= ds[d] * idx.dims[d];
      coord[d] = 0;
    }
  }
  return Status::Ok();
}

Status InvokeGatherElements(InvokeContext& ctx) {
  const TensorView& data = ctx.inputs[0];
  const TensorView& idx = ctx.inputs[1];
  const int axis = ctx.state_as<AxisState>().axis;
  return DispatchBySize(DTypeSize(data.dtype), ctx.node, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U* src = data.data<const U>();
    U* dst = ctx.outputs[0].data<U>();
    return ForEachElementIndex(ctx, data, idx, axis,
                               [&](int64_t i, int64_t off) { dst[i] = src[off]; });
  });
}

enum class Reduction : uint8_t { kNone, kAdd, kMul, kMax, kMin };

struct ScatterState : KernelState {
  int axis = 0;
  Reduction reduction = Reduction::kNone;
};

Status PrepareScatter(PrepareContext& ctx) {
  auto state = std::make_unique<ScatterState>();
  ASSIGN_OR_RETURN(int64_t axis, ctx.node.GetInt("axis", 0));
  state->axis = static_cast<int>(axis < 0 ? axis + ctx.inputs[0].rank() : axis);
  ASSIGN_OR_RETURN(std::string r, ctx.node.GetString("reduction", "none"));
  if (r == "add") {
    state->reduction = Reduction::kAdd;
  } else if (r == "mul") {
    state->reduction = Reduction::kMul;
  } else if (r == "max") {
    state->reduction = Reduction::kMax;
  } else if (r == "min") {
    state->reduction = Reduction::kMin;
  } else if (r != "none") {
    return ctx.Invalid("unknown reduction '" + r + "'");
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

template <typename T>
T Combine(Reduction r, T a, T b) {
  switch (r) {
    case Reduction::kNone:
      return b;
    case Reduction::kAdd:
      return static_cast<T>(a + b);
    case Reduction::kMul:
      return static_cast<T>(a * b);
    case Reduction::kMax:
      return std::max(a, b);
    case Reduction::kMin:
      return std::min(a, b);
  }
  return b;
}

// Calls fn(apply) where apply(dst_offset, src_offset) combines updates[src] into out[dst].
template <typename Fn>
Status WithCombiner(const InvokeContext& ctx, Reduction red, DType dtype, void* out,
                    const void* upd, Fn&& fn) {
  if (dtype == DType::kF16 || dtype == DType::kBF16 || red == Reduction::kNone) {
    if (red == Reduction::kNone) {
      return DispatchBySize(DTypeSize(dtype), ctx.node, [&](auto tag) {
        using U = typename decltype(tag)::type;
        U* o = static_cast<U*>(out);
        const U* u = static_cast<const U*>(upd);
        return fn([&](int64_t d, int64_t s) { o[d] = u[s]; });
      });
    }
    return fn([&](int64_t d, int64_t s) {
      const float a = static_cast<float>(LoadElementAsDouble(out, dtype, d));
      const float b = static_cast<float>(LoadElementAsDouble(upd, dtype, s));
      StoreElementFromDouble(out, dtype, d, Combine(red, a, b));
    });
  }
  return DispatchNumeric(
      dtype,
      [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* o = static_cast<T*>(out);
        const T* u = static_cast<const T*>(upd);
        return fn([&](int64_t d, int64_t s) { o[d] = Combine(red, o[d], u[s]); });
      },
      ctx.node);
}

void CopyInput0(InvokeContext& ctx) {
  if (ctx.outputs[0].raw != ctx.inputs[0].raw && ctx.inputs[0].bytes() > 0) {
    std::memcpy(ctx.outputs[0].raw, ctx.inputs[0].raw, ctx.inputs[0].bytes());
  }
}

Status InvokeScatterElements(InvokeContext& ctx) {
  const ScatterState& s = ctx.state_as<ScatterState>();
  CopyInput0(ctx);
  TensorView& out = ctx.outputs[0];
  return WithCombiner(ctx, s.reduction, out.dtype, out.raw, ctx.inputs[2].raw, [&](auto apply) {
    return ForEachElementIndex(ctx, out, ctx.inputs[1], s.axis,
                               [&](int64_t i, int64_t off) { apply(off, i); });
  });
}

// ---- GatherND / ScatterND -------------------------------------------------------------------

struct NdGeometry {
  int64_t batches = 1;       // product of the batch dims
  int64_t per_batch = 1;     // index tuples per batch
  int64_t k = 0;             // tuple length
  int64_t slice = 1;         // elements per gathered slice
  int64_t batch_stride = 0;  // data elements per batch
};

NdGeometry MakeNdGeometry(const TensorView& data, const TensorView& idx, int b) {
  NdGeometry g;
  g.k = idx.dims[idx.rank - 1];
  for (int d = 0; d < b; ++d) g.batches *= idx.dims[d];
  for (int d = b; d < idx.rank - 1; ++d) g.per_batch *= idx.dims[d];
  for (int d = b + static_cast<int>(g.k); d < data.rank; ++d) g.slice *= data.dims[d];
  g.batch_stride = 1;
  for (int d = b; d < data.rank; ++d) g.batch_stride *= data.dims[d];
  return g;
}

// Data element offset of index tuple `t` (flat over all batches), or an error.
Status TupleOffset(const InvokeContext& ctx, const TensorView& data, const TensorView& idx,
                   const NdGeometry& g, int b, int64_t t, int64_t* offset) {
  int64_t off = (t / g.per_batch) * g.batch_stride;
  int64_t stride = g.slice;
  for (int64_t j = g.k - 1; j >= 0; --j) {
    const int64_t dim = data.dims[b + j];
    int64_t v = LoadIndex(idx, t * g.k + j);
    if (!ResolveIndex(&v, dim)) return IndexError(ctx, LoadIndex(idx, t * g.k + j), dim);
    off += v * stride;
    stride *= dim;
  }
  *offset = off;
  return Status::Ok();
}

Status PrepareBatchDims(PrepareContext& ctx) {
  auto state = std::make_unique<AxisState>();
  ASSIGN_OR_RETURN(int64_t b, ctx.node.GetInt("batch_dims", 0));
  state->axis = static_cast<int>(b);
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeGatherND(InvokeContext& ctx) {
  const TensorView& data = ctx.inputs[0];
  const TensorView& idx = ctx.inputs[1];
  const int b = ctx.state_as<AxisState>().axis;
  const NdGeometry g = MakeNdGeometry(data, idx, b);
  const size_t es = DTypeSize(data.dtype);
  const auto* src = static_cast<const std::byte*>(data.raw);
  auto* dst = static_cast<std::byte*>(ctx.outputs[0].raw);
  const int64_t tuples = g.batches * g.per_batch;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    RETURN_IF_ERROR(TupleOffset(ctx, data, idx, g, b, t, &off));
    std::memcpy(dst + t * g.slice * es, src + off * es, g.slice * es);
  }
  return Status::Ok();
}

Status InvokeScatterND(InvokeContext& ctx) {
  const ScatterState& s = ctx.state_as<ScatterState>();
  CopyInput0(ctx);
  TensorView& out = ctx.outputs[0];
  const TensorView& idx = ctx.inputs[1];
  const NdGeometry g = MakeNdGeometry(out, idx, 0);
  const int64_t tuples = g.batches * g.per_batch;
  return WithCombiner(ctx, s.reduction, out.dtype, out.raw, ctx.inputs[2].raw, [&](auto apply) {
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = 0;
      RETURN_IF_ERROR(TupleOffset(ctx, out, idx, g, 0, t, &off));
      for (int64_t e = 0; e < g.slice; ++e) apply(off + e, t * g.slice + e);
    }
    return Status::Ok();
  });
}

// ---- OneHot ---------------------------------------------------------------------------------

Status PrepareOneHot(PrepareContext& ctx) { return PrepareAxis(ctx, -1, ctx.outputs[0].rank()); }

Status InvokeOneHot(InvokeContext& ctx) {
  const TensorView& idx = ctx.inputs[0];
  TensorView& out = ctx.outputs[0];
  const int axis = ctx.state_as<AxisState>().axis;
  const int64_t depth = out.dims[axis];
  int64_t inner = 1;
  for (int d = axis; d < idx.rank; ++d) inner *= idx.dims[d];
  const int64_t n = idx.num_elements();
  const void* values = ctx.inputs[2].raw;
  return DispatchBySize(DTypeSize(out.dtype), ctx.node, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U off = static_cast<const U*>(values)[0];
    const U on = static_cast<const U*>(values)[1];
    U* o = out.data<U>();
    std::fill(o, o + out.num_elements(), off);
    for (int64_t i = 0; i < n; ++i) {
      // Float indices are truncated, as ONNX converts them to integers.
      int64_t v = static_cast<int64_t>(LoadElementAsDouble(idx.raw, idx.dtype, i));
      if (v < 0) v += depth;
      if (v < 0 || v >= depth) continue;  // out-of-range indices give an all-`off` row
      const int64_t outer = i / inner, in = i % inner;
      o[(outer * depth + v) * inner + in] = on;
    }
    return Status::Ok();
  });
}

// ---- NonZero, Compress, ReverseSequence -----------------------------------------------------

Status InvokeNonZero(InvokeContext& ctx) {
  const TensorView& in = ctx.inputs[0];
  TensorView& out = ctx.outputs[0];
  const int64_t nnz = out.dims[1];
  const int64_t n = in.num_elements();
  int64_t* o = out.data<int64_t>();
  int64_t coord[kMaxRank] = {};
  int64_t k = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (LoadElementAsDouble(in.raw, in.dtype, i) != 0) {
      if (k == nnz) return ctx.Fail("input has more non-zeros than planned at session creation");
      for (int d = 0; d < in.rank; ++d) o[d * nnz + k] = coord[d];
      ++k;
    }
    for (int d = in.rank - 1; d >= 0; --d) {
      if (++coord[d] < in.dims[d]) break;
      coord[d] = 0;
    }
  }
  if (k != nnz) return ctx.Fail("input has fewer non-zeros than planned at session creation");
  return Status::Ok();
}

struct CompressState : KernelState {
  bool has_axis = false;
  int axis = 0;
};

Status PrepareCompress(PrepareContext& ctx) {
  auto state = std::make_unique<CompressState>();
  state->has_axis = ctx.node.has_attr("axis");
  ASSIGN_OR_RETURN(int64_t axis, ctx.node.GetInt("axis", 0));
  state->axis = static_cast<int>(axis < 0 ? axis + ctx.inputs[0].rank() : axis);
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeCompress(InvokeContext& ctx) {
  const CompressState& s = ctx.state_as<CompressState>();
  const TensorView& in = ctx.inputs[0];
  const TensorView& cond = ctx.inputs[1];
  TensorView& out = ctx.outputs[0];
  int64_t outer = 1, dim = in.num_elements(), inner = 1;
  if (s.has_axis) {
    dim = in.dims[s.axis];
    for (int d = 0; d < in.rank; ++d) {
      if (d < s.axis) outer *= in.dims[d];
      if (d > s.axis) inner *= in.dims[d];
    }
  }
  const int64_t n = std::min(cond.num_elements(), dim);
  int64_t selected = 0;
  for (int64_t j = 0; j < n; ++j) selected += LoadElementAsDouble(cond.raw, cond.dtype, j) != 0;
  if (selected * outer * inner != out.num_elements()) {
    return ctx.Fail("condition selects a different count than planned at session creation");
  }
  const size_t block = static_cast<size_t>(inner) * DTypeSize(in.dtype);
  const auto* src = static_cast<const std::byte*>(in.raw);
  auto* dst = static_cast<std::byte*>(out.raw);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      if (LoadElementAsDouble(cond.raw, cond.dtype, j) == 0) continue;
      std::memcpy(dst, src + (o * dim + j) * block, block);
      dst += block;
    }
  }
  return Status::Ok();
}

struct ReverseSequenceState : KernelState {
  int batch_axis = 1;
};

Status PrepareReverseSequence(PrepareContext& ctx) {
  auto state = std::make_unique<ReverseSequenceState>();
  ASSIGN_OR_RETURN(int64_t b, ctx.node.GetInt("batch_axis", 1));
  state->batch_axis = static_cast<int>(b);
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeReverseSequence(InvokeContext& ctx) {
  const int batch_axis = ctx.state_as<ReverseSequenceState>().batch_axis;
  const TensorView& in = ctx.inputs[0];
  const TensorView& lens = ctx.inputs[1];
  const int64_t batches = in.dims[batch_axis], steps = in.dims[1 - batch_axis];
  int64_t inner = 1;
  for (int d = 2; d < in.rank; ++d) inner *= in.dims[d];
  const size_t block = static_cast<size_t>(inner) * DTypeSize(in.dtype);
  const auto* src = static_cast<const std::byte*>(in.raw);
  auto* dst = static_cast<std::byte*>(ctx.outputs[0].raw);
  auto offset = [&](int64_t b, int64_t t) {
    return (batch_axis == 0 ? b * steps + t : t * batches + b) * static_cast<int64_t>(block);
  };
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t len = LoadIndex(lens, b);
    if (len < 0 || len > steps) {
      return InvalidArgument(ctx.node.Describe() + ": sequence length " + std::to_string(len) +
                             " is out of range [0, " + std::to_string(steps) + "]");
    }
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t from = t < len ? len - 1 - t : t;
      std::memcpy(dst + offset(b, t), src + offset(b, from), block);
    }
  }
  return Status::Ok();
}

constexpr DTypeSet kAll = DTypeSet::All();

constexpr KernelDef kIndexKernels[] = {
    {"Gather", KernelPath::kReference, kAll, nullptr, PrepareDataAxis, InvokeGather},
    {"GatherElements", KernelPath::kReference, kAll, nullptr, PrepareDataAxis,
     InvokeGatherElements},
    {"GatherND", KernelPath::kReference, kAll, nullptr, PrepareBatchDims, InvokeGatherND},
    {"ScatterElements", KernelPath::kReference, kAll, nullptr, PrepareScatter,
     InvokeScatterElements},
    {"Scatter", KernelPath::kReference, kAll, nullptr, PrepareScatter, InvokeScatterElements},
    {"ScatterND", KernelPath::kReference, kAll, nullptr, PrepareScatter, InvokeScatterND},
    {"OneHot", KernelPath::kReference, kNumericTypes, nullptr, PrepareOneHot, InvokeOneHot},
    {"NonZero", KernelPath::kReference, kAll, nullptr, nullptr, InvokeNonZero},
    {"Compress", KernelPath::kReference, kAll, nullptr, PrepareCompress, InvokeCompress},
    {"ReverseSequence", KernelPath::kReference, kAll, nullptr, PrepareReverseSequence,
     InvokeReverseSequence},
};

}  // namespace

std::span<const KernelDef> RefTensorIndexKernels() { return kIndexKernels; }

}  // namespace edgerun
