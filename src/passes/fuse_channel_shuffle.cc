// FuseChannelShuffle: ShuffleNet's Reshape -> Transpose -> Reshape as one ChannelShuffle op.
// FuseConcatIntoChannelShuffle and FuseSlicesIntoChannelShuffle: the Concat before it and the
// Slices after it folded in (one pass over the data instead of three).
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {
namespace {

// The node that alone reads `v` when it is `op` (ONNX domain, one output), else -1.
int SoleReaderOp(GraphRewriter& rw, int v, std::string_view op) {
  if (v < 0 || rw.graph().IsGraphOutput(v)) return -1;
  const std::vector<int>& readers = rw.Consumers(v);
  if (readers.size() != 1) return -1;
  const Node& n = rw.node(readers[0]);
  return IsOnnxOp(n, op) && n.outputs.size() == 1 && n.inputs[0] == v ? readers[0] : -1;
}

bool TryFuse(GraphRewriter& rw, int r1, std::vector<std::string>* log) {
  const Graph& g = rw.graph();
  const Node& reshape1 = rw.node(r1);
  if (!IsOnnxOp(reshape1, "Reshape") || reshape1.inputs.empty() || reshape1.outputs.size() != 1) {
    return false;
  }
  const int x = reshape1.inputs[0], split = reshape1.outputs[0];
  const TensorType xt = ValueType(g, x), st = ValueType(g, split);
  if (!IsStaticType(xt) || !IsStaticType(st) || st.rank() != xt.rank() + 1) return false;
  // x [.., C, ..] viewed as [.., g, C/g, ..] at some axis a.
  int axis = -1;
  for (int a = 0; a < xt.rank() && axis < 0; ++a) {
    bool same = true;
    for (int d = 0; d < a; ++d) same = same && st.dims[d] == xt.dims[d];
    for (int d = a + 1; d < xt.rank(); ++d) same = same && st.dims[d + 1] == xt.dims[d];
    if (same && st.dims[a] > 1 && st.dims[a] * st.dims[a + 1] == xt.dims[a]) axis = a;
  }
  if (axis < 0) return false;
  const int t = SoleReaderOp(rw, split, "Transpose");
  if (t < 0) return false;
  const std::vector<int64_t> perm = ValueOr(rw.node(t).GetInts("perm", {}), std::vector<int64_t>{});
  if (static_cast<int>(perm.size()) != st.rank()) return false;
  for (int d = 0; d < st.rank(); ++d) {
    const int64_t want = d == axis ? axis + 1 : d == axis + 1 ? axis : d;
    if (perm[d] != want) return false;
  }
  const int r2 = SoleReaderOp(rw, rw.node(t).outputs[0], "Reshape");
  if (r2 < 0) return false;
  const int out = rw.node(r2).outputs[0];
  if (!(ValueType(g, out) == xt)) return false;

  Node fused;
  fused.name = rw.node(r2).name;
  fused.op_type = "ChannelShuffle";
  fused.domain = std::string(kEdgerunDomain);
  fused.opset = 1;
  fused.inputs = {x};
  fused.outputs = {out};
  fused.attrs["group"] = Attribute::Int(st.dims[axis]);
  fused.attrs["axis"] = Attribute::Int(axis);
  if (!CanRunOnReferencePath(g, fused)) return false;
  const std::string what = "Reshape '" + reshape1.name + "', Transpose '" + rw.node(t).name +
                           "', Reshape '" + rw.node(r2).name + "'";
  rw.RemoveNode(r1);
  rw.RemoveNode(t);
  rw.node(r2) = std::move(fused);
  rw.Invalidate();
  if (log != nullptr)
    log->push_back("fused " + what + " into ChannelShuffle '" + rw.node(r2).name + "'");
  return true;
}

int NormalizedAxis(const Node& n, int64_t fallback, int rank) {
  const int64_t axis = ValueOr(n.GetInt("axis", fallback), int64_t{-1000});
  if (axis < -rank || axis >= rank) return -1;
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

bool TryFoldConcat(GraphRewriter& rw, int s, std::vector<std::string>* log) {
  const Node& shuffle = rw.node(s);
  if (shuffle.op_type != "ChannelShuffle" || shuffle.domain != kEdgerunDomain ||
      shuffle.inputs.size() != 1) {
    return false;
  }
  const int concat_out = shuffle.inputs[0];
  const int c = rw.Producer(concat_out);
  if (c < 0 || !IsOnnxOp(rw.node(c), "Concat") || !rw.HasSoleConsumer(concat_out, s)) return false;
  const Node& concat = rw.node(c);
  const int rank = ValueType(rw.graph(), concat_out).rank();
  const int axis = NormalizedAxis(shuffle, 1, rank);
  if (rank < 1 || axis < 0 || NormalizedAxis(concat, 0, rank) != axis) return false;
  for (int v : concat.inputs) {
    if (v == Node::kNoValue) return false;
  }
  const std::string what = "Concat '" + concat.name + "'";
  rw.node(s).inputs = concat.inputs;
  rw.RemoveNode(c);
  rw.Invalidate();
  if (log != nullptr) {
    log->push_back("fused " + what + " into ChannelShuffle '" + rw.node(s).name + "'");
  }
  return true;
}

// The single value of an integer constant, if `v` is one.
std::optional<int64_t> ScalarInt(GraphRewriter& rw, int v) {
  const Tensor* t = v == Node::kNoValue ? nullptr : rw.Constant(v);
  if (t == nullptr || t->num_elements() != 1 || !IsInteger(t->dtype())) return std::nullopt;
  return t->ScalarAsInt();
}

// [start, end) of a Slice of one axis with step 1 over an axis of size `size`, when `slice` is
// one with constant starts, ends and axes naming `axis`.
std::optional<std::pair<int64_t, int64_t>> SliceRange(GraphRewriter& rw, const Node& slice,
                                                      int axis, int rank, int64_t size) {
  if (!IsOnnxOp(slice, "Slice") || slice.opset < 10 || slice.inputs.size() < 4 ||
      slice.outputs.size() != 1) {
    return std::nullopt;
  }
  const std::optional<int64_t> start = ScalarInt(rw, slice.inputs[1]);
  const std::optional<int64_t> end = ScalarInt(rw, slice.inputs[2]);
  const std::optional<int64_t> slice_axis = ScalarInt(rw, slice.inputs[3]);
  if (!start || !end || !slice_axis ||
      (*slice_axis < 0 ? *slice_axis + rank : *slice_axis) != axis) {
    return std::nullopt;
  }
  if (slice.inputs.size() > 4 && slice.inputs[4] != Node::kNoValue) {
    const std::optional<int64_t> step = ScalarInt(rw, slice.inputs[4]);
    if (!step || *step != 1) return std::nullopt;
  }
  auto clamp = [size](int64_t i) { return std::clamp(i < 0 ? i + size : i, int64_t{0}, size); };
  return std::make_pair(clamp(*start), clamp(*end));
}

bool TryFoldSlices(GraphRewriter& rw, int s, std::vector<std::string>* log) {
  const Node& shuffle = rw.node(s);
  if (shuffle.op_type != "ChannelShuffle" || shuffle.domain != kEdgerunDomain ||
      shuffle.outputs.size() != 1 || rw.graph().IsGraphOutput(shuffle.outputs[0])) {
    return false;
  }
  const int y = shuffle.outputs[0];
  const TensorType yt = ValueType(rw.graph(), y);
  const int rank = yt.rank();
  const int axis = NormalizedAxis(shuffle, 1, rank);
  if (axis < 0 || yt.dims[axis] <= 0) return false;
  const std::vector<int> readers = rw.Consumers(y);
  const auto parts = static_cast<int64_t>(readers.size());
  if (parts < 2 || yt.dims[axis] % parts != 0) return false;
  const int64_t width = yt.dims[axis] / parts;
  // Every reader is a Slice of `y` alone; together they cover the axis in equal parts.
  std::vector<int> outputs(parts, Node::kNoValue);
  for (int r : readers) {
    const Node& slice = rw.node(r);
    for (size_t i = 1; i < slice.inputs.size(); ++i) {
      if (slice.inputs[i] == y) return false;
    }
    const auto range = SliceRange(rw, slice, axis, rank, yt.dims[axis]);
    if (!range || range->first % width != 0 || range->second != range->first + width) return false;
    int& slot = outputs[range->first / width];
    if (slot != Node::kNoValue) return false;
    slot = slice.outputs[0];
  }
  std::string what;
  for (int r : readers) {
    what += (what.empty() ? "Slice '" : ", Slice '") + rw.node(r).name + "'";
    rw.RemoveNode(r);
  }
  rw.node(s).outputs = outputs;
  rw.Invalidate();
  if (log != nullptr) {
    log->push_back("fused " + what + " into ChannelShuffle '" + rw.node(s).name + "'");
  }
  return true;
}

}  // namespace

Status FuseSlicesIntoChannelShuffle(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (!rw.removed(n)) TryFoldSlices(rw, n, log);
  }
  return rw.Finish();
}

Status FuseConcatIntoChannelShuffle(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (!rw.removed(n)) TryFoldConcat(rw, n, log);
  }
  return rw.Finish();
}

Status FuseChannelShuffle(Graph& g, std::vector<std::string>* log) {
  GraphRewriter rw(g);
  for (int n = 0; n < rw.num_nodes(); ++n) {
    if (!rw.removed(n)) TryFuse(rw, n, log);
  }
  return rw.Finish();
}

}  // namespace edgerun
