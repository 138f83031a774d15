// Session: creation pipeline (bind -> infer/fold -> passes -> select -> prepare -> plan -> setup)
// and the allocation-free Run loop.
#include "edgerun/session.h"

#include <fmt/format.h>
#include <pthreadpool.h>

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>

#include "core/cpu_features.h"
#include "core/denormals.h"
#include "core/packed_weight_cache.h"
#include "kernels/backend.h"
#include "kernels/kernel.h"
#include "passes/passes.h"
#include "planner/arena_planner.h"
#include "runtime/infer_and_fold.h"
#include "runtime/macs.h"
#include "runtime/tuner.h"

namespace edgerun {

std::string_view KernelPathName(KernelPath p) {
  switch (p) {
    case KernelPath::kReference:
      return "ref";
    case KernelPath::kXnnpack:
      return "xnnpack";
    case KernelPath::kOnednn:
      return "onednn";
  }
  return "?";
}

namespace {

constexpr size_t kNoOffset = static_cast<size_t>(-1);
// Mean MACs per conv/matmul layer from which spinning workers share every layer (see Create).
constexpr double kMinMeanMacsToShareEveryLayer = 0.8e6;

size_t AlignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

struct NodeExec {
  const KernelDef* kernel = nullptr;
  std::unique_ptr<KernelState> state;
  size_t scratch_bytes = 0;
  size_t scratch_offset = 0;
  uint32_t packed_constant_inputs = 0;  // see PrepareContext
  int in_begin = 0, in_count = 0, out_begin = 0, out_count = 0;
};

// Disjoint-set over values, for buffers shared by in-place and aliasing kernels.
struct AliasGroups {
  std::vector<int> parent;
  explicit AliasGroups(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int Find(int v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
  }
  void Join(int keep, int other) { parent[Find(other)] = Find(keep); }
};

// Pins each pool thread (and the calling thread) to its own core: every thread takes one item
// and waits until all have, so no thread can take two.
struct PinTask {
  std::atomic<int> arrived{0};
  std::atomic<int> failed{0};
  int n = 1;
};
void PinOne(void* ctx, size_t i) {
  auto* t = static_cast<PinTask*>(ctx);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<int>(i) % CPU_SETSIZE, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) t->failed.fetch_add(1);
  t->arrived.fetch_add(1);
  while (t->arrived.load() < t->n) {
  }
}
Status PinPoolThreads(pthreadpool_t pool, int n) {
  PinTask task;
  task.n = n;
  if (pool == nullptr) {
    PinOne(&task, 0);
  } else {
    pthreadpool_parallelize_1d(pool, PinOne, &task, static_cast<size_t>(n), 0);
  }
  if (task.failed.load() > 0) {
    return InvalidArgument("cannot pin threads to cores 0.." + std::to_string(n - 1));
  }
  return Status::Ok();
}

}  // namespace

struct Session::Impl {
  std::string model_path;
  Graph graph;
  // Packed weights of the kernel states, in fresh memory or mapped from the weight cache;
  // declared before `execs` so they outlive them.
  std::unique_ptr<WeightPool> weight_pool;
  std::unique_ptr<PackedWeightCache> weight_cache;
  std::vector<NodeExec> execs;
  std::vector<TensorView> value_views;  // per value
  std::vector<TensorView> io_views;     // per node: inputs then outputs, flattened
  size_t arena_bytes = 0;
  std::byte* arena = nullptr;
  LargeBuffer owned_arena;
  pthreadpool_t pool = nullptr;
  bool profiling = false;
  std::vector<NodeProfile> profile;
  std::vector<std::string> pass_log;
  LoadProfile load_profile;
  int num_threads = 1;
  std::vector<void (*)(int)> before_run;  // backend hooks used by this session's kernels
  bool flush_denormals = false;
  std::vector<void (*)(int, bool)> set_worker_denormals;  // likewise

  ~Impl() {
    if (pool != nullptr) pthreadpool_destroy(pool);
  }
};

namespace {

// Frees the storage of a constant as soon as its last reader has packed it into its kernel state
// (oneDNN and XNNPACK weights): the session then holds one copy of each weight, not two, and the
// peak stays near one copy too. The value keeps its dtype and dims, so the graph still describes
// the model; views bound later to a released constant have a null pointer, which only kernels
// that declared the input packed ever see.
class PackedConstantReleaser {
 public:
  explicit PackedConstantReleaser(const Graph& g)
      : pending_readers_(g.values.size(), 0), keep_(g.values.size(), 0) {
    for (int v : g.outputs) keep_[v] = 1;
    for (const Node& node : g.nodes) {
      for (int v : node.inputs) {
        if (v >= 0 && g.values[v].is_constant()) ++pending_readers_[v];
      }
    }
  }

  // The constant inputs whose pages the node's kernel may give back while packing them: read by
  // this node alone (once), not a graph output, held by this graph alone, in a private writable
  // buffer.
  uint32_t ConsumableInputs(const Graph& g, const Node& node) const {
    uint32_t bits = 0;
    for (size_t i = 0; i < node.inputs.size() && i < 32; ++i) {
      const int v = node.inputs[i];
      if (v < 0 || pending_readers_[v] != 1 || keep_[v]) continue;
      // Not when a Model the caller keeps (Session::Create(const Model&)) shares the Tensor.
      if (g.values[v].HasExclusiveConstant()) bits |= 1u << i;
    }
    return bits;
  }

  void NodePrepared(Graph& g, const Node& node, uint32_t packed_inputs) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (v < 0 || !g.values[v].is_constant()) continue;
      if (i >= 32 || (packed_inputs & (1u << i)) == 0) keep_[v] = 1;
      if (--pending_readers_[v] > 0 || keep_[v]) continue;
      const Tensor& t = *g.values[v].constant;
      if (!t.has_data()) continue;
      g.values[v].constant =
          std::make_shared<const Tensor>(Tensor::Wrap(t.dtype(), t.dims(), nullptr, nullptr));
    }
  }

 private:
  std::vector<int> pending_readers_;
  std::vector<char> keep_;
};

}  // namespace

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Expected<std::unique_ptr<Session>> Session::Create(const Model& model,
                                                   const SessionOptions& options) {
  Model copy = model;
  return Create(std::move(copy), options);
}

namespace {

using LoadClock = std::chrono::steady_clock;

double MsSince(LoadClock::time_point start) {
  return std::chrono::duration<double, std::milli>(LoadClock::now() - start).count();
}

// "path size S mtime T inode I device D" of a file; empty if it cannot be read.
std::string FileIdentity(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  return fmt::format("{} size {} mtime {}.{:09} inode {} device {}", ec ? path : canonical.string(),
                     st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ino, st.st_dev);
}

// The binary holding edgerun's kernels (the executable, or a shared library): another build may
// pack differently.
std::string EngineBinaryIdentity() {
  Dl_info info{};
  // A relative name (the main program's argv[0]) would resolve against the working directory.
  if (::dladdr(reinterpret_cast<void*>(&FileIdentity), &info) != 0 && info.dli_fname != nullptr &&
      info.dli_fname[0] == '/') {
    if (std::string id = FileIdentity(info.dli_fname); !id.empty()) return id;
  }
  return FileIdentity("/proc/self/exe");
}

// Everything the packed-weight cache file of a model depends on besides each entry's own name
// (which carries the layouts and a fingerprint of the source bytes): empty when the model does
// not come from a file.
std::string WeightCacheKey(const std::string& model_path, const Graph& graph,
                           const SessionOptions& options) {
  const std::string model = FileIdentity(model_path);
  if (model.empty()) return "";
  std::string key = "model " + model + "\n";
  for (const std::string& file : graph.data_files) key += "data " + FileIdentity(file) + "\n";
  key += "edgerun " + EngineBinaryIdentity() + "\n";
  for (const BackendDef& b : AllBackends()) key += b.version() + "\n";
  key += options.optimize ? "optimized\n" : "as written\n";
  return key;
}

std::string MiB(size_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

}  // namespace

Expected<std::unique_ptr<Session>> Session::Create(Model&& model, const SessionOptions& options) {
  const LoadClock::time_point create_start = LoadClock::now();
  auto impl = std::make_unique<Impl>();
  impl->model_path = model.path;
  const std::string prefix = model.path.empty() ? std::string("model") : model.path;
  Graph& g = impl->graph;
  g = std::move(model.graph);
  model.graph = Graph{};
  // Keyed by the files as they are now, before anything reads the weights.
  const std::string weight_cache_key =
      options.weight_cache_dir.empty() ? "" : WeightCacheKey(model.path, g, options);

  // Every unknown op at once, so the user sees the whole list.
  std::vector<const Node*> unknown = FindUnknownOps(g);
  if (!unknown.empty()) {
    std::string msg =
        std::to_string(unknown.size()) + " unsupported op" + (unknown.size() > 1 ? "s" : "") + ": ";
    for (size_t i = 0; i < unknown.size(); ++i) msg += (i ? ", " : "") + unknown[i]->Describe();
    return Unsupported(msg).WithPrefix(prefix);
  }
  // Kernel paths: the caller's order (unavailable backends dropped) or this CPU's default.
  std::vector<KernelPath> path_order;
  if (options.kernel_paths.empty()) {
    path_order = DefaultPathOrder();
  } else {
    for (KernelPath p : options.kernel_paths) {
      const BackendDef* b = FindBackend(p);
      if (b != nullptr && b->available() &&
          std::find(path_order.begin(), path_order.end(), p) == path_order.end()) {
        path_order.push_back(p);
      }
    }
    if (path_order.empty()) {
      return InvalidArgument("none of the requested kernel paths is available on this machine");
    }
  }
  const bool fast_paths = std::any_of(path_order.begin(), path_order.end(),
                                      [](KernelPath p) { return p != KernelPath::kReference; });
  impl->num_threads = std::max(1, options.num_threads);
  // The pthreadpool serves XNNPACK and the reference kernels. It is made once the kernels are
  // chosen, as oneDNN brings its own OpenMP team. Tuning times candidates on the threads they will
  // run on, so without oneDNN among the paths the pool comes first. With oneDNN its OpenMP team
  // owns the threads as soon as one node runs on it (see "One threading runtime per run" below)
  // and the other kernels run on the calling thread: they are timed there. Timed on the pool,
  // XNNPACK won 27 of ResNet-50's convs at 2 threads, which then ran on one (47 ms against 25).
  auto make_pool = [&]() -> Status {
    if (impl->num_threads > 1) {
      impl->pool = pthreadpool_create(static_cast<size_t>(impl->num_threads));
      if (impl->pool == nullptr) return ResourceExhausted("cannot create the thread pool");
    }
    return options.pin_threads ? PinPoolThreads(impl->pool, impl->num_threads) : Status::Ok();
  };
  const bool onednn_in_paths =
      std::find(path_order.begin(), path_order.end(), KernelPath::kOnednn) != path_order.end();
  const bool pool_for_tuning = options.tune && !onednn_in_paths;
  if (pool_for_tuning) RETURN_IF_ERROR(make_pool());
  if (options.tune && onednn_in_paths && impl->num_threads > 1) {
    impl->pass_log.push_back(
        "tune: XNNPACK and reference kernels timed on the calling thread, where they run when "
        "oneDNN's threads do the parallel work");
  }
  for (KernelPath p : path_order) {
    const BackendDef* b = FindBackend(p);
    if (b->configure_threads != nullptr) {
      RETURN_IF_ERROR(b->configure_threads(impl->num_threads, options.pin_threads)
                          .WithPrefix(std::string(KernelPathName(p))));
    }
  }

  RETURN_IF_ERROR(BindInputShapes(g, options).WithPrefix(prefix));
  // Optimizing keeps DequantizeLinear of constants for FoldQdq; the sweep after the passes
  // folds what is left.
  RETURN_IF_ERROR(InferShapesAndFold(g, /*fold=*/true,
                                     options.optimize ? FoldMode::kKeepDequantize : FoldMode::kAll)
                      .WithPrefix(prefix));
  if (options.optimize) {
    RETURN_IF_ERROR(RunGraphPasses(g, &impl->pass_log).WithPrefix(prefix));
    RETURN_IF_ERROR(InferShapesAndFold(g, /*fold=*/true).WithPrefix(prefix));
    if (fast_paths) {
      LayoutPassOptions layout;
      layout.fuse_expand_depthwise = path_order.front() == KernelPath::kOnednn;
      layout.num_threads = impl->num_threads;
      layout.min_expanded_bytes_per_thread = CpuL2CacheBytes() / 2;
      RETURN_IF_ERROR(RunLayoutPasses(g, &impl->pass_log, layout).WithPrefix(prefix));
      RETURN_IF_ERROR(InferShapesAndFold(g, /*fold=*/true).WithPrefix(prefix));
    }
  }

  impl->load_profile.graph_ms = MsSince(create_start);
  const LoadClock::time_point kernels_start = LoadClock::now();
  std::map<std::string, double> kernels_by_op;

  const size_t num_values = g.values.size();
  std::vector<TensorType> types(num_values);
  for (size_t v = 0; v < num_values; ++v) {
    if (g.values[v].shape) types[v] = TensorType{g.values[v].dtype, StaticDims(*g.values[v].shape)};
  }

  // Workers spinning between layers pay off only when most layers are worth sharing. On models
  // whose conv/matmul layers average under kMinMeanMacsToShareEveryLayer (PP-OCR cls 0.5 M) the
  // fork-join of every layer costs more than the split saves (cls at 2 threads: 0.66 ms sharing
  // every layer, 0.54 not, 0.48 at 1 thread), so those share only their large layers, as without
  // spin_wait. MobileNetV3-small (1.1 M) gains: 1.67 -> 1.25 ms on the Intel Xeon.
  bool share_every_layer = options.spin_wait && impl->num_threads > 1;
  if (share_every_layer) {
    double total_macs = 0;
    int layers = 0;
    for (const Node& node : g.nodes) {
      const int64_t macs = EstimateMacs(g, node);
      if (macs <= 0) continue;
      total_macs += static_cast<double>(macs);
      ++layers;
    }
    share_every_layer = layers == 0 || total_macs >= kMinMeanMacsToShareEveryLayer * layers;
  }

  // Select and prepare a kernel for every node (timing the candidates when tuning).
  TuningCache tuning;
  bool tuning_changed = false;
  if (options.tune) {
    tuning = TuningCache::Load(
        options.tune_cache_dir.empty() ? DefaultTuningDir() : options.tune_cache_dir,
        TuningKey(model.path, g, impl->num_threads, options.winograd));
  }
  std::string missing;
  int num_missing = 0;
  impl->execs.resize(g.nodes.size());
  PackedConstantReleaser releaser(g);
  // Packed weights are about as large as the constants they come from.
  size_t constant_bytes = 0;
  for (const Value& v : g.values) {
    if (v.is_constant()) constant_bytes += v.constant->bytes();
  }
  impl->weight_pool = std::make_unique<WeightPool>(constant_bytes, options.huge_pages);
  if (!options.weight_cache_dir.empty()) {
    if (weight_cache_key.empty()) {
      impl->load_profile.weight_cache = "not used: the model does not come from a file";
    } else {
      impl->weight_cache = std::make_unique<PackedWeightCache>(
          PackedWeightCache::Open(options.weight_cache_dir, weight_cache_key));
    }
  }
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    const LoadClock::time_point node_start = LoadClock::now();
    struct AddTime {  // on every way out of the iteration
      double& total;
      LoadClock::time_point start;
      ~AddTime() { total += MsSince(start); }
    } add_time{kernels_by_op[node.op_type], node_start};
    std::vector<TensorType> in_types(node.inputs.size()), out_types(node.outputs.size());
    std::vector<const Tensor*> constants(node.inputs.size(), nullptr);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] == Node::kNoValue) continue;
      in_types[i] = types[node.inputs[i]];
      constants[i] = g.values[node.inputs[i]].constant.get();
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] != Node::kNoValue) out_types[i] = types[node.outputs[i]];
    }
    SupportContext sctx{node,
                        in_types,
                        constants,
                        out_types,
                        impl->num_threads,
                        share_every_layer,
                        options.winograd};
    // Candidates: the first kernel of each path that claims the node, in preference order.
    // Tuning times them all; otherwise the next path is asked only when the kernel before it
    // fails to prepare. Asking every path up front built a oneDNN primitive descriptor for each
    // conv that runs on XNNPACK (the squeeze-excitation convs): choosing the kernels took 3.3 ms of
    // MobileNetV3-small's load and 5.2 of EfficientNet-B0's, now 2.0 and 2.6.
    std::vector<KernelPath> node_order = path_order;
    if (options.kernel_paths.empty()) ApplyNodePreference(sctx, EstimateMacs(g, node), node_order);
    // Tuning also times edgerun's kernels ahead of a library's on one path against the library's.
    KernelCandidates claims(sctx, node_order, AllKernels(),
                            /*every_kernel_of_a_path=*/options.tune);
    std::vector<const KernelDef*> candidates;
    // A cached choice asks its own path alone: asking every path, as tuning does, made a cached
    // --tune load slower than an untuned one (each path's support check builds its descriptors).
    const KernelPath* cached = options.tune ? tuning.Find(node.name) : nullptr;
    int cached_tactic = 0;
    if (cached != nullptr &&
        std::find(node_order.begin(), node_order.end(), *cached) != node_order.end()) {
      KernelCandidates on_path(sctx, std::span(cached, 1), AllKernels(), true);
      const KernelDef* k = on_path.Next();
      while (k != nullptr && on_path.ordinal() < tuning.KernelOf(node.name)) k = on_path.Next();
      if (k != nullptr) {
        candidates = {k};  // prepared below like an untuned choice
        cached_tactic = tuning.TacticOf(node.name);
        // Should the cached implementation be gone, the kernel's own choice follows.
        if (cached_tactic > 0) candidates.push_back(k);
      }
    }
    const bool from_cache = !candidates.empty();
    if (!from_cache) {
      while (const KernelDef* k = claims.Next()) {
        candidates.push_back(k);
        if (!options.tune) break;
      }
    }
    if (candidates.empty()) {
      ++num_missing;
      missing += (missing.empty() ? "" : ", ") + node.Describe() + " with input dtype " +
                 std::string(DTypeName(in_types.empty() ? DType::kUndefined : in_types[0].dtype));
      continue;
    }
    NodeExec& exec = impl->execs[n];
    if (options.tune && !from_cache && candidates.size() > 1) {
      std::string report;
      Expected<TunedKernel> tuned =
          TuneNode(node, in_types, constants, out_types, candidates, impl->num_threads,
                   share_every_layer, options.winograd, impl->pool, &report);
      if (!tuned.ok()) return tuned.status().WithPrefix(prefix);
      TunedKernel best = std::move(tuned).value();
      impl->pass_log.push_back("tune: " + report);
      tuning.Set(node.name, best.kernel->path, best.tactic, best.ordinal);
      tuning_changed = true;
      exec.kernel = best.kernel;
      exec.state = std::move(best.state);
      exec.scratch_bytes = best.scratch_bytes;
      exec.packed_constant_inputs = best.packed_constant_inputs;
      releaser.NodePrepared(g, node, exec.packed_constant_inputs);
      continue;
    }
    // A fast kernel that fails to prepare (a configuration its library rejects) hands the node
    // to the next path; the last candidate's error is the node's error.
    for (size_t c = 0; c < candidates.size(); ++c) {
      PrepareContext pctx{node, in_types, constants, out_types, impl->num_threads};
      pctx.threadpool = impl->pool;
      pctx.weight_pool = impl->weight_pool.get();
      pctx.weight_cache = impl->weight_cache.get();
      pctx.share_every_layer = share_every_layer;
      pctx.consumable_constant_inputs = releaser.ConsumableInputs(g, node);
      pctx.winograd = options.winograd;
      pctx.tactic = c == 0 ? cached_tactic : 0;
      if (candidates[c]->prepare != nullptr) {
        Status st = candidates[c]->prepare(pctx);
        if (!st.ok()) {
          // After a kernel gave back a weight's pages, no other kernel can read that weight.
          if (!pctx.constants_consumed) {
            if (c + 1 == candidates.size() && !options.tune) {
              if (const KernelDef* k = claims.Next()) candidates.push_back(k);
            }
            if (c + 1 < candidates.size()) continue;
          }
          return st.WithPrefix(prefix);
        }
      }
      exec.kernel = candidates[c];
      exec.state = std::move(pctx.state);
      exec.scratch_bytes = pctx.scratch_bytes;
      exec.packed_constant_inputs = pctx.packed_constant_inputs;
      break;
    }
    releaser.NodePrepared(g, node, exec.packed_constant_inputs);
  }
  impl->weight_pool->ReleaseUnused();
  if (PackedWeightCache* cache = impl->weight_cache.get()) {
    // A cache that cannot be written costs this load nothing but the attempt: it is reported.
    std::string& report = impl->load_profile.weight_cache;
    if (!cache->note().empty()) report = cache->note() + "; ";
    if (cache->hits() > 0) {
      report += fmt::format("mapped {} packed weight{} ({}) from {}", cache->hits(),
                            cache->hits() == 1 ? "" : "s", MiB(cache->hit_bytes()), cache->file());
    }
    if (cache->misses() > 0) {
      const LoadClock::time_point write_start = LoadClock::now();
      const Status saved = cache->Save();
      report +=
          fmt::format("{}packed {} weight{} ({}), ", cache->hits() > 0 ? "; " : "", cache->misses(),
                      cache->misses() == 1 ? "" : "s", MiB(cache->added_bytes()));
      report += saved.ok()
                    ? fmt::format("written to {} in {:.1f} ms", cache->file(), MsSince(write_start))
                    : "not written: " + saved.message();
    }
    if (cache->hits() == 0 && cache->misses() == 0) report += "no weights packed by oneDNN";
  }
  // Constants that kernels read as they are (not packed) leave the model file: the session then
  // holds no part of its mapping.
  for (Value& v : g.values) {
    if (v.is_constant() && v.constant->has_deferred_source()) {
      v.constant = std::make_shared<const Tensor>(v.constant->WithoutDeferredSource());
    }
  }
  impl->load_profile.kernels_ms = MsSince(kernels_start);
  const LoadClock::time_point plan_start = LoadClock::now();
  for (const auto& [op, ms] : kernels_by_op) impl->load_profile.kernels_by_op.emplace_back(op, ms);
  std::sort(impl->load_profile.kernels_by_op.begin(), impl->load_profile.kernels_by_op.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  if (tuning_changed) {
    if (Status st = tuning.Save(); !st.ok()) impl->pass_log.push_back("tune: " + st.message());
  } else if (options.tune && tuning.loaded()) {
    impl->pass_log.push_back("tune: choices read from " + tuning.file());
  }
  if (num_missing > 0) {
    return Unsupported(std::to_string(num_missing) + " node" +
                       (num_missing > 1 ? "s have" : " has") + " no kernel: " + missing)
        .WithPrefix(prefix);
  }

  // One threading runtime per run. oneDNN threads with OpenMP, whose workers spin after each
  // primitive; a pthreadpool spinning beside them on the same cores made 2 threads slower than 1.
  // So when any node runs on oneDNN, its OpenMP team does the parallel work (and pins itself) and
  // the other kernels (XNNPACK, reference) run on the calling thread.
  const bool onednn_threads =
      std::any_of(impl->execs.begin(), impl->execs.end(),
                  [](const NodeExec& e) { return e.kernel->path == KernelPath::kOnednn; });
  if (onednn_threads && impl->pool != nullptr) {
    pthreadpool_destroy(impl->pool);
    impl->pool = nullptr;
  }
  if (onednn_threads && impl->num_threads > 1) {
    impl->pass_log.push_back(
        fmt::format("threads: {} OpenMP threads for oneDNN (layers of at least {:g} M MACs); other "
                    "kernels on the calling thread",
                    impl->num_threads,
                    (share_every_layer ? kMinMacsToShareSpinning : kMinMacsForThreads) / 1e6));
  }
  if (!onednn_threads && !pool_for_tuning) RETURN_IF_ERROR(make_pool().WithPrefix(prefix));

  // Lifetimes in node steps. Inputs and outputs stay live for the whole run so a caller can
  // run again on the same input and read outputs afterwards.
  const int end_step = static_cast<int>(g.nodes.size());
  std::vector<int> first_use(num_values, -1), last_use(num_values, -1);
  std::vector<char> is_io(num_values, 0);
  for (int v : g.inputs) {
    first_use[v] = 0;
    last_use[v] = end_step;
    is_io[v] = 1;
  }
  for (int v : g.outputs) {
    last_use[v] = end_step;
    is_io[v] = 1;
  }
  for (int n = 0; n < end_step; ++n) {
    for (int v : g.nodes[n].inputs) {
      if (v >= 0) last_use[v] = std::max(last_use[v], n);
    }
    for (int v : g.nodes[n].outputs) {
      if (v < 0) continue;
      first_use[v] = n;
      last_use[v] = std::max(last_use[v], n);
    }
  }
  auto bytes_of = [&](int v) {
    return static_cast<size_t>(types[v].num_elements()) * DTypeSize(types[v].dtype);
  };

  // Decide buffer sharing: in-place elementwise ops and pure reshapes.
  AliasGroups groups(num_values);
  std::vector<int> group_last(last_use), group_first(first_use);
  std::vector<char> group_io(is_io);
  for (int n = 0; n < end_step; ++n) {
    const Node& node = g.nodes[n];
    const KernelDef* k = impl->execs[n].kernel;
    if (static_cast<int>(node.inputs.size()) <= k->in_place_input || node.outputs.empty()) {
      continue;
    }
    const int in = node.inputs[k->in_place_input], out = node.outputs[0];
    if (in < 0 || out < 0 || g.values[in].is_constant() || g.values[out].is_constant()) continue;
    const int gi = groups.Find(in);
    bool share = false;
    if (k->output_aliases_input) {
      share = bytes_of(in) == bytes_of(out);
    } else if (k->may_run_in_place) {
      share = group_last[gi] == n && !group_io[gi] && !is_io[out] &&
              bytes_of(in) == bytes_of(out) && types[in].dtype == types[out].dtype;
    }
    // The kernel still reads its other inputs while writing the output: no sharing when one of
    // them is (an alias of) the in-place input, e.g. a conv whose residual is its own input.
    for (size_t i = 0; share && i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (static_cast<int>(i) != k->in_place_input && v >= 0 && !g.values[v].is_constant() &&
          groups.Find(v) == gi) {
        share = false;
      }
    }
    if (!share) continue;
    groups.Join(in, out);
    group_last[gi] = std::max(group_last[gi], last_use[out]);
    group_first[gi] = std::min(group_first[gi], first_use[out]);
    group_io[gi] = group_io[gi] || is_io[out];
  }

  // One request per group root, one per node scratch.
  std::vector<BufferRequest> requests;
  std::vector<int> request_of_value(num_values, -1);
  for (size_t v = 0; v < num_values; ++v) {
    if (g.values[v].is_constant() || first_use[v] < 0) continue;
    const int root = groups.Find(static_cast<int>(v));
    if (request_of_value[root] < 0) {
      request_of_value[root] = static_cast<int>(requests.size());
      requests.push_back({0, kTensorAlignment, group_first[root], group_last[root]});
    }
    BufferRequest& r = requests[request_of_value[root]];
    r.size = std::max(r.size, AlignUp(bytes_of(static_cast<int>(v)), kTensorAlignment));
    request_of_value[v] = request_of_value[root];
  }
  std::vector<int> request_of_scratch(g.nodes.size(), -1);
  for (int n = 0; n < end_step; ++n) {
    if (impl->execs[n].scratch_bytes == 0) continue;
    request_of_scratch[n] = static_cast<int>(requests.size());
    requests.push_back(
        {AlignUp(impl->execs[n].scratch_bytes, kTensorAlignment), kTensorAlignment, n, n});
  }
  ArenaPlan plan = PlanArena(requests, PlanStrategy::kGreedyBySize);
  RETURN_IF_ERROR(CheckPlan(requests, plan).WithPrefix(prefix + ": internal arena plan"));
  impl->arena_bytes = plan.arena_bytes;
  if (plan.arena_bytes > options.max_arena_bytes) {
    return ResourceExhausted("activation arena needs " + std::to_string(plan.arena_bytes) +
                             " bytes, above the limit of " +
                             std::to_string(options.max_arena_bytes) + " (check the input shapes)")
        .WithPrefix(prefix);
  }

  // Arena: the caller's, or ours.
  if (!options.external_arena.empty()) {
    if (options.external_arena.size() < plan.arena_bytes) {
      return InvalidArgument("external arena has " + std::to_string(options.external_arena.size()) +
                             " bytes, the model needs " + std::to_string(plan.arena_bytes));
    }
    if (reinterpret_cast<uintptr_t>(options.external_arena.data()) % kTensorAlignment != 0) {
      return InvalidArgument("external arena must be 64-byte aligned");
    }
    impl->arena = options.external_arena.data();
  } else {
    const size_t bytes = AlignUp(std::max<size_t>(plan.arena_bytes, 1), kTensorAlignment);
    // Huge pages: the first inference would otherwise fault in the arena 4 KiB at a time.
    auto arena = LargeBuffer::Allocate(bytes, options.huge_pages);
    if (!arena.ok()) return arena.status().WithPrefix(prefix + ": activation arena");
    impl->owned_arena = std::move(arena).value();
    impl->arena = impl->owned_arena.data();
  }

  // Setup: bind a view for every value, then per-node input/output views.
  impl->value_views.resize(num_values);
  for (size_t v = 0; v < num_values; ++v) {
    const Value& value = g.values[v];
    void* data = nullptr;
    if (value.is_constant()) {
      data = const_cast<void*>(value.constant->raw());
    } else if (request_of_value[v] >= 0) {
      data = impl->arena + plan.offsets[request_of_value[v]];
    } else {
      continue;
    }
    ASSIGN_OR_RETURN(impl->value_views[v], TensorView::Make(types[v].dtype, types[v].dims, data));
  }
  for (int n = 0; n < end_step; ++n) {
    NodeExec& e = impl->execs[n];
    const Node& node = g.nodes[n];
    e.in_begin = static_cast<int>(impl->io_views.size());
    e.in_count = static_cast<int>(node.inputs.size());
    for (int v : node.inputs)
      impl->io_views.push_back(v >= 0 ? impl->value_views[v] : TensorView{});
    e.out_begin = static_cast<int>(impl->io_views.size());
    e.out_count = static_cast<int>(node.outputs.size());
    for (int v : node.outputs)
      impl->io_views.push_back(v >= 0 ? impl->value_views[v] : TensorView{});
    if (request_of_scratch[n] >= 0) e.scratch_offset = plan.offsets[request_of_scratch[n]];
  }

  // Setup: kernels that bind pointers ahead (XNNPACK operators, oneDNN memories) do it now.
  for (int n = 0; n < end_step; ++n) {
    NodeExec& e = impl->execs[n];
    if (e.kernel->setup == nullptr) continue;
    SetupContext sctx{g.nodes[n],
                      e.state.get(),
                      std::span<const TensorView>(impl->io_views.data() + e.in_begin, e.in_count),
                      std::span<TensorView>(impl->io_views.data() + e.out_begin, e.out_count),
                      e.scratch_bytes ? impl->arena + e.scratch_offset : nullptr,
                      e.scratch_bytes,
                      impl->pool};
    RETURN_IF_ERROR(e.kernel->setup(sctx).WithPrefix(prefix));
  }
  // Each backend's hooks once, for the backends this session's kernels use.
  auto add_once = [](auto& hooks, auto hook) {
    if (hook != nullptr && std::find(hooks.begin(), hooks.end(), hook) == hooks.end()) {
      hooks.push_back(hook);
    }
  };
  for (const NodeExec& e : impl->execs) {
    const BackendDef* b = FindBackend(e.kernel->path);
    if (b == nullptr) continue;
    add_once(impl->before_run, b->before_run);
    if (options.flush_denormals) add_once(impl->set_worker_denormals, b->set_worker_denormals);
  }
  impl->flush_denormals = options.flush_denormals;
  impl->profiling = options.enable_profiling;
  impl->profile.resize(g.nodes.size());
  impl->load_profile.plan_ms = MsSince(plan_start);
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

int Session::num_inputs() const { return static_cast<int>(impl_->graph.inputs.size()); }
int Session::num_outputs() const { return static_cast<int>(impl_->graph.outputs.size()); }
const std::string& Session::input_name(int i) const {
  return impl_->graph.values[impl_->graph.inputs[i]].name;
}
const std::string& Session::output_name(int i) const {
  return impl_->graph.values[impl_->graph.outputs[i]].name;
}
int Session::FindInput(std::string_view name) const {
  for (int i = 0; i < num_inputs(); ++i) {
    if (input_name(i) == name) return i;
  }
  return -1;
}
int Session::FindOutput(std::string_view name) const {
  for (int i = 0; i < num_outputs(); ++i) {
    if (output_name(i) == name) return i;
  }
  return -1;
}
TensorView Session::input(int i) const { return impl_->value_views[impl_->graph.inputs[i]]; }
TensorView Session::output(int i) const { return impl_->value_views[impl_->graph.outputs[i]]; }

Status Session::SetInput(int i, const TensorView& view) {
  if (i < 0 || i >= num_inputs()) {
    return InvalidArgument("input index " + std::to_string(i) + " is out of range (model has " +
                           std::to_string(num_inputs()) + " inputs)");
  }
  const TensorView& dst = impl_->value_views[impl_->graph.inputs[i]];
  if (view.dtype != dst.dtype) {
    return InvalidArgument("input '" + input_name(i) + "' expects " +
                           std::string(DTypeName(dst.dtype)) + ", got " +
                           std::string(DTypeName(view.dtype)));
  }
  if (!std::equal(view.shape().begin(), view.shape().end(), dst.shape().begin(),
                  dst.shape().end())) {
    return InvalidArgument("input '" + input_name(i) + "' expects shape " +
                           DimsToString(dst.shape()) + ", got " + DimsToString(view.shape()));
  }
  if (dst.bytes() > 0) std::memmove(dst.raw, view.raw, dst.bytes());
  return Status::Ok();
}

namespace {

// The flush mode on a session's backend workers for one run; cleared again however Run() ends.
class WorkerDenormalsScope {
 public:
  WorkerDenormalsScope(std::span<void (*const)(int, bool)> hooks, int threads)
      : hooks_(hooks), threads_(threads) {
    for (auto hook : hooks_) hook(threads_, true);
  }
  ~WorkerDenormalsScope() {
    for (auto hook : hooks_) hook(threads_, false);
  }
  WorkerDenormalsScope(const WorkerDenormalsScope&) = delete;
  WorkerDenormalsScope& operator=(const WorkerDenormalsScope&) = delete;

 private:
  std::span<void (*const)(int, bool)> hooks_;
  int threads_;
};

}  // namespace

Status Session::Run() {
  Impl& s = *impl_;
  for (auto hook : s.before_run) hook(s.num_threads);
  // The calling thread and, through the hooks, oneDNN's OpenMP workers; the reference kernels'
  // pthreadpool calls pass the calling thread's mode on (ThreadpoolFlagsForThisThread).
  const ScopedFlushDenormals flush(s.flush_denormals);
  const WorkerDenormalsScope workers(s.set_worker_denormals, s.num_threads);
  const size_t n_nodes = s.graph.nodes.size();
  for (size_t n = 0; n < n_nodes; ++n) {
    NodeExec& e = s.execs[n];
    InvokeContext ctx{s.graph.nodes[n],
                      e.state.get(),
                      std::span<const TensorView>(s.io_views.data() + e.in_begin, e.in_count),
                      std::span<TensorView>(s.io_views.data() + e.out_begin, e.out_count),
                      e.scratch_bytes ? s.arena + e.scratch_offset : nullptr,
                      e.scratch_bytes,
                      s.pool};
    if (s.profiling) {
      const auto t0 = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(e.kernel->invoke(ctx));
      const auto t1 = std::chrono::steady_clock::now();
      s.profile[n].total_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
      ++s.profile[n].runs;
    } else {
      RETURN_IF_ERROR(e.kernel->invoke(ctx));
    }
  }
  return Status::Ok();
}

const Graph& Session::optimized_graph() const { return impl_->graph; }
const std::vector<std::string>& Session::pass_log() const { return impl_->pass_log; }
const LoadProfile& Session::load_profile() const { return impl_->load_profile; }

std::vector<NodeReport> Session::NodeReports() const {
  const Graph& g = impl_->graph;
  std::vector<NodeReport> reports;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    NodeReport r;
    r.name = node.name;
    // NHWC ops keep their ONNX name: the layout is reported separately.
    r.op_type = node.domain.empty() || node.domain == kNhwcDomain
                    ? node.op_type
                    : node.domain + "::" + node.op_type;
    r.layout = node.domain == kNhwcDomain ? "NHWC" : "";
    r.kernel = std::string(KernelPathName(impl_->execs[n].kernel->path));
    if (impl_->execs[n].state) r.implementation = impl_->execs[n].state->implementation();
    for (int v : node.inputs) r.inputs.push_back(v >= 0 ? g.values[v].name : "");
    for (int v : node.outputs) {
      r.outputs.push_back(v >= 0 ? g.values[v].name : "");
      r.output_shapes.push_back(v >= 0 && g.values[v].shape ? StaticDims(*g.values[v].shape)
                                                            : std::vector<int64_t>{});
    }
    r.macs = EstimateMacs(g, node);
    reports.push_back(std::move(r));
  }
  return reports;
}

size_t Session::arena_bytes() const { return impl_->arena_bytes; }

size_t Session::persistent_bytes() const {
  size_t total = 0;
  for (const NodeExec& e : impl_->execs) {
    if (e.state) total += e.state->persistent_bytes();
  }
  return total;
}

size_t Session::weight_bytes() const {
  size_t total = 0;
  for (const Value& v : impl_->graph.values) {
    if (v.is_constant()) total += v.constant->bytes();
  }
  return total;
}

size_t Session::held_weight_bytes() const {
  size_t total = 0;
  for (const Value& v : impl_->graph.values) {
    if (v.is_constant() && v.constant->has_data()) total += v.constant->bytes();
  }
  return total;
}

std::span<const NodeProfile> Session::profile() const { return impl_->profile; }
void Session::ResetProfile() {
  std::fill(impl_->profile.begin(), impl_->profile.end(), NodeProfile{});
}

}  // namespace edgerun
