// edgerun-bench-vision cases (c) and (d): greedy NMS with edgerun against cv::dnn::NMSBoxes.
//   (c) 10k random boxes, score threshold 0.25, IoU 0.45: both timed, keep sets must be identical.
//   (d) 100k random boxes: edgerun timed; OpenCV timed once when not in quick mode.
//   auto rows = RunNmsBenchCases(/*iterations=*/20, /*quick=*/false);
#pragma once

#include <vector>

#include "bench_row.h"

namespace edgerun::bench {

std::vector<BenchRow> RunNmsBenchCases(int iterations, bool quick);

}  // namespace edgerun::bench
