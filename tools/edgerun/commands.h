// The edgerun subcommands. Each returns a process exit code (see cli_common.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace edgerun::cli {

// A subcommand that lives in its own file: Add*Command registers its options on `parent` and
// returns the subcommand plus the function main() calls when it was parsed.
struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;
};
Subcommand AddPreprocessCommand(CLI::App& parent);  // preprocess.cc (vision)
Subcommand AddAdviseCommand(CLI::App& parent);      // advise.cc (advisor)

// Engine options shared by inspect, run and bench (see AddEngineOptions in cli_common.h).
struct EngineArgs {
  int threads = 1;
  bool pin = false;
  bool spin = false;             // workers spin without bound (OMP_WAIT_POLICY=active)
  bool no_spin = false;          // workers sleep at once, small layers on one thread (passive)
  std::string kernels = "auto";  // "auto" or a comma list of ref, onednn, xnnpack
  bool tune = false;
  std::string tune_cache;
  std::string weight_cache;  // directory of packed-weight files; empty: none
  bool no_optimize = false;
  bool flush_denormals = false;  // subnormal floats as zero while running (FTZ/DAZ)
  bool no_huge_pages = false;    // arena and packed weights on 4 KiB pages
  bool no_winograd = false;      // direct convolutions only
};

struct InspectArgs {
  std::string model;
  std::vector<std::string> shapes;
  bool json = false;
  bool show_graph = false;
  EngineArgs engine;
};
int RunInspect(const InspectArgs& args);

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE
  std::string output_dir;
  std::vector<std::string> shapes;
  EngineArgs engine;
  bool random_inputs = false;
  uint64_t seed = 0;
};
int RunRun(const RunArgs& args);

struct BenchArgs {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE; inputs not given get seeded random data
  std::vector<std::string> shapes;
  EngineArgs engine;
  int warmup = 5;
  int iterations = 50;
  bool json = false;
  bool profile = false;
  uint64_t seed = 1;
};
int RunBench(const BenchArgs& args);

}  // namespace edgerun::cli
