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

TEST(WeightPoolTest, LargeOverflowSliceGetsHugePagesAndSmallSlicesKeepTheirChunk) {
  const bool thp = LargeBuffer::Allocate(LargeBuffer::kHugePageBytes * 2)->huge_pages_advised();
  WeightPool pool(size_t{1} << 20);
  auto a = pool.Allocate(1000);  // first chunk: 1 MiB, no whole block
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(pool.huge_page_bytes(), 0u);
  auto big = pool.Allocate(size_t{4} << 20, 4096);  // as a padded 1024x1024 fp32 FC weight
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(*big) % 4096, 0u);
  std::memset(*big, 1, size_t{4} << 20);
  if (thp) {
    EXPECT_EQ(pool.huge_page_bytes(), size_t{4} << 20);
  }
  // A small slice still goes to the first chunk, right after the first slice.
  auto b = pool.Allocate(1000);
  ASSERT_TRUE(b.ok());
  EXPECT_LT(*b - *a, 4096);
  EXPECT_TRUE(AllZero(*b, 1000));
  EXPECT_EQ(pool.used_bytes(), 2000u + (size_t{4} << 20));
}

TEST(WeightPoolTest, WithoutHugePagesNoChunkIsAdvised) {
  WeightPool pool(size_t{5} << 20, /*huge_pages=*/false);
  auto first = pool.Allocate(size_t{3} << 20);  // two whole blocks in the first chunk
  ASSERT_TRUE(first.ok());
  auto big = pool.Allocate(size_t{4} << 20);  // an overflow slice of its own
  ASSERT_TRUE(big.ok());
  std::memset(*first, 1, size_t{3} << 20);
  std::memset(*big, 1, size_t{4} << 20);
  EXPECT_EQ(pool.huge_page_bytes(), 0u);
  EXPECT_GE(pool.reserved_bytes(), size_t{7} << 20);
  // The same requests with huge pages allowed do get them where the OS has THP.
  WeightPool huge(size_t{5} << 20);
  ASSERT_TRUE(huge.Allocate(size_t{3} << 20).ok());
  if (LargeBuffer::Allocate(LargeBuffer::kHugePageBytes * 2)->huge_pages_advised()) {
    EXPECT_GT(huge.huge_page_bytes(), 0u);
  }
}

TEST(WeightPoolTest, ReleaseUnusedKeepsSlicesAndLaterSlicesAreZeroed) {
  WeightPool pool(size_t{3} << 20);
  auto a = pool.Allocate(100000);
  ASSERT_TRUE(a.ok());
  std::memset(*a, 0x11, 100000);
  // Fault in whole pages past the slice (a huge page makes them resident). Nothing writes past a
  // slice, so they hold zeros; ReleaseUnused must keep them zero when it gives them back.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  volatile std::byte* past = *a + (100000 + page - 1) / page * page;
  for (size_t i = 0; i < 200000; i += page) (void)past[i];
  pool.ReleaseUnused();
  for (size_t i = 0; i < 100000; ++i) ASSERT_EQ(std::to_integer<int>((*a)[i]), 0x11) << i;
  auto b = pool.Allocate(150000);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(AllZero(*b, 150000));  // the whole pages past the slice read as zeros again
}

TEST(WeightPoolTest, RejectsBadAlignment) {
  WeightPool pool;
  EXPECT_FALSE(pool.Allocate(10, 48).ok());
  EXPECT_FALSE(pool.Allocate(10, 8192).ok());
  EXPECT_FALSE(pool.Allocate(10, 0).ok());
}

}  // namespace
}  // namespace edgerun
