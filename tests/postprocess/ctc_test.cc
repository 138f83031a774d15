// CTC greedy decoding with a PaddleOCR-style dictionary: blanks, repeats, space, confidence.
#include "edgerun/postprocess/ctc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace edgerun::postprocess {
namespace {

// One-hot-ish rows: class c gets probability p, the rest share 1 - p.
std::vector<float> Rows(const std::vector<std::pair<int, float>>& steps, int classes) {
  std::vector<float> v;
  for (auto [c, p] : steps) {
    for (int k = 0; k < classes; ++k) v.push_back(k == c ? p : (1 - p) / (classes - 1));
  }
  return v;
}

TEST(CtcTest, MergesRepeatsDropsBlanksAndMapsDict) {
  const std::vector<std::string> dict = {"a", "b", "l", "o"};  // classes 1..4, 5 = space
  // "b a l l o" with a blank between the two l's and repeats elsewhere, then " a".
  const auto probs = Rows({{2, 0.9f},
                           {2, 0.8f},
                           {1, 0.9f},
                           {0, 0.99f},
                           {3, 0.7f},
                           {0, 0.9f},
                           {3, 0.9f},
                           {4, 0.6f},
                           {4, 0.9f},
                           {5, 0.8f},
                           {1, 1.0f},
                           {0, 0.5f}},
                          6);
  auto r = CtcGreedyDecode(probs, 12, 6, dict, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->text, "ballo a");
  // Kept steps: first of each run (0.9, 0.9, 0.7, 0.9, 0.6, 0.8, 1.0).
  EXPECT_NEAR(r->confidence, (0.9f + 0.9f + 0.7f + 0.9f + 0.6f + 0.8f + 1.0f) / 7, 1e-6);
  EXPECT_EQ(r->classes, (std::vector<int>{2, 1, 3, 3, 4, 5, 1}));
  // Without merging repeats every non-blank step is kept.
  r = CtcGreedyDecode(probs, 12, 6, dict, {.merge_repeated = false});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "bballoo a");
}

TEST(CtcTest, AllBlankGivesEmptyTextAndZeroConfidence) {
  const std::vector<std::string> dict = {"x"};
  const auto probs = Rows({{0, 0.9f}, {0, 0.9f}}, 3);
  auto r = CtcGreedyDecode(probs, 2, 3, dict, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "");
  EXPECT_EQ(r->confidence, 0.0f);
}

TEST(CtcTest, SoftmaxOnLogits) {
  const std::vector<std::string> dict = {"x", "y"};
  const std::vector<float> logits = {0, 2, 0, 0};  // class 1, p = e^2 / (e^2 + 3)
  auto r = CtcGreedyDecode(logits, 1, 4, dict, {.apply_softmax = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "x");
  EXPECT_NEAR(r->confidence, std::exp(2.0) / (std::exp(2.0) + 3), 1e-6);
}

TEST(CtcTest, MismatchesAreErrors) {
  const std::vector<std::string> dict = {"a", "b"};
  const std::vector<float> probs(8, 0.25f);
  auto r = CtcGreedyDecode(probs, 2, 4, dict, {.use_space_char = false});  // 3 classes expected
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model has 4 classes but the dictionary gives 3"),
            std::string::npos);
  EXPECT_FALSE(CtcGreedyDecode(probs, 3, 4, dict, {}).ok());  // 8 values != 3 x 4
  std::vector<float> nan = probs;
  nan[5] = std::nanf("");
  EXPECT_FALSE(CtcGreedyDecode(nan, 2, 4, dict, {}).ok());
}

TEST(CtcTest, LoadsDictionaryFile) {
  const auto path = std::filesystem::temp_directory_path() / "edgerun_ctc_dict_test.txt";
  std::ofstream(path) << "a\r\nb\n\xe4\xb8\xad\n";
  auto dict = LoadCharacterDict(path.string());
  ASSERT_TRUE(dict.ok());
  EXPECT_EQ(*dict, (std::vector<std::string>{"a", "b", "\xe4\xb8\xad"}));
  std::filesystem::remove(path);
  auto missing = LoadCharacterDict(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path.string()), std::string::npos);
}

}  // namespace
}  // namespace edgerun::postprocess
