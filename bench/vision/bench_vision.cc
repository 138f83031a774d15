// edgerun-bench-vision: preprocessing and NMS timed with edgerun and with OpenCV 4.6 in the same
// run, one thread, medians; each case also checks that both produce the same result.
//   (a) 1920x1080 BGR u8 -> 224x224 RGB f32 NCHW, ImageNet mean/std (target 4x)
//   (b) NV12 1920x1080 -> 640x640 letterboxed RGB f32 NCHW, /255 (target 4x)
//   (c), (d) NMS: see nms_cases.h
// Usage: edgerun-bench-vision [--json] [--quick] [--iterations N] [--cases abcd]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench_row.h"
#include "edgerun/vision/preprocessor.h"
#include "nms_cases.h"

namespace {

using edgerun::bench::BenchRow;
using namespace edgerun::vision;

double MedianMs(int iterations, const std::function<void()>& fn) {
  fn();  // warm-up: page in buffers and tables
  std::vector<double> ms;
  ms.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

// A camera-like frame: smooth gradients and shapes plus mild sensor noise (pure noise would make
// every resize look like aliasing and is not what cameras deliver).
cv::Mat MakeFrame(int w, int h) {
  cv::Mat img(h, w, CV_8UC3);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> noise(-6, 6);
  for (int y = 0; y < h; ++y) {
    auto* row = img.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const double fx = static_cast<double>(x) / w;
      const double fy = static_cast<double>(y) / h;
      const int b = static_cast<int>(128 + 100 * std::sin(9 * fx + 3 * fy));
      const int g = static_cast<int>(255 * fy);
      const int r = ((x / 97 + y / 61) % 2) ? 210 : 40;
      row[3 * x + 0] = cv::saturate_cast<uint8_t>(b + noise(rng));
      row[3 * x + 1] = cv::saturate_cast<uint8_t>(g + noise(rng));
      row[3 * x + 2] = cv::saturate_cast<uint8_t>(r + noise(rng));
    }
  }
  return img;
}

float MaxAbsDiff(const float* a, const float* b, size_t n, double* mean_abs) {
  float m = 0;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = std::abs(a[i] - b[i]);
    m = std::max(m, d);
    sum += d;
  }
  if (mean_abs) *mean_abs = sum / static_cast<double>(n);
  return m;
}

BenchRow CaseA(int iterations) {
  BenchRow row;
  row.name = "(a) 1080p BGR u8 -> 224x224 RGB f32 NCHW, ImageNet mean/std";
  row.target_speedup = 4;
  const cv::Mat frame = MakeFrame(1920, 1080);
  const float mean[3] = {0.485f, 0.456f, 0.406f};
  const float stdv[3] = {0.229f, 0.224f, 0.225f};

  PreprocessSpec spec;
  spec.width = 224;
  spec.height = 224;
  spec.resize_mode = ResizeMode::kBilinear;
  spec.order = ChannelOrder::kRgb;
  spec.scale = 1.0f / 255;
  spec.mean = {mean[0], mean[1], mean[2]};
  spec.std = {stdv[0], stdv[1], stdv[2]};
  auto pre = Preprocessor::Create(spec, PixelFormat::kBGR, 1920, 1080);
  auto view = ImageView::MakePacked(PixelFormat::kBGR, frame.data, 1920, 1080, frame.step);
  if (!pre || !view) {
    row.detail = "setup failed: " + (pre ? view.status() : pre.status()).message();
    return row;
  }
  std::vector<float> ours(pre->output_elements());
  auto out_bytes = std::as_writable_bytes(std::span(ours));
  row.edgerun_ms = MedianMs(iterations, [&] { (void)pre->Run(*view, out_bytes); });

  cv::Mat resized, rgb, f32, blob;
  const cv::Scalar cv_mean(mean[0], mean[1], mean[2]);
  const cv::Scalar cv_std(stdv[0], stdv[1], stdv[2]);
  auto opencv = [&] {
    cv::resize(frame, resized, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
    cv::cvtColor(resized, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(f32, CV_32F, 1.0 / 255);
    cv::subtract(f32, cv_mean, f32);
    cv::divide(f32, cv_std, f32);
    blob = cv::dnn::blobFromImage(f32);
  };
  row.opencv_ms = MedianMs(iterations, opencv);
  double mean_abs = 0;
  const float max_diff = MaxAbsDiff(ours.data(), blob.ptr<float>(), ours.size(), &mean_abs);
  // One u8 step after normalization is 1/255/std; OpenCV's own scalar tail may round there.
  const float one_step = 1.0f / 255 / 0.224f;
  row.same_result = max_diff <= one_step * 1.001f;
  row.detail = fmt::format("max |diff| {:.3g} (1 u8 step = {:.3g}), mean {:.2g}", max_diff,
                           one_step, mean_abs);
  return row;
}

BenchRow CaseB(int iterations) {
  BenchRow row;
  row.name = "(b) NV12 1080p -> 640x640 letterbox RGB f32 NCHW, /255";
  row.target_speedup = 4;
  const int w = 1920, h = 1080;
  const cv::Mat bgr = MakeFrame(w, h);
  cv::Mat i420;
  cv::cvtColor(bgr, i420, cv::COLOR_BGR2YUV_I420);
  // I420 -> NV12: same Y, U and V interleaved.
  cv::Mat nv12(h * 3 / 2, w, CV_8UC1);
  std::memcpy(nv12.data, i420.data, static_cast<size_t>(w) * h);
  const uint8_t* u = i420.data + w * h;
  const uint8_t* v = u + (w / 2) * (h / 2);
  uint8_t* uv = nv12.data + w * h;
  for (int i = 0; i < (w / 2) * (h / 2); ++i) {
    uv[2 * i] = u[i];
    uv[2 * i + 1] = v[i];
  }

  PreprocessSpec spec;
  spec.width = 640;
  spec.height = 640;
  spec.letterbox = true;
  spec.pad_value = 114;
  spec.resize_mode = ResizeMode::kBilinear;
  spec.yuv_matrix = YuvMatrix::kBt601;
  spec.yuv_range = YuvRange::kLimited;  // what cv::COLOR_YUV2RGB_NV12 uses
  spec.scale = 1.0f / 255;
  auto pre = Preprocessor::Create(spec, PixelFormat::kNV12, w, h);
  auto view = ImageView::MakeNV12(nv12.data, w, nv12.data + w * h, w, w, h);
  if (!pre || !view) {
    row.detail = "setup failed: " + (pre ? view.status() : pre.status()).message();
    return row;
  }
  std::vector<float> ours(pre->output_elements());
  auto out_bytes = std::as_writable_bytes(std::span(ours));
  row.edgerun_ms = MedianMs(iterations, [&] { (void)pre->Run(*view, out_bytes); });

  const int rw = pre->content_width(), rh = pre->content_height();
  const int top = (640 - rh) / 2, left = (640 - rw) / 2;
  cv::Mat rgb, resized, boxed, blob;
  auto opencv = [&] {
    cv::cvtColor(nv12, rgb, cv::COLOR_YUV2RGB_NV12);
    cv::resize(rgb, resized, cv::Size(rw, rh), 0, 0, cv::INTER_LINEAR);
    cv::copyMakeBorder(resized, boxed, top, 640 - rh - top, left, 640 - rw - left,
                       cv::BORDER_CONSTANT, cv::Scalar(114, 114, 114));
    blob = cv::dnn::blobFromImage(boxed, 1.0 / 255);
  };
  row.opencv_ms = MedianMs(iterations, opencv);
  double mean_abs = 0;
  const float max_diff = MaxAbsDiff(ours.data(), blob.ptr<float>(), ours.size(), &mean_abs);
  // Same chain as OpenCV (convert, then resize); the fixed-point YUV->RGB differs from
  // cvtColor's by at most 1 per pixel, and at this exact 3:1 scale each output is one source
  // pixel, so the limit is 1 u8 step.
  row.same_result = max_diff <= 1.0f / 255 * 1.001f;
  row.detail = fmt::format("max |diff| {:.3g} = {:.1f} u8 steps (limit 1), mean {:.2g}", max_diff,
                           max_diff * 255, mean_abs);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  bool quick = false;
  int iterations = 0;
  std::string cases = "abcd";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--iterations" && i + 1 < argc) {
      iterations = std::atoi(argv[++i]);
      if (iterations <= 0) {
        fmt::print(stderr, "edgerun-bench-vision: --iterations must be positive\n");
        return 2;
      }
    } else if (arg == "--cases" && i + 1 < argc) {
      cases = argv[++i];
      if (cases.empty() || cases.find_first_not_of("abcd") != std::string::npos) {
        fmt::print(stderr, "edgerun-bench-vision: --cases takes letters a to d, e.g. ab\n");
        return 2;
      }
    } else {
      fmt::print(
          stderr,
          "usage: edgerun-bench-vision [--json] [--quick] [--iterations N] [--cases abcd]\n");
      return 2;
    }
  }
  if (iterations == 0) iterations = quick ? 15 : 200;
  cv::setNumThreads(1);

  std::vector<BenchRow> rows;
  if (cases.find('a') != std::string::npos) rows.push_back(CaseA(iterations));
  if (cases.find('b') != std::string::npos) rows.push_back(CaseB(iterations));
  if (cases.find_first_of("cd") != std::string::npos) {
    for (BenchRow& r : edgerun::bench::RunNmsBenchCases(quick ? 5 : 20, quick)) {
      if (cases.find(r.name[1]) != std::string::npos) rows.push_back(std::move(r));
    }
  }

  bool all_ok = true;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const BenchRow& r : rows) {
      const double speedup = r.opencv_ms > 0 && r.edgerun_ms > 0 ? r.opencv_ms / r.edgerun_ms : 0;
      out.push_back({{"name", r.name},
                     {"edgerun_ms", r.edgerun_ms},
                     {"opencv_ms", r.opencv_ms},
                     {"speedup", speedup},
                     {"target_speedup", r.target_speedup},
                     {"meets_target", r.target_speedup == 0 || speedup >= r.target_speedup},
                     {"same_result", r.same_result},
                     {"detail", r.detail}});
    }
    nlohmann::json doc = {{"simd_target", Preprocessor::SimdTarget()},
                          {"opencv", CV_VERSION},
                          {"iterations", iterations},
                          {"cases", out}};
    fmt::print("{}\n", doc.dump(2));
  } else {
    fmt::print("edgerun-bench-vision: 1 thread, medians of {} runs, SIMD target {}, OpenCV {}\n",
               iterations, Preprocessor::SimdTarget(), CV_VERSION);
    fmt::print("| case | edgerun ms | OpenCV ms | speedup | target | same result | detail |\n");
    fmt::print("|---|---:|---:|---:|---:|---|---|\n");
    for (const BenchRow& r : rows) {
      const double speedup = r.opencv_ms > 0 && r.edgerun_ms > 0 ? r.opencv_ms / r.edgerun_ms : 0;
      fmt::print("| {} | {:.3f} | {} | {} | {} | {} | {} |\n", r.name, r.edgerun_ms,
                 r.opencv_ms > 0 ? fmt::format("{:.3f}", r.opencv_ms) : "-",
                 speedup > 0 ? fmt::format("{:.1f}x", speedup) : "-",
                 r.target_speedup > 0 ? fmt::format(">= {:.0f}x", r.target_speedup) : "-",
                 r.same_result ? "yes" : "NO", r.detail);
    }
  }
  // Cases without an OpenCV counterpart only report a time.
  for (const BenchRow& r : rows) all_ok = all_ok && (r.opencv_ms == 0 || r.same_result);
  return all_ok ? 0 : 1;
}
