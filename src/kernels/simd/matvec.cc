// Highway kernels of matvec.h. This file is compiled once per SIMD target (foreach_target
// re-includes it); HWY_ONCE holds the dispatching wrappers and the kernel.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/matvec.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/highway.h>

#include "core/unaligned.h"
#include "kernels/simd/matvec.h"

HWY_BEFORE_NAMESPACE();
namespace edgerun {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// lanes floats at `p`, any alignment: loaded as bytes, which any address may hold.
template <class D>
HWY_INLINE hn::Vec<D> LoadFloatsAt(D d, const std::byte* p) {
#if HWY_TARGET == HWY_SCALAR
  return hn::Set(d, LoadAnyAlignment<float>(p, 0));
#else
  const hn::Repartition<uint8_t, D> bytes;
  return hn::BitCast(d, hn::LoadU(bytes, reinterpret_cast<const uint8_t*>(p)));
#endif
}

// Four rows at a time, each with its own sum: B streams from memory, x stays in L1.
void DotRowsImpl(const std::byte* b, size_t k, const float* x, size_t begin, size_t end, float* y) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const size_t full = k / lanes * lanes;
  const size_t row_bytes = k * sizeof(float);
  size_t r = begin;
  for (; r + 4 <= end; r += 4) {
    const std::byte* b0 = b + r * row_bytes;
    const std::byte* b1 = b0 + row_bytes;
    const std::byte* b2 = b1 + row_bytes;
    const std::byte* b3 = b2 + row_bytes;
    auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
    for (size_t i = 0; i < full; i += lanes) {
      const auto xv = hn::LoadU(d, x + i);
      const size_t at = i * sizeof(float);
      s0 = hn::MulAdd(LoadFloatsAt(d, b0 + at), xv, s0);
      s1 = hn::MulAdd(LoadFloatsAt(d, b1 + at), xv, s1);
      s2 = hn::MulAdd(LoadFloatsAt(d, b2 + at), xv, s2);
      s3 = hn::MulAdd(LoadFloatsAt(d, b3 + at), xv, s3);
    }
    float t0 = hn::GetLane(hn::SumOfLanes(d, s0)), t1 = hn::GetLane(hn::SumOfLanes(d, s1));
    float t2 = hn::GetLane(hn::SumOfLanes(d, s2)), t3 = hn::GetLane(hn::SumOfLanes(d, s3));
    for (size_t i = full; i < k; ++i) {
      const size_t at = i * sizeof(float);
      t0 += x[i] * LoadAnyAlignment<float>(b0 + at, 0);
      t1 += x[i] * LoadAnyAlignment<float>(b1 + at, 0);
      t2 += x[i] * LoadAnyAlignment<float>(b2 + at, 0);
      t3 += x[i] * LoadAnyAlignment<float>(b3 + at, 0);
    }
    y[r - begin] = t0;
    y[r + 1 - begin] = t1;
    y[r + 2 - begin] = t2;
    y[r + 3 - begin] = t3;
  }
  for (; r < end; ++r) {
    const std::byte* row = b + r * row_bytes;
    auto s = hn::Zero(d);
    for (size_t i = 0; i < full; i += lanes) {
      s = hn::MulAdd(LoadFloatsAt(d, row + i * sizeof(float)), hn::LoadU(d, x + i), s);
    }
    float t = hn::GetLane(hn::SumOfLanes(d, s));
    for (size_t i = full; i < k; ++i)
      t += x[i] * LoadAnyAlignment<float>(row, static_cast<int64_t>(i));
    y[r - begin] = t;
  }
}

// Four vectors of columns at a time, their sums in registers over all k rows of B.
void AccumulateColumnsImpl(const std::byte* b, size_t k, size_t n, const float* x, size_t begin,
                           size_t end, float* y) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const size_t row_bytes = n * sizeof(float);
  size_t c = begin;
  for (; c + 4 * lanes <= end; c += 4 * lanes) {
    auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
    const std::byte* p = b + c * sizeof(float);
    for (size_t i = 0; i < k; ++i, p += row_bytes) {
      const auto xi = hn::Set(d, x[i]);
      s0 = hn::MulAdd(LoadFloatsAt(d, p), xi, s0);
      s1 = hn::MulAdd(LoadFloatsAt(d, p + lanes * sizeof(float)), xi, s1);
      s2 = hn::MulAdd(LoadFloatsAt(d, p + 2 * lanes * sizeof(float)), xi, s2);
      s3 = hn::MulAdd(LoadFloatsAt(d, p + 3 * lanes * sizeof(float)), xi, s3);
    }
    float* out = y + (c - begin);
    hn::StoreU(s0, d, out);
    hn::StoreU(s1, d, out + lanes);
    hn::StoreU(s2, d, out + 2 * lanes);
    hn::StoreU(s3, d, out + 3 * lanes);
  }
  for (; c < end; ++c) {
    float t = 0;
    for (size_t i = 0; i < k; ++i)
      t += x[i] * LoadAnyAlignment<float>(b, static_cast<int64_t>(i * n + c));
    y[c - begin] = t;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace edgerun
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "kernels/openmp_shares.h"
#include "kernels/ref/ref_util.h"
#include "kernels/simd/silu.h"
#include "kernels/simd/simd_target.h"

namespace edgerun {
namespace internal {
HWY_EXPORT(DotRowsImpl);
HWY_EXPORT(AccumulateColumnsImpl);
}  // namespace internal

void DotRows(const std::byte* b, size_t k, const float* x, size_t begin, size_t end, float* y) {
  HWY_DYNAMIC_DISPATCH(internal::DotRowsImpl)(b, k, x, begin, end, y);
}

void AccumulateColumns(const std::byte* b, size_t k, size_t n, const float* x, size_t begin,
                       size_t end, float* y) {
  HWY_DYNAMIC_DISPATCH(internal::AccumulateColumnsImpl)(b, k, n, x, begin, end, y);
}

namespace {

// Rows of B [n][k] shorter than this many floats are transposed at prepare: a row's dot product
// would be mostly its horizontal sum. EfficientNet-B0's squeeze-excitation expansions (48 -> 1152)
// are such.
constexpr size_t kMinRowToDot = 64;

struct MatVecState : KernelState {
  Tensor b;                     // shares the constant's bytes (the model file stays mapped)
  std::vector<float> b_k_by_n;  // B [n][k] with short rows, transposed (then b is empty)
  bool b_is_n_by_k = false;     // Gemm with transB, or a Conv's weights: B [n][k]
  size_t k = 0, n = 0;
  float alpha = 1.0f;
  std::vector<float> bias;  // n values (beta * C, or FusedMatMul's bias), empty for none
  FusedActivation act;
  int threads = 1;
  std::string name = std::string("matvec:") + SimdTarget();
  std::string_view implementation() const override { return name; }
  size_t persistent_bytes() const override {
    return (b_k_by_n.size() + bias.size()) * sizeof(float);
  }
  const std::byte* b_bytes() const {
    return b_k_by_n.empty() ? b.UnalignedBytes()
                            : reinterpret_cast<const std::byte*>(b_k_by_n.data());
  }
};

int64_t Rows(const TensorType& a) {
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < a.dims.size(); ++i) rows *= a.dims[i];
  return rows;
}

bool AllF32(const SupportContext& ctx) {
  for (const TensorType& t : ctx.inputs) {
    if (t.dtype != DType::kUndefined && t.dtype != DType::kF32) return false;
  }
  return !ctx.outputs.empty() && ctx.outputs[0].dtype == DType::kF32;
}

// The Gemm attributes this kernel takes: A [1, k] (or [k, 1] with transA), alpha any, a C of n
// elements or one.
struct GemmForm {
  bool trans_b = false;
  float alpha = 1, beta = 1;
};
Expected<GemmForm> GemmFormOf(const Node& node) {
  GemmForm g;
  ASSIGN_OR_RETURN(int64_t trans_b, node.GetInt("transB", 0));
  ASSIGN_OR_RETURN(g.alpha, node.GetFloat("alpha", 1.0f));
  ASSIGN_OR_RETURN(g.beta, node.GetFloat("beta", 1.0f));
  g.trans_b = trans_b != 0;
  return g;
}

// An ungrouped 1x1 Conv (kNhwcDomain, no residual input) of a one-pixel map: a squeeze-excitation
// FC. Its weights [n, k, 1, 1] are B [n][k].
bool IsOnePixelPointwiseConv(const SupportContext& ctx) {
  if (ctx.inputs.size() > 3 || ctx.inputs[0].rank() != 4 || ctx.inputs[1].rank() != 4) return false;
  const std::vector<int64_t>& w = ctx.inputs[1].dims;
  Expected<int64_t> group = ctx.node.GetInt("group", 1);
  return group.ok() && *group == 1 && w[2] == 1 && w[3] == 1 && ctx.inputs[0].dims[3] == w[1] &&
         ctx.inputs[0].num_elements() == w[1] && ctx.outputs[0].num_elements() == w[0];
}

bool SupportsMatVec(const SupportContext& ctx) {
  if (ctx.inputs.size() < 2 || !AllF32(ctx) || ctx.constants.size() < 2 ||
      ctx.constants[1] == nullptr || ctx.inputs[0].rank() < 1) {
    return false;
  }
  const TensorType& a = ctx.inputs[0];
  const TensorType& b = ctx.inputs[1];
  bool trans_b = false;
  if (ctx.node.op_type == "Conv") {
    if (!IsOnePixelPointwiseConv(ctx)) return false;
    trans_b = true;
  } else if (b.rank() != 2) {
    return false;
  } else if (ctx.node.op_type == "Gemm") {
    Expected<GemmForm> g = GemmFormOf(ctx.node);
    if (!g.ok() || a.rank() != 2) return false;
    trans_b = g->trans_b;
    // Either orientation of a one-row A holds its k values contiguously.
    if (a.dims[0] != 1 && a.dims[1] != 1) return false;
  } else if (Rows(a) != 1) {
    return false;
  }
  const int64_t k = trans_b ? b.dims[1] : b.dims[0];
  const int64_t n = trans_b ? b.dims[0] : b.dims[1];
  if (a.num_elements() != k || ctx.outputs[0].num_elements() != n || n == 0 || k == 0) {
    return false;
  }
  // A bias: constant, n values or one.
  if (ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined) {
    const int64_t count = ctx.inputs[2].num_elements();
    if (ctx.constants.size() < 3 || ctx.constants[2] == nullptr || (count != n && count != 1)) {
      return false;
    }
  }
  return FusedActivation::FromNode(ctx.node).ok();
}

Status PrepareMatVec(PrepareContext& ctx, bool openmp) {
  auto s = std::make_unique<MatVecState>();
  const TensorType& b = ctx.inputs[1];
  float beta = 1.0f;
  if (ctx.node.op_type == "Gemm") {
    ASSIGN_OR_RETURN(GemmForm g, GemmFormOf(ctx.node));
    s->b_is_n_by_k = g.trans_b;
    s->alpha = g.alpha;
    beta = g.beta;
  } else if (ctx.node.op_type == "Conv") {
    s->b_is_n_by_k = true;
  }
  s->k = static_cast<size_t>(s->b_is_n_by_k ? b.dims[1] : b.dims[0]);
  s->n = static_cast<size_t>(s->b_is_n_by_k ? b.dims[0] : b.dims[1]);
  if (s->b_is_n_by_k && s->k < kMinRowToDot) {
    const std::byte* bytes = ctx.constants[1]->UnalignedBytes();
    s->b_k_by_n.resize(s->k * s->n);
    for (size_t r = 0; r < s->n; ++r) {
      for (size_t i = 0; i < s->k; ++i) {
        s->b_k_by_n[i * s->n + r] =
            LoadAnyAlignment<float>(bytes, static_cast<int64_t>(r * s->k + i));
      }
    }
    s->b_is_n_by_k = false;
  } else {
    s->b = *ctx.constants[1];
  }
  if (ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined) {
    const Tensor& c = *ctx.constants[2];
    const std::byte* bytes = c.UnalignedBytes();
    const int64_t count = c.view().num_elements();
    s->bias.resize(s->n);
    for (size_t j = 0; j < s->n; ++j) {
      s->bias[j] = beta * LoadAnyAlignment<float>(bytes, count == 1 ? 0 : static_cast<int64_t>(j));
    }
  }
  ASSIGN_OR_RETURN(s->act, FusedActivation::FromNode(ctx.node));
  if (openmp) {
    s->threads =
        ThreadsToShare(s->k * s->n * sizeof(float), ctx.share_every_layer, ctx.num_threads);
  }
  // B is read from the state's copy of the constant: the session may let the graph's go.
  ctx.packed_constant_inputs |= 1u << 1;
  if (!s->bias.empty()) ctx.packed_constant_inputs |= 1u << 2;
  ctx.state = std::move(s);
  return Status::Ok();
}

Status PrepareMatVecOnOpenMp(PrepareContext& ctx) { return PrepareMatVec(ctx, true); }
Status PrepareMatVecOnCallingThread(PrepareContext& ctx) { return PrepareMatVec(ctx, false); }

Status InvokeMatVec(InvokeContext& ctx) {
  const auto& s = ctx.state_as<MatVecState>();
  const float* x = ctx.inputs[0].data<const float>();
  float* y = ctx.outputs[0].data<float>();
  const std::byte* b = s.b_bytes();
  // Shares of 16 columns: whole cache lines of y per thread.
  ForEachShare(s.n, s.threads, 16, [&](size_t begin, size_t end) {
    if (begin >= end) return;
    if (s.b_is_n_by_k) {
      DotRows(b, s.k, x, begin, end, y + begin);
    } else {
      AccumulateColumns(b, s.k, s.n, x, begin, end, y + begin);
    }
    for (size_t j = begin; j < end; ++j) {
      float v = s.alpha * y[j];
      if (!s.bias.empty()) v += s.bias[j];
      y[j] = v;
    }
    // A squeeze-excitation FC's Sigmoid over 1152 outputs took 9 us one value at a time.
    ApplyActivationInPlace(s.act, y + begin, end - begin);
  });
  return Status::Ok();
}

// The three ops on `path`; on the oneDNN path the columns are shared across the OpenMP team.
std::vector<KernelDef> MatVecKernelsOn(KernelPath path) {
  const PrepareFn prepare =
      path == KernelPath::kOnednn ? PrepareMatVecOnOpenMp : PrepareMatVecOnCallingThread;
  const DTypeSet f32{DType::kF32};
  return {{"Gemm", path, f32, SupportsMatVec, prepare, InvokeMatVec},
          {"MatMul", path, f32, SupportsMatVec, prepare, InvokeMatVec},
          {"FusedMatMul", path, f32, SupportsMatVec, prepare, InvokeMatVec, kEdgerunDomain},
          {"Conv", path, f32, SupportsMatVec, prepare, InvokeMatVec, kNhwcDomain}};
}

}  // namespace

std::span<const KernelDef> FastMatVecKernels(KernelPath path) {
  static const std::vector<KernelDef> onednn = MatVecKernelsOn(KernelPath::kOnednn);
  static const std::vector<KernelDef> other = MatVecKernelsOn(KernelPath::kXnnpack);
  return path == KernelPath::kOnednn ? std::span<const KernelDef>(onednn)
                                     : std::span<const KernelDef>(other);
}

}  // namespace edgerun
#endif  // HWY_ONCE
