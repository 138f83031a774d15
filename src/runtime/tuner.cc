// Tactic selection and its on-disk cache.
#include "runtime/tuner.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "core/hash.h"
#include "kernels/backend.h"

namespace edgerun {
namespace {

// Implementations tried per kernel: its own choice and the first 5 entries of the library's list.
// On the Intel Xeon measured, an int8 conv's list holds an AMX and a VNNI kernel and a depthwise
// conv's jit_dw and brdgmm_dw, repeated under further entries; each try costs a primitive's
// code generation and a weight packing, once, at a tuning load.
constexpr int kMaxTactics = 6;
// Rounds of re-timing the static preference and the winning alternative before the alternative
// replaces it.
constexpr int kConfirmRounds = 2;

// Constants up to this size enter the tuning key by value: scales, zero points, shapes and
// bounds, which can decide which kernels take a node. Larger ones (weights) enter by dtype and
// size only: their values do not change a kernel's time, and hashing them was most of what made a
// cached --tune load slower than an untuned one (TuningKey: 4% of MobileNetV3-small's, 10 MB of
// weights hashed per load). A retrained model of the same architecture reuses the choices, as a
// TensorRT timing cache does; a cached path that no longer claims a node is timed again.
constexpr size_t kMaxHashedConstantBytes = 16 << 10;

std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown-cpu";
}

// Fills a buffer with small random values of its dtype (timings must not hit denormals/NaN).
void FillForTiming(Tensor& t, std::mt19937& rng) {
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  const int64_t n = t.num_elements();
  if (t.dtype() == DType::kF32) {
    float* p = t.mutable_data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = uni(rng);
  } else {
    auto* p = static_cast<unsigned char*>(t.mutable_raw());
    for (size_t i = 0; i < t.bytes(); ++i) p[i] = static_cast<unsigned char>(rng() & 0x3f);
  }
}

// Times a prepared kernel (its state and scratch size) on the given views: the best of a few
// runs after a warm-up, at least ~2 ms of timing in all. nullopt when its setup or first run
// fails (the next candidate runs).
Expected<std::optional<double>> TimePrepared(const KernelDef& k, const Node& node,
                                             KernelState* state, size_t scratch_bytes,
                                             std::span<const TensorView> in_views,
                                             std::span<TensorView> out_views, pthreadpool_t pool) {
  std::unique_ptr<std::byte, decltype(&std::free)> scratch(nullptr, &std::free);
  if (scratch_bytes > 0) {
    const size_t bytes = (scratch_bytes + 63) / 64 * 64;
    scratch.reset(static_cast<std::byte*>(std::aligned_alloc(64, bytes)));
    if (!scratch) return ResourceExhausted(node.Describe() + ": cannot allocate tuning scratch");
  }
  if (k.setup != nullptr) {
    SetupContext s{node, state, in_views, out_views, scratch.get(), scratch_bytes, pool};
    if (!k.setup(s).ok()) return std::optional<double>();
  }
  InvokeContext ictx{node, state, in_views, out_views, scratch.get(), scratch_bytes, pool};
  if (!k.invoke(ictx).ok()) return std::optional<double>();  // warm-up (caches, lazy kernels)
  double best_ms = 1e30, total = 0;
  for (int r = 0; r < 20 && (r < 3 || total < 2.0); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(k.invoke(ictx));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    best_ms = std::min(best_ms, ms);
    total += ms;
  }
  return std::optional<double>(best_ms);
}

}  // namespace

std::string TuningKey(const std::string& model_path, const Graph& graph, int num_threads,
                      bool winograd) {
  Hasher h;
  for (const Value& v : graph.values) {
    h.Str(v.name);
    if (v.shape) {
      for (int64_t d : StaticDims(*v.shape)) h.Mix(static_cast<uint64_t>(d));
    }
    if (!v.is_constant()) continue;
    h.Mix(static_cast<uint64_t>(v.constant->dtype()));
    h.Mix(v.constant->bytes());
    if (v.constant->bytes() <= kMaxHashedConstantBytes) {
      h.Bytes(v.constant->raw(), v.constant->bytes());
    }
  }
  for (const Node& n : graph.nodes) {
    h.Str(n.op_type);
    h.Str(n.domain);
    for (int v : n.inputs) h.Mix(static_cast<uint64_t>(v));
    for (const auto& [name, attr] : n.attrs) {
      h.Str(name);
      h.Mix(static_cast<uint64_t>(attr.i));
      for (int64_t i : attr.ints) h.Mix(static_cast<uint64_t>(i));
      h.Str(attr.s);
    }
  }
  h.Mix(static_cast<uint64_t>(num_threads));
  h.Mix(winograd ? 1 : 0);
  h.Mix(kTunerRevision);
  h.Str(CpuName());
  for (const BackendDef& b : AllBackends()) h.Str(b.version());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h.h));
  (void)model_path;
  return buf;
}

std::string DefaultTuningDir() {
  if (const char* c = std::getenv("EDGERUN_CACHE"); c != nullptr && *c) {
    return std::string(c) + "/tune";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.cache/edgerun/tune";
}

TuningCache TuningCache::Load(const std::string& dir, const std::string& key) {
  TuningCache c;
  c.file_ = dir + "/" + key + ".tune";
  std::ifstream in(c.file_);
  if (!in) return c;
  std::string line;
  if (!std::getline(in, line) || line != "edgerun-tune 1") return c;
  while (std::getline(in, line)) {
    const size_t tab = line.rfind('\t');
    if (tab == std::string::npos) {
      c.choices_.clear();  // a corrupt file is ignored and rewritten
      return c;
    }
    std::string path = line.substr(tab + 1);
    // "onednn+1:2": the path's second kernel, tactic 2 (files without them name 0).
    int tactic = 0, kernel = 0;
    bool valid = true;
    for (const auto& [mark, number] : {std::pair{':', &tactic}, std::pair{'+', &kernel}}) {
      const size_t at = path.find(mark);
      if (at == std::string::npos) continue;
      const std::string digits = path.substr(at + 1);
      valid = valid && !digits.empty() && digits.size() <= 3 &&
              digits.find_first_not_of("0123456789") == std::string::npos;
      if (valid) *number = std::stoi(digits);
      path.resize(at);
    }
    if (!valid) {
      c.choices_.clear();  // a corrupt file is ignored and rewritten
      return c;
    }
    KernelPath p;
    if (path == "ref") {
      p = KernelPath::kReference;
    } else if (path == "xnnpack") {
      p = KernelPath::kXnnpack;
    } else if (path == "onednn") {
      p = KernelPath::kOnednn;
    } else {
      c.choices_.clear();
      return c;
    }
    c.choices_[line.substr(0, tab)] = Choice{p, kernel, tactic};
  }
  c.loaded_ = true;
  return c;
}

const KernelPath* TuningCache::Find(const std::string& node_name) const {
  auto it = choices_.find(node_name);
  return it == choices_.end() ? nullptr : &it->second.path;
}

int TuningCache::KernelOf(const std::string& node_name) const {
  auto it = choices_.find(node_name);
  return it == choices_.end() ? 0 : it->second.kernel;
}

int TuningCache::TacticOf(const std::string& node_name) const {
  auto it = choices_.find(node_name);
  return it == choices_.end() ? 0 : it->second.tactic;
}

Status TuningCache::Save() const {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file_).parent_path(), ec);
  const std::string tmp = file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return InvalidArgument("cannot write the tuning cache " + tmp);
    out << "edgerun-tune 1\n";
    for (const auto& [name, choice] : choices_) {
      out << name << '\t' << KernelPathName(choice.path);
      if (choice.kernel != 0) out << '+' << choice.kernel;
      if (choice.tactic != 0) out << ':' << choice.tactic;
      out << '\n';
    }
    if (!out) return InvalidArgument("cannot write the tuning cache " + tmp);
  }
  std::filesystem::rename(tmp, file_, ec);  // atomic: concurrent loads see old or new, not half
  if (ec) return InvalidArgument("cannot write the tuning cache " + file_ + ": " + ec.message());
  return Status::Ok();
}

Expected<TunedKernel> TuneNode(const Node& node, std::span<const TensorType> inputs,
                               std::span<const Tensor* const> constants,
                               std::span<const TensorType> outputs,
                               std::span<const KernelDef* const> candidates, int num_threads,
                               bool share_every_layer, bool winograd, pthreadpool_t pool,
                               std::string* report) {
  std::mt19937 rng(1234);
  std::vector<Tensor> in_buf(inputs.size()), out_buf(outputs.size());
  std::vector<TensorView> in_views(inputs.size()), out_views(outputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype == DType::kUndefined) continue;
    if (constants[i] != nullptr) {
      in_views[i] = constants[i]->view();
      continue;
    }
    ASSIGN_OR_RETURN(in_buf[i], Tensor::Create(inputs[i].dtype, inputs[i].dims));
    FillForTiming(in_buf[i], rng);
    in_views[i] = in_buf[i].view();
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].dtype == DType::kUndefined) continue;
    ASSIGN_OR_RETURN(out_buf[i], Tensor::Create(outputs[i].dtype, outputs[i].dims));
    out_views[i] = out_buf[i].view();
  }

  // The static preference (the first kernel timed, its own choice) and the fastest alternative.
  TunedKernel preferred, best;
  preferred.best_ms = best.best_ms = -1;
  std::string line;
  std::map<KernelPath, int> kernels_on_path;
  for (const KernelDef* k : candidates) {
    const int ordinal = kernels_on_path[k->path]++;  // candidates come path by path
    // Tactic 0 is the kernel's own choice; further tactics only for a kernel that names its
    // implementation, until the library has no more or one repeats (a kernel without
    // alternatives ignores the tactic and builds the same one again).
    std::vector<std::string> implementations;
    for (int tactic = 0; tactic < kMaxTactics; ++tactic) {
      PrepareContext pctx{node, inputs, constants, outputs, num_threads};
      pctx.threadpool = pool;
      pctx.share_every_layer = share_every_layer;
      pctx.winograd = winograd;
      pctx.tactic = tactic;
      if (k->prepare != nullptr && !k->prepare(pctx).ok()) {
        if (tactic == 0) break;  // the next candidate runs
        continue;                // oneDNN may reject one implementation and accept the next
      }
      const std::string implementation =
          pctx.state != nullptr ? std::string(pctx.state->implementation()) : std::string();
      if (tactic > 0 && implementation.empty()) break;  // no alternatives: the same kernel
      if (std::find(implementations.begin(), implementations.end(), implementation) !=
          implementations.end()) {
        continue;  // one implementation under several entries of the library's list
      }
      implementations.push_back(implementation);
      ASSIGN_OR_RETURN(
          std::optional<double> timed,
          TimePrepared(*k, node, pctx.state.get(), pctx.scratch_bytes, in_views, out_views, pool));
      if (!timed) continue;
      const double best_ms = *timed;
      if (!line.empty()) line += ", ";
      line += std::string(KernelPathName(k->path));
      if (tactic > 0) line.append("#").append(std::to_string(tactic));
      if (!implementation.empty()) line += " (" + implementation + ")";
      char buf[32];
      std::snprintf(buf, sizeof(buf), " %.4f ms", best_ms);
      line += buf;
      TunedKernel& slot = preferred.kernel == nullptr ? preferred : best;
      if (slot.best_ms < 0 || best_ms < slot.best_ms) {
        slot.kernel = k;
        slot.ordinal = ordinal;
        slot.state = std::move(pctx.state);
        slot.scratch_bytes = pctx.scratch_bytes;
        slot.packed_constant_inputs = pctx.packed_constant_inputs;
        slot.tactic = tactic;
        slot.best_ms = best_ms;
      }
    }
  }
  if (preferred.kernel == nullptr)
    return Unsupported(node.Describe() + ": no candidate kernel prepared");
  // A win is confirmed by timing both again, in turn: one timing can fall in a slow phase of the
  // host that the other missed (at 2 threads, a core just woken: MobileNetV2's first conv timed
  // 0.20-0.25 ms on oneDNN, 0.075 again later, and went to XNNPACK at 0.16).
  int rounds = 0;
  for (; rounds < kConfirmRounds && best.kernel != nullptr &&
         TunedAlternativeWins(preferred.best_ms, best.best_ms);
       ++rounds) {
    for (TunedKernel* t : {&preferred, &best}) {
      ASSIGN_OR_RETURN(std::optional<double> again,
                       TimePrepared(*t->kernel, node, t->state.get(), t->scratch_bytes, in_views,
                                    out_views, pool));
      if (again) t->best_ms = std::min(t->best_ms, *again);
    }
  }
  if (rounds > 0) {
    line += fmt::format("; best after timing both again: {:.4f} ms, {:.4f} ms", preferred.best_ms,
                        best.best_ms);
  }
  if (best.kernel == nullptr || !TunedAlternativeWins(preferred.best_ms, best.best_ms)) {
    best = std::move(preferred);
  }
  if (report != nullptr) {
    *report = node.name + ": " + line + " -> " + std::string(KernelPathName(best.kernel->path));
    if (best.tactic > 0) report->append("#").append(std::to_string(best.tactic));
  }
  return best;
}

}  // namespace edgerun
