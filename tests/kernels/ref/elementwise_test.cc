// Reference elementwise kernels (kernels/ref/elementwise*.cc) against values computed here with
// std:: math on random inputs, over several dtypes and broadcast shapes, including in-place runs
// and the thread-pool path.
#include <gtest/gtest.h>

#include <pthreadpool.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "runtime/evaluate_node.h"
#include "util/graph_builders.h"
#include "util/random_tensor.h"

namespace edgerun {
namespace {

using testing::ElementAt;
using testing::RandomTensor;
using testing::TensorFromDoubles;

using testing::MakeNode;

std::vector<Tensor> Eval(const Node& node, const std::vector<const Tensor*>& inputs) {
  Expected<std::vector<Tensor>> out = EvaluateNode(node, inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : std::vector<Tensor>{};
}

// Flat offset into an input of shape `in` for output coordinate of flat index i (numpy rules),
// computed independently of the kernels' collapsed iteration.
int64_t BroadcastOffset(int64_t i, const std::vector<int64_t>& out,
                        const std::vector<int64_t>& in) {
  std::vector<int64_t> coord(out.size());
  for (int d = static_cast<int>(out.size()) - 1; d >= 0; --d) {
    coord[d] = i % out[d];
    i /= out[d];
  }
  int64_t off = 0;
  const size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) off = off * in[d] + (in[d] == 1 ? 0 : coord[lead + d]);
  return off;
}

std::vector<int64_t> BroadcastShape(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i + a.size() < r ? 1 : a[i + a.size() - r];
    const int64_t db = i + b.size() < r ? 1 : b[i + b.size() - r];
    out[i] = da == 1 ? db : da;  // inputs here are always compatible
  }
  return out;
}

// Tolerance for comparing a kernel result in `dtype` with a double-precision reference.
double Tol(DType dtype, double expected) {
  double rel = 0;
  switch (dtype) {
    case DType::kF32:
      rel = 2e-6;
      break;
    case DType::kF64:
      rel = 1e-13;
      break;
    case DType::kF16:
      rel = 2e-3;
      break;
    case DType::kBF16:
      rel = 1.6e-2;
      break;
    default:
      return 0;  // integers and bool are exact
  }
  return rel * std::max(1.0, std::abs(expected));
}

void ExpectNear(DType dtype, double got, double want, const std::string& what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << ": got " << got << ", want NaN";
    return;
  }
  if (std::isinf(want)) {
    EXPECT_EQ(got, want) << what;
    return;
  }
  EXPECT_NEAR(got, want, Tol(dtype, want)) << what;
}

// ----------------------------------------------------------------------------------------------
// Unary.

struct UnaryCase {
  std::string op;
  std::function<double(double)> ref;
  double lo, hi;
  std::vector<std::pair<std::string, Attribute>> attrs = {};
  std::string domain = "";
};

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double Softplus(double x) { return std::log1p(std::exp(x)); }

std::vector<UnaryCase> FloatUnaryCases() {
  return {
      {"Abs", [](double x) { return std::abs(x); }, -5, 5},
      {"Neg", [](double x) { return -x; }, -5, 5},
      {"Sqrt", [](double x) { return std::sqrt(x); }, 0, 9},
      {"Exp", [](double x) { return std::exp(x); }, -5, 5},
      {"Log", [](double x) { return std::log(x); }, 0.01, 9},
      {"Reciprocal", [](double x) { return 1 / x; }, 0.5, 4},
      {"Floor", [](double x) { return std::floor(x); }, -5, 5},
      {"Ceil", [](double x) { return std::ceil(x); }, -5, 5},
      {"Round", [](double x) { return std::nearbyint(x); }, -5, 5},
      {"Sign", [](double x) { return (x > 0) - (x < 0); }, -5, 5},
      {"Sin", [](double x) { return std::sin(x); }, -3, 3},
      {"Cos", [](double x) { return std::cos(x); }, -3, 3},
      {"Tan", [](double x) { return std::tan(x); }, -1.2, 1.2},
      {"Asin", [](double x) { return std::asin(x); }, -0.99, 0.99},
      {"Acos", [](double x) { return std::acos(x); }, -0.99, 0.99},
      {"Atan", [](double x) { return std::atan(x); }, -5, 5},
      {"Sinh", [](double x) { return std::sinh(x); }, -3, 3},
      {"Cosh", [](double x) { return std::cosh(x); }, -3, 3},
      {"Asinh", [](double x) { return std::asinh(x); }, -5, 5},
      {"Acosh", [](double x) { return std::acosh(x); }, 1, 6},
      {"Atanh", [](double x) { return std::atanh(x); }, -0.9, 0.9},
      {"Erf", [](double x) { return std::erf(x); }, -3, 3},
      {"Relu", [](double x) { return x > 0 ? x : 0; }, -5, 5},
      // Attributes are floats, so references use the float-rounded defaults (0.01f, 0.2f).
      {"LeakyRelu", [](double x) { return x >= 0 ? x : double{0.01f} * x; }, -5, 5},
      {"LeakyRelu",
       [](double x) { return x >= 0 ? x : 0.25 * x; },
       -5,
       5,
       {{"alpha", Attribute::Float(0.25f)}}},
      {"Elu",
       [](double x) { return x >= 0 ? x : 2.0 * (std::exp(x) - 1); },
       -5,
       5,
       {{"alpha", Attribute::Float(2.0f)}}},
      {"Selu",
       [](double x) {
         const double a = 1.67326319217681884765625, g = 1.05070102214813232421875;
         return x > 0 ? g * x : g * a * (std::exp(x) - 1);
       },
       -5, 5},
      {"Celu",
       [](double x) { return std::max(0.0, x) + std::min(0.0, 1.5 * (std::exp(x / 1.5) - 1)); },
       -5,
       5,
       {{"alpha", Attribute::Float(1.5f)}}},
      {"ThresholdedRelu", [](double x) { return x > 1.0 ? x : 0; }, -5, 5},
      {"Sigmoid", Sigmoid, -8, 8},
      {"HardSigmoid", [](double x) { return std::clamp(double{0.2f} * x + 0.5, 0.0, 1.0); }, -5, 5},
      {"HardSigmoid",
       [](double x) { return std::clamp(0.5 * x + 0.25, 0.0, 1.0); },
       -5,
       5,
       {{"alpha", Attribute::Float(0.5f)}, {"beta", Attribute::Float(0.25f)}}},
      {"HardSwish", [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); }, -5, 5},
      {"Tanh", [](double x) { return std::tanh(x); }, -4, 4},
      {"Softplus", Softplus, -10, 10},
      {"Softsign", [](double x) { return x / (1 + std::abs(x)); }, -5, 5},
      {"Mish", [](double x) { return x * std::tanh(Softplus(x)); }, -6, 6},
      {"Shrink", [](double x) { return x < -0.5 ? x : (x > 0.5 ? x : 0); }, -2, 2},
      {"Shrink",
       [](double x) { return x < -1.5 ? x + 0.5 : (x > 1.5 ? x - 0.5 : 0); },
       -3,
       3,
       {{"bias", Attribute::Float(0.5f)}, {"lambd", Attribute::Float(1.5f)}}},
      {"SiLU", [](double x) { return x * Sigmoid(x); }, -8, 8, {}, std::string(kEdgerunDomain)},
      {"Gelu",
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
       -5,
       5,
       {},
       std::string(kEdgerunDomain)},
      {"Gelu",
       [](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       },
       -5,
       5,
       {{"approximate", Attribute::String("tanh")}},
       std::string(kEdgerunDomain)},
  };
}

TEST(ElementwiseKernelTest, FloatUnaryOpsMatchStdMath) {
  uint32_t seed = 1;
  for (const UnaryCase& c : FloatUnaryCases()) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
      Node node = MakeNode(c.op, 17, 1);
      node.domain = c.domain;
      for (const auto& [name, value] : c.attrs) node.attrs[name] = value;
      const Tensor x = RandomTensor(dtype, {3, 5, 7}, seed++, c.lo, c.hi);
      std::vector<Tensor> out = Eval(node, {&x});
      ASSERT_EQ(out.size(), 1u) << c.op;
      ASSERT_EQ(out[0].dtype(), dtype) << c.op;
      ASSERT_EQ(out[0].dims(), x.dims()) << c.op;
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        const double in = ElementAt(x, i);
        ExpectNear(dtype, ElementAt(out[0], i), c.ref(in),
                   c.op + "(" + std::to_string(in) + ") " + std::string(DTypeName(dtype)));
      }
    }
  }
}

// Sigmoid and SiLU use a vectorizable exp for f32; check it over the whole float range.
TEST(ElementwiseKernelTest, SigmoidAndSiLUAccurateOverWideRange) {
  std::vector<double> values;
  for (int i = -20000; i <= 20000; ++i) values.push_back(i * 0.005);  // [-100, 100]
  const double inf = std::numeric_limits<double>::infinity();
  values.insert(values.end(), {inf, -inf, 1e-30, -1e-30, 0.0, 87.5, -87.5, 88.7, -88.7, 1e30});
  const Tensor x = TensorFromDoubles(DType::kF32, {static_cast<int64_t>(values.size())}, values);
  Node silu = MakeNode("SiLU", 1, 1);
  silu.domain = std::string(kEdgerunDomain);
  std::vector<Tensor> sig = Eval(MakeNode("Sigmoid", 13, 1), {&x});
  std::vector<Tensor> si = Eval(silu, {&x});
  ASSERT_EQ(sig.size(), 1u);
  ASSERT_EQ(si.size(), 1u);
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const double v = ElementAt(x, i);
    const double want = std::isinf(v) ? (v > 0 ? 1.0 : 0.0) : 1 / (1 + std::exp(-v));
    // Relative 1e-6, except where the true value is below float's normal range.
    EXPECT_NEAR(ElementAt(sig[0], i), want, std::max(1e-6 * want, 1e-37)) << "Sigmoid(" << v << ")";
    if (!std::isinf(v)) {
      const double want_silu = v * want;
      EXPECT_NEAR(ElementAt(si[0], i), want_silu, std::max(1e-6 * std::abs(want_silu), 1e-35))
          << "SiLU(" << v << ")";
    }
  }
  const Tensor nan = TensorFromDoubles(DType::kF32, {1}, {std::nan("")});
  std::vector<Tensor> sig_nan = Eval(MakeNode("Sigmoid", 13, 1), {&nan});
  ASSERT_EQ(sig_nan.size(), 1u);
  EXPECT_TRUE(std::isnan(ElementAt(sig_nan[0], 0)));
}

TEST(ElementwiseKernelTest, RoundIsHalfToEven) {
  const Tensor x = TensorFromDoubles(DType::kF32, {6}, {0.5, 1.5, 2.5, -0.5, -1.5, 2.4999});
  std::vector<Tensor> out = Eval(MakeNode("Round", 11, 1), {&x});
  ASSERT_EQ(out.size(), 1u);
  const double want[] = {0, 2, 2, -0.0, -2, 2};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ElementAt(out[0], i), want[i]) << i;
}

TEST(ElementwiseKernelTest, IntegerUnaryOps) {
  struct Case {
    std::string op;
    std::function<double(double)> ref;
  };
  const std::vector<Case> cases = {
      {"Abs", [](double x) { return std::abs(x); }},
      {"Neg", [](double x) { return -x; }},
      {"Sign", [](double x) { return (x > 0) - (x < 0); }},
      {"Relu", [](double x) { return x > 0 ? x : 0; }},
  };
  uint32_t seed = 100;
  for (const Case& c : cases) {
    for (DType dtype : {DType::kI8, DType::kI16, DType::kI32, DType::kI64}) {
      const Tensor x = RandomTensor(dtype, {4, 9}, seed++, -100, 100);
      std::vector<Tensor> out = Eval(MakeNode(c.op, 14, 1), {&x});
      ASSERT_EQ(out.size(), 1u);
      ASSERT_EQ(out[0].dtype(), dtype);
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        EXPECT_EQ(ElementAt(out[0], i), c.ref(ElementAt(x, i))) << c.op << " " << i;
      }
    }
  }
  // Abs and Sign on unsigned types.
  const Tensor u = RandomTensor(DType::kU16, {10}, 7, 0, 60000);
  std::vector<Tensor> abs = Eval(MakeNode("Abs", 13, 1), {&u});
  std::vector<Tensor> sign = Eval(MakeNode("Sign", 13, 1), {&u});
  ASSERT_EQ(abs.size(), 1u);
  ASSERT_EQ(sign.size(), 1u);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(ElementAt(abs[0], i), ElementAt(u, i));
    EXPECT_EQ(ElementAt(sign[0], i), ElementAt(u, i) > 0 ? 1 : 0);
  }
}

TEST(ElementwiseKernelTest, IntegerNegAndAbsWrapAtMinimum) {
  const Tensor x = TensorFromDoubles(DType::kI8, {2}, {-128, 127});
  std::vector<Tensor> neg = Eval(MakeNode("Neg", 13, 1), {&x});
  std::vector<Tensor> abs = Eval(MakeNode("Abs", 13, 1), {&x});
  ASSERT_EQ(neg.size(), 1u);
  ASSERT_EQ(abs.size(), 1u);
  EXPECT_EQ(ElementAt(neg[0], 0), -128);  // two's complement wrap, no UB
  EXPECT_EQ(ElementAt(neg[0], 1), -127);
  EXPECT_EQ(ElementAt(abs[0], 0), -128);
}

TEST(ElementwiseKernelTest, PredicatesAndNot) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dtype : {DType::kF32, DType::kF64, DType::kF16}) {
    const Tensor x = TensorFromDoubles(dtype, {5}, {1.0, -inf, inf, nan, -2.0});
    std::vector<Tensor> isnan = Eval(MakeNode("IsNaN", 13, 1), {&x});
    std::vector<Tensor> isinf = Eval(MakeNode("IsInf", 10, 1), {&x});
    Node pos_only = MakeNode("IsInf", 10, 1);
    pos_only.attrs["detect_negative"] = Attribute::Int(0);
    std::vector<Tensor> ispos = Eval(pos_only, {&x});
    ASSERT_EQ(isnan.size(), 1u);
    ASSERT_EQ(isinf.size(), 1u);
    ASSERT_EQ(ispos.size(), 1u);
    ASSERT_EQ(isnan[0].dtype(), DType::kBool);
    ASSERT_EQ(isinf[0].dtype(), DType::kBool);
    const double want_nan[] = {0, 0, 0, 1, 0}, want_inf[] = {0, 1, 1, 0, 0},
                 want_pos[] = {0, 0, 1, 0, 0};
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(ElementAt(isnan[0], i), want_nan[i]) << i;
      EXPECT_EQ(ElementAt(isinf[0], i), want_inf[i]) << i;
      EXPECT_EQ(ElementAt(ispos[0], i), want_pos[i]) << i;
    }
  }
  const Tensor b = RandomTensor(DType::kBool, {3, 4}, 3);
  std::vector<Tensor> n = Eval(MakeNode("Not", 1, 1), {&b});
  ASSERT_EQ(n.size(), 1u);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(ElementAt(n[0], i), 1 - ElementAt(b, i));
}

// ----------------------------------------------------------------------------------------------
// Binary with broadcasting.

struct ShapePair {
  std::vector<int64_t> a, b;
};

const std::vector<ShapePair>& BroadcastShapes() {
  static const std::vector<ShapePair> shapes = {
      {{2, 3, 4}, {2, 3, 4}},           // same shape
      {{2, 3, 4}, {}},                  // scalar
      {{}, {2, 3, 4}},                  // scalar on the left
      {{2, 3, 4}, {4}},                 // row
      {{2, 3, 4}, {3, 1}},              // column
      {{1, 3, 1}, {2, 1, 4}},           // both broadcast
      {{5, 1}, {1, 6}},                 // outer product
      {{2, 1, 3, 1, 2}, {4, 1, 1, 2}},  // mixed, rank 5
      {{2, 3, 5, 7}, {1, 3, 1, 1}},     // per-channel (NCHW bias)
      {{1}, {1}},                       // single element
      {{3, 0, 2}, {1, 2}},              // empty output
  };
  return shapes;
}

struct BinaryCase {
  std::string op;
  std::function<double(double, double)> ref;
  double lo, hi;
  bool positive_b = false;  // avoid dividing by zero
};

TEST(ElementwiseKernelTest, ArithmeticBroadcastsOverDtypes) {
  const std::vector<BinaryCase> cases = {
      {"Add", [](double a, double b) { return a + b; }, -20, 20},
      {"Sub", [](double a, double b) { return a - b; }, -20, 20},
      {"Mul", [](double a, double b) { return a * b; }, -10, 10},
      {"Div", [](double a, double b) { return a / b; }, -50, 50, true},
  };
  uint32_t seed = 1000;
  for (const BinaryCase& c : cases) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kI32, DType::kI64, DType::kI8,
                        DType::kU8}) {
      for (const ShapePair& s : BroadcastShapes()) {
        const bool is_unsigned = dtype == DType::kU8;
        const double lo = is_unsigned ? 0 : c.lo, hi = c.hi;
        const Tensor a = RandomTensor(dtype, s.a, seed++, lo, hi);
        Tensor b = RandomTensor(dtype, s.b, seed++, c.positive_b ? 1 : lo, hi);
        std::vector<Tensor> out = Eval(MakeNode(c.op, 14, 2), {&a, &b});
        ASSERT_EQ(out.size(), 1u);
        const std::vector<int64_t> dims = BroadcastShape(s.a, s.b);
        ASSERT_EQ(out[0].dims(), dims) << c.op;
        ASSERT_EQ(out[0].dtype(), dtype);
        for (int64_t i = 0; i < out[0].num_elements(); ++i) {
          const double x = ElementAt(a, BroadcastOffset(i, dims, s.a));
          const double y = ElementAt(b, BroadcastOffset(i, dims, s.b));
          double want = c.ref(x, y);
          if (IsInteger(dtype)) {
            want = std::trunc(want);  // integer Div truncates toward zero
            if (dtype == DType::kI8) want = static_cast<int8_t>(static_cast<int64_t>(want));
            if (dtype == DType::kU8) want = static_cast<uint8_t>(static_cast<int64_t>(want));
          } else if (dtype == DType::kF16) {
            want = HalfToFloat(FloatToHalf(static_cast<float>(want)));
          }
          ExpectNear(dtype, ElementAt(out[0], i), want,
                     c.op + " " + std::string(DTypeName(dtype)) + " " + DimsToString(s.a) + " vs " +
                         DimsToString(s.b) + " at " + std::to_string(i));
        }
      }
    }
  }
}

TEST(ElementwiseKernelTest, IntegerDivAndModSemantics) {
  const Tensor a = TensorFromDoubles(DType::kI32, {6}, {-4, 7, 5, 4, -7, 8});
  const Tensor b = TensorFromDoubles(DType::kI32, {6}, {2, -3, 8, -2, 3, 5});
  std::vector<Tensor> div = Eval(MakeNode("Div", 14, 2), {&a, &b});
  ASSERT_EQ(div.size(), 1u);
  const double want_div[] = {-2, -2, 0, -2, -2, 1};
  Node fmod = MakeNode("Mod", 13, 2);
  fmod.attrs["fmod"] = Attribute::Int(1);
  std::vector<Tensor> mod = Eval(MakeNode("Mod", 13, 2), {&a, &b});
  std::vector<Tensor> cmod = Eval(fmod, {&a, &b});
  ASSERT_EQ(mod.size(), 1u);
  ASSERT_EQ(cmod.size(), 1u);
  const double want_mod[] = {0, -2, 5, 0, 2, 3}, want_fmod[] = {0, 1, 5, 0, -1, 3};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(ElementAt(div[0], i), want_div[i]) << i;
    EXPECT_EQ(ElementAt(mod[0], i), want_mod[i]) << i;
    EXPECT_EQ(ElementAt(cmod[0], i), want_fmod[i]) << i;
  }
  // Division by zero is defined as 0 rather than trapping.
  const Tensor zero = TensorFromDoubles(DType::kI32, {}, {0});
  std::vector<Tensor> by_zero = Eval(MakeNode("Div", 14, 2), {&a, &zero});
  ASSERT_EQ(by_zero.size(), 1u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ElementAt(by_zero[0], i), 0);
}

TEST(ElementwiseKernelTest, FloatModMatchesFmodAndFloorMod) {
  for (DType dtype : {DType::kF32, DType::kF64, DType::kF16}) {
    const Tensor a = RandomTensor(dtype, {4, 5}, 11, -10, 10);
    const Tensor b = RandomTensor(dtype, {5}, 12, 0.5, 3);
    Node fmod = MakeNode("Mod", 13, 2);
    fmod.attrs["fmod"] = Attribute::Int(1);
    std::vector<Tensor> out = Eval(fmod, {&a, &b});
    std::vector<Tensor> floor_mod = Eval(MakeNode("Mod", 13, 2), {&a, &b});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(floor_mod.size(), 1u);
    for (int64_t i = 0; i < 20; ++i) {
      const double x = ElementAt(a, i), y = ElementAt(b, i % 5);
      double want = std::fmod(x, y);
      double want_floor = x - std::floor(x / y) * y;
      if (dtype == DType::kF16) {
        want = HalfToFloat(FloatToHalf(static_cast<float>(want)));
        want_floor = HalfToFloat(FloatToHalf(static_cast<float>(want_floor)));
      }
      ExpectNear(dtype, ElementAt(out[0], i), want, "fmod " + std::to_string(i));
      EXPECT_NEAR(ElementAt(floor_mod[0], i), want_floor, 1e-2) << i;
    }
  }
}

TEST(ElementwiseKernelTest, ComparisonsAndLogic) {
  struct Case {
    std::string op;
    std::function<bool(double, double)> ref;
  };
  const std::vector<Case> cmp = {
      {"Equal", [](double a, double b) { return a == b; }},
      {"Less", [](double a, double b) { return a < b; }},
      {"LessOrEqual", [](double a, double b) { return a <= b; }},
      {"Greater", [](double a, double b) { return a > b; }},
      {"GreaterOrEqual", [](double a, double b) { return a >= b; }},
  };
  uint32_t seed = 2000;
  for (const Case& c : cmp) {
    for (DType dtype : {DType::kF32, DType::kI32, DType::kI64, DType::kU8, DType::kF16}) {
      for (const ShapePair& s : BroadcastShapes()) {
        // Small integer ranges so that Equal is sometimes true.
        const Tensor a = RandomTensor(dtype, s.a, seed++, 0, 3);
        const Tensor b = RandomTensor(dtype, s.b, seed++, 0, 3);
        std::vector<Tensor> out = Eval(MakeNode(c.op, 16, 2), {&a, &b});
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(out[0].dtype(), DType::kBool);
        const std::vector<int64_t> dims = BroadcastShape(s.a, s.b);
        for (int64_t i = 0; i < out[0].num_elements(); ++i) {
          const double x = ElementAt(a, BroadcastOffset(i, dims, s.a));
          const double y = ElementAt(b, BroadcastOffset(i, dims, s.b));
          EXPECT_EQ(ElementAt(out[0], i), c.ref(x, y) ? 1 : 0) << c.op << " " << i;
        }
      }
    }
  }
  const std::vector<Case> logic = {
      {"And", [](double a, double b) { return a != 0 && b != 0; }},
      {"Or", [](double a, double b) { return a != 0 || b != 0; }},
      {"Xor", [](double a, double b) { return (a != 0) != (b != 0); }},
      {"Equal", [](double a, double b) { return a == b; }},
  };
  for (const Case& c : logic) {
    for (const ShapePair& s : BroadcastShapes()) {
      const Tensor a = RandomTensor(DType::kBool, s.a, seed++);
      const Tensor b = RandomTensor(DType::kBool, s.b, seed++);
      std::vector<Tensor> out = Eval(MakeNode(c.op, 7, 2), {&a, &b});
      ASSERT_EQ(out.size(), 1u);
      const std::vector<int64_t> dims = BroadcastShape(s.a, s.b);
      for (int64_t i = 0; i < out[0].num_elements(); ++i) {
        const double x = ElementAt(a, BroadcastOffset(i, dims, s.a));
        const double y = ElementAt(b, BroadcastOffset(i, dims, s.b));
        EXPECT_EQ(ElementAt(out[0], i), c.ref(x, y) ? 1 : 0) << c.op << " " << i;
      }
    }
  }
}

TEST(ElementwiseKernelTest, PowWithMixedTypes) {
  struct Case {
    DType base, exponent;
  };
  const std::vector<Case> cases = {
      {DType::kF32, DType::kF32}, {DType::kF64, DType::kF64}, {DType::kF32, DType::kI32},
      {DType::kF32, DType::kI64}, {DType::kF32, DType::kU64}, {DType::kI32, DType::kF32},
      {DType::kI64, DType::kI64}, {DType::kI32, DType::kI32}, {DType::kF16, DType::kF32}};
  uint32_t seed = 3000;
  for (const Case& c : cases) {
    const Tensor a = RandomTensor(c.base, {3, 4}, seed++, 1, 5);
    const Tensor b = RandomTensor(c.exponent, {4}, seed++, 0, 4);
    std::vector<Tensor> out = Eval(MakeNode("Pow", 15, 2), {&a, &b});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].dtype(), c.base);
    for (int64_t i = 0; i < 12; ++i) {
      double want = std::pow(ElementAt(a, i), ElementAt(b, i % 4));
      if (IsInteger(c.base)) want = std::trunc(want);
      if (c.base == DType::kF16) want = HalfToFloat(FloatToHalf(static_cast<float>(want)));
      ExpectNear(c.base, ElementAt(out[0], i), want,
                 std::string(DTypeName(c.base)) + "^" + std::string(DTypeName(c.exponent)));
    }
  }
  // Exact integer powers beyond double's 53-bit mantissa.
  const Tensor big = TensorFromDoubles(DType::kI64, {1}, {3});
  const Tensor e = TensorFromDoubles(DType::kI64, {1}, {39});
  std::vector<Tensor> out = Eval(MakeNode("Pow", 15, 2), {&big, &e});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data<int64_t>()[0], 4052555153018976267LL);
}

TEST(ElementwiseKernelTest, BitShift) {
  for (DType dtype : {DType::kU8, DType::kU16, DType::kU32, DType::kU64}) {
    const int bits = static_cast<int>(DTypeSize(dtype)) * 8;
    const Tensor a = RandomTensor(dtype, {2, 6}, 5, 0, 200);
    const Tensor b = TensorFromDoubles(
        dtype, {6}, {0, 1, 3, 7, static_cast<double>(bits - 1), static_cast<double>(bits)});
    for (std::string dir : {"LEFT", "RIGHT"}) {
      Node node = MakeNode("BitShift", 11, 2);
      node.attrs["direction"] = Attribute::String(dir);
      std::vector<Tensor> out = Eval(node, {&a, &b});
      ASSERT_EQ(out.size(), 1u);
      for (int64_t i = 0; i < 12; ++i) {
        const uint64_t x = static_cast<uint64_t>(ElementAt(a, i));
        const int s = static_cast<int>(ElementAt(b, i % 6));
        uint64_t want = s >= bits ? 0 : (dir == "LEFT" ? x << s : x >> s);
        if (bits < 64) want &= (uint64_t{1} << bits) - 1;
        EXPECT_EQ(static_cast<uint64_t>(ElementAt(out[0], i)), want) << dir << " " << i;
      }
    }
  }
}

TEST(ElementwiseKernelTest, PReluBroadcastsSlope) {
  for (DType dtype : {DType::kF32, DType::kF64, DType::kI32}) {
    const Tensor x = RandomTensor(dtype, {2, 3, 4, 5}, 8, -10, 10);
    const Tensor slope = RandomTensor(dtype, {3, 1, 1}, 9, 0, 3);
    std::vector<Tensor> out = Eval(MakeNode("PRelu", 16, 2), {&x, &slope});
    ASSERT_EQ(out.size(), 1u);
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      const double v = ElementAt(x, i);
      const double s = ElementAt(slope, (i / 20) % 3);
      ExpectNear(dtype, ElementAt(out[0], i), v < 0 ? v * s : v, "PRelu " + std::to_string(i));
    }
  }
}

// ----------------------------------------------------------------------------------------------
// Variadic, Where, Clip, Cast, Dropout.

TEST(ElementwiseKernelTest, VariadicOpsFoldWithBroadcast) {
  struct Case {
    std::string op;
    std::function<double(double, double)> fold;
    bool mean;
  };
  const std::vector<Case> cases = {
      {"Sum", [](double a, double b) { return a + b; }, false},
      {"Mean", [](double a, double b) { return a + b; }, true},
      {"Max", [](double a, double b) { return std::max(a, b); }, false},
      {"Min", [](double a, double b) { return std::min(a, b); }, false},
  };
  const std::vector<std::vector<int64_t>> shapes = {{3, 1, 4}, {2, 1}, {4}, {1, 2, 4}};
  uint32_t seed = 4000;
  for (const Case& c : cases) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kI32, DType::kU8}) {
      if (c.mean && IsInteger(dtype)) continue;
      for (size_t n = 1; n <= shapes.size(); ++n) {
        std::vector<Tensor> ins;
        std::vector<int64_t> dims;
        for (size_t k = 0; k < n; ++k) {
          ins.push_back(RandomTensor(dtype, shapes[k], seed++, 0, 50));
          dims = BroadcastShape(dims, shapes[k]);
        }
        std::vector<const Tensor*> ptrs;
        for (const Tensor& t : ins) ptrs.push_back(&t);
        std::vector<Tensor> out = Eval(MakeNode(c.op, 13, static_cast<int>(n)), ptrs);
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(out[0].dims(), dims);
        for (int64_t i = 0; i < out[0].num_elements(); ++i) {
          double want = ElementAt(ins[0], BroadcastOffset(i, dims, shapes[0]));
          for (size_t k = 1; k < n; ++k) {
            want = c.fold(want, ElementAt(ins[k], BroadcastOffset(i, dims, shapes[k])));
          }
          if (c.mean) want /= static_cast<double>(n);
          if (dtype == DType::kU8) want = static_cast<uint8_t>(static_cast<int64_t>(want));
          // f16 rounds after every step; allow for it.
          const double tol = dtype == DType::kF16 ? 0.06 * n : Tol(dtype, want) * n;
          EXPECT_NEAR(ElementAt(out[0], i), want, tol)
              << c.op << " n=" << n << " " << DTypeName(dtype) << " at " << i;
        }
      }
    }
  }
}

TEST(ElementwiseKernelTest, MaxMinPropagateNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor a = TensorFromDoubles(DType::kF32, {3}, {nan, 1, 2});
  const Tensor b = TensorFromDoubles(DType::kF32, {3}, {0, nan, 3});
  for (std::string op : {"Max", "Min"}) {
    std::vector<Tensor> out = Eval(MakeNode(op, 13, 2), {&a, &b});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(std::isnan(ElementAt(out[0], 0))) << op;
    EXPECT_TRUE(std::isnan(ElementAt(out[0], 1))) << op;
    EXPECT_EQ(ElementAt(out[0], 2), op == "Max" ? 3 : 2);
  }
}

TEST(ElementwiseKernelTest, WhereBroadcastsThreeInputs) {
  struct Case {
    std::vector<int64_t> c, x, y;
  };
  const std::vector<Case> cases = {
      {{2, 3}, {2, 3}, {2, 3}}, {{3}, {2, 3}, {}}, {{2, 1}, {1, 3}, {2, 3}}, {{1}, {4}, {2, 1}}};
  uint32_t seed = 5000;
  for (const Case& s : cases) {
    for (DType dtype : {DType::kF32, DType::kI64, DType::kU8, DType::kF16, DType::kBool}) {
      const Tensor c = RandomTensor(DType::kBool, s.c, seed++);
      const Tensor x = RandomTensor(dtype, s.x, seed++, 0, 100);
      const Tensor y = RandomTensor(dtype, s.y, seed++, 0, 100);
      std::vector<Tensor> out = Eval(MakeNode("Where", 16, 3), {&c, &x, &y});
      ASSERT_EQ(out.size(), 1u);
      ASSERT_EQ(out[0].dtype(), dtype);
      const std::vector<int64_t> dims = BroadcastShape(BroadcastShape(s.c, s.x), s.y);
      ASSERT_EQ(out[0].dims(), dims);
      for (int64_t i = 0; i < out[0].num_elements(); ++i) {
        const bool cond = ElementAt(c, BroadcastOffset(i, dims, s.c)) != 0;
        const double want = cond ? ElementAt(x, BroadcastOffset(i, dims, s.x))
                                 : ElementAt(y, BroadcastOffset(i, dims, s.y));
        EXPECT_EQ(ElementAt(out[0], i), want) << i;
      }
    }
  }
}

TEST(ElementwiseKernelTest, ClipAttributeAndInputForms) {
  const Tensor x = RandomTensor(DType::kF32, {4, 5}, 6, -10, 10);
  Node old_clip = MakeNode("Clip", 6, 1);
  old_clip.attrs["min"] = Attribute::Float(-2.5f);
  old_clip.attrs["max"] = Attribute::Float(4.0f);
  std::vector<Tensor> out = Eval(old_clip, {&x});
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(ElementAt(out[0], i), std::clamp(ElementAt(x, i), -2.5, 4.0));
  }
  // Opset 13: both bounds, only max (min omitted), and no bounds.
  const Tensor lo = TensorFromDoubles(DType::kF32, {}, {-1});
  const Tensor hi = TensorFromDoubles(DType::kF32, {}, {2});
  Node clip = MakeNode("Clip", 13, 3);
  out = Eval(clip, {&x, &lo, &hi});
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < 20; ++i)
    EXPECT_EQ(ElementAt(out[0], i), std::clamp(ElementAt(x, i), -1.0, 2.0));
  clip.inputs[1] = Node::kNoValue;
  out = Eval(clip, {&x, nullptr, &hi});
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(ElementAt(out[0], i), std::min(ElementAt(x, i), 2.0));
  out = Eval(MakeNode("Clip", 13, 1), {&x});
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(ElementAt(out[0], i), ElementAt(x, i));
  // min > max: everything becomes max, as with numpy.clip (the ONNX reference).
  out = Eval(MakeNode("Clip", 13, 3), {&x, &hi, &lo});
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(ElementAt(out[0], i), -1.0);
  // Integer clip.
  const Tensor xi = RandomTensor(DType::kI8, {30}, 7, -128, 127);
  const Tensor loi = TensorFromDoubles(DType::kI8, {}, {-20});
  const Tensor hii = TensorFromDoubles(DType::kI8, {}, {50});
  out = Eval(MakeNode("Clip", 13, 3), {&xi, &loi, &hii});
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < 30; ++i) {
    EXPECT_EQ(ElementAt(out[0], i), std::clamp(ElementAt(xi, i), -20.0, 50.0));
  }
}

double CastReference(double v, DType to) {
  switch (to) {
    case DType::kBool:
      return v != 0 ? 1 : 0;
    case DType::kF32:
      return static_cast<float>(v);
    case DType::kF16:
      return HalfToFloat(FloatToHalf(static_cast<float>(v)));
    case DType::kBF16: {
      // Cast truncates to bf16 (ONNX reference behaviour): keep the top 16 bits.
      const float f = static_cast<float>(v);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      return BFloat16ToFloat(static_cast<uint16_t>(bits >> 16));
    }
    case DType::kI8:
      return static_cast<int8_t>(static_cast<int64_t>(std::trunc(v)));
    case DType::kU8:
      return static_cast<uint8_t>(static_cast<int64_t>(std::trunc(v)));
    case DType::kI32:
      return static_cast<int32_t>(static_cast<int64_t>(std::trunc(v)));
    case DType::kI64:
      return static_cast<double>(static_cast<int64_t>(std::trunc(v)));
    case DType::kU16:
      return static_cast<uint16_t>(static_cast<int64_t>(std::trunc(v)));
    case DType::kI16:
      return static_cast<int16_t>(static_cast<int64_t>(std::trunc(v)));
    case DType::kU32:
      return static_cast<uint32_t>(static_cast<int64_t>(std::trunc(v)));
    case DType::kU64:
      return static_cast<double>(static_cast<uint64_t>(std::trunc(v)));
    case DType::kF64:
      return v;
    default:
      ADD_FAILURE() << "unhandled dtype";
      return v;
  }
}

int OnnxCode(DType t) {
  switch (t) {
    case DType::kF32:
      return 1;
    case DType::kU8:
      return 2;
    case DType::kI8:
      return 3;
    case DType::kU16:
      return 4;
    case DType::kI16:
      return 5;
    case DType::kI32:
      return 6;
    case DType::kI64:
      return 7;
    case DType::kBool:
      return 9;
    case DType::kF16:
      return 10;
    case DType::kF64:
      return 11;
    case DType::kU32:
      return 12;
    case DType::kU64:
      return 13;
    case DType::kBF16:
      return 16;
    default:
      return 0;
  }
}

TEST(ElementwiseKernelTest, CastBetweenAllTypePairs) {
  const std::vector<DType> types = {
      DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kI8,  DType::kU8,  DType::kI16,
      DType::kU16, DType::kI32, DType::kU32, DType::kI64,  DType::kU64, DType::kBool};
  uint32_t seed = 6000;
  for (DType from : types) {
    // Values representable in every target (0..100), so the only differences are the
    // conversions themselves (fractions truncate, f16/bf16 round).
    const Tensor x = RandomTensor(from, {3, 7}, seed++, 0, 100);
    for (DType to : types) {
      Node cast = MakeNode("Cast", 13, 1);
      cast.attrs["to"] = Attribute::Int(OnnxCode(to));
      std::vector<Tensor> out = Eval(cast, {&x});
      ASSERT_EQ(out.size(), 1u);
      ASSERT_EQ(out[0].dtype(), to);
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        const double want = CastReference(ElementAt(x, i), to);
        EXPECT_EQ(ElementAt(out[0], i), want)
            << DTypeName(from) << " -> " << DTypeName(to) << " of " << ElementAt(x, i);
      }
      // CastLike takes the target type from its second input.
      const Tensor like = RandomTensor(to, {1}, 1, 0, 1);
      std::vector<Tensor> out_like = Eval(MakeNode("CastLike", 15, 2), {&x, &like});
      ASSERT_EQ(out_like.size(), 1u);
      ASSERT_EQ(out_like[0].dtype(), to);
      EXPECT_EQ(std::memcmp(out_like[0].raw(), out[0].raw(), out[0].bytes()), 0);
    }
  }
}

TEST(ElementwiseKernelTest, CastNegativeAndSpecialValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor x = TensorFromDoubles(DType::kF32, {5}, {-2.7, 2.7, nan, 1e20, -1e20});
  Node cast = MakeNode("Cast", 13, 1);
  cast.attrs["to"] = Attribute::Int(6);  // int32
  std::vector<Tensor> out = Eval(cast, {&x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ElementAt(out[0], 0), -2);  // truncation toward zero
  EXPECT_EQ(ElementAt(out[0], 1), 2);
  EXPECT_EQ(ElementAt(out[0], 2), 0);  // NaN and out-of-range are defined (no UB)
  EXPECT_EQ(ElementAt(out[0], 3), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(ElementAt(out[0], 4), std::numeric_limits<int32_t>::min());
  cast.attrs["to"] = Attribute::Int(9);  // bool
  out = Eval(cast, {&x});
  ASSERT_EQ(out.size(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ElementAt(out[0], i), 1) << i;
  // f32 -> bf16 truncates, as in the ONNX conformance data; NaN stays NaN.
  const Tensor f = TensorFromDoubles(DType::kF32, {3}, {0.47892547, nan, -1.0 / 3});
  cast.attrs["to"] = Attribute::Int(16);
  out = Eval(cast, {&f});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data<uint16_t>()[0], 16117);
  EXPECT_TRUE(std::isnan(ElementAt(out[0], 1)));
  EXPECT_EQ(out[0].data<uint16_t>()[2], 0xbeaa);  // -0x1.5555p-2 truncated (rounding gives 0xbeab)
  // Integer narrowing wraps.
  const Tensor wide = TensorFromDoubles(DType::kI32, {2}, {300, -1});
  cast.attrs["to"] = Attribute::Int(2);  // uint8
  out = Eval(cast, {&wide});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ElementAt(out[0], 0), 44);
  EXPECT_EQ(ElementAt(out[0], 1), 255);
}

TEST(ElementwiseKernelTest, DropoutIsIdentityWithOnesMask) {
  const Tensor x = RandomTensor(DType::kF32, {3, 4}, 10);
  std::vector<Tensor> out = Eval(MakeNode("Dropout", 13, 1, 2), {&x});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::memcmp(out[0].raw(), x.raw(), x.bytes()), 0);
  ASSERT_EQ(out[1].dtype(), DType::kBool);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(ElementAt(out[1], i), 1);
  // Opset 7: the mask has the input's type.
  out = Eval(MakeNode("Dropout", 7, 1, 2), {&x});
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[1].dtype(), DType::kF32);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(ElementAt(out[1], i), 1.0);
  // Training mode with ratio 0 is still the identity; with a ratio it needs randomness.
  const Tensor ratio0 = TensorFromDoubles(DType::kF32, {}, {0});
  const Tensor ratio = TensorFromDoubles(DType::kF32, {}, {0.5});
  const Tensor on = TensorFromDoubles(DType::kBool, {}, {1});
  out = Eval(MakeNode("Dropout", 13, 3), {&x, &ratio0, &on});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::memcmp(out[0].raw(), x.raw(), x.bytes()), 0);
  const std::vector<const Tensor*> training_inputs = {&x, &ratio, &on};
  Expected<std::vector<Tensor>> training =
      EvaluateNode(MakeNode("Dropout", 13, 3), training_inputs);
  ASSERT_FALSE(training.ok());
  EXPECT_EQ(training.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(training.status().message().find("node 'n0' (Dropout)"), std::string::npos);
}

// ----------------------------------------------------------------------------------------------
// Driving a kernel directly: in place (output buffer == input 0) and with a thread pool.

struct DirectRun {
  const KernelDef* kernel = nullptr;
  std::unique_ptr<KernelState> state;
};

// Infers, selects and prepares `node`; the caller invokes with its own buffers.
DirectRun Prepare(const Node& node, const std::vector<const Tensor*>& inputs,
                  std::vector<TensorType>* out_types) {
  std::vector<TensorType> in_types;
  for (const Tensor* t : inputs) in_types.push_back(TensorType{t->dtype(), t->dims()});
  Expected<std::vector<TensorType>> types = InferNode(node, in_types, inputs);
  EXPECT_TRUE(types.ok()) << types.status().ToString();
  if (!types.ok()) return {};
  *out_types = *types;
  const KernelPath order[] = {KernelPath::kReference};
  SupportContext sctx{node, in_types, inputs, *out_types};
  DirectRun run;
  run.kernel = SelectKernel(sctx, order);
  EXPECT_NE(run.kernel, nullptr);
  if (run.kernel == nullptr) return {};
  PrepareContext pctx{node, in_types, inputs, *out_types};
  if (run.kernel->prepare != nullptr) {
    Status s = run.kernel->prepare(pctx);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(pctx.scratch_bytes, 0u);
  run.state = std::move(pctx.state);
  return run;
}

// Runs `node` with output 0 written over a copy of input 0 and compares with EvaluateNode.
void ExpectInPlaceMatches(const Node& node, const std::vector<const Tensor*>& inputs) {
  std::vector<TensorType> out_types;
  DirectRun run = Prepare(node, inputs, &out_types);
  ASSERT_NE(run.kernel, nullptr);
  EXPECT_TRUE(run.kernel->may_run_in_place) << node.op_type;
  ASSERT_EQ(out_types[0].dtype, inputs[0]->dtype());
  ASSERT_EQ(out_types[0].dims, inputs[0]->dims());

  Tensor buffer =
      Tensor::FromBytes(inputs[0]->dtype(), inputs[0]->dims(), inputs[0]->raw(), inputs[0]->bytes())
          .value();
  std::vector<TensorView> in_views;
  for (const Tensor* t : inputs) in_views.push_back(t->view());
  in_views[0] = buffer.view();
  std::vector<TensorView> out_views = {buffer.view()};
  InvokeContext ictx{node, run.state.get(), in_views, out_views, nullptr, 0, nullptr};
  Status s = run.kernel->invoke(ictx);
  ASSERT_TRUE(s.ok()) << s.ToString();

  std::vector<Tensor> expected = Eval(node, inputs);
  ASSERT_EQ(expected.size(), 1u);
  EXPECT_EQ(std::memcmp(buffer.raw(), expected[0].raw(), buffer.bytes()), 0) << node.op_type;
}

TEST(ElementwiseKernelTest, InPlaceExecution) {
  const Tensor x = RandomTensor(DType::kF32, {4, 8, 3}, 20, -4, 4);
  const Tensor same = RandomTensor(DType::kF32, {4, 8, 3}, 21, -4, 4);
  const Tensor row = RandomTensor(DType::kF32, {3}, 22, 1, 4);
  const Tensor col = RandomTensor(DType::kF32, {8, 1}, 23, 1, 4);
  const Tensor scalar = RandomTensor(DType::kF32, {}, 24, 1, 4);
  for (std::string op : {"Relu", "Sigmoid", "Exp", "Neg", "Abs", "Tanh", "HardSwish"}) {
    ExpectInPlaceMatches(MakeNode(op, 14, 1), {&x});
  }
  for (std::string op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum"}) {
    for (const Tensor* b : {&same, &row, &col, &scalar}) {
      ExpectInPlaceMatches(MakeNode(op, 14, 2), {&x, b});
    }
  }
  // Sum(x, x, row) with x in place: the repeated input is read before it is overwritten.
  {
    Node node = MakeNode("Sum", 13, 3);
    std::vector<TensorType> out_types;
    DirectRun run = Prepare(node, {&x, &x, &row}, &out_types);
    ASSERT_NE(run.kernel, nullptr);
    Tensor buffer = Tensor::FromBytes(x.dtype(), x.dims(), x.raw(), x.bytes()).value();
    std::vector<TensorView> in_views = {buffer.view(), buffer.view(), row.view()};
    std::vector<TensorView> out_views = {buffer.view()};
    InvokeContext ictx{node, run.state.get(), in_views, out_views, nullptr, 0, nullptr};
    ASSERT_TRUE(run.kernel->invoke(ictx).ok());
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      EXPECT_NEAR(ElementAt(buffer, i), 2 * ElementAt(x, i) + ElementAt(row, i % 3), 1e-5) << i;
    }
  }
  Node clip = MakeNode("Clip", 6, 1);
  clip.attrs["min"] = Attribute::Float(-1.0f);
  clip.attrs["max"] = Attribute::Float(1.0f);
  ExpectInPlaceMatches(clip, {&x});
  const Tensor xi = RandomTensor(DType::kI32, {4, 8, 3}, 25, -50, 50);
  const Tensor bi = RandomTensor(DType::kI32, {8, 3}, 26, 1, 9);
  for (std::string op : {"Add", "Mul", "Div"})
    ExpectInPlaceMatches(MakeNode(op, 14, 2), {&xi, &bi});
  Node mod = MakeNode("Mod", 13, 2);
  ExpectInPlaceMatches(mod, {&xi, &bi});
}

TEST(ElementwiseKernelTest, ThreadPoolMatchesSingleThread) {
  const Tensor x = RandomTensor(DType::kF32, {300001}, 30, -6, 6);
  for (std::string op : {"Sigmoid", "Relu", "IsNaN"}) {
    Node node = MakeNode(op, 14, 1);
    std::vector<TensorType> out_types;
    DirectRun run = Prepare(node, {&x}, &out_types);
    ASSERT_NE(run.kernel, nullptr);
    Tensor out = Tensor::Create(out_types[0].dtype, out_types[0].dims).value();
    std::vector<TensorView> in_views = {x.view()};
    std::vector<TensorView> out_views = {out.view()};
    std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)> pool(pthreadpool_create(2),
                                                                      &pthreadpool_destroy);
    ASSERT_NE(pool, nullptr);
    InvokeContext ictx{node, run.state.get(), in_views, out_views, nullptr, 0, pool.get()};
    ASSERT_TRUE(run.kernel->invoke(ictx).ok());
    std::vector<Tensor> expected = Eval(node, {&x});
    ASSERT_EQ(expected.size(), 1u);
    EXPECT_EQ(std::memcmp(out.raw(), expected[0].raw(), out.bytes()), 0) << op;
  }
}

TEST(ElementwiseKernelTest, UnsupportedDtypeIsAnErrorNamingTheNode) {
  // Sqrt has no integer form; the error names the node instead of reaching a kernel.
  const Tensor x = RandomTensor(DType::kI32, {3}, 1);
  const std::vector<const Tensor*> inputs = {&x};
  Expected<std::vector<Tensor>> out = EvaluateNode(MakeNode("Sqrt", 13, 1), inputs);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("node 'n0' (Sqrt)"), std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace edgerun
