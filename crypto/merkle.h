// RFC 6962 (Certificate Transparency) Merkle trees: hashing, roots, inclusion and consistency proofs, and an
// append-only log that adds a leaf in O(log n) hash operations and O(log n) stored nodes.
//
// Hashing (RFC 6962 §2.1): leaf = H(0x00 || data), node = H(0x01 || left || right), empty tree = H("").
// The hash function is the network's (SHA-256 or SM3).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "crypto/hash.h"

namespace onebill::crypto {

Digest leaf_hash(HashAlg alg, ByteView data);
Digest node_hash(HashAlg alg, const Digest& left, const Digest& right);
Digest empty_root(HashAlg alg);

// MTH(D[n]) over leaf hashes already computed with leaf_hash().
Digest merkle_root(HashAlg alg, std::span<const Digest> leaves);

// PATH(m, D[n]) of RFC 6962 §2.1.1 for index < leaves.size(); "bad_index" otherwise.
Result<std::vector<Digest>> inclusion_proof(HashAlg alg, std::span<const Digest> leaves, std::uint64_t index);
// PROOF(m, D[n]) of RFC 6962 §2.1.2 for 0 < m <= n = leaves.size(); "bad_size" otherwise.
Result<std::vector<Digest>> consistency_proof(HashAlg alg, std::span<const Digest> leaves, std::uint64_t m);

// Verification (the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, equivalent to RFC 6962's). Any malformed
// proof — wrong length, index out of range — is simply false.
bool verify_inclusion(HashAlg alg, const Digest& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Digest> proof, const Digest& root);
bool verify_consistency(HashAlg alg, std::uint64_t m, std::uint64_t n, const Digest& root_m, const Digest& root_n,
                        std::span<const Digest> proof);

// Where an append-only log keeps its nodes: the root of every complete (perfect) subtree, addressed by
// (level, index): level 0 holds the leaf hashes, and node (l, i) covers leaves [i * 2^l, (i + 1) * 2^l).
// The node's store puts these in LevelDB in the same write batch as the block; tests use MemoryMerkleStore.
class MerkleNodeStore {
 public:
  virtual ~MerkleNodeStore() = default;
  virtual std::optional<Digest> get(std::uint32_t level, std::uint64_t index) const = 0;
  virtual void put(std::uint32_t level, std::uint64_t index, const Digest& hash) = 0;
};

class MemoryMerkleStore final : public MerkleNodeStore {
 public:
  std::optional<Digest> get(std::uint32_t level, std::uint64_t index) const override;
  void put(std::uint32_t level, std::uint64_t index, const Digest& hash) override;
  std::size_t node_count() const { return nodes_.size(); }

 private:
  std::map<std::pair<std::uint32_t, std::uint64_t>, Digest> nodes_;
};

// A Merkle tree of the same RFC 6962 shape whose leaves may change (the ledger's document state tree,
// docs/formats/block.md §3): sets the leaf hashes in `changes` (leaf index -> leaf hash) in `store`, then recomputes
// every complete subtree above them, each once, from its two children. The tree grows from `old_size` to
// `new_size` leaves: every index in [old_size, new_size) must be in `changes`, and no index may reach new_size
// ("bad_index" otherwise). Reads the stored siblings it needs ("corruption" if one is missing); writes only through
// store.put. Roots and inclusion proofs of the result are MerkleLog's (root(size), inclusion_proof) over the same
// store: they read complete subtrees only.
Status update_leaves(HashAlg alg, MerkleNodeStore& store, std::uint64_t old_size, std::uint64_t new_size,
                     const std::map<std::uint64_t, Digest>& changes);

// An append-only Merkle log over a node store. Not thread-safe: one writer; readers synchronise with it.
// Proofs and roots can be asked for any size up to the current one, so a node can serve proofs against the
// last certified size while it appends newer entries.
class MerkleLog {
 public:
  // `size` is how many leaves the store already holds (the node keeps it beside the store).
  MerkleLog(HashAlg alg, MerkleNodeStore& store, std::uint64_t size = 0) : alg_(alg), store_(store), size_(size) {}

  HashAlg alg() const { return alg_; }
  std::uint64_t size() const { return size_; }

  // Appends a leaf hash (from leaf_hash()) and returns its index. Writes the leaf and each subtree it completes.
  std::uint64_t append(const Digest& leaf);

  // "bad_size" for a size beyond the log; "corruption" if the store lacks a node it must have.
  Result<Digest> root(std::uint64_t size) const;
  Result<Digest> root() const { return root(size_); }
  Result<std::vector<Digest>> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
  Result<std::vector<Digest>> consistency_proof(std::uint64_t m, std::uint64_t n) const;

 private:
  Result<Digest> subtree(std::uint64_t begin, std::uint64_t end) const;
  Status path(std::uint64_t index, std::uint64_t begin, std::uint64_t end, std::vector<Digest>& out) const;
  Status subproof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole,
                  std::vector<Digest>& out) const;

  HashAlg alg_;
  MerkleNodeStore& store_;
  std::uint64_t size_;
};

}  // namespace onebill::crypto
