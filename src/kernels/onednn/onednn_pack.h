// BlockedCopy: packs plain strided weights into oneDNN's blocked layouts without oneDNN's own
// reorder (implemented in onednn_pack.cc; PackConstantInput in onednn_util.cc calls it).
#pragma once

#include <oneapi/dnnl/dnnl.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace edgerun::onednn {

// A copy from a plain strided layout into a oneDNN blocked layout with one or two inner blocks on
// distinct dimensions (OIHW -> Acdb48a, a matmul's transposed B "ba" -> BA16a64b). oneDNN 2.6
// runs these weight reorders on jit:uni at about 0.8 GB/s, which was a quarter of
// MobileNetV3-small's load time; this copy gathers each inner block's line of elements at once.
// PackConstantInput uses it where it applies and oneDNN's reorder elsewhere.
//   if (auto copy = BlockedCopy::Plan(from, to)) {
//     copy->ZeroPadding(dst);
//     copy->Copy(src, dst, 0, 0, from.dims[0]);   // or a range of one dimension at a time
//   }
class BlockedCopy {
 public:
  // nullopt unless `from` is a plain strided layout and `to` a blocked one of the same dims and
  // data type (1, 2 or 4 bytes), starting at its buffer, with no extra data after it.
  static std::optional<BlockedCopy> Plan(const dnnl_memory_desc_t& from,
                                         const dnnl_memory_desc_t& to);
  // Zeroes all of `dst` when `to` pads a dimension to its block: oneDNN reads zeros there.
  void ZeroPadding(void* dst) const;
  // Copies the elements whose index along `dim` lies in [begin, end). When `dim` is the innermost
  // blocked one, `begin` must be a multiple of its block. `src` may have any alignment.
  void Copy(const void* src, void* dst, int dim, int64_t begin, int64_t end) const;

 private:
  struct Axis {
    int64_t size = 0;
    int64_t src_stride = 0;    // elements
    int64_t dst_stride = 0;    // per block index (index / block)
    int64_t block = 1;         // inner block on this axis, 1 for none
    int64_t inner_stride = 0;  // per index within the block
  };
  struct Walk;
  int ndims_ = 0;
  int line_axis_ = 0;  // the innermost inner block's axis: its block is contiguous in `to`
  size_t element_bytes_ = 0;
  size_t dst_bytes_ = 0;
  bool padded_ = false;
  Axis axes_[DNNL_MAX_NDIMS];
  int order_[DNNL_MAX_NDIMS] = {};  // the other axes, largest source stride first
};

}  // namespace edgerun::onednn
