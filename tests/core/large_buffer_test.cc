#include "core/large_buffer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <utility>

namespace edgerun {
namespace {

bool AllZero(const std::byte* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != std::byte{0}) return false;
  }
  return true;
}

TEST(LargeBufferTest, SmallAndLargeAreZeroedAndAligned) {
  for (size_t bytes : {size_t{1}, size_t{4000}, size_t{70000}, size_t{3} << 20}) {
    auto b = LargeBuffer::Allocate(bytes);
    ASSERT_TRUE(b.ok()) << bytes;
    ASSERT_EQ(b->size(), bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % 64, 0u) << bytes;
    EXPECT_TRUE(AllZero(b->data(), bytes)) << bytes;
    std::memset(b->data(), 0x5a, bytes);  // every byte is writable
  }
}

TEST(LargeBufferTest, HugePagesOnlyForWholeBlocks) {
  auto small = LargeBuffer::Allocate(LargeBuffer::kHugePageBytes - 4096);
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(small->huge_pages_advised());  // the tail never gets a huge page
  auto big = LargeBuffer::Allocate(LargeBuffer::kHugePageBytes * 2 + 100);
  ASSERT_TRUE(big.ok());
  // Mapped buffers start on a huge-page boundary so whole blocks can be huge pages.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big->data()) % LargeBuffer::kHugePageBytes, 0u);
}

TEST(LargeBufferTest, DiscardZeroesWholePagesOnly) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto b = LargeBuffer::Allocate(page * 64);
  ASSERT_TRUE(b.ok());
  std::memset(b->data(), 0x7f, b->size());
  // From the middle of page 1 to the middle of page 5: pages 2..4 go back to the OS.
  b->Discard(page + page / 2, page * 4);
  EXPECT_FALSE(AllZero(b->data() + page, page));          // partly covered: kept
  EXPECT_TRUE(AllZero(b->data() + 2 * page, 3 * page));   // whole pages: zero again
  EXPECT_FALSE(AllZero(b->data() + 5 * page, page / 2));  // partly covered: kept
  b->Discard(b->size() - 10, 1000);                       // past the end: clamped, no crash
  b->Discard(b->size() + 10, 10);
}

TEST(LargeBufferTest, MoveTransfersOwnership) {
  auto a = LargeBuffer::Allocate(100000);
  ASSERT_TRUE(a.ok());
  std::byte* p = a->data();
  LargeBuffer moved = std::move(a).value();
  EXPECT_EQ(moved.data(), p);
  LargeBuffer other;
  other = std::move(moved);
  EXPECT_EQ(other.data(), p);
  EXPECT_EQ(moved.data(), nullptr);
}

TEST(WeightPoolTest, SlicesAreAlignedDisjointAndZeroed) {
  WeightPool pool(1 << 20);
  std::set<std::pair<uintptr_t, uintptr_t>> ranges;
  const size_t sizes[] = {1, 63, 64, 1000, 4096, 100000, 3, 1000000};
  const size_t aligns[] = {64, 64, 128, 4096, 64, 256, 64, 64};
  for (int i = 0; i < 8; ++i) {
    auto p = pool.Allocate(sizes[i], aligns[i]);
    ASSERT_TRUE(p.ok()) << i;
    const auto begin = reinterpret_cast<uintptr_t>(*p);
    EXPECT_EQ(begin % aligns[i], 0u) << i;
    EXPECT_TRUE(AllZero(*p, sizes[i])) << i;
    std::memset(*p, i + 1, sizes[i]);
    for (const auto& [b, e] : ranges) {
      EXPECT_TRUE(begin + sizes[i] <= b || begin >= e) << "slice " << i << " overlaps";
    }
    ranges.insert({begin, begin + sizes[i]});
  }
  EXPECT_EQ(pool.used_bytes(), 1u + 63 + 64 + 1000 + 4096 + 100000 + 3 + 1000000);
  // The guess was 1 MiB and the slices need more: a second chunk was added.
  EXPECT_GT(pool.reserved_bytes(), size_t{1} << 20);
}

TEST(WeightPoolTest, SliceLargerThanTheGuessGetsItsOwnChunk) {
  WeightPool pool(4096);
  auto p = pool.Allocate(size_t{5} << 20);
  ASSERT_TRUE(p.ok());
  std::memset(*p, 1, size_t{5} << 20);
  EXPECT_GE(pool.reserved_bytes(), size_t{5} << 20);
}

TEST(WeightPoolTest, RejectsBadAlignment) {
  WeightPool pool;
  EXPECT_FALSE(pool.Allocate(10, 48).ok());
  EXPECT_FALSE(pool.Allocate(10, 8192).ok());
  EXPECT_FALSE(pool.Allocate(10, 0).ok());
}

}  // namespace
}  // namespace edgerun
