// The packed-weight cache (SessionOptions::weight_cache_dir) on real models: ResNet-18 (fp32
// direct and Winograd convs, the classifier's inner product) and MobileNetV2 QDQ (int8 convs,
// whose packed weights carry oneDNN's compensation). A session that packs and writes the cache
// and one that maps it must both give bit for bit the outputs of a session without the cache,
// and the second must map every weight the first packed.
//
// Fixtures come from scripts/fetch_fixtures.sh: ${EDGERUN_CACHE:-$HOME/.cache/edgerun}/models/
// <name>/{model.onnx,input.npy}. A missing fixture is a failure, not a skip.
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "edgerun/session.h"
#include "io/npy.h"
#include "util/compare.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

fs::path FixtureDir() {
  if (const char* c = std::getenv("EDGERUN_CACHE"); c != nullptr && *c != '\0') return c;
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : ".") / ".cache" / "edgerun";
}

int Count(const std::string& report, const char* pattern) {
  std::smatch m;
  return std::regex_search(report, m, std::regex(pattern)) ? std::stoi(m[1]) : -1;
}

struct Outcome {
  std::vector<double> y;
  std::string report;
};

Outcome RunOnce(const std::string& model_path, const Tensor& input, const std::string& cache) {
  Outcome o;
  Expected<Model> model = LoadModel(model_path);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return o;
  SessionOptions options;
  options.weight_cache_dir = cache;
  auto session = Session::Create(std::move(*model), options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return o;
  EXPECT_TRUE((*session)->SetInput(0, input.view()).ok());
  const Status ran = (*session)->Run();
  EXPECT_TRUE(ran.ok()) << ran.ToString();
  o.y = test_util::ToDoubles((*session)->output(0));
  o.report = (*session)->load_profile().weight_cache;
  return o;
}

class WeightCacheModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(WeightCacheModelTest, WrittenThenMappedWeightsGiveTheSameOutputs) {
  const fs::path dir = FixtureDir() / "models" / GetParam();
  for (const char* f : {"model.onnx", "input.npy"}) {
    ASSERT_TRUE(fs::is_regular_file(dir / f))
        << "fixture " << (dir / f).string() << " is missing; run scripts/fetch_fixtures.sh";
  }
  Expected<Tensor> input = ReadNpy((dir / "input.npy").string());
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  std::string cache = (fs::temp_directory_path() / "edgerun_weight_cache_XXXXXX").string();
  ASSERT_NE(::mkdtemp(cache.data()), nullptr);
  const std::string model = (dir / "model.onnx").string();

  const Outcome plain = RunOnce(model, *input, "");
  const Outcome first = RunOnce(model, *input, cache);
  const Outcome second = RunOnce(model, *input, cache);
  std::error_code ec;
  fs::remove_all(cache, ec);

  std::printf("[ cache    ] %-18s first: %s\n[ cache    ] %-18s second: %s\n", GetParam(),
              first.report.c_str(), GetParam(), second.report.c_str());
  const int packed = Count(first.report, "packed (\\d+) weights? \\(");
  // Both models run convs on oneDNN, whose packed weights are cached (ResNet-18's 20,
  // MobileNetV2 QDQ's 10); edgerun's own kernels pack theirs at load.
  EXPECT_GE(packed, 8) << first.report;
  EXPECT_NE(first.report.find("written to"), std::string::npos) << first.report;
  EXPECT_EQ(Count(second.report, "mapped (\\d+) packed weights? \\("), packed) << second.report;
  EXPECT_EQ(Count(second.report, "packed (\\d+) weights? \\("), -1) << second.report;
  ASSERT_FALSE(plain.y.empty());
  EXPECT_EQ(first.y, plain.y);
  EXPECT_EQ(second.y, plain.y);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WeightCacheModelTest,
                         ::testing::Values("resnet18", "mobilenet_v2_qdq"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace edgerun
