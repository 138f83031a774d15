// Elementwise reference kernels: unary math and activations, binary arithmetic/logic/comparison,
// variadic Sum/Mean/Max/Min, Where, Clip and Dropout (Cast/CastLike live in elementwise_cast.cc).
//
// Each op is a small functor (Apply on the compute type); prepare picks a typed loop for the input
// dtype and stores its function pointer in the node state, so invoke is a single indirect call
// with no allocation. f16/bf16 are loaded to float, computed, and rounded back. Broadcasting
// collapses the iteration space (dropping size-1 dims, merging dims that stay contiguous for every
// input) so that same-shape, scalar and row broadcasts all reduce to a few rows with unit or zero
// inner stride, each run by a tight loop the compiler vectorizes.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <pthreadpool.h>

#include "core/denormals.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

namespace {

inline constexpr DTypeSet kSignedInts{DType::kI8, DType::kI16, DType::kI32, DType::kI64};
inline constexpr DTypeSet kUnsignedInts{DType::kU8, DType::kU16, DType::kU32, DType::kU64};
inline constexpr DTypeSet kBoolOnly{DType::kBool};
inline constexpr DTypeSet kSignedNumeric = kFloatTypes | kSignedInts;
inline constexpr DTypeSet kAnyType = kNumericTypes | kBoolOnly;

// ---------------------------------------------------------------------------------------------
// Storage types: how elements sit in memory, and the type arithmetic happens in.

template <class S>
constexpr DType kDTypeOf = DType::kUndefined;
template <>
constexpr DType kDTypeOf<float> = DType::kF32;
template <>
constexpr DType kDTypeOf<double> = DType::kF64;
template <>
constexpr DType kDTypeOf<F16> = DType::kF16;
template <>
constexpr DType kDTypeOf<BF16> = DType::kBF16;
template <>
constexpr DType kDTypeOf<int8_t> = DType::kI8;
template <>
constexpr DType kDTypeOf<uint8_t> = DType::kU8;
template <>
constexpr DType kDTypeOf<int16_t> = DType::kI16;
template <>
constexpr DType kDTypeOf<uint16_t> = DType::kU16;
template <>
constexpr DType kDTypeOf<int32_t> = DType::kI32;
template <>
constexpr DType kDTypeOf<uint32_t> = DType::kU32;
template <>
constexpr DType kDTypeOf<int64_t> = DType::kI64;
template <>
constexpr DType kDTypeOf<uint64_t> = DType::kU64;
template <>
constexpr DType kDTypeOf<bool> = DType::kBool;

template <class S>
constexpr bool kIsHalf = std::is_same_v<S, F16> || std::is_same_v<S, BF16>;
template <class S>
using ComputeT = std::conditional_t<kIsHalf<S>, float, S>;

template <class S>
inline ComputeT<S> Load(S v) {
  if constexpr (std::is_same_v<S, F16>) {
    return HalfToFloat(v.bits);
  } else if constexpr (std::is_same_v<S, BF16>) {
    return BFloat16ToFloat(v.bits);
  } else {
    return v;
  }
}

template <class S, class C>
inline S Store(C v) {
  if constexpr (std::is_same_v<S, F16>) {
    return F16{FloatToHalf(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<S, BF16>) {
    return BF16{FloatToBFloat16(static_cast<float>(v))};
  } else {
    return static_cast<S>(v);
  }
}

// Integer arithmetic wraps (two's complement) instead of overflowing, which is UB in C++.
template <class T>
using WideUnsigned = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <class T>
inline T WrapAdd(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WideUnsigned<T>>(a) + static_cast<WideUnsigned<T>>(b));
  } else {
    return a + b;
  }
}
template <class T>
inline T WrapSub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WideUnsigned<T>>(a) - static_cast<WideUnsigned<T>>(b));
  } else {
    return a - b;
  }
}
template <class T>
inline T WrapMul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WideUnsigned<T>>(a) * static_cast<WideUnsigned<T>>(b));
  } else {
    return a * b;
  }
}
template <class T>
inline T WrapNeg(T a) {
  return WrapSub(T(0), a);
}

struct UnaryParams {
  float alpha = 0, beta = 0, gamma = 0;
  bool flag_a = false, flag_b = false;
  // VecExp's input range. Data rather than literals: with constant bounds GCC folds the clamped
  // cases into branches, and a loop with branches is not vectorized.
  float exp_min = -87.0f, exp_max = 88.0f;
};

// e^x for float in a form the compiler vectorizes (glibc's expf is an opaque call): reduce
// x = n*ln2 + r with |r| <= ln2/2, evaluate a degree-7 Taylor polynomial for e^r (truncation error
// below float rounding), and scale by 2^n built directly in the exponent bits. Inputs are clamped
// to [exp_min, exp_max] = [-87, 88] so 2^n stays a normal float; NaN propagates through r.
inline float VecExp(float x, const UnaryParams& p) {
  x = std::max(x, p.exp_min);  // std::max/min return their first argument for NaN
  x = std::min(x, p.exp_max);
  constexpr float kRoundShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = x * 1.44269504088896341f + kRoundShift;
  const float n = shifted - kRoundShift;
  // The integer n sits in the low mantissa bits of `shifted`; reading it there avoids a
  // float-to-int conversion, which would be undefined for NaN.
  const int32_t ni = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRoundShift);
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;  // ln2 split in two (Cephes)
  float e = 1.0f / 5040;
  e = e * r + 1.0f / 720;
  e = e * r + 1.0f / 120;
  e = e * r + 1.0f / 24;
  e = e * r + 1.0f / 6;
  e = e * r + 0.5f;
  e = e * r + 1.0f;
  e = e * r + 1.0f;
  return e * std::bit_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(ni + 127) << 23));
}

// 1 / (1 + e^-x): vectorizable for float, std::exp for double.
template <class C>
inline C SigmoidOf(C x, const UnaryParams& p) {
  if constexpr (std::is_same_v<C, float>) {
    return 1.0f / (1.0f + VecExp(-x, p));
  } else {
    return C(1) / (C(1) + std::exp(-x));
  }
}

// ---------------------------------------------------------------------------------------------
// Unary ops.

using UnaryFn = void (*)(const void* in, void* out, int64_t n, const UnaryParams& p);

// Ops are functors: kTypes (input dtypes), Apply(x, params), and optionally Parse(node, params).
#define EDGERUN_FLOAT_UNARY(Name, expr)                          \
  struct Name {                                                  \
    static constexpr DTypeSet kTypes = kFloatTypes;              \
    template <class C>                                           \
    static C Apply(C x, [[maybe_unused]] const UnaryParams& p) { \
      return expr;                                               \
    }                                                            \
  };

EDGERUN_FLOAT_UNARY(SqrtOp, std::sqrt(x))
EDGERUN_FLOAT_UNARY(ExpOp, std::exp(x))
EDGERUN_FLOAT_UNARY(LogOp, std::log(x))
EDGERUN_FLOAT_UNARY(ReciprocalOp, C(1) / x)
EDGERUN_FLOAT_UNARY(FloorOp, std::floor(x))
EDGERUN_FLOAT_UNARY(CeilOp, std::ceil(x))
EDGERUN_FLOAT_UNARY(RoundOp, std::nearbyint(x))  // default rounding mode: half to even
EDGERUN_FLOAT_UNARY(SinOp, std::sin(x))
EDGERUN_FLOAT_UNARY(CosOp, std::cos(x))
EDGERUN_FLOAT_UNARY(TanOp, std::tan(x))
EDGERUN_FLOAT_UNARY(AsinOp, std::asin(x))
EDGERUN_FLOAT_UNARY(AcosOp, std::acos(x))
EDGERUN_FLOAT_UNARY(AtanOp, std::atan(x))
EDGERUN_FLOAT_UNARY(SinhOp, std::sinh(x))
EDGERUN_FLOAT_UNARY(CoshOp, std::cosh(x))
EDGERUN_FLOAT_UNARY(AsinhOp, std::asinh(x))
EDGERUN_FLOAT_UNARY(AcoshOp, std::acosh(x))
EDGERUN_FLOAT_UNARY(AtanhOp, std::atanh(x))
EDGERUN_FLOAT_UNARY(ErfOp, std::erf(x))
EDGERUN_FLOAT_UNARY(SigmoidOp, SigmoidOf(x, p))
EDGERUN_FLOAT_UNARY(TanhOp, std::tanh(x))
// log(1 + e^x) without overflow for large x.
EDGERUN_FLOAT_UNARY(SoftplusOp, std::max(x, C(0)) + std::log1p(std::exp(-std::abs(x))))
EDGERUN_FLOAT_UNARY(SoftsignOp, x / (C(1) + std::abs(x)))
EDGERUN_FLOAT_UNARY(MishOp, x* std::tanh(std::max(x, C(0)) + std::log1p(std::exp(-std::abs(x)))))
EDGERUN_FLOAT_UNARY(HardSwishOp, x* std::max(C(0), std::min(C(1), x / C(6) + C(0.5))))
EDGERUN_FLOAT_UNARY(SiLUOp, x* SigmoidOf(x, p))
#undef EDGERUN_FLOAT_UNARY

struct AbsOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C x, const UnaryParams&) {
    if constexpr (std::is_floating_point_v<C>) {
      return std::abs(x);
    } else if constexpr (std::is_signed_v<C>) {
      return x < 0 ? WrapNeg(x) : x;
    } else {
      return x;
    }
  }
};

struct NegOp {
  static constexpr DTypeSet kTypes = kSignedNumeric;
  template <class C>
  static C Apply(C x, const UnaryParams&) {
    return WrapNeg(x);
  }
};

struct SignOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C x, const UnaryParams&) {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(x)) return x;
    }
    return static_cast<C>((x > C(0)) - (x < C(0)));
  }
};

struct NotOp {
  static constexpr DTypeSet kTypes = kBoolOnly;
  static bool Apply(bool x, const UnaryParams&) { return !x; }
};

struct IsNaNOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  template <class C>
  static bool Apply(C x, const UnaryParams&) {
    return std::isnan(x);
  }
};

struct IsInfOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(int64_t neg, node.GetInt("detect_negative", 1));
    ASSIGN_OR_RETURN(int64_t pos, node.GetInt("detect_positive", 1));
    p->flag_a = neg != 0;
    p->flag_b = pos != 0;
    return Status::Ok();
  }
  template <class C>
  static bool Apply(C x, const UnaryParams& p) {
    return std::isinf(x) && (x < 0 ? p.flag_a : p.flag_b);
  }
};

struct ReluOp {
  static constexpr DTypeSet kTypes = kSignedNumeric;
  template <class C>
  static C Apply(C x, const UnaryParams&) {
    return x < C(0) ? C(0) : x;  // keeps NaN, like max(x, 0) in numpy
  }
};

struct LeakyReluOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(p->alpha, node.GetFloat("alpha", 0.01f));
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    return x < C(0) ? static_cast<C>(p.alpha) * x : x;
  }
};

struct EluOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(p->alpha, node.GetFloat("alpha", 1.0f));
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    return x < C(0) ? static_cast<C>(p.alpha) * std::expm1(x) : x;
  }
};

struct SeluOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(p->alpha, node.GetFloat("alpha", 1.67326319217681884765625f));
    ASSIGN_OR_RETURN(p->gamma, node.GetFloat("gamma", 1.05070102214813232421875f));
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    const C g = static_cast<C>(p.gamma);
    return x > C(0) ? g * x : g * static_cast<C>(p.alpha) * std::expm1(x);
  }
};

struct CeluOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(p->alpha, node.GetFloat("alpha", 1.0f));
    if (p->alpha == 0) return InvalidModel(node.Describe() + ": alpha must not be 0");
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    const C a = static_cast<C>(p.alpha);
    return std::max(C(0), x) + std::min(C(0), a * std::expm1(x / a));
  }
};

struct ThresholdedReluOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(p->alpha, node.GetFloat("alpha", 1.0f));
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    return x > static_cast<C>(p.alpha) ? x : C(0);
  }
};

struct HardSigmoidOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(p->alpha, node.GetFloat("alpha", 0.2f));
    ASSIGN_OR_RETURN(p->beta, node.GetFloat("beta", 0.5f));
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    return std::max(C(0), std::min(C(1), static_cast<C>(p.alpha) * x + static_cast<C>(p.beta)));
  }
};

struct ShrinkOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(p->alpha, node.GetFloat("bias", 0.0f));
    ASSIGN_OR_RETURN(p->beta, node.GetFloat("lambd", 0.5f));
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    // Integers go through double so that fractional bias/lambd behave as in the spec.
    using W = std::conditional_t<std::is_floating_point_v<C>, C, double>;
    const W v = static_cast<W>(x);
    if (v < -static_cast<W>(p.beta)) return static_cast<C>(v + static_cast<W>(p.alpha));
    if (v > static_cast<W>(p.beta)) return static_cast<C>(v - static_cast<W>(p.alpha));
    return C(0);
  }
};

struct GeluOp {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static Status Parse(const Node& node, UnaryParams* p) {
    ASSIGN_OR_RETURN(std::string approximate, node.GetString("approximate", "none"));
    if (approximate != "none" && approximate != "tanh") {
      return InvalidModel(node.Describe() + ": attribute 'approximate' is '" + approximate +
                          "', expected 'none' or 'tanh'");
    }
    p->flag_a = approximate == "tanh";
    return Status::Ok();
  }
  template <class C>
  static C Apply(C x, const UnaryParams& p) {
    if (p.flag_a) {
      const C k = static_cast<C>(0.7978845608028654);  // sqrt(2 / pi)
      return C(0.5) * x * (C(1) + std::tanh(k * (x + C(0.044715) * x * x * x)));
    }
    return C(0.5) * x * (C(1) + std::erf(x * static_cast<C>(0.7071067811865476)));
  }
};

template <class Op, class S>
void UnaryLoop(const void* in, void* out, int64_t n, const UnaryParams& params) {
  using C = ComputeT<S>;
  using R = decltype(Op::Apply(C{}, params));
  using OutS = std::conditional_t<std::is_same_v<R, bool>, bool, S>;
  const S* x = static_cast<const S*>(in);
  OutS* y = static_cast<OutS*>(out);
  const UnaryParams p = params;  // a local copy: stores through y cannot alias it
  for (int64_t i = 0; i < n; ++i) y[i] = Store<OutS>(Op::Apply(Load(x[i]), p));
}

template <class Op>
UnaryFn PickUnary(DType t) {
  return VisitStorageType(t, [](auto tag) -> UnaryFn {
    using S = typename decltype(tag)::type;
    if constexpr (std::is_void_v<S>) {
      return nullptr;
    } else if constexpr (Op::kTypes.contains(kDTypeOf<S>)) {
      return &UnaryLoop<Op, S>;
    } else {
      return nullptr;
    }
  });
}

struct UnaryState : KernelState {
  UnaryFn fn = nullptr;
  UnaryParams params;
};

Status NoKernelFor(const PrepareContext& ctx, DType t) {
  return ctx.NotSupported("dtype " + std::string(DTypeName(t)) +
                          " is not supported by the reference kernel");
}

template <class Op>
Status PrepareUnary(PrepareContext& ctx) {
  auto state = std::make_unique<UnaryState>();
  state->fn = PickUnary<Op>(ctx.inputs[0].dtype);
  if (state->fn == nullptr) return NoKernelFor(ctx, ctx.inputs[0].dtype);
  if constexpr (requires { Op::Parse(ctx.node, &state->params); }) {
    RETURN_IF_ERROR(Op::Parse(ctx.node, &state->params));
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

// Large unary ops are split into cache-sized chunks across the thread pool.
inline constexpr int64_t kParallelChunk = 16384;

struct UnaryTask {
  UnaryFn fn;
  const UnaryParams* params;
  const std::byte* in;
  std::byte* out;
  size_t in_size, out_size;
  int64_t n;
};

void RunUnaryChunk(void* context, size_t chunk) {
  const auto* t = static_cast<const UnaryTask*>(context);
  const int64_t begin = static_cast<int64_t>(chunk) * kParallelChunk;
  const int64_t len = std::min(kParallelChunk, t->n - begin);
  t->fn(t->in + begin * t->in_size, t->out + begin * t->out_size, len, *t->params);
}

Status InvokeUnary(InvokeContext& ctx) {
  const auto& s = ctx.state_as<UnaryState>();
  const TensorView& in = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  const int64_t n = out.num_elements();
  if (ctx.threadpool != nullptr && n >= 4 * kParallelChunk) {
    UnaryTask task{s.fn,
                   &s.params,
                   static_cast<const std::byte*>(in.raw),
                   static_cast<std::byte*>(out.raw),
                   DTypeSize(in.dtype),
                   DTypeSize(out.dtype),
                   n};
    const size_t chunks = static_cast<size_t>((n + kParallelChunk - 1) / kParallelChunk);
    pthreadpool_parallelize_1d(ctx.threadpool, RunUnaryChunk, &task, chunks,
                               ThreadpoolFlagsForThisThread());
  } else {
    s.fn(in.raw, out.raw, n, s.params);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Broadcast iteration.

// The output's index space with size-1 dims dropped and adjacent dims merged whenever every input
// stays contiguous (or stays broadcast) across them. Element strides are 0 on broadcast dims, so
// the innermost stride of each input is 0 or 1.
struct BroadcastPlan {
  static constexpr int kMaxInputs = 3;
  int rank = 1;
  int num_inputs = 0;
  int64_t total = 0;
  int64_t dims[kMaxRank] = {1};
  int64_t strides[kMaxInputs][kMaxRank] = {};

  BroadcastPlan(std::span<const int64_t> out, std::initializer_list<std::span<const int64_t>> ins) {
    const int out_rank = static_cast<int>(out.size());
    num_inputs = static_cast<int>(ins.size());
    int64_t full[kMaxInputs][kMaxRank] = {};
    int k = 0;
    for (auto in : ins) {
      const int offset = out_rank - static_cast<int>(in.size());
      int64_t stride = 1;
      for (int d = out_rank - 1; d >= 0; --d) {
        const int id = d - offset;
        full[k][d] = (id < 0 || in[id] == 1) ? 0 : stride;
        if (id >= 0) stride *= in[id];
      }
      ++k;
    }
    total = 1;
    int r = 0;
    for (int d = 0; d < out_rank; ++d) {
      total *= out[d];
      if (out[d] == 1) continue;
      bool merge = r > 0;
      for (int i = 0; i < num_inputs && merge; ++i) {
        merge = strides[i][r - 1] == full[i][d] * out[d];
      }
      if (merge) {
        dims[r - 1] *= out[d];
        for (int i = 0; i < num_inputs; ++i) strides[i][r - 1] = full[i][d];
      } else {
        dims[r] = out[d];
        for (int i = 0; i < num_inputs; ++i) strides[i][r] = full[i][d];
        ++r;
      }
    }
    if (r == 0) {  // every dim is 1: a single element
      dims[0] = 1;
      for (int i = 0; i < num_inputs; ++i) strides[i][0] = 0;
      r = 1;
    }
    rank = r;
  }

  bool inner_contiguous(int input) const { return strides[input][rank - 1] != 0; }

  // Calls row(out_offset, in_offsets, length) for every innermost row, walking coordinates
  // incrementally (no division per element).
  template <class F>
  void ForEachRow(F&& row) const {
    if (total <= 0) return;
    const int64_t inner = dims[rank - 1];
    const int64_t rows = total / inner;
    int64_t coord[kMaxRank] = {};
    int64_t off[kMaxInputs] = {};
    for (int64_t r = 0; r < rows; ++r) {
      row(r * inner, static_cast<const int64_t*>(off), inner);
      for (int d = rank - 2; d >= 0; --d) {
        if (++coord[d] < dims[d]) {
          for (int i = 0; i < num_inputs; ++i) off[i] += strides[i][d];
          break;
        }
        coord[d] = 0;
        for (int i = 0; i < num_inputs; ++i) off[i] -= strides[i][d] * (dims[d] - 1);
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Binary ops.

using BinaryFn = void (*)(const TensorView& a, const TensorView& b, const TensorView& out);

struct AddOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    return WrapAdd(a, b);
  }
};
struct SubOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    return WrapSub(a, b);
  }
};
struct MulOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    return WrapMul(a, b);
  }
};
struct DivOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    if constexpr (std::is_integral_v<C>) {
      // Truncating like C; x/0 is defined as 0 and MIN/-1 wraps, instead of trapping.
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<C>) {
        if (b == -1) return WrapNeg(a);
      }
    }
    return static_cast<C>(a / b);
  }
};
// Mod with fmod=0: the result takes the divisor's sign (Python/numpy %).
struct FloorModOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    if constexpr (std::is_floating_point_v<C>) {
      C r = std::fmod(a, b);
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<C>) {
        if (b == -1) return 0;
        C r = static_cast<C>(a % b);
        if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
        return r;
      } else {
        return static_cast<C>(a % b);
      }
    }
  }
};
// Mod with fmod=1: the result takes the dividend's sign (C fmod / %).
struct TruncModOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    if constexpr (std::is_floating_point_v<C>) {
      return std::fmod(a, b);
    } else {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<C>) {
        if (b == -1) return 0;
      }
      return static_cast<C>(a % b);
    }
  }
};
struct PowOp {  // same-typed float base and exponent; other combinations use PowGeneric
  static constexpr DTypeSet kTypes = kFloatTypes;
  template <class C>
  static C Apply(C a, C b) {
    return std::pow(a, b);
  }
};
struct PReluOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C x, C slope) {
    return x < C(0) ? WrapMul(slope, x) : x;
  }
};
struct ShiftLeftOp {
  static constexpr DTypeSet kTypes = kUnsignedInts;
  template <class C>
  static C Apply(C a, C b) {
    return b >= sizeof(C) * 8 ? C(0) : static_cast<C>(a << b);
  }
};
struct ShiftRightOp {
  static constexpr DTypeSet kTypes = kUnsignedInts;
  template <class C>
  static C Apply(C a, C b) {
    return b >= sizeof(C) * 8 ? C(0) : static_cast<C>(a >> b);
  }
};
struct AndOp {
  static constexpr DTypeSet kTypes = kBoolOnly;
  static bool Apply(bool a, bool b) { return a && b; }
};
struct OrOp {
  static constexpr DTypeSet kTypes = kBoolOnly;
  static bool Apply(bool a, bool b) { return a || b; }
};
struct XorOp {
  static constexpr DTypeSet kTypes = kBoolOnly;
  static bool Apply(bool a, bool b) { return a != b; }
};
struct EqualOp {
  static constexpr DTypeSet kTypes = kAnyType;
  template <class C>
  static bool Apply(C a, C b) {
    return a == b;
  }
};
struct LessOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static bool Apply(C a, C b) {
    return a < b;
  }
};
struct LessOrEqualOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static bool Apply(C a, C b) {
    return a <= b;
  }
};
struct GreaterOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static bool Apply(C a, C b) {
    return a > b;
  }
};
struct GreaterOrEqualOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static bool Apply(C a, C b) {
    return a >= b;
  }
};
// Max/Min propagate NaN like numpy's maximum/minimum.
struct MaxOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(b)) return b;
    }
    return a < b ? b : a;
  }
};
struct MinOp {
  static constexpr DTypeSet kTypes = kNumericTypes;
  template <class C>
  static C Apply(C a, C b) {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(b)) return b;
    }
    return b < a ? b : a;
  }
};

template <class Op, class S>
void BinaryLoop(const TensorView& av, const TensorView& bv, const TensorView& ov) {
  using C = ComputeT<S>;
  using R = decltype(Op::Apply(C{}, C{}));
  using OutS = std::conditional_t<std::is_same_v<R, bool>, bool, S>;
  const S* a = static_cast<const S*>(av.raw);
  const S* b = static_cast<const S*>(bv.raw);
  OutS* o = static_cast<OutS*>(ov.raw);
  const BroadcastPlan plan(ov.shape(), {av.shape(), bv.shape()});
  const bool a_vec = plan.inner_contiguous(0);
  const bool b_vec = plan.inner_contiguous(1);
  plan.ForEachRow([&](int64_t out_off, const int64_t* off, int64_t n) {
    const S* pa = a + off[0];
    const S* pb = b + off[1];
    OutS* po = o + out_off;
    if (a_vec && b_vec) {
      for (int64_t i = 0; i < n; ++i) po[i] = Store<OutS>(Op::Apply(Load(pa[i]), Load(pb[i])));
    } else if (b_vec) {
      const C x = Load(pa[0]);
      for (int64_t i = 0; i < n; ++i) po[i] = Store<OutS>(Op::Apply(x, Load(pb[i])));
    } else if (a_vec) {
      const C y = Load(pb[0]);
      for (int64_t i = 0; i < n; ++i) po[i] = Store<OutS>(Op::Apply(Load(pa[i]), y));
    } else {
      const OutS v = Store<OutS>(Op::Apply(Load(pa[0]), Load(pb[0])));
      for (int64_t i = 0; i < n; ++i) po[i] = v;
    }
  });
}

template <class Op>
BinaryFn PickBinary(DType t) {
  return VisitStorageType(t, [](auto tag) -> BinaryFn {
    using S = typename decltype(tag)::type;
    if constexpr (std::is_void_v<S>) {
      return nullptr;
    } else if constexpr (Op::kTypes.contains(kDTypeOf<S>)) {
      return &BinaryLoop<Op, S>;
    } else {
      return nullptr;
    }
  });
}

struct BinaryState : KernelState {
  BinaryFn fn = nullptr;
};

Status FinishBinaryPrepare(PrepareContext& ctx, BinaryFn fn) {
  if (fn == nullptr) return NoKernelFor(ctx, ctx.inputs[0].dtype);
  auto state = std::make_unique<BinaryState>();
  state->fn = fn;
  ctx.state = std::move(state);
  return Status::Ok();
}

template <class Op>
Status PrepareBinary(PrepareContext& ctx) {
  return FinishBinaryPrepare(ctx, PickBinary<Op>(ctx.inputs[0].dtype));
}

Status PrepareMod(PrepareContext& ctx) {
  ASSIGN_OR_RETURN(int64_t fmod, ctx.node.GetInt("fmod", 0));
  const DType t = ctx.inputs[0].dtype;
  return FinishBinaryPrepare(ctx,
                             fmod != 0 ? PickBinary<TruncModOp>(t) : PickBinary<FloorModOp>(t));
}

Status PrepareBitShift(PrepareContext& ctx) {
  ASSIGN_OR_RETURN(std::string direction, ctx.node.GetString("direction", ""));
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.Invalid("attribute 'direction' is '" + direction + "', expected LEFT or RIGHT");
  }
  const DType t = ctx.inputs[0].dtype;
  return FinishBinaryPrepare(
      ctx, direction == "LEFT" ? PickBinary<ShiftLeftOp>(t) : PickBinary<ShiftRightOp>(t));
}

Status InvokeBinary(InvokeContext& ctx) {
  ctx.state_as<BinaryState>().fn(ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]);
  return Status::Ok();
}

// Pow with a base and exponent of different types (or integer ones): computed per element in
// double, except integer^integer, which uses exact repeated squaring.
double LoadAsDouble(const void* p, int64_t i, DType t) { return LoadElementAsDouble(p, t, i); }

int64_t LoadAsInt(const void* p, int64_t i, DType t) {
  switch (t) {
    case DType::kI8:
      return static_cast<const int8_t*>(p)[i];
    case DType::kU8:
      return static_cast<const uint8_t*>(p)[i];
    case DType::kI16:
      return static_cast<const int16_t*>(p)[i];
    case DType::kU16:
      return static_cast<const uint16_t*>(p)[i];
    case DType::kI32:
      return static_cast<const int32_t*>(p)[i];
    case DType::kU32:
      return static_cast<const uint32_t*>(p)[i];
    case DType::kI64:
      return static_cast<const int64_t*>(p)[i];
    case DType::kU64:
      return static_cast<int64_t>(static_cast<const uint64_t*>(p)[i]);
    default:
      return 0;
  }
}

int64_t IntPow(int64_t base, int64_t exp) {
  if (exp < 0) {
    // Only |base| == 1 has an integer result; numpy raises, ONNX leaves it open.
    if (base == 1) return 1;
    if (base == -1) return (exp % 2 == 0) ? 1 : -1;
    return 0;
  }
  uint64_t result = 1, b = static_cast<uint64_t>(base);
  for (uint64_t e = static_cast<uint64_t>(exp); e != 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<int64_t>(result);
}

void StoreFromDouble(void* p, int64_t i, DType t, double v) { StoreElementFromDouble(p, t, i, v); }

void StoreFromInt(void* p, int64_t i, DType t, int64_t v) {
  switch (t) {
    case DType::kI8:
      static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v);
      break;
    case DType::kU8:
      static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v);
      break;
    case DType::kI16:
      static_cast<int16_t*>(p)[i] = static_cast<int16_t>(v);
      break;
    case DType::kU16:
      static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(v);
      break;
    case DType::kI32:
      static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v);
      break;
    case DType::kU32:
      static_cast<uint32_t*>(p)[i] = static_cast<uint32_t>(v);
      break;
    case DType::kI64:
      static_cast<int64_t*>(p)[i] = v;
      break;
    case DType::kU64:
      static_cast<uint64_t*>(p)[i] = static_cast<uint64_t>(v);
      break;
    default:
      break;
  }
}

void PowGeneric(const TensorView& av, const TensorView& bv, const TensorView& ov) {
  const BroadcastPlan plan(ov.shape(), {av.shape(), bv.shape()});
  const int64_t sa = plan.inner_contiguous(0) ? 1 : 0;
  const int64_t sb = plan.inner_contiguous(1) ? 1 : 0;
  const bool int_pow = IsInteger(av.dtype) && IsInteger(bv.dtype);
  plan.ForEachRow([&](int64_t out_off, const int64_t* off, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ia = off[0] + i * sa, ib = off[1] + i * sb;
      if (int_pow) {
        StoreFromInt(ov.raw, out_off + i, ov.dtype,
                     IntPow(LoadAsInt(av.raw, ia, av.dtype), LoadAsInt(bv.raw, ib, bv.dtype)));
      } else {
        StoreFromDouble(
            ov.raw, out_off + i, ov.dtype,
            std::pow(LoadAsDouble(av.raw, ia, av.dtype), LoadAsDouble(bv.raw, ib, bv.dtype)));
      }
    }
  });
}

Status PreparePow(PrepareContext& ctx) {
  const DType base = ctx.inputs[0].dtype, exponent = ctx.inputs[1].dtype;
  BinaryFn fn = base == exponent ? PickBinary<PowOp>(base) : nullptr;
  if (fn == nullptr) fn = PowGeneric;
  return FinishBinaryPrepare(ctx, fn);
}

// ---------------------------------------------------------------------------------------------
// Variadic Sum / Mean / Max / Min: a fold of the binary loop into the output.

// Multiplies (or divides) every element by `factor`; Mean's final division and Sum's handling
// of a repeated in-place input.
using ScaleFn = void (*)(void* data, int64_t n, double factor, bool divide);

template <class S>
void ScaleLoop(void* data, int64_t n, double factor, bool divide) {
  using C = ComputeT<S>;
  S* p = static_cast<S*>(data);
  if constexpr (std::is_floating_point_v<C>) {
    const C f = static_cast<C>(factor);
    for (int64_t i = 0; i < n; ++i) p[i] = Store<S>(divide ? Load(p[i]) / f : Load(p[i]) * f);
  } else {
    const C f = static_cast<C>(factor);
    for (int64_t i = 0; i < n; ++i) {
      p[i] = divide ? (f == 0 ? C(0) : static_cast<C>(p[i] / f)) : WrapMul(p[i], f);
    }
  }
}

ScaleFn PickScale(DType t) {
  return VisitStorageType(t, [](auto tag) -> ScaleFn {
    using S = typename decltype(tag)::type;
    if constexpr (std::is_void_v<S> || std::is_same_v<S, bool>) {
      return nullptr;
    } else {
      return &ScaleLoop<S>;
    }
  });
}

struct VariadicState : KernelState {
  BinaryFn fold = nullptr;
  ScaleFn scale = nullptr;
  bool is_mean = false;
  bool is_sum = false;  // Sum or Mean: a repeated input counts again (Max/Min: it does not)
};

template <class Op, bool kMean>
Status PrepareVariadic(PrepareContext& ctx) {
  auto state = std::make_unique<VariadicState>();
  state->fold = PickBinary<Op>(ctx.inputs[0].dtype);
  state->scale = PickScale(ctx.inputs[0].dtype);
  if (state->fold == nullptr || state->scale == nullptr) {
    return NoKernelFor(ctx, ctx.inputs[0].dtype);
  }
  state->is_mean = kMean;
  state->is_sum = std::is_same_v<Op, AddOp>;
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeVariadic(InvokeContext& ctx) {
  const auto& s = ctx.state_as<VariadicState>();
  const TensorView& out = ctx.outputs[0];
  const int n = static_cast<int>(ctx.inputs.size());
  const int64_t count = out.num_elements();
  // When the output reuses input 0's buffer, a later input with that same buffer is the same
  // value read twice; fold it in up front, before the buffer is overwritten.
  const bool in_place = out.raw == ctx.inputs[0].raw;
  int repeats = 0;
  for (int k = 1; k < n; ++k) repeats += in_place && ctx.inputs[k].raw == out.raw;
  bool have_output = false;
  if (repeats > 0 && s.is_sum) {
    s.scale(out.raw, count, 1.0 + repeats, /*divide=*/false);
    have_output = true;
  } else if (repeats > 0) {
    have_output = true;  // max(x, x) == x
  }
  for (int k = 1; k < n; ++k) {
    const TensorView& in = ctx.inputs[k];
    if (in_place && in.raw == out.raw) continue;
    if (!have_output) {
      s.fold(ctx.inputs[0], in, out);
      have_output = true;
    } else {
      s.fold(out, in, out);
    }
  }
  if (!have_output && out.raw != ctx.inputs[0].raw) {
    // A single input (inference guarantees the shapes match).
    std::memmove(out.raw, ctx.inputs[0].raw, out.bytes());
  }
  if (s.is_mean) s.scale(out.raw, count, static_cast<double>(n), /*divide=*/true);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Where: selection moves elements, so one loop per element size serves every dtype.

template <class E>
void WhereLoop(const TensorView& cv, const TensorView& xv, const TensorView& yv,
               const TensorView& ov) {
  const bool* c = static_cast<const bool*>(cv.raw);
  const E* x = static_cast<const E*>(xv.raw);
  const E* y = static_cast<const E*>(yv.raw);
  E* o = static_cast<E*>(ov.raw);
  const BroadcastPlan plan(ov.shape(), {cv.shape(), xv.shape(), yv.shape()});
  const int64_t sc = plan.inner_contiguous(0), sx = plan.inner_contiguous(1),
                sy = plan.inner_contiguous(2);
  plan.ForEachRow([&](int64_t out_off, const int64_t* off, int64_t n) {
    const bool* pc = c + off[0];
    const E* px = x + off[1];
    const E* py = y + off[2];
    E* po = o + out_off;
    if (sc && sx && sy) {
      for (int64_t i = 0; i < n; ++i) po[i] = pc[i] ? px[i] : py[i];
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = pc[i * sc] ? px[i * sx] : py[i * sy];
    }
  });
}

Status InvokeWhere(InvokeContext& ctx) {
  const TensorView& out = ctx.outputs[0];
  switch (DTypeSize(out.dtype)) {
    case 1:
      WhereLoop<uint8_t>(ctx.inputs[0], ctx.inputs[1], ctx.inputs[2], out);
      break;
    case 2:
      WhereLoop<uint16_t>(ctx.inputs[0], ctx.inputs[1], ctx.inputs[2], out);
      break;
    case 4:
      WhereLoop<uint32_t>(ctx.inputs[0], ctx.inputs[1], ctx.inputs[2], out);
      break;
    case 8:
      WhereLoop<uint64_t>(ctx.inputs[0], ctx.inputs[1], ctx.inputs[2], out);
      break;
    default:
      return ctx.Fail("unexpected element size");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Clip: bounds from attributes (opset < 11) or optional scalar inputs, read at invoke because they
// may be computed at run time.

struct ClipState;
using ClipFn = Status (*)(InvokeContext&, const ClipState&);

struct ClipState : KernelState {
  ClipFn fn = nullptr;
  bool attr_bounds = false;
  float attr_min = 0, attr_max = 0;
};

template <class S>
Status ClipTyped(InvokeContext& ctx, const ClipState& s) {
  using C = ComputeT<S>;
  C lo = std::numeric_limits<C>::lowest();
  C hi = std::numeric_limits<C>::max();
  if constexpr (std::is_floating_point_v<C>) {
    lo = -std::numeric_limits<C>::infinity();
    hi = std::numeric_limits<C>::infinity();
  }
  if (s.attr_bounds) {
    lo = static_cast<C>(s.attr_min);
    hi = static_cast<C>(s.attr_max);
  } else {
    const int n = static_cast<int>(ctx.inputs.size());
    if (n > 1 && ctx.inputs[1].raw != nullptr) lo = Load(*static_cast<const S*>(ctx.inputs[1].raw));
    if (n > 2 && ctx.inputs[2].raw != nullptr) hi = Load(*static_cast<const S*>(ctx.inputs[2].raw));
  }
  const S* x = static_cast<const S*>(ctx.inputs[0].raw);
  S* y = static_cast<S*>(ctx.outputs[0].raw);
  const int64_t count = ctx.outputs[0].num_elements();
  if (hi < lo) {
    // numpy's clip gives hi everywhere; handled apart because GCC may rewrite the clamp below
    // as max(min(x, hi), lo), which is only equivalent when lo <= hi.
    for (int64_t i = 0; i < count; ++i) y[i] = Store<S>(hi);
    return Status::Ok();
  }
  for (int64_t i = 0; i < count; ++i) {
    // min(max(x, lo), hi) as numpy's clip: NaN passes through.
    const C v = Load(x[i]);
    const C at_least_lo = v < lo ? lo : v;
    y[i] = Store<S>(at_least_lo > hi ? hi : at_least_lo);
  }
  return Status::Ok();
}

Status PrepareClip(PrepareContext& ctx) {
  auto state = std::make_unique<ClipState>();
  state->fn = VisitStorageType(ctx.inputs[0].dtype, [](auto tag) -> ClipFn {
    using S = typename decltype(tag)::type;
    if constexpr (std::is_void_v<S> || std::is_same_v<S, bool>) {
      return nullptr;
    } else {
      return &ClipTyped<S>;
    }
  });
  if (state->fn == nullptr) return NoKernelFor(ctx, ctx.inputs[0].dtype);
  if (ctx.node.opset > 0 && ctx.node.opset < 11) {
    state->attr_bounds = true;
    ASSIGN_OR_RETURN(state->attr_min,
                     ctx.node.GetFloat("min", std::numeric_limits<float>::lowest()));
    ASSIGN_OR_RETURN(state->attr_max, ctx.node.GetFloat("max", std::numeric_limits<float>::max()));
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeClip(InvokeContext& ctx) {
  const auto& s = ctx.state_as<ClipState>();
  return s.fn(ctx, s);
}

// ---------------------------------------------------------------------------------------------
// Dropout: identity at inference; the mask output is all ones.

Status InvokeDropout(InvokeContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  const int n_in = static_cast<int>(ctx.inputs.size());
  const bool training =
      n_in > 2 && ctx.inputs[2].raw != nullptr && *static_cast<const bool*>(ctx.inputs[2].raw);
  if (training) {
    const double ratio = n_in > 1 && ctx.inputs[1].raw != nullptr
                             ? LoadAsDouble(ctx.inputs[1].raw, 0, ctx.inputs[1].dtype)
                             : 0.5;
    if (ratio != 0) {
      return Unsupported(ctx.node.Describe() +
                         ": training-mode dropout (random masking) is not supported");
    }
  }
  const TensorView& y = ctx.outputs[0];
  if (y.raw != x.raw) std::memmove(y.raw, x.raw, y.bytes());
  if (ctx.outputs.size() > 1 && ctx.outputs[1].raw != nullptr) {
    const TensorView& mask = ctx.outputs[1];
    const int64_t count = mask.num_elements();
    if (mask.dtype == DType::kBool) {
      std::memset(mask.raw, 1, count);
    } else {
      for (int64_t i = 0; i < count; ++i) StoreFromDouble(mask.raw, i, mask.dtype, 1.0);
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// The table.

constexpr KernelPath kRef = KernelPath::kReference;

template <class Op>
constexpr KernelDef Unary(std::string_view op, bool in_place = true, std::string_view domain = "") {
  return KernelDef{op, kRef, Op::kTypes, nullptr, PrepareUnary<Op>, InvokeUnary, domain, in_place};
}
template <class Op>
constexpr KernelDef Binary(std::string_view op, bool in_place = true) {
  return KernelDef{op, kRef, Op::kTypes, nullptr, PrepareBinary<Op>, InvokeBinary, "", in_place};
}
template <class Op, bool kMean = false>
constexpr KernelDef Variadic(std::string_view op, DTypeSet types) {
  return KernelDef{op, kRef, types, nullptr, PrepareVariadic<Op, kMean>, InvokeVariadic, "", true};
}

constexpr KernelDef kKernels[] = {
    Unary<AbsOp>("Abs"),
    Unary<NegOp>("Neg"),
    Unary<SqrtOp>("Sqrt"),
    Unary<ExpOp>("Exp"),
    Unary<LogOp>("Log"),
    Unary<ReciprocalOp>("Reciprocal"),
    Unary<FloorOp>("Floor"),
    Unary<CeilOp>("Ceil"),
    Unary<RoundOp>("Round"),
    Unary<SignOp>("Sign"),
    Unary<SinOp>("Sin"),
    Unary<CosOp>("Cos"),
    Unary<TanOp>("Tan"),
    Unary<AsinOp>("Asin"),
    Unary<AcosOp>("Acos"),
    Unary<AtanOp>("Atan"),
    Unary<SinhOp>("Sinh"),
    Unary<CoshOp>("Cosh"),
    Unary<AsinhOp>("Asinh"),
    Unary<AcoshOp>("Acosh"),
    Unary<AtanhOp>("Atanh"),
    Unary<ErfOp>("Erf"),
    Unary<NotOp>("Not"),
    Unary<IsNaNOp>("IsNaN", false),
    Unary<IsInfOp>("IsInf", false),
    Unary<ReluOp>("Relu"),
    Unary<LeakyReluOp>("LeakyRelu"),
    Unary<EluOp>("Elu"),
    Unary<SeluOp>("Selu"),
    Unary<CeluOp>("Celu"),
    Unary<ThresholdedReluOp>("ThresholdedRelu"),
    Unary<SigmoidOp>("Sigmoid"),
    Unary<HardSigmoidOp>("HardSigmoid"),
    Unary<HardSwishOp>("HardSwish"),
    Unary<TanhOp>("Tanh"),
    Unary<SoftplusOp>("Softplus"),
    Unary<SoftsignOp>("Softsign"),
    Unary<MishOp>("Mish"),
    Unary<ShrinkOp>("Shrink"),
    Unary<SiLUOp>("SiLU", true, kEdgerunDomain),
    Unary<GeluOp>("Gelu", true, kEdgerunDomain),
    {"Clip", kRef, kNumericTypes, nullptr, PrepareClip, InvokeClip, "", true},
    {"Dropout", kRef, kFloatTypes, nullptr, nullptr, InvokeDropout, "", true},
    {"Where", kRef, kBoolOnly, nullptr, nullptr, InvokeWhere},
    Binary<AddOp>("Add"),
    Binary<SubOp>("Sub"),
    Binary<MulOp>("Mul"),
    Binary<DivOp>("Div"),
    Binary<PReluOp>("PRelu"),
    {"Pow", kRef, kNumericTypes, nullptr, PreparePow, InvokeBinary, "", true},
    {"Mod", kRef, kNumericTypes, nullptr, PrepareMod, InvokeBinary, "", true},
    {"BitShift", kRef, kUnsignedInts, nullptr, PrepareBitShift, InvokeBinary, "", true},
    Binary<AndOp>("And"),
    Binary<OrOp>("Or"),
    Binary<XorOp>("Xor"),
    Binary<EqualOp>("Equal", false),
    Binary<LessOp>("Less", false),
    Binary<LessOrEqualOp>("LessOrEqual", false),
    Binary<GreaterOp>("Greater", false),
    Binary<GreaterOrEqualOp>("GreaterOrEqual", false),
    Variadic<AddOp>("Sum", kNumericTypes),
    Variadic<AddOp, true>("Mean", kFloatTypes),
    Variadic<MaxOp>("Max", kNumericTypes),
    Variadic<MinOp>("Min", kNumericTypes),
};

}  // namespace

std::span<const KernelDef> RefElementwiseKernels() { return kKernels; }

}  // namespace edgerun
