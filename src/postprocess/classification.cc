#include "edgerun/postprocess/classification.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include <fmt/format.h>

namespace edgerun::postprocess {

Expected<std::vector<std::string>> LoadLabels(const std::string& path, size_t expected_count) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot open label file", path));
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  if (in.bad()) return IoError(fmt::format("{}: read error", path));
  if (labels.empty()) return InvalidArgument(fmt::format("{}: label file is empty", path));
  if (expected_count > 0 && labels.size() != expected_count) {
    return InvalidArgument(fmt::format("{}: has {} labels but the model has {} classes", path,
                                       labels.size(), expected_count));
  }
  return labels;
}

Expected<std::vector<ClassScore>> TopK(std::span<const float> scores, int k,
                                       std::span<const std::string> labels,
                                       const TopKOptions& options) {
  if (scores.empty()) return InvalidArgument("top-k: no scores");
  if (k <= 0) return InvalidArgument(fmt::format("top-k: k = {} must be positive", k));
  if (!labels.empty() && labels.size() != scores.size()) {
    return InvalidArgument(
        fmt::format("top-k: {} labels for {} scores", labels.size(), scores.size()));
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) return InvalidArgument(fmt::format("top-k: score {} is NaN", i));
  }
  std::vector<int> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  const size_t kk = std::min<size_t>(k, scores.size());
  std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), [&](int a, int b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  });
  double z = 0;
  if (options.softmax) {
    const float max = scores[idx[0]];
    for (float s : scores) z += std::exp(static_cast<double>(s - max));
  }
  std::vector<ClassScore> out;
  for (size_t i = 0; i < kk; ++i) {
    ClassScore c;
    c.index = idx[i];
    c.score =
        options.softmax
            ? static_cast<float>(std::exp(static_cast<double>(scores[idx[i]] - scores[idx[0]])) / z)
            : scores[idx[i]];
    if (!labels.empty()) c.label = labels[idx[i]];
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace edgerun::postprocess
