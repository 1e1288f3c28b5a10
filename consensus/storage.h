// LogStorage: the narrow interface through which the Raft core reads the durable log.
//
// The core never writes storage. The caller writes what a Ready says to persist (Ready::snapshot, then
// Ready::entries, then Ready::hard_state) through the implementation's own methods and then calls
// RawNode::advance(); from then on the storage must return those entries. The application also compacts the log
// through the implementation (MemoryStorage::create_snapshot / compact) once it has applied past an index.
//
// Index space: the storage holds the latest snapshot (possibly the empty one at index 0) and a run of entries
// first_index() .. last_index() with no gaps, with first_index() - 1 <= snapshot_meta().index <= last_index():
// entries after the snapshot are always kept, and the application may keep some before it too (so that a
// follower a little behind can still be sent entries instead of a whole snapshot). An empty run has
// last_index() == first_index() - 1.
//
// Errors: the core expects exactly two error codes — kErrCompacted (asked for an index before the first) and
// kErrUnavailable (after the last). Any other error (say, an I/O error from LevelDB) is fatal to the core:
// Config::on_fatal is called. Implementations must not throw.
//
// Thread-safety: the core calls these from its own (single) thread. An implementation written to by the caller
// between RawNode calls needs no locking; one shared with other threads must do its own.
#pragma once

#include <cstdint>
#include <vector>

#include "consensus/types.h"
#include "crypto/result.h"

namespace onebill::consensus {

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // The hard state last persisted (term, vote, commit); zeros for a new node.
  virtual HardState hard_state() const = 0;
  // The metadata of the latest snapshot, including the configuration at its index. A new node's storage reports
  // index 0, term 0 and the genesis configuration, which is how every node learns the initial members.
  virtual SnapshotMeta snapshot_meta() const = 0;
  // The latest snapshot with its data (the leader sends it to followers that need it).
  virtual Result<Snapshot> snapshot() const = 0;

  virtual Index first_index() const = 0;
  virtual Index last_index() const = 0;
  // The term of the entry at `i`, for first_index() - 1 <= i <= last_index() (first_index() - 1 answers with the
  // snapshot's term). kErrCompacted below, kErrUnavailable above.
  virtual Result<Term> term(Index i) const = 0;
  // Entries [lo, hi), first_index() <= lo < hi <= last_index() + 1, stopping once their entry_size() sum would
  // pass max_bytes — but always at least one entry. kErrCompacted if lo < first_index().
  virtual Result<std::vector<Entry>> entries(Index lo, Index hi, std::uint64_t max_bytes) const = 0;
};

}  // namespace onebill::consensus
