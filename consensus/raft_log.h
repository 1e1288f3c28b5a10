// RaftLog (internal): the log as the core sees it — what the storage holds plus what is not yet persisted
// (Unstable) — with the commit and applied indices. Raft §5.3's log operations live here.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "consensus/fatal.h"
#include "consensus/storage.h"
#include "consensus/unstable.h"

namespace onebill::consensus::detail {

class RaftLog {
 public:
  // `storage` and `on_fatal` must outlive the RaftLog. `applied` is what the application has already applied
  // (Config::applied); the log starts committed at the storage's hard state commit.
  RaftLog(const LogStorage& storage, const FatalHandler& on_fatal, Index applied);

  Index first_index() const;
  Index last_index() const;
  // The term at `i`, or nothing if `i` is compacted (before first_index() - 1) or past last_index(). Index 0 has
  // term 0 as long as it is not compacted.
  std::optional<Term> term(Index i) const;
  Term last_term() const;
  bool match_term(Index i, Term t) const;
  // §5.4.1: whether a log ending at (last_index, last_term) is at least as up to date as ours.
  bool is_up_to_date(Index last_index, Term last_term) const;

  // Follower side of AppendEntries (§5.3): if our entry at `index` has term `log_term`, appends `entries` (after
  // dropping those we already hold and truncating any conflicting suffix), advances the commit index to
  // min(commit, index of the last new entry) and returns that last index and the first index written (0 if we
  // held every entry already); otherwise returns nothing.
  struct AppendResult {
    Index last_new = 0;
    Index first_written = 0;
  };
  std::optional<AppendResult> maybe_append(Index index, Term log_term, Index commit, const std::vector<Entry>& entries);
  // Leader side: appends entries after last_index(); returns the new last index.
  Index append(std::vector<Entry> entries);
  // The largest index <= `index` whose term is <= `term` (or the first index - 1 if we cannot tell), and its term:
  // the fast back-off of §5.3 that skips a whole conflicting term at once.
  std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;

  // Entries [lo, hi) within max_bytes (at least one if lo < hi), or nothing if any of them is compacted.
  std::optional<std::vector<Entry>> slice(Index lo, Index hi, std::uint64_t max_bytes) const;
  std::optional<std::vector<Entry>> entries_from(Index lo, std::uint64_t max_bytes) const {
    return slice(lo, last_index() + 1, max_bytes);
  }

  // Raises the commit index (never lowers it). Fatal if past the last index.
  void commit_to(Index commit);
  void applied_to(Index applied);
  Index committed() const { return committed_; }
  Index applied() const { return applied_; }

  bool has_next_committed_entries() const;
  // Committed entries after the applied index, up to max_bytes (at least one if there are any).
  std::vector<Entry> next_committed_entries(std::uint64_t max_bytes) const;

  const Unstable& unstable() const { return unstable_; }
  void stable_to(Index i, Term t) { unstable_.stable_to(i, t); }
  void stable_snapshot_to(Index i) { unstable_.stable_snapshot_to(i); }
  // Installs a snapshot from the leader: the log becomes exactly the snapshot, committed at its index.
  void restore(Snapshot snapshot);
  // The newest snapshot: the pending one, else the storage's.
  Snapshot snapshot() const;
  // The index of the newest snapshot (pending or stored).
  Index snapshot_index() const;

 private:
  // The first index at which `entries` disagree with our log, or 0 if we hold all of them.
  Index find_conflict(const std::vector<Entry>& entries) const;
  Term storage_term(Index i, bool* ok) const;

  const LogStorage& storage_;
  const FatalHandler& on_fatal_;
  Unstable unstable_;
  Index committed_;
  Index applied_;
};

}  // namespace onebill::consensus::detail
