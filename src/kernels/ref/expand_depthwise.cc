// Reference kernel of com.edgerun.nhwc ExpandDepthwiseConv (ops/nhwc.cc): the 1x1 expansion of
// the whole image into scratch, then the depthwise conv from there, both as plain loops. It is the
// oracle of oneDNN's banded kernel and what runs when no fast path claims the node.
#include <algorithm>
#include <string>
#include <vector>

#include "kernels/ref/conv.h"
#include "kernels/ref/expand_depthwise.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/ref_util.h"

namespace edgerun {

Expected<ExpandDepthwiseGeometry> ExpandDepthwiseGeometryOf(const PrepareContext& ctx) {
  const auto& x = ctx.inputs[0].dims;   // N, H, W, C
  const auto& w = ctx.inputs[3].dims;   // M, 1, k, k
  const auto& y = ctx.outputs[0].dims;  // N, OH, OW, M
  if (x.size() != 4 || w.size() != 4 || y.size() != 4 || w[2] != w[3]) {
    return ctx.Invalid("ExpandDepthwiseConv needs NHWC x, [M, 1, k, k] weights and NHWC y");
  }
  Window3d win;
  const int64_t kernel[] = {w[2], w[3]};
  RETURN_IF_ERROR(ResolveNhwcWindow(ctx, kernel, &win));
  // Window3d keeps 2-D windows in slots 1 and 2.
  if (win.stride[1] != win.stride[2] || win.stride[1] < 1) {
    return ctx.Invalid("ExpandDepthwiseConv needs equal strides");
  }
  // The kernels read taps one pixel apart (FuseExpandDepthwise fuses nothing else).
  if (win.dilation[1] != 1 || win.dilation[2] != 1) {
    return ctx.NotSupported("ExpandDepthwiseConv with dilations other than 1");
  }
  ASSIGN_OR_RETURN(std::string auto_pad, ctx.node.GetString("auto_pad", "NOTSET"));
  if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    return ctx.NotSupported("ExpandDepthwiseConv with auto_pad " + auto_pad);
  }
  ExpandDepthwiseGeometry g;
  ASSIGN_OR_RETURN(g.expand_act, FusedActivation::FromNode(ctx.node, "expand_"));
  ASSIGN_OR_RETURN(g.act, FusedActivation::FromNode(ctx.node));
  g.batch = x[0];
  g.height = x[1];
  g.width = x[2];
  g.in_channels = x[3];
  g.channels = w[0];
  g.out_height = y[1];
  g.out_width = y[2];
  g.kernel = w[2];
  g.stride = win.stride[1];
  g.pad_top = win.pad[1];
  g.pad_left = win.pad[2];
  return g;
}

namespace {

struct ExpandDepthwiseState : KernelState {
  ExpandDepthwiseGeometry g;
};

Status PrepareExpandDepthwise(PrepareContext& ctx) {
  auto s = std::make_unique<ExpandDepthwiseState>();
  ASSIGN_OR_RETURN(s->g, ExpandDepthwiseGeometryOf(ctx));
  ctx.scratch_bytes = static_cast<size_t>(s->g.height * s->g.width * s->g.channels) * sizeof(float);
  ctx.state = std::move(s);
  return Status::Ok();
}

Status InvokeExpandDepthwise(InvokeContext& ctx) {
  const ExpandDepthwiseGeometry& s = ctx.state_as<ExpandDepthwiseState>().g;
  const float* w1 = ctx.inputs[1].data<float>();
  const float* b1 =
      ctx.inputs.size() > 2 && ctx.inputs[2].raw ? ctx.inputs[2].data<float>() : nullptr;
  const float* w2 = ctx.inputs[3].data<float>();
  const float* b2 =
      ctx.inputs.size() > 4 && ctx.inputs[4].raw ? ctx.inputs[4].data<float>() : nullptr;
  float* mid = static_cast<float*>(ctx.scratch);
  const int64_t c_in = s.in_channels, m_ch = s.channels, k = s.kernel;
  const int64_t pixels = s.height * s.width;
  for (int64_t n = 0; n < s.batch; ++n) {
    const float* x = ctx.inputs[0].data<float>() + n * pixels * c_in;
    float* y = ctx.outputs[0].data<float>() + n * s.out_height * s.out_width * m_ch;
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t m = 0; m < m_ch; ++m) {
        float acc = b1 != nullptr ? b1[m] : 0.0f;
        for (int64_t c = 0; c < c_in; ++c) acc += x[p * c_in + c] * w1[m * c_in + c];
        mid[p * m_ch + m] = s.expand_act.Apply(acc);
      }
    }
    for (int64_t oy = 0; oy < s.out_height; ++oy) {
      for (int64_t ox = 0; ox < s.out_width; ++ox) {
        for (int64_t m = 0; m < m_ch; ++m) {
          float acc = b2 != nullptr ? b2[m] : 0.0f;
          for (int64_t ky = 0; ky < k; ++ky) {
            const int64_t iy = oy * s.stride - s.pad_top + ky;
            if (iy < 0 || iy >= s.height) continue;
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t ix = ox * s.stride - s.pad_left + kx;
              if (ix < 0 || ix >= s.width) continue;
              acc += mid[(iy * s.width + ix) * m_ch + m] * w2[(m * k + ky) * k + kx];
            }
          }
          y[(oy * s.out_width + ox) * m_ch + m] = s.act.Apply(acc);
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::span<const KernelDef> RefExpandDepthwiseKernels() {
  static constexpr KernelDef kKernels[] = {
      {"ExpandDepthwiseConv", KernelPath::kReference, DTypeSet{DType::kF32}, nullptr,
       PrepareExpandDepthwise, InvokeExpandDepthwise, kNhwcDomain},
  };
  return kKernels;
}

}  // namespace edgerun
