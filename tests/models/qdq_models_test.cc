// Int8 execution of QDQ models: edgerun's folded int8 graph against ONNX Runtime's QDQ run.
//
// Fixtures come from scripts/fetch_fixtures.sh (models made by scripts/make_qdq_model.py):
// ${EDGERUN_CACHE:-$HOME/.cache/edgerun}/models/<name>/{model.onnx,input.npy,ort.npy}. A missing
// fixture is a failure, not a skip. Each model runs on the default (fast) paths and on the
// reference path; both must fold every Conv into QLinearConv and pick ONNX Runtime's top-1
// class; the two paths must agree bit for bit and stay within kMaxStepsVsOrt output
// quantization steps of ONNX Runtime.
//
// Bounds. The output is DequantizeLinear of an int8 tensor, so outputs differ by whole steps of
// its scale. Fast path vs reference path: bit-identical (0 steps). The oneDNN int8 conv uses the
// reference's arithmetic exactly (float multiplier, round half to even, then the zero point; see
// onednn::MakeInt8Attr), and a difference of one step anywhere in these random-weight networks
// grows to several steps at the output (measured: 6 on mobilenet_v2_qdq before that fix), so
// any tolerance would hide exactly the bugs this test is for. The fast path also fuses residual
// adds (QLinearConvAdd), whose add rounds as oneDNN computes it (an FMA of scale ratios) rather
// than as QLinearAdd does; the two can differ only where a sum lies within a few float ulps of a
// rounding tie, and on both fixtures they agree bit for bit (2026-12-03), so the bound stays 0.
// Against ONNX Runtime: at most
// kMaxStepsVsOrt steps. ORT requantizes convs the same way (mobilenet_v2_qdq: 0 steps);
// resnet18_qdq measured 2 steps on 2026-12-03 (not traced; ORT's own QLinearAdd and float Gemm
// classifier are the candidates), plus one step of margin.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "edgerun/session.h"
#include "io/npy.h"
#include "util/compare.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

constexpr double kMaxStepsVsOrt = 3;

fs::path CacheDir() {
  if (const char* c = std::getenv("EDGERUN_CACHE"); c != nullptr && *c != '\0') return c;
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : ".") / ".cache" / "edgerun";
}

int64_t ArgMax(const std::vector<double>& v) {
  return std::max_element(v.begin(), v.end()) - v.begin();
}

// The scale of the DequantizeLinear writing the graph output: one output step.
double OutputStep(const Graph& g) {
  const int out = g.outputs[0];
  for (const Node& n : g.nodes) {
    if (n.op_type != "DequantizeLinear" || n.outputs.empty() || n.outputs[0] != out) continue;
    const Value& scale = g.values[n.inputs[1]];
    if (!scale.is_constant() || scale.constant->num_elements() != 1) return 0;
    return scale.constant->ScalarAsDouble(0);
  }
  return 0;
}

struct RunResult {
  std::vector<double> output;
  int qlinear_convs = 0, float_convs = 0;  // float_convs counts Gemm too
};

void RunModel(const Model& model, const Tensor& input, std::vector<KernelPath> paths,
              RunResult* result) {
  SessionOptions options;
  options.kernel_paths = std::move(paths);
  Expected<std::unique_ptr<Session>> session = Session::Create(model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  Session& s = **session;
  for (const Node& n : s.optimized_graph().nodes) {
    // QLinearConvAdd: a QLinearConv with its residual add fused in (fast path).
    result->qlinear_convs += n.op_type == "QLinearConv" || n.op_type == "QLinearConvAdd";
    result->float_convs += n.op_type == "Conv" || n.op_type == "Gemm";
  }
  ASSERT_TRUE(s.SetInput(0, input.view()).ok());
  Status run = s.Run();
  ASSERT_TRUE(run.ok()) << run.ToString();
  result->output = test_util::ToDoubles(s.output(0));
}

class QdqModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(QdqModelTest, Int8MatchesOnnxRuntimeAndReferencePath) {
  const std::string name = GetParam();
  const fs::path dir = CacheDir() / "models" / name;
  for (const char* f : {"model.onnx", "input.npy", "ort.npy"}) {
    ASSERT_TRUE(fs::is_regular_file(dir / f))
        << "fixture " << (dir / f).string() << " is missing; run scripts/fetch_fixtures.sh";
  }
  Expected<Tensor> input = ReadNpy((dir / "input.npy").string());
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  Expected<Tensor> ort = ReadNpy((dir / "ort.npy").string());
  ASSERT_TRUE(ort.ok()) << ort.status().ToString();
  Expected<Model> model = LoadModel((dir / "model.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  // The classifier Gemm folds into a 1x1 QLinearConv as well.
  int model_convs = 0;
  for (const Node& n : model->graph.nodes)
    model_convs += n.op_type == "Conv" || n.op_type == "Gemm";
  const double step = OutputStep(model->graph);
  ASSERT_GT(step, 0) << "the graph output is not written by a per-tensor DequantizeLinear";
  const std::vector<double> want = test_util::ToDoubles(ort->view());

  RunResult fast, ref;
  RunModel(*model, *input, {}, &fast);
  if (HasFatalFailure()) return;
  RunModel(*model, *input, {KernelPath::kReference}, &ref);
  if (HasFatalFailure()) return;

  // The session must really run int8: every Conv and Gemm of the QDQ model became a QLinearConv
  // (or QLinearConvAdd).
  EXPECT_EQ(fast.qlinear_convs, model_convs);
  EXPECT_EQ(fast.float_convs, 0);
  EXPECT_EQ(ref.qlinear_convs, model_convs);

  ASSERT_EQ(fast.output.size(), want.size());
  ASSERT_EQ(ref.output.size(), want.size());
  const double fast_vs_ort = test_util::MaxAbsError(fast.output, want) / step;
  const double ref_vs_ort = test_util::MaxAbsError(ref.output, want) / step;
  const double fast_vs_ref = test_util::MaxAbsError(fast.output, ref.output) / step;
  std::printf(
      "[ qdq      ] %-18s steps: fast-ort %.2f  ref-ort %.2f  fast-ref %.2f (limit vs ORT %.0f, "
      "step %.4g)  top-1 ort %lld fast %lld ref %lld\n",
      name.c_str(), fast_vs_ort, ref_vs_ort, fast_vs_ref, kMaxStepsVsOrt, step,
      static_cast<long long>(ArgMax(want)), static_cast<long long>(ArgMax(fast.output)),
      static_cast<long long>(ArgMax(ref.output)));
  EXPECT_EQ(ArgMax(fast.output), ArgMax(want));
  EXPECT_EQ(ArgMax(ref.output), ArgMax(want));
  EXPECT_LE(fast_vs_ort, kMaxStepsVsOrt);
  EXPECT_LE(ref_vs_ort, kMaxStepsVsOrt);
  EXPECT_EQ(fast.output, ref.output)
      << "fast path differs from the reference path by up to " << fast_vs_ref << " output steps";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QdqModelTest,
                         ::testing::Values("resnet18_qdq", "mobilenet_v2_qdq"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace
}  // namespace edgerun
