// Shape and type inference of the tensor family (ops/tensor.cc): attribute vs input forms across
// opsets, constant-only shape inputs, and error messages that name the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/op_def.h"
#include "util/graph_builders.h"
#include "runtime/evaluate_node.h"

namespace edgerun {
namespace {

Node MakeNode(const std::string& op, int opset, int num_inputs, int num_outputs = 1) {
  return testing::MakeNode(op, opset, num_inputs, num_outputs, "t0");
}

Tensor I64(std::vector<int64_t> dims, const std::vector<int64_t>& v) {
  return Tensor::FromVector(DType::kI64, std::move(dims), v);
}
Tensor F32T(std::vector<int64_t> dims, const std::vector<float>& v) {
  return Tensor::FromVector(DType::kF32, std::move(dims), v);
}
TensorType F32(std::vector<int64_t> dims) { return {DType::kF32, std::move(dims)}; }
TensorType I64T(std::vector<int64_t> dims) { return {DType::kI64, std::move(dims)}; }
TensorType TypeOf(const Tensor& t) { return {t.dtype(), t.dims()}; }

Expected<std::vector<TensorType>> Infer(const Node& n, const std::vector<TensorType>& in,
                                        std::vector<const Tensor*> consts = {}) {
  consts.resize(in.size(), nullptr);
  return InferNode(n, in, consts);
}

// Infers with every input that has data passed as a constant.
Expected<std::vector<TensorType>> InferConst(const Node& n, const TensorType& x,
                                             const std::vector<const Tensor*>& rest) {
  std::vector<TensorType> in = {x};
  std::vector<const Tensor*> consts = {nullptr};
  for (const Tensor* t : rest) {
    in.push_back(t != nullptr ? TypeOf(*t) : TensorType{});
    consts.push_back(t);
  }
  return InferNode(n, in, consts);
}

std::vector<int64_t> Dims(const Expected<std::vector<TensorType>>& r, int i = 0) {
  return r.ok() ? (*r)[i].dims : std::vector<int64_t>{-999};
}

TEST(TensorInferTest, ReshapeCopiesZeroAndInfersMinusOne) {
  Node n = MakeNode("Reshape", 14, 2);
  Tensor shape = I64({3}, {0, -1, 2});
  auto r = InferConst(n, F32({2, 3, 4}), {&shape});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({2, 6, 2}));

  // allowzero keeps a literal 0, which with a non-empty input cannot match.
  n.attrs["allowzero"] = Attribute::Int(1);
  Tensor zero = I64({2}, {0, 4});
  EXPECT_FALSE(InferConst(n, F32({2, 3, 4}), {&zero}).ok());
  EXPECT_EQ(Dims(InferConst(n, F32({0, 4}), {&zero})), (std::vector<int64_t>{0, 4}));
}

TEST(TensorInferTest, ReshapeErrorsNameTheNode) {
  Node n = MakeNode("Reshape", 13, 2);
  Tensor bad = I64({2}, {5, -1});
  auto r = InferConst(n, F32({2, 3}), {&bad});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node 't0' (Reshape)"), std::string::npos)
      << r.status().message();

  // A non-constant shape cannot be planned statically.
  r = Infer(n, {F32({2, 3}), I64T({2})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("'shape' must be a constant"), std::string::npos);
}

TEST(TensorInferTest, FlattenAxes) {
  Node n = MakeNode("Flatten", 13, 1);
  EXPECT_EQ(Dims(Infer(n, {F32({2, 3, 4})})), (std::vector<int64_t>{2, 12}));
  n.attrs["axis"] = Attribute::Int(0);
  EXPECT_EQ(Dims(Infer(n, {F32({2, 3, 4})})), (std::vector<int64_t>{1, 24}));
  n.attrs["axis"] = Attribute::Int(-1);
  EXPECT_EQ(Dims(Infer(n, {F32({2, 3, 4})})), (std::vector<int64_t>{6, 4}));
  n.attrs["axis"] = Attribute::Int(4);
  EXPECT_FALSE(Infer(n, {F32({2, 3, 4})}).ok());
}

TEST(TensorInferTest, SqueezeAttributeAndInputForms) {
  Node old_form = MakeNode("Squeeze", 11, 1);
  old_form.attrs["axes"] = Attribute::Ints({0, -1});
  EXPECT_EQ(Dims(Infer(old_form, {F32({1, 3, 1})})), (std::vector<int64_t>{3}));

  Node new_form = MakeNode("Squeeze", 13, 2);
  Tensor axes = I64({1}, {2});
  EXPECT_EQ(Dims(InferConst(new_form, F32({1, 3, 1}), {&axes})), (std::vector<int64_t>{1, 3}));

  Node all = MakeNode("Squeeze", 13, 1);
  EXPECT_EQ(Dims(Infer(all, {F32({1, 3, 1})})), (std::vector<int64_t>{3}));

  Tensor bad = I64({1}, {1});
  auto r = InferConst(new_form, F32({1, 3, 1}), {&bad});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot squeeze axis 1"), std::string::npos);
}

TEST(TensorInferTest, UnsqueezeAttributeAndInputForms) {
  Node old_form = MakeNode("Unsqueeze", 11, 1);
  old_form.attrs["axes"] = Attribute::Ints({0, 4});
  EXPECT_EQ(Dims(Infer(old_form, {F32({3, 4, 5})})), (std::vector<int64_t>{1, 3, 4, 5, 1}));

  Node new_form = MakeNode("Unsqueeze", 13, 2);
  Tensor axes = I64({2}, {-1, 1});
  EXPECT_EQ(Dims(InferConst(new_form, F32({3, 4}), {&axes})), (std::vector<int64_t>{3, 1, 4, 1}));
  Tensor dup = I64({2}, {1, 1});
  EXPECT_FALSE(InferConst(new_form, F32({3, 4}), {&dup}).ok());
}

TEST(TensorInferTest, TransposeDefaultAndExplicitPerm) {
  Node n = MakeNode("Transpose", 13, 1);
  EXPECT_EQ(Dims(Infer(n, {F32({2, 3, 4})})), (std::vector<int64_t>{4, 3, 2}));
  n.attrs["perm"] = Attribute::Ints({0, 2, 3, 1});
  EXPECT_EQ(Dims(Infer(n, {F32({1, 3, 8, 9})})), (std::vector<int64_t>{1, 8, 9, 3}));
  n.attrs["perm"] = Attribute::Ints({0, 0, 1, 2});
  EXPECT_FALSE(Infer(n, {F32({1, 3, 8, 9})}).ok());
}

TEST(TensorInferTest, ConcatChecksOtherDims) {
  Node n = MakeNode("Concat", 13, 3);
  n.attrs["axis"] = Attribute::Int(-1);
  EXPECT_EQ(Dims(Infer(n, {F32({2, 1}), F32({2, 3}), F32({2, 0})})), (std::vector<int64_t>{2, 4}));
  auto r = Infer(n, {F32({2, 1}), F32({3, 3}), F32({2, 0})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("input 1 has shape 3x3"), std::string::npos)
      << r.status().message();
}

TEST(TensorInferTest, SplitAllOpsetForms) {
  Node eq = MakeNode("Split", 13, 1, 3);
  eq.attrs["axis"] = Attribute::Int(1);
  auto r = Infer(eq, {F32({2, 6})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[2], F32({2, 2}));
  EXPECT_FALSE(Infer(eq, {F32({2, 7})}).ok());

  Node attr = MakeNode("Split", 11, 1, 2);
  attr.attrs["split"] = Attribute::Ints({1, 4});
  r = Infer(attr, {F32({5})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[1], F32({4}));

  Node input = MakeNode("Split", 13, 2, 2);
  Tensor split = I64({2}, {3, 2});
  r = InferConst(input, F32({5, 2}), {&split});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], F32({3, 2}));
  Tensor wrong = I64({2}, {3, 3});
  EXPECT_FALSE(InferConst(input, F32({5, 2}), {&wrong}).ok());

  Node num = MakeNode("Split", 18, 1, 3);
  num.attrs["num_outputs"] = Attribute::Int(3);
  r = Infer(num, {F32({7})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], F32({3}));
  EXPECT_EQ((*r)[1], F32({3}));
  EXPECT_EQ((*r)[2], F32({1}));
}

TEST(TensorInferTest, SliceClampsAndHandlesNegativeSteps) {
  Node n = MakeNode("Slice", 13, 5);
  Tensor starts = I64({2}, {1, -1}), ends = I64({2}, {1000, -1000}), axes = I64({2}, {0, 1}),
         steps = I64({2}, {2, -3});
  auto r = InferConst(n, F32({20, 10}), {&starts, &ends, &axes, &steps});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // axis 0: 1,3,...,19 -> 10; axis 1: 9,6,3,0 -> 4
  EXPECT_EQ((*r)[0], F32({10, 4}));

  Node old_form = MakeNode("Slice", 9, 1);
  old_form.attrs["starts"] = Attribute::Ints({0, 1});
  old_form.attrs["ends"] = Attribute::Ints({2, -1});
  EXPECT_EQ(Dims(Infer(old_form, {F32({5, 4})})), (std::vector<int64_t>{2, 2}));

  Tensor zero = I64({1}, {0});
  Tensor s0 = I64({1}, {0}), e0 = I64({1}, {3});
  r = InferConst(n, F32({5}), {&s0, &e0, nullptr, &zero});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("step is 0"), std::string::npos);
}

TEST(TensorInferTest, GatherFamilies) {
  Node g = MakeNode("Gather", 13, 2);
  g.attrs["axis"] = Attribute::Int(1);
  EXPECT_EQ(Dims(Infer(g, {F32({2, 5, 3}), I64T({4, 2})})), (std::vector<int64_t>{2, 4, 2, 3}));
  auto r = Infer(g, {F32({2, 5, 3}), F32({4})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("indices must be int32 or int64"), std::string::npos);

  Node ge = MakeNode("GatherElements", 13, 2);
  EXPECT_EQ(Dims(Infer(ge, {F32({2, 5}), I64T({2, 2})})), (std::vector<int64_t>{2, 2}));
  EXPECT_FALSE(Infer(ge, {F32({2, 5}), I64T({2})}).ok());

  Node nd = MakeNode("GatherND", 13, 2);
  nd.attrs["batch_dims"] = Attribute::Int(1);
  EXPECT_EQ(Dims(Infer(nd, {F32({2, 3, 4, 5}), I64T({2, 7, 2})})), (std::vector<int64_t>{2, 7, 5}));
  EXPECT_FALSE(Infer(nd, {F32({2, 3, 4, 5}), I64T({3, 7, 2})}).ok());
}

TEST(TensorInferTest, ScatterShapesMustAgree) {
  Node se = MakeNode("ScatterElements", 16, 3);
  EXPECT_EQ(Dims(Infer(se, {F32({3, 3}), I64T({2, 3}), F32({2, 3})})),
            (std::vector<int64_t>{3, 3}));
  EXPECT_FALSE(Infer(se, {F32({3, 3}), I64T({2, 3}), F32({3, 2})}).ok());
  se.attrs["reduction"] = Attribute::String("avg");
  EXPECT_FALSE(Infer(se, {F32({3, 3}), I64T({2, 3}), F32({2, 3})}).ok());

  Node snd = MakeNode("ScatterND", 16, 3);
  EXPECT_TRUE(Infer(snd, {F32({4, 4, 4}), I64T({2, 1}), F32({2, 4, 4})}).ok());
  EXPECT_FALSE(Infer(snd, {F32({4, 4, 4}), I64T({2, 1}), F32({2, 4})}).ok());
}

TEST(TensorInferTest, ExpandAndTile) {
  Node e = MakeNode("Expand", 13, 2);
  Tensor shape = I64({3}, {2, 1, 4});
  EXPECT_EQ(Dims(InferConst(e, F32({3, 1}), {&shape})), (std::vector<int64_t>{2, 3, 4}));
  Tensor bad = I64({1}, {4});
  EXPECT_FALSE(InferConst(e, F32({3}), {&bad}).ok());

  Node t = MakeNode("Tile", 13, 2);
  Tensor reps = I64({2}, {2, 3});
  EXPECT_EQ(Dims(InferConst(t, F32({4, 5}), {&reps})), (std::vector<int64_t>{8, 15}));
  auto r = Infer(t, {F32({4, 5}), I64T({2})});
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(TensorInferTest, PadAttributeInputAndAxesForms) {
  Node old_form = MakeNode("Pad", 10, 1);
  old_form.attrs["pads"] = Attribute::Ints({1, 0, 2, 3});
  EXPECT_EQ(Dims(Infer(old_form, {F32({2, 2})})), (std::vector<int64_t>{5, 5}));

  Node new_form = MakeNode("Pad", 13, 2);
  Tensor pads = I64({4}, {0, -1, 0, 2});
  EXPECT_EQ(Dims(InferConst(new_form, F32({2, 4}), {&pads})), (std::vector<int64_t>{2, 5}));

  Node axes_form = MakeNode("Pad", 18, 4);
  Tensor p2 = I64({2}, {1, 1});
  Tensor axes = I64({1}, {-1});
  EXPECT_EQ(Dims(InferConst(axes_form, F32({2, 4}), {&p2, nullptr, &axes})),
            (std::vector<int64_t>{2, 6}));

  new_form.attrs["mode"] = Attribute::String("wrap");
  EXPECT_EQ(InferConst(new_form, F32({2, 4}), {&pads}).status().code(), StatusCode::kUnsupported);
}

TEST(TensorInferTest, ShapeStartEndAndSize) {
  Node n = MakeNode("Shape", 15, 1);
  n.attrs["start"] = Attribute::Int(-2);
  auto r = Infer(n, {F32({2, 3, 4})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], I64T({2}));
  n.attrs["end"] = Attribute::Int(-5);
  EXPECT_EQ(Dims(Infer(n, {F32({2, 3, 4})})), (std::vector<int64_t>{0}));

  Node s = MakeNode("Size", 13, 1);
  r = Infer(s, {F32({2, 3})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], I64T({}));
}

TEST(TensorInferTest, GeneratorsNeedConstants) {
  Node cos = MakeNode("ConstantOfShape", 9, 1);
  Tensor shape = I64({2}, {2, 3});
  cos.attrs["value"] =
      Attribute::FromTensor(Tensor::FromVector(DType::kI32, {1}, std::vector<int32_t>{7}));
  auto r =
      InferNode(cos, std::vector<TensorType>{TypeOf(shape)}, std::vector<const Tensor*>{&shape});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kI32, {2, 3}}));

  Node range = MakeNode("Range", 11, 3);
  Tensor a = F32T({}, {1}), b = F32T({}, {2}), d = F32T({}, {0.3f});
  r = InferNode(range, std::vector<TensorType>{F32({}), F32({}), F32({})},
                std::vector<const Tensor*>{&a, &b, &d});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({4}));  // 1, 1.3, 1.6, 1.9
  r = Infer(range, {F32({}), F32({}), F32({})});
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("node 't0' (Range)"), std::string::npos);

  Node nz = MakeNode("NonZero", 13, 1);
  Tensor x = F32T({2, 2}, {1, 0, 0, 3});
  r = InferNode(nz, std::vector<TensorType>{TypeOf(x)}, std::vector<const Tensor*>{&x});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], I64T({2, 2}));
  EXPECT_EQ(Infer(nz, {F32({2, 2})}).status().code(), StatusCode::kUnsupported);
}

TEST(TensorInferTest, EyeLikeOneHotCompressTrilu) {
  Node eye = MakeNode("EyeLike", 9, 1);
  eye.attrs["dtype"] = Attribute::Int(11);
  auto r = Infer(eye, {F32({3, 4})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], (TensorType{DType::kF64, {3, 4}}));
  EXPECT_FALSE(Infer(eye, {F32({3})}).ok());

  Node oh = MakeNode("OneHot", 11, 3);
  oh.attrs["axis"] = Attribute::Int(0);
  Tensor depth = F32T({}, {5});
  r = InferNode(oh, std::vector<TensorType>{I64T({2, 3}), F32({}), F32({2})},
                std::vector<const Tensor*>{nullptr, &depth, nullptr});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({5, 2, 3}));

  Node c = MakeNode("Compress", 11, 2);
  c.attrs["axis"] = Attribute::Int(1);
  Tensor cond = Tensor::FromVector(DType::kBool, {2}, std::vector<uint8_t>{0, 1});
  r = InferNode(c, std::vector<TensorType>{F32({3, 4}), TypeOf(cond)},
                std::vector<const Tensor*>{nullptr, &cond});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({3, 1}));

  Node t = MakeNode("Trilu", 14, 1);
  EXPECT_FALSE(Infer(t, {F32({4})}).ok());
}

TEST(TensorInferTest, DepthSpaceRearrangement) {
  Node d2s = MakeNode("DepthToSpace", 13, 1);
  d2s.attrs["blocksize"] = Attribute::Int(2);
  EXPECT_EQ(Dims(Infer(d2s, {F32({1, 8, 3, 4})})), (std::vector<int64_t>{1, 2, 6, 8}));
  EXPECT_FALSE(Infer(d2s, {F32({1, 6, 3, 4})}).ok());
  Node s2d = MakeNode("SpaceToDepth", 13, 1);
  s2d.attrs["blocksize"] = Attribute::Int(2);
  EXPECT_EQ(Dims(Infer(s2d, {F32({1, 2, 6, 8})})), (std::vector<int64_t>{1, 8, 3, 4}));
  EXPECT_FALSE(Infer(s2d, {F32({1, 2, 5, 8})}).ok());
}

TEST(TensorInferTest, ResizeScalesSizesAndOpsetForms) {
  Node r13 = MakeNode("Resize", 13, 3);
  Tensor scales = F32T({4}, {1, 1, 0.6f, 2.5f});
  auto r = InferConst(r13, F32({1, 1, 4, 3}), {nullptr, &scales});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], F32({1, 1, 2, 7}));  // floor(2.4), floor(7.5)

  Node sized = MakeNode("Resize", 13, 4);
  Tensor sizes = I64({4}, {1, 1, 9, 2});
  EXPECT_EQ(Dims(InferConst(sized, F32({1, 1, 4, 3}), {nullptr, nullptr, &sizes})),
            (std::vector<int64_t>{1, 1, 9, 2}));

  Node aspect = MakeNode("Resize", 18, 4);
  aspect.attrs["axes"] = Attribute::Ints({2, 3});
  aspect.attrs["keep_aspect_ratio_policy"] = Attribute::String("not_larger");
  Tensor hw = I64({2}, {8, 8});
  EXPECT_EQ(Dims(InferConst(aspect, F32({1, 3, 4, 2}), {nullptr, nullptr, &hw})),
            (std::vector<int64_t>{1, 3, 8, 4}));
  aspect.attrs["keep_aspect_ratio_policy"] = Attribute::String("not_smaller");
  EXPECT_EQ(Dims(InferConst(aspect, F32({1, 3, 4, 2}), {nullptr, nullptr, &hw})),
            (std::vector<int64_t>{1, 3, 16, 8}));

  Node r10 = MakeNode("Resize", 10, 2);
  Tensor s10 = F32T({2}, {2, 3});
  EXPECT_EQ(Dims(InferConst(r10, F32({2, 2}), {&s10})), (std::vector<int64_t>{4, 6}));

  Node up7 = MakeNode("Upsample", 7, 1);
  up7.attrs["scales"] = Attribute::Floats({1, 2});
  EXPECT_EQ(Dims(Infer(up7, {F32({2, 2})})), (std::vector<int64_t>{2, 4}));

  // Neither or both of scales/sizes.
  EXPECT_FALSE(InferConst(sized, F32({1, 1, 4, 3}), {nullptr, &scales, &sizes}).ok());
  r = Infer(r13, {F32({1, 1, 4, 3}), F32({0}), F32({4})});
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("'scales' must be a constant"), std::string::npos);
  r13.attrs["coordinate_transformation_mode"] = Attribute::String("bogus");
  EXPECT_FALSE(InferConst(r13, F32({1, 1, 4, 3}), {nullptr, &scales}).ok());
}

}  // namespace
}  // namespace edgerun
