#include "util/graph_builders.h"

#include <gtest/gtest.h>

#include <random>

#include "passes/graph_eval.h"
#include "runtime/evaluate_node.h"
#include "util/compare.h"

namespace edgerun::testing {

Node MakeNode(const std::string& op, int opset, int num_inputs, int num_outputs,
              const std::string& name) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.opset = opset;
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back(i);
  for (int i = 0; i < num_outputs; ++i) n.outputs.push_back(num_inputs + i);
  return n;
}

int F32(Graph& g, const std::string& name, std::vector<int64_t> dims) {
  return g.AddValue(name, DType::kF32, ShapeFromDims(dims));
}

void ExpectSameGraphResults(const Graph& before, const Graph& after, uint32_t seed) {
  std::vector<Tensor> inputs;
  for (int v : before.inputs) {
    inputs.push_back(RandomF32(StaticDims(*before.values[v].shape), seed++));
  }
  Expected<std::vector<Tensor>> want = EvaluateGraph(before, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  Expected<std::vector<Tensor>> got = EvaluateGraph(after, inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    test_util::CompareResult r =
        test_util::AllClose((*got)[i].view(), (*want)[i].view(), 1e-4, 1e-5);
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message;
  }
}

const KernelDef* KernelOnPath(KernelPath path, const Node& node,
                              const std::vector<TensorType>& in) {
  const std::vector<const Tensor*> constants(in.size(), nullptr);
  Expected<std::vector<TensorType>> out = InferNode(node, in, constants);
  if (!out.ok()) return nullptr;
  const KernelPath order[] = {path};
  return SelectKernel(SupportContext{node, in, constants, *out}, order);
}

Tensor RandomF32(std::vector<int64_t> dims, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(NumElements(dims)));
  for (float& v : values) v = dist(rng);
  return Tensor::FromVector(DType::kF32, std::move(dims), values);
}

Model MakeSmallCnn() {
  Model m;
  m.path = "small_cnn";
  Graph& g = m.graph;
  g.opset_imports[""] = 17;
  const int x = g.AddValue("x", DType::kF32, ShapeFromDims({1, 3, 16, 16}));
  g.MarkInput(x);
  const int w1 = g.AddConstant("w1", RandomF32({8, 3, 3, 3}, 1));
  const int b1 = g.AddConstant("b1", RandomF32({8}, 2));
  const int c1 = g.AddValue("c1");
  Node& conv1 = g.AddNode("conv1", "Conv", {x, w1, b1}, {c1});
  conv1.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  const int scale = g.AddConstant("bn_scale", RandomF32({8}, 3));
  const int bias = g.AddConstant("bn_bias", RandomF32({8}, 4));
  const int mean = g.AddConstant("bn_mean", RandomF32({8}, 5));
  std::vector<float> var_values(8, 0.5f);
  const int var = g.AddConstant("bn_var", Tensor::FromVector(DType::kF32, {8}, var_values));
  const int bn = g.AddValue("bn");
  g.AddNode("bn1", "BatchNormalization", {c1, scale, bias, mean, var}, {bn});
  const int r1 = g.AddValue("r1");
  g.AddNode("relu1", "Relu", {bn}, {r1});
  const int p1 = g.AddValue("p1");
  Node& pool = g.AddNode("pool1", "MaxPool", {r1}, {p1});
  pool.attrs["kernel_shape"] = Attribute::Ints({2, 2});
  pool.attrs["strides"] = Attribute::Ints({2, 2});
  const int wd = g.AddConstant("wd", RandomF32({8, 1, 3, 3}, 6));
  const int d1 = g.AddValue("d1");
  Node& dw = g.AddNode("dw1", "Conv", {p1, wd}, {d1});
  dw.attrs["group"] = Attribute::Int(8);
  dw.attrs["pads"] = Attribute::Ints({1, 1, 1, 1});
  const int a1 = g.AddValue("a1");
  g.AddNode("add1", "Add", {d1, p1}, {a1});
  const int lo =
      g.AddConstant("clip_lo", Tensor::FromVector(DType::kF32, {}, std::vector<float>{0}));
  const int hi =
      g.AddConstant("clip_hi", Tensor::FromVector(DType::kF32, {}, std::vector<float>{6}));
  const int k1 = g.AddValue("k1");
  g.AddNode("clip1", "Clip", {a1, lo, hi}, {k1});
  const int gp = g.AddValue("gp");
  g.AddNode("gap", "GlobalAveragePool", {k1}, {gp});
  const int fl = g.AddValue("fl");
  g.AddNode("flatten", "Flatten", {gp}, {fl});
  const int wf = g.AddConstant("wf", RandomF32({10, 8}, 7));
  const int bf = g.AddConstant("bf", RandomF32({10}, 8));
  const int fc = g.AddValue("fc");
  Node& gemm = g.AddNode("fc", "Gemm", {fl, wf, bf}, {fc});
  gemm.attrs["transB"] = Attribute::Int(1);
  const int y = g.AddValue("y");
  g.AddNode("softmax", "Softmax", {fc}, {y});
  g.MarkOutput(y);
  return m;
}

Model MakeShapeSubgraphModel() {
  Model m;
  m.path = "shape_subgraph";
  Graph& g = m.graph;
  g.opset_imports[""] = 13;
  const int x = g.AddValue("x", DType::kF32, Shape{Dim::Symbolic("N"), Dim(4)});
  g.MarkInput(x);
  const int shape = g.AddValue("shape");
  g.AddNode("shape", "Shape", {x}, {shape});
  const int idx =
      g.AddConstant("zero", Tensor::FromVector(DType::kI64, {}, std::vector<int64_t>{0}));
  const int n = g.AddValue("n");
  Node& gather = g.AddNode("gather", "Gather", {shape, idx}, {n});
  gather.attrs["axis"] = Attribute::Int(0);
  const int axes =
      g.AddConstant("axes", Tensor::FromVector(DType::kI64, {1}, std::vector<int64_t>{0}));
  const int n1 = g.AddValue("n1");
  g.AddNode("unsqueeze", "Unsqueeze", {n, axes}, {n1});
  const int rest =
      g.AddConstant("rest", Tensor::FromVector(DType::kI64, {1}, std::vector<int64_t>{-1}));
  const int target = g.AddValue("target");
  Node& concat = g.AddNode("concat", "Concat", {n1, rest}, {target});
  concat.attrs["axis"] = Attribute::Int(0);
  const int reshaped = g.AddValue("reshaped");
  g.AddNode("reshape", "Reshape", {x, target}, {reshaped});
  const int y = g.AddValue("y");
  g.AddNode("relu", "Relu", {reshaped}, {y});
  g.MarkOutput(y);
  return m;
}

}  // namespace edgerun::testing
