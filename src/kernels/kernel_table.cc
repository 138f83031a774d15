// The kernel table: every path's kernel list concatenated, and kernel selection.
#include <algorithm>
#include <vector>

#include "kernels/backend.h"
#include "kernels/onednn/onednn_kernels.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/xnnpack/xnnpack_kernels.h"

namespace edgerun {
namespace {

std::string_view CanonicalDomain(std::string_view d) { return d == "ai.onnx" ? "" : d; }

const std::vector<KernelDef>& Table() {
  static const std::vector<KernelDef> table = [] {
    std::vector<KernelDef> all;
    for (auto family :
         {RefElementwiseKernels(), RefElementwiseCastKernels(), RefNnKernels(), RefTensorKernels(),
          RefTensorIndexKernels(), RefResizeKernels(), RefReduceKernels(), RefTopKKernels(),
          RefQuantizeKernels(), RefQLinearKernels(), RefNhwcKernels(), RefExpandDepthwiseKernels(),
          XnnpackKernels(), OnednnKernels()}) {
      all.insert(all.end(), family.begin(), family.end());
    }
    return all;
  }();
  return table;
}

const std::vector<BackendDef>& Backends() {
  static const std::vector<BackendDef> backends = {OnednnBackend(), XnnpackBackend(), RefBackend()};
  return backends;
}

}  // namespace

std::span<const BackendDef> AllBackends() { return Backends(); }

const BackendDef* FindBackend(KernelPath path) {
  for (const BackendDef& b : Backends()) {
    if (b.path == path) return &b;
  }
  return nullptr;
}

std::vector<KernelPath> DefaultPathOrder() {
#if defined(__x86_64__) || defined(_M_X64)
  const KernelPath preference[] = {KernelPath::kOnednn, KernelPath::kXnnpack};
#else
  const KernelPath preference[] = {KernelPath::kXnnpack, KernelPath::kOnednn};
#endif
  std::vector<KernelPath> order;
  for (KernelPath p : preference) {
    const BackendDef* b = FindBackend(p);
    if (b != nullptr && b->available()) order.push_back(p);
  }
  order.push_back(KernelPath::kReference);
  return order;
}

namespace {

void MoveToFront(KernelPath path, std::vector<KernelPath>& order) {
  auto it = std::find(order.begin(), order.end(), path);
  if (it != order.end()) std::rotate(order.begin(), it, it + 1);
}

// A 1x1, ungrouped Conv (a pointwise layer or a squeeze-excitation FC).
bool IsPointwiseConv(const SupportContext& ctx) {
  if (ctx.node.op_type != "Conv" || ctx.inputs.size() < 2) return false;
  const std::vector<int64_t>& w = ctx.inputs[1].dims;
  Expected<int64_t> group = ctx.node.GetInt("group", 1);
  return w.size() == 4 && w[2] == 1 && w[3] == 1 && group.ok() && *group == 1;
}

}  // namespace

void ApplyNodePreference(const SupportContext& ctx, int64_t macs, std::vector<KernelPath>& order) {
#if defined(__x86_64__) || defined(_M_X64)
  // oneDNN 2.6 runs strided deconvolution as backward-data convolution: 112 ms for PP-OCR det's
  // 24-channel 2x2/2 ConvTranspose at 160x160 against 3 ms with XNNPACK (AVX-512, 1 thread).
  if (ctx.node.op_type == "ConvTranspose") MoveToFront(KernelPath::kXnnpack, order);
  // oneDNN generates code for each conv shape: about 0.2 ms per 1x1 conv plus 0.1 ms for its
  // weight reorder, more than thousands of runs of a layer this small take. XNNPACK's prebuilt
  // microkernels run them as fast: PP-OCR cls (41 such convs) loads in 33 ms instead of 55 and
  // runs in 0.29 ms instead of 0.31 (1 thread, AVX-512).
  if (macs > 0 && macs < kMaxMacsForPrebuiltKernels && IsPointwiseConv(ctx)) {
    MoveToFront(KernelPath::kXnnpack, order);
  }
#else
  (void)ctx;
  (void)macs;
  (void)order;
#endif
}

std::span<const KernelDef> AllKernels() { return Table(); }

namespace {

// The first kernel in `table` from index *from on `path` that accepts the node, if any; *from
// then points past it.
const KernelDef* FindKernel(std::span<const KernelDef> table, const SupportContext& ctx,
                            KernelPath path, size_t* from) {
  const DType key = !ctx.inputs.empty() && ctx.inputs[0].dtype != DType::kUndefined
                        ? ctx.inputs[0].dtype
                        : (!ctx.outputs.empty() ? ctx.outputs[0].dtype : DType::kUndefined);
  const std::string_view domain = CanonicalDomain(ctx.node.domain);
  for (; *from < table.size(); ++*from) {
    const KernelDef& k = table[*from];
    if (k.path != path || k.op_type != ctx.node.op_type || k.domain != domain) continue;
    if (!k.dtypes.contains(key)) continue;
    if (k.supports != nullptr && !k.supports(ctx)) continue;
    ++*from;
    return &k;
  }
  return nullptr;
}

}  // namespace

const KernelDef* SelectKernel(const SupportContext& ctx, std::span<const KernelPath> path_order) {
  return KernelCandidates(ctx, path_order).Next();
}

const KernelDef* KernelCandidates::Next() {
  while (next_path_ < path_order_.size()) {
    if (next_in_table_ == 0) ordinal_ = -1;  // a path's search begins
    const KernelDef* k = FindKernel(table_, ctx_, path_order_[next_path_], &next_in_table_);
    if (k != nullptr) {
      ++ordinal_;
      if (!every_kernel_of_a_path_) {
        ++next_path_;
        next_in_table_ = 0;
      }
      return k;
    }
    ++next_path_;
    next_in_table_ = 0;
  }
  return nullptr;
}

}  // namespace edgerun
