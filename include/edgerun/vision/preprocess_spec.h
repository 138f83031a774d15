// The preprocessing spec: the whole recipe that turns a camera or decoded image into a model's
// input tensor, as one comparable, printable value that reads from and writes to YAML and JSON.
//
// Order of operations: crop (ROI) -> YUV to RGB -> resize (optionally letterboxed into the output
// size) -> channel order -> v = (pixel * scale - mean[c]) / std[c] -> layout -> dtype (f16 by
// rounding, u8/i8 as clamp(round(v / quant_scale) + zero_point)).
//   ASSIGN_OR_RETURN(PreprocessSpec spec, PreprocessSpec::FromYaml(text));
//   spec.resize_mode = ResizeMode::kPillowBilinear;
//   std::string yaml = spec.ToYaml();  // PreprocessSpec::FromYaml(yaml) == spec
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "edgerun/status.h"

namespace edgerun::vision {

enum class ResizeMode {
  kNearest,         // OpenCV INTER_NEAREST: source index floor(dst * src / dst_size)
  kBilinear,        // OpenCV INTER_LINEAR, bit-for-bit on u8 (half-pixel centers, 11-bit weights)
  kArea,            // OpenCV INTER_AREA (box average when shrinking)
  kPillowBilinear,  // Pillow Image.resize(BILINEAR): triangle filter widened when shrinking
};
enum class YuvMatrix { kBt601, kBt709 };
enum class YuvRange { kLimited, kFull };
enum class ChannelOrder { kRgb, kBgr, kGray };
enum class Layout { kNchw, kNhwc };
enum class OutputDType { kF32, kF16, kU8, kI8 };
enum class Alignment { kCenter, kTopLeft };

std::string_view ResizeModeName(ResizeMode m);      // "nearest", "bilinear", "area", "pillow"
std::string_view YuvMatrixName(YuvMatrix m);        // "bt601", "bt709"
std::string_view YuvRangeName(YuvRange r);          // "limited", "full"
std::string_view ChannelOrderName(ChannelOrder o);  // "rgb", "bgr", "gray"
std::string_view LayoutName(Layout l);              // "nchw", "nhwc"
std::string_view OutputDTypeName(OutputDType t);    // "f32", "f16", "u8", "i8"
std::string_view AlignmentName(Alignment a);        // "center", "top_left"
Expected<ResizeMode> ParseResizeMode(std::string_view s);
Expected<ChannelOrder> ParseChannelOrder(std::string_view s);
Expected<Layout> ParseLayout(std::string_view s);
Expected<OutputDType> ParseOutputDType(std::string_view s);

struct CropRect {
  int x = 0;
  int y = 0;
  int width = 0;  // 0 = no crop (whole image)
  int height = 0;
  bool enabled() const { return width > 0 && height > 0; }
  bool operator==(const CropRect&) const = default;
};

struct PreprocessSpec {
  CropRect crop;
  // Output spatial size; 0x0 keeps the (cropped) source size.
  int width = 0;
  int height = 0;
  ResizeMode resize_mode = ResizeMode::kBilinear;
  // Letterbox: scale to fit inside width x height keeping the aspect ratio, then pad.
  bool letterbox = false;
  float pad_value = 114;  // in source pixel units (0..255), before normalization
  Alignment alignment = Alignment::kCenter;
  YuvMatrix yuv_matrix = YuvMatrix::kBt601;
  YuvRange yuv_range = YuvRange::kLimited;
  ChannelOrder order = ChannelOrder::kRgb;
  std::array<float, 3> mean = {0, 0, 0};
  std::array<float, 3> std = {1, 1, 1};
  float scale = 1;  // applied to the 0..255 pixel before mean/std (e.g. 1/255)
  Layout layout = Layout::kNchw;
  OutputDType dtype = OutputDType::kF32;
  float quant_scale = 1;  // u8/i8 only
  int quant_zero_point = 0;

  bool operator==(const PreprocessSpec&) const = default;

  // Checks values that do not depend on the image (positive std, quant range, sizes).
  // Errors name the field, e.g. "std[1]: must be non-zero".
  Status Validate() const;
  // One line: "resize 224x224 bilinear, order rgb, mean [...], ..., nchw f32".
  std::string ToString() const;
  // Round-trips: FromYaml(ToYaml()) == *this (floats are written with full precision).
  std::string ToYaml() const;
  std::string ToJson() const;
  // Missing keys keep their defaults; unknown keys and malformed values are errors naming the
  // field ("resize.mode: unknown value 'cubic' (expected nearest, bilinear, area, pillow)").
  static Expected<PreprocessSpec> FromYaml(std::string_view text);
  static Expected<PreprocessSpec> FromJson(std::string_view text);
  // Picks the parser from the extension (.yaml/.yml/.json); errors start with the path.
  static Expected<PreprocessSpec> FromFile(const std::string& path);
};

}  // namespace edgerun::vision
