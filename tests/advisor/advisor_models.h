// Small ONNX models for the advisor tests, generated with OnnxModelBuilder (tests/util).
//
// Each maker writes a model shaped like one row of the selection guide's tables (a DS-CNN keyword
// spotter, a MobileNetV2-sized CNN, a transformer block with attention/LayerNorm/GELU...) to a
// temp file and returns its path; TempModel removes the file.
// Usage:
//   TempModel m = MakeDsCnn();
//   auto a = advisor::AnalyzeModelFile(m.path);
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "util/onnx_model_builder.h"
#include "util/random_tensor.h"

namespace edgerun::advisor::testing {

struct TempModel {
  std::string path;
  TempModel() = default;
  explicit TempModel(std::string p) : path(std::move(p)) {}
  TempModel(TempModel&& o) noexcept : path(std::move(o.path)) { o.path.clear(); }
  TempModel(const TempModel&) = delete;
  ~TempModel() {
    if (!path.empty()) std::remove(path.c_str());
  }
};

inline Tensor Weights(std::vector<int64_t> dims, uint32_t seed) {
  return edgerun::testing::RandomTensor(DType::kF32, std::move(dims), seed, -0.1, 0.1);
}

inline TempModel Write(const OnnxModelBuilder& b, const char* stem) {
  auto path = b.WriteToTemp(stem);
  return TempModel(path.ok() ? *path : std::string());
}

// Conv(+Relu) block: x[C_in] -> y[C_out].
inline void ConvRelu(OnnxModelBuilder& b, const std::string& x, const std::string& y, int64_t cin,
                     int64_t cout, int64_t k, int64_t stride, int64_t group, uint32_t seed) {
  const std::string w = y + "_w", bias = y + "_b", c = y + "_c";
  b.Initializer(w, Weights({cout, cin / group, k, k}, seed))
      .Initializer(bias, Weights({cout}, seed + 1));
  b.Node("Conv", {x, w, bias}, {c},
         {AttrInts("strides", {stride, stride}), AttrInts("pads", {k / 2, k / 2, k / 2, k / 2}),
          AttrInt("group", group)});
  b.Node("Relu", {c}, {y});
}

// DS-CNN-like keyword spotter (49x10 MFCC input, 64 channels, 12 classes): about 24 K parameters.
inline TempModel MakeDsCnn(const std::string& producer = "pytorch") {
  OnnxModelBuilder b;
  b.Opset(13).Producer(producer, "2.1").Input("mfcc", DType::kF32, {1, 1, 49, 10});
  ConvRelu(b, "mfcc", "c0", 1, 64, 3, 2, 1, 1);
  ConvRelu(b, "c0", "dw1", 64, 64, 3, 1, 64, 3);
  ConvRelu(b, "dw1", "pw1", 64, 64, 1, 1, 1, 5);
  ConvRelu(b, "pw1", "dw2", 64, 64, 3, 1, 64, 7);
  ConvRelu(b, "dw2", "pw2", 64, 64, 1, 1, 1, 9);
  b.Node("GlobalAveragePool", {"pw2"}, {"gap"}).Node("Flatten", {"gap"}, {"flat"});
  b.Initializer("fc_w", Weights({64, 12}, 11)).Initializer("fc_b", Weights({12}, 12));
  b.Node("Gemm", {"flat", "fc_w", "fc_b"}, {"logits"})
      .Node("Softmax", {"logits"}, {"probs"}, {AttrInt("axis", 1)});
  b.Output("probs");
  return Write(b, "advisor_dscnn");
}

// MobileNetV2-class: 224x224 input, stride-2 stem, a 1x1 expansion to 1280 and a 1280x1000
// classifier, about 2.4 M parameters (9 MB fp32, 2.3 MB int8).
inline TempModel MakeMobileNetClass() {
  OnnxModelBuilder b;
  b.Opset(13).Producer("pytorch", "2.1").Input("image", DType::kF32, {1, 3, 224, 224});
  ConvRelu(b, "image", "stem", 3, 32, 3, 2, 1, 21);
  ConvRelu(b, "stem", "dw", 32, 32, 3, 2, 32, 23);
  ConvRelu(b, "dw", "pw", 32, 320, 1, 2, 1, 25);
  ConvRelu(b, "pw", "expand", 320, 1280, 1, 1, 1, 27);
  b.Node("GlobalAveragePool", {"expand"}, {"gap"}).Node("Flatten", {"gap"}, {"flat"});
  b.Initializer("fc_w", Weights({1280, 1000}, 29)).Initializer("fc_b", Weights({1000}, 30));
  b.Node("Gemm", {"flat", "fc_w", "fc_b"}, {"logits"});
  b.Output("logits");
  return Write(b, "advisor_mobilenet");
}

// A small CNN with a symbolic batch dim ("N").
inline TempModel MakeDynamicCnn() {
  OnnxModelBuilder b;
  b.Opset(13).Producer("pytorch", "2.1").Input("x", DType::kF32, {Dim::Symbolic("N"), 1, 28, 28});
  ConvRelu(b, "x", "c1", 1, 8, 3, 2, 1, 31);
  b.Node("GlobalAveragePool", {"c1"}, {"gap"}).Node("Flatten", {"gap"}, {"y"});
  b.Output("y");
  return Write(b, "advisor_dynamic");
}

// A tiny static CNN (Conv + Relu), the smallest thing every runtime should run.
inline TempModel MakeTinyCnn(const std::string& producer = "pytorch") {
  OnnxModelBuilder b;
  b.Opset(13).Producer(producer, "2.1").Input("x", DType::kF32, {1, 3, 8, 8});
  ConvRelu(b, "x", "y", 3, 4, 3, 1, 1, 41);
  b.Output("y");
  return Write(b, "advisor_tiny");
}

// One transformer block on 16 tokens of width 64: decomposed LayerNorm, scaled dot-product
// attention (MatMul -> Div -> Softmax -> MatMul) and the erf form of GELU.
inline TempModel MakeTransformerBlock() {
  OnnxModelBuilder b;
  const int64_t t = 16, d = 64;
  b.Opset(17).Producer("pytorch", "2.1").Input("tokens", DType::kF32, {1, t, d});
  auto scalar = [](float v) { return Tensor::FromVector<float>(DType::kF32, {}, {v}); };
  b.Initializer("two", scalar(2.0f))
      .Initializer("eps", scalar(1e-5f))
      .Initializer("scale", scalar(8.0f));
  b.Initializer("sqrt2", scalar(std::sqrt(2.0f)))
      .Initializer("one", scalar(1.0f))
      .Initializer("half", scalar(0.5f));
  b.Node("ReduceMean", {"tokens"}, {"mean"}, {AttrInts("axes", {-1})});
  b.Node("Sub", {"tokens", "mean"}, {"centered"});
  b.Node("Pow", {"centered", "two"}, {"sq"});
  b.Node("ReduceMean", {"sq"}, {"var"}, {AttrInts("axes", {-1})});
  b.Node("Add", {"var", "eps"}, {"var_eps"});
  b.Node("Sqrt", {"var_eps"}, {"std"});
  b.Node("Div", {"centered", "std"}, {"normed"});
  b.Initializer("wq", Weights({d, d}, 51))
      .Initializer("wk", Weights({d, d}, 52))
      .Initializer("wv", Weights({d, d}, 53));
  b.Initializer("wo", Weights({d, d}, 54));
  b.Node("MatMul", {"normed", "wq"}, {"q"})
      .Node("MatMul", {"normed", "wk"}, {"k"})
      .Node("MatMul", {"normed", "wv"}, {"v"});
  b.Node("Transpose", {"k"}, {"kt"}, {AttrInts("perm", {0, 2, 1})});
  b.Node("MatMul", {"q", "kt"}, {"scores"});
  b.Node("Div", {"scores", "scale"}, {"scaled"});
  b.Node("Softmax", {"scaled"}, {"attn"}, {AttrInt("axis", -1)});
  b.Node("MatMul", {"attn", "v"}, {"ctx"});
  b.Node("MatMul", {"ctx", "wo"}, {"proj"});
  b.Node("Div", {"proj", "sqrt2"}, {"g_in"});
  b.Node("Erf", {"g_in"}, {"g_erf"});
  b.Node("Add", {"g_erf", "one"}, {"g_add"});
  b.Node("Mul", {"proj", "g_add"}, {"g_mul"});
  b.Node("Mul", {"g_mul", "half"}, {"out"});
  b.Output("out");
  return Write(b, "advisor_transformer");
}

// A CNN whose middle op lives in a custom domain.
inline TempModel MakeCustomOpModel() {
  OnnxModelBuilder b;
  b.Opset(13)
      .Opset(1, "com.example")
      .Producer("pytorch", "2.1")
      .Input("x", DType::kF32, {1, 3, 8, 8});
  ConvRelu(b, "x", "c", 3, 4, 3, 1, 1, 61);
  b.Node("FancyActivation", {"c"}, {"y"}, {}, "fancy", "com.example");
  b.Output("y", DType::kF32, {1, 4, 8, 8});
  return Write(b, "advisor_custom");
}

}  // namespace edgerun::advisor::testing
