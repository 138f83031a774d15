// Preprocessing against OpenCV 4.6 (test-only oracle): every resize mode and colour conversion,
// the fused normalize/layout/dtype pass, letterbox transform, and bad-input errors.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "edgerun/dtype.h"
#include "edgerun/vision/image.h"
#include "edgerun/vision/preprocessor.h"

namespace edgerun::vision {
namespace {

// Random content with some smooth structure, so resize results are not all noise.
cv::Mat RandomImage(int w, int h, int channels, uint32_t seed) {
  std::mt19937 rng(seed);
  cv::Mat m(h, w, CV_8UC(channels));
  std::uniform_int_distribution<int> noise(0, 255);
  for (int y = 0; y < h; ++y) {
    uint8_t* row = m.ptr<uint8_t>(y);
    for (int x = 0; x < w * channels; ++x) {
      row[x] = (seed % 2) ? static_cast<uint8_t>(noise(rng))
                          : static_cast<uint8_t>((x * 7 + y * 3 + noise(rng) / 8) & 0xFF);
    }
  }
  return m;
}

int MaxDiff(const cv::Mat& a, const uint8_t* b) {
  int m = 0;
  const size_t row = a.cols * a.elemSize();
  for (int y = 0; y < a.rows; ++y) {
    for (size_t x = 0; x < row; ++x)
      m = std::max(m, std::abs(a.ptr<uint8_t>(y)[x] - b[y * row + x]));
  }
  return m;
}

int CvMode(ResizeMode m) {
  switch (m) {
    case ResizeMode::kNearest:
      return cv::INTER_NEAREST;
    case ResizeMode::kBilinear:
      return cv::INTER_LINEAR;
    case ResizeMode::kArea:
      return cv::INTER_AREA;
    default:
      return -1;
  }
}

TEST(ResizeTest, MatchesOpenCvOnRandomSizes) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> size(1, 97);
  int cases = 0;
  for (ResizeMode mode : {ResizeMode::kNearest, ResizeMode::kBilinear, ResizeMode::kArea}) {
    for (int i = 0; i < 60; ++i) {
      const int channels = std::array<int, 4>{1, 2, 3, 4}[i % 4];
      const int sw = size(rng), sh = size(rng), dw = size(rng), dh = size(rng);
      const cv::Mat src = RandomImage(sw, sh, channels, 100 + i);
      cv::Mat ref;
      cv::resize(src, ref, cv::Size(dw, dh), 0, 0, CvMode(mode));
      auto r = PlaneResizer::Create(mode, sw, sh, dw, dh, channels);
      ASSERT_TRUE(r.ok()) << r.status().message();
      std::vector<uint8_t> out(static_cast<size_t>(dw) * dh * channels);
      r->Run(src.data, src.step, out.data(), static_cast<ptrdiff_t>(dw) * channels);
      EXPECT_LE(MaxDiff(ref, out.data()), 1) << ResizeModeName(mode) << " " << sw << "x" << sh
                                             << " -> " << dw << "x" << dh << " c" << channels;
      ++cases;
    }
  }
  EXPECT_EQ(cases, 180);
}

TEST(ResizeTest, BilinearIsBitExactOnLargeDownscale) {
  // The benchmark case: OpenCV's vectorized path covers every element here.
  const cv::Mat src = RandomImage(1920, 1080, 3, 4);
  cv::Mat ref;
  cv::resize(src, ref, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
  auto r = PlaneResizer::Create(ResizeMode::kBilinear, 1920, 1080, 224, 224, 3);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> out(224 * 224 * 3);
  r->Run(src.data, src.step, out.data(), 224 * 3);
  EXPECT_EQ(MaxDiff(ref, out.data()), 0);
}

TEST(ResizeTest, StridedSourceAndUpscale) {
  const cv::Mat big = RandomImage(50, 40, 3, 9);
  const cv::Mat roi = big(cv::Rect(3, 5, 17, 11));  // non-contiguous rows
  for (ResizeMode mode : {ResizeMode::kNearest, ResizeMode::kBilinear, ResizeMode::kArea}) {
    cv::Mat ref;
    cv::resize(roi, ref, cv::Size(61, 29), 0, 0, CvMode(mode));
    auto r = PlaneResizer::Create(mode, 17, 11, 61, 29, 3);
    ASSERT_TRUE(r.ok());
    std::vector<uint8_t> out(61 * 29 * 3);
    r->Run(roi.data, roi.step, out.data(), 61 * 3);
    EXPECT_LE(MaxDiff(ref, out.data()), 1) << ResizeModeName(mode);
  }
}

// ---------------------------------------------------------------------------------------------
// Colour conversion

struct Yuv420 {
  int w, h;
  std::vector<uint8_t> i420;  // OpenCV's I420 layout: Y, U, V
  std::vector<uint8_t> nv12;
};

Yuv420 MakeYuv(int w, int h, uint32_t seed) {
  Yuv420 y{w, h, {}, {}};
  std::mt19937 rng(seed);
  y.i420.resize(static_cast<size_t>(w) * h * 3 / 2);
  for (auto& v : y.i420) v = static_cast<uint8_t>(rng());
  y.nv12 = y.i420;
  const uint8_t* u = y.i420.data() + w * h;
  const uint8_t* v = u + (w / 2) * (h / 2);
  for (int i = 0; i < (w / 2) * (h / 2); ++i) {
    y.nv12[w * h + 2 * i] = u[i];
    y.nv12[w * h + 2 * i + 1] = v[i];
  }
  return y;
}

std::vector<uint8_t> RunU8(const PreprocessSpec& spec, const ImageView& view) {
  auto pre = Preprocessor::Create(spec, view.format, view.width, view.height);
  EXPECT_TRUE(pre.ok()) << pre.status().message();
  if (!pre) return {};
  std::vector<uint8_t> out(pre->output_bytes());
  const Status st = pre->Run(view, std::as_writable_bytes(std::span(out)));
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

PreprocessSpec U8Nhwc() {
  PreprocessSpec s;
  s.dtype = OutputDType::kU8;
  s.layout = Layout::kNhwc;
  return s;
}

TEST(ColorTest, Yuv420Bt601LimitedMatchesOpenCv) {
  const int w = 66, h = 34;
  const Yuv420 yuv = MakeYuv(w, h, 3);
  const cv::Mat i420(h * 3 / 2, w, CV_8UC1, const_cast<uint8_t*>(yuv.i420.data()));
  const cv::Mat nv12(h * 3 / 2, w, CV_8UC1, const_cast<uint8_t*>(yuv.nv12.data()));
  cv::Mat ref_i420, ref_nv12;
  cv::cvtColor(i420, ref_i420, cv::COLOR_YUV2RGB_I420);
  cv::cvtColor(nv12, ref_nv12, cv::COLOR_YUV2RGB_NV12);

  auto nv = ImageView::MakeNV12(yuv.nv12.data(), w, yuv.nv12.data() + w * h, w, w, h);
  ASSERT_TRUE(nv.ok());
  EXPECT_LE(MaxDiff(ref_nv12, RunU8(U8Nhwc(), *nv).data()), 1);
  const uint8_t* u = yuv.i420.data() + w * h;
  auto i4 = ImageView::MakeI420(yuv.i420.data(), w, u, w / 2, u + (w / 2) * (h / 2), w / 2, w, h);
  ASSERT_TRUE(i4.ok());
  EXPECT_LE(MaxDiff(ref_i420, RunU8(U8Nhwc(), *i4).data()), 1);
  // BGR output order.
  PreprocessSpec bgr = U8Nhwc();
  bgr.order = ChannelOrder::kBgr;
  cv::Mat ref_bgr;
  cv::cvtColor(nv12, ref_bgr, cv::COLOR_YUV2BGR_NV12);
  EXPECT_LE(MaxDiff(ref_bgr, RunU8(bgr, *nv).data()), 1);
}

TEST(ColorTest, YuyvMatchesOpenCv) {
  const int w = 38, h = 7;
  std::mt19937 rng(5);
  std::vector<uint8_t> yuyv(static_cast<size_t>(w) * h * 2);
  for (auto& v : yuyv) v = static_cast<uint8_t>(rng());
  const cv::Mat src(h, w, CV_8UC2, yuyv.data());
  cv::Mat ref;
  cv::cvtColor(src, ref, cv::COLOR_YUV2RGB_YUYV);
  auto view = ImageView::MakePacked(PixelFormat::kYUYV, yuyv.data(), w, h);
  ASSERT_TRUE(view.ok());
  EXPECT_LE(MaxDiff(ref, RunU8(U8Nhwc(), *view).data()), 1);
}

// The linear filter is fused with the conversion (YUV rows converted on demand, only rows with
// weight) and with the pack pass; results must equal converting the whole crop, then
// PlaneResizer, bit for bit.
TEST(ColorTest, YuvFusedLinearResizeEqualsConvertThenResize) {
  const int w = 98, h = 62;
  const Yuv420 yuv = MakeYuv(w, h, 21);
  std::mt19937 rng(8);
  std::vector<uint8_t> yuyv(static_cast<size_t>(w) * h * 2);
  for (auto& v : yuyv) v = static_cast<uint8_t>(rng());
  const uint8_t* u = yuv.i420.data() + w * h;
  std::vector<ImageView> views;
  views.push_back(*ImageView::MakeNV12(yuv.nv12.data(), w, yuv.nv12.data() + w * h, w, w, h));
  views.push_back(
      *ImageView::MakeI420(yuv.i420.data(), w, u, w / 2, u + (w / 2) * (h / 2), w / 2, w, h));
  views.push_back(*ImageView::MakePacked(PixelFormat::kYUYV, yuyv.data(), w, h));
  const CropRect crops[] = {{0, 0, 0, 0}, {4, 6, 60, 40}};
  struct Size {
    int w, h;
    ResizeMode mode;
  };
  const Size sizes[] = {{33, 20, ResizeMode::kBilinear},
                        {31, 31, ResizeMode::kBilinear},
                        {140, 90, ResizeMode::kBilinear},
                        {20, 61, ResizeMode::kBilinear},
                        {121, 70, ResizeMode::kArea}};
  for (const ImageView& view : views) {
    for (const CropRect& crop : crops) {
      PreprocessSpec convert = U8Nhwc();
      convert.crop = crop;
      const std::vector<uint8_t> rgb = RunU8(convert, view);
      const int cw = crop.enabled() ? crop.width : w;
      const int ch = crop.enabled() ? crop.height : h;
      for (const Size& sz : sizes) {
        SCOPED_TRACE(fmt::format("{} crop {}x{} -> {}x{} {}", PixelFormatName(view.format), cw, ch,
                                 sz.w, sz.h, ResizeModeName(sz.mode)));
        auto r = PlaneResizer::Create(sz.mode, cw, ch, sz.w, sz.h, 3);
        ASSERT_TRUE(r.ok());
        std::vector<uint8_t> ref(static_cast<size_t>(sz.w) * sz.h * 3);
        r->Run(rgb.data(), cw * 3, ref.data(), sz.w * 3);
        PreprocessSpec fused = convert;
        fused.width = sz.w;
        fused.height = sz.h;
        fused.resize_mode = sz.mode;
        EXPECT_EQ(RunU8(fused, view), ref);
      }
    }
  }
}

// The fused INTER_LINEAR + pack pass equals PlaneResizer followed by the pack pass, for 1, 3 and
// 4 channels, odd widths (scalar tails), up- and downscaling, and f32 NCHW.
TEST(PipelineTest, FusedLinearPackEqualsResizeThenPack) {
  struct Case {
    PixelFormat format;
    int channels;
    int sw, sh, dw, dh;
  };
  const Case cases[] = {{PixelFormat::kGray8, 1, 77, 45, 19, 13},
                        {PixelFormat::kBGR, 3, 301, 167, 45, 39},
                        {PixelFormat::kRGB, 3, 23, 17, 70, 41},
                        {PixelFormat::kBGRA, 4, 129, 64, 37, 50},
                        {PixelFormat::kRGBA, 4, 9, 8, 8, 9}};
  for (const Case& c : cases) {
    SCOPED_TRACE(
        fmt::format("{} {}x{} -> {}x{}", PixelFormatName(c.format), c.sw, c.sh, c.dw, c.dh));
    const cv::Mat src = RandomImage(c.sw, c.sh, c.channels, 31 + c.sw);
    auto view = ImageView::MakePacked(c.format, src.data, c.sw, c.sh, src.step);
    ASSERT_TRUE(view.ok());
    auto r = PlaneResizer::Create(ResizeMode::kBilinear, c.sw, c.sh, c.dw, c.dh, c.channels);
    ASSERT_TRUE(r.ok());
    std::vector<uint8_t> resized(static_cast<size_t>(c.dw) * c.dh * c.channels);
    r->Run(src.data, src.step, resized.data(), c.dw * c.channels);
    auto small = ImageView::MakePacked(c.format, resized.data(), c.dw, c.dh);
    ASSERT_TRUE(small.ok());

    PreprocessSpec spec;
    spec.scale = 1.0f / 255;
    spec.mean = {0.485f, 0.456f, 0.406f};
    spec.std = {0.229f, 0.224f, 0.225f};
    auto packer = Preprocessor::Create(spec, c.format, c.dw, c.dh);
    ASSERT_TRUE(packer.ok());
    std::vector<float> ref(packer->output_elements());
    ASSERT_TRUE(packer->Run(*small, std::as_writable_bytes(std::span(ref))).ok());
    spec.width = c.dw;
    spec.height = c.dh;
    auto fused = Preprocessor::Create(spec, c.format, c.sw, c.sh);
    ASSERT_TRUE(fused.ok());
    std::vector<float> out(fused->output_elements());
    ASSERT_TRUE(fused->Run(*view, std::as_writable_bytes(std::span(out))).ok());
    ASSERT_EQ(out.size(), ref.size());
    EXPECT_EQ(0, std::memcmp(out.data(), ref.data(), out.size() * sizeof(float)));
  }
}

TEST(ColorTest, Bt601FullRangeMatchesOpenCvYCrCb) {
  // OpenCV's YCrCb conversion is full-range BT.601 on 4:4:4; upsample chroma by repetition.
  const int w = 40, h = 20;
  const Yuv420 yuv = MakeYuv(w, h, 8);
  cv::Mat ycrcb(h, w, CV_8UC3);
  const uint8_t* u = yuv.i420.data() + w * h;
  const uint8_t* v = u + (w / 2) * (h / 2);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = ycrcb.ptr<uint8_t>(y) + 3 * x;
      p[0] = yuv.i420[y * w + x];
      p[1] = v[(y / 2) * (w / 2) + x / 2];
      p[2] = u[(y / 2) * (w / 2) + x / 2];
    }
  }
  cv::Mat ref;
  cv::cvtColor(ycrcb, ref, cv::COLOR_YCrCb2RGB);
  PreprocessSpec spec = U8Nhwc();
  spec.yuv_range = YuvRange::kFull;
  auto nv = ImageView::MakeNV12(yuv.nv12.data(), w, yuv.nv12.data() + w * h, w, w, h);
  ASSERT_TRUE(nv.ok());
  EXPECT_LE(MaxDiff(ref, RunU8(spec, *nv).data()), 1);
}

TEST(ColorTest, Bt709MatchesReferenceFormula) {
  // OpenCV has no BT.709 YUV conversion; the oracle is the ITU-R BT.709 equations in double.
  const int w = 32, h = 16;
  const Yuv420 yuv = MakeYuv(w, h, 11);
  const uint8_t* u = yuv.i420.data() + w * h;
  const uint8_t* v = u + (w / 2) * (h / 2);
  for (YuvRange range : {YuvRange::kLimited, YuvRange::kFull}) {
    PreprocessSpec spec = U8Nhwc();
    spec.yuv_matrix = YuvMatrix::kBt709;
    spec.yuv_range = range;
    auto view = ImageView::MakeI420(yuv.i420.data(), w, u, w / 2, v, w / 2, w, h);
    ASSERT_TRUE(view.ok());
    const std::vector<uint8_t> out = RunU8(spec, *view);
    const bool lim = range == YuvRange::kLimited;
    int worst = 0;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const double yy =
            lim ? std::max(0, yuv.i420[y * w + x] - 16) * 255.0 / 219.0 : yuv.i420[y * w + x];
        const double cb = (u[(y / 2) * (w / 2) + x / 2] - 128) * (lim ? 255.0 / 224.0 : 1.0);
        const double cr = (v[(y / 2) * (w / 2) + x / 2] - 128) * (lim ? 255.0 / 224.0 : 1.0);
        const double rgb[3] = {yy + 1.5748 * cr, yy - 0.18732 * cb - 0.46812 * cr,
                               yy + 1.8556 * cb};
        for (int c = 0; c < 3; ++c) {
          const int expect = static_cast<int>(std::clamp(std::lround(rgb[c]), 0L, 255L));
          worst = std::max(worst, std::abs(expect - out[(y * w + x) * 3 + c]));
        }
      }
    }
    EXPECT_LE(worst, 1) << YuvRangeName(range);
  }
}

// ---------------------------------------------------------------------------------------------
// Whole pipeline

TEST(PipelineTest, ImageNetChainMatchesOpenCvFloat) {
  const cv::Mat frame = RandomImage(640, 480, 3, 2);
  PreprocessSpec spec;
  spec.width = 224;
  spec.height = 224;
  spec.scale = 1.0f / 255;
  spec.mean = {0.485f, 0.456f, 0.406f};
  spec.std = {0.229f, 0.224f, 0.225f};
  auto view = ImageView::MakePacked(PixelFormat::kBGR, frame.data, 640, 480);
  ASSERT_TRUE(view.ok());
  auto pre = Preprocessor::Create(spec, PixelFormat::kBGR, 640, 480);
  ASSERT_TRUE(pre.ok());
  EXPECT_EQ(pre->output_shape(), (std::array<int64_t, 4>{1, 3, 224, 224}));
  std::vector<float> out(pre->output_elements());
  ASSERT_TRUE(pre->Run(*view, std::as_writable_bytes(std::span(out))).ok());

  cv::Mat resized, rgb, f32;
  cv::resize(frame, resized, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
  cv::cvtColor(resized, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(f32, CV_32F, 1.0 / 255);
  cv::subtract(f32, cv::Scalar(0.485, 0.456, 0.406), f32);
  cv::divide(f32, cv::Scalar(0.229, 0.224, 0.225), f32);
  const cv::Mat blob = cv::dnn::blobFromImage(f32);
  const float* ref = blob.ptr<float>();
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_NEAR(out[i], ref[i], 1e-5 * std::max(1.0f, std::abs(ref[i]))) << "element " << i;
  }
}

TEST(PipelineTest, LetterboxTransformAndPadding) {
  const cv::Mat frame = RandomImage(200, 100, 3, 6);
  PreprocessSpec spec;
  spec.width = 64;
  spec.height = 64;
  spec.letterbox = true;
  spec.pad_value = 114;
  spec.dtype = OutputDType::kU8;
  auto pre = Preprocessor::Create(spec, PixelFormat::kRGB, 200, 100);
  ASSERT_TRUE(pre.ok());
  EXPECT_EQ(pre->content_width(), 64);
  EXPECT_EQ(pre->content_height(), 32);
  const AxisTransform& t = pre->transform();
  EXPECT_FLOAT_EQ(t.scale_x, 0.32f);
  EXPECT_FLOAT_EQ(t.offset_y, 16.0f);
  const Box b = t.InverseMap(Box{0, 16, 64, 48});  // the content area maps back to the image
  EXPECT_NEAR(b.x2, 200, 1e-3);
  EXPECT_NEAR(b.y1, 0, 1e-3);
  EXPECT_NEAR(b.y2, 100, 1e-3);
  auto view = ImageView::MakePacked(PixelFormat::kRGB, frame.data, 200, 100);
  std::vector<uint8_t> out(pre->output_bytes());
  ASSERT_TRUE(pre->Run(*view, std::as_writable_bytes(std::span(out))).ok());
  cv::Mat resized, boxed;
  cv::resize(frame, resized, cv::Size(64, 32), 0, 0, cv::INTER_LINEAR);
  cv::copyMakeBorder(resized, boxed, 16, 16, 0, 0, cv::BORDER_CONSTANT, cv::Scalar::all(114));
  // NCHW u8: compare plane by plane.
  std::vector<cv::Mat> planes;
  cv::split(boxed, planes);
  for (int c = 0; c < 3; ++c) EXPECT_LE(MaxDiff(planes[c], out.data() + c * 64 * 64), 1);
  EXPECT_EQ(out[0], 114);
}

TEST(PipelineTest, CropThenResize) {
  const cv::Mat frame = RandomImage(120, 90, 4, 12);
  PreprocessSpec spec = U8Nhwc();
  spec.crop = {10, 20, 50, 40};
  spec.width = 25;
  spec.height = 20;
  spec.resize_mode = ResizeMode::kArea;
  auto view = ImageView::MakePacked(PixelFormat::kBGRA, frame.data, 120, 90);
  ASSERT_TRUE(view.ok());
  const std::vector<uint8_t> out = RunU8(spec, *view);
  cv::Mat resized, rgb;
  cv::resize(frame(cv::Rect(10, 20, 50, 40)), resized, cv::Size(25, 20), 0, 0, cv::INTER_AREA);
  cv::cvtColor(resized, rgb, cv::COLOR_BGRA2RGB);
  EXPECT_LE(MaxDiff(rgb, out.data()), 1);
  auto pre = Preprocessor::Create(spec, PixelFormat::kBGRA, 120, 90);
  ASSERT_TRUE(pre.ok());
  const Point p = pre->transform().Map(Point{10, 20});
  EXPECT_NEAR(p.x, 0, 1e-5);
  EXPECT_NEAR(p.y, 0, 1e-5);
}

TEST(PipelineTest, F16AndQuantizedOutputsFollowF32) {
  const cv::Mat frame = RandomImage(37, 23, 3, 13);  // odd sizes exercise the scalar tails
  auto view = ImageView::MakePacked(PixelFormat::kRGB, frame.data, 37, 23);
  ASSERT_TRUE(view.ok());
  for (Layout layout : {Layout::kNchw, Layout::kNhwc}) {
    PreprocessSpec spec;
    spec.width = 29;
    spec.height = 19;
    spec.layout = layout;
    spec.scale = 1.0f / 255;
    spec.mean = {0.5f, 0.4f, 0.3f};
    spec.std = {0.25f, 0.2f, 0.3f};
    auto f32 = Preprocessor::Create(spec, PixelFormat::kRGB, 37, 23);
    ASSERT_TRUE(f32.ok());
    std::vector<float> ref(f32->output_elements());
    ASSERT_TRUE(f32->Run(*view, std::as_writable_bytes(std::span(ref))).ok());

    spec.dtype = OutputDType::kF16;
    std::vector<uint8_t> half_bytes = RunU8(spec, *view);
    ASSERT_EQ(half_bytes.size(), ref.size() * 2);
    for (size_t i = 0; i < ref.size(); ++i) {
      uint16_t h = 0;
      std::memcpy(&h, half_bytes.data() + 2 * i, 2);
      EXPECT_LE(std::abs(static_cast<int>(h) - static_cast<int>(FloatToHalf(ref[i]))), 1) << i;
    }
    for (OutputDType qt : {OutputDType::kU8, OutputDType::kI8}) {
      spec.dtype = qt;
      spec.quant_scale = 0.02f;
      spec.quant_zero_point = qt == OutputDType::kU8 ? 128 : -3;
      const std::vector<uint8_t> q = RunU8(spec, *view);
      ASSERT_EQ(q.size(), ref.size());
      const float lo = qt == OutputDType::kU8 ? 0 : -128, hi = qt == OutputDType::kU8 ? 255 : 127;
      for (size_t i = 0; i < ref.size(); ++i) {
        const float expect =
            std::clamp(std::nearbyint(ref[i] / spec.quant_scale) + spec.quant_zero_point, lo, hi);
        const float got = qt == OutputDType::kU8 ? static_cast<float>(q[i])
                                                 : static_cast<float>(static_cast<int8_t>(q[i]));
        EXPECT_LE(std::abs(got - expect), 1.0f) << OutputDTypeName(qt) << " " << i;
      }
    }
  }
}

TEST(PipelineTest, GrayInputToRgbAndGray) {
  const cv::Mat gray = RandomImage(16, 8, 1, 14);
  auto view = ImageView::MakePacked(PixelFormat::kGray8, gray.data, 16, 8);
  ASSERT_TRUE(view.ok());
  PreprocessSpec spec = U8Nhwc();
  const std::vector<uint8_t> rgb = RunU8(spec, *view);
  ASSERT_EQ(rgb.size(), 16u * 8 * 3);
  EXPECT_EQ(rgb[3 * 5 + 2], gray.data[5]);
  spec.order = ChannelOrder::kGray;
  const std::vector<uint8_t> g = RunU8(spec, *view);
  ASSERT_EQ(g.size(), 16u * 8);
  EXPECT_EQ(0, std::memcmp(g.data(), gray.data, g.size()));
}

TEST(PipelineTest, RunDoesNotReallocateAcrossCalls) {
  // Same output twice from the same preprocessor (scratch reused, no stale state).
  const cv::Mat frame = RandomImage(300, 200, 3, 15);
  PreprocessSpec spec;
  spec.width = 100;
  spec.height = 100;
  spec.letterbox = true;
  auto pre = Preprocessor::Create(spec, PixelFormat::kBGR, 300, 200);
  ASSERT_TRUE(pre.ok());
  auto view = ImageView::MakePacked(PixelFormat::kBGR, frame.data, 300, 200);
  std::vector<float> a(pre->output_elements()), b(pre->output_elements(), -7.0f);
  ASSERT_TRUE(pre->Run(*view, std::as_writable_bytes(std::span(a))).ok());
  ASSERT_TRUE(pre->Run(*view, std::as_writable_bytes(std::span(b))).ok());
  EXPECT_EQ(a, b);
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST(BadInputTest, ImageViewValidation) {
  std::vector<uint8_t> buf(4096);
  auto odd = ImageView::MakeNV12(buf.data(), 31, buf.data() + 1024, 31, 31, 16);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("even"), std::string::npos) << odd.status().message();
  EXPECT_FALSE(ImageView::MakeI420(buf.data(), 16, buf.data(), 8, buf.data(), 8, 16, 9).ok());
  auto yuyv = ImageView::MakePacked(PixelFormat::kYUYV, buf.data(), 7, 4);
  ASSERT_FALSE(yuyv.ok());
  EXPECT_NE(yuyv.status().message().find("width 7 must be even"), std::string::npos);
  auto stride = ImageView::MakePacked(PixelFormat::kRGB, buf.data(), 10, 4, 29);
  ASSERT_FALSE(stride.ok());
  EXPECT_NE(stride.status().message().find("stride 29 is smaller than its row (30 bytes)"),
            std::string::npos)
      << stride.status().message();
  EXPECT_FALSE(ImageView::MakePacked(PixelFormat::kRGB, buf.data(), 0, 4).ok());
  EXPECT_FALSE(ImageView::MakePacked(PixelFormat::kRGB, nullptr, 4, 4).ok());
  auto uv_stride = ImageView::MakeNV12(buf.data(), 16, buf.data() + 512, 8, 16, 16);
  ASSERT_FALSE(uv_stride.ok());
  EXPECT_NE(uv_stride.status().message().find("plane uv"), std::string::npos);
}

TEST(BadInputTest, PreprocessorRejectsBadCombinations) {
  PreprocessSpec spec;
  spec.order = ChannelOrder::kGray;
  auto gray = Preprocessor::Create(spec, PixelFormat::kRGB, 8, 8);
  ASSERT_FALSE(gray.ok());
  EXPECT_EQ(gray.status().code(), StatusCode::kUnsupported);

  PreprocessSpec crop;
  crop.crop = {1, 0, 4, 4};
  auto odd_crop = Preprocessor::Create(crop, PixelFormat::kNV12, 8, 8);
  ASSERT_FALSE(odd_crop.ok());
  EXPECT_NE(odd_crop.status().message().find("even"), std::string::npos);
  crop.crop = {6, 0, 4, 4};
  EXPECT_FALSE(Preprocessor::Create(crop, PixelFormat::kRGB, 8, 8).ok());

  EXPECT_FALSE(Preprocessor::Create(PreprocessSpec(), PixelFormat::kNV12, 7, 8).ok());

  PreprocessSpec ok;
  auto pre = Preprocessor::Create(ok, PixelFormat::kRGB, 8, 8);
  ASSERT_TRUE(pre.ok());
  std::vector<uint8_t> img(8 * 8 * 3);
  auto other = ImageView::MakePacked(PixelFormat::kRGB, img.data(), 4, 16);
  std::vector<float> out(pre->output_elements());
  EXPECT_FALSE(pre->Run(*other, std::as_writable_bytes(std::span(out))).ok());
  auto right = ImageView::MakePacked(PixelFormat::kRGB, img.data(), 8, 8);
  std::vector<float> small(3);
  const Status st = pre->Run(*right, std::as_writable_bytes(std::span(small)));
  EXPECT_NE(st.message().find("output holds 12 bytes"), std::string::npos) << st.message();
}

TEST(ImagePoolTest, HandsOutAndTakesBackBlocks) {
  auto bytes = Image::BytesFor(PixelFormat::kNV12, 64, 32);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, 64u * 32 * 3 / 2);
  ImagePool pool(2, *bytes);
  {
    auto a = pool.Acquire(PixelFormat::kNV12, 64, 32);
    auto b = pool.Acquire(PixelFormat::kRGB, 16, 16);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->view().planes[1].data, a->view().planes[0].data + 64 * 32);
    EXPECT_EQ(pool.available(), 0u);
    auto c = pool.Acquire(PixelFormat::kGray8, 4, 4);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(pool.available(), 2u);
  EXPECT_FALSE(pool.Acquire(PixelFormat::kRGB, 64, 64).ok());  // does not fit a block
}

}  // namespace
}  // namespace edgerun::vision
