// The document state tree (node/ledger/state_tree.h: what it is, its leaves) in the node's LevelDB, and what it
// takes to prove a document's state at a recent height (docs/storage.md §1):
//   d/n/{level:be32}{index:be64}               32 bytes: the root of a complete subtree, as the log's m/ nodes
//   d/i/{doc id}                               be64: the document's leaf index
//   d/h/{height:be64}                          the block's undo record: each node it changed that existed
//                                              before it, as be32 level ‖ be64 index ‖ its 32-byte value before
//                                              the block (kUndoItemSize bytes each, in (level, index) order)
// The tree's size is x/applied's state_size (and every header's).
//
// A block writes, in its one batch: the tree nodes it changed, each once; the leaf indexes of the documents it
// creates; its undo record (the old value of every node it overwrote); and the deletion of the undo record of the
// block kStateUndoBlocks below it. So the tree as it was at any height h >= applied - kStateUndoBlocks can be read:
// a node's value at h is the one in the oldest undo record above h that has the node, else its current value. That is what lets a node prove a
// document's state at its certified head, which lags the applied height by a block or two.
//
// Thread-safety: a StateTreeUpdate belongs to the applying thread; StateTreeAt reads a LevelDB snapshot and may be
// used on any thread (one per reader).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <nlohmann/json.hpp>

#include "contracts/state.h"
#include "crypto/merkle.h"
#include "node/ledger/bundle.h"
#include "node/ledger/state_tree.h"
#include "node/store.h"

namespace onebill::node {

// How many blocks back the tree can still be read (and a state proved).
inline constexpr std::int64_t kStateUndoBlocks = 1024;
// One node in a block's undo record (d/h/): be32 level, be64 index, the 32-byte value.
inline constexpr std::size_t kUndoItemSize = 4 + 8 + crypto::kDigestSize;

// The stored tree above its leaves in memory — levels kLowestLevel and above: half of its nodes, 32 bytes per
// document — so that a block reads LevelDB only for its documents' leaves and their siblings. (Measured on 110,000
// documents, blocks changing 500 of them: 4.2 ms of CPU per block with it, 10.8 ms reading every node from
// LevelDB; from level 4 up only, 4 bytes per document, 8.0 ms: tests/node/state_store_test.cpp "cost per block".)
// It mirrors what the store holds after the last committed block, is loaded from it when first used, and belongs to
// the Ledger, on the applying thread.
class StateTreeCache {
 public:
  static constexpr std::uint32_t kLowestLevel = 1;

  bool loaded() const { return loaded_; }
  // Reads the stored nodes of levels >= kLowestLevel. "corrupt_state" when they are not every complete subtree.
  Status load(const Store& store, std::uint64_t size);
  // Forgets everything: the next block loads again (after a state snapshot replaced the store's records).
  void reset() {
    levels_.clear();
    loaded_ = false;
  }
  // A node of level >= kLowestLevel; nullopt when the tree has no such complete subtree.
  std::optional<crypto::Digest> get(std::uint32_t level, std::uint64_t index) const;
  void set(std::uint32_t level, std::uint64_t index, const crypto::Digest& d);

 private:
  std::vector<std::vector<crypto::Digest>> levels_;  // [level - kLowestLevel][index]
  bool loaded_ = false;
};

// One block's update of the tree, staged for its write batch. Reads the live store (the state before the block),
// and `cache` (if given, loaded) for the upper levels.
class StateTreeUpdate {
 public:
  // `size`: leaves before the block; `height`: the block's.
  StateTreeUpdate(const Store& store, crypto::HashAlg alg, std::uint64_t size, std::int64_t height,
                  const StateTreeCache* cache = nullptr)
      : alg_(alg), height_(height), size_(size), nodes_(store, size, cache) {}

  // The block's changes: `writes` are its merged writes (contracts::apply_block). Once per block. Errors: the
  // store's, or "corrupt_state"/"corruption" when the stored tree is not whole.
  Status apply(const contracts::WriteSet& writes);
  std::uint64_t size() const { return size_; }  // after apply()
  const crypto::Digest& root() const { return root_; }

  // Adds the changed nodes, new indexes, the block's undo record and the deletion of the one kStateUndoBlocks below
  // to `batch`.
  Status stage_into(leveldb::WriteBatch& batch) const;
  // After the batch is written: the cache learns the block's upper nodes.
  void commit_to(StateTreeCache& cache) const;

 private:
  // Tree nodes as the block leaves them: staged ones first, then the store's. Remembers the value each node it
  // overwrites had before the block.
  class Nodes final : public crypto::MerkleNodeStore {
   public:
    Nodes(const Store& store, std::uint64_t size_before, const StateTreeCache* cache)
        : store_(store), size_before_(size_before), cache_(cache != nullptr && cache->loaded() ? cache : nullptr) {}
    std::optional<crypto::Digest> get(std::uint32_t level, std::uint64_t index) const override;
    void put(std::uint32_t level, std::uint64_t index, const crypto::Digest& hash) override;
    const Store& store_;
    std::uint64_t size_before_;
    const StateTreeCache* cache_;
    std::map<std::pair<std::uint32_t, std::uint64_t>, crypto::Digest> staged_;
    std::map<std::pair<std::uint32_t, std::uint64_t>, crypto::Digest> before_;  // undo records
    mutable std::map<std::pair<std::uint32_t, std::uint64_t>, crypto::Digest> read_;  // read from the store
    mutable std::optional<Error> error_;  // the first store failure (get() can only say "missing")
  };

  crypto::HashAlg alg_;
  std::int64_t height_;
  std::uint64_t size_;
  crypto::Digest root_{};
  Nodes nodes_;
  std::vector<std::pair<std::string, std::uint64_t>> added_;
};

// The tree as it was after the block at `height`, read through a LevelDB snapshot in which that block is applied
// and within kStateUndoBlocks of the snapshot's applied height. Read-only (put does nothing). Reads the undo records
// of the blocks above `height` once, at the first get(), and keeps their values (about 100 bytes per node: reuse one
// for several proofs at the same height) — unless they hold more than `max_cached` nodes (a head far behind the
// applied height under heavy load), when each get() searches the records instead (bounded memory, slower). A store
// failure or a malformed undo record reads as a missing node, which MerkleLog reports as "corruption".
class StateTreeAt final : public crypto::MerkleNodeStore {
 public:
  static constexpr std::size_t kMaxCachedNodes = 1u << 18;  // about 25 MB
  StateTreeAt(const Store& store, const leveldb::Snapshot* snap, std::int64_t height,
              std::size_t max_cached = kMaxCachedNodes)
      : store_(store), snap_(snap), height_(height), max_cached_(max_cached) {}
  std::optional<crypto::Digest> get(std::uint32_t level, std::uint64_t index) const override;
  void put(std::uint32_t, std::uint64_t, const crypto::Digest&) override {}

 private:
  bool load() const;
  // Calls fn with each undo record above the height, oldest first, until it returns false. False on a store
  // failure or a malformed record.
  bool each_record(const std::function<bool(std::string_view)>& fn) const;
  // The node's value in the oldest undo record above the height that has it (the records searched one by one);
  // nullopt with `found` false when none has it; false on a store failure or a malformed record.
  bool search(std::uint32_t level, std::uint64_t index, std::optional<crypto::Digest>& found) const;
  const Store& store_;
  const leveldb::Snapshot* snap_;
  std::int64_t height_;
  std::size_t max_cached_;
  mutable bool loaded_ = false;
  mutable bool failed_ = false;
  mutable bool searching_ = false;  // too many nodes to keep: search the records at each get()
  mutable std::map<std::pair<std::uint32_t, std::uint64_t>, crypto::Digest> undo_;  // the values at height_
};

// The proof of `doc`'s state after the block at `height`, whose header gives the tree's `size`, read through
// `snap`, whose applied height is `applied`. nullopt when the document had no leaf then (not created yet). `tree`:
// a StateTreeAt of the same snapshot and height to read through (several proofs, one read of the undo records).
// Errors: "state_unavailable" when height < applied - kStateUndoBlocks (the values it would need are pruned);
// the store's; "corruption".
Result<std::optional<ledger::StateProof>> state_proof_at(const Store& store, const leveldb::Snapshot* snap,
                                                         crypto::HashAlg alg, std::string_view doc,
                                                         std::int64_t height, std::uint64_t size, std::int64_t applied,
                                                         StateTreeAt* tree = nullptr);

// Checks, as a state snapshot's content streams past in key order (node/snapshot.h), that its documents' current
// values (the versions v/… that s/doc/… name) are the leaves of the state tree it carries, at their indexes
// (d/i/…), each index once, and that its stored tree nodes (d/n/…) are exactly the complete subtrees of those
// leaves: so the tree's root, checked against a certified header's state_root, commits to every document the
// snapshot installs. Older versions are history, as read sets are (audit bundles carry them to verifiers, who
// check them against certified results). Memory: about 70 bytes per document. The undo records (d/h/) are not checked: they only serve proofs at heights below the
// snapshot's, which a verifier checks against those heights' certified roots.
class StateSnapshotCheck {
 public:
  // `size`: the tree's size the snapshot's applied point names; `height`: its height (no current version, of a
  // document or of an event record, can be at a position above it).
  StateSnapshotCheck(crypto::HashAlg alg, std::uint64_t size, std::int64_t height)
      : alg_(alg), size_(size), height_(height) {}
  // Every content record, in key order. Error "bad_snapshot" (a malformed tree record).
  Status take(std::string_view key, std::string_view value);
  // After the last record: "bad_snapshot" unless the documents, indexes and nodes agree, the root is `root`, each
  // bill leg's event records (the versions s/evt/… names) are exactly the ones its `events_hash` chains, and the
  // listing (i/…) and contract indexes (s/idx/…) are exactly what the documents call for.
  Status finish(const crypto::Digest& root);

 private:
  crypto::HashAlg alg_;
  std::uint64_t size_;
  std::int64_t height_;
  using KeyHash = std::array<std::uint8_t, 16>;  // the first 16 bytes of a key's SHA-256
  static KeyHash key_hash(std::string_view key);
  static KeyHash index_hash(std::string_view key, std::string_view value);  // an s/idx/ record, key without s/
  std::vector<std::uint64_t> index_;  // d/i/ values in key (= document id) order
  crypto::Hasher index_ids_{crypto::HashAlg::sha256};  // the document ids of d/i/, in order
  crypto::Hasher doc_ids_{crypto::HashAlg::sha256};    // the document ids of s/doc/, in order
  std::size_t docs_ = 0;                               // s/doc/ records seen
  // The current versions the s/doc/ records name (v/… keys, hashed) with their documents' tree indexes, sorted
  // when the versions start (s/ < v/); each must come, once.
  std::vector<std::pair<KeyHash, std::uint64_t>> current_;
  std::vector<char> current_seen_;
  bool current_sorted_ = false;
  std::vector<crypto::Digest> leaves_;                 // by index, from the documents' values
  std::vector<char> filled_;
  crypto::Hasher nodes_{crypto::HashAlg::sha256};      // every d/n/ record as streamed
  std::uint64_t node_count_ = 0;
  std::optional<std::string> error_;
  // A bill leg's event records (the versions s/evt/… names, not leaves of the tree) must rebuild the leg's
  // events_hash, which the bill (a leaf) holds: what the records give, chained as they come (in position order,
  // among the bills' versions), and what the bills say, compared by finish().
  struct LegChain {
    std::int64_t count = 0;  // the bill's event_count
    std::string expected;    // the bill's events_hash
    std::int64_t seen = 0;   // records taken, numbered 1..seen
    std::string running;     // the chain over them
  };
  struct BillChains {
    bool known = false;      // the bill's current version was taken
    std::vector<LegChain> legs;
  };
  std::map<std::string, BillChains, std::less<>> chains_;
  // The versions the s/evt/ records name (v/… keys, hashed), sorted when the versions start; each must come, once.
  std::vector<KeyHash> current_events_;
  std::vector<char> events_seen_;
  bool events_sorted_ = false;
  std::optional<std::string> chain_error_;  // the first event record found wrong, reported by finish()
  // Records that documents call for, which come before the documents in key order: each taken as a hash, sorted
  // when the documents start, and claimed at most once by a document that calls for it.
  class Claims {
   public:
    void add(const KeyHash& h) { hashes_.push_back(h); }
    bool claim(const KeyHash& h);     // false when no unclaimed record has that hash
    std::size_t unclaimed() const;
   private:
    std::vector<KeyHash> hashes_;
    std::vector<char> claimed_;
    bool sorted_ = false;
  };
  // The listing index (i/…, before the documents in key order): each record must be one a document calls for
  // (listing.h), and each a document calls for must be there. Kept as key hashes (about 50 bytes per document).
  Claims listings_;
  std::optional<std::string> listing_error_;  // the first document without its record, reported by finish()
  // The contracts' indexes (s/idx/…, before the documents' versions in key order): exactly the records the checked
  // documents call for (contracts/indexes.h), each a hash of key and value, claimed as the documents come.
  Claims indexes_;
  std::optional<std::string> index_error_;  // the first document without its record, reported by finish()
  Status take_document(std::string_view id, std::uint64_t index, std::string_view value);
  void take_bill(std::string_view id, const nlohmann::json& doc);
  void take_indexes(std::string_view id, const nlohmann::json& doc);
  void take_listing(std::string_view id, std::string_view value);
  void take_event(std::string_view key, std::string_view value);  // key: s/evt/…; value: the record
  Status take_event_version(std::string_view version_key, std::string_view state_key, std::string_view value);
};

}  // namespace onebill::node
