// edgerun: inspect, run and benchmark models with the embedded engine.
// Conventions follow TFLite's benchmark_model and trtexec; exit codes: 0 ok, 1 model/input
// error, 2 usage error.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "edgerun/cli_common.h"
#include "edgerun/commands.h"

namespace {

// True when the command line asks for more than one thread ("--threads N" or "--threads=N").
bool WantsThreads(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const char* value = nullptr;
    if (arg == "--threads" && i + 1 < argc) value = argv[i + 1];
    if (arg.starts_with("--threads=")) value = argv[i] + 10;
    if (value != nullptr && std::atoi(value) > 1) return true;
  }
  return false;
}

// libgomp's wait loop checks a flag and then relaxes the core once per GOMP_SPINCOUNT step: a
// `pause` on x86, nothing on other CPUs. The cost of `pause` differs up to tenfold between CPUs
// (11-15 ns on the Intel Xeon measured; the fixed count of 500 used before was tuned on an AMD
// EPYC), so a fixed count is a different time on each machine. This times the same loop and
// returns the count that spins about `microseconds`.
long SpinCountFor(double microseconds) {
  constexpr int kSteps = 4096;
  std::atomic<int> flag{0};
  double best_ns = 1e9;
  for (int round = 0; round < 3; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kSteps; ++i) {
      if (flag.load(std::memory_order_relaxed) != 0) break;
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#else
      std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
    }
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    best_ns = std::min(best_ns, took.count() / kSteps);
  }
  const double count = microseconds * 1e3 / std::max(best_ns, 0.1);
  return std::clamp(static_cast<long>(count), 100L, 10'000'000L);
}

// How long an OpenMP worker spins after a layer before it sleeps. Long enough to bridge the gap
// to the next layer, including the small ops that run on the calling thread in between (a
// Concat or an elementwise op: 15-50 us): on the Xeon, MobileNetV2 at 2 threads took 7.8 ms with a
// 6 us spin, 3.5 ms with 57 us (6.8 ms at 1 thread), SqueezeNet 6.0 and 3.6 ms. Far below
// libgomp's default of about a millisecond, which made 2 threads slower than 1 on cores shared
// with other processes.
constexpr double kSpinMicroseconds = 60;

// oneDNN threads with OpenMP, and libgomp reads its wait policy when it is loaded, before main.
// A multi-threaded run restarts itself once with GOMP_SPINCOUNT set to spin kSpinMicroseconds,
// OMP_WAIT_POLICY=active with --spin, or passive with --no-spin, unless the user chose a policy.
void ChooseOpenMpWaits(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr ||
      !WantsThreads(argc, argv)) {
    return;
  }
  bool spin = false, no_spin = false;
  for (int i = 1; i < argc; ++i) {
    spin = spin || std::string_view(argv[i]) == "--spin";
    no_spin = no_spin || std::string_view(argv[i]) == "--no-spin";
  }
  const int rc = spin      ? ::setenv("OMP_WAIT_POLICY", "active", 1)
                 : no_spin ? ::setenv("OMP_WAIT_POLICY", "passive", 1)
                           : ::setenv("GOMP_SPINCOUNT",
                                      std::to_string(SpinCountFor(kSpinMicroseconds)).c_str(), 1);
  if (rc != 0) return;
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgerun::cli;
  ChooseOpenMpWaits(argc, argv);
  CLI::App app{"edgerun: run neural networks on edge CPUs from a static arena"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgerun 0.1.0");

  InspectArgs inspect;
  CLI::App* inspect_cmd =
      app.add_subcommand("inspect", "Report a model's I/O, ops, memory and kernels");
  inspect_cmd->add_option("model", inspect.model, "Model file (.onnx)")->required();
  inspect_cmd->add_option("--shape", inspect.shapes,
                          "NAME=DIMS for an input or a symbolic dim, e.g. input=1x3x224x224");
  inspect_cmd->add_flag("--json", inspect.json, "Machine-readable output");
  inspect_cmd->add_flag("--graph", inspect.show_graph,
                        "Print the graph before and after the passes");
  AddEngineOptions(inspect_cmd, inspect.engine);

  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a model once and write its outputs as .npy");
  run_cmd->add_option("model", run.model, "Model file (.onnx)")->required();
  run_cmd->add_option("--input", run.inputs, "NAME=FILE (.npy or ONNX TensorProto .pb)");
  run_cmd->add_option("--output-dir", run.output_dir, "Directory for <output name>.npy files")
      ->required();
  run_cmd->add_option("--shape", run.shapes, "NAME=DIMS for an input or a symbolic dim");
  AddEngineOptions(run_cmd, run.engine);
  CLI::Option* seed_opt = run_cmd->add_option("--random-inputs", run.seed,
                                              "Fill inputs not given with seeded random data");

  BenchArgs bench;
  CLI::App* bench_cmd = app.add_subcommand("bench", "Measure load time and latency percentiles");
  bench_cmd->add_option("model", bench.model, "Model file (.onnx)")->required();
  bench_cmd->add_option("--input", bench.inputs,
                        "NAME=FILE (.npy or ONNX TensorProto .pb); other inputs get random data");
  bench_cmd->add_option("--shape", bench.shapes, "NAME=DIMS for an input or a symbolic dim");
  AddEngineOptions(bench_cmd, bench.engine);
  bench_cmd->add_option("--warmup", bench.warmup, "Untimed runs before measuring")
      ->check(CLI::Range(0, 1000000));
  bench_cmd->add_option("--iterations", bench.iterations, "Timed runs")
      ->check(CLI::Range(1, 10000000));
  bench_cmd->add_option("--seed", bench.seed, "Seed for the random inputs");
  bench_cmd->add_flag("--json", bench.json, "Machine-readable output");
  bench_cmd->add_flag("--profile", bench.profile, "Per-node and per-op time table");

  Subcommand preprocess = AddPreprocessCommand(app);
  Subcommand advise = AddAdviseCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (inspect_cmd->parsed()) return RunInspect(inspect);
  if (run_cmd->parsed()) {
    run.random_inputs = seed_opt->count() > 0;
    return RunRun(run);
  }
  if (bench_cmd->parsed()) return RunBench(bench);
  if (preprocess.app->parsed()) return preprocess.run();
  if (advise.app->parsed()) return advise.run();
  return kExitUsage;
}
