// ParseProtoFromFile and ReadFilePrefix (src/formats/onnx/onnx_io.cc): the streamed parse gives
// `false` for malformed files and an error naming the file for unreadable ones. The split parse
// has its own tests (onnx_split_test.cc).
#include "formats/onnx/onnx_io.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <onnx_lite/onnx.pb.h>

#include "edgerun/tensor.h"
#include "util/onnx_model_builder.h"
#include "util/temp_dir.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

class OnnxIoTest : public testing::TempDirTest {};

// A model large enough that the streamed parse needs several 64 KiB buffer refills.
std::string BigModelBytes() {
  std::vector<float> w(50000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 977) - 400.f;
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {50000});
  b.Initializer("w", Tensor::FromVector(DType::kF32, {50000}, w));
  b.Node("Mul", {"x", "w"}, {"y"}, {}, "mul").Output("y");
  return b.Serialize();
}

TEST_F(OnnxIoTest, ParsesAWholeFileLikeTheInMemoryParse) {
  const std::string bytes = BigModelBytes();
  const std::string path = Write("big.onnx", bytes);
  onnx::ModelProto streamed;
  auto ok = ParseProtoFromFile(path, kMaxProtoBytes, &streamed);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(*ok);
  onnx::ModelProto direct;
  ASSERT_TRUE(direct.ParseFromString(bytes));
  EXPECT_EQ(streamed.SerializeAsString(), direct.SerializeAsString());
}

TEST_F(OnnxIoTest, TruncatedAndNonProtobufFilesGiveFalse) {
  const std::string bytes = BigModelBytes();
  for (size_t len : {bytes.size() / 2, bytes.size() - 1, size_t{70000}}) {
    SCOPED_TRACE("truncated to " + std::to_string(len));
    const std::string path = Write("cut.onnx", bytes.substr(0, len));
    onnx::ModelProto m;
    auto ok = ParseProtoFromFile(path, kMaxProtoBytes, &m);
    ASSERT_TRUE(ok.ok()) << ok.status().message();
    EXPECT_FALSE(*ok);
  }
  // An unterminated varint tag: no protobuf parser can accept it.
  const std::string junk = Write("junk.bin", std::string(16, '\xff'));
  onnx::ModelProto m;
  auto ok = ParseProtoFromFile(junk, kMaxProtoBytes, &m);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_FALSE(*ok);
}

TEST_F(OnnxIoTest, UnreadableFilesAreErrorsNamingThePath) {
  onnx::ModelProto m;
  const std::string missing = (fs::path(dir_) / "missing.onnx").string();
  auto r1 = ParseProtoFromFile(missing, kMaxProtoBytes, &m);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r1.status().message().find(missing), std::string::npos) << r1.status().message();

  auto r2 = ParseProtoFromFile(dir_, kMaxProtoBytes, &m);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find(dir_), std::string::npos) << r2.status().message();

  const std::string big = Write("big.onnx", BigModelBytes());
  auto r3 = ParseProtoFromFile(big, 1000, &m);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r3.status().message().find(big), std::string::npos) << r3.status().message();
}

TEST_F(OnnxIoTest, ReadFilePrefixReadsTheFirstBytes) {
  const std::string path = Write("f.bin", "0123456789abcdef");
  auto head = ReadFilePrefix(path, 8, kMaxProtoBytes);
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(*head, "01234567");
  auto whole = ReadFilePrefix(path, 100, kMaxProtoBytes);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(*whole, "0123456789abcdef");

  auto empty = ReadFilePrefix(Write("empty.bin", ""), 8, kMaxProtoBytes);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->empty());

  const std::string missing = (fs::path(dir_) / "nope").string();
  auto r1 = ReadFilePrefix(missing, 8, kMaxProtoBytes);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r1.status().message().find(missing), std::string::npos);
  auto r2 = ReadFilePrefix(dir_, 8, kMaxProtoBytes);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kInvalidArgument);
  auto r3 = ReadFilePrefix(path, 8, 10);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace edgerun
