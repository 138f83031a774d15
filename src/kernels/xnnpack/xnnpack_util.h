// Shared pieces of the XNNPACK kernels: library initialization with a counting allocator, a
// kernel state that owns XNNPACK operators, fused activations run as extra operators, and the
// 2-D window geometry XNNPACK expects (explicit top/left/bottom/right pads).
//
// Every XNNPACK kernel creates its operators in prepare (XNNPACK packs constant weights then),
// binds arena pointers with xnn_setup_* in setup and only calls xnn_run_operator in invoke.
// The allocator counts the heap bytes each state holds (packed weights, indirection buffers).
// Usage (inside a kernel file):
//   auto s = std::make_unique<MyState>();      // MyState : XnnState
//   HeapMeter meter;
//   xnn_status st = xnn_create_..._f32(..., &op);
//   ASSIGN_OR_RETURN(s->main_op, s->Adopt(ctx, st, op, "convolution"));
//   s->heap_bytes = meter.bytes();
//   {"Conv", KernelPath::kXnnpack, kF32, Supports, Prepare, InvokeXnnOps, kNhwc, ..., Setup}
#pragma once

#include <xnnpack.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

// The XNNPACK kernel families; XnnpackKernels() concatenates them.
std::span<const KernelDef> XnnpackConvKernels();         // xnnpack_conv.cc
std::span<const KernelDef> XnnpackPoolKernels();         // xnnpack_pool.cc
std::span<const KernelDef> XnnpackMatMulKernels();       // xnnpack_matmul.cc
std::span<const KernelDef> XnnpackElementwiseKernels();  // xnnpack_elementwise.cc
std::span<const KernelDef> XnnpackTensorKernels();       // xnnpack_tensor.cc
std::span<const KernelDef> XnnpackQConvKernels();        // xnnpack_qconv.cc

// Initializes XNNPACK once (with the counting allocator); false when the CPU is unsupported.
// Defined in xnnpack_backend.cc.
bool XnnpackInitialized();

// Net bytes XNNPACK allocated minus freed on the calling thread since it started; differences
// around create/setup calls give the heap a kernel state holds.
int64_t XnnpackThreadHeapBytes();

// Measures the net XNNPACK heap growth on this thread from construction to bytes().
class HeapMeter {
 public:
  HeapMeter() : start_(XnnpackThreadHeapBytes()) {}
  size_t bytes() const {
    const int64_t d = XnnpackThreadHeapBytes() - start_;
    return d > 0 ? static_cast<size_t>(d) : 0;
  }

 private:
  int64_t start_;
};

inline constexpr float kNoMin = -std::numeric_limits<float>::infinity();
inline constexpr float kNoMax = std::numeric_limits<float>::infinity();

// "invalid parameter", "unsupported hardware"...
std::string_view XnnStatusName(xnn_status status);

// A kernel state owning XNNPACK operators, run in order by InvokeXnnOps. Kernels derive from it
// to keep what setup needs (shapes, which operator is which).
struct XnnState : KernelState {
  XnnState() = default;
  XnnState(const XnnState&) = delete;
  XnnState& operator=(const XnnState&) = delete;
  ~XnnState() override;
  size_t persistent_bytes() const override { return heap_bytes; }

  // Takes ownership of `op` when `status` is success; otherwise an error naming the node and
  // what failed to be created. Returns the operator's index.
  Expected<int> Adopt(const PrepareContext& ctx, xnn_status status, xnn_operator_t op,
                      std::string_view what);

  std::vector<xnn_operator_t> ops;  // reserved in prepare; invoke only reads it
  size_t heap_bytes = 0;            // packed weights and buffers XNNPACK holds for this node
};

// An error for a failed xnn_setup_* call, naming the node.
Status SetupFailed(const SetupContext& ctx, xnn_status status, std::string_view what);

// Runs every operator of the XnnState in order on the session's pool. Does not allocate.
Status InvokeXnnOps(InvokeContext& ctx);

// ---- Fused activations ----

// True when the activation fused into `node` (attributes "activation"/"activation_params") can
// run exactly with XNNPACK: none, Relu, Clip (min < max), LeakyRelu, HardSigmoid, HardSwish,
// Sigmoid, SiLU, each optionally followed by a finite affine ("activation_affine"). Tanh has no
// XNNPACK operator in this version.
bool XnnActivationSupported(const Node& node);

// A fused activation after a producing operator. Relu and Clip become the producer's
// output_min/output_max; the others run as extra operators in place on the output (SiLU puts
// the sigmoid in scratch, then multiplies). A fused affine runs last, as a multiply and an add.
struct XnnActivation {
  FusedActivation act;
  float output_min = kNoMin, output_max = kNoMax;  // for the producer (or the residual add)
  int first_op = -1;                               // index of the first activation operator
  int affine_op = -1;                              // the affine's multiply; its add follows
  // HardSigmoid's alpha and beta (and act.scale/act.shift) as the second operands of a multiply
  // and an add. The operators keep pointers to them, so this struct must not move after setup
  // (it lives in the state).
  float alpha = 0, beta = 0;

  // The extra operators need num_elements floats of scratch (SiLU keeps its sigmoid there).
  bool needs_scratch() const { return act.kind == FusedActivation::Kind::kSiLU; }
};

// Parses the node's activation into `a` (sets output_min/output_max for the producer).
Status ParseActivation(const PrepareContext& ctx, XnnActivation& a);
// Creates the extra operators in `s`; call after creating the producer, so they run after it.
Status CreateActivationOps(const PrepareContext& ctx, XnnState& s, XnnActivation& a);
// Binds the extra operators to `data` (num_elements floats, overwritten in place); `scratch`
// holds num_elements floats when needs_scratch().
Status SetupActivation(const SetupContext& ctx, XnnState& s, const XnnActivation& a, float* data,
                       size_t num_elements, float* scratch);

// ---- Window geometry (2-D, NHWC) ----

// Explicit pads of a 2-D window (XNNPACK's order of arguments differs per call; name them).
struct Pads2d {
  uint32_t top = 0, left = 0, bottom = 0, right = 0;
  bool any() const { return (top | left | bottom | right) != 0; }
};

struct Window2d {
  uint32_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  Pads2d pads;
};

// An NHWC pool's window (ResolveNhwcPoolWindow, kernels/ref/conv.h) with the trailing pads
// recomputed so that XNNPACK's floor((in + pads - span) / stride) + 1 gives the inferred output
// extent exactly (ceil_mode windows get extra trailing pad). False when a value is out of range,
// the window is not 2-D or no non-negative trailing pad produces the output extent.
bool ResolvePoolWindow2d(const PrepareContext& ctx, Window2d* w);

// A 2-D NHWC conv's shapes (ReadNhwcConvShape, weights at input `weight_input`) and its window in
// XNNPACK's form, trailing pads recomputed as above.
struct XnnConvShape : NhwcConvShape {
  Window2d xnn_window;
};
// False when XNNPACK cannot express the conv (sizes beyond 32 bits, the window as above).
bool ResolveXnnConvShape(const PrepareContext& ctx, int weight_input, XnnConvShape* shape);

// Helpers for supports(): shapes and constants.
inline bool IsF32(const TensorType& t) { return t.dtype == DType::kF32; }
inline bool Present(const TensorType& t) { return t.dtype != DType::kUndefined; }
// Fits a uint32_t and is positive.
inline bool FitsU32(int64_t v) { return v > 0 && v <= int64_t{0xffffffff}; }

}  // namespace edgerun
