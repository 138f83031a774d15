#include "edgerun/postprocess/ctc.h"

#include <cmath>
#include <fstream>

#include <fmt/format.h>

namespace edgerun::postprocess {

Expected<std::vector<std::string>> LoadCharacterDict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot open character dictionary", path));
  std::vector<std::string> dict;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    dict.push_back(line);
  }
  if (in.bad()) return IoError(fmt::format("{}: read error", path));
  if (dict.empty()) return InvalidArgument(fmt::format("{}: character dictionary is empty", path));
  return dict;
}

Expected<CtcResult> CtcGreedyDecode(std::span<const float> probs, int steps, int num_classes,
                                    std::span<const std::string> dict, const CtcOptions& o) {
  if (steps < 0 || num_classes <= 0) {
    return InvalidArgument(
        fmt::format("ctc: steps {} and num_classes {} must be positive", steps, num_classes));
  }
  if (probs.size() != static_cast<size_t>(steps) * num_classes) {
    return InvalidArgument(fmt::format("ctc: {} values but steps x classes is {} x {}",
                                       probs.size(), steps, num_classes));
  }
  const size_t expected = dict.size() + 1 + (o.use_space_char ? 1 : 0);
  if (static_cast<size_t>(num_classes) != expected) {
    return InvalidArgument(
        fmt::format("ctc: model has {} classes but the dictionary gives {} (blank + {} entries{})",
                    num_classes, expected, dict.size(), o.use_space_char ? " + space" : ""));
  }
  CtcResult r;
  double sum = 0;
  int previous = -1;
  for (int t = 0; t < steps; ++t) {
    const float* row = probs.data() + static_cast<size_t>(t) * num_classes;
    int best = 0;
    for (int c = 0; c < num_classes; ++c) {
      if (std::isnan(row[c]))
        return InvalidArgument(fmt::format("ctc: step {} class {} is NaN", t, c));
      if (row[c] > row[best]) best = c;
    }
    float p = row[best];
    if (o.apply_softmax) {
      double z = 0;
      for (int c = 0; c < num_classes; ++c) z += std::exp(static_cast<double>(row[c] - row[best]));
      p = static_cast<float>(1.0 / z);
    }
    const bool repeat = o.merge_repeated && best == previous;
    previous = best;
    if (best == 0 || repeat) continue;
    r.classes.push_back(best);
    r.text += static_cast<size_t>(best) <= dict.size() ? dict[best - 1] : std::string(" ");
    sum += p;
  }
  r.confidence = r.classes.empty() ? 0.0f : static_cast<float>(sum / r.classes.size());
  return r;
}

}  // namespace edgerun::postprocess
