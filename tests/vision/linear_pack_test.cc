// The fused INTER_LINEAR + pack pass (LinearPackRow) on every SIMD target Highway compiled and this
// CPU supports: u8 output is compared with cv::resize directly, the other dtypes and layouts with
// PlaneResizer followed by the unfused pack pass. Sizes cover the benchmark's 1080p -> 224x224,
// widths below, at and between vector groups, upscaling, and rows shorter than one 8-byte window.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "edgerun/vision/image.h"
#include "edgerun/vision/preprocessor.h"

namespace edgerun::vision {
namespace {

cv::Mat NoiseImage(int w, int h, int channels, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  cv::Mat m(h, w, CV_8UC(channels));
  for (int y = 0; y < h; ++y) {
    uint8_t* row = m.ptr<uint8_t>(y);
    for (int x = 0; x < w * channels; ++x) row[x] = static_cast<uint8_t>(byte(rng));
  }
  return m;
}

// Restores Highway's normal target choice when a test ends, even on failure.
struct AllTargets {
  AllTargets() : targets(hwy::SupportedAndGeneratedTargets()) {}
  ~AllTargets() { hwy::SetSupportedTargetsForTest(0); }
  // Makes `target` the one HWY_DYNAMIC_DISPATCH picks; false (with a test failure) if not.
  bool Use(int64_t target) const {
    hwy::SetSupportedTargetsForTest(target);
    const std::string picked = Preprocessor::SimdTarget();
    EXPECT_EQ(picked, hwy::TargetName(target));
    return picked == hwy::TargetName(target);
  }
  std::vector<int64_t> targets;
};

struct Size {
  int sw, sh, dw, dh;
};
// 1080p -> 224 is the benchmark; 16 and 8 pixel groups (AVX-512, AVX2) meet dw 15/16/17/31/33;
// a 2-pixel BGR row (6 bytes) is shorter than one window.
constexpr Size kSizes[] = {{1920, 1080, 224, 224}, {301, 167, 45, 39}, {640, 480, 33, 17},
                           {97, 61, 16, 8},        {50, 40, 17, 31},   {23, 17, 70, 41},
                           {9, 8, 15, 9},          {2, 3, 31, 5},      {3, 2, 1, 1}};

struct Format {
  PixelFormat format;
  int channels;
  ChannelOrder order;
};
constexpr Format kFormats[] = {
    {PixelFormat::kBGR, 3, ChannelOrder::kRgb},   {PixelFormat::kRGB, 3, ChannelOrder::kRgb},
    {PixelFormat::kBGRA, 4, ChannelOrder::kRgb},  {PixelFormat::kRGBA, 4, ChannelOrder::kBgr},
    {PixelFormat::kGray8, 1, ChannelOrder::kRgb}, {PixelFormat::kGray8, 1, ChannelOrder::kGray}};

// Output channel c of `format` in `order` reads input channel ChannelOf(...).
int ChannelOf(const Format& f, int c) {
  if (f.channels == 1) return 0;
  const bool input_bgr = f.format == PixelFormat::kBGR || f.format == PixelFormat::kBGRA;
  const bool output_bgr = f.order == ChannelOrder::kBgr;
  return input_bgr != output_bgr ? 2 - c : c;
}

TEST(LinearPackTest, U8OutputEqualsOpenCvResizeOnEveryTarget) {
  AllTargets all;
  ASSERT_FALSE(all.targets.empty());
  for (int64_t target : all.targets) {
    if (!all.Use(target)) continue;
    for (const Format& f : kFormats) {
      for (const Size& s : kSizes) {
        for (ResizeMode mode : {ResizeMode::kBilinear, ResizeMode::kArea}) {
          // INTER_AREA uses the linear filter only when enlarging. cv::resize's INTER_LINEAR
          // differs by up to 1 when enlarging horizontally (the resize tests allow that); the
          // fused pass equals PlaneResizer there (next test).
          if (mode == ResizeMode::kArea && s.dw < s.sw && s.dh < s.sh) continue;
          if (mode == ResizeMode::kBilinear && s.dw > s.sw) continue;
          SCOPED_TRACE(fmt::format("{} {} {} {}x{} -> {}x{} {}", hwy::TargetName(target),
                                   PixelFormatName(f.format), ChannelOrderName(f.order), s.sw, s.sh,
                                   s.dw, s.dh, ResizeModeName(mode)));
          const cv::Mat src = NoiseImage(s.sw, s.sh, f.channels, 11 + s.sw + s.dw);
          cv::Mat ref;
          cv::resize(src, ref, cv::Size(s.dw, s.dh), 0, 0,
                     mode == ResizeMode::kArea ? cv::INTER_AREA : cv::INTER_LINEAR);

          PreprocessSpec spec;
          spec.width = s.dw;
          spec.height = s.dh;
          spec.resize_mode = mode;
          spec.order = f.order;
          spec.layout = Layout::kNhwc;
          spec.dtype = OutputDType::kU8;  // scale 1, mean 0, std 1: the resized pixels as they are
          auto pre = Preprocessor::Create(spec, f.format, s.sw, s.sh);
          ASSERT_TRUE(pre.ok()) << pre.status().message();
          auto view = ImageView::MakePacked(f.format, src.data, s.sw, s.sh, src.step);
          ASSERT_TRUE(view.ok());
          std::vector<uint8_t> out(pre->output_elements());
          ASSERT_TRUE(pre->Run(*view, std::as_writable_bytes(std::span(out))).ok());

          const int out_channels = f.order == ChannelOrder::kGray ? 1 : 3;
          int mismatches = 0;
          for (int y = 0; y < s.dh; ++y) {
            for (int x = 0; x < s.dw; ++x) {
              for (int c = 0; c < out_channels; ++c) {
                const uint8_t want = ref.ptr<uint8_t>(y)[x * f.channels + ChannelOf(f, c)];
                const uint8_t got = out[(static_cast<size_t>(y) * s.dw + x) * out_channels + c];
                if (want != got && ++mismatches <= 3) {
                  ADD_FAILURE() << fmt::format("pixel ({}, {}) channel {}: {} != OpenCV {}", x, y,
                                               c, got, want);
                }
              }
            }
          }
          EXPECT_EQ(mismatches, 0);
        }
      }
    }
  }
}

// f32 (NCHW, NHWC), f16 and i8 outputs of the fused pass equal resize-then-pack bit for bit.
TEST(LinearPackTest, AllOutputsEqualResizeThenPackOnEveryTarget) {
  AllTargets all;
  struct Output {
    Layout layout;
    OutputDType dtype;
  };
  const Output outputs[] = {{Layout::kNchw, OutputDType::kF32},
                            {Layout::kNhwc, OutputDType::kF32},
                            {Layout::kNchw, OutputDType::kF16},
                            {Layout::kNhwc, OutputDType::kI8}};
  for (int64_t target : all.targets) {
    if (!all.Use(target)) continue;
    for (const Format& f : kFormats) {
      for (const Size& s : kSizes) {
        for (const Output& o : outputs) {
          SCOPED_TRACE(fmt::format("{} {} {} {}x{} -> {}x{} {} {}", hwy::TargetName(target),
                                   PixelFormatName(f.format), ChannelOrderName(f.order), s.sw, s.sh,
                                   s.dw, s.dh, LayoutName(o.layout), OutputDTypeName(o.dtype)));
          const cv::Mat src = NoiseImage(s.sw, s.sh, f.channels, 5 + s.sh + s.dh);
          auto view = ImageView::MakePacked(f.format, src.data, s.sw, s.sh, src.step);
          ASSERT_TRUE(view.ok());
          auto r = PlaneResizer::Create(ResizeMode::kBilinear, s.sw, s.sh, s.dw, s.dh, f.channels);
          ASSERT_TRUE(r.ok());
          std::vector<uint8_t> resized(static_cast<size_t>(s.dw) * s.dh * f.channels);
          r->Run(src.data, src.step, resized.data(), s.dw * f.channels);
          auto small = ImageView::MakePacked(f.format, resized.data(), s.dw, s.dh);
          ASSERT_TRUE(small.ok());

          PreprocessSpec spec;
          spec.order = f.order;
          spec.layout = o.layout;
          spec.dtype = o.dtype;
          spec.scale = 1.0f / 255;
          spec.mean = {0.485f, 0.456f, 0.406f};
          spec.std = {0.229f, 0.224f, 0.225f};
          spec.quant_scale = 1.0f / 64;
          spec.quant_zero_point = 3;
          auto packer = Preprocessor::Create(spec, f.format, s.dw, s.dh);
          ASSERT_TRUE(packer.ok());
          std::vector<std::byte> ref(packer->output_bytes());
          ASSERT_TRUE(packer->Run(*small, ref).ok());
          spec.width = s.dw;
          spec.height = s.dh;
          auto fused = Preprocessor::Create(spec, f.format, s.sw, s.sh);
          ASSERT_TRUE(fused.ok());
          std::vector<std::byte> out(fused->output_bytes());
          ASSERT_TRUE(fused->Run(*view, out).ok());
          ASSERT_EQ(out.size(), ref.size());
          EXPECT_EQ(0, std::memcmp(out.data(), ref.data(), out.size()));
        }
      }
    }
  }
}

}  // namespace
}  // namespace edgerun::vision
