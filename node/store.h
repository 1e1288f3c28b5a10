// Store: the node's LevelDB databases and their key layout (docs/storage.md).
//
// Three databases, all in the store's folder: the state database (the folder itself), the archive (its subfolder
// archive/) and the Raft log's (raft/). Keys are named here by one layout, whichever database holds them; the Store
// routes each (the Raft log's records are written by consensus::LevelDbStorage straight into raft_db()).
//
// Prefixes (state database unless marked [archive] or [raft]):
//   r/…                       [raft] Raft log, hard state, snapshot (consensus::LevelDbStorage; storage format 7 —
//                             before it they were in the state database, and such a database is refused at start)
//   s/{contracts key}         ledger state: documents, nonce windows, indexes of contracts/state.h
//   b/{height:be64}           the block record: {"header", "hash", "results", "raft_index", "proposer"}
//   t/{tx id}                 where the entry is: its position {height:be64}{index:be32} (12 bytes)
//   e/{position}              [archive] the entry: {"height", "index", "status", "reason"?, "message"?, "leaf"?,
//                             "envelope", "documents"}
//   w/{position}              [archive] what the entry read from the state before it: {key: value|null|{"at": version}}
//                             (its hash, values restored, is in the entry's certified result; served in audit
//                             bundles). A document's value that is one of its stored versions is written as that
//                             version's position (hex), not again.
//   v/{position}doc/{id}      [archive] a document's value as the block of that position left it: written once, by
//                             the block's last entry to change it (position = that entry's); s/doc/{id} holds the
//                             current version's position (12 bytes), not the value (storage.md §1.3)
//   h/{doc}/{height:be64}{index:be32}   per-document history → tx id, in ledger order
//   i/{field}/{value}/{doc}   listing indexes: field = kind | holder | status
//   m/{level:be32}{index:be64}          Merkle log nodes (complete subtrees; crypto::MerkleNodeStore)
//   d/…                       the document state tree (node/ledger/state_store.h): d/n/ nodes, d/i/ leaf indexes,
//                             d/h/ the values each block overwrote, kept for proofs at recent heights
//   a/{height:be64}/{node}    attestations received for a block header
//   x/applied                 {"raft_index","height","header_hash","log_size","time"} — the last applied block
//   x/genesis                 the genesis hash this database belongs to
//   x/diverged                set when a quorum certified a header this node did not compute (refuses to start)
//   x/signer/{key id}         the next nonce the node uses when it signs for a `sign` token
//   x/installing              set while a received state snapshot is being installed (node/snapshot.h)
//
// The archive (storage.md §1.4) holds what blocks append and never change — e/, w/ and v/ records, about three
// quarters of the bytes a block writes — keyed position first ({position}{e|w|v}{rest}), so each table LevelDB
// writes there follows the previous ones in key order and moves down the levels without being rewritten. In the
// one database they shared with the state's keys spread over the key space, every memtable flush overlapped every
// table below it, and LevelDB rewrote them all again and again (docs/performance.md, session 9).
//
// Crash consistency: what one block changes goes in one write() (LedgerWriter); write() puts the archive's part
// first, synced, then the state's part. So the state on disk never refers to archive records the disk lacks: a
// crash leaves the block's state all there or all absent, and a block applied again (its state was lost) writes
// the same archive records again.
//
// The Raft log has a database of its own because its keys come in index order: its tables move down LevelDB's
// levels without being merged, where in the state database each memtable flush carried the blocks into merges with
// tables of keys spread over the key space (docs/performance.md, session 16). Nothing is written atomically across
// the two: the state database's block batches are unsynced (a block lost in a crash is applied again from the
// log), the snapshot record that lets the log be compacted behind it is written only after sync_state(), and a
// snapshot install is redone from its marker x/installing until the marker's deletion (after the Raft record).
//
// Write failures are sticky (finding F1, docs/reliability.md §3): the first write that fails — through write(),
// through db() or raft_db() (the Raft log storage writes there), or inside LevelDB (a compaction) — makes every
// later write to any of the databases fail with that first error, until the store is opened again. So a write that
// failed half-way (a full disk) leaves its torn record as the log's tail, which LevelDB's recovery drops at the next
// open, and no record is ever appended after it (sticky_env.h says how). Every write reported successful before the failure is
// kept; those written with `sync` survive a power cut too.
//
// Thread-safety: LevelDB allows concurrent reads and writes; the Store's own state (the first failure, the pairs
// of snapshots) is guarded for any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/env.h>
#include <leveldb/write_batch.h>
#include <nlohmann/json.hpp>

#include "contracts/state.h"
#include "crypto/merkle.h"
#include "crypto/result.h"
#include "node/sticky_env.h"

namespace onebill::node {

namespace key {
std::string be64(std::uint64_t v);
std::string be32(std::uint32_t v);
std::uint64_t read_be64(std::string_view s);  // s.size() >= 8
inline std::string state(std::string_view k) { return "s/" + std::string(k); }
inline std::string block(std::uint64_t h) { return "b/" + be64(h); }
inline std::string block_bytes(std::uint64_t h) { return "B/" + be64(h); }
// An entry's position: the block's height, then the entry's index in the block (12 bytes, sorting in ledger order).
inline std::string position(std::uint64_t height, std::uint32_t index) { return be64(height) + be32(index); }
inline constexpr std::size_t kPositionSize = 12;
inline std::string tx(std::string_view id) { return "t/" + std::string(id); }            // → position
inline std::string entry(std::string_view position) { return "e/" + std::string(position); }
inline std::string reads(std::string_view position) { return "w/" + std::string(position); }
// A version of a versioned state key (doc/{id} or evt/{bill}/{leg}/{n}, versioned() below): s/{state_key} holds the
// position of the current one.
inline std::string version(std::string_view position, std::string_view state_key) {
  return "v/" + std::string(position) + std::string(state_key);
}
// Records the archive database holds (well-formed e/, w/ and v/ keys), and their keys there: position first.
inline constexpr std::string_view kArchivedPrefixes = "evw";  // e/, v/, w/: one letter each
inline bool archived(std::string_view k) {
  return k.size() >= 2 + kPositionSize && k[1] == '/' && kArchivedPrefixes.find(k[0]) != std::string_view::npos;
}
inline std::string archive_key(std::string_view k) {  // k archived
  std::string out(k.substr(2, kPositionSize));
  out.push_back(k[0]);
  out.append(k.substr(2 + kPositionSize));
  return out;
}
inline std::string from_archive_key(std::string_view raw) {  // raw.size() > kPositionSize
  std::string out{raw[kPositionSize], '/'};
  out.append(raw.substr(0, kPositionSize));
  out.append(raw.substr(kPositionSize + 1));
  return out;
}
// The state keys whose values are stored as versions in the archive (storage.md §1.3): documents, and a bill leg's
// event records (written once each, never changed: in the state database they were a third of its bytes, rewritten
// by every compaction).
inline bool versioned(std::string_view state_key) {
  return state_key.starts_with(contracts::keys::kDocument) || state_key.starts_with(contracts::keys::kLegEvent);
}
inline std::string history_prefix(std::string_view doc) { return "h/" + std::string(doc) + "/"; }
inline std::string history(std::string_view doc, std::uint64_t height, std::uint32_t index) {
  return history_prefix(doc) + be64(height) + be32(index);
}
inline std::string listing(std::string_view field, std::string_view value, std::string_view doc) {
  return "i/" + std::string(field) + "/" + std::string(value) + "/" + std::string(doc);
}
inline std::string merkle(std::uint32_t level, std::uint64_t index) { return "m/" + be32(level) + be64(index); }
// The document state tree (node/ledger/state_store.h).
inline std::string state_node(std::uint32_t level, std::uint64_t index) { return "d/n/" + be32(level) + be64(index); }
inline std::string state_index(std::string_view doc) { return "d/i/" + std::string(doc); }
inline std::string state_undo(std::uint64_t height) { return "d/h/" + be64(height); }  // a block's undo record
inline std::string attestation_prefix(std::uint64_t h) { return "a/" + be64(h) + "/"; }
inline std::string attestation(std::uint64_t h, std::string_view node) {
  return attestation_prefix(h) + std::string(node);
}
inline constexpr std::string_view kApplied = "x/applied";
inline constexpr std::string_view kGenesis = "x/genesis";
inline constexpr std::string_view kDiverged = "x/diverged";  // why this node diverged (it then refuses to start)
inline constexpr std::string_view kInstalling = "x/installing";  // a snapshot install in progress
inline std::string signer(std::string_view key_id) { return "x/signer/" + std::string(key_id); }
}  // namespace key

// The Env LevelDB schedules its background work through (memtable flushes, compactions): it runs that work on a
// thread of its own, one per database, at a lower CPU priority (`nice`). When the machine is busy, a compaction then
// takes the CPU the node's request and Raft threads leave over instead of competing with them: under an open-loop
// load at half the peak, p99 latency fell from 120-160 ms to 83-90 ms (docs/performance.md, session 8), with the
// same throughput at saturation. When the machine is idle it runs as fast as before. A thread per database, rather
// than LevelDB's one background thread for every database of the process: with one, the archive's memtable flush
// (a fraction of a second) waited behind a compaction of the state database (seconds at nice 10), and a block's
// write waited for both ("Current memtable full; waiting..." in the archive's LOG; docs/performance.md, session 11).
class NiceBackgroundEnv final : public leveldb::EnvWrapper {
 public:
  // `thread_name`: at most 15 characters (node/threads.h).
  NiceBackgroundEnv(leveldb::Env* target, int nice, std::string thread_name);
  ~NiceBackgroundEnv() override;  // after the databases using it are closed (they wait for their background work)
  NiceBackgroundEnv(const NiceBackgroundEnv&) = delete;
  NiceBackgroundEnv& operator=(const NiceBackgroundEnv&) = delete;
  void Schedule(void (*fn)(void*), void* arg) override;

 private:
  void run();
  const int nice_;
  const std::string thread_name_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<void (*)(void*), void*>> queue_;  // guarded by mu_
  bool stop_ = false;                                    // guarded by mu_
  std::thread thread_;                                   // last: starts once the rest is built
};
inline constexpr int kBackgroundNice = 10;

class Store {
 public:
  // Opens or creates the store in `dir` (the state database), `dir`/archive and `dir`/raft. `env` (tests: fault
  // injection) must outlive the store.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir, leveldb::Env* env = nullptr);

  // The state database (not the archive). Its writes are sticky-failing like write()'s: after the first failure,
  // DB::Write returns it.
  leveldb::DB* db() const { return db_.get(); }
  // The Raft log's database, for consensus::LevelDbStorage (its r/ records); nothing else is kept there. Sticky-
  // failing as db().
  leveldb::DB* raft_db() const { return raft_.get(); }
  // The Env given to open() (default: LevelDB's), without the sticky layer: other files of the node (a staged
  // snapshot) go through it, and their failures do not stop the database's writes.
  leveldb::Env* env() const { return env_; }

  // A consistent view of both databases: the state's snapshot, with the archive's taken just after it (so it
  // holds every archive record the state refers to). Pass the state's snapshot to the reads below; release it with
  // release_snapshot (StoreSnapshot does both).
  const leveldb::Snapshot* take_snapshot() const;
  void release_snapshot(const leveldb::Snapshot* snap) const;

  // nullopt when absent; "io_error"/"corruption" when LevelDB fails. Reads the live store, or the snapshot `snap`
  // (take_snapshot, or db()->GetSnapshot(): then archive records are read live, which only adds records the
  // snapshot's state does not refer to) when given.
  Result<std::optional<std::string>> get(std::string_view k, const leveldb::Snapshot* snap = nullptr) const;
  // An entry's record (e/…), or what it read (w/…), by its id (through t/{id}); nullopt when the id is not in the
  // ledger; "corruption" when t/ holds no position or names one without the record. `snap` as for get().
  // entry_reads gives the read set parsed, every document version restored to its value ({key: value|null}).
  Result<std::optional<std::string>> entry_record(std::string_view id, const leveldb::Snapshot* snap = nullptr) const;
  Result<std::optional<nlohmann::json>> entry_reads(std::string_view id, const leveldb::Snapshot* snap = nullptr) const;
  // The value of the contracts' state key `k` (s/…): a document through its current version (s/doc/{id} → its
  // position → v/…), anything else as stored. When `position` is given it receives the version's position (empty
  // for a key that is not a document's, or is absent). "corruption" when a document's version is missing.
  Result<std::optional<std::string>> get_state(std::string_view k, const leveldb::Snapshot* snap = nullptr,
                                               std::string* position = nullptr) const;
  // Writes `batch` atomically per database: the archive's records first (synced when the batch has state records
  // too, or `sync`), then the state's (fsync'ed before returning when `sync`). Errors: "io_error" or "corruption"
  // with LevelDB's message. Once any write failed, returns that first failure without writing.
  Status write(leveldb::WriteBatch& batch, bool sync);
  // As write(), with the batch's operations put in key order first (sorted_batch). For large batches of keys
  // spread over the key space, such as a block's.
  Status write_in_key_order(const leveldb::WriteBatch& batch, bool sync);
  // Makes the archive's writes so far durable (a synced empty write; its sync covers the logs LevelDB closed
  // unsynced at a memtable switch too: sticky_env.h). Before a write that must not reach the disk without them and does not go
  // through write() (the Raft log's, during a snapshot install).
  Status sync_archive();
  // The same for the state database: before a write to the Raft log's database that must not reach the disk
  // without the state's unsynced block batches (the Raft snapshot record, behind which the log is compacted), and
  // at the end of a snapshot install.
  Status sync_state();
  // The first write failure since open (from any writer, see above); nullopt while there was none. Any thread.
  std::optional<Error> write_failure() const;
  // Calls fn(key, value) for keys starting with `prefix` from `start` (inclusive; empty = the prefix itself), in
  // key order over both databases, until fn returns false or `limit` keys were visited. `snap` as for get().
  // A scan of the archive's prefixes reads its every record (it is ordered by position): for whole passes.
  Status scan(std::string_view prefix, std::string_view start, std::size_t limit,
              const std::function<bool(std::string_view, std::string_view)>& fn,
              const leveldb::Snapshot* snap = nullptr) const;
  // Approximate bytes on disk (for /metrics).
  std::uint64_t approximate_size() const;

  // Both databases as one, in key order (keys as the layout above names them). Reads the snapshot `snap` as get()
  // does. An iterator over the archive runs once for each of its three prefixes.
  class Cursor {
   public:
    Cursor(const Store& store, const leveldb::Snapshot* snap, bool fill_cache = true);
    void seek(std::string_view k);  // to the first key >= k
    bool valid() const { return current_ != nullptr; }
    std::string_view key() const { return current_->key; }
    std::string_view value() const;
    void next();
    leveldb::Status status() const;

   private:
    struct Part {
      std::unique_ptr<leveldb::Iterator> it;
      char tag = 0;  // 0: the state database; 'e', 'v', 'w': the archive's records of that prefix
      std::string key;
      bool valid = false;
    };
    void settle(Part& p);  // to the part's next record of its own, and its key in the layout's form
    void pick();
    Part parts_[1 + key::kArchivedPrefixes.size()];
    Part* current_ = nullptr;
  };

 private:
  Store() = default;
  const leveldb::Snapshot* archive_snapshot(const leveldb::Snapshot* snap) const;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;  // declared before db_: outlives it
  std::unique_ptr<StickyWriteEnv> sticky_;              // likewise: the databases' Env (through the two below)
  std::unique_ptr<NiceBackgroundEnv> background_;       // likewise: the state database's
  std::unique_ptr<NiceBackgroundEnv> archive_background_;  // likewise: the archive's
  std::unique_ptr<NiceBackgroundEnv> raft_background_;     // likewise: the Raft log's
  std::unique_ptr<leveldb::DB> db_;
  std::unique_ptr<leveldb::DB> archive_;
  std::unique_ptr<leveldb::DB> raft_;
  leveldb::Env* env_ = leveldb::Env::Default();
  mutable std::mutex snapshots_mu_;
  mutable std::unordered_map<const leveldb::Snapshot*, const leveldb::Snapshot*> snapshots_;  // state → archive
};

// `batch`'s operations in key order, the last one on each key kept (what applying it in order leaves). LevelDB
// inserts a batch into its memtable, a skip list, one key after another; keys in order find most of the nodes on
// their search path in the CPU's cache, where keys spread over the key space each miss it at most levels.
leveldb::WriteBatch sorted_batch(const leveldb::WriteBatch& batch);

// A LevelDB snapshot of the store, released when this goes: reads through it see the database as it was when it
// was taken, however blocks are applied meanwhile. Must not outlive the store.
class StoreSnapshot {
 public:
  explicit StoreSnapshot(const Store& store) : store_(store), snap_(store.take_snapshot()) {}
  ~StoreSnapshot() { store_.release_snapshot(snap_); }
  StoreSnapshot(const StoreSnapshot&) = delete;
  StoreSnapshot& operator=(const StoreSnapshot&) = delete;
  const leveldb::Snapshot* get() const { return snap_; }

 private:
  const Store& store_;
  const leveldb::Snapshot* snap_;
};

class StateValueCache;  // node/ledger/state_values.h

// The committed ledger state as the contracts see it (the s/ prefix, documents through their versions).
class StoreStateView final : public contracts::StateView {
 public:
  // Reads as of `snap` when given (one consistent view), else the latest state. With `remember_versions`, the
  // view keeps the version position of every document it read (a block's apply: its read sets refer to them).
  // With `cache` (the latest state only), it reads through the ledger's cache of committed values.
  explicit StoreStateView(const Store& store, const leveldb::Snapshot* snap = nullptr, bool remember_versions = false,
                          StateValueCache* cache = nullptr)
      : store_(store), snap_(snap), remember_(remember_versions), cache_(cache) {}
  Result<std::optional<std::string>> get(std::string_view k) const override;
  // The position of the version a document's value was read at; nullptr when this view has not read it.
  const std::string* version_of(const std::string& k) const {
    auto it = versions_.find(k);
    return it == versions_.end() ? nullptr : &it->second;
  }

 private:
  const Store& store_;
  const leveldb::Snapshot* snap_;
  bool remember_;
  StateValueCache* cache_;
  mutable std::unordered_map<std::string, std::string> versions_;
};

// A read set as stored in w/… (storage.md §1.2): canonical JSON {key: value|null|{"at": hex(position)}}, where a
// document's value that version_of(key) names a stored version of (its position; nullptr: none) is that reference.
std::string stored_reads_text(const contracts::ReadSet& reads,
                              const std::function<const std::string*(const std::string&)>& version_of);

// Merkle log nodes in the store, with writes staged into a batch: reads see staged nodes first. One per block
// being applied; commit the batch, then discard the staging.
class StoreMerkleNodes final : public crypto::MerkleNodeStore {
 public:
  explicit StoreMerkleNodes(const Store& store, const leveldb::Snapshot* snap = nullptr) : store_(store), snap_(snap) {}
  std::optional<crypto::Digest> get(std::uint32_t level, std::uint64_t index) const override;
  void put(std::uint32_t level, std::uint64_t index, const crypto::Digest& hash) override;
  void stage_into(leveldb::WriteBatch& batch) const;  // adds every staged node
  void clear() { staged_.clear(); }

 private:
  const Store& store_;
  const leveldb::Snapshot* snap_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, crypto::Digest> staged_;
};

}  // namespace onebill::node
