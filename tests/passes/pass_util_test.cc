// GraphRewriter::ConstantToOverwrite: a constant's data may be rewritten in place only by its sole
// reader, and only when nothing outside the graph shares the buffer; bytes still in the model
// file are not copied into place first.
#include "passes/pass_util.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::F32;

// x -> Mul(x, c) -> y, with c a 4-element constant; optionally a second Mul reads c too.
Graph MulGraph(bool second_reader) {
  Graph g;
  const int x = F32(g, "x", {4});
  const int c =
      g.AddConstant("c", Tensor::FromVector(DType::kF32, {4}, std::vector<float>(4, 2.f)));
  const int y = F32(g, "y", {4});
  g.AddNode("mul", "Mul", {x, c}, {y});
  g.MarkInput(x);
  g.MarkOutput(y);
  if (second_reader) {
    const int z = F32(g, "z", {4});
    g.AddNode("mul2", "Mul", {x, c}, {z});
    g.MarkOutput(z);
  }
  return g;
}

TEST(GraphRewriterTest, ConstantToOverwriteOnlyForTheSoleReaderOfAnUnsharedBuffer) {
  Graph g = MulGraph(false);
  const int c = g.FindValue("c");
  {
    GraphRewriter rw(g);
    EXPECT_EQ(rw.ConstantToOverwrite(c, 0), g.values[c].constant->raw());
    EXPECT_EQ(rw.ConstantToOverwrite(g.FindValue("x"), 0), nullptr);  // not a constant
    EXPECT_EQ(rw.ConstantToOverwrite(c, 1), nullptr);                 // no such reader
  }
  {
    const Graph copy = g;  // the copy shares the tensor: neither may write it
    GraphRewriter rw(g);
    EXPECT_EQ(rw.ConstantToOverwrite(c, 0), nullptr);
  }
  {
    const Tensor other = *g.values[c].constant;  // another Tensor shares the buffer
    GraphRewriter rw(g);
    EXPECT_EQ(rw.ConstantToOverwrite(c, 0), nullptr);
  }
  {
    auto keep = std::make_shared<std::vector<float>>(4, 2.f);
    g.values[c].constant = std::make_shared<const Tensor>(
        Tensor::Wrap(DType::kF32, {4}, keep->data(), keep));  // may be read-only memory
    GraphRewriter rw(g);
    EXPECT_EQ(rw.ConstantToOverwrite(c, 0), nullptr);
  }
  {
    // Still in the "file": the place is handed out untouched, the source stays readable, and no
    // later read copies the file over what was written.
    std::vector<std::byte> file(4 * sizeof(float) + 1);
    const float values[4] = {1, 2, 3, 4};
    std::memcpy(file.data() + 1, values, sizeof(values));  // misaligned, as in a protobuf
    auto place = std::make_shared<std::vector<float>>(4, -7.f);
    float* dest = place->data();
    g.values[c].constant = std::make_shared<const Tensor>(Tensor::WrapDeferredCopy(
        DType::kF32, {4}, dest, std::move(place), file.data() + 1, std::make_shared<int>(0)));
    const std::byte* source = g.values[c].constant->UnalignedBytes();
    EXPECT_EQ(source, file.data() + 1);
    GraphRewriter rw(g);
    float* w = static_cast<float*>(rw.ConstantToOverwrite(c, 0));
    ASSERT_EQ(w, dest);
    EXPECT_EQ(w[0], -7.f);  // not copied in
    EXPECT_FALSE(g.values[c].constant->copy_pending());
    for (int i = 0; i < 4; ++i) {
      float v;
      std::memcpy(&v, source + i * sizeof(float), sizeof(v));
      w[i] = 10 * v;
    }
    EXPECT_EQ(g.values[c].constant->ToFloatVector(), (std::vector<float>{10, 20, 30, 40}));
  }
  Graph shared = MulGraph(true);
  GraphRewriter rw(shared);
  EXPECT_EQ(rw.ConstantToOverwrite(shared.FindValue("c"), 0), nullptr);  // two readers
}

}  // namespace
}  // namespace edgerun
