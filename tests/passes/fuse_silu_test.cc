#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "passes/graph_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "util/compare.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

const std::vector<int64_t> kDims = {2, 3, 8};

Tensor Scalar(float v) { return Tensor::FromVector(DType::kF32, {}, std::vector<float>{v}); }

// Builds graphs over one input x[2,3,8]; every intermediate gets a fresh name.
struct Builder {
  Graph g;
  int x;
  int counter = 0;

  Builder() {
    x = g.AddValue("x", DType::kF32, ShapeFromDims(kDims));
    g.MarkInput(x);
  }
  int K(float v) { return g.AddConstant("k" + std::to_string(counter++), Scalar(v)); }
  int Op(const std::string& op, std::vector<int> in) {
    const int out = g.AddValue("t" + std::to_string(counter), DType::kF32, ShapeFromDims(kDims));
    g.AddNode("n" + std::to_string(counter++), op, std::move(in), {out});
    return out;
  }
  void Output(int v) {
    g.values[v].name = "y";
    g.MarkOutput(v);
  }
};

void ExpectSameResults(const Graph& before, const Graph& after, double rtol, double atol) {
  std::vector<Tensor> inputs;
  for (int v : before.inputs) {
    // Spread to [-4, 4) so the tails of GELU and SiLU are covered.
    std::vector<float> data =
        testing::RandomF32(StaticDims(*before.values[v].shape), 300).ToFloatVector();
    for (float& f : data) f *= 4;
    inputs.push_back(Tensor::FromVector(DType::kF32, StaticDims(*before.values[v].shape), data));
  }
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    test_util::CompareResult r =
        test_util::AllClose((*got)[i].view(), (*want)[i].view(), rtol, atol);
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message;
  }
}

void ExpectFusedInto(Graph g, const std::string& op, const std::string& domain,
                     const std::string& approximate = "") {
  const Graph before = g;
  std::vector<std::string> log;
  ASSERT_TRUE(FuseSiLU(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 1u) << (log.empty() ? "nothing fused" : log[0]);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, op);
  EXPECT_EQ(n.domain, domain);
  ASSERT_EQ(n.inputs.size(), 1u);
  EXPECT_EQ(g.values[n.inputs[0]].name, "x");
  EXPECT_EQ(g.values[n.outputs[0]].name, "y");
  if (!approximate.empty()) {
    ASSERT_TRUE(n.has_attr("approximate"));
    EXPECT_EQ(n.attr("approximate")->s, approximate);
  }
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find(" into " + op + " '"), std::string::npos) << log[0];
  EXPECT_EQ(g.values.size(), 2u);  // all intermediates and constants gone
  EXPECT_TRUE(ValidateGraph(g).ok());
  ExpectSameResults(before, g, 1e-5, 1e-6);
}

void ExpectUnchanged(Graph g) {
  const size_t nodes = g.nodes.size();
  std::vector<std::string> log;
  ASSERT_TRUE(FuseSiLU(g, &log).ok());
  EXPECT_EQ(g.nodes.size(), nodes);
  EXPECT_TRUE(log.empty()) << log[0];
}

TEST(FuseSiLUTest, SigmoidMulEitherOrder) {
  for (bool sigmoid_first : {false, true}) {
    Builder b;
    const int s = b.Op("Sigmoid", {b.x});
    b.Output(b.Op("Mul", sigmoid_first ? std::vector<int>{s, b.x} : std::vector<int>{b.x, s}));
    ExpectFusedInto(b.g, "SiLU", std::string(kEdgerunDomain));
  }
}

TEST(FuseSiLUTest, SiLUAfterProducerNode) {
  Builder b;
  const int r = b.Op("Neg", {b.x});
  const int s = b.Op("Sigmoid", {r});
  b.Output(b.Op("Mul", {r, s}));
  const Graph before = b.g;
  ASSERT_TRUE(FuseSiLU(b.g, nullptr).ok());
  ASSERT_EQ(b.g.nodes.size(), 2u);
  EXPECT_EQ(b.g.nodes[0].op_type, "Neg");
  EXPECT_EQ(b.g.nodes[1].op_type, "SiLU");
  EXPECT_EQ(b.g.nodes[1].inputs[0], b.g.nodes[0].outputs[0]);
  ExpectSameResults(before, b.g, 1e-5, 1e-6);
}

TEST(FuseSiLUTest, HardSigmoidMulIsHardSwish) {
  Builder b;
  const int s = b.Op("HardSigmoid", {b.x});
  b.g.nodes.back().attrs["alpha"] = Attribute::Float(1.0f / 6);
  b.Output(b.Op("Mul", {b.x, s}));
  ExpectFusedInto(b.g, "HardSwish", "");

  Builder other;  // default alpha 0.2 is not HardSwish
  const int s2 = other.Op("HardSigmoid", {other.x});
  other.Output(other.Op("Mul", {other.x, s2}));
  ExpectUnchanged(other.g);
}

TEST(FuseSiLUTest, NotFusedWhenSigmoidIsReadElsewhere) {
  Builder b;
  const int s = b.Op("Sigmoid", {b.x});
  b.Output(b.Op("Mul", {b.x, s}));
  const int other = b.Op("Neg", {s});
  b.g.MarkOutput(other);
  ExpectUnchanged(b.g);
}

TEST(FuseSiLUTest, NotFusedWhenMulReadsAnotherValue) {
  Builder b;
  const int z = b.Op("Neg", {b.x});
  const int s = b.Op("Sigmoid", {b.x});
  b.Output(b.Op("Mul", {z, s}));
  ExpectUnchanged(b.g);
}

// x * Clip(x + 3, 0, 6) / 6 spelled out (MobileNetV3, PP-LCNet exports). `variant` picks the
// association and the division: 0 (x * clip) / 6, 1 x * (clip / 6), 2 (clip * x) * (1/6),
// 3 x * ((1/6) * clip). Returns the Clip's output through *clip_out.
int HardSwishArithmetic(Builder& b, int variant, int* clip_out = nullptr, float lo = 0,
                        float hi = 6, float shift = 3, float divisor = 6) {
  const int t = b.Op("Add", {b.x, b.K(shift)});
  const int c = b.Op("Clip", {t, b.K(lo), b.K(hi)});
  if (clip_out != nullptr) *clip_out = c;
  switch (variant) {
    case 0:
      return b.Op("Div", {b.Op("Mul", {b.x, c}), b.K(divisor)});
    case 1:
      return b.Op("Mul", {b.x, b.Op("Div", {c, b.K(divisor)})});
    case 2:
      return b.Op("Mul", {b.Op("Mul", {c, b.x}), b.K(1.0f / divisor)});
    default:
      return b.Op("Mul", {b.x, b.Op("Mul", {b.K(1.0f / divisor), c})});
  }
}

TEST(FuseHardSwishTest, BothAssociationsWithDivOrMulBySixth) {
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    Builder b;
    b.Output(HardSwishArithmetic(b, variant));
    ExpectFusedInto(b.g, "HardSwish", "");
  }
}

TEST(FuseHardSwishTest, ThreePlusXAndLogNamesTheNodes) {
  Builder b;
  const int t = b.Op("Add", {b.K(3), b.x});  // constant first
  const int c = b.Op("Clip", {t, b.K(0), b.K(6)});
  b.Output(b.Op("Div", {b.Op("Mul", {c, b.x}), b.K(6)}));
  Graph g = b.g;
  std::vector<std::string> log;
  ASSERT_TRUE(FuseSiLU(g, &log).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(log, (std::vector<std::string>{"fused Add 'n1', Clip 'n4', Mul 'n5', Div 'n7' into "
                                           "HardSwish 'n7'"}));
  ExpectFusedInto(b.g, "HardSwish", "");
}

TEST(FuseHardSwishTest, Opset10ClipWithAttributeBounds) {
  for (int variant : {0, 1}) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    Builder b;
    const int t = b.Op("Add", {b.x, b.K(3)});
    const int c = b.Op("Clip", {t});
    Node& clip = b.g.nodes.back();
    clip.opset = 10;
    clip.attrs["min"] = Attribute::Float(0);
    clip.attrs["max"] = Attribute::Float(6);
    b.Output(variant == 0 ? b.Op("Div", {b.Op("Mul", {b.x, c}), b.K(6)})
                          : b.Op("Mul", {b.Op("Div", {c, b.K(6)}), b.x}));
    ExpectFusedInto(b.g, "HardSwish", "");
  }
  // Opset 10 with other attribute bounds (Relu-like clip at 0..4) is not HardSwish.
  Builder other;
  const int t = other.Op("Add", {other.x, other.K(3)});
  const int c = other.Op("Clip", {t});
  other.g.nodes.back().opset = 10;
  other.g.nodes.back().attrs["min"] = Attribute::Float(0);
  other.g.nodes.back().attrs["max"] = Attribute::Float(4);
  other.Output(other.Op("Div", {other.Op("Mul", {other.x, c}), other.K(6)}));
  ExpectUnchanged(other.g);
}

TEST(FuseHardSwishTest, OtherConstantsAreNotFused) {
  struct Case {
    const char* what;
    float lo, hi, shift, divisor;
  };
  for (const Case& k : {Case{"clip min -1", -1, 6, 3, 6}, Case{"clip max 5", 0, 5, 3, 6},
                        Case{"x + 2", 0, 6, 2, 6}, Case{"divided by 5", 0, 6, 3, 5}}) {
    for (int variant = 0; variant < 4; ++variant) {
      SCOPED_TRACE(std::string(k.what) + ", variant " + std::to_string(variant));
      Builder b;
      b.Output(HardSwishArithmetic(b, variant, nullptr, k.lo, k.hi, k.shift, k.divisor));
      ExpectUnchanged(b.g);
    }
  }
  // Clip without a max bound (opset 11+: omitted input) is not Relu6.
  Builder b;
  const int t = b.Op("Add", {b.x, b.K(3)});
  const int c = b.Op("Clip", {t, b.K(0)});
  b.Output(b.Op("Div", {b.Op("Mul", {b.x, c}), b.K(6)}));
  ExpectUnchanged(b.g);
}

TEST(FuseHardSwishTest, XReadElsewhereIsFine) {
  for (int variant : {0, 1}) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    Builder b;
    const int n = b.Op("Neg", {b.x});
    b.Output(HardSwishArithmetic(b, variant));
    b.g.MarkOutput(n);
    const Graph before = b.g;
    std::vector<std::string> log;
    ASSERT_TRUE(FuseSiLU(b.g, &log).ok());
    ASSERT_EQ(b.g.nodes.size(), 2u) << (log.empty() ? "nothing fused" : log[0]);
    int hardswish = 0;
    for (const Node& node : b.g.nodes) {
      if (node.op_type != "HardSwish") continue;
      ++hardswish;
      EXPECT_EQ(b.g.values[node.inputs[0]].name, "x");
      EXPECT_EQ(b.g.values[node.outputs[0]].name, "y");
    }
    EXPECT_EQ(hardswish, 1);
    EXPECT_TRUE(ValidateGraph(b.g).ok());
    ExpectSameResults(before, b.g, 1e-5, 1e-6);
  }
}

TEST(FuseHardSwishTest, IntermediateWithASecondReaderIsNotFused) {
  // Each intermediate of each association, read by a Neg or made a graph output.
  for (int variant = 0; variant < 4; ++variant) {
    for (int which = 0; which < 3; ++which) {
      for (bool as_output : {false, true}) {
        SCOPED_TRACE("variant " + std::to_string(variant) + ", intermediate " +
                     std::to_string(which) + (as_output ? ", graph output" : ", Neg reader"));
        Builder b;
        int clip = -1;
        b.Output(HardSwishArithmetic(b, variant, &clip));
        // which: 0 the Add (x + 3), 1 the Clip, 2 the first Mul/Div after the Clip.
        int v = -1;
        for (const Node& n : b.g.nodes) {
          if (which == 0 && n.op_type == "Add") v = n.outputs[0];
          if (which == 2 && n.op_type != "Add" && n.op_type != "Clip" &&
              std::find(n.inputs.begin(), n.inputs.end(), clip) != n.inputs.end()) {
            v = n.outputs[0];
          }
        }
        if (which == 1) v = clip;
        ASSERT_GE(v, 0);
        if (as_output) {
          b.g.MarkOutput(v);
        } else {
          b.g.MarkOutput(b.Op("Neg", {v}));
        }
        ExpectUnchanged(b.g);
      }
    }
  }
}

TEST(FuseHardSwishTest, NotFusedWhenTheProductReadsAnotherTensor) {
  Builder b;
  const int z = b.Op("Neg", {b.x});
  const int t = b.Op("Add", {b.x, b.K(3)});
  const int c = b.Op("Clip", {t, b.K(0), b.K(6)});
  b.Output(b.Op("Div", {b.Op("Mul", {z, c}), b.K(6)}));
  ExpectUnchanged(b.g);

  Builder b2;
  const int z2 = b2.Op("Neg", {b2.x});
  const int t2 = b2.Op("Add", {b2.x, b2.K(3)});
  const int c2 = b2.Op("Clip", {t2, b2.K(0), b2.K(6)});
  b2.Output(b2.Op("Mul", {b2.Op("Div", {c2, b2.K(6)}), z2}));
  ExpectUnchanged(b2.g);
}

// PyTorch's export of nn.GELU(): x * (1 + erf(x / sqrt2)) * 0.5
TEST(FuseGeluTest, ErfTorchForm) {
  Builder b;
  const int d = b.Op("Div", {b.x, b.K(1.4142135f)});
  const int e = b.Op("Erf", {d});
  const int a = b.Op("Add", {e, b.K(1)});
  const int m = b.Op("Mul", {b.x, a});
  b.Output(b.Op("Mul", {m, b.K(0.5f)}));
  ExpectFusedInto(b.g, "Gelu", std::string(kEdgerunDomain), "none");
}

TEST(FuseGeluTest, ErfHalfXFirst) {
  // (x * 0.5) * (1 + erf(x * 0.70710677))
  Builder b;
  const int d = b.Op("Mul", {b.x, b.K(0.70710677f)});
  const int e = b.Op("Erf", {d});
  const int a = b.Op("Add", {b.K(1), e});
  const int h = b.Op("Mul", {b.K(0.5f), b.x});
  b.Output(b.Op("Mul", {h, a}));
  ExpectFusedInto(b.g, "Gelu", std::string(kEdgerunDomain), "none");
}

TEST(FuseGeluTest, ErfHalfOfSumFirst) {
  // x * ((1 + erf(x / sqrt2)) * 0.5)
  Builder b;
  const int d = b.Op("Div", {b.x, b.K(1.41421356f)});
  const int e = b.Op("Erf", {d});
  const int a = b.Op("Add", {e, b.K(1)});
  const int h = b.Op("Mul", {a, b.K(0.5f)});
  b.Output(b.Op("Mul", {b.x, h}));
  ExpectFusedInto(b.g, "Gelu", std::string(kEdgerunDomain), "none");
}

TEST(FuseGeluTest, ErfDivideByTwo) {
  // ((1 + erf(x / sqrt2)) * x) / 2
  Builder b;
  const int d = b.Op("Div", {b.x, b.K(1.4142135f)});
  const int e = b.Op("Erf", {d});
  const int a = b.Op("Add", {e, b.K(1)});
  const int m = b.Op("Mul", {a, b.x});
  b.Output(b.Op("Div", {m, b.K(2)}));
  ExpectFusedInto(b.g, "Gelu", std::string(kEdgerunDomain), "none");
}

TEST(FuseGeluTest, TanhFormWithPow) {
  // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
  Builder b;
  const int p = b.Op("Pow", {b.x, b.K(3)});
  const int c = b.Op("Mul", {p, b.K(0.044715f)});
  const int s = b.Op("Add", {b.x, c});
  const int u = b.Op("Mul", {s, b.K(0.7978845608f)});
  const int t = b.Op("Tanh", {u});
  const int a = b.Op("Add", {t, b.K(1)});
  const int h = b.Op("Mul", {b.x, b.K(0.5f)});
  b.Output(b.Op("Mul", {h, a}));
  ExpectFusedInto(b.g, "Gelu", std::string(kEdgerunDomain), "tanh");
}

TEST(FuseGeluTest, TanhFormWithMulCube) {
  Builder b;
  const int sq = b.Op("Mul", {b.x, b.x});
  const int cube = b.Op("Mul", {sq, b.x});
  const int c = b.Op("Mul", {b.K(0.044715f), cube});
  const int s = b.Op("Add", {c, b.x});
  const int u = b.Op("Mul", {b.K(0.79788456f), s});
  const int t = b.Op("Tanh", {u});
  const int a = b.Op("Add", {b.K(1), t});
  const int m = b.Op("Mul", {b.x, a});
  b.Output(b.Op("Mul", {m, b.K(0.5f)}));
  ExpectFusedInto(b.g, "Gelu", std::string(kEdgerunDomain), "tanh");
}

TEST(FuseGeluTest, NotFusedWithWrongConstant) {
  Builder b;
  const int d = b.Op("Div", {b.x, b.K(2.0f)});  // not sqrt(2)
  const int e = b.Op("Erf", {d});
  const int a = b.Op("Add", {e, b.K(1)});
  const int m = b.Op("Mul", {b.x, a});
  b.Output(b.Op("Mul", {m, b.K(0.5f)}));
  ExpectUnchanged(b.g);
}

TEST(FuseGeluTest, NotFusedWhenIntermediateIsReadElsewhere) {
  Builder b;
  const int d = b.Op("Div", {b.x, b.K(1.4142135f)});
  const int e = b.Op("Erf", {d});
  const int a = b.Op("Add", {e, b.K(1)});
  const int m = b.Op("Mul", {b.x, a});
  b.Output(b.Op("Mul", {m, b.K(0.5f)}));
  b.g.MarkOutput(e);  // erf(x / sqrt2) is needed on its own
  ExpectUnchanged(b.g);
}

TEST(FuseGeluTest, NotFusedWhenProductUsesAnotherTensor) {
  Builder b;
  const int z = b.Op("Neg", {b.x});
  const int d = b.Op("Div", {b.x, b.K(1.4142135f)});
  const int e = b.Op("Erf", {d});
  const int a = b.Op("Add", {e, b.K(1)});
  const int m = b.Op("Mul", {z, a});
  b.Output(b.Op("Mul", {m, b.K(0.5f)}));
  ExpectUnchanged(b.g);
}

}  // namespace
}  // namespace edgerun
