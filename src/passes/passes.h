// Graph passes: simplifications and fusions over the IR, run at session creation after shape
// inference and constant folding (every value has a dtype and a static shape).
//
// Each pass scans the node list for its pattern, rewrites matches in place (the fused node takes
// the slot of a node it replaces, so the order stays topological), then drops removed nodes and
// unreferenced values. Graph output names are always preserved. Fused ops use kEdgerunDomain and
// fused activations are the node attributes "activation" + "activation_params" (see
// FusedActivation in kernels/ref/ref_util.h).
// Usage:
//   std::vector<std::string> log;
//   RETURN_IF_ERROR(RunGraphPasses(graph, &log));   // "fused Relu 'r1' into Conv 'c1'", ...
//   std::cout << DumpGraph(graph);                  // passes/graph_dump.h
#pragma once

#include <string>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/status.h"

namespace edgerun {

// Runs every pass below in a sensible order until nothing changes; appends one line per change
// ("fused BatchNormalization 'bn1' into Conv 'conv1'") to `log` when non-null.
Status RunGraphPasses(Graph& graph, std::vector<std::string>* log);

// Removes nodes that forward their input unchanged: Identity, Dropout (mask unused, not
// training), Cast to the same dtype, Reshape/Flatten/Squeeze/Unsqueeze/Expand/Tile that keep the
// shape, Transpose that only moves size-1 axes, single-input Concat, and x+0, x-0, x*1, x/1
// with constant zeros/ones that do not broadcast x.
Status EliminateIdentity(Graph& g, std::vector<std::string>* log);

// Removes nodes whose outputs reach no graph output, and drops unused trailing optional outputs
// (Dropout mask, MaxPool indices...) of the remaining nodes.
Status EliminateDeadNodes(Graph& g, std::vector<std::string>* log);

// Conv/ConvTranspose (constant f32 W, optional constant B) -> BatchNormalization (constant
// params, inference) => the convolution with W' = W * s, B' = (B - mean) * s + beta,
// s = gamma / sqrt(var + eps) per output channel.
Status FoldBatchNormIntoConv(Graph& g, std::vector<std::string>* log);

// A 4-D f32 Concat along channels whose output only a MaxPool/AveragePool or a 1x1 group-1 Conv
// (constant weights no larger than the Concat's output, no activation yet) reads =>
// Concat(Pool(a), Pool(b), ...), or
// Add(Conv(a, W[:, :Ca], B), Conv(b, W[:, Ca:]), ...): the concatenated tensor is never written,
// and FuseConvResidual later folds the Adds into the convs (passes/distribute_concat.cc).
Status DistributeConcat(Graph& g, std::vector<std::string>* log);

// Conv/ConvTranspose/Gemm/FusedMatMul followed by Relu, Clip (constant bounds), LeakyRelu,
// HardSigmoid, HardSwish, Sigmoid, Tanh or SiLU => "activation"/"activation_params" attributes
// on the producer, when the producer's output feeds only the activation and is not a graph
// output, and the producer has no activation yet (or has a Relu/Clip that composes with a
// following Relu/Clip into one clamp, e.g. Relu -> Clip(0, 6) => Clip(0, 6)). A Mul, Add or Sub
// by a scalar f32 constant after such a producer => "activation_affine" = [scale, shift],
// applied after the activation (PP-LCNet's learnable affine blocks); no activation fuses after it.
Status FuseActivations(Graph& g, std::vector<std::string>* log);

// x * Sigmoid(x) => com.edgerun SiLU; x * HardSigmoid(x; 1/6, 1/2) => HardSwish; the erf form
// 0.5 * x * (1 + Erf(x / sqrt 2)) and the tanh form 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x +
// 0.044715 x^3))) of GELU, in any association of the products, => com.edgerun Gelu.
Status FuseSiLU(Graph& g, std::vector<std::string>* log);

// MatMul(A, constant B) -> Add(constant bias along the last dim) => com.edgerun
// FusedMatMul(A, B, bias), or Gemm(A, B, bias) when A and B are both 2-D.
Status FuseMatMulBias(Graph& g, std::vector<std::string>* log);

// Conv/ConvTranspose (no activation) -> Add(constant broadcasting along channels only) => the
// constant added to the convolution's bias (exporters often emit the bias as a separate Add).
Status FoldAddIntoConvBias(Graph& g, std::vector<std::string>* log);

// Reshape(x, [.., g, C/g, ..]) -> Transpose(swapping those two axes) -> Reshape(back to x's
// shape) => com.edgerun ChannelShuffle(x; group=g, axis) (ShuffleNet). One op instead of three,
// and the layout pass can run it NHWC instead of converting around it.
Status FuseChannelShuffle(Graph& g, std::vector<std::string>* log);

// Concat(a, b, ..; axis) read only by ChannelShuffle(axis) => ChannelShuffle(a, b, ..), which
// concatenates its inputs itself: ShuffleNet V2's units then write their output once instead of
// twice. Run after ConvertToNhwc, where both are on the channel axis.
Status FuseConcatIntoChannelShuffle(Graph& g, std::vector<std::string>* log);

// ChannelShuffle whose output is read only by Slices (constant starts, ends and axes on the
// shuffle's axis, step 1) that cut it into equal consecutive parts => the ChannelShuffle with
// those parts as its outputs (ShuffleNet V2 splits each unit's input in two halves).
Status FuseSlicesIntoChannelShuffle(Graph& g, std::vector<std::string>* log);

// Conv/ConvTranspose (no fused activation) followed by Mul with a per-channel or scalar constant:
// the weights and bias are scaled (ORT's ConvMulFusion). PP-LCNet's learnable affine blocks
// are a Mul and an Add after each conv.
Status FoldMulIntoConv(Graph& g, std::vector<std::string>* log);

// Pad (constant mode, zero value, constant pads on the spatial axes only) -> Conv => the Conv
// with the pads added to its own (the Conv kernels pad for free).
Status FoldPadIntoConv(Graph& g, std::vector<std::string>* log);

// Puts the full-size operand of Add and Mul first when the other broadcasts into it, so that the
// output may reuse its buffer (elementwise kernels run in place on input 0). Runs once, before
// the other passes: a swap removes no node.
Status OrderCommutativeOperands(Graph& g, std::vector<std::string>* log);

// QDQ int8 patterns (constant scales and zero points) => int8 ops: DequantizeLinear (DQ) ->
// Conv(DQ(int8 W), bias) [-> Relu/Clip] -> QuantizeLinear (Q) => QLinearConv; DQ -> MatMul(DQ(B))
// -> Q => QLinearMatMul; DQ, DQ -> Add [-> Relu/Clip] -> Q => com.edgerun QLinearAdd; DQ ->
// GlobalAveragePool -> Q => com.edgerun QLinearGlobalAveragePool; DQ -> MaxPool -> Q with equal
// parameters => MaxPool on the int8 tensor; Q(DQ(x)) with equal parameters => x. DQ/Q nodes left
// dead are removed. Needs the DQ of constant weights unfolded (FoldMode::kKeepDequantize).
Status FoldQdq(Graph& g, std::vector<std::string>* log);

// Channels-last layout for fast kernels: Conv, ConvTranspose, QLinearConv and the pools become
// their kNhwcDomain versions; elementwise ops, Concat, Resize, Pad, Slice, Split and Softmax
// follow NHWC inputs; Transposes (or free Reshapes) appear only where a consumer needs the
// model's layout, including before graph outputs. Run once, after RunGraphPasses.
Status ConvertToNhwc(Graph& g, std::vector<std::string>* log);

// NHWC Conv (no activation yet) -> Add(conv output, z) with z of the same shape => the Conv with
// z as its residual input 3, so backends add it in the conv's epilogue (oneDNN's sum post-op).
// FuseActivations then merges a following Relu: y = act(conv(x) + b + z).
Status FuseConvResidual(Graph& g, std::vector<std::string>* log);

// NHWC QLinearConv (no activation) -> com.edgerun QLinearAdd(conv output, z) with z of the same
// shape => com.edgerun.nhwc QLinearConvAdd: the add runs in the conv's epilogue (oneDNN's sum
// post-op); within one output step of the two nodes (passes/fuse_qlinear_residual.cc).
Status FuseQLinearResidual(Graph& g, std::vector<std::string>* log);

// NHWC 1x1 Conv (the expansion) whose output only a depthwise NHWC Conv (3x3 or 5x5, stride 1 or
// 2) reads, and whose share per thread is over `min_bytes_per_thread` bytes => com.edgerun.nhwc
// ExpandDepthwiseConv, which oneDNN's kernel runs on bands of rows that stay in cache. Activations
// Relu, Clip and SiLU on either part move along.
Status FuseExpandDepthwise(Graph& g, std::vector<std::string>* log, int num_threads,
                           size_t min_bytes_per_thread);

struct LayoutPassOptions {
  // FuseExpandDepthwise: only oneDNN has a fast kernel for the fused node, so the session asks
  // for it when oneDNN is its first path. It pays where each thread's share of the expanded
  // tensor would not stay in its core's L2 cache between the two layers; the session sets the
  // threshold to half the L2 (the layers' inputs and outputs need the rest). MobileNetV2 on the
  // Intel Xeon (2 MiB L2), 1 thread: 4.8 MB pair 0.64 -> 0.44 ms, 1.8 MB pairs 0.31 -> 0.30 and
  // 0.23 -> 0.20; on 2 threads the 1.8 MB pairs, 0.9 MB per core, ran slower fused.
  bool fuse_expand_depthwise = false;
  int num_threads = 1;
  size_t min_expanded_bytes_per_thread = size_t{1} << 20;
};

// The passes that need fast kernels: ConvertToNhwc, then FuseConvResidual and FuseActivations
// until nothing changes, then FuseExpandDepthwise when asked.
Status RunLayoutPasses(Graph& graph, std::vector<std::string>* log, LayoutPassOptions options = {});

}  // namespace edgerun
