#include "io/npy.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace edgerun {
namespace {

namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("npy_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes raw bytes, for hand-made (possibly corrupt) files.
  std::string WriteRaw(const std::string& name, const std::string& bytes) const {
    const std::string p = Path(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  fs::path dir_;
};

// A v1 file image with `header` padded the way numpy pads it, followed by `data`.
std::string MakeNpy(std::string header, const std::string& data, int major = 1) {
  const size_t preamble = major == 1 ? 10 : 12;
  while ((preamble + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const uint32_t len = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < preamble - 8; ++i)
    out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string FloatBytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

TEST_F(NpyTest, RoundTripsEveryDType) {
  const std::vector<int64_t> dims = {2, 3};
  const DType types[] = {DType::kF32, DType::kF64, DType::kF16, DType::kI8,
                         DType::kU8,  DType::kI16, DType::kU16, DType::kI32,
                         DType::kU32, DType::kI64, DType::kU64, DType::kBool};
  for (DType t : types) {
    SCOPED_TRACE(std::string(DTypeName(t)));
    Expected<Tensor> src = Tensor::Create(t, dims);
    ASSERT_TRUE(src.ok());
    auto* bytes = static_cast<uint8_t*>(src->mutable_raw());
    for (size_t i = 0; i < src->bytes(); ++i) {
      bytes[i] =
          t == DType::kBool ? static_cast<uint8_t>(i % 2) : static_cast<uint8_t>(i * 37 + 11);
    }
    const std::string path = Path(std::string(DTypeName(t)) + ".npy");
    ASSERT_TRUE(WriteNpy(path, src->view()).ok());
    Expected<Tensor> back = ReadNpy(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->dtype(), t);
    EXPECT_EQ(back->dims(), dims);
    ASSERT_EQ(back->bytes(), src->bytes());
    EXPECT_EQ(std::memcmp(back->raw(), src->raw(), src->bytes()), 0);
  }
}

TEST_F(NpyTest, RoundTripsScalarsAndEmptyTensors) {
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {1}, {0}, {3, 0, 2}, {1, 1, 1, 1, 1, 1, 1, 5}};
  for (const auto& dims : shapes) {
    SCOPED_TRACE(DimsToString(dims));
    Expected<Tensor> src = Tensor::Create(DType::kF32, dims);
    ASSERT_TRUE(src.ok());
    for (int64_t i = 0; i < src->num_elements(); ++i) src->mutable_data<float>()[i] = 0.5f * i - 1;
    const std::string path = Path("t.npy");
    ASSERT_TRUE(WriteNpy(path, src->view()).ok());
    Expected<Tensor> back = ReadNpy(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->dims(), dims);
    EXPECT_EQ(back->num_elements(), src->num_elements());
    if (src->bytes() > 0) {
      EXPECT_EQ(std::memcmp(back->raw(), src->raw(), src->bytes()), 0);
    }
  }
}

TEST_F(NpyTest, WritesNumpyCompatibleHeader) {
  Tensor t = Tensor::FromVector<float>(DType::kF32, {2}, {1.0f, -2.0f});
  Expected<std::string> image = EncodeNpy(t.view());
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len =
      static_cast<uint8_t>((*image)[8]) | (static_cast<uint8_t>((*image)[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u) << "data must start 64-byte aligned";
  const std::string header = image->substr(10, header_len);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 0), 0u)
      << header;
  EXPECT_EQ(image->size(), 10 + header_len + 8);
  float back[2];
  std::memcpy(back, image->data() + 10 + header_len, 8);
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], -2.0f);

  Tensor b = Tensor::FromVector<uint8_t>(DType::kBool, {1, 2}, {1, 0});
  Expected<std::string> bimage = EncodeNpy(b.view());
  ASSERT_TRUE(bimage.ok());
  EXPECT_NE(bimage->find("'descr': '|b1'"), std::string::npos);
  EXPECT_NE(bimage->find("'shape': (1, 2)"), std::string::npos);
}

TEST_F(NpyTest, WritesBFloat16AsFloat32) {
  const std::vector<float> values = {1.0f, -2.5f, 3.140625f, 0.0f};
  std::vector<uint16_t> bits;
  for (float v : values) bits.push_back(FloatToBFloat16(v));
  Tensor t = Tensor::FromVector<uint16_t>(DType::kBF16, {2, 2}, bits);
  ASSERT_TRUE(WriteNpy(Path("bf16.npy"), t.view()).ok());
  Expected<Tensor> back = ReadNpy(Path("bf16.npy"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->dtype(), DType::kF32);
  EXPECT_EQ(back->dims(), (std::vector<int64_t>{2, 2}));
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(back->data<float>()[i], BFloat16ToFloat(bits[i])) << i;
  }
}

TEST_F(NpyTest, ReadsVersion2And3AndHeaderVariants) {
  const std::string data = FloatBytes({1, 2, 3, 4, 5, 6});
  const std::string headers[] = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",         // any key order
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}",  // double quotes
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",     // Python 2 longs
  };
  for (int major : {1, 2, 3}) {
    for (const std::string& h : headers) {
      SCOPED_TRACE(std::to_string(major) + " " + h);
      Expected<Tensor> t = ReadNpy(WriteRaw("v.npy", MakeNpy(h, data, major)));
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(t->dims(), (std::vector<int64_t>{2, 3}));
      EXPECT_EQ(t->data<float>()[5], 6.0f);
    }
  }
}

TEST_F(NpyTest, ReadsByteOrderFreeAndNativeDescr) {
  Expected<Tensor> u8 = ReadNpy(WriteRaw(
      "u8.npy",
      MakeNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", "\x01\x02\xff")));
  ASSERT_TRUE(u8.ok()) << u8.status().ToString();
  EXPECT_EQ(u8->dtype(), DType::kU8);
  EXPECT_EQ(u8->data<uint8_t>()[2], 255);

  Expected<Tensor> native =
      ReadNpy(WriteRaw("n.npy", MakeNpy("{'descr': '=f4', 'fortran_order': False, 'shape': (1,), }",
                                        FloatBytes({7}))));
  ASSERT_TRUE(native.ok()) << native.status().ToString();
  EXPECT_EQ(native->data<float>()[0], 7.0f);

  // Bools from foreign writers are normalized to 0/1.
  Expected<Tensor> b =
      ReadNpy(WriteRaw("b.npy", MakeNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
                                        std::string("\x00\x05", 2))));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->data<uint8_t>()[0], 0);
  EXPECT_EQ(b->data<uint8_t>()[1], 1);
}

struct CorruptCase {
  const char* name;
  std::string bytes;
  StatusCode code;
  const char* message_part;
};

TEST_F(NpyTest, RejectsCorruptAndUnsupportedFilesWithOneLineErrors) {
  const std::string ok_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string good = MakeNpy(ok_header, FloatBytes({1, 2}));
  std::string huge_header_len = good;
  huge_header_len[8] = '\xff';
  huge_header_len[9] = '\xff';
  std::string v9 = good;
  v9[6] = 9;
  const std::vector<CorruptCase> cases = {
      {"empty", "", StatusCode::kInvalidArgument, "truncated"},
      {"magic", "GIF89a" + good.substr(6), StatusCode::kInvalidArgument, "magic"},
      {"preamble", good.substr(0, 9), StatusCode::kInvalidArgument, "truncated"},
      {"header", good.substr(0, 40), StatusCode::kInvalidArgument, "truncated header"},
      {"header_len", huge_header_len, StatusCode::kInvalidArgument, "truncated header"},
      {"data", good.substr(0, good.size() - 1), StatusCode::kInvalidArgument, "truncated data"},
      {"trailing", good + "xy", StatusCode::kInvalidArgument, "unexpected bytes"},
      {"version", v9, StatusCode::kUnsupported, "version 9"},
      {"fortran",
       MakeNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", FloatBytes({1, 2})),
       StatusCode::kUnsupported, "fortran_order"},
      {"big_endian",
       MakeNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", FloatBytes({1, 2})),
       StatusCode::kUnsupported, "big-endian"},
      {"complex",
       MakeNpy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", FloatBytes({1, 2})),
       StatusCode::kUnsupported, "dtype '<c8'"},
      {"string",
       MakeNpy("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", std::string(12, 'a')),
       StatusCode::kUnsupported, "dtype"},
      {"structured",
       MakeNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
               FloatBytes({1, 2})),
       StatusCode::kUnsupported, "structured"},
      {"missing_key", MakeNpy("{'descr': '<f4', 'shape': (2,), }", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "lacks"},
      {"extra_key",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
               FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "unexpected key"},
      {"duplicate_key",
       MakeNpy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
               FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "duplicate"},
      {"negative_dim",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "non-integer"},
      {"float_dim",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "shape"},
      {"not_tuple",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "not a tuple"},
      {"paren_not_tuple",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "trailing comma"},
      {"overflow_dim",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", ""),
       StatusCode::kInvalidArgument, "overflow"},
      {"absurd_size",
       MakeNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 4000000000), }", ""),
       StatusCode::kInvalidArgument, "too large"},
      {"claims_more",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }",
               FloatBytes({1})),
       StatusCode::kInvalidArgument, "truncated data"},
      {"fortran_not_bool",
       MakeNpy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "fortran_order"},
      {"unterminated",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "bad header"},
      {"garbage_after",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", FloatBytes({1, 2})),
       StatusCode::kInvalidArgument, "trailing characters"},
  };
  for (const CorruptCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = WriteRaw(std::string(c.name) + ".npy", c.bytes);
    Expected<Tensor> t = ReadNpy(path);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), c.code) << t.status().ToString();
    const std::string& msg = t.status().message();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << "message must start with the path: " << msg;
    EXPECT_NE(msg.find(c.message_part), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message must be one line: " << msg;
  }
}

TEST_F(NpyTest, ReportsMissingFilesAndUnwritablePaths) {
  Expected<Tensor> t = ReadNpy(Path("does_not_exist.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("does_not_exist.npy"), std::string::npos);

  Expected<Tensor> d = ReadNpy(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(dir_.string()), std::string::npos);

  Tensor x = Tensor::FromVector<float>(DType::kF32, {1}, {1.0f});
  Status s = WriteNpy(Path("no_such_dir/x.npy"), x.view());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("no_such_dir"), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("no_such_dir/x.npy.tmp")));

  TensorView undefined;
  EXPECT_FALSE(WriteNpy(Path("u.npy"), undefined).ok());
  EXPECT_FALSE(fs::exists(Path("u.npy")));
}

TEST_F(NpyTest, WriteReplacesExistingFileAtomically) {
  Tensor a = Tensor::FromVector<int32_t>(DType::kI32, {3}, {1, 2, 3});
  Tensor b = Tensor::FromVector<int64_t>(DType::kI64, {1}, {-9});
  ASSERT_TRUE(WriteNpy(Path("x.npy"), a.view()).ok());
  ASSERT_TRUE(WriteNpy(Path("x.npy"), b.view()).ok());
  EXPECT_FALSE(fs::exists(Path("x.npy.tmp")));
  Expected<Tensor> back = ReadNpy(Path("x.npy"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->dtype(), DType::kI64);
  EXPECT_EQ(back->data<int64_t>()[0], -9);
}

// Every truncation of a valid file must fail cleanly (no crash, no huge allocation).
TEST_F(NpyTest, EveryTruncationFails) {
  Tensor t = Tensor::FromVector<double>(DType::kF64, {2, 2}, {1, 2, 3, 4});
  Expected<std::string> image = EncodeNpy(t.view());
  ASSERT_TRUE(image.ok());
  for (size_t n = 0; n < image->size(); ++n) {
    const auto* p = reinterpret_cast<const std::byte*>(image->data());
    Expected<Tensor> r = ParseNpy(std::span<const std::byte>(p, n), "mem");
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("mem: ", 0), 0u);
    }
  }
  const auto* p = reinterpret_cast<const std::byte*>(image->data());
  EXPECT_TRUE(ParseNpy(std::span<const std::byte>(p, image->size()), "mem").ok());
}

// Cross-check with numpy itself: files numpy writes are read correctly, and files edgerun writes
// load in numpy with the same values. numpy is a build dependency (scripts/setup.sh).
TEST_F(NpyTest, AgreesWithNumpy) {
  ASSERT_EQ(std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null"), 0)
      << "/usr/bin/python3 with numpy is required (scripts/setup.sh installs python3-numpy)";
  const std::string script = Path("gen.py");
  std::ofstream(script) << R"(import sys, numpy as np
d = sys.argv[1]
for code in ['f2','f4','f8','i1','u1','i2','u2','i4','u4','i8','u8']:
    a = (np.arange(24).reshape(2, 3, 4) * 7 - 40).astype(code)
    np.save(f'{d}/np_{code}.npy', a)
np.save(f'{d}/np_b1.npy', np.arange(5) % 2 == 0)
np.save(f'{d}/np_scalar.npy', np.float32(2.5))
np.save(f'{d}/np_nan.npy', np.array([np.nan, np.inf, -np.inf, -0.0], np.float32))
np.lib.format.write_array(open(f'{d}/np_v2.npy', 'wb'), np.ones((2, 2), np.float32), version=(2, 0))
np.save(f'{d}/np_fortran.npy', np.asfortranarray(np.ones((2, 3), np.float32)))
)";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir_.string()).c_str()), 0);

  const std::pair<const char*, DType> types[] = {
      {"f2", DType::kF16}, {"f4", DType::kF32}, {"f8", DType::kF64}, {"i1", DType::kI8},
      {"u1", DType::kU8},  {"i2", DType::kI16}, {"u2", DType::kU16}, {"i4", DType::kI32},
      {"u4", DType::kU32}, {"i8", DType::kI64}, {"u8", DType::kU64}};
  for (const auto& [code, dtype] : types) {
    SCOPED_TRACE(code);
    Expected<Tensor> t = ReadNpy(Path(std::string("np_") + code + ".npy"));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->dtype(), dtype);
    EXPECT_EQ(t->dims(), (std::vector<int64_t>{2, 3, 4}));
    for (int i = 0; i < 24; ++i) {
      // Matches numpy's astype: values wrap modulo 2^bits for the unsigned and narrow types.
      const int64_t v = i * 7 - 40;
      double want;
      switch (dtype) {
        case DType::kI8:
          want = static_cast<int8_t>(v);
          break;
        case DType::kU8:
          want = static_cast<uint8_t>(v);
          break;
        case DType::kU16:
          want = static_cast<uint16_t>(v);
          break;
        case DType::kU32:
          want = static_cast<uint32_t>(v);
          break;
        case DType::kU64:
          want = static_cast<double>(static_cast<uint64_t>(v));
          break;
        default:
          want = static_cast<double>(v);
          break;
      }
      const double got =
          dtype == DType::kF16 ? HalfToFloat(t->data<uint16_t>()[i]) : t->ScalarAsDouble(i);
      ASSERT_EQ(got, want) << "element " << i;
    }
  }
  Expected<Tensor> b = ReadNpy(Path("np_b1.npy"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->dtype(), DType::kBool);
  EXPECT_EQ(std::vector<uint8_t>(b->data<uint8_t>(), b->data<uint8_t>() + 5),
            (std::vector<uint8_t>{1, 0, 1, 0, 1}));
  Expected<Tensor> s = ReadNpy(Path("np_scalar.npy"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->rank(), 0);
  EXPECT_EQ(s->data<float>()[0], 2.5f);
  Expected<Tensor> n = ReadNpy(Path("np_nan.npy"));
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(std::isnan(n->data<float>()[0]));
  EXPECT_EQ(n->data<float>()[1], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(n->data<float>()[3]));
  Expected<Tensor> v2 = ReadNpy(Path("np_v2.npy"));
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->dims(), (std::vector<int64_t>{2, 2}));
  Expected<Tensor> f = ReadNpy(Path("np_fortran.npy"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnsupported);

  // The other direction: numpy loads what edgerun writes.
  Tensor i64 = Tensor::FromVector<int64_t>(DType::kI64, {2, 2}, {1, -2, INT64_MAX, INT64_MIN});
  Tensor f16 = Tensor::FromVector<uint16_t>(
      DType::kF16, {3}, {FloatToHalf(1.5f), FloatToHalf(-0.25f), FloatToHalf(65504.0f)});
  Tensor bools = Tensor::FromVector<uint8_t>(DType::kBool, {2}, {0, 1});
  Tensor scalar = Tensor::FromVector<double>(DType::kF64, {}, {3.25});
  ASSERT_TRUE(WriteNpy(Path("e_i64.npy"), i64.view()).ok());
  ASSERT_TRUE(WriteNpy(Path("e_f16.npy"), f16.view()).ok());
  ASSERT_TRUE(WriteNpy(Path("e_b1.npy"), bools.view()).ok());
  ASSERT_TRUE(WriteNpy(Path("e_scalar.npy"), scalar.view()).ok());
  const std::string check = Path("check.py");
  std::ofstream(check) << R"(import sys, numpy as np
d = sys.argv[1]
a = np.load(f'{d}/e_i64.npy'); assert a.dtype == np.int64 and a.shape == (2, 2), a
assert a.tolist() == [[1, -2], [2**63 - 1, -2**63]], a
h = np.load(f'{d}/e_f16.npy')
assert h.dtype == np.float16 and h.tolist() == [1.5, -0.25, 65504.0], h
b = np.load(f'{d}/e_b1.npy'); assert b.dtype == np.bool_ and b.tolist() == [False, True], b
s = np.load(f'{d}/e_scalar.npy'); assert s.shape == () and s.dtype == np.float64 and s == 3.25, s
)";
  EXPECT_EQ(std::system(("/usr/bin/python3 " + check + " " + dir_.string()).c_str()), 0);
}

}  // namespace
}  // namespace edgerun
