#include "formats/onnx/onnx_tensor.h"

#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "edgerun/dtype.h"
#include "edgerun/tensor.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;
using onnx::TensorProto;

// A fresh directory under the temp dir, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "edgerun_tensor_XXXXXX").string();
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

template <typename T>
std::string Bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <typename T>
std::vector<T> Elements(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.num_elements());
}

TensorProto MakeProto(const std::string& name, int32_t type, std::vector<int64_t> dims) {
  TensorProto p;
  p.set_name(name);
  p.set_data_type(type);
  for (int64_t d : dims) p.add_dims(d);
  return p;
}

TEST(OnnxTensorTest, DTypeMappingRoundTrips) {
  for (DType t :
       {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8, DType::kU8, DType::kI16,
        DType::kU16, DType::kI32, DType::kU32, DType::kI64, DType::kU64, DType::kBool}) {
    auto back = DTypeFromOnnx(OnnxFromDType(t));
    ASSERT_TRUE(back.ok()) << DTypeName(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(DTypeFromOnnx(TensorProto::STRING).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(DTypeFromOnnx(TensorProto::COMPLEX64).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(DTypeFromOnnx(TensorProto::UNDEFINED).status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(DTypeFromOnnx(99).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(OnnxDataTypeName(TensorProto::FLOAT16), "FLOAT16");
}

TEST(OnnxTensorTest, RawDataF32) {
  TensorProto p = MakeProto("w", TensorProto::FLOAT, {2, 3});
  p.set_raw_data(Bytes(std::vector<float>{1, 2, 3, 4, 5, -6.5f}));
  auto t = TensorFromProto(p, "");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::kF32);
  EXPECT_EQ(t->dims(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Elements<float>(*t), (std::vector<float>{1, 2, 3, 4, 5, -6.5f}));
}

TEST(OnnxTensorTest, RawDataEveryDTypeRoundTripsThroughTensorToProto) {
  const std::vector<uint8_t> payload = {1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0};
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8, DType::kU8,
                  DType::kI16, DType::kU16, DType::kI32, DType::kU32, DType::kI64, DType::kU64}) {
    const int64_t n = static_cast<int64_t>(payload.size() / DTypeSize(t));
    auto src = Tensor::FromBytes(t, {n}, payload.data(), payload.size());
    ASSERT_TRUE(src.ok());
    TensorProto p;
    ASSERT_TRUE(TensorToProto(*src, "x", &p).ok());
    EXPECT_EQ(p.data_type(), OnnxFromDType(t));
    auto back = TensorFromProto(p, "");
    ASSERT_TRUE(back.ok()) << DTypeName(t) << ": " << back.status().message();
    EXPECT_EQ(back->dtype(), t);
    EXPECT_EQ(back->dims(), (std::vector<int64_t>{n}));
    ASSERT_EQ(back->bytes(), payload.size());
    EXPECT_EQ(std::memcmp(back->raw(), payload.data(), payload.size()), 0) << DTypeName(t);
  }
}

TEST(OnnxTensorTest, RawBoolIsNormalizedToZeroOrOne) {
  TensorProto p = MakeProto("b", TensorProto::BOOL, {4});
  p.set_raw_data(std::string("\x00\x01\x07\xff", 4));
  auto t = TensorFromProto(p, "");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Elements<uint8_t>(*t), (std::vector<uint8_t>{0, 1, 1, 1}));
}

TEST(OnnxTensorTest, TypedFields) {
  {
    TensorProto p = MakeProto("f", TensorProto::FLOAT, {3});
    for (float v : {1.5f, -2.f, 0.25f}) p.add_float_data(v);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<float>(*t), (std::vector<float>{1.5f, -2.f, 0.25f}));
  }
  {
    TensorProto p = MakeProto("d", TensorProto::DOUBLE, {2});
    p.add_double_data(1e300);
    p.add_double_data(-0.5);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<double>(*t), (std::vector<double>{1e300, -0.5}));
  }
  {
    TensorProto p = MakeProto("i64", TensorProto::INT64, {2});
    p.add_int64_data(-9000000000LL);
    p.add_int64_data(7);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<int64_t>(*t), (std::vector<int64_t>{-9000000000LL, 7}));
  }
  {
    TensorProto p = MakeProto("i32", TensorProto::INT32, {2});
    p.add_int32_data(-70000);
    p.add_int32_data(3);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<int32_t>(*t), (std::vector<int32_t>{-70000, 3}));
  }
  {
    TensorProto p = MakeProto("i8", TensorProto::INT8, {3});
    for (int v : {-128, 127, -1}) p.add_int32_data(v);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<int8_t>(*t), (std::vector<int8_t>{-128, 127, -1}));
  }
  {
    TensorProto p = MakeProto("u8", TensorProto::UINT8, {2});
    p.add_int32_data(255);
    p.add_int32_data(0);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<uint8_t>(*t), (std::vector<uint8_t>{255, 0}));
  }
  {
    TensorProto p = MakeProto("i16", TensorProto::INT16, {2});
    p.add_int32_data(-32768);
    p.add_int32_data(12345);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<int16_t>(*t), (std::vector<int16_t>{-32768, 12345}));
  }
  {
    TensorProto p = MakeProto("u16", TensorProto::UINT16, {1});
    p.add_int32_data(65535);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<uint16_t>(*t), (std::vector<uint16_t>{65535}));
  }
  {
    TensorProto p = MakeProto("b", TensorProto::BOOL, {3});
    for (int v : {0, 1, 5}) p.add_int32_data(v);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<uint8_t>(*t), (std::vector<uint8_t>{0, 1, 1}));
  }
  {
    TensorProto p = MakeProto("u32", TensorProto::UINT32, {1});
    p.add_uint64_data(4000000000u);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<uint32_t>(*t), (std::vector<uint32_t>{4000000000u}));
  }
  {
    TensorProto p = MakeProto("u64", TensorProto::UINT64, {1});
    p.add_uint64_data(18000000000000000000ull);
    auto t = TensorFromProto(p, "");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(Elements<uint64_t>(*t), (std::vector<uint64_t>{18000000000000000000ull}));
  }
}

TEST(OnnxTensorTest, HalfTypesUseBitPatternsInInt32Data) {
  TensorProto h = MakeProto("h", TensorProto::FLOAT16, {2});
  h.add_int32_data(FloatToHalf(1.5f));
  h.add_int32_data(FloatToHalf(-2.0f));
  auto th = TensorFromProto(h, "");
  ASSERT_TRUE(th.ok());
  EXPECT_EQ(HalfToFloat(th->data<uint16_t>()[0]), 1.5f);
  EXPECT_EQ(HalfToFloat(th->data<uint16_t>()[1]), -2.0f);

  TensorProto b = MakeProto("b", TensorProto::BFLOAT16, {1});
  b.add_int32_data(FloatToBFloat16(3.0f));
  auto tb = TensorFromProto(b, "");
  ASSERT_TRUE(tb.ok());
  EXPECT_EQ(BFloat16ToFloat(tb->data<uint16_t>()[0]), 3.0f);
}

TEST(OnnxTensorTest, ScalarAndEmptyTensors) {
  TensorProto s = MakeProto("s", TensorProto::INT64, {});
  s.add_int64_data(42);
  auto ts = TensorFromProto(s, "");
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->rank(), 0);
  EXPECT_EQ(ts->ScalarAsInt(), 42);

  TensorProto e = MakeProto("e", TensorProto::FLOAT, {2, 0});
  auto te = TensorFromProto(e, "");
  ASSERT_TRUE(te.ok()) << te.status().message();
  EXPECT_EQ(te->num_elements(), 0);
  EXPECT_EQ(te->dims(), (std::vector<int64_t>{2, 0}));

  TensorProto er = MakeProto("er", TensorProto::FLOAT, {0});
  er.set_raw_data("");
  EXPECT_TRUE(TensorFromProto(er, "").ok());
}

TEST(OnnxTensorTest, DataSizeMismatchIsAnErrorNamingTheTensor) {
  TensorProto raw = MakeProto("w", TensorProto::FLOAT, {2, 3});
  raw.set_raw_data(std::string(20, '\0'));
  auto t = TensorFromProto(raw, "");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(t.status().message().find("tensor 'w'"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("20 bytes"), std::string::npos) << t.status().message();

  TensorProto typed = MakeProto("v", TensorProto::FLOAT, {4});
  typed.add_float_data(1);
  auto t2 = TensorFromProto(typed, "");
  ASSERT_FALSE(t2.ok());
  EXPECT_NE(t2.status().message().find("tensor 'v': float_data has 1 elements"), std::string::npos)
      << t2.status().message();

  TensorProto none = MakeProto("n", TensorProto::INT64, {3});
  EXPECT_EQ(TensorFromProto(none, "").status().code(), StatusCode::kInvalidModel);
}

TEST(OnnxTensorTest, AbsurdDimsFailBeforeAllocating) {
  TensorProto huge = MakeProto("huge", TensorProto::FLOAT, {1000000000000LL, 1000000000000LL});
  huge.set_raw_data(std::string(16, '\0'));
  auto t = TensorFromProto(huge, "");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tensor 'huge'"), std::string::npos);

  // Fits in int64 but not in memory: must be refused by the size check, not by malloc.
  TensorProto big = MakeProto("big", TensorProto::DOUBLE, {1000000, 1000000});
  auto t2 = TensorFromProto(big, "");
  ASSERT_FALSE(t2.ok());
  EXPECT_EQ(t2.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(t2.status().message().find("tensor 'big'"), std::string::npos);
}

TEST(OnnxTensorTest, NegativeDimsAreInvalid) {
  TensorProto p = MakeProto("neg", TensorProto::FLOAT, {2, -3});
  auto t = TensorFromProto(p, "");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(t.status().message().find("negative dim -3"), std::string::npos)
      << t.status().message();
}

TEST(OnnxTensorTest, UnsupportedElementTypesNameTheTensor) {
  TensorProto s = MakeProto("names", TensorProto::STRING, {1});
  s.add_string_data("a");
  auto t = TensorFromProto(s, "");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(t.status().message().find("tensor 'names'"), std::string::npos);
  EXPECT_NE(t.status().message().find("STRING"), std::string::npos);

  TensorProto c = MakeProto("c", TensorProto::COMPLEX128, {1});
  EXPECT_EQ(TensorFromProto(c, "").status().code(), StatusCode::kUnsupported);
  TensorProto u = MakeProto("u", TensorProto::UNDEFINED, {1});
  EXPECT_EQ(TensorFromProto(u, "").status().code(), StatusCode::kInvalidModel);
}

void SetExternal(TensorProto* p, const std::string& location, const std::string& offset = "",
                 const std::string& length = "") {
  p->set_data_location(TensorProto::EXTERNAL);
  auto add = [&](const char* k, const std::string& v) {
    auto* e = p->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  if (!offset.empty()) add("offset", offset);
  if (!length.empty()) add("length", length);
}

TEST(OnnxTensorTest, ExternalDataWithOffsetAndLength) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::vector<float> values = {10, 20, 30};
  dir.Write("weights.bin", std::string(8, 'x') + Bytes(values) + std::string(4, 'y'));
  TensorProto p = MakeProto("w", TensorProto::FLOAT, {3});
  SetExternal(&p, "weights.bin", "8", "12");
  auto t = TensorFromProto(p, dir.path());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(Elements<float>(*t), values);

  // Without offset/length: reads from the start of the file.
  dir.Write("plain.bin", Bytes(values));
  TensorProto q = MakeProto("q", TensorProto::FLOAT, {3});
  SetExternal(&q, "plain.bin");
  auto tq = TensorFromProto(q, dir.path());
  ASSERT_TRUE(tq.ok()) << tq.status().message();
  EXPECT_EQ(Elements<float>(*tq), values);

  // Subdirectories below the model directory are fine.
  fs::create_directory(fs::path(dir.path()) / "data");
  dir.Write("data/w.bin", Bytes(values));
  TensorProto r = MakeProto("r", TensorProto::FLOAT, {3});
  SetExternal(&r, "data/w.bin");
  EXPECT_TRUE(TensorFromProto(r, dir.path()).ok());
}

TEST(OnnxTensorTest, ExternalDataErrorsNameTensorAndFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  dir.Write("short.bin", std::string(8, '\0'));

  TensorProto missing = MakeProto("w", TensorProto::FLOAT, {2});
  SetExternal(&missing, "nope.bin");
  auto t1 = TensorFromProto(missing, dir.path());
  ASSERT_FALSE(t1.ok());
  EXPECT_EQ(t1.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t1.status().message().find("tensor 'w'"), std::string::npos);
  EXPECT_NE(t1.status().message().find("nope.bin"), std::string::npos);

  TensorProto past = MakeProto("p", TensorProto::FLOAT, {1});
  SetExternal(&past, "short.bin", "100");
  auto t2 = TensorFromProto(past, dir.path());
  ASSERT_FALSE(t2.ok());
  EXPECT_NE(t2.status().message().find("offset 100 is past the end"), std::string::npos)
      << t2.status().message();
  EXPECT_NE(t2.status().message().find("short.bin"), std::string::npos);

  TensorProto too_long = MakeProto("l", TensorProto::FLOAT, {3});
  SetExternal(&too_long, "short.bin", "0");
  auto t3 = TensorFromProto(too_long, dir.path());
  ASSERT_FALSE(t3.ok());
  EXPECT_NE(t3.status().message().find("too short"), std::string::npos) << t3.status().message();

  TensorProto wrong_length = MakeProto("m", TensorProto::FLOAT, {2});
  SetExternal(&wrong_length, "short.bin", "0", "4");
  EXPECT_EQ(TensorFromProto(wrong_length, dir.path()).status().code(), StatusCode::kInvalidModel);

  TensorProto bad_offset = MakeProto("o", TensorProto::FLOAT, {1});
  SetExternal(&bad_offset, "short.bin", "-4");
  EXPECT_EQ(TensorFromProto(bad_offset, dir.path()).status().code(), StatusCode::kInvalidModel);

  TensorProto no_location = MakeProto("nl", TensorProto::FLOAT, {1});
  no_location.set_data_location(TensorProto::EXTERNAL);
  EXPECT_EQ(TensorFromProto(no_location, dir.path()).status().code(), StatusCode::kInvalidModel);

  // No model directory (e.g. bytes imported from memory): external data cannot be resolved.
  TensorProto no_dir = MakeProto("nd", TensorProto::FLOAT, {2});
  SetExternal(&no_dir, "short.bin");
  EXPECT_FALSE(TensorFromProto(no_dir, "").ok());
}

TEST(OnnxTensorTest, ExternalDataMayNotLeaveTheModelDirectory) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::create_directory(fs::path(dir.path()) / "model");
  dir.Write("secret.bin", std::string(8, '\0'));
  const std::string model_dir = (fs::path(dir.path()) / "model").string();

  for (const std::string& location :
       {std::string("../secret.bin"), std::string("a/../../secret.bin"),
        (fs::path(dir.path()) / "secret.bin").string(), std::string("/etc/passwd")}) {
    TensorProto p = MakeProto("w", TensorProto::FLOAT, {2});
    SetExternal(&p, location);
    auto t = TensorFromProto(p, model_dir);
    ASSERT_FALSE(t.ok()) << location;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidModel) << location;
    EXPECT_NE(t.status().message().find("tensor 'w'"), std::string::npos);
  }
}

TEST(OnnxTensorTest, LoadTensorProtoFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto src = Tensor::FromBytes(DType::kI32, {2, 2}, std::vector<int32_t>{1, 2, 3, 4}.data(), 16);
  ASSERT_TRUE(src.ok());
  TensorProto p;
  ASSERT_TRUE(TensorToProto(*src, "input_0", &p).ok());
  const std::string path = dir.Write("input_0.pb", p.SerializeAsString());
  auto loaded = LoadTensorProtoFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->first, "input_0");
  EXPECT_EQ(Elements<int32_t>(loaded->second), (std::vector<int32_t>{1, 2, 3, 4}));

  auto missing = LoadTensorProtoFile(dir.path() + "/absent.pb");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("absent.pb"), std::string::npos);

  auto empty = LoadTensorProtoFile(dir.Write("empty.pb", ""));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty.pb: file is empty"), std::string::npos);

  auto garbage = LoadTensorProtoFile(dir.Write("garbage.pb", "\xff\xff\xff\xff\xff"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("garbage.pb"), std::string::npos);

  // Errors inside the tensor are prefixed with the file.
  TensorProto bad = MakeProto("t", TensorProto::FLOAT, {4});
  bad.set_raw_data("abc");
  auto bad_loaded = LoadTensorProtoFile(dir.Write("bad.pb", bad.SerializeAsString()));
  ASSERT_FALSE(bad_loaded.ok());
  EXPECT_NE(bad_loaded.status().message().find("bad.pb: tensor 't'"), std::string::npos)
      << bad_loaded.status().message();
}

// The conformance data is what the runner feeds through LoadTensorProtoFile; check a known file.
TEST(OnnxTensorTest, LoadsConformanceTestData) {
  const std::string dir = "/usr/include/onnx/backend/test/data/node/test_add/test_data_set_0";
  if (!fs::exists(dir)) GTEST_SKIP() << "libonnx-testdata not installed";
  auto x = LoadTensorProtoFile(dir + "/input_0.pb");
  auto y = LoadTensorProtoFile(dir + "/input_1.pb");
  auto sum = LoadTensorProtoFile(dir + "/output_0.pb");
  ASSERT_TRUE(x.ok() && y.ok() && sum.ok());
  EXPECT_EQ(x->first, "x");
  EXPECT_EQ(x->second.dims(), (std::vector<int64_t>{3, 4, 5}));
  ASSERT_EQ(sum->second.num_elements(), 60);
  for (int i = 0; i < 60; ++i) {
    EXPECT_NEAR(x->second.data<float>()[i] + y->second.data<float>()[i],
                sum->second.data<float>()[i], 1e-6);
  }
}

// TensorFromProtoAdoptingRaw takes over raw_data instead of copying it: the proto's raw_data is
// emptied and the tensor holds the same values, for sizes both inside and beyond the small-string
// buffer. Bool is copied (and normalized), so the proto keeps its bytes.
TEST(OnnxTensorTest, AdoptingRawTakesOverTheBytes) {
  struct Case {
    int32_t type;
    DType dtype;
    std::vector<int64_t> dims;
    std::string raw;
  };
  std::vector<uint16_t> halves;
  for (float f : {1.5f, -2.f, 0.25f}) halves.push_back(FloatToHalf(f));
  std::vector<float> big(1000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.5f - 7;
  const std::vector<Case> cases = {
      {TensorProto::FLOAT, DType::kF32, {2, 2}, Bytes(std::vector<float>{1, -2, 3.5f, 4})},
      {TensorProto::FLOAT, DType::kF32, {10, 100}, Bytes(big)},
      {TensorProto::INT64, DType::kI64, {3}, Bytes(std::vector<int64_t>{-1, 1LL << 40, 7})},
      {TensorProto::FLOAT16, DType::kF16, {3}, Bytes(halves)},
      {TensorProto::UINT8, DType::kU8, {1, 5}, Bytes(std::vector<uint8_t>{0, 1, 128, 254, 255})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(DTypeName(c.dtype)) + " " + DimsToString(c.dims));
    TensorProto p = MakeProto("w", c.type, c.dims);
    p.set_raw_data(c.raw);
    auto t = TensorFromProtoAdoptingRaw(&p, "");
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->dtype(), c.dtype);
    EXPECT_EQ(t->dims(), c.dims);
    ASSERT_EQ(t->bytes(), c.raw.size());
    EXPECT_EQ(std::memcmp(t->raw(), c.raw.data(), c.raw.size()), 0);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw()) % DTypeSize(c.dtype), 0u);
    EXPECT_TRUE(p.raw_data().empty()) << "raw_data was copied, not adopted";
  }
  // The adopted tensor outlives the proto.
  Tensor kept;
  {
    TensorProto p = MakeProto("w", TensorProto::FLOAT, {10, 100});
    p.set_raw_data(Bytes(big));
    auto t = TensorFromProtoAdoptingRaw(&p, "");
    ASSERT_TRUE(t.ok());
    kept = *t;
  }
  EXPECT_EQ(Elements<float>(kept), big);
}

TEST(OnnxTensorTest, AdoptingRawCopiesBoolsAndFallsBackForEverythingElse) {
  TensorProto b = MakeProto("b", TensorProto::BOOL, {4});
  b.set_raw_data(std::string("\x00\x01\x07\xff", 4));
  auto t = TensorFromProtoAdoptingRaw(&b, "");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::kBool);
  EXPECT_EQ(Elements<uint8_t>(*t), (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(b.raw_data().size(), 4u);

  // Typed field: decoded like TensorFromProto.
  TensorProto typed = MakeProto("i", TensorProto::INT64, {2});
  typed.add_int64_data(5);
  typed.add_int64_data(-9);
  auto ti = TensorFromProtoAdoptingRaw(&typed, "");
  ASSERT_TRUE(ti.ok()) << ti.status().message();
  EXPECT_EQ(Elements<int64_t>(*ti), (std::vector<int64_t>{5, -9}));

  // Wrong raw_data size: the same one-line error as TensorFromProto, naming the tensor.
  TensorProto bad = MakeProto("w", TensorProto::FLOAT, {2});
  bad.set_raw_data(std::string(7, '\0'));
  auto tb = TensorFromProtoAdoptingRaw(&bad, "");
  ASSERT_FALSE(tb.ok());
  EXPECT_EQ(tb.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(tb.status().message().find("tensor 'w'"), std::string::npos) << tb.status().message();
  EXPECT_NE(tb.status().message().find("raw_data has 7 bytes"), std::string::npos);

  TensorProto neg = MakeProto("n", TensorProto::FLOAT, {-1});
  neg.set_raw_data(std::string(4, '\0'));
  auto tn = TensorFromProtoAdoptingRaw(&neg, "");
  ASSERT_FALSE(tn.ok());
  EXPECT_NE(tn.status().message().find("tensor 'n'"), std::string::npos) << tn.status().message();
}

}  // namespace
}  // namespace edgerun
