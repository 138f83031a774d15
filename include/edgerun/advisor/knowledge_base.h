// The advisor's knowledge base: runtimes, hardware profiles and conversion paths, read from the
// YAML files in data/advisor/ and validated against data/advisor/schema.yaml when loaded.
//
// The schema file is a small spec this loader interprets (types, required fields, enums, item
// and field schemas), so a malformed entry fails with one line naming the file, the entry and
// the field. The typed structs below are filled only from validated nodes.
// Usage:
//   ASSIGN_OR_RETURN(KnowledgeBase kb, LoadKnowledgeBase(DefaultKnowledgeBaseDir()));
//   const TargetProfile* pi4 = kb.FindTarget("raspberry-pi-4");
//   std::vector<std::string> near = kb.NearestTargetNames("raspbery-pi4", 3);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "edgerun/status.h"

namespace edgerun::advisor {

struct Accelerator {
  std::string name;  // "Edge TPU", "Hailo-8L"
  std::string kind;  // matched by RuntimeRequirements::accelerator_kinds: "edgetpu", "gpu"...
  std::vector<std::string> apis;  // "cuda", "opencl", "gles3.1", "vulkan"...
  double tops = 0;                // peak tera-operations per second at its best precision
  double watts = 0;
  std::string interface;            // "usb3", "pcie", "on-chip"
  double transfer_overhead_ms = 0;  // per-inference invoke + transfer cost
};

struct CpuInfo {
  std::string name;  // "4x Cortex-A72"
  std::string isa;   // "armv7e-m", "arm64", "x86-64", "xtensa-lx6"...
  int cores = 1;
  double mhz = 0;
  std::string simd;   // "NEON", "AVX2", "Helium (MVE)", "none"
  int simd_bits = 0;  // vector register width; 0 when there is no SIMD
};

struct TargetProfile {
  std::string name;  // CLI name: "raspberry-pi-4"
  std::string display;
  std::string hw_class;  // mcu, sbc, sbc-accel, jetson, coral, desktop
  std::string vendor;    // used by vendor-locked runtimes ("st", "ti", "nvidia"...)
  std::string os;        // bare-metal, rtos, linux, macos
  uint64_t ram_bytes = 0;
  uint64_t flash_bytes = 0;        // 0: storage is not a constraint (SD card, eMMC, SSD)
  uint64_t os_reserved_bytes = 0;  // RAM the OS / firmware keeps; the budget is the rest
  CpuInfo cpu;
  std::vector<Accelerator> accelerators;
  std::string source, version, notes;
  std::string file;  // KB file it came from
};

// What a runtime needs from the hardware; empty lists mean "anything".
struct RuntimeRequirements {
  std::vector<std::string> os;
  std::vector<std::string> isa;
  std::vector<std::string> vendor;
  std::vector<std::string> accelerator_kinds;
  std::vector<std::string> accelerator_apis;
};

// A per-op constraint the advisor evaluates on the model's graph (see CheckConstraint).
struct OpConstraint {
  std::string op;
  std::string
      check;  // constant_weights | max_rank | max_nontrivial_dims | spatial_2d | max_version
  int64_t value = 0;
  std::string note;
};

struct PatternRule {
  std::string pattern;  // attention | layernorm | gelu
  std::string reason;
  std::string suggestion;
};

struct OpSupport {
  std::string set;                       // named set from op_sets.yaml, merged into `supported`
  bool all_standard = false;             // every default-domain ONNX op up to max_opset
  bool engine_table = false;             // ask edgerun's own op table (the edgerun runtime)
  std::vector<std::string> supported;    // ONNX op names (the IR's op names)
  std::vector<std::string> unsupported;  // removed from the set / from all_standard
  std::vector<std::string> domains;      // non-default domains it understands ("com.microsoft")
  int max_opset = 0;                     // 0: no limit
  std::vector<OpConstraint> constraints;
  std::vector<PatternRule> unsupported_patterns;
  // What happens to an unsupported op: fail_to_load, cpu_fallback, or partition_cut (the
  // delegate takes ops up to the first unsupported one and the CPU runs the rest).
  std::string on_unsupported = "fail_to_load";
  std::string fallback_runtime;        // who runs fallen-back ops
  double max_fallback_fraction = 1.0;  // MAC share on the CPU beyond which it is eliminated
};

struct RuntimeInfo {
  std::string name;  // CLI name: "tflite-xnnpack"
  std::string display;
  std::string family;                // tflm, tflite, onnxruntime, tensorrt, openvino, ...
  std::string version;               // runtime / SDK version the entry describes
  std::string source;                // where the facts come from
  std::vector<std::string> formats;  // formats it loads: tflite, onnx, ort, trt-engine, hef...
  std::vector<std::string> hardware_classes;
  RuntimeRequirements requires_hw;
  std::vector<std::string> precisions;  // int8, int16, fp16, fp32
  std::string default_precision;
  bool requires_full_int8 = false;  // every tensor incl. inputs and outputs
  bool dynamic_shapes = true;
  bool weights_in_flash = false;   // MCU runtimes: weights stay in flash (XIP), not RAM
  uint64_t runtime_ram_bytes = 0;  // heap/state the runtime adds beyond weights and arena
  uint64_t code_bytes = 0;         // code size (flash on MCUs)
  double startup_ms_min = 0, startup_ms_max = 0;
  // Effective fraction of the compute peak the runtime reaches, per precision ("fp32" -> 0.3).
  std::map<std::string, double> efficiency;
  bool uses_accelerator = false;  // compute goes to the matched accelerator, not the CPU
  int maturity = 5;               // 0..10: production readiness, documented in the source note
  OpSupport ops;
  struct Warning {
    std::string when;  // always | float_model | quantized_model | fallback_ops
    std::string text;
  };
  std::vector<Warning> warnings;
  std::string file;
};

struct Conversion {
  std::string from, to;  // framework or format names
  std::string tool;
  std::string fragility;  // native | reliable | moderate | fragile
  std::string note;
};

struct KnowledgeBase {
  std::string dir;
  std::vector<RuntimeInfo> runtimes;
  std::vector<TargetProfile> targets;
  std::vector<Conversion> conversions;
  std::map<std::string, std::vector<std::string>> op_sets;
  std::map<std::string, std::string> op_alternatives;  // op or pattern -> suggested replacement

  const RuntimeInfo* FindRuntime(std::string_view name) const;
  const TargetProfile* FindTarget(std::string_view name) const;
  // Names by edit distance (case-insensitive), closest first; for "unknown target" errors.
  std::vector<std::string> NearestTargetNames(std::string_view name, size_t count) const;
  std::vector<std::string> NearestRuntimeNames(std::string_view name, size_t count) const;
};

// The knowledge base directory: $EDGERUN_ADVISOR_DATA, else data/advisor next to the binary's
// share dir, else the source tree's data/advisor (compiled in).
std::string DefaultKnowledgeBaseDir(const std::string& argv0 = "");

// Loads and validates every *.yaml under `dir` (schema.yaml is the spec). Errors name the file,
// the entry and the field: "runtimes/tflite.yaml: runtimes[2] 'tflite-gpu': field 'ops.max_opset':
// expected int, got 'x'".
Expected<KnowledgeBase> LoadKnowledgeBase(const std::string& dir);

// "256KB", "1.5MB", "2GiB", "4096" -> bytes (K/M/G are powers of 1024).
Expected<uint64_t> ParseByteSize(std::string_view text);
std::string FormatBytes(uint64_t bytes);  // "180.0 KB", "3.20 MB"

// Levenshtein distance, case-insensitive.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace edgerun::advisor
