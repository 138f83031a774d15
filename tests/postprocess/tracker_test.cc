// ByteTrack-style tracker on synthetic trajectories: well separated objects, crossings, missed
// detections (3-frame gaps), low-score frames; counts ID switches. Also the assignment solver
// against brute force.
#include "edgerun/postprocess/tracker.h"

#include "edgerun/postprocess/nms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <random>

namespace edgerun::postprocess {
namespace {

TEST(AssignmentTest, MatchesBruteForceWithCostLimit) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  for (int trial = 0; trial < 200; ++trial) {
    const int rows = 1 + trial % 5, cols = 1 + (trial / 5) % 5;
    const float limit = 0.6f;
    std::vector<float> cost(rows * cols);
    for (float& c : cost) c = u(rng);
    const std::vector<int> got = SolveAssignment(cost, rows, cols, limit);
    // Brute force: every injective partial assignment using only pairs <= limit; unmatched rows
    // and columns cost limit / 2 each (the extended problem's objective).
    double best = std::numeric_limits<double>::infinity();
    std::vector<int> perm(std::max(rows, cols) + rows);
    std::vector<int> cur(rows, -1);
    std::function<void(int, std::vector<char>&, double, int)> rec =
        [&](int r, std::vector<char>& used, double acc, int matched) {
          if (r == rows) {
            const double total = acc + (rows - matched + cols - matched) * limit / 2.0;
            best = std::min(best, total);
            return;
          }
          rec(r + 1, used, acc, matched);
          for (int c = 0; c < cols; ++c) {
            if (used[c] || cost[r * cols + c] > limit) continue;
            used[c] = 1;
            rec(r + 1, used, acc + cost[r * cols + c], matched + 1);
            used[c] = 0;
          }
        };
    std::vector<char> used(cols, 0);
    rec(0, used, 0.0, 0);
    double got_total = 0;
    int matched = 0;
    std::vector<char> seen(cols, 0);
    for (int r = 0; r < rows; ++r) {
      if (got[r] < 0) continue;
      ASSERT_LE(cost[r * cols + got[r]], limit);
      ASSERT_FALSE(seen[got[r]]);
      seen[got[r]] = 1;
      got_total += cost[r * cols + got[r]];
      ++matched;
    }
    got_total += (rows - matched + cols - matched) * limit / 2.0;
    EXPECT_NEAR(got_total, best, 1e-5) << "trial " << trial;
  }
}

struct Object {
  float x0, y0, vx, vy, w, h;
  Box At(int t) const {
    const float cx = x0 + vx * t, cy = y0 + vy * t;
    return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
  }
};

// Runs the tracker over `frames`, object k detected unless missing(k, t); returns the number of
// ID switches (a ground-truth object matched to a different track ID than before) and checks every
// object is tracked at the end.
int RunScenario(const std::vector<Object>& objects, int frames,
                const std::function<bool(int, int)>& missing,
                const std::function<float(int, int)>& score, std::mt19937& rng,
                int* final_tracked) {
  ByteTracker tracker;
  std::normal_distribution<float> jitter(0.0f, 1.0f);
  std::map<int, int> last_id;
  int switches = 0;
  *final_tracked = 0;
  for (int t = 0; t < frames; ++t) {
    std::vector<Detection> dets;
    std::vector<int> owner;
    for (size_t k = 0; k < objects.size(); ++k) {
      if (missing(static_cast<int>(k), t)) continue;
      Detection d;
      d.box = objects[k].At(t);
      d.box.x1 += jitter(rng), d.box.x2 += jitter(rng), d.box.y1 += jitter(rng),
          d.box.y2 += jitter(rng);
      d.score = score(static_cast<int>(k), t);
      dets.push_back(d);
      owner.push_back(static_cast<int>(k));
    }
    std::shuffle(dets.begin(), dets.end(), rng);  // order must not matter (owner via IoU below)
    auto tracks = tracker.Update(dets);
    EXPECT_TRUE(tracks.ok());
    int tracked = 0;
    for (size_t k = 0; k < objects.size(); ++k) {
      // The track whose box best matches the true box of object k this frame.
      const Box truth = objects[k].At(t);
      int id = -1;
      float best = 0.5f;
      for (const Track& tr : *tracks) {
        const float iou = BoxIou(tr.box, truth);
        if (iou > best) best = iou, id = tr.id;
      }
      if (id < 0) continue;
      ++tracked;
      auto it = last_id.find(static_cast<int>(k));
      if (it != last_id.end() && it->second != id) ++switches;
      last_id[static_cast<int>(k)] = id;
    }
    *final_tracked = tracked;
  }
  return switches;
}

TEST(ByteTrackerTest, WellSeparatedObjectsKeepIdsThroughGaps) {
  std::mt19937 rng(11);
  const std::vector<Object> objects = {{50, 50, 3, 1, 40, 80},
                                       {400, 100, -2, 2, 60, 60},
                                       {200, 400, 1, -3, 30, 70},
                                       {600, 500, -3, -1, 50, 50}};
  // Each object misses a 3-frame gap at a different time.
  auto missing = [](int k, int t) { return t >= 10 + 8 * k && t < 13 + 8 * k; };
  auto score = [](int, int) { return 0.9f; };
  int tracked = 0;
  EXPECT_EQ(RunScenario(objects, 60, missing, score, rng, &tracked), 0);
  EXPECT_EQ(tracked, 4);
}

TEST(ByteTrackerTest, CrossingObjectsFewSwitches) {
  std::mt19937 rng(12);
  // Two pairs crossing head-on (same row) and at an angle; one pair drops to low scores while
  // crossing (occlusion), which the second association stage must bridge.
  const std::vector<Object> objects = {{50, 200, 6, 0, 40, 90},
                                       {650, 220, -6, 0, 50, 100},
                                       {100, 500, 5, -2, 50, 50},
                                       {600, 300, -5, 2, 44, 60}};
  auto missing = [](int k, int t) { return k == 0 && t >= 30 && t < 33; };
  auto score = [](int k, int t) { return (k >= 2 && t >= 45 && t < 56) ? 0.3f : 0.85f; };
  int tracked = 0;
  const int switches = RunScenario(objects, 100, missing, score, rng, &tracked);
  EXPECT_LE(switches, 2);
  EXPECT_EQ(tracked, 4);
}

TEST(ByteTrackerTest, IdsAreNewForNewObjectsAndLostTracksExpire) {
  ByteTracker tracker({.max_age = 5});
  Detection a;
  a.box = {0, 0, 50, 50};
  a.score = 0.9f;
  auto t1 = tracker.Update(std::vector<Detection>{a});
  ASSERT_TRUE(t1.ok());
  ASSERT_EQ(t1->size(), 1u);
  const int id = (*t1)[0].id;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(tracker.Update({}).ok());  // gone longer than max_age
  ASSERT_TRUE(tracker.Update(std::vector<Detection>{a}).ok());       // new, unconfirmed
  auto t2 = tracker.Update(std::vector<Detection>{a});  // confirmed on its second match
  ASSERT_TRUE(t2.ok());
  ASSERT_EQ(t2->size(), 1u);
  EXPECT_NE((*t2)[0].id, id);
  Detection bad = a;
  bad.score = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(tracker.Update(std::vector<Detection>{bad}).ok());
}

}  // namespace
}  // namespace edgerun::postprocess
