// Work split across the OpenMP team that oneDNN's layers run on, for edgerun's own passes on the
// oneDNN path (the input interleave and quantization, the SiLU after a conv): data a layer spread
// over the cores' caches is processed where it lies rather than pulled to the calling thread.
//   s.threads = ThreadsToShare(bytes, ctx.share_every_layer, ctx.num_threads);  // at prepare
//   ForEachShare(n, threads, 16, [&](size_t begin, size_t end) { Pass(data + begin, end - begin);
//   });
#pragma once

#include <algorithm>
#include <cstddef>

namespace edgerun {

// From this many bytes such a pass is split across the team, when the team's workers spin between
// layers (PrepareContext::share_every_layer): the 3x224x224 f32 input interleave took 0.075 ms on
// one thread of the Intel Xeon, 0.04 on two. Smaller data stays on the calling thread.
inline constexpr size_t kMinBytesToShare = 256 * 1024;

// The threads a pass over `bytes` runs on: all of the team's, or the calling thread alone.
inline int ThreadsToShare(size_t bytes, bool share_every_layer, int num_threads) {
  return share_every_layer && bytes >= kMinBytesToShare ? num_threads : 1;
}

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
