// SessionOptions::weight_cache_dir: the first session of a model file packs its weights and
// writes them, the next maps them, and both compute exactly what a session without the cache
// does (the same packed bytes in the same kernels). A model file rewritten in place, a corrupt
// cache file, an unwritable directory and a model parsed from memory all still give correct
// results; the cache's report (LoadProfile::weight_cache) says what happened.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <regex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "edgerun/session.h"
#include "formats/onnx/onnx_importer.h"
#include "kernels/backend.h"
#include "util/onnx_model_builder.h"
#include "util/temp_dir.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

// 96 channels: the 3x3 conv's F(4x4,3x3) weights would take 1.3 MiB, more than edgerun's own
// Winograd kernel takes (winograd_conv.h), so oneDNN packs it.
constexpr int64_t kC = 96;

// x -> 3x3 conv (a oneDNN Winograd candidate on AVX-512) -> Relu -> 1x1 conv to 64 -> global pool
// -> Gemm to 10. `seed` varies every weight.
OnnxModelBuilder SmallCnn(int seed) {
  auto values = [&](size_t n, float scale, int salt) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * i + seed * 1.3f + salt);
    return v;
  };
  OnnxModelBuilder b;
  b.Opset(13).Input("x", DType::kF32, {1, kC, 16, 16});
  b.Initializer("w3", Tensor::FromVector(DType::kF32, {kC, kC, 3, 3}, values(kC * kC * 9, .1f, 1)));
  b.Initializer("b3", Tensor::FromVector(DType::kF32, {kC}, values(kC, .05f, 2)));
  b.Initializer("w1", Tensor::FromVector(DType::kF32, {64, kC, 1, 1}, values(64 * kC, .2f, 3)));
  b.Initializer("fc", Tensor::FromVector(DType::kF32, {10, 64}, values(640, .3f, 4)));
  b.Node("Conv", {"x", "w3", "b3"}, {"c3"}, {AttrInts("pads", {1, 1, 1, 1})}, "conv3x3");
  b.Node("Relu", {"c3"}, {"r"}, {}, "relu");
  b.Node("Conv", {"r", "w1"}, {"c1"}, {}, "conv1x1");
  b.Node("GlobalAveragePool", {"c1"}, {"p"}, {}, "pool");
  b.Node("Flatten", {"p"}, {"f"}, {}, "flatten");
  b.Node("Gemm", {"f", "fc"}, {"y"}, {AttrInt("transB", 1)}, "fc").Output("y");
  return b;
}

std::string SmallCnnBytes(int seed) { return SmallCnn(seed).Serialize(); }

// SmallCnn(seed) with the 3x3 conv's weights in the external data file `location`, whose bytes
// are returned in `data`.
std::string SmallCnnWithExternalWeights(int seed, const std::string& location, std::string* data) {
  OnnxModelBuilder b = SmallCnn(seed);
  for (onnx::TensorProto& t : *b.proto().mutable_graph()->mutable_initializer()) {
    if (t.name() != "w3") continue;
    *data = t.raw_data();
    t.clear_raw_data();
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* entry = t.add_external_data();
    entry->set_key("location");
    entry->set_value(location);
  }
  return b.Serialize();
}

bool OnednnAvailable() {
  for (KernelPath p : DefaultPathOrder()) {
    if (p == KernelPath::kOnednn) return true;
  }
  return false;
}

class WeightCacheSessionTest : public testing::TempDirTest {
 protected:
  struct Result {
    std::vector<float> y;
    std::string report;
  };
  // Loads `path` (empty: `bytes` parsed from memory) and runs it on a fixed input.
  Result Run(const std::string& path, const std::string& cache_dir, bool winograd = true,
             const std::string& bytes = "") {
    Result r;
    Expected<Model> model = Model{};
    if (path.empty()) {
      auto g = ImportOnnxFromBytes(std::as_bytes(std::span(bytes.data(), bytes.size())),
                                   "memory.onnx", dir_);
      EXPECT_TRUE(g.ok()) << g.status().ToString();
      if (!g.ok()) return r;
      model->graph = std::move(*g);
    } else {
      model = LoadModel(path);
    }
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    if (!model.ok()) return r;
    SessionOptions options;
    options.weight_cache_dir = cache_dir;
    options.winograd = winograd;
    auto s = Session::Create(std::move(*model), options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return r;
    std::vector<float> x(kC * 16 * 16);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * i);
    const std::vector<int64_t> dims = {1, kC, 16, 16};
    auto in = TensorView::Make(DType::kF32, dims, x.data());
    EXPECT_TRUE((*s)->SetInput(0, *in).ok());
    const Status ran = (*s)->Run();
    EXPECT_TRUE(ran.ok()) << ran.ToString();
    const TensorView y = (*s)->output(0);
    r.y.assign(y.data<float>(), y.data<float>() + 10);
    r.report = (*s)->load_profile().weight_cache;
    return r;
  }
  // N from "mapped N packed weights" / "packed N weights"; 0 when the report does not say.
  static int Count(const std::string& report, const std::string& pattern) {
    std::smatch m;
    return std::regex_search(report, m, std::regex(pattern)) ? std::stoi(m[1]) : 0;
  }
  static int Mapped(const std::string& r) { return Count(r, "mapped (\\d+) packed weights?"); }
  static int Packed(const std::string& r) { return Count(r, "packed (\\d+) weights?"); }
  std::string cache() const { return dir_ + "/cache"; }
};

TEST_F(WeightCacheSessionTest, FirstLoadWritesNextLoadMapsAndBothMatchNoCache) {
  const std::string model = Write("m.onnx", SmallCnnBytes(1));
  const Result plain = Run(model, "");
  EXPECT_EQ(plain.report, "");
  const Result first = Run(model, cache());
  EXPECT_EQ(first.y, plain.y);
  if (!OnednnAvailable()) {
    EXPECT_EQ(first.report, "no weights packed by oneDNN");
    return;
  }
  const int packed = Packed(first.report);
  EXPECT_GT(packed, 0) << first.report;
  EXPECT_EQ(Mapped(first.report), 0) << first.report;
  EXPECT_NE(first.report.find("written to " + cache() + "/"), std::string::npos) << first.report;
  const Result second = Run(model, cache());
  EXPECT_EQ(second.y, plain.y);
  EXPECT_EQ(Mapped(second.report), packed) << second.report;
  EXPECT_EQ(Packed(second.report), 0) << second.report;
  EXPECT_EQ(std::distance(fs::directory_iterator(cache()), fs::directory_iterator()), 1);
}

TEST_F(WeightCacheSessionTest, AModelFileRewrittenInPlaceIsNotServedItsOldWeights) {
  if (!OnednnAvailable()) GTEST_SKIP() << "only oneDNN kernels pack into the cache";
  const std::string model = Write("m.onnx", SmallCnnBytes(1));
  Run(model, cache());
  // Same names and sizes, other weights, the same path and inode, and the old modification time
  // (a rewrite within one tick of a coarse clock): the file's key is the same, so only each
  // entry's fingerprint of its source bytes tells the weights apart.
  const fs::file_time_type mtime = fs::last_write_time(model);
  Write("m.onnx", SmallCnnBytes(2));
  fs::last_write_time(model, mtime);
  const Result plain = Run(model, "");
  const Result cached = Run(model, cache());
  EXPECT_EQ(cached.y, plain.y);
  EXPECT_EQ(Mapped(cached.report), 0) << cached.report;
  EXPECT_NE(cached.report.find("written to"), std::string::npos) << cached.report;
  const Result again = Run(model, cache());
  EXPECT_EQ(again.y, plain.y);
  EXPECT_GT(Mapped(again.report), 0) << again.report;
}

TEST_F(WeightCacheSessionTest, AChangedExternalDataFileIsNotServedItsOldWeights) {
  if (!OnednnAvailable()) GTEST_SKIP() << "only oneDNN kernels pack into the cache";
  std::string data;
  const std::string model = Write("m.onnx", SmallCnnWithExternalWeights(8, "w3.bin", &data));
  Write("w3.bin", data);
  const Result first = Run(model, cache());
  EXPECT_GT(Packed(first.report), 0) << first.report;
  // Change one weight between the bytes the entry fingerprint samples (every 1151 bytes of the
  // 36864): only the data file's own identity in the cache key tells the versions apart.
  float w;
  std::memcpy(&w, data.data() + 400, sizeof(w));
  w += 0.5f;
  std::memcpy(data.data() + 400, &w, sizeof(w));
  Write("w3.bin", data);
  const Result plain = Run(model, "");
  ASSERT_NE(plain.y, first.y);
  const Result cached = Run(model, cache());
  EXPECT_EQ(cached.y, plain.y);
  EXPECT_EQ(Mapped(cached.report), 0) << cached.report;
}

TEST_F(WeightCacheSessionTest, ACorruptCacheFileIsIgnoredAndRewritten) {
  if (!OnednnAvailable()) GTEST_SKIP() << "only oneDNN kernels pack into the cache";
  const std::string model = Write("m.onnx", SmallCnnBytes(3));
  const Result plain = Run(model, "");
  Run(model, cache());
  const fs::path file = fs::directory_iterator(cache())->path();
  fs::resize_file(file, fs::file_size(file) / 2);
  const Result cached = Run(model, cache());
  EXPECT_EQ(cached.y, plain.y);
  EXPECT_NE(cached.report.find("ignored " + file.string()), std::string::npos) << cached.report;
  EXPECT_NE(cached.report.find("written to"), std::string::npos) << cached.report;
  EXPECT_GT(Mapped(Run(model, cache()).report), 0);
}

TEST_F(WeightCacheSessionTest, SessionsWritingTheCacheAtOnceLeaveAGoodFile) {
  if (!OnednnAvailable()) GTEST_SKIP() << "only oneDNN kernels pack into the cache";
  const std::string model = Write("m.onnx", SmallCnnBytes(7));
  const Result plain = Run(model, "");
  std::vector<Result> results(4);
  {
    std::vector<std::thread> threads;
    for (Result& r : results) threads.emplace_back([&] { r = Run(model, cache()); });
    for (std::thread& t : threads) t.join();
  }
  for (const Result& r : results) EXPECT_EQ(r.y, plain.y) << r.report;
  const Result after = Run(model, cache());
  EXPECT_EQ(after.y, plain.y);
  EXPECT_GT(Mapped(after.report), 0) << after.report;
  EXPECT_EQ(Packed(after.report), 0) << after.report;
  // Only the cache file: every writer's temporary file was renamed into place.
  EXPECT_EQ(std::distance(fs::directory_iterator(cache()), fs::directory_iterator()), 1);
}

TEST_F(WeightCacheSessionTest, AnUnwritableDirectoryOnlyCostsTheCache) {
  if (!OnednnAvailable()) GTEST_SKIP() << "only oneDNN kernels pack into the cache";
  const std::string model = Write("m.onnx", SmallCnnBytes(4));
  const std::string not_a_dir = Write("file", "x");
  const Result plain = Run(model, "");
  const Result cached = Run(model, not_a_dir + "/cache");
  EXPECT_EQ(cached.y, plain.y);
  EXPECT_NE(cached.report.find("not written: "), std::string::npos) << cached.report;
}

TEST_F(WeightCacheSessionTest, AModelFromMemoryDoesNotUseTheCache) {
  const std::string bytes = SmallCnnBytes(5);
  const Result plain = Run(Write("m.onnx", bytes), "");
  const Result cached = Run("", cache(), true, bytes);
  EXPECT_EQ(cached.y, plain.y);
  EXPECT_EQ(cached.report, "not used: the model does not come from a file");
  EXPECT_FALSE(fs::exists(cache()));
}

TEST_F(WeightCacheSessionTest, AnotherLayoutOfTheSameWeightIsAddedBesideTheFirst) {
  if (!OnednnAvailable()) GTEST_SKIP() << "only oneDNN kernels pack into the cache";
  const std::string model = Write("m.onnx", SmallCnnBytes(6));
  const Result first = Run(model, cache(), /*winograd=*/true);
  const Result direct_plain = Run(model, "", /*winograd=*/false);
  const Result direct = Run(model, cache(), /*winograd=*/false);
  EXPECT_EQ(direct.y, direct_plain.y);
  // Where the 3x3 conv ran as Winograd, its direct layout is packed and added; the rest is mapped.
  EXPECT_EQ(Mapped(direct.report) + Packed(direct.report), Packed(first.report)) << direct.report;
  const Result both = Run(model, cache(), /*winograd=*/true);
  EXPECT_EQ(both.y, first.y);
  EXPECT_EQ(Packed(both.report), 0) << "the Winograd layout is still in the file: " << both.report;
}

}  // namespace
}  // namespace edgerun
