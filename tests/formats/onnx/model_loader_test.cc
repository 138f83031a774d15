// Tests for LoadModel (src/formats/model_loader.cc), which detects the format by content.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "edgerun/dtype.h"
#include "edgerun/session.h"
#include "util/onnx_model_builder.h"
#include "util/temp_dir.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

class ModelLoaderTest : public testing::TempDirTest {};

TEST_F(ModelLoaderTest, LoadsOnnx) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {1, 4}).Node("Relu", {"x"}, {"y"}).Output("y");
  const std::string path = (fs::path(dir_) / "relu.onnx").string();
  ASSERT_TRUE(b.WriteTo(path).ok());
  auto m = LoadModel(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->path, path);
  EXPECT_EQ(m->graph.source_format, "onnx");
  ASSERT_EQ(m->graph.nodes.size(), 1u);
  EXPECT_EQ(m->graph.nodes[0].op_type, "Relu");
}

TEST_F(ModelLoaderTest, WriteToTempProducesALoadableFile) {
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {2}).Node("Neg", {"x"}, {"y"}).Output("y");
  auto path = b.WriteToTemp("neg");
  ASSERT_TRUE(path.ok()) << path.status().message();
  auto m = LoadModel(*path);
  std::error_code ec;
  fs::remove(*path, ec);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->graph.nodes[0].op_type, "Neg");
}

TEST_F(ModelLoaderTest, MissingEmptyAndDirectoryErrorsNameThePath) {
  const std::string missing = (fs::path(dir_) / "missing.onnx").string();
  auto m1 = LoadModel(missing);
  ASSERT_FALSE(m1.ok());
  EXPECT_EQ(m1.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m1.status().message().find(missing), std::string::npos);

  const std::string empty = Write("empty.onnx", "");
  auto m2 = LoadModel(empty);
  ASSERT_FALSE(m2.ok());
  EXPECT_EQ(m2.status().message(), empty + ": file is empty");

  auto m3 = LoadModel(dir_);
  ASSERT_FALSE(m3.ok());
  EXPECT_NE(m3.status().message().find(dir_), std::string::npos);
}

TEST_F(ModelLoaderTest, DetectsTflite) {
  std::string flatbuffer(64, '\0');
  flatbuffer[0] = 0x1c;
  flatbuffer.replace(4, 4, "TFL3");
  const std::string path = Write("model.tflite", flatbuffer);
  auto m = LoadModel(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(m.status().message(), path +
                                      ": this is a TFLite model; edgerun reads only ONNX today "
                                      "(the TFLite importer is planned)");
}

TEST_F(ModelLoaderTest, FilesShorterThanTheTfliteHeaderAreTriedAsOnnx) {
  // "TFL3" but no room for the root offset before it: not TFLite; as protobuf, no graph.
  const std::string path = Write("short.bin", "\x08\x07TFL");
  auto m = LoadModel(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(m.status().message().rfind(path + ": not an ONNX model", 0), 0u)
      << m.status().message();
}

TEST_F(ModelLoaderTest, RejectsOtherFiles) {
  const std::string text = Write("notes.txt", "just some text, not a model\n");
  auto m = LoadModel(text);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(m.status().message().rfind(text + ": ", 0), 0u) << m.status().message();
}

TEST_F(ModelLoaderTest, TruncatedAndNonProtobufFilesAreOneLineErrorsNamingTheFile) {
  std::vector<float> w(4096, 0.5f);
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {4096});
  b.Initializer("w", Tensor::FromVector(DType::kF32, {4096}, w));
  b.Node("Mul", {"x", "w"}, {"y"}, {}, "mul").Output("y");
  const std::string full = b.Serialize();
  ASSERT_TRUE(LoadModel(Write("full.onnx", full)).ok());

  const std::string cut = Write("cut.onnx", full.substr(0, full.size() / 2));
  const std::string junk = Write("junk.onnx", std::string(64, '\xff'));
  for (const std::string& path : {cut, junk}) {
    auto m = LoadModel(path);
    ASSERT_FALSE(m.ok()) << path;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidModel);
    // The parse says where it failed after this prefix.
    EXPECT_EQ(m.status().message().rfind(path + ": not an ONNX model (protobuf parsing failed", 0),
              0u)
        << m.status().message();
    EXPECT_EQ(m.status().message().find('\n'), std::string::npos) << m.status().message();
  }
}

TEST_F(ModelLoaderTest, RawDataInitializersOfEveryCommonDTypeLoadWithTheirValues) {
  auto raw = [](const std::string& name, int32_t type, std::vector<int64_t> dims,
                std::string bytes) {
    onnx::TensorProto p;
    p.set_name(name);
    p.set_data_type(type);
    for (int64_t d : dims) p.add_dims(d);
    p.set_raw_data(std::move(bytes));
    return p;
  };
  auto bytes_of = [](const auto& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  const std::vector<float> f32 = {1.f, -2.5f, 3.25f, 1e-3f, 7.f, -0.f};
  const std::vector<int64_t> i64 = {-3, 1LL << 50, 0};
  const std::vector<uint16_t> f16 = {FloatToHalf(0.5f), FloatToHalf(-3.f), FloatToHalf(1024.f),
                                     FloatToHalf(0.f)};
  const std::vector<uint8_t> u8 = {0, 7, 200, 255, 1};
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {1});
  auto* graph = b.proto().mutable_graph();
  *graph->add_initializer() = raw("w_f32", onnx::TensorProto::FLOAT, {2, 3}, bytes_of(f32));
  *graph->add_initializer() = raw("w_i64", onnx::TensorProto::INT64, {3}, bytes_of(i64));
  *graph->add_initializer() = raw("w_f16", onnx::TensorProto::FLOAT16, {2, 2}, bytes_of(f16));
  // Bool bytes other than 0/1 are normalized (the copy path).
  *graph->add_initializer() =
      raw("w_bool", onnx::TensorProto::BOOL, {3}, std::string("\x00\x01\x05", 3));
  *graph->add_initializer() = raw("w_u8", onnx::TensorProto::UINT8, {5}, bytes_of(u8));
  std::vector<std::string> outputs;
  for (const char* name : {"w_f32", "w_i64", "w_f16", "w_bool", "w_u8"}) {
    const std::string out = std::string(name) + "_out";
    b.Node("Identity", {name}, {out}, {}, std::string("id_") + name).Output(out);
  }
  b.Node("Relu", {"x"}, {"y"}, {}, "relu").Output("y");
  const std::string path = (fs::path(dir_) / "dtypes.onnx").string();
  ASSERT_TRUE(b.WriteTo(path).ok());

  auto m = LoadModel(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const Graph& g = m->graph;
  auto constant = [&](const std::string& name) -> const Tensor* {
    const int v = g.FindValue(name);
    if (v < 0 || !g.values[v].is_constant()) return nullptr;
    return g.values[v].constant.get();
  };
  auto expect = [&](const std::string& name, DType dtype, std::vector<int64_t> dims,
                    const std::string& want_bytes) {
    SCOPED_TRACE(name);
    const Tensor* t = constant(name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype(), dtype);
    EXPECT_EQ(t->dims(), dims);
    ASSERT_EQ(t->bytes(), want_bytes.size());
    ASSERT_NE(t->raw(), nullptr);
    EXPECT_EQ(std::string(static_cast<const char*>(t->raw()), t->bytes()), want_bytes);
  };
  expect("w_f32", DType::kF32, {2, 3}, bytes_of(f32));
  expect("w_i64", DType::kI64, {3}, bytes_of(i64));
  expect("w_f16", DType::kF16, {2, 2}, bytes_of(f16));
  expect("w_bool", DType::kBool, {3}, std::string("\x00\x01\x01", 3));
  expect("w_u8", DType::kU8, {5}, bytes_of(u8));

  // And the values survive a session (constants feeding Identity fold to outputs).
  auto s = Session::Create(*m, SessionOptions{});
  ASSERT_TRUE(s.ok()) << s.status().message();
  const int o = (*s)->FindOutput("w_f32_out");
  ASSERT_GE(o, 0);
  ASSERT_TRUE((*s)->Run().ok());
  const TensorView v = (*s)->output(o);
  EXPECT_EQ(std::vector<float>(v.data<float>(), v.data<float>() + v.num_elements()), f32);
}

}  // namespace
}  // namespace edgerun
