// The activation memory planner: a pure function from buffer lifetimes to arena offsets.
//
// Each request is (size, alignment, first_use, last_use), with uses as step indices (node
// positions). Two buffers may share bytes only when their [first_use, last_use] intervals are
// disjoint. kGreedyBySize places the largest buffers first at the lowest offset that fits among
// already-placed, time-overlapping buffers (the TFLM/XNNPACK strategy); kLinear gives every
// buffer its own range and serves as the baseline in tests.
// Usage:
//   std::vector<BufferRequest> reqs = {{1024, 64, 0, 2}, {512, 64, 1, 3}};
//   ArenaPlan plan = PlanArena(reqs, PlanStrategy::kGreedyBySize);
//   assert(CheckPlan(reqs, plan).ok());
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "edgerun/status.h"

namespace edgerun {

struct BufferRequest {
  size_t size = 0;
  size_t alignment = 64;  // power of two
  int first_use = 0;      // inclusive
  int last_use = 0;       // inclusive; >= first_use
};

struct ArenaPlan {
  std::vector<size_t> offsets;  // one per request
  size_t arena_bytes = 0;
};

enum class PlanStrategy { kGreedyBySize, kLinear };

ArenaPlan PlanArena(std::span<const BufferRequest> requests,
                    PlanStrategy strategy = PlanStrategy::kGreedyBySize);

// Verifies alignment, bounds, and that no two lifetime-overlapping buffers share bytes.
// The error names the first offending pair of request indices.
Status CheckPlan(std::span<const BufferRequest> requests, const ArenaPlan& plan);

// One line per request: "#i size@offset [first..last]", plus the total; for tests and inspect.
std::string DumpPlan(std::span<const BufferRequest> requests, const ArenaPlan& plan);

}  // namespace edgerun
