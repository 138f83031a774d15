#include "planner/arena_planner.h"

#include <algorithm>
#include <numeric>

namespace edgerun {
namespace {

size_t EffectiveAlignment(const BufferRequest& r) { return r.alignment == 0 ? 1 : r.alignment; }

size_t AlignUp(size_t x, size_t alignment) { return (x + alignment - 1) / alignment * alignment; }

bool LifetimesOverlap(const BufferRequest& a, const BufferRequest& b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}

ArenaPlan PlanLinear(std::span<const BufferRequest> requests) {
  ArenaPlan plan;
  plan.offsets.assign(requests.size(), 0);
  size_t end = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].size == 0) continue;
    const size_t offset = AlignUp(end, EffectiveAlignment(requests[i]));
    plan.offsets[i] = offset;
    end = offset + requests[i].size;
  }
  plan.arena_bytes = end;
  return plan;
}

ArenaPlan PlanGreedyBySize(std::span<const BufferRequest> requests) {
  ArenaPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const BufferRequest& ra = requests[a];
    const BufferRequest& rb = requests[b];
    if (ra.size != rb.size) return ra.size > rb.size;
    if (ra.first_use != rb.first_use) return ra.first_use < rb.first_use;
    return a < b;
  });

  struct Interval {
    size_t begin, end;
  };
  std::vector<size_t> placed;  // request indices already given an offset, in placement order
  placed.reserve(requests.size());
  std::vector<Interval> busy;
  for (size_t idx : order) {
    const BufferRequest& r = requests[idx];
    if (r.size == 0) continue;  // owns no bytes, so it can neither collide nor grow the arena
    busy.clear();
    for (size_t p : placed) {
      if (LifetimesOverlap(r, requests[p])) {
        busy.push_back({plan.offsets[p], plan.offsets[p] + requests[p].size});
      }
    }
    std::sort(busy.begin(), busy.end(),
              [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
    // Walk the occupied ranges bottom-up and take the first aligned gap that is large enough.
    // Ranges may overlap one another (they need not be live at the same time among themselves),
    // hence the max() when skipping past one.
    const size_t alignment = EffectiveAlignment(r);
    size_t candidate = 0;
    for (const Interval& b : busy) {
      if (candidate + r.size <= b.begin) break;
      if (b.end > candidate) candidate = AlignUp(b.end, alignment);
    }
    plan.offsets[idx] = candidate;
    plan.arena_bytes = std::max(plan.arena_bytes, candidate + r.size);
    placed.push_back(idx);
  }
  return plan;
}

}  // namespace

ArenaPlan PlanArena(std::span<const BufferRequest> requests, PlanStrategy strategy) {
  switch (strategy) {
    case PlanStrategy::kLinear:
      return PlanLinear(requests);
    case PlanStrategy::kGreedyBySize:
      return PlanGreedyBySize(requests);
  }
  return PlanGreedyBySize(requests);
}

Status CheckPlan(std::span<const BufferRequest> requests, const ArenaPlan& plan) {
  if (plan.offsets.size() != requests.size()) {
    return Internal("arena plan has " + std::to_string(plan.offsets.size()) + " offsets for " +
                    std::to_string(requests.size()) + " requests");
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const BufferRequest& r = requests[i];
    const std::string id = "buffer #" + std::to_string(i);
    if (r.last_use < r.first_use) {
      return Internal(id + " has last_use " + std::to_string(r.last_use) + " before first_use " +
                      std::to_string(r.first_use));
    }
    const size_t alignment = EffectiveAlignment(r);
    if ((alignment & (alignment - 1)) != 0) {
      return Internal(id + " requests alignment " + std::to_string(alignment) +
                      ", which is not a power of two");
    }
    if (r.size == 0) continue;
    if (plan.offsets[i] % alignment != 0) {
      return Internal(id + " at offset " + std::to_string(plan.offsets[i]) + " is not aligned to " +
                      std::to_string(alignment));
    }
    if (plan.offsets[i] > plan.arena_bytes || r.size > plan.arena_bytes - plan.offsets[i]) {
      return Internal(id + " (" + std::to_string(r.size) + " bytes at offset " +
                      std::to_string(plan.offsets[i]) + ") exceeds the arena of " +
                      std::to_string(plan.arena_bytes) + " bytes");
    }
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].size == 0) continue;
    const size_t bi = plan.offsets[i], ei = bi + requests[i].size;
    for (size_t j = i + 1; j < requests.size(); ++j) {
      if (requests[j].size == 0 || !LifetimesOverlap(requests[i], requests[j])) continue;
      const size_t bj = plan.offsets[j], ej = bj + requests[j].size;
      if (bi < ej && bj < ei) {
        return Internal("buffers #" + std::to_string(i) + " [" + std::to_string(bi) + ", " +
                        std::to_string(ei) + ") and #" + std::to_string(j) + " [" +
                        std::to_string(bj) + ", " + std::to_string(ej) +
                        ") share bytes while both are live");
      }
    }
  }
  return Status::Ok();
}

std::string DumpPlan(std::span<const BufferRequest> requests, const ArenaPlan& plan) {
  std::string out;
  for (size_t i = 0; i < requests.size(); ++i) {
    const BufferRequest& r = requests[i];
    const size_t offset = i < plan.offsets.size() ? plan.offsets[i] : 0;
    out += "#" + std::to_string(i) + " " + std::to_string(r.size) + "@" + std::to_string(offset) +
           " [" + std::to_string(r.first_use) + ".." + std::to_string(r.last_use) + "]\n";
  }
  out += "total " + std::to_string(plan.arena_bytes) + " bytes\n";
  return out;
}

}  // namespace edgerun
