// Tensor reference kernels: reshapes, transposes, concat/split/slice, expand/tile, padding,
// depth/space rearrangement, shape queries and generators. Gathers/scatters live in
// tensor_index.cc and Resize/Upsample in resize.cc; RefTensorKernels() joins the three tables.
//
// Most movement ops are one "strided copy": out[i] = in[base + sum(coord_d(i) * stride_d)], with
// strides that may be zero (broadcast), negative (reversed slices) or permuted (transposes).
// prepare builds that plan and coalesces contiguous dims, so invoke is a row-wise memcpy, a
// strided element loop, or a cache-blocked 2-D transpose. These ops only move bytes, so they
// dispatch on element size, not dtype, and accept every dtype.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

// Defined in tensor_index.cc and resize.cc.

namespace {

std::vector<int64_t> RowMajorStrides(std::span<const int64_t> dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int d = static_cast<int>(dims.size()) - 2; d >= 0; --d) s[d] = s[d + 1] * dims[d + 1];
  return s;
}

// ---- Strided copy engine --------------------------------------------------------------------

// Tile views a rank-8 tensor as rank 16, hence twice kMaxRank.
constexpr int kMaxCopyRank = 2 * kMaxRank;

struct CopyPlan {
  int rank = 0;
  int64_t dims[kMaxCopyRank] = {};
  int64_t strides[kMaxCopyRank] = {};  // input element strides per output dim
  int64_t base = 0;                    // input element offset of output element 0
  int64_t total = 1;
  size_t esize = 1;

  void Add(int64_t dim, int64_t stride) {
    dims[rank] = dim;
    strides[rank] = stride;
    ++rank;
  }
  // Drops size-1 dims and merges dims that are contiguous in the input, so that e.g. a slice of
  // whole rows becomes a single memcpy.
  void Coalesce() {
    total = 1;
    for (int d = 0; d < rank; ++d) total *= dims[d];
    if (total == 0) return;
    int n = 0;
    for (int d = 0; d < rank; ++d) {
      if (dims[d] == 1) continue;
      if (n > 0 && strides[n - 1] == strides[d] * dims[d]) {
        dims[n - 1] *= dims[d];
        strides[n - 1] = strides[d];
        continue;
      }
      dims[n] = dims[d];
      strides[n] = strides[d];
      ++n;
    }
    rank = n;
  }
};

template <typename U>
void TransposeTile(const U* in, U* out, int64_t rows, int64_t cols, int64_t in_col_stride) {
  // out[i][j] = in[i + j * s]: reads along input rows and writes along output rows in 16x16
  // blocks so both sides stay in cache.
  constexpr int64_t kBlock = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += kBlock) {
    const int64_t i1 = std::min(rows, i0 + kBlock);
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
      const int64_t j1 = std::min(cols, j0 + kBlock);
      for (int64_t i = i0; i < i1; ++i) {
        U* o = out + i * cols;
        const U* p = in + i;
        for (int64_t j = j0; j < j1; ++j) o[j] = p[j * in_col_stride];
      }
    }
  }
}

template <typename U>
void RunCopyTyped(const CopyPlan& p, const U* in, U* out) {
  if (p.total == 0) return;
  if (p.rank == 0) {
    out[0] = in[p.base];
    return;
  }
  const bool blocked = p.rank >= 2 && p.strides[p.rank - 1] != 1 && p.strides[p.rank - 2] == 1;
  const int inner_dims = blocked ? 2 : 1;
  const int outer_rank = p.rank - inner_dims;
  int64_t inner = 1;
  for (int d = outer_rank; d < p.rank; ++d) inner *= p.dims[d];
  const int64_t rows = p.total / inner;
  const int64_t n = p.dims[p.rank - 1];
  const int64_t s = p.strides[p.rank - 1];
  int64_t idx[kMaxCopyRank] = {};
  int64_t off = p.base;
  for (int64_t r = 0; r < rows; ++r) {
    U* o = out + r * inner;
    const U* src = in + off;
    if (blocked) {
      TransposeTile(src, o, p.dims[p.rank - 2], n, s);
    } else if (s == 1) {
      std::memcpy(o, src, static_cast<size_t>(n) * sizeof(U));
    } else if (s == 0) {
      std::fill(o, o + n, src[0]);
    } else {
      for (int64_t j = 0; j < n; ++j) o[j] = src[j * s];
    }
    for (int d = outer_rank - 1; d >= 0; --d) {
      off += p.strides[d];
      if (++idx[d] < p.dims[d]) break;
      off -= p.strides[d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

Status RunCopy(const CopyPlan& p, const void* in, void* out, const Node& node) {
  return DispatchBySize(p.esize, node, [&](auto tag) {
    using U = typename decltype(tag)::type;
    RunCopyTyped(p, static_cast<const U*>(in), static_cast<U*>(out));
    return Status::Ok();
  });
}

struct CopyState : KernelState {
  CopyPlan plan;
};

// A plan that reads `view_dims` (a row-major view of the input) in the order `perm`.
CopyPlan PermutePlan(std::span<const int64_t> view_dims, std::span<const int> perm, size_t esize) {
  CopyPlan p;
  p.esize = esize;
  const std::vector<int64_t> s = RowMajorStrides(view_dims);
  for (int d : perm) p.Add(view_dims[d], s[d]);
  p.Coalesce();
  return p;
}

Status InvokeCopy(InvokeContext& ctx) {
  return RunCopy(ctx.state_as<CopyState>().plan, ctx.inputs[0].raw, ctx.outputs[0].raw, ctx.node);
}

Status FinishCopyPrepare(PrepareContext& ctx, const CopyPlan& plan) {
  auto state = std::make_unique<CopyState>();
  state->plan = plan;
  ctx.state = std::move(state);
  return Status::Ok();
}

// ---- Reshape family: pure reinterpretations ------------------------------------------------

Status InvokeAlias(InvokeContext& ctx) {
  const TensorView& in = ctx.inputs[0];
  TensorView& out = ctx.outputs[0];
  if (out.raw != in.raw && in.bytes() > 0) std::memcpy(out.raw, in.raw, in.bytes());
  return Status::Ok();
}

// ---- Transpose ------------------------------------------------------------------------------

Status PrepareTranspose(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  const int r = in.rank();
  std::vector<int64_t> def(r);
  for (int i = 0; i < r; ++i) def[i] = r - 1 - i;
  ASSIGN_OR_RETURN(std::vector<int64_t> perm64, ctx.node.GetInts("perm", def));
  std::vector<int> perm(r);
  for (int i = 0; i < r; ++i) perm[i] = static_cast<int>(perm64[i] < 0 ? perm64[i] + r : perm64[i]);
  return FinishCopyPrepare(ctx, PermutePlan(in.dims, perm, DTypeSize(in.dtype)));
}

// ---- Slice ----------------------------------------------------------------------------------

Status PrepareSlice(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  const Node& node = ctx.node;
  std::vector<int64_t> starts, axes, steps;
  auto const_ints = [&](int i) -> std::vector<int64_t> {
    return i < static_cast<int>(ctx.constants.size()) && ctx.constants[i] != nullptr
               ? ctx.constants[i]->ToInt64Vector()
               : std::vector<int64_t>();
  };
  if (node.opset < 10) {
    ASSIGN_OR_RETURN(starts, node.GetInts("starts", {}));
    ASSIGN_OR_RETURN(axes, node.GetInts("axes", {}));
  } else {
    if (ctx.constants.size() < 3 || ctx.constants[1] == nullptr) {
      return ctx.NotSupported("input 'starts' must be a constant");
    }
    starts = const_ints(1);
    axes = const_ints(3);
    steps = const_ints(4);
  }
  const int r = in.rank();
  std::vector<int64_t> start(r, 0), step(r, 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = i < axes.size() ? axes[i] : static_cast<int64_t>(i);
    if (a < 0) a += r;
    const int64_t dim = in.dims[a];
    const int64_t st = i < steps.size() ? steps[i] : 1;
    int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
    s = st > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
    start[a] = s;
    step[a] = st;
  }
  CopyPlan p;
  p.esize = DTypeSize(in.dtype);
  const std::vector<int64_t> s = RowMajorStrides(in.dims);
  const std::vector<int64_t>& out = ctx.outputs[0].dims;
  for (int d = 0; d < r; ++d) {
    // An empty output axis may have a start outside the input; nothing is read then.
    if (out[d] > 0) p.base += start[d] * s[d];
    p.Add(out[d], step[d] * s[d]);
  }
  p.Coalesce();
  return FinishCopyPrepare(ctx, p);
}

// ---- Expand and Tile ------------------------------------------------------------------------

Status PrepareExpand(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  const std::vector<int64_t>& out = ctx.outputs[0].dims;
  const std::vector<int64_t> s = RowMajorStrides(in.dims);
  CopyPlan p;
  p.esize = DTypeSize(in.dtype);
  const int offset = static_cast<int>(out.size()) - in.rank();
  for (int d = 0; d < static_cast<int>(out.size()); ++d) {
    const int id = d - offset;
    p.Add(out[d], id < 0 || in.dims[id] == 1 ? 0 : s[id]);
  }
  p.Coalesce();
  return FinishCopyPrepare(ctx, p);
}

Status PrepareTile(PrepareContext& ctx) {
  // The output, viewed as [r0, d0, r1, d1, ...], is the input broadcast along every r_i.
  const TensorType& in = ctx.inputs[0];
  const std::vector<int64_t>& out = ctx.outputs[0].dims;
  const std::vector<int64_t> s = RowMajorStrides(in.dims);
  CopyPlan p;
  p.esize = DTypeSize(in.dtype);
  for (int d = 0; d < in.rank(); ++d) {
    p.Add(in.dims[d] == 0 ? 0 : out[d] / in.dims[d], 0);
    p.Add(in.dims[d], s[d]);
  }
  p.Coalesce();
  return FinishCopyPrepare(ctx, p);
}

// ---- DepthToSpace / SpaceToDepth --------------------------------------------------------------

Status PrepareDepthToSpace(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  ASSIGN_OR_RETURN(int64_t b, ctx.node.GetInt("blocksize", 1));
  ASSIGN_OR_RETURN(std::string mode, ctx.node.GetString("mode", "DCR"));
  const int64_t n = in.dims[0], c = in.dims[1] / (b * b), h = in.dims[2], w = in.dims[3];
  if (mode == "DCR") {
    const int64_t view[] = {n, b, b, c, h, w};
    const int perm[] = {0, 3, 4, 1, 5, 2};
    return FinishCopyPrepare(ctx, PermutePlan(view, perm, DTypeSize(in.dtype)));
  }
  const int64_t view[] = {n, c, b, b, h, w};
  const int perm[] = {0, 1, 4, 2, 5, 3};
  return FinishCopyPrepare(ctx, PermutePlan(view, perm, DTypeSize(in.dtype)));
}

// With several inputs (a Concat folded in) or outputs (Slices folded in), the concatenated
// channel c goes to shuffled channel d = (c % (C / group)) * group + c / (C / group), which is
// channel d % (C / outputs) of output d / (C / outputs); one input and output is a permuting copy.
struct MultiShuffleState : KernelState {
  int64_t outer = 1, inner = 1, group = 1, channels = 0;
  size_t esize = 0;
  std::vector<int64_t> input_channels;
};

Status PrepareChannelShuffle(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  ASSIGN_OR_RETURN(int64_t group, ctx.node.GetInt("group", 1));
  ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node.GetInt("axis", 1));
  const int axis = static_cast<int>(axis_attr < 0 ? axis_attr + in.rank() : axis_attr);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= in.dims[d];
  for (int d = axis + 1; d < in.rank(); ++d) inner *= in.dims[d];
  if (ctx.inputs.size() > 1 || ctx.outputs.size() > 1) {
    auto state = std::make_unique<MultiShuffleState>();
    state->outer = outer;
    state->inner = inner;
    state->group = group;
    state->esize = DTypeSize(in.dtype);
    for (const TensorType& t : ctx.inputs) {
      state->input_channels.push_back(t.dims[axis]);
      state->channels += t.dims[axis];
    }
    ctx.state = std::move(state);
    return Status::Ok();
  }
  const int64_t view[] = {outer, group, in.dims[axis] / group, inner};
  const int perm[] = {0, 2, 1, 3};
  return FinishCopyPrepare(ctx, PermutePlan(view, perm, DTypeSize(in.dtype)));
}

Status InvokeChannelShuffle(InvokeContext& ctx) {
  if (ctx.inputs.size() == 1 && ctx.outputs.size() == 1) return InvokeCopy(ctx);
  const auto& s = ctx.state_as<MultiShuffleState>();
  const int64_t per_group = s.channels / s.group;
  const int64_t per_output = s.channels / static_cast<int64_t>(ctx.outputs.size());
  const size_t row = static_cast<size_t>(s.inner) * s.esize;
  for (int64_t o = 0; o < s.outer; ++o) {
    int64_t c = 0;  // channel in the concatenation
    for (size_t k = 0; k < s.input_channels.size(); ++k) {
      const auto* in = static_cast<const std::byte*>(ctx.inputs[k].raw);
      for (int64_t j = 0; j < s.input_channels[k]; ++j, ++c) {
        const int64_t d = (c % per_group) * s.group + c / per_group;
        auto* out = static_cast<std::byte*>(ctx.outputs[d / per_output].raw);
        std::memcpy(out + static_cast<size_t>(o * per_output + d % per_output) * row,
                    in + static_cast<size_t>(o * s.input_channels[k] + j) * row, row);
      }
    }
  }
  return Status::Ok();
}

Status PrepareSpaceToDepth(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  ASSIGN_OR_RETURN(int64_t b, ctx.node.GetInt("blocksize", 1));
  const int64_t view[] = {in.dims[0], in.dims[1], in.dims[2] / b, b, in.dims[3] / b, b};
  const int perm[] = {0, 3, 5, 1, 2, 4};
  return FinishCopyPrepare(ctx, PermutePlan(view, perm, DTypeSize(in.dtype)));
}

// ---- Concat / Split -------------------------------------------------------------------------

struct AxisState : KernelState {
  int axis = 0;
};

Status PrepareAxis(PrepareContext& ctx, int64_t def) {
  ASSIGN_OR_RETURN(int64_t axis, ctx.node.GetInt("axis", def));
  const int r = ctx.inputs[0].rank();
  auto state = std::make_unique<AxisState>();
  state->axis = static_cast<int>(axis < 0 ? axis + r : axis);
  ctx.state = std::move(state);
  return Status::Ok();
}
Status PrepareAxis0(PrepareContext& ctx) { return PrepareAxis(ctx, 0); }

// Bytes from `axis` inward, and the product of dims before it.
void OuterInner(const TensorView& t, int axis, int64_t* outer, size_t* inner_bytes) {
  int64_t o = 1, in = 1;
  for (int d = 0; d < t.rank; ++d) (d < axis ? o : in) *= t.dims[d];
  *outer = o;
  *inner_bytes = static_cast<size_t>(in) * DTypeSize(t.dtype);
}

Status InvokeConcat(InvokeContext& ctx) {
  const int axis = ctx.state_as<AxisState>().axis;
  TensorView& out = ctx.outputs[0];
  int64_t outer;
  size_t out_block;
  OuterInner(out, axis, &outer, &out_block);
  auto* dst = static_cast<std::byte*>(out.raw);
  size_t offset = 0;
  for (const TensorView& in : ctx.inputs) {
    int64_t in_outer;
    size_t block;
    OuterInner(in, axis, &in_outer, &block);
    const auto* src = static_cast<const std::byte*>(in.raw);
    if (block > 0) {
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * out_block + offset, src + o * block, block);
    }
    offset += block;
  }
  return Status::Ok();
}

Status InvokeSplit(InvokeContext& ctx) {
  const int axis = ctx.state_as<AxisState>().axis;
  const TensorView& in = ctx.inputs[0];
  int64_t outer;
  size_t in_block;
  OuterInner(in, axis, &outer, &in_block);
  const auto* src = static_cast<const std::byte*>(in.raw);
  size_t offset = 0;
  for (TensorView& out : ctx.outputs) {
    if (!out.present()) continue;
    int64_t o_outer;
    size_t block;
    OuterInner(out, axis, &o_outer, &block);
    auto* dst = static_cast<std::byte*>(out.raw);
    if (block > 0) {
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * block, src + o * in_block + offset, block);
    }
    offset += block;
  }
  return Status::Ok();
}

// ---- Pad ------------------------------------------------------------------------------------

// Per output axis, the input index each output index reads, or -1 for the constant value.
struct PadState : KernelState {
  int rank = 0;
  int64_t out_dims[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};
  int64_t map_offset[kMaxRank] = {};  // where axis d's map starts in `maps`
  std::vector<int64_t> maps;
  bool constant_mode = true;
  bool value_from_input = false;
  alignas(8) unsigned char value[8] = {};  // the pad value in the output dtype
  size_t persistent_bytes() const override { return maps.size() * sizeof(int64_t); }
};

Status PreparePad(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  const Node& node = ctx.node;
  const int r = in.rank();
  ASSIGN_OR_RETURN(std::string mode, node.GetString("mode", "constant"));
  std::vector<int64_t> pads;
  std::vector<int64_t> axes;
  auto state = std::make_unique<PadState>();
  if (node.opset < 11) {
    ASSIGN_OR_RETURN(pads, node.GetInts(node.has_attr("paddings") ? "paddings" : "pads", {}));
    ASSIGN_OR_RETURN(float v, node.GetFloat("value", 0.0f));
    StoreElementFromDouble(state->value, in.dtype, 0, v);
  } else {
    if (ctx.constants.size() < 2 || ctx.constants[1] == nullptr) {
      return ctx.NotSupported("input 'pads' must be a constant");
    }
    pads = ctx.constants[1]->ToInt64Vector();
    state->value_from_input = ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined &&
                              ctx.inputs[2].num_elements() > 0;
    if (ctx.inputs.size() > 3 && ctx.inputs[3].dtype != DType::kUndefined) {
      if (ctx.constants[3] == nullptr) return ctx.NotSupported("input 'axes' must be a constant");
      axes = ctx.constants[3]->ToInt64Vector();
    }
  }
  if (axes.empty()) {
    for (int i = 0; i < r; ++i) axes.push_back(i);
  }
  std::vector<int64_t> begin(r, 0);
  const size_t n = axes.size();
  for (size_t i = 0; i < n; ++i) begin[axes[i] < 0 ? axes[i] + r : axes[i]] = pads[i];
  state->rank = r;
  state->constant_mode = mode == "constant";
  const std::vector<int64_t> strides = RowMajorStrides(in.dims);
  for (int d = 0; d < r; ++d) {
    const int64_t len = in.dims[d];
    const int64_t out_len = ctx.outputs[0].dims[d];
    state->out_dims[d] = out_len;
    state->in_strides[d] = strides[d];
    state->map_offset[d] = static_cast<int64_t>(state->maps.size());
    for (int64_t o = 0; o < out_len; ++o) {
      int64_t i = o - begin[d];
      if (i < 0 || i >= len) {
        if (mode == "constant") {
          i = -1;
        } else if (mode == "edge" || len == 1) {
          i = std::clamp<int64_t>(i, 0, len - 1);
        } else {  // reflect: mirror without repeating the edge, period 2 * (len - 1)
          const int64_t period = 2 * (len - 1);
          i %= period;
          if (i < 0) i += period;
          if (i >= len) i = period - i;
        }
      }
      state->maps.push_back(i);
    }
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

template <typename U>
void RunPad(const PadState& s, const U* in, U* out, U value) {
  const int r = s.rank;
  if (r == 0) {
    out[0] = in[0];
    return;
  }
  const int64_t n = s.out_dims[r - 1];
  int64_t total = 1;
  for (int d = 0; d < r; ++d) total *= s.out_dims[d];
  if (total == 0) return;
  const int64_t* last = s.maps.data() + s.map_offset[r - 1];
  const int64_t last_stride = s.in_strides[r - 1];
  int64_t idx[kMaxRank] = {};
  for (int64_t row = 0; row < total / n; ++row) {
    U* o = out + row * n;
    int64_t base = 0;
    bool outside = false;
    for (int d = 0; d < r - 1; ++d) {
      const int64_t m = s.maps[s.map_offset[d] + idx[d]];
      if (m < 0) outside = true;
      base += m * s.in_strides[d];
    }
    if (outside) {
      std::fill(o, o + n, value);
    } else {
      for (int64_t j = 0; j < n; ++j) o[j] = last[j] < 0 ? value : in[base + last[j] * last_stride];
    }
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < s.out_dims[d]) break;
      idx[d] = 0;
    }
  }
}

Status InvokePad(InvokeContext& ctx) {
  const PadState& s = ctx.state_as<PadState>();
  const TensorView& in = ctx.inputs[0];
  const void* value = s.value;
  if (s.value_from_input) value = ctx.inputs[2].raw;
  return DispatchBySize(DTypeSize(in.dtype), ctx.node, [&](auto tag) {
    using U = typename decltype(tag)::type;
    U v;
    std::memcpy(&v, value, sizeof(U));
    RunPad(s, in.data<const U>(), ctx.outputs[0].data<U>(), v);
    return Status::Ok();
  });
}

// ---- Shape queries and generators -----------------------------------------------------------

// Integer attributes parsed once in prepare (Shape's start, EyeLike's k, Trilu's upper).
struct IntAttrState : KernelState {
  int64_t value = 0;
};

template <const char* kName, int64_t kDefault>
Status PrepareIntAttr(PrepareContext& ctx) {
  auto state = std::make_unique<IntAttrState>();
  ASSIGN_OR_RETURN(state->value, ctx.node.GetInt(kName, kDefault));
  ctx.state = std::move(state);
  return Status::Ok();
}
constexpr char kStart[] = "start";
constexpr char kK[] = "k";
constexpr char kUpper[] = "upper";

Status InvokeShape(InvokeContext& ctx) {
  const TensorView& in = ctx.inputs[0];
  const int r = in.rank;
  int64_t start = ctx.state_as<IntAttrState>().value;
  if (start < 0) start += r;
  start = std::clamp<int64_t>(start, 0, r);
  int64_t* out = ctx.outputs[0].data<int64_t>();
  for (int64_t i = 0; i < ctx.outputs[0].dims[0]; ++i) out[i] = in.dims[start + i];
  return Status::Ok();
}

Status InvokeSize(InvokeContext& ctx) {
  *ctx.outputs[0].data<int64_t>() = ctx.inputs[0].num_elements();
  return Status::Ok();
}

struct ValueState : KernelState {
  alignas(8) unsigned char value[8] = {};
};

Status PrepareConstantOfShape(PrepareContext& ctx) {
  auto state = std::make_unique<ValueState>();
  if (const Attribute* a = ctx.node.attr("value"); a != nullptr && a->tensor) {
    std::memcpy(state->value, a->tensor->raw(), DTypeSize(a->tensor->dtype()));
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeConstantOfShape(InvokeContext& ctx) {
  const ValueState& s = ctx.state_as<ValueState>();
  TensorView& out = ctx.outputs[0];
  return DispatchBySize(DTypeSize(out.dtype), ctx.node, [&](auto tag) {
    using U = typename decltype(tag)::type;
    U v;
    std::memcpy(&v, s.value, sizeof(U));
    std::fill(out.data<U>(), out.data<U>() + out.num_elements(), v);
    return Status::Ok();
  });
}

Status InvokeRange(InvokeContext& ctx) {
  return DispatchNumeric(
      ctx.inputs[0].dtype,
      [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T start = *ctx.inputs[0].data<const T>();
        const T delta = *ctx.inputs[2].data<const T>();
        T* out = ctx.outputs[0].data<T>();
        const int64_t n = ctx.outputs[0].num_elements();
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
        return Status::Ok();
      },
      ctx.node);
}

Status InvokeEyeLike(InvokeContext& ctx) {
  TensorView& out = ctx.outputs[0];
  const int64_t k = ctx.state_as<IntAttrState>().value;
  std::memset(out.raw, 0, out.bytes());
  const int64_t rows = out.dims[0], cols = out.dims[1];
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t j = i + k;
    if (j >= 0 && j < cols) StoreElementFromDouble(out.raw, out.dtype, i * cols + j, 1.0);
  }
  return Status::Ok();
}

Status InvokeTrilu(InvokeContext& ctx) {
  const TensorView& in = ctx.inputs[0];
  TensorView& out = ctx.outputs[0];
  const bool upper = ctx.state_as<IntAttrState>().value != 0;
  int64_t k = 0;
  if (ctx.inputs.size() > 1 && ctx.inputs[1].raw != nullptr) {
    k = static_cast<int64_t>(LoadElementAsDouble(ctx.inputs[1].raw, ctx.inputs[1].dtype, 0));
  }
  const int64_t rows = in.dims[in.rank - 2], cols = in.dims[in.rank - 1];
  const int64_t mats = rows * cols == 0 ? 0 : in.num_elements() / (rows * cols);
  const size_t es = DTypeSize(in.dtype);
  const auto* src = static_cast<const std::byte*>(in.raw);
  auto* dst = static_cast<std::byte*>(out.raw);
  for (int64_t m = 0; m < mats; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      // Kept columns: j >= i + k for the upper triangle, j <= i + k for the lower one.
      const int64_t lo = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
      const int64_t hi = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
      const int64_t row = (m * rows + i) * cols;
      std::memset(dst + row * es, 0, cols * es);
      if (hi > lo) std::memcpy(dst + (row + lo) * es, src + (row + lo) * es, (hi - lo) * es);
    }
  }
  return Status::Ok();
}

constexpr DTypeSet kAll = DTypeSet::All();
constexpr DTypeSet kRangeTypes{DType::kF32, DType::kF64, DType::kI16, DType::kI32, DType::kI64};

constexpr KernelDef kTensorKernels[] = {
    {"Identity", KernelPath::kReference, kAll, nullptr, nullptr, InvokeAlias, "", false, true},
    {"Reshape", KernelPath::kReference, kAll, nullptr, nullptr, InvokeAlias, "", false, true},
    {"Flatten", KernelPath::kReference, kAll, nullptr, nullptr, InvokeAlias, "", false, true},
    {"Squeeze", KernelPath::kReference, kAll, nullptr, nullptr, InvokeAlias, "", false, true},
    {"Unsqueeze", KernelPath::kReference, kAll, nullptr, nullptr, InvokeAlias, "", false, true},
    {"Transpose", KernelPath::kReference, kAll, nullptr, PrepareTranspose, InvokeCopy},
    {"Slice", KernelPath::kReference, kAll, nullptr, PrepareSlice, InvokeCopy},
    {"Expand", KernelPath::kReference, kAll, nullptr, PrepareExpand, InvokeCopy},
    {"Tile", KernelPath::kReference, kAll, nullptr, PrepareTile, InvokeCopy},
    {"DepthToSpace", KernelPath::kReference, kAll, nullptr, PrepareDepthToSpace, InvokeCopy},
    {"SpaceToDepth", KernelPath::kReference, kAll, nullptr, PrepareSpaceToDepth, InvokeCopy},
    {"ChannelShuffle", KernelPath::kReference, kAll, nullptr, PrepareChannelShuffle,
     InvokeChannelShuffle, kEdgerunDomain},
    {"Concat", KernelPath::kReference, kAll, nullptr, PrepareAxis0, InvokeConcat},
    {"Split", KernelPath::kReference, kAll, nullptr, PrepareAxis0, InvokeSplit},
    {"Pad", KernelPath::kReference, kAll, nullptr, PreparePad, InvokePad},
    {"Shape", KernelPath::kReference, kAll, nullptr, PrepareIntAttr<kStart, 0>, InvokeShape},
    {"Size", KernelPath::kReference, kAll, nullptr, nullptr, InvokeSize},
    {"ConstantOfShape", KernelPath::kReference, kAll, nullptr, PrepareConstantOfShape,
     InvokeConstantOfShape},
    {"Range", KernelPath::kReference, kRangeTypes, nullptr, nullptr, InvokeRange},
    {"EyeLike", KernelPath::kReference, kAll, nullptr, PrepareIntAttr<kK, 0>, InvokeEyeLike},
    {"Trilu", KernelPath::kReference, kAll, nullptr, PrepareIntAttr<kUpper, 1>, InvokeTrilu},
};

}  // namespace

std::span<const KernelDef> RefTensorKernels() { return kTensorKernels; }

}  // namespace edgerun
