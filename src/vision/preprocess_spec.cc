// PreprocessSpec text forms. YAML is converted to a JSON tree first so that one schema reader
// (and one set of error messages) serves both formats.
#include "edgerun/vision/preprocess_spec.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace edgerun::vision {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <typename E, size_t N>
Expected<E> ParseEnum(std::string_view text, const E (&values)[N], std::string_view (*name)(E),
                      std::string_view what) {
  const std::string lower = Lower(text);
  std::string expected;
  for (size_t i = 0; i < N; ++i) {
    if (lower == name(values[i])) return values[i];
    expected += (i == 0 ? "" : (i + 1 == N ? " or " : ", "));
    expected += name(values[i]);
  }
  return InvalidArgument(fmt::format("{}: unknown value '{}' (expected {})", what, text, expected));
}

constexpr ResizeMode kResizeModes[] = {ResizeMode::kNearest, ResizeMode::kBilinear,
                                       ResizeMode::kArea, ResizeMode::kPillowBilinear};
constexpr YuvMatrix kYuvMatrices[] = {YuvMatrix::kBt601, YuvMatrix::kBt709};
constexpr YuvRange kYuvRanges[] = {YuvRange::kLimited, YuvRange::kFull};
constexpr ChannelOrder kOrders[] = {ChannelOrder::kRgb, ChannelOrder::kBgr, ChannelOrder::kGray};
constexpr Layout kLayouts[] = {Layout::kNchw, Layout::kNhwc};
constexpr OutputDType kDTypes[] = {OutputDType::kF32, OutputDType::kF16, OutputDType::kU8,
                                   OutputDType::kI8};
constexpr Alignment kAlignments[] = {Alignment::kCenter, Alignment::kTopLeft};

// YAML scalars carry no type; numbers and booleans are recognized by their spelling.
json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) obj[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return obj;
    }
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(YamlToJson(item));
      return arr;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() != "!") {  // unquoted
        const std::string lower = Lower(s);
        if (lower == "true") return true;
        if (lower == "false") return false;
        if (lower == "null" || lower == "~") return nullptr;
        char* end = nullptr;
        errno = 0;
        const long long i = std::strtoll(s.c_str(), &end, 10);
        if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return i;
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size()) return d;
      }
      return s;
    }
    default:
      return nullptr;
  }
}

class Reader {
 public:
  Status CheckKeys(const json& obj, const std::string& path,
                   std::initializer_list<std::string_view> keys) {
    if (!obj.is_object()) {
      return InvalidArgument(fmt::format("{}: expected a mapping", path.empty() ? "spec" : path));
    }
    for (const auto& [key, value] : obj.items()) {
      bool known = false;
      std::string list;
      for (std::string_view k : keys) {
        known = known || key == k;
        list += list.empty() ? "" : ", ";
        list += k;
      }
      if (!known) {
        return InvalidArgument(
            fmt::format("{}: unknown key (expected one of {})", Join(path, key), list));
      }
    }
    return Status::Ok();
  }

  static std::string Join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  }

  Status Int(const json& v, const std::string& field, int& out) {
    if (!v.is_number_integer()) {
      return InvalidArgument(fmt::format("{}: expected an integer, got {}", field, v.dump()));
    }
    const auto i = v.get<long long>();
    if (i < -(1LL << 30) || i > (1LL << 30)) {
      return InvalidArgument(fmt::format("{}: {} is out of range", field, i));
    }
    out = static_cast<int>(i);
    return Status::Ok();
  }

  Status Float(const json& v, const std::string& field, float& out) {
    if (!v.is_number()) {
      return InvalidArgument(fmt::format("{}: expected a number, got {}", field, v.dump()));
    }
    out = v.get<float>();
    if (!std::isfinite(out)) return InvalidArgument(fmt::format("{}: must be finite", field));
    return Status::Ok();
  }

  Status Bool(const json& v, const std::string& field, bool& out) {
    if (!v.is_boolean()) {
      return InvalidArgument(fmt::format("{}: expected true or false, got {}", field, v.dump()));
    }
    out = v.get<bool>();
    return Status::Ok();
  }

  Status Floats3(const json& v, const std::string& field, std::array<float, 3>& out) {
    if (v.is_number()) {  // one value for all channels
      float f = 0;
      RETURN_IF_ERROR(Float(v, field, f));
      out = {f, f, f};
      return Status::Ok();
    }
    if (!v.is_array() || v.size() != 3) {
      return InvalidArgument(
          fmt::format("{}: expected a number or a list of 3 numbers, got {}", field, v.dump()));
    }
    for (size_t i = 0; i < 3; ++i) {
      RETURN_IF_ERROR(Float(v[i], fmt::format("{}[{}]", field, i), out[i]));
    }
    return Status::Ok();
  }

  template <typename E, size_t N>
  Status Enum(const json& v, const std::string& field, const E (&values)[N],
              std::string_view (*name)(E), E& out) {
    if (!v.is_string()) {
      return InvalidArgument(fmt::format("{}: expected a string, got {}", field, v.dump()));
    }
    ASSIGN_OR_RETURN(out, ParseEnum(v.get<std::string>(), values, name, field));
    return Status::Ok();
  }
};

Expected<PreprocessSpec> FromTree(const json& root) {
  PreprocessSpec s;
  Reader r;
  if (root.is_null()) return s;  // empty document: all defaults
  RETURN_IF_ERROR(r.CheckKeys(
      root, "",
      {"crop", "resize", "letterbox", "yuv", "order", "normalize", "layout", "dtype", "quant"}));
  if (root.contains("crop")) {
    const json& c = root["crop"];
    RETURN_IF_ERROR(r.CheckKeys(c, "crop", {"x", "y", "width", "height"}));
    if (c.contains("x")) RETURN_IF_ERROR(r.Int(c["x"], "crop.x", s.crop.x));
    if (c.contains("y")) RETURN_IF_ERROR(r.Int(c["y"], "crop.y", s.crop.y));
    if (c.contains("width")) RETURN_IF_ERROR(r.Int(c["width"], "crop.width", s.crop.width));
    if (c.contains("height")) RETURN_IF_ERROR(r.Int(c["height"], "crop.height", s.crop.height));
  }
  if (root.contains("resize")) {
    const json& c = root["resize"];
    RETURN_IF_ERROR(r.CheckKeys(c, "resize", {"width", "height", "mode"}));
    if (c.contains("width")) RETURN_IF_ERROR(r.Int(c["width"], "resize.width", s.width));
    if (c.contains("height")) RETURN_IF_ERROR(r.Int(c["height"], "resize.height", s.height));
    if (c.contains("mode")) {
      RETURN_IF_ERROR(
          r.Enum(c["mode"], "resize.mode", kResizeModes, ResizeModeName, s.resize_mode));
    }
  }
  if (root.contains("letterbox")) {
    const json& c = root["letterbox"];
    if (c.is_boolean()) {
      s.letterbox = c.get<bool>();
    } else {
      RETURN_IF_ERROR(r.CheckKeys(c, "letterbox", {"enabled", "pad", "align"}));
      s.letterbox = true;
      if (c.contains("enabled"))
        RETURN_IF_ERROR(r.Bool(c["enabled"], "letterbox.enabled", s.letterbox));
      if (c.contains("pad")) RETURN_IF_ERROR(r.Float(c["pad"], "letterbox.pad", s.pad_value));
      if (c.contains("align")) {
        RETURN_IF_ERROR(
            r.Enum(c["align"], "letterbox.align", kAlignments, AlignmentName, s.alignment));
      }
    }
  }
  if (root.contains("yuv")) {
    const json& c = root["yuv"];
    RETURN_IF_ERROR(r.CheckKeys(c, "yuv", {"matrix", "range"}));
    if (c.contains("matrix")) {
      RETURN_IF_ERROR(r.Enum(c["matrix"], "yuv.matrix", kYuvMatrices, YuvMatrixName, s.yuv_matrix));
    }
    if (c.contains("range")) {
      RETURN_IF_ERROR(r.Enum(c["range"], "yuv.range", kYuvRanges, YuvRangeName, s.yuv_range));
    }
  }
  if (root.contains("order")) {
    RETURN_IF_ERROR(r.Enum(root["order"], "order", kOrders, ChannelOrderName, s.order));
  }
  if (root.contains("normalize")) {
    const json& c = root["normalize"];
    RETURN_IF_ERROR(r.CheckKeys(c, "normalize", {"scale", "mean", "std"}));
    if (c.contains("scale")) RETURN_IF_ERROR(r.Float(c["scale"], "normalize.scale", s.scale));
    if (c.contains("mean")) RETURN_IF_ERROR(r.Floats3(c["mean"], "normalize.mean", s.mean));
    if (c.contains("std")) RETURN_IF_ERROR(r.Floats3(c["std"], "normalize.std", s.std));
  }
  if (root.contains("layout")) {
    RETURN_IF_ERROR(r.Enum(root["layout"], "layout", kLayouts, LayoutName, s.layout));
  }
  if (root.contains("dtype")) {
    RETURN_IF_ERROR(r.Enum(root["dtype"], "dtype", kDTypes, OutputDTypeName, s.dtype));
  }
  if (root.contains("quant")) {
    const json& c = root["quant"];
    RETURN_IF_ERROR(r.CheckKeys(c, "quant", {"scale", "zero_point"}));
    if (c.contains("scale")) RETURN_IF_ERROR(r.Float(c["scale"], "quant.scale", s.quant_scale));
    if (c.contains("zero_point")) {
      RETURN_IF_ERROR(r.Int(c["zero_point"], "quant.zero_point", s.quant_zero_point));
    }
  }
  RETURN_IF_ERROR(s.Validate());
  return s;
}

std::string Floats(const std::array<float, 3>& v) {
  return fmt::format("[{}, {}, {}]", v[0], v[1], v[2]);
}

}  // namespace

std::string_view ResizeModeName(ResizeMode m) {
  switch (m) {
    case ResizeMode::kNearest:
      return "nearest";
    case ResizeMode::kBilinear:
      return "bilinear";
    case ResizeMode::kArea:
      return "area";
    case ResizeMode::kPillowBilinear:
      return "pillow";
  }
  return "?";
}
std::string_view YuvMatrixName(YuvMatrix m) { return m == YuvMatrix::kBt601 ? "bt601" : "bt709"; }
std::string_view YuvRangeName(YuvRange r) { return r == YuvRange::kLimited ? "limited" : "full"; }
std::string_view ChannelOrderName(ChannelOrder o) {
  switch (o) {
    case ChannelOrder::kRgb:
      return "rgb";
    case ChannelOrder::kBgr:
      return "bgr";
    case ChannelOrder::kGray:
      return "gray";
  }
  return "?";
}
std::string_view LayoutName(Layout l) { return l == Layout::kNchw ? "nchw" : "nhwc"; }
std::string_view OutputDTypeName(OutputDType t) {
  switch (t) {
    case OutputDType::kF32:
      return "f32";
    case OutputDType::kF16:
      return "f16";
    case OutputDType::kU8:
      return "u8";
    case OutputDType::kI8:
      return "i8";
  }
  return "?";
}
std::string_view AlignmentName(Alignment a) {
  return a == Alignment::kCenter ? "center" : "top_left";
}

Expected<ResizeMode> ParseResizeMode(std::string_view s) {
  return ParseEnum(s, kResizeModes, ResizeModeName, "resize mode");
}
Expected<ChannelOrder> ParseChannelOrder(std::string_view s) {
  return ParseEnum(s, kOrders, ChannelOrderName, "channel order");
}
Expected<Layout> ParseLayout(std::string_view s) {
  return ParseEnum(s, kLayouts, LayoutName, "layout");
}
Expected<OutputDType> ParseOutputDType(std::string_view s) {
  return ParseEnum(s, kDTypes, OutputDTypeName, "dtype");
}

Status PreprocessSpec::Validate() const {
  if (crop.x < 0 || crop.y < 0 || crop.width < 0 || crop.height < 0) {
    return InvalidArgument(
        fmt::format("crop: x, y, width and height must be >= 0 (got {},{} {}x{})", crop.x, crop.y,
                    crop.width, crop.height));
  }
  if ((crop.width == 0) != (crop.height == 0)) {
    return InvalidArgument("crop: width and height must both be set (or both 0 for no crop)");
  }
  if (width < 0 || height < 0 || width > (1 << 15) || height > (1 << 15)) {
    return InvalidArgument(fmt::format("resize: size {}x{} is out of range", width, height));
  }
  if ((width == 0) != (height == 0)) {
    return InvalidArgument("resize: width and height must both be set (or both 0 to keep size)");
  }
  if (letterbox && width == 0) {
    return InvalidArgument("letterbox: needs an output size (resize.width and resize.height)");
  }
  for (int c = 0; c < 3; ++c) {
    if (std.at(c) == 0 || !std::isfinite(std[c])) {
      return InvalidArgument(fmt::format("normalize.std[{}]: must be finite and non-zero", c));
    }
    if (!std::isfinite(mean[c])) {
      return InvalidArgument(fmt::format("normalize.mean[{}]: must be finite", c));
    }
  }
  if (!std::isfinite(scale)) return InvalidArgument("normalize.scale: must be finite");
  if (!std::isfinite(pad_value)) return InvalidArgument("letterbox.pad: must be finite");
  if (dtype == OutputDType::kU8 || dtype == OutputDType::kI8) {
    if (!(quant_scale > 0) || !std::isfinite(quant_scale)) {
      return InvalidArgument(fmt::format("quant.scale: must be positive (got {})", quant_scale));
    }
    const int lo = dtype == OutputDType::kU8 ? 0 : -128;
    const int hi = dtype == OutputDType::kU8 ? 255 : 127;
    if (quant_zero_point < lo || quant_zero_point > hi) {
      return InvalidArgument(fmt::format("quant.zero_point: {} is outside the {} range [{}, {}]",
                                         quant_zero_point, OutputDTypeName(dtype), lo, hi));
    }
  }
  return Status::Ok();
}

std::string PreprocessSpec::ToString() const {
  std::string s;
  if (crop.enabled()) {
    s += fmt::format("crop {}x{}+{}+{}, ", crop.width, crop.height, crop.x, crop.y);
  }
  if (width > 0) {
    s += fmt::format("resize {}x{} {}", width, height, ResizeModeName(resize_mode));
    if (letterbox) {
      s += fmt::format(" letterbox pad {} {}", pad_value, AlignmentName(alignment));
    }
    s += ", ";
  }
  s += fmt::format("yuv {} {}, order {}, scale {}, mean {}, std {}, {} {}",
                   YuvMatrixName(yuv_matrix), YuvRangeName(yuv_range), ChannelOrderName(order),
                   scale, Floats(mean), Floats(std), LayoutName(layout), OutputDTypeName(dtype));
  if (dtype == OutputDType::kU8 || dtype == OutputDType::kI8) {
    s += fmt::format(" (quant scale {} zero point {})", quant_scale, quant_zero_point);
  }
  return s;
}

std::string PreprocessSpec::ToYaml() const {
  // fmt prints floats in their shortest round-tripping form.
  std::string s;
  s += fmt::format("crop: {{x: {}, y: {}, width: {}, height: {}}}\n", crop.x, crop.y, crop.width,
                   crop.height);
  s += fmt::format("resize: {{width: {}, height: {}, mode: {}}}\n", width, height,
                   ResizeModeName(resize_mode));
  s += fmt::format("letterbox: {{enabled: {}, pad: {}, align: {}}}\n", letterbox, pad_value,
                   AlignmentName(alignment));
  s += fmt::format("yuv: {{matrix: {}, range: {}}}\n", YuvMatrixName(yuv_matrix),
                   YuvRangeName(yuv_range));
  s += fmt::format("order: {}\n", ChannelOrderName(order));
  s += fmt::format("normalize: {{scale: {}, mean: {}, std: {}}}\n", scale, Floats(mean),
                   Floats(std));
  s += fmt::format("layout: {}\n", LayoutName(layout));
  s += fmt::format("dtype: {}\n", OutputDTypeName(dtype));
  s += fmt::format("quant: {{scale: {}, zero_point: {}}}\n", quant_scale, quant_zero_point);
  return s;
}

std::string PreprocessSpec::ToJson() const {
  return fmt::format(
      "{{\"crop\": {{\"x\": {}, \"y\": {}, \"width\": {}, \"height\": {}}}, "
      "\"resize\": {{\"width\": {}, \"height\": {}, \"mode\": \"{}\"}}, "
      "\"letterbox\": {{\"enabled\": {}, \"pad\": {}, \"align\": \"{}\"}}, "
      "\"yuv\": {{\"matrix\": \"{}\", \"range\": \"{}\"}}, \"order\": \"{}\", "
      "\"normalize\": {{\"scale\": {}, \"mean\": {}, \"std\": {}}}, \"layout\": \"{}\", "
      "\"dtype\": \"{}\", \"quant\": {{\"scale\": {}, \"zero_point\": {}}}}}",
      crop.x, crop.y, crop.width, crop.height, width, height, ResizeModeName(resize_mode),
      letterbox, pad_value, AlignmentName(alignment), YuvMatrixName(yuv_matrix),
      YuvRangeName(yuv_range), ChannelOrderName(order), scale, Floats(mean), Floats(std),
      LayoutName(layout), OutputDTypeName(dtype), quant_scale, quant_zero_point);
}

Expected<PreprocessSpec> PreprocessSpec::FromYaml(std::string_view text) {
  json tree;
  try {
    tree = YamlToJson(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("YAML line {}: {}", e.mark.line + 1, e.msg));
  }
  return FromTree(tree);
}

Expected<PreprocessSpec> PreprocessSpec::FromJson(std::string_view text) {
  json tree;
  try {
    tree = json::parse(text);
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("JSON: {}", e.what()));
  }
  return FromTree(tree);
}

Expected<PreprocessSpec> PreprocessSpec::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot open spec file", path));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string lower = Lower(path);
  const bool is_json = lower.size() >= 5 && lower.substr(lower.size() - 5) == ".json";
  Expected<PreprocessSpec> spec = is_json ? FromJson(buf.str()) : FromYaml(buf.str());
  if (!spec) return spec.status().WithPrefix(path);
  return spec;
}

}  // namespace edgerun::vision
