// Shape and type inference of com.edgerun ChannelShuffle (ops/tensor.cc): the output keeps the
// input's dtype and dims for any axis (default 1, negative axes count from the end); several
// inputs concatenate along the axis and several outputs split it; a group that does not divide the
// axis, a missing or non-positive group, an axis out of range, inputs that do not concatenate or
// outputs that do not split the axis evenly is an error naming the node.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "ops/op_def.h"
#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

Node Shuffle(int64_t group, std::optional<int64_t> axis) {
  Node n = testing::MakeNode("ChannelShuffle", 1, 1, 1, "shuffle7");
  n.domain = std::string(kEdgerunDomain);
  if (group != 0) n.attrs["group"] = Attribute::Int(group);
  if (axis) n.attrs["axis"] = Attribute::Int(*axis);
  return n;
}

Expected<std::vector<TensorType>> Infer(const Node& n, const TensorType& x) {
  const std::vector<TensorType> in = {x};
  const std::vector<const Tensor*> consts = {nullptr};
  return InferNode(n, in, consts);
}

void ExpectSameType(const Node& n, const TensorType& x) {
  SCOPED_TRACE(DimsToString(x.dims));
  auto r = Infer(n, x);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], x);
}

void ExpectError(const Node& n, const TensorType& x, const std::string& what) {
  SCOPED_TRACE(DimsToString(x.dims));
  auto r = Infer(n, x);
  ASSERT_FALSE(r.ok()) << "expected an error mentioning '" << what << "'";
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("node 'shuffle7' (com.edgerun::ChannelShuffle)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(what), std::string::npos) << msg;
}

TEST(ChannelShuffleInferTest, OutputKeepsDtypeAndDims) {
  ExpectSameType(Shuffle(2, 1), {DType::kF32, {1, 8, 5, 7}});
  ExpectSameType(Shuffle(3, std::nullopt), {DType::kF32, {2, 6, 3, 3}});  // axis defaults to 1
  ExpectSameType(Shuffle(4, 3), {DType::kI32, {1, 5, 7, 12}});
  ExpectSameType(Shuffle(4, -1), {DType::kI32, {1, 5, 7, 12}});
  ExpectSameType(Shuffle(5, 0), {DType::kU8, {10, 3}});
  ExpectSameType(Shuffle(3, -2), {DType::kI64, {2, 9, 4}});
  ExpectSameType(Shuffle(1, 1), {DType::kF32, {1, 7, 2, 2}});  // one group: a copy
  ExpectSameType(Shuffle(7, 1), {DType::kF32, {1, 7, 2, 2}});  // C/group == 1: a copy
  ExpectSameType(Shuffle(2, 2), {DType::kF32, {1, 3, 0, 2}});  // empty elsewhere is fine
}

TEST(ChannelShuffleInferTest, GroupThatDoesNotDivideTheAxisNamesTheNode) {
  ExpectError(Shuffle(3, 1), {DType::kF32, {1, 8, 4, 4}}, "not divisible by group 3");
  ExpectError(Shuffle(3, 1), {DType::kF32, {1, 8, 4, 4}}, "size 8");
  // The axis checked is the one named, not channel 1: 6 % 4 != 0 on the last axis.
  ExpectError(Shuffle(4, -1), {DType::kF32, {1, 8, 4, 6}}, "not divisible by group 4");
  ExpectError(Shuffle(16, 1), {DType::kF32, {1, 8, 4, 4}}, "not divisible by group 16");
}

TEST(ChannelShuffleInferTest, MissingOrNonPositiveGroupIsAnError) {
  ExpectError(Shuffle(0, 1), {DType::kF32, {1, 8, 4, 4}}, "group");
  ExpectError(Shuffle(-2, 1), {DType::kF32, {1, 8, 4, 4}}, "group -2");
}

TEST(ChannelShuffleInferTest, AxisOutOfRangeIsAnError) {
  for (int64_t axis : {4, -5, 9}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    auto r = Infer(Shuffle(2, axis), {DType::kF32, {1, 8, 4, 4}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("shuffle7"), std::string::npos) << r.status().message();
  }
}

TEST(ChannelShuffleInferTest, WrongAttributeKindIsAnError) {
  Node n = Shuffle(2, 1);
  n.attrs["group"] = Attribute::Float(2.0f);
  auto r = Infer(n, {DType::kF32, {1, 8, 4, 4}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("group"), std::string::npos) << r.status().message();
}

TEST(ChannelShuffleInferTest, OnlyInTheEdgerunDomain) {
  Node onnx = Shuffle(2, 1);
  onnx.domain = "";
  onnx.opset = 17;
  EXPECT_FALSE(Infer(onnx, {DType::kF32, {1, 8, 4, 4}}).ok());
}

Expected<std::vector<TensorType>> InferMany(const std::vector<TensorType>& in, int64_t group,
                                            int64_t axis) {
  Node n = Shuffle(group, axis);
  n.inputs.clear();
  for (size_t i = 0; i < in.size(); ++i) n.inputs.push_back(static_cast<int>(i));
  n.outputs = {static_cast<int>(in.size())};
  const std::vector<const Tensor*> consts(in.size(), nullptr);
  return InferNode(n, in, consts);
}

TEST(ChannelShuffleInferTest, SeveralInputsConcatenateAlongTheAxis) {
  auto r = InferMany({{DType::kF32, {1, 4, 4, 58}}, {DType::kF32, {1, 4, 4, 58}}}, 2, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kF32, {1, 4, 4, 116}}));
  // Any split of the channels, as Concat allows; the group divides the total.
  r = InferMany({{DType::kU8, {2, 3, 5}}, {DType::kU8, {2, 1, 5}}, {DType::kU8, {2, 2, 5}}}, 3, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0], (TensorType{DType::kU8, {2, 6, 5}}));
}

TEST(ChannelShuffleInferTest, InputsThatDoNotConcatenateAreAnError) {
  for (const auto& in : std::vector<std::vector<TensorType>>{
           {{DType::kF32, {1, 4, 4, 8}}, {DType::kF32, {1, 4, 5, 8}}},  // another dim differs
           {{DType::kF32, {1, 4, 4, 8}}, {DType::kI32, {1, 4, 4, 8}}},  // dtype differs
           {{DType::kF32, {1, 4, 4, 8}}, {DType::kF32, {4, 4, 8}}}}) {  // rank differs
    auto r = InferMany(in, 2, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("shuffle7"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("input 1"), std::string::npos) << r.status().message();
  }
  auto r = InferMany({{DType::kF32, {1, 3}}, {DType::kF32, {1, 2}}}, 2, 1);  // 5 channels
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("size 5 is not divisible by group 2"), std::string::npos)
      << r.status().message();
}

TEST(ChannelShuffleInferTest, SeveralOutputsSplitTheAxisEvenly) {
  const std::vector<TensorType> in = {{DType::kF32, {1, 4, 4, 116}}};
  const std::vector<const Tensor*> consts = {nullptr};
  Node halves = Shuffle(2, 3);
  halves.outputs = {1, 2};
  auto r = InferNode(halves, in, consts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  for (const TensorType& t : *r) EXPECT_EQ(t, (TensorType{DType::kF32, {1, 4, 4, 58}}));
  Node thirds = Shuffle(2, 3);
  thirds.outputs = {1, 2, 3};  // 116 channels do not split in three
  r = InferNode(thirds, in, consts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shuffle7"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("does not split evenly into 3 outputs"), std::string::npos)
      << r.status().message();
}

TEST(ChannelShuffleInferTest, ArityIsChecked) {
  Node no_input = Shuffle(2, 1);
  no_input.inputs = {};
  auto r = InferNode(no_input, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shuffle7"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace edgerun
