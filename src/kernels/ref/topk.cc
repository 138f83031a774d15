// TopK reference kernel (part of the reduce family; listed by RefReduceKernels()).
//
// Each slice along the axis is ranked through an index array in the scratch buffer: indices
// 0..n-1 are partially sorted by (value, index), so ties keep the lower index first and the k
// winners come out in order. std::partial_sort works in place, so invoke never allocates.
// NaN ranks above every number, which keeps the comparison a strict weak order.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <type_traits>

#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {


namespace {

struct TopKState : KernelState {
  int64_t outer = 1, n = 1, inner = 1;
  int64_t k = 0;
  bool largest = true;
};

Status PrepareTopK(PrepareContext& ctx) {
  auto state = std::make_unique<TopKState>();
  const TensorType& x = ctx.inputs[0];
  ASSIGN_OR_RETURN(const int64_t axis_attr, ctx.node.GetInt("axis", -1));
  ASSIGN_OR_RETURN(const int64_t largest, ctx.node.GetInt("largest", 1));
  if (axis_attr < -x.rank() || axis_attr >= x.rank()) return ctx.Invalid("axis out of range");
  const int axis = static_cast<int>(axis_attr < 0 ? axis_attr + x.rank() : axis_attr);
  for (int d = 0; d < x.rank(); ++d) {
    if (d < axis) state->outer *= x.dims[d];
    if (d == axis) state->n = x.dims[d];
    if (d > axis) state->inner *= x.dims[d];
  }
  // Inference already resolved k (attribute or constant input) into the output shape.
  state->k = ctx.outputs[0].dims[axis];
  state->largest = largest != 0;
  ctx.scratch_bytes = static_cast<size_t>(state->n) * sizeof(int64_t);
  ctx.state = std::move(state);
  return Status::Ok();
}

template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

template <typename T>
void RunTopK(const TopKState& s, const T* in, T* values, int64_t* indices, int64_t* order) {
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t i = 0; i < s.inner; ++i) {
      const T* p = in + o * s.n * s.inner + i;
      auto at = [&](int64_t j) { return p[j * s.inner]; };
      // Orders a before b when a ranks higher: larger (or smaller) value, then lower index.
      auto before = [&](int64_t a, int64_t b) {
        const T va = at(a), vb = at(b);
        const bool na = IsNan(va), nb = IsNan(vb);
        if (na || nb) {
          if (na != nb) return s.largest ? na : nb;
          return a < b;
        }
        if (va != vb) return s.largest ? va > vb : va < vb;
        return a < b;
      };
      for (int64_t j = 0; j < s.n; ++j) order[j] = j;
      std::partial_sort(order, order + s.k, order + s.n, before);
      const int64_t out_start = o * s.k * s.inner + i;
      for (int64_t j = 0; j < s.k; ++j) {
        values[out_start + j * s.inner] = at(order[j]);
        indices[out_start + j * s.inner] = order[j];
      }
    }
  }
}

Status InvokeTopK(InvokeContext& ctx) {
  const auto& s = ctx.state_as<TopKState>();
  const TensorView& x = ctx.inputs[0];
  auto* order = static_cast<int64_t*>(ctx.scratch);
  int64_t* indices = ctx.outputs.size() > 1 ? ctx.outputs[1].data<int64_t>() : nullptr;
  if (indices == nullptr) return ctx.Fail("indices output is not bound");
  return DispatchNumeric(
      x.dtype,
      [&](auto tag) {
        using T = typename decltype(tag)::type;
        RunTopK<T>(s, x.data<const T>(), ctx.outputs[0].data<T>(), indices, order);
        return Status::Ok();
      },
      ctx.node);
}

constexpr DTypeSet kTopKTypes = DTypeSet{DType::kF32, DType::kF64} | kIntTypes;

constexpr KernelDef kRefTopKKernels[] = {
    {"TopK", KernelPath::kReference, kTopKTypes, nullptr, PrepareTopK, InvokeTopK},
};

}  // namespace

std::span<const KernelDef> RefTopKKernels() { return kRefTopKKernels; }

}  // namespace edgerun
