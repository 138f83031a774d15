#include "kernels/ref/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/ref/conv.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {
namespace {

struct PoolState : KernelState {
  Window3d w;
  int64_t planes = 0;  // N * C
  bool count_include_pad = false;
  bool column_major_indices = false;  // MaxPool storage_order = 1
  int64_t p = 2;                      // LpPool
};

// Valid tap range of one axis: taps k in [lo, hi) land inside the input for output o.
inline void TapRange(const Window3d& w, int axis, int64_t o, int64_t* start, int64_t* lo,
                     int64_t* hi) {
  *start = o * w.stride[axis] - w.pad[axis];
  const int64_t d = w.dilation[axis];
  *lo = *start >= 0 ? 0 : (-*start + d - 1) / d;
  *hi = w.in[axis] - *start <= 0 ? 0 : std::min(w.kernel[axis], (w.in[axis] - *start - 1) / d + 1);
}

// Walks the output elements of one plane in order. Per element o: begin(o), then
// tap(input_offset, id, ih, iw) for each window tap inside the input, then
// end(o, taps_inside, od, oh, ow).
template <typename Begin, typename Tap, typename End>
void ForEachWindow(const Window3d& w, Begin begin, Tap tap, End end) {
  int64_t o = 0;
  for (int64_t od = 0; od < w.out[0]; ++od) {
    int64_t sd, d_lo, d_hi;
    TapRange(w, 0, od, &sd, &d_lo, &d_hi);
    for (int64_t oh = 0; oh < w.out[1]; ++oh) {
      int64_t sh, h_lo, h_hi;
      TapRange(w, 1, oh, &sh, &h_lo, &h_hi);
      for (int64_t ow = 0; ow < w.out[2]; ++ow, ++o) {
        int64_t sw, w_lo, w_hi;
        TapRange(w, 2, ow, &sw, &w_lo, &w_hi);
        begin(o);
        for (int64_t kd = d_lo; kd < d_hi; ++kd) {
          const int64_t id = sd + kd * w.dilation[0];
          for (int64_t kh = h_lo; kh < h_hi; ++kh) {
            const int64_t ih = sh + kh * w.dilation[1];
            const int64_t row = (id * w.in[1] + ih) * w.in[2];
            for (int64_t kw = w_lo; kw < w_hi; ++kw) {
              const int64_t iw = sw + kw * w.dilation[2];
              tap(row + iw, id, ih, iw);
            }
          }
        }
        end(o, (d_hi - d_lo) * (h_hi - h_lo) * (w_hi - w_lo), od, oh, ow);
      }
    }
  }
}

template <typename T>
void MaxPoolPlanes(const PoolState& s, const T* x, T* y, int64_t* indices) {
  const Window3d& w = s.w;
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* xp = x + p * w.in_size();
    T* yp = y + p * w.out_size();
    int64_t* ip = indices != nullptr ? indices + p * w.out_size() : nullptr;
    T best{};
    int64_t best_at = 0;
    ForEachWindow(
        w,
        [&](int64_t) {
          best = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                      : std::numeric_limits<T>::lowest();
          best_at = -1;
        },
        [&](int64_t off, int64_t id, int64_t ih, int64_t iw) {
          const T v = xp[off];
          if (best_at < 0 || v > best) {
            best = v;
            best_at = s.column_major_indices ? id + w.in[0] * (ih + w.in[1] * iw) : off;
          }
        },
        [&](int64_t o, int64_t, int64_t, int64_t, int64_t) {
          yp[o] = best;
          if (ip != nullptr) ip[o] = best_at < 0 ? -1 : p * w.in_size() + best_at;
        });
  }
}

// Taps of one axis inside [-pad, in + declared_pad_end), for count_include_pad.
inline int64_t PaddedTaps(const PoolState& s, int axis, int64_t o) {
  const Window3d& w = s.w;
  const int64_t start = o * w.stride[axis] - w.pad[axis];
  int64_t n = 0;
  for (int64_t k = 0; k < w.kernel[axis]; ++k) {
    const int64_t i = start + k * w.dilation[axis];
    n += i >= -w.pad[axis] && i < w.in[axis] + w.declared_pad_end[axis];
  }
  return n;
}

template <typename T>
void AveragePoolPlanes(const PoolState& s, const T* x, T* y) {
  const Window3d& w = s.w;
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* xp = x + p * w.in_size();
    T* yp = y + p * w.out_size();
    T sum = 0;
    ForEachWindow(
        w, [&](int64_t) { sum = 0; },
        [&](int64_t off, int64_t, int64_t, int64_t) { sum += xp[off]; },
        [&](int64_t o, int64_t count, int64_t od, int64_t oh, int64_t ow) {
          if (s.count_include_pad) {
            count = PaddedTaps(s, 0, od) * PaddedTaps(s, 1, oh) * PaddedTaps(s, 2, ow);
          }
          yp[o] = count > 0 ? sum / static_cast<T>(count) : T(0);
        });
  }
}

template <typename T>
void LpPoolPlanes(const PoolState& s, const T* x, T* y) {
  const Window3d& w = s.w;
  const T p_norm = static_cast<T>(s.p);
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* xp = x + p * w.in_size();
    T* yp = y + p * w.out_size();
    T sum = 0;
    ForEachWindow(
        w, [&](int64_t) { sum = 0; },
        [&](int64_t off, int64_t, int64_t, int64_t) {
          const T a = std::abs(xp[off]);
          sum += s.p == 2 ? a * a : std::pow(a, p_norm);
        },
        [&](int64_t o, int64_t, int64_t, int64_t, int64_t) {
          yp[o] = s.p == 2 ? std::sqrt(sum) : std::pow(sum, T(1) / p_norm);
        });
  }
}

}  // namespace

bool SupportsPool(const SupportContext& ctx) {
  const size_t rank = ctx.inputs[0].dims.size();
  return rank >= 3 && rank <= 2 + kMaxSpatial;
}

Status PreparePool(PrepareContext& ctx) {
  auto s = std::make_unique<PoolState>();
  const auto& x = ctx.inputs[0].dims;
  const auto& y = ctx.outputs[0].dims;
  const size_t n = x.size() - 2;
  ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.node.GetInts("kernel_shape", {}));
  if (kernel.size() != n) return ctx.Invalid("kernel_shape does not match the input rank");
  RETURN_IF_ERROR(
      ResolveWindow(ctx, {x.begin() + 2, x.end()}, {y.begin() + 2, y.end()}, kernel, &s->w));
  s->planes = x[0] * x[1];
  ASSIGN_OR_RETURN(int64_t include_pad, ctx.node.GetInt("count_include_pad", 0));
  ASSIGN_OR_RETURN(int64_t order, ctx.node.GetInt("storage_order", 0));
  ASSIGN_OR_RETURN(s->p, ctx.node.GetInt("p", 2));
  s->count_include_pad = include_pad != 0;
  s->column_major_indices = order == 1;
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeMaxPool(InvokeContext& ctx) {
  const auto& s = ctx.state_as<PoolState>();
  int64_t* indices = ctx.outputs.size() > 1 && ctx.outputs[1].raw != nullptr
                         ? ctx.outputs[1].data<int64_t>()
                         : nullptr;
  return DispatchNumeric(
      ctx.inputs[0].dtype,
      [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, bool>) {
          return ctx.Fail("bool MaxPool");
        } else {
          MaxPoolPlanes<T>(s, ctx.inputs[0].data<T>(), ctx.outputs[0].data<T>(), indices);
          return Status::Ok();
        }
      },
      ctx.node);
}

Status InvokeAveragePool(InvokeContext& ctx) {
  const auto& s = ctx.state_as<PoolState>();
  if (ctx.inputs[0].dtype == DType::kF64) {
    AveragePoolPlanes<double>(s, ctx.inputs[0].data<double>(), ctx.outputs[0].data<double>());
  } else {
    AveragePoolPlanes<float>(s, ctx.inputs[0].data<float>(), ctx.outputs[0].data<float>());
  }
  return Status::Ok();
}

Status InvokeLpPool(InvokeContext& ctx) {
  const auto& s = ctx.state_as<PoolState>();
  if (ctx.inputs[0].dtype == DType::kF64) {
    LpPoolPlanes<double>(s, ctx.inputs[0].data<double>(), ctx.outputs[0].data<double>());
  } else {
    LpPoolPlanes<float>(s, ctx.inputs[0].data<float>(), ctx.outputs[0].data<float>());
  }
  return Status::Ok();
}

// ---- Global pools ----

namespace {

struct GlobalPoolState : KernelState {
  int64_t planes = 0;
  int64_t plane_size = 0;
  int64_t p = 2;
};

enum class GlobalKind { kAverage, kMax, kLp };

template <typename T>
void GlobalPoolPlanes(const GlobalPoolState& s, GlobalKind kind, const T* x, T* y) {
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* xp = x + p * s.plane_size;
    if (kind == GlobalKind::kMax) {
      T best = s.plane_size > 0 ? xp[0] : T(0);
      for (int64_t i = 1; i < s.plane_size; ++i) best = xp[i] > best ? xp[i] : best;
      y[p] = best;
    } else if (kind == GlobalKind::kAverage) {
      // Accumulate in double: planes can be large (e.g. 7x7x2048 averages are fine, but
      // detection heads average much bigger maps).
      double sum = 0;
      for (int64_t i = 0; i < s.plane_size; ++i) sum += xp[i];
      y[p] = s.plane_size > 0 ? static_cast<T>(sum / static_cast<double>(s.plane_size)) : T(0);
    } else {
      double sum = 0;
      for (int64_t i = 0; i < s.plane_size; ++i) {
        sum += std::pow(std::abs(static_cast<double>(xp[i])), static_cast<double>(s.p));
      }
      y[p] = static_cast<T>(std::pow(sum, 1.0 / static_cast<double>(s.p)));
    }
  }
}

Status InvokeGlobal(InvokeContext& ctx, GlobalKind kind) {
  const auto& s = ctx.state_as<GlobalPoolState>();
  return DispatchNumeric(
      ctx.inputs[0].dtype,
      [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, bool>) {
          return ctx.Fail("bool global pool");
        } else {
          GlobalPoolPlanes<T>(s, kind, ctx.inputs[0].data<T>(), ctx.outputs[0].data<T>());
          return Status::Ok();
        }
      },
      ctx.node);
}

}  // namespace

Status PrepareGlobalPool(PrepareContext& ctx) {
  auto s = std::make_unique<GlobalPoolState>();
  const auto& x = ctx.inputs[0].dims;
  s->planes = x[0] * x[1];
  s->plane_size = 1;
  for (size_t i = 2; i < x.size(); ++i) s->plane_size *= x[i];
  ASSIGN_OR_RETURN(s->p, ctx.node.GetInt("p", 2));
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeGlobalAveragePool(InvokeContext& ctx) {
  return InvokeGlobal(ctx, GlobalKind::kAverage);
}
Status InvokeGlobalMaxPool(InvokeContext& ctx) { return InvokeGlobal(ctx, GlobalKind::kMax); }
Status InvokeGlobalLpPool(InvokeContext& ctx) { return InvokeGlobal(ctx, GlobalKind::kLp); }

}  // namespace edgerun
