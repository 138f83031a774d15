// Multi-object tracking, ByteTrack style: a constant-velocity Kalman filter per track on
// (centre x, centre y, aspect w/h, height), IoU association solved as a linear assignment
// (Hungarian / Kuhn-Munkres with a cost limit), and two stages per frame: high-score detections
// against all tracks, then low-score detections against the tracks still unmatched (so occluded,
// low-confidence objects keep their IDs). New tracks start from unmatched high-score detections;
// lost tracks are kept max_age frames for re-identification, then dropped. IDs are never reused.
//   ByteTracker tracker({.max_age = 30});
//   for (each frame) for (const Track& t : tracker.Update(detections)) Draw(t.id, t.box);
#pragma once

#include <array>
#include <span>
#include <vector>

#include "edgerun/postprocess/detection.h"
#include "edgerun/status.h"

namespace edgerun::postprocess {

struct TrackerOptions {
  float high_threshold = 0.5f;       // first-stage detections (ByteTrack's track_thresh)
  float low_threshold = 0.1f;        // second-stage detections are in (low, high)
  float new_track_threshold = 0.6f;  // a new track needs at least this score
  float first_match_iou = 0.2f;      // minimum IoU to match in stage one (cost 1 - IoU <= 0.8)
  float second_match_iou = 0.5f;     // stage two
  float unconfirmed_match_iou = 0.3f;
  int max_age = 30;  // frames a lost track is kept
};

struct Track {
  int id = 0;
  Box box;          // Kalman estimate after the update, corner form
  float score = 0;  // last matched detection's score
  int class_id = 0;
  int frames_since_update = 0;
};

// Linear assignment minimizing total cost, pairs with cost > cost_limit never matched (rectangular
// rows x cols cost matrix, row-major). Returns for each row its column or -1.
std::vector<int> SolveAssignment(std::span<const float> cost, int rows, int cols, float cost_limit);

class ByteTracker {
 public:
  explicit ByteTracker(const TrackerOptions& options = {});
  // One frame of detections (any score; NaN scores or non-finite boxes are an error). Returns the
  // confirmed tracks matched in this frame.
  Expected<std::vector<Track>> Update(std::span<const Detection> detections);
  int frame() const { return frame_; }

 private:
  struct State {
    int id = 0;
    std::array<double, 8> mean{};  // cx, cy, a, h, vcx, vcy, va, vh
    std::array<double, 64> cov{};
    float score = 0;
    int class_id = 0;
    int last_frame = 0;
    bool confirmed = false;
    bool lost = false;
    Box box() const;
  };
  void Initiate(State& s, const Box& b) const;
  void Predict(State& s) const;
  void Correct(State& s, const Box& b) const;

  TrackerOptions options_;
  std::vector<State> tracks_;
  int frame_ = 0;
  int next_id_ = 1;
};

}  // namespace edgerun::postprocess
