// Top-k with ties and labels, softmax, and label-file errors.
#include "edgerun/postprocess/classification.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace edgerun::postprocess {
namespace {

TEST(TopKTest, OrdersByScoreWithTiesByIndex) {
  const std::vector<float> scores = {0.1f, 0.5f, 0.3f, 0.5f, 0.05f, 0.3f};
  const std::vector<std::string> labels = {"a", "b", "c", "d", "e", "f"};
  auto top = TopK(scores, 4, labels);
  ASSERT_TRUE(top.ok()) << top.status().message();
  ASSERT_EQ(top->size(), 4u);
  EXPECT_EQ((*top)[0].index, 1);
  EXPECT_EQ((*top)[1].index, 3);
  EXPECT_EQ((*top)[2].index, 2);
  EXPECT_EQ((*top)[3].index, 5);
  EXPECT_EQ((*top)[1].label, "d");
  auto all = TopK(scores, 100, {});  // k larger than the class count
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 6u);
  EXPECT_EQ(all->back().index, 4);
}

TEST(TopKTest, SoftmaxProbabilities) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  auto top = TopK(logits, 2, {}, {.softmax = true});
  ASSERT_TRUE(top.ok());
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR((*top)[0].score, std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR((*top)[1].score, std::exp(2.0) / z, 1e-6);
}

TEST(TopKTest, BadInputIsAnError) {
  const std::vector<float> scores = {0.1f, std::nanf("")};
  EXPECT_FALSE(TopK(scores, 1, {}).ok());
  const std::vector<float> ok = {0.1f, 0.2f};
  const std::vector<std::string> one = {"x"};
  EXPECT_FALSE(TopK(ok, 1, one).ok());
  EXPECT_FALSE(TopK(ok, 0, {}).ok());
  EXPECT_FALSE(TopK({}, 1, {}).ok());
}

TEST(LabelsTest, LoadsAndChecksCount) {
  const auto path = std::filesystem::temp_directory_path() / "edgerun_labels_test.txt";
  std::ofstream(path) << "cat\r\ndog\nbird\n";
  auto labels = LoadLabels(path.string(), 3);
  ASSERT_TRUE(labels.ok()) << labels.status().message();
  EXPECT_EQ(*labels, (std::vector<std::string>{"cat", "dog", "bird"}));
  auto wrong = LoadLabels(path.string(), 1000);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("has 3 labels but the model has 1000 classes"),
            std::string::npos);
  std::filesystem::remove(path);
  EXPECT_FALSE(LoadLabels(path.string()).ok());
}

}  // namespace
}  // namespace edgerun::postprocess
