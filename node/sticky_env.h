// StickyWriteEnv: the leveldb::Env the Store gives its databases. It makes the first failed write sticky, so that
// nothing is ever written after a torn record (finding F1, docs/reliability.md §3).
//
// Why: LevelDB appends each write batch to its log as one record. When an append fails half-way (ENOSPC, EIO), the
// record is torn, yet LevelDB (1.23) remembers only a failed *sync*, not a failed append: the next write that
// succeeds is appended after the torn record. At the next open the torn record is then no longer the log's tail —
// which recovery drops as a crash would have left it — but sits in the middle: the database either refuses to open
// ("partial record without end") or, when the torn record's length covers the next one, opens without that later
// write although it was acknowledged as synced.
//
// Contract: after the first failure of a write-side call on any file LevelDB creates through this Env — creating
// it (NewWritableFile, NewAppendableFile), Append, Flush, Sync or Close — every later such call, from any thread
// and on any file, returns that first failure without touching the disk. This covers every writer of the database
// at once: Store::write, the Raft log storage writing through Store::raft_db() (consensus::LevelDbStorage), and
// LevelDB's own compactions and MANIFEST. Writers that race with the failure are covered too: LevelDB writes its
// log one writer at a time, and the failure is recorded inside the append that tore the record, before the next
// writer's append can start. A failed write may leave the torn record — whatever the disk took — as the log's tail;
// recovery drops it at the next open, and that write was never reported successful. Reads, removals and renames
// are passed through (LevelDB only renames files it wrote successfully, and removing files frees space).
//
// Closed logs (the other thing this Env does): LevelDB closes a write-ahead log (*.log) without syncing it when its
// memtable fills and a new log starts, and a synced write to the new log covers only the new file. Until the old
// memtable is flushed to a table (synced, then the log removed), the closed log holds the only copy of its unsynced
// writes, and a power cut loses them even after a later synced write. So when LevelDB closes a log's file (or, as
// 1.23 does at the switch, deletes it without closing), it is flushed to the operating system but kept open here,
// until LevelDB removes it (RemoveFile: its memtable is in a synced table) or it is synced: **every sync of a log
// first syncs the logs closed in the same folder** (the same database), so that a synced write never reaches the
// disk without the writes before it — otherwise a power cut could cut the old log short under a new log that
// survived, and LevelDB's recovery would replay the new one over a hole (x/applied past block batches the Raft log
// would never hand back). That makes every synced write of a database (Store::sync_state's marker, x/signer, a
// block's archive batch) cover all of that database's earlier writes, as it does when no switch happened. It costs
// one more fsync per memtable switch at most, when a synced write comes before the old memtable's flush (for the
// archive and the Raft log, whose writes are synced anyway, one with nothing left to write). A log a failure met
// is closed at once (nothing is synced any more). A database's current log, deleted when the database closes, is
// kept until the Env goes.
//
// The failure lasts as long as this Env: the Store owns one for all its databases, so only reopening the store
// (restarting the node) clears it. fail() lets the Store record failures that LevelDB reports without a file
// write failing here (a corrupt table met by a compaction), so that "the first failure" is one thing.
//
// Thread-safety: every method may be called from any thread. The Env and the files it hands out forward to
// `target`, which must outlive them.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <leveldb/env.h>
#include <leveldb/status.h>

namespace onebill::node {

class StickyWriteEnv final : public leveldb::EnvWrapper {
 public:
  explicit StickyWriteEnv(leveldb::Env* target) : leveldb::EnvWrapper(target) {}

  // True once a write failed. Cheap (one atomic load).
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // The first failure; nullopt while none.
  std::optional<leveldb::Status> failure() const;
  // Records `s` (not ok) as the failure unless one is recorded already. Returns the first failure.
  leveldb::Status fail(const leveldb::Status& s);

  // Syncs every log closed in the folder `dir` (with a trailing '/': one database's) and not removed yet (see
  // above), then closes it; a log's Sync calls it first. Once it returns ok, every write that database made to a
  // log closed before the call is durable. A failure is the Env's (sticky) failure, returned to every caller from
  // then on. Callers are served one at a time.
  leveldb::Status sync_closed_logs(const std::string& dir);

  leveldb::Status NewWritableFile(const std::string& name, leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& name, leveldb::WritableFile** result) override;
  leveldb::Status RemoveFile(const std::string& name) override;

 private:
  class File;
  void keep_closed_log(const std::string& name, std::unique_ptr<leveldb::WritableFile> file);
  leveldb::Status first() const;  // the recorded failure (call only when failed())
  // The result of creating `base`: wrapped into *result, or the failure recorded.
  leveldb::Status adopt(const std::string& name, const leveldb::Status& opened, leveldb::WritableFile* base,
                        leveldb::WritableFile** result);

  mutable std::mutex mu_;
  leveldb::Status first_;  // guarded by mu_; set once
  std::atomic<bool> failed_{false};
  mutable std::mutex logs_mu_;
  std::map<std::string, std::unique_ptr<leveldb::WritableFile>> closed_logs_;  // guarded by logs_mu_
  std::mutex sync_mu_;  // one sync_closed_logs at a time
};

}  // namespace onebill::node
