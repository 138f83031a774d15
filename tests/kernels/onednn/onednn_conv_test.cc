// oneDNN NHWC Conv and ConvTranspose (kernels/onednn/onednn_conv.cc) against the reference NHWC
// kernels: odd sizes, groups, depthwise with multiplier, strides, dilations, asymmetric and
// automatic pads, bias, every fused activation, the residual input (copied and in place), batch
// > 1, and 1 and 2 OpenMP threads.
#include <gtest/gtest.h>

#include <omp.h>

#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/onednn/onednn_kernels.h"
#include "nhwc_conv_case.h"
#include "onednn_test_util.h"
#include "util/random_tensor.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun {
namespace {

using nhwc_conv_test::ConvCase;
using nhwc_conv_test::ConvInputs;
using nhwc_conv_test::ConvNode;
using nhwc_conv_test::ConvOutputDims;
using nhwc_conv_test::MakeConvInputs;
using onednn_test::ExpectMatchesReference;
using onednn_test::OnednnTestNode;
using onednn_test::SetInts;
using testing::RandomTensor;

void CheckConv(const ConvCase& c, uint32_t seed) {
  const Node n = ConvNode(c);
  ConvInputs in = MakeConvInputs(c, seed);
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    ExpectMatchesReference(n, in.list, 1e-4, 1e-4, threads);
  }
}

TEST(OnednnConvTest, Geometry) {
  const ConvCase cases[] = {
      {{1, 7, 9, 3}, 5, {3, 3}},
      {{2, 11, 6, 4}, 8, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}},
      {{1, 13, 10, 5}, 7, {3, 5}, 1, {2, 1}, {1, 2}, {0, 2, 1, 1}},
      {{1, 9, 9, 6}, 6, {3, 3}, 3, {1, 2}, {2, 1}, {1, 0, 2, 1}},
      {{1, 5, 5, 17}, 33, {1, 1}},
      {{1, 6, 8, 16}, 24, {1, 1}, 1, {2, 2}},
      {{1, 15, 14, 8}, 8, {3, 3}, 8, {1, 1}, {}, {1, 1, 1, 1}},         // depthwise
      {{1, 15, 14, 8}, 16, {3, 3}, 8, {2, 2}, {}, {1, 1, 1, 1}},        // depthwise, multiplier 2
      {{1, 12, 11, 12}, 12, {5, 5}, 12, {2, 2}, {2, 2}, {4, 4, 3, 5}},  // dilated depthwise
      {{1, 7, 10, 4}, 6, {3, 3}, 2, {2, 3}, {}, {}, "SAME_UPPER"},
      {{1, 8, 9, 4}, 6, {4, 2}, 1, {3, 2}, {}, {}, "SAME_LOWER"},
      {{1, 8, 9, 4}, 6, {3, 3}, 1, {2, 2}, {}, {5, 5, 5, 5}, "VALID"},
      {{1, 10, 10, 3}, 4, {3, 3}, 1, {2, 2}, {}, {0, 0, 0, 0}, "", false},  // no bias, uncovered
                                                                            // tail
      {{3, 4, 5, 2}, 3, {2, 2}, 1, {1, 1}, {}, {0, 0, 1, 1}},
  };
  uint32_t seed = 10;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE("case x " + DimsToString(c.x) + " m " + std::to_string(c.m) + " group " +
                 std::to_string(c.group));
    CheckConv(c, seed += 7);
  }
}

TEST(OnednnConvTest, EveryActivationWithAndWithoutResidual) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"Relu", {}},
      {"Clip", {0.0f, 6.0f}},
      {"Clip", {-0.5f, 0.25f}},
      {"LeakyRelu", {0.1f}},
      {"HardSigmoid", {0.3f, 0.4f}},
      {"HardSwish", {}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"SiLU", {}},
      {"Clip", {}},  // defaults: the float range
  };
  uint32_t seed = 100;
  for (bool residual : {false, true}) {
    for (const auto& [name, params] : acts) {
      SCOPED_TRACE(name + (residual ? " with residual" : ""));
      ConvCase c{{1, 9, 7, 6}, 10, {3, 3}, 2, {1, 1}, {}, {1, 1, 1, 1}};
      c.residual = residual;
      c.activation = name;
      c.activation_params = params;
      CheckConv(c, seed += 3);
      // Depthwise takes a different oneDNN implementation.
      ConvCase dw{{1, 8, 11, 16}, 16, {3, 3}, 16, {2, 2}, {}, {1, 1, 1, 1}};
      dw.residual = residual;
      dw.activation = name;
      dw.activation_params = params;
      CheckConv(dw, seed += 3);
    }
  }
}

// A fused scalar affine (PP-LCNet's learnable affine blocks) runs after the activation and the
// residual, as an eltwise_linear post-op.
TEST(OnednnConvTest, FusedAffineAfterActivation) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"", {}}, {"Relu", {}}, {"HardSwish", {}}, {"Clip", {0.0f, 6.0f}}};
  uint32_t seed = 600;
  for (bool residual : {false, true}) {
    for (const auto& [name, params] : acts) {
      SCOPED_TRACE(name + (residual ? " with residual" : ""));
      ConvCase c{{1, 9, 7, 6}, 10, {1, 1}};
      c.residual = residual;
      c.activation = name;
      c.activation_params = params;
      c.affine = {1.75f, -0.5f};
      CheckConv(c, seed += 3);
      ConvCase dw{{1, 8, 11, 16}, 16, {3, 3}, 16, {1, 1}, {}, {1, 1, 1, 1}};
      dw.residual = residual;
      dw.activation = name;
      dw.activation_params = params;
      dw.affine = {-0.5f, 0.25f};
      CheckConv(dw, seed += 3);
    }
  }
}

TEST(OnednnConvTest, ResidualWithoutBias) {
  ConvCase c{{2, 6, 5, 8}, 8, {1, 1}};
  c.bias = false;
  c.residual = true;
  c.activation = "Relu";
  CheckConv(c, 7);
}

// Clip with min > max is constant max in ONNX; oneDNN's clip would give min, so the node must
// be left to another path.
TEST(OnednnConvTest, DeclinesClipWithMinAboveMax) {
  ConvCase c{{1, 5, 5, 3}, 4, {3, 3}};
  c.activation = "Clip";
  c.activation_params = {1.0f, -1.0f};
  ConvInputs in = MakeConvInputs(c, 3);
  Expected<std::vector<Tensor>> r = EvaluateNode(ConvNode(c), in.list, KernelPath::kOnednn);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().message();
}

TEST(OnednnConvTest, DeclinesNonConstantWeightsAndOtherRanks) {
  ConvCase c{{1, 5, 5, 3}, 4, {3, 3}};
  const Node n = ConvNode(c);
  std::vector<TensorType> in = {
      {DType::kF32, {1, 5, 5, 3}}, {DType::kF32, {4, 3, 3, 3}}, {DType::kF32, {4}}};
  std::vector<TensorType> out = {{DType::kF32, {1, 3, 3, 4}}};
  std::vector<const Tensor*> no_constants(3, nullptr);
  const KernelPath order[] = {KernelPath::kOnednn};
  EXPECT_EQ(SelectKernel(SupportContext{n, in, no_constants, out}, order), nullptr);
}

// The runtime may give the output the residual's buffer; the sum post-op then reads Z in place.
TEST(OnednnConvTest, ResidualInPlace) {
  ConvCase c{{1, 10, 9, 8}, 8, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}};
  c.residual = true;
  c.activation = "Relu";
  const Node n = ConvNode(c);
  ConvInputs in = MakeConvInputs(c, 21);
  Expected<std::vector<Tensor>> ref = EvaluateNode(n, in.list, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();

  std::vector<TensorType> in_types;
  for (const Tensor* t : in.list) in_types.push_back({t->dtype(), t->dims()});
  std::vector<TensorType> out_types = {{DType::kF32, ConvOutputDims(c)}};
  const KernelPath order[] = {KernelPath::kOnednn};
  const KernelDef* k = SelectKernel(SupportContext{n, in_types, in.list, out_types}, order);
  ASSERT_NE(k, nullptr);
  EXPECT_TRUE(k->may_run_in_place);
  EXPECT_EQ(k->in_place_input, 3);
  PrepareContext pctx{n, in_types, in.list, out_types};
  ASSERT_TRUE(k->prepare(pctx).ok());
  Tensor shared = RandomTensor(DType::kF32, ConvOutputDims(c), 0);
  std::memcpy(shared.mutable_data<float>(), in.z.data<float>(), shared.view().bytes());
  std::vector<TensorView> ins = {in.x.view(), in.w.view(), in.b.view(), shared.view()};
  std::vector<TensorView> outs = {shared.view()};
  onednn_test::AlignedScratch scratch_storage(pctx.scratch_bytes);
  void* scratch = scratch_storage.get();
  SetupContext sctx{n, pctx.state.get(), ins, outs, scratch, pctx.scratch_bytes};
  ASSERT_TRUE(k->setup(sctx).ok());
  InvokeContext ictx{n, pctx.state.get(), ins, outs, scratch, pctx.scratch_bytes};
  ASSERT_TRUE(k->invoke(ictx).ok());
  const test_util::CompareResult r =
      test_util::AllClose(shared.view(), (*ref)[0].view(), 1e-4, 1e-4);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(OnednnConvTest, RepeatedInvokeGivesTheSameResult) {
  ConvCase c{{1, 9, 9, 5}, 7, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}};
  c.residual = true;  // the copied residual must not accumulate across runs
  const Node n = ConvNode(c);
  ConvInputs in = MakeConvInputs(c, 5);
  std::vector<TensorType> in_types;
  for (const Tensor* t : in.list) in_types.push_back({t->dtype(), t->dims()});
  std::vector<TensorType> out_types = {{DType::kF32, ConvOutputDims(c)}};
  const KernelPath order[] = {KernelPath::kOnednn};
  const KernelDef* k = SelectKernel(SupportContext{n, in_types, in.list, out_types}, order);
  ASSERT_NE(k, nullptr);
  PrepareContext pctx{n, in_types, in.list, out_types};
  ASSERT_TRUE(k->prepare(pctx).ok());
  EXPECT_GT(pctx.state->persistent_bytes(), 0u);
  Tensor y = RandomTensor(DType::kF32, ConvOutputDims(c), 0);
  std::vector<TensorView> ins = {in.x.view(), in.w.view(), in.b.view(), in.z.view()};
  std::vector<TensorView> outs = {y.view()};
  onednn_test::AlignedScratch scratch_storage(pctx.scratch_bytes);
  void* scratch = scratch_storage.get();
  SetupContext sctx{n, pctx.state.get(), ins, outs, scratch, pctx.scratch_bytes};
  ASSERT_TRUE(k->setup(sctx).ok());
  InvokeContext ictx{n, pctx.state.get(), ins, outs, scratch, pctx.scratch_bytes};
  ASSERT_TRUE(k->invoke(ictx).ok());
  std::vector<float> first(y.data<float>(), y.data<float>() + y.view().num_elements());
  ASSERT_TRUE(k->invoke(ictx).ok());
  for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(first[i], y.data<float>()[i]) << i;
}

// ---- Winograd ----

struct PreparedRun {
  Tensor y;
  std::string implementation;
};

// Prepares `c` on the oneDNN path as the session would with SessionOptions::winograd, and runs
// it once; with `in_place` the output shares the residual's buffer.
PreparedRun RunWithWinograd(const ConvCase& c, const ConvInputs& in, bool winograd, int threads,
                            bool in_place = false,
                            std::optional<bool> silu_after_conv = std::nullopt) {
  PreparedRun run;
  const Node n = ConvNode(c);
  std::vector<TensorType> in_types;
  for (const Tensor* t : in.list) {
    in_types.push_back(t != nullptr ? TensorType{t->dtype(), t->dims()} : TensorType{});
  }
  std::vector<TensorType> out_types = {{DType::kF32, ConvOutputDims(c)}};
  const KernelPath order[] = {KernelPath::kOnednn};
  const KernelDef* k =
      SelectKernel(SupportContext{n, in_types, in.list, out_types, threads}, order);
  EXPECT_NE(k, nullptr);
  if (k == nullptr) return run;
  omp_set_num_threads(threads);
  PrepareContext pctx{n, in_types, in.list, out_types, threads};
  pctx.winograd = winograd;
  pctx.silu_after_conv = silu_after_conv;
  pctx.share_every_layer = true;  // every layer of 0.25 M MACs or more on `threads`
  const Status prepared = k->prepare(pctx);
  EXPECT_TRUE(prepared.ok()) << prepared.message();
  if (!prepared.ok()) return run;
  run.implementation = std::string(pctx.state->implementation());
  run.y = RandomTensor(DType::kF32, ConvOutputDims(c), 0);
  std::vector<TensorView> ins;
  for (const Tensor* t : in.list) ins.push_back(t != nullptr ? t->view() : TensorView{});
  if (in_place) {
    std::memcpy(run.y.mutable_data<float>(), in.z.data<float>(), run.y.view().bytes());
    ins[3] = run.y.view();
  }
  std::vector<TensorView> outs = {run.y.view()};
  onednn_test::AlignedScratch scratch_storage(pctx.scratch_bytes);
  void* scratch = scratch_storage.get();
  SetupContext sctx{n, pctx.state.get(), ins, outs, scratch, pctx.scratch_bytes};
  EXPECT_TRUE(k->setup(sctx).ok());
  InvokeContext ictx{n, pctx.state.get(), ins, outs, scratch, pctx.scratch_bytes};
  // Twice: the residual reordered into the blocked output must not accumulate across runs.
  EXPECT_TRUE(k->invoke(ictx).ok());
  if (!in_place) {
    EXPECT_TRUE(k->invoke(ictx).ok());
  }
  omp_set_num_threads(1);
  return run;
}

// 3x3 stride-1 convs on maps of 14x14 and more (13x13 on Intel) take oneDNN's Winograd kernel
// when allowed and match the reference: channel counts the blocked layout pads, no bias, batch 2,
// pads other than 1, activations, the residual copied and in place, 1 and 2 threads.
TEST(OnednnConvTest, WinogradMatchesReference) {
  struct WinogradCase {
    ConvCase conv;
    bool in_place = false;
  };
  std::vector<WinogradCase> cases;
  cases.push_back({{{1, 16, 16, 16}, 16, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}}});
  cases.push_back({{{1, 18, 17, 20}, 40, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}, "", false}});
  cases.push_back({{{2, 15, 16, 24}, 17, {3, 3}, 1, {1, 1}, {}, {0, 0, 0, 0}}});
  cases.push_back({{{1, 16, 14, 32}, 32, {3, 3}, 1, {1, 1}, {}, {}, "SAME_UPPER"}});
  ConvCase relu{{1, 14, 14, 64}, 64, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}};
  relu.residual = true;
  relu.activation = "Relu";
  cases.push_back({relu});
  cases.push_back({relu, /*in_place=*/true});
  ConvCase clip{{1, 20, 20, 16}, 48, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}};
  clip.activation = "Clip";
  clip.activation_params = {0.0f, 6.0f};
  cases.push_back({clip});
  ConvCase affine = clip;
  affine.affine = {0.5f, -0.25f};
  cases.push_back({affine});
  uint32_t seed = 300;
  bool any_winograd = false;
  for (const WinogradCase& wc : cases) {
    const ConvCase& c = wc.conv;
    SCOPED_TRACE("x " + DimsToString(c.x) + " m " + std::to_string(c.m) +
                 (wc.in_place ? " in place" : ""));
    ConvInputs in = MakeConvInputs(c, seed += 5);
    Expected<std::vector<Tensor>> ref = EvaluateNode(ConvNode(c), in.list, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    for (int threads : {1, 2}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      PreparedRun wino = RunWithWinograd(c, in, true, threads, wc.in_place);
      any_winograd |= wino.implementation.starts_with("jit_fp32_wino_2x3");
      const test_util::CompareResult r =
          test_util::AllClose(wino.y.view(), (*ref)[0].view(), 1e-4, 1e-4);
      EXPECT_TRUE(r.ok) << wino.implementation << ": " << r.message;
      PreparedRun direct = RunWithWinograd(c, in, false, threads, wc.in_place);
      EXPECT_EQ(direct.implementation.find("wino"), std::string::npos) << direct.implementation;
    }
  }
  if (!any_winograd) GTEST_SKIP() << "oneDNN has no Winograd kernels on this CPU (AVX-512 only)";
}

// The map size from which a 3x3 conv runs as Winograd: 14x14, and 13x13 on Intel CPUs (measured
// faster there, kMinWinogradPixelsIntel); never below. The 13x13 result matches the reference.
TEST(OnednnConvTest, WinogradFromThirteenSquaredOnIntelOnly) {
  uint32_t seed = 700;
  bool has_winograd = false;
  for (int64_t size : {14, 13, 12}) {
    SCOPED_TRACE("map " + std::to_string(size) + "x" + std::to_string(size));
    ConvCase c{{1, size, size, 48}, 64, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}};
    c.activation = "Relu";
    ConvInputs in = MakeConvInputs(c, seed += 5);
    PreparedRun run = RunWithWinograd(c, in, true, 1);
    const bool winograd = run.implementation.starts_with("jit_fp32_wino_2x3");
    if (size == 14) has_winograd = winograd;  // AVX-512 only
    if (size == 13) {
      EXPECT_EQ(winograd, has_winograd && CpuIsIntel()) << run.implementation;
    }
    if (size == 12) {
      EXPECT_FALSE(winograd) << run.implementation;
    }
    Expected<std::vector<Tensor>> ref = EvaluateNode(ConvNode(c), in.list, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    const test_util::CompareResult r =
        test_util::AllClose(run.y.view(), (*ref)[0].view(), 1e-4, 1e-4);
    EXPECT_TRUE(r.ok) << run.implementation << ": " << r.message;
  }
  if (!has_winograd) GTEST_SKIP() << "oneDNN has no Winograd kernels on this CPU (AVX-512 only)";
}

// SiLU as oneDNN's post-op or as a pass over the output after the conv (the choice on Zen 4)
// gives the reference's result: 1x1, depthwise, Winograd, with a residual, element counts that
// are not a multiple of the vector width, 1 and 2 threads.
TEST(OnednnConvTest, SiLUAfterTheConvMatchesReference) {
  struct SiLUCase {
    ConvCase conv;
    bool winograd = false;
  };
  std::vector<SiLUCase> cases;
  cases.push_back({{{1, 16, 16, 8}, 24, {1, 1}}});
  cases.push_back({{{1, 7, 5, 3}, 5, {1, 1}}});                                    // 175 outputs
  cases.push_back({{{1, 17, 13, 16}, 16, {3, 3}, 16, {1, 1}, {}, {1, 1, 1, 1}}});  // depthwise
  cases.push_back({{{1, 16, 16, 16}, 16, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}}, true});
  ConvCase residual{{2, 9, 11, 12}, 12, {1, 1}};
  residual.residual = true;
  cases.push_back({residual});
  uint32_t seed = 700;
  for (SiLUCase& sc : cases) {
    ConvCase& c = sc.conv;
    c.activation = "SiLU";
    SCOPED_TRACE("x " + DimsToString(c.x) + " m " + std::to_string(c.m) +
                 (sc.winograd ? " winograd" : ""));
    ConvInputs in = MakeConvInputs(c, seed += 5);
    Expected<std::vector<Tensor>> ref = EvaluateNode(ConvNode(c), in.list, KernelPath::kReference);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    for (int threads : {1, 2}) {
      for (bool after : {false, true}) {
        SCOPED_TRACE("threads " + std::to_string(threads) + (after ? " pass after" : " post-op"));
        PreparedRun run = RunWithWinograd(c, in, sc.winograd, threads, false, after);
        const test_util::CompareResult r =
            test_util::AllClose(run.y.view(), (*ref)[0].view(), 1e-5, 1e-5);
        EXPECT_TRUE(r.ok) << run.implementation << ": " << r.message;
      }
    }
  }
}

// Not for strided, grouped, small-map or few-channel convs.
TEST(OnednnConvTest, WinogradOnlyWhereItPays) {
  const ConvCase declined[] = {
      {{1, 30, 30, 16}, 16, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}},      // strided
      {{1, 16, 16, 32}, 32, {3, 3}, 2, {1, 1}, {}, {1, 1, 1, 1}},      // grouped
      {{1, 12, 12, 64}, 64, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}},      // 12x12 map
      {{1, 32, 32, 3}, 32, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}},       // 3 input channels
      {{1, 16, 16, 16}, 16, {5, 5}, 1, {1, 1}, {}, {2, 2, 2, 2}},      // 5x5
      {{1, 16, 16, 16}, 16, {3, 3}, 1, {1, 1}, {2, 2}, {2, 2, 2, 2}},  // dilated
  };
  uint32_t seed = 400;
  for (const ConvCase& c : declined) {
    SCOPED_TRACE("x " + DimsToString(c.x) + " m " + std::to_string(c.m));
    ConvInputs in = MakeConvInputs(c, seed += 3);
    PreparedRun run = RunWithWinograd(c, in, true, 1);
    EXPECT_EQ(run.implementation.find("wino"), std::string::npos) << run.implementation;
  }
}

// Maps larger than 28x28 shared by 2 threads also take Winograd (before, only 1 thread did).
TEST(OnednnConvTest, WinogradOnLargeMapsAtTwoThreads) {
  const ConvCase big{{1, 30, 30, 32}, 32, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}};
  ConvInputs in = MakeConvInputs(big, 9);
  Expected<std::vector<Tensor>> ref = EvaluateNode(ConvNode(big), in.list, KernelPath::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  if (!RunWithWinograd(big, in, true, 1).implementation.starts_with("jit_fp32_wino_2x3")) {
    GTEST_SKIP() << "oneDNN has no Winograd kernels on this CPU (AVX-512 only)";
  }
  PreparedRun wino = RunWithWinograd(big, in, true, 2);
  EXPECT_TRUE(wino.implementation.starts_with("jit_fp32_wino_2x3")) << wino.implementation;
  const test_util::CompareResult r =
      test_util::AllClose(wino.y.view(), (*ref)[0].view(), 1e-4, 1e-4);
  EXPECT_TRUE(r.ok) << r.message;
}

// ---- ConvTranspose ----

struct DeconvCase {
  std::vector<int64_t> x;  // N, H, W, C
  int64_t m;               // output channels
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads, output_padding, output_shape;
  std::string auto_pad;
  bool bias = true;
  std::string activation;
};

TEST(OnednnConvTransposeTest, MatchesReference) {
  const DeconvCase cases[] = {
      {{1, 5, 6, 3}, 4, {3, 3}},
      {{1, 5, 6, 4}, 6, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}},
      {{2, 4, 7, 6}, 9, {4, 4}, 3, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, "", true, "Relu"},
      {{1, 6, 5, 4}, 4, {3, 2}, 1, {2, 3}, {2, 1}, {0, 1, 1, 0}},
      {{1, 6, 5, 4}, 5, {3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}, {1, 1}},
      {{1, 5, 5, 8}, 8, {3, 3}, 8, {2, 2}, {}, {}, {}, {10, 10}, "SAME_UPPER", false},
      {{1, 4, 6, 2}, 3, {2, 2}, 1, {2, 2}, {}, {}, {}, {}, "", true, "Sigmoid"},
      {{1, 5, 4, 3}, 4, {3, 3}, 1, {2, 2}, {}, {0, 0, 0, 0}, {1, 1}},  // trailing pad -1
  };
  uint32_t seed = 300;
  for (const DeconvCase& c : cases) {
    SCOPED_TRACE("deconv x " + DimsToString(c.x) + " m " + std::to_string(c.m));
    Node n = OnednnTestNode("ConvTranspose", kNhwcDomain, c.bias ? 3 : 2);
    n.attrs["group"] = Attribute::Int(c.group);
    if (!c.strides.empty()) SetInts(n, "strides", c.strides);
    if (!c.dilations.empty()) SetInts(n, "dilations", c.dilations);
    if (!c.pads.empty()) SetInts(n, "pads", c.pads);
    if (!c.output_padding.empty()) SetInts(n, "output_padding", c.output_padding);
    if (!c.output_shape.empty()) SetInts(n, "output_shape", c.output_shape);
    if (!c.auto_pad.empty()) n.attrs["auto_pad"] = Attribute::String(c.auto_pad);
    if (!c.activation.empty()) n.attrs["activation"] = Attribute::String(c.activation);
    Tensor x = RandomTensor(DType::kF32, c.x, seed += 5, -2.0, 2.0);
    Tensor w =
        RandomTensor(DType::kF32, {c.x[3], c.m / c.group, c.kernel[0], c.kernel[1]}, seed + 1);
    Tensor b = RandomTensor(DType::kF32, {c.m}, seed + 2);
    std::vector<const Tensor*> inputs = {&x, &w};
    if (c.bias) inputs.push_back(&b);
    for (int threads : {1, 2}) ExpectMatchesReference(n, inputs, 1e-4, 1e-4, threads);
  }
}

}  // namespace
}  // namespace edgerun
