// Einsum equation parsing (shared by Einsum shape inference and the reference kernel).
//
// An equation such as "bij,bjk->bik" or "...ij->...ji" is resolved against the operand shapes
// into a flat list of labels with sizes: every operand axis and output axis names one label.
// Ellipsis dims become extra labels, right-aligned across operands (numpy broadcasting), and an
// operand axis of size 1 under a bigger label broadcasts. Labels that appear in no output axis
// are summed over. Repeated labels inside one operand select a diagonal. Without "->", the
// output is the ellipsis dims followed by the labels used exactly once, in alphabetical order.
// Usage:
//   ASSIGN_OR_RETURN(EinsumSpec spec, ParseEinsum(node, "ij,jk->ik", {a_type, b_type}));
//   spec.OutputDims();  // {I, K}
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "edgerun/ir.h"
#include "edgerun/status.h"
#include "kernels/kernel.h"
#include "ops/op_def.h"

namespace edgerun {

struct EinsumSpec {
  std::vector<int64_t> label_dims;               // size of each label
  std::vector<std::vector<int>> operand_labels;  // per operand, the label of each axis
  std::vector<int> output_labels;                // label of each output axis

  int num_labels() const { return static_cast<int>(label_dims.size()); }
  std::vector<int64_t> OutputDims() const;
};

// Errors (InvalidModel) name the node: bad characters, operand count or rank mismatch, labels
// whose sizes disagree, output labels absent from the inputs or repeated.
Expected<EinsumSpec> ParseEinsum(const Node& node, std::string_view equation,
                                 std::span<const TensorType> operands);

// The reference Einsum kernel: a loop nest over output labels, then summed labels, for any
// number of operands (up to 8) and any numeric dtype.
Status PrepareEinsum(PrepareContext& ctx);
Status InvokeEinsum(InvokeContext& ctx);

}  // namespace edgerun
