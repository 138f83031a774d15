// DB postprocess on real PaddleOCR detector output: PP-OCRv4 det run by edgerun's engine on
// skimage's page.png (a page of text), then DbPostprocess must find its text lines. Also the
// geometry helpers (hull, minimum-area rectangle) against OpenCV, and bad input.
#include "edgerun/postprocess/db_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include <opencv2/imgproc.hpp>

#include <png.h>

#include "edgerun/session.h"

namespace edgerun::postprocess {
namespace {

namespace fs = std::filesystem;

fs::path CacheDir() {
  if (const char* c = std::getenv("EDGERUN_CACHE"); c != nullptr && *c != '\0') return c;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : ".") / ".cache" / "edgerun";
}

TEST(DbTextTest, FindsTextLinesOnPageWithPaddleOcrDetector) {
  const fs::path model_path = CacheDir() / "models" / "ppocr_det" / "model.onnx";
  ASSERT_TRUE(fs::is_regular_file(model_path))
      << "fixture " << model_path.string() << " is missing; run scripts/fetch_fixtures.sh";
  const std::string image_path = "/usr/lib/python3/dist-packages/skimage/data/page.png";
  ASSERT_TRUE(fs::is_regular_file(image_path)) << image_path << " missing: install python3-skimage";
  // libpng's simplified API directly: page.png carries an iCCP chunk libpng only warns about,
  // which the library's strict decoder (rightly, for camera input) rejects.
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&png, image_path.c_str())) << png.message;
  png.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(png));
  ASSERT_TRUE(png_image_finish_read(&png, nullptr, pixels.data(), 0, nullptr)) << png.message;
  const int src_w = static_cast<int>(png.width), src_h = static_cast<int>(png.height);  // 384x191

  // PaddleOCR det preprocessing: limit side 960, sides rounded to multiples of 32, bilinear
  // resize, BGR, (x / 255 - mean) / std, NCHW.
  const double ratio = std::max(src_w, src_h) > 960 ? 960.0 / std::max(src_w, src_h) : 1.0;
  const int w = std::max(32, static_cast<int>(std::lround(src_w * ratio / 32)) * 32);
  const int h = std::max(32, static_cast<int>(std::lround(src_h * ratio / 32)) * 32);
  cv::Mat rgb(src_h, src_w, CV_8UC3, pixels.data());
  cv::Mat resized;
  cv::resize(rgb, resized, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std_dev[3] = {0.229f, 0.224f, 0.225f};
  std::vector<float> input(3 * h * w);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < h; ++y) {
      const uint8_t* row = resized.ptr<uint8_t>(y);
      for (int x = 0; x < w; ++x) {
        const uint8_t v = row[x * 3 + (2 - c)];  // channel c of BGR = RGB channel 2 - c
        input[(c * h + y) * w + x] = (v / 255.0f - mean[c]) / std_dev[c];
      }
    }
  }
  auto model = LoadModel(model_path.string());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::string input_name = model->graph.values[model->graph.inputs[0]].name;
  SessionOptions options;
  options.input_shapes[input_name] = {1, 3, h, w};
  options.default_dim_value = 1;
  auto session = Session::Create(*model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const int64_t dims[] = {1, 3, h, w};
  auto in_view = TensorView::Make(DType::kF32, dims, input.data());
  ASSERT_TRUE(in_view.ok());
  ASSERT_TRUE((*session)->SetInput(0, *in_view).ok());
  ASSERT_TRUE((*session)->Run().ok());
  const TensorView out = (*session)->output(0);
  ASSERT_EQ(out.num_elements(), static_cast<int64_t>(h) * w);
  const std::span<const float> prob(out.data<float>(), static_cast<size_t>(h) * w);

  // Oracle: PaddleOCR's boxes_from_bitmap candidate filter written with OpenCV (findContours,
  // minAreaRect, fillPoly mean); the number of boxes kept at the default box_thresh must agree.
  cv::Mat prob_mat(h, w, CV_32F, const_cast<float*>(prob.data()));
  cv::Mat bitmap = prob_mat > 0.3f;
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(bitmap, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  size_t oracle_kept = 0;
  for (const auto& c : contours) {
    const cv::RotatedRect r = cv::minAreaRect(c);
    if (std::min(r.size.width, r.size.height) < 3) continue;
    cv::Point2f pts[4];
    r.points(pts);
    std::vector<cv::Point> poly;
    for (const auto& p : pts) poly.emplace_back(static_cast<int>(p.x), static_cast<int>(p.y));
    cv::Mat mask = cv::Mat::zeros(h, w, CV_8U);
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{poly}, 1);
    if (cv::mean(prob_mat, mask)[0] >= 0.6) ++oracle_kept;
  }
  auto at_default = DbPostprocess(prob, w, h, {}, src_w, src_h);
  ASSERT_TRUE(at_default.ok()) << at_default.status().message();
  EXPECT_EQ(at_default->size(), oracle_kept);
  EXPECT_GE(oracle_kept, 3u);

  // This small, soft page photo gives several body lines mean probabilities of 0.5-0.6, so
  // PaddleOCR's default box_thresh 0.6 keeps only some of them (the oracle above agrees); at 0.5
  // every line must be found.
  DbOptions options_05;
  options_05.box_thresh = 0.5f;
  auto boxes = DbPostprocess(prob, w, h, options_05, src_w, src_h);
  ASSERT_TRUE(boxes.ok()) << boxes.status().message();
  // The page: a title, five lines of body text and a code line (a cut-off line at the very
  // bottom may or may not be found).
  EXPECT_GE(boxes->size(), 6u);
  EXPECT_LE(boxes->size(), 9u);
  int wide_lines = 0;
  std::vector<float> centers;
  for (const TextBox& t : *boxes) {
    EXPECT_GE(t.box.x1, 0);
    EXPECT_GE(t.box.y1, 0);
    EXPECT_LE(t.box.x2, src_w);
    EXPECT_LE(t.box.y2, src_h);
    EXPECT_GE(t.score, 0.5f);
    EXPECT_GT(t.box.Width(), t.box.Height()) << "text lines are wide, not tall";
    if (t.box.Width() > 0.6f * src_w) ++wide_lines;
    centers.push_back((t.box.y1 + t.box.y2) / 2);
  }
  EXPECT_GE(wide_lines, 5);  // the five body lines span most of the page
  std::sort(centers.begin(), centers.end());
  for (size_t i = 1; i < centers.size(); ++i) {
    EXPECT_GT(centers[i] - centers[i - 1], 8.0f) << "two boxes on one text line";
  }
}

TEST(DbTextTest, RectanglesFoundAndUnclipped) {
  // Two synthetic text blobs: an axis-aligned bar and a rotated one.
  const int w = 200, h = 120;
  std::vector<float> prob(w * h, 0.05f);
  for (int y = 20; y < 30; ++y) {
    for (int x = 20; x < 120; ++x) prob[y * w + x] = 0.9f;
  }
  const float angle = 0.3f, c = std::cos(angle), s = std::sin(angle);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const float u = (x - 120) * c + (y - 80) * s, v = -(x - 120) * s + (y - 80) * c;
      if (std::abs(u) <= 40 && std::abs(v) <= 6) prob[y * w + x] = 0.8f;
    }
  }
  auto boxes = DbPostprocess(prob, w, h, {}, 2 * w, 2 * h);
  ASSERT_TRUE(boxes.ok());
  ASSERT_EQ(boxes->size(), 2u);
  // Bar: 99 x 9 through pixel centres; d = 99 * 9 * 1.5 / (2 * 108) = 6.1875 per side; x2 scale.
  const TextBox& bar = (*boxes)[0];
  EXPECT_NEAR(bar.box.x1, std::round((20 - 6.1875) * 2), 1.0f);
  EXPECT_NEAR(bar.box.x2, std::round((119 + 6.1875) * 2), 1.0f);
  EXPECT_NEAR(bar.box.y1, std::round((20 - 6.1875) * 2), 1.0f);
  EXPECT_NEAR(bar.box.y2, std::round((29 + 6.1875) * 2), 1.0f);
  EXPECT_GT(bar.score, 0.85f);
  // Rotated: top-left first and the corners clockwise.
  const TextBox& rot = (*boxes)[1];
  EXPECT_LT(rot.points[0].x, rot.points[1].x);
  EXPECT_LT(rot.points[1].y, rot.points[2].y);
  EXPECT_GT(rot.points[1].y, rot.points[0].y);  // tilted down to the right by 0.3 rad
}

TEST(DbTextTest, MinAreaRectMatchesOpenCv) {
  std::mt19937 rng(8);
  std::normal_distribution<float> n(0, 20);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<Point> pts;
    std::vector<cv::Point2f> cv_pts;
    const float sx = 1 + trial % 4, rot = 0.1f * trial;
    for (int i = 0; i < 40; ++i) {
      const float a = n(rng) * sx, b = n(rng);
      const Point p{100 + a * std::cos(rot) - b * std::sin(rot),
                    100 + a * std::sin(rot) + b * std::cos(rot)};
      pts.push_back(p);
      cv_pts.emplace_back(p.x, p.y);
    }
    const RotatedRect mine = MinAreaRect(ConvexHull(pts));
    const cv::RotatedRect theirs = cv::minAreaRect(cv_pts);
    EXPECT_NEAR(mine.width * mine.height, theirs.size.area(), 1e-3 * theirs.size.area()) << trial;
    EXPECT_NEAR(mine.center.x, theirs.center.x, 0.05f);
    EXPECT_NEAR(mine.center.y, theirs.center.y, 0.05f);
    std::vector<cv::Point2f> hull;
    cv::convexHull(cv_pts, hull);
    EXPECT_EQ(ConvexHull(pts).size(), hull.size());
  }
}

TEST(DbTextTest, BadInputIsAnError) {
  std::vector<float> prob(10 * 10, 0.0f);
  EXPECT_FALSE(DbPostprocess(prob, 10, 9, {}, 10, 10).ok());
  EXPECT_FALSE(DbPostprocess(prob, 0, 10, {}, 10, 10).ok());
  EXPECT_FALSE(DbPostprocess(prob, 10, 10, {}, 0, 10).ok());
  prob[33] = std::nanf("");
  auto r = DbPostprocess(prob, 10, 10, {}, 10, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("NaN at (3, 3)"), std::string::npos);
  prob[33] = 0;
  auto empty = DbPostprocess(prob, 10, 10, {}, 10, 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace edgerun::postprocess
