// The reference kernels as a backend: always available, portable C++, threads with the
// session's pthreadpool.
#include "kernels/backend.h"

namespace edgerun {

BackendDef RefBackend() {
  return BackendDef{KernelPath::kReference, [] { return true; },
                    [] { return std::string("edgerun-ref 0.1"); }, nullptr, nullptr};
}

}  // namespace edgerun
