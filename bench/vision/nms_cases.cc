#include "nms_cases.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/dnn.hpp>

#include "edgerun/postprocess/nms.h"

namespace edgerun::bench {
namespace {

using postprocess::Box;

struct Inputs {
  std::vector<Box> boxes;
  std::vector<float> scores;
  std::vector<cv::Rect2d> rects;  // the same boxes as OpenCV takes them
};

// Detector-like candidates on a 1080p frame: centres uniform, sides 10..100 px, scores uniform.
Inputs MakeInputs(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> cx(0, 1920), cy(0, 1080), side(10, 100), unit(0, 1);
  Inputs in;
  for (size_t i = 0; i < n; ++i) {
    const float x = cx(rng), y = cy(rng), w = side(rng), h = side(rng);
    const Box b{x - w / 2, y - h / 2, x + w / 2, y + h / 2};
    in.boxes.push_back(b);
    in.scores.push_back(unit(rng));
    in.rects.emplace_back(b.x1, b.y1, static_cast<double>(b.x2) - b.x1,
                          static_cast<double>(b.y2) - b.y1);
  }
  return in;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <typename F>
double TimeMs(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

BenchRow RunCase(const std::string& name, size_t n, int edgerun_iters, int opencv_iters,
                 double target) {
  constexpr float kScore = 0.25f, kIou = 0.45f;
  const Inputs in = MakeInputs(n, static_cast<uint32_t>(n));
  postprocess::NmsWorkspace ws(n);
  const postprocess::NmsOptions options{.score_threshold = kScore, .iou_threshold = kIou};
  BenchRow row;
  row.name = name;
  row.target_speedup = target;

  std::vector<int> ours;
  std::vector<double> times;
  for (int i = 0; i < edgerun_iters + 1; ++i) {  // first run is a warm-up
    bool ok = true;
    const double ms = TimeMs([&] {
      auto keep = postprocess::Nms(in.boxes, in.scores, options, ws);
      ok = keep.ok();
      if (ok) ours.assign(keep->begin(), keep->end());
    });
    if (!ok) {
      row.detail = "edgerun Nms failed";
      return row;
    }
    if (i > 0) times.push_back(ms);
  }
  row.edgerun_ms = Median(times);

  if (opencv_iters == 0) {
    row.same_result = true;
    row.detail = fmt::format("{} kept; OpenCV not run (too slow for this mode)", ours.size());
    return row;
  }
  std::vector<int> theirs;
  times.clear();
  for (int i = 0; i < opencv_iters; ++i) {
    times.push_back(TimeMs([&] { cv::dnn::NMSBoxes(in.rects, in.scores, kScore, kIou, theirs); }));
  }
  row.opencv_ms = Median(times);
  row.same_result = ours == theirs;
  row.detail =
      row.same_result
          ? fmt::format("keep sets equal ({} of {} kept, same order)", ours.size(), n)
          : fmt::format("keep sets differ: edgerun {} vs OpenCV {}", ours.size(), theirs.size());
  return row;
}

}  // namespace

std::vector<BenchRow> RunNmsBenchCases(int iterations, bool quick) {
  const int iters = std::max(1, iterations);
  std::vector<BenchRow> rows;
  rows.push_back(RunCase("(c) NMS 10k boxes, score 0.25, IoU 0.45", 10000, iters,
                         quick ? std::min(iters, 3) : std::min(iters, 15), 10.0));
  // OpenCV is O(candidates x kept): about 100x case (c) at 100k, so one run, and none in quick
  // mode.
  rows.push_back(
      RunCase("(d) NMS 100k boxes, score 0.25, IoU 0.45", 100000, iters, quick ? 0 : 1, 0.0));
  return rows;
}

}  // namespace edgerun::bench
