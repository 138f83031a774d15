// Highway kernel of interleave.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrapper and the kernel definition.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/interleave.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/openmp_shares.h"
#include "kernels/simd/interleave.h"
#include "kernels/simd/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One vector of elements [i, i + lanes) of each row, interleaved into out.
template <class D, typename T>
HWY_INLINE void InterleaveVector(D d, int count, const T* s0, const T* s1, const T* s2, const T* s3,
                                 size_t i, T* out) {
  if (count == 2) {
    hn::StoreInterleaved2(hn::LoadU(d, s0 + i), hn::LoadU(d, s1 + i), d, out + 2 * i);
  } else if (count == 3) {
    hn::StoreInterleaved3(hn::LoadU(d, s0 + i), hn::LoadU(d, s1 + i), hn::LoadU(d, s2 + i), d,
                          out + 3 * i);
  } else {
    hn::StoreInterleaved4(hn::LoadU(d, s0 + i), hn::LoadU(d, s1 + i), hn::LoadU(d, s2 + i),
                          hn::LoadU(d, s3 + i), d, out + 4 * i);
  }
}

template <typename T>
void InterleaveTyped(const void* const* sources, int count, size_t n, T* out) {
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  const T* s0 = static_cast<const T*>(sources[0]);
  const T* s1 = static_cast<const T*>(sources[1]);
  const T* s2 = count > 2 ? static_cast<const T*>(sources[2]) : s0;
  const T* s3 = count > 3 ? static_cast<const T*>(sources[3]) : s0;
  if (n >= lanes) {
    size_t i = 0;
    for (; i + lanes <= n; i += lanes) InterleaveVector(d, count, s0, s1, s2, s3, i, out);
    // The tail as one more vector ending at n: it rewrites some elements with the same values
    // (out never overlaps the rows), cheaper than element by element (ShuffleNet's 29 and 58).
    if (i < n) InterleaveVector(d, count, s0, s1, s2, s3, n - lanes, out);
    return;
  }
  const T* rows[4] = {s0, s1, s2, s3};
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < count; ++k) out[i * count + k] = rows[k][i];
  }
}

void InterleaveRowsImpl(const void* const* sources, int count, size_t n, size_t rows,
                        size_t source_stride, size_t element_bytes, void* out) {
  const void* row_sources[4] = {};
  for (size_t r = 0; r < rows; ++r) {
    for (int k = 0; k < count; ++k) {
      row_sources[k] = static_cast<const uint8_t*>(sources[k]) + r * source_stride * element_bytes;
    }
    void* row_out = static_cast<uint8_t*>(out) + r * n * count * element_bytes;
    // Bits are moved, not values: uint32 lanes carry floats and int32 alike.
    if (element_bytes == 4) {
      InterleaveTyped(row_sources, count, n, static_cast<uint32_t*>(row_out));
    } else {
      InterleaveTyped(row_sources, count, n, static_cast<uint8_t*>(row_out));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgerun {
namespace internal {
HWY_EXPORT(InterleaveRowsImpl);
}  // namespace internal

void InterleaveRows(const void* const* sources, int count, size_t n, size_t rows,
                    size_t source_stride, size_t element_bytes, void* out) {
  HWY_DYNAMIC_DISPATCH(internal::InterleaveRowsImpl)
  (sources, count, n, rows, source_stride, element_bytes, out);
}

void InterleavePlanes(const void* in, int channels, size_t plane_size, size_t element_bytes,
                      void* out, size_t begin, size_t end) {
  end = std::min(end, plane_size);
  if (begin >= end) return;
  const auto* bytes = static_cast<const uint8_t*>(in);
  const void* planes[4] = {};
  for (int c = 0; c < channels; ++c) planes[c] = bytes + (c * plane_size + begin) * element_bytes;
  InterleaveRows(planes, channels, end - begin, 1, plane_size, element_bytes,
                 static_cast<uint8_t*>(out) + begin * channels * element_bytes);
}

namespace {

// Both kernels report "interleave:<instruction set>" to inspect and bench --profile.
struct InterleaveState : KernelState {
  std::string name = std::string("interleave:") + SimdTarget();
  std::string_view implementation() const override { return name; }
};

struct PlaneInterleaveState : InterleaveState {
  int64_t batch = 0, channels = 0;
  size_t plane_size = 0, element_bytes = 0;
  int threads = 1;  // OpenMP threads splitting each image's pixels (the oneDNN path only)
};

bool SupportsPlaneInterleave(const SupportContext& ctx) {
  if (ctx.inputs.size() != 1 || ctx.outputs.size() != 1) return false;
  const TensorType& in = ctx.inputs[0];
  if (in.rank() != 4 || in.dims[1] < 2 || in.dims[1] > 4) return false;
  const size_t element_bytes = DTypeSize(in.dtype);
  if (element_bytes != 1 && element_bytes != 4) return false;
  Expected<std::vector<int64_t>> perm = ctx.node.GetInts("perm", {});
  return perm.ok() && *perm == std::vector<int64_t>{0, 2, 3, 1};
}

Status PreparePlaneInterleave(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  auto state = std::make_unique<PlaneInterleaveState>();
  state->batch = in.dims[0];
  state->channels = in.dims[1];
  state->plane_size = static_cast<size_t>(in.dims[2] * in.dims[3]);
  state->element_bytes = DTypeSize(in.dtype);
  ctx.state = std::move(state);
  return Status::Ok();
}

// The oneDNN path: oneDNN owns the worker threads (OpenMP), so a large image is split across
// that same team rather than a second pool.
Status PreparePlaneInterleaveOnOpenMp(PrepareContext& ctx) {
  RETURN_IF_ERROR(PreparePlaneInterleave(ctx));
  auto& s = static_cast<PlaneInterleaveState&>(*ctx.state);
  const size_t image_bytes = static_cast<size_t>(s.channels) * s.plane_size * s.element_bytes;
  s.threads = ThreadsToShare(image_bytes, ctx.share_every_layer, ctx.num_threads);
  return Status::Ok();
}

Status InvokePlaneInterleave(InvokeContext& ctx) {
  const auto& s = ctx.state_as<PlaneInterleaveState>();
  const size_t image_bytes = static_cast<size_t>(s.channels) * s.plane_size * s.element_bytes;
  const auto* in = static_cast<const uint8_t*>(ctx.inputs[0].raw);
  auto* out = static_cast<uint8_t*>(ctx.outputs[0].raw);
  for (int64_t n = 0; n < s.batch; ++n) {
    const uint8_t* image = in + n * image_bytes;
    uint8_t* image_out = out + n * image_bytes;
    const int channels = static_cast<int>(s.channels);
    // Shares of 64 pixels: no two threads write the same cache line.
    ForEachShare(s.plane_size, s.threads, 64, [&](size_t begin, size_t end) {
      InterleavePlanes(image, channels, s.plane_size, s.element_bytes, image_out, begin, end);
    });
  }
  return Status::Ok();
}

// ChannelShuffle on the innermost axis with group 2-4: each pixel's C channels are `group` rows
// of C / group, interleaved. The rows come from one input (strided by C) or from one input each
// (a Concat folded into the shuffle, strided by C / group). With O outputs (Slices folded in),
// output o takes elements [o, o + 1) * C / (group * O) of every row.
struct ShuffleState : InterleaveState {
  int group = 0;
  size_t per_group = 0, pixels = 0, element_bytes = 0;
};

bool SupportsInterleaveShuffle(const SupportContext& ctx) {
  if (ctx.inputs.empty() || ctx.outputs.empty()) return false;
  const TensorType& in = ctx.inputs[0];
  const int rank = in.rank();
  const size_t element_bytes = DTypeSize(in.dtype);
  Expected<int64_t> group = ctx.node.GetInt("group", 0);
  Expected<int64_t> axis = ctx.node.GetInt("axis", 1);
  if (!group.ok() || !axis.ok() || rank < 1 || (*axis != rank - 1 && *axis != -1)) return false;
  if (*group < 2 || *group > 4 || (element_bytes != 1 && element_bytes != 4)) return false;
  int64_t channels = 0;
  for (const TensorType& t : ctx.inputs) channels += t.dims.back();
  const int64_t per_group = channels / *group;
  const auto outputs = static_cast<int64_t>(ctx.outputs.size());
  if (in.num_elements() <= 0 || channels % *group != 0 || per_group % outputs != 0) return false;
  // One input, or one input per group with C / group channels each.
  if (ctx.inputs.size() == 1) return true;
  if (static_cast<int64_t>(ctx.inputs.size()) != *group) return false;
  for (const TensorType& t : ctx.inputs) {
    if (t.dims.back() != per_group) return false;
  }
  return true;
}

Status PrepareInterleaveShuffle(PrepareContext& ctx) {
  const TensorType& in = ctx.inputs[0];
  auto state = std::make_unique<ShuffleState>();
  ASSIGN_OR_RETURN(int64_t group, ctx.node.GetInt("group", 0));
  int64_t channels = 0;
  for (const TensorType& t : ctx.inputs) channels += t.dims.back();
  state->group = static_cast<int>(group);
  state->per_group = static_cast<size_t>(channels / group);
  state->pixels = static_cast<size_t>(in.num_elements() / in.dims.back());
  state->element_bytes = DTypeSize(in.dtype);
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeInterleaveShuffle(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ShuffleState>();
  const uint8_t* rows[4] = {};
  size_t stride = s.per_group;
  if (ctx.inputs.size() == 1) {
    const auto* in = static_cast<const uint8_t*>(ctx.inputs[0].raw);
    for (int k = 0; k < s.group; ++k) rows[k] = in + k * s.per_group * s.element_bytes;
    stride = s.per_group * s.group;
  } else {
    for (int k = 0; k < s.group; ++k) rows[k] = static_cast<const uint8_t*>(ctx.inputs[k].raw);
  }
  const size_t n = s.per_group / ctx.outputs.size();
  for (size_t o = 0; o < ctx.outputs.size(); ++o) {
    const void* sources[4] = {};
    for (int k = 0; k < s.group; ++k) sources[k] = rows[k] + o * n * s.element_bytes;
    InterleaveRows(sources, s.group, n, s.pixels, stride, s.element_bytes, ctx.outputs[o].raw);
  }
  return Status::Ok();
}

}  // namespace

KernelDef InterleaveChannelShuffleKernel(KernelPath path) {
  constexpr DTypeSet kTypes{DType::kF32, DType::kI32, DType::kU32, DType::kU8, DType::kI8};
  return {"ChannelShuffle",
          path,
          kTypes,
          SupportsInterleaveShuffle,
          PrepareInterleaveShuffle,
          InvokeInterleaveShuffle,
          kEdgerunDomain};
}

KernelDef PlaneInterleaveTransposeKernel(KernelPath path) {
  constexpr DTypeSet kTypes{DType::kF32, DType::kI32, DType::kU32, DType::kU8, DType::kI8};
  return {"Transpose",
          path,
          kTypes,
          SupportsPlaneInterleave,
          path == KernelPath::kOnednn ? PreparePlaneInterleaveOnOpenMp : PreparePlaneInterleave,
          InvokePlaneInterleave};
}

}  // namespace edgerun
#endif  // HWY_ONCE
