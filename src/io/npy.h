// Reading and writing NumPy .npy files, the tensor interchange format of the CLI and fixtures.
//
// Parses the NPY v1/v2/v3 preamble and its Python-literal header dict ('descr', 'fortran_order',
// 'shape') with a small tokenizer, checks the claimed size against the bytes actually present
// before allocating, then copies the little-endian C-order payload into a Tensor. Writing emits
// v1 (v2 when the header would not fit) with the header padded to a 64-byte boundary.
// Usage:
//   ASSIGN_OR_RETURN(Tensor x, ReadNpy("input.npy"));
//   RETURN_IF_ERROR(WriteNpy("out/logits.npy", session->output(0)));
//   ASSIGN_OR_RETURN(Tensor y, ParseNpy(bytes, "<memory>"));
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "edgerun/status.h"
#include "edgerun/tensor.h"

namespace edgerun {

// Reads a .npy file. Supported dtypes: f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1, little-endian (or
// byte-order free), C order. Errors are one line and start with the path: NotFound / IoError
// for file problems, InvalidArgument for corrupt or truncated content, Unsupported for valid
// but unhandled files (fortran_order, big-endian, structured or other dtypes).
Expected<Tensor> ReadNpy(const std::string& path);

// Parses a whole .npy file image held in memory; `source_name` prefixes error messages.
Expected<Tensor> ParseNpy(std::span<const std::byte> bytes, std::string_view source_name);

// Writes `t` as a .npy file (via a temporary file renamed into place, so readers never see a
// half-written file). NumPy has no bfloat16, so kBF16 tensors are written as f4 holding the
// exactly converted values; every other dtype is written as itself. Errors name the path.
Status WriteNpy(const std::string& path, const TensorView& t);

// The .npy file image WriteNpy would write, for callers that write elsewhere.
Expected<std::string> EncodeNpy(const TensorView& t);

}  // namespace edgerun
