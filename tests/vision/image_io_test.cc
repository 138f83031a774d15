// Image decoding: JPEG and PNG against OpenCV's decoders, truncated and corrupt files.
#include "edgerun/vision/image_io.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "opencv2/imgcodecs.hpp"

namespace edgerun::vision {
namespace {

cv::Mat TestImage() {
  cv::Mat img(37, 53, CV_8UC3);
  std::mt19937 rng(1);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols * 3; ++x)
      img.ptr<uint8_t>(y)[x] = static_cast<uint8_t>(x * 5 + y * 3 + rng() % 9);
  }
  return img;
}

std::vector<uint8_t> Encode(const cv::Mat& bgr, const char* ext) {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(ext, bgr, bytes));
  return bytes;
}

TEST(ImageIoTest, PngDecodesExactly) {
  const cv::Mat bgr = TestImage();
  auto img = DecodeImage(Encode(bgr, ".png"), "mem.png");
  ASSERT_TRUE(img.ok()) << img.status().message();
  ASSERT_EQ(img->format(), PixelFormat::kRGB);
  ASSERT_EQ(img->width(), 53);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  for (int y = 0; y < 37; ++y) {
    ASSERT_EQ(0, std::memcmp(rgb.ptr<uint8_t>(y),
                             img->view().planes[0].data + y * img->plane_stride(0), 53 * 3));
  }
}

TEST(ImageIoTest, JpegMatchesOpenCvDecoder) {
  const std::vector<uint8_t> jpg = Encode(TestImage(), ".jpg");
  auto img = DecodeImage(jpg, "mem.jpg");
  ASSERT_TRUE(img.ok()) << img.status().message();
  const cv::Mat ref = cv::imdecode(jpg, cv::IMREAD_COLOR);
  int worst = 0;
  for (int y = 0; y < ref.rows; ++y) {
    for (int x = 0; x < ref.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int ours = img->view().planes[0].data[y * img->plane_stride(0) + 3 * x + c];
        worst = std::max(worst, std::abs(ours - ref.ptr<uint8_t>(y)[3 * x + (2 - c)]));
      }
    }
  }
  EXPECT_LE(worst, 2);  // IDCT variants differ slightly between decoders' settings
}

TEST(ImageIoTest, TruncatedAndCorruptFilesFailWithTheName) {
  for (const char* ext : {".jpg", ".png"}) {
    std::vector<uint8_t> bytes = Encode(TestImage(), ext);
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + bytes.size() / 2);
    auto truncated = DecodeImage(cut, std::string("cut") + ext);
    ASSERT_FALSE(truncated.ok()) << ext;
    EXPECT_NE(truncated.status().message().find(std::string("cut") + ext), std::string::npos);
    EXPECT_EQ(truncated.status().message().find('\n'), std::string::npos);

    std::vector<uint8_t> bad = bytes;
    for (size_t i = 20; i < 60 && i < bad.size(); ++i) bad[i] ^= 0x5A;  // smash the header
    auto corrupt = DecodeImage(bad, std::string("bad") + ext);
    EXPECT_FALSE(corrupt.ok()) << ext;
  }
  auto junk = DecodeImage(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}, "x.txt");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("not a JPEG or PNG"), std::string::npos);
  auto missing = DecodeImageFile("/nonexistent/a.png");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/a.png"), std::string::npos);
}

}  // namespace
}  // namespace edgerun::vision
