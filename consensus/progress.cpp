#include "consensus/progress.h"

#include <algorithm>

namespace onebill::consensus::detail {

void Inflights::add(Index last, std::uint64_t bytes) {
  items_.emplace_back(last, bytes);
  bytes_ += bytes;
}

void Inflights::free_le(Index index) {
  while (!items_.empty() && items_.front().first <= index) {
    bytes_ -= items_.front().second;
    items_.pop_front();
  }
}

void Inflights::free_first() {
  if (items_.empty()) return;
  bytes_ -= items_.front().second;
  items_.pop_front();
}

void Inflights::reset() {
  items_.clear();
  bytes_ = 0;
}

bool Inflights::full() const {
  return items_.size() >= max_count_ || (max_bytes_ != 0 && !items_.empty() && bytes_ >= max_bytes_);
}

const char* to_string(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe: return "probe";
    case ProgressState::kReplicate: return "replicate";
    case ProgressState::kSnapshot: return "snapshot";
  }
  return "unknown";
}

void Progress::reset_state(ProgressState to) {
  state = to;
  probe_sent = false;
  pending_snapshot = 0;
  snapshot.reset();
  snapshot_acked = 0;
  snapshot_progressed = false;
  inflights.reset();
}

void Progress::become_probe() {
  // Leaving snapshot state, the follower has at least the snapshot (or will tell us otherwise).
  Index after = state == ProgressState::kSnapshot ? std::max(match, pending_snapshot) : match;
  reset_state(ProgressState::kProbe);
  next = after + 1;
}

void Progress::become_replicate() {
  reset_state(ProgressState::kReplicate);
  next = match + 1;
}

void Progress::become_snapshot(std::shared_ptr<const Snapshot> snap) {
  reset_state(ProgressState::kSnapshot);
  pending_snapshot = snap->meta.index;
  snapshot = std::move(snap);
}

bool Progress::maybe_update(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::maybe_decr_to(Index rejected, Index match_hint) {
  if (state == ProgressState::kReplicate) {
    // Stale if the follower already matched past it; otherwise go back to just after the known match.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe state only the answer to the append we sent (at next - 1) counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void Progress::sent_entries(Index last, std::uint64_t bytes) {
  if (state == ProgressState::kReplicate) {
    next = last + 1;
    inflights.add(last, bytes);
  } else if (state == ProgressState::kProbe) {
    probe_sent = true;
  }
}

bool Progress::is_paused() const {
  switch (state) {
    case ProgressState::kProbe: return probe_sent;
    case ProgressState::kReplicate: return inflights.full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

}  // namespace onebill::consensus::detail
