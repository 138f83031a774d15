#include "edgerun/vision/image.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <string>

namespace edgerun::vision {
namespace {

// Decoders and cameras top out far below this; the bound keeps size arithmetic in range.
constexpr int kMaxDimension = 1 << 15;

}  // namespace

std::string_view PixelFormatName(PixelFormat format) {
  switch (format) {
    case PixelFormat::kRGB:
      return "rgb";
    case PixelFormat::kBGR:
      return "bgr";
    case PixelFormat::kRGBA:
      return "rgba";
    case PixelFormat::kBGRA:
      return "bgra";
    case PixelFormat::kGray8:
      return "gray";
    case PixelFormat::kNV12:
      return "nv12";
    case PixelFormat::kI420:
      return "i420";
    case PixelFormat::kYUYV:
      return "yuyv";
  }
  return "?";
}

Expected<PixelFormat> ParsePixelFormat(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (PixelFormat f :
       {PixelFormat::kRGB, PixelFormat::kBGR, PixelFormat::kRGBA, PixelFormat::kBGRA,
        PixelFormat::kGray8, PixelFormat::kNV12, PixelFormat::kI420, PixelFormat::kYUYV}) {
    if (lower == PixelFormatName(f)) return f;
  }
  if (lower == "gray8" || lower == "grey") return PixelFormat::kGray8;
  if (lower == "yuy2") return PixelFormat::kYUYV;
  return InvalidArgument(fmt::format(
      "unknown pixel format '{}' (expected rgb, bgr, rgba, bgra, gray, nv12, i420 or yuyv)", name));
}

int NumPlanes(PixelFormat format) {
  switch (format) {
    case PixelFormat::kNV12:
      return 2;
    case PixelFormat::kI420:
      return 3;
    default:
      return 1;
  }
}

int BytesPerPixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR:
      return 3;
    case PixelFormat::kRGBA:
    case PixelFormat::kBGRA:
      return 4;
    case PixelFormat::kYUYV:
      return 2;
    default:
      return 1;
  }
}

bool IsYuv(PixelFormat format) {
  return format == PixelFormat::kNV12 || format == PixelFormat::kI420 ||
         format == PixelFormat::kYUYV;
}

int ImageView::PlaneWidth(int i) const {
  if (i == 0) return width;
  if (format == PixelFormat::kNV12 || format == PixelFormat::kI420) return width / 2;
  return 0;
}

int ImageView::PlaneHeight(int i) const {
  if (i == 0) return height;
  if (format == PixelFormat::kNV12 || format == PixelFormat::kI420) return height / 2;
  return 0;
}

size_t ImageView::PlaneRowBytes(int i) const {
  if (i == 0) return static_cast<size_t>(width) * BytesPerPixel(format);
  if (format == PixelFormat::kNV12) return static_cast<size_t>(width);  // width/2 U,V pairs
  return static_cast<size_t>(PlaneWidth(i));
}

Status ImageView::Validate() const {
  const std::string_view name = PixelFormatName(format);
  if (width <= 0 || height <= 0 || width > kMaxDimension || height > kMaxDimension) {
    return InvalidArgument(fmt::format("{} image: size {}x{} is out of range (1..{})", name, width,
                                       height, kMaxDimension));
  }
  if ((format == PixelFormat::kNV12 || format == PixelFormat::kI420) &&
      (width % 2 != 0 || height % 2 != 0)) {
    return InvalidArgument(fmt::format(
        "{} image: size {}x{} must have even width and height (chroma is subsampled 2x2)", name,
        width, height));
  }
  if (format == PixelFormat::kYUYV && width % 2 != 0) {
    return InvalidArgument(
        fmt::format("yuyv image: width {} must be even (two pixels share one U,V pair)", width));
  }
  static constexpr const char* kPlaneNames[3][3] = {{"", "", ""}, {"y", "uv", ""}, {"y", "u", "v"}};
  const int planes_count = NumPlanes(format);
  for (int i = 0; i < planes_count; ++i) {
    const char* plane_name = kPlaneNames[planes_count - 1][i];
    const std::string where =
        planes_count == 1 ? std::string(name) : fmt::format("{} plane {}", name, plane_name);
    if (planes[i].data == nullptr) {
      return InvalidArgument(fmt::format("{} image: {} has no data", name, where));
    }
    const size_t row = PlaneRowBytes(i);
    if (planes[i].stride < 0 || static_cast<size_t>(planes[i].stride) < row) {
      return InvalidArgument(
          fmt::format("{} image: {} stride {} is smaller than its row ({} bytes)", name, where,
                      planes[i].stride, row));
    }
  }
  return Status::Ok();
}

Expected<ImageView> ImageView::MakePacked(PixelFormat format, const uint8_t* data, int width,
                                          int height, ptrdiff_t stride) {
  if (NumPlanes(format) != 1) {
    return InvalidArgument(
        fmt::format("{} is a planar format; use MakeNV12 or MakeI420", PixelFormatName(format)));
  }
  ImageView v;
  v.format = format;
  v.width = width;
  v.height = height;
  v.planes[0] = {data,
                 stride == 0 ? static_cast<ptrdiff_t>(width) * BytesPerPixel(format) : stride};
  RETURN_IF_ERROR(v.Validate());
  return v;
}

Expected<ImageView> ImageView::MakeNV12(const uint8_t* y, ptrdiff_t y_stride, const uint8_t* uv,
                                        ptrdiff_t uv_stride, int width, int height) {
  ImageView v;
  v.format = PixelFormat::kNV12;
  v.width = width;
  v.height = height;
  v.planes[0] = {y, y_stride};
  v.planes[1] = {uv, uv_stride};
  RETURN_IF_ERROR(v.Validate());
  return v;
}

Expected<ImageView> ImageView::MakeI420(const uint8_t* y, ptrdiff_t y_stride, const uint8_t* u,
                                        ptrdiff_t u_stride, const uint8_t* v_plane,
                                        ptrdiff_t v_stride, int width, int height) {
  ImageView v;
  v.format = PixelFormat::kI420;
  v.width = width;
  v.height = height;
  v.planes[0] = {y, y_stride};
  v.planes[1] = {u, u_stride};
  v.planes[2] = {v_plane, v_stride};
  RETURN_IF_ERROR(v.Validate());
  return v;
}

// ---------------------------------------------------------------------------------------------
// Image

Image::~Image() { Release(); }

Image::Image(Image&& other) noexcept
    : view_(other.view_), heap_(std::move(other.heap_)), pool_(other.pool_), block_(other.block_) {
  other.pool_ = nullptr;
  other.block_ = nullptr;
  other.view_ = ImageView();
}

Image& Image::operator=(Image&& other) noexcept {
  if (this != &other) {
    Release();
    view_ = other.view_;
    heap_ = std::move(other.heap_);
    pool_ = other.pool_;
    block_ = other.block_;
    other.pool_ = nullptr;
    other.block_ = nullptr;
    other.view_ = ImageView();
  }
  return *this;
}

void Image::Release() {
  if (pool_ != nullptr && block_ != nullptr) pool_->Return(block_);
  pool_ = nullptr;
  block_ = nullptr;
  heap_.reset();
}

Expected<size_t> Image::BytesFor(PixelFormat format, int width, int height) {
  ImageView probe;
  probe.format = format;
  probe.width = width;
  probe.height = height;
  // Validate everything but the (not yet existing) planes.
  static const uint8_t kDummy = 0;
  for (int i = 0; i < 3; ++i) probe.planes[i] = {&kDummy, std::numeric_limits<ptrdiff_t>::max()};
  RETURN_IF_ERROR(probe.Validate());
  size_t total = 0;
  for (int i = 0; i < NumPlanes(format); ++i) {
    total += probe.PlaneRowBytes(i) * static_cast<size_t>(probe.PlaneHeight(i));
  }
  return total;
}

Status Image::Init(PixelFormat format, int width, int height, uint8_t* storage) {
  view_ = ImageView();
  view_.format = format;
  view_.width = width;
  view_.height = height;
  uint8_t* p = storage;
  for (int i = 0; i < NumPlanes(format); ++i) {
    const size_t row = view_.PlaneRowBytes(i);
    view_.planes[i] = {p, static_cast<ptrdiff_t>(row)};
    p += row * static_cast<size_t>(view_.PlaneHeight(i));
  }
  return view_.Validate();
}

Expected<Image> Image::Create(PixelFormat format, int width, int height) {
  ASSIGN_OR_RETURN(const size_t bytes, BytesFor(format, width, height));
  Image img;
  img.heap_.reset(new uint8_t[bytes]);
  RETURN_IF_ERROR(img.Init(format, width, height, img.heap_.get()));
  return img;
}

// ---------------------------------------------------------------------------------------------
// ImagePool

ImagePool::ImagePool(size_t block_count, size_t block_bytes)
    : block_bytes_(block_bytes), storage_(new uint8_t[block_count * block_bytes]) {
  free_.reserve(block_count);
  for (size_t i = block_count; i-- > 0;) free_.push_back(storage_.get() + i * block_bytes);
}

size_t ImagePool::available() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_.size();
}

Expected<Image> ImagePool::Acquire(PixelFormat format, int width, int height) {
  ASSIGN_OR_RETURN(const size_t bytes, Image::BytesFor(format, width, height));
  if (bytes > block_bytes_) {
    return ResourceExhausted(fmt::format("image pool: {} {}x{} needs {} bytes, blocks hold {}",
                                         PixelFormatName(format), width, height, bytes,
                                         block_bytes_));
  }
  uint8_t* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) {
      return ResourceExhausted("image pool: all blocks are in use");
    }
    block = free_.back();
    free_.pop_back();
  }
  Image img;
  img.pool_ = this;
  img.block_ = block;
  RETURN_IF_ERROR(img.Init(format, width, height, block));
  return img;
}

void ImagePool::Return(uint8_t* block) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(block);
}

}  // namespace edgerun::vision
