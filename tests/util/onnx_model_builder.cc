#include "util/onnx_model_builder.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "formats/onnx/onnx_tensor.h"

namespace edgerun {

onnx::AttributeProto AttrInt(std::string name, int64_t v) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(v);
  return a;
}

onnx::AttributeProto AttrFloat(std::string name, float v) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(v);
  return a;
}

onnx::AttributeProto AttrString(std::string name, std::string v) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::STRING);
  a.set_s(std::move(v));
  return a;
}

onnx::AttributeProto AttrInts(std::string name, std::vector<int64_t> v) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
  return a;
}

onnx::AttributeProto AttrFloats(std::string name, std::vector<float> v) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::FLOATS);
  for (float x : v) a.add_floats(x);
  return a;
}

onnx::AttributeProto AttrStrings(std::string name, std::vector<std::string> v) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::STRINGS);
  for (auto& x : v) a.add_strings(std::move(x));
  return a;
}

onnx::AttributeProto AttrTensor(std::string name, const Tensor& t) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::TENSOR);
  *a.mutable_t() = MakeTensorProto("", t);
  return a;
}

onnx::AttributeProto AttrGraph(std::string name, const onnx::GraphProto& g) {
  onnx::AttributeProto a;
  a.set_name(std::move(name));
  a.set_type(onnx::AttributeProto::GRAPH);
  *a.mutable_g() = g;
  return a;
}

onnx::TensorProto MakeTensorProto(const std::string& name, const Tensor& t) {
  onnx::TensorProto p;
  // Only fails for an empty tensor, which then encodes as an UNDEFINED-typed proto.
  if (!TensorToProto(t, name, &p).ok()) p.set_name(name);
  return p;
}

onnx::ValueInfoProto MakeValueInfo(const std::string& name, DType dtype, const Shape& shape) {
  onnx::ValueInfoProto vi;
  vi.set_name(name);
  auto* tt = vi.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(OnnxFromDType(dtype));
  auto* sp = tt->mutable_shape();
  for (const Dim& d : shape) {
    auto* dim = sp->add_dim();
    if (d.is_static()) {
      dim->set_dim_value(d.value);
    } else if (!d.symbol.empty()) {
      dim->set_dim_param(d.symbol);
    }
  }
  return vi;
}

OnnxModelBuilder::OnnxModelBuilder() {
  model_.set_ir_version(8);
  model_.set_producer_name("edgerun-test");
  model_.mutable_graph()->set_name("test_graph");
}

OnnxModelBuilder& OnnxModelBuilder::Opset(int64_t version, const std::string& domain) {
  for (auto& op : *model_.mutable_opset_import()) {
    if (op.domain() == domain) {
      op.set_version(version);
      return *this;
    }
  }
  auto* op = model_.add_opset_import();
  op->set_domain(domain);
  op->set_version(version);
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::IrVersion(int64_t version) {
  model_.set_ir_version(version);
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::Producer(std::string name, std::string version) {
  model_.set_producer_name(std::move(name));
  model_.set_producer_version(std::move(version));
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::GraphName(std::string name) {
  model_.mutable_graph()->set_name(std::move(name));
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::Input(const std::string& name, DType dtype,
                                          const Shape& shape) {
  *model_.mutable_graph()->add_input() = MakeValueInfo(name, dtype, shape);
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::InputUnranked(const std::string& name, DType dtype) {
  auto* vi = model_.mutable_graph()->add_input();
  vi->set_name(name);
  vi->mutable_type()->mutable_tensor_type()->set_elem_type(OnnxFromDType(dtype));
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::Initializer(const std::string& name, const Tensor& t) {
  *model_.mutable_graph()->add_initializer() = MakeTensorProto(name, t);
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::Constant(const std::string& output, const Tensor& t) {
  return Node("Constant", {}, {output}, {AttrTensor("value", t)});
}

OnnxModelBuilder& OnnxModelBuilder::Node(std::string op_type, std::vector<std::string> inputs,
                                         std::vector<std::string> outputs,
                                         std::vector<onnx::AttributeProto> attrs, std::string name,
                                         std::string domain) {
  auto* n = model_.mutable_graph()->add_node();
  n->set_op_type(std::move(op_type));
  n->set_name(std::move(name));
  n->set_domain(std::move(domain));
  for (auto& in : inputs) n->add_input(std::move(in));
  for (auto& out : outputs) n->add_output(std::move(out));
  for (auto& a : attrs) *n->add_attribute() = std::move(a);
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::Output(const std::string& name) {
  model_.mutable_graph()->add_output()->set_name(name);
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::Output(const std::string& name, DType dtype,
                                           const Shape& shape) {
  *model_.mutable_graph()->add_output() = MakeValueInfo(name, dtype, shape);
  return *this;
}

OnnxModelBuilder& OnnxModelBuilder::ValueInfo(const std::string& name, DType dtype,
                                              const Shape& shape) {
  *model_.mutable_graph()->add_value_info() = MakeValueInfo(name, dtype, shape);
  return *this;
}

onnx::NodeProto& OnnxModelBuilder::last_node() {
  auto* g = model_.mutable_graph();
  if (g->node_size() == 0) g->add_node();
  return *g->mutable_node(g->node_size() - 1);
}

std::string OnnxModelBuilder::Serialize() const { return model_.SerializeAsString(); }

Status OnnxModelBuilder::WriteTo(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError(path + ": cannot open for writing");
  const std::string bytes = Serialize();
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return IoError(path + ": write failed");
  return Status::Ok();
}

Expected<std::string> OnnxModelBuilder::WriteToTemp(std::string_view stem) const {
  static std::atomic<int> counter{0};
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  const std::string path =
      (dir / ("edgerun_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) +
              "_" + std::string(stem) + ".onnx"))
          .string();
  RETURN_IF_ERROR(WriteTo(path));
  return path;
}

}  // namespace edgerun
