// edgerun bench: load time, first-inference time, latency percentiles, peak RSS, arena, and an
// optional per-node / per-op profile. Inputs come from --input files, else seeded random data.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "edgerun/cli_common.h"
#include "edgerun/commands.h"

namespace edgerun::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Nearest-rank percentile of sorted samples.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

int RunBench(const BenchArgs& args) {
  const auto t_start = Clock::now();
  auto model = LoadModel(args.model);
  if (!model) return ReportError(model.status());
  const double read_model_ms = Ms(t_start, Clock::now());
  SessionOptions options;
  if (Status st = ApplyEngineArgs(args.engine, options); !st.ok()) {
    ReportError(st);
    return kExitUsage;
  }
  options.default_dim_value = 1;
  options.enable_profiling = args.profile;
  if (Status s = ApplyShapeArgs(model->graph, args.shapes, options); !s.ok()) return ReportError(s);
  // Reading --input files is not part of the model's load time.
  const auto t_read0 = Clock::now();
  auto given = ReadInputArgs(model->graph, args.inputs, args.model);
  if (!given) return ReportError(given.status());
  const double read_ms = Ms(t_read0, Clock::now());
  ApplyInputShapes(*given, options);
  auto session = Session::Create(std::move(*model), options);
  if (!session) return ReportError(session.status());
  Session& s = **session;
  const auto t_loaded = Clock::now();
  if (Status st = SetInputs(s, *given, args.seed, args.model); !st.ok()) return ReportError(st);
  const auto t_first0 = Clock::now();
  if (Status st = s.Run(); !st.ok()) return ReportError(st);
  const auto t_first1 = Clock::now();

  for (int i = 0; i < args.warmup; ++i) {
    if (Status st = s.Run(); !st.ok()) return ReportError(st);
  }
  s.ResetProfile();
  std::vector<double> samples(static_cast<size_t>(args.iterations));
  for (int i = 0; i < args.iterations; ++i) {
    const auto t0 = Clock::now();
    if (Status st = s.Run(); !st.ok()) return ReportError(st);
    samples[i] = Ms(t0, Clock::now());
  }
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (double x : samples) mean += x;
  mean /= samples.size();

  const double load_ms = Ms(t_start, t_loaded) - read_ms;
  const double first_ms = Ms(t_first0, t_first1);
  const size_t rss = PeakRssBytes();

  // Profile tables: per node, and aggregated per op type.
  std::vector<NodeReport> reports;
  std::map<std::string, std::pair<double, int>> per_op;
  double profiled_total = 0;
  if (args.profile) {
    reports = s.NodeReports();
    auto prof = s.profile();
    for (size_t n = 0; n < reports.size(); ++n) {
      const double ms = prof[n].runs ? prof[n].total_ms / prof[n].runs : 0;
      per_op[reports[n].op_type].first += ms;
      per_op[reports[n].op_type].second += 1;
      profiled_total += ms;
    }
  }

  if (args.json) {
    nlohmann::json j;
    j["model"] = args.model;
    j["threads"] = args.engine.threads;
    j["warmup"] = args.warmup;
    j["iterations"] = args.iterations;
    // Where each input's data came from: its --input file, else the random fill.
    for (int i = 0; i < s.num_inputs(); ++i) {
      const std::string name = s.input_name(i);
      const bool given_file = given->count(name) > 0;
      j["inputs"][name] = {{"source", given_file ? "file" : "random"},
                           {"shape", s.input(i).shape()}};
    }
    j["load_ms"] = load_ms;
    const LoadProfile& lp = s.load_profile();
    nlohmann::json by_op = nlohmann::json::object();
    for (const auto& [op, ms] : lp.kernels_by_op) by_op[op] = ms;
    j["load_profile_ms"] = {{"read_model", read_model_ms},
                            {"graph", lp.graph_ms},
                            {"kernels", lp.kernels_ms},
                            {"kernels_by_op", by_op},
                            {"plan", lp.plan_ms}};
    if (!lp.weight_cache.empty()) j["weight_cache"] = lp.weight_cache;
    j["first_inference_ms"] = first_ms;
    j["latency_ms"] = {{"min", sorted.front()},         {"mean", mean},
                       {"p50", Percentile(sorted, 50)}, {"p90", Percentile(sorted, 90)},
                       {"p99", Percentile(sorted, 99)}, {"max", sorted.back()}};
    j["peak_rss_bytes"] = rss;
    j["arena_bytes"] = s.arena_bytes();
    j["persistent_bytes"] = s.persistent_bytes();
    if (args.profile) {
      nlohmann::json nodes = nlohmann::json::array();
      auto prof = s.profile();
      for (size_t n = 0; n < reports.size(); ++n) {
        nodes.push_back({{"name", reports[n].name},
                         {"op", reports[n].op_type},
                         {"kernel", reports[n].kernel},
                         {"implementation", reports[n].implementation},
                         {"ms", prof[n].runs ? prof[n].total_ms / prof[n].runs : 0.0},
                         {"macs", reports[n].macs}});
      }
      j["profile"]["nodes"] = nodes;
      nlohmann::json ops = nlohmann::json::object();
      for (const auto& [op, v] : per_op) ops[op] = {{"ms", v.first}, {"count", v.second}};
      j["profile"]["ops"] = ops;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  fmt::print("model: {}\nthreads: {}  warmup: {}  iterations: {}\n", args.model,
             args.engine.threads, args.warmup, args.iterations);
  fmt::print("load: {:.2f} ms  first inference: {:.2f} ms\n", load_ms, first_ms);
  if (!s.load_profile().weight_cache.empty()) {
    fmt::print("weight cache: {}\n", s.load_profile().weight_cache);
  }
  if (args.profile) {
    const LoadProfile& lp = s.load_profile();
    std::string by_op;
    for (const auto& [op, ms] : lp.kernels_by_op) {
      if (ms >= 0.01) by_op += fmt::format("{}{} {:.2f}", by_op.empty() ? "" : ", ", op, ms);
    }
    fmt::print(
        "load ms: read model {:.2f}  graph passes {:.2f}  kernels {:.2f} ({})  plan {:.2f}\n",
        read_model_ms, lp.graph_ms, lp.kernels_ms, by_op, lp.plan_ms);
  }
  fmt::print(
      "latency ms: min {:.3f}  mean {:.3f}  p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n",
      sorted.front(), mean, Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 99),
      sorted.back());
  fmt::print("peak RSS: {:.1f} MiB  arena: {:.1f} MiB  kernel state: {:.1f} MiB\n", rss / 1048576.0,
             s.arena_bytes() / 1048576.0, s.persistent_bytes() / 1048576.0);
  if (args.profile) {
    std::vector<std::pair<double, std::string>> ops;
    for (const auto& [op, v] : per_op) ops.push_back({v.first, op});
    std::sort(ops.rbegin(), ops.rend());
    fmt::print("per op type (ms per run, share):\n");
    for (const auto& [ms, op] : ops) {
      fmt::print("  {:<28} {:>9.3f}  {:5.1f}%  x{}\n", op, ms,
                 profiled_total > 0 ? 100.0 * ms / profiled_total : 0.0, per_op[op].second);
    }
    fmt::print("per node (ms per run):\n");
    auto prof = s.profile();
    for (size_t n = 0; n < reports.size(); ++n) {
      fmt::print("  {:<40} {:<22} {:<8} {:>9.3f}  {}\n", reports[n].name, reports[n].op_type,
                 reports[n].kernel, prof[n].runs ? prof[n].total_ms / prof[n].runs : 0.0,
                 reports[n].implementation);
    }
  }
  return kExitOk;
}

}  // namespace edgerun::cli
