// RunGraphPasses: the pass pipeline.
#include <string>
#include <vector>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgerun {

Status RunGraphPasses(Graph& graph, std::vector<std::string>* log) {
  using PassFn = Status (*)(Graph&, std::vector<std::string>*);
  // Cleanup first so patterns see through Identity/Dropout; SiLU/GELU and MatMul+bias fusion
  // before activation fusion, since they create the producers and activations it merges
  // (Conv -> Sigmoid -> Mul becomes Conv -> SiLU, then Conv with activation SiLU).
  // FoldQdq right after cleanup, before FuseActivations can hide a Relu between op and Q
  // (it also takes over an activation already fused). DistributeConcat after the folds into
  // convs (a BatchNormalization after a split conv would no longer fold) and before
  // FuseActivations (it splits only convs without an activation).
  static constexpr PassFn kPipeline[] = {
      EliminateIdentity,   EliminateDeadNodes,    FoldQdq,          FoldMulIntoConv,
      FoldAddIntoConvBias, FoldBatchNormIntoConv, FoldPadIntoConv,  FuseSiLU,
      FuseMatMulBias,      FuseChannelShuffle,    DistributeConcat, FuseActivations};
  // Every change removes at least one node, so this terminates; the cap is a safety net.
  RETURN_IF_ERROR(OrderCommutativeOperands(graph, log));
  constexpr int kMaxRounds = 16;
  for (int round = 0; round < kMaxRounds; ++round) {
    std::vector<std::string> changes;
    for (PassFn pass : kPipeline) RETURN_IF_ERROR(pass(graph, &changes));
    if (log != nullptr) log->insert(log->end(), changes.begin(), changes.end());
    if (changes.empty()) break;
  }
  return ValidateGraph(graph).WithPrefix("after graph passes");
}

}  // namespace edgerun

namespace edgerun {

Status RunLayoutPasses(Graph& graph, std::vector<std::string>* log, LayoutPassOptions options) {
  RETURN_IF_ERROR(ConvertToNhwc(graph, log));
  RETURN_IF_ERROR(FuseConcatIntoChannelShuffle(graph, log));
  RETURN_IF_ERROR(FuseSlicesIntoChannelShuffle(graph, log));
  for (int round = 0; round < 4; ++round) {
    std::vector<std::string> changes;
    RETURN_IF_ERROR(FuseConvResidual(graph, &changes));
    RETURN_IF_ERROR(FuseQLinearResidual(graph, &changes));
    RETURN_IF_ERROR(FuseActivations(graph, &changes));
    RETURN_IF_ERROR(EliminateIdentity(graph, &changes));
    if (log != nullptr) log->insert(log->end(), changes.begin(), changes.end());
    if (changes.empty()) break;
  }
  // After the loop: both convs carry their activations by then.
  if (options.fuse_expand_depthwise) {
    RETURN_IF_ERROR(FuseExpandDepthwise(graph, log, options.num_threads,
                                        options.min_expanded_bytes_per_thread));
  }
  return ValidateGraph(graph).WithPrefix("after the layout passes");
}

}  // namespace edgerun
