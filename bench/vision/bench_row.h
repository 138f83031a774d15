// One row of edgerun-bench-vision's table: a case timed with edgerun and with OpenCV in the same
// run, whether both gave the same result, and the target ratio the issue sets.
#pragma once

#include <string>

namespace edgerun::bench {

struct BenchRow {
  std::string name;         // e.g. "(a) 1080p BGR u8 -> 224x224 RGB f32 NCHW"
  double edgerun_ms = 0;    // median
  double opencv_ms = 0;     // median; 0 when the case has no OpenCV counterpart
  double target_speedup = 0;  // 0 when the case only reports its time
  bool same_result = false;
  std::string detail;       // how "same" was judged, e.g. "max |diff| 1.2e-6", "keep sets equal"
};

}  // namespace edgerun::bench
