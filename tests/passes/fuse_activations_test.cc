#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "passes/graph_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::F32;

Tensor Scalar(float v) { return Tensor::FromVector(DType::kF32, {}, std::vector<float>{v}); }

void ExpectSameResults(const Graph& before, const Graph& after) {
  std::vector<Tensor> inputs;
  uint32_t seed = 200;
  for (int v : before.inputs) {
    inputs.push_back(testing::RandomF32(StaticDims(*before.values[v].shape), seed++));
  }
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    test_util::CompareResult r =
        test_util::AllClose((*got)[i].view(), (*want)[i].view(), 1e-5, 1e-6);
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message;
  }
}

// x[1,2,5,5] -> Conv(W[3,2,3,3], B) -> c -> <activation> -> y
Graph ConvThen(const std::function<void(Graph&, int c, int y)>& add_activation) {
  Graph g;
  const int x = F32(g, "x", {1, 2, 5, 5});
  // Weights scaled up so the conv output spans well beyond [-6, 6] and every branch of the
  // activations is exercised.
  std::vector<float> w = testing::RandomF32({3, 2, 3, 3}, 7).ToFloatVector();
  for (float& v : w) v *= 4;
  const int wv = g.AddConstant("w", Tensor::FromVector(DType::kF32, {3, 2, 3, 3}, w));
  const int b = g.AddConstant("b", testing::RandomF32({3}, 8));
  const int c = F32(g, "c", {1, 3, 5, 5});
  const int y = F32(g, "y", {1, 3, 5, 5});
  g.AddNode("conv", "Conv", {x, wv, b}, {c}).attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  add_activation(g, c, y);
  g.MarkInput(x);
  g.MarkOutput(y);
  return g;
}

struct Expectation {
  std::string activation;
  std::vector<float> params;
};

void ExpectFused(Graph g, const Expectation& want, const std::string& act_name) {
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(FuseActivations(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& conv = g.nodes[0];
  ASSERT_TRUE(conv.has_attr("activation"));
  EXPECT_EQ(conv.attr("activation")->s, want.activation);
  ASSERT_TRUE(conv.has_attr("activation_params"));
  EXPECT_EQ(conv.attr("activation_params")->floats, want.params);
  EXPECT_EQ(g.values[conv.outputs[0]].name, "y");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].rfind("fused ", 0), 0u) << log[0];
  EXPECT_NE(log[0].find("'" + act_name + "' into Conv 'conv'"), std::string::npos) << log[0];
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
}

TEST(FuseActivationsTest, Relu) {
  ExpectFused(ConvThen([](Graph& g, int c, int y) { g.AddNode("act", "Relu", {c}, {y}); }),
              {"Relu", {}}, "act");
}

TEST(FuseActivationsTest, ClipWithConstantInputsIsRelu6) {
  ExpectFused(ConvThen([](Graph& g, int c, int y) {
                const int lo = g.AddConstant("lo", Scalar(0));
                const int hi = g.AddConstant("hi", Scalar(6));
                g.AddNode("relu6", "Clip", {c, lo, hi}, {y}).opset = 13;
              }),
              {"Clip", {0, 6}}, "relu6");
}

TEST(FuseActivationsTest, ClipWithOnlyMaxInput) {
  ExpectFused(ConvThen([](Graph& g, int c, int y) {
                const int hi = g.AddConstant("hi", Scalar(1.5f));
                g.AddNode("clip", "Clip", {c, Node::kNoValue, hi}, {y}).opset = 12;
              }),
              {"Clip", {std::numeric_limits<float>::lowest(), 1.5f}}, "clip");
}

TEST(FuseActivationsTest, ClipWithAttributesInOldOpset) {
  ExpectFused(ConvThen([](Graph& g, int c, int y) {
                Node& clip = g.AddNode("clip", "Clip", {c}, {y});
                clip.opset = 6;
                clip.attrs["min"] = Attribute::Float(-1);
                clip.attrs["max"] = Attribute::Float(2);
              }),
              {"Clip", {-1, 2}}, "clip");
}

TEST(FuseActivationsTest, LeakyReluHardSigmoidAndOthers) {
  ExpectFused(ConvThen([](Graph& g, int c, int y) {
                g.AddNode("lr", "LeakyRelu", {c}, {y}).attrs["alpha"] = Attribute::Float(0.2f);
              }),
              {"LeakyRelu", {0.2f}}, "lr");
  ExpectFused(ConvThen([](Graph& g, int c, int y) { g.AddNode("lr", "LeakyRelu", {c}, {y}); }),
              {"LeakyRelu", {0.01f}}, "lr");
  ExpectFused(ConvThen([](Graph& g, int c, int y) {
                Node& n = g.AddNode("hs", "HardSigmoid", {c}, {y});
                n.attrs["alpha"] = Attribute::Float(0.25f);
              }),
              {"HardSigmoid", {0.25f, 0.5f}}, "hs");
  for (const std::string op : {"HardSwish", "Sigmoid", "Tanh"}) {
    SCOPED_TRACE(op);
    ExpectFused(ConvThen([&](Graph& g, int c, int y) { g.AddNode("a", op, {c}, {y}); }), {op, {}},
                "a");
  }
  ExpectFused(ConvThen([](Graph& g, int c, int y) {
                g.AddNode("silu", "SiLU", {c}, {y}).domain = std::string(kEdgerunDomain);
              }),
              {"SiLU", {}}, "silu");
}

TEST(FuseActivationsTest, GemmAndConvTranspose) {
  {
    Graph g;
    const int a = F32(g, "a", {3, 4});
    const int b = g.AddConstant("b", testing::RandomF32({4, 5}, 1));
    const int c = g.AddConstant("c", testing::RandomF32({5}, 2));
    const int m = F32(g, "m", {3, 5});
    const int y = F32(g, "y", {3, 5});
    g.AddNode("fc", "Gemm", {a, b, c}, {m});
    g.AddNode("act", "Relu", {m}, {y});
    g.MarkInput(a);
    g.MarkOutput(y);
    const Graph before = g;
    ASSERT_TRUE(FuseActivations(g, nullptr).ok());
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].attr("activation")->s, "Relu");
    ExpectSameResults(before, g);
  }
  {
    Graph g;
    const int x = F32(g, "x", {1, 2, 3, 3});
    const int w = g.AddConstant("w", testing::RandomF32({2, 2, 2, 2}, 3));
    const int c = F32(g, "c", {1, 2, 4, 4});
    const int y = F32(g, "y", {1, 2, 4, 4});
    g.AddNode("deconv", "ConvTranspose", {x, w}, {c});
    g.AddNode("act", "Tanh", {c}, {y});
    g.MarkInput(x);
    g.MarkOutput(y);
    const Graph before = g;
    ASSERT_TRUE(FuseActivations(g, nullptr).ok());
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].attr("activation")->s, "Tanh");
    ExpectSameResults(before, g);
  }
}

TEST(FuseActivationsTest, NotFusedWhenConvOutputHasTwoConsumers) {
  Graph g = ConvThen([](Graph& g, int c, int y) {
    g.AddNode("act", "Relu", {c}, {y});
    const int n = F32(g, "n", {1, 3, 5, 5});
    g.AddNode("neg", "Neg", {c}, {n});
    g.MarkOutput(n);
  });
  std::vector<std::string> log;
  ASSERT_TRUE(FuseActivations(g, &log).ok());
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_FALSE(g.nodes[0].has_attr("activation"));
  EXPECT_TRUE(log.empty());
}

TEST(FuseActivationsTest, NotFusedWhenConvOutputIsGraphOutput) {
  Graph g = ConvThen([](Graph& g, int c, int y) {
    g.AddNode("act", "Relu", {c}, {y});
    g.MarkOutput(c);
  });
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_FALSE(g.nodes[0].has_attr("activation"));
}

TEST(FuseActivationsTest, NotFusedTwice) {
  // Conv -> Relu -> Sigmoid: only the first activation can go into the conv.
  Graph g = ConvThen([](Graph& g, int c, int y) {
    const int r = F32(g, "r", {1, 3, 5, 5});
    g.AddNode("relu", "Relu", {c}, {r});
    g.AddNode("sig", "Sigmoid", {r}, {y});
  });
  const Graph before = g;
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].attr("activation")->s, "Relu");
  EXPECT_EQ(g.nodes[1].op_type, "Sigmoid");
  ExpectSameResults(before, g);
}

// Conv -> first -> second, where both are clamps.
Graph ConvTwoClamps(const std::function<int(Graph&, int in, int out)>& first,
                    const std::function<int(Graph&, int in, int out)>& second) {
  return ConvThen([&](Graph& g, int c, int y) {
    const int r = F32(g, "r", {1, 3, 5, 5});
    first(g, c, r);
    second(g, r, y);
  });
}

int AddRelu(Graph& g, int in, int out) {
  g.AddNode("relu", "Relu", {in}, {out});
  return out;
}

std::function<int(Graph&, int, int)> AddClip(float lo, float hi, const std::string& name) {
  return [=](Graph& g, int in, int out) {
    const int l = g.AddConstant(name + "_lo", Scalar(lo));
    const int h = g.AddConstant(name + "_hi", Scalar(hi));
    g.AddNode(name, "Clip", {in, l, h}, {out});
    return out;
  };
}

TEST(FuseActivationsTest, ReluThenClipComposeIntoOneClamp) {
  {
    // PyTorch exports ReLU6 as Relu -> Clip(0, 6).
    Graph g = ConvTwoClamps(AddRelu, AddClip(0, 6, "clip"));
    const Graph before = g;
    std::vector<std::string> log;
    ASSERT_TRUE(FuseActivations(g, &log).ok());
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].attr("activation")->s, "Clip");
    EXPECT_EQ(g.nodes[0].attr("activation_params")->floats, (std::vector<float>{0, 6}));
    EXPECT_EQ(log, (std::vector<std::string>{"fused Relu 'relu' into Conv 'conv'",
                                             "fused Clip 'clip' into Conv 'conv'"}));
    ExpectSameResults(before, g);
  }
  {
    Graph g = ConvTwoClamps(AddClip(-1, 2, "clip"), AddRelu);
    const Graph before = g;
    ASSERT_TRUE(FuseActivations(g, nullptr).ok());
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].attr("activation_params")->floats, (std::vector<float>{0, 2}));
    ExpectSameResults(before, g);
  }
  {
    Graph g = ConvTwoClamps(AddClip(-3, 2, "c1"), AddClip(-1, 5, "c2"));
    const Graph before = g;
    ASSERT_TRUE(FuseActivations(g, nullptr).ok());
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].attr("activation_params")->floats, (std::vector<float>{-1, 2}));
    ExpectSameResults(before, g);
  }
  {
    // Disjoint intervals: the result is the constant 2, not a clamp to an empty interval.
    Graph g = ConvTwoClamps(AddClip(0, 1, "c1"), AddClip(2, 3, "c2"));
    const Graph before = g;
    ASSERT_TRUE(FuseActivations(g, nullptr).ok());
    ASSERT_EQ(g.nodes.size(), 2u);
    ExpectSameResults(before, g);
  }
}

TEST(FuseActivationsTest, NotFusedWhenClipBoundIsNotConstant) {
  Graph g = ConvThen([](Graph& g, int c, int y) {
    const int hi = F32(g, "hi", {});
    g.MarkInput(hi);
    g.AddNode("clip", "Clip", {c, Node::kNoValue, hi}, {y}).opset = 13;
  });
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 2u);
}

TEST(FuseActivationsTest, NotFusedIntoOtherProducers) {
  Graph g;
  const int x = F32(g, "x", {4});
  const int a = F32(g, "a", {4});
  const int y = F32(g, "y", {4});
  g.AddNode("neg", "Neg", {x}, {a});
  g.AddNode("relu", "Relu", {a}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 2u);
}

// ---- Scalar affine (Mul/Add/Sub by a scalar constant) ----

// Conv -> HardSwish -> Mul(s) -> Add(b), as PP-LCNet's learnable affine blocks: one node with
// activation HardSwish and activation_affine [s, b].
TEST(FuseActivationsTest, ScalarMulAndAddAfterActivationBecomeAffine) {
  Graph g = ConvThen([](Graph& g, int c, int y) {
    const int h = F32(g, "h", {1, 3, 5, 5});
    const int m = F32(g, "m", {1, 3, 5, 5});
    g.AddNode("hswish", "HardSwish", {c}, {h});
    g.AddNode("scale", "Mul", {g.AddConstant("s", Scalar(1.5f)), h}, {m});
    g.AddNode("shift", "Add", {m, g.AddConstant("b", Scalar(-0.25f))}, {y});
  });
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(FuseActivations(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& conv = g.nodes[0];
  EXPECT_EQ(conv.attr("activation")->s, "HardSwish");
  ASSERT_TRUE(conv.has_attr("activation_affine"));
  EXPECT_EQ(conv.attr("activation_affine")->floats, (std::vector<float>{1.5f, -0.25f}));
  EXPECT_EQ(g.values[conv.outputs[0]].name, "y");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1], "fused Mul 'scale' by a scalar into Conv 'conv'");
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g);
}

// Sub of a scalar composes too; an activation after the affine cannot follow it into the conv.
TEST(FuseActivationsTest, AffineBeforeAnActivationStopsActivationFusion) {
  Graph g = ConvThen([](Graph& g, int c, int y) {
    const int m = F32(g, "m", {1, 3, 5, 5});
    const int s = F32(g, "s", {1, 3, 5, 5});
    g.AddNode("scale", "Mul", {c, g.AddConstant("k", Scalar(2.0f))}, {m});
    g.AddNode("sub", "Sub", {m, g.AddConstant("d", Scalar(0.5f))}, {s});
    g.AddNode("relu", "Relu", {s}, {y});
  });
  const Graph before = g;
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].attr("activation")->s, "");
  EXPECT_EQ(g.nodes[0].attr("activation_affine")->floats, (std::vector<float>{2.0f, -0.5f}));
  EXPECT_EQ(g.nodes[1].op_type, "Relu");
  ExpectSameResults(before, g);
}

// The empty "activation" the affine leaves keeps folds that need a bare conv away: a BatchNorm
// after it is not folded into the weights (that would scale before the affine's shift).
TEST(FuseActivationsTest, AffineConvIsNotABareConvForLaterFolds) {
  Graph g = ConvThen([](Graph& g, int c, int y) {
    const int m = F32(g, "m", {1, 3, 5, 5});
    g.AddNode("shift", "Add", {c, g.AddConstant("b", Scalar(3.0f))}, {m});
    const int scale = g.AddConstant("bn_s", testing::RandomF32({3}, 40));
    const int bias = g.AddConstant("bn_b", testing::RandomF32({3}, 41));
    const int mean = g.AddConstant("bn_m", testing::RandomF32({3}, 42));
    const int var = g.AddConstant(
        "bn_v", Tensor::FromVector(DType::kF32, {3}, std::vector<float>{1.0f, 2.0f, 0.5f}));
    g.AddNode("bn", "BatchNormalization", {m, scale, bias, mean, var}, {y});
  });
  const Graph before = g;
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  ASSERT_TRUE(FoldBatchNormIntoConv(g, nullptr).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[1].op_type, "BatchNormalization");
  ExpectSameResults(before, g);
}

TEST(FuseActivationsTest, AffineNotFusedForOtherOperands) {
  struct Case {
    const char* name;
    std::function<void(Graph&, int c, int y)> add;
  };
  const Case cases[] = {
      {"per-channel constant",
       [](Graph& g, int c, int y) {
         const int k = g.AddConstant("k", testing::RandomF32({3, 1, 1}, 50));
         g.AddNode("mul", "Mul", {c, k}, {y});
       }},
      {"scalar minus the conv",
       [](Graph& g, int c, int y) {
         g.AddNode("sub", "Sub", {g.AddConstant("k", Scalar(1.0f)), c}, {y});
       }},
      {"conv times itself",
       [](Graph& g, int c, int y) {
         g.AddNode("sq", "Mul", {c, c}, {y});
       }},
      {"a scalar input, not a constant",
       [](Graph& g, int c, int y) {
         const int k = F32(g, "k", {});
         g.MarkInput(k);
         g.AddNode("mul", "Mul", {c, k}, {y});
       }},
      {"Div by a scalar",
       [](Graph& g, int c, int y) {
         g.AddNode("div", "Div", {c, g.AddConstant("k", Scalar(2.0f))}, {y});
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Graph g = ConvThen(c.add);
    ASSERT_TRUE(FuseActivations(g, nullptr).ok());
    EXPECT_EQ(g.nodes.size(), 2u);
    EXPECT_FALSE(g.nodes[0].has_attr("activation_affine"));
  }
}

// A rank-5 scalar would broadcast the rank-4 conv output to rank 5: the shapes differ, no fusion.
TEST(FuseActivationsTest, AffineNotFusedWhenTheScalarBroadcastsRank) {
  Graph g;
  const int x = F32(g, "x", {1, 2, 5, 5});
  const int w = g.AddConstant("w", testing::RandomF32({3, 2, 1, 1}, 7));
  const int c = F32(g, "c", {1, 3, 5, 5});
  const int y = F32(g, "y", {1, 1, 3, 5, 5});
  g.AddNode("conv", "Conv", {x, w}, {c});
  const int k =
      g.AddConstant("k", Tensor::FromVector(DType::kF32, {1, 1, 1, 1, 1}, std::vector<float>{2}));
  g.AddNode("mul", "Mul", {c, k}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  ASSERT_TRUE(FuseActivations(g, nullptr).ok());
  EXPECT_EQ(g.nodes.size(), 2u);
}

}  // namespace
}  // namespace edgerun
