// Reduce reference kernels: ReduceSum and friends, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax and
// CumSum. RefReduceKernels() also gathers the TopK (topk.cc) and quantization (quantize.cc)
// tables.
//
// Reductions split the input dims into kept ("outer") and reduced ("inner") groups in prepare,
// each a strided box with contiguous neighbours merged; invoke walks the outer box in output
// order and, per output element, the inner box, accumulating in double (floats) or 64-bit
// integers. Axis ops (ArgMax, softmax, CumSum) view the input as [outer, n, inner] around the
// axis. f16/bf16 are loaded to float and stored back with round-to-nearest-even.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

// Tables of the other reduce-family files, concatenated by RefReduceKernels() below.

namespace {

// Storage types for the 16-bit floats, so the templates below treat them like other elements.
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

// Elem<T>::V is the arithmetic type an element is computed in.
template <typename T>
struct Elem {
  using V = T;
  static V Load(T v) { return v; }
  static T Store(V v) { return v; }
};
template <>
struct Elem<F16> {
  using V = float;
  static V Load(F16 v) { return HalfToFloat(v.bits); }
  static F16 Store(V v) { return F16{FloatToHalf(v)}; }
};
template <>
struct Elem<BF16> {
  using V = float;
  static V Load(BF16 v) { return BFloat16ToFloat(v.bits); }
  static BF16 Store(V v) { return BF16{FloatToBFloat16(v)}; }
};

template <typename T>
constexpr bool kIsFloatElem = std::is_floating_point_v<typename Elem<T>::V>;

// Accumulator: double for floats, 64-bit integers of the same signedness otherwise.
template <typename T>
using AccType = std::conditional_t<
    kIsFloatElem<T>, double,
    std::conditional_t<std::is_signed_v<typename Elem<T>::V>, int64_t, uint64_t>>;

// Converts an accumulator to an element; integers saturate (and NaN becomes 0) so that e.g.
// log(0) on an integer reduction is defined.
template <typename T, typename A>
T StoreAcc(A a) {
  using V = typename Elem<T>::V;
  if constexpr (std::is_integral_v<V> && std::is_floating_point_v<A>) {
    if (std::isnan(a)) return 0;
    if (a <= static_cast<A>(std::numeric_limits<V>::lowest())) {
      return std::numeric_limits<V>::lowest();
    }
    if (a >= static_cast<A>(std::numeric_limits<V>::max())) return std::numeric_limits<V>::max();
    return static_cast<V>(a);
  } else {
    return Elem<T>::Store(static_cast<V>(a));
  }
}

// Integer sums and products wrap around (two's complement) rather than overflow, which would be
// undefined behaviour for signed types.
template <typename A>
A Add(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <typename A>
A Mul(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}

// Calls fn(TypeTag<T>{}) for every dtype these kernels handle (all numeric types but bool).
template <typename Fn>
Status DispatchReduceType(DType dtype, Fn&& fn, const Node& node) {
  switch (dtype) {
    case DType::kF32:
      return fn(TypeTag<float>{});
    case DType::kF64:
      return fn(TypeTag<double>{});
    case DType::kF16:
      return fn(TypeTag<F16>{});
    case DType::kBF16:
      return fn(TypeTag<BF16>{});
    case DType::kI8:
      return fn(TypeTag<int8_t>{});
    case DType::kU8:
      return fn(TypeTag<uint8_t>{});
    case DType::kI16:
      return fn(TypeTag<int16_t>{});
    case DType::kU16:
      return fn(TypeTag<uint16_t>{});
    case DType::kI32:
      return fn(TypeTag<int32_t>{});
    case DType::kU32:
      return fn(TypeTag<uint32_t>{});
    case DType::kI64:
      return fn(TypeTag<int64_t>{});
    case DType::kU64:
      return fn(TypeTag<uint64_t>{});
    default:
      return Unsupported(node.Describe() + ": dtype " + std::string(DTypeName(dtype)) +
                         " is not supported by this kernel");
  }
}

// Same, floats only (the softmax family).
template <typename Fn>
Status DispatchFloatType(DType dtype, Fn&& fn, const Node& node) {
  switch (dtype) {
    case DType::kF32:
      return fn(TypeTag<float>{});
    case DType::kF64:
      return fn(TypeTag<double>{});
    case DType::kF16:
      return fn(TypeTag<F16>{});
    case DType::kBF16:
      return fn(TypeTag<BF16>{});
    default:
      return Unsupported(node.Describe() + ": dtype " + std::string(DTypeName(dtype)) +
                         " is not supported by this kernel");
  }
}

constexpr DTypeSet kReduceTypes = kNumericTypes;

// A strided box of up to kMaxRank dims, walked in row-major order.
struct Box {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  int64_t count = 1;

  // Appends a dim, merging it into the previous one when the two are contiguous.
  void Push(int64_t dim, int64_t stride) {
    count *= dim;
    if (dim == 1) return;
    if (rank > 0 && strides[rank - 1] == stride * dim) {
      dims[rank - 1] *= dim;
      strides[rank - 1] = stride;
      return;
    }
    dims[rank] = dim;
    strides[rank] = stride;
    ++rank;
  }
};

// Iterates the flat offsets of a Box without heap memory.
class BoxWalker {
 public:
  explicit BoxWalker(const Box& box) : box_(box) {}
  int64_t offset() const { return offset_; }
  void Next() {
    for (int d = box_.rank - 1; d >= 0; --d) {
      offset_ += box_.strides[d];
      if (++idx_[d] < box_.dims[d]) return;
      offset_ -= box_.strides[d] * box_.dims[d];
      idx_[d] = 0;
    }
  }

 private:
  const Box& box_;
  int64_t idx_[kMaxRank] = {};
  int64_t offset_ = 0;
};

// ----------------------------------------------------------------------------------------------
// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare.

enum class ReduceOp : uint8_t {
  kSum,
  kMean,
  kMax,
  kMin,
  kProd,
  kL1,
  kL2,
  kLogSum,
  kLogSumExp,
  kSumSquare
};

struct ReduceOpName {
  std::string_view name;
  ReduceOp op;
};
constexpr ReduceOpName kReduceOpNames[] = {
    {"ReduceSum", ReduceOp::kSum},
    {"ReduceMean", ReduceOp::kMean},
    {"ReduceMax", ReduceOp::kMax},
    {"ReduceMin", ReduceOp::kMin},
    {"ReduceProd", ReduceOp::kProd},
    {"ReduceL1", ReduceOp::kL1},
    {"ReduceL2", ReduceOp::kL2},
    {"ReduceLogSum", ReduceOp::kLogSum},
    {"ReduceLogSumExp", ReduceOp::kLogSumExp},
    {"ReduceSumSquare", ReduceOp::kSumSquare},
};

struct ReduceState : KernelState {
  ReduceOp op = ReduceOp::kSum;
  bool copy = false;  // noop_with_empty_axes with empty axes: the output is the input
  Box outer;          // kept dims, in output order
  Box inner;          // reduced dims
};

Status PrepareReduce(PrepareContext& ctx) {
  auto state = std::make_unique<ReduceState>();
  for (const ReduceOpName& n : kReduceOpNames) {
    if (n.name == ctx.node.op_type) state->op = n.op;
  }
  const TensorType& x = ctx.inputs[0];
  const int rank = x.rank();
  const bool from_input =
      ctx.node.opset >= 18 || (ctx.node.op_type == "ReduceSum" && ctx.node.opset >= 13);
  std::vector<int64_t> axes;
  if (from_input) {
    if (ctx.inputs.size() > 1 && ctx.inputs[1].dtype != DType::kUndefined &&
        ctx.inputs[1].num_elements() > 0) {
      const Tensor* c = ctx.constants.size() > 1 ? ctx.constants[1] : nullptr;
      if (c == nullptr) return ctx.NotSupported("axes input must be a constant");
      axes = c->ToInt64Vector();
    }
    ASSIGN_OR_RETURN(const int64_t noop, ctx.node.GetInt("noop_with_empty_axes", 0));
    state->copy = axes.empty() && noop != 0;
  } else {
    ASSIGN_OR_RETURN(axes, ctx.node.GetInts("axes", {}));
  }
  bool reduced[kMaxRank] = {};
  for (int d = 0; d < rank; ++d) reduced[d] = axes.empty();
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) return ctx.Invalid("axis " + std::to_string(a) + " out of range");
    reduced[a < 0 ? a + rank : a] = true;
  }
  int64_t stride = 1;
  int64_t strides[kMaxRank] = {};
  for (int d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= x.dims[d];
  }
  for (int d = 0; d < rank; ++d) {
    (reduced[d] ? state->inner : state->outer).Push(x.dims[d], strides[d]);
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

template <ReduceOp kOp, typename T>
void ReduceLoop(const ReduceState& s, const T* in, T* out) {
  using E = Elem<T>;
  using V = typename E::V;
  // Transcendental finishes are computed in double even for integer inputs.
  constexpr bool kDoubleAcc =
      kOp == ReduceOp::kL2 || kOp == ReduceOp::kLogSum || kOp == ReduceOp::kLogSumExp;
  using A = std::conditional_t<kDoubleAcc, double, AccType<T>>;
  const int64_t n = s.inner.count;
  BoxWalker ow(s.outer);
  for (int64_t o = 0; o < s.outer.count; ++o, ow.Next()) {
    const T* base = in + ow.offset();
    A acc{};
    if constexpr (kOp == ReduceOp::kProd) acc = 1;
    // Empty max/min give -inf/+inf for floats and the type's extremes for integers.
    if constexpr (kOp == ReduceOp::kMax) {
      if constexpr (std::is_floating_point_v<A>) {
        acc = -std::numeric_limits<A>::infinity();
      } else {
        acc = static_cast<A>(std::numeric_limits<V>::lowest());
      }
    }
    if constexpr (kOp == ReduceOp::kMin) {
      if constexpr (std::is_floating_point_v<A>) {
        acc = std::numeric_limits<A>::infinity();
      } else {
        acc = static_cast<A>(std::numeric_limits<V>::max());
      }
    }
    [[maybe_unused]] double max_v = 0;  // kLogSumExp: shift that keeps exp() in range
    if constexpr (kOp == ReduceOp::kLogSumExp) {
      max_v = -std::numeric_limits<double>::infinity();
      BoxWalker iw(s.inner);
      for (int64_t i = 0; i < n; ++i, iw.Next()) {
        const A v = static_cast<A>(E::Load(base[iw.offset()]));
        if (v > max_v || std::isnan(v)) max_v = v;
      }
      if (std::isinf(max_v) || std::isnan(max_v)) {
        out[o] = StoreAcc<T>(max_v);  // empty or all -inf: -inf; any +inf: +inf; NaN: NaN
        continue;
      }
    }
    BoxWalker iw(s.inner);
    for (int64_t i = 0; i < n; ++i, iw.Next()) {
      const A v = static_cast<A>(E::Load(base[iw.offset()]));
      if constexpr (kOp == ReduceOp::kSum || kOp == ReduceOp::kMean || kOp == ReduceOp::kLogSum) {
        acc = Add(acc, v);
      } else if constexpr (kOp == ReduceOp::kSumSquare || kOp == ReduceOp::kL2) {
        acc = Add(acc, Mul(v, v));
      } else if constexpr (kOp == ReduceOp::kL1) {
        acc = Add(acc, v < A{0} ? Mul(v, A(-1)) : v);
      } else if constexpr (kOp == ReduceOp::kProd) {
        acc = Mul(acc, v);
      } else if constexpr (kOp == ReduceOp::kMax) {
        if (v > acc || v != v) acc = acc != acc ? acc : v;  // NaN propagates
      } else if constexpr (kOp == ReduceOp::kMin) {
        if (v < acc || v != v) acc = acc != acc ? acc : v;
      } else if constexpr (kOp == ReduceOp::kLogSumExp) {
        acc += std::exp(v - max_v);
      }
    }
    if constexpr (kOp == ReduceOp::kMean) {
      if constexpr (std::is_floating_point_v<A>) {
        acc = acc / static_cast<A>(n);  // n == 0 gives NaN, like numpy
      } else {
        acc = n > 0 ? acc / static_cast<A>(n) : 0;
      }
    } else if constexpr (kOp == ReduceOp::kL2) {
      acc = std::sqrt(acc);
    } else if constexpr (kOp == ReduceOp::kLogSum) {
      acc = std::log(acc);
    } else if constexpr (kOp == ReduceOp::kLogSumExp) {
      acc = std::log(acc) + max_v;
    }
    out[o] = StoreAcc<T>(acc);
  }
}

template <typename T>
void RunReduce(const ReduceState& s, const T* in, T* out) {
  switch (s.op) {
    case ReduceOp::kSum:
      return ReduceLoop<ReduceOp::kSum>(s, in, out);
    case ReduceOp::kMean:
      return ReduceLoop<ReduceOp::kMean>(s, in, out);
    case ReduceOp::kMax:
      return ReduceLoop<ReduceOp::kMax>(s, in, out);
    case ReduceOp::kMin:
      return ReduceLoop<ReduceOp::kMin>(s, in, out);
    case ReduceOp::kProd:
      return ReduceLoop<ReduceOp::kProd>(s, in, out);
    case ReduceOp::kL1:
      return ReduceLoop<ReduceOp::kL1>(s, in, out);
    case ReduceOp::kL2:
      return ReduceLoop<ReduceOp::kL2>(s, in, out);
    case ReduceOp::kLogSum:
      return ReduceLoop<ReduceOp::kLogSum>(s, in, out);
    case ReduceOp::kLogSumExp:
      return ReduceLoop<ReduceOp::kLogSumExp>(s, in, out);
    case ReduceOp::kSumSquare:
      return ReduceLoop<ReduceOp::kSumSquare>(s, in, out);
  }
}

Status InvokeReduce(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ReduceState>();
  const TensorView& x = ctx.inputs[0];
  TensorView& y = ctx.outputs[0];
  if (s.copy) {
    if (y.raw != x.raw && x.bytes() > 0) std::memcpy(y.raw, x.raw, x.bytes());
    return Status::Ok();
  }
  return DispatchReduceType(
      x.dtype,
      [&](auto tag) {
        using T = typename decltype(tag)::type;
        RunReduce<T>(s, x.data<const T>(), y.data<T>());
        return Status::Ok();
      },
      ctx.node);
}

// ----------------------------------------------------------------------------------------------
// Ops along one axis: the input is viewed as [outer, n, inner].

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisSplit SplitAt(std::span<const int64_t> dims, int axis) {
  AxisSplit s;
  for (int d = 0; d < static_cast<int>(dims.size()); ++d) {
    if (d < axis) s.outer *= dims[d];
    if (d == axis) s.n = dims[d];
    if (d > axis) s.inner *= dims[d];
  }
  return s;
}

int NormalizedAxis(int64_t axis, int rank) {
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// ArgMax / ArgMin.

struct ArgReduceState : KernelState {
  AxisSplit split;
  bool is_max = true;
  bool select_last = false;
};

Status PrepareArgReduce(PrepareContext& ctx) {
  auto state = std::make_unique<ArgReduceState>();
  const TensorType& x = ctx.inputs[0];
  ASSIGN_OR_RETURN(const int64_t axis, ctx.node.GetInt("axis", 0));
  ASSIGN_OR_RETURN(const int64_t last, ctx.node.GetInt("select_last_index", 0));
  if (axis < -x.rank() || axis >= x.rank()) return ctx.Invalid("axis out of range");
  state->split = SplitAt(x.dims, NormalizedAxis(axis, x.rank()));
  state->is_max = ctx.node.op_type == "ArgMax";
  state->select_last = last != 0;
  ctx.state = std::move(state);
  return Status::Ok();
}

template <typename T>
void RunArgReduce(const ArgReduceState& s, const T* in, int64_t* out) {
  using V = typename Elem<T>::V;
  const AxisSplit& sp = s.split;
  for (int64_t o = 0; o < sp.outer; ++o) {
    for (int64_t i = 0; i < sp.inner; ++i) {
      const T* p = in + o * sp.n * sp.inner + i;
      V best = Elem<T>::Load(p[0]);
      int64_t best_k = 0;
      for (int64_t k = 1; k < sp.n; ++k) {
        const V v = Elem<T>::Load(p[k * sp.inner]);
        const bool better = s.is_max ? v > best : v < best;
        if (better || (s.select_last && v == best)) {
          best = v;
          best_k = k;
        }
      }
      out[o * sp.inner + i] = best_k;
    }
  }
}

Status InvokeArgReduce(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ArgReduceState>();
  const TensorView& x = ctx.inputs[0];
  int64_t* out = ctx.outputs[0].data<int64_t>();
  return DispatchReduceType(
      x.dtype,
      [&](auto tag) {
        using T = typename decltype(tag)::type;
        RunArgReduce<T>(s, x.data<const T>(), out);
        return Status::Ok();
      },
      ctx.node);
}

// Softmax / LogSoftmax / Hardmax. Before opset 13 the input is coerced to 2-D at `axis` and the
// op runs over each row of the flattened trailing dims; from 13 it runs along the single axis.

enum class SoftmaxKind : uint8_t { kSoftmax, kLogSoftmax, kHardmax };

struct SoftmaxState : KernelState {
  AxisSplit split;
  SoftmaxKind kind = SoftmaxKind::kSoftmax;
};

Status PrepareSoftmax(PrepareContext& ctx) {
  auto state = std::make_unique<SoftmaxState>();
  const TensorType& x = ctx.inputs[0];
  const bool coerce_2d = ctx.node.opset < 13;
  ASSIGN_OR_RETURN(const int64_t axis_attr, ctx.node.GetInt("axis", coerce_2d ? 1 : -1));
  if (axis_attr < -x.rank() || axis_attr >= x.rank()) return ctx.Invalid("axis out of range");
  const int axis = NormalizedAxis(axis_attr, x.rank());
  if (coerce_2d) {
    state->split.outer = NumElements(std::span(x.dims).first(axis));
    state->split.n = NumElements(std::span(x.dims).subspan(axis));
    state->split.inner = 1;
  } else {
    state->split = SplitAt(x.dims, axis);
  }
  if (ctx.node.op_type == "LogSoftmax") state->kind = SoftmaxKind::kLogSoftmax;
  if (ctx.node.op_type == "Hardmax") state->kind = SoftmaxKind::kHardmax;
  ctx.state = std::move(state);
  return Status::Ok();
}

template <typename T>
void RunSoftmax(const SoftmaxState& s, const T* in, T* out) {
  using E = Elem<T>;
  using V = typename E::V;
  const AxisSplit& sp = s.split;
  for (int64_t o = 0; o < sp.outer; ++o) {
    for (int64_t i = 0; i < sp.inner; ++i) {
      const int64_t start = o * sp.n * sp.inner + i;
      const T* p = in + start;
      T* q = out + start;
      // Subtracting the max keeps exp() from overflowing; Hardmax needs its first index.
      V max_v = E::Load(p[0]);
      int64_t max_k = 0;
      for (int64_t k = 1; k < sp.n; ++k) {
        const V v = E::Load(p[k * sp.inner]);
        if (v > max_v) {
          max_v = v;
          max_k = k;
        }
      }
      if (s.kind == SoftmaxKind::kHardmax) {
        for (int64_t k = 0; k < sp.n; ++k) q[k * sp.inner] = E::Store(k == max_k ? V{1} : V{0});
        continue;
      }
      double sum = 0;
      for (int64_t k = 0; k < sp.n; ++k) sum += std::exp(E::Load(p[k * sp.inner]) - max_v);
      if (s.kind == SoftmaxKind::kSoftmax) {
        const double inv = 1.0 / sum;
        for (int64_t k = 0; k < sp.n; ++k) {
          const V e = std::exp(E::Load(p[k * sp.inner]) - max_v);
          q[k * sp.inner] = E::Store(static_cast<V>(e * inv));
        }
      } else {
        const V log_sum = static_cast<V>(std::log(sum));
        for (int64_t k = 0; k < sp.n; ++k) {
          q[k * sp.inner] = E::Store(E::Load(p[k * sp.inner]) - max_v - log_sum);
        }
      }
    }
  }
}

Status InvokeSoftmax(InvokeContext& ctx) {
  const auto& s = ctx.state_as<SoftmaxState>();
  const TensorView& x = ctx.inputs[0];
  if (s.split.n == 0) return Status::Ok();
  return DispatchFloatType(
      x.dtype,
      [&](auto tag) {
        using T = typename decltype(tag)::type;
        RunSoftmax<T>(s, x.data<const T>(), ctx.outputs[0].data<T>());
        return Status::Ok();
      },
      ctx.node);
}

// CumSum. The axis is read at invoke time, so it may also be a runtime input.

struct CumSumState : KernelState {
  bool exclusive = false;
  bool reverse = false;
};

Status PrepareCumSum(PrepareContext& ctx) {
  auto state = std::make_unique<CumSumState>();
  ASSIGN_OR_RETURN(const int64_t exclusive, ctx.node.GetInt("exclusive", 0));
  ASSIGN_OR_RETURN(const int64_t reverse, ctx.node.GetInt("reverse", 0));
  state->exclusive = exclusive != 0;
  state->reverse = reverse != 0;
  ctx.state = std::move(state);
  return Status::Ok();
}

template <typename T>
void RunCumSum(const CumSumState& s, const AxisSplit& sp, const T* in, T* out) {
  using A = AccType<T>;
  for (int64_t o = 0; o < sp.outer; ++o) {
    for (int64_t i = 0; i < sp.inner; ++i) {
      const int64_t start = o * sp.n * sp.inner + i;
      A acc{};
      for (int64_t j = 0; j < sp.n; ++j) {
        const int64_t k = s.reverse ? sp.n - 1 - j : j;
        const int64_t at = start + k * sp.inner;
        const A v = static_cast<A>(Elem<T>::Load(in[at]));
        if (s.exclusive) {
          out[at] = StoreAcc<T>(acc);
          acc = Add(acc, v);
        } else {
          acc = Add(acc, v);
          out[at] = StoreAcc<T>(acc);
        }
      }
    }
  }
}

Status InvokeCumSum(InvokeContext& ctx) {
  const auto& s = ctx.state_as<CumSumState>();
  const TensorView& x = ctx.inputs[0];
  const TensorView& a = ctx.inputs[1];
  const int64_t axis =
      a.dtype == DType::kI32 ? a.data<const int32_t>()[0] : a.data<const int64_t>()[0];
  if (axis < -x.rank || axis >= x.rank) {
    return InvalidArgument(ctx.node.Describe() + ": axis " + std::to_string(axis) +
                           " is out of range for rank " + std::to_string(x.rank));
  }
  const AxisSplit sp = SplitAt(x.shape(), NormalizedAxis(axis, x.rank));
  return DispatchReduceType(
      x.dtype,
      [&](auto tag) {
        using T = typename decltype(tag)::type;
        RunCumSum<T>(s, sp, x.data<const T>(), ctx.outputs[0].data<T>());
        return Status::Ok();
      },
      ctx.node);
}

constexpr KernelDef kRefReduceKernels[] = {
    {"ReduceSum", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceMean", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceMax", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceMin", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceProd", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceL1", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceL2", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceLogSum", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceLogSumExp", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ReduceSumSquare", KernelPath::kReference, kReduceTypes, nullptr, PrepareReduce, InvokeReduce},
    {"ArgMax", KernelPath::kReference, kReduceTypes, nullptr, PrepareArgReduce, InvokeArgReduce},
    {"ArgMin", KernelPath::kReference, kReduceTypes, nullptr, PrepareArgReduce, InvokeArgReduce},
    {"Softmax", KernelPath::kReference, kFloatTypes, nullptr, PrepareSoftmax, InvokeSoftmax},
    {"LogSoftmax", KernelPath::kReference, kFloatTypes, nullptr, PrepareSoftmax, InvokeSoftmax},
    {"Hardmax", KernelPath::kReference, kFloatTypes, nullptr, PrepareSoftmax, InvokeSoftmax},
    {"CumSum", KernelPath::kReference, kReduceTypes, nullptr, PrepareCumSum, InvokeCumSum},
};

}  // namespace

std::span<const KernelDef> RefReduceKernels() { return kRefReduceKernels; }

}  // namespace edgerun
