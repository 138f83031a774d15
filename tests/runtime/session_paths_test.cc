// Session engine options (include/edgerun/session.h): kernel_paths (reference only, preference
// order, unknown paths), the layout pass only when a fast path is in use, optimize=false, thread
// counts and pin_threads. Every configuration must give the reference session's outputs.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/denormals.h"
#include "edgerun/session.h"
#include "kernels/backend.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::MakeSmallCnn;
using testing::RandomF32;

// Starts `m` as the models below do: named `path`, opset 17, one f32 input "x" of `dims`; returns
// the input's value.
int StartModel(Model& m, const std::string& path, const std::vector<int64_t>& dims) {
  m.path = path;
  m.graph.opset_imports[""] = 17;
  const int x = m.graph.AddValue("x", DType::kF32, ShapeFromDims(dims));
  m.graph.MarkInput(x);
  return x;
}

// x[1,3,16,16] -> Conv 3x3 (8) -> BatchNormalization -> Relu -> MaxPool 2x2 -> p
//   -> depthwise Conv 3x3 -> Clip(0,6) -> Conv 1x1 (8) -> Add(p) -> Relu -> GlobalAveragePool
//   -> Flatten -> Gemm (10) -> Softmax -> y[1,10]
// Like MakeSmallCnn, but the residual add's other operand is not the conv's own input, so the
// residual fusion gives a conv whose z is a different buffer from its input.
Model TinyNet() {
  Model m;
  Graph& g = m.graph;
  const int x = StartModel(m, "tiny_net", {1, 3, 16, 16});
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

bool Available(KernelPath p) {
  const BackendDef* b = FindBackend(p);
  return b != nullptr && b->available();
}

Expected<std::unique_ptr<Session>> Create(const std::vector<KernelPath>& paths, int threads = 1,
                                          bool pin = false, bool optimize = true,
                                          const Model& model = TinyNet()) {
  SessionOptions options;
  options.kernel_paths = paths;
  options.num_threads = threads;
  options.pin_threads = pin;
  options.optimize = optimize;
  return Session::Create(model, options);
}

std::vector<float> RunOnce(Session& s, uint32_t seed = 5) {
  const Tensor x = RandomF32({1, 3, 16, 16}, seed);
  EXPECT_TRUE(s.SetInput(0, x.view()).ok());
  const Status st = s.Run();
  EXPECT_TRUE(st.ok()) << st.ToString();
  const TensorView y = s.output(0);
  return std::vector<float>(y.data<float>(), y.data<float>() + y.num_elements());
}

std::vector<float> ReferenceOutput(const Model& model = TinyNet()) {
  auto s = Create({KernelPath::kReference}, 1, false, true, model);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? RunOnce(**s) : std::vector<float>{};
}

void ExpectClose(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-4 * std::max(1.0f, std::abs(want[i]))) << i;
  }
}

TEST(SessionPaths, ReferenceOnlyRunsEveryNodeOnRefWithoutLayoutPass) {
  auto s = Create({KernelPath::kReference});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const std::vector<NodeReport> reports = (*s)->NodeReports();
  ASSERT_FALSE(reports.empty());
  for (const NodeReport& r : reports) {
    EXPECT_EQ(r.kernel, "ref") << r.name;
    EXPECT_TRUE(r.layout.empty()) << r.name;
  }
  for (const Node& n : (*s)->optimized_graph().nodes) {
    EXPECT_NE(n.domain, kNhwcDomain) << n.name;
    EXPECT_NE(n.op_type, "Transpose") << n.name;
  }
  // Graph passes still ran (BatchNormalization folded): only the layout pass is skipped.
  for (const NodeReport& r : reports) EXPECT_NE(r.op_type, "BatchNormalization");
}

TEST(SessionPaths, DefaultPathOrderEndsWithReference) {
  const std::vector<KernelPath> order = DefaultPathOrder();
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order.back(), KernelPath::kReference);
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_TRUE(Available(order[i])) << KernelPathName(order[i]);
    for (size_t j = i + 1; j < order.size(); ++j) EXPECT_NE(order[i], order[j]);
  }
#if defined(__x86_64__)
  if (Available(KernelPath::kOnednn)) {
    EXPECT_EQ(order.front(), KernelPath::kOnednn);
  }
#endif
}

TEST(SessionPaths, DefaultPathsRunNhwcAndMatchReference) {
  const std::vector<float> want = ReferenceOutput();
  auto s = Create({});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int nhwc = 0;
  for (const NodeReport& r : (*s)->NodeReports()) {
    EXPECT_TRUE(r.kernel == "ref" || r.kernel == "xnnpack" || r.kernel == "onednn") << r.kernel;
    nhwc += r.layout == "NHWC";
  }
  EXPECT_GT(nhwc, 0);
  ExpectClose(RunOnce(**s), want);
}

TEST(SessionPaths, PreferenceOrderDecidesTheConvKernel) {
  const std::vector<float> want = ReferenceOutput();
  for (KernelPath first : {KernelPath::kXnnpack, KernelPath::kOnednn}) {
    if (!Available(first)) continue;
    SCOPED_TRACE(std::string(KernelPathName(first)));
    const KernelPath second =
        first == KernelPath::kXnnpack ? KernelPath::kOnednn : KernelPath::kXnnpack;
    auto s = Create({first, second, KernelPath::kReference});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    bool saw_conv = false;
    for (const NodeReport& r : (*s)->NodeReports()) {
      if (r.op_type != "Conv") continue;
      saw_conv = true;
      EXPECT_EQ(r.kernel, KernelPathName(first)) << r.name;
      EXPECT_EQ(r.layout, "NHWC") << r.name;
    }
    EXPECT_TRUE(saw_conv);
    ExpectClose(RunOnce(**s), want);
  }
}

TEST(SessionPaths, FastPathWithoutReferenceRunsOnlyThatPathOrNamesMissingNodes) {
  for (KernelPath p : {KernelPath::kXnnpack, KernelPath::kOnednn}) {
    if (!Available(p)) continue;
    SCOPED_TRACE(std::string(KernelPathName(p)));
    auto s = Create({p});
    if (s.ok()) {
      for (const NodeReport& r : (*s)->NodeReports()) {
        EXPECT_EQ(r.kernel, KernelPathName(p)) << r.name;
      }
      ExpectClose(RunOnce(**s), ReferenceOutput());
    } else {
      EXPECT_NE(s.status().message().find("no kernel"), std::string::npos) << s.status().message();
    }
  }
}

TEST(SessionPaths, UnknownPathsAreAnError) {
  const KernelPath bogus = static_cast<KernelPath>(42);
  auto s = Create({bogus});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("kernel path"), std::string::npos) << s.status().message();
  // Duplicates are harmless.
  auto dup = Create({KernelPath::kReference, KernelPath::kReference});
  ASSERT_TRUE(dup.ok()) << dup.status().ToString();
}

TEST(SessionPaths, NoOptimizeSkipsTheLayoutPassToo) {
  auto s = Create({}, 1, false, /*optimize=*/false);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (const NodeReport& r : (*s)->NodeReports()) EXPECT_TRUE(r.layout.empty()) << r.name;
  EXPECT_TRUE((*s)->pass_log().empty());
  ExpectClose(RunOnce(**s), ReferenceOutput());
}

TEST(SessionPaths, ConvWhoseResidualIsItsOwnInputIsNotRunInPlace) {
  // MakeSmallCnn has dw1(p1) + p1: after the residual fusion the conv reads p1 both as input 0
  // and as z. Writing the output over z would overwrite the conv's input while it runs, so the
  // session must not share that buffer (the fast kernels reject it in setup).
  const Model m = MakeSmallCnn();
  const std::vector<float> want = ReferenceOutput(m);
  const std::vector<std::vector<KernelPath>> configs = {
      {},
      {KernelPath::kXnnpack, KernelPath::kReference},
      {KernelPath::kOnednn, KernelPath::kReference}};
  for (const std::vector<KernelPath>& paths : configs) {
    SCOPED_TRACE(paths.empty() ? std::string("default") : std::string(KernelPathName(paths[0])));
    auto s = Create(paths, 1, false, true, m);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) continue;
    bool fused = false;
    for (const Node& n : (*s)->optimized_graph().nodes) {
      fused |= n.name == "dw1" && n.inputs.size() == 4 && n.inputs[3] == n.inputs[0];
    }
    EXPECT_TRUE(fused) << "the pattern under test is gone";
    ExpectClose(RunOnce(**s), want);
  }
}

// Restores the calling thread's CPU affinity, which pinning changes for the rest of the process.
class AffinityGuard {
 public:
  AffinityGuard() { ok_ = sched_getaffinity(0, sizeof(saved_), &saved_) == 0; }
  ~AffinityGuard() {
    if (ok_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }

 private:
  cpu_set_t saved_;
  bool ok_ = false;
};

TEST(SessionPaths, TwoThreadsPinnedOrNotGiveTheSameOutputs) {
  const std::vector<float> want = ReferenceOutput();
  auto two = Create({}, 2);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  const std::vector<float> unpinned = RunOnce(**two);
  ExpectClose(unpinned, want);

  AffinityGuard guard;
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  if (!CPU_ISSET(0, &allowed) || !CPU_ISSET(1, &allowed)) {
    // Pinning to cores 0..1 is impossible here; the session must say so.
    auto pinned = Create({}, 2, /*pin=*/true);
    EXPECT_FALSE(pinned.ok());
    return;
  }
  auto pinned = Create({}, 2, /*pin=*/true);
  ASSERT_TRUE(pinned.ok()) << pinned.status().ToString();
  // The calling thread is now on core 0.
  cpu_set_t now;
  ASSERT_EQ(sched_getaffinity(0, sizeof(now), &now), 0);
  EXPECT_EQ(CPU_COUNT(&now), 1);
  EXPECT_TRUE(CPU_ISSET(0, &now));
  const std::vector<float> pinned_out = RunOnce(**pinned);
  ExpectClose(pinned_out, want);
  ExpectClose(pinned_out, unpinned);
  // And again on the same session.
  ExpectClose(RunOnce(**pinned), pinned_out);

  auto pinned_ref = Create({KernelPath::kReference}, 2, /*pin=*/true);
  ASSERT_TRUE(pinned_ref.ok()) << pinned_ref.status().ToString();
  ExpectClose(RunOnce(**pinned_ref), want);
}

// --- Packed weights released at creation, one threading runtime, op preferences, Create(&&) ---

// x[1,3,8,8] -> Conv(cw[8,3,3,3], cb) pad 1 -> Relu -> GlobalAveragePool -> Flatten
//   -> MatMul(B[8,5]) -> y[1,5]
// With `shared_b`, a second input u[8,5] gives z = u + B: B then has a reader (Add) that reads
// it at run time.
Model PackingNet(bool shared_b) {
  Model m;
  Graph& g = m.graph;
  const int x = StartModel(m, "packing_net", {1, 3, 8, 8});
  const int cw = g.AddConstant("cw", RandomF32({8, 3, 3, 3}, 60));
  const int cb = g.AddConstant("cb", RandomF32({8}, 61));
  const int c = g.AddValue("c");
  g.AddNode("conv", "Conv", {x, cw, cb}, {c}).attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  const int r = g.AddValue("r");
  g.AddNode("relu", "Relu", {c}, {r});
  const int gp = g.AddValue("gp");
  g.AddNode("gap", "GlobalAveragePool", {r}, {gp});
  const int fl = g.AddValue("fl");
  g.AddNode("flatten", "Flatten", {gp}, {fl});
  const int b = g.AddConstant("B", RandomF32({8, 5}, 62));
  const int y = g.AddValue("y");
  g.AddNode("matmul", "MatMul", {fl, b}, {y});
  g.MarkOutput(y);
  if (shared_b) {
    const int u = g.AddValue("u", DType::kF32, ShapeFromDims({8, 5}));
    g.MarkInput(u);
    const int z = g.AddValue("z");
    g.AddNode("add_b", "Add", {u, b}, {z});
    g.MarkOutput(z);
  }
  return m;
}

// x[1,4,5,5] -> ConvTranspose(w[4,6,2,2], b[6]) stride 2 -> y[1,6,10,10]
Model DeconvNet() {
  Model m;
  Graph& g = m.graph;
  const int x = StartModel(m, "deconv_net", {1, 4, 5, 5});
  const int w = g.AddConstant("w", RandomF32({4, 6, 2, 2}, 70));
  const int b = g.AddConstant("b", RandomF32({6}, 71));
  const int y = g.AddValue("y");
  g.AddNode("deconv", "ConvTranspose", {x, w, b}, {y}).attrs["strides"] = Attribute::Ints({2, 2});
  g.MarkOutput(y);
  return m;
}

// Sets every input to a seeded random tensor, runs, and returns every output.
std::vector<std::vector<float>> RunAll(Session& s, uint32_t seed) {
  for (int i = 0; i < s.num_inputs(); ++i) {
    const TensorView in = s.input(i);
    const Tensor t =
        RandomF32(std::vector<int64_t>(in.shape().begin(), in.shape().end()), seed + i);
    EXPECT_TRUE(s.SetInput(i, t.view()).ok()) << s.input_name(i);
  }
  const Status st = s.Run();
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<std::vector<float>> outs;
  for (int i = 0; i < s.num_outputs(); ++i) {
    const TensorView y = s.output(i);
    outs.emplace_back(y.data<float>(), y.data<float>() + y.num_elements());
  }
  return outs;
}

Expected<std::unique_ptr<Session>> CreateFor(const Model& model,
                                             const std::vector<KernelPath>& paths,
                                             int threads = 1) {
  SessionOptions options;
  options.kernel_paths = paths;
  options.num_threads = threads;
  return Session::Create(model, options);
}

bool IsWeightOp(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "MatMul" || op == "Gemm";
}

const Tensor* ConstantInput(const Session& s, size_t node, size_t input) {
  const Graph& g = s.optimized_graph();
  const Node& n = g.nodes[node];
  if (input >= n.inputs.size() || n.inputs[input] < 0) return nullptr;
  const Value& v = g.values[n.inputs[input]];
  return v.is_constant() ? v.constant.get() : nullptr;
}

TEST(SessionWeights, PackedWeightsAreReleasedAndOutputsStillMatch) {
  ASSERT_TRUE(Available(KernelPath::kXnnpack) || Available(KernelPath::kOnednn));
  const Model model = PackingNet(false);
  auto ref = CreateFor(model, {KernelPath::kReference});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  auto fast = CreateFor(model, {});
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();

  const std::vector<NodeReport> reports = (*fast)->NodeReports();
  ASSERT_EQ(reports.size(), (*fast)->optimized_graph().nodes.size());
  int conv_released = 0, matmul_released = 0;
  for (size_t n = 0; n < reports.size(); ++n) {
    if (!IsWeightOp(reports[n].op_type) || reports[n].kernel == "ref") continue;
    SCOPED_TRACE(reports[n].name + " on " + reports[n].kernel);
    const Tensor* w = ConstantInput(**fast, n, 1);
    ASSERT_NE(w, nullptr);
    // Storage freed, description kept.
    EXPECT_EQ(w->raw(), nullptr);
    EXPECT_EQ(w->dtype(), DType::kF32);
    EXPECT_GT(w->num_elements(), 1);
    (reports[n].op_type == "Conv" ? conv_released : matmul_released) += w->raw() == nullptr;
  }
  EXPECT_EQ(conv_released, 1);
  EXPECT_EQ(matmul_released, 1);
  // Released weights still count in weight_bytes, but not as held.
  size_t held = 0;
  for (const Value& v : (*fast)->optimized_graph().values) {
    if (v.is_constant() && v.constant->raw() != nullptr) held += v.constant->bytes();
  }
  EXPECT_EQ((*fast)->held_weight_bytes(), held);
  EXPECT_LT((*fast)->held_weight_bytes(), (*fast)->weight_bytes());
  EXPECT_EQ((*ref)->held_weight_bytes(), (*ref)->weight_bytes());

  // The reference kernels read the weights at run time: nothing is released there.
  for (const Value& v : (*ref)->optimized_graph().values) {
    if (v.is_constant()) {
      EXPECT_NE(v.constant->raw(), nullptr) << v.name;
    }
  }
  // The caller's model keeps its weights (the session works on its own copy of the graph).
  for (const Value& v : model.graph.values) {
    if (v.is_constant()) {
      EXPECT_NE(v.constant->raw(), nullptr) << v.name;
    }
  }

  for (uint32_t seed : {1u, 2u}) {
    SCOPED_TRACE("run with seed " + std::to_string(seed));
    const auto want = RunAll(**ref, seed);
    const auto got = RunAll(**fast, seed);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ExpectClose(got[i], want[i]);
  }
}

TEST(SessionWeights, ConstantWithANonPackingReaderIsKept) {
  const Model model = PackingNet(/*shared_b=*/true);
  auto ref = CreateFor(model, {KernelPath::kReference});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  auto fast = CreateFor(model, {});
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  const Graph& g = (*fast)->optimized_graph();
  const std::vector<NodeReport> reports = (*fast)->NodeReports();
  bool matmul_fast = false, add_reads_b = false;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    if (reports[n].op_type == "MatMul" && reports[n].kernel != "ref") {
      matmul_fast = true;
      const Tensor* b = ConstantInput(**fast, n, 1);
      ASSERT_NE(b, nullptr);
      EXPECT_NE(b->raw(), nullptr) << "B is read by the Add too";
      EXPECT_EQ(g.values[node.inputs[1]].name, "B");
    }
    if (node.op_type == "Add") {
      for (int v : node.inputs) add_reads_b |= v >= 0 && g.values[v].name == "B";
    }
  }
  EXPECT_TRUE(matmul_fast) << "the MatMul must run on a packing kernel for this test";
  EXPECT_TRUE(add_reads_b);
  for (uint32_t seed : {3u, 4u}) {
    const auto want = RunAll(**ref, seed);
    const auto got = RunAll(**fast, seed);
    ASSERT_EQ(got.size(), 2u);
    ASSERT_EQ(want.size(), 2u);
    for (size_t i = 0; i < got.size(); ++i) ExpectClose(got[i], want[i]);
  }
}

TEST(SessionWeights, ConstantGraphOutputIsNeverReleased) {
  // B is both a packed MatMul weight and a graph output.
  Model model = PackingNet(false);
  model.graph.MarkOutput(model.graph.FindValue("B"));
  auto fast = CreateFor(model, {});
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  const std::vector<NodeReport> reports = (*fast)->NodeReports();
  ASSERT_TRUE(std::any_of(reports.begin(), reports.end(), [](const NodeReport& r) {
    return r.op_type == "MatMul" && r.kernel != "ref";
  })) << "the MatMul must run on a packing kernel for this test";
  const int out = (*fast)->FindOutput("B");
  ASSERT_GE(out, 0);
  const std::vector<float> want =
      model.graph.values[model.graph.FindValue("B")].constant->ToFloatVector();
  RunAll(**fast, 10);
  const TensorView b = (*fast)->output(out);
  ASSERT_NE(b.raw, nullptr);
  EXPECT_EQ(std::vector<float>(b.data<float>(), b.data<float>() + b.num_elements()), want);
}

// The kernel path the session chose for its first node of `op_type`; empty when it has none.
std::string KernelOfFirst(const Session& session, const std::string& op_type) {
  for (const NodeReport& r : session.NodeReports()) {
    if (r.op_type == op_type) return r.kernel;
  }
  return "";
}

// x[1,16,S,S] -> Conv 1x1 (16 -> 32) -> y: 16*32*S*S MACs (S=8: 32 K, S=64: 2.1 M).
Model PointwiseNet(int64_t size) {
  Model m;
  Graph& g = m.graph;
  const int x = StartModel(m, "pointwise_net", {1, 16, size, size});
  const int w = g.AddConstant("w", RandomF32({32, 16, 1, 1}, 80));
  const int b = g.AddConstant("b", RandomF32({32}, 81));
  const int y = g.AddValue("y");
  g.AddNode("pw", "Conv", {x, w, b}, {y});
  g.MarkOutput(y);
  return m;
}

TEST(SessionWeights, SmallPointwiseConvsPreferXnnpackOnX86) {
  if (!Available(KernelPath::kXnnpack) || !Available(KernelPath::kOnednn)) {
    GTEST_SKIP() << "needs both fast paths";
  }
  for (int64_t size : {8, 64}) {
    SCOPED_TRACE("spatial size " + std::to_string(size));
    const Model model = PointwiseNet(size);
    const bool small = 16 * 32 * size * size < kMaxMacsForPrebuiltKernels;
    auto def = CreateFor(model, {});
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    auto ref = CreateFor(model, {KernelPath::kReference});
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    const std::string kernel = KernelOfFirst(**def, "Conv");
    ASSERT_FALSE(kernel.empty());
#if defined(__x86_64__)
    EXPECT_EQ(kernel, small ? "xnnpack" : "onednn");
#endif
    ExpectClose(RunAll(**def, 3)[0], RunAll(**ref, 3)[0]);
    // An explicit order is kept as given.
    auto explicit_order = CreateFor(model, {KernelPath::kOnednn, KernelPath::kXnnpack});
    ASSERT_TRUE(explicit_order.ok()) << explicit_order.status().ToString();
    for (const NodeReport& r : (*explicit_order)->NodeReports()) {
      if (r.op_type == "Conv") {
        EXPECT_EQ(r.kernel, "onednn");
      }
    }
  }
}

TEST(SessionWeights, ConvTransposePrefersXnnpackUnlessPathsAreExplicit) {
  ASSERT_TRUE(Available(KernelPath::kXnnpack));
  const Model model = DeconvNet();
  auto ref = CreateFor(model, {KernelPath::kReference});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  const auto want = RunAll(**ref, 7);

  auto def = CreateFor(model, {});
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  int deconvs = 0;
  for (const NodeReport& r : (*def)->NodeReports()) {
    if (r.op_type != "ConvTranspose") continue;
    ++deconvs;
#if defined(__x86_64__)
    EXPECT_EQ(r.kernel, "xnnpack") << r.name;
#endif
  }
  EXPECT_EQ(deconvs, 1);
  ExpectClose(RunAll(**def, 7)[0], want[0]);
  ExpectClose(RunAll(**def, 7)[0], want[0]);  // again, after the weights were released

  if (Available(KernelPath::kOnednn)) {
    auto explicit_order =
        CreateFor(model, {KernelPath::kOnednn, KernelPath::kXnnpack, KernelPath::kReference});
    ASSERT_TRUE(explicit_order.ok()) << explicit_order.status().ToString();
    deconvs = 0;
    for (const NodeReport& r : (*explicit_order)->NodeReports()) {
      if (r.op_type != "ConvTranspose") continue;
      ++deconvs;
      EXPECT_EQ(r.kernel, "onednn") << r.name;
    }
    EXPECT_EQ(deconvs, 1);
    ExpectClose(RunAll(**explicit_order, 7)[0], want[0]);
  }
}

// x[1,C,S,S] -> MaxPool 3x3/2 -> y: C*((S-3)/2+1)^2*9 window steps (C=8, S=16: 3.5 K; C=64,
// S=111: 1.7 M, SqueezeNet's first pool).
Model MaxPoolNet(int64_t channels, int64_t size) {
  Model m;
  Graph& g = m.graph;
  const int x = StartModel(m, "max_pool_net", {1, channels, size, size});
  const int y = g.AddValue("y");
  Node& pool = g.AddNode("pool", "MaxPool", {x}, {y});
  pool.attrs["kernel_shape"] = Attribute::Ints({3, 3});
  pool.attrs["strides"] = Attribute::Ints({2, 2});
  g.MarkOutput(y);
  return m;
}

TEST(SessionWeights, MaxPoolRunsOnEdgerunsKernelAtEveryThreadCount) {
  if (!Available(KernelPath::kOnednn)) GTEST_SKIP() << "needs the oneDNN path";
  // edgerun's NHWC max pool (kernels/simd/max_pool.h) on the oneDNN path, ahead of oneDNN's
  // primitive and of XNNPACK's: it shares a large pool across the threads and keeps a small one
  // on the calling thread.
  for (const auto& [channels, size, threads] :
       {std::tuple<int64_t, int64_t, int>{64, 111, 1}, {64, 111, 2}, {8, 16, 2}}) {
    SCOPED_TRACE(std::to_string(channels) + "x" + std::to_string(size) + " at " +
                 std::to_string(threads) + " thread(s)");
    const Model model = MaxPoolNet(channels, size);
    auto def = CreateFor(model, {}, threads);
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    auto ref = CreateFor(model, {KernelPath::kReference});
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    for (const NodeReport& r : (*def)->NodeReports()) {
      if (r.op_type != "MaxPool") continue;
      EXPECT_EQ(r.kernel, "onednn");
      EXPECT_EQ(r.implementation.rfind("max_pool:", 0), 0u) << r.implementation;
    }
    ExpectClose(RunAll(**def, 5)[0], RunAll(**ref, 5)[0]);
  }
}

bool HasThreadsLine(const Session& s) {
  const std::vector<std::string>& log = s.pass_log();
  return std::any_of(log.begin(), log.end(),
                     [](const std::string& l) { return l.rfind("threads: ", 0) == 0; });
}

TEST(SessionWeights, OneDnnWithTwoThreadsDropsThePthreadpool) {
  ASSERT_TRUE(Available(KernelPath::kOnednn));
  const Model model = TinyNet();
  auto one = CreateFor(model, {}, 1);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto two = CreateFor(model, {}, 2);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  const std::vector<NodeReport> reports = (*two)->NodeReports();
  ASSERT_TRUE(std::any_of(reports.begin(), reports.end(),
                          [](const NodeReport& r) { return r.kernel == "onednn"; }));
  EXPECT_TRUE(HasThreadsLine(**two));
  const auto& log = (*two)->pass_log();
  const auto line = std::find_if(log.begin(), log.end(),
                                 [](const std::string& l) { return l.rfind("threads: ", 0) == 0; });
  ASSERT_NE(line, log.end());
  EXPECT_EQ(line->rfind("threads: 2 ", 0), 0u) << *line;
  // It names the layer floor: kMinMacsToShareSpinning (0.25 M) or kMinMacsForThreads (20 M).
  EXPECT_TRUE(line->find("layers of at least 0.25 M MACs") != std::string::npos ||
              line->find("layers of at least 20 M MACs") != std::string::npos)
      << *line;
  EXPECT_FALSE(HasThreadsLine(**one));
  for (uint32_t seed : {5u, 6u}) {
    ExpectClose(RunAll(**two, seed)[0], RunAll(**one, seed)[0]);
  }
  // Without oneDNN the pool stays (no line); outputs still agree.
  if (Available(KernelPath::kXnnpack)) {
    auto xnn = CreateFor(model, {KernelPath::kXnnpack, KernelPath::kReference}, 2);
    ASSERT_TRUE(xnn.ok()) << xnn.status().ToString();
    EXPECT_FALSE(HasThreadsLine(**xnn));
    ExpectClose(RunAll(**xnn, 5)[0], RunAll(**one, 5)[0]);
  }
}

TEST(SessionWeights, CreateFromRvalueMatchesCreateFromConstRef) {
  const Model model = TinyNet();
  SessionOptions options;
  auto from_copy = Session::Create(model, options);
  ASSERT_TRUE(from_copy.ok()) << from_copy.status().ToString();
  Model moved = TinyNet();
  auto from_move = Session::Create(std::move(moved), options);
  ASSERT_TRUE(from_move.ok()) << from_move.status().ToString();
  EXPECT_TRUE(moved.graph.nodes.empty());   // NOLINT(bugprone-use-after-move): documented
  EXPECT_TRUE(moved.graph.values.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ((*from_move)->pass_log(), (*from_copy)->pass_log());
  EXPECT_EQ((*from_move)->optimized_graph().nodes.size(),
            (*from_copy)->optimized_graph().nodes.size());
  for (uint32_t seed : {8u, 9u}) {
    ExpectClose(RunAll(**from_move, seed)[0], RunAll(**from_copy, seed)[0]);
  }
  // The const& model is intact and makes a second, equal session.
  auto again = Session::Create(model, options);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ExpectClose(RunAll(**again, 8)[0], RunAll(**from_copy, 8)[0]);
  auto ref = CreateFor(model, {KernelPath::kReference});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  ExpectClose(RunAll(**from_copy, 8)[0], RunAll(**ref, 8)[0]);
}

// x[1,512] -> Gemm(B[600,512], transB) -> y[1,600]: B (1.2 MB) is large enough, and laid out
// along N as oneDNN packs it, so a oneDNN session packs it piecewise, giving its pages back as it
// goes, when the session's graph alone holds it.
Model LargeMatMulNet() {
  Model m;
  Graph& g = m.graph;
  const int x = StartModel(m, "large_matmul_net", {1, 512});
  const int b = g.AddConstant("B", RandomF32({600, 512}, 90));
  const int y = g.AddValue("y");
  g.AddNode("fc", "Gemm", {x, b}, {y}).attrs["transB"] = Attribute::Int(1);
  g.MarkOutput(y);
  return m;
}

TEST(SessionWeights, LargeWeightsConsumedOnlyWhenTheSessionAloneHoldsThem) {
  if (!Available(KernelPath::kOnednn)) GTEST_SKIP() << "oneDNN is not built in";
  const Model kept = LargeMatMulNet();
  auto ref = CreateFor(kept, {KernelPath::kReference});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  const auto want = RunAll(**ref, 4);
  // From a model the caller keeps: its weights must come through unchanged, for another session.
  auto first = CreateFor(kept, {KernelPath::kOnednn});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const Tensor expected_b = RandomF32({600, 512}, 90);
  const Tensor& b = *kept.graph.values[kept.graph.FindValue("B")].constant;
  ASSERT_NE(b.raw(), nullptr);
  EXPECT_EQ(std::memcmp(b.raw(), expected_b.raw(), b.bytes()), 0);
  auto second = CreateFor(kept, {KernelPath::kOnednn});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  // From a moved model, the session packs B piecewise and frees it: same outputs.
  SessionOptions options;
  options.kernel_paths = {KernelPath::kOnednn};
  auto moved = Session::Create(LargeMatMulNet(), options);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  for (auto* s : {&first, &second, &moved}) ExpectClose(RunAll(***s, 4)[0], want[0]);
}

TEST(SessionWeights, SmallPagesGiveTheSameOutputs) {
  for (const Model& model : {TinyNet(), LargeMatMulNet()}) {
    SCOPED_TRACE(model.path);
    SessionOptions small;
    small.huge_pages = false;
    auto a = Session::Create(model, small);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto b = Session::Create(model, SessionOptions{});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(RunAll(**a, 5)[0], RunAll(**b, 5)[0]);
  }
}

// x[1,C,H,W] (about 1e-20) -> 1x1 Conv (weights 1e-22, no bias) -> y: every output is a sum of
// C products near 1e-42, subnormal unless the session flushes them to zero.
Model SubnormalNet(int64_t c, int64_t hw) {
  Model m;
  Graph& g = m.graph;
  const int x = StartModel(m, "subnormal_net", {1, c, hw, hw});
  const int w = g.AddConstant(
      "w", Tensor::FromVector(DType::kF32, {c, c, 1, 1},
                              std::vector<float>(static_cast<size_t>(c * c), 1e-22f)));
  const int y = g.AddValue("y");
  g.AddNode("conv", "Conv", {x, w}, {y});
  g.MarkOutput(y);
  return m;
}

// Counts the outputs that are subnormal (non-zero and below FLT_MIN in magnitude).
int64_t CountSubnormals(const TensorView& t) {
  int64_t n = 0;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const float v = t.data<float>()[i];
    if (v != 0.0f && std::fabs(v) < 1.17549435e-38f) ++n;
  }
  return n;
}

TEST(SessionPathsTest, FlushDenormalsZeroesSubnormalResultsOnEveryPathAndThread) {
  if (!FlushDenormalsSupported()) GTEST_SKIP() << "no flush-to-zero control on this CPU";
  struct Config {
    std::vector<KernelPath> paths;
    int threads;
  };
  // 32 channels at 128x128: 16.8 M MACs, so a 2-thread oneDNN session shares the layer.
  const Config configs[] = {{{KernelPath::kReference}, 1},
                            {{KernelPath::kReference}, 2},
                            {{KernelPath::kOnednn, KernelPath::kReference}, 1},
                            {{KernelPath::kOnednn, KernelPath::kReference}, 2}};
  for (const Config& c : configs) {
    for (bool flush : {false, true}) {
      SCOPED_TRACE("path " + std::to_string(static_cast<int>(c.paths[0])) + " threads " +
                   std::to_string(c.threads) + (flush ? " flush" : " IEEE"));
      SessionOptions options;
      options.kernel_paths = c.paths;
      options.num_threads = c.threads;
      options.flush_denormals = flush;
      auto session = Session::Create(SubnormalNet(32, 128), options);
      ASSERT_TRUE(session.ok()) << session.status().message();
      Session& s = **session;
      const TensorView x = s.input(0);
      for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = 1e-20f * (1 + i % 7);
      ASSERT_TRUE(s.Run().ok());
      const TensorView y = s.output(0);
      if (flush) {
        EXPECT_EQ(CountSubnormals(y), 0);
        for (int64_t i = 0; i < y.num_elements(); ++i) ASSERT_EQ(y.data<float>()[i], 0.0f) << i;
      } else {
        EXPECT_EQ(CountSubnormals(y), y.num_elements());
      }
      EXPECT_FALSE(FlushingDenormals());  // the caller's mode is back after Run
    }
  }
}

}  // namespace
}  // namespace edgerun
