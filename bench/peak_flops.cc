// edgerun-peak-flops: measures this CPU's fp32 FMA peak (and int8 dot-product peak where VNNI
// exists) on one core and on N threads, so bench/compare_ort.py can say what fraction of the
// machine a model's GFLOP/s reaches.
//
// Each thread runs a loop of independent fused multiply-adds on register accumulators: more
// accumulators than (FMA latency x FMA ports), so the loop is bound by FMA throughput alone.
// The widest ISA the CPU supports is picked at run time (AVX-512F, AVX2+FMA, SSE2 mul+add);
// the best of several short repetitions is reported, which filters out the noise of a shared
// machine.
//
// Usage:
//   build/bin/edgerun-peak-flops                      # human-readable, all cores
//   build/bin/edgerun-peak-flops --threads 2 --json   # one JSON object
//   build/bin/edgerun-peak-flops --isa avx2 --seconds 0.1
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EDGERUN_PEAK_X86 1
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Work of one kernel call: it runs `rounds` loop trips and returns the operations it did.
// The result sink defeats dead-code elimination without costing anything in the loop.
using Kernel = double (*)(int64_t rounds, float* sink);

// m < 1 and a > 0 make every accumulator converge to a / (1 - m) = 1: no overflow, no
// denormals, whose microcode assists would understate the peak.
constexpr float kMul = 0.999999f;
constexpr float kAdd = 1e-6f;

#ifdef EDGERUN_PEAK_X86

// The accumulators are named variables rather than an array: GCC keeps an array of vectors in
// memory, and store-to-load forwarding then caps the loop far below the FMA throughput.
#define EDGERUN_REPEAT12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define EDGERUN_REPEAT16(X) EDGERUN_REPEAT12(X) X(12) X(13) X(14) X(15)

// 16 accumulators: Zen 4/5 and Skylake-SP need 8 in flight (4-cycle latency x 2 FMA ports);
// twice that leaves room for slower parts, and still fits in 32 zmm registers.
__attribute__((target("avx512f"))) double Fp32Avx512(int64_t rounds, float* sink) {
  const __m512 m = _mm512_set1_ps(kMul);
  const __m512 a = _mm512_set1_ps(kAdd);
#define EDGERUN_INIT(i) __m512 acc##i = _mm512_set1_ps(static_cast<float>(i));
#define EDGERUN_STEP(i) acc##i = _mm512_fmadd_ps(acc##i, m, a);
#define EDGERUN_SUM(i) total = _mm512_add_ps(total, acc##i);
  EDGERUN_REPEAT16(EDGERUN_INIT)
  for (int64_t r = 0; r < rounds; ++r) {
    EDGERUN_REPEAT16(EDGERUN_STEP)
  }
  __m512 total = _mm512_setzero_ps();
  EDGERUN_REPEAT16(EDGERUN_SUM)
#undef EDGERUN_INIT
#undef EDGERUN_STEP
#undef EDGERUN_SUM
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, total);
  for (float v : lanes) *sink += v;
  return static_cast<double>(rounds) * 16 * 16 * 2;
}

// 12 accumulators + 2 constants fit the 16 ymm registers without spilling.
__attribute__((target("avx2,fma"))) double Fp32Avx2(int64_t rounds, float* sink) {
  const __m256 m = _mm256_set1_ps(kMul);
  const __m256 a = _mm256_set1_ps(kAdd);
#define EDGERUN_INIT(i) __m256 acc##i = _mm256_set1_ps(static_cast<float>(i));
#define EDGERUN_STEP(i) acc##i = _mm256_fmadd_ps(acc##i, m, a);
#define EDGERUN_SUM(i) total = _mm256_add_ps(total, acc##i);
  EDGERUN_REPEAT12(EDGERUN_INIT)
  for (int64_t r = 0; r < rounds; ++r) {
    EDGERUN_REPEAT12(EDGERUN_STEP)
  }
  __m256 total = _mm256_setzero_ps();
  EDGERUN_REPEAT12(EDGERUN_SUM)
#undef EDGERUN_INIT
#undef EDGERUN_STEP
#undef EDGERUN_SUM
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, total);
  for (float v : lanes) *sink += v;
  return static_cast<double>(rounds) * 12 * 8 * 2;
}

// No FMA: a multiply and an add per lane, which is what SSE2 kernels can reach.
double Fp32Sse2(int64_t rounds, float* sink) {
  const __m128 m = _mm_set1_ps(kMul);
  const __m128 a = _mm_set1_ps(kAdd);
#define EDGERUN_INIT(i) __m128 acc##i = _mm_set1_ps(static_cast<float>(i));
#define EDGERUN_STEP(i) acc##i = _mm_add_ps(_mm_mul_ps(acc##i, m), a);
#define EDGERUN_SUM(i) total = _mm_add_ps(total, acc##i);
  EDGERUN_REPEAT12(EDGERUN_INIT)
  for (int64_t r = 0; r < rounds; ++r) {
    EDGERUN_REPEAT12(EDGERUN_STEP)
  }
  __m128 total = _mm_setzero_ps();
  EDGERUN_REPEAT12(EDGERUN_SUM)
#undef EDGERUN_INIT
#undef EDGERUN_STEP
#undef EDGERUN_SUM
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, total);
  for (float v : lanes) *sink += v;
  return static_cast<double>(rounds) * 12 * 4 * 2;
}

// u8 x s8 dot products into int32 (vpdpbusd): 64 multiply-adds per instruction. Integer
// wrap-around is harmless here; only throughput matters.
__attribute__((target("avx512f,avx512vnni"))) double Int8Avx512Vnni(int64_t rounds, float* sink) {
  const __m512i u8 = _mm512_set1_epi8(3);
  const __m512i s8 = _mm512_set1_epi8(-2);
#define EDGERUN_INIT(i) __m512i acc##i = _mm512_set1_epi32(i);
#define EDGERUN_STEP(i) acc##i = _mm512_dpbusd_epi32(acc##i, u8, s8);
#define EDGERUN_SUM(i) total = _mm512_add_epi32(total, acc##i);
  EDGERUN_REPEAT16(EDGERUN_INIT)
  for (int64_t r = 0; r < rounds; ++r) {
    EDGERUN_REPEAT16(EDGERUN_STEP)
  }
  __m512i total = _mm512_setzero_si512();
  EDGERUN_REPEAT16(EDGERUN_SUM)
#undef EDGERUN_INIT
#undef EDGERUN_STEP
#undef EDGERUN_SUM
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, total);
  for (int32_t v : lanes) *sink += static_cast<float>(v);
  return static_cast<double>(rounds) * 16 * 64 * 2;
}

#endif  // EDGERUN_PEAK_X86

// Portable fallback for non-x86 builds; the compiler vectorizes it for the target it was
// built for, so it is a lower bound rather than the true peak.
double Fp32Scalar(int64_t rounds, float* sink) {
  constexpr int kAcc = 32;
  float acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = static_cast<float>(i);
  for (int64_t r = 0; r < rounds; ++r) {
    for (int i = 0; i < kAcc; ++i) acc[i] = acc[i] * kMul + kAdd;
  }
  for (float v : acc) *sink += v;
  return static_cast<double>(rounds) * kAcc * 2;
}

struct Isa {
  const char* name;
  Kernel kernel;
};

bool CpuHas(const std::string& feature) {
#ifdef EDGERUN_PEAK_X86
  __builtin_cpu_init();
  if (feature == "avx512f") return __builtin_cpu_supports("avx512f");
  if (feature == "avx512vnni") return __builtin_cpu_supports("avx512vnni");
  if (feature == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (feature == "sse2") return __builtin_cpu_supports("sse2");
#endif
  return feature == "scalar";
}

// The fp32 kernels from widest to narrowest; `cap` names the widest one allowed.
bool PickFp32(const std::string& cap, Isa* out) {
  static const Isa kOrder[] = {
#ifdef EDGERUN_PEAK_X86
      {"avx512f", Fp32Avx512},
      {"avx2", Fp32Avx2},
      {"sse2", Fp32Sse2},
#endif
      {"scalar", Fp32Scalar},
  };
  bool allowed = cap.empty();
  for (const Isa& isa : kOrder) {
    if (!allowed && cap == isa.name) allowed = true;
    if (allowed && CpuHas(isa.name)) {
      *out = isa;
      return true;
    }
  }
  return false;
}

// Runs `kernel` on `threads` threads at once, each for `rounds` trips, started together;
// returns ops per second over the wall time of the slowest thread.
double MeasureOnce(Kernel kernel, int threads, int64_t rounds) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> ops(threads, 0.0);
  std::vector<float> sinks(threads, 0.0f);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      ops[t] = kernel(rounds, &sinks[t]);
    });
  }
  while (ready.load() != threads - 1) {
  }
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  ops[0] = kernel(rounds, &sinks[0]);
  for (std::thread& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double total = 0;
  for (double o : ops) total += o;
  // Printing the sink would clutter the output; comparing it keeps it live.
  volatile float keep = 0;
  for (float s : sinks) keep = keep + s;
  return total / seconds;
}

// Best of several repetitions of about `seconds` each, after calibrating the trip count.
double MeasurePeak(Kernel kernel, int threads, double seconds, int repetitions) {
  float unused = 0;
  const double ops_per_round = kernel(1, &unused);
  int64_t rounds = 1 << 14;
  for (;;) {
    const double rate = MeasureOnce(kernel, 1, rounds);
    const double trip_seconds = rounds * ops_per_round / rate;
    if (trip_seconds >= 0.02 || rounds > (int64_t{1} << 40)) {
      rounds = static_cast<int64_t>(rounds * (seconds / trip_seconds)) + 1;
      break;
    }
    rounds *= 4;
  }
  double best = 0;
  for (int r = 0; r < repetitions; ++r) {
    const double rate = MeasureOnce(kernel, threads, rounds);
    if (rate > best) best = rate;
  }
  return best;
}

struct Options {
  int threads = 0;
  double seconds = 0.2;
  int repetitions = 5;
  bool json = false;
  std::string isa;
};

int Usage(const char* argv0, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--threads N] [--seconds S] [--repetitions R] [--isa "
               "avx512f|avx2|sse2|scalar] [--json]\n"
               "Measures fp32 FMA GFLOP/s (and int8 VNNI GOP/s) on 1 core and on N threads.\n",
               argv0);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "edgerun-peak-flops: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") {
      opt.threads = std::atoi(value());
      if (opt.threads < 1 || opt.threads > 1024) return Usage(argv[0], 2);
    } else if (a == "--seconds") {
      opt.seconds = std::atof(value());
      if (!(opt.seconds > 0 && opt.seconds <= 10)) return Usage(argv[0], 2);
    } else if (a == "--repetitions") {
      opt.repetitions = std::atoi(value());
      if (opt.repetitions < 1 || opt.repetitions > 100) return Usage(argv[0], 2);
    } else if (a == "--isa") {
      opt.isa = value();
    } else if (a == "--json") {
      opt.json = true;
    } else if (a == "-h" || a == "--help") {
      return Usage(argv[0], 0);
    } else {
      std::fprintf(stderr, "edgerun-peak-flops: unknown argument '%s'\n", a.c_str());
      return Usage(argv[0], 2);
    }
  }
  if (opt.threads == 0) opt.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  Isa fp32{};
  if (!PickFp32(opt.isa, &fp32)) {
    std::fprintf(stderr, "edgerun-peak-flops: ISA '%s' is unknown or not supported by this CPU\n",
                 opt.isa.c_str());
    return 2;
  }
  const double fp32_one = MeasurePeak(fp32.kernel, 1, opt.seconds, opt.repetitions) / 1e9;
  const double fp32_all =
      opt.threads > 1 ? MeasurePeak(fp32.kernel, opt.threads, opt.seconds, opt.repetitions) / 1e9
                      : fp32_one;

  double int8_one = 0, int8_all = 0;
  const char* int8_isa = nullptr;
#ifdef EDGERUN_PEAK_X86
  if (opt.isa.empty() && CpuHas("avx512vnni")) {
    int8_isa = "avx512vnni";
    int8_one = MeasurePeak(Int8Avx512Vnni, 1, opt.seconds, opt.repetitions) / 1e9;
    int8_all = opt.threads > 1
                   ? MeasurePeak(Int8Avx512Vnni, opt.threads, opt.seconds, opt.repetitions) / 1e9
                   : int8_one;
  }
#endif

  if (opt.json) {
    std::printf("{\"isa\": \"%s\", \"threads\": %d, \"fp32_gflops_per_core\": %.2f, "
                "\"fp32_gflops_all_threads\": %.2f",
                fp32.name, opt.threads, fp32_one, fp32_all);
    if (int8_isa != nullptr) {
      std::printf(", \"int8_isa\": \"%s\", \"int8_gops_per_core\": %.2f, "
                  "\"int8_gops_all_threads\": %.2f",
                  int8_isa, int8_one, int8_all);
    } else {
      std::printf(", \"int8_isa\": null");
    }
    std::printf("}\n");
  } else {
    std::printf("fp32 %s: %.1f GFLOP/s on 1 core, %.1f GFLOP/s on %d threads\n", fp32.name,
                fp32_one, fp32_all, opt.threads);
    if (int8_isa != nullptr) {
      std::printf("int8 %s: %.1f GOP/s on 1 core, %.1f GOP/s on %d threads\n", int8_isa,
                  int8_one, int8_all, opt.threads);
    }
  }
  return 0;
}
