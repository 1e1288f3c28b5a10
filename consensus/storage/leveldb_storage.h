// LevelDbStorage: the durable LogStorage — Raft's hard state, log entries and snapshot in LevelDB.
//
// It writes under a key prefix it is given into a LevelDB database it is given, which may hold other records too
// (the node gives it a database of its own, db/raft, with the prefix "r/": node/store.h). Layout under the prefix
// P (docs/consensus.md, "Storage"):
//   P "h"                 hard state: u8 version=1, u64 term, u64 vote, u64 commit (little-endian)
//   P "s"                 snapshot metadata + data: u8 version=1, u64 index, u64 term, conf state, u32 crc, data
//   P "o"                 the compaction point: u8 version=1, u64 index, u64 term of the last dropped entry
//   P "e" + u64be index   one entry: u8 version=1, u32 crc32c, u64 term, u8 type, data
// The CRC in each entry covers index, term, type and data, so a torn or corrupted record is detected on open.
//
// Durability: save() writes a Ready's snapshot, entries and hard state in ONE LevelDB WriteBatch, synced when the
// Ready says must_sync — group commit, one fsync per Ready, never one per entry. Recovery on open(): the entries
// must run without a gap from the first; the first record that is missing, fails its CRC or does not decode ends
// the log. Records past it are deleted when they lie beyond the persisted commit index (they were never
// acknowledged: every acknowledgement follows a synced save) and reported as corruption otherwise, because
// dropping a committed entry could lose an acknowledged write. open() says what it truncated.
//
// All disk access goes through the leveldb::Env of the database, so tests inject faults with a wrapping Env.
// Thread-safety: one thread (the node's Raft loop) uses it, like MemoryStorage.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "consensus/storage.h"
#include "consensus/ready.h"

namespace onebill::consensus {

class LevelDbStorage final : public LogStorage {
 public:
  struct Recovery {
    Index truncated_from = 0;  // first index dropped on open (0: nothing dropped)
    std::uint64_t dropped = 0;  // how many records were dropped
  };

  // Opens (or initialises) the log under `prefix` in `db`, which must outlive the storage. A new log starts with
  // the empty snapshot carrying `genesis`. Errors: "corruption" (a committed entry is unreadable), "io_error".
  static Result<std::unique_ptr<LevelDbStorage>> open(leveldb::DB* db, std::string prefix, ConfState genesis);

  const Recovery& recovery() const { return recovery_; }

  HardState hard_state() const override { return hard_state_; }
  SnapshotMeta snapshot_meta() const override { return snapshot_meta_; }
  Result<Snapshot> snapshot() const override;
  Index first_index() const override { return snapshot_offset_ + 1; }
  Index last_index() const override { return snapshot_offset_ + terms_.size() - 1; }
  Result<Term> term(Index i) const override;
  Result<std::vector<Entry>> entries(Index lo, Index hi, std::uint64_t max_bytes) const override;

  // Carries out step 1 of a Ready (ready.h): snapshot, entries, hard state in one batch; synced if must_sync.
  // `also`, if given, is written in the same batch (the application's own records that must change atomically
  // with the log, e.g. the end of a state snapshot install); the storage does not look at it.
  Status save(const Ready& ready, const leveldb::WriteBatch* also = nullptr);
  // The same pieces separately (each its own synced batch), mirroring MemoryStorage.
  Status set_hard_state(const HardState& hs);
  Status append(const std::vector<Entry>& entries);
  Status apply_snapshot(Snapshot snapshot);

  // Compaction by the application: see MemoryStorage::create_snapshot / compact.
  Status create_snapshot(Index index, ConfState conf_state, Bytes data);
  Status compact(Index index);

 private:
  LevelDbStorage(leveldb::DB* db, std::string prefix) : db_(db), prefix_(std::move(prefix)) {}
  Status recover(const ConfState& genesis);
  std::string entry_key(Index i) const;
  Status stage_entries(const std::vector<Entry>& entries, class leveldb::WriteBatch& batch, std::deque<Term>& terms);
  void stage_snapshot(const Snapshot& s, leveldb::WriteBatch& batch, Index& offset, std::deque<Term>& terms) const;
  Status write(leveldb::WriteBatch& batch, bool sync);

  leveldb::DB* db_;
  std::string prefix_;
  HardState hard_state_;
  SnapshotMeta snapshot_meta_;
  // terms_[0] is the term at snapshot_offset_ (the last compacted index); terms_[k] the term of entry offset + k.
  // Kept in memory because the core asks for terms on every AppendEntries; entries themselves are read from disk.
  std::deque<Term> terms_;
  Index snapshot_offset_ = 0;
  Recovery recovery_;
};

}  // namespace onebill::consensus
