// Reading values at any byte alignment: weights still in a memory-mapped model file sit wherever
// the file put them, so they are read through memcpy, which compiles to a plain load. Usage:
//   const float w = LoadAnyAlignment<float>(tensor.UnalignedBytes(), i);   // element i
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace edgerun {

// Element i of type T after p.
template <typename T>
T LoadAnyAlignment(const std::byte* p, int64_t i) {
  T v;
  std::memcpy(&v, p + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

}  // namespace edgerun
