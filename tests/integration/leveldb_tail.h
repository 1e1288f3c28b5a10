// The part of a node's LevelDB write-ahead log that a power cut could lose: what a real torn write can take.
//
// LevelDB appends every write batch to its newest NNNNNN.log file as one logical record (log_format.md: 32 KiB
// blocks, 7-byte record headers, FULL / FIRST / MIDDLE / LAST fragments). A batch written with sync = true is
// fsync'ed before the write returns, and that fsync makes durable every byte written before it too. So after a
// crash of the machine, the log keeps at least everything up to the end of the last synced batch; any suffix
// after it may be lost, cut at any byte. Nothing before it can be lost without the disk lying about fsync, which
// no software can survive and no test should fake.
//
// Which batches onebilld syncs (docs/storage.md §2): in the Raft log's database (db/raft), a Raft persist that
// changes the term or vote, appends entries or installs a snapshot; in the state database, x/genesis, x/signer,
// x/diverged, snapshot install markers, and the deletion of x/sync written only to sync it (Store::sync_state,
// before a Raft snapshot record; a deletion, because LevelDB may fold other threads' unsynced writes into a synced
// write's log record, and an empty batch would then not be seen). Block applies, attestations, compaction and a Raft hard state that changes only the commit
// index are not synced. From the outside the harness cannot know whether a given batch was synced, so it treats as
// possibly synced every batch that has any `r/` key other than a commit-only `r/h` change (a change of term or vote
// against the previous `r/h` in the file — the first one in the file counts as a change), any `x/genesis`,
// `x/signer`, `x/diverged`, `x/installing` or `x/sync` key, and an empty batch. The torn region is everything after the last
// such batch: only bytes that certainly were never synced. Each database's log is torn on its own.
//
// What this cannot produce: a tear inside the last Raft batch while its fsync had not yet returned (a crash during
// the fsync). That is a real case too, but whether the fsync returned before a kill -9 cannot be seen from
// outside the process; tests/support/fault_env.h covers it in process, for the Raft storage.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace onebill::faults {

struct LogTail {
  std::filesystem::path file;   // the newest *.log in the db folder ("" when there is none)
  std::uintmax_t size = 0;      // its size in bytes
  std::uintmax_t synced_end = 0;  // end offset of the last batch that may have been synced (0: none in this file)
  int batches = 0;              // complete batches in the file
  int unsynced_batches = 0;     // complete batches after synced_end
  std::string error;            // why the file could not be read ("" when it was)
};

// Reads the newest log file of a LevelDB database folder (the node must not be running).
LogTail find_unsynced_tail(const std::filesystem::path& db_dir);

}  // namespace onebill::faults
