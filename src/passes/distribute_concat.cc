// DistributeConcat: a channel Concat read only by a 2-D pool or a 1x1 Conv is distributed over
// its inputs, so the concatenated tensor is never written.
//
//   MaxPool/AveragePool(Concat(a, b))  =>  Concat(Pool(a), Pool(b))     (pools act per channel)
//   Conv1x1(Concat(a, b), W, B)        =>  Add(Conv(a, W[:, :Ca], B), Conv(b, W[:, Ca:]))
//
// The second holds because a group-1 conv is linear in its input channels; the Adds later fuse
// into the convs as residual post-ops (FuseConvResidual). SqueezeNet's Fire modules end in such
// Concats: at 2 threads they took 12% of its time (one thread copying what the other just wrote).
#include <string>
#include <utility>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

bool IsStaticF32(const TensorType& t) { return t.dtype == DType::kF32 && IsStaticType(t); }

// The node that alone reads the output of `concat`, once, as its input 0; else -1.
int SoleReaderAsInput0(GraphRewriter& rw, const Node& concat) {
  const int out = concat.outputs[0];
  const std::vector<int>& readers = rw.Consumers(out);
  if (readers.size() != 1 || !rw.HasSoleConsumer(out, readers[0])) return -1;
  return rw.node(readers[0]).inputs[0] == out ? readers[0] : -1;
}

// A 4-D f32 Concat along channels, with static shapes; its inputs' channel counts, else empty.
std::vector<int64_t> ChannelParts(const Graph& g, const Node& concat) {
  if (!IsOnnxOp(concat, "Concat") || concat.outputs.size() != 1 || concat.inputs.size() < 2) {
    return {};
  }
  const TensorType out = ValueType(g, concat.outputs[0]);
  if (out.rank() != 4 || !IsStaticF32(out)) return {};
  int64_t axis = ValueOr(concat.GetInt("axis", -100), int64_t{-100});
  if (axis < 0) axis += 4;
  if (axis != 1) return {};
  std::vector<int64_t> channels;
  for (int v : concat.inputs) {
    if (v < 0 || g.values[v].is_constant()) return {};
    const TensorType t = ValueType(g, v);
    if (t.rank() != 4 || !IsStaticF32(t)) return {};
    channels.push_back(t.dims[1]);
  }
  return channels;
}

int NewValue(Graph& g, const std::string& base, std::vector<int64_t> dims) {
  return g.AddValue(MakeUniqueName(g, base), DType::kF32, ShapeFromDims(dims));
}

// Pool(Concat(parts)) => Concat(Pool(part) for each part): the pools, then the Concat, which
// writes the pool's output.
std::vector<Node> DistributePool(Graph& g, const Node& concat, const Node& pool,
                                 const std::vector<int64_t>& channels) {
  const std::vector<int64_t> out_dims = ValueType(g, pool.outputs[0]).dims;
  std::vector<Node> nodes;
  Node joined = concat;
  joined.name = pool.name + "/concat";
  joined.outputs = {pool.outputs[0]};
  joined.inputs.clear();
  for (size_t i = 0; i < channels.size(); ++i) {
    Node part = pool;
    part.name = pool.name + "/part" + std::to_string(i);
    part.inputs = {concat.inputs[i]};
    std::vector<int64_t> dims = out_dims;
    dims[1] = channels[i];
    part.outputs = {NewValue(g, part.name, dims)};
    joined.inputs.push_back(part.outputs[0]);
    nodes.push_back(std::move(part));
  }
  nodes.push_back(std::move(joined));
  return nodes;
}

// Conv1x1(Concat(parts), W, B) => one conv per part on its slice of W's input channels (B on the
// first), summed by Adds into the conv's output. Empty when W is not a constant [M, C, 1, 1], or
// has more elements than the Concat's output.
std::vector<Node> DistributeConv(GraphRewriter& rw, const Node& concat, const Node& conv,
                                 const std::vector<int64_t>& channels) {
  Graph& g = rw.graph();
  if (conv.inputs.size() < 2 || conv.inputs.size() > 3 || conv.outputs.size() != 1 ||
      ValueOr(conv.GetInt("group", 1), int64_t{0}) != 1) {
    return {};
  }
  const Tensor* w = rw.Constant(conv.inputs[1]);
  if (w == nullptr || w->dtype() != DType::kF32 || w->dims().size() != 4 || w->dims()[2] != 1 ||
      w->dims()[3] != 1) {
    return {};
  }
  const int64_t m = w->dims()[0], c = w->dims()[1];
  int64_t total = 0;
  for (int64_t part : channels) total += part;
  if (total != c) return {};
  // The weight slices are new memory, faulted in at load (SqueezeNet's 512 -> 1000 classifier:
  // 2 MB, +360 page faults, +5 ms). Worth it only when the weights are smaller than the
  // concatenated tensor that is no longer written and read on every run; a conv with more weights
  // than input is bound by its weights anyway (the classifier ran 1.42 ms split and unsplit).
  if (w->num_elements() > NumElements(ValueType(g, concat.outputs[0]).dims)) return {};
  const int bias = conv.inputs.size() == 3 ? conv.inputs[2] : Node::kNoValue;
  if (bias >= 0 && rw.Constant(bias) == nullptr) return {};
  const std::vector<int64_t> out_dims = ValueType(g, conv.outputs[0]).dims;
  if (out_dims.size() != 4) return {};

  std::vector<Node> nodes;
  int sum = Node::kNoValue;
  int64_t first_channel = 0;
  for (size_t i = 0; i < channels.size(); ++i) {
    Expected<Tensor> slice = Tensor::CreateUninitialized(DType::kF32, {m, channels[i], 1, 1});
    if (!slice.ok()) return {};
    const float* from = w->data<float>();
    float* to = slice->mutable_data<float>();
    for (int64_t o = 0; o < m; ++o) {
      for (int64_t k = 0; k < channels[i]; ++k)
        to[o * channels[i] + k] = from[o * c + first_channel + k];
    }
    first_channel += channels[i];
    Node part = conv;
    part.name = conv.name + "/part" + std::to_string(i);
    part.inputs = {concat.inputs[i], rw.AddConstant(part.name + "_W", std::move(slice).value())};
    if (i == 0 && bias >= 0) part.inputs.push_back(bias);
    const bool last = i + 1 == channels.size();
    part.outputs = {NewValue(g, part.name, out_dims)};
    const int part_out = part.outputs[0];
    nodes.push_back(std::move(part));
    if (sum == Node::kNoValue) {
      sum = part_out;
      continue;
    }
    Node add;
    add.name = conv.name + "/sum" + std::to_string(i);
    add.op_type = "Add";
    add.domain = conv.domain;
    add.opset = conv.opset;
    add.inputs = {sum, part_out};
    add.outputs = {last ? conv.outputs[0] : NewValue(g, add.name, out_dims)};
    sum = add.outputs[0];
    nodes.push_back(std::move(add));
  }
  return nodes;
}

// One sweep over the graph for pools (`pools`) or convs: each matching Concat and its reader are
// replaced, at the reader's place, by the distributed nodes.
Status Sweep(Graph& g, bool pools, std::vector<std::string>* log) {
  std::vector<std::vector<Node>> replacement(g.nodes.size());
  std::vector<char> dropped(g.nodes.size(), 0);
  int matches = 0;
  const size_t values_before = g.values.size();
  {
    // Queries only: the scan adds values (new ones are past the index, which then rebuilds) but
    // edits no node, so the producer/consumer index stays valid across matches.
    GraphRewriter rw(g);
    for (int n = 0; n < rw.num_nodes(); ++n) {
      const std::vector<int64_t> channels = ChannelParts(g, g.nodes[n]);
      if (channels.empty()) continue;
      const int reader = SoleReaderAsInput0(rw, g.nodes[n]);
      if (reader < 0 || !replacement[reader].empty()) continue;
      const Node& r = g.nodes[reader];
      std::vector<Node> nodes;
      const TensorType out = ValueType(g, r.outputs[0]);
      if (pools && (IsOnnxOp(r, "MaxPool") || IsOnnxOp(r, "AveragePool")) &&
          (r.outputs.size() == 1 || r.outputs[1] == Node::kNoValue) && out.rank() == 4 &&
          IsStaticF32(out)) {
        Node pool = r;
        pool.outputs.resize(1);
        nodes = DistributePool(g, g.nodes[n], pool, channels);
      } else if (!pools && IsOnnxOp(r, "Conv") && !r.has_attr("activation")) {
        nodes = DistributeConv(rw, g.nodes[n], r, channels);
      }
      if (nodes.empty()) continue;
      if (log != nullptr) {
        log->push_back("distributed Concat '" + g.nodes[n].name + "' over " + r.op_type + " '" +
                       r.name + "' (" + std::to_string(channels.size()) + " parts)");
      }
      dropped[n] = 1;
      replacement[reader] = std::move(nodes);
      ++matches;
    }
  }
  // Nothing to rebuild, unless a conv that declined had already added a value.
  if (matches == 0 && g.values.size() == values_before) return Status::Ok();
  std::vector<Node> old_nodes = std::move(g.nodes);
  g.nodes.clear();
  for (size_t n = 0; n < old_nodes.size(); ++n) {
    if (dropped[n]) continue;
    if (replacement[n].empty()) {
      g.nodes.push_back(std::move(old_nodes[n]));
    } else {
      for (Node& node : replacement[n]) g.nodes.push_back(std::move(node));
    }
  }
  GraphRewriter compact(g);  // drops the values left unreferenced (the old W and concat outputs)
  return compact.Finish();
}

}  // namespace

Status DistributeConcat(Graph& g, std::vector<std::string>* log) {
  // Pools first: the Concat they push down may then meet a 1x1 conv (SqueezeNet's fire4 ->
  // MaxPool -> fire5 squeeze).
  RETURN_IF_ERROR(Sweep(g, /*pools=*/true, log));
  return Sweep(g, /*pools=*/false, log);
}

}  // namespace edgerun
