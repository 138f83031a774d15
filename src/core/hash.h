// A fast 64-bit hash for cache keys (tuning choices, packed weights): not cryptographic, stable
// across runs and builds of the same source, 8 bytes per step.
//
//   Hasher h;
//   h.Str(node.name);
//   h.Mix(bytes);
//   h.Bytes(data, n);
//   uint64_t digest = h.h;
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace edgerun {

struct Hasher {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  void Mix(uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t v;
      std::memcpy(&v, p + i, 8);
      Mix(v);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, p + i, n - i);
    Mix(tail ^ (static_cast<uint64_t>(n) << 56));
  }
  void Str(std::string_view s) { Bytes(s.data(), s.size()); }
};

}  // namespace edgerun
