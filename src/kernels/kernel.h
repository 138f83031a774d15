// The kernel interface and the explicit kernel table.
//
// A KernelDef implements one op type for a set of dtypes on one path (reference, XNNPACK...).
// The runtime asks each candidate, in path preference order, whether it `supports` a node; the
// first that does claims it. Lifecycle per node at session creation:
//   prepare (parse attributes into a KernelState, request scratch bytes) -> the arena is planned
//   -> invoke, any number of times, with pointers bound into the arena.
// invoke must not allocate: everything it needs comes from its state (built in prepare) or from
// the scratch buffer. The dtype key is the dtype of input 0 (or output 0 for ops with no inputs).
// Usage (inside src/kernels/ref/<family>.cc):
//   Status InvokeRelu(InvokeContext& ctx) { ... ctx.inputs[0] ... ctx.outputs[0] ... }
//   constexpr KernelDef kRefKernels[] = {
//       {"Relu", KernelPath::kReference, kFloatTypes, nullptr, nullptr, InvokeRelu}};
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "core/large_buffer.h"
#include "core/packed_weight_cache.h"
#include "edgerun/ir.h"
#include "edgerun/session.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"
#include "ops/op_def.h"

typedef struct pthreadpool* pthreadpool_t;

namespace edgerun {

// Per-node data a kernel computes once in prepare (parsed attributes, strides, packed weights).
struct KernelState {
  virtual ~KernelState() = default;
  // Bytes of heap memory this state holds (packed weights etc.), reported by inspect.
  virtual size_t persistent_bytes() const { return 0; }
  // The library's name for the code that runs the node ("jit_fp32_wino_2x3:avx512_core"), for
  // inspect and bench; empty when the kernel does not say.
  virtual std::string_view implementation() const { return {}; }
};

// Whether optional input i of a node is there (omitted ones have dtype kUndefined).
inline bool InputPresent(std::span<const TensorType> inputs, size_t i) {
  return inputs.size() > i && inputs[i].dtype != DType::kUndefined;
}

struct SupportContext {
  const Node& node;
  std::span<const TensorType> inputs;  // omitted optional inputs have dtype kUndefined
  std::span<const Tensor* const> constants;
  std::span<const TensorType> outputs;
  // As the session will prepare the node: kernels that build a plan to check support can build
  // the one prepare will use.
  int num_threads = 1;
  bool share_every_layer = false;
  // SessionOptions::winograd, for kernels that claim a conv only as Winograd (winograd_conv.h).
  bool winograd = false;
};

struct PrepareContext {
  // The node and its types as the session prepares it; every other field starts at its default
  // and is set by name.
  PrepareContext(const Node& node, std::span<const TensorType> inputs,
                 std::span<const Tensor* const> constants, std::span<const TensorType> outputs,
                 int num_threads = 1)
      : node(node),
        inputs(inputs),
        constants(constants),
        outputs(outputs),
        num_threads(num_threads) {}
  // As the session will prepare the node a support check asks about (its thread count and
  // sharing), for checks that build the plan prepare will use.
  explicit PrepareContext(const SupportContext& ctx)
      : PrepareContext(ctx.node, ctx.inputs, ctx.constants, ctx.outputs, ctx.num_threads) {
    share_every_layer = ctx.share_every_layer;
    winograd = ctx.winograd;
  }

  const Node& node;
  std::span<const TensorType> inputs;
  std::span<const Tensor* const> constants;  // per input; nullptr if not constant
  std::span<const TensorType> outputs;
  int num_threads = 1;
  // Filled by prepare:
  size_t scratch_bytes = 0;
  std::unique_ptr<KernelState> state;
  pthreadpool_t threadpool = nullptr;  // the session's pool (null with one thread)
  // Filled by prepare. Bit i set: constant input i was copied (packed) into the state and is never
  // read again, so the session may free the original once every reader has packed it.
  uint32_t packed_constant_inputs = 0;
  // The session's pool for packed weights (null: allocate on the heap). Slices outlive the state.
  WeightPool* weight_pool = nullptr;
  // SessionOptions::weight_cache_dir's file (null: none). Kernels that pack into weight_pool look
  // their packed weights up there first and add what they packed (onednn::PackConstantInput).
  PackedWeightCache* weight_cache = nullptr;
  // The session decided that every layer uses all threads (its workers spin between layers and
  // the model's layers are large enough); otherwise only layers worth waking the workers for.
  bool share_every_layer = false;
  // Bit i set: constant input i has no other reader and its buffer is private and writable, so a
  // kernel packing it may give its pages back to the OS while it packs (they then read as zeros):
  // the peak holds one copy of a large weight instead of two. A kernel that does so must set
  // constants_consumed and report the input in packed_constant_inputs; the session then does not
  // hand the node to another path if prepare fails.
  uint32_t consumable_constant_inputs = 0;
  bool constants_consumed = false;
  // SessionOptions::winograd: convolutions may use Winograd kernels (faster, small rounding
  // differences from a direct convolution).
  bool winograd = false;
  // Which implementation to build (--tune tries several): 0 is the kernel's own choice; k >= 1
  // asks a kernel backed by a library with several implementations for its k-th alternative
  // (oneDNN: the k-th implementation oneDNN lists, its reference kernels not counted). A kernel
  // without that many returns Unsupported; one without alternatives ignores the field.
  int tactic = 0;
  // Whether a oneDNN conv with a fused SiLU runs the conv without it and then a SiLU pass
  // (simd/silu.h) instead of oneDNN's swish post-op. Unset, the CPU decides
  // (onednn::SwishPostOpIsSlow); tests set it to check both ways on any CPU.
  std::optional<bool> silu_after_conv;

  Status Invalid(std::string_view msg) const {
    return InvalidModel(node.Describe() + ": " + std::string(msg));
  }
  Status NotSupported(std::string_view msg) const {
    return Unsupported(node.Describe() + ": " + std::string(msg));
  }
};

// The smallest layers (multiply-adds) worth splitting across threads. With share_every_layer
// (Session::Create decides it) the workers are still spinning when the next layer starts, so every
// layer of at least kMinMacsToShareSpinning is shared (below that the fork-join costs more than
// the split saves; at 250 K MACs MobileNetV3-small, ShuffleNet V2 and PP-OCR cls were at their
// best, and on an AMD Zen 5 1 M and 2 M were no faster on those, MobileNetV2 or EfficientNet-B0).
// Otherwise they sleep, and waking the team costs more than it saves on small layers: PP-OCR cls
// (16 M MACs) ran 5x slower on 2 threads than on 1. Then layers under kMinMacsForThreads (20 M
// MACs; 4 M still lost on MobileNetV3-small) run on the calling thread alone.
inline constexpr double kMinMacsForThreads = 20e6;
inline constexpr double kMinMacsToShareSpinning = 250e3;
// Whether a layer of `macs` multiply-adds (or as many comparable steps: a pool's window reads) is
// split across the session's threads.
inline bool WorthSharing(double macs, bool share_every_layer) {
  return macs >= (share_every_layer ? kMinMacsToShareSpinning : kMinMacsForThreads);
}
// A pool's work as WorthSharing weighs it: output elements times window elements. edgerun's max
// pool (kernels/simd/max_pool.h) and oneDNN's pool kernel both decide by it.
inline double PoolWindowSteps(std::span<const int64_t> output_dims,
                              std::span<const int64_t> window) {
  double steps = 1;
  for (int64_t d : output_dims) steps *= static_cast<double>(d);
  for (int64_t k : window) steps *= static_cast<double>(k);
  return steps;
}

// Setup runs once after the arena is bound; the views' pointers stay valid for the session's life.
struct SetupContext {
  const Node& node;
  KernelState* state = nullptr;
  std::span<const TensorView> inputs;
  std::span<TensorView> outputs;
  void* scratch = nullptr;
  size_t scratch_bytes = 0;
  pthreadpool_t threadpool = nullptr;

  template <typename S>
  S& state_as() const {
    return *static_cast<S*>(state);
  }
  Status Fail(std::string_view msg) const {
    return Internal(node.Describe() + ": " + std::string(msg));
  }
};

struct InvokeContext {
  const Node& node;
  const KernelState* state = nullptr;
  std::span<const TensorView> inputs;  // omitted optional inputs: raw == nullptr, kUndefined
  std::span<TensorView> outputs;
  void* scratch = nullptr;  // 64-byte aligned, scratch_bytes long
  size_t scratch_bytes = 0;
  pthreadpool_t threadpool = nullptr;  // may be null: run on the calling thread

  template <typename S>
  const S& state_as() const {
    return *static_cast<const S*>(state);
  }
  Status Fail(std::string_view msg) const {
    return Internal(node.Describe() + ": " + std::string(msg));
  }
};

using SupportsFn = bool (*)(const SupportContext&);
using PrepareFn = Status (*)(PrepareContext&);
using SetupFn = Status (*)(SetupContext&);
using InvokeFn = Status (*)(InvokeContext&);

struct KernelDef {
  std::string_view op_type;
  KernelPath path;
  DTypeSet dtypes;      // dtypes of input 0 this kernel handles
  SupportsFn supports;  // nullptr: every node of op_type with a listed dtype
  PrepareFn prepare;    // nullptr: no state, no scratch
  InvokeFn invoke;
  std::string_view domain = "";
  // Output 0 may share the buffer of input `in_place_input` (elementwise ops; the residual input
  // of a conv with a fused add); the runtime decides when it is legal.
  bool may_run_in_place = false;
  // Output 0 is a pure reinterpretation of input 0 (Reshape, Squeeze...): the runtime may alias
  // them, and invoke then sees equal pointers and must do nothing.
  bool output_aliases_input = false;
  SetupFn setup = nullptr;  // nullptr: nothing to bind ahead
  int in_place_input = 0;
};

// Every kernel, all paths. The runtime filters by op, dtype and path preference.
std::span<const KernelDef> AllKernels();

// Picks the kernel for a node: the first in `path_order` whose dtype set and supports() accept.
const KernelDef* SelectKernel(const SupportContext& ctx, std::span<const KernelPath> path_order);

// The kernel of each path that claims a node, in `path_order`, one at a time: a path's supports()
// runs only when the caller asks for the next candidate, as it can cost real work (oneDNN builds a
// conv's primitive descriptor, about 60 us). With `every_kernel_of_a_path` (tuning), each path
// gives every kernel that claims the node, in table order, before the next path: edgerun's own
// kernels ahead of a library's on one path (matvec, the int8 depthwise conv) are then timed
// against it. `table` is AllKernels() but in tests; it and `path_order` must outlive the object.
//   KernelCandidates claims(sctx, order);
//   const KernelDef* k = claims.Next();  // null once no further path claims the node
class KernelCandidates {
 public:
  KernelCandidates(const SupportContext& ctx, std::span<const KernelPath> path_order,
                   std::span<const KernelDef> table = AllKernels(),
                   bool every_kernel_of_a_path = false)
      : ctx_(ctx),
        path_order_(path_order),
        table_(table),
        every_kernel_of_a_path_(every_kernel_of_a_path) {}
  const KernelDef* Next();
  // Of the kernels on its path that claim the node, which one Next() last returned (0: the first,
  // the one an untuned session runs).
  int ordinal() const { return ordinal_; }

 private:
  SupportContext ctx_;  // a copy: callers may pass a temporary
  std::span<const KernelPath> path_order_;
  std::span<const KernelDef> table_;
  bool every_kernel_of_a_path_ = false;
  size_t next_path_ = 0;
  size_t next_in_table_ = 0;  // where the current path's search goes on
  int ordinal_ = -1;
};

}  // namespace edgerun
