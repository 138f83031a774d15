#include "edgerun/vision/preprocessor.h"

#include <fmt/format.h>
#include <libyuv/planar_functions.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "edgerun/dtype.h"
#include "kernels/simd/simd_target.h"
#include "vision/preprocess_kernels.h"

namespace edgerun::vision {
namespace {

size_t ElementBytes(OutputDType t) {
  switch (t) {
    case OutputDType::kF32:
      return 4;
    case OutputDType::kF16:
      return 2;
    default:
      return 1;
  }
}

template <typename T>
void FillPixels(uint8_t* base, size_t first_pixel, size_t count, int channels, bool nchw,
                size_t plane_elems, const T* value) {
  T* p = reinterpret_cast<T*>(base);
  if (nchw) {
    for (int c = 0; c < channels; ++c) {
      std::fill_n(p + c * plane_elems + first_pixel, count, value[c]);
    }
  } else {
    T* q = p + first_pixel * channels;
    for (size_t i = 0; i < count; ++i) {
      for (int c = 0; c < channels; ++c) *q++ = value[c];
    }
  }
}

}  // namespace

struct Preprocessor::Impl {
  PreprocessSpec spec;
  PixelFormat format = PixelFormat::kRGB;
  int width = 0, height = 0;
  CropRect crop;
  int out_w = 0, out_h = 0;
  int rw = 0, rh = 0;
  int pad_left = 0, pad_top = 0;
  AxisTransform transform;
  int in_channels = 3;  // channels of the rows fed to PackRow
  int out_channels = 3;
  internal::PackParams pack;
  size_t elem_bytes = 4;
  // Pad value per output channel, in the output dtype's representation.
  float pad_f32[3] = {0, 0, 0};
  uint16_t pad_f16[3] = {0, 0, 0};
  uint8_t pad_u8[3] = {0, 0, 0};
  int8_t pad_i8[3] = {0, 0, 0};

  bool resize = false;
  // INTER_LINEAR (bilinear, or area when enlarging) is fused with the pack pass row by row; the
  // other modes resize into `interim` first.
  bool linear = false;
  internal::LinearTables lin;
  PlaneResizer resizer;
  std::vector<uint8_t> interim;  // rw x rh x in_channels when resizing with another mode
  // YUV inputs are converted to RGB at the crop size (so results equal OpenCV's convert-then-
  // resize chain), then handled like packed RGB. With the linear filter only the source rows
  // that carry weight are converted, on demand, into two cached rows; otherwise the whole crop
  // is converted into `yuv_rgb`.
  internal::YuvCoeffs yuv;
  std::vector<uint8_t> split_y, split_u, split_v;  // one YUYV row split to planes
  std::vector<uint8_t> yuv_rgb;                    // crop.width x crop.height x 3 (not linear)
  std::vector<uint8_t> rgb_rows;                   // 2 x crop.width x 3 (linear)
  int rgb_row_index[2] = {-1, -1};                 // source row held by each cached row

  // Where the crop's YUV samples are for this Run.
  struct YuvSource {
    const uint8_t* y = nullptr;
    const uint8_t* u = nullptr;
    const uint8_t* v = nullptr;
    ptrdiff_t y_stride = 0, u_stride = 0, v_stride = 0;
    int uv_step = 1;       // 2 for NV12's interleaved chroma
    int chroma_shift = 1;  // chroma rows are halved for 4:2:0
    const uint8_t* yuyv = nullptr;
    ptrdiff_t yuyv_stride = 0;
  };
  YuvSource yuv_src;

  void ConvertYuvRow(int sy, uint8_t* dst) {
    const YuvSource& s = yuv_src;
    if (s.yuyv) {  // libyuv splits the row into 4:2:2 planes
      const int cw = crop.width / 2;
      libyuv::YUY2ToI422(s.yuyv + sy * s.yuyv_stride, static_cast<int>(s.yuyv_stride),
                         split_y.data(), crop.width, split_u.data(), cw, split_v.data(), cw,
                         crop.width, 1);
      internal::YuvToRgbRow(split_y.data(), split_u.data(), split_v.data(), 1, crop.width, yuv,
                            dst);
      return;
    }
    const int cy = sy >> s.chroma_shift;
    internal::YuvToRgbRow(s.y + sy * s.y_stride, s.u + cy * s.u_stride, s.v + cy * s.v_stride,
                          s.uv_step, crop.width, yuv, dst);
  }
  // RGB of source row `sy`, converted on first use; never evicts the cached row `keep`.
  const uint8_t* CachedRgbRow(int sy, int keep) {
    const size_t row = static_cast<size_t>(crop.width) * 3;
    for (int i = 0; i < 2; ++i) {
      if (rgb_row_index[i] == sy) return rgb_rows.data() + i * row;
    }
    const int slot = rgb_row_index[0] == keep ? 1 : 0;
    rgb_row_index[slot] = sy;
    ConvertYuvRow(sy, rgb_rows.data() + slot * row);
    return rgb_rows.data() + slot * row;
  }

  size_t OutputElements() const { return static_cast<size_t>(out_w) * out_h * out_channels; }
  uint8_t* RowPtr(uint8_t* base, int y) const {
    const size_t pixel = static_cast<size_t>(pad_top + y) * out_w + pad_left;
    return base + pixel * elem_bytes * (spec.layout == Layout::kNchw ? 1 : out_channels);
  }
  void Fill(uint8_t* base, size_t first_pixel, size_t count) const {
    if (count == 0) return;
    const bool nchw = spec.layout == Layout::kNchw;
    const size_t plane = static_cast<size_t>(out_w) * out_h;
    switch (spec.dtype) {
      case OutputDType::kF32:
        FillPixels(base, first_pixel, count, out_channels, nchw, plane, pad_f32);
        break;
      case OutputDType::kF16:
        FillPixels(base, first_pixel, count, out_channels, nchw, plane, pad_f16);
        break;
      case OutputDType::kU8:
        FillPixels(base, first_pixel, count, out_channels, nchw, plane, pad_u8);
        break;
      case OutputDType::kI8:
        FillPixels(base, first_pixel, count, out_channels, nchw, plane, pad_i8);
        break;
    }
  }
  void FillPadding(uint8_t* base) const {
    if (rw == out_w && rh == out_h) return;
    Fill(base, 0, static_cast<size_t>(pad_top) * out_w);
    for (int y = pad_top; y < pad_top + rh; ++y) {
      Fill(base, static_cast<size_t>(y) * out_w, pad_left);
      Fill(base, static_cast<size_t>(y) * out_w + pad_left + rw, out_w - pad_left - rw);
    }
    Fill(base, static_cast<size_t>(pad_top + rh) * out_w,
         static_cast<size_t>(out_h - pad_top - rh) * out_w);
  }
};

Preprocessor::Preprocessor() = default;
Preprocessor::~Preprocessor() = default;
Preprocessor::Preprocessor(Preprocessor&&) noexcept = default;
Preprocessor& Preprocessor::operator=(Preprocessor&&) noexcept = default;

const PreprocessSpec& Preprocessor::spec() const { return impl_->spec; }
const AxisTransform& Preprocessor::transform() const { return impl_->transform; }
int Preprocessor::content_width() const { return impl_->rw; }
int Preprocessor::content_height() const { return impl_->rh; }
size_t Preprocessor::output_elements() const { return impl_->OutputElements(); }
size_t Preprocessor::output_bytes() const { return impl_->OutputElements() * impl_->elem_bytes; }
const char* Preprocessor::SimdTarget() { return edgerun::SimdTarget(); }

std::array<int64_t, 4> Preprocessor::output_shape() const {
  const Impl& m = *impl_;
  if (m.spec.layout == Layout::kNchw) return {1, m.out_channels, m.out_h, m.out_w};
  return {1, m.out_h, m.out_w, m.out_channels};
}

Expected<Preprocessor> Preprocessor::Create(const PreprocessSpec& spec, PixelFormat format,
                                            int width, int height) {
  RETURN_IF_ERROR(spec.Validate());
  RETURN_IF_ERROR(Image::BytesFor(format, width, height).status());
  Preprocessor pre;
  pre.impl_ = std::make_unique<Impl>();
  Impl& m = *pre.impl_;
  m.spec = spec;
  m.format = format;
  m.width = width;
  m.height = height;
  const std::string_view fname = PixelFormatName(format);

  // Crop.
  m.crop = spec.crop.enabled() ? spec.crop : CropRect{0, 0, width, height};
  if (m.crop.x + m.crop.width > width || m.crop.y + m.crop.height > height) {
    return InvalidArgument(fmt::format("crop: {}x{}+{}+{} is outside the {}x{} image", m.crop.width,
                                       m.crop.height, m.crop.x, m.crop.y, width, height));
  }
  if ((format == PixelFormat::kNV12 || format == PixelFormat::kI420) &&
      (m.crop.x % 2 || m.crop.y % 2 || m.crop.width % 2 || m.crop.height % 2)) {
    return InvalidArgument(fmt::format(
        "crop: x, y, width and height must be even for {} (chroma is subsampled 2x2)", fname));
  }
  if (format == PixelFormat::kYUYV && (m.crop.x % 2 || m.crop.width % 2)) {
    return InvalidArgument("crop: x and width must be even for yuyv");
  }

  // Output size, letterbox placement and the recorded transform.
  m.out_w = spec.width > 0 ? spec.width : m.crop.width;
  m.out_h = spec.height > 0 ? spec.height : m.crop.height;
  m.rw = m.out_w;
  m.rh = m.out_h;
  if (spec.letterbox) {
    const double r = std::min(static_cast<double>(m.out_w) / m.crop.width,
                              static_cast<double>(m.out_h) / m.crop.height);
    m.rw = std::clamp(static_cast<int>(std::lround(m.crop.width * r)), 1, m.out_w);
    m.rh = std::clamp(static_cast<int>(std::lround(m.crop.height * r)), 1, m.out_h);
    if (spec.alignment == Alignment::kCenter) {
      m.pad_left = (m.out_w - m.rw) / 2;
      m.pad_top = (m.out_h - m.rh) / 2;
    }
  }
  const float sx = static_cast<float>(m.rw) / m.crop.width;
  const float sy = static_cast<float>(m.rh) / m.crop.height;
  m.transform = AxisTransform{sx, sy, m.pad_left - m.crop.x * sx, m.pad_top - m.crop.y * sy};

  // Channels: rows reaching PackRow are RGB-ordered for YUV, else the input's own order.
  int r_idx = 0, g_idx = 1, b_idx = 2;
  switch (format) {
    case PixelFormat::kRGB:
      m.in_channels = 3;
      break;
    case PixelFormat::kRGBA:
      m.in_channels = 4;
      break;
    case PixelFormat::kBGR:
      m.in_channels = 3;
      r_idx = 2;
      b_idx = 0;
      break;
    case PixelFormat::kBGRA:
      m.in_channels = 4;
      r_idx = 2;
      b_idx = 0;
      break;
    case PixelFormat::kGray8:
      m.in_channels = 1;
      r_idx = g_idx = b_idx = 0;
      break;
    default:
      m.in_channels = 3;
      break;
  }
  if (spec.order == ChannelOrder::kGray) {
    if (format != PixelFormat::kGray8) {
      return Unsupported(fmt::format(
          "order gray needs a gray input; converting {} to gray is not supported (use rgb or bgr)",
          fname));
    }
    m.out_channels = 1;
  } else {
    m.out_channels = 3;
  }
  internal::PackParams& p = m.pack;
  p.in_channels = m.in_channels;
  p.out_channels = m.out_channels;
  const int order_rgb[3] = {r_idx, g_idx, b_idx};
  const int order_bgr[3] = {b_idx, g_idx, r_idx};
  for (int c = 0; c < 3; ++c)
    p.src_channel[c] = spec.order == ChannelOrder::kBgr ? order_bgr[c] : order_rgb[c];
  p.dtype = spec.dtype;
  p.layout = spec.layout;
  const bool quant = spec.dtype == OutputDType::kU8 || spec.dtype == OutputDType::kI8;
  p.qmin = spec.dtype == OutputDType::kI8 ? -128.f : 0.f;
  p.qmax = spec.dtype == OutputDType::kI8 ? 127.f : 255.f;
  for (int c = 0; c < 3; ++c) {
    float k = spec.scale / spec.std[c];
    float b = -spec.mean[c] / spec.std[c];
    if (quant) {
      k /= spec.quant_scale;
      b = b / spec.quant_scale + static_cast<float>(spec.quant_zero_point);
    }
    p.k[c] = k;
    p.b[c] = b;
    const float pad = std::fma(spec.pad_value, k, b);
    m.pad_f32[c] = pad;
    m.pad_f16[c] = FloatToHalf(pad);
    const float q = std::nearbyint(std::clamp(pad, p.qmin, p.qmax));
    m.pad_u8[c] = static_cast<uint8_t>(std::clamp(q, 0.f, 255.f));
    m.pad_i8[c] = static_cast<int8_t>(std::clamp(q, -128.f, 127.f));
  }
  m.elem_bytes = ElementBytes(spec.dtype);

  const bool resize = m.rw != m.crop.width || m.rh != m.crop.height;
  m.resize = resize;
  m.linear = resize &&
             internal::UsesLinearFilter(spec.resize_mode, m.crop.width, m.crop.height, m.rw, m.rh);
  if (m.linear) {
    internal::MakeLinearTables(spec.resize_mode, m.crop.width, m.crop.height, m.rw, m.rh,
                               m.in_channels, &m.lin);
    m.lin.a01 = internal::PairLinearWeights(m.lin);
  } else if (resize) {
    ASSIGN_OR_RETURN(m.resizer, PlaneResizer::Create(spec.resize_mode, m.crop.width, m.crop.height,
                                                     m.rw, m.rh, m.in_channels));
    m.interim.assign(static_cast<size_t>(m.rw) * m.rh * m.in_channels, 0);
  }
  if (IsYuv(format)) {
    m.yuv = internal::MakeYuvCoeffs(spec.yuv_matrix, spec.yuv_range);
    if (format == PixelFormat::kYUYV) {
      m.split_y.assign(m.crop.width, 0);
      m.split_u.assign(m.crop.width / 2, 0);
      m.split_v.assign(m.crop.width / 2, 0);
    }
    const size_t row = static_cast<size_t>(m.crop.width) * 3;
    if (m.linear) {
      m.rgb_rows.assign(2 * row, 0);
    } else {
      m.yuv_rgb.assign(row * m.crop.height, 0);
    }
  }
  return pre;
}

Status Preprocessor::Run(const ImageView& image, std::span<std::byte> output) {
  Impl& m = *impl_;
  if (image.format != m.format || image.width != m.width || image.height != m.height) {
    return InvalidArgument(
        fmt::format("preprocess: image is {} {}x{}, but the preprocessor was built for {} {}x{}",
                    PixelFormatName(image.format), image.width, image.height,
                    PixelFormatName(m.format), m.width, m.height));
  }
  RETURN_IF_ERROR(image.Validate());
  if (output.size() != output_bytes()) {
    return InvalidArgument(fmt::format("preprocess: output holds {} bytes, the tensor needs {}",
                                       output.size(), output_bytes()));
  }
  auto* out = reinterpret_cast<uint8_t*>(output.data());
  const size_t plane_bytes = static_cast<size_t>(m.out_w) * m.out_h * m.elem_bytes;
  m.FillPadding(out);

  const CropRect& cr = m.crop;
  const uint8_t* src = nullptr;  // packed pixels of the crop
  ptrdiff_t src_stride = 0;
  const bool yuv = IsYuv(m.format);
  if (!yuv) {
    const Plane& pl = image.planes[0];
    src = pl.data + cr.y * pl.stride + static_cast<ptrdiff_t>(cr.x) * m.in_channels;
    src_stride = pl.stride;
  } else {
    // Y plane plus chroma rows; chroma sample i serves pixels 2i and 2i+1.
    Impl::YuvSource& ys = m.yuv_src;
    ys = Impl::YuvSource();
    switch (m.format) {
      case PixelFormat::kNV12:
        ys.y = image.planes[0].data + cr.y * image.planes[0].stride + cr.x;
        ys.u = image.planes[1].data + (cr.y / 2) * image.planes[1].stride + cr.x;
        ys.v = ys.u + 1;
        ys.y_stride = image.planes[0].stride;
        ys.u_stride = ys.v_stride = image.planes[1].stride;
        ys.uv_step = 2;
        break;
      case PixelFormat::kI420:
        ys.y = image.planes[0].data + cr.y * image.planes[0].stride + cr.x;
        ys.u = image.planes[1].data + (cr.y / 2) * image.planes[1].stride + cr.x / 2;
        ys.v = image.planes[2].data + (cr.y / 2) * image.planes[2].stride + cr.x / 2;
        ys.y_stride = image.planes[0].stride;
        ys.u_stride = image.planes[1].stride;
        ys.v_stride = image.planes[2].stride;
        break;
      default:  // YUYV
        ys.yuyv = image.planes[0].data + cr.y * image.planes[0].stride + cr.x * 2;
        ys.yuyv_stride = image.planes[0].stride;
        break;
    }
  }

  if (m.linear) {
    const internal::LinearTables& t = m.lin;
    const size_t row_bytes = static_cast<size_t>(cr.width) * m.in_channels;
    m.rgb_row_index[0] = m.rgb_row_index[1] = -1;  // a new frame
    for (int dy = 0; dy < m.rh; ++dy) {
      // A row with weight 0 adds exactly 0, so the other row stands in and is neither fetched
      // nor converted.
      int r0 = t.y0[dy], r1 = t.y1[dy];
      if (t.b1[dy] == 0) r1 = r0;
      if (t.b0[dy] == 0) r0 = r1;
      const uint8_t* p0 = nullptr;
      const uint8_t* p1 = nullptr;
      if (yuv) {
        p0 = m.CachedRgbRow(r0, r1);
        p1 = m.CachedRgbRow(r1, r0);
      } else {
        p0 = src + r0 * src_stride;
        p1 = src + r1 * src_stride;
      }
      internal::LinearPackRow(m.pack, p0, p1, row_bytes, t.ofs0.data(), t.a0.data(), t.a1.data(),
                              t.a01.data(), m.rw, t.b0[dy], t.b1[dy], m.RowPtr(out, dy),
                              plane_bytes);
    }
    return Status::Ok();
  }
  if (yuv) {
    const ptrdiff_t rgb_stride = static_cast<ptrdiff_t>(cr.width) * 3;
    for (int y = 0; y < cr.height; ++y) m.ConvertYuvRow(y, m.yuv_rgb.data() + y * rgb_stride);
    src = m.yuv_rgb.data();
    src_stride = rgb_stride;
  }
  const uint8_t* rows = src;
  ptrdiff_t stride = src_stride;
  if (m.resize) {
    stride = static_cast<ptrdiff_t>(m.rw) * m.in_channels;
    m.resizer.Run(src, src_stride, m.interim.data(), stride);
    rows = m.interim.data();
  }
  for (int y = 0; y < m.rh; ++y) {
    internal::PackRow(m.pack, rows + y * stride, m.rw, m.RowPtr(out, y), plane_bytes);
  }
  return Status::Ok();
}

}  // namespace edgerun::vision
