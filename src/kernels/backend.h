// Kernel backends (the paths of the kernel table) as the runtime sees them: whether a path can
// run on this machine, its library version (part of the tuning-cache key), and how it threads.
//
// Each backend folder (kernels/ref, kernels/xnnpack, kernels/onednn) defines one BackendDef
// function; kernel_table.cc lists them explicitly, in the default preference order for the CPU.
// Usage:
//   for (const BackendDef& b : AllBackends()) if (b.available()) ...
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/session.h"
#include "edgerun/status.h"

namespace edgerun {

struct SupportContext;  // kernels/kernel.h

struct BackendDef {
  KernelPath path;
  // False when the library cannot run here (e.g. missing ISA); its kernels are then never used.
  bool (*available)();
  // "XNNPACK 2022-02-16", "oneDNN 2.6.3"; goes into the tuning-cache key.
  std::string (*version)();
  // Called once per session before kernels are prepared: the backend's own thread pool (oneDNN
  // uses OpenMP) gets `num_threads` threads, the calling thread included, and pins them to cores
  // 0..n-1 when `pin` is set. nullptr: the backend uses the session's pthreadpool.
  Status (*configure_threads)(int num_threads, bool pin);
  // Called by the calling thread before each run, for thread-local settings (OpenMP's team size
  // is per calling thread). nullptr: nothing to do. Must not allocate.
  void (*before_run)(int num_threads);
  // With SessionOptions::flush_denormals: sets (at the start of a run) or clears (at its end) the
  // flush mode on the backend's own worker threads. nullptr: no workers of its own.
  void (*set_worker_denormals)(int num_threads, bool flush) = nullptr;
};

BackendDef RefBackend();      // kernels/ref/ref_backend.cc
BackendDef XnnpackBackend();  // kernels/xnnpack/xnnpack_backend.cc
BackendDef OnednnBackend();   // kernels/onednn/onednn_backend.cc

// Every compiled-in backend.
std::span<const BackendDef> AllBackends();
const BackendDef* FindBackend(KernelPath path);
// The default path preference for this CPU: on x86-64 oneDNN, then XNNPACK, then reference; on
// ARM XNNPACK first. Only available backends are listed. Reference is always last.
std::vector<KernelPath> DefaultPathOrder();

// Per-node exceptions to DefaultPathOrder, measured on this CPU family: moves the node's preferred
// path to the front of `order` when that path is in it. `macs` is the node's estimated
// multiply-accumulates (EstimateMacs). Applied only to the default order; an order the caller
// gave is kept as given.
void ApplyNodePreference(const SupportContext& ctx, int64_t macs, std::vector<KernelPath>& order);
// On x86, 1x1 convs under this many MACs run on XNNPACK before oneDNN (see ApplyNodePreference).
inline constexpr int64_t kMaxMacsForPrebuiltKernels = 1'000'000;

}  // namespace edgerun
