// A fluent builder for small ONNX models, so tests can make .onnx files without Python.
//
// It fills an onnx::ModelProto directly (IR version 8, producer "edgerun-test"); proto() exposes
// it for tests that need to corrupt or tweak fields the builder does not cover.
// Usage:
//   OnnxModelBuilder b;
//   b.Opset(17).Input("x", DType::kF32, {1, 3, 8, 8}).Initializer("w", w)
//    .Node("Conv", {"x", "w"}, {"y"}, {AttrInts("pads", {1, 1, 1, 1})}).Output("y");
//   ASSIGN_OR_RETURN(std::string path, b.WriteToTemp("conv"));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <onnx_lite/onnx.pb.h>

#include "edgerun/ir.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun {

// AttributeProto makers for OnnxModelBuilder::Node.
onnx::AttributeProto AttrInt(std::string name, int64_t v);
onnx::AttributeProto AttrFloat(std::string name, float v);
onnx::AttributeProto AttrString(std::string name, std::string v);
onnx::AttributeProto AttrInts(std::string name, std::vector<int64_t> v);
onnx::AttributeProto AttrFloats(std::string name, std::vector<float> v);
onnx::AttributeProto AttrStrings(std::string name, std::vector<std::string> v);
onnx::AttributeProto AttrTensor(std::string name, const Tensor& t);
onnx::AttributeProto AttrGraph(std::string name, const onnx::GraphProto& g);

// A TensorProto holding `t` as raw_data.
onnx::TensorProto MakeTensorProto(const std::string& name, const Tensor& t);
// A tensor ValueInfoProto; symbolic dims become dim_param, anonymous ones are left empty.
onnx::ValueInfoProto MakeValueInfo(const std::string& name, DType dtype, const Shape& shape);

class OnnxModelBuilder {
 public:
  OnnxModelBuilder();

  // Adds (or updates) the opset import of `domain`.
  OnnxModelBuilder& Opset(int64_t version, const std::string& domain = "");
  OnnxModelBuilder& IrVersion(int64_t version);
  OnnxModelBuilder& Producer(std::string name, std::string version = "");
  OnnxModelBuilder& GraphName(std::string name);

  OnnxModelBuilder& Input(const std::string& name, DType dtype, const Shape& shape);
  // A graph input whose rank is unknown.
  OnnxModelBuilder& InputUnranked(const std::string& name, DType dtype);
  OnnxModelBuilder& Initializer(const std::string& name, const Tensor& t);
  // A `Constant` node producing `output`.
  OnnxModelBuilder& Constant(const std::string& output, const Tensor& t);
  OnnxModelBuilder& Node(std::string op_type, std::vector<std::string> inputs,
                         std::vector<std::string> outputs,
                         std::vector<onnx::AttributeProto> attrs = {}, std::string name = "",
                         std::string domain = "");
  // A graph output without type information (edgerun infers it).
  OnnxModelBuilder& Output(const std::string& name);
  OnnxModelBuilder& Output(const std::string& name, DType dtype, const Shape& shape);
  OnnxModelBuilder& ValueInfo(const std::string& name, DType dtype, const Shape& shape);

  onnx::ModelProto& proto() { return model_; }
  const onnx::ModelProto& proto() const { return model_; }
  // The main graph, e.g. to use this builder's graph as another model's Loop/If body.
  const onnx::GraphProto& graph() const { return model_.graph(); }
  onnx::NodeProto& last_node();

  std::string Serialize() const;
  Status WriteTo(const std::string& path) const;
  // Writes to a new file in the system temp directory and returns its path; the caller
  // removes it.
  Expected<std::string> WriteToTemp(std::string_view stem) const;

 private:
  onnx::ModelProto model_;
};

}  // namespace edgerun
