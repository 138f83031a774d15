#include "edgerun/postprocess/tracker.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "edgerun/postprocess/nms.h"

namespace edgerun::postprocess {
namespace {

// Process and measurement noise relative to the box height, as in SORT/DeepSORT/ByteTrack.
constexpr double kStdPosition = 1.0 / 20;
constexpr double kStdVelocity = 1.0 / 160;

std::array<double, 4> Measure(const Box& b) {
  const double w = b.x2 - b.x1, h = b.y2 - b.y1;
  return {b.x1 + w / 2, b.y1 + h / 2, h > 0 ? w / h : 0.0, h};
}

// Hungarian algorithm (Kuhn-Munkres with potentials) on a square n x n matrix; a[i][j] 1-based.
std::vector<int> Hungarian(const std::vector<double>& a, int n) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1), v(n + 1);
  std::vector<int> p(n + 1), way(n + 1);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<char> used(n + 1, 0);
    do {
      used[j0] = 1;
      const int i0 = p[j0];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur = a[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (int j = 0; j <= n; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  std::vector<int> row_to_col(n, -1);
  for (int j = 1; j <= n; ++j) {
    if (p[j] > 0) row_to_col[p[j] - 1] = j - 1;
  }
  return row_to_col;
}

}  // namespace

std::vector<int> SolveAssignment(std::span<const float> cost, int rows, int cols, float limit) {
  std::vector<int> result(rows, -1);
  if (rows == 0 || cols == 0) return result;
  // Extended square problem (as lapjv's extend_cost with cost_limit): each row may instead pair
  // with its own "unmatched" column at limit / 2, each column with its own dummy row likewise,
  // so a real pair is only chosen when it is cheaper than leaving both unmatched.
  const int n = rows + cols;
  const double big = 1e9;
  std::vector<double> a(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      double c;
      if (i < rows && j < cols) {
        const double x = cost[static_cast<size_t>(i) * cols + j];
        c = x <= limit ? x : big;
      } else if (i < rows) {
        c = (j - cols == i) ? limit / 2.0 : big;
      } else if (j < cols) {
        c = (i - rows == j) ? limit / 2.0 : big;
      } else {
        c = 0.0;
      }
      a[static_cast<size_t>(i) * n + j] = c;
    }
  }
  const std::vector<int> match = Hungarian(a, n);
  for (int i = 0; i < rows; ++i) {
    const int j = match[i];
    if (j >= 0 && j < cols && cost[static_cast<size_t>(i) * cols + j] <= limit) result[i] = j;
  }
  return result;
}

Box ByteTracker::State::box() const {
  const double h = mean[3], w = mean[2] * mean[3];
  return {static_cast<float>(mean[0] - w / 2), static_cast<float>(mean[1] - h / 2),
          static_cast<float>(mean[0] + w / 2), static_cast<float>(mean[1] + h / 2)};
}

ByteTracker::ByteTracker(const TrackerOptions& options) : options_(options) {}

void ByteTracker::Initiate(State& s, const Box& b) const {
  const auto z = Measure(b);
  s.mean = {z[0], z[1], z[2], z[3], 0, 0, 0, 0};
  const double h = z[3];
  const double std[8] = {2 * kStdPosition * h,  2 * kStdPosition * h,  1e-2, 2 * kStdPosition * h,
                         10 * kStdVelocity * h, 10 * kStdVelocity * h, 1e-5, 10 * kStdVelocity * h};
  s.cov.fill(0);
  for (int i = 0; i < 8; ++i) s.cov[i * 8 + i] = std[i] * std[i];
}

void ByteTracker::Predict(State& s) const {
  const double h = s.mean[3];
  const double q[8] = {kStdPosition * h, kStdPosition * h, 1e-2, kStdPosition * h,
                       kStdVelocity * h, kStdVelocity * h, 1e-5, kStdVelocity * h};
  // x' = F x with F = [I I; 0 I]; P' = F P F^T + Q.
  for (int i = 0; i < 4; ++i) s.mean[i] += s.mean[i + 4];
  std::array<double, 64> fp{};
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 8; ++c)
      fp[r * 8 + c] = s.cov[r * 8 + c] + (r < 4 ? s.cov[(r + 4) * 8 + c] : 0);
  }
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 8; ++c) s.cov[r * 8 + c] = fp[r * 8 + c] + (c < 4 ? fp[r * 8 + c + 4] : 0);
  }
  for (int i = 0; i < 8; ++i) s.cov[i * 8 + i] += q[i] * q[i];
}

void ByteTracker::Correct(State& s, const Box& b) const {
  const auto z = Measure(b);
  const double h = s.mean[3];
  const double r[4] = {kStdPosition * h, kStdPosition * h, 1e-1, kStdPosition * h};
  // S = H P H^T + R (top-left 4x4 of P); K = P H^T S^-1 (8x4).
  double S[16];
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) S[i * 4 + j] = s.cov[i * 8 + j] + (i == j ? r[i] * r[i] : 0);
  }
  // Invert S by Gauss-Jordan (symmetric positive definite, 4x4).
  double inv[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  for (int c = 0; c < 4; ++c) {
    int piv = c;
    for (int i = c + 1; i < 4; ++i) {
      if (std::abs(S[i * 4 + c]) > std::abs(S[piv * 4 + c])) piv = i;
    }
    for (int j = 0; j < 4; ++j)
      std::swap(S[c * 4 + j], S[piv * 4 + j]), std::swap(inv[c * 4 + j], inv[piv * 4 + j]);
    const double d = S[c * 4 + c];
    if (d == 0) return;  // degenerate; keep the prediction
    for (int j = 0; j < 4; ++j) S[c * 4 + j] /= d, inv[c * 4 + j] /= d;
    for (int i = 0; i < 4; ++i) {
      if (i == c) continue;
      const double f = S[i * 4 + c];
      for (int j = 0; j < 4; ++j)
        S[i * 4 + j] -= f * S[c * 4 + j], inv[i * 4 + j] -= f * inv[c * 4 + j];
    }
  }
  double K[32];  // 8x4: P[:, 0:4] * inv
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int k = 0; k < 4; ++k) acc += s.cov[i * 8 + k] * inv[k * 4 + j];
      K[i * 4 + j] = acc;
    }
  }
  double innov[4];
  for (int i = 0; i < 4; ++i) innov[i] = z[i] - s.mean[i];
  for (int i = 0; i < 8; ++i) {
    for (int k = 0; k < 4; ++k) s.mean[i] += K[i * 4 + k] * innov[k];
  }
  // P = P - K H P = P - K * P[0:4, :].
  std::array<double, 64> p = s.cov;
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) {
      double acc = 0;
      for (int k = 0; k < 4; ++k) acc += K[i * 4 + k] * p[k * 8 + j];
      s.cov[i * 8 + j] = p[i * 8 + j] - acc;
    }
  }
}

Expected<std::vector<Track>> ByteTracker::Update(std::span<const Detection> detections) {
  for (size_t i = 0; i < detections.size(); ++i) {
    const Detection& d = detections[i];
    if (std::isnan(d.score))
      return InvalidArgument(fmt::format("tracker: detection {} score is NaN", i));
    if (!std::isfinite(d.box.x1) || !std::isfinite(d.box.y1) || !std::isfinite(d.box.x2) ||
        !std::isfinite(d.box.y2)) {
      return InvalidArgument(fmt::format("tracker: detection {} has a non-finite box", i));
    }
  }
  ++frame_;
  std::vector<int> high, low;
  for (size_t i = 0; i < detections.size(); ++i) {
    const float s = detections[i].score;
    if (s >= options_.high_threshold) {
      high.push_back(static_cast<int>(i));
    } else if (s > options_.low_threshold) {
      low.push_back(static_cast<int>(i));
    }
  }
  for (State& t : tracks_) Predict(t);

  std::vector<char> det_used(detections.size(), 0), track_matched(tracks_.size(), 0);
  auto associate = [&](const std::vector<int>& tracks, const std::vector<int>& dets,
                       float min_iou) {
    std::vector<float> cost(tracks.size() * dets.size());
    for (size_t i = 0; i < tracks.size(); ++i) {
      const Box tb = tracks_[tracks[i]].box();
      for (size_t j = 0; j < dets.size(); ++j) {
        cost[i * dets.size() + j] = 1.0f - BoxIou(tb, detections[dets[j]].box);
      }
    }
    const std::vector<int> m = SolveAssignment(cost, static_cast<int>(tracks.size()),
                                               static_cast<int>(dets.size()), 1.0f - min_iou);
    for (size_t i = 0; i < tracks.size(); ++i) {
      if (m[i] < 0) continue;
      State& t = tracks_[tracks[i]];
      const Detection& d = detections[dets[m[i]]];
      Correct(t, d.box);
      t.score = d.score;
      t.class_id = d.class_id;
      t.last_frame = frame_;
      t.lost = false;
      t.confirmed = true;
      track_matched[tracks[i]] = 1;
      det_used[dets[m[i]]] = 1;
    }
  };

  // Stage 1: confirmed tracks (active or lost) against high-score detections.
  std::vector<int> pool, unconfirmed;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    (tracks_[i].confirmed ? pool : unconfirmed).push_back(static_cast<int>(i));
  }
  associate(pool, high, options_.first_match_iou);
  // Stage 2: still-active unmatched tracks against low-score detections.
  std::vector<int> active_left;
  for (int i : pool) {
    if (!track_matched[i] && !tracks_[i].lost) active_left.push_back(i);
  }
  associate(active_left, low, options_.second_match_iou);
  // Unconfirmed (one-frame) tracks against the remaining high detections.
  std::vector<int> high_left;
  for (int j : high) {
    if (!det_used[j]) high_left.push_back(j);
  }
  associate(unconfirmed, high_left, options_.unconfirmed_match_iou);

  // Lifecycle: unmatched active tracks become lost; unmatched unconfirmed tracks and tracks lost
  // for more than max_age frames are dropped.
  std::vector<State> next;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    State& t = tracks_[i];
    if (!track_matched[i]) {
      if (!t.confirmed) continue;
      t.lost = true;
      if (frame_ - t.last_frame > options_.max_age) continue;
    }
    next.push_back(t);
  }
  tracks_ = std::move(next);
  // Births: unmatched high-score detections above the new-track threshold. On the first frame a
  // track is confirmed at once (as ByteTrack does); later it needs a second match.
  for (int j : high) {
    if (det_used[j] || detections[j].score < options_.new_track_threshold) continue;
    State s;
    Initiate(s, detections[j].box);
    s.id = next_id_++;
    s.score = detections[j].score;
    s.class_id = detections[j].class_id;
    s.last_frame = frame_;
    s.confirmed = frame_ == 1;
    tracks_.push_back(s);
  }
  std::vector<Track> out;
  for (const State& t : tracks_) {
    if (!t.confirmed || t.lost || t.last_frame != frame_) continue;
    out.push_back({t.id, t.box(), t.score, t.class_id, 0});
  }
  return out;
}

}  // namespace edgerun::postprocess
