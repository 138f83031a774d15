// Classification postprocessing: top-k classes with labels read from a label file.
//
// Partial sort by score, descending; equal scores keep the lower class index first, so results
// are deterministic. Optional softmax for logit outputs.
//   ASSIGN_OR_RETURN(auto labels, LoadLabels("imagenet.txt", 1000));
//   ASSIGN_OR_RETURN(auto top, TopK(logits, 5, labels, {.softmax = true}));
//   fmt::print("{} {:.3f}\n", top[0].label, top[0].score);
#pragma once

#include <span>
#include <string>
#include <vector>

#include "edgerun/status.h"

namespace edgerun::postprocess {

// One label per line ("\r\n" accepted; a trailing empty line ignored). expected_count > 0 makes
// a different count an error naming the file and both counts.
Expected<std::vector<std::string>> LoadLabels(const std::string& path, size_t expected_count = 0);

struct TopKOptions {
  bool softmax = false;  // scores are logits: report softmax probabilities
};

struct ClassScore {
  int index = 0;
  float score = 0;
  std::string label;  // empty when no labels were given
};

// labels may be empty; otherwise it must have one entry per score.
Expected<std::vector<ClassScore>> TopK(std::span<const float> scores, int k,
                                       std::span<const std::string> labels,
                                       const TopKOptions& options = {});

}  // namespace edgerun::postprocess
