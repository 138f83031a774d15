// Work split across the OpenMP team that oneDNN's layers run on, for edgerun's own passes on the
// oneDNN path (the input interleave, the SiLU after a conv): data a layer spread over the cores'
// caches is processed where it lies rather than pulled to the calling thread.
//   ForEachShare(n, threads, 16, [&](size_t begin, size_t end) { Pass(data + begin, end - begin);
//   });
#pragma once

#include <algorithm>
#include <cstddef>

namespace edgerun {

// Runs fn(begin, end) over [0, n) in one contiguous share per thread, each share a multiple of
// `granule` elements but the last (so no two threads write the same cache line when granule
// elements fill one). With threads <= 1, one call on the calling thread.
template <class Fn>
void ForEachShare(size_t n, int threads, size_t granule, Fn&& fn) {
  if (threads <= 1) {
    fn(size_t{0}, n);
    return;
  }
  const size_t share = (n + threads - 1) / threads;
  const size_t step = (share + granule - 1) / granule * granule;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    const size_t begin = std::min(n, static_cast<size_t>(t) * step);
    fn(begin, std::min(n, begin + step));
  }
}

}  // namespace edgerun
