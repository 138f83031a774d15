#include "edgerun/cli_common.h"

#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>

#include "edgerun/commands.h"
#include "formats/onnx/onnx_tensor.h"
#include "io/npy.h"

namespace edgerun::cli {

void AddEngineOptions(CLI::App* cmd, EngineArgs& args) {
  cmd->add_option("--threads", args.threads, "Threads for one inference, including the caller")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--pin", args.pin, "Pin the inference threads to cores 0..threads-1");
  CLI::Option* spin =
      cmd->add_flag("--spin", args.spin,
                    "Workers spin without bound between layers (default: about 60 us, then sleep); "
                    "for cores reserved for inference");
  cmd->add_flag("--no-spin", args.no_spin,
                "Workers sleep at once and only large layers use them: for cores shared with "
                "other busy processes")
      ->excludes(spin);
  cmd->add_option("--kernels", args.kernels,
                  "Kernel paths in preference order: auto, or a comma list of onednn, xnnpack, "
                  "ref (ref alone runs the portable reference kernels)");
  cmd->add_flag("--tune", args.tune,
                "Time every candidate kernel per node at load, and each implementation oneDNN "
                "offers for a conv; keep the fastest when it beats the default choice by 5% "
                "(cached)");
  cmd->add_option("--tune-cache", args.tune_cache,
                  "Directory of the tuning cache (default $EDGERUN_CACHE/tune or "
                  "~/.cache/edgerun/tune)");
  cmd->add_option("--weight-cache", args.weight_cache,
                  "Directory where packed weights are kept: the next load of the same model file "
                  "maps them instead of packing again (like OpenVINO's cache_dir)");
  cmd->add_flag("--no-optimize", args.no_optimize,
                "Skip graph passes (fusion, layout); run the graph as written");
  cmd->add_flag("--flush-denormals", args.flush_denormals,
                "Treat subnormal floats as zero while running (x86 FTZ/DAZ, ARM FZ): avoids "
                "slow subnormal arithmetic; results may differ below 1.2e-38");
  cmd->add_flag("--no-huge-pages", args.no_huge_pages,
                "Arena and packed weights on 4 KiB pages: slower load, but no stalls where the "
                "OS samples memory access (DAMON on some VMs)");
  cmd->add_flag("--no-winograd", args.no_winograd,
                "Direct convolutions only: no Winograd kernels for 3x3 convs (slower, closer to "
                "ONNX Runtime's results)");
}

Status ApplyEngineArgs(const EngineArgs& args, SessionOptions& options) {
  options.num_threads = args.threads;
  options.pin_threads = args.pin;
  // A passive policy chosen in the environment means the same as --no-spin.
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const bool passive_env = policy != nullptr && std::string_view(policy) == "passive";
  options.spin_wait = args.spin || (!args.no_spin && !passive_env);
  options.tune = args.tune;
  options.tune_cache_dir = args.tune_cache;
  options.weight_cache_dir = args.weight_cache;
  options.optimize = !args.no_optimize;
  options.flush_denormals = args.flush_denormals;
  options.huge_pages = !args.no_huge_pages;
  options.winograd = !args.no_winograd;
  options.kernel_paths.clear();
  if (args.kernels == "auto" || args.kernels.empty()) return Status::Ok();
  size_t start = 0;
  while (start <= args.kernels.size()) {
    size_t comma = args.kernels.find(',', start);
    if (comma == std::string::npos) comma = args.kernels.size();
    const std::string name = args.kernels.substr(start, comma - start);
    if (name == "ref" || name == "reference") {
      options.kernel_paths.push_back(KernelPath::kReference);
    } else if (name == "onednn") {
      options.kernel_paths.push_back(KernelPath::kOnednn);
    } else if (name == "xnnpack") {
      options.kernel_paths.push_back(KernelPath::kXnnpack);
    } else {
      return InvalidArgument("--kernels: unknown kernel path '" + name +
                             "' (expected auto, or a comma list of onednn, xnnpack, ref)");
    }
    start = comma + 1;
  }
  // The reference kernels stay the fallback for ops no fast path covers.
  if (std::find(options.kernel_paths.begin(), options.kernel_paths.end(), KernelPath::kReference) ==
      options.kernel_paths.end()) {
    options.kernel_paths.push_back(KernelPath::kReference);
  }
  return Status::Ok();
}

int ReportError(const Status& status) {
  std::fprintf(stderr, "edgerun: error: %s\n", status.message().c_str());
  return status.code() == StatusCode::kInvalidArgument && status.message().rfind("usage:", 0) == 0
             ? kExitUsage
             : kExitInputError;
}

Expected<std::vector<int64_t>> ParseDims(const std::string& text) {
  std::vector<int64_t> dims;
  if (text.empty() || text == "scalar") return dims;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find_first_of("x,", pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 12) {
      return InvalidArgument("invalid dims '" + text +
                             "': expected numbers joined by 'x', e.g. 1x3x224x224");
    }
    dims.push_back(std::stoll(part));
    pos = end + 1;
  }
  return dims;
}

Status ApplyShapeArgs(const Graph& graph, const std::vector<std::string>& shape_args,
                      SessionOptions& options) {
  const std::vector<std::string> symbols = graph.SymbolicDims();
  for (const std::string& arg : shape_args) {
    const size_t eq = arg.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--shape '" + arg + "': expected NAME=DIMS, e.g. input=1x3x224x224");
    }
    const std::string name = arg.substr(0, eq);
    ASSIGN_OR_RETURN(std::vector<int64_t> dims, ParseDims(arg.substr(eq + 1)));
    const int v = graph.FindValue(name);
    if (v >= 0 && graph.IsGraphInput(v)) {
      options.input_shapes[name] = dims;
    } else if (std::find(symbols.begin(), symbols.end(), name) != symbols.end()) {
      if (dims.size() != 1) {
        return InvalidArgument("--shape '" + arg + "': '" + name +
                               "' is a symbolic dim and takes one number");
      }
      options.symbol_values[name] = dims[0];
    } else {
      std::string known;
      for (int in : graph.inputs) known += (known.empty() ? "" : ", ") + graph.values[in].name;
      for (const std::string& s : symbols) known += ", dim '" + s + "'";
      return InvalidArgument("--shape '" + arg + "': no input or symbolic dim named '" + name +
                             "' (known: " + known + ")");
    }
  }
  return Status::Ok();
}

void FillRandom(const TensorView& view, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  const int64_t n = view.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    const float r = real(rng);
    const int64_t k = static_cast<int64_t>(rng() % 10);
    switch (view.dtype) {
      case DType::kF32:
        view.data<float>()[i] = r;
        break;
      case DType::kF64:
        view.data<double>()[i] = r;
        break;
      case DType::kF16:
        view.data<uint16_t>()[i] = FloatToHalf(r);
        break;
      case DType::kBF16:
        view.data<uint16_t>()[i] = FloatToBFloat16(r);
        break;
      case DType::kBool:
        view.data<uint8_t>()[i] = static_cast<uint8_t>(k & 1);
        break;
      case DType::kI8:
      case DType::kU8:
        view.data<uint8_t>()[i] = static_cast<uint8_t>(k);
        break;
      case DType::kI16:
      case DType::kU16:
        view.data<uint16_t>()[i] = static_cast<uint16_t>(k);
        break;
      case DType::kI32:
      case DType::kU32:
        view.data<uint32_t>()[i] = static_cast<uint32_t>(k);
        break;
      case DType::kI64:
      case DType::kU64:
        view.data<uint64_t>()[i] = static_cast<uint64_t>(k);
        break;
      case DType::kUndefined:
        break;
    }
  }
}

Expected<Tensor> ReadTensorFile(const std::string& path) {
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (ends_with(".pb")) {
    ASSIGN_OR_RETURN(auto named, LoadTensorProtoFile(path));
    return std::move(named.second);
  }
  if (ends_with(".npy")) return ReadNpy(path);
  return InvalidArgument(path + ": unknown input file type (expected .npy or .pb)");
}

Expected<std::map<std::string, Tensor>> ReadInputArgs(const Graph& graph,
                                                      const std::vector<std::string>& input_args,
                                                      const std::string& model_path) {
  std::map<std::string, Tensor> given;
  for (const std::string& arg : input_args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("usage: --input '" + arg + "': expected NAME=FILE");
    }
    const std::string name = arg.substr(0, eq);
    const int v = graph.FindValue(name);
    if (v < 0 || !graph.IsGraphInput(v)) {
      return InvalidArgument("--input names '" + name + "', which is not an input of " +
                             model_path);
    }
    ASSIGN_OR_RETURN(given[name], ReadTensorFile(arg.substr(eq + 1)));
  }
  return given;
}

void ApplyInputShapes(const std::map<std::string, Tensor>& given, SessionOptions& options) {
  for (const auto& [name, tensor] : given) options.input_shapes.try_emplace(name, tensor.dims());
}

Status SetInputs(Session& session, const std::map<std::string, Tensor>& given, uint64_t seed,
                 const std::string& model_path) {
  for (int i = 0; i < session.num_inputs(); ++i) {
    auto it = given.find(session.input_name(i));
    if (it == given.end()) {
      FillRandom(session.input(i), seed + static_cast<uint64_t>(i));
    } else {
      RETURN_IF_ERROR(session.SetInput(i, it->second.view()).WithPrefix(model_path));
    }
  }
  return Status::Ok();
}

std::string EscapeFileName(const std::string& tensor_name) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < tensor_name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(tensor_name[i]);
    const bool safe = std::isalnum(c) || c == '_' || c == '-' || (c == '.' && i > 0);
    if (safe) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out.empty() ? std::string("%00") : out;
}

size_t PeakRssBytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

}  // namespace edgerun::cli
