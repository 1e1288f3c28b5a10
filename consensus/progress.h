// Progress (internal): what a leader knows about one follower's log, and the flow control that bounds what it
// sends it (etcd-raft's design: probe, replicate and snapshot states with a window of in-flight appends).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>

#include "consensus/types.h"

namespace onebill::consensus::detail {

// The appends sent to one follower and not yet acknowledged, bounded by a count and by their entry bytes.
class Inflights {
 public:
  Inflights(std::size_t max_count, std::uint64_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records an append whose last entry is `last` carrying `bytes` of entries.
  void add(Index last, std::uint64_t bytes);
  // Forgets every append whose last entry is at or before `index` (the follower acknowledged up to it).
  void free_le(Index index);
  // Forgets the oldest append (a heartbeat answer shows the follower is alive while the window stays full).
  void free_first();
  void reset();
  // Whether no more appends may be sent: the count or the byte limit is reached. An empty window is never full,
  // so one append larger than the byte limit still goes out alone.
  bool full() const;
  std::size_t count() const { return items_.size(); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::size_t max_count_;
  std::uint64_t max_bytes_;
  std::deque<std::pair<Index, std::uint64_t>> items_;
  std::uint64_t bytes_ = 0;
};

enum class ProgressState {
  kProbe,      // we do not know where the follower's log matches ours: one append per heartbeat until it answers
  kReplicate,  // it matches: stream appends, up to the in-flight window (pipelining)
  kSnapshot,   // its next entry is compacted: send a snapshot, in chunks, and nothing else
};

const char* to_string(ProgressState state);

struct Progress {
  Progress(Index next_index, std::size_t max_inflight_msgs, std::uint64_t max_inflight_bytes, bool learner)
      : next(next_index), is_learner(learner), inflights(max_inflight_msgs, max_inflight_bytes) {}

  Index match = 0;  // highest index known to be replicated on the follower
  Index next = 1;   // index of the next entry to send
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;     // kProbe: an append is out; wait for its answer or the next heartbeat
  Index pending_snapshot = 0;  // kSnapshot: the index of the snapshot being sent
  bool recent_active = false;  // heard from since the last check-quorum round
  bool is_learner = false;
  Inflights inflights;

  // kSnapshot: the snapshot being sent (kept so every chunk comes from the same bytes even if the application
  // compacts again meanwhile), how many bytes the follower acknowledged, and whether it acknowledged anything
  // since the last heartbeat (if not, the next heartbeat resends the chunk: chunks can be lost).
  std::shared_ptr<const Snapshot> snapshot;
  std::uint64_t snapshot_acked = 0;
  bool snapshot_progressed = false;

  void become_probe();
  void become_replicate();
  void become_snapshot(std::shared_ptr<const Snapshot> snap);

  // The follower acknowledged entries up to `n`. Returns whether `match` advanced.
  bool maybe_update(Index n);
  // The follower rejected an append at `rejected`; `match_hint` is the last index it could match. Returns false
  // when the rejection is stale (an answer to an older append).
  bool maybe_decr_to(Index rejected, Index match_hint);
  // In replicate state, after sending entries up to `last`: advance next optimistically (pipelining).
  void sent_entries(Index last, std::uint64_t bytes);
  // Whether the leader must not send appends to this follower now.
  bool is_paused() const;

 private:
  void reset_state(ProgressState to);
};

}  // namespace onebill::consensus::detail
