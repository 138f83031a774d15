// Tests for LoadModel (src/formats/model_loader.cc), which detects the format by content.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "edgerun/session.h"
#include "util/onnx_model_builder.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

class ModelLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "edgerun_loader_XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string p = (fs::path(dir_) / name).string();
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string dir_;
};

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
  EXPECT_EQ(m.status().message(), path + ": this is a TFLite model; edgerun reads only ONNX today (the TFLite importer is planned)");
}

TEST_F(ModelLoaderTest, RejectsOtherFiles) {
  const std::string text = Write("notes.txt", "just some text, not a model\n");
  auto m = LoadModel(text);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(m.status().message().rfind(text + ": ", 0), 0u) << m.status().message();
}

}  // namespace
}  // namespace edgerun
