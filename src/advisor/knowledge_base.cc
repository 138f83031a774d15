// Loading and validating the advisor's knowledge base (data/advisor/*.yaml against schema.yaml).
#include "edgerun/advisor/knowledge_base.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

namespace edgerun::advisor {
namespace fs = std::filesystem;
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Where a value sits, for error messages: file, entry (index and name) and field path.
struct Where {
  std::string file;
  std::string entry;  // "runtimes[2] 'tflite-gpu'"
  std::string field;  // "ops.max_opset"

  Status Error(const std::string& what) const {
    std::string msg = file + ":";
    if (!entry.empty()) msg += " entry " + entry + ":";
    if (!field.empty()) msg += " field '" + field + "':";
    return InvalidArgument(msg + " " + what);
  }
  Where Field(const std::string& name) const {
    Where w = *this;
    w.field = field.empty() ? name : field + "." + name;
    return w;
  }
  Where Index(size_t i) const {
    Where w = *this;
    w.field = fmt::format("{}[{}]", field, i);
    return w;
  }
};

std::string Describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return "'" + n.Scalar() + "'";
}

bool IsInt(const YAML::Node& n) {
  if (!n.IsScalar()) return false;
  try {
    (void)n.as<int64_t>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}
bool IsNumber(const YAML::Node& n) {
  if (!n.IsScalar()) return false;
  try {
    const double d = n.as<double>();
    return std::isfinite(d);
  } catch (const YAML::Exception&) {
    return false;
  }
}
bool IsBool(const YAML::Node& n) {
  if (!n.IsScalar()) return false;
  try {
    (void)n.as<bool>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

// Validates `node` against the schema node `spec` (see the header of schema.yaml).
Status Validate(const YAML::Node& spec, const YAML::Node& node, const Where& where) {
  const std::string type = spec["type"].as<std::string>("string");
  if (type == "string") {
    if (!node.IsScalar()) return where.Error("expected a string, got " + Describe(node));
    if (spec["enum"]) {
      std::string allowed;
      for (const auto& e : spec["enum"]) {
        if (e.as<std::string>() == node.Scalar()) return Status::Ok();
        allowed += (allowed.empty() ? "" : ", ") + e.as<std::string>();
      }
      return where.Error(fmt::format("'{}' is not one of: {}", node.Scalar(), allowed));
    }
    if (spec["min_length"] && node.Scalar().size() < spec["min_length"].as<size_t>()) {
      return where.Error(
          fmt::format("must be at least {} characters", spec["min_length"].as<size_t>()));
    }
    return Status::Ok();
  }
  if (type == "int") {
    if (!IsInt(node)) return where.Error("expected an integer, got " + Describe(node));
    if (spec["min"] && node.as<int64_t>() < spec["min"].as<int64_t>()) {
      return where.Error(
          fmt::format("{} is below the minimum {}", node.as<int64_t>(), spec["min"].as<int64_t>()));
    }
    if (spec["max"] && node.as<int64_t>() > spec["max"].as<int64_t>()) {
      return where.Error(
          fmt::format("{} is above the maximum {}", node.as<int64_t>(), spec["max"].as<int64_t>()));
    }
    return Status::Ok();
  }
  if (type == "number") {
    if (!IsNumber(node)) return where.Error("expected a number, got " + Describe(node));
    if (spec["min"] && node.as<double>() < spec["min"].as<double>()) {
      return where.Error(
          fmt::format("{} is below the minimum {}", node.Scalar(), spec["min"].as<double>()));
    }
    if (spec["max"] && node.as<double>() > spec["max"].as<double>()) {
      return where.Error(
          fmt::format("{} is above the maximum {}", node.Scalar(), spec["max"].as<double>()));
    }
    return Status::Ok();
  }
  if (type == "bool") {
    if (!IsBool(node)) return where.Error("expected true or false, got " + Describe(node));
    return Status::Ok();
  }
  if (type == "bytes") {
    if (!node.IsScalar())
      return where.Error("expected a byte size (e.g. 256KB), got " + Describe(node));
    auto b = ParseByteSize(node.Scalar());
    if (!b) return where.Error(b.status().message());
    return Status::Ok();
  }
  if (type == "list") {
    if (!node.IsSequence()) return where.Error("expected a list, got " + Describe(node));
    if (spec["min_items"] && node.size() < spec["min_items"].as<size_t>()) {
      return where.Error(fmt::format("needs at least {} items, has {}",
                                     spec["min_items"].as<size_t>(), node.size()));
    }
    if (spec["items"]) {
      for (size_t i = 0; i < node.size(); ++i) {
        RETURN_IF_ERROR(Validate(spec["items"], node[i], where.Index(i)));
      }
    }
    return Status::Ok();
  }
  if (type == "map") {
    if (!node.IsMap()) return where.Error("expected a map, got " + Describe(node));
    if (spec["fields"]) {
      for (const auto& kv : spec["fields"]) {
        const std::string key = kv.first.as<std::string>();
        const YAML::Node child = node[key];
        if (!child.IsDefined() || child.IsNull()) {
          if (kv.second["required"].as<bool>(false))
            return where.Field(key).Error("is required but missing");
          continue;
        }
        RETURN_IF_ERROR(Validate(kv.second, child, where.Field(key)));
      }
      for (const auto& kv : node) {
        const std::string key = kv.first.as<std::string>();
        if (!spec["fields"][key]) return where.Field(key).Error("is not a known field");
      }
    } else if (spec["values"]) {
      for (const auto& kv : node) {
        RETURN_IF_ERROR(
            Validate(spec["values"], kv.second, where.Field(kv.first.as<std::string>())));
      }
    }
    return Status::Ok();
  }
  return where.Error("schema.yaml uses unknown type '" + type + "'");
}

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence()) {
    for (const auto& e : n) out.push_back(e.as<std::string>());
  }
  return out;
}
uint64_t Bytes(const YAML::Node& n) {
  if (!n || n.IsNull()) return 0;
  auto b = ParseByteSize(n.Scalar());
  return b ? *b : 0;  // validated before; never fails here
}

TargetProfile ParseTarget(const YAML::Node& n, const std::string& file) {
  TargetProfile t;
  t.name = n["name"].as<std::string>();
  t.display = n["display"].as<std::string>(t.name);
  t.hw_class = n["class"].as<std::string>();
  t.vendor = n["vendor"].as<std::string>("");
  t.os = n["os"].as<std::string>();
  t.ram_bytes = Bytes(n["ram"]);
  t.flash_bytes = Bytes(n["flash"]);
  t.os_reserved_bytes = Bytes(n["os_reserved"]);
  const YAML::Node c = n["cpu"];
  t.cpu.name = c["name"].as<std::string>();
  t.cpu.isa = c["isa"].as<std::string>();
  t.cpu.cores = c["cores"].as<int>(1);
  t.cpu.mhz = c["mhz"].as<double>();
  t.cpu.simd = c["simd"].as<std::string>("none");
  t.cpu.simd_bits = c["simd_bits"].as<int>(0);
  for (const auto& a : n["accelerators"]) {
    Accelerator acc;
    acc.name = a["name"].as<std::string>();
    acc.kind = a["kind"].as<std::string>();
    acc.apis = Strings(a["apis"]);
    acc.tops = a["tops"].as<double>(0);
    acc.watts = a["watts"].as<double>(0);
    acc.interface = a["interface"].as<std::string>("on-chip");
    acc.transfer_overhead_ms = a["transfer_overhead_ms"].as<double>(0);
    t.accelerators.push_back(std::move(acc));
  }
  t.source = n["source"].as<std::string>();
  t.version = n["version"].as<std::string>();
  t.notes = n["notes"].as<std::string>("");
  t.file = file;
  return t;
}

RuntimeInfo ParseRuntime(const YAML::Node& n, const std::string& file) {
  RuntimeInfo r;
  r.name = n["name"].as<std::string>();
  r.display = n["display"].as<std::string>(r.name);
  r.family = n["family"].as<std::string>();
  r.version = n["version"].as<std::string>();
  r.source = n["source"].as<std::string>();
  r.formats = Strings(n["formats"]);
  r.hardware_classes = Strings(n["hardware_classes"]);
  if (const YAML::Node q = n["requires"]) {
    r.requires_hw.os = Strings(q["os"]);
    r.requires_hw.isa = Strings(q["isa"]);
    r.requires_hw.vendor = Strings(q["vendor"]);
    r.requires_hw.accelerator_kinds = Strings(q["accelerator_kinds"]);
    r.requires_hw.accelerator_apis = Strings(q["accelerator_apis"]);
  }
  r.precisions = Strings(n["precisions"]);
  r.default_precision = n["default_precision"].as<std::string>();
  r.requires_full_int8 = n["requires_full_int8"].as<bool>(false);
  r.dynamic_shapes = n["dynamic_shapes"].as<bool>();
  r.weights_in_flash = n["weights_in_flash"].as<bool>(false);
  r.runtime_ram_bytes = Bytes(n["runtime_ram"]);
  r.code_bytes = Bytes(n["code_size"]);
  r.startup_ms_min = n["startup_ms"][0].as<double>();
  r.startup_ms_max = n["startup_ms"][1].as<double>();
  for (const auto& kv : n["efficiency"])
    r.efficiency[kv.first.as<std::string>()] = kv.second.as<double>();
  r.uses_accelerator = n["uses_accelerator"].as<bool>(false);
  r.maturity = n["maturity"].as<int>(5);
  const YAML::Node o = n["ops"];
  r.ops.set = o["set"].as<std::string>("");
  r.ops.all_standard = o["all_standard"].as<bool>(false);
  r.ops.engine_table = o["engine_table"].as<bool>(false);
  r.ops.supported = Strings(o["supported"]);
  r.ops.unsupported = Strings(o["unsupported"]);
  r.ops.domains = Strings(o["domains"]);
  r.ops.max_opset = o["max_opset"].as<int>(0);
  for (const auto& c : o["constraints"]) {
    OpConstraint oc;
    oc.op = c["op"].as<std::string>();
    oc.check = c["check"].as<std::string>();
    oc.value = c["value"].as<int64_t>(0);
    oc.note = c["note"].as<std::string>("");
    r.ops.constraints.push_back(std::move(oc));
  }
  for (const auto& p : o["unsupported_patterns"]) {
    r.ops.unsupported_patterns.push_back({p["pattern"].as<std::string>(),
                                          p["reason"].as<std::string>(),
                                          p["suggestion"].as<std::string>("")});
  }
  r.ops.on_unsupported = o["on_unsupported"].as<std::string>();
  r.ops.fallback_runtime = o["fallback_runtime"].as<std::string>("");
  r.ops.max_fallback_fraction = o["max_fallback_fraction"].as<double>(1.0);
  for (const auto& w : n["warnings"]) {
    r.warnings.push_back({w["when"].as<std::string>(), w["text"].as<std::string>()});
  }
  r.file = file;
  return r;
}

std::string EntryLabel(const std::string& section, size_t i, const YAML::Node& item) {
  std::string label = fmt::format("{}[{}]", section, i);
  if (item.IsMap() && item["name"] && item["name"].IsScalar())
    label += " '" + item["name"].Scalar() + "'";
  if (item.IsMap() && item["from"] && item["to"] && item["from"].IsScalar() &&
      item["to"].IsScalar()) {
    label += " '" + item["from"].Scalar() + " -> " + item["to"].Scalar() + "'";
  }
  return label;
}

}  // namespace

Expected<uint64_t> ParseByteSize(std::string_view text) {
  std::string s;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  }
  if (s.empty()) return InvalidArgument("empty byte size");
  size_t pos = 0;
  while (pos < s.size() && (std::isdigit(static_cast<unsigned char>(s[pos])) || s[pos] == '.'))
    ++pos;
  if (pos == 0)
    return InvalidArgument("byte size '" + std::string(text) + "' does not start with a number");
  char* end = nullptr;
  const std::string num = s.substr(0, pos);
  const double value = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size())
    return InvalidArgument("bad number in byte size '" + std::string(text) + "'");
  const std::string unit = Lower(s.substr(pos));
  double mult = 0;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return InvalidArgument("unknown unit '" + s.substr(pos) + "' in byte size '" +
                           std::string(text) + "' (use B, KB, MB, GB)");
  const double bytes = value * mult;
  if (!(bytes >= 0) || bytes > 1.8e19)
    return InvalidArgument("byte size '" + std::string(text) + "' is out of range");
  return static_cast<uint64_t>(std::llround(bytes));
}

std::string FormatBytes(uint64_t b) {
  if (b >= (uint64_t{1} << 30)) return fmt::format("{:.2f} GB", b / 1073741824.0);
  if (b >= (uint64_t{1} << 20)) return fmt::format("{:.2f} MB", b / 1048576.0);
  if (b >= 1024) return fmt::format("{:.1f} KB", b / 1024.0);
  return fmt::format("{} B", b);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  const std::string x = Lower(a), y = Lower(b);
  std::vector<size_t> prev(y.size() + 1), cur(y.size() + 1);
  for (size_t j = 0; j <= y.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= x.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= y.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[y.size()];
}

namespace {

// True when the letters of `abbrev` appear in `name` in order ("rpi4" in "raspberry-pi-4").
bool IsAbbreviationOf(std::string_view abbrev, std::string_view name) {
  size_t j = 0;
  for (char c : name) {
    if (j < abbrev.size() && c == abbrev[j]) ++j;
  }
  return !abbrev.empty() && j == abbrev.size();
}

template <typename T>
std::vector<std::string> Nearest(const std::vector<T>& items, std::string_view name, size_t count) {
  std::vector<std::pair<size_t, std::string>> scored;
  const std::string lname = Lower(name);
  for (const T& it : items) {
    size_t d = EditDistance(name, it.name);
    // A name containing the query (or the reverse) is a strong hint: "pi4" -> raspberry-pi-4.
    if (!lname.empty() && (it.name.find(lname) != std::string::npos)) d = std::min<size_t>(d, 1);
    // Abbreviations: "rpi4" -> raspberry-pi-4, "orinnano" -> jetson-orin-nano.
    if (lname.size() >= 3 && IsAbbreviationOf(lname, Lower(it.name))) d = std::min<size_t>(d, 2);
    scored.emplace_back(d, it.name);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < count; ++i) out.push_back(scored[i].second);
  return out;
}
}  // namespace

const RuntimeInfo* KnowledgeBase::FindRuntime(std::string_view name) const {
  for (const RuntimeInfo& r : runtimes) {
    if (r.name == name) return &r;
  }
  return nullptr;
}
const TargetProfile* KnowledgeBase::FindTarget(std::string_view name) const {
  for (const TargetProfile& t : targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}
std::vector<std::string> KnowledgeBase::NearestTargetNames(std::string_view name,
                                                           size_t count) const {
  return Nearest(targets, name, count);
}
std::vector<std::string> KnowledgeBase::NearestRuntimeNames(std::string_view name,
                                                            size_t count) const {
  return Nearest(runtimes, name, count);
}

std::string DefaultKnowledgeBaseDir(const std::string& argv0) {
  if (const char* env = std::getenv("EDGERUN_ADVISOR_DATA"); env != nullptr && *env != '\0')
    return env;
  if (!argv0.empty()) {
    std::error_code ec;
    const fs::path exe = fs::weakly_canonical(fs::path(argv0), ec);
    if (!ec) {
      // Installed layout: <prefix>/bin/edgerun and <prefix>/share/edgerun/advisor.
      const fs::path installed = exe.parent_path().parent_path() / "share" / "edgerun" / "advisor";
      if (fs::exists(installed / "schema.yaml", ec)) return installed.string();
      const fs::path beside = exe.parent_path() / "advisor";
      if (fs::exists(beside / "schema.yaml", ec)) return beside.string();
    }
  }
  return EDGERUN_ADVISOR_DATA_DIR;
}

Expected<KnowledgeBase> LoadKnowledgeBase(const std::string& dir) {
  std::error_code ec;
  const fs::path root(dir);
  if (!fs::is_directory(root, ec))
    return NotFound(dir + ": knowledge base directory does not exist");
  const fs::path schema_path = root / "schema.yaml";
  YAML::Node schema;
  try {
    schema = YAML::LoadFile(schema_path.string());
  } catch (const YAML::Exception& e) {
    return InvalidArgument(
        fmt::format("{}: cannot read the schema: {}", schema_path.string(), e.what()));
  }
  if (!schema["sections"] || !schema["sections"].IsMap()) {
    return InvalidArgument(schema_path.string() + ": no 'sections' map");
  }

  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".yaml" &&
        it->path().filename() != "schema.yaml") {
      files.push_back(it->path());
    }
  }
  if (ec) return IoError(fmt::format("{}: cannot list: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());

  KnowledgeBase kb;
  kb.dir = dir;
  for (const fs::path& path : files) {
    const std::string rel = fs::relative(path, root, ec).string();
    YAML::Node doc;
    try {
      doc = YAML::LoadFile(path.string());
    } catch (const YAML::ParserException& e) {
      return InvalidArgument(
          fmt::format("{}: line {}: YAML syntax error: {}", rel, e.mark.line + 1, e.msg));
    } catch (const YAML::Exception& e) {
      return InvalidArgument(fmt::format("{}: cannot read: {}", rel, e.what()));
    }
    Where where{rel, "", ""};
    if (!doc.IsMap()) return where.Error("expected a map of sections (runtimes:, targets:, ...)");
    try {
      for (const auto& kv : doc) {
        const std::string section = kv.first.as<std::string>();
        const YAML::Node spec = schema["sections"][section];
        if (!spec) return Where{rel, "", section}.Error("is not a known section");
        const YAML::Node body = kv.second;
        if (spec["type"].as<std::string>("") == "list" && body.IsSequence()) {
          // Validate entry by entry so errors can name the entry.
          for (size_t i = 0; i < body.size(); ++i) {
            Where w{rel, EntryLabel(section, i, body[i]), ""};
            RETURN_IF_ERROR(Validate(spec["items"], body[i], w));
          }
        } else {
          RETURN_IF_ERROR(Validate(spec, body, Where{rel, "", section}));
        }
        if (section == "runtimes") {
          for (size_t i = 0; i < body.size(); ++i)
            kb.runtimes.push_back(ParseRuntime(body[i], rel));
        } else if (section == "targets") {
          for (size_t i = 0; i < body.size(); ++i) kb.targets.push_back(ParseTarget(body[i], rel));
        } else if (section == "conversions") {
          for (const auto& c : body) {
            kb.conversions.push_back({c["from"].as<std::string>(), c["to"].as<std::string>(),
                                      c["tool"].as<std::string>(), c["fragility"].as<std::string>(),
                                      c["note"].as<std::string>("")});
          }
        } else if (section == "op_sets") {
          for (const auto& s : body) kb.op_sets[s.first.as<std::string>()] = Strings(s.second);
        } else if (section == "op_alternatives") {
          for (const auto& s : body)
            kb.op_alternatives[s.first.as<std::string>()] = s.second.as<std::string>();
        }
      }
    } catch (const YAML::Exception& e) {
      return InvalidArgument(fmt::format("{}: {}", rel, e.what()));
    }
  }

  // Cross-entry checks: unique names, references that must resolve.
  std::set<std::string> names;
  for (const RuntimeInfo& r : kb.runtimes) {
    if (!names.insert("r:" + r.name).second)
      return InvalidArgument(
          fmt::format("{}: entry '{}': field 'name': duplicate runtime name", r.file, r.name));
    if (!r.ops.set.empty() && !kb.op_sets.count(r.ops.set)) {
      return InvalidArgument(fmt::format("{}: entry '{}': field 'ops.set': unknown op set '{}'",
                                         r.file, r.name, r.ops.set));
    }
    if (std::find(r.precisions.begin(), r.precisions.end(), r.default_precision) ==
        r.precisions.end()) {
      return InvalidArgument(
          fmt::format("{}: entry '{}': field 'default_precision': '{}' is not in precisions",
                      r.file, r.name, r.default_precision));
    }
  }
  for (const RuntimeInfo& r : kb.runtimes) {
    if (!r.ops.fallback_runtime.empty() && kb.FindRuntime(r.ops.fallback_runtime) == nullptr) {
      return InvalidArgument(
          fmt::format("{}: entry '{}': field 'ops.fallback_runtime': unknown runtime '{}'", r.file,
                      r.name, r.ops.fallback_runtime));
    }
  }
  for (const TargetProfile& t : kb.targets) {
    if (!names.insert("t:" + t.name).second)
      return InvalidArgument(
          fmt::format("{}: entry '{}': field 'name': duplicate target name", t.file, t.name));
  }
  if (kb.runtimes.empty()) return InvalidArgument(dir + ": the knowledge base has no runtimes");
  if (kb.targets.empty()) return InvalidArgument(dir + ": the knowledge base has no targets");
  return kb;
}

}  // namespace edgerun::advisor
