#include "formats/onnx/onnx_importer.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "edgerun/ir.h"
#include "edgerun/tensor.h"
#include "util/onnx_model_builder.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPath = "model.onnx";

std::span<const std::byte> AsBytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

Expected<Graph> Import(const OnnxModelBuilder& b, const std::string& base_dir = "") {
  const std::string bytes = b.Serialize();
  return ImportOnnxFromBytes(AsBytes(bytes), kPath, base_dir);
}

Tensor F32(std::vector<int64_t> dims, std::vector<float> v) {
  return Tensor::FromVector<float>(DType::kF32, std::move(dims), v);
}

// Asserts that `g` failed with `code` and a message that starts with the file and contains
// every string in `parts`.
void ExpectError(const Expected<Graph>& g, StatusCode code, std::vector<std::string> parts) {
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), code) << g.status().message();
  const std::string& msg = g.status().message();
  EXPECT_EQ(msg.rfind(std::string(kPath) + ": ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const auto& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' in: " << msg;
}

const Node* FindNode(const Graph& g, std::string_view name) {
  for (const Node& n : g.nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

OnnxModelBuilder ReluModel() {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {1, 4}).Node("Relu", {"x"}, {"y"}, {}, "relu").Output("y");
  return b;
}

TEST(OnnxImporterTest, ImportsGraphStructure) {
  OnnxModelBuilder b;
  b.Opset(17)
      .Producer("pytorch", "1.13.1")
      .Input("x", DType::kF32, {Dim::Symbolic("N"), 3, Dim(), 8})
      .Initializer("w", F32({4, 3, 1, 1}, std::vector<float>(12, 0.5f)))
      .Node("Conv", {"x", "w"}, {"c"}, {AttrInts("strides", {1, 1}), AttrInt("group", 1)}, "conv1")
      .Node("Relu", {"c"}, {"y"})
      .ValueInfo("c", DType::kF32, {Dim::Symbolic("N"), 4, Dim(), 8})
      .Output("y", DType::kF32, {Dim::Symbolic("N"), 4, Dim(), 8});
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();

  EXPECT_EQ(g->source_format, "onnx");
  EXPECT_EQ(g->producer, "pytorch 1.13.1");
  EXPECT_EQ(g->name, "test_graph");
  ASSERT_EQ(g->opset_imports.size(), 1u);
  EXPECT_EQ(g->opset_imports.at(""), 17);

  ASSERT_EQ(g->inputs.size(), 1u);
  const Value& x = g->values[g->inputs[0]];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.dtype, DType::kF32);
  ASSERT_TRUE(x.shape.has_value());
  ASSERT_EQ(x.shape->size(), 4u);
  EXPECT_EQ((*x.shape)[0], Dim::Symbolic("N"));
  EXPECT_EQ((*x.shape)[1], Dim(3));
  EXPECT_FALSE((*x.shape)[2].is_static());
  EXPECT_TRUE((*x.shape)[2].symbol.empty());

  const int w = g->FindValue("w");
  ASSERT_GE(w, 0);
  ASSERT_TRUE(g->values[w].is_constant());
  EXPECT_EQ(g->values[w].constant->dims(), (std::vector<int64_t>{4, 3, 1, 1}));
  EXPECT_EQ(g->values[w].constant->data<float>()[11], 0.5f);

  const int c = g->FindValue("c");
  ASSERT_GE(c, 0);
  EXPECT_EQ(g->values[c].dtype, DType::kF32);  // from value_info
  ASSERT_TRUE(g->values[c].shape.has_value());
  EXPECT_EQ((*g->values[c].shape)[1], Dim(4));

  ASSERT_EQ(g->nodes.size(), 2u);
  const Node& conv = g->nodes[0];
  EXPECT_EQ(conv.name, "conv1");
  EXPECT_EQ(conv.op_type, "Conv");
  EXPECT_EQ(conv.domain, "");
  EXPECT_EQ(conv.opset, 17);
  EXPECT_EQ(conv.inputs, (std::vector<int>{g->inputs[0], w}));
  EXPECT_EQ(conv.outputs, (std::vector<int>{c}));
  EXPECT_EQ(*conv.GetInts("strides", {}), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(*conv.GetInt("group", 0), 1);
  EXPECT_EQ(g->nodes[1].name, "Relu_1");  // generated from op type and index

  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->values[g->outputs[0]].name, "y");
  EXPECT_EQ(g->values[g->outputs[0]].dtype, DType::kF32);
}

TEST(OnnxImporterTest, ConvertsEveryAttributeKind) {
  OnnxModelBuilder b;
  b.Opset(13)
      .Input("x", DType::kF32, {2})
      .Node(
          "Custom", {"x"}, {"y"},
          {AttrInt("i", -7), AttrFloat("f", 0.25f), AttrString("s", "abc"),
           AttrInts("is", {1, 2, 3}), AttrFloats("fs", {1.5f, 2.5f}), AttrStrings("ss", {"a", "b"}),
           AttrTensor("t", Tensor::FromVector<int64_t>(DType::kI64, {2}, {5, 6}))},
          "custom", "com.example");
  b.Opset(1, "com.example").Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& n = g->nodes[0];
  EXPECT_EQ(n.domain, "com.example");
  EXPECT_EQ(n.opset, 1);
  EXPECT_EQ(*n.GetInt("i", 0), -7);
  EXPECT_EQ(*n.GetFloat("f", 0), 0.25f);
  EXPECT_EQ(*n.GetString("s", ""), "abc");
  EXPECT_EQ(*n.GetInts("is", {}), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(*n.GetFloats("fs", {}), (std::vector<float>{1.5f, 2.5f}));
  ASSERT_NE(n.attr("ss"), nullptr);
  EXPECT_EQ(n.attr("ss")->strings, (std::vector<std::string>{"a", "b"}));
  ASSERT_NE(n.attr("t"), nullptr);
  ASSERT_EQ(n.attr("t")->kind, Attribute::Kind::kTensor);
  ASSERT_NE(n.attr("t")->tensor, nullptr);
  EXPECT_EQ(n.attr("t")->tensor->ToInt64Vector(), (std::vector<int64_t>{5, 6}));
}

TEST(OnnxImporterTest, InfersAttributeTypeWhenUnset) {
  OnnxModelBuilder b = ReluModel();
  auto a = AttrInts("perm", {1, 0});
  a.set_type(onnx::AttributeProto::UNDEFINED);
  auto f = AttrFloat("alpha", 0.5f);
  f.set_type(onnx::AttributeProto::UNDEFINED);
  *b.last_node().add_attribute() = a;
  *b.last_node().add_attribute() = f;
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(*g->nodes[0].GetInts("perm", {}), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(*g->nodes[0].GetFloat("alpha", 0), 0.5f);
}

TEST(OnnxImporterTest, InitializerListedAsInputIsAConstant) {
  OnnxModelBuilder b;
  b.Opset(9).IrVersion(3).Input("x", DType::kF32, {2}).Input("b", DType::kF32, {2});
  b.Initializer("b", F32({2}, {1, 2})).Node("Add", {"x", "b"}, {"y"}).Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->inputs.size(), 1u);
  EXPECT_EQ(g->values[g->inputs[0]].name, "x");
  const int bi = g->FindValue("b");
  ASSERT_GE(bi, 0);
  EXPECT_TRUE(g->values[bi].is_constant());
  EXPECT_FALSE(g->IsGraphInput(bi));
}

TEST(OnnxImporterTest, ConstantNodesBecomeConstants) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {3});
  b.Constant("c_tensor", F32({3}, {1, 2, 3}));
  b.Node("Constant", {}, {"c_float"}, {AttrFloat("value_float", 2.5f)});
  b.Node("Constant", {}, {"c_floats"}, {AttrFloats("value_floats", {1, 2})});
  b.Node("Constant", {}, {"c_int"}, {AttrInt("value_int", 7)});
  b.Node("Constant", {}, {"c_ints"}, {AttrInts("value_ints", {4, 5, 6})});
  b.Node("Constant", {}, {"c_empty"}, {AttrInts("value_ints", {})});
  b.Node("Add", {"x", "c_tensor"}, {"y"}).Output("y").Output("c_float").Output("c_floats");
  b.Output("c_int").Output("c_ints").Output("c_empty");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->nodes.size(), 1u);  // only the Add remains
  EXPECT_EQ(g->nodes[0].op_type, "Add");

  auto constant = [&](const char* name) -> const Tensor* {
    int v = g->FindValue(name);
    return v >= 0 && g->values[v].is_constant() ? g->values[v].constant.get() : nullptr;
  };
  ASSERT_NE(constant("c_tensor"), nullptr);
  EXPECT_EQ(constant("c_tensor")->ToFloatVector(), (std::vector<float>{1, 2, 3}));
  ASSERT_NE(constant("c_float"), nullptr);
  EXPECT_EQ(constant("c_float")->rank(), 0);
  EXPECT_EQ(constant("c_float")->ScalarAsDouble(), 2.5);
  ASSERT_NE(constant("c_floats"), nullptr);
  EXPECT_EQ(constant("c_floats")->ToFloatVector(), (std::vector<float>{1, 2}));
  ASSERT_NE(constant("c_int"), nullptr);
  EXPECT_EQ(constant("c_int")->dtype(), DType::kI64);
  EXPECT_EQ(constant("c_int")->rank(), 0);
  EXPECT_EQ(constant("c_int")->ScalarAsInt(), 7);
  ASSERT_NE(constant("c_ints"), nullptr);
  EXPECT_EQ(constant("c_ints")->ToInt64Vector(), (std::vector<int64_t>{4, 5, 6}));
  ASSERT_NE(constant("c_empty"), nullptr);
  EXPECT_EQ(constant("c_empty")->dims(), (std::vector<int64_t>{0}));
}

TEST(OnnxImporterTest, UnsupportedOrMalformedConstantNodes) {
  {
    OnnxModelBuilder b;
    b.Opset(13).Node("Constant", {}, {"s"}, {AttrString("value_string", "hi")}, "str").Output("s");
    ExpectError(Import(b), StatusCode::kUnsupported, {"node 'str' (Constant)", "value_string"});
  }
  {
    OnnxModelBuilder b;
    b.Opset(13).Node("Constant", {}, {"s"}, {}, "sparse").Output("s");
    onnx::AttributeProto a;
    a.set_name("sparse_value");
    a.set_type(onnx::AttributeProto::SPARSE_TENSOR);
    a.mutable_sparse_tensor()->mutable_values()->set_data_type(onnx::TensorProto::FLOAT);
    *b.last_node().add_attribute() = a;
    ExpectError(Import(b), StatusCode::kUnsupported, {"node 'sparse' (Constant)", "sparse_value"});
  }
  {
    OnnxModelBuilder b;
    b.Opset(13).Node("Constant", {}, {"s"}, {}, "empty").Output("s");
    ExpectError(Import(b), StatusCode::kInvalidModel, {"node 'empty' (Constant)", "exactly one"});
  }
  {
    OnnxModelBuilder b;
    b.Opset(13)
        .Node("Constant", {}, {"s"}, {AttrInt("value_int", 1), AttrFloat("value_float", 1)}, "two")
        .Output("s");
    ExpectError(Import(b), StatusCode::kInvalidModel, {"node 'two' (Constant)", "has 2"});
  }
  {
    OnnxModelBuilder b;
    onnx::TensorProto bad;
    bad.set_data_type(onnx::TensorProto::FLOAT);
    bad.add_dims(4);
    bad.set_raw_data("xx");
    onnx::AttributeProto a;
    a.set_name("value");
    a.set_type(onnx::AttributeProto::TENSOR);
    *a.mutable_t() = bad;
    b.Opset(13).Node("Constant", {}, {"s"}, {a}, "badconst").Output("s");
    ExpectError(Import(b), StatusCode::kInvalidModel,
                {"node 'badconst' (Constant): attribute 'value'", "raw_data has 2 bytes"});
  }
}

TEST(OnnxImporterTest, OpsetRange) {
  for (int ok : {7, 12, 18}) {
    OnnxModelBuilder b = ReluModel();
    b.Opset(ok);
    auto g = Import(b);
    ASSERT_TRUE(g.ok()) << ok << ": " << g.status().message();
    EXPECT_EQ(g->nodes[0].opset, ok);
  }
  {
    OnnxModelBuilder b = ReluModel();
    b.Opset(6);
    auto g = Import(b);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
    EXPECT_EQ(g.status().message(), "model.onnx: opset 6 of domain '' is not supported (7..18)");
  }
  {
    OnnxModelBuilder b = ReluModel();
    b.Opset(19);
    ExpectError(Import(b), StatusCode::kUnsupported, {"opset 19 of domain ''"});
  }
  {
    // "ai.onnx" is the default domain under another name.
    OnnxModelBuilder b;
    b.Opset(11, "ai.onnx").Input("x", DType::kF32, {2});
    b.Node("Relu", {"x"}, {"y"}, {}, "r", "ai.onnx").Output("y");
    auto g = Import(b);
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_EQ(g->nodes[0].domain, "");
    EXPECT_EQ(g->nodes[0].opset, 11);
    EXPECT_EQ(g->opset_imports.count(""), 1u);
  }
  {
    OnnxModelBuilder b = ReluModel();
    b.proto().clear_opset_import();
    ExpectError(Import(b), StatusCode::kUnsupported, {"imports no opset"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    b.Node("Foo", {"y"}, {"z"}, {}, "foo", "com.unknown").Output("z");
    ExpectError(Import(b), StatusCode::kInvalidModel,
                {"node 'foo' (com.unknown::Foo)", "domain 'com.unknown'"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    auto* dup = b.proto().add_opset_import();
    dup->set_domain("");
    dup->set_version(12);
    ExpectError(Import(b), StatusCode::kInvalidModel, {"imported twice"});
  }
}

TEST(OnnxImporterTest, UnknownDomainsAreImported) {
  OnnxModelBuilder b = ReluModel();
  b.Opset(1, "com.microsoft").Node("FusedGemm", {"y"}, {"z"}, {}, "fg", "com.microsoft");
  b.Output("z");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node* fg = FindNode(*g, "fg");
  ASSERT_NE(fg, nullptr);
  EXPECT_EQ(fg->domain, "com.microsoft");
  EXPECT_EQ(fg->opset, 1);
  EXPECT_EQ(g->opset_imports.at("com.microsoft"), 1);
}

TEST(OnnxImporterTest, SortsNodesTopologically) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {2});
  b.Node("Neg", {"b"}, {"c"}, {}, "third");
  b.Node("Relu", {"x"}, {"a"}, {}, "first");
  b.Node("Abs", {"a"}, {"b"}, {}, "second");
  b.Output("c");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->nodes.size(), 3u);
  EXPECT_EQ(g->nodes[0].name, "first");
  EXPECT_EQ(g->nodes[1].name, "second");
  EXPECT_EQ(g->nodes[2].name, "third");
}

TEST(OnnxImporterTest, CycleIsAnErrorNamingANode) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {2});
  b.Node("Add", {"x", "b"}, {"a"}, {}, "n1").Node("Relu", {"a"}, {"b"}, {}, "n2").Output("b");
  ExpectError(Import(b), StatusCode::kInvalidModel, {"node 'n"});
}

TEST(OnnxImporterTest, OptionalInputsAndOutputs) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {4}).Input("max", DType::kF32, {});
  b.Node("Clip", {"x", "", "max"}, {"y"}, {}, "clip");
  b.Node("Clip", {"y", "", ""}, {"z"}, {}, "clip2");
  b.Node("Dropout", {"z"}, {"d", ""}, {}, "drop");
  b.Output("d");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node* clip = FindNode(*g, "clip");
  ASSERT_NE(clip, nullptr);
  ASSERT_EQ(clip->inputs.size(), 3u);
  EXPECT_EQ(clip->inputs[1], Node::kNoValue);
  EXPECT_EQ(clip->num_present_inputs(), 2);
  // Trailing omitted inputs and outputs are dropped.
  EXPECT_EQ(FindNode(*g, "clip2")->inputs.size(), 1u);
  EXPECT_EQ(FindNode(*g, "drop")->outputs.size(), 1u);
}

TEST(OnnxImporterTest, UndefinedInputNamesTheNodeAndValue) {
  OnnxModelBuilder b;
  b.Opset(13)
      .Input("x", DType::kF32, {2})
      .Node("Add", {"x", "ghost"}, {"y"}, {}, "add0")
      .Output("y");
  ExpectError(Import(b), StatusCode::kInvalidModel, {"node 'add0' (Add)", "'ghost'"});
}

TEST(OnnxImporterTest, NamesWithControlCharactersKeepMessagesOnOneLine) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {2});
  b.Node("Add", {"x", "gh\nost"}, {"y"}, {}, "add\n0").Output("y");
  ExpectError(Import(b), StatusCode::kInvalidModel, {"node 'add\\x0a0' (Add)", "'gh\\x0aost'"});

  OnnxModelBuilder c;
  c.Opset(13).Input("x", DType::kF32, {2});
  c.Node("Add", {"x", std::string(100000, 'v')}, {"y"}, {}, std::string(100000, 'n')).Output("y");
  auto g = Import(c);
  ASSERT_FALSE(g.ok());
  EXPECT_LT(g.status().message().size(), 5000u);
}

TEST(OnnxImporterTest, ValueProducedTwiceIsAnError) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {2});
  b.Node("Relu", {"x"}, {"y"}, {}, "a").Node("Neg", {"x"}, {"y"}, {}, "b").Output("y");
  ExpectError(Import(b), StatusCode::kInvalidModel,
              {"value 'y' is defined twice", "node 'a' (Relu)", "node 'b' (Neg)"});

  OnnxModelBuilder c;
  c.Opset(13).Input("x", DType::kF32, {2}).Node("Relu", {"x"}, {"x"}, {}, "r").Output("x");
  ExpectError(Import(c), StatusCode::kInvalidModel, {"value 'x'", "graph input", "node 'r'"});

  OnnxModelBuilder d;
  d.Opset(13).Input("x", DType::kF32, {2}).Input("x", DType::kF32, {2}).Output("x");
  ExpectError(Import(d), StatusCode::kInvalidModel, {"value 'x' is defined twice"});

  OnnxModelBuilder e;
  e.Opset(13).Initializer("w", F32({1}, {1})).Initializer("w", F32({1}, {2}));
  e.Node("Identity", {"w"}, {"y"}).Output("y");
  ExpectError(Import(e), StatusCode::kInvalidModel, {"value 'w' is defined twice", "initializer"});
}

TEST(OnnxImporterTest, GraphLevelErrors) {
  {
    OnnxModelBuilder b;
    b.Opset(13).Input("x", DType::kF32, {2}).Node("Relu", {"x"}, {"y"});
    ExpectError(Import(b), StatusCode::kInvalidModel, {"no outputs"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    b.Output("nowhere");
    ExpectError(Import(b), StatusCode::kInvalidModel, {"graph output 'nowhere'"});
  }
  {
    OnnxModelBuilder b;
    b.Opset(13);
    auto* in = b.proto().mutable_graph()->add_input();
    in->set_name("seq");
    in->mutable_type()->mutable_sequence_type();
    b.Node("Identity", {"seq"}, {"y"}).Output("y");
    ExpectError(Import(b), StatusCode::kUnsupported, {"graph input 'seq'", "not a dense tensor"});
  }
  {
    OnnxModelBuilder b;
    b.Opset(13);
    b.proto().mutable_graph()->add_input()->set_name("untyped");
    b.Node("Identity", {"untyped"}, {"y"}).Output("y");
    ExpectError(Import(b), StatusCode::kInvalidModel, {"graph input 'untyped'", "no tensor"});
  }
  {
    OnnxModelBuilder b;
    b.Opset(13).Input("x", DType::kF32, {2, 5}).Node("Relu", {"x"}, {"y"}).Output("y");
    b.proto()
        .mutable_graph()
        ->mutable_input(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape()
        ->mutable_dim(1)
        ->set_dim_value(-5);
    ExpectError(Import(b), StatusCode::kInvalidModel, {"graph input 'x'", "negative dim -5"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    *b.last_node().add_attribute() = AttrInt("alpha", 1);
    *b.last_node().add_attribute() = AttrInt("alpha", 2);
    ExpectError(Import(b), StatusCode::kInvalidModel,
                {"node 'relu' (Relu)", "'alpha' appears twice"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    onnx::AttributeProto a;
    a.set_name("t");
    a.set_type(onnx::AttributeProto::TYPE_PROTO);
    *b.last_node().add_attribute() = a;
    ExpectError(Import(b), StatusCode::kUnsupported, {"node 'relu' (Relu): attribute 't'"});
  }
}

TEST(OnnxImporterTest, BadInitializersNameFileAndTensor) {
  {
    OnnxModelBuilder b = ReluModel();
    onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(2);
    w->add_dims(3);
    w->set_raw_data(std::string(7, '\0'));
    ExpectError(Import(b), StatusCode::kInvalidModel, {"tensor 'w'", "raw_data has 7 bytes"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
    w->set_name("huge");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(1000000000000LL);
    w->add_dims(1000000000000LL);
    ExpectError(Import(b), StatusCode::kInvalidModel, {"tensor 'huge'", "overflow"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
    w->set_name("big");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(3000000);
    w->add_dims(3000000);
    ExpectError(Import(b), StatusCode::kResourceExhausted, {"tensor 'big'"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
    w->set_name("neg");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(-1);
    ExpectError(Import(b), StatusCode::kInvalidModel, {"tensor 'neg'", "negative dim"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
    w->set_name("str");
    w->set_data_type(onnx::TensorProto::STRING);
    w->add_string_data("x");
    ExpectError(Import(b), StatusCode::kUnsupported, {"tensor 'str'", "STRING"});
  }
  {
    OnnxModelBuilder b = ReluModel();
    onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
    w->set_data_type(onnx::TensorProto::FLOAT);
    ExpectError(Import(b), StatusCode::kInvalidModel, {"initializer #0 has no name"});
  }
}

// A directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "edgerun_import_XXXXXX").string();
    path_ = ::mkdtemp(templ.data()) != nullptr ? templ : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& bytes) const {
    const std::string p = (fs::path(path_) / name).string();
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }

 private:
  std::string path_;
};

OnnxModelBuilder ExternalWeightModel(const std::string& location, int64_t offset) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {2});
  onnx::TensorProto* w = b.proto().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value(location);
  auto* off = w->add_external_data();
  off->set_key("offset");
  off->set_value(std::to_string(offset));
  b.Node("Add", {"x", "w"}, {"y"}).Output("y");
  return b;
}

TEST(OnnxImporterTest, ExternalDataRelativeToTheModelFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const float w[2] = {3.5f, -1.f};
  dir.Write("weights.bin", std::string("pad!") + std::string(reinterpret_cast<const char*>(w), 8));
  const std::string model =
      dir.Write("model.onnx", ExternalWeightModel("weights.bin", 4).Serialize());
  auto g = ImportOnnx(model);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const int wi = g->FindValue("w");
  ASSERT_GE(wi, 0);
  EXPECT_EQ(g->values[wi].constant->ToFloatVector(), (std::vector<float>{3.5f, -1.f}));
  EXPECT_EQ(
      g->data_files,
      (std::vector<std::string>{(std::filesystem::path(dir.path()) / "weights.bin").string()}));

  // Missing file and offset past the end: errors name the model, tensor and data file.
  const std::string missing =
      dir.Write("missing.onnx", ExternalWeightModel("absent.bin", 0).Serialize());
  auto g2 = ImportOnnx(missing);
  ASSERT_FALSE(g2.ok());
  EXPECT_EQ(g2.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(g2.status().message().rfind(missing + ": ", 0), 0u) << g2.status().message();
  EXPECT_NE(g2.status().message().find("tensor 'w'"), std::string::npos);
  EXPECT_NE(g2.status().message().find("absent.bin"), std::string::npos);

  const std::string past =
      dir.Write("past.onnx", ExternalWeightModel("weights.bin", 4096).Serialize());
  auto g3 = ImportOnnx(past);
  ASSERT_FALSE(g3.ok());
  EXPECT_NE(g3.status().message().find("tensor 'w'"), std::string::npos);
  EXPECT_NE(g3.status().message().find("offset 4096 is past the end"), std::string::npos)
      << g3.status().message();

  const std::string escape =
      dir.Write("escape.onnx", ExternalWeightModel("../weights.bin", 0).Serialize());
  EXPECT_EQ(ImportOnnx(escape).status().code(), StatusCode::kInvalidModel);
}

TEST(OnnxImporterTest, ControlFlowBodiesAreImported) {
  OnnxModelBuilder then_b;
  then_b.Constant("then_out", F32({1}, {1})).Output("then_out");
  OnnxModelBuilder else_b;
  else_b.Constant("k", F32({1}, {2})).Node("Neg", {"k"}, {"else_out"}).Output("else_out");
  // A body reading an outer-scope value cannot be represented and is kept as a null graph.
  OnnxModelBuilder outer_ref;
  outer_ref.Node("Neg", {"x"}, {"o"}).Output("o");

  OnnxModelBuilder b;
  b.Opset(13).Input("cond", DType::kBool, {}).Input("x", DType::kF32, {1});
  b.Node("If", {"cond"}, {"y"},
         {AttrGraph("then_branch", then_b.graph()), AttrGraph("else_branch", else_b.graph())},
         "if0");
  b.Node("If", {"cond"}, {"z"},
         {AttrGraph("then_branch", outer_ref.graph()), AttrGraph("else_branch", else_b.graph())},
         "if1");
  b.Output("y").Output("z");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node* if0 = FindNode(*g, "if0");
  ASSERT_NE(if0, nullptr);
  ASSERT_NE(if0->attr("then_branch"), nullptr);
  EXPECT_EQ(if0->attr("then_branch")->kind, Attribute::Kind::kGraph);
  ASSERT_NE(if0->attr("then_branch")->graph, nullptr);
  const Graph& then_g = *if0->attr("then_branch")->graph;
  ASSERT_EQ(then_g.outputs.size(), 1u);
  EXPECT_TRUE(then_g.values[then_g.outputs[0]].is_constant());
  ASSERT_NE(if0->attr("else_branch")->graph, nullptr);
  const Graph& else_g = *if0->attr("else_branch")->graph;
  ASSERT_EQ(else_g.nodes.size(), 1u);
  EXPECT_EQ(else_g.nodes[0].op_type, "Neg");
  EXPECT_EQ(else_g.nodes[0].opset, 13);

  const Node* if1 = FindNode(*g, "if1");
  ASSERT_NE(if1, nullptr);
  ASSERT_NE(if1->attr("then_branch"), nullptr);
  EXPECT_EQ(if1->attr("then_branch")->kind, Attribute::Kind::kGraph);
  EXPECT_EQ(if1->attr("then_branch")->graph, nullptr);
  EXPECT_NE(if1->attr("else_branch")->graph, nullptr);
}

TEST(OnnxImporterTest, CorruptBodyFailsTheModel) {
  OnnxModelBuilder body;
  body.Node("Neg", {"nowhere"}, {"o"}, {}, "inner").Output("o");
  OnnxModelBuilder b;
  b.Opset(13).Input("cond", DType::kBool, {});
  b.Node("If", {"cond"}, {"y"},
         {AttrGraph("then_branch", body.graph()), AttrGraph("else_branch", body.graph())}, "if0");
  b.Output("y");
  ExpectError(Import(b), StatusCode::kInvalidModel,
              {"node 'if0' (If): attribute 'then_branch'", "node 'inner' (Neg)", "'nowhere'"});
}

TEST(OnnxImporterTest, RejectsNonModels) {
  ExpectError(ImportOnnxFromBytes({}, kPath, ""), StatusCode::kInvalidModel, {"file is empty"});

  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
  const std::string png(kPng, sizeof(kPng) - 1);
  ExpectError(ImportOnnxFromBytes(AsBytes(png), kPath, ""), StatusCode::kInvalidModel,
              {"not an ONNX model"});
  const std::string text = "graph {\n  node { op_type: \"Relu\" }\n}\n";
  ExpectError(ImportOnnxFromBytes(AsBytes(text), kPath, ""), StatusCode::kInvalidModel,
              {"not an ONNX model"});

  onnx::ModelProto no_graph;
  no_graph.set_ir_version(8);
  no_graph.add_opset_import()->set_version(13);
  ExpectError(ImportOnnxFromBytes(AsBytes(no_graph.SerializeAsString()), kPath, ""),
              StatusCode::kInvalidModel, {"no graph"});
}

TEST(OnnxImporterTest, TruncatedModelsNeverCrash) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {1, 4});
  b.Initializer("w", F32({4}, {1, 2, 3, 4})).Node("Mul", {"x", "w"}, {"y"}, {}, "mul");
  b.Output("y");
  const std::string full = b.Serialize();
  ASSERT_TRUE(ImportOnnxFromBytes(AsBytes(full), kPath, "").ok());
  int errors = 0;
  for (size_t len = 1; len < full.size(); ++len) {
    auto g = ImportOnnxFromBytes(AsBytes(full.substr(0, len)), kPath, "");
    if (!g.ok()) {
      ++errors;
      EXPECT_EQ(g.status().message().rfind("model.onnx: ", 0), 0u) << g.status().message();
    }
  }
  // Most prefixes cut a field or lose the graph; at least the half-way one must fail.
  EXPECT_GT(errors, 0);
  EXPECT_FALSE(ImportOnnxFromBytes(AsBytes(full.substr(0, full.size() / 2)), kPath, "").ok());
}

TEST(OnnxImporterTest, RandomBytesAndBitFlipsNeverCrash) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 300; ++i) {
    std::string junk(1 + rng() % 512, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    auto g = ImportOnnxFromBytes(AsBytes(junk), kPath, "");
    if (!g.ok()) {
      EXPECT_EQ(g.status().message().rfind("model.onnx: ", 0), 0u);
    }
  }
  const std::string full = ReluModel().Serialize();
  for (int i = 0; i < 300; ++i) {
    std::string mutated = full;
    mutated[rng() % mutated.size()] ^= static_cast<char>(1 + rng() % 255);
    auto g = ImportOnnxFromBytes(AsBytes(mutated), kPath, "");
    if (!g.ok()) {
      EXPECT_EQ(g.status().message().rfind("model.onnx: ", 0), 0u);
    }
  }
}

TEST(OnnxImporterTest, BufferImportMatchesBytesImport) {
  const std::string bytes = ReluModel().Serialize();
  std::vector<std::byte> buffer(AsBytes(bytes).begin(), AsBytes(bytes).end());
  auto g = ImportOnnxFromBuffer(std::move(buffer), kPath, "");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].op_type, "Relu");
  EXPECT_EQ(g->nodes[0].opset, 13);
  ExpectError(ImportOnnxFromBuffer({}, kPath, ""), StatusCode::kInvalidModel, {"file is empty"});
}

TEST(OnnxImporterTest, ImportOnnxNamesMissingFile) {
  auto g = ImportOnnx("/nonexistent/dir/model.onnx");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kNotFound);
  EXPECT_NE(g.status().message().find("/nonexistent/dir/model.onnx"), std::string::npos);
}

// Every conformance model must import, or be refused as unsupported (strings, sequences,
// opsets older than 7) - never reported as corrupt.
TEST(OnnxImporterTest, ConformanceModelsImport) {
  const fs::path root = "/usr/include/onnx/backend/test/data/node";
  if (!fs::exists(root)) GTEST_SKIP() << "libonnx-testdata not installed";
  int imported = 0;
  int unsupported = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const fs::path model = entry.path() / "model.onnx";
    if (!fs::exists(model)) continue;
    auto g = ImportOnnx(model.string());
    if (g.ok()) {
      ++imported;
      EXPECT_EQ(g->source_format, "onnx");
      EXPECT_FALSE(g->outputs.empty()) << model;
    } else {
      EXPECT_EQ(g.status().code(), StatusCode::kUnsupported) << g.status().message();
      ++unsupported;
    }
  }
  EXPECT_GT(imported, 800);
  EXPECT_LT(unsupported, 100);
}

TEST(OnnxImporterTest, ConformanceModelWithControlFlow) {
  const fs::path model = "/usr/include/onnx/backend/test/data/node/test_if/model.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << "libonnx-testdata not installed";
  auto g = ImportOnnx(model.string());
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].op_type, "If");
  ASSERT_NE(g->nodes[0].attr("then_branch"), nullptr);
  ASSERT_NE(g->nodes[0].attr("then_branch")->graph, nullptr);
  EXPECT_EQ(g->nodes[0].attr("then_branch")->graph->outputs.size(), 1u);
}

}  // namespace
}  // namespace edgerun
