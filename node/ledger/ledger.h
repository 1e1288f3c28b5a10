// Ledger: applies committed blocks to the store — the node's state machine under Raft.
//
// For each committed block proposal, in Raft order (docs/formats/block.md):
//   1. decode it (a malformed proposal is skipped as an empty block: every honest node does the same);
//   2. drop entries whose tx id is already in the ledger or earlier in the block (a retried submission is
//      answered from the first, never recorded twice);
//   3. assign height = last + 1, prev = last header hash, time = max(proposal time, last time);
//   4. verify every signature again — in parallel across cores, skipping entries this node verified on
//      admission (the verification cache) — since a leader may lie;
//   5. run the contracts (contracts::apply_block) over the committed state;
//   6. write state, tx index, document history, listing indexes, the Merkle log, the document state tree (with
//      its undo records, node/ledger/state_store.h), the block record and the applied pointer in ONE LevelDB
//      write batch;
//   7. compute the header and sign it (the attestation the node sends its peers).
// A crash between blocks loses nothing: the Raft log keeps the committed block until it is applied again.
//
// Thread-safety: one thread applies (the node's Raft loop). Readers use the Store directly; they see whole blocks
// because each is one batch. last() is safe from any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "contracts/apply.h"
#include "contracts/doc_cache.h"
#include "contracts/membership.h"
#include "crypto/keys.h"
#include "node/key_tables.h"
#include "node/ledger/format.h"
#include "node/ledger/listing.h"
#include "node/ledger/state_store.h"
#include "node/ledger/state_values.h"
#include "node/store.h"
#include "node/worker_pool.h"

namespace onebill::node {

// The layout of the state this node writes, recorded in x/applied. 2: a bill's events are stored apart from the
// bill (docs/model.md §5); 3: each bill leg chains its events (`events_hash`), and entry records and read sets are
// keyed by position (e/, w/; storage.md §1.2); 4: the Raft log holds block proposals in their binary encoding
// (docs/formats/block.md §2); 5: documents are stored as versions written once (v/), which s/doc/ and read sets
// refer to (storage.md §1.3); 6: e/, w/ and v/ records live in the archive database, keyed position first
// (storage.md §1.4); 7: the Raft log (r/) in a database of its own, db/raft (node/store.h); 8: a bill leg's event
// records (evt/) are versions too, s/evt/ naming their position (storage.md §1.3); 9: one undo record per block
// for the state tree (d/h/, node/ledger/state_store.h), not one per node. A database of another
// format is refused at start (there is no migration before the first release: rebuild the node from its peers or
// start a new network).
inline constexpr std::int64_t kStorageFormat = 9;

// What the node remembers of the last applied block (x/applied).
struct AppliedPoint {
  std::uint64_t raft_index = 0;
  std::int64_t height = 0;
  std::string header_hash;  // genesis hash before the first block
  std::uint64_t log_size = 0;
  std::uint64_t state_size = 0;  // documents in the document state tree (node/ledger/state_store.h)
  std::int64_t time = 0;
  nlohmann::json to_json() const;
  static Result<AppliedPoint> from_json(const nlohmann::json& j);
};

// One applied block, as handed to whoever waits for its entries (HTTP waiters, events, attestation).
struct AppliedBlock {
  ledger::BlockHeader header;
  std::string header_hash;
  std::vector<contracts::Envelope> entries;  // the included entries, in order: id and tx header (no body, sig
                                             // or signed bytes: freed on apply)
  std::vector<contracts::Outcome> outcomes;  // one per included entry (writes cleared)
  std::vector<std::uint64_t> log_index;      // per entry: leaf index in the Merkle log, or UINT64_MAX if rejected
};

// Remembers signatures this node already verified (tx id + signature bytes), bounded, so apply can skip them.
class VerifiedCache {
 public:
  explicit VerifiedCache(std::size_t capacity = 1 << 18) : capacity_(capacity) {}
  void add(const std::string& id, const crypto::Bytes& sig);
  bool contains(const std::string& id, const crypto::Bytes& sig) const;

 private:
  // SHA-256 of (id, signature): equal keys mean the same id and the same signature bytes, and a key takes 32
  // bytes however long the signature is.
  static crypto::Digest key(const std::string& id, const crypto::Bytes& sig);
  struct KeyHash {
    std::size_t operator()(const crypto::Digest& d) const noexcept {
      std::size_t h = 0;
      std::memcpy(&h, d.data(), sizeof h);  // already uniformly distributed
      return h;
    }
  };
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_set<crypto::Digest, KeyHash> set_;
  std::vector<crypto::Digest> order_;  // ring for eviction
  std::size_t next_ = 0;
};

class Ledger {
 public:
  Ledger(Store& store, contracts::Membership genesis_membership, std::string genesis_hash, WorkerPool& pool,
         VerifiedCache& cache);

  // Loads the applied point and rebuilds membership from genesis and the recorded governance changes.
  Status open();
  // Forgets what was loaded and loads again from the store, as open() on a new Ledger would — after a state
  // snapshot replaced the store's ledger records. Apply thread only, between two applied entries.
  Status reload(contracts::Membership genesis_membership) {
    membership_ = std::move(genesis_membership);
    {
      std::lock_guard lock(point_mu_);
      point_ = AppliedPoint{};
      point_.header_hash = genesis_hash_;
    }
    state_cache_.reset();
    values_.clear();
    listed_.clear();
    return open();
  }

  // The parsed-document cache the contracts use on apply (read it on the applying thread only).
  const contracts::DocumentCache& document_cache() const { return documents_; }
  AppliedPoint last() const;
  const contracts::Membership& membership() const { return membership_; }  // apply thread only
  crypto::HashAlg hash_alg() const { return alg_; }
  const std::string& genesis_hash() const { return genesis_hash_; }

  // Applies the Raft entry at `raft_index` holding `data` (a block proposal). An entry at or below the applied
  // index is ignored (already applied before a restart). Errors mean the node is broken (I/O, corrupt state):
  // stop applying. `decoded`, when given, is decode_block(data) already done (the leader's own proposal, kept from
  // when it proposed those very bytes): it is used instead of decoding `data` again.
  // Otherwise `known` may hand over entries this node parsed already (ledger::decode_block).
  Result<std::optional<AppliedBlock>> apply(std::uint64_t raft_index, std::string_view data,
                                            std::optional<ledger::BlockProposal> decoded = std::nullopt,
                                            const ledger::KnownEnvelopes* known = nullptr);

  // Records that the Raft entry at raft_index carried no block (the leader's no-op, a configuration change).
  Status skip(std::uint64_t raft_index);

  // Verifies one entry's signature with the key membership holds for it now (admission); true = valid.
  bool verify_signature(const contracts::Envelope& e, const contracts::Key& key) const;

  // Keys that verify many signatures get a verification table, built in the background (node/key_tables.h): the
  // members' keys through public_key(), the nodes' keys (attestations) through this.
  void offer_key_table(const std::shared_ptr<const crypto::PublicKey>& key) const { key_tables_.offer(key); }

 private:
  Status write_block(leveldb::WriteBatch& batch, const AppliedPoint& point);
  Result<std::vector<bool>> preverify(const std::vector<contracts::Envelope>& entries) const;

  Store& store_;
  contracts::Membership membership_;
  std::string genesis_hash_;
  crypto::HashAlg alg_;
  WorkerPool& pool_;
  VerifiedCache& cache_;
  mutable KeyTableBuilder key_tables_;
  contracts::DocumentCache documents_;  // parsed documents between blocks (apply runs on one thread)
  StateTreeCache state_cache_;          // the document state tree's upper levels (apply thread)
  StateValueCache values_;              // committed values of recently read and written state keys (apply thread)
  // The listing fields (kind, holder, status) of documents as last written, by state key (nullopt: absent or not
  // listed), so a block need not read and scan each document's stored bytes again to update idx/. Apply thread
  // only; cleared when it grows past kListedCacheSize.
  static constexpr std::size_t kListedCacheSize = 100000;
  std::unordered_map<std::string, std::optional<Listed>> listed_;
  mutable std::mutex point_mu_;
  AppliedPoint point_;
  // Public keys parsed once per key id (PEM parsing costs more than a verification).
  mutable std::mutex keys_mu_;
  mutable std::map<std::string, std::shared_ptr<crypto::PublicKey>> keys_;
  std::shared_ptr<crypto::PublicKey> public_key(const contracts::Key& key) const;
};

}  // namespace onebill::node
