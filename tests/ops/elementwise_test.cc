// Shape and type inference of the elementwise op family (ops/elementwise.cc): output dtypes and
// broadcast shapes, opset-dependent forms, and errors that name the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::MakeNode;

Expected<std::vector<TensorType>> Infer(const Node& node, const std::vector<TensorType>& inputs) {
  std::vector<const Tensor*> constants(inputs.size(), nullptr);
  return InferNode(node, inputs, constants);
}

// Expects inference to fail with a message that names the node and contains `needle`.
void ExpectError(const Node& node, const std::vector<TensorType>& inputs,
                 const std::string& needle) {
  Expected<std::vector<TensorType>> r = Infer(node, inputs);
  ASSERT_FALSE(r.ok()) << node.op_type << " unexpectedly inferred";
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find(node.Describe()), std::string::npos) << msg;
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
}

TensorType T(DType d, std::vector<int64_t> dims) { return TensorType{d, std::move(dims)}; }

TEST(ElementwiseOpsTest, UnaryKeepsTypeAndShape) {
  for (std::string op :
       {"Abs",     "Neg",         "Sqrt",      "Exp",  "Log",      "Reciprocal", "Floor",
        "Ceil",    "Round",       "Sign",      "Sin",  "Cos",      "Tan",        "Asin",
        "Acos",    "Atan",        "Sinh",      "Cosh", "Asinh",    "Acosh",      "Atanh",
        "Erf",     "Relu",        "LeakyRelu", "Elu",  "Selu",     "Celu",       "ThresholdedRelu",
        "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Softsign",   "Mish",
        "Shrink",  "Clip"}) {
    for (DType d : {DType::kF32, DType::kF64, DType::kF16}) {
      auto r = Infer(MakeNode(op, 17, 1), {T(d, {2, 3, 4})});
      ASSERT_TRUE(r.ok()) << op << ": " << r.status().ToString();
      EXPECT_EQ((*r)[0], T(d, {2, 3, 4})) << op;
    }
  }
  auto scalar = Infer(MakeNode("Exp", 13, 1), {T(DType::kF32, {})});
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ((*scalar)[0], T(DType::kF32, {}));
}

TEST(ElementwiseOpsTest, UnaryRejectsDtypesTheOpDoesNotAccept) {
  ExpectError(MakeNode("Sqrt", 13, 1), {T(DType::kI32, {3})}, "dtype i32");
  ExpectError(MakeNode("Neg", 13, 1), {T(DType::kU8, {3})}, "dtype u8");
  ExpectError(MakeNode("Not", 1, 1), {T(DType::kF32, {3})}, "dtype f32");
  ExpectError(MakeNode("Sigmoid", 13, 1), {T(DType::kBool, {3})}, "dtype bool");
  auto relu = Infer(MakeNode("Relu", 14, 1), {T(DType::kI8, {5})});
  ASSERT_TRUE(relu.ok());
  EXPECT_EQ((*relu)[0].dtype, DType::kI8);
}

TEST(ElementwiseOpsTest, PredicatesProduceBool) {
  for (std::string op : {"IsNaN", "IsInf"}) {
    auto r = Infer(MakeNode(op, 13, 1), {T(DType::kF16, {4, 1})});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)[0], T(DType::kBool, {4, 1}));
  }
  ExpectError(MakeNode("IsNaN", 13, 1), {T(DType::kI32, {4})}, "dtype i32");
}

TEST(ElementwiseOpsTest, BinaryBroadcastsNumpyStyle) {
  struct Case {
    std::vector<int64_t> a, b, out;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
      {{2, 3, 4}, {}, {2, 3, 4}},
      {{2, 3, 4}, {4}, {2, 3, 4}},
      {{1, 3, 1}, {2, 1, 4}, {2, 3, 4}},
      {{5, 1}, {1, 6}, {5, 6}},
      {{3, 0, 2}, {1, 2}, {3, 0, 2}},
      {{}, {}, {}},
      {{7}, {2, 1, 1}, {2, 1, 7}},
  };
  for (std::string op : {"Add", "Sub", "Mul", "Div", "Mod", "Pow"}) {
    for (const Case& c : cases) {
      auto r = Infer(MakeNode(op, 14, 2), {T(DType::kF32, c.a), T(DType::kF32, c.b)});
      ASSERT_TRUE(r.ok()) << op << ": " << r.status().ToString();
      EXPECT_EQ((*r)[0], T(DType::kF32, c.out)) << op;
    }
  }
  auto ints = Infer(MakeNode("Add", 14, 2), {T(DType::kU8, {3}), T(DType::kU8, {2, 1})});
  ASSERT_TRUE(ints.ok());
  EXPECT_EQ((*ints)[0], T(DType::kU8, {2, 3}));
}

TEST(ElementwiseOpsTest, IncompatibleBroadcastNamesTheNode) {
  Node add = MakeNode("Add", 14, 2);
  add.name = "add_7";
  ExpectError(add, {T(DType::kF32, {2, 3}), T(DType::kF32, {4})}, "cannot broadcast");
  ExpectError(MakeNode("Where", 16, 3),
              {T(DType::kBool, {2}), T(DType::kF32, {3}), T(DType::kF32, {1})}, "cannot broadcast");
  ExpectError(MakeNode("Sum", 13, 3),
              {T(DType::kF32, {2, 3}), T(DType::kF32, {3}), T(DType::kF32, {2})},
              "cannot broadcast");
}

TEST(ElementwiseOpsTest, BinaryRequiresMatchingDtypes) {
  ExpectError(MakeNode("Add", 14, 2), {T(DType::kF32, {3}), T(DType::kF64, {3})},
              "different dtypes");
  ExpectError(MakeNode("Less", 13, 2), {T(DType::kI32, {3}), T(DType::kI64, {3})},
              "different dtypes");
  ExpectError(MakeNode("Add", 14, 2), {T(DType::kBool, {3}), T(DType::kBool, {3})}, "dtype bool");
  ExpectError(MakeNode("And", 7, 2), {T(DType::kI32, {3}), T(DType::kI32, {3})}, "dtype i32");
}

TEST(ElementwiseOpsTest, ComparisonAndLogicProduceBool) {
  for (std::string op : {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"}) {
    auto r = Infer(MakeNode(op, 16, 2), {T(DType::kI64, {2, 1}), T(DType::kI64, {3})});
    ASSERT_TRUE(r.ok()) << op << ": " << r.status().ToString();
    EXPECT_EQ((*r)[0], T(DType::kBool, {2, 3})) << op;
  }
  for (std::string op : {"And", "Or", "Xor", "Equal"}) {
    auto r = Infer(MakeNode(op, 7, 2), {T(DType::kBool, {4}), T(DType::kBool, {})});
    ASSERT_TRUE(r.ok()) << op << ": " << r.status().ToString();
    EXPECT_EQ((*r)[0], T(DType::kBool, {4})) << op;
  }
}

TEST(ElementwiseOpsTest, PowTakesTheBaseDtype) {
  auto r = Infer(MakeNode("Pow", 15, 2), {T(DType::kI64, {3}), T(DType::kF32, {3})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kI64, {3}));
  r = Infer(MakeNode("Pow", 15, 2), {T(DType::kF32, {2, 3}), T(DType::kU64, {})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kF32, {2, 3}));
}

TEST(ElementwiseOpsTest, ModAndBitShiftAttributes) {
  Node mod = MakeNode("Mod", 13, 2);
  mod.attrs["fmod"] = Attribute::Int(2);
  ExpectError(mod, {T(DType::kI32, {3}), T(DType::kI32, {3})}, "fmod");
  Node shift = MakeNode("BitShift", 11, 2);
  ExpectError(shift, {T(DType::kU8, {3}), T(DType::kU8, {3})}, "direction");
  shift.attrs["direction"] = Attribute::String("LEFT");
  auto r = Infer(shift, {T(DType::kU32, {2, 3}), T(DType::kU32, {3})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kU32, {2, 3}));
  ExpectError(shift, {T(DType::kI32, {3}), T(DType::kI32, {3})}, "dtype i32");
}

TEST(ElementwiseOpsTest, PReluSlopeMustBroadcastToX) {
  auto r =
      Infer(MakeNode("PRelu", 16, 2), {T(DType::kF32, {1, 3, 4, 4}), T(DType::kF32, {3, 1, 1})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kF32, {1, 3, 4, 4}));
  ExpectError(MakeNode("PRelu", 16, 2), {T(DType::kF32, {1, 3}), T(DType::kF32, {2, 3})},
              "does not broadcast to X");
}

TEST(ElementwiseOpsTest, VariadicOps) {
  for (std::string op : {"Sum", "Mean", "Max", "Min"}) {
    auto one = Infer(MakeNode(op, 13, 1), {T(DType::kF32, {2, 3})});
    ASSERT_TRUE(one.ok()) << op;
    EXPECT_EQ((*one)[0], T(DType::kF32, {2, 3}));
    auto three = Infer(MakeNode(op, 13, 3),
                       {T(DType::kF64, {3, 1}), T(DType::kF64, {4}), T(DType::kF64, {2, 1, 1})});
    ASSERT_TRUE(three.ok()) << op << ": " << three.status().ToString();
    EXPECT_EQ((*three)[0], T(DType::kF64, {2, 3, 4}));
  }
  ExpectError(MakeNode("Max", 13, 2), {T(DType::kF32, {3}), T(DType::kI32, {3})},
              "different dtypes");
  ExpectError(MakeNode("Mean", 13, 2), {T(DType::kI32, {3}), T(DType::kI32, {3})}, "dtype i32");
  auto imax = Infer(MakeNode("Max", 13, 2), {T(DType::kU16, {3}), T(DType::kU16, {1})});
  ASSERT_TRUE(imax.ok());
  EXPECT_EQ((*imax)[0], T(DType::kU16, {3}));
  // Arity: zero inputs is an error.
  Expected<std::vector<TensorType>> none = Infer(MakeNode("Sum", 13, 0), {});
  EXPECT_FALSE(none.ok());
}

TEST(ElementwiseOpsTest, WhereBroadcastsThreeWays) {
  auto r = Infer(MakeNode("Where", 16, 3),
                 {T(DType::kBool, {2, 1, 1}), T(DType::kI64, {3, 1}), T(DType::kI64, {4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kI64, {2, 3, 4}));
  ExpectError(MakeNode("Where", 16, 3),
              {T(DType::kF32, {2}), T(DType::kF32, {2}), T(DType::kF32, {2})}, "dtype f32");
  ExpectError(MakeNode("Where", 16, 3),
              {T(DType::kBool, {2}), T(DType::kF32, {2}), T(DType::kF64, {2})}, "different dtypes");
}

TEST(ElementwiseOpsTest, CastAndCastLike) {
  struct Case {
    int64_t to;
    DType want;
  };
  for (Case c :
       {Case{1, DType::kF32}, Case{2, DType::kU8}, Case{3, DType::kI8}, Case{4, DType::kU16},
        Case{5, DType::kI16}, Case{6, DType::kI32}, Case{7, DType::kI64}, Case{9, DType::kBool},
        Case{10, DType::kF16}, Case{11, DType::kF64}, Case{12, DType::kU32}, Case{13, DType::kU64},
        Case{16, DType::kBF16}}) {
    Node cast = MakeNode("Cast", 13, 1);
    cast.attrs["to"] = Attribute::Int(c.to);
    auto r = Infer(cast, {T(DType::kF32, {2, 5})});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)[0], T(c.want, {2, 5})) << c.to;
  }
  Node to_string = MakeNode("Cast", 13, 1);
  to_string.attrs["to"] = Attribute::Int(8);
  Expected<std::vector<TensorType>> s = Infer(to_string, {T(DType::kF32, {2})});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(s.status().message().find("node 'n0' (Cast)"), std::string::npos);
  ExpectError(MakeNode("Cast", 13, 1), {T(DType::kF32, {2})}, "'to' is missing");

  auto like = Infer(MakeNode("CastLike", 15, 2), {T(DType::kF64, {3, 4}), T(DType::kF16, {1})});
  ASSERT_TRUE(like.ok()) << like.status().ToString();
  EXPECT_EQ((*like)[0], T(DType::kF16, {3, 4}));
}

TEST(ElementwiseOpsTest, ClipFormsDependOnOpset) {
  Node old_clip = MakeNode("Clip", 6, 1);
  old_clip.attrs["min"] = Attribute::Float(0);
  old_clip.attrs["max"] = Attribute::Float(6);
  auto r = Infer(old_clip, {T(DType::kF32, {1, 8})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kF32, {1, 8}));
  ExpectError(MakeNode("Clip", 6, 3), {T(DType::kF32, {2}), T(DType::kF32, {}), T(DType::kF32, {})},
              "attributes");
  // Opset 13: optional scalar bounds of the input's type; integer inputs allowed.
  r = Infer(MakeNode("Clip", 13, 3), {T(DType::kI8, {4}), TensorType{}, T(DType::kI8, {})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kI8, {4}));
  ExpectError(MakeNode("Clip", 13, 2), {T(DType::kF32, {4}), T(DType::kF32, {2})},
              "must be a scalar");
  ExpectError(MakeNode("Clip", 13, 2), {T(DType::kF32, {4}), T(DType::kF64, {})},
              "different dtypes");
}

TEST(ElementwiseOpsTest, DropoutMaskTypeFollowsOpset) {
  auto r = Infer(MakeNode("Dropout", 13, 1, 2), {T(DType::kF32, {2, 3})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], T(DType::kF32, {2, 3}));
  EXPECT_EQ((*r)[1], T(DType::kBool, {2, 3}));
  r = Infer(MakeNode("Dropout", 7, 1, 2), {T(DType::kF16, {4})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[1], T(DType::kF16, {4}));
  ExpectError(MakeNode("Dropout", 13, 2), {T(DType::kF32, {2}), T(DType::kF32, {2})},
              "ratio must be a scalar");
  ExpectError(MakeNode("Dropout", 13, 3),
              {T(DType::kF32, {2}), T(DType::kF32, {}), T(DType::kF32, {})}, "dtype f32");
}

TEST(ElementwiseOpsTest, InternalSiLUAndGelu) {
  for (std::string op : {"SiLU", "Gelu"}) {
    Node node = MakeNode(op, 1, 1);
    node.domain = std::string(kEdgerunDomain);
    auto r = Infer(node, {T(DType::kF32, {2, 8})});
    ASSERT_TRUE(r.ok()) << op << ": " << r.status().ToString();
    EXPECT_EQ((*r)[0], T(DType::kF32, {2, 8}));
    // Not an ONNX op in the default domain.
    EXPECT_FALSE(Infer(MakeNode(op, 17, 1), {T(DType::kF32, {2})}).ok()) << op;
  }
  Node gelu = MakeNode("Gelu", 1, 1);
  gelu.domain = std::string(kEdgerunDomain);
  gelu.attrs["approximate"] = Attribute::String("erf");
  ExpectError(gelu, {T(DType::kF32, {2})}, "approximate");
}

TEST(ElementwiseOpsTest, MalformedAttributesFailAtInference) {
  Node leaky = MakeNode("LeakyRelu", 16, 1);
  leaky.attrs["alpha"] = Attribute::String("big");
  ExpectError(leaky, {T(DType::kF32, {2})}, "alpha");
}

}  // namespace
}  // namespace edgerun
