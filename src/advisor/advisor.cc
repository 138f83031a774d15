// The elimination and ranking (see include/edgerun/advisor/advisor.h and docs/advisor.md).
#include "edgerun/advisor/advisor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <queue>
#include <set>

#include <fmt/format.h>

#include "runtime/macs.h"

namespace edgerun::advisor {
namespace {

template <typename C, typename T>
bool Contains(const C& c, const T& v) {
  return std::find(c.begin(), c.end(), v) != c.end();
}

std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

int ElementBytes(std::string_view precision) {
  if (precision == "int8") return 1;
  if (precision == "int16" || precision == "fp16") return 2;
  return 4;
}

// Conversion risk in score points per step; docs/advisor.md explains the numbers.
int FragilityCost(std::string_view f) {
  if (f == "native") return 0;
  if (f == "reliable") return 1;
  if (f == "moderate") return 2;
  return 5;  // fragile
}

std::string PatternDisplay(std::string_view kind) {
  if (kind == "layernorm") return "LayerNorm";
  if (kind == "gelu") return "GELU";
  if (kind == "attention") return "attention";
  return std::string(kind);
}

const Accelerator* MatchAccelerator(const RuntimeInfo& r, const TargetProfile& t) {
  for (const Accelerator& a : t.accelerators) {
    if (!r.requires_hw.accelerator_kinds.empty() &&
        !Contains(r.requires_hw.accelerator_kinds, a.kind))
      continue;
    if (!r.requires_hw.accelerator_apis.empty()) {
      bool api = false;
      for (const std::string& x : a.apis) api = api || Contains(r.requires_hw.accelerator_apis, x);
      if (!api) continue;
    }
    return &a;
  }
  return nullptr;
}

// Empty when the runtime can run on this hardware, else the one-line reason.
std::string HardwareReason(const RuntimeInfo& r, const TargetProfile& t) {
  if (!Contains(r.hardware_classes, t.hw_class)) {
    return fmt::format("runs on {} hardware; {} is '{}'", Join(r.hardware_classes, "/"), t.name,
                       t.hw_class);
  }
  const RuntimeRequirements& q = r.requires_hw;
  if (!q.os.empty() && !Contains(q.os, t.os))
    return fmt::format("needs OS {}; {} runs {}", Join(q.os, "/"), t.name, t.os);
  if (!q.isa.empty() && !Contains(q.isa, t.cpu.isa)) {
    return fmt::format("needs a {} CPU; {} has {} ({})", Join(q.isa, "/"), t.name, t.cpu.isa,
                       t.cpu.name);
  }
  if (!q.vendor.empty() && !Contains(q.vendor, t.vendor)) {
    return fmt::format("only for {} devices; {} is from '{}'", Join(q.vendor, "/"), t.name,
                       t.vendor.empty() ? "unspecified" : t.vendor);
  }
  if ((!q.accelerator_kinds.empty() || !q.accelerator_apis.empty()) &&
      MatchAccelerator(r, t) == nullptr) {
    std::vector<std::string> have;
    for (const Accelerator& a : t.accelerators) have.push_back(a.name + " (" + a.kind + ")");
    std::string need = Join(q.accelerator_kinds, "/");
    if (!q.accelerator_apis.empty())
      need += (need.empty() ? "" : " with ") + Join(q.accelerator_apis, "/");
    return fmt::format("needs a {} accelerator; {} has {}", need, t.name,
                       have.empty() ? "none" : Join(have));
  }
  return "";
}

MemoryUse ComputeMemory(const RuntimeInfo& r, const ModelAnalysis& m, const TargetProfile& t,
                        std::string_view precision, uint64_t budget) {
  MemoryUse u;
  const int elem = ElementBytes(precision);
  u.weights_bytes =
      static_cast<uint64_t>(m.float_parameter_count) * elem + m.nonfloat_parameter_bytes;
  const int act = std::max(1, m.activation_bytes_per_element);
  u.arena_bytes = (m.arena_bytes * static_cast<uint64_t>(elem) + act - 1) / act;
  u.runtime_bytes = r.runtime_ram_bytes;
  u.budget_bytes = budget;
  if (r.weights_in_flash) {
    u.total_bytes = u.arena_bytes + u.runtime_bytes;
    u.flash_bytes = u.weights_bytes + r.code_bytes;
  } else {
    u.total_bytes = u.weights_bytes + u.arena_bytes + u.runtime_bytes;
    u.flash_bytes = t.flash_bytes > 0 ? r.code_bytes + u.weights_bytes : 0;
  }
  u.flash_budget_bytes = t.flash_bytes;
  return u;
}

bool Fits(const MemoryUse& u) {
  return u.total_bytes <= u.budget_bytes &&
         (u.flash_budget_bytes == 0 || u.flash_bytes <= u.flash_budget_bytes);
}

std::string MemoryReason(const MemoryUse& u, std::string_view precision, bool weights_in_flash) {
  if (u.total_bytes > u.budget_bytes) {
    if (weights_in_flash) {
      return fmt::format("needs {} RAM at {} (arena {} + runtime {}; weights {} stay in flash) but the budget is {}",
                         FormatBytes(u.total_bytes), precision, FormatBytes(u.arena_bytes), FormatBytes(u.runtime_bytes),
                         FormatBytes(u.weights_bytes), FormatBytes(u.budget_bytes));
    }
    return fmt::format("needs {} RAM at {} (weights {} + arena {} + runtime {}) but the budget is {}", FormatBytes(u.total_bytes),
                       precision, FormatBytes(u.weights_bytes), FormatBytes(u.arena_bytes), FormatBytes(u.runtime_bytes),
                       FormatBytes(u.budget_bytes));
  }
  return fmt::format("needs {} flash at {} (weights {} + code {}) but the target has {}", FormatBytes(u.flash_bytes), precision,
                     FormatBytes(u.weights_bytes), FormatBytes(u.flash_bytes - u.weights_bytes), FormatBytes(u.flash_budget_bytes));
}

// Cheapest conversion chain from `start` to any of `formats` (Dijkstra; cost = fragility, then
// steps).
std::optional<std::vector<PathStep>> FindPath(const KnowledgeBase& kb, const std::string& start,
                                              const std::vector<std::string>& formats) {
  using Cost = std::pair<int, int>;  // (fragility cost, steps)
  std::map<std::string, Cost> best;
  std::map<std::string, const Conversion*> via;
  std::priority_queue<std::pair<Cost, std::string>, std::vector<std::pair<Cost, std::string>>,
                      std::greater<>>
      queue;
  best[start] = {0, 0};
  queue.push({{0, 0}, start});
  while (!queue.empty()) {
    auto [cost, node] = queue.top();
    queue.pop();
    if (best[node] < cost) continue;
    if (Contains(formats, node)) {
      std::vector<PathStep> path;
      for (std::string n = node; n != start;) {
        const Conversion* c = via[n];
        path.push_back({c->from, c->to, c->tool, c->fragility, c->note});
        n = c->from;
      }
      std::reverse(path.begin(), path.end());
      return path;
    }
    for (const Conversion& c : kb.conversions) {
      if (c.from != node) continue;
      const Cost next{cost.first + FragilityCost(c.fragility), cost.second + 1};
      auto it = best.find(c.to);
      if (it == best.end() || next < it->second) {
        best[c.to] = next;
        via[c.to] = &c;
        queue.push({next, c.to});
      }
    }
  }
  return std::nullopt;
}

struct OpCheck {
  std::vector<OpIssue> issues;
  std::set<std::string> bad_nodes;  // node names that cannot run on the runtime
};

bool NodeViolates(const Graph& g, const Node& n, const OpConstraint& c) {
  auto dims_of = [&](int v) -> std::vector<int64_t> {
    if (v < 0 || !g.values[v].shape) return {};
    return StaticDims(*g.values[v].shape);
  };
  if (c.check == "constant_weights") {
    return n.inputs.size() < 2 || n.inputs[1] < 0 || !g.values[n.inputs[1]].is_constant();
  }
  if (c.check == "spatial_2d") return n.inputs.empty() || dims_of(n.inputs[0]).size() != 4;
  if (c.check == "max_version") return n.opset > c.value;
  std::vector<int> vals(n.inputs.begin(), n.inputs.end());
  vals.insert(vals.end(), n.outputs.begin(), n.outputs.end());
  for (int v : vals) {
    if (v < 0 || g.values[v].is_constant()) continue;
    const std::vector<int64_t> d = dims_of(v);
    if (c.check == "max_rank" && static_cast<int64_t>(d.size()) > c.value) return true;
    if (c.check == "max_nontrivial_dims") {
      // Only the `value` innermost dims may be larger than 1.
      for (int64_t i = 0; i + c.value < static_cast<int64_t>(d.size()); ++i) {
        if (d[i] > 1) return true;
      }
    }
  }
  return false;
}

OpCheck CheckOps(const KnowledgeBase& kb, const RuntimeInfo& r, const ModelAnalysis& m) {
  OpCheck out;
  const std::string behavior =
      r.ops.on_unsupported == "fail_to_load" ? "fails_to_load" : "cpu_fallback";
  std::set<std::string> supported(r.ops.supported.begin(), r.ops.supported.end());
  if (!r.ops.set.empty()) {
    const auto& s = kb.op_sets.at(r.ops.set);
    supported.insert(s.begin(), s.end());
  }
  for (const std::string& u : r.ops.unsupported) supported.erase(u);
  std::set<std::string> removed;
  if (auto it = kb.op_sets.find("removed_by_converters"); it != kb.op_sets.end())
    removed.insert(it->second.begin(), it->second.end());
  // Nodes of a decomposed pattern whose fused op the runtime has (LayerNormalization, Gelu):
  // converters map the whole subgraph onto that op, so its pieces are not checked one by one.
  std::set<std::string> fused;
  for (const Pattern& p : m.patterns) {
    const char* op = p.kind == "layernorm" ? "LayerNormalization" : p.kind == "gelu" ? "Gelu" : "";
    if (*op != '\0' && p.form.rfind("decomposed", 0) == 0 &&
        (supported.count(op) || r.ops.all_standard)) {
      fused.insert(p.nodes.begin(), p.nodes.end());
    }
  }
  for (const OpUse& u : m.folded_ops) {
    const bool standard = u.domain.empty() || u.domain == "ai.onnx";
    bool ok = false;
    std::string why;
    if (r.ops.engine_table) {
      const std::string id = (u.domain.empty() ? "" : u.domain + "::") + u.op_type;
      ok = !Contains(m.engine_unknown_ops, id);
      why = "not in edgerun's op table";
    } else if (!standard) {
      ok = Contains(r.ops.domains, u.domain);
      why = fmt::format("custom op of domain '{}'", u.domain);
    } else if (removed.count(u.op_type)) {
      ok = true;  // converters drop or fold it (Identity, Dropout...)
    } else if (r.ops.all_standard) {
      ok = !Contains(r.ops.unsupported, u.op_type);
      why = "listed as unsupported";
    } else {
      ok = supported.count(u.op_type) > 0;
      why = "not in the supported op list";
    }
    if (!ok) {
      OpIssue issue{u.op_type, u.domain, "op", 0, behavior, why, {}};
      for (const std::string& n : u.nodes) {
        if (fused.count(n)) continue;
        ++issue.count;
        if (issue.nodes.size() < 3) issue.nodes.push_back(n);
        out.bad_nodes.insert(n);
      }
      if (issue.count > 0) out.issues.push_back(std::move(issue));
      continue;
    }
    if (m.folded == nullptr) continue;
    for (const OpConstraint& c : r.ops.constraints) {
      if (c.op != u.op_type && c.op != "*") continue;
      OpIssue issue{
          u.op_type, u.domain, "constraint", 0, behavior, c.note.empty() ? c.check : c.note, {}};
      for (const Node& n : m.folded->nodes) {
        if (n.op_type != u.op_type || n.domain != u.domain || fused.count(n.name) ||
            !NodeViolates(*m.folded, n, c))
          continue;
        ++issue.count;
        if (issue.nodes.size() < 3) issue.nodes.push_back(n.name);
        out.bad_nodes.insert(n.name);
      }
      if (issue.count > 0) out.issues.push_back(std::move(issue));
    }
  }
  for (const PatternRule& p : r.ops.unsupported_patterns) {
    OpIssue issue{PatternDisplay(p.pattern), "", "pattern", 0, behavior, p.reason, {}};
    for (const Pattern& found : m.patterns) {
      if (found.kind != p.pattern) continue;
      ++issue.count;
      if (issue.nodes.size() < 3 && !found.nodes.empty())
        issue.nodes.push_back(found.nodes.front());
      out.bad_nodes.insert(found.nodes.begin(), found.nodes.end());
    }
    if (issue.count > 0) out.issues.push_back(std::move(issue));
  }
  return out;
}

// Share of the model's MACs (node count when there are none) that would leave the accelerator.
double FallbackFraction(const RuntimeInfo& r, const ModelAnalysis& m,
                        const std::set<std::string>& bad) {
  if (bad.empty()) return 0;
  std::vector<std::pair<std::string, int64_t>> nodes;
  if (m.folded != nullptr) {
    for (const Node& n : m.folded->nodes) nodes.emplace_back(n.name, EstimateMacs(*m.folded, n));
  } else {
    for (const OpUse& u : m.folded_ops) {
      for (const std::string& n : u.nodes) nodes.emplace_back(n, 0);
    }
  }
  int64_t total = 0, cpu = 0;
  size_t total_nodes = nodes.size(), cpu_nodes = 0;
  bool cut = false;
  for (const auto& [name, macs] : nodes) {
    total += macs;
    const bool on_cpu = bad.count(name) > 0 || cut;
    if (on_cpu && r.ops.on_unsupported == "partition_cut") cut = true;
    if (on_cpu) {
      cpu += macs;
      ++cpu_nodes;
    }
  }
  if (total > 0) return static_cast<double>(cpu) / total;
  return total_nodes == 0 ? 0 : static_cast<double>(cpu_nodes) / total_nodes;
}

double Efficiency(const RuntimeInfo& r, std::string_view precision) {
  if (auto it = r.efficiency.find(std::string(precision)); it != r.efficiency.end())
    return it->second;
  double lo = 0.05;
  for (const auto& [p, e] : r.efficiency) lo = std::min(lo, e);
  return lo;
}

double CpuPeakMacsPerSecond(const TargetProfile& t) {
  const double lanes = std::max(1.0, t.cpu.simd_bits / 32.0);
  return t.cpu.cores * t.cpu.mhz * 1e6 * lanes;
}

double EstimateLatencyMs(const KnowledgeBase& kb, const RuntimeInfo& r, const TargetProfile& t,
                         const ModelAnalysis& m, std::string_view precision,
                         double fallback_fraction) {
  const double macs = static_cast<double>(std::max<int64_t>(m.macs, 1));
  const double cpu_rate = CpuPeakMacsPerSecond(t) * Efficiency(r, precision);
  const Accelerator* acc = r.uses_accelerator ? MatchAccelerator(r, t) : nullptr;
  if (acc == nullptr || acc->tops <= 0) return macs / cpu_rate * 1e3;
  // TOPS are quoted at int8 (2 ops per MAC); fp16 runs at half that rate and fp32 at a quarter.
  const double precision_factor = precision == "fp32"                             ? 0.25
                                  : (precision == "fp16" || precision == "int16") ? 0.5
                                                                                  : 1.0;
  const double acc_rate = acc->tops * 1e12 / 2 * precision_factor * Efficiency(r, precision);
  double fallback_rate = CpuPeakMacsPerSecond(t) * 0.1;
  if (const RuntimeInfo* fb = kb.FindRuntime(r.ops.fallback_runtime))
    fallback_rate = CpuPeakMacsPerSecond(t) * Efficiency(*fb, precision);
  return macs * (1 - fallback_fraction) / acc_rate * 1e3 +
         macs * fallback_fraction / fallback_rate * 1e3 + acc->transfer_overhead_ms;
}

std::string ChoosePrecision(const RuntimeInfo& r, const ModelAnalysis& m, const AdviseOptions& o) {
  if (!o.precision.empty() && Contains(r.precisions, o.precision)) return o.precision;
  if (m.quantized && Contains(r.precisions, "int8")) return "int8";
  return r.default_precision;
}

}  // namespace

Expected<Decision> Decide(const KnowledgeBase& kb, const ModelAnalysis& m, const AdviseOptions& o) {
  const TargetProfile* t = kb.FindTarget(o.target);
  if (t == nullptr) {
    return NotFound(
        fmt::format("unknown target '{}'; nearest: {} (edgerun advise --list-targets lists all)",
                    o.target, Join(kb.NearestTargetNames(o.target, 3))));
  }
  static const std::vector<std::string> kFrameworks{"pytorch", "tensorflow", "keras", "paddle",
                                                    "other"};
  if (!o.framework.empty() && !Contains(kFrameworks, o.framework)) {
    return InvalidArgument(
        fmt::format("--framework '{}' is not one of: {}", o.framework, Join(kFrameworks)));
  }
  static const std::vector<std::string> kPrecisions{"int8", "fp16", "fp32"};
  if (!o.precision.empty() && !Contains(kPrecisions, o.precision)) {
    return InvalidArgument(
        fmt::format("--precision '{}' is not one of: {}", o.precision, Join(kPrecisions)));
  }
  Decision d;
  d.model = &m;
  d.target = t;
  d.framework = o.framework.empty() ? m.framework_guess : o.framework;
  d.requested_precision = o.precision;
  d.budget_bytes =
      o.ram_bytes ? *o.ram_bytes
                  : (t->ram_bytes > t->os_reserved_bytes ? t->ram_bytes - t->os_reserved_bytes : 0);

  // Start of the conversion chain: the training framework, or the file's format for "other".
  std::string start = d.framework;
  bool start_known = false;
  for (const Conversion& c : kb.conversions) start_known = start_known || c.from == start;
  if (d.framework == "other" || !start_known) start = m.format;

  struct Candidate {
    const RuntimeInfo* r;
    Viable v;
    double fallback_fraction;
  };
  std::vector<Candidate> candidates;
  for (const RuntimeInfo& r : kb.runtimes) {
    Eliminated e{r.name, r.display, "", "", {}, std::nullopt, {}};
    // 1. hardware
    if (std::string why = HardwareReason(r, *t); !why.empty()) {
      e.stage = "hardware";
      e.reason = why;
      d.eliminated.push_back(std::move(e));
      continue;
    }
    // 2. memory, at the precision the runtime would run
    const std::string precision = ChoosePrecision(r, m, o);
    const MemoryUse mem = ComputeMemory(r, m, *t, precision, d.budget_bytes);
    if (!Fits(mem)) {
      e.stage = "memory";
      e.reason = MemoryReason(mem, precision, r.weights_in_flash);
      e.memory = mem;
      for (const std::string& p : r.precisions) {
        if (ElementBytes(p) >= ElementBytes(precision)) continue;
        const MemoryUse alt = ComputeMemory(r, m, *t, p, d.budget_bytes);
        if (Fits(alt)) {
          e.suggestions.push_back(
              r.weights_in_flash
                  ? fmt::format("{} would fit in {} RAM and {} flash", p,
                                FormatBytes(alt.total_bytes), FormatBytes(alt.flash_bytes))
                  : fmt::format("{} would fit in {}", p, FormatBytes(alt.total_bytes)));
          break;
        }
      }
      if (e.suggestions.empty()) {
        std::string smallest = precision;
        for (const std::string& p : r.precisions) {
          if (ElementBytes(p) < ElementBytes(smallest)) smallest = p;
        }
        const MemoryUse alt = ComputeMemory(r, m, *t, smallest, d.budget_bytes);
        const double over_ram =
            alt.budget_bytes > 0 ? static_cast<double>(alt.total_bytes) / alt.budget_bytes : 0;
        const double over_flash =
            alt.flash_budget_bytes > 0
                ? static_cast<double>(alt.flash_bytes) / alt.flash_budget_bytes
                : 0;
        e.suggestions.push_back(fmt::format(
            "even at {} it needs {} RAM{}; shrink the model about {:.1f}x (fewer channels, lower "
            "input resolution)",
            smallest, FormatBytes(alt.total_bytes),
            alt.flash_budget_bytes > 0 ? " and " + FormatBytes(alt.flash_bytes) + " flash" : "",
            std::max(over_ram, over_flash)));
      }
      d.eliminated.push_back(std::move(e));
      continue;
    }
    // 3. format and conversion path
    if (!o.precision.empty() && !Contains(r.precisions, o.precision)) {
      e.stage = "format";
      e.reason = fmt::format("runs {} only; --precision {} was requested", Join(r.precisions, "/"),
                             o.precision);
      e.suggestions.push_back(
          fmt::format("allow {} (e.g. --precision {})", r.default_precision, r.default_precision));
      d.eliminated.push_back(std::move(e));
      continue;
    }
    auto path = FindPath(kb, start, r.formats);
    if (!path) {
      e.stage = "format";
      e.reason = fmt::format("no known conversion from {} to {}", start, Join(r.formats, "/"));
      d.eliminated.push_back(std::move(e));
      continue;
    }
    if ((precision == "int8" || precision == "int16") && !m.quantized) {
      path->push_back(
          {precision == "int8" ? "fp32" : "fp32", precision,
           "post-training quantization with a representative calibration set", "reliable",
           "accuracy typically drops 1-5%; quantization-aware training recovers most of it"});
    }
    // 4. operators
    if (!r.dynamic_shapes && !m.dynamic_dims.empty()) {
      e.stage = "operators";
      e.reason = fmt::format("needs static shapes; the model's inputs have dynamic dims: {}",
                             Join(m.dynamic_dims));
      std::string example;
      for (const TensorInfo& in : m.inputs) {
        if (in.shape.find_first_not_of("0123456789x") != std::string::npos) example = in.name;
      }
      e.suggestions.push_back(
          fmt::format("export with fixed input shapes (batch 1 and a fixed resolution for '{}'); "
                      "--shape {}=DIMS evaluates that",
                      example, example));
      d.eliminated.push_back(std::move(e));
      continue;
    }
    if (r.ops.max_opset > 0) {
      auto it = m.opset_imports.find("ai.onnx");
      if (it != m.opset_imports.end() && it->second > r.ops.max_opset) {
        e.stage = "operators";
        e.reason = fmt::format("the model imports ai.onnx opset {}; {} {} reads up to opset {}",
                               it->second, r.display, r.version, r.ops.max_opset);
        e.suggestions.push_back(fmt::format("re-export with opset {} or lower", r.ops.max_opset));
        d.eliminated.push_back(std::move(e));
        continue;
      }
    }
    OpCheck ops = CheckOps(kb, r, m);
    const double fraction =
        r.ops.on_unsupported == "fail_to_load" ? 0 : FallbackFraction(r, m, ops.bad_nodes);
    auto suggestions_for = [&](const std::vector<OpIssue>& issues) {
      std::vector<std::string> s;
      for (const PatternRule& p : r.ops.unsupported_patterns) {
        if (m.HasPattern(p.pattern) && !p.suggestion.empty()) s.push_back(p.suggestion);
      }
      for (const OpIssue& i : issues) {
        if (i.kind != "op") continue;
        if (auto it = kb.op_alternatives.find(i.op); it != kb.op_alternatives.end()) {
          s.push_back(fmt::format("replace {} with {} for {}", i.op, it->second, r.display));
        }
      }
      return s;
    };
    if (!ops.issues.empty() &&
        (r.ops.on_unsupported == "fail_to_load" || fraction > r.ops.max_fallback_fraction)) {
      std::vector<std::string> names;
      for (const OpIssue& i : ops.issues)
        names.push_back(i.kind == "pattern" ? i.op + " (pattern)" : i.op);
      e.stage = "operators";
      e.reason =
          r.ops.on_unsupported == "fail_to_load"
              ? fmt::format("{} unsupported, fails to load: {}",
                            ops.issues.size() == 1 ? "1 op is"
                                                   : fmt::format("{} ops are", ops.issues.size()),
                            Join(names))
              : fmt::format("{:.0f}% of MACs would fall back to the CPU (limit {:.0f}%): {}",
                            fraction * 100, r.ops.max_fallback_fraction * 100, Join(names));
      e.unsupported_ops = ops.issues;
      e.suggestions = suggestions_for(ops.issues);
      d.eliminated.push_back(std::move(e));
      continue;
    }
    Viable v;
    v.runtime = r.name;
    v.display = r.display;
    v.version = r.version;
    v.precision = precision;
    v.path = *path;
    v.fallback_ops = ops.issues;
    v.memory = mem;
    v.estimated_latency_ms = EstimateLatencyMs(kb, r, *t, m, precision, fraction);
    if (!ops.issues.empty()) {
      v.suggestions = suggestions_for(ops.issues);
      v.warnings.push_back(
          fmt::format("{:.0f}% of MACs fall back to {} ({} op{})", fraction * 100,
                      r.ops.fallback_runtime.empty() ? "the CPU" : r.ops.fallback_runtime,
                      ops.issues.size(), ops.issues.size() == 1 ? "" : "s"));
    }
    for (const RuntimeInfo::Warning& w : r.warnings) {
      if (w.when == "always" || (w.when == "float_model" && !m.quantized) ||
          (w.when == "quantized_model" && m.quantized) ||
          (w.when == "fallback_ops" && !ops.issues.empty())) {
        v.warnings.push_back(w.text);
      }
    }
    for (const PathStep& s : v.path) {
      if (s.fragility == "fragile")
        v.warnings.push_back(
            fmt::format("conversion {} -> {} ({}) is fragile: {}", s.from, s.to, s.tool, s.note));
    }
    candidates.push_back({&r, std::move(v), fraction});
  }

  // Score (docs/advisor.md): 100 - 5 x path risk - 4 per fallback op (max 20) + maturity
  // + 25 x (fastest estimate / this estimate) - 10 when memory use is above 80% of the budget.
  double fastest = std::numeric_limits<double>::max();
  double fastest_cpu = std::numeric_limits<double>::max();
  std::string fastest_cpu_name;
  for (const Candidate& c : candidates) {
    fastest = std::min(fastest, c.v.estimated_latency_ms);
    if (!c.r->uses_accelerator && c.v.estimated_latency_ms < fastest_cpu) {
      fastest_cpu = c.v.estimated_latency_ms;
      fastest_cpu_name = c.r->display;
    }
  }
  for (Candidate& c : candidates) {
    int risk = 0;
    for (const PathStep& s : c.v.path) risk += FragilityCost(s.fragility);
    double score = 100 - 5.0 * risk - std::min<double>(20, 4.0 * c.v.fallback_ops.size()) +
                   c.r->maturity + 25.0 * fastest / std::max(c.v.estimated_latency_ms, 1e-9);
    if (c.v.memory.total_bytes * 10 > c.v.memory.budget_bytes * 8) {
      score -= 10;
      c.v.warnings.push_back(fmt::format("memory is tight: {} of the {} budget",
                                         FormatBytes(c.v.memory.total_bytes),
                                         FormatBytes(c.v.memory.budget_bytes)));
    }
    c.v.score = std::round(score * 10) / 10;
    if (c.r->uses_accelerator && !fastest_cpu_name.empty() &&
        fastest_cpu <= c.v.estimated_latency_ms) {
      const Accelerator* acc = MatchAccelerator(*c.r, *t);
      c.v.warnings.push_back(
          fmt::format("small model: {} on the CPU (est. {:.2f} ms) is as fast as the {} (est. "
                      "{:.2f} ms incl. {:.1f} ms transfer/invoke); "
                      "the accelerator does not pay back its overhead",
                      fastest_cpu_name, fastest_cpu, acc != nullptr ? acc->name : "accelerator",
                      c.v.estimated_latency_ms, acc != nullptr ? acc->transfer_overhead_ms : 0.0));
    }
    c.v.warnings.push_back(fmt::format("pin the runtime version: this advice is for {} {}",
                                       c.r->display, c.r->version));
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.v.score > b.v.score; });
  for (size_t i = 0; i < candidates.size(); ++i) {
    candidates[i].v.rank = static_cast<int>(i) + 1;
    d.viable.push_back(std::move(candidates[i].v));
  }
  return d;
}

}  // namespace edgerun::advisor
