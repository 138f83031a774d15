// edgerun preprocess: decode an image (JPEG/PNG), apply a preprocessing spec and write the exact
// input tensor the pipeline would feed the model as .npy, so desktop and device tensors can be
// compared byte for byte. The spec comes from --spec FILE (.yaml/.yml/.json) or from the recipe
// options; prints the tensor shape and the source -> tensor transform.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <sstream>
#include <vector>

#include "edgerun/cli_common.h"
#include "edgerun/commands.h"
#include "edgerun/vision/image_io.h"
#include "edgerun/vision/preprocessor.h"
#include "io/npy.h"

namespace edgerun::cli {
namespace {

using namespace edgerun::vision;

struct PreprocessArgs {
  std::string image;
  std::string spec_file;
  std::string resize;
  std::string mode;
  bool letterbox = false;
  float pad = 114;
  std::string mean;
  std::string std_dev;
  float scale = 1;
  std::string order;
  std::string layout;
  std::string dtype;
  float quant_scale = 1;
  int quant_zero_point = 0;
  std::string crop;
  std::string output;
  bool print_spec = false;
};

Expected<std::array<float, 3>> ParseTriple(const std::string& text, const char* option) {
  std::vector<float> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const float v = std::strtof(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size()) {
      return InvalidArgument(fmt::format("{} '{}': '{}' is not a number", option, text, item));
    }
    values.push_back(v);
  }
  if (values.size() == 1) return std::array<float, 3>{values[0], values[0], values[0]};
  if (values.size() != 3) {
    return InvalidArgument(
        fmt::format("{} '{}': expected 1 or 3 comma-separated numbers", option, text));
  }
  return std::array<float, 3>{values[0], values[1], values[2]};
}

Status ParseSize(const std::string& text, int& w, int& h) {
  char x = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &extra) != 3 || (x != 'x' && x != 'X') ||
      w <= 0 || h <= 0) {
    return InvalidArgument(fmt::format("--resize '{}': expected WIDTHxHEIGHT, e.g. 224x224", text));
  }
  return Status::Ok();
}

// Usage errors (exit 2) come back as InvalidArgument from here.
Expected<PreprocessSpec> SpecFromOptions(const PreprocessArgs& a, const CLI::App& cmd) {
  PreprocessSpec s;
  if (!a.resize.empty()) RETURN_IF_ERROR(ParseSize(a.resize, s.width, s.height));
  if (!a.mode.empty()) {
    ASSIGN_OR_RETURN(s.resize_mode, ParseResizeMode(a.mode));
  }
  s.letterbox = a.letterbox;
  s.pad_value = a.pad;
  if (!a.mean.empty()) {
    ASSIGN_OR_RETURN(s.mean, ParseTriple(a.mean, "--mean"));
  }
  if (!a.std_dev.empty()) {
    ASSIGN_OR_RETURN(s.std, ParseTriple(a.std_dev, "--std"));
  }
  s.scale = a.scale;
  if (!a.order.empty()) {
    ASSIGN_OR_RETURN(s.order, ParseChannelOrder(a.order));
  }
  if (!a.layout.empty()) {
    ASSIGN_OR_RETURN(s.layout, ParseLayout(a.layout));
  }
  if (!a.dtype.empty()) {
    ASSIGN_OR_RETURN(s.dtype, ParseOutputDType(a.dtype));
  }
  s.quant_scale = a.quant_scale;
  s.quant_zero_point = a.quant_zero_point;
  if (!a.crop.empty()) {
    char x = 0, p1 = 0, p2 = 0, extra = 0;
    if (std::sscanf(a.crop.c_str(), "%d%c%d%c%d%c%d%c", &s.crop.width, &x, &s.crop.height, &p1,
                    &s.crop.x, &p2, &s.crop.y, &extra) != 7 ||
        x != 'x' || p1 != '+' || p2 != '+') {
      return InvalidArgument(
          fmt::format("--crop '{}': expected WxH+X+Y, e.g. 100x80+10+20", a.crop));
    }
  }
  RETURN_IF_ERROR(s.Validate());
  (void)cmd;
  return s;
}

DType TensorDType(OutputDType t) {
  switch (t) {
    case OutputDType::kF32:
      return DType::kF32;
    case OutputDType::kF16:
      return DType::kF16;
    case OutputDType::kU8:
      return DType::kU8;
    case OutputDType::kI8:
      return DType::kI8;
  }
  return DType::kF32;
}

int RunPreprocess(const PreprocessArgs& a, const CLI::App& cmd) {
  static constexpr const char* kRecipeOptions[] = {
      "--resize", "--mode",  "--letterbox", "--pad",   "--mean",        "--std",
      "--scale",  "--order", "--layout",    "--dtype", "--quant-scale", "--quant-zero-point",
      "--crop"};
  PreprocessSpec spec;
  if (!a.spec_file.empty()) {
    for (const char* opt : kRecipeOptions) {
      if (cmd.count(opt) > 0) {
        ReportError(InvalidArgument(fmt::format(
            "{} cannot be combined with --spec (the spec file is the whole recipe)", opt)));
        return kExitUsage;
      }
    }
    auto loaded = PreprocessSpec::FromFile(a.spec_file);
    if (!loaded) return ReportError(loaded.status());
    spec = *loaded;
  } else {
    auto parsed = SpecFromOptions(a, cmd);
    if (!parsed) {
      ReportError(parsed.status());
      return kExitUsage;
    }
    spec = *parsed;
  }

  auto image = DecodeImageFile(a.image);
  if (!image) return ReportError(image.status());
  auto pre = Preprocessor::Create(spec, image->format(), image->width(), image->height());
  if (!pre) return ReportError(pre.status().WithPrefix(a.image));
  const auto shape = pre->output_shape();
  auto tensor = Tensor::CreateUninitialized(TensorDType(spec.dtype),
                                            std::vector<int64_t>(shape.begin(), shape.end()));
  if (!tensor) return ReportError(tensor.status());
  TensorView view = tensor->view();
  const Status run = pre->Run(
      image->view(), std::span<std::byte>(static_cast<std::byte*>(view.raw), view.bytes()));
  if (!run.ok()) return ReportError(run.WithPrefix(a.image));
  if (Status st = WriteNpy(a.output, view); !st.ok()) return ReportError(st);

  const AxisTransform& t = pre->transform();
  fmt::print("{}: {}x{} rgb -> {} {} {}\n", a.image, image->width(), image->height(), a.output,
             DimsToString(std::vector<int64_t>(shape.begin(), shape.end())),
             OutputDTypeName(spec.dtype));
  fmt::print("spec: {}\n", spec.ToString());
  fmt::print("transform (source -> tensor): x' = x * {} + {}, y' = y * {} + {}\n", t.scale_x,
             t.offset_x, t.scale_y, t.offset_y);
  if (a.print_spec) fmt::print("---\n{}", spec.ToYaml());
  return kExitOk;
}

}  // namespace

Subcommand AddPreprocessCommand(CLI::App& parent) {
  auto args = std::make_shared<PreprocessArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "preprocess", "Decode an image and write the model input tensor a preprocessing spec gives");
  cmd->add_option("image", args->image, "Image file (JPEG or PNG)")->required();
  cmd->add_option("--spec", args->spec_file, "Preprocessing spec (.yaml, .yml or .json)");
  cmd->add_option("--resize", args->resize, "Output size WxH, e.g. 224x224");
  cmd->add_option("--mode", args->mode, "Resize mode: nearest, bilinear (OpenCV), area, pillow");
  cmd->add_flag("--letterbox", args->letterbox, "Keep the aspect ratio and pad to the size");
  cmd->add_option("--pad", args->pad, "Letterbox pad value in pixel units (default 114)");
  cmd->add_option("--mean", args->mean, "Per-channel mean after --scale, e.g. 0.485,0.456,0.406");
  cmd->add_option("--std", args->std_dev, "Per-channel std after --scale, e.g. 0.229,0.224,0.225");
  cmd->add_option("--scale", args->scale, "Pixel multiplier before mean/std, e.g. 0.00392157");
  cmd->add_option("--order", args->order, "Channel order: rgb, bgr or gray");
  cmd->add_option("--layout", args->layout, "nchw or nhwc");
  cmd->add_option("--dtype", args->dtype, "f32, f16, u8 or i8");
  cmd->add_option("--quant-scale", args->quant_scale, "u8/i8: q = round(v / scale) + zero point");
  cmd->add_option("--quant-zero-point", args->quant_zero_point, "u8/i8 zero point");
  cmd->add_option("--crop", args->crop, "Region of interest WxH+X+Y before resizing");
  cmd->add_option("--output", args->output, "Output .npy file")->required();
  cmd->add_flag("--print-spec", args->print_spec, "Print the spec as YAML");
  return {cmd, [args, cmd] { return RunPreprocess(*args, *cmd); }};
}

}  // namespace edgerun::cli
