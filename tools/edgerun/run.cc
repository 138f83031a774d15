// edgerun run: one inference on given (or seeded random) inputs; outputs written as .npy.
#include <filesystem>
#include <map>

#include "edgerun/cli_common.h"
#include "edgerun/commands.h"
#include "io/npy.h"

namespace edgerun::cli {

int RunRun(const RunArgs& args) {
  auto model = LoadModel(args.model);
  if (!model) return ReportError(model.status());
  const Graph& g = model->graph;

  auto given = ReadInputArgs(g, args.inputs, args.model);
  if (!given) return ReportError(given.status());

  SessionOptions options;
  if (Status st = ApplyEngineArgs(args.engine, options); !st.ok()) {
    ReportError(st);
    return kExitUsage;
  }
  if (Status s = ApplyShapeArgs(g, args.shapes, options); !s.ok()) return ReportError(s);
  ApplyInputShapes(*given, options);  // an input file fixes that input's shape
  if (args.random_inputs) options.default_dim_value = 1;
  for (int v : g.inputs) {
    const std::string& name = g.values[v].name;
    if (!given->count(name) && !args.random_inputs) {
      return ReportError(InvalidArgument("missing input '" + name + "' of " + args.model +
                                         ": pass --input " + name +
                                         "=FILE or --random-inputs SEED"));
    }
  }

  auto session = Session::Create(std::move(*model), options);
  if (!session) return ReportError(session.status());
  Session& s = **session;
  if (Status st = SetInputs(s, *given, args.seed, args.model); !st.ok()) return ReportError(st);
  if (Status st = s.Run(); !st.ok()) return ReportError(st);

  std::error_code ec;
  std::filesystem::create_directories(args.output_dir, ec);
  if (ec) {
    return ReportError(IoError(args.output_dir + ": cannot create directory: " + ec.message()));
  }
  for (int i = 0; i < s.num_outputs(); ++i) {
    const std::string path =
        (std::filesystem::path(args.output_dir) / (EscapeFileName(s.output_name(i)) + ".npy"))
            .string();
    if (Status st = WriteNpy(path, s.output(i)); !st.ok()) return ReportError(st);
    std::printf("%s -> %s [%s %s]\n", s.output_name(i).c_str(), path.c_str(),
                std::string(DTypeName(s.output(i).dtype)).c_str(),
                DimsToString(s.output(i).shape()).c_str());
  }
  return kExitOk;
}

}  // namespace edgerun::cli
