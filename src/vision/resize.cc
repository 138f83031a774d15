// PlaneResizer: the four resize modes on u8 planes with interleaved channels.
//
// Tables reproduce the reference libraries' arithmetic so results match them:
// - nearest, bilinear, area: OpenCV 4.x cv::resize (INTER_NEAREST: floor(dst * src/dst);
//   INTER_LINEAR: half-pixel centers, weights rounded to 11 bits, exact int32 horizontal sums,
//   vectorized vertical rounding; INTER_AREA: integer-factor block means, otherwise fractional
//   cell weights, and when enlarging a linear filter with area-style weights);
// - pillow: Pillow's Resample.c bilinear (triangle filter stretched by the shrink factor,
//   weights normalized then rounded to 22 bits, horizontal pass then vertical, each rounded to
//   u8).
#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "edgerun/vision/preprocessor.h"
#include "vision/preprocess_kernels.h"

namespace edgerun::vision {
namespace {

enum class Kind { kCopy, kNearest, kLinear, kAreaFast, kArea, kPillow };

// One axis of INTER_AREA's fractional cells: for each destination index, the source indices and
// their weights (fractions of the cell they cover).
struct AreaAxis {
  std::vector<int> start;  // per dst: first entry in src/weight
  std::vector<int> count;
  std::vector<int> src;
  std::vector<float> weight;
};

AreaAxis MakeAreaAxis(int src_size, int dst_size) {
  const double scale = static_cast<double>(src_size) / dst_size;
  AreaAxis a;
  for (int d = 0; d < dst_size; ++d) {
    const double f1 = d * scale;
    const double f2 = f1 + scale;
    const double cell = std::min(scale, src_size - f1);
    int s1 = static_cast<int>(std::ceil(f1));
    int s2 = static_cast<int>(std::floor(f2));
    s2 = std::min(s2, src_size - 1);
    s1 = std::min(s1, s2);
    a.start.push_back(static_cast<int>(a.src.size()));
    // Slivers under 1e-3 of a pixel are dropped, as OpenCV does, so rounding matches.
    if (s1 - f1 > 1e-3) {
      a.src.push_back(s1 - 1);
      a.weight.push_back(static_cast<float>((s1 - f1) / cell));
    }
    for (int s = s1; s < s2; ++s) {
      a.src.push_back(s);
      a.weight.push_back(static_cast<float>(1.0 / cell));
    }
    if (f2 - s2 > 1e-3) {
      a.src.push_back(s2);
      a.weight.push_back(static_cast<float>(std::min(std::min(f2 - s2, 1.0), cell) / cell));
    }
    a.count.push_back(static_cast<int>(a.src.size()) - a.start.back());
  }
  return a;
}

// OpenCV's per-axis linear sample: source index and fractional weight of the next pixel.
void LinearSample(int d, int src_size, double scale, double inv_scale, bool area_mode, int& s,
                  float& f) {
  if (!area_mode) {
    f = static_cast<float>((d + 0.5) * scale - 0.5);
    s = static_cast<int>(std::floor(f));
    f -= static_cast<float>(s);
  } else {
    s = static_cast<int>(std::floor(d * scale));
    f = static_cast<float>((d + 1) - (s + 1) * inv_scale);
    f = f <= 0 ? 0.f : f - static_cast<float>(std::floor(f));
  }
  if (s < 0) {
    f = 0;
    s = 0;
  }
  if (s >= src_size - 1) {
    f = 0;
    s = src_size - 1;
  }
}

int16_t FixedWeight(float w) {
  // saturate_cast<short>(float): round half to even.
  const long r = std::lrint(w * static_cast<float>(internal::kLinearCoefScale));
  return static_cast<int16_t>(std::clamp<long>(r, -32768, 32767));
}

// Pillow's bilinear taps for one axis, as 22-bit fixed point.
constexpr int kPillowBits = 22;
struct PillowAxis {
  int ksize = 0;
  std::vector<int> bounds_min;
  std::vector<int> bounds_len;
  std::vector<int32_t> k;  // ksize per dst
};

PillowAxis MakePillowAxis(int in_size, int out_size) {
  PillowAxis a;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  a.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  a.k.assign(static_cast<size_t>(a.ksize) * out_size, 0);
  std::vector<double> w(a.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    xmin = std::max(xmin, 0);
    int xmax = static_cast<int>(center + support + 0.5);
    xmax = std::min(xmax, in_size);
    xmax -= xmin;
    double ww = 0;
    for (int x = 0; x < xmax; ++x) {
      const double t = std::abs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1.0 ? 1.0 - t : 0.0;
      ww += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double kv = ww != 0.0 ? w[x] / ww : w[x];
      const double fixed = kv * (1 << kPillowBits);
      a.k[static_cast<size_t>(xx) * a.ksize + x] =
          static_cast<int32_t>(kv < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    a.bounds_min.push_back(xmin);
    a.bounds_len.push_back(xmax);
  }
  return a;
}

inline uint8_t PillowClip(int32_t v) {
  if (v >= (1 << kPillowBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPillowBits);
}

}  // namespace

struct PlaneResizer::Impl {
  Kind kind = Kind::kCopy;
  int sw = 0, sh = 0, dw = 0, dh = 0, cn = 1;
  // nearest
  std::vector<int32_t> x_src;  // byte offset of each dst pixel's source pixel
  std::vector<int32_t> y_src;
  internal::LinearTables lin;
  // area
  int ix = 1, iy = 1;
  AreaAxis ax, ay;
  std::vector<float> hrow, acc;
  // pillow
  PillowAxis px, py;
  std::vector<uint8_t> temp;
  int ybox_first = 0;

  void RunLinear(const uint8_t* src, ptrdiff_t ss, uint8_t* dst, ptrdiff_t ds) {
    const size_t row_bytes = static_cast<size_t>(sw) * cn;
    for (int dy = 0; dy < dh; ++dy) {
      // A row with weight 0 adds exactly 0, so the other row stands in and is not fetched.
      const uint8_t* r0 = src + lin.y0[dy] * ss;
      const uint8_t* r1 = src + lin.y1[dy] * ss;
      if (lin.b1[dy] == 0) r1 = r0;
      if (lin.b0[dy] == 0) r0 = r1;
      internal::LinearRow(cn, r0, r1, row_bytes, lin.ofs0.data(), lin.a0.data(), lin.a1.data(), dw,
                          lin.b0[dy], lin.b1[dy], dst + dy * ds);
    }
  }

  void RunNearest(const uint8_t* src, ptrdiff_t ss, uint8_t* dst, ptrdiff_t ds) {
    for (int dy = 0; dy < dh; ++dy) {
      const uint8_t* s = src + y_src[dy] * ss;
      uint8_t* d = dst + dy * ds;
      if (cn == 3) {
        for (int dx = 0; dx < dw; ++dx) {
          const uint8_t* p = s + x_src[dx];
          d[0] = p[0];
          d[1] = p[1];
          d[2] = p[2];
          d += 3;
        }
      } else {
        for (int dx = 0; dx < dw; ++dx, d += cn) std::memcpy(d, s + x_src[dx], cn);
      }
    }
  }

  void RunAreaFast(const uint8_t* src, ptrdiff_t ss, uint8_t* dst, ptrdiff_t ds) {
    const float inv_area = 1.0f / static_cast<float>(ix * iy);
    for (int dy = 0; dy < dh; ++dy) {
      uint8_t* d = dst + dy * ds;
      for (int dx = 0; dx < dw; ++dx) {
        for (int c = 0; c < cn; ++c) {
          int sum = 0;
          for (int y = 0; y < iy; ++y) {
            const uint8_t* s = src + (dy * iy + y) * ss + (dx * ix) * cn + c;
            for (int x = 0; x < ix; ++x) sum += s[x * cn];
          }
          d[dx * cn + c] = static_cast<uint8_t>(
              std::clamp<long>(std::lrint(static_cast<float>(sum) * inv_area), 0, 255));
        }
      }
    }
  }

  void RunArea(const uint8_t* src, ptrdiff_t ss, uint8_t* dst, ptrdiff_t ds) {
    const int n = dw * cn;
    for (int dy = 0; dy < dh; ++dy) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int e = ay.start[dy]; e < ay.start[dy] + ay.count[dy]; ++e) {
        const uint8_t* s = src + ay.src[e] * ss;
        for (int dx = 0; dx < dw; ++dx) {
          for (int c = 0; c < cn; ++c) {
            float sum = 0;
            for (int k = ax.start[dx]; k < ax.start[dx] + ax.count[dx]; ++k) {
              sum += s[ax.src[k] * cn + c] * ax.weight[k];
            }
            hrow[dx * cn + c] = sum;
          }
        }
        const float wy = ay.weight[e];
        for (int j = 0; j < n; ++j) acc[j] += hrow[j] * wy;
      }
      uint8_t* d = dst + dy * ds;
      for (int j = 0; j < n; ++j) {
        d[j] = static_cast<uint8_t>(std::clamp<long>(std::lrint(acc[j]), 0, 255));
      }
    }
  }

  void RunPillow(const uint8_t* src, ptrdiff_t ss, uint8_t* dst, ptrdiff_t ds) {
    const int n = dw * cn;
    const int rows_needed = static_cast<int>(temp.size() / n);
    // Horizontal pass over the source rows the vertical pass reads.
    for (int r = 0; r < rows_needed; ++r) {
      const uint8_t* s = src + (ybox_first + r) * ss;
      uint8_t* t = temp.data() + static_cast<size_t>(r) * n;
      for (int dx = 0; dx < dw; ++dx) {
        const int32_t* k = px.k.data() + static_cast<size_t>(dx) * px.ksize;
        const int xmin = px.bounds_min[dx];
        const int len = px.bounds_len[dx];
        for (int c = 0; c < cn; ++c) {
          int32_t acc_v = 1 << (kPillowBits - 1);
          for (int x = 0; x < len; ++x) acc_v += s[(xmin + x) * cn + c] * k[x];
          t[dx * cn + c] = PillowClip(acc_v);
        }
      }
    }
    for (int dy = 0; dy < dh; ++dy) {
      const int32_t* k = py.k.data() + static_cast<size_t>(dy) * py.ksize;
      const int ymin = py.bounds_min[dy] - ybox_first;
      const int len = py.bounds_len[dy];
      uint8_t* d = dst + dy * ds;
      for (int j = 0; j < n; ++j) {
        int32_t acc_v = 1 << (kPillowBits - 1);
        for (int y = 0; y < len; ++y) acc_v += temp[static_cast<size_t>(ymin + y) * n + j] * k[y];
        d[j] = PillowClip(acc_v);
      }
    }
  }
};

PlaneResizer::PlaneResizer() = default;
PlaneResizer::~PlaneResizer() = default;
PlaneResizer::PlaneResizer(PlaneResizer&&) noexcept = default;
PlaneResizer& PlaneResizer::operator=(PlaneResizer&&) noexcept = default;

Expected<PlaneResizer> PlaneResizer::Create(ResizeMode mode, int src_width, int src_height,
                                            int dst_width, int dst_height, int channels) {
  if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0 ||
      src_width > (1 << 15) || src_height > (1 << 15) || dst_width > (1 << 15) ||
      dst_height > (1 << 15)) {
    return InvalidArgument(fmt::format("resize: sizes {}x{} -> {}x{} are out of range", src_width,
                                       src_height, dst_width, dst_height));
  }
  if (channels < 1 || channels > 4) {
    return InvalidArgument(fmt::format("resize: {} channels (expected 1 to 4)", channels));
  }
  PlaneResizer r;
  r.impl_ = std::make_unique<Impl>();
  Impl& m = *r.impl_;
  m.sw = src_width;
  m.sh = src_height;
  m.dw = dst_width;
  m.dh = dst_height;
  m.cn = channels;
  const int cn = channels;
  if (src_width == dst_width && src_height == dst_height) {
    m.kind = Kind::kCopy;
    return r;
  }
  // OpenCV's convention: inv_scale = dst/src, scale = 1/inv_scale (both double).
  const double inv_sx = static_cast<double>(dst_width) / src_width;
  const double inv_sy = static_cast<double>(dst_height) / src_height;
  const double sx = 1.0 / inv_sx;
  const double sy = 1.0 / inv_sy;

  if (mode == ResizeMode::kNearest) {
    m.kind = Kind::kNearest;
    for (int dx = 0; dx < dst_width; ++dx) {
      m.x_src.push_back(std::min(static_cast<int>(std::floor(dx * sx)), src_width - 1) * cn);
    }
    for (int dy = 0; dy < dst_height; ++dy) {
      m.y_src.push_back(std::min(static_cast<int>(std::floor(dy * sy)), src_height - 1));
    }
    return r;
  }
  if (mode == ResizeMode::kPillowBilinear) {
    m.kind = Kind::kPillow;
    m.px = MakePillowAxis(src_width, dst_width);
    m.py = MakePillowAxis(src_height, dst_height);
    m.ybox_first = m.py.bounds_min.front();
    const int ybox_last = m.py.bounds_min.back() + m.py.bounds_len.back();
    m.temp.assign(static_cast<size_t>(ybox_last - m.ybox_first) * dst_width * cn, 0);
    return r;
  }
  const bool area = mode == ResizeMode::kArea;
  if (area && sx >= 1 && sy >= 1) {
    const int isx = static_cast<int>(std::lround(sx));
    const int isy = static_cast<int>(std::lround(sy));
    if (std::abs(sx - isx) < DBL_EPSILON && std::abs(sy - isy) < DBL_EPSILON) {
      m.kind = Kind::kAreaFast;
      m.ix = isx;
      m.iy = isy;
      return r;
    }
    m.kind = Kind::kArea;
    m.ax = MakeAreaAxis(src_width, dst_width);
    m.ay = MakeAreaAxis(src_height, dst_height);
    m.hrow.assign(static_cast<size_t>(dst_width) * cn, 0.0f);
    m.acc.assign(static_cast<size_t>(dst_width) * cn, 0.0f);
    return r;
  }
  // Bilinear, or area when enlarging (a linear filter with area-style weights).
  m.kind = Kind::kLinear;
  internal::MakeLinearTables(mode, src_width, src_height, dst_width, dst_height, channels, &m.lin);
  return r;
}

void PlaneResizer::Run(const uint8_t* src, ptrdiff_t src_stride, uint8_t* dst,
                       ptrdiff_t dst_stride) {
  Impl& m = *impl_;
  switch (m.kind) {
    case Kind::kCopy:
      for (int y = 0; y < m.dh; ++y) {
        std::memcpy(dst + y * dst_stride, src + y * src_stride, static_cast<size_t>(m.dw) * m.cn);
      }
      return;
    case Kind::kNearest:
      return m.RunNearest(src, src_stride, dst, dst_stride);
    case Kind::kLinear:
      return m.RunLinear(src, src_stride, dst, dst_stride);
    case Kind::kAreaFast:
      return m.RunAreaFast(src, src_stride, dst, dst_stride);
    case Kind::kArea:
      return m.RunArea(src, src_stride, dst, dst_stride);
    case Kind::kPillow:
      return m.RunPillow(src, src_stride, dst, dst_stride);
  }
}

namespace internal {

void MakeLinearTables(ResizeMode mode, int src_width, int src_height, int dst_width, int dst_height,
                      int channels, LinearTables* t) {
  const bool area = mode == ResizeMode::kArea;
  const double inv_sx = static_cast<double>(dst_width) / src_width;
  const double inv_sy = static_cast<double>(dst_height) / src_height;
  const double sx = 1.0 / inv_sx;
  const double sy = 1.0 / inv_sy;
  *t = LinearTables();
  for (int dx = 0; dx < dst_width; ++dx) {
    int s = 0;
    float f = 0;
    LinearSample(dx, src_width, sx, inv_sx, area, s, f);
    t->ofs0.push_back(s * channels);
    t->a0.push_back(FixedWeight(1.0f - f));
    // At the right edge OpenCV reads one tap; a zero weight on the (clamped) next pixel is the
    // same.
    t->a1.push_back(s + 1 < src_width ? FixedWeight(f) : 0);
  }
  for (int dy = 0; dy < dst_height; ++dy) {
    int s = 0;
    float f = 0;
    LinearSample(dy, src_height, sy, inv_sy, area, s, f);
    t->y0.push_back(s);
    t->y1.push_back(std::min(s + 1, src_height - 1));
    t->b0.push_back(FixedWeight(1.0f - f));
    t->b1.push_back(FixedWeight(f));
  }
}

bool UsesLinearFilter(ResizeMode mode, int src_width, int src_height, int dst_width,
                      int dst_height) {
  if (src_width == dst_width && src_height == dst_height) return false;
  if (mode == ResizeMode::kBilinear) return true;
  // INTER_AREA switches to its linear filter when enlarging on either axis (same test as
  // PlaneResizer::Create).
  const double sx = 1.0 / (static_cast<double>(dst_width) / src_width);
  const double sy = 1.0 / (static_cast<double>(dst_height) / src_height);
  return mode == ResizeMode::kArea && !(sx >= 1 && sy >= 1);
}

}  // namespace internal

}  // namespace edgerun::vision
