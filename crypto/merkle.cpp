#include "crypto/merkle.h"

#include <bit>
#include <iterator>

namespace onebill::crypto {
namespace {

// The largest power of two strictly less than n (n >= 2): RFC 6962's split point k.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

Digest mth(HashAlg alg, std::span<const Digest> d) {
  if (d.empty()) return empty_root(alg);
  if (d.size() == 1) return d[0];
  std::uint64_t k = split_point(d.size());
  return node_hash(alg, mth(alg, d.first(k)), mth(alg, d.subspan(k)));
}

void path(HashAlg alg, std::uint64_t m, std::span<const Digest> d, std::vector<Digest>& out) {
  if (d.size() <= 1) return;
  std::uint64_t k = split_point(d.size());
  if (m < k) {
    path(alg, m, d.first(k), out);
    out.push_back(mth(alg, d.subspan(k)));
  } else {
    path(alg, m - k, d.subspan(k), out);
    out.push_back(mth(alg, d.first(k)));
  }
}

void subproof(HashAlg alg, std::uint64_t m, std::span<const Digest> d, bool whole, std::vector<Digest>& out) {
  if (m == d.size()) {
    if (!whole) out.push_back(mth(alg, d));
    return;
  }
  std::uint64_t k = split_point(d.size());
  if (m <= k) {
    subproof(alg, m, d.first(k), whole, out);
    out.push_back(mth(alg, d.subspan(k)));
  } else {
    subproof(alg, m - k, d.subspan(k), false, out);
    out.push_back(mth(alg, d.first(k)));
  }
}

Error corruption(std::uint32_t level, std::uint64_t index) {
  return make_error("corruption", "Merkle node (" + std::to_string(level) + ", " + std::to_string(index) +
                                      ") is missing from the store");
}

}  // namespace

Digest leaf_hash(HashAlg alg, ByteView data) {
  const std::uint8_t prefix = 0x00;
  return hash(alg, {ByteView(&prefix, 1), data});
}

Digest node_hash(HashAlg alg, const Digest& left, const Digest& right) {
  std::uint8_t buf[1 + 2 * kDigestSize];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 1 + kDigestSize);
  return hash(alg, ByteView(buf, sizeof buf));
}

Digest empty_root(HashAlg alg) { return hash(alg, ByteView{}); }

Digest merkle_root(HashAlg alg, std::span<const Digest> leaves) { return mth(alg, leaves); }

Result<std::vector<Digest>> inclusion_proof(HashAlg alg, std::span<const Digest> leaves, std::uint64_t index) {
  if (index >= leaves.size()) return make_error("bad_index", "leaf index beyond the tree");
  std::vector<Digest> out;
  path(alg, index, leaves, out);
  return out;
}

Result<std::vector<Digest>> consistency_proof(HashAlg alg, std::span<const Digest> leaves, std::uint64_t m) {
  if (m == 0 || m > leaves.size()) return make_error("bad_size", "consistency needs 0 < m <= n");
  std::vector<Digest> out;
  subproof(alg, m, leaves, true, out);
  return out;
}

bool verify_inclusion(HashAlg alg, const Digest& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Digest> proof, const Digest& root) {
  if (index >= size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Digest r = leaf;
  for (const Digest& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(alg, p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(alg, r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(HashAlg alg, std::uint64_t m, std::uint64_t n, const Digest& root_m, const Digest& root_n,
                        std::span<const Digest> proof) {
  if (m == 0 || m > n) return false;
  if (m == n) return proof.empty() && root_m == root_n;
  if (proof.empty()) return false;
  // When m is a power of two the old root is itself a node of the new tree and the proof omits it.
  std::vector<Digest> p;
  p.reserve(proof.size() + 1);
  if (std::has_single_bit(m)) p.push_back(root_m);
  p.insert(p.end(), proof.begin(), proof.end());

  std::uint64_t fn = m - 1;
  std::uint64_t sn = n - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Digest fr = p[0];
  Digest sr = p[0];
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = node_hash(alg, p[i], fr);
      sr = node_hash(alg, p[i], sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(alg, sr, p[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == root_m && sr == root_n;
}

Status update_leaves(HashAlg alg, MerkleNodeStore& store, std::uint64_t old_size, std::uint64_t new_size,
                     const std::map<std::uint64_t, Digest>& changes) {
  if (new_size < old_size) return make_error("bad_size", "a tree of changing leaves does not shrink");
  if (!changes.empty() && changes.rbegin()->first >= new_size) {
    return make_error("bad_index", "leaf " + std::to_string(changes.rbegin()->first) + " is beyond the tree");
  }
  // The leaves added must all be given: [old_size, new_size) is in `changes` iff its last new_size - old_size keys
  // are exactly those indexes (the keys are unique and below new_size).
  const std::uint64_t added = new_size - old_size;
  if (changes.size() < added ||
      (added > 0 && std::prev(changes.end(), static_cast<std::ptrdiff_t>(added))->first != old_size)) {
    return make_error("bad_index", "every leaf added to the tree needs its hash");
  }
  std::vector<std::uint64_t> dirty;  // the changed nodes of the level below, in increasing index order
  dirty.reserve(changes.size());
  for (const auto& [index, leaf] : changes) {
    store.put(0, index, leaf);
    dirty.push_back(index);
  }
  std::vector<std::uint64_t> parents;
  for (std::uint32_t level = 1; level < 64 && !dirty.empty(); ++level) {
    parents.clear();
    const std::uint64_t complete = new_size >> level;  // nodes [0, complete) of this level cover whole subtrees
    for (std::uint64_t child : dirty) {
      const std::uint64_t p = child >> 1;
      if (p >= complete) break;  // increasing: the rest are on the right edge too
      if (parents.empty() || parents.back() != p) parents.push_back(p);
    }
    for (std::uint64_t p : parents) {
      auto left = store.get(level - 1, 2 * p);
      if (!left) return corruption(level - 1, 2 * p);
      auto right = store.get(level - 1, 2 * p + 1);
      if (!right) return corruption(level - 1, 2 * p + 1);
      store.put(level, p, node_hash(alg, *left, *right));
    }
    dirty.swap(parents);
  }
  return {};
}

// ---- MemoryMerkleStore ----

std::optional<Digest> MemoryMerkleStore::get(std::uint32_t level, std::uint64_t index) const {
  auto it = nodes_.find({level, index});
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

void MemoryMerkleStore::put(std::uint32_t level, std::uint64_t index, const Digest& hash) {
  nodes_[{level, index}] = hash;
}

// ---- MerkleLog ----

std::uint64_t MerkleLog::append(const Digest& leaf) {
  std::uint64_t index = size_++;
  store_.put(0, index, leaf);
  Digest current = leaf;
  std::uint32_t level = 0;
  std::uint64_t i = index;
  // Each time the new node is a right child, it completes its parent.
  while ((i & 1) == 1) {
    auto left = store_.get(level, i - 1);
    if (!left) break;  // cannot happen with an intact store; root() will report the corruption
    current = node_hash(alg_, *left, current);
    ++level;
    i >>= 1;
    store_.put(level, i, current);
  }
  return index;
}

// The root of leaves [begin, end). Every range the RFC 6962 recursions ask for starts at a multiple of the
// largest power of two not above its length, so a perfect range is one stored node and any other range splits
// into a stored left part and a smaller right part: O(log n) reads.
Result<Digest> MerkleLog::subtree(std::uint64_t begin, std::uint64_t end) const {
  std::uint64_t n = end - begin;
  if (n == 0) return empty_root(alg_);
  if (std::has_single_bit(n) && begin % n == 0) {
    auto level = static_cast<std::uint32_t>(std::countr_zero(n));
    auto node = store_.get(level, begin >> level);
    if (!node) return corruption(level, begin >> level);
    return *node;
  }
  std::uint64_t k = split_point(n);
  auto left = subtree(begin, begin + k);
  if (!left) return left;
  auto right = subtree(begin + k, end);
  if (!right) return right;
  return node_hash(alg_, *left, *right);
}

Result<Digest> MerkleLog::root(std::uint64_t size) const {
  if (size > size_) return make_error("bad_size", "size " + std::to_string(size) + " is beyond the log");
  return subtree(0, size);
}

Status MerkleLog::path(std::uint64_t index, std::uint64_t begin, std::uint64_t end, std::vector<Digest>& out) const {
  std::uint64_t n = end - begin;
  if (n <= 1) return {};
  std::uint64_t k = split_point(n);
  bool left_side = index < begin + k;
  Status s = left_side ? path(index, begin, begin + k, out) : path(index, begin + k, end, out);
  if (!s) return s;
  auto sibling = left_side ? subtree(begin + k, end) : subtree(begin, begin + k);
  if (!sibling) return sibling.error();
  out.push_back(*sibling);
  return {};
}

Status MerkleLog::subproof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole,
                           std::vector<Digest>& out) const {
  std::uint64_t n = end - begin;
  if (m == n) {
    if (whole) return {};
    auto node = subtree(begin, end);
    if (!node) return node.error();
    out.push_back(*node);
    return {};
  }
  std::uint64_t k = split_point(n);
  Status s = m <= k ? subproof(m, begin, begin + k, whole, out) : subproof(m - k, begin + k, end, false, out);
  if (!s) return s;
  auto sibling = m <= k ? subtree(begin + k, end) : subtree(begin, begin + k);
  if (!sibling) return sibling.error();
  out.push_back(*sibling);
  return {};
}

Result<std::vector<Digest>> MerkleLog::inclusion_proof(std::uint64_t index, std::uint64_t size) const {
  if (size > size_) return make_error("bad_size", "size " + std::to_string(size) + " is beyond the log");
  if (index >= size) return make_error("bad_index", "leaf index beyond the tree");
  std::vector<Digest> out;
  if (Status s = path(index, 0, size, out); !s) return s.error();
  return out;
}

Result<std::vector<Digest>> MerkleLog::consistency_proof(std::uint64_t m, std::uint64_t n) const {
  if (n > size_) return make_error("bad_size", "size " + std::to_string(n) + " is beyond the log");
  if (m == 0 || m > n) return make_error("bad_size", "consistency needs 0 < m <= n");
  std::vector<Digest> out;
  if (Status s = subproof(m, 0, n, true, out); !s) return s.error();
  return out;
}

}  // namespace onebill::crypto
