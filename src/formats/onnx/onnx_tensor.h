// Conversion between ONNX TensorProtos and edgerun Tensors.
//
// Decodes every encoding ONNX allows: little-endian raw_data, the typed repeated fields
// (float_data, int32_data for the small integer/bool/fp16/bf16 types, int64_data, double_data,
// uint64_data) and external data files next to the model. Claimed dims are validated against the
// data actually present *before* anything is allocated, so a corrupt file gives an error rather
// than a huge allocation.
// Initializers whose raw_data the split parse put in a shared LargeBuffer become views of their
// slice, which is given back to the OS when the last reference to the tensor goes.
// Usage:
//   ASSIGN_OR_RETURN(Tensor w, TensorFromProto(model.graph().initializer(0), "/models"));
//   ASSIGN_OR_RETURN(auto named, LoadTensorProtoFile("test_data_set_0/input_0.pb"));
//   onnx::TensorProto p;  RETURN_IF_ERROR(TensorToProto(w, "w", &p));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <onnx_lite/onnx.pb.h>  // generated from onnx.proto (see CMakeLists.txt)

#include "edgerun/dtype.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"
#include "formats/onnx/onnx_io.h"

namespace edgerun {

// Maps a TensorProto::DataType value to a DType. Unsupported for STRING and the complex types,
// InvalidModel for UNDEFINED and values outside the enum.
Expected<DType> DTypeFromOnnx(int32_t onnx_type);
// TensorProto::DataType for `t` (UNDEFINED for kUndefined).
int32_t OnnxFromDType(DType t);
// "FLOAT", "STRING", ... or "<n>" for values outside the enum; for messages.
std::string OnnxDataTypeName(int32_t onnx_type);

// Decodes `proto`. External data locations are resolved relative to `base_dir`; an empty
// `base_dir` disables external data. Errors name the tensor (and the data file).
Expected<Tensor> TensorFromProto(const onnx::TensorProto& proto, const std::string& base_dir);
// As TensorFromProto, but a tensor stored in raw_data takes over the proto's string instead of
// copying it (the proto's raw_data is left empty). For initializers of a parsed model.
Expected<Tensor> TensorFromProtoAdoptingRaw(onnx::TensorProto* proto, const std::string& base_dir);

// As TensorFromProto for a proto whose raw_data was split off into `raw` (see ParseModelSplit): the
// tensor is a view of the slice (bools normalized in place), whose pages are discarded when the
// last copy of the tensor is destroyed. Same checks and messages as TensorFromProto; the slice is
// discarded at once when the tensor does not use it (external data, errors).
Expected<Tensor> TensorFromProtoWithRaw(const onnx::TensorProto& proto, const RawDataSlice& raw,
                                        const std::string& base_dir);

// Reads a file holding one serialized TensorProto (the conformance test data format) and returns
// the tensor's name and value. Errors name the file.
Expected<std::pair<std::string, Tensor>> LoadTensorProtoFile(const std::string& path);

// Encodes `t` as raw_data (bool as one byte per element).
Status TensorToProto(const Tensor& t, const std::string& name, onnx::TensorProto* out);

}  // namespace edgerun
