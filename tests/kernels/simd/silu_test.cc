// The Highway SiLU and Sigmoid passes (kernels/simd/silu.cc) against x / (1 + exp(-x)) and
// 1 / (1 + exp(-x)) in double precision:
// lengths around the vector width (the tail goes through a stack vector and must not touch
// anything past the end), the whole float range with its extremes, zeros and a NaN; and the fused
// activation dispatch over them.
#include "kernels/simd/silu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace edgerun {
namespace {

struct Function {
  const char* name;
  void (*in_place)(float*, size_t);
  double (*exact)(double);
};

const Function kFunctions[] = {
    {"SiLU", SiLUInPlace, [](double x) { return x / (1.0 + std::exp(-x)); }},
    {"Sigmoid", SigmoidInPlace, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
};

// |got - exact| within 4e-7 of |exact| (about 3 float ulps), or under 1e-30 near zero.
void ExpectClose(const Function& f, float x, float got) {
  const double want = f.exact(x);
  EXPECT_LE(std::fabs(got - want), std::max(4e-7 * std::fabs(want), 1e-30))
      << f.name << " x " << x << " got " << got << " want " << want;
}

TEST(SiLU, MatchesTheExactValueForEveryLengthAroundTheVectorWidth) {
  for (const Function& f : kFunctions) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> dist(-12.0f, 12.0f);
    for (size_t n = 0; n <= 67; ++n) {
      SCOPED_TRACE(std::string(f.name) + " n " + std::to_string(n));
      // Guards on both sides: the pass writes y[0, n) only.
      std::vector<float> buffer(n + 32, 123.0f);
      float* y = buffer.data() + 16;
      std::vector<float> x(n);
      for (size_t i = 0; i < n; ++i) y[i] = x[i] = dist(rng);
      f.in_place(y, n);
      for (size_t i = 0; i < n; ++i) ExpectClose(f, x[i], y[i]);
      for (size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(buffer[i], 123.0f);
        EXPECT_EQ(buffer[16 + n + i], 123.0f);
      }
    }
  }
}

TEST(SiLU, ExtremesZerosAndNaN) {
  const float max = std::numeric_limits<float>::max();
  std::vector<float> x = {0.0f,   -0.0f,  1e-30f, -1e-30f, 20.0f, -20.0f, 86.9f, 87.1f,
                          -87.9f, -88.1f, 100.0f, -100.0f, 1e30f, -1e30f, max,   -max};
  // Every float exponent: powers of two from 2^-20 to 2^20, both signs.
  for (int e = -20; e <= 20; ++e) {
    x.push_back(std::ldexp(1.0f, e));
    x.push_back(-std::ldexp(1.0f, e));
  }
  for (const Function& f : kFunctions) {
    std::vector<float> y = x;
    f.in_place(y.data(), y.size());
    for (size_t i = 0; i < x.size(); ++i) ExpectClose(f, x[i], y[i]);
    std::vector<float> nan = {std::numeric_limits<float>::quiet_NaN()};
    f.in_place(nan.data(), 1);
    EXPECT_TRUE(std::isnan(nan[0])) << f.name;
  }
}

// A fused activation: SiLU and Sigmoid through the passes above, others as FusedActivation does,
// the affine after either.
TEST(SiLU, ApplyActivationInPlaceMatchesTheFusedActivation) {
  FusedActivation relu, silu, sigmoid, sigmoid_affine;
  relu.kind = FusedActivation::Kind::kRelu;
  silu.kind = FusedActivation::Kind::kSiLU;
  sigmoid.kind = sigmoid_affine.kind = FusedActivation::Kind::kSigmoid;
  sigmoid_affine.scale = 2.0f;
  sigmoid_affine.shift = -1.0f;
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> dist(-9.0f, 9.0f);
  std::vector<float> x(37);
  for (float& v : x) v = dist(rng);
  for (const FusedActivation& act : {relu, silu, sigmoid, sigmoid_affine, FusedActivation{}}) {
    std::vector<float> y = x;
    ApplyActivationInPlace(act, y.data(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_NEAR(y[i], act.Apply(x[i]), 1e-6 * (1 + std::fabs(act.Apply(x[i]))))
          << static_cast<int>(act.kind) << " x " << x[i];
    }
  }
}

}  // namespace
}  // namespace edgerun
