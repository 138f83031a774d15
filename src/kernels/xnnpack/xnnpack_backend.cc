// XNNPACK as a backend: initialized once on first use; threads with the session's pthreadpool.
#include <xnnpack.h>

#include "kernels/backend.h"

namespace edgerun {
namespace {

bool XnnpackAvailable() {
  // xnn_initialize fails on CPUs XNNPACK does not support (it needs SSE2 / NEON).
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

std::string XnnpackVersion() { return "XNNPACK 0.0~git20220216"; }

}  // namespace

BackendDef XnnpackBackend() {
  return BackendDef{KernelPath::kXnnpack, XnnpackAvailable, XnnpackVersion, nullptr, nullptr};
}

}  // namespace edgerun
