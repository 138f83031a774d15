// JSON and text rendering of advisor decisions, and --probe (see advisor.h).
#include <algorithm>
#include <chrono>
#include <random>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "edgerun/advisor/advisor.h"

namespace edgerun::advisor {
namespace {

using nlohmann::json;

json OpUsesJson(const std::vector<OpUse>& ops) {
  json out = json::array();
  for (const OpUse& u : ops) {
    out.push_back({{"op", u.op_type},
                   {"domain", u.domain},
                   {"opset", u.opset},
                   {"count", u.count},
                   {"dtypes", u.dtypes},
                   {"macs", u.macs}});
  }
  return out;
}

json TensorsJson(const std::vector<TensorInfo>& ts) {
  json out = json::array();
  for (const TensorInfo& t : ts)
    out.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}});
  return out;
}

json ModelJson(const ModelAnalysis& m) {
  json patterns = json::array();
  for (const Pattern& p : m.patterns)
    patterns.push_back({{"kind", p.kind}, {"form", p.form}, {"nodes", p.nodes}, {"ops", p.ops}});
  return {{"path", m.path},
          {"format", m.format},
          {"producer", m.producer},
          {"framework_guess", m.framework_guess},
          {"opset_imports", m.opset_imports},
          {"inputs", TensorsJson(m.inputs)},
          {"outputs", TensorsJson(m.outputs)},
          {"dynamic_dims", m.dynamic_dims},
          {"file_dynamic_dims", m.file_dynamic_dims},
          {"bound_inputs", TensorsJson(m.bound_inputs)},
          {"ops", OpUsesJson(m.ops)},
          {"folded_ops", OpUsesJson(m.folded_ops)},
          {"parameter_count", m.parameter_count},
          {"parameter_bytes", m.parameter_bytes},
          {"macs", m.macs},
          {"arena_bytes", m.arena_bytes},
          {"arena_source", m.arena_source},
          {"quantized", m.quantized},
          {"patterns", patterns},
          {"custom_ops", m.custom_ops},
          {"engine_unknown_ops", m.engine_unknown_ops}};
}

json TargetJson(const TargetProfile& t, uint64_t budget) {
  json acc = json::array();
  for (const Accelerator& a : t.accelerators) {
    acc.push_back({{"name", a.name},
                   {"kind", a.kind},
                   {"apis", a.apis},
                   {"tops", a.tops},
                   {"watts", a.watts},
                   {"interface", a.interface},
                   {"transfer_overhead_ms", a.transfer_overhead_ms}});
  }
  return {{"name", t.name},
          {"display", t.display},
          {"class", t.hw_class},
          {"vendor", t.vendor},
          {"os", t.os},
          {"ram_bytes", t.ram_bytes},
          {"flash_bytes", t.flash_bytes},
          {"budget_bytes", budget},
          {"cpu",
           {{"name", t.cpu.name},
            {"isa", t.cpu.isa},
            {"cores", t.cpu.cores},
            {"mhz", t.cpu.mhz},
            {"simd", t.cpu.simd},
            {"simd_bits", t.cpu.simd_bits}}},
          {"accelerators", acc},
          {"source", t.source}};
}

json IssuesJson(const std::vector<OpIssue>& issues) {
  json out = json::array();
  for (const OpIssue& i : issues) {
    out.push_back({{"op", i.op},
                   {"domain", i.domain},
                   {"kind", i.kind},
                   {"count", i.count},
                   {"behavior", i.behavior},
                   {"reason", i.reason},
                   {"nodes", i.nodes}});
  }
  return out;
}

json MemoryJson(const MemoryUse& u) {
  return {{"weights_bytes", u.weights_bytes},
          {"arena_bytes", u.arena_bytes},
          {"runtime_bytes", u.runtime_bytes},
          {"total_bytes", u.total_bytes},
          {"budget_bytes", u.budget_bytes},
          {"flash_bytes", u.flash_bytes},
          {"flash_budget_bytes", u.flash_budget_bytes}};
}

json ProbesJson(const std::vector<ProbeResult>& probes) {
  json out = json::array();
  for (const ProbeResult& p : probes) {
    out.push_back({{"runtime", p.runtime},
                   {"status", p.ok ? "ok" : "failed"},
                   {"load_ms", p.load_ms},
                   {"run_ms", p.run_ms},
                   {"runs", p.runs},
                   {"error", p.error}});
  }
  return out;
}

json DecisionBody(const Decision& d) {
  json viable = json::array();
  for (const Viable& v : d.viable) {
    json path = json::array();
    for (const PathStep& s : v.path) {
      path.push_back({{"from", s.from},
                      {"to", s.to},
                      {"tool", s.tool},
                      {"fragility", s.fragility},
                      {"note", s.note}});
    }
    viable.push_back({{"runtime", v.runtime},
                      {"display", v.display},
                      {"version", v.version},
                      {"rank", v.rank},
                      {"score", v.score},
                      {"precision", v.precision},
                      {"path", path},
                      {"fallback_ops", IssuesJson(v.fallback_ops)},
                      {"memory", MemoryJson(v.memory)},
                      {"estimated_latency_ms", v.estimated_latency_ms},
                      {"warnings", v.warnings},
                      {"suggestions", v.suggestions}});
  }
  json eliminated = json::array();
  for (const Eliminated& e : d.eliminated) {
    eliminated.push_back({{"runtime", e.runtime},
                          {"display", e.display},
                          {"stage", e.stage},
                          {"reason", e.reason},
                          {"unsupported_ops", IssuesJson(e.unsupported_ops)},
                          {"memory", e.memory ? MemoryJson(*e.memory) : json(nullptr)},
                          {"suggestions", e.suggestions}});
  }
  return {
      {"framework", d.framework},
      {"precision", d.requested_precision.empty() ? json(nullptr) : json(d.requested_precision)},
      {"viable", viable},
      {"eliminated", eliminated}};
}

std::string Ms(double ms) {
  return ms < 1 ? fmt::format("{:.3f} ms", ms) : fmt::format("{:.1f} ms", ms);
}

std::string PathText(const std::vector<PathStep>& path) {
  if (path.empty()) return "(loads the model as is)";
  std::string out = path.front().from;
  for (const PathStep& s : path) out += fmt::format(" -> {} [{}, {}]", s.to, s.tool, s.fragility);
  return out;
}

std::string IssueText(const OpIssue& i) {
  std::string name =
      i.kind == "pattern" ? i.op + " pattern" : (i.domain.empty() ? i.op : i.domain + "::" + i.op);
  return fmt::format("{} x{} ({}{}: {})", name, i.count, i.behavior,
                     i.kind == "constraint" ? ", constraint" : "", i.reason);
}

}  // namespace

std::string DecisionToJson(const Decision& d, const std::vector<ProbeResult>& probes, int indent) {
  json j = {{"schema_version", 1},
            {"model", ModelJson(*d.model)},
            {"target", TargetJson(*d.target, d.budget_bytes)}};
  j.update(DecisionBody(d));
  j["probe"] = ProbesJson(probes);
  return j.dump(indent);
}

std::string DecisionToText(const Decision& d, const std::vector<ProbeResult>& probes) {
  const ModelAnalysis& m = *d.model;
  const TargetProfile& t = *d.target;
  std::string out;
  out += fmt::format("model: {} ({}, producer '{}', framework {})\n", m.path, m.format, m.producer,
                     d.framework);
  out += fmt::format(
      "  params {} ({}), MACs {:.3f} G, arena {} ({}){}\n", m.parameter_count,
      FormatBytes(m.parameter_bytes), m.macs / 1e9, FormatBytes(m.arena_bytes), m.arena_source,
      m.dynamic_dims.empty() ? ""
                             : fmt::format(", dynamic dims: {}", fmt::join(m.dynamic_dims, ", ")));
  if (!m.bound_inputs.empty() && !m.file_dynamic_dims.empty()) {
    std::vector<std::string> shapes;
    for (const TensorInfo& t : m.bound_inputs) shapes.push_back(t.name + "=" + t.shape);
    out += fmt::format("  figures for inputs {}{}\n", fmt::join(shapes, ", "),
                       m.dynamic_dims.empty()
                           ? ""
                           : " (unbound dynamic dims set to 1; pass --shape for real sizes)");
  }
  if (!m.patterns.empty()) {
    std::vector<std::string> ps;
    for (const Pattern& p : m.patterns) ps.push_back(p.kind + " (" + p.form + ")");
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
    out += fmt::format("  patterns: {}\n", fmt::join(ps, ", "));
  }
  if (!m.custom_ops.empty())
    out += fmt::format("  custom ops: {}\n", fmt::join(m.custom_ops, ", "));
  std::vector<std::string> accs;
  for (const Accelerator& a : t.accelerators)
    accs.push_back(fmt::format("{} {:g} TOPS", a.name, a.tops));
  out += fmt::format("target: {} ({}; class {}, {} RAM, budget {}{}, {}{})\n", t.name, t.display,
                     t.hw_class, FormatBytes(t.ram_bytes), FormatBytes(d.budget_bytes),
                     t.flash_bytes ? ", flash " + FormatBytes(t.flash_bytes) : "", t.cpu.name,
                     accs.empty() ? "" : ", " + fmt::format("{}", fmt::join(accs, ", ")));
  out += fmt::format("\nviable ({}):\n", d.viable.size());
  if (d.viable.empty()) out += "  none\n";
  for (const Viable& v : d.viable) {
    out += fmt::format("  {}. {} [{}] score {:.1f}, {}, est. {}\n", v.rank, v.runtime, v.display,
                       v.score, v.precision, Ms(v.estimated_latency_ms));
    out += fmt::format("     path: {}\n", PathText(v.path));
    out += fmt::format("     memory: {} of {} (weights {} + arena {} + runtime {}){}\n",
                       FormatBytes(v.memory.total_bytes), FormatBytes(v.memory.budget_bytes),
                       FormatBytes(v.memory.weights_bytes), FormatBytes(v.memory.arena_bytes),
                       FormatBytes(v.memory.runtime_bytes),
                       v.memory.flash_budget_bytes
                           ? fmt::format("; flash {} of {}", FormatBytes(v.memory.flash_bytes),
                                         FormatBytes(v.memory.flash_budget_bytes))
                           : "");
    for (const OpIssue& i : v.fallback_ops) out += fmt::format("     fallback: {}\n", IssueText(i));
    for (const std::string& w : v.warnings) out += fmt::format("     warning: {}\n", w);
    for (const std::string& s : v.suggestions) out += fmt::format("     suggestion: {}\n", s);
  }
  out += fmt::format("\neliminated ({}):\n", d.eliminated.size());
  for (const Eliminated& e : d.eliminated) {
    out += fmt::format("  {:<22} {:<9} {}\n", e.runtime, e.stage, e.reason);
    for (const OpIssue& i : e.unsupported_ops)
      out += fmt::format("  {:<22} {:<9}   - {}\n", "", "", IssueText(i));
    for (const std::string& s : e.suggestions)
      out += fmt::format("  {:<22} {:<9}   suggestion: {}\n", "", "", s);
  }
  if (!probes.empty()) {
    out += "\nprobe (runtimes available on this machine):\n";
    for (const ProbeResult& p : probes) {
      out += p.ok ? fmt::format("  {}: ok, load {}, run {} (median of {})\n", p.runtime,
                                Ms(p.load_ms), Ms(p.run_ms), p.runs)
                  : fmt::format("  {}: failed: {}\n", p.runtime, p.error);
    }
  }
  return out;
}

std::string MatrixToJson(const ModelAnalysis& model, const std::vector<Decision>& decisions,
                         int indent) {
  json targets = json::array();
  for (const Decision& d : decisions) {
    json entry = {{"target", TargetJson(*d.target, d.budget_bytes)}};
    entry.update(DecisionBody(d));
    entry["best"] = d.viable.empty() ? json(nullptr) : json(d.viable.front().runtime);
    targets.push_back(entry);
  }
  json j = {{"schema_version", 1}, {"model", ModelJson(model)}, {"targets", targets}};
  return j.dump(indent);
}

std::string MatrixToText(const ModelAnalysis& m, const std::vector<Decision>& decisions) {
  std::string out = fmt::format(
      "model: {} (params {}, MACs {:.3f} G, arena {}{})\n", m.path, FormatBytes(m.parameter_bytes),
      m.macs / 1e9, FormatBytes(m.arena_bytes),
      m.dynamic_dims.empty() ? ""
                             : fmt::format(", dynamic dims: {}", fmt::join(m.dynamic_dims, ", ")));
  if (!m.bound_inputs.empty() && !m.file_dynamic_dims.empty()) {
    std::vector<std::string> shapes;
    for (const TensorInfo& t : m.bound_inputs) shapes.push_back(t.name + "=" + t.shape);
    out += fmt::format("figures for inputs {}{}\n", fmt::join(shapes, ", "),
                       m.dynamic_dims.empty()
                           ? ""
                           : " (unbound dynamic dims set to 1; pass --shape for real sizes)");
  }
  out += "\n";
  out += fmt::format("{:<22} {:<22} {:>6} {:>6} {:>12}  {}\n", "target", "best runtime", "score",
                     "prec", "est. latency", "runner-up / why nothing fits");
  for (const Decision& d : decisions) {
    if (d.viable.empty()) {
      // Name the stage that removed the most runtimes among those that passed hardware.
      std::string why = "no runtime for this hardware";
      for (const Eliminated& e : d.eliminated) {
        if (e.stage != "hardware") {
          why = e.runtime + ": " + e.stage + ": " + e.reason;
          break;
        }
      }
      if (why.size() > 110) why = why.substr(0, 107) + "...";
      out += fmt::format("{:<22} {:<22} {:>6} {:>6} {:>12}  {}\n", d.target->name, "-", "-", "-",
                         "-", why);
      continue;
    }
    const Viable& b = d.viable.front();
    const std::string second =
        d.viable.size() > 1 ? fmt::format("{} ({:.1f})", d.viable[1].runtime, d.viable[1].score)
                            : "";
    out += fmt::format("{:<22} {:<22} {:>6.1f} {:>6} {:>12}  {}\n", d.target->name, b.runtime,
                       b.score, b.precision, Ms(b.estimated_latency_ms), second);
  }
  return out;
}

ProbeResult ProbeEdgerun(const Model& model, int runs, const SessionOptions& bind) {
  ProbeResult r;
  r.runtime = "edgerun";
  SessionOptions options;
  options.input_shapes = bind.input_shapes;
  options.symbol_values = bind.symbol_values;
  options.default_dim_value = 1;
  const auto t0 = std::chrono::steady_clock::now();
  auto session = Session::Create(model, options);
  const auto t1 = std::chrono::steady_clock::now();
  r.load_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  if (!session) {
    r.error = session.status().message();
    return r;
  }
  Session& s = **session;
  std::mt19937_64 rng(42);
  for (int i = 0; i < s.num_inputs(); ++i) {
    const TensorView v = s.input(i);
    for (int64_t k = 0; k < v.num_elements(); ++k) {
      // Floats in [-1, 1), integers in [0, 10): valid for indices and masks of typical models.
      const double x = IsFloat(v.dtype)
                           ? std::uniform_real_distribution<double>(-1, 1)(rng)
                           : static_cast<double>(rng() % (v.dtype == DType::kBool ? 2 : 10));
      StoreElementFromDouble(v.raw, v.dtype, k, x);
    }
  }
  std::vector<double> times;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const auto a = std::chrono::steady_clock::now();
    if (Status st = s.Run(); !st.ok()) {
      r.error = st.message();
      return r;
    }
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(times.begin(), times.end());
  r.run_ms = times[times.size() / 2];
  r.runs = static_cast<int>(times.size());
  r.ok = true;
  return r;
}

}  // namespace edgerun::advisor
