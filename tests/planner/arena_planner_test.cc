#include "planner/arena_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace edgerun {
namespace {

BufferRequest Req(size_t size, int first, int last, size_t alignment = 64) {
  BufferRequest r;
  r.size = size;
  r.alignment = alignment;
  r.first_use = first;
  r.last_use = last;
  return r;
}

// Largest sum of sizes live at one step: no valid plan can be smaller.
size_t PeakLiveBytes(const std::vector<BufferRequest>& reqs) {
  int max_step = 0;
  for (const auto& r : reqs) max_step = std::max(max_step, r.last_use);
  size_t peak = 0;
  for (int s = 0; s <= max_step; ++s) {
    size_t live = 0;
    for (const auto& r : reqs) {
      if (r.first_use <= s && s <= r.last_use) live += r.size;
    }
    peak = std::max(peak, live);
  }
  return peak;
}

void ExpectValidBoth(const std::vector<BufferRequest>& reqs) {
  const ArenaPlan greedy = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  const ArenaPlan linear = PlanArena(reqs, PlanStrategy::kLinear);
  EXPECT_TRUE(CheckPlan(reqs, greedy).ok()) << CheckPlan(reqs, greedy).message() << "\n"
                                            << DumpPlan(reqs, greedy);
  EXPECT_TRUE(CheckPlan(reqs, linear).ok()) << CheckPlan(reqs, linear).message();
  EXPECT_LE(greedy.arena_bytes, linear.arena_bytes);
  EXPECT_GE(greedy.arena_bytes, PeakLiveBytes(reqs));
}

TEST(ArenaPlannerTest, EmptyRequests) {
  const std::vector<BufferRequest> reqs;
  for (auto s : {PlanStrategy::kGreedyBySize, PlanStrategy::kLinear}) {
    ArenaPlan plan = PlanArena(reqs, s);
    EXPECT_EQ(plan.arena_bytes, 0u);
    EXPECT_TRUE(plan.offsets.empty());
    EXPECT_TRUE(CheckPlan(reqs, plan).ok());
  }
}

// x0 -> n0 -> t0 -> n1 -> t1 ... : each buffer lives from its producer to its single consumer.
TEST(ArenaPlannerTest, ChainGolden) {
  const std::vector<BufferRequest> reqs = {Req(1024, 0, 1), Req(2048, 1, 2), Req(512, 2, 3),
                                           Req(4096, 3, 4), Req(256, 4, 5)};
  const ArenaPlan greedy = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  ASSERT_TRUE(CheckPlan(reqs, greedy).ok()) << DumpPlan(reqs, greedy);
  EXPECT_EQ(greedy.offsets, (std::vector<size_t>{2048, 0, 4096, 0, 4096}));
  EXPECT_EQ(greedy.arena_bytes, 4608u);  // the 512 + 4096 pair live at step 3
  const ArenaPlan linear = PlanArena(reqs, PlanStrategy::kLinear);
  EXPECT_EQ(linear.offsets, (std::vector<size_t>{0, 1024, 3072, 3584, 7680}));
  EXPECT_EQ(linear.arena_bytes, 7936u);
}

// x -> a; a -> b; a -> c; (b, c) -> d.
TEST(ArenaPlannerTest, DiamondGolden) {
  const std::vector<BufferRequest> reqs = {Req(256, 0, 0), Req(1024, 0, 2), Req(512, 1, 3),
                                           Req(512, 2, 3), Req(1024, 3, 3)};
  const ArenaPlan greedy = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  ASSERT_TRUE(CheckPlan(reqs, greedy).ok()) << DumpPlan(reqs, greedy);
  EXPECT_EQ(greedy.offsets, (std::vector<size_t>{1024, 0, 1024, 1536, 0}));
  EXPECT_EQ(greedy.arena_bytes, 2048u);
  EXPECT_EQ(PlanArena(reqs, PlanStrategy::kLinear).arena_bytes, 3328u);
}

// x feeds conv1 -> conv2 and the skip Add: x lives across the whole block.
TEST(ArenaPlannerTest, ResidualBlockGolden) {
  const std::vector<BufferRequest> reqs = {Req(1024, 0, 3), Req(1024, 1, 2), Req(1024, 2, 3),
                                           Req(1024, 3, 4)};
  const ArenaPlan greedy = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  ASSERT_TRUE(CheckPlan(reqs, greedy).ok()) << DumpPlan(reqs, greedy);
  EXPECT_EQ(greedy.offsets, (std::vector<size_t>{0, 1024, 2048, 1024}));
  EXPECT_EQ(greedy.arena_bytes, 3072u);  // optimal: three buffers are live at steps 2 and 3
  EXPECT_EQ(PlanArena(reqs, PlanStrategy::kLinear).arena_bytes, 4096u);
}

// Two encoder levels whose outputs are held until the matching decoder level concatenates them.
TEST(ArenaPlannerTest, UNetSkipGolden) {
  const std::vector<BufferRequest> reqs = {
      Req(4096, 0, 6),  // e1, skip to up1
      Req(1024, 1, 2),  // p1
      Req(2048, 2, 5),  // e2, skip to up2
      Req(512, 3, 4),   // p2
      Req(512, 4, 5),   // bottleneck
      Req(2048, 5, 6),  // u2
      Req(4096, 6, 7),  // u1
      Req(256, 7, 7),   // head
  };
  const ArenaPlan greedy = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  ASSERT_TRUE(CheckPlan(reqs, greedy).ok()) << DumpPlan(reqs, greedy);
  EXPECT_EQ(greedy.offsets, (std::vector<size_t>{0, 6144, 4096, 6144, 6656, 8192, 4096, 0}));
  EXPECT_EQ(greedy.arena_bytes, 10240u);
  EXPECT_EQ(PlanArena(reqs, PlanStrategy::kLinear).arena_bytes, 14592u);
}

TEST(ArenaPlannerTest, GreedyTieBreakIsDeterministic) {
  // Equal sizes: the earlier first_use is placed first, then the lower index.
  const std::vector<BufferRequest> reqs = {Req(128, 2, 3), Req(128, 0, 3), Req(128, 0, 3)};
  const ArenaPlan plan = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  EXPECT_EQ(plan.offsets, (std::vector<size_t>{256, 0, 128}));
  const ArenaPlan again = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  EXPECT_EQ(plan.offsets, again.offsets);
}

TEST(ArenaPlannerTest, DisjointLifetimesShareMemory) {
  const std::vector<BufferRequest> reqs = {Req(1000, 0, 0), Req(800, 1, 1), Req(600, 2, 2)};
  const ArenaPlan plan = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  EXPECT_EQ(plan.offsets, (std::vector<size_t>{0, 0, 0}));
  EXPECT_EQ(plan.arena_bytes, 1000u);
}

TEST(ArenaPlannerTest, GapBetweenBuffersIsReused) {
  // 0..1024 and 2048..3072 are taken at step 1; a 1024-byte buffer fits exactly in between.
  const std::vector<BufferRequest> reqs = {Req(2048, 0, 0), Req(1024, 0, 1), Req(1024, 1, 2),
                                           Req(1024, 1, 1)};
  const ArenaPlan plan = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  ASSERT_TRUE(CheckPlan(reqs, plan).ok()) << DumpPlan(reqs, plan);
  EXPECT_EQ(plan.offsets, (std::vector<size_t>{0, 2048, 0, 1024}));
  EXPECT_EQ(plan.arena_bytes, 3072u);
}

TEST(ArenaPlannerTest, AlignmentRespected) {
  const std::vector<BufferRequest> reqs = {Req(100, 0, 1, 64), Req(10, 0, 1, 128), Req(3, 0, 1, 1),
                                           Req(7, 0, 1, 16)};
  const ArenaPlan greedy = PlanArena(reqs, PlanStrategy::kGreedyBySize);
  ASSERT_TRUE(CheckPlan(reqs, greedy).ok()) << DumpPlan(reqs, greedy);
  // 100@0, then 10 needs a 128 boundary, 7 fits at 112 (16-aligned gap), 3 right after 100.
  EXPECT_EQ(greedy.offsets, (std::vector<size_t>{0, 128, 100, 112}));
  EXPECT_EQ(greedy.arena_bytes, 138u);
  const ArenaPlan linear = PlanArena(reqs, PlanStrategy::kLinear);
  ASSERT_TRUE(CheckPlan(reqs, linear).ok());
  EXPECT_EQ(linear.offsets, (std::vector<size_t>{0, 128, 138, 144}));
  EXPECT_EQ(linear.arena_bytes, 151u);
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(greedy.offsets[i] % reqs[i].alignment, 0u);
    EXPECT_EQ(linear.offsets[i] % reqs[i].alignment, 0u);
  }
}

TEST(ArenaPlannerTest, ZeroSizeRequestsNeverCollide) {
  const std::vector<BufferRequest> reqs = {Req(0, 0, 5), Req(512, 0, 5), Req(0, 2, 3),
                                           Req(256, 1, 4)};
  for (auto s : {PlanStrategy::kGreedyBySize, PlanStrategy::kLinear}) {
    const ArenaPlan plan = PlanArena(reqs, s);
    ASSERT_TRUE(CheckPlan(reqs, plan).ok());
    EXPECT_EQ(plan.offsets[0], 0u);
    EXPECT_EQ(plan.offsets[2], 0u);
    EXPECT_EQ(plan.arena_bytes, 768u);
  }
}

TEST(ArenaPlannerTest, CheckPlanCatchesOverlap) {
  const std::vector<BufferRequest> reqs = {Req(256, 0, 2), Req(256, 1, 3), Req(256, 3, 4)};
  ArenaPlan plan;
  plan.offsets = {0, 128, 0};  // #0 and #1 are both live at steps 1..2 and share [128, 256)
  plan.arena_bytes = 384;
  Status s = CheckPlan(reqs, plan);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("#0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("#1"), std::string::npos) << s.message();

  // #0 and #2 share bytes too but are never live together: that is fine.
  plan.offsets = {0, 256, 0};
  plan.arena_bytes = 512;
  EXPECT_TRUE(CheckPlan(reqs, plan).ok());
}

TEST(ArenaPlannerTest, CheckPlanCatchesMisalignmentAndBounds) {
  const std::vector<BufferRequest> reqs = {Req(64, 0, 0), Req(64, 0, 0)};
  ArenaPlan plan;
  plan.offsets = {0, 96};
  plan.arena_bytes = 160;
  Status s = CheckPlan(reqs, plan);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("aligned"), std::string::npos) << s.message();

  plan.offsets = {0, 64};
  plan.arena_bytes = 100;
  s = CheckPlan(reqs, plan);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exceeds"), std::string::npos) << s.message();

  plan.offsets = {0};
  EXPECT_FALSE(CheckPlan(reqs, plan).ok());

  const std::vector<BufferRequest> bad_alignment = {Req(64, 0, 0, 48)};
  plan.offsets = {0};
  plan.arena_bytes = 64;
  EXPECT_FALSE(CheckPlan(bad_alignment, plan).ok());
}

TEST(ArenaPlannerTest, DumpPlanListsEveryRequest) {
  const std::vector<BufferRequest> reqs = {Req(1024, 0, 1), Req(512, 1, 2)};
  const std::string dump = DumpPlan(reqs, PlanArena(reqs));
  EXPECT_NE(dump.find("#0 1024@0 [0..1]"), std::string::npos) << dump;
  EXPECT_NE(dump.find("#1 512@1024 [1..2]"), std::string::npos) << dump;
  EXPECT_NE(dump.find("total 1536"), std::string::npos) << dump;
}

TEST(ArenaPlannerTest, RandomizedPlansAreValid) {
  for (uint32_t seed : {1u, 2u, 3u, 42u}) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> steps(0, 400);
    std::uniform_int_distribution<int> span(0, 30);
    std::uniform_int_distribution<int> size_class(0, 9);
    std::uniform_int_distribution<int> align_log(0, 7);
    std::vector<BufferRequest> reqs(3000);
    for (auto& r : reqs) {
      r.first_use = steps(rng);
      r.last_use = r.first_use + span(rng);
      const int c = size_class(rng);
      // Mostly small odd sizes, some large, some empty.
      r.size = c == 0 ? 0 : (c < 8 ? 1 + rng() % 5000 : 64 * (1 + rng() % 4096));
      r.alignment = size_t{1} << align_log(rng);
    }
    SCOPED_TRACE(seed);
    ExpectValidBoth(reqs);
  }
}

TEST(ArenaPlannerTest, RandomizedChainsNearPeak) {
  // Pure chains have interval-graph structure; greedy should stay close to the peak live size.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> reqs;
    for (int i = 0; i < 200; ++i) reqs.push_back(Req(64 * (1 + rng() % 64), i, i + 1));
    const ArenaPlan plan = PlanArena(reqs);
    ASSERT_TRUE(CheckPlan(reqs, plan).ok());
    EXPECT_LE(plan.arena_bytes, 2 * PeakLiveBytes(reqs));
  }
}

}  // namespace
}  // namespace edgerun
