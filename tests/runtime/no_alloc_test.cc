// Proves that Session::Run performs no heap allocation: global operator new and the C
// allocation functions are replaced by counting versions, and the count must not move during
// Run (on a small CNN built in C++, and on every real model in the fixture cache).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>

#include "edgerun/session.h"
#include "util/graph_builders.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<long> g_allocations{0};
}

extern "C" {
void* malloc(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t a, size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(a, n);
  return *out ? 0 : 12;
}
void free(void* p) { __libc_free(p); }
}

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = __libc_malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, std::align_val_t a) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = __libc_memalign(static_cast<size_t>(a), n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }

namespace edgerun {
namespace {

long AllocationsDuringRuns(Session& s, int runs) {
  const long before = g_allocations.load();
  for (int i = 0; i < runs; ++i) {
    Status st = s.Run();
    if (!st.ok()) {
      ADD_FAILURE() << st.message();
      return -1;
    }
  }
  return g_allocations.load() - before;
}

TEST(NoAllocTest, CounterSeesAllocations) {
  const long before = g_allocations.load();
  auto* p = new std::vector<int>(100);
  delete p;
  EXPECT_GE(g_allocations.load() - before, 2);
}

TEST(NoAllocTest, SmallCnnRunDoesNotAllocate) {
  for (int threads : {1, 2}) {
    SessionOptions options;
    options.num_threads = threads;
    // oneDNN 2.6's dnnl_primitive_execute allocates its argument map on every call, so the
    // allocation-free guarantee is checked on the XNNPACK + reference paths.
    options.kernel_paths = {KernelPath::kXnnpack, KernelPath::kReference};
    auto session = Session::Create(testing::MakeSmallCnn(), options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    EXPECT_EQ(AllocationsDuringRuns(**session, 3), 0) << threads << " threads";
  }
}

TEST(NoAllocTest, RealModelsRunWithoutAllocating) {
  const char* env = std::getenv("EDGERUN_CACHE");
  const std::filesystem::path cache =
      env ? std::filesystem::path(env)
          : std::filesystem::path(std::getenv("HOME") ? std::getenv("HOME") : "/root") /
                ".cache/edgerun";
  const std::filesystem::path models = cache / "models";
  ASSERT_TRUE(std::filesystem::is_directory(models))
      << models << " is missing: run scripts/fetch_fixtures.sh";
  int checked = 0;
  // The _qdq models run the int8 path (QLinearConv, QLinearAdd, QuantizeLinear).
  for (const char* name :
       {"mobilenet_v2", "resnet18", "ppocr_cls", "resnet18_qdq", "mobilenet_v2_qdq"}) {
    const std::filesystem::path path = models / name / "model.onnx";
    ASSERT_TRUE(std::filesystem::exists(path))
        << path << " is missing: run scripts/fetch_fixtures.sh";
    auto model = LoadModel(path.string());
    ASSERT_TRUE(model.ok()) << model.status().message();
    SessionOptions options;
    options.default_dim_value = 1;
    options.num_threads = 2;
    options.kernel_paths = {KernelPath::kXnnpack, KernelPath::kReference};
    if (std::string(name) == "ppocr_cls") options.input_shapes["x"] = {1, 3, 48, 192};
    auto session = Session::Create(*model, options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    EXPECT_EQ(AllocationsDuringRuns(**session, 2), 0) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

}  // namespace
}  // namespace edgerun
