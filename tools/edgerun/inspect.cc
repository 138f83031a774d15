// edgerun inspect: what a model needs before it is deployed (I/O, ops, params, MACs, arena,
// kernel per node, unsupported ops, dynamic dims).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "edgerun/cli_common.h"
#include "edgerun/commands.h"
#include "passes/graph_dump.h"
#include "runtime/infer_and_fold.h"

namespace edgerun::cli {
namespace {

nlohmann::json ShapeJson(const Value& v) {
  if (!v.shape) return nullptr;
  nlohmann::json dims = nlohmann::json::array();
  for (const Dim& d : *v.shape) {
    if (d.is_static()) {
      dims.push_back(d.value);
    } else {
      dims.push_back(d.symbol.empty() ? "?" : d.symbol);
    }
  }
  return dims;
}

nlohmann::json IoJson(const Graph& g, const std::vector<int>& ids) {
  nlohmann::json out = nlohmann::json::array();
  for (int v : ids) {
    out.push_back({{"name", g.values[v].name},
                   {"dtype", DTypeName(g.values[v].dtype)},
                   {"shape", ShapeJson(g.values[v])}});
  }
  return out;
}

std::string HumanBytes(size_t b) {
  if (b >= (size_t{1} << 20)) return fmt::format("{:.2f} MiB", b / 1048576.0);
  if (b >= 1024) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{} B", b);
}

}  // namespace

int RunInspect(const InspectArgs& args) {
  auto model = LoadModel(args.model);
  if (!model) return ReportError(model.status());
  const Graph& g = model->graph;

  SessionOptions options;
  if (Status st = ApplyEngineArgs(args.engine, options); !st.ok()) {
    ReportError(st);
    return kExitUsage;
  }
  options.default_dim_value = 1;  // report for batch 1 unless --shape says otherwise
  if (Status s = ApplyShapeArgs(g, args.shapes, options); !s.ok()) return ReportError(s);

  int64_t param_count = 0;
  size_t param_bytes = 0;
  for (const Value& v : g.values) {
    if (!v.is_constant()) continue;
    param_count += v.constant->num_elements();
    param_bytes += v.constant->bytes();
  }
  std::vector<const Node*> unknown = FindUnknownOps(g);
  const std::vector<std::string> dynamic_dims = g.SymbolicDims();

  auto session = Session::Create(*model, options);
  int64_t total_macs = 0;
  std::vector<NodeReport> reports;
  if (session) {
    reports = (*session)->NodeReports();
    for (const NodeReport& r : reports) total_macs += r.macs;
  }

  if (args.json) {
    nlohmann::json j;
    j["model"] = args.model;
    j["format"] = g.source_format;
    j["producer"] = g.producer;
    nlohmann::json opsets = nlohmann::json::object();
    for (const auto& [domain, version] : g.opset_imports)
      opsets[domain.empty() ? "ai.onnx" : domain] = version;
    j["opset_imports"] = opsets;
    j["inputs"] = IoJson(g, g.inputs);
    j["outputs"] = IoJson(g, g.outputs);
    j["dynamic_dims"] = dynamic_dims;
    j["op_histogram"] = g.OpHistogram();
    j["node_count"] = g.nodes.size();
    j["parameters"] = {{"count", param_count}, {"bytes", param_bytes}};
    nlohmann::json unsupported = nlohmann::json::array();
    for (const Node* n : unknown) {
      unsupported.push_back({{"node", n->name}, {"op", n->op_type}, {"domain", n->domain}});
    }
    j["unsupported_ops"] = unsupported;
    if (session) {
      const Session& s = **session;
      j["bound_shapes"] = IoJson(s.optimized_graph(), s.optimized_graph().inputs);
      j["macs"] = total_macs;
      j["arena_bytes"] = s.arena_bytes();
      j["persistent_bytes"] = s.persistent_bytes();
      j["weight_bytes"] = s.weight_bytes();
      j["held_weight_bytes"] = s.held_weight_bytes();
      j["optimized_node_count"] = s.optimized_graph().nodes.size();
      j["optimized_op_histogram"] = s.optimized_graph().OpHistogram();
      j["passes"] = s.pass_log();
      nlohmann::json nodes = nlohmann::json::array();
      for (const NodeReport& r : reports) {
        nodes.push_back({{"name", r.name},
                         {"op", r.op_type},
                         {"kernel", r.kernel},
                         {"implementation", r.implementation},
                         {"inputs", r.inputs},
                         {"outputs", r.outputs},
                         {"output_shapes", r.output_shapes},
                         {"macs", r.macs}});
      }
      j["nodes"] = nodes;
      if (args.show_graph) {
        j["graph_before"] = DumpGraph(g);
        j["graph_after"] = DumpGraph(s.optimized_graph());
      }
    } else {
      j["error"] = session.status().message();
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    fmt::print("model: {} ({}, producer '{}')\n", args.model, g.source_format, g.producer);
    std::string opsets;
    for (const auto& [domain, version] : g.opset_imports) {
      opsets += fmt::format("{}{}={}", opsets.empty() ? "" : ", ",
                            domain.empty() ? "ai.onnx" : domain, version);
    }
    fmt::print("opsets: {}\n", opsets);
    fmt::print("inputs:\n");
    for (int v : g.inputs) {
      fmt::print("  {:<24} {:<5} {}\n", g.values[v].name, DTypeName(g.values[v].dtype),
                 g.values[v].shape ? ShapeToString(*g.values[v].shape) : "?");
    }
    fmt::print("outputs:\n");
    for (int v : g.outputs) {
      fmt::print("  {:<24} {:<5} {}\n", g.values[v].name, DTypeName(g.values[v].dtype),
                 g.values[v].shape ? ShapeToString(*g.values[v].shape) : "?");
    }
    if (!dynamic_dims.empty()) {
      std::string dd;
      for (const auto& d : dynamic_dims) dd += (dd.empty() ? "" : ", ") + d;
      fmt::print("dynamic dims: {} (bound to 1 unless --shape is given)\n", dd);
    }
    fmt::print("parameters: {} ({})\n", param_count, HumanBytes(param_bytes));
    fmt::print("nodes: {}\nop histogram:\n", g.nodes.size());
    for (const auto& [op, count] : g.OpHistogram()) fmt::print("  {:<28} {}\n", op, count);
    if (!unknown.empty()) {
      fmt::print("unsupported ops ({}):\n", unknown.size());
      for (const Node* n : unknown) fmt::print("  {}\n", n->Describe());
    }
    if (session) {
      const Session& s = **session;
      fmt::print("MACs: {} ({:.3f} G)\n", total_macs, total_macs / 1e9);
      fmt::print("arena: {} bytes ({})\n", s.arena_bytes(), HumanBytes(s.arena_bytes()));
      fmt::print(
          "kernel state: {} bytes ({}), weights after folding: {} bytes, of which held "
          "unpacked: {} bytes (the rest lives packed in the kernel state)\n",
          s.persistent_bytes(), HumanBytes(s.persistent_bytes()), s.weight_bytes(),
          s.held_weight_bytes());
      fmt::print("optimized graph: {} nodes\n", s.optimized_graph().nodes.size());
      for (const std::string& line : s.pass_log()) fmt::print("  pass: {}\n", line);
      fmt::print("kernels:\n");
      for (const NodeReport& r : reports) {
        std::string shape = r.output_shapes.empty() ? "" : DimsToString(r.output_shapes[0]);
        if (!r.implementation.empty()) shape = fmt::format("{:<20} {}", shape, r.implementation);
        fmt::print("  {:<36} {:<24} {:<8} {}\n", r.name, r.op_type, r.kernel, shape);
      }
      if (args.show_graph) {
        fmt::print("graph before passes:\n{}graph after passes:\n{}", DumpGraph(g),
                   DumpGraph(s.optimized_graph()));
      }
    } else {
      fmt::print("session: cannot be created: {}\n", session.status().message());
    }
  }
  if (!unknown.empty()) return kExitInputError;
  if (!session) return ReportError(session.status());
  return kExitOk;
}

}  // namespace edgerun::cli
