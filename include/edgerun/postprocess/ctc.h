// CTC greedy decoding for OCR recognition (PaddleOCR's CTCLabelDecode): per time step take the
// argmax class, merge repeats, drop the blank (class 0); class i >= 1 is dict[i - 1], and with
// use_space_char one more class, " ", follows the dictionary. Confidence is the mean of the
// kept steps' probabilities (0 when nothing is kept).
//   ASSIGN_OR_RETURN(auto dict, LoadCharacterDict("ppocr_keys_v1.txt"));
//   ASSIGN_OR_RETURN(CtcResult r, CtcGreedyDecode(probs, steps, classes, dict, {}));
//   fmt::print("{} ({:.2f})\n", r.text, r.confidence);
#pragma once

#include <span>
#include <string>
#include <vector>

#include "edgerun/status.h"

namespace edgerun::postprocess {

// One entry per line (UTF-8, trailing "\r" dropped); errors name the file when it cannot be read
// or is empty.
Expected<std::vector<std::string>> LoadCharacterDict(const std::string& path);

struct CtcOptions {
  bool use_space_char = true;  // PaddleOCR's default: " " is the last class
  bool apply_softmax = false;  // input is logits rather than probabilities
  bool merge_repeated = true;
};

struct CtcResult {
  std::string text;
  float confidence = 0;
  std::vector<int> classes;  // kept class per emitted character
};

// probs: steps x num_classes, row-major. num_classes must be dict.size() + 1 (+1 with space).
Expected<CtcResult> CtcGreedyDecode(std::span<const float> probs, int steps, int num_classes,
                                    std::span<const std::string> dict, const CtcOptions& options);

}  // namespace edgerun::postprocess
