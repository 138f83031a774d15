// The op table: the families concatenated into one sorted array, built on first use.
#include <algorithm>
#include <vector>

#include "ops/op_families.h"

namespace edgerun {
namespace {

std::string_view CanonicalDomain(std::string_view d) { return d == "ai.onnx" ? "" : d; }

struct OpTable {
  std::vector<OpDef> defs;
  OpTable() {
    for (auto family : {ElementwiseOpDefs(), NnOpDefs(), TensorOpDefs(), ReduceOpDefs(),
                        QLinearOpDefs(), NhwcOpDefs()}) {
      defs.insert(defs.end(), family.begin(), family.end());
    }
    std::sort(defs.begin(), defs.end(), [](const OpDef& a, const OpDef& b) {
      return std::tie(a.domain, a.op_type) < std::tie(b.domain, b.op_type);
    });
  }
};

const OpTable& Table() {
  static const OpTable table;  // built on first call, not at static-initialization time
  return table;
}

}  // namespace

std::span<const OpDef> AllOpDefs() { return Table().defs; }

const OpDef* FindOpDef(std::string_view domain, std::string_view op_type) {
  const auto& defs = Table().defs;
  domain = CanonicalDomain(domain);
  auto it = std::lower_bound(defs.begin(), defs.end(), std::pair(domain, op_type),
                             [](const OpDef& d, const std::pair<std::string_view, std::string_view>& k) {
                               return std::tie(d.domain, d.op_type) < std::tie(k.first, k.second);
                             });
  if (it == defs.end() || it->domain != domain || it->op_type != op_type) return nullptr;
  return &*it;
}

Expected<std::vector<int64_t>> BroadcastDims(const InferContext& ctx, std::span<const int64_t> a,
                                             std::span<const int64_t> b) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return ctx.Invalid("cannot broadcast shapes " + DimsToString(a) + " and " + DimsToString(b));
    }
  }
  return out;
}

Expected<DType> DTypeFromOnnxCode(const InferContext& ctx, int64_t code) {
  switch (code) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kI8;
    case 4: return DType::kU16;
    case 5: return DType::kI16;
    case 6: return DType::kI32;
    case 7: return DType::kI64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 11: return DType::kF64;
    case 12: return DType::kU32;
    case 13: return DType::kU64;
    case 16: return DType::kBF16;
    case 8: return ctx.NotSupported("string tensors are not supported");
    default:
      return ctx.NotSupported("ONNX element type " + std::to_string(code) + " is not supported");
  }
}

Expected<int> NormalizeAxis(const InferContext& ctx, int64_t axis, int rank) {
  if (axis < -rank || axis >= std::max(rank, 1)) {
    return ctx.Invalid("axis " + std::to_string(axis) + " is out of range for rank " +
                       std::to_string(rank));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace edgerun
