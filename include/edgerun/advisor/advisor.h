// The decision: which runtimes can run a model on a hardware profile, ranked, with a one-line
// reason for every runtime eliminated.
//
// Elimination follows the selection guide's order: hardware (class, OS, ISA, vendor,
// accelerator) -> memory (weights at the runtime's precision + planned arena + runtime overhead
// against the RAM budget, and flash on MCUs) -> format (cheapest conversion path from the
// training framework to a format the runtime loads; precision requirements) -> operators (every
// unsupported op and pattern, and whether it fails to load or falls back to the CPU). Survivors
// are scored (docs/advisor.md, "Score") and ranked.
// Usage:
//   ASSIGN_OR_RETURN(Decision d, Decide(kb, analysis, AdviseOptions{.target = "coral-usb"}));
//   std::puts(DecisionToJson(d).c_str());
//   for (const Viable& v : d.viable) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgerun/advisor/analysis.h"
#include "edgerun/advisor/knowledge_base.h"
#include "edgerun/status.h"

namespace edgerun::advisor {

struct AdviseOptions {
  std::string target{};
  std::optional<uint64_t> ram_bytes{};  // overrides the profile's RAM budget
  std::string framework{};              // pytorch|tensorflow|keras|paddle|other; "" guesses
  std::string precision{};              // int8|fp16|fp32; "" lets each runtime use its default
};

struct PathStep {
  std::string from, to, tool, fragility, note;
};

struct OpIssue {
  std::string op;      // op type, or the pattern's name ("LayerNorm", "GELU", "attention")
  std::string domain;  // "" is the default ONNX domain
  std::string kind;    // op (not supported) | constraint (supported, but not like this) | pattern
  int count = 0;
  std::string behavior;  // fails_to_load | cpu_fallback
  std::string reason;
  std::vector<std::string> nodes;  // first few node names
};

struct MemoryUse {
  uint64_t weights_bytes = 0;
  uint64_t arena_bytes = 0;
  uint64_t runtime_bytes = 0;
  uint64_t total_bytes = 0;   // RAM use
  uint64_t budget_bytes = 0;  // RAM budget
  uint64_t flash_bytes = 0;   // flash use (weights + code) on targets with a flash limit
  uint64_t flash_budget_bytes = 0;
};

struct Viable {
  std::string runtime, display, version;
  int rank = 0;
  double score = 0;
  std::string precision;
  std::vector<PathStep> path;
  std::vector<OpIssue> fallback_ops;
  MemoryUse memory;
  double estimated_latency_ms = 0;  // model-based estimate, see docs/advisor.md
  std::vector<std::string> warnings, suggestions;
};

struct Eliminated {
  std::string runtime, display;
  std::string stage;  // hardware | memory | format | operators
  std::string reason;
  std::vector<OpIssue> unsupported_ops;
  std::optional<MemoryUse> memory;  // for the memory stage
  std::vector<std::string> suggestions;
};

struct Decision {
  const ModelAnalysis* model = nullptr;
  const TargetProfile* target = nullptr;
  std::string framework;  // used (given or guessed)
  std::string requested_precision;
  uint64_t budget_bytes = 0;
  std::vector<Viable> viable;
  std::vector<Eliminated> eliminated;
};

// Unknown target -> kNotFound naming the nearest profiles; bad options -> kInvalidArgument.
Expected<Decision> Decide(const KnowledgeBase& kb, const ModelAnalysis& model,
                          const AdviseOptions& options);

// What --probe measured for one runtime available on this machine.
struct ProbeResult {
  std::string runtime;
  bool ok = false;
  double load_ms = 0, run_ms = 0;  // creation, and the median of the timed runs
  int runs = 0;
  std::string error;
};
// Loads and runs the model in edgerun's engine on seeded random inputs (dims bound to 1).
// `bind` carries --shape (input_shapes / symbol_values); other dynamic dims are bound to 1.
ProbeResult ProbeEdgerun(const Model& model, int runs = 5, const SessionOptions& bind = {});

// Stable JSON (docs/advisor.md documents every field).
std::string DecisionToJson(const Decision& d, const std::vector<ProbeResult>& probes = {},
                           int indent = 2);
std::string DecisionToText(const Decision& d, const std::vector<ProbeResult>& probes = {});
// --all-targets: one Decision per profile.
std::string MatrixToJson(const ModelAnalysis& model, const std::vector<Decision>& decisions,
                         int indent = 2);
std::string MatrixToText(const ModelAnalysis& model, const std::vector<Decision>& decisions);

}  // namespace edgerun::advisor
