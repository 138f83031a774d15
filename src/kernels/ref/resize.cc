// Reference Resize (opsets 10-19) and Upsample (7, 9): N-D nearest, (multi)linear and cubic
// interpolation with every ONNX coordinate transformation, antialiasing and tf_crop_and_resize.
//
// The interpolation is separable, so prepare computes, per axis and output index, a short list of
// taps (input offset, weight): 1 for nearest, 2 for linear, 4 for cubic, more when antialiasing
// stretches the filter. Zero-weight taps are dropped, so unresized axes cost nothing. invoke sums
// the product of the per-axis taps for every output element; an all-nearest plan is a pure
// gather that copies bytes. Weights follow the ONNX reference: the resized length used by the
// coordinate formulas is scale * input_length, which need not be an integer.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

namespace {


enum class Mode : uint8_t { kNearest, kLinear, kCubic };
enum class Nearest : uint8_t { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct ResizeParams {
  Mode mode = Mode::kNearest;
  std::string ctm = "half_pixel";
  Nearest nearest = Nearest::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0;
};

struct ResizeState : KernelState {
  int rank = 0;
  int64_t out_dims[kMaxRank] = {};
  int taps[kMaxRank] = {};
  int64_t tap_start[kMaxRank] = {};  // axis d's taps begin at offsets[tap_start[d]]
  int64_t flag_start[kMaxRank] = {};
  std::vector<int64_t> offsets;  // input element offset of each tap
  std::vector<double> weights;
  std::vector<uint8_t> outside;  // per axis and output index: tf_crop_and_resize extrapolates
  bool any_outside = false;
  bool pure_gather = true;  // every axis has one tap of weight 1
  double extrapolation = 0;

  size_t persistent_bytes() const override {
    return offsets.size() * sizeof(int64_t) + weights.size() * sizeof(double) + outside.size();
  }
};

double CubicKernel(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

int64_t NearestIndex(double x, Nearest mode, double scale) {
  switch (mode) {
    case Nearest::kRoundPreferFloor:
      return static_cast<int64_t>(std::ceil(x - 0.5));
    case Nearest::kRoundPreferCeil:
      return static_cast<int64_t>(std::floor(x + 0.5));
    case Nearest::kFloor:
      return static_cast<int64_t>(std::floor(x));
    case Nearest::kCeil:
      return static_cast<int64_t>(std::ceil(x));
    case Nearest::kSimple:
      return static_cast<int64_t>(scale < 1 ? std::ceil(x) : std::floor(x));
  }
  return 0;
}

// Maps output coordinate x to an input coordinate. `resized` is scale * in_len.
double OriginalCoordinate(const std::string& ctm, double x, double scale, int64_t in_len,
                          int64_t out_len, double resized, double roi_start, double roi_end) {
  if (ctm == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (ctm == "pytorch_half_pixel") return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (ctm == "align_corners") {
    return resized == 1 ? 0.0 : x * static_cast<double>(in_len - 1) / (resized - 1);
  }
  if (ctm == "asymmetric") return x / scale;
  if (ctm == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (ctm == "tf_crop_and_resize") {
    const double span = static_cast<double>(in_len - 1);
    return resized > 1 ? roi_start * span + x * (roi_end - roi_start) * span / (resized - 1)
                       : 0.5 * (roi_start + roi_end) * span;
  }
  // half_pixel_symmetric (opset 19): half_pixel, re-centred when the output was rounded.
  const double adjustment = static_cast<double>(out_len) / resized;
  const double center = static_cast<double>(in_len) / 2;
  return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
}

Expected<ResizeParams> ParseParams(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  ResizeParams p;
  ASSIGN_OR_RETURN(std::string mode, node.GetString("mode", "nearest"));
  if (mode == "nearest") {
    p.mode = Mode::kNearest;
  } else if (mode == "linear" || mode == "bilinear") {
    p.mode = Mode::kLinear;
  } else if (mode == "cubic") {
    p.mode = Mode::kCubic;
  } else {
    return ctx.Invalid("unknown mode '" + mode + "'");
  }
  if (node.op_type == "Upsample" || node.opset < 11) {
    // Upsample and Resize-10 predate the attributes: asymmetric coordinates, and nearest picks
    // floor when enlarging and ceil when shrinking.
    p.ctm = "asymmetric";
    p.nearest = Nearest::kSimple;
    return p;
  }
  ASSIGN_OR_RETURN(p.ctm, node.GetString("coordinate_transformation_mode", "half_pixel"));
  ASSIGN_OR_RETURN(std::string nm, node.GetString("nearest_mode", "round_prefer_floor"));
  if (nm == "round_prefer_floor") {
    p.nearest = Nearest::kRoundPreferFloor;
  } else if (nm == "round_prefer_ceil") {
    p.nearest = Nearest::kRoundPreferCeil;
  } else if (nm == "floor") {
    p.nearest = Nearest::kFloor;
  } else if (nm == "ceil") {
    p.nearest = Nearest::kCeil;
  } else {
    return ctx.Invalid("unknown nearest_mode '" + nm + "'");
  }
  ASSIGN_OR_RETURN(float a, node.GetFloat("cubic_coeff_a", -0.75f));
  ASSIGN_OR_RETURN(int64_t excl, node.GetInt("exclude_outside", 0));
  ASSIGN_OR_RETURN(int64_t aa, node.GetInt("antialias", 0));
  ASSIGN_OR_RETURN(float ev, node.GetFloat("extrapolation_value", 0.0f));
  p.cubic_a = a;
  p.exclude_outside = excl != 0;
  p.antialias = aa != 0;
  p.extrapolation = ev;
  return p;
}

// Per-axis scale factors (1 for axes not resized) and the roi, from attributes and constants.
Status ParseScalesAndRoi(const PrepareContext& ctx, std::vector<double>* scales,
                         std::vector<double>* roi_start, std::vector<double>* roi_end) {
  const Node& node = ctx.node;
  const TensorType& in = ctx.inputs[0];
  const std::vector<int64_t>& out = ctx.outputs[0].dims;
  const int r = in.rank();
  const bool upsample = node.op_type == "Upsample";
  std::vector<int> axes;
  if (node.has_attr("axes")) {
    ASSIGN_OR_RETURN(std::vector<int64_t> a, node.GetInts("axes", {}));
    for (int64_t v : a) axes.push_back(static_cast<int>(v < 0 ? v + r : v));
  } else {
    for (int i = 0; i < r; ++i) axes.push_back(i);
  }
  auto present = [&](int i) {
    return i < static_cast<int>(ctx.inputs.size()) && ctx.inputs[i].dtype != DType::kUndefined &&
           ctx.inputs[i].num_elements() > 0;
  };
  auto constant = [&](int i) -> const Tensor* {
    return i < static_cast<int>(ctx.constants.size()) ? ctx.constants[i] : nullptr;
  };
  scales->assign(r, 1.0);
  roi_start->assign(r, 0.0);
  roi_end->assign(r, 1.0);
  const int scales_in = upsample || node.opset < 11 ? 1 : 2;
  const int sizes_in = upsample || node.opset < 11 ? -1 : 3;
  if (upsample && node.opset < 9) {
    ASSIGN_OR_RETURN(std::vector<float> s, node.GetFloats("scales", {}));
    for (size_t i = 0; i < axes.size() && i < s.size(); ++i) (*scales)[axes[i]] = s[i];
  } else if (present(scales_in)) {
    if (constant(scales_in) == nullptr)
      return ctx.NotSupported("input 'scales' must be a constant");
    const std::vector<float> s = constant(scales_in)->ToFloatVector();
    for (size_t i = 0; i < axes.size() && i < s.size(); ++i) (*scales)[axes[i]] = s[i];
  } else if (sizes_in >= 0 && present(sizes_in)) {
    ASSIGN_OR_RETURN(std::string policy, node.GetString("keep_aspect_ratio_policy", "stretch"));
    if (policy == "stretch") {
      for (int a : axes)
        (*scales)[a] = static_cast<double>(out[a]) / static_cast<double>(in.dims[a]);
    } else {
      if (constant(sizes_in) == nullptr)
        return ctx.NotSupported("input 'sizes' must be a constant");
      const std::vector<int64_t> sizes = constant(sizes_in)->ToInt64Vector();
      double scale = policy == "not_larger" ? 1e300 : 0.0;
      for (size_t i = 0; i < axes.size(); ++i) {
        const double s = static_cast<double>(sizes[i]) / static_cast<double>(in.dims[axes[i]]);
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      for (int a : axes) (*scales)[a] = scale;
    }
  } else {
    return ctx.Invalid("exactly one of scales and sizes must be given");
  }
  if (!upsample && node.opset >= 11 && present(1)) {
    const Tensor* roi = constant(1);
    if (roi != nullptr && roi->num_elements() == static_cast<int64_t>(2 * axes.size())) {
      const std::vector<float> v = roi->ToFloatVector();
      for (size_t i = 0; i < axes.size(); ++i) {
        (*roi_start)[axes[i]] = v[i];
        (*roi_end)[axes[i]] = v[i + axes.size()];
      }
    }
  }
  return Status::Ok();
}

Status PrepareResize(PrepareContext& ctx) {
  ASSIGN_OR_RETURN(ResizeParams params, ParseParams(ctx));
  std::vector<double> scales, roi_start, roi_end;
  RETURN_IF_ERROR(ParseScalesAndRoi(ctx, &scales, &roi_start, &roi_end));
  const TensorType& in = ctx.inputs[0];
  const int r = in.rank();
  auto state = std::make_unique<ResizeState>();
  state->rank = r;
  state->extrapolation = params.extrapolation;
  const bool crop = params.ctm == "tf_crop_and_resize";
  int64_t stride = 1;
  std::vector<int64_t> in_strides(r);
  for (int d = r - 1; d >= 0; --d) {
    in_strides[d] = stride;
    stride *= in.dims[d];
  }
  std::vector<int64_t> idx;
  std::vector<double> w;
  for (int d = 0; d < r; ++d) {
    const int64_t in_len = in.dims[d];
    const int64_t out_len = ctx.outputs[0].dims[d];
    const double scale = scales[d];
    const double resized = scale * static_cast<double>(in_len);
    state->out_dims[d] = out_len;
    // First pass: raw taps per output index; the axis tap count is the widest non-zero list.
    std::vector<std::vector<std::pair<int64_t, double>>> per_out(out_len);
    state->flag_start[d] = static_cast<int64_t>(state->outside.size());
    for (int64_t o = 0; o < out_len; ++o) {
      const double x = OriginalCoordinate(params.ctm, static_cast<double>(o), scale, in_len,
                                          out_len, resized, roi_start[d], roi_end[d]);
      const bool out_of_range = crop && (x < 0 || x > static_cast<double>(in_len - 1));
      state->outside.push_back(out_of_range);
      state->any_outside |= out_of_range;
      auto& taps = per_out[o];
      if (in_len == 0) continue;
      if (params.mode == Mode::kNearest) {
        taps.push_back(
            {std::clamp<int64_t>(NearestIndex(x, params.nearest, scale), 0, in_len - 1), 1.0});
        continue;
      }
      // Antialiasing widens the filter by 1/scale when shrinking.
      const double s = params.antialias ? std::min(scale, 1.0) : 1.0;
      const double x0 = std::floor(x);
      const double t = x - x0;
      const int64_t base = static_cast<int64_t>(x0);
      int64_t first, count;
      if (params.mode == Mode::kLinear) {
        first = static_cast<int64_t>(std::floor(-1 / s)) + 1;
        count = 2 - 2 * first;
      } else {
        first = static_cast<int64_t>(std::floor(-2 / s)) + 1;
        count = 2 - 2 * first;
      }
      double sum = 0;
      for (int64_t i = first; i < first + count; ++i) {
        const double arg = s * (static_cast<double>(i) - t);
        double wt = params.mode == Mode::kLinear ? std::max(0.0, 1 - std::abs(arg))
                                                 : CubicKernel(arg, params.cubic_a);
        const int64_t j = base + i;
        if (params.exclude_outside && (j < 0 || j >= in_len)) wt = 0;
        sum += wt;
        taps.push_back({std::clamp<int64_t>(j, 0, in_len - 1), wt});
      }
      if ((params.antialias || params.exclude_outside) && sum != 0) {
        for (auto& tap : taps) tap.second /= sum;
      }
    }
    int width = 1;
    for (auto& taps : per_out) {
      // Merge taps that clamped onto the same input index, then drop zero weights.
      std::vector<std::pair<int64_t, double>> merged;
      for (const auto& tap : taps) {
        const int64_t j = tap.first;
        const double wt = tap.second;
        auto it = std::find_if(merged.begin(), merged.end(), [j](auto& m) { return m.first == j; });
        if (it != merged.end()) {
          it->second += wt;
        } else {
          merged.push_back({j, wt});
        }
      }
      std::erase_if(merged, [](auto& m) { return m.second == 0; });
      taps = std::move(merged);
      width = std::max(width, static_cast<int>(taps.size()));
    }
    state->taps[d] = width;
    state->tap_start[d] = static_cast<int64_t>(state->offsets.size());
    for (auto& taps : per_out) {
      if (width != 1 || taps.size() != 1 || taps[0].second != 1.0) state->pure_gather = false;
      for (int k = 0; k < width; ++k) {
        const bool real = k < static_cast<int>(taps.size());
        state->offsets.push_back(real ? taps[k].first * in_strides[d] : 0);
        state->weights.push_back(real ? taps[k].second : 0.0);
      }
    }
  }
  if (state->any_outside) state->pure_gather = false;
  ctx.state = std::move(state);
  return Status::Ok();
}

template <typename U>
void GatherNearest(const ResizeState& s, const U* in, U* out, int64_t total) {
  const int r = s.rank;
  const int64_t n = s.out_dims[r - 1];
  const int64_t* last = s.offsets.data() + s.tap_start[r - 1];
  int64_t coord[kMaxRank] = {};
  for (int64_t row = 0; row < total / n; ++row) {
    int64_t base = 0;
    for (int d = 0; d < r - 1; ++d) base += s.offsets[s.tap_start[d] + coord[d]];
    U* o = out + row * n;
    for (int64_t j = 0; j < n; ++j) o[j] = in[base + last[j]];
    for (int d = r - 2; d >= 0; --d) {
      if (++coord[d] < s.out_dims[d]) break;
      coord[d] = 0;
    }
  }
}

Status InvokeResize(InvokeContext& ctx) {
  const ResizeState& s = ctx.state_as<ResizeState>();
  const TensorView& in = ctx.inputs[0];
  TensorView& out = ctx.outputs[0];
  const int64_t total = out.num_elements();
  if (total == 0) return Status::Ok();
  const int r = s.rank;
  if (r == 0) {
    std::memcpy(out.raw, in.raw, DTypeSize(in.dtype));
    return Status::Ok();
  }
  if (s.pure_gather) {
    switch (DTypeSize(in.dtype)) {
      case 1:
        GatherNearest(s, in.data<const uint8_t>(), out.data<uint8_t>(), total);
        break;
      case 2:
        GatherNearest(s, in.data<const uint16_t>(), out.data<uint16_t>(), total);
        break;
      case 4:
        GatherNearest(s, in.data<const uint32_t>(), out.data<uint32_t>(), total);
        break;
      case 8:
        GatherNearest(s, in.data<const uint64_t>(), out.data<uint64_t>(), total);
        break;
      default:
        return ctx.Fail("unsupported element size");
    }
    return Status::Ok();
  }
  const bool round = !IsFloat(out.dtype);
  // Axes with several taps; single-tap axes only contribute a fixed offset and weight.
  int multi[kMaxRank];
  int num_multi = 0;
  int64_t combos = 1;
  for (int d = 0; d < r; ++d) {
    if (s.taps[d] > 1) {
      multi[num_multi++] = d;
      combos *= s.taps[d];
    }
  }
  int64_t coord[kMaxRank] = {};
  for (int64_t i = 0; i < total; ++i) {
    bool outside = false;
    int64_t base = 0;
    double base_w = 1;
    const int64_t* offs[kMaxRank];
    const double* ws[kMaxRank];
    for (int d = 0; d < r; ++d) {
      outside |= s.outside[s.flag_start[d] + coord[d]] != 0;
      const int64_t at = s.tap_start[d] + coord[d] * s.taps[d];
      offs[d] = s.offsets.data() + at;
      ws[d] = s.weights.data() + at;
      if (s.taps[d] == 1) {
        base += offs[d][0];
        base_w *= ws[d][0];
      }
    }
    double acc = s.extrapolation;
    if (!outside) {
      acc = 0;
      for (int64_t c = 0; c < combos; ++c) {
        int64_t off = base;
        double w = base_w;
        int64_t rest = c;
        for (int m = num_multi - 1; m >= 0; --m) {
          const int d = multi[m];
          const int64_t k = rest % s.taps[d];
          rest /= s.taps[d];
          off += offs[d][k];
          w *= ws[d][k];
        }
        if (w != 0) acc += w * LoadElementAsDouble(in.raw, in.dtype, off);
      }
      if (round) acc = std::nearbyint(acc);
    }
    StoreElementFromDouble(out.raw, out.dtype, i, acc);
    for (int d = r - 1; d >= 0; --d) {
      if (++coord[d] < s.out_dims[d]) break;
      coord[d] = 0;
    }
  }
  return Status::Ok();
}

constexpr DTypeSet kResizeTypes =
    kFloatTypes | DTypeSet{DType::kI8, DType::kU8, DType::kI32, DType::kI64};

constexpr KernelDef kResizeKernels[] = {
    {"Resize", KernelPath::kReference, kResizeTypes, nullptr, PrepareResize, InvokeResize},
    {"Upsample", KernelPath::kReference, kResizeTypes, nullptr, PrepareResize, InvokeResize},
};

}  // namespace

std::span<const KernelDef> RefResizeKernels() { return kResizeKernels; }

}  // namespace edgerun
