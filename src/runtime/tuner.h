// Tactic selection, like TensorRT's kernel auto-tuning: when a node has candidate kernels on
// several paths (oneDNN, XNNPACK, reference), or several on one path (edgerun's own kernels ahead
// of the library's: matvec, the int8 depthwise and 1x1 convs), each is prepared and timed on the
// node's real shapes with scratch buffers, and the fastest is kept if it beats the static
// preference by 5% (kMinTunedGain), again when both are timed once more. A kernel that names its
// implementation (oneDNN's) is also timed with each alternative implementation its library lists
// (PrepareContext::tactic): the AMX or the VNNI int8 conv, jit_dw or brdgmm_dw, brgconv or jit.
// Choices are cached in a small text file keyed by a hash of the optimized graph (ops, attributes,
// shapes, small constants by value, weights by size: see kMaxHashedConstantBytes), the bound
// input shapes, the thread count, the CPU and every backend's library version, so the next
// session creation reads it instead of timing, asking only the cached path for each node.
// Usage (inside Session::Create):
//   TuningCache cache = TuningCache::Load(dir, key);
//   ASSIGN_OR_RETURN(auto pick, TuneNode(node, in_types, constants, out_types, candidates, ...));
//   cache.Set(node.name, pick.kernel->path, pick.tactic, pick.ordinal); cache.Save();
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace edgerun {

// Raised whenever the way candidates are timed changes, so that choices cached by an earlier
// tuner are timed again. 2: at several threads with oneDNN among the paths, the other paths are
// timed on the calling thread (revision 1 timed them on the session's pool), and an alternative's
// win is confirmed by timing it and the static preference again. 3: every kernel of a path that
// claims a node is timed, not just the first. 4: edgerun's int8 1x1 kernel (qpointwise_vnni) went
// ahead of oneDNN's on the oneDNN path, so a cached kernel ordinal ("onednn+1") names another one.
// 5: the same for Mul and Add (channel_binary) and for one-pixel 1x1 Convs (matvec). 6: and for
// int8 convs of few input channels (qstem_vnni). 7: and for 3x3 f32 convs (winograd_conv).
inline constexpr uint64_t kTunerRevision = 7;

// The cache key: a hex digest of everything a timing depends on.
// `winograd` is SessionOptions::winograd (it changes what a oneDNN conv candidate runs).
std::string TuningKey(const std::string& model_path, const Graph& graph, int num_threads,
                      bool winograd);

// Default cache directory: $EDGERUN_CACHE/tune, else ~/.cache/edgerun/tune.
std::string DefaultTuningDir();

class TuningCache {
 public:
  // Reads <dir>/<key>.tune when it exists; a missing or unreadable file is an empty cache.
  static TuningCache Load(const std::string& dir, const std::string& key);
  bool loaded() const { return loaded_; }
  // The cached path for a node, if any, which of the path's kernels that claim the node
  // (KernelCandidates::ordinal, 0 when none was cached) and the tactic on it (0 likewise). On
  // disk: "onednn", "onednn:2" (tactic 2), "onednn+1" (the second kernel), "onednn+1:2".
  const KernelPath* Find(const std::string& node_name) const;
  int KernelOf(const std::string& node_name) const;
  int TacticOf(const std::string& node_name) const;
  void Set(const std::string& node_name, KernelPath path, int tactic = 0, int kernel = 0) {
    choices_[node_name] = Choice{path, kernel, tactic};
  }
  // Writes the file (creating the directory); failures are reported, never fatal to the caller.
  Status Save() const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  bool loaded_ = false;
  struct Choice {
    KernelPath path;
    int kernel = 0;
    int tactic = 0;
  };
  std::map<std::string, Choice> choices_;
};

struct TunedKernel {
  const KernelDef* kernel = nullptr;
  int ordinal = 0;  // of the candidates on its path (KernelCandidates::ordinal)
  std::unique_ptr<KernelState> state;
  size_t scratch_bytes = 0;
  uint32_t packed_constant_inputs = 0;
  int tactic = 0;  // PrepareContext::tactic it was prepared with
  double best_ms = 0;
};

// Whether a timed alternative replaces the static preference (the first candidate's own choice):
// only when faster by kMinTunedGain. Without a margin, near-ties decided on timing noise: on the
// AMD Zen 4, MobileNetV2 moved 30 of its 55 nodes to XNNPACK, most within 5%, and a depthwise
// conv to another implementation because its preferred one once timed 0.64 ms for 0.17. The whole
// model ran the same either way (6.6-6.9 ms tuned, 6.6-7.0 untuned; with the margin 6.8, 7 nodes
// on XNNPACK): the margin keeps the measured static choices unless a real gain shows.
inline constexpr double kMinTunedGain = 0.05;
inline bool TunedAlternativeWins(double preferred_ms, double alternative_ms) {
  return alternative_ms < preferred_ms * (1.0 - kMinTunedGain);
}

// Prepares and times every candidate on heap buffers (random inputs, the real constants) and
// returns the fastest, already prepared; the static preference unless an alternative wins by
// kMinTunedGain, and still does after both are timed twice more (each keeps its best time).
// `report` gets "name: onednn 0.12 ms, xnnpack 0.09 ms; best after timing both again: 0.11 ms,
// 0.09 ms -> xnnpack"; alternative implementations appear as "onednn#1 (jit_1x1:avx512_core)".
Expected<TunedKernel> TuneNode(const Node& node, std::span<const TensorType> inputs,
                               std::span<const Tensor* const> constants,
                               std::span<const TensorType> outputs,
                               std::span<const KernelDef* const> candidates, int num_threads,
                               bool share_every_layer, bool winograd, pthreadpool_t pool,
                               std::string* report);

}  // namespace edgerun
