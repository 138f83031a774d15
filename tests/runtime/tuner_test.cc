// Tactic selection (runtime/tuner.{h,cc}) and its use by Session: the cache file's round trip,
// corrupt or foreign files being ignored, what the cache key depends on, TuneNode picking a
// prepared candidate, and tuned sessions writing then reading the cache with the same outputs
// as untuned ones. No assertion depends on how long anything takes.
#include "runtime/tuner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "edgerun/session.h"
#include "kernels/backend.h"
#include "kernels/onednn/onednn_test_util.h"
#include "runtime/evaluate_node.h"
#include "runtime/infer_and_fold.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;
using testing::MakeSmallCnn;
using testing::RandomF32;

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "edgerun_tuner_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> TuneFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".tune") files.push_back(e.path().string());
  }
  return files;
}

// --- TuningCache --------------------------------------------------------------------------------

TEST(TuningCache, MissingFileIsAnEmptyCache) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const TuningCache c = TuningCache::Load(dir.path(), "0123abcd");
  EXPECT_FALSE(c.loaded());
  EXPECT_EQ(c.Find("conv1"), nullptr);
  EXPECT_EQ(c.file(), dir.path() + "/0123abcd.tune");
}

TEST(TuningCache, SaveThenLoadRoundTrips) {
  TempDir dir;
  const std::string sub = dir.path() + "/nested/tune";  // Save creates the directories
  TuningCache c = TuningCache::Load(sub, "k1");
  c.Set("conv1", KernelPath::kOnednn);
  c.Set("dw 2", KernelPath::kXnnpack);  // names may contain spaces
  c.Set("fc", KernelPath::kReference);
  c.Set("conv1", KernelPath::kXnnpack);  // the last choice wins
  const Status st = c.Save();
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(fs::exists(c.file()));
  EXPECT_FALSE(fs::exists(c.file() + ".tmp"));

  const TuningCache back = TuningCache::Load(sub, "k1");
  EXPECT_TRUE(back.loaded());
  ASSERT_NE(back.Find("conv1"), nullptr);
  EXPECT_EQ(*back.Find("conv1"), KernelPath::kXnnpack);
  ASSERT_NE(back.Find("dw 2"), nullptr);
  EXPECT_EQ(*back.Find("dw 2"), KernelPath::kXnnpack);
  ASSERT_NE(back.Find("fc"), nullptr);
  EXPECT_EQ(*back.Find("fc"), KernelPath::kReference);
  EXPECT_EQ(back.Find("softmax"), nullptr);
  // Another key is another file.
  EXPECT_FALSE(TuningCache::Load(sub, "k2").loaded());
}

TEST(TuningCache, TacticsRoundTrip) {
  TempDir dir;
  TuningCache c = TuningCache::Load(dir.path(), "k");
  c.Set("dw", KernelPath::kOnednn, 2);
  c.Set("conv1", KernelPath::kOnednn);
  c.Set("fc", KernelPath::kOnednn, 0, 1);
  c.Set("pw", KernelPath::kOnednn, 3, 1);
  ASSERT_TRUE(c.Save().ok());
  const std::string text = ReadFile(c.file());
  EXPECT_NE(text.find("dw\tonednn:2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("conv1\tonednn\n"), std::string::npos) << text;  // tactic 0 as before
  EXPECT_NE(text.find("fc\tonednn+1\n"), std::string::npos) << text;   // the path's 2nd kernel
  EXPECT_NE(text.find("pw\tonednn+1:3\n"), std::string::npos) << text;
  const TuningCache back = TuningCache::Load(dir.path(), "k");
  ASSERT_TRUE(back.loaded());
  ASSERT_NE(back.Find("dw"), nullptr);
  EXPECT_EQ(*back.Find("dw"), KernelPath::kOnednn);
  EXPECT_EQ(back.TacticOf("dw"), 2);
  EXPECT_EQ(back.TacticOf("conv1"), 0);
  EXPECT_EQ(back.TacticOf("absent"), 0);
  EXPECT_EQ(back.KernelOf("dw"), 0);
  EXPECT_EQ(back.KernelOf("fc"), 1);
  EXPECT_EQ(back.TacticOf("fc"), 0);
  EXPECT_EQ(back.KernelOf("pw"), 1);
  EXPECT_EQ(back.TacticOf("pw"), 3);
  EXPECT_EQ(back.KernelOf("absent"), 0);
}

TEST(TuningCache, CorruptFilesAreIgnored) {
  TempDir dir;
  const std::string file = dir.path() + "/bad.tune";
  const std::string cases[] = {
      "",                                                      // empty
      "garbage\n",                                             // no header
      "edgerun-tune 2\nconv1\tonednn\n",                       // another format version
      "edgerun-tune 1\nconv1\tonednn\nno tab here\n",          // a line without a path
      "edgerun-tune 1\nconv1\tonednn\nconv2\tcuda\n",          // an unknown path
      "edgerun-tune 1\nconv1\tonednn\nconv2\tonednn:x\n",      // a tactic that is no number
      "edgerun-tune 1\nconv1\tonednn\nconv2\tonednn:\n",       // an empty tactic
      "edgerun-tune 1\nconv1\tonednn\nconv2\tonednn:99999\n",  // a tactic out of range
      "edgerun-tune 1\nconv1\tonednn\nconv2\tonednn+\n",       // an empty kernel ordinal
      "edgerun-tune 1\nconv1\tonednn\nconv2\tonednn+a:1\n",    // an ordinal that is no number
  };
  for (const std::string& text : cases) {
    SCOPED_TRACE(text);
    WriteFile(file, text);
    const TuningCache c = TuningCache::Load(dir.path(), "bad");
    EXPECT_FALSE(c.loaded());
    EXPECT_EQ(c.Find("conv1"), nullptr) << "a partly read file must not be used";
  }
  // Saving replaces the corrupt file with a good one.
  TuningCache c = TuningCache::Load(dir.path(), "bad");
  c.Set("conv1", KernelPath::kOnednn);
  ASSERT_TRUE(c.Save().ok());
  const TuningCache back = TuningCache::Load(dir.path(), "bad");
  EXPECT_TRUE(back.loaded());
  ASSERT_NE(back.Find("conv1"), nullptr);
  EXPECT_EQ(*back.Find("conv1"), KernelPath::kOnednn);
}

TEST(TuningCache, UnwritableDirectoryIsAnErrorNotACrash) {
  TempDir dir;
  const std::string blocker = dir.path() + "/file";
  WriteFile(blocker, "not a directory");
  TuningCache c = TuningCache::Load(blocker, "k");  // the "directory" is a regular file
  c.Set("conv1", KernelPath::kOnednn);
  const Status st = c.Save();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("tuning cache"), std::string::npos) << st.message();
}

// --- TuningKey ----------------------------------------------------------------------------------

Graph PreparedSmallCnn() {
  Graph g = MakeSmallCnn().graph;
  EXPECT_TRUE(InferShapesAndFold(g, /*fold=*/true).ok());
  return g;
}

// `g` with constant `name` replaced by a copy whose element `index` is changed.
Graph WithWeightChanged(Graph g, const std::string& name, int64_t index) {
  const int v = g.FindValue(name);
  EXPECT_GE(v, 0);
  std::vector<float> data = g.values[v].constant->ToFloatVector();
  data[index] += 0.5f;
  g.values[v].constant = std::make_shared<const Tensor>(
      Tensor::FromVector(DType::kF32, g.values[v].constant->dims(), data));
  return g;
}

TEST(TuningKey, StableForTheSameGraph) {
  const Graph g = PreparedSmallCnn();
  const Graph copy = g;
  EXPECT_EQ(TuningKey("m.onnx", g, 1, true), TuningKey("m.onnx", copy, 1, true));
  const std::string key = TuningKey("m.onnx", g, 1, true);
  EXPECT_EQ(key.size(), 16u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos) << key;
  // The key is the content, not the file name: a renamed copy reuses the cache.
  EXPECT_EQ(TuningKey("copy.onnx", g, 1, true), key);
}

TEST(TuningKey, ChangesWithThreadCount) {
  const Graph g = PreparedSmallCnn();
  EXPECT_NE(TuningKey("m", g, 1, true), TuningKey("m", g, 2, true));
  EXPECT_NE(TuningKey("m", g, 2, true), TuningKey("m", g, 4, true));
}

TEST(TuningKey, ChangesWithWinograd) {
  const Graph g = PreparedSmallCnn();
  EXPECT_NE(TuningKey("m", g, 1, true), TuningKey("m", g, 1, false));
}

TEST(TuningKey, ChangesWithAnySmallConstantValue) {
  const Graph g = PreparedSmallCnn();
  const std::string key = TuningKey("m", g, 1, true);
  // w1 is [8,3,3,3]: 216 floats in 108 8-byte words (elements in the first three words and the
  // last); bf is [10]: 40 bytes, its first and last words.
  for (int64_t element : {0, 2, 4, 215}) {
    EXPECT_NE(TuningKey("m", WithWeightChanged(g, "w1", element), 1, true), key) << element;
  }
  EXPECT_NE(TuningKey("m", WithWeightChanged(g, "bf", 9), 1, true), key);
  EXPECT_NE(TuningKey("m", WithWeightChanged(g, "bf", 0), 1, true), key);
}

// Timings do not depend on the values of large weights: a retrained model reuses the choices
// (and a cached load does not hash megabytes of weights). Their dtype and size still count.
TEST(TuningKey, LargeWeightsCountByDtypeAndSizeNotValue) {
  Graph g = PreparedSmallCnn();
  const int w1 = g.FindValue("w1");
  ASSERT_GE(w1, 0);
  auto with_w1 = [&](Tensor w) {
    Graph copy = g;
    copy.values[w1].constant = std::make_shared<const Tensor>(std::move(w));
    return copy;
  };
  const int64_t large = 64 * 1024;  // 256 KiB of floats
  auto floats = [](int64_t n) {
    return Tensor::FromVector(DType::kF32, {n}, std::vector<float>(static_cast<size_t>(n), 0.25f));
  };
  const Graph big = with_w1(floats(large));
  const std::string key = TuningKey("m", big, 1, true);
  EXPECT_EQ(TuningKey("m", WithWeightChanged(big, "w1", 0), 1, true), key);
  EXPECT_EQ(TuningKey("m", WithWeightChanged(big, "w1", large - 1), 1, true), key);
  EXPECT_NE(TuningKey("m", with_w1(floats(large + 1)), 1, true), key);
  const Tensor halves = Tensor::FromVector(DType::kF16, {large * 2},
                                           std::vector<uint16_t>(static_cast<size_t>(large) * 2));
  ASSERT_EQ(halves.bytes(), floats(large).bytes());
  EXPECT_NE(TuningKey("m", with_w1(halves), 1, true), key) << "the same bytes as f16";
}

TEST(TuningKey, ChangesWithShapesAndAttributes) {
  const std::string key = TuningKey("m", PreparedSmallCnn(), 1, true);
  {
    Graph g = MakeSmallCnn().graph;
    g.values[g.inputs[0]].shape = ShapeFromDims({1, 3, 20, 20});
    ASSERT_TRUE(InferShapesAndFold(g, true).ok());
    EXPECT_NE(TuningKey("m", g, 1, true), key) << "input shape";
  }
  {
    Graph g = MakeSmallCnn().graph;
    for (Node& n : g.nodes) {
      if (n.name == "pool1") n.attrs["strides"] = Attribute::Ints({1, 1});
    }
    ASSERT_TRUE(InferShapesAndFold(g, true).ok());
    EXPECT_NE(TuningKey("m", g, 1, true), key) << "an int attribute";
  }
}

// --- TuneNode -----------------------------------------------------------------------------------

// An NHWC 3x3 conv with pad 1 (inputs x, w, b), the op every backend claims.
Node NhwcConv3x3(const std::string& name, int64_t group) {
  Node node;
  node.name = name;
  node.op_type = "Conv";
  node.domain = std::string(kNhwcDomain);
  node.opset = 17;
  node.inputs = {0, 1, 2};
  node.outputs = {3};
  node.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  node.attrs["group"] = Attribute::Int(group);
  return node;
}

TEST(TuneNode, PicksAPreparedCandidateAndReportsEachTiming) {
  const Node node = NhwcConv3x3("conv_t", 1);
  const Tensor w = RandomF32({8, 4, 3, 3}, 3);
  const Tensor b = RandomF32({8}, 4);
  const std::vector<TensorType> in_types = {
      {DType::kF32, {1, 6, 6, 4}}, {DType::kF32, {8, 4, 3, 3}}, {DType::kF32, {8}}};
  const std::vector<const Tensor*> constants = {nullptr, &w, &b};
  Expected<std::vector<TensorType>> out_types = InferNode(node, in_types, constants);
  ASSERT_TRUE(out_types.ok()) << out_types.status().ToString();
  SupportContext sctx{node, in_types, constants, *out_types};
  std::vector<const KernelDef*> candidates;
  for (KernelPath p : DefaultPathOrder()) {
    const KernelPath one[] = {p};
    if (const KernelDef* k = SelectKernel(sctx, one)) candidates.push_back(k);
  }
  ASSERT_FALSE(candidates.empty());
  ASSERT_EQ(candidates.back()->path, KernelPath::kReference);

  std::string report;
  Expected<TunedKernel> tuned =
      TuneNode(node, in_types, constants, *out_types, candidates, 1, false, true, nullptr, &report);
  ASSERT_TRUE(tuned.ok()) << tuned.status().ToString();
  EXPECT_NE(std::find(candidates.begin(), candidates.end(), tuned->kernel), candidates.end());
  EXPECT_GE(tuned->best_ms, 0.0);
  EXPECT_EQ(report.rfind("conv_t: ", 0), 0u) << report;
  for (const KernelDef* k : candidates) {
    EXPECT_NE(report.find(std::string(KernelPathName(k->path)) + " "), std::string::npos) << report;
  }
  EXPECT_NE(report.find("-> " + std::string(KernelPathName(tuned->kernel->path))),
            std::string::npos)
      << report;
  if (tuned->kernel->prepare != nullptr) {
    EXPECT_NE(tuned->state, nullptr);
  }

  // No candidates: an error naming the node, not a crash.
  Expected<TunedKernel> none =
      TuneNode(node, in_types, constants, *out_types, {}, 1, false, true, nullptr, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("conv_t"), std::string::npos);
}

// Kernels whose run time the test sets: they busy-wait (wall time, as the tuner measures).
void SpinFor(double ms) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() <
         ms) {
  }
}
int slow_runs_left = 0;  // runs of InvokeWarmingUp still slow
Status InvokeWarmingUp(InvokeContext&) {
  SpinFor(slow_runs_left-- > 0 ? 3.0 : 0.1);
  return Status::Ok();
}
Status InvokeSteadyFast(InvokeContext&) {
  SpinFor(0.1);
  return Status::Ok();
}
Status InvokeSteadySlow(InvokeContext&) {
  SpinFor(0.3);
  return Status::Ok();
}

Expected<TunedKernel> TuneFakeConv(std::span<const KernelDef* const> candidates,
                                   std::string* report) {
  const Node node = NhwcConv3x3("fake_conv", 1);
  const Tensor w = RandomF32({4, 4, 3, 3}, 7);
  const std::vector<TensorType> in_types = {
      {DType::kF32, {1, 4, 4, 4}}, {DType::kF32, {4, 4, 3, 3}}, {DType::kF32, {}}};
  const std::vector<const Tensor*> constants = {nullptr, &w, nullptr};
  const std::vector<TensorType> out_types = {{DType::kF32, {1, 4, 4, 4}}};
  return TuneNode(node, in_types, constants, out_types, candidates, 1, false, true, nullptr,
                  report);
}

// The static preference timed slow once (its first runs, as a core waking up) loses only if it
// stays slower when both are timed again.
TEST(TuneNode, AWinIsConfirmedByTimingBothAgain) {
  const KernelDef warming_up{"Conv",  KernelPath::kOnednn, DTypeSet{DType::kF32}, nullptr,
                             nullptr, InvokeWarmingUp};
  const KernelDef steady{"Conv",  KernelPath::kXnnpack, DTypeSet{DType::kF32}, nullptr,
                         nullptr, InvokeSteadySlow};
  const KernelDef* candidates[] = {&warming_up, &steady};
  slow_runs_left = 4;  // the warm-up run and the three first timed runs
  std::string report;
  Expected<TunedKernel> tuned = TuneFakeConv(candidates, &report);
  ASSERT_TRUE(tuned.ok()) << tuned.status().ToString();
  EXPECT_EQ(tuned->kernel, &warming_up) << report;
  EXPECT_NE(report.find("timing both again"), std::string::npos) << report;
  EXPECT_LT(tuned->best_ms, 0.25) << report;

  // A real win survives the second timing.
  const KernelDef slow{"Conv",  KernelPath::kOnednn, DTypeSet{DType::kF32}, nullptr,
                       nullptr, InvokeSteadySlow};
  const KernelDef fast{"Conv",  KernelPath::kXnnpack, DTypeSet{DType::kF32}, nullptr,
                       nullptr, InvokeSteadyFast};
  const KernelDef* real_win[] = {&slow, &fast};
  tuned = TuneFakeConv(real_win, &report);
  ASSERT_TRUE(tuned.ok()) << tuned.status().ToString();
  EXPECT_EQ(tuned->kernel, &fast) << report;
  EXPECT_NE(report.find("timing both again"), std::string::npos) << report;
}

// A depthwise 3x3 conv, NHWC f32: oneDNN lists more than one implementation for it on AVX-512
// (jit_dw and brdgmm_dw).
struct DepthwiseNode {
  Node node = NhwcConv3x3("dw_t", 32);
  Tensor w = RandomF32({32, 1, 3, 3}, 5);
  Tensor b = RandomF32({32}, 6);
  std::vector<TensorType> in_types = {
      {DType::kF32, {1, 20, 20, 32}}, {DType::kF32, {32, 1, 3, 3}}, {DType::kF32, {32}}};
  std::vector<const Tensor*> constants = {nullptr, &w, &b};
  std::vector<TensorType> OutputTypes() const {
    Expected<std::vector<TensorType>> out = InferNode(node, in_types, constants);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : std::vector<TensorType>{};
  }
  const KernelDef* OnednnKernel(std::span<const TensorType> out_types) const {
    const KernelPath onednn[] = {KernelPath::kOnednn};
    return SelectKernel(SupportContext{node, in_types, constants, out_types}, onednn);
  }
};

TEST(TuneNode, EveryOnednnTacticMatchesTheReference) {
  const DepthwiseNode d;
  const std::vector<TensorType> out_types = d.OutputTypes();
  const KernelDef* k = d.OnednnKernel(out_types);
  ASSERT_NE(k, nullptr);
  const Tensor x = RandomF32({1, 20, 20, 32}, 7);
  const Tensor* inputs[] = {&x, &d.w, &d.b};
  Expected<std::vector<Tensor>> ref = EvaluateNode(d.node, inputs, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  std::vector<std::string> implementations;
  for (int tactic = 0; tactic < 8; ++tactic) {
    PrepareContext pctx{d.node, d.in_types, d.constants, out_types};
    pctx.tactic = tactic;
    const Status prepared = k->prepare(pctx);
    if (!prepared.ok()) {
      EXPECT_GT(tactic, 0) << prepared.ToString();
      EXPECT_EQ(prepared.code(), StatusCode::kUnsupported) << prepared.ToString();
      EXPECT_NE(prepared.message().find("dw_t"), std::string::npos) << prepared.ToString();
      break;
    }
    const std::string name(pctx.state->implementation());
    SCOPED_TRACE("tactic " + std::to_string(tactic) + ": " + name);
    EXPECT_FALSE(name.starts_with("ref")) << "reference implementations are not tactics";
    if (std::find(implementations.begin(), implementations.end(), name) == implementations.end()) {
      implementations.push_back(name);
    }
    Expected<Tensor> y = Tensor::Create(DType::kF32, out_types[0].dims);
    ASSERT_TRUE(y.ok());
    std::vector<TensorView> ins = {x.view(), d.w.view(), d.b.view()};
    std::vector<TensorView> outs = {y->view()};
    onednn_test::AlignedScratch scratch(pctx.scratch_bytes);
    void* aligned = scratch.get();
    SetupContext setup{d.node, pctx.state.get(), ins, outs, aligned, pctx.scratch_bytes};
    ASSERT_TRUE(k->setup == nullptr || k->setup(setup).ok());
    InvokeContext ictx{d.node, pctx.state.get(), ins, outs, aligned, pctx.scratch_bytes};
    ASSERT_TRUE(k->invoke(ictx).ok());
    const test_util::CompareResult r = test_util::AllClose(y->view(), (*ref)[0].view(), 1e-5, 1e-5);
    EXPECT_TRUE(r.ok) << r.message;
  }
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_GE(implementations.size(), 2u) << "oneDNN offers jit_dw and brdgmm_dw on AVX-512";
  }
#endif
}

TEST(TuneNode, TimesEachOnednnImplementationAndKeepsTheTactic) {
  const DepthwiseNode d;
  const std::vector<TensorType> out_types = d.OutputTypes();
  const KernelDef* k = d.OnednnKernel(out_types);
  ASSERT_NE(k, nullptr);
  const KernelDef* candidates[] = {k};
  std::string report;
  Expected<TunedKernel> tuned = TuneNode(d.node, d.in_types, d.constants, out_types, candidates, 1,
                                         false, true, nullptr, &report);
  ASSERT_TRUE(tuned.ok()) << tuned.status().ToString();
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_NE(report.find("onednn#"), std::string::npos) << report;
  }
#endif
  // The kept state is the tactic's: preparing that tactic again names the same implementation.
  PrepareContext again{d.node, d.in_types, d.constants, out_types};
  again.tactic = tuned->tactic;
  ASSERT_TRUE(k->prepare(again).ok());
  EXPECT_EQ(again.state->implementation(), tuned->state->implementation()) << report;
  const std::string chosen =
      tuned->tactic > 0 ? "-> onednn#" + std::to_string(tuned->tactic) : std::string("-> onednn");
  EXPECT_NE(report.find(chosen), std::string::npos) << report;
}

// --- Tuned sessions -----------------------------------------------------------------------------

// x[1,3,16,16] -> Conv 3x3 (8) -> BatchNormalization -> Relu -> MaxPool 2x2 -> p
//   -> depthwise Conv 3x3 -> Clip(0,6) -> Conv 1x1 (8) -> Add(p) -> Relu -> GlobalAveragePool
//   -> Flatten -> Gemm (10) -> Softmax -> y[1,10]
// Like MakeSmallCnn, but the residual add's other operand is not the conv's own input, so the
// residual fusion gives a conv whose z is a different buffer from its input.
Model TinyNet() {
  Model m;
  m.path = "tiny_net";
  Graph& g = m.graph;
  g.opset_imports[""] = 17;
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims({1, 3, 16, 16}));
  g.MarkInput(x);
  auto conv = [&](const std::string& name, int in, int64_t cin, int64_t cout, int64_t k,
                  int64_t group, uint32_t seed) {
    const int w = g.AddConstant(name + "_w", RandomF32({cout, cin / group, k, k}, seed));
    const int b = g.AddConstant(name + "_b", RandomF32({cout}, seed + 1));
    const int y = g.AddValue(name + "_out");
    Node& n = g.AddNode(name, "Conv", {in, w, b}, {y});
    const int64_t pad = k / 2;
    n.attrs["pads"] = Attribute::Ints({pad, pad, pad, pad});
    n.attrs["group"] = Attribute::Int(group);
    return y;
  };
  const int c1 = conv("conv1", x, 3, 8, 3, 1, 1);
  std::vector<int> bn_inputs = {c1};
  for (uint32_t i = 0; i < 4; ++i) {
    std::vector<float> v = RandomF32({8}, 10 + i).ToFloatVector();
    if (i == 3)
      for (float& f : v) f = 0.5f + 0.25f * f;  // variance > 0
    bn_inputs.push_back(
        g.AddConstant("bn_" + std::to_string(i), Tensor::FromVector(DType::kF32, {8}, v)));
  }
  const int bn = g.AddValue("bn");
  g.AddNode("bn1", "BatchNormalization", bn_inputs, {bn});
  const int r1 = g.AddValue("r1");
  g.AddNode("relu1", "Relu", {bn}, {r1});
  const int p = g.AddValue("p");
  Node& pool = g.AddNode("pool1", "MaxPool", {r1}, {p});
  pool.attrs["kernel_shape"] = Attribute::Ints({2, 2});
  pool.attrs["strides"] = Attribute::Ints({2, 2});
  const int d = conv("dw", p, 8, 8, 3, 8, 20);
  const int lo = g.AddConstant("lo", Tensor::FromVector(DType::kF32, {}, std::vector<float>{0}));
  const int hi = g.AddConstant("hi", Tensor::FromVector(DType::kF32, {}, std::vector<float>{6}));
  const int k = g.AddValue("k");
  g.AddNode("clip", "Clip", {d, lo, hi}, {k});
  const int pw = conv("pw", k, 8, 8, 1, 1, 30);
  const int a = g.AddValue("a");
  g.AddNode("add", "Add", {pw, p}, {a});
  const int r2 = g.AddValue("r2");
  g.AddNode("relu2", "Relu", {a}, {r2});
  const int gp = g.AddValue("gp");
  g.AddNode("gap", "GlobalAveragePool", {r2}, {gp});
  const int fl = g.AddValue("fl");
  g.AddNode("flatten", "Flatten", {gp}, {fl});
  const int wf = g.AddConstant("wf", RandomF32({10, 8}, 40));
  const int bf = g.AddConstant("bf", RandomF32({10}, 41));
  const int fc = g.AddValue("fc");
  g.AddNode("fc", "Gemm", {fl, wf, bf}, {fc}).attrs["transB"] = Attribute::Int(1);
  const int y = g.AddValue("y");
  g.AddNode("softmax", "Softmax", {fc}, {y});
  g.MarkOutput(y);
  return m;
}

std::vector<Tensor> RunOnce(Session& s, const Tensor& x) {
  EXPECT_TRUE(s.SetInput(0, x.view()).ok());
  const Status st = s.Run();
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<Tensor> outs;
  for (int i = 0; i < s.num_outputs(); ++i) {
    const TensorView y = s.output(i);
    const std::vector<int64_t> dims(y.shape().begin(), y.shape().end());
    outs.push_back(Tensor::FromBytes(y.dtype, dims, y.raw, y.bytes()).value());
  }
  return outs;
}

void ExpectSameOutputs(const std::vector<Tensor>& got, const std::vector<Tensor>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double atol = 1e-5 * (1.0 + test_util::MaxAbs(test_util::ToDoubles(want[i].view())));
    const test_util::CompareResult r =
        test_util::AllClose(got[i].view(), want[i].view(), 1e-4, atol);
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message;
  }
}

bool LogHas(const Session& s, const std::string& text) {
  for (const std::string& line : s.pass_log()) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

int TimingLines(const Session& s) {
  int n = 0;
  for (const std::string& line : s.pass_log()) {
    n += line.rfind("tune: ", 0) == 0 && line.find(" ms") != std::string::npos;
  }
  return n;
}

int FastPathsAvailable() {
  int n = 0;
  for (KernelPath p : DefaultPathOrder()) n += p != KernelPath::kReference;
  return n;
}

std::vector<std::string> Kernels(const Session& s) {
  std::vector<std::string> k;
  for (const NodeReport& r : s.NodeReports()) k.push_back(r.name + "=" + r.kernel);
  return k;
}

TEST(TunedSession, WritesTheCacheThenReadsItWithTheSameOutputs) {
  TempDir dir;
  const Model m = TinyNet();
  const Tensor x = RandomF32({1, 3, 16, 16}, 21);

  auto plain = Session::Create(m, SessionOptions{});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  const std::vector<Tensor> want = RunOnce(**plain, x);

  SessionOptions options;
  options.tune = true;
  options.tune_cache_dir = dir.path();
  auto first = Session::Create(m, options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ExpectSameOutputs(RunOnce(**first, x), want);
  if (FastPathsAvailable() > 0) {
    EXPECT_GT(TimingLines(**first), 0) << "some node has several candidates";
  }
  EXPECT_FALSE(LogHas(**first, "choices read from"));
  const std::vector<std::string> files = TuneFiles(dir.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(ReadFile(files[0]).rfind("edgerun-tune 1\n", 0), 0u);

  auto second = Session::Create(m, options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(LogHas(**second, "choices read from " + files[0]));
  EXPECT_EQ(TimingLines(**second), 0) << "nothing is timed again";
  EXPECT_EQ(Kernels(**second), Kernels(**first));
  ExpectSameOutputs(RunOnce(**second, x), want);
  // Running again on the same session: same outputs (pointers bound once, at setup).
  ExpectSameOutputs(RunOnce(**second, x), want);
  EXPECT_EQ(TuneFiles(dir.path()).size(), 1u);
}

// TinyNet tuned into a fresh cache directory, and the one cache file that wrote.
struct TunedTinyNet {
  TempDir dir;
  Model model = TinyNet();
  SessionOptions options;
  std::unique_ptr<Session> session;
  std::string file;

  TunedTinyNet() {
    options.tune = true;
    options.tune_cache_dir = dir.path();
    auto s = Session::Create(model, options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (s.ok()) session = std::move(s).value();
    const std::vector<std::string> files = TuneFiles(dir.path());
    EXPECT_EQ(files.size(), 1u);
    if (!files.empty()) file = files[0];
  }
};

// Rewrites each choice line "name<TAB>choice" of `text` to "name<TAB>rewrite(choice)" (an empty
// result keeps the line) and returns the names of the lines it changed.
std::vector<std::string> RewriteChoices(
    std::string& text, const std::function<std::string(const std::string&)>& rewrite) {
  std::stringstream in(text);
  std::string line, out;
  std::vector<std::string> names;
  while (std::getline(in, line)) {
    const size_t tab = line.rfind('\t');
    const std::string choice = tab == std::string::npos ? "" : rewrite(line.substr(tab + 1));
    if (!choice.empty()) {
      names.push_back(line.substr(0, tab));
      line = line.substr(0, tab + 1) + choice;
    }
    out += line + "\n";
  }
  text = out;
  return names;
}

TEST(TunedSession, ChoicesOnDiskAreFollowed) {
  // Rewrite every cached choice to the reference path: the next session must use it.
  ASSERT_GT(FastPathsAvailable(), 0) << "XNNPACK or oneDNN is always compiled in";
  TunedTinyNet t;
  ASSERT_NE(t.session, nullptr);
  std::string text = ReadFile(t.file);
  const std::vector<std::string> names =
      RewriteChoices(text, [](const std::string&) { return std::string("ref"); });
  ASSERT_FALSE(names.empty());
  WriteFile(t.file, text);
  auto second = Session::Create(t.model, t.options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(LogHas(**second, "choices read from"));
  for (const NodeReport& r : (*second)->NodeReports()) {
    if (std::find(names.begin(), names.end(), r.name) != names.end()) {
      EXPECT_EQ(r.kernel, "ref") << r.name;
    }
  }
  const Tensor x = RandomF32({1, 3, 16, 16}, 22);
  ExpectSameOutputs(RunOnce(**second, x), RunOnce(*t.session, x));
}

// TinyNet's batch-1 classifier (Gemm) is claimed on the oneDNN path by edgerun's matrix-vector
// kernel and, after it, by oneDNN's matmul: tuning times both, and a cached "onednn+1" runs the
// second. A kernel ordinal no kernel has is stale: the node is tuned again.
TEST(TunedSession, EveryKernelOfAPathIsTimedAndTheCachedOneFollowed) {
  const std::vector<KernelPath> order = DefaultPathOrder();
  if (std::find(order.begin(), order.end(), KernelPath::kOnednn) == order.end()) {
    GTEST_SKIP() << "built without oneDNN: no path with two kernels for the Gemm";
  }
  TunedTinyNet t;
  ASSERT_NE(t.session, nullptr);
  bool timed_matvec = false, timed_other = false;
  for (const std::string& line : t.session->pass_log()) {
    if (line.rfind("tune: fc:", 0) != 0) continue;
    // "tune: fc: onednn (matvec:AVX3) 0.0001 ms, onednn 0.0005 ms, xnnpack ..."
    timed_matvec = line.find("onednn (matvec:") != std::string::npos;
    timed_other = line.find(", onednn ") != std::string::npos;
  }
  EXPECT_TRUE(timed_matvec);
  EXPECT_TRUE(timed_other) << "oneDNN's own matmul is timed too";
  const Tensor x = RandomF32({1, 3, 16, 16}, 24);
  const std::vector<Tensor> want = RunOnce(*t.session, x);
  for (const std::string choice : {"onednn+1", "onednn", "onednn+7"}) {
    SCOPED_TRACE(choice);
    std::stringstream in(ReadFile(t.file));
    std::string line, out;
    while (std::getline(in, line)) {
      if (line.rfind("fc\t", 0) == 0) line = "fc\t" + choice;
      out += line + "\n";
    }
    WriteFile(t.file, out);
    auto s = Session::Create(t.model, t.options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (const NodeReport& r : (*s)->NodeReports()) {
      if (r.name != "fc") continue;
      if (choice == "onednn+7") {
        EXPECT_FALSE(LogHas(**s, "choices read from")) << "a stale choice is tuned again";
      } else {
        EXPECT_EQ(r.kernel, "onednn");
        EXPECT_EQ(r.implementation.rfind("matvec:", 0) == 0, choice == "onednn");
      }
    }
    ExpectSameOutputs(RunOnce(**s, x), want);
  }
}

TEST(TunedSession, CachedTacticsAreFollowedAndStaleOnesFallBack) {
  // Every choice rewritten to oneDNN's tactic 1, then to tactic 50 (no conv has that many
  // implementations): both sessions build and compute what the first one does.
  TunedTinyNet t;
  ASSERT_NE(t.session, nullptr);
  const std::string original = ReadFile(t.file);
  const Tensor x = RandomF32({1, 3, 16, 16}, 23);
  const std::vector<Tensor> want = RunOnce(*t.session, x);
  for (const std::string tactic : {"onednn:1", "onednn:50"}) {
    SCOPED_TRACE(tactic);
    std::string text = original;
    // Every node: one without a oneDNN candidate is tuned again, the others take the tactic.
    ASSERT_FALSE(
        RewriteChoices(text, [&](const std::string&) { return std::string(tactic); }).empty());
    WriteFile(t.file, text);
    auto s = Session::Create(t.model, t.options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    int on_onednn = 0;
    for (const NodeReport& r : (*s)->NodeReports()) on_onednn += r.kernel == "onednn";
    EXPECT_GT(on_onednn, 0);
    ExpectSameOutputs(RunOnce(**s, x), want);
  }
}

TEST(TunedSession, CorruptCacheIsRetunedAndRewritten) {
  TempDir dir;
  const Model m = TinyNet();
  SessionOptions options;
  options.tune = true;
  options.tune_cache_dir = dir.path();
  ASSERT_TRUE(Session::Create(m, options).ok());
  const std::vector<std::string> files = TuneFiles(dir.path());
  ASSERT_EQ(files.size(), 1u);
  WriteFile(files[0], "edgerun-tune 1\nconv1\tnot-a-path\n");
  auto again = Session::Create(m, options);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(LogHas(**again, "choices read from"));
  if (FastPathsAvailable() > 0) {
    EXPECT_GT(TimingLines(**again), 0);
    EXPECT_TRUE(TuningCache::Load(dir.path(), fs::path(files[0]).stem().string()).loaded());
  }
}

TEST(TunedSession, AnotherThreadCountUsesAnotherCacheFile) {
  ASSERT_GT(FastPathsAvailable(), 0) << "XNNPACK or oneDNN is always compiled in";
  TempDir dir;
  const Model m = TinyNet();
  SessionOptions options;
  options.tune = true;
  options.tune_cache_dir = dir.path();
  ASSERT_TRUE(Session::Create(m, options).ok());
  options.num_threads = 2;
  auto two = Session::Create(m, options);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_FALSE(LogHas(**two, "choices read from"));
  EXPECT_EQ(TuneFiles(dir.path()).size(), 2u);
}

// At several threads oneDNN's OpenMP team owns the threads whenever a node runs on it, and the
// other kernels then run on the calling thread: the tuner must time them there, or XNNPACK timed
// on the pool wins convs it then runs on one thread (ResNet-50 at 2 threads: 25 -> 47 ms tuned).
TEST(TunedSession, AtSeveralThreadsOtherPathsAreTimedWhereTheyWillRun) {
  const std::vector<KernelPath> order = DefaultPathOrder();
  const bool has_onednn = std::find(order.begin(), order.end(), KernelPath::kOnednn) != order.end();
  const std::string calling_thread = "timed on the calling thread";
  TempDir dir;
  SessionOptions options;
  options.tune = true;
  options.tune_cache_dir = dir.path();
  options.num_threads = 2;
  auto two = Session::Create(TinyNet(), options);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(LogHas(**two, calling_thread), has_onednn);

  // Without oneDNN the pool stays, and XNNPACK is timed on it.
  options.kernel_paths = {KernelPath::kXnnpack, KernelPath::kReference};
  auto without_onednn = Session::Create(TinyNet(), options);
  ASSERT_TRUE(without_onednn.ok()) << without_onednn.status().ToString();
  EXPECT_FALSE(LogHas(**without_onednn, calling_thread));

  // One thread: there is no pool to leave out.
  options.kernel_paths.clear();
  options.num_threads = 1;
  auto one = Session::Create(TinyNet(), options);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_FALSE(LogHas(**one, calling_thread));
}

TEST(TunedSession, NothingToTuneClaimsNoCacheRead) {
  // With only the reference path no node has a choice: no file is written, and the log must not
  // say choices were read from a file that does not exist.
  TempDir dir;
  SessionOptions options;
  options.tune = true;
  options.tune_cache_dir = dir.path();
  options.kernel_paths = {KernelPath::kReference};
  auto s = Session::Create(TinyNet(), options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(TuneFiles(dir.path()).empty());
  for (const std::string& line : (*s)->pass_log()) {
    const size_t at = line.find("choices read from ");
    if (at == std::string::npos) continue;
    const std::string file = line.substr(at + std::string("choices read from ").size());
    EXPECT_TRUE(fs::exists(file)) << "log claims a read of a missing file: " << line;
  }
}

// The static preference stays unless an alternative is at least kMinTunedGain faster.
TEST(TunerTest, AnAlternativeMustWinByTheMargin) {
  EXPECT_FALSE(TunedAlternativeWins(1.0, 1.2));
  EXPECT_FALSE(TunedAlternativeWins(1.0, 0.99));
  EXPECT_FALSE(TunedAlternativeWins(1.0, 1.0 - kMinTunedGain));
  EXPECT_TRUE(TunedAlternativeWins(1.0, 1.0 - 2 * kMinTunedGain));
  EXPECT_TRUE(TunedAlternativeWins(0.2, 0.1));
}

}  // namespace
}  // namespace edgerun
