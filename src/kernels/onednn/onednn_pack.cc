// BlockedCopy (see onednn_util.h): plain strided weights into oneDNN's blocked layouts.
//
// In a blocked layout element i sits at sum_d (i_d / block_d) * stride_d plus its offset inside
// the inner blocks. The innermost block's axis (the "line" axis) is contiguous there, so the copy
// walks lines: for each position of the other axes, up to one block of elements along the line
// axis, read with the source's stride along it. The line axis's blocks are the outer loop and the
// other axes follow largest source stride first, so consecutive lines read neighbouring source
// elements and the block's source cache lines stay in L1 across them. Where 16 lines read 16
// contiguous 4-byte source elements each (a Gemm's transposed weights, a 1x1 conv's), AVX-512
// transposes them 16x16 in registers.
#include <oneapi/dnnl/dnnl.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>

#include "core/cpu_features.h"
#include "core/unaligned.h"
#include "kernels/onednn/onednn_pack.h"

namespace edgerun::onednn {
namespace {

#if defined(__x86_64__)
// 16 source rows of 16 contiguous 4-byte elements each (row i at src + i * row_stride elements,
// any alignment) written as 16 destination lines, line t getting element t of every row (16
// consecutive elements at lines[t] + offset): a 16x16 transpose in registers. The scalar tile loop
// moved a Gemm's transposed weights (into BA16a64b) at about 3 GB/s.
__attribute__((target("avx512f"))) void Transpose16x16(const std::byte* src, int64_t row_stride,
                                                       uint32_t* const* lines, int64_t offset) {
  __m512 r[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * row_stride * 4);
  // Per 128-bit lane L, u[4g + j] holds rows 4g..4g+3 of column 4L + j.
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {
    const __m512 t0 = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]);
    const __m512 t1 = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    const __m512 t2 = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
    const __m512 t3 = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
    const __m512d d0 = _mm512_castps_pd(t0), d1 = _mm512_castps_pd(t1);
    const __m512d d2 = _mm512_castps_pd(t2), d3 = _mm512_castps_pd(t3);
    u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(d0, d2));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(d0, d2));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(d1, d3));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(d1, d3));
  }
  // Column 4L + j: lane L of u[j], u[4 + j], u[8 + j], u[12 + j] (a 4x4 transpose of lanes).
  for (int j = 0; j < 4; ++j) {
    const __m512 a = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44);
    const __m512 b = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xEE);
    const __m512 c = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
    const __m512 d = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xEE);
    _mm512_storeu_ps(lines[j] + offset, _mm512_shuffle_f32x4(a, c, 0x88));
    _mm512_storeu_ps(lines[4 + j] + offset, _mm512_shuffle_f32x4(a, c, 0xDD));
    _mm512_storeu_ps(lines[8 + j] + offset, _mm512_shuffle_f32x4(b, d, 0x88));
    _mm512_storeu_ps(lines[12 + j] + offset, _mm512_shuffle_f32x4(b, d, 0xDD));
  }
}
#endif

// The source may sit at any alignment (weights still in the mapped model file), so it is walked
// as bytes (ElementAt) and read with LoadAnyAlignment (core/unaligned.h).

// Element i of type T after p, as bytes.
template <typename T>
const std::byte* ElementAt(const std::byte* p, int64_t i) {
  return p + i * static_cast<int64_t>(sizeof(T));
}

}  // namespace

struct BlockedCopy::Walk {
  static constexpr int64_t kTile = 16;
  const BlockedCopy& plan;
  int range_axis;
  int64_t begin, end;

  template <typename T>
  void Lines(int level, const std::byte* src, T* dst, int64_t count) const {
    const int others = plan.ndims_ - 1;
    if (level == others) {
      const int64_t stride = plan.axes_[plan.line_axis_].src_stride;
      if (stride == 1) {
        std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(T));
      } else {
        for (int64_t b = 0; b < count; ++b) dst[b] = LoadAnyAlignment<T>(src, b * stride);
      }
      return;
    }
    const int axis = plan.order_[level];
    const Axis& a = plan.axes_[axis];
    const int64_t lo = axis == range_axis ? begin : 0;
    const int64_t hi = axis == range_axis ? std::min(end, a.size) : a.size;
    const int64_t line_stride = plan.axes_[plan.line_axis_].src_stride;
    if (level == others - 1 && line_stride != 1) {
      // A tile of lines at once: each source cache line is read whole, and the tile's lines
      // stay in L1 while they fill, whatever the line stride (4 KiB strides alias in L1).
      T* lines[kTile];
      for (int64_t first = lo; first < hi; first += kTile) {
        const int64_t n = std::min<int64_t>(kTile, hi - first);
        for (int64_t t = 0; t < n; ++t) {
          const int64_t i = first + t;
          lines[t] = dst + i / a.block * a.dst_stride + i % a.block * a.inner_stride;
        }
        const std::byte* tile = ElementAt<T>(src, first * a.src_stride);
        int64_t b = 0;
#if defined(__x86_64__)
        // A full tile whose elements are contiguous in the source: 16 lines at a time.
        if constexpr (sizeof(T) == 4) {
          if (n == kTile && a.src_stride == 1 && CpuHasAvx512()) {
            for (; b + kTile <= count; b += kTile) {
              Transpose16x16(ElementAt<T>(tile, b * line_stride), line_stride,
                             reinterpret_cast<uint32_t* const*>(lines), b);
            }
          }
        }
#endif
        for (; b < count; ++b) {
          const std::byte* from = ElementAt<T>(tile, b * line_stride);
          for (int64_t t = 0; t < n; ++t) lines[t][b] = LoadAnyAlignment<T>(from, t * a.src_stride);
        }
      }
      return;
    }
    for (int64_t i = lo; i < hi; ++i) {
      Lines(level + 1, ElementAt<T>(src, i * a.src_stride),
            dst + i / a.block * a.dst_stride + i % a.block * a.inner_stride, count);
    }
  }

  template <typename T>
  void Run(const void* src_bytes, void* dst_bytes) const {
    const auto* src = static_cast<const std::byte*>(src_bytes);
    T* dst = static_cast<T*>(dst_bytes);
    const Axis& line = plan.axes_[plan.line_axis_];
    const int64_t lo = plan.line_axis_ == range_axis ? begin : 0;
    const int64_t hi = plan.line_axis_ == range_axis ? std::min(end, line.size) : line.size;
    for (int64_t first = lo; first < hi; first += line.block) {
      Lines(0, ElementAt<T>(src, first * line.src_stride),
            dst + first / line.block * line.dst_stride, std::min(line.block, hi - first));
    }
  }
};

std::optional<BlockedCopy> BlockedCopy::Plan(const dnnl_memory_desc_t& from,
                                             const dnnl_memory_desc_t& to) {
  const int n = from.ndims;
  if (from.format_kind != dnnl_blocked || to.format_kind != dnnl_blocked || to.ndims != n ||
      n < 1 || n > DNNL_MAX_NDIMS || from.data_type != to.data_type) {
    return std::nullopt;
  }
  const size_t element = dnnl_data_type_size(from.data_type);
  if (element != 1 && element != 2 && element != 4) return std::nullopt;
  const dnnl_blocking_desc_t& fb = from.format_desc.blocking;
  const dnnl_blocking_desc_t& tb = to.format_desc.blocking;
  if (fb.inner_nblks != 0 || from.offset0 != 0 || from.extra.flags != 0 || to.offset0 != 0 ||
      to.extra.flags != 0 || tb.inner_nblks < 1 || tb.inner_nblks > 2 ||
      (tb.inner_nblks == 2 && tb.inner_idxs[0] == tb.inner_idxs[1])) {
    return std::nullopt;
  }
  BlockedCopy c;
  c.ndims_ = n;
  c.element_bytes_ = element;
  c.line_axis_ = static_cast<int>(tb.inner_idxs[tb.inner_nblks - 1]);
  for (int d = 0; d < n; ++d) {
    if (from.dims[d] <= 0 || to.dims[d] != from.dims[d] || from.padded_dims[d] != from.dims[d] ||
        from.padded_offsets[d] != 0 || to.padded_offsets[d] != 0 || fb.strides[d] < 0) {
      return std::nullopt;
    }
    Axis& a = c.axes_[d];
    a.size = from.dims[d];
    a.src_stride = fb.strides[d];
    a.dst_stride = tb.strides[d];
    c.padded_ = c.padded_ || to.padded_dims[d] != to.dims[d];
  }
  // Inner block k of the layout: offset (i % block_k) times the product of the blocks after it.
  int64_t inner_stride = 1;
  for (int k = tb.inner_nblks - 1; k >= 0; --k) {
    Axis& a = c.axes_[tb.inner_idxs[k]];
    a.block = tb.inner_blks[k];
    a.inner_stride = inner_stride;
    inner_stride *= tb.inner_blks[k];
    if (a.block <= 0) return std::nullopt;
  }
  int* end = c.order_;
  for (int d = 0; d < n; ++d) {
    if (d != c.line_axis_) *end++ = d;
  }
  // Axes of size 1 go outermost, where they cost nothing (a 1x1 conv's H and W).
  std::stable_sort(std::begin(c.order_), end, [&](int x, int y) {
    const Axis& ax = c.axes_[x];
    const Axis& ay = c.axes_[y];
    if ((ax.size == 1) != (ay.size == 1)) return ax.size == 1;
    return ax.src_stride > ay.src_stride;
  });
  c.dst_bytes_ = dnnl_memory_desc_get_size(&to);
  return c;
}

void BlockedCopy::ZeroPadding(void* dst) const {
  if (padded_) std::memset(dst, 0, dst_bytes_);
}

void BlockedCopy::Copy(const void* src, void* dst, int dim, int64_t begin, int64_t end) const {
  const Walk walk{*this, dim, begin, end};
  switch (element_bytes_) {
    case 1:
      return walk.Run<uint8_t>(src, dst);
    case 2:
      return walk.Run<uint16_t>(src, dst);
    default:
      return walk.Run<uint32_t>(src, dst);
  }
}

}  // namespace edgerun::onednn
