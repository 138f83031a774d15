// Reference tensor kernels (kernels/ref/tensor.cc, tensor_index.cc): data movement checked
// against index arithmetic written out in the test, for several dtypes and opset forms.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

Node MakeNode(const std::string& op, int opset, int num_inputs, int num_outputs = 1) {
  return testing::MakeNode(op, opset, num_inputs, num_outputs, "k0");
}

template <typename T>
Tensor Make(DType dtype, std::vector<int64_t> dims, const std::vector<T>& v) {
  return Tensor::FromVector(dtype, std::move(dims), v);
}
Tensor F32(std::vector<int64_t> dims, const std::vector<float>& v) {
  return Make(DType::kF32, std::move(dims), v);
}
Tensor I64(std::vector<int64_t> dims, const std::vector<int64_t>& v) {
  return Make(DType::kI64, std::move(dims), v);
}
// 0, 1, 2, ... as floats.
Tensor Iota(std::vector<int64_t> dims) {
  std::vector<float> v(NumElements(dims));
  std::iota(v.begin(), v.end(), 0.0f);
  return F32(std::move(dims), v);
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.num_elements());
}

std::vector<Tensor> Eval(const Node& n, std::vector<const Tensor*> in) {
  auto r = EvaluateNode(n, in);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : std::vector<Tensor>(n.outputs.size());
}

// Row-major strides of `dims`.
std::vector<int64_t> Strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int d = static_cast<int>(dims.size()) - 2; d >= 0; --d) s[d] = s[d + 1] * dims[d + 1];
  return s;
}
std::vector<int64_t> Unravel(int64_t i, const std::vector<int64_t>& dims) {
  std::vector<int64_t> c(dims.size());
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    c[d] = i % dims[d];
    i /= dims[d];
  }
  return c;
}

TEST(TensorKernelTest, ReshapeFamilyCopiesAndMayAlias) {
  for (const char* op : {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}) {
    bool found = false;
    for (const KernelDef& k : AllKernels()) {
      if (k.op_type == op && k.path == KernelPath::kReference) {
        EXPECT_TRUE(k.output_aliases_input) << op;
        found = true;
      }
    }
    EXPECT_TRUE(found) << op;
  }
  Node n = MakeNode("Reshape", 14, 2);
  Tensor x = Make<uint16_t>(DType::kF16, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor shape = I64({1}, {-1});
  auto out = Eval(n, {&x, &shape});
  EXPECT_EQ(out[0].dtype(), DType::kF16);
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{6}));
  EXPECT_EQ(Values<uint16_t>(out[0]), (std::vector<uint16_t>{1, 2, 3, 4, 5, 6}));

  Node u = MakeNode("Unsqueeze", 11, 1);
  u.attrs["axes"] = Attribute::Ints({0});
  Tensor b = Make<uint8_t>(DType::kBool, {2}, {1, 0});
  out = Eval(u, {&b});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Values<uint8_t>(out[0]), (std::vector<uint8_t>{1, 0}));
}

// Transposes that hit the memcpy path, the strided path and the blocked 2-D path.
TEST(TensorKernelTest, TransposeMatchesIndexArithmetic) {
  struct Case {
    std::vector<int64_t> dims;
    std::vector<int64_t> perm;
  };
  const Case cases[] = {
      {{37, 53}, {1, 0}},            // blocked 2-D, ragged blocks
      {{2, 5, 7, 9}, {0, 2, 3, 1}},  // NCHW -> NHWC
      {{2, 7, 9, 5}, {0, 3, 1, 2}},  // NHWC -> NCHW
      {{3, 4, 5}, {1, 0, 2}},        // inner dim contiguous: row memcpy
      {{2, 3, 4, 5, 2}, {4, 2, 0, 3, 1}},
      {{1, 6, 1, 4}, {2, 3, 0, 1}},  // size-1 dims coalesced away
  };
  for (const Case& c : cases) {
    Node n = MakeNode("Transpose", 13, 1);
    n.attrs["perm"] = Attribute::Ints(c.perm);
    Tensor x = Iota(c.dims);
    auto out = Eval(n, {&x});
    std::vector<int64_t> od;
    for (int64_t p : c.perm) od.push_back(c.dims[p]);
    ASSERT_EQ(out[0].dims(), od);
    const auto in_s = Strides(c.dims);
    const std::vector<float> got = Values<float>(out[0]);
    for (int64_t i = 0; i < out[0].num_elements(); ++i) {
      const auto oc = Unravel(i, od);
      int64_t src = 0;
      for (size_t d = 0; d < od.size(); ++d) src += oc[d] * in_s[c.perm[d]];
      ASSERT_EQ(got[i], static_cast<float>(src))
          << "perm case rank " << c.dims.size() << " at " << i;
    }
  }
  // 1- and 8-byte element types take the same paths.
  Node n = MakeNode("Transpose", 13, 1);
  Tensor i8 = Make<int8_t>(DType::kI8, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(Values<int8_t>(Eval(n, {&i8})[0]), (std::vector<int8_t>{1, 4, 2, 5, 3, 6}));
  Tensor i64 = I64({3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(Values<int64_t>(Eval(n, {&i64})[0]), (std::vector<int64_t>{1, 3, 5, 2, 4, 6}));
}

TEST(TensorKernelTest, SliceWithNegativeStepsAndClamping) {
  Node n = MakeNode("Slice", 13, 5);
  Tensor x = Iota({6, 5});
  Tensor starts = I64({2}, {-1, 1}), ends = I64({2}, {-100, 100}), axes = I64({2}, {0, 1}),
         steps = I64({2}, {-2, 3});
  auto out = Eval(n, {&x, &starts, &ends, &axes, &steps});
  // rows 5, 3, 1; cols 1, 4
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{26, 29, 16, 19, 6, 9}));

  Node old_form = MakeNode("Slice", 9, 1);
  old_form.attrs["starts"] = Attribute::Ints({1});
  old_form.attrs["ends"] = Attribute::Ints({3});
  old_form.attrs["axes"] = Attribute::Ints({-1});
  out = Eval(old_form, {&x});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{6, 2}));
  EXPECT_EQ(Values<float>(out[0])[2], 6.0f);

  // Whole rows: a single contiguous copy.
  Tensor s = I64({1}, {2}), e = I64({1}, {4});
  out = Eval(MakeNode("Slice", 13, 3), {&x, &s, &e});
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
}

TEST(TensorKernelTest, ConcatAndSplitRoundTrip) {
  Node c = MakeNode("Concat", 13, 3);
  c.attrs["axis"] = Attribute::Int(1);
  Tensor a = F32({2, 1}, {1, 2}), b = F32({2, 2}, {3, 4, 5, 6}), e = F32({2, 0}, {});
  auto out = Eval(c, {&a, &e, &b});
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{1, 3, 4, 2, 5, 6}));

  Node s = MakeNode("Split", 13, 2, 2);
  s.attrs["axis"] = Attribute::Int(-1);
  Tensor split = I64({2}, {1, 2});
  auto parts = Eval(s, {&out[0], &split});
  EXPECT_EQ(Values<float>(parts[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(Values<float>(parts[1]), (std::vector<float>{3, 4, 5, 6}));

  Node s18 = MakeNode("Split", 18, 1, 3);
  s18.attrs["num_outputs"] = Attribute::Int(3);
  Tensor x = Iota({5});
  parts = Eval(s18, {&x});
  EXPECT_EQ(Values<float>(parts[1]), (std::vector<float>{2, 3}));
  EXPECT_EQ(Values<float>(parts[2]), (std::vector<float>{4}));
}

TEST(TensorKernelTest, ExpandAndTile) {
  Node e = MakeNode("Expand", 13, 2);
  Tensor x = F32({3, 1}, {1, 2, 3});
  Tensor shape = I64({3}, {2, 1, 2});
  auto out = Eval(e, {&x, &shape});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));

  Node t = MakeNode("Tile", 13, 2);
  Tensor y = Make<int32_t>(DType::kI32, {2, 2}, {1, 2, 3, 4});
  Tensor reps = I64({2}, {2, 3});
  out = Eval(t, {&y, &reps});
  ASSERT_EQ(out[0].dims(), (std::vector<int64_t>{4, 6}));
  const auto got = Values<int32_t>(out[0]);
  const int32_t src[2][2] = {{1, 2}, {3, 4}};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 6; ++j) EXPECT_EQ(got[i * 6 + j], src[i % 2][j % 2]) << i << "," << j;
  }
}

// Pad against a direct per-element mapping of each mode.
TEST(TensorKernelTest, PadModes) {
  const std::vector<int64_t> dims = {3, 4};
  const std::vector<int64_t> pads = {2, -1, 1, 3};  // begin0, begin1, end0, end1
  Tensor x = Iota(dims);
  Tensor p = I64({4}, pads);
  Tensor value = F32({}, {-7});
  for (const char* mode : {"constant", "reflect", "edge"}) {
    Node n = MakeNode("Pad", 13, 3);
    n.attrs["mode"] = Attribute::String(mode);
    auto out = Eval(n, {&x, &p, &value});
    const std::vector<int64_t> od = {3 + 2 + 1, 4 - 1 + 3};
    ASSERT_EQ(out[0].dims(), od) << mode;
    const auto got = Values<float>(out[0]);
    for (int64_t i = 0; i < od[0]; ++i) {
      for (int64_t j = 0; j < od[1]; ++j) {
        int64_t src[2] = {i - pads[0], j - pads[1]};
        bool outside = false;
        for (int d = 0; d < 2; ++d) {
          const int64_t n_d = dims[d];
          if (src[d] >= 0 && src[d] < n_d) continue;
          if (std::string(mode) == "constant") {
            outside = true;
          } else if (std::string(mode) == "edge") {
            src[d] = std::clamp<int64_t>(src[d], 0, n_d - 1);
          } else {
            while (src[d] < 0 || src[d] >= n_d)
              src[d] = src[d] < 0 ? -src[d] : 2 * (n_d - 1) - src[d];
          }
        }
        const float want = outside ? -7.0f : static_cast<float>(src[0] * 4 + src[1]);
        EXPECT_EQ(got[i * od[1] + j], want) << mode << " at " << i << "," << j;
      }
    }
  }
  // Opset < 11: pads and value are attributes.
  Node old_form = MakeNode("Pad", 10, 1);
  old_form.attrs["pads"] = Attribute::Ints({1, 0});
  old_form.attrs["value"] = Attribute::Float(9);
  Tensor v = Make<int32_t>(DType::kI32, {2}, {1, 2});
  EXPECT_EQ(Values<int32_t>(Eval(old_form, {&v})[0]), (std::vector<int32_t>{9, 1, 2}));
  // Opset 18 axes.
  Node axes_form = MakeNode("Pad", 18, 4);
  Tensor p1 = I64({2}, {0, 1}), axes = I64({1}, {0});
  auto out = Eval(axes_form, {&x, &p1, nullptr, &axes});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(Values<float>(out[0])[12], 0.0f);
}

TEST(TensorKernelTest, DepthToSpaceModesAndSpaceToDepthInverse) {
  const int64_t n = 1, c = 8, h = 2, w = 3, b = 2;
  Tensor x = Iota({n, c, h, w});
  for (const char* mode : {"DCR", "CRD"}) {
    Node d2s = MakeNode("DepthToSpace", 13, 1);
    d2s.attrs["blocksize"] = Attribute::Int(b);
    d2s.attrs["mode"] = Attribute::String(mode);
    auto out = Eval(d2s, {&x});
    const int64_t oc = c / (b * b);
    ASSERT_EQ(out[0].dims(), (std::vector<int64_t>{n, oc, h * b, w * b}));
    const auto got = Values<float>(out[0]);
    for (int64_t ch = 0; ch < oc; ++ch) {
      for (int64_t y = 0; y < h * b; ++y) {
        for (int64_t xx = 0; xx < w * b; ++xx) {
          const int64_t by = y % b, bx = xx % b;
          const int64_t in_c =
              std::string(mode) == "DCR" ? (by * b + bx) * oc + ch : ch * b * b + by * b + bx;
          const float want = static_cast<float>((in_c * h + y / b) * w + xx / b);
          EXPECT_EQ(got[(ch * h * b + y) * w * b + xx], want) << mode;
        }
      }
    }
    if (std::string(mode) == "DCR") {
      Node s2d = MakeNode("SpaceToDepth", 13, 1);
      s2d.attrs["blocksize"] = Attribute::Int(b);
      auto back = Eval(s2d, {&out[0]});
      EXPECT_EQ(Values<float>(back[0]), Values<float>(x));
    }
  }
}

TEST(TensorKernelTest, GatherVariants) {
  Node g = MakeNode("Gather", 13, 2);
  g.attrs["axis"] = Attribute::Int(1);
  Tensor x = Iota({2, 3, 2});
  Tensor idx = Make<int32_t>(DType::kI32, {2}, {-1, 0});
  auto out = Eval(g, {&x, &idx});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{4, 5, 0, 1, 10, 11, 6, 7}));

  Tensor bad = I64({1}, {3});
  auto r = EvaluateNode(g, std::vector<const Tensor*>{&x, &bad});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node 'k0' (Gather): index 3 is out of range"),
            std::string::npos)
      << r.status().message();

  Node ge = MakeNode("GatherElements", 13, 2);
  ge.attrs["axis"] = Attribute::Int(1);
  Tensor d = F32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor gi = I64({2, 2}, {2, 0, -2, 1});
  EXPECT_EQ(Values<float>(Eval(ge, {&d, &gi})[0]), (std::vector<float>{3, 1, 5, 5}));

  Node nd = MakeNode("GatherND", 13, 2);
  nd.attrs["batch_dims"] = Attribute::Int(1);
  Tensor data = Iota({2, 2, 3});
  Tensor ni = I64({2, 2, 1}, {1, 0, 0, 0});
  out = Eval(nd, {&data, &ni});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{3, 4, 5, 0, 1, 2, 6, 7, 8, 6, 7, 8}));
}

TEST(TensorKernelTest, ScatterReductions) {
  Tensor data = F32({1, 4}, {1, 2, 3, 4});
  Tensor idx = I64({1, 3}, {1, 1, -1});
  Tensor upd = F32({1, 3}, {10, 20, 5});
  struct Case {
    const char* reduction;
    std::vector<float> want;
  };
  const Case cases[] = {{"none", {1, 20, 3, 5}},
                        {"add", {1, 32, 3, 9}},
                        {"mul", {1, 400, 3, 20}},
                        {"max", {1, 20, 3, 5}},
                        {"min", {1, 2, 3, 4}}};
  for (const Case& c : cases) {
    Node n = MakeNode("ScatterElements", 18, 3);
    n.attrs["axis"] = Attribute::Int(1);
    n.attrs["reduction"] = Attribute::String(c.reduction);
    EXPECT_EQ(Values<float>(Eval(n, {&data, &idx, &upd})[0]), c.want) << c.reduction;
  }
  // Integer data and the deprecated Scatter name.
  Node s = MakeNode("Scatter", 10, 3);
  Tensor di = I64({3}, {0, 0, 0}), ii = I64({2}, {2, 0}), ui = I64({2}, {7, 8});
  EXPECT_EQ(Values<int64_t>(Eval(s, {&di, &ii, &ui})[0]), (std::vector<int64_t>{8, 0, 7}));

  Node nd = MakeNode("ScatterND", 16, 3);
  nd.attrs["reduction"] = Attribute::String("add");
  Tensor d2 = F32({2, 2}, {1, 1, 1, 1});
  Tensor i2 = I64({2, 1}, {1, 1});
  Tensor u2 = F32({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(Values<float>(Eval(nd, {&d2, &i2, &u2})[0]), (std::vector<float>{1, 1, 5, 7}));
}

TEST(TensorKernelTest, ShapeSizeAndGenerators) {
  Tensor x = Iota({2, 3, 4});
  Node sh = MakeNode("Shape", 15, 1);
  sh.attrs["start"] = Attribute::Int(1);
  EXPECT_EQ(Values<int64_t>(Eval(sh, {&x})[0]), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Values<int64_t>(Eval(MakeNode("Size", 13, 1), {&x})[0]), (std::vector<int64_t>{24}));

  Node cos = MakeNode("ConstantOfShape", 9, 1);
  cos.attrs["value"] = Attribute::FromTensor(Make<int32_t>(DType::kI32, {1}, {5}));
  Tensor shape = I64({2}, {2, 2});
  auto out = Eval(cos, {&shape});
  EXPECT_EQ(out[0].dtype(), DType::kI32);
  EXPECT_EQ(Values<int32_t>(out[0]), (std::vector<int32_t>{5, 5, 5, 5}));

  Node range = MakeNode("Range", 11, 3);
  Tensor a = Make<int32_t>(DType::kI32, {}, {10}), l = Make<int32_t>(DType::kI32, {}, {3}),
         d = Make<int32_t>(DType::kI32, {}, {-3});
  EXPECT_EQ(Values<int32_t>(Eval(range, {&a, &l, &d})[0]), (std::vector<int32_t>{10, 7, 4}));

  Node eye = MakeNode("EyeLike", 9, 1);
  eye.attrs["k"] = Attribute::Int(-1);
  eye.attrs["dtype"] = Attribute::Int(7);
  Tensor e = F32({3, 2}, {0, 0, 0, 0, 0, 0});
  EXPECT_EQ(Values<int64_t>(Eval(eye, {&e})[0]), (std::vector<int64_t>{0, 0, 1, 0, 0, 1}));
}

TEST(TensorKernelTest, OneHotTriluNonZeroCompressReverseSequence) {
  Node oh = MakeNode("OneHot", 11, 3);
  oh.attrs["axis"] = Attribute::Int(0);
  Tensor idx = I64({3}, {0, -1, 7});
  Tensor depth = I64({}, {3});
  Tensor vals = Make<int32_t>(DType::kI32, {2}, {0, 9});
  auto out = Eval(oh, {&idx, &depth, &vals});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(Values<int32_t>(out[0]), (std::vector<int32_t>{9, 0, 0, 0, 0, 0, 0, 9, 0}));

  Node tr = MakeNode("Trilu", 14, 2);
  tr.attrs["upper"] = Attribute::Int(0);
  Tensor m = Iota({3, 3});
  Tensor k = I64({}, {1});
  EXPECT_EQ(Values<float>(Eval(tr, {&m, &k})[0]), (std::vector<float>{0, 1, 0, 3, 4, 5, 6, 7, 8}));
  Node triu = MakeNode("Trilu", 14, 1);
  EXPECT_EQ(Values<float>(Eval(triu, {&m})[0]), (std::vector<float>{0, 1, 2, 0, 4, 5, 0, 0, 8}));

  Tensor nzin = F32({2, 3}, {0, 1, 0, -2, 0, 3});
  out = Eval(MakeNode("NonZero", 13, 1), {&nzin});
  EXPECT_EQ(out[0].dims(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values<int64_t>(out[0]), (std::vector<int64_t>{0, 1, 1, 1, 0, 2}));

  Node c = MakeNode("Compress", 11, 2);
  Tensor cond = Make<uint8_t>(DType::kBool, {4}, {0, 1, 1, 0});
  EXPECT_EQ(Values<float>(Eval(c, {&nzin, &cond})[0]), (std::vector<float>{1, 0}));
  c.attrs["axis"] = Attribute::Int(1);
  Tensor cond2 = Make<uint8_t>(DType::kBool, {2}, {1, 0});
  EXPECT_EQ(Values<float>(Eval(c, {&nzin, &cond2})[0]), (std::vector<float>{0, -2}));

  Node rs = MakeNode("ReverseSequence", 10, 2);
  rs.attrs["batch_axis"] = Attribute::Int(0);
  rs.attrs["time_axis"] = Attribute::Int(1);
  Tensor seq = Iota({2, 4});
  Tensor lens = I64({2}, {3, 1});
  EXPECT_EQ(Values<float>(Eval(rs, {&seq, &lens})[0]),
            (std::vector<float>{2, 1, 0, 3, 4, 5, 6, 7}));
}

}  // namespace
}  // namespace edgerun
