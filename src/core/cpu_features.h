// What the CPU running edgerun offers, for kernels that pick code or a library's implementation
// at run time: the library is built for baseline x86-64, and a few hot loops are also compiled
// with [[gnu::target("avx512f,avx512bw,avx512vl,avx512dq")]] and chosen with CpuHasAvx512();
// some oneDNN implementation choices depend on the vendor, as they were measured per vendor.
// Answers are computed once per process. Usage:
//   if (CpuHasAvx512()) return LoopAvx512(...);   // else the portable loop
// On other architectures every query is false.
#pragma once

#include <cstddef>

namespace edgerun {

// AVX-512 F, BW, VL and DQ (every AVX-512 CPU since Skylake-SP and Zen 4).
bool CpuHasAvx512();
// CpuHasAvx512() and AVX-512 VNNI (vpdpbusd: Cascade Lake, Ice Lake and later, Zen 4).
bool CpuHasAvx512Vnni();
// The vendor, for choices measured to differ between Intel and AMD.
bool CpuIsIntel();
bool CpuIsAmd();
// The L2 cache of one core in bytes, as the OS reports it (sysconf), or 1 MiB when it does not
// say: passes that keep data in cache size their work by it. Computed on every architecture.
size_t CpuL2CacheBytes();

}  // namespace edgerun
