#include "kernels/ref/matmul.h"

#include <algorithm>
#include <vector>

#include "kernels/ref/gemm.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {
namespace {

struct MatMulState : KernelState {
  int64_t m = 0, n = 0, k = 0;
  std::vector<int64_t> a_offsets, b_offsets;  // element offsets per output batch
  bool has_bias = false;
  bool scalar_bias = false;
  FusedActivation act;

  size_t persistent_bytes() const override {
    return (a_offsets.size() + b_offsets.size()) * sizeof(int64_t);
  }
};

template <typename T>
void RunMatMul(const MatMulState& s, const T* a, const T* b, T* y, pthreadpool_t pool) {
  const int64_t batches = static_cast<int64_t>(s.a_offsets.size());
  for (int64_t i = 0; i < batches; ++i) {
    const T* ab = a + s.a_offsets[i];
    const T* bb = b + s.b_offsets[i];
    T* yb = y + i * s.m * s.n;
    if constexpr (std::is_same_v<T, float>) {
      Sgemm(false, false, s.m, s.n, s.k, 1.0f, ab, s.k, bb, s.n, 0.0f, yb, s.n, pool);
    } else {
      GemmGeneric<T>(false, false, s.m, s.n, s.k, T(1), ab, s.k, bb, s.n, T(0), yb, s.n);
    }
  }
}

}  // namespace

Status PrepareMatMul(PrepareContext& ctx) {
  auto s = std::make_unique<MatMulState>();
  const std::vector<int64_t>& a = ctx.inputs[0].dims;
  const std::vector<int64_t>& b = ctx.inputs[1].dims;
  const std::vector<int64_t>& y = ctx.outputs[0].dims;
  s->k = a.back();
  s->m = a.size() >= 2 ? a[a.size() - 2] : 1;
  s->n = b.size() >= 2 ? b.back() : 1;
  const std::vector<int64_t> a_batch(a.begin(), a.end() - std::min<size_t>(a.size(), 2));
  const std::vector<int64_t> b_batch(b.begin(), b.end() - std::min<size_t>(b.size(), 2));
  const size_t out_batch_rank = std::max(a_batch.size(), b_batch.size());
  std::vector<int64_t> out_batch(y.begin(), y.begin() + out_batch_rank);
  int64_t batches = NumElements(out_batch);
  if (b_batch.empty() || NumElements(b_batch) == 1) {
    // B is shared by every batch and A's batches are contiguous: one tall GEMM.
    s->m *= batches;
    batches = 1;
    s->a_offsets = {0};
    s->b_offsets = {0};
  } else {
    // Right-aligned broadcast strides (0 for size-1 or missing dims).
    auto strides_for = [&](const std::vector<int64_t>& dims, int64_t matrix) {
      std::vector<int64_t> st(out_batch_rank, 0);
      int64_t stride = matrix;
      for (size_t i = 0; i < dims.size(); ++i) {
        const size_t d = dims.size() - 1 - i;
        const size_t o = out_batch_rank - 1 - i;
        st[o] = dims[d] == 1 ? 0 : stride;
        stride *= dims[d];
      }
      return st;
    };
    const std::vector<int64_t> as = strides_for(a_batch, s->m * s->k);
    const std::vector<int64_t> bs = strides_for(b_batch, s->k * s->n);
    s->a_offsets.resize(batches);
    s->b_offsets.resize(batches);
    for (int64_t i = 0; i < batches; ++i) {
      int64_t rem = i, ao = 0, bo = 0;
      for (size_t d = out_batch_rank; d-- > 0;) {
        const int64_t c = rem % out_batch[d];
        rem /= out_batch[d];
        ao += c * as[d];
        bo += c * bs[d];
      }
      s->a_offsets[i] = ao;
      s->b_offsets[i] = bo;
    }
  }
  if (ctx.node.op_type == "FusedMatMul") {
    s->has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined;
    s->scalar_bias = s->has_bias && NumElements(ctx.inputs[2].dims) == 1;
    ASSIGN_OR_RETURN(s->act, FusedActivation::FromNode(ctx.node));
    if (ctx.inputs[0].dtype != DType::kF32) {
      return ctx.NotSupported("FusedMatMul is only implemented for f32");
    }
  }
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeMatMul(InvokeContext& ctx) {
  const auto& s = ctx.state_as<MatMulState>();
  TensorView& y = ctx.outputs[0];
  if (y.num_elements() == 0) return Status::Ok();
  RETURN_IF_ERROR(DispatchNumeric(
      y.dtype,
      [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                      std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t> ||
                      std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>) {
          RunMatMul<T>(s, ctx.inputs[0].data<T>(), ctx.inputs[1].data<T>(), y.data<T>(),
                       ctx.threadpool);
          return Status::Ok();
        } else {
          return ctx.Fail("MatMul dtype not handled");
        }
      },
      ctx.node));
  if (s.has_bias || !s.act.is_identity()) {
    float* out = y.data<float>();
    const float* bias = s.has_bias ? ctx.inputs[2].data<float>() : nullptr;
    const int64_t rows = y.num_elements() / s.n;
    for (int64_t r = 0; r < rows; ++r) {
      float* row = out + r * s.n;
      if (bias != nullptr) {
        for (int64_t j = 0; j < s.n; ++j) row[j] += bias[s.scalar_bias ? 0 : j];
      }
      s.act.ApplyInPlace(row, s.n);
    }
  }
  return Status::Ok();
}

// ---- Gemm ----

namespace {

struct GemmState : KernelState {
  int64_t m = 0, n = 0, k = 0;
  bool ta = false, tb = false;
  float alpha = 1, beta = 1;
  bool has_c = false;
  int64_t c_row_stride = 0, c_col_stride = 0;  // broadcast strides of C over [M, N]
  FusedActivation act;
};

template <typename T>
void RunGemm(const GemmState& s, const T* a, const T* b, const T* c, T* y, pthreadpool_t pool) {
  const bool use_c = s.has_c && s.beta != 0.0f;
  if (use_c) {
    const T beta = static_cast<T>(s.beta);
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        y[i * s.n + j] = beta * c[i * s.c_row_stride + j * s.c_col_stride];
      }
    }
  }
  const int64_t lda = s.ta ? s.m : s.k;
  const int64_t ldb = s.tb ? s.k : s.n;
  if constexpr (std::is_same_v<T, float>) {
    Sgemm(s.ta, s.tb, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, use_c ? 1.0f : 0.0f, y, s.n, pool);
    s.act.ApplyInPlace(y, s.m * s.n);
  } else {
    GemmGeneric<T>(s.ta, s.tb, s.m, s.n, s.k, static_cast<T>(s.alpha), a, lda, b, ldb,
                   use_c ? T(1) : T(0), y, s.n);
  }
}

}  // namespace

Status PrepareGemm(PrepareContext& ctx) {
  auto s = std::make_unique<GemmState>();
  ASSIGN_OR_RETURN(int64_t ta, ctx.node.GetInt("transA", 0));
  ASSIGN_OR_RETURN(int64_t tb, ctx.node.GetInt("transB", 0));
  ASSIGN_OR_RETURN(s->alpha, ctx.node.GetFloat("alpha", 1.0f));
  ASSIGN_OR_RETURN(s->beta, ctx.node.GetFloat("beta", 1.0f));
  ASSIGN_OR_RETURN(s->act, FusedActivation::FromNode(ctx.node));
  s->ta = ta != 0;
  s->tb = tb != 0;
  const auto& a = ctx.inputs[0].dims;
  s->m = s->ta ? a[1] : a[0];
  s->k = s->ta ? a[0] : a[1];
  s->n = ctx.outputs[0].dims[1];
  s->has_c = ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined;
  if (s->has_c) {
    const auto& c = ctx.inputs[2].dims;
    // Right-align C against [M, N]; size-1 dims broadcast.
    const int64_t rows = c.size() == 2 ? c[0] : 1;
    const int64_t cols = c.empty() ? 1 : c.back();
    s->c_col_stride = cols == 1 ? 0 : 1;
    s->c_row_stride = rows == 1 ? 0 : cols;
  }
  if (ctx.inputs[0].dtype != DType::kF32 && !s->act.is_identity()) {
    return ctx.NotSupported("fused activation on a non-f32 Gemm");
  }
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeGemm(InvokeContext& ctx) {
  const auto& s = ctx.state_as<GemmState>();
  const void* c = s.has_c ? ctx.inputs[2].raw : nullptr;
  if (ctx.inputs[0].dtype == DType::kF64) {
    RunGemm<double>(s, ctx.inputs[0].data<double>(), ctx.inputs[1].data<double>(),
                    static_cast<const double*>(c), ctx.outputs[0].data<double>(), nullptr);
  } else {
    RunGemm<float>(s, ctx.inputs[0].data<float>(), ctx.inputs[1].data<float>(),
                   static_cast<const float*>(c), ctx.outputs[0].data<float>(), ctx.threadpool);
  }
  return Status::Ok();
}

}  // namespace edgerun
