// Unstable (internal): the snapshot and entries the core has accepted but the caller has not yet persisted.
// They are handed out in Ready and dropped from here when RawNode::advance() reports them stored.
#pragma once

#include <optional>
#include <vector>

#include "consensus/types.h"

namespace onebill::consensus::detail {

class Unstable {
 public:
  explicit Unstable(Index offset) : offset_(offset) {}

  // The first index, known only when a snapshot is pending (its index + 1).
  std::optional<Index> maybe_first_index() const;
  // The last index, known when entries or a snapshot are pending.
  std::optional<Index> maybe_last_index() const;
  // The term at `i` if it is one of the pending entries or the pending snapshot's index.
  std::optional<Term> maybe_term(Index i) const;

  // The caller persisted entries up to `i` (whose term was `t`): forget them. A stale report (the entry at `i` was
  // replaced since) is ignored.
  void stable_to(Index i, Term t);
  // The caller persisted the snapshot at `i`: forget it.
  void stable_snapshot_to(Index i);
  // A snapshot from the leader replaces everything.
  void restore(Snapshot snapshot);
  // Appends `entries` (consecutive), replacing any pending entries at and after the first one's index. The caller
  // guarantees that entries.front().index is at most the log's last index + 1.
  void truncate_and_append(std::vector<Entry> entries);
  // Pending entries [lo, hi), lo >= offset().
  std::vector<Entry> slice(Index lo, Index hi, std::uint64_t max_bytes, std::uint64_t already_bytes) const;

  Index offset() const { return offset_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

 private:
  std::optional<Snapshot> snapshot_;
  std::vector<Entry> entries_;
  Index offset_;  // the index of entries_[0], or where the next pending entry will go
};

}  // namespace onebill::consensus::detail
