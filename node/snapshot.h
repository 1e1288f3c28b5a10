// State snapshots: what a node sends a follower or learner whose missing Raft entries were compacted away, and
// how the receiver checks and installs it (docs/storage.md §6, docs/consensus.md "Snapshots in the node").
//
// Two parts travel separately:
//   - the MANIFEST (a few KiB of JSON) is the Raft snapshot's data: the core stores it in r/s, sends it in chunks
//     with InstallSnapshot and hands it to the follower's Ready. It names the applied point (Raft index, height,
//     header hash, log size), the content's SHA-256, record count and bytes, and a certified header at or below
//     the snapshot's height with the attestations that certify it.
//   - the CONTENT is every ledger record of the database at that applied index — keys under b/ d/ h/ i/ m/ s/ t/ w/
//     and x/applied, in key order — as a stream of records `u32le key length ‖ key ‖ u32le value length ‖ value`.
//     It is read from a LevelDB snapshot (consistent at the index however the live database moves on) and
//     fetched by the receiver in chunks over the peer channel `snapshot`, never held whole in memory.
// Not content: the Raft log (r/), x/genesis, x/signer/ (this node's own nonce counter), x/diverged, x/installing
// and attestations (a/; the manifest carries the ones that matter). What remains is a deterministic function of
// the applied log: two honest nodes at the same index have byte-identical content.
//
// Thread-safety: a SnapshotSource is immutable and may be read from any thread; a SnapshotReceiver belongs to the
// thread that fetches.
#pragma once

#include <atomic>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <leveldb/db.h>
#include <leveldb/env.h>

#include "consensus/storage/leveldb_storage.h"
#include "contracts/membership.h"
#include "crypto/hash.h"
#include "node/ledger/format.h"
#include "node/ledger/history_check.h"
#include "node/ledger/ledger.h"
#include "node/ledger/state_store.h"
#include "node/store.h"

namespace onebill::node {

// The latest header with attestations from a quorum of voters, as /v1/log/head shows it.
struct CertifiedHead {
  std::int64_t height = 0;
  std::string header_hash;
  std::uint64_t log_size = 0;
  std::string log_root;
  std::vector<ledger::Attestation> attestations;
  nlohmann::json to_json() const;
};

// More than half of the membership's voting nodes.
std::size_t attestation_quorum(const contracts::Membership& m);

// The highest height in [max(1, top - depth + 1), top] whose stored block hash (b/) is attested, in the stored
// attestations (a/), by a quorum of `m`'s voters with a valid signature. nullopt if none.
Result<std::optional<CertifiedHead>> load_certified_head(const Store& store, const contracts::Membership& m,
                                                         const std::string& network, crypto::HashAlg alg,
                                                         std::int64_t top, std::int64_t depth);

// True for keys that are snapshot content (see above).
bool is_snapshot_content(std::string_view key);
// Appends one record of the content stream.
void append_snapshot_record(std::string& out, std::string_view key, std::string_view value);

struct SnapshotManifest {
  std::string genesis;  // the genesis hash the state belongs to
  AppliedPoint point;   // x/applied in the content; point.raft_index is the Raft snapshot index
  std::string content_hash;  // hex SHA-256 of the whole record stream
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::int64_t certified_height = 0;  // 0 (and no attestations) only when point.height is 0
  std::string certified_hash;
  std::vector<ledger::Attestation> attestations;

  std::string encode() const;  // canonical JSON text
  static Result<SnapshotManifest> decode(std::string_view text);
};

// A consistent view of the content at one applied index, on the node that serves snapshots.
class SnapshotSource {
 public:
  // Takes a LevelDB snapshot of `store` now — call it on the applying thread between two applied entries — and
  // hashes the content. `certified` certifies a height <= the applied one (required once height > 0).
  // Errors: "no_certified_head", "io_error", "corruption".
  static Result<std::shared_ptr<const SnapshotSource>> build(const Store& store, const std::string& genesis_hash,
                                                             const std::optional<CertifiedHead>& certified);
  // build() in two steps, so that the hashing — a pass over the whole ledger — can run on another thread while
  // the applying thread goes on: open() takes the LevelDB snapshot (on the applying thread, between two applied
  // entries); hash() reads the content as of it and fills the manifest (any thread, once). `cancel`, when set,
  // makes hash() stop early with "cancelled".
  static std::shared_ptr<SnapshotSource> open(const Store& store);
  Status hash(const std::string& genesis_hash, const std::optional<CertifiedHead>& certified,
              const std::atomic<bool>* cancel = nullptr);
  ~SnapshotSource();
  SnapshotSource(const SnapshotSource&) = delete;
  SnapshotSource& operator=(const SnapshotSource&) = delete;

  const SnapshotManifest& manifest() const { return manifest_; }

  struct Chunk {
    std::string records;   // whole records, at least one unless done
    std::string last_key;  // key of the last record in `records`
    bool done = false;     // no content after last_key
  };
  // Records after `after` (empty: from the start), up to about max_bytes (at least one record).
  Result<Chunk> read(std::string_view after, std::size_t max_bytes) const;

 private:
  SnapshotSource(const Store& store, const leveldb::Snapshot* snap) : store_(store), snap_(snap) {}
  const Store& store_;
  const leveldb::Snapshot* snap_;  // the state's, paired with the archive's (Store::take_snapshot)
  SnapshotManifest manifest_;
};

// What the receiver checks a snapshot against: its own genesis.
struct SnapshotTrust {
  std::string genesis_hash;
  std::string network;
  crypto::HashAlg alg = crypto::HashAlg::sha256;
  contracts::Membership genesis_membership;
  // The voters whose attestations may certify the snapshot's header: the membership this node already holds (its
  // own applied state; genesis for a new node), never the one the snapshot's own governance records describe —
  // those are unsigned state the serving peer could forge. Unset: genesis_membership.
  std::optional<contracts::Membership> known_voters;
};

// Receives the content stream into a staging file (through the store's Env) and checks it against the manifest
// and the trust anchors. Nothing in the database changes until install_snapshot().
class SnapshotReceiver {
 public:
  static Result<std::unique_ptr<SnapshotReceiver>> create(leveldb::Env* env, std::string staging_path,
                                                          SnapshotManifest manifest, const SnapshotTrust& trust);
  ~SnapshotReceiver();

  // One chunk of records, in stream order. Errors: "bad_snapshot" (malformed, out of order, too much),
  // "io_error".
  Status add(std::string_view records);
  // The key of the last record received (where the next request starts).
  const std::string& last_key() const { return last_key_; }
  // Ends the stream and verifies everything: content hash, count and size; x/applied equals the manifest; the
  // chain of block headers from the certified one to the applied one; the certified header's attestations (a
  // quorum of the snapshot's own voters, each signature valid); the membership rebuilt from genesis and the
  // snapshot's governance records hashes to the header's membership_hash; the Merkle log's root at log_size is
  // the header's log_root; every document's state is its leaf in the snapshot's document state tree, whose root
  // is the header's state_root, and the listing and contract indexes are what the documents call for
  // (StateSnapshotCheck); the blocks from genesis, the entries, the log's nodes, the nonce windows and the per-entry
  // indexes agree (HistorySnapshotCheck). The staging file is synced. Error "bad_snapshot" says what did not hold.
  Status finish();

 private:
  SnapshotReceiver(std::string path, SnapshotManifest manifest, SnapshotTrust trust);
  Status take(std::string_view key, std::string_view value);

  std::string path_;
  SnapshotManifest manifest_;
  SnapshotTrust trust_;
  leveldb::WritableFile* file_ = nullptr;
  crypto::Hasher hasher_{crypto::HashAlg::sha256};
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
  std::string last_key_;
  std::string pending_;  // a record split across chunks is never accepted: chunks hold whole records
  // What verification needs, collected while streaming (all small).
  std::optional<std::string> applied_;
  std::vector<std::string> gov_changes_;        // s/gov/change/… values in key order
  std::optional<StateSnapshotCheck> state_;  // the documents against the state tree (40 bytes per document)
  std::optional<HistorySnapshotCheck> history_;  // blocks, entries, the log, nonce windows, t/, h/, w/
};

// Installs a verified snapshot into the store, crash-safely:
//   1. x/installing = {manifest, Raft snapshot metadata, staging file} (synced): from here a restart finishes
//      the install (resume_snapshot_install) instead of starting on a mix of old and new records;
//   2. every content key of the old state is deleted and the staged records written, in bounded batches;
//   3. the Raft snapshot (LevelDbStorage::save with `ready`, which carries it, plus any entries and hard state of
//      the same Ready), synced in the Raft log's database; then the deletion of x/installing, synced in the state
//      database (a crash between the two redoes step 2 at the restart); then the staging file goes.
// Attestations in the manifest are stored under a/. Errors: "io_error", "corruption".
Status install_snapshot(Store& store, consensus::LevelDbStorage& raft, const std::string& staging_path,
                        const SnapshotManifest& manifest, const consensus::Ready& ready);

// Steps 1 and 2 alone (install_snapshot runs them; tests stop between them to model a crash).
Status begin_snapshot_install(Store& store, const std::string& staging_path, const SnapshotManifest& manifest,
                              const consensus::SnapshotMeta& meta);
Status apply_staged_snapshot(Store& store, const std::string& staging_path, const SnapshotManifest& manifest);

// At start, before Raft or the ledger load: if x/installing is set, redo steps 2 and 3 from the staging file.
// Returns true if an install was finished. "corruption" if the marker or the staging file is unreadable.
Result<bool> resume_snapshot_install(Store& store, consensus::LevelDbStorage& raft);

// The peer-channel messages of a content fetch (channel `snapshot`).
struct SnapshotRequest {
  std::uint64_t index = 0;  // the Raft snapshot index wanted
  std::uint32_t max_bytes = 0;
  std::string after;  // last key received; empty = from the start
  std::string encode() const;
  static std::optional<SnapshotRequest> decode(std::string_view bytes);
};
struct SnapshotResponse {
  enum class Status : std::uint8_t { more = 0, done = 1, unavailable = 2 };
  std::uint64_t index = 0;
  Status status = Status::unavailable;
  std::string records;
  std::string encode() const;
  static std::optional<SnapshotResponse> decode(std::string_view bytes);
};

}  // namespace onebill::node
