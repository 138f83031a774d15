// The edgerun subcommands. Each returns a process exit code (see cli_common.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edgerun::cli {

struct InspectArgs {
  std::string model;
  std::vector<std::string> shapes;
  bool json = false;
  bool show_graph = false;
};
int RunInspect(const InspectArgs& args);

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE
  std::string output_dir;
  std::vector<std::string> shapes;
  int threads = 1;
  bool random_inputs = false;
  uint64_t seed = 0;
};
int RunRun(const RunArgs& args);

struct BenchArgs {
  std::string model;
  std::vector<std::string> shapes;
  int threads = 1;
  int warmup = 5;
  int iterations = 50;
  bool json = false;
  bool profile = false;
  uint64_t seed = 1;
};
int RunBench(const BenchArgs& args);

}  // namespace edgerun::cli
