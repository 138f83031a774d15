// FoldBatchNormIntoConv, FoldAddIntoConvBias and FoldMulIntoConv.
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/unaligned.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// A constant f32 per-channel vector: shape [n] or [n, 1, ...], or nullptr.
const Tensor* ChannelVector(GraphRewriter& rw, int v, int64_t n) {
  const Tensor* t = rw.Constant(v);
  if (t == nullptr || t->dtype() != DType::kF32 || t->rank() < 1 || t->dims()[0] != n) {
    return nullptr;
  }
  for (int i = 1; i < t->rank(); ++i) {
    if (t->dims()[i] != 1) return nullptr;
  }
  return t;
}

// Rewrites conv node `c` (weights `w`) to compute conv(x) * scale[o] + shift[o] per output
// channel: W' = W * scale, b' = shift (the caller folds the old bias into shift).
bool ScaleConvChannels(GraphRewriter& rw, int c, const Tensor* w, bool transpose, int64_t group,
                       const std::vector<float>& scale, const std::vector<float>& shift,
                       std::string_view suffix) {
  Graph& g = rw.graph();
  const int64_t channels = static_cast<int64_t>(scale.size());
  // Weights that only this conv reads, held by nothing but the graph, are scaled in place. Weights
  // still in the model file are read there and written scaled into their place, instead of being
  // copied there first and then scaled (about 1 ms of PP-OCR rec's load).
  const int w_in = rw.node(c).inputs[1];
  const std::byte* src = w->UnalignedBytes();
  float* dst = static_cast<float*>(rw.ConstantToOverwrite(w_in, c));
  const bool in_place = dst != nullptr;
  Tensor new_w;
  if (!in_place) {
    Expected<Tensor> copy = Tensor::CreateUninitialized(DType::kF32, w->dims());
    if (!copy.ok()) return false;
    new_w = std::move(copy).value();
    dst = new_w.mutable_data<float>();
  }
  Expected<Tensor> new_b = Tensor::Create(DType::kF32, {channels});
  if (!new_b.ok()) return false;
  const int64_t d0 = w->dims()[0], d1 = w->dims()[1];
  const int64_t inner = w->num_elements() / (d0 * d1);
  // A Conv's W[o, ...] is one contiguous run per output channel: one multiply loop each (1x1
  // convs would otherwise loop per element: PP-OCR rec's 6 MB of weights took 2.8 ms).
  // ConvTranspose's output channel is the second index within each group.
  for (int64_t i = 0; i < d0; ++i) {
    const int64_t run = transpose ? inner : d1 * inner;
    for (int64_t j = 0; j < (transpose ? d1 : 1); ++j) {
      const float s = scale[transpose ? (i / (d0 / group)) * d1 + j : i];
      const int64_t base = (i * d1 + j) * inner;
      for (int64_t k = 0; k < run; ++k) dst[base + k] = LoadAnyAlignment<float>(src, base + k) * s;
    }
  }
  std::copy(shift.begin(), shift.end(), new_b->mutable_data<float>());
  const Node& conv = rw.node(c);
  const std::string w_name = g.values[conv.inputs[1]].name + std::string(suffix);
  const std::string b_name = conv.name + std::string(suffix) + "_bias";
  const int w_value = in_place ? w_in : rw.AddConstant(w_name, std::move(new_w));
  const int b_value = rw.AddConstant(b_name, std::move(new_b).value());
  // AddConstant may grow g.values; node references stay valid (nodes are not touched).
  Node& conv2 = rw.node(c);
  if (conv2.inputs.size() < 3) conv2.inputs.resize(3, Node::kNoValue);
  conv2.inputs[1] = w_value;
  conv2.inputs[2] = b_value;
  return true;
}

// Folds BN node `b` into its producer; returns false when the pattern does not apply.
bool TryFold(GraphRewriter& rw, int b, std::vector<std::string>* log) {
  Graph& g = rw.graph();
  Node& bn = rw.node(b);
  if (!IsOnnxOp(bn, "BatchNormalization") || bn.inputs.size() != 5 || bn.outputs.empty()) {
    return false;
  }
  // Training mode normalizes with batch statistics; spatial=0 (opset 7-8) has per-element params.
  if (ValueOr(bn.GetInt("training_mode", 0), int64_t{1}) != 0) return false;
  if (ValueOr(bn.GetInt("spatial", 1), int64_t{0}) != 1) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i) {
    const int v = bn.outputs[i];
    if (v >= 0 && (g.IsGraphOutput(v) || !rw.Consumers(v).empty())) return false;
  }
  const int x = bn.inputs[0];
  const int y = bn.outputs[0];
  if (x < 0 || y < 0 || !rw.HasSoleConsumer(x, b)) return false;
  const int c = rw.Producer(x);
  if (c < 0) return false;
  Node& conv = rw.node(c);
  const bool transpose = IsOnnxOp(conv, "ConvTranspose");
  if (!(IsOnnxOp(conv, "Conv") || transpose) || conv.outputs.size() != 1 || conv.outputs[0] != x ||
      conv.inputs.size() < 2 || conv.has_attr("activation")) {
    return false;
  }
  const TensorType xt = ValueType(g, x);
  if (xt.dtype != DType::kF32 || xt.rank() < 3 || xt.dims[1] <= 0) return false;
  if (!g.values[x].quant.empty()) return false;
  const int64_t channels = xt.dims[1];

  const Tensor* w = rw.Constant(conv.inputs[1]);
  if (w == nullptr || w->dtype() != DType::kF32 || w->rank() < 3) return false;
  const Tensor* bias = nullptr;
  if (conv.inputs.size() > 2 && conv.inputs[2] >= 0) {
    bias = ChannelVector(rw, conv.inputs[2], channels);
    if (bias == nullptr) return false;
  }
  const int64_t group = ValueOr(conv.GetInt("group", 1), int64_t{0});
  if (group <= 0) return false;
  // Conv W is [C_out, C_in/group, k...]; ConvTranspose W is [C_in, C_out/group, k...].
  if (!transpose && w->dims()[0] != channels) return false;
  if (transpose && (w->dims()[1] * group != channels || w->dims()[0] % group != 0)) return false;

  const Tensor* gamma = ChannelVector(rw, bn.inputs[1], channels);
  const Tensor* beta = ChannelVector(rw, bn.inputs[2], channels);
  const Tensor* mean = ChannelVector(rw, bn.inputs[3], channels);
  const Tensor* var = ChannelVector(rw, bn.inputs[4], channels);
  if (gamma == nullptr || beta == nullptr || mean == nullptr || var == nullptr) return false;
  Expected<float> epsilon = bn.GetFloat("epsilon", 1e-5f);
  if (!epsilon.ok()) return false;
  const double eps = *epsilon;

  std::vector<float> scale(channels), shift(channels);
  for (int64_t o = 0; o < channels; ++o) {
    const double s = static_cast<double>(gamma->data<float>()[o]) /
                     std::sqrt(static_cast<double>(var->data<float>()[o]) + eps);
    const double b0 = bias != nullptr ? bias->data<float>()[o] : 0.0;
    scale[o] = static_cast<float>(s);
    shift[o] = static_cast<float>((b0 - mean->data<float>()[o]) * s + beta->data<float>()[o]);
  }

  if (!ScaleConvChannels(rw, c, w, transpose, group, scale, shift, "_bnfold")) return false;
  rw.node(c).outputs[0] = y;
  Node& conv2 = rw.node(c);
  rw.RemoveNode(b);
  if (log != nullptr) {
    log->push_back("fused BatchNormalization '" + rw.node(b).name + "' into " + conv2.op_type +
                   " '" + conv2.name + "'");
  }
  return true;
}

}  // namespace

Status FoldBatchNormIntoConv(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (!rw.removed(n)) TryFold(rw, n, log);
  }
  return rw.Finish();
}

}  // namespace edgerun

namespace edgerun {

namespace {

// A binary `op` node whose one input is the sole-reader output of a float Conv/ConvTranspose
// without a fused activation, and whose other input is a constant that broadcasts along channels
// only ([C,1,..], [1,C,1,..] or a scalar).
struct ConvChannelOperand {
  int conv = -1;
  int64_t channels = 0;
  std::vector<float> values;  // the constant, per output channel
  std::vector<float> bias;    // the conv's bias, per output channel (zeros without one)
};

std::optional<ConvChannelOperand> MatchConvChannelOperand(GraphRewriter& rw, int n,
                                                          std::string_view op) {
  const Graph& g = rw.graph();
  const Node& node = rw.node(n);
  if (!IsOnnxOp(node, op) || node.inputs.size() != 2 || node.outputs.size() != 1) {
    return std::nullopt;
  }
  for (int side = 0; side < 2; ++side) {
    const int x = node.inputs[side], k = node.inputs[1 - side];
    if (x < 0 || k < 0 || !rw.HasSoleConsumer(x, n)) continue;
    const int c = rw.Producer(x);
    if (c < 0) continue;
    const Node& conv = rw.node(c);
    if (!(IsOnnxOp(conv, "Conv") || IsOnnxOp(conv, "ConvTranspose")) || conv.outputs.size() != 1 ||
        conv.has_attr("activation") || conv.inputs.size() < 2) {
      continue;
    }
    const TensorType xt = ValueType(g, x);
    if (xt.dtype != DType::kF32 || xt.rank() < 3 || !(ValueType(g, node.outputs[0]) == xt) ||
        !g.values[x].quant.empty()) {
      continue;
    }
    const int64_t channels = xt.dims[1];
    const Tensor* t = rw.Constant(k);
    if (t == nullptr || t->dtype() != DType::kF32 || t->rank() > xt.rank()) continue;
    const int64_t numel = t->num_elements();
    if (numel != 1) {
      if (numel != channels) continue;
      const int channel_axis = t->rank() - (xt.rank() - 1);  // where axis 1 of x lands
      if (channel_axis < 0 || t->dims()[channel_axis] != channels) continue;
    }
    ConvChannelOperand m;
    m.conv = c;
    m.channels = channels;
    m.bias.assign(channels, 0.f);
    if (conv.inputs.size() > 2 && conv.inputs[2] >= 0) {
      const Tensor* b = ChannelVector(rw, conv.inputs[2], channels);
      if (b == nullptr) continue;
      std::copy(b->data<float>(), b->data<float>() + channels, m.bias.begin());
    }
    m.values.resize(channels);
    for (int64_t o = 0; o < channels; ++o) m.values[o] = t->data<float>()[numel == 1 ? 0 : o];
    return m;
  }
  return std::nullopt;
}

// The conv of `m` takes over node `n`'s output; `n` goes.
void RetireIntoConv(GraphRewriter& rw, int n, const ConvChannelOperand& m, std::string_view what,
                    std::vector<std::string>* log) {
  Node& conv = rw.node(m.conv);
  conv.outputs[0] = rw.node(n).outputs[0];
  rw.RemoveNode(n);
  rw.Invalidate();
  if (log != nullptr) {
    log->push_back("folded " + rw.node(n).op_type + " '" + rw.node(n).name + "' into the " +
                   std::string(what) + " of " + conv.op_type + " '" + conv.name + "'");
  }
}

}  // namespace

Status FoldAddIntoConvBias(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
    std::optional<ConvChannelOperand> m = MatchConvChannelOperand(rw, n, "Add");
    if (!m) continue;
    std::vector<float> bias = m->bias;
    for (int64_t o = 0; o < m->channels; ++o) bias[o] += m->values[o];
    const int b_value = rw.AddConstant(rw.node(m->conv).name + "_addfold_bias",
                                       Tensor::FromVector(DType::kF32, {m->channels}, bias));
    Node& conv = rw.node(m->conv);
    if (conv.inputs.size() < 3) conv.inputs.resize(3, Node::kNoValue);
    conv.inputs[2] = b_value;
    RetireIntoConv(rw, n, *m, "bias", log);
  }
  return rw.Finish();
}

Status FoldMulIntoConv(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (rw.removed(n)) continue;
    std::optional<ConvChannelOperand> m = MatchConvChannelOperand(rw, n, "Mul");
    if (!m) continue;
    const Node& conv = rw.node(m->conv);
    const bool transpose = IsOnnxOp(conv, "ConvTranspose");
    const Tensor* w = rw.Constant(conv.inputs[1]);
    const int64_t group = ValueOr(conv.GetInt("group", 1), int64_t{0});
    const int64_t channels = m->channels;
    if (w == nullptr || w->dtype() != DType::kF32 || w->rank() < 3 || group <= 0) continue;
    if (!transpose && w->dims()[0] != channels) continue;
    if (transpose && (w->dims()[1] * group != channels || w->dims()[0] % group != 0)) continue;
    std::vector<float> shift = m->bias;
    for (int64_t o = 0; o < channels; ++o) shift[o] *= m->values[o];
    if (!ScaleConvChannels(rw, m->conv, w, transpose, group, m->values, shift, "_mulfold")) {
      continue;
    }
    RetireIntoConv(rw, n, *m, "weights", log);
  }
  return rw.Finish();
}

}  // namespace edgerun
