// oneDNN as a backend: OpenMP threads (Debian's build), sized per session and per run.
#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <string>

#include "core/denormals.h"
#include "kernels/backend.h"

namespace edgerun {
namespace {

bool OnednnAvailable() { return true; }

std::string OnednnVersion() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + " " + v->hash;
}

Status OnednnConfigureThreads(int num_threads, bool pin) {
  omp_set_num_threads(num_threads);
  // Start the team now: creating OpenMP threads allocates, and a run must not.
  std::atomic<int> failed{0};
#pragma omp parallel num_threads(num_threads)
  {
    if (pin) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(omp_get_thread_num() % CPU_SETSIZE, &set);
      if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) failed.fetch_add(1);
    }
  }
  if (failed.load() > 0)
    return InvalidArgument("cannot pin oneDNN threads to cores 0.." +
                           std::to_string(num_threads - 1));
  return Status::Ok();
}

void OnednnBeforeRun(int num_threads) { omp_set_num_threads(num_threads); }

// One parallel region reaches every thread of the team the primitives will use.
void OnednnSetWorkerDenormals(int num_threads, bool flush) {
  if (num_threads <= 1) return;
#pragma omp parallel num_threads(num_threads)
  {
    if (omp_get_thread_num() != 0) SetFlushDenormals(flush);
  }
}

}  // namespace

BackendDef OnednnBackend() {
  return BackendDef{KernelPath::kOnednn,    OnednnAvailable, OnednnVersion,
                    OnednnConfigureThreads, OnednnBeforeRun, OnednnSetWorkerDenormals};
}

}  // namespace edgerun
