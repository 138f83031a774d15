#include "kernels/ref/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ref/ref_util.h"

namespace edgerun {
namespace {

// Every input used by a norm kernel must share X's dtype (f32 or f64).
Status RequireUniformDType(const PrepareContext& ctx) {
  for (size_t i = 1; i < ctx.inputs.size(); ++i) {
    if (ctx.inputs[i].dtype != DType::kUndefined && ctx.inputs[i].dtype != ctx.inputs[0].dtype) {
      return ctx.NotSupported("input " + std::to_string(i) + " has dtype " +
                              std::string(DTypeName(ctx.inputs[i].dtype)) + ", X has " +
                              std::string(DTypeName(ctx.inputs[0].dtype)));
    }
  }
  return Status::Ok();
}

template <typename Fn>
Status DispatchFloat(const InvokeContext& ctx, Fn&& fn) {
  if (ctx.inputs[0].dtype == DType::kF64) return fn(double{});
  return fn(float{});
}

// ---- BatchNormalization ----

struct BatchNormState : KernelState {
  int64_t batch = 0, channels = 0, spatial = 0;
  float epsilon = 1e-5f;
  float momentum = 0.9f;
  bool training = false;
};

template <typename T>
Status RunBatchNorm(const InvokeContext& ctx, const BatchNormState& s) {
  const T* x = ctx.inputs[0].data<T>();
  const T* scale = ctx.inputs[1].data<T>();
  const T* bias = ctx.inputs[2].data<T>();
  const T* mean = ctx.inputs[3].data<T>();
  const T* var = ctx.inputs[4].data<T>();
  T* y = ctx.outputs[0].data<T>();
  T* running_mean = ctx.outputs.size() > 1 ? ctx.outputs[1].data<T>() : nullptr;
  T* running_var = ctx.outputs.size() > 2 ? ctx.outputs[2].data<T>() : nullptr;
  for (int64_t c = 0; c < s.channels; ++c) {
    double m = static_cast<double>(mean[c]);
    double v = static_cast<double>(var[c]);
    if (s.training) {
      // Batch statistics (population variance) replace the inputs, which only feed the
      // running averages.
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < s.batch; ++n) {
        const T* xp = x + (n * s.channels + c) * s.spatial;
        for (int64_t i = 0; i < s.spatial; ++i) sum += static_cast<double>(xp[i]);
      }
      const double count = static_cast<double>(s.batch * s.spatial);
      const double bm = count > 0 ? sum / count : 0.0;
      for (int64_t n = 0; n < s.batch; ++n) {
        const T* xp = x + (n * s.channels + c) * s.spatial;
        for (int64_t i = 0; i < s.spatial; ++i) {
          const double d = static_cast<double>(xp[i]) - bm;
          sq += d * d;
        }
      }
      const double bv = count > 0 ? sq / count : 0.0;
      if (running_mean != nullptr)
        running_mean[c] = static_cast<T>(m * s.momentum + bm * (1 - s.momentum));
      if (running_var != nullptr)
        running_var[c] = static_cast<T>(v * s.momentum + bv * (1 - s.momentum));
      m = bm;
      v = bv;
    }
    const double a = static_cast<double>(scale[c]) / std::sqrt(v + static_cast<double>(s.epsilon));
    const T mul = static_cast<T>(a);
    const T add = static_cast<T>(static_cast<double>(bias[c]) - m * a);
    for (int64_t n = 0; n < s.batch; ++n) {
      const T* xp = x + (n * s.channels + c) * s.spatial;
      T* yp = y + (n * s.channels + c) * s.spatial;
      for (int64_t i = 0; i < s.spatial; ++i) yp[i] = xp[i] * mul + add;
    }
  }
  return Status::Ok();
}

// ---- InstanceNormalization ----

struct InstanceNormState : KernelState {
  int64_t batch = 0, channels = 0, spatial = 0;
  float epsilon = 1e-5f;
};

template <typename T>
Status RunInstanceNorm(const InvokeContext& ctx, const InstanceNormState& s) {
  const T* x = ctx.inputs[0].data<T>();
  const T* scale = ctx.inputs[1].data<T>();
  const T* bias = ctx.inputs[2].data<T>();
  T* y = ctx.outputs[0].data<T>();
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const T* xp = x + (n * s.channels + c) * s.spatial;
      T* yp = y + (n * s.channels + c) * s.spatial;
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < s.spatial; ++i) sum += static_cast<double>(xp[i]);
      const double mean = s.spatial > 0 ? sum / static_cast<double>(s.spatial) : 0.0;
      for (int64_t i = 0; i < s.spatial; ++i) {
        const double d = static_cast<double>(xp[i]) - mean;
        sq += d * d;
      }
      const double var = s.spatial > 0 ? sq / static_cast<double>(s.spatial) : 0.0;
      const double a = static_cast<double>(scale[c]) / std::sqrt(var + s.epsilon);
      const T mul = static_cast<T>(a);
      const T add = static_cast<T>(static_cast<double>(bias[c]) - mean * a);
      for (int64_t i = 0; i < s.spatial; ++i) yp[i] = xp[i] * mul + add;
    }
  }
  return Status::Ok();
}

// ---- LRN ----

struct LrnState : KernelState {
  int64_t batch = 0, channels = 0, spatial = 0;
  int64_t size = 1;
  float alpha = 1e-4f, beta = 0.75f, bias = 1.0f;
};

template <typename T>
Status RunLrn(const InvokeContext& ctx, const LrnState& s) {
  const T* x = ctx.inputs[0].data<T>();
  T* y = ctx.outputs[0].data<T>();
  const int64_t before = (s.size - 1) / 2;
  const int64_t after = s.size - 1 - before;  // ceil((size - 1) / 2)
  const double scale = static_cast<double>(s.alpha) / static_cast<double>(s.size);
  for (int64_t n = 0; n < s.batch; ++n) {
    const T* xn = x + n * s.channels * s.spatial;
    T* yn = y + n * s.channels * s.spatial;
    for (int64_t c = 0; c < s.channels; ++c) {
      const int64_t c0 = std::max<int64_t>(0, c - before);
      const int64_t c1 = std::min<int64_t>(s.channels - 1, c + after);
      for (int64_t i = 0; i < s.spatial; ++i) {
        double sq = 0;
        for (int64_t cc = c0; cc <= c1; ++cc) {
          const double v = static_cast<double>(xn[cc * s.spatial + i]);
          sq += v * v;
        }
        const double denom =
            std::pow(static_cast<double>(s.bias) + scale * sq, static_cast<double>(s.beta));
        yn[c * s.spatial + i] = static_cast<T>(static_cast<double>(xn[c * s.spatial + i]) / denom);
      }
    }
  }
  return Status::Ok();
}

// ---- LayerNormalization ----

struct LayerNormState : KernelState {
  int64_t outer = 0, inner = 0;
  float epsilon = 1e-5f;
  bool has_bias = false;
  // When Scale/B do not cover the whole normalized block, index maps from a position in the
  // block to the element of Scale/B it broadcasts from; empty when they match exactly.
  std::vector<int64_t> scale_index, bias_index;
  size_t persistent_bytes() const override {
    return (scale_index.size() + bias_index.size()) * sizeof(int64_t);
  }
};

std::vector<int64_t> BroadcastIndexMap(std::span<const int64_t> block,
                                       std::span<const int64_t> param) {
  std::vector<int64_t> map;
  if (NumElements(block) == NumElements(param)) return map;
  BroadcastIndexer idx(block, {param});
  const int64_t n = NumElements(block);
  map.resize(n);
  for (int64_t i = 0; i < n; ++i) idx.Offsets(i, &map[i]);
  return map;
}

template <typename T>
Status RunLayerNorm(const InvokeContext& ctx, const LayerNormState& s) {
  const T* x = ctx.inputs[0].data<T>();
  const T* scale = ctx.inputs[1].data<T>();
  const T* bias = s.has_bias ? ctx.inputs[2].data<T>() : nullptr;
  T* y = ctx.outputs[0].data<T>();
  const TensorView* mean_out =
      ctx.outputs.size() > 1 && ctx.outputs[1].raw ? &ctx.outputs[1] : nullptr;
  const TensorView* inv_out =
      ctx.outputs.size() > 2 && ctx.outputs[2].raw ? &ctx.outputs[2] : nullptr;
  auto store = [](const TensorView* v, int64_t i, double value) {
    if (v == nullptr) return;
    if (v->dtype == DType::kF64) {
      v->data<double>()[i] = value;
    } else {
      v->data<float>()[i] = static_cast<float>(value);
    }
  };
  for (int64_t o = 0; o < s.outer; ++o) {
    const T* xp = x + o * s.inner;
    T* yp = y + o * s.inner;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < s.inner; ++i) sum += static_cast<double>(xp[i]);
    const double mean = s.inner > 0 ? sum / static_cast<double>(s.inner) : 0.0;
    for (int64_t i = 0; i < s.inner; ++i) {
      const double d = static_cast<double>(xp[i]) - mean;
      sq += d * d;
    }
    const double var = s.inner > 0 ? sq / static_cast<double>(s.inner) : 0.0;
    const double inv = 1.0 / std::sqrt(var + static_cast<double>(s.epsilon));
    store(mean_out, o, mean);
    store(inv_out, o, inv);
    const T tm = static_cast<T>(mean), ti = static_cast<T>(inv);
    for (int64_t i = 0; i < s.inner; ++i) {
      const T sc = scale[s.scale_index.empty() ? i : s.scale_index[i]];
      const T b = bias == nullptr ? T(0) : bias[s.bias_index.empty() ? i : s.bias_index[i]];
      yp[i] = (xp[i] - tm) * ti * sc + b;
    }
  }
  return Status::Ok();
}

// ---- MeanVarianceNormalization ----

struct MvnState : KernelState {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t group_strides[kMaxRank] = {};  // 0 on normalized axes
  int64_t groups = 0;
  int64_t group_size = 0;
};

template <typename T>
Status RunMvn(const InvokeContext& ctx, const MvnState& s) {
  const T* x = ctx.inputs[0].data<T>();
  T* y = ctx.outputs[0].data<T>();
  double* sum = static_cast<double*>(ctx.scratch);
  double* sq = sum + s.groups;
  std::fill(sum, sum + 2 * s.groups, 0.0);
  const int64_t total = ctx.inputs[0].num_elements();
  // Two sweeps in flat order with an odometer giving each element's group.
  auto sweep = [&](auto&& fn) {
    int64_t coord[kMaxRank] = {};
    int64_t g = 0;
    for (int64_t i = 0; i < total; ++i) {
      fn(i, g);
      for (int d = s.rank - 1; d >= 0; --d) {
        g += s.group_strides[d];
        if (++coord[d] < s.dims[d]) break;
        g -= s.group_strides[d] * s.dims[d];
        coord[d] = 0;
      }
    }
  };
  sweep([&](int64_t i, int64_t g) {
    const double v = static_cast<double>(x[i]);
    sum[g] += v;
    sq[g] += v * v;
  });
  const double n = static_cast<double>(s.group_size);
  for (int64_t g = 0; g < s.groups; ++g) {
    const double mean = sum[g] / n;
    const double var = std::max(0.0, sq[g] / n - mean * mean);
    sum[g] = mean;
    // Matches the ONNX function body: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9).
    sq[g] = 1.0 / (std::sqrt(var) + 1e-9);
  }
  sweep([&](int64_t i, int64_t g) {
    y[i] = static_cast<T>((static_cast<double>(x[i]) - sum[g]) * sq[g]);
  });
  return Status::Ok();
}

int64_t SpatialSize(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (size_t i = 2; i < dims.size(); ++i) n *= dims[i];
  return n;
}

}  // namespace

Status PrepareBatchNorm(PrepareContext& ctx) {
  RETURN_IF_ERROR(RequireUniformDType(ctx));
  auto s = std::make_unique<BatchNormState>();
  const auto& x = ctx.inputs[0].dims;
  s->batch = x[0];
  s->channels = x[1];
  s->spatial = SpatialSize(x);
  ASSIGN_OR_RETURN(s->epsilon, ctx.node.GetFloat("epsilon", 1e-5f));
  ASSIGN_OR_RETURN(s->momentum, ctx.node.GetFloat("momentum", 0.9f));
  ASSIGN_OR_RETURN(int64_t training, ctx.node.GetInt("training_mode", 0));
  s->training = training != 0 && ctx.node.opset >= 14;
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeBatchNorm(InvokeContext& ctx) {
  const auto& s = ctx.state_as<BatchNormState>();
  return DispatchFloat(ctx, [&](auto t) { return RunBatchNorm<decltype(t)>(ctx, s); });
}

Status PrepareInstanceNorm(PrepareContext& ctx) {
  RETURN_IF_ERROR(RequireUniformDType(ctx));
  auto s = std::make_unique<InstanceNormState>();
  const auto& x = ctx.inputs[0].dims;
  s->batch = x[0];
  s->channels = x[1];
  s->spatial = SpatialSize(x);
  ASSIGN_OR_RETURN(s->epsilon, ctx.node.GetFloat("epsilon", 1e-5f));
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeInstanceNorm(InvokeContext& ctx) {
  const auto& s = ctx.state_as<InstanceNormState>();
  return DispatchFloat(ctx, [&](auto t) { return RunInstanceNorm<decltype(t)>(ctx, s); });
}

Status PrepareLrn(PrepareContext& ctx) {
  auto s = std::make_unique<LrnState>();
  const auto& x = ctx.inputs[0].dims;
  s->batch = x[0];
  s->channels = x[1];
  s->spatial = SpatialSize(x);
  ASSIGN_OR_RETURN(s->size, ctx.node.GetInt("size", 1));
  ASSIGN_OR_RETURN(s->alpha, ctx.node.GetFloat("alpha", 1e-4f));
  ASSIGN_OR_RETURN(s->beta, ctx.node.GetFloat("beta", 0.75f));
  ASSIGN_OR_RETURN(s->bias, ctx.node.GetFloat("bias", 1.0f));
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeLrn(InvokeContext& ctx) {
  const auto& s = ctx.state_as<LrnState>();
  return DispatchFloat(ctx, [&](auto t) { return RunLrn<decltype(t)>(ctx, s); });
}

Status PrepareLayerNorm(PrepareContext& ctx) {
  RETURN_IF_ERROR(RequireUniformDType(ctx));
  auto s = std::make_unique<LayerNormState>();
  const auto& x = ctx.inputs[0].dims;
  const int rank = static_cast<int>(x.size());
  ASSIGN_OR_RETURN(int64_t axis, ctx.node.GetInt("axis", -1));
  if (axis < 0) axis += rank;
  ASSIGN_OR_RETURN(s->epsilon, ctx.node.GetFloat("epsilon", 1e-5f));
  s->outer = 1;
  s->inner = 1;
  for (int i = 0; i < rank; ++i) (i < axis ? s->outer : s->inner) *= x[i];
  const std::span<const int64_t> block(x.data() + axis, x.size() - axis);
  s->scale_index = BroadcastIndexMap(block, ctx.inputs[1].dims);
  s->has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].dtype != DType::kUndefined;
  if (s->has_bias) s->bias_index = BroadcastIndexMap(block, ctx.inputs[2].dims);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeLayerNorm(InvokeContext& ctx) {
  const auto& s = ctx.state_as<LayerNormState>();
  return DispatchFloat(ctx, [&](auto t) { return RunLayerNorm<decltype(t)>(ctx, s); });
}

Status PrepareMvn(PrepareContext& ctx) {
  auto s = std::make_unique<MvnState>();
  const auto& x = ctx.inputs[0].dims;
  s->rank = static_cast<int>(x.size());
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.node.GetInts("axes", {0, 2, 3}));
  bool normalized[kMaxRank] = {};
  for (int64_t a : axes) normalized[a < 0 ? a + s->rank : a] = true;
  s->groups = 1;
  s->group_size = 1;
  for (int d = s->rank - 1; d >= 0; --d) {
    s->dims[d] = x[d];
    if (normalized[d]) {
      s->group_strides[d] = 0;
      s->group_size *= x[d];
    } else {
      s->group_strides[d] = s->groups;
      s->groups *= x[d];
    }
  }
  ctx.scratch_bytes = static_cast<size_t>(2 * s->groups) * sizeof(double);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeMvn(InvokeContext& ctx) {
  const auto& s = ctx.state_as<MvnState>();
  if (ctx.inputs[0].num_elements() == 0) return Status::Ok();
  return DispatchFloat(ctx, [&](auto t) { return RunMvn<decltype(t)>(ctx, s); });
}

}  // namespace edgerun
