// Session engine options (include/edgerun/session.h): kernel_paths (reference only, preference
// order, unknown paths), the layout pass only when a fast path is in use, optimize=false, thread
// counts and pin_threads. Every configuration must give the reference session's outputs.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "edgerun/session.h"
#include "kernels/backend.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::MakeSmallCnn;
using testing::RandomF32;

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
    if (i == 3) for (float& f : v) f = 0.5f + 0.25f * f;  // variance > 0
    bn_inputs.push_back(g.AddConstant("bn_" + std::to_string(i),
                                      Tensor::FromVector(DType::kF32, {8}, v)));
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

Expected<std::unique_ptr<Session>> Create(const std::vector<KernelPath>& paths,
                                          int threads = 1, bool pin = false,
                                          bool optimize = true, const Model& model = TinyNet()) {
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
      EXPECT_NE(s.status().message().find("no kernel"), std::string::npos)
          << s.status().message();
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
      {}, {KernelPath::kXnnpack, KernelPath::kReference},
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

}  // namespace
}  // namespace edgerun
