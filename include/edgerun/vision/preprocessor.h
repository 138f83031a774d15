// Runs a PreprocessSpec on images of one fixed format and size, writing the model input tensor.
//
// Create() validates the spec against the input geometry, precomputes the resize tables (OpenCV's
// fixed-point INTER_LINEAR weights, INTER_AREA cells, Pillow's filter taps) and allocates all
// scratch; Run() then never allocates. Packed inputs are resized straight from the source rows;
// YUV inputs are first converted to RGB (SIMD, exact fixed point), so results equal OpenCV's
// convert-then-resize chain (resizing the subsampled planes first is faster but smears chroma at
// colour edges by up to half the range). With bilinear resizing only the source rows that carry
// weight are converted, and the resize row goes straight into one fused SIMD pass that does
// channel order, normalization, layout, dtype and letterbox placement; other modes resize into
// a scratch image first.
//   ASSIGN_OR_RETURN(Preprocessor pre, Preprocessor::Create(spec, PixelFormat::kBGR, 1920, 1080));
//   std::vector<float> input(pre.output_elements());
//   RETURN_IF_ERROR(pre.Run(frame, std::as_writable_bytes(std::span(input))));
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "edgerun/status.h"
#include "edgerun/vision/geometry.h"
#include "edgerun/vision/image.h"
#include "edgerun/vision/preprocess_spec.h"

namespace edgerun::vision {

// Resizes one plane of u8 pixels with `channels` interleaved channels. Tables and scratch are
// built once; Run never allocates. Used by Preprocessor; public so tests can check every mode.
class PlaneResizer {
 public:
  PlaneResizer();
  ~PlaneResizer();
  PlaneResizer(PlaneResizer&&) noexcept;
  PlaneResizer& operator=(PlaneResizer&&) noexcept;

  static Expected<PlaneResizer> Create(ResizeMode mode, int src_width, int src_height,
                                       int dst_width, int dst_height, int channels);
  void Run(const uint8_t* src, ptrdiff_t src_stride, uint8_t* dst, ptrdiff_t dst_stride);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Preprocessor {
 public:
  Preprocessor();
  ~Preprocessor();
  Preprocessor(Preprocessor&&) noexcept;
  Preprocessor& operator=(Preprocessor&&) noexcept;

  // Errors: invalid spec fields, crop outside the image or odd for a subsampled format, an
  // unsupported combination (e.g. colour input with order gray).
  static Expected<Preprocessor> Create(const PreprocessSpec& spec, PixelFormat format, int width,
                                       int height);

  // `image` must have the format and size given to Create; `output` must hold output_bytes().
  Status Run(const ImageView& image, std::span<std::byte> output);

  const PreprocessSpec& spec() const;
  // [1, C, H, W] for NCHW, [1, H, W, C] for NHWC.
  std::array<int64_t, 4> output_shape() const;
  size_t output_elements() const;
  size_t output_bytes() const;
  // Source pixel coordinates -> tensor coordinates (crop, resize and letterbox composed).
  const AxisTransform& transform() const;
  // Size of the resized image inside the output (smaller than the output when letterboxed).
  int content_width() const;
  int content_height() const;
  // The instruction set the SIMD kernels run with on this machine, e.g. "AVX2".
  static const char* SimdTarget();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgerun::vision
