// libFuzzer target for the ONNX importer: arbitrary bytes must give a graph or a one-line error
// naming the file, never a crash, hang, leak or sanitizer report.
//
// Initialization creates a model directory holding a small "weights.bin", so inputs that refer
// to external data exercise the file-reading path too. Imported graphs are checked for internal
// consistency (every index in range, constants sized as their dims say).
// Usage (see scripts/run_fuzzer.sh):
//   CC=clang CXX=clang++ cmake -B build-fuzz -DEDGERUN_BUILD_FUZZERS=ON && ninja -C build-fuzz \
//     edgerun_onnx_loader_fuzzer && build-fuzz/bin/edgerun_onnx_loader_fuzzer corpus/
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include "edgerun/ir.h"
#include "formats/onnx/onnx_importer.h"

namespace {

std::string* g_model_dir = nullptr;

void RemoveModelDir() {
  std::error_code ec;
  if (g_model_dir != nullptr) std::filesystem::remove_all(*g_model_dir, ec);
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "onnx_loader_fuzzer: invariant violated: %s\n", what);
    __builtin_trap();
  }
}

void CheckGraph(const edgerun::Graph& g, int depth) {
  const int n = static_cast<int>(g.values.size());
  auto in_range = [n](int v) { return v >= 0 && v < n; };
  for (int v : g.inputs) Check(in_range(v), "graph input index");
  for (int v : g.outputs) Check(in_range(v), "graph output index");
  for (const edgerun::Value& v : g.values) {
    if (!v.is_constant()) continue;
    const edgerun::Tensor& t = *v.constant;
    Check(t.num_elements() >= 0, "constant element count");
    Check(t.bytes() == static_cast<size_t>(t.num_elements()) * edgerun::DTypeSize(t.dtype()),
          "constant byte size");
    Check(t.raw() != nullptr, "constant data");
  }
  for (const edgerun::Node& node : g.nodes) {
    for (int v : node.inputs) Check(v == edgerun::Node::kNoValue || in_range(v), "node input");
    for (int v : node.outputs) Check(v == edgerun::Node::kNoValue || in_range(v), "node output");
    for (const auto& [name, attr] : node.attrs) {
      if (attr.kind == edgerun::Attribute::Kind::kTensor) Check(attr.tensor != nullptr, "tensor");
      if (attr.kind == edgerun::Attribute::Kind::kGraph && attr.graph != nullptr) {
        CheckGraph(*attr.graph, depth + 1);
      }
    }
  }
  Check(depth < 64, "subgraph depth");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  char templ[] = "/tmp/edgerun_fuzz_model_XXXXXX";
  if (::mkdtemp(templ) == nullptr) return 0;
  g_model_dir = new std::string(templ);
  std::ofstream weights(*g_model_dir + "/weights.bin", std::ios::binary);
  for (int i = 0; i < 256; ++i) weights.put(static_cast<char>(i));
  std::atexit(RemoveModelDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto graph =
      edgerun::ImportOnnxFromBytes(bytes, "fuzz.onnx", g_model_dir != nullptr ? *g_model_dir : "");
  if (graph.ok()) {
    CheckGraph(*graph, 0);
  } else {
    const std::string& msg = graph.status().message();
    Check(msg.rfind("fuzz.onnx: ", 0) == 0, "error message names the file");
    Check(msg.find('\n') == std::string::npos, "error message is one line");
  }
  return 0;
}
