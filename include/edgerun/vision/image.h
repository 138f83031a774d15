// Images: non-owning strided views of camera/decoder pixel formats, and owning buffers that can
// come from a preallocated pool.
//
// A view is up to three planes (pointer + stride in bytes); Make* validates sizes and strides so
// kernels never see an inconsistent image. A pool hands out fixed-size blocks allocated once.
//   ASSIGN_OR_RETURN(ImageView v, ImageView::MakeNV12(y, 1920, uv, 1920, 1920, 1080));
//   ImagePool pool(4, Image::BytesFor(PixelFormat::kRGB, 640, 480));
//   ASSIGN_OR_RETURN(Image img, pool.Acquire(PixelFormat::kRGB, 640, 480));
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "edgerun/status.h"

namespace edgerun::vision {

enum class PixelFormat {
  kRGB,    // packed 3 bytes R,G,B
  kBGR,    // packed 3 bytes B,G,R (OpenCV's default)
  kRGBA,   // packed 4 bytes
  kBGRA,   // packed 4 bytes
  kGray8,  // 1 byte
  kNV12,   // Y plane + interleaved U,V plane at half width and height; even width and height
  kI420,   // Y, U, V planes, U and V at half width and height; even width and height
  kYUYV,   // packed Y0 U Y1 V per two pixels (a.k.a. YUY2); even width
};

std::string_view PixelFormatName(PixelFormat format);
// Parses "rgb", "bgr", "rgba", "bgra", "gray", "nv12", "i420", "yuyv" (case-insensitive).
Expected<PixelFormat> ParsePixelFormat(std::string_view name);
int NumPlanes(PixelFormat format);
// Bytes per pixel of the first plane (2 for YUYV, 1 for the Y plane of NV12/I420).
int BytesPerPixel(PixelFormat format);
bool IsYuv(PixelFormat format);

struct Plane {
  const uint8_t* data = nullptr;
  ptrdiff_t stride = 0;  // bytes between row starts
};

// A read-only view. Create through the Make* functions, which validate it.
struct ImageView {
  PixelFormat format = PixelFormat::kRGB;
  int width = 0;
  int height = 0;
  Plane planes[3];

  // Packed formats (RGB, BGR, RGBA, BGRA, GRAY8, YUYV). stride 0 means tightly packed.
  static Expected<ImageView> MakePacked(PixelFormat format, const uint8_t* data, int width,
                                        int height, ptrdiff_t stride = 0);
  static Expected<ImageView> MakeNV12(const uint8_t* y, ptrdiff_t y_stride, const uint8_t* uv,
                                      ptrdiff_t uv_stride, int width, int height);
  static Expected<ImageView> MakeI420(const uint8_t* y, ptrdiff_t y_stride, const uint8_t* u,
                                      ptrdiff_t u_stride, const uint8_t* v, ptrdiff_t v_stride,
                                      int width, int height);
  // Checks sizes, parity and strides; the Make* functions call it.
  Status Validate() const;
  // Width and height of plane `i` in pixels of that plane, and its minimum row size in bytes.
  int PlaneWidth(int i) const;
  int PlaneHeight(int i) const;
  size_t PlaneRowBytes(int i) const;
};

class ImagePool;

// An owning image whose planes are stored contiguously (Y then U,V). Move-only; when it came from
// a pool its block goes back to the pool on destruction.
class Image {
 public:
  Image() = default;
  ~Image();
  Image(Image&& other) noexcept;
  Image& operator=(Image&& other) noexcept;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;

  // Allocates on the heap (uninitialized).
  static Expected<Image> Create(PixelFormat format, int width, int height);
  // Tightly packed size of an image: what a pool block must hold.
  static Expected<size_t> BytesFor(PixelFormat format, int width, int height);

  const ImageView& view() const { return view_; }
  PixelFormat format() const { return view_.format; }
  int width() const { return view_.width; }
  int height() const { return view_.height; }
  uint8_t* plane_data(int i) { return const_cast<uint8_t*>(view_.planes[i].data); }
  ptrdiff_t plane_stride(int i) const { return view_.planes[i].stride; }

 private:
  friend class ImagePool;
  Status Init(PixelFormat format, int width, int height, uint8_t* storage);
  void Release();

  ImageView view_;
  std::unique_ptr<uint8_t[]> heap_;
  ImagePool* pool_ = nullptr;
  uint8_t* block_ = nullptr;
};

// A fixed number of equally sized blocks, allocated in the constructor. Acquire never allocates
// pixel memory; it fails with ResourceExhausted when all blocks are in use or the image does not
// fit. Thread-safe. The pool must outlive the images it hands out.
class ImagePool {
 public:
  ImagePool(size_t block_count, size_t block_bytes);
  ImagePool(const ImagePool&) = delete;
  ImagePool& operator=(const ImagePool&) = delete;

  Expected<Image> Acquire(PixelFormat format, int width, int height);
  size_t available() const;
  size_t block_bytes() const { return block_bytes_; }

 private:
  friend class Image;
  void Return(uint8_t* block);

  size_t block_bytes_;
  std::unique_ptr<uint8_t[]> storage_;
  std::vector<uint8_t*> free_;
  mutable std::mutex mutex_;
};

}  // namespace edgerun::vision
