// MemoryStorage: a LogStorage kept in memory, for tests, the simulator and as the model a durable implementation
// must behave like. Its writing methods are the ones the caller uses to carry out a Ready.
//
// Thread-safety: none; one thread, like the core.
#pragma once

#include <vector>

#include "consensus/storage.h"

namespace onebill::consensus {

class MemoryStorage final : public LogStorage {
 public:
  // A new node's storage: no entries, the empty snapshot at index 0 carrying the genesis configuration.
  explicit MemoryStorage(ConfState genesis = {});

  HardState hard_state() const override { return hard_state_; }
  SnapshotMeta snapshot_meta() const override { return snapshot_.meta; }
  Result<Snapshot> snapshot() const override { return snapshot_; }
  Index first_index() const override { return offset_ + 1; }
  Index last_index() const override { return offset_ + entries_.size() - 1; }
  Result<Term> term(Index i) const override;
  Result<std::vector<Entry>> entries(Index lo, Index hi, std::uint64_t max_bytes) const override;

  // --- Writing: what a Ready asks for, in this order: apply_snapshot, append, set_hard_state. ---

  void set_hard_state(const HardState& hs) { hard_state_ = hs; }
  // Appends entries whose first index is at most last_index() + 1, replacing any entries at and after it (a
  // follower's log repair, §5.3). Entries before first_index() are skipped. Fails with kErrUnavailable on a gap.
  Status append(const std::vector<Entry>& entries);
  // Replaces the whole log with a snapshot received from the leader (Ready::snapshot). kErrSnapshotOutOfDate if
  // it is not newer than the snapshot held.
  Status apply_snapshot(Snapshot snapshot);

  // --- Compaction, by the application. ---

  // Records the application's snapshot at `index` (at most last_index(), and the application must have applied
  // it) with the configuration in effect at `index` (RawNode::conf_state_at). Keeps the log; see compact().
  // kErrSnapshotOutOfDate if `index` is not after the current snapshot, kErrUnavailable past last_index().
  Status create_snapshot(Index index, ConfState conf_state, Bytes data);
  // Drops entries before and at `index`, which must not pass the snapshot's index (kErrUnavailable). Compacting
  // at or before first_index() - 1 does nothing.
  Status compact(Index index);

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  // entries_[0] is a placeholder for the entry at offset_ (the last compacted index): only its term is kept, so
  // term(first_index() - 1) can be answered. Real entries follow.
  std::vector<Entry> entries_;
  Index offset_ = 0;
};

}  // namespace onebill::consensus
