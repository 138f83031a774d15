// Image decoding: JPEG and PNG against OpenCV's decoders, truncated and corrupt files.
#include "edgerun/vision/image_io.h"

#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string_view>
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

// An 8-bit RGB PNG written by libpng, with `extra_chunk` (name, then payload; libpng adds the
// length and CRC) before the image data.
std::vector<uint8_t> WritePng(const cv::Mat& rgb, const char* chunk_name,
                              const std::vector<uint8_t>& chunk_data) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng failed to write the test PNG";
    return {};
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, size_t n) {
        auto* v = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(p));
        v->insert(v->end(), data, data + n);
      },
      nullptr);
  png_set_IHDR(png, info, rgb.cols, rgb.rows, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_chunk(png, reinterpret_cast<png_const_bytep>(chunk_name), chunk_data.data(),
                  chunk_data.size());
  for (int y = 0; y < rgb.rows; ++y) png_write_row(png, rgb.ptr<uint8_t>(y));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

// What libpng's simplified reader reports for `bytes`: 0 clean, PNG_IMAGE_WARNING, or
// PNG_IMAGE_ERROR.
int LibpngReadStatus(const std::vector<uint8_t>& bytes) {
  png_image img;
  std::memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size())) return PNG_IMAGE_ERROR;
  img.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(img));
  const bool ok = png_image_finish_read(&img, nullptr, pixels.data(), 0, nullptr);
  const int status = ok ? (img.warning_or_error & 3) : PNG_IMAGE_ERROR;
  png_image_free(&img);
  return status;
}

TEST(ImageIoTest, PngWarningsDoNotFailDecoding) {
  // skimage's page.png carries an ICC profile with an invalid rendering intent; libpng only warns
  // about such colour chunks (and drops them). An sRGB chunk with intent 7 (valid: 0..3) is the
  // same kind of benign chunk error.
  cv::Mat rgb;
  cv::cvtColor(TestImage(), rgb, cv::COLOR_BGR2RGB);
  const std::vector<uint8_t> png = WritePng(rgb, "sRGB", {7});
  ASSERT_FALSE(png.empty());
  ASSERT_EQ(LibpngReadStatus(png), PNG_IMAGE_WARNING) << "the test file must make libpng warn";
  auto img = DecodeImage(png, "intent.png");
  ASSERT_TRUE(img.ok()) << img.status().message();
  ASSERT_EQ(img->width(), rgb.cols);
  ASSERT_EQ(img->height(), rgb.rows);
  for (int y = 0; y < rgb.rows; ++y) {
    ASSERT_EQ(0, std::memcmp(rgb.ptr<uint8_t>(y),
                             img->view().planes[0].data + y * img->plane_stride(0), rgb.cols * 3));
  }

  // Damage is still an error: a flipped byte inside the image data breaks the IDAT CRC.
  std::vector<uint8_t> bad = png;
  const std::string_view idat("IDAT");
  const auto at = std::search(bad.begin(), bad.end(), idat.begin(), idat.end());
  ASSERT_NE(at, bad.end());
  at[4 + 6] ^= 0x20;
  ASSERT_EQ(LibpngReadStatus(bad), PNG_IMAGE_ERROR);
  auto crc = DecodeImage(bad, "crc.png");
  ASSERT_FALSE(crc.ok());
  EXPECT_NE(crc.status().message().find("crc.png"), std::string::npos);
}

TEST(ImageIoTest, SkimagePagePngDecodes) {
  const std::string page = "/usr/lib/python3/dist-packages/skimage/data/page.png";
  if (!std::filesystem::exists(page)) GTEST_SKIP() << page << " is not installed";
  auto img = DecodeImageFile(page);
  ASSERT_TRUE(img.ok()) << img.status().message();
  const cv::Mat ref = cv::imread(page, cv::IMREAD_COLOR);
  ASSERT_EQ(img->width(), ref.cols);
  ASSERT_EQ(img->height(), ref.rows);
  for (int y = 0; y < ref.rows; ++y) {
    for (int x = 0; x < ref.cols; ++x) {
      const uint8_t* ours = img->view().planes[0].data + y * img->plane_stride(0) + 3 * x;
      const uint8_t* theirs = ref.ptr<uint8_t>(y) + 3 * x;
      ASSERT_EQ(ours[0], theirs[2]);
      ASSERT_EQ(ours[1], theirs[1]);
      ASSERT_EQ(ours[2], theirs[0]);
    }
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
