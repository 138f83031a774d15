// Loading a model and running it from one statically planned arena.
//
// Session::Create binds symbolic dims, runs shape inference, constant folding and the graph
// passes, picks a kernel for every node, plans the activation arena and binds every pointer.
// After that, Run() performs no heap allocation. Inputs and outputs live in the arena and are
// written and read in place (or copied with SetInput / output views).
// Usage:
//   ASSIGN_OR_RETURN(Model model, LoadModel("mobilenet.onnx"));
//   ASSIGN_OR_RETURN(auto session, Session::Create(model, SessionOptions{}));
//   std::memcpy(session->input(0).raw, pixels, session->input(0).bytes());
//   RETURN_IF_ERROR(session->Run());
//   const float* logits = session->output(0).data<float>();
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun {

struct Model {
  std::string path;  // file it came from; used in error messages
  Graph graph;
};

// Loads a model by content (ONNX protobuf today). Errors name the file.
Expected<Model> LoadModel(const std::string& path);

enum class KernelPath : uint8_t { kReference = 0, kXnnpack, kOnednn };
std::string_view KernelPathName(KernelPath p);

struct SessionOptions {
  // Full shapes for named graph inputs ("--shape input=1x3x224x224").
  std::map<std::string, std::vector<int64_t>, std::less<>> input_shapes;
  // Values for named symbolic dims ("batch" -> 1).
  std::map<std::string, int64_t, std::less<>> symbol_values;
  // Inputs frozen to a value at creation (like TensorRT shape tensors): they become constants,
  // so shape-defining inputs (Reshape's shape, Resize's sizes...) can feed static planning.
  // They are no longer session inputs.
  std::map<std::string, Tensor, std::less<>> constant_inputs;
  // Value for any symbolic or unknown input dim still unbound; -1 makes them an error.
  int64_t default_dim_value = -1;
  // Threads for one inference, the calling thread included.
  int num_threads = 1;
  // Pin the worker threads (and the calling thread) to cores 0..num_threads-1.
  bool pin_threads = false;
  // Every oneDNN layer of at least 0.25 M MACs runs on all threads, as OpenMP workers spin-wait
  // between layers, which is libgomp's default (ONNX Runtime's pool spins by default too). The CLI
  // bounds that spin to about 60 us (GOMP_SPINCOUNT timed at start-up, docs/architecture.md):
  // MobileNetV2 at 2 threads 5.2 -> 3.1 ms on an idle 2-core machine, but 4.7 -> 6.7 ms when
  // another busy process shares the cores. Off, for cores shared with other work: only layers of
  // at least 20 M MACs use the extra threads; run the process with OMP_WAIT_POLICY=passive then
  // (libgomp reads it at start-up; the CLI's --no-spin sets it).
  bool spin_wait = true;
  // Subnormal floats read and written as zero during Run() (x86 FTZ+DAZ, ARM FZ), on the calling
  // thread and the workers, as ONNX Runtime's session.set_denormal_as_zero. Subnormal operands
  // can slow float math 10-100x on many x86 cores. Off by default: results then follow IEEE,
  // except in XNNPACK's parallel kernels, which always flush.
  bool flush_denormals = false;
  // The arena and packed weights on transparent huge pages (Linux THP, 2 MiB): one page fault per
  // 2 MiB instead of per 4 KiB, which on our KVM guests cut a model's load by up to half (first
  // touch of a 4 KiB page costs 4-10 us there). Off: small pages. On guests whose memory is
  // sampled by DAMON (here every 0.5 s), each sample that lands on a huge page cost an inference
  // about 1.5 ms, which shows in p99; off trades load time for a steadier tail there.
  bool huge_pages = true;
  // 3x3 stride-1 convolutions on maps of 14x14 and larger may run as Winograd convolutions
  // (oneDNN, AVX-512): about half the time of a direct convolution on ResNet-18's 3x3 layers, for
  // transformed weights 1.8-4x their size and rounding differences of about 2e-6 of the output's
  // magnitude (TensorRT picks Winograd tactics too). Off: direct convolutions only, as ONNX
  // Runtime's CPU provider.
  bool winograd = true;
  // Kernel paths in preference order; empty: DefaultPathOrder() for this CPU (oneDNN, XNNPACK,
  // reference on x86-64). {kReference} runs the portable oracle kernels only.
  std::vector<KernelPath> kernel_paths;
  // Tactic selection: time every candidate kernel per node at creation and keep the fastest.
  // The choice is cached in tune_cache_dir (keyed by model hash, shapes, threads, CPU and library
  // versions), so the next creation reads it instead of timing.
  bool tune = false;
  std::string tune_cache_dir;  // empty: $EDGERUN_CACHE/tune or ~/.cache/edgerun/tune
  // Packed weights kept in a file under this directory (one per model file) and mapped by the
  // next session created from the same model file, instead of being packed again: as OpenVINO's
  // cache_dir or TFLite's XNNPACK weight cache. Packing writes every weight into fresh memory,
  // which costs ResNet-50 60-300 ms of its load on our KVM guests; mapped from the page cache,
  // those pages are clean (the OS can drop them under memory pressure) and shared between the
  // processes running the model. The first session writes the file (about the size of the
  // weights); a changed model file (size, modification time, inode), another edgerun build or
  // another library version gets a file of its own. Empty: no cache.
  std::string weight_cache_dir;
  bool optimize = true;  // graph passes (constant folding always runs: it is shape inference)
  // Optional caller-owned arena. Must be at least arena_bytes() and 64-byte aligned.
  std::span<std::byte> external_arena;
  // Largest arena edgerun will allocate; guards against absurd dims.
  size_t max_arena_bytes = size_t{8} << 30;
  bool enable_profiling = false;
};

struct NodeReport {
  std::string name;
  std::string op_type;
  std::string kernel;  // "ref", "xnnpack", ...
  // The backend's own name for the code it runs, when it says ("jit_fp32_wino_2x3:avx512_core").
  std::string implementation;
  std::string layout;  // "NHWC" for nodes the layout pass converted, else empty
  std::vector<std::string> inputs, outputs;
  std::vector<std::vector<int64_t>> output_shapes;
  int64_t macs = 0;
};

struct NodeProfile {
  double total_ms = 0;
  int64_t runs = 0;
};

// Where Session::Create spent its time (wall clock, ms); `bench` reports it.
struct LoadProfile {
  double graph_ms = 0;    // shape inference, constant folding and the graph passes
  double kernels_ms = 0;  // choosing and preparing kernels: weight packing, code generation
  double plan_ms = 0;     // the rest: memory plan, arena, binding views, thread setup
  // kernels_ms per op type, slowest first.
  std::vector<std::pair<std::string, double>> kernels_by_op;
  // With SessionOptions::weight_cache_dir: what the cache did ("mapped 53 packed weights (97.6
  // MiB) from F", "packed 53 (97.6 MiB), written to F in 41.2 ms", or why it was not written).
  std::string weight_cache;
};

class Session {
 public:
  static Expected<std::unique_ptr<Session>> Create(const Model& model,
                                                   const SessionOptions& options);
  // Takes the model's graph instead of copying it: weights that the passes replace (folded
  // BatchNorm, fused scales) are freed during creation, so peak memory stays near one model.
  static Expected<std::unique_ptr<Session>> Create(Model&& model, const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  int num_inputs() const;
  int num_outputs() const;
  const std::string& input_name(int i) const;
  const std::string& output_name(int i) const;
  int FindInput(std::string_view name) const;   // -1 if absent
  int FindOutput(std::string_view name) const;  // -1 if absent
  // Views into the arena (or a constant, for outputs that folded to constants).
  TensorView input(int i) const;
  TensorView output(int i) const;
  // Copies `view` into input i after checking dtype and shape (names the input on error).
  Status SetInput(int i, const TensorView& view);

  Status Run();

  // Graph after all passes, as executed, and one line per change the passes made.
  const Graph& optimized_graph() const;
  const std::vector<std::string>& pass_log() const;
  std::vector<NodeReport> NodeReports() const;
  size_t arena_bytes() const;       // planned activation bytes (incl. inputs and outputs)
  size_t persistent_bytes() const;  // kernel state and packed weights allocated at creation
  size_t weight_bytes() const;      // bytes of the constants after folding (the model's weights;
                                    // those packed by a kernel are counted here, held there)
  // The part of weight_bytes still held as constants: the rest was freed once every reader had
  // packed it into its kernel state. Memory in use = arena + persistent + held weights.
  size_t held_weight_bytes() const;
  const LoadProfile& load_profile() const;
  // Per-node time, filled by Run when options.enable_profiling is set.
  std::span<const NodeProfile> profile() const;
  void ResetProfile();

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgerun
