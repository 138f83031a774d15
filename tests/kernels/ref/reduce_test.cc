// Reference reduce kernels (kernels/ref/reduce.cc): the ten reductions, ArgMax/ArgMin and
// CumSum, checked against straightforward re-computations in the test.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"

namespace edgerun {
namespace {

using testing::MakeNode;

std::vector<double> RandomValues(int64_t n, double lo, double hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = dist(rng);
  return v;
}

// Builds a tensor of `dtype` from doubles (truncated for integer types).
Tensor MakeTensor(DType dtype, std::vector<int64_t> dims, const std::vector<double>& v) {
  Tensor t = Tensor::Create(dtype, std::move(dims)).value();
  for (size_t i = 0; i < v.size(); ++i) {
    switch (dtype) {
      case DType::kF32:
        t.mutable_data<float>()[i] = static_cast<float>(v[i]);
        break;
      case DType::kF64:
        t.mutable_data<double>()[i] = v[i];
        break;
      case DType::kF16:
        t.mutable_data<uint16_t>()[i] = FloatToHalf(static_cast<float>(v[i]));
        break;
      case DType::kI32:
        t.mutable_data<int32_t>()[i] = static_cast<int32_t>(v[i]);
        break;
      case DType::kI64:
        t.mutable_data<int64_t>()[i] = static_cast<int64_t>(v[i]);
        break;
      case DType::kU8:
        t.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
        break;
      case DType::kI8:
        t.mutable_data<int8_t>()[i] = static_cast<int8_t>(v[i]);
        break;
      case DType::kU32:
        t.mutable_data<uint32_t>()[i] = static_cast<uint32_t>(v[i]);
        break;
      default:
        ADD_FAILURE() << "unhandled dtype";
        break;
    }
  }
  return t;
}

double ElementAsDouble(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::kF16) return HalfToFloat(t.data<uint16_t>()[i]);
  return t.ScalarAsDouble(i);
}

// Row-major coordinates of flat index i.
std::vector<int64_t> Coords(int64_t i, const std::vector<int64_t>& dims) {
  std::vector<int64_t> c(dims.size());
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    c[d] = i % dims[d];
    i /= dims[d];
  }
  return c;
}

// Groups input elements by output position (reduced coords zeroed), then applies `op` to each
// group. Returns the values in row-major order of the keepdims output.
std::vector<double> NaiveReduce(const std::string& op, const std::vector<int64_t>& dims,
                                const std::vector<double>& x, const std::vector<bool>& reduced) {
  std::vector<int64_t> out_dims = dims;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (reduced[d]) out_dims[d] = 1;
  }
  std::vector<std::vector<double>> groups(NumElements(out_dims));
  for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i) {
    std::vector<int64_t> c = Coords(i, dims);
    int64_t o = 0;
    for (size_t d = 0; d < dims.size(); ++d) o = o * out_dims[d] + (reduced[d] ? 0 : c[d]);
    groups[o].push_back(x[i]);
  }
  std::vector<double> out;
  for (const auto& g : groups) {
    double r = 0;
    if (op == "ReduceSum") {
      for (double v : g) r += v;
    } else if (op == "ReduceMean") {
      for (double v : g) r += v;
      r /= static_cast<double>(g.size());
    } else if (op == "ReduceMax") {
      r = -INFINITY;
      for (double v : g) r = std::max(r, v);
    } else if (op == "ReduceMin") {
      r = INFINITY;
      for (double v : g) r = std::min(r, v);
    } else if (op == "ReduceProd") {
      r = 1;
      for (double v : g) r *= v;
    } else if (op == "ReduceL1") {
      for (double v : g) r += std::fabs(v);
    } else if (op == "ReduceL2") {
      for (double v : g) r += v * v;
      r = std::sqrt(r);
    } else if (op == "ReduceLogSum") {
      for (double v : g) r += v;
      r = std::log(r);
    } else if (op == "ReduceLogSumExp") {
      for (double v : g) r += std::exp(v);
      r = std::log(r);
    } else if (op == "ReduceSumSquare") {
      for (double v : g) r += v * v;
    }
    out.push_back(r);
  }
  return out;
}

bool AxesAreInput(const std::string& op, int opset) {
  return opset >= 18 || (op == "ReduceSum" && opset >= 13);
}

constexpr const char* kReduceOps[] = {
    "ReduceSum", "ReduceMean", "ReduceMax",    "ReduceMin",       "ReduceProd",
    "ReduceL1",  "ReduceL2",   "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};

// Runs `op` over `axes` (empty: all) in the opset's form and compares with NaiveReduce.
void CheckReduce(const std::string& op, int opset, const std::vector<int64_t>& dims,
                 const std::vector<int64_t>& axes, bool keepdims, DType dtype = DType::kF32,
                 double tol = 1e-5) {
  SCOPED_TRACE(op + " opset " + std::to_string(opset) + " dims " + DimsToString(dims) +
               " keepdims " + std::to_string(keepdims) + " dtype " + std::string(DTypeName(dtype)));
  const int64_t n = NumElements(dims);
  // Positive values keep ReduceLogSum defined; ReduceProd stays near 1.
  const bool positive = op == "ReduceLogSum" || op == "ReduceProd";
  std::vector<double> x = IsFloat(dtype)
                              ? RandomValues(n, positive ? 0.5 : -2.0, positive ? 1.5 : 2.0, 7)
                              : RandomValues(n, positive ? 1 : -20, positive ? 3 : 20, 7);
  Tensor data = MakeTensor(dtype, dims, x);
  for (int64_t i = 0; i < n; ++i) x[i] = ElementAsDouble(data, i);  // after rounding/truncation

  Tensor axes_t = Tensor::FromVector(DType::kI64, {static_cast<int64_t>(axes.size())}, axes);
  Node node = MakeNode(op, opset, AxesAreInput(op, opset) ? 2 : 1);
  node.attrs["keepdims"] = Attribute::Int(keepdims ? 1 : 0);
  std::vector<const Tensor*> inputs = {&data};
  if (AxesAreInput(op, opset)) {
    inputs.push_back(&axes_t);
  } else if (!axes.empty()) {
    node.attrs["axes"] = Attribute::Ints(axes);
  }
  auto out = EvaluateNode(node, inputs);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& y = (*out)[0];
  EXPECT_EQ(y.dtype(), dtype);

  std::vector<bool> reduced(dims.size(), axes.empty());
  for (int64_t a : axes) reduced[a < 0 ? a + dims.size() : a] = true;
  std::vector<int64_t> want_dims;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (!reduced[d] || keepdims) want_dims.push_back(reduced[d] ? 1 : dims[d]);
  }
  ASSERT_EQ(y.dims(), want_dims);
  std::vector<double> want = NaiveReduce(op, dims, x, reduced);
  ASSERT_EQ(y.num_elements(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    double w = want[i];
    if (IsInteger(dtype)) w = std::trunc(w);
    EXPECT_NEAR(ElementAsDouble(y, i), w, tol * std::max(1.0, std::fabs(w))) << "at " << i;
  }
}

TEST(RefReduceTest, AllOpsAllAxesF32) {
  const std::vector<std::vector<int64_t>> axes_sets = {{},     {0},    {1},    {2},      {-1},
                                                       {0, 2}, {2, 0}, {1, 2}, {0, 1, 2}};
  for (const char* op : kReduceOps) {
    for (const auto& axes : axes_sets) {
      for (bool keepdims : {true, false}) CheckReduce(op, 13, {3, 4, 5}, axes, keepdims);
    }
  }
}

TEST(RefReduceTest, EveryOpsetForm) {
  for (const char* op : kReduceOps) {
    for (int opset : {1, 11, 13, 18}) {
      CheckReduce(op, opset, {2, 3, 4}, {1}, true);
      CheckReduce(op, opset, {2, 3, 4}, {0, -1}, false);
      CheckReduce(op, opset, {2, 3, 4}, {}, false);
    }
  }
}

TEST(RefReduceTest, Rank4AndRank1) {
  for (const char* op : kReduceOps) {
    CheckReduce(op, 13, {2, 3, 4, 5}, {1, 3}, true);
    CheckReduce(op, 13, {2, 3, 4, 5}, {0, 2}, false);
    CheckReduce(op, 13, {2, 1, 4, 1}, {1, 2}, true);
    CheckReduce(op, 13, {7}, {0}, false);
  }
}

TEST(RefReduceTest, DoubleHalfAndIntegerTypes) {
  for (const char* op : kReduceOps) {
    CheckReduce(op, 13, {3, 4, 5}, {1}, true, DType::kF64, 1e-12);
    CheckReduce(op, 13, {3, 4, 5}, {0, 2}, false, DType::kF16, 2e-2);
  }
  for (const char* op : {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                         "ReduceSumSquare", "ReduceMean"}) {
    for (DType t : {DType::kI32, DType::kI64}) {
      CheckReduce(op, 13, {3, 4, 5}, {1}, true, t, 0);
      CheckReduce(op, 13, {3, 4, 5}, {}, false, t, 0);
    }
  }
  for (const char* op : {"ReduceMax", "ReduceMin"}) {
    CheckReduce(op, 13, {3, 4, 5}, {2}, false, DType::kI8, 0);
  }
  CheckReduce("ReduceMax", 13, {3, 4}, {0}, false, DType::kU8, 0);
  CheckReduce("ReduceMin", 13, {3, 4}, {1}, true, DType::kU32, 0);
  CheckReduce("ReduceProd", 13, {3, 4}, {1}, true, DType::kU32, 0);
}

TEST(RefReduceTest, IntegerMeanTruncatesTowardZero) {
  Tensor data = Tensor::FromVector(DType::kI32, {2, 2}, std::vector<int32_t>{1, 2, -1, -2});
  Node node = MakeNode("ReduceMean", 13, 1);
  node.attrs["axes"] = Attribute::Ints({1});
  auto out = EvaluateNode(node, std::vector<const Tensor*>{&data});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].data<int32_t>()[0], 1);   // 3/2
  EXPECT_EQ((*out)[0].data<int32_t>()[1], -1);  // -3/2
}

TEST(RefReduceTest, IntegerSumWrapsAround) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  Tensor data = Tensor::FromVector(DType::kI64, {2}, std::vector<int64_t>{big, 2});
  auto out = EvaluateNode(MakeNode("ReduceSum", 11, 1), std::vector<const Tensor*>{&data});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].data<int64_t>()[0], std::numeric_limits<int64_t>::min() + 1);
}

TEST(RefReduceTest, NoopWithEmptyAxesCopiesInput) {
  const std::vector<float> x = {1, -2, 3, -4, 5, -6};
  Tensor data = Tensor::FromVector(DType::kF32, {3, 2}, x);
  Tensor empty_axes = Tensor::FromVector(DType::kI64, {0}, std::vector<int64_t>{});
  for (const char* op : {"ReduceSum", "ReduceL1"}) {
    Node node = MakeNode(op, 18, 2);
    node.attrs["noop_with_empty_axes"] = Attribute::Int(1);
    auto out = EvaluateNode(node, std::vector<const Tensor*>{&data, &empty_axes});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ((*out)[0].dims(), (std::vector<int64_t>{3, 2}));
    for (int i = 0; i < 6; ++i) EXPECT_EQ((*out)[0].data<float>()[i], x[i]) << op;

    // Without the flag, empty axes reduce everything.
    node.attrs["noop_with_empty_axes"] = Attribute::Int(0);
    out = EvaluateNode(node, std::vector<const Tensor*>{&data, &empty_axes});
    ASSERT_TRUE(out.ok());
    ASSERT_EQ((*out)[0].dims(), (std::vector<int64_t>{1, 1}));
    EXPECT_FLOAT_EQ((*out)[0].data<float>()[0], std::string(op) == "ReduceSum" ? -3.0f : 21.0f);
  }
}

TEST(RefReduceTest, OmittedAxesInputReducesAll) {
  Tensor data = Tensor::FromVector(DType::kF32, {2, 2}, std::vector<float>{1, 2, 3, 4});
  Node node = MakeNode("ReduceSum", 13, 2);
  node.inputs[1] = Node::kNoValue;
  auto out = EvaluateNode(node, std::vector<const Tensor*>{&data, nullptr});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FLOAT_EQ((*out)[0].data<float>()[0], 10.0f);
}

TEST(RefReduceTest, EmptySetReductions) {
  Tensor data = Tensor::Create(DType::kF32, {2, 0, 4}).value();
  Tensor axes = Tensor::FromVector(DType::kI64, {1}, std::vector<int64_t>{1});
  const struct {
    const char* op;
    float want;
  } cases[] = {
      {"ReduceSum", 0.0f},       {"ReduceProd", 1.0f},        {"ReduceMax", -INFINITY},
      {"ReduceMin", INFINITY},   {"ReduceL1", 0.0f},          {"ReduceL2", 0.0f},
      {"ReduceSumSquare", 0.0f}, {"ReduceLogSum", -INFINITY}, {"ReduceLogSumExp", -INFINITY}};
  for (const auto& c : cases) {
    Node node = MakeNode(c.op, 18, 2);
    auto out = EvaluateNode(node, std::vector<const Tensor*>{&data, &axes});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ((*out)[0].dims(), (std::vector<int64_t>{2, 1, 4})) << c.op;
    for (int i = 0; i < 8; ++i) EXPECT_EQ((*out)[0].data<float>()[i], c.want) << c.op;
  }
  Node mean = MakeNode("ReduceMean", 18, 2);
  auto out = EvaluateNode(mean, std::vector<const Tensor*>{&data, &axes});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(std::isnan((*out)[0].data<float>()[0]));

  // Reducing the non-empty axes of an empty tensor gives an empty output.
  Tensor axes2 = Tensor::FromVector(DType::kI64, {1}, std::vector<int64_t>{2});
  out = EvaluateNode(MakeNode("ReduceSum", 13, 2), std::vector<const Tensor*>{&data, &axes2});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].dims(), (std::vector<int64_t>{2, 0, 1}));
}

TEST(RefReduceTest, LogSumExpIsStableForLargeInputs) {
  Tensor data = Tensor::FromVector(DType::kF32, {3}, std::vector<float>{1000, 1000, -INFINITY});
  auto out = EvaluateNode(MakeNode("ReduceLogSumExp", 13, 1), std::vector<const Tensor*>{&data});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NEAR((*out)[0].data<float>()[0], 1000.0f + std::log(2.0f), 1e-3);
}

TEST(RefReduceTest, MaxPropagatesNan) {
  Tensor data = Tensor::FromVector(DType::kF32, {3}, std::vector<float>{1, NAN, 3});
  for (const char* op : {"ReduceMax", "ReduceMin"}) {
    auto out = EvaluateNode(MakeNode(op, 13, 1), std::vector<const Tensor*>{&data});
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(std::isnan((*out)[0].data<float>()[0])) << op;
  }
}

// ArgMax / ArgMin.

std::vector<int64_t> NaiveArg(bool is_max, bool last, const std::vector<int64_t>& dims,
                              const std::vector<double>& x, int axis) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= dims[d];
  for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
  std::vector<int64_t> out;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = -1;
      for (int64_t k = 0; k < dims[axis]; ++k) {
        const double v = x[(o * dims[axis] + k) * inner + i];
        if (best < 0) {
          best = k;
          continue;
        }
        const double b = x[(o * dims[axis] + best) * inner + i];
        if ((is_max ? v > b : v < b) || (last && v == b)) best = k;
      }
      out.push_back(best);
    }
  }
  return out;
}

TEST(RefArgReduceTest, MatchesScanWithTies) {
  const std::vector<int64_t> dims = {3, 4, 5};
  // Few distinct values, so ties are common and select_last_index matters.
  std::vector<double> x = RandomValues(60, 0, 4, 11);
  for (double& v : x) v = std::floor(v);
  for (DType t : {DType::kF32, DType::kF64, DType::kI32, DType::kI64, DType::kU8}) {
    Tensor data = MakeTensor(t, dims, x);
    for (const char* op : {"ArgMax", "ArgMin"}) {
      for (int axis : {0, 1, 2, -1}) {
        for (int last : {0, 1}) {
          for (int keepdims : {0, 1}) {
            SCOPED_TRACE(std::string(op) + " axis " + std::to_string(axis) + " last " +
                         std::to_string(last) + " keepdims " + std::to_string(keepdims));
            Node node = MakeNode(op, 13, 1);
            node.attrs["axis"] = Attribute::Int(axis);
            node.attrs["keepdims"] = Attribute::Int(keepdims);
            node.attrs["select_last_index"] = Attribute::Int(last);
            auto out = EvaluateNode(node, std::vector<const Tensor*>{&data});
            ASSERT_TRUE(out.ok()) << out.status().ToString();
            const int a = axis < 0 ? axis + 3 : axis;
            std::vector<int64_t> want_dims = dims;
            if (keepdims) {
              want_dims[a] = 1;
            } else {
              want_dims.erase(want_dims.begin() + a);
            }
            ASSERT_EQ((*out)[0].dims(), want_dims);
            ASSERT_EQ((*out)[0].dtype(), DType::kI64);
            std::vector<int64_t> want = NaiveArg(std::string(op) == "ArgMax", last, dims, x, a);
            for (size_t i = 0; i < want.size(); ++i) {
              EXPECT_EQ((*out)[0].data<int64_t>()[i], want[i]) << "at " << i;
            }
          }
        }
      }
    }
  }
}

TEST(RefArgReduceTest, DefaultsOpset11) {
  // axis 0, keepdims 1, no select_last_index attribute.
  Tensor data = Tensor::FromVector(DType::kF32, {2, 2}, std::vector<float>{2, 1, 3, 10});
  auto out = EvaluateNode(MakeNode("ArgMax", 11, 1), std::vector<const Tensor*>{&data});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ((*out)[0].dims(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*out)[0].data<int64_t>()[0], 1);
  EXPECT_EQ((*out)[0].data<int64_t>()[1], 1);
}

// CumSum.

std::vector<double> RunCumSum(const std::vector<double>& x, std::vector<int64_t> dims, int64_t axis,
                              int exclusive, int reverse, DType axis_type = DType::kI64,
                              DType dtype = DType::kF64) {
  Tensor data = MakeTensor(dtype, dims, x);
  Tensor axis_t = MakeTensor(axis_type, {}, {static_cast<double>(axis)});
  Node node = MakeNode("CumSum", 14, 2);
  node.attrs["exclusive"] = Attribute::Int(exclusive);
  node.attrs["reverse"] = Attribute::Int(reverse);
  auto out = EvaluateNode(node, std::vector<const Tensor*>{&data, &axis_t});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  EXPECT_EQ((*out)[0].dims(), dims);
  std::vector<double> r;
  for (int64_t i = 0; i < (*out)[0].num_elements(); ++i) r.push_back((*out)[0].ScalarAsDouble(i));
  return r;
}

TEST(RefCumSumTest, OneDimensionalModes) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  EXPECT_EQ(RunCumSum(x, {5}, 0, 0, 0), (std::vector<double>{1, 3, 6, 10, 15}));
  EXPECT_EQ(RunCumSum(x, {5}, 0, 1, 0), (std::vector<double>{0, 1, 3, 6, 10}));
  EXPECT_EQ(RunCumSum(x, {5}, 0, 0, 1), (std::vector<double>{15, 14, 12, 9, 5}));
  EXPECT_EQ(RunCumSum(x, {5}, 0, 1, 1), (std::vector<double>{14, 12, 9, 5, 0}));
}

TEST(RefCumSumTest, TwoDimensionalAxes) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(RunCumSum(x, {2, 3}, 0, 0, 0, DType::kI32), (std::vector<double>{1, 2, 3, 5, 7, 9}));
  EXPECT_EQ(RunCumSum(x, {2, 3}, 1, 0, 0, DType::kI32), (std::vector<double>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(RunCumSum(x, {2, 3}, -1, 0, 0), (std::vector<double>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(RunCumSum(x, {2, 3}, 0, 1, 1, DType::kI64, DType::kI32),
            (std::vector<double>{4, 5, 6, 0, 0, 0}));
  EXPECT_EQ(RunCumSum(x, {2, 3}, 1, 0, 0, DType::kI64, DType::kF32),
            (std::vector<double>{1, 3, 6, 4, 9, 15}));
}

TEST(RefCumSumTest, RuntimeAxisOutOfRangeFails) {
  // With a non-constant axis inference cannot check it, so the kernel does at invoke time.
  Tensor data = MakeTensor(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor axis_t = MakeTensor(DType::kI64, {}, {2});
  Tensor out_t = Tensor::Create(DType::kF32, {2, 3}).value();
  std::vector<TensorType> in_types = {{DType::kF32, {2, 3}}, {DType::kI64, {}}};
  std::vector<const Tensor*> no_consts = {nullptr, nullptr};
  Node node = MakeNode("CumSum", 14, 2);
  auto types = InferNode(node, in_types, no_consts);
  ASSERT_TRUE(types.ok()) << types.status().ToString();
  SupportContext sctx{node, in_types, no_consts, *types};
  const KernelPath order[] = {KernelPath::kReference};
  const KernelDef* k = SelectKernel(sctx, order);
  ASSERT_NE(k, nullptr);
  PrepareContext pctx{node, in_types, no_consts, *types};
  ASSERT_TRUE(k->prepare(pctx).ok());
  std::vector<TensorView> ins = {data.view(), axis_t.view()};
  std::vector<TensorView> outs = {out_t.view()};
  InvokeContext ictx{node, pctx.state.get(), ins, outs};
  Status st = k->invoke(ictx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("node 'n0' (CumSum): axis 2"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace edgerun
