// Checks, as a state snapshot's content streams past in key order (node/snapshot.h, docs/storage.md §6), the
// records a snapshot carries beside the documents (which StateSnapshotCheck checks against the state root):
//
//   b/  every block record from height 1: each hashes to its hash and links to the one before (the first to the
//       genesis hash), the one at the certified height has the certified hash and the last is the applied header,
//       so the certified header commits to all of them; and each one's results give its header's tx_root and
//       result_root, and its accepted results its log_size;
//   e/  every entry record is its block's result in the same place — the same id (its tx hashes to it), status
//       and reason — and the accepted ones are the transparency log's leaves, in order;
//   m/  the stored log nodes are exactly the complete subtrees of those leaves, and their root is the last
//       header's log_root;
//   s/nonce/  each key's nonce window is what the accepted entries' nonces give, marked in ledger order;
//   t/, h/  the tx index and the documents' histories are exactly what the entry records call for;
//   w/  every entry has its read set record and no other is there (the read sets' content is history, as the
//       documents' earlier versions are: a verifier checks what a bundle carries against the certified results).
//
// Memory: a nonce window per signing key (about 200 bytes) and a few hashes per log level; nothing per entry.
// Problems are noted as the records pass and reported by finish(), so the receiver's own checks (the certified
// header, the membership, the roots) report first.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/nonce.h"
#include "crypto/hash.h"
#include "crypto/result.h"
#include "node/ledger/format.h"

namespace onebill::node {

class HistorySnapshotCheck {
 public:
  // `genesis_hash`: block 1's prev; `height`, `header_hash`, `log_size`: the snapshot's applied point;
  // `certified_height`, `certified_hash`: the block the manifest's attestations certify (none at height 0).
  HistorySnapshotCheck(crypto::HashAlg alg, std::string genesis_hash, std::int64_t height, std::string header_hash,
                       std::uint64_t log_size, std::int64_t certified_height = 0, std::string certified_hash = {});
  HistorySnapshotCheck(const HistorySnapshotCheck&) = delete;  // its digests refer to its key
  HistorySnapshotCheck& operator=(const HistorySnapshotCheck&) = delete;
  // Every content record, in key order.
  void take(std::string_view key, std::string_view value);
  // After the last record: "bad_snapshot" naming the first problem found.
  Status finish();
  // The applied block's header, once finish() succeeded at a height above 0.
  const ledger::BlockHeader& top() const { return top_; }

 private:
  // An order-independent digest of a set of records, keyed with a secret drawn for this check (so a sender cannot
  // choose records whose digests cancel): XOR of SHA-256(key ‖ record), and the count.
  class SetDigest {
   public:
    explicit SetDigest(const std::array<std::uint8_t, 32>& key) : key_(key) {}
    void add(std::string_view a, std::string_view b, std::string_view c = {});
    bool operator==(const SetDigest& o) const { return count_ == o.count_ && acc_ == o.acc_; }
    std::uint64_t count() const { return count_; }

   private:
    const std::array<std::uint8_t, 32>& key_;
    crypto::Digest acc_{};
    std::uint64_t count_ = 0;
  };
  // Each level's nodes, in index order, as a running hash and a count.
  struct Level {
    crypto::Hasher hash{crypto::HashAlg::sha256};
    std::uint64_t count = 0;
  };

  void note(std::string what);
  void take_block(std::string_view key, std::string_view value);
  void take_entry(std::string_view key, std::string_view value);
  void take_accepted(std::string_view position, std::int64_t height, std::uint32_t index, const std::string& id,
                     std::string_view signer, std::int64_t nonce, const std::vector<std::string_view>& documents);
  void take_result(std::string_view position, std::int64_t height, std::uint32_t index, const std::string& id,
                   bool accepted, std::string_view reason, const std::vector<std::string_view>& documents);
  void take_log_node(std::string_view key, std::string_view value);
  void take_nonce(std::string_view key, std::string_view value);
  void add_leaf(const crypto::Digest& leaf);
  static void add_node(std::vector<Level>& levels, std::uint32_t level, std::uint64_t index, const crypto::Digest& d);

  crypto::HashAlg alg_;
  std::string genesis_hash_;
  std::int64_t height_;
  std::string header_hash_;
  std::uint64_t log_size_;
  std::int64_t certified_height_;
  std::string certified_hash_;
  std::optional<std::string> error_;
  std::array<std::uint8_t, 32> key_{};

  // b/: the chain so far, and each result in ledger order (height, index, id, status, reason) as a running hash.
  std::int64_t blocks_ = 0;
  std::string last_hash_;
  ledger::BlockHeader top_;  // the last block record taken
  std::uint64_t block_log_size_ = 0;
  crypto::Hasher block_results_{crypto::HashAlg::sha256};
  std::uint64_t block_result_count_ = 0;
  // e/: the same from the entry records, their positions, and the log leaves of the accepted ones.
  crypto::Hasher entry_results_{crypto::HashAlg::sha256};
  std::uint64_t entry_count_ = 0;
  std::string last_entry_position_;
  crypto::Hasher entry_positions_{crypto::HashAlg::sha256};
  std::uint64_t leaves_ = 0;
  std::vector<std::string_view> documents_;  // the entry record being taken's, reused
  std::vector<crypto::Digest> pending_;  // per level, the left node waiting for its right sibling
  std::vector<Level> expected_nodes_;    // the complete subtrees of the leaves, by level
  std::vector<Level> stored_nodes_;      // the m/ records, by level
  std::map<std::string, contracts::NonceWindow, std::less<>> windows_;
  std::uint64_t nonce_records_ = 0;
  SetDigest tx_index_expected_{key_}, tx_index_stored_{key_};
  SetDigest history_expected_{key_}, history_stored_{key_};
  crypto::Hasher read_positions_{crypto::HashAlg::sha256};
  std::uint64_t read_records_ = 0;
};

}  // namespace onebill::node
