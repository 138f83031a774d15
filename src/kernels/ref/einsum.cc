#include "kernels/ref/einsum.h"

#include <algorithm>
#include <string>

#include "kernels/ref/ref_util.h"

namespace edgerun {

std::vector<int64_t> EinsumSpec::OutputDims() const {
  std::vector<int64_t> dims;
  for (int l : output_labels) dims.push_back(label_dims[l]);
  return dims;
}

namespace {

constexpr int kLetters = 52;  // a-z, A-Z; ellipsis dims get ids from kLetters on

int LetterId(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// One term ("b...ij") split into letter ids, with the position of the ellipsis (-1: none).
struct Term {
  std::vector<int> letters;
  int ellipsis_at = -1;
};

Expected<Term> ParseTerm(const Node& node, std::string_view s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (t.ellipsis_at >= 0 || s.substr(i, 3) != "...") {
        return InvalidModel(node.Describe() + ": malformed ellipsis in einsum term '" +
                            std::string(s) + "'");
      }
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 2;
      continue;
    }
    const int id = LetterId(s[i]);
    if (id < 0) {
      return InvalidModel(node.Describe() + ": invalid character '" + std::string(1, s[i]) +
                          "' in einsum equation");
    }
    t.letters.push_back(id);
  }
  return t;
}

}  // namespace

Expected<EinsumSpec> ParseEinsum(const Node& node, std::string_view equation,
                                 std::span<const TensorType> operands) {
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq.push_back(c);
  }
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    ASSIGN_OR_RETURN(Term t,
                     ParseTerm(node, std::string_view(lhs).substr(start, comma == std::string::npos
                                                                             ? std::string::npos
                                                                             : comma - start)));
    terms.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size()) {
    return InvalidModel(node.Describe() + ": einsum equation '" + std::string(equation) + "' has " +
                        std::to_string(terms.size()) + " operand terms but the node has " +
                        std::to_string(operands.size()) + " inputs");
  }

  // Raw ids: letters 0..51, ellipsis dims kLetters + j (right-aligned to the widest ellipsis).
  int max_ellipsis = 0;
  std::vector<int> ellipsis_rank(terms.size(), 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    const int rank = operands[k].rank();
    const int explicit_axes = static_cast<int>(terms[k].letters.size());
    if (terms[k].ellipsis_at < 0 ? rank != explicit_axes : rank < explicit_axes) {
      return InvalidModel(node.Describe() + ": einsum operand " + std::to_string(k) + " has rank " +
                          std::to_string(rank) + " but its term names " +
                          std::to_string(explicit_axes) + " axes");
    }
    if (terms[k].ellipsis_at >= 0) ellipsis_rank[k] = rank - explicit_axes;
    max_ellipsis = std::max(max_ellipsis, ellipsis_rank[k]);
  }
  std::vector<int64_t> raw_dims(kLetters + max_ellipsis, -1);
  std::vector<int> letter_count(kLetters, 0);
  std::vector<std::vector<int>> raw_operand_ids(terms.size());
  for (size_t k = 0; k < terms.size(); ++k) {
    const Term& t = terms[k];
    std::vector<int>& ids = raw_operand_ids[k];
    for (int i = 0; i < static_cast<int>(t.letters.size()); ++i) {
      if (i == t.ellipsis_at) {
        for (int e = 0; e < ellipsis_rank[k]; ++e) {
          ids.push_back(kLetters + max_ellipsis - ellipsis_rank[k] + e);
        }
      }
      ids.push_back(t.letters[i]);
      ++letter_count[t.letters[i]];
    }
    if (t.ellipsis_at == static_cast<int>(t.letters.size())) {
      for (int e = 0; e < ellipsis_rank[k]; ++e) {
        ids.push_back(kLetters + max_ellipsis - ellipsis_rank[k] + e);
      }
    }
    for (size_t a = 0; a < ids.size(); ++a) {
      const int64_t d = operands[k].dims[a];
      int64_t& have = raw_dims[ids[a]];
      if (have < 0 || have == 1) {
        have = d;
      } else if (d != have && d != 1) {
        return InvalidModel(node.Describe() + ": einsum label size mismatch: operand " +
                            std::to_string(k) + " axis " + std::to_string(a) + " has size " +
                            std::to_string(d) + ", elsewhere " + std::to_string(have));
      }
    }
  }

  std::vector<int> raw_out;
  if (arrow != std::string::npos) {
    ASSIGN_OR_RETURN(Term out, ParseTerm(node, std::string_view(eq).substr(arrow + 2)));
    std::vector<bool> seen(kLetters, false);
    for (int i = 0; i <= static_cast<int>(out.letters.size()); ++i) {
      if (i == out.ellipsis_at) {
        for (int e = 0; e < max_ellipsis; ++e) raw_out.push_back(kLetters + e);
      }
      if (i == static_cast<int>(out.letters.size())) break;
      const int id = out.letters[i];
      if (letter_count[id] == 0 || seen[id]) {
        return InvalidModel(node.Describe() + ": einsum output label '" +
                            std::string(1, eq[arrow + 2 + i]) +
                            (seen[id] ? "' is repeated" : "' does not appear in any input"));
      }
      seen[id] = true;
      raw_out.push_back(id);
    }
  } else {
    for (int e = 0; e < max_ellipsis; ++e) raw_out.push_back(kLetters + e);
    // Alphabetical: uppercase sorts before lowercase, as in ASCII.
    for (int id = 26; id < kLetters; ++id) {
      if (letter_count[id] == 1) raw_out.push_back(id);
    }
    for (int id = 0; id < 26; ++id) {
      if (letter_count[id] == 1) raw_out.push_back(id);
    }
  }

  // Compact the raw ids to 0..L-1.
  EinsumSpec spec;
  std::vector<int> remap(raw_dims.size(), -1);
  for (size_t id = 0; id < raw_dims.size(); ++id) {
    if (raw_dims[id] < 0) continue;
    remap[id] = spec.num_labels();
    spec.label_dims.push_back(raw_dims[id]);
  }
  for (const auto& ids : raw_operand_ids) {
    std::vector<int> labels;
    for (int id : ids) labels.push_back(remap[id]);
    spec.operand_labels.push_back(std::move(labels));
  }
  for (int id : raw_out) spec.output_labels.push_back(remap[id]);
  return spec;
}

namespace {

constexpr int kMaxEinsumOperands = 8;

// The loop nest: output labels outermost (in output order, so the output is written
// sequentially), then the summed labels. Strides are per loop level, per operand.
struct EinsumState : KernelState {
  int num_operands = 0;
  int num_out_levels = 0;
  std::vector<int64_t> dims;     // per loop level
  std::vector<int64_t> strides;  // [level * num_operands + k]
  int64_t out_count = 0;
  int64_t sum_count = 0;
};

template <typename T>
void RunEinsum(const EinsumState& s, const T* const* in, T* out) {
  const int levels = static_cast<int>(s.dims.size());
  const int nk = s.num_operands;
  int64_t idx[64] = {};
  int64_t base[kMaxEinsumOperands] = {};  // operand offsets at the current output position
  for (int64_t o = 0; o < s.out_count; ++o) {
    T acc = T(0);
    int64_t off[kMaxEinsumOperands];
    for (int k = 0; k < nk; ++k) off[k] = base[k];
    for (int64_t r = 0; r < s.sum_count; ++r) {
      T prod = in[0][off[0]];
      for (int k = 1; k < nk; ++k) prod *= in[k][off[k]];
      acc += prod;
      // Advance the summed levels (innermost last).
      for (int l = levels - 1; l >= s.num_out_levels; --l) {
        const int64_t* st = &s.strides[static_cast<size_t>(l) * nk];
        if (++idx[l] < s.dims[l]) {
          for (int k = 0; k < nk; ++k) off[k] += st[k];
          break;
        }
        idx[l] = 0;
        for (int k = 0; k < nk; ++k) off[k] -= st[k] * (s.dims[l] - 1);
      }
    }
    out[o] = acc;
    for (int l = s.num_out_levels - 1; l >= 0; --l) {
      const int64_t* st = &s.strides[static_cast<size_t>(l) * nk];
      if (++idx[l] < s.dims[l]) {
        for (int k = 0; k < nk; ++k) base[k] += st[k];
        break;
      }
      idx[l] = 0;
      for (int k = 0; k < nk; ++k) base[k] -= st[k] * (s.dims[l] - 1);
    }
  }
}

}  // namespace

Status PrepareEinsum(PrepareContext& ctx) {
  ASSIGN_OR_RETURN(std::string equation, ctx.node.GetString("equation", ""));
  ASSIGN_OR_RETURN(EinsumSpec spec, ParseEinsum(ctx.node, equation, ctx.inputs));
  const int nk = static_cast<int>(ctx.inputs.size());
  if (nk > kMaxEinsumOperands || spec.num_labels() > 64) {
    return ctx.NotSupported("einsum with more than " + std::to_string(kMaxEinsumOperands) +
                            " operands or 64 labels");
  }
  auto state = std::make_unique<EinsumState>();
  state->num_operands = nk;
  std::vector<int> order = spec.output_labels;
  std::vector<bool> is_out(spec.num_labels(), false);
  for (int l : order) is_out[l] = true;
  state->num_out_levels = static_cast<int>(order.size());
  for (int l = 0; l < spec.num_labels(); ++l) {
    if (!is_out[l]) order.push_back(l);
  }
  state->out_count = 1;
  state->sum_count = 1;
  for (size_t lvl = 0; lvl < order.size(); ++lvl) {
    const int64_t d = spec.label_dims[order[lvl]];
    state->dims.push_back(d);
    (static_cast<int>(lvl) < state->num_out_levels ? state->out_count : state->sum_count) *= d;
  }
  state->strides.assign(order.size() * nk, 0);
  for (int k = 0; k < nk; ++k) {
    const std::vector<int64_t>& dims = ctx.inputs[k].dims;
    int64_t stride = 1;
    for (int a = static_cast<int>(dims.size()) - 1; a >= 0; --a) {
      const int label = spec.operand_labels[k][a];
      const size_t lvl = std::find(order.begin(), order.end(), label) - order.begin();
      // A size-1 axis under a larger label broadcasts; repeated labels add up (diagonal).
      if (dims[a] != 1 || spec.label_dims[label] == 1) state->strides[lvl * nk + k] += stride;
      stride *= dims[a];
    }
  }
  ctx.state = std::move(state);
  return Status::Ok();
}

Status InvokeEinsum(InvokeContext& ctx) {
  const auto& s = ctx.state_as<EinsumState>();
  TensorView& out = ctx.outputs[0];
  if (s.out_count == 0) return Status::Ok();
  return DispatchNumeric(
      out.dtype,
      [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, bool>) {
          return ctx.Fail("bool einsum is not supported");
        } else {
          const T* in[kMaxEinsumOperands];
          for (int k = 0; k < s.num_operands; ++k) in[k] = ctx.inputs[k].data<T>();
          if (s.sum_count == 0) {
            for (int64_t i = 0; i < s.out_count; ++i) out.data<T>()[i] = T(0);
          } else {
            RunEinsum<T>(s, in, out.data<T>());
          }
          return Status::Ok();
        }
      },
      ctx.node);
}

}  // namespace edgerun
