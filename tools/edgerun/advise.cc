// edgerun advise: which runtime (and hardware) fits a model, by elimination over the knowledge
// base in data/advisor (hardware -> memory -> format -> operators), with a reason for every
// runtime removed. --all-targets prints the target x best-runtime matrix; --probe also runs the
// model in the runtimes this machine has (edgerun's engine today).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "edgerun/advisor/advisor.h"
#include "edgerun/cli_common.h"
#include "edgerun/commands.h"

namespace edgerun::cli {
namespace {

struct AdviseArgs {
  std::string model;
  std::string target;
  bool all_targets = false;
  std::string ram;
  std::string framework;
  std::string precision;
  bool json = false;
  bool list_targets = false;
  bool list_runtimes = false;
  bool probe = false;
  std::string kb_dir;
  std::vector<std::string> shapes;
};

int Usage(const std::string& message) { return ReportError(InvalidArgument("usage: " + message)); }

int RunAdvise(const AdviseArgs& args) {
  using namespace edgerun::advisor;
  const std::string dir =
      args.kb_dir.empty() ? DefaultKnowledgeBaseDir("/proc/self/exe") : args.kb_dir;
  auto kb = LoadKnowledgeBase(dir);
  if (!kb) return ReportError(kb.status().WithPrefix("knowledge base " + dir));
  if (args.list_targets || args.list_runtimes) {
    if (args.list_targets) {
      for (const TargetProfile& t : kb->targets) std::printf("%s\n", t.name.c_str());
    }
    if (args.list_runtimes) {
      for (const RuntimeInfo& r : kb->runtimes) std::printf("%s\n", r.name.c_str());
    }
    return kExitOk;
  }
  if (args.model.empty())
    return Usage(
        "edgerun advise MODEL (--target NAME | --all-targets), or --list-targets / "
        "--list-runtimes");
  if (args.target.empty() == !args.all_targets)
    return Usage("give exactly one of --target NAME and --all-targets");

  AdviseOptions options;
  options.framework = args.framework;
  options.precision = args.precision;
  if (!args.ram.empty()) {
    auto ram = ParseByteSize(args.ram);
    if (!ram) return Usage("--ram: " + ram.status().message());
    options.ram_bytes = *ram;
  }
  if (!args.target.empty() && kb->FindTarget(args.target) == nullptr) {
    std::string near;
    for (const std::string& n : kb->NearestTargetNames(args.target, 3))
      near += (near.empty() ? "" : ", ") + n;
    return Usage(fmt::format(
        "unknown target '{}'; did you mean: {}? (edgerun advise --list-targets lists all)",
        args.target, near));
  }

  auto model = LoadModel(args.model);
  if (!model) return ReportError(model.status());
  SessionOptions bind;
  if (Status st = ApplyShapeArgs(model->graph, args.shapes, bind); !st.ok())
    return Usage(st.message());
  auto analysis = AnalyzeModel(*model, bind);
  if (!analysis) return ReportError(analysis.status());
  std::vector<ProbeResult> probes;
  if (args.probe) probes.push_back(ProbeEdgerun(*model, 5, bind));

  if (args.all_targets) {
    std::vector<Decision> decisions;
    for (const TargetProfile& t : kb->targets) {
      options.target = t.name;
      auto d = Decide(*kb, *analysis, options);
      if (!d) return ReportError(d.status());
      decisions.push_back(std::move(d).value());
    }
    if (args.json) {
      std::printf("%s\n", MatrixToJson(*analysis, decisions).c_str());
    } else {
      std::fputs(MatrixToText(*analysis, decisions).c_str(), stdout);
      for (const ProbeResult& p : probes) {
        std::printf("\nprobe %s: %s\n", p.runtime.c_str(),
                    p.ok ? fmt::format("ok, load {:.1f} ms, run {:.3f} ms (median of {})",
                                       p.load_ms, p.run_ms, p.runs)
                               .c_str()
                         : ("failed: " + p.error).c_str());
      }
    }
    return kExitOk;
  }
  options.target = args.target;
  auto d = Decide(*kb, *analysis, options);
  if (!d)
    return d.status().code() == StatusCode::kInvalidArgument ? Usage(d.status().message())
                                                             : ReportError(d.status());
  if (args.json) {
    std::printf("%s\n", DecisionToJson(*d, probes).c_str());
  } else {
    std::fputs(DecisionToText(*d, probes).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace

Subcommand AddAdviseCommand(CLI::App& parent) {
  auto args = std::make_shared<AdviseArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "advise", "Choose the runtime and hardware for a model, with a reason for every choice");
  cmd->add_option("model", args->model, "Model file (.onnx)");
  cmd->add_option("--target", args->target, "Hardware profile (see --list-targets)");
  cmd->add_flag("--all-targets", args->all_targets, "Matrix of every profile x its best runtime");
  cmd->add_option("--ram", args->ram, "RAM budget overriding the profile's, e.g. 256KB, 2MB");
  cmd->add_option("--framework", args->framework,
                  "Training framework (default: guessed from the producer)")
      ->check(CLI::IsMember({"pytorch", "tensorflow", "keras", "paddle", "other"}));
  cmd->add_option("--precision", args->precision, "Force a precision (default: each runtime's own)")
      ->check(CLI::IsMember({"int8", "fp16", "fp32"}));
  cmd->add_flag("--json", args->json, "Machine-readable output (schema in docs/advisor.md)");
  cmd->add_flag("--list-targets", args->list_targets,
                "Print the known hardware profiles, one per line");
  cmd->add_flag("--list-runtimes", args->list_runtimes, "Print the known runtimes, one per line");
  cmd->add_flag("--probe", args->probe,
                "Also load and run the model in the runtimes available here (edgerun)");
  cmd->add_option(
      "--shape", args->shapes,
      "NAME=DIMS for an input or a symbolic dim (the deployed shape; others are bound to 1)");
  cmd->add_option(
      "--kb", args->kb_dir,
      "Knowledge base directory (default $EDGERUN_ADVISOR_DATA or the built-in data/advisor)");
  return Subcommand{cmd, [args] { return RunAdvise(*args); }};
}

}  // namespace edgerun::cli
