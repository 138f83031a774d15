// The split parse (ParseModelSplit, src/formats/onnx/onnx_io.cc) and the importer on top of it:
// initializer and Constant node tensors must be byte-identical to a plain protobuf parse decoded by
// TensorFromProto, for generated models covering every encoding and for the real fixtures;
// malformed files give one-line errors naming the file; a released initializer's pages go back to
// the OS.
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>
#include <onnx_lite/onnx.pb.h>

#include "edgerun/ir.h"
#include "edgerun/session.h"
#include "edgerun/tensor.h"
#include "formats/onnx/onnx_importer.h"
#include "formats/onnx/onnx_io.h"
#include "formats/onnx/onnx_tensor.h"
#include "util/onnx_model_builder.h"
#include "util/temp_dir.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;
using onnx::TensorProto;

std::span<const std::byte> AsBytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

template <typename T>
std::string BytesOf(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Field encoders for hand-made wire bytes (field orders protobuf itself never writes).
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string LengthField(int field, const std::string& payload) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(payload.size()) + payload;
}
std::string VarintField(int field, uint64_t v) {
  return Varint(static_cast<uint64_t>(field) << 3) + Varint(v);
}

// The reference: a full protobuf parse, every initializer and every Constant node's 'value' of
// the main graph decoded by TensorFromProto. Keyed by name (a Constant's by its output).
std::map<std::string, Tensor> ReferenceInitializers(std::span<const std::byte> bytes,
                                                    const std::string& base_dir) {
  onnx::ModelProto model;
  EXPECT_TRUE(ParseProtoFromBytes(bytes, &model));
  std::map<std::string, Tensor> out;
  for (const TensorProto& p : model.graph().initializer()) {
    auto t = TensorFromProto(p, base_dir);
    EXPECT_TRUE(t.ok()) << p.name() << ": " << t.status().message();
    if (t.ok()) out.emplace(p.name(), *t);
  }
  for (const onnx::NodeProto& n : model.graph().node()) {
    if (n.op_type() != "Constant" || n.output_size() != 1) continue;
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.name() != "value" || !a.has_t()) continue;
      auto t = TensorFromProto(a.t(), base_dir);
      EXPECT_TRUE(t.ok()) << n.output(0) << ": " << t.status().message();
      if (t.ok()) out.emplace(n.output(0), *t);
    }
  }
  return out;
}

// Every reference tensor is a constant of `g` with the same dtype, dims and bytes.
void ExpectSameInitializers(const Graph& g, const std::map<std::string, Tensor>& want) {
  for (const auto& [name, ref] : want) {
    SCOPED_TRACE("constant '" + name + "'");
    const int v = g.FindValue(name);
    ASSERT_GE(v, 0);
    ASSERT_TRUE(g.values[v].is_constant());
    const Tensor& t = *g.values[v].constant;
    EXPECT_EQ(t.dtype(), ref.dtype());
    EXPECT_EQ(t.dims(), ref.dims());
    ASSERT_EQ(t.bytes(), ref.bytes());
    ASSERT_NE(t.raw(), nullptr);
    EXPECT_EQ(std::memcmp(t.raw(), ref.raw(), ref.bytes()), 0);
    // Split-off and copied tensors are 64-byte aligned; raw_data strings taken over from a
    // streamed parse are malloc-aligned, enough for their element type.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % DTypeSize(t.dtype()), 0u);
  }
}

// `slice` holds exactly the bytes of `proto`'s raw_data, at an aligned offset.
void ExpectSliceHolds(const RawDataSlice& slice, const TensorProto& proto) {
  ASSERT_EQ(slice.length, proto.raw_data().size());
  EXPECT_EQ(slice.offset % kTensorAlignment, 0u);
  if (slice.length > 0) {
    EXPECT_EQ(std::memcmp(slice.bytes(), proto.raw_data().data(), slice.length), 0);
  }
}

class OnnxSplitTest : public testing::TempDirTest {
 protected:
  // Imports `bytes` from a file and from memory; both must match the reference.
  void ExpectImportMatchesReference(const std::string& bytes, const std::string& name) {
    const std::string path = Write(name, bytes);
    const auto want = ReferenceInitializers(AsBytes(bytes), dir_);
    auto from_file = ImportOnnx(path);
    ASSERT_TRUE(from_file.ok()) << from_file.status().message();
    ExpectSameInitializers(*from_file, want);
    auto from_bytes = ImportOnnxFromBytes(AsBytes(bytes), path, dir_);
    ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().message();
    ExpectSameInitializers(*from_bytes, want);

    // The split protos equal the plain parse with the main graph's raw_data removed.
    onnx::ModelProto split;
    SplitRawData raw;
    ASSERT_TRUE(ParseModelSplit(path, &split, &raw).ok());
    onnx::ModelProto full;
    ASSERT_TRUE(ParseProtoFromBytes(AsBytes(bytes), &full));
    ASSERT_EQ(raw.initializers.size(), static_cast<size_t>(full.graph().initializer_size()));
    for (int i = 0; i < full.graph().initializer_size(); ++i) {
      TensorProto* p = full.mutable_graph()->mutable_initializer(i);
      ASSERT_EQ(raw.initializers[i].has_value(), p->has_raw_data()) << p->name();
      if (p->has_raw_data()) ExpectSliceHolds(*raw.initializers[i], *p);
      p->clear_raw_data();
    }
    // Node attribute tensors (Constant's value and any other tensor attribute) likewise.
    ASSERT_EQ(raw.node_attributes.size(), static_cast<size_t>(full.graph().node_size()));
    for (int n = 0; n < full.graph().node_size(); ++n) {
      onnx::NodeProto* node = full.mutable_graph()->mutable_node(n);
      ASSERT_EQ(raw.node_attributes[n].size(), static_cast<size_t>(node->attribute_size()));
      for (int a = 0; a < node->attribute_size(); ++a) {
        onnx::AttributeProto* attr = node->mutable_attribute(a);
        const bool has_raw = attr->has_t() && attr->t().has_raw_data();
        ASSERT_EQ(raw.node_attributes[n][a].has_value(), has_raw) << "node " << n << " attr " << a;
        if (has_raw) {
          ExpectSliceHolds(*raw.node_attributes[n][a], attr->t());
          attr->mutable_t()->clear_raw_data();
        }
      }
    }
    EXPECT_EQ(split.SerializeAsString(), full.SerializeAsString());
  }
};

OnnxModelBuilder ModelWithInitializers() {
  std::vector<float> f32(3000);
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = static_cast<float>(i) * 0.25f - 100.f;
  const std::vector<int8_t> i8 = {-128, -1, 0, 1, 127, 42, -7};
  const std::vector<int64_t> i64 = {-5, 1LL << 40, 0, 3};
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {3000});
  b.Initializer("w_f32", Tensor::FromVector(DType::kF32, {3, 1000}, f32));
  b.Initializer("w_i8", Tensor::FromVector(DType::kI8, {7}, i8));
  b.Initializer("w_i64", Tensor::FromVector(DType::kI64, {2, 2}, i64));
  b.Initializer("w_scalar", Tensor::FromVector(DType::kF32, {}, std::vector<float>{2.5f}));
  b.Initializer("w_empty", Tensor::FromVector(DType::kF32, {0, 4}, std::vector<float>{}));
  // Bool bytes other than 0/1 are normalized, as TensorFromProto does.
  TensorProto bools;
  bools.set_name("w_bool");
  bools.set_data_type(TensorProto::BOOL);
  bools.add_dims(5);
  bools.set_raw_data(std::string("\x00\x01\x05\xff\x00", 5));
  *b.proto().mutable_graph()->add_initializer() = bools;
  // Typed-field encodings stay protobuf's.
  TensorProto typed;
  typed.set_name("w_float_data");
  typed.set_data_type(TensorProto::FLOAT);
  typed.add_dims(3);
  for (float f : {1.5f, -2.f, 1e30f}) typed.add_float_data(f);
  *b.proto().mutable_graph()->add_initializer() = typed;
  TensorProto ints;
  ints.set_name("w_int64_data");
  ints.set_data_type(TensorProto::INT64);
  ints.add_dims(2);
  ints.add_int64_data(-3);
  ints.add_int64_data(1LL << 50);
  *b.proto().mutable_graph()->add_initializer() = ints;
  b.Node("Mul", {"x", "w_f32"}, {"y"}, {}, "mul").Output("y");
  return b;
}

// A model whose weights are in Constant nodes (as PaddleOCR exports them) and in another tensor
// attribute (ConstantOfShape's value).
std::vector<float> BigConstant() {
  std::vector<float> big(4096);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * -0.5f + 3.f;
  return big;
}

std::string ModelWithConstantNodes() {
  const std::vector<float> big = BigConstant();
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {4096});
  b.Constant("c_big", Tensor::FromVector(DType::kF32, {64, 64}, big));
  b.Constant("c_i64", Tensor::FromVector(DType::kI64, {3}, std::vector<int64_t>{4096, -1, 7}));
  b.Node("Constant", {}, {"c_scalar"}, {AttrFloat("value_float", 1.5f)});
  b.Constant("c_shape", Tensor::FromVector(DType::kI64, {1}, std::vector<int64_t>{4096}));
  b.Node("ConstantOfShape", {"c_shape"}, {"filled"},
         {AttrTensor("value", Tensor::FromVector(DType::kF32, {1}, std::vector<float>{0.75f}))});
  b.Node("Reshape", {"x", "c_shape"}, {"flat"});
  b.Node("Add", {"flat", "filled"}, {"y"}).Output("y");
  return b.Serialize();
}

// Constant node and tensor attribute weights are split off too, and import as the plain parse
// decodes them.
TEST_F(OnnxSplitTest, ConstantNodeAndTensorAttributeWeightsMatchAPlainParse) {
  const std::vector<float> big = BigConstant();
  const std::string bytes = ModelWithConstantNodes();
  ExpectImportMatchesReference(bytes, "constants.onnx");

  auto g = ImportOnnx(Write("constants2.onnx", bytes));
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Tensor& c = *g->values[g->FindValue("c_big")].constant;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c.raw()) % kTensorAlignment, 0u) << "a split-off slice";
  EXPECT_EQ(c.data<float>()[4095], big[4095]);
  for (const Node& n : g->nodes) {
    if (n.op_type != "ConstantOfShape") continue;
    const Attribute* value = n.attr("value");
    ASSERT_NE(value, nullptr);
    ASSERT_NE(value->tensor, nullptr);
    EXPECT_EQ(value->tensor->data<float>()[0], 0.75f);
  }
}

TEST_F(OnnxSplitTest, InitializersOfEveryEncodingMatchAPlainParse) {
  const std::string bytes = ModelWithInitializers().Serialize();
  ExpectImportMatchesReference(bytes, "m.onnx");
  // And the bool tensor really is normalized.
  auto g = ImportOnnx(Write("m2.onnx", bytes));
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Tensor& b = *g->values[g->FindValue("w_bool")].constant;
  EXPECT_EQ(std::string(static_cast<const char*>(b.raw()), 5), std::string("\0\1\1\1\0", 5));
}

// The model with one more initializer whose fields come in the order given, appended to the
// graph's encoding (concatenated messages merge, so this is still a valid model).
std::string WithHandMadeInitializer(const OnnxModelBuilder& b, const std::string& tensor) {
  onnx::ModelProto model = b.proto();
  std::string graph = model.graph().SerializeAsString() + LengthField(5, tensor);
  model.clear_graph();
  return model.SerializeAsString() + LengthField(7, graph);
}

TEST_F(OnnxSplitTest, RawDataBeforeDimsAndRepeatedRawDataFields) {
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  // raw_data (9) before name (8), dims (1) and data_type (2).
  const std::string early = LengthField(9, BytesOf(v)) + LengthField(8, "early") +
                            VarintField(1, 2) + VarintField(1, 3) +
                            VarintField(2, TensorProto::FLOAT);
  ExpectImportMatchesReference(WithHandMadeInitializer(ModelWithInitializers(), early), "a.onnx");
  // Two raw_data fields: the last one counts, as in protobuf.
  const std::vector<float> first = {9, 9, 9, 9, 9, 9};
  const std::string twice = LengthField(9, BytesOf(first)) + LengthField(8, "twice") +
                            VarintField(1, 6) + VarintField(2, TensorProto::FLOAT) +
                            LengthField(9, BytesOf(v));
  ExpectImportMatchesReference(WithHandMadeInitializer(ModelWithInitializers(), twice), "b.onnx");
}

TEST_F(OnnxSplitTest, RepeatedGraphFieldsMergeLikeProtobuf) {
  OnnxModelBuilder b = ModelWithInitializers();
  OnnxModelBuilder more;
  more.Initializer("w_more", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{7, 8}));
  more.Node("Add", {"y", "w_more"}, {"z"}, {}, "add").Output("z");
  // A second `graph` field: its initializers, nodes and outputs are appended to the first's.
  const std::string bytes = b.Serialize() + LengthField(7, more.graph().SerializeAsString());
  ExpectImportMatchesReference(bytes, "merged.onnx");
  auto g = ImportOnnx(Write("merged2.onnx", bytes));
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->nodes.size(), 2u);
}

TEST_F(OnnxSplitTest, SubgraphInitializersAndExternalDataKeepTheirPaths) {
  // An If body with its own initializer: parsed by protobuf as before.
  OnnxModelBuilder body;
  body.Initializer("k", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{3, 4}));
  body.Node("Identity", {"k"}, {"o"}, {}, "inner").Output("o");
  OnnxModelBuilder b = ModelWithInitializers();
  b.Input("cond", DType::kBool, {});
  b.Node("If", {"cond"}, {"r"},
         {AttrGraph("then_branch", body.graph()), AttrGraph("else_branch", body.graph())}, "if0");
  b.Output("r");
  // External data next to the model.
  const std::vector<float> ext = {0.5f, -1.f, 2.f, 8.f};
  Write("weights.bin", std::string(16, 'x') + BytesOf(ext));
  TensorProto w;
  w.set_name("w_external");
  w.set_data_type(TensorProto::FLOAT);
  w.add_dims(4);
  w.set_data_location(TensorProto::EXTERNAL);
  for (auto [k, val] : {std::pair{"location", "weights.bin"}, {"offset", "16"}, {"length", "16"}}) {
    auto* e = w.add_external_data();
    e->set_key(k);
    e->set_value(val);
  }
  *b.proto().mutable_graph()->add_initializer() = w;
  const std::string bytes = b.Serialize();
  ExpectImportMatchesReference(bytes, "if.onnx");
  auto g = ImportOnnx(Write("if2.onnx", bytes));
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node* if0 = nullptr;
  for (const Node& n : g->nodes) {
    if (n.name == "if0") if0 = &n;
  }
  ASSERT_NE(if0, nullptr);
  const auto& then_graph = if0->attrs.at("then_branch").graph;
  ASSERT_NE(then_graph, nullptr);
  const Tensor& k = *then_graph->values[then_graph->FindValue("k")].constant;
  EXPECT_EQ(std::vector<float>(k.data<float>(), k.data<float>() + 2), (std::vector<float>{3, 4}));
}

// Size mismatches give TensorFromProto's one-line message, whichever path decoded the bytes.
TEST_F(OnnxSplitTest, RawDataSizeMismatchGivesTheUsualError) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {2});
  TensorProto bad;
  bad.set_name("w");
  bad.set_data_type(TensorProto::FLOAT);
  bad.add_dims(2);
  bad.set_raw_data(std::string(7, '\1'));
  *b.proto().mutable_graph()->add_initializer() = bad;
  b.Node("Mul", {"x", "w"}, {"y"}, {}, "mul").Output("y");
  const std::string path = Write("bad.onnx", b.Serialize());
  auto old_style = TensorFromProto(bad, "");
  ASSERT_FALSE(old_style.ok());
  auto g = ImportOnnx(path);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(g.status().message(), path + ": initializer: " + old_style.status().message());
  EXPECT_NE(g.status().message().find("raw_data has 7 bytes"), std::string::npos);
}

// Checks a failed import: InvalidModel, one line, naming the file, containing `part`.
void ExpectMalformed(const Expected<Graph>& g, const std::string& path, const std::string& part) {
  ASSERT_FALSE(g.ok());
  const std::string& msg = g.status().message();
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidModel) << msg;
  EXPECT_EQ(msg.rfind(path + ": not an ONNX model (protobuf parsing failed", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' in: " << msg;
}

TEST_F(OnnxSplitTest, EveryTruncationIsAOneLineErrorOrAValidModel) {
  // Cuts inside a Constant node's tensor: errors name the file, never a crash.
  {
    const std::string full = ModelWithConstantNodes();
    for (size_t len = 0; len < full.size(); len += len < 200 ? 1 : 53) {
      auto g = ImportOnnxFromBytes(AsBytes(full.substr(0, len)), "c.onnx", "");
      if (!g.ok()) {
        EXPECT_EQ(g.status().message().rfind("c.onnx: ", 0), 0u) << g.status().message();
        EXPECT_EQ(g.status().message().find('\n'), std::string::npos);
      }
    }
    const std::string path = Write("c_half.onnx", full.substr(0, full.size() / 2));
    ExpectMalformed(ImportOnnx(path), path, "runs past the end of the file");
  }
  const std::string full = ModelWithInitializers().Serialize();
  int errors = 0;
  // Every prefix through memory; a spread of them through a file (the streamed path).
  for (size_t len = 0; len < full.size(); ++len) {
    const std::string cut = full.substr(0, len);
    auto g = ImportOnnxFromBytes(AsBytes(cut), "m.onnx", "");
    if (!g.ok()) {
      ++errors;
      EXPECT_EQ(g.status().message().rfind("m.onnx: ", 0), 0u) << g.status().message();
      EXPECT_EQ(g.status().message().find('\n'), std::string::npos);
    }
    if (len % 97 == 0 || len + 20 > full.size()) {
      const std::string path = Write("cut.onnx", cut);
      auto f = ImportOnnx(path);
      EXPECT_EQ(f.ok(), g.ok()) << len;
      if (!f.ok()) {
        EXPECT_EQ(f.status().message().rfind(path + ": ", 0), 0u) << f.status().message();
        EXPECT_EQ(f.status().message().find('\n'), std::string::npos);
      }
    }
  }
  EXPECT_GT(errors, static_cast<int>(full.size()) / 2);
  // Cut inside the big initializer's raw_data: the graph holding it now runs past the end.
  const std::string path = Write("half.onnx", full.substr(0, full.size() / 2));
  ExpectMalformed(ImportOnnx(path), path, "graph of ");
  ExpectMalformed(ImportOnnx(path), path, "runs past the end of the file");
}

TEST_F(OnnxSplitTest, LengthsPastTheirEnclosingMessageAndGarbageAreErrors) {
  // An initializer claiming more bytes than its graph holds (the file has them: a trailing
  // field follows the graph).
  const std::string tensor = LengthField(8, "w") + LengthField(9, std::string(8, '\0'));
  std::string graph = LengthField(5, tensor);
  graph[1] = static_cast<char>(graph[1] + 4);  // initializer length 4 bytes too long
  const std::string bytes = LengthField(7, graph) + VarintField(1, 8) + VarintField(1, 8);
  const std::string path = Write("nested.onnx", bytes);
  ExpectMalformed(ImportOnnx(path), path, "initializer #0 of");
  ExpectMalformed(ImportOnnx(path), path, "past the end of its enclosing message");
  ExpectMalformed(ImportOnnxFromBytes(AsBytes(bytes), path, ""), path, "enclosing message");

  // raw_data longer than its initializer, then longer than the file.
  const std::string tensor2 = LengthField(8, "w") + LengthField(9, std::string(8, '\0'));
  std::string graph2 = LengthField(5, tensor2 + VarintField(2, 1) + VarintField(2, 1));
  const size_t raw_length_at = graph2.size() - 4 - 8 - 1;
  graph2[raw_length_at] = 13;  // 8 -> 13: past the initializer's 12 remaining bytes
  const std::string tail = VarintField(1, 8) + VarintField(1, 8);
  const std::string path2 = Write("raw.onnx", LengthField(7, graph2) + tail);
  ExpectMalformed(ImportOnnx(path2), path2, "raw_data of initializer #0 of 13 bytes");
  ExpectMalformed(ImportOnnx(path2), path2, "past the end of its enclosing message");
  graph2[raw_length_at] = 100;
  const std::string path2b = Write("raw_eof.onnx", LengthField(7, graph2) + tail);
  ExpectMalformed(ImportOnnx(path2b), path2b,
                  "raw_data of initializer #0 of 100 bytes runs past the end of the file");

  // A graph claiming more bytes than the file has.
  const std::string path3 = Write("graph.onnx", Varint(7 << 3 | 2) + Varint(1000) + "abc");
  ExpectMalformed(ImportOnnx(path3), path3,
                  "graph of 1000 bytes runs past the end of the file at byte 0");

  // Encodings CodedInputStream accepts but protobuf's parser refuses: a 6-byte tag (inside the
  // graph) and a 6-byte length prefix. Groups are refused outright.
  const std::string long_tag = LengthField(7, std::string("\x88\x80\x80\x80\x80\x00\x01", 7));
  const std::string p4 = Write("long_tag.onnx", long_tag);
  ExpectMalformed(ImportOnnx(p4), p4, "invalid or truncated field tag at byte 2");
  const std::string long_length = std::string("\x3a\x80\x80\x80\x80\x80\x00", 7);
  const std::string p5 = Write("long_length.onnx", long_length);
  ExpectMalformed(ImportOnnx(p5), p5, "invalid or truncated length of graph at byte 0");
  const std::string p6 = Write("group.onnx", LengthField(7, std::string("\x0b\x08\x01\x0c", 4)));
  ExpectMalformed(ImportOnnx(p6), p6, "group fields are not supported at byte 2");

  // Garbage: an unterminated varint, a zero tag, an end-group tag.
  for (const std::string& junk : {std::string(16, '\xff'), std::string("\x08\x01\x00\x08", 4),
                                  std::string("\x0c\x08\x01", 3)}) {
    const std::string p = Write("junk.onnx", junk);
    ExpectMalformed(ImportOnnx(p), p, "");
  }
}

// After the last reference to an initializer goes, its pages are no longer resident, while the
// rest of the shared buffer stays usable: "big2" shares the buffer of "big"'s place (both are
// large enough to stay in the mapped file until read), "small" the one of copied tensors.
TEST_F(OnnxSplitTest, ReleasedInitializersGiveTheirPagesBack) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const std::vector<float> big(1 << 20, 1.5f);  // 4 MiB
  const std::vector<float> big2(1 << 12, 2.5f);
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {1 << 20});
  b.Initializer("small", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{1, 2}));
  b.Initializer("big", Tensor::FromVector(DType::kF32, {1 << 20}, big));
  b.Initializer("big2", Tensor::FromVector(DType::kF32, {1 << 12}, big2));
  b.Node("Mul", {"x", "big"}, {"y"}, {}, "mul").Output("y");
  const std::string path = Write("big.onnx", b.Serialize());

  Tensor small, other;
  const std::byte* begin = nullptr;
  size_t pages = 0;
  auto resident = [&] {
    std::vector<unsigned char> vec(pages);
    EXPECT_EQ(::mincore(const_cast<std::byte*>(begin), pages * page, vec.data()), 0);
    size_t n = 0;
    for (unsigned char c : vec) n += c & 1;
    return n;
  };
  {
    auto g = ImportOnnx(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    small = *g->values[g->FindValue("small")].constant;
    other = *g->values[g->FindValue("big2")].constant;
    const Tensor& t = *g->values[g->FindValue("big")].constant;
    const auto start = reinterpret_cast<uintptr_t>(t.raw());  // copied out of the file here
    const uintptr_t first = (start + page - 1) / page * page;
    const uintptr_t last = (start + t.bytes()) / page * page;
    ASSERT_GT(last, first);
    begin = reinterpret_cast<const std::byte*>(first);
    pages = (last - first) / page;
    EXPECT_EQ(resident(), pages);
  }
  // The graph (the only holder of "big") is gone; the buffers live on through the others.
  EXPECT_EQ(resident(), 0u);
  EXPECT_EQ(std::vector<float>(small.data<float>(), small.data<float>() + 2),
            (std::vector<float>{1, 2}));
  EXPECT_EQ(other.data<float>()[4095], 2.5f);
}

// Weights stay in the mapped model file until something reads them: the importer only reserves
// their aligned place. Small tensors are copied at once (shape logic reads them anyway).
TEST_F(OnnxSplitTest, LargeInitializersAreReadFromTheMappedFile) {
  std::vector<float> big(4096 + 3);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.25f;
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {static_cast<int64_t>(big.size())});
  b.Initializer("small", Tensor::FromVector(DType::kF32, {2}, std::vector<float>{1, 2}));
  b.Initializer("big", Tensor::FromVector(DType::kF32, {static_cast<int64_t>(big.size())}, big));
  b.Node("Mul", {"x", "big"}, {"y"}, {}, "mul").Output("y");
  const std::string path = Write("mapped.onnx", b.Serialize());
  auto g = ImportOnnx(path);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Tensor& small = *g->values[g->FindValue("small")].constant;
  EXPECT_FALSE(small.copy_pending());
  const Tensor& t = *g->values[g->FindValue("big")].constant;
  ASSERT_TRUE(t.copy_pending());
  EXPECT_EQ(std::memcmp(t.UnalignedBytes(), big.data(), t.bytes()), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % kTensorAlignment, 0u);
  EXPECT_FALSE(t.copy_pending());
  EXPECT_EQ(std::memcmp(t.raw(), big.data(), t.bytes()), 0);
  // From memory there is no file to map: the bytes are copied while parsing.
  const std::string bytes = b.Serialize();
  auto from_bytes = ImportOnnxFromBytes(AsBytes(bytes), path, dir_);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().message();
  EXPECT_FALSE(from_bytes->values[from_bytes->FindValue("big")].constant->copy_pending());
}

// A session holds nothing of the model file once created: truncating the file in place (which
// makes reads through a mapping of it fault) changes nothing, for weights packed from the file
// (the conv's) and weights a kernel reads as they are (the Add's).
TEST_F(OnnxSplitTest, SessionHoldsNothingOfTheModelFile) {
  const int64_t c = 32;
  std::vector<float> w(static_cast<size_t>(c * c * 3 * 3)), addend(static_cast<size_t>(c * 8 * 8));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i)) * 0.1f;
  for (size_t i = 0; i < addend.size(); ++i) addend[i] = static_cast<float>(i % 7) - 3.f;
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {1, c, 8, 8});
  b.Initializer("w", Tensor::FromVector(DType::kF32, {c, c, 3, 3}, w));
  b.Initializer("addend", Tensor::FromVector(DType::kF32, {1, c, 8, 8}, addend));
  b.Node("Conv", {"x", "w"}, {"conv"}, {AttrInts("pads", {1, 1, 1, 1})}, "conv");
  b.Node("Add", {"conv", "addend"}, {"y"}, {}, "add").Output("y");
  const std::string bytes = b.Serialize();
  const std::string kept = Write("kept.onnx", bytes);
  const std::string truncated = Write("truncated.onnx", bytes);

  std::vector<float> x(static_cast<size_t>(c * 8 * 8));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i));
  const std::vector<int64_t> dims = {1, c, 8, 8};
  // `path` empty: the model parsed from memory, where nothing is deferred.
  auto run = [&](const std::string& path, bool truncate_after_load) {
    Expected<Model> model = Model{};
    if (path.empty()) {
      auto g = ImportOnnxFromBytes(AsBytes(bytes), "memory.onnx", dir_);
      EXPECT_TRUE(g.ok()) << g.status().message();
      model->graph = std::move(*g);
    } else {
      model = LoadModel(path);
    }
    EXPECT_TRUE(model.ok()) << model.status().message();
    auto session = Session::Create(std::move(*model), SessionOptions{});
    EXPECT_TRUE(session.ok()) << session.status().message();
    if (truncate_after_load) fs::resize_file(path, 0);
    auto in = TensorView::Make(DType::kF32, dims, x.data());
    EXPECT_TRUE((*session)->SetInput(0, *in).ok());
    EXPECT_TRUE((*session)->Run().ok());
    const TensorView y = (*session)->output(0);
    return std::vector<float>(y.data<float>(), y.data<float>() + x.size());
  };
  const std::vector<float> want = run("", false);
  EXPECT_EQ(run(kept, false), want);
  EXPECT_EQ(run(truncated, true), want);
  EXPECT_EQ(fs::file_size(truncated), 0u);
}

fs::path CacheDir() {
  if (const char* c = std::getenv("EDGERUN_CACHE"); c != nullptr && *c != '\0') return c;
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : ".") / ".cache" / "edgerun";
}

// Every real fixture present: the split import gives the plain parse's initializers.
TEST_F(OnnxSplitTest, RealFixtureModelsMatchAPlainParse) {
  const fs::path models = CacheDir() / "models";
  std::error_code ec;
  if (!fs::is_directory(models, ec)) {
    GTEST_SKIP() << models.string() << " is absent (scripts/fetch_fixtures.sh fills it)";
  }
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(models, ec)) {
    const fs::path model = entry.path() / "model.onnx";
    if (!fs::is_regular_file(model, ec)) continue;
    SCOPED_TRACE(model.string());
    auto bytes = ReadFileBytes(model.string(), kMaxProtoBytes);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    const auto want = ReferenceInitializers(*bytes, model.parent_path().string());
    auto g = ImportOnnx(model.string());
    ASSERT_TRUE(g.ok()) << g.status().message();
    ExpectSameInitializers(*g, want);
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no fixture models in " << models.string();
}

}  // namespace
}  // namespace edgerun
