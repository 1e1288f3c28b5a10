// RFC 6962 Merkle trees (crypto/merkle.h): the Certificate Transparency reference vectors, then properties on
// random trees checked against a reference of the test's own: every proof from the free functions and from
// MerkleLog agrees, verifies, and fails after any single corruption.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "tests/crypto/test_util.h"

using namespace onebill::crypto;
using onebill::crypto::test::read_json;
using onebill::crypto::test::tohex;
using onebill::crypto::test::unhex;
using onebill::crypto::test::unhex_digest;

namespace {

using Proof = std::vector<Digest>;

// ---- The test's own reference, written from RFC 6962 section 2.1 with nothing but hash(). ----

Digest ref_leaf(HashAlg alg, ByteView data) {
  Bytes b{0x00};
  b.insert(b.end(), data.begin(), data.end());
  return hash(alg, b);
}

Digest ref_node(HashAlg alg, const Digest& l, const Digest& r) {
  Bytes b{0x01};
  b.insert(b.end(), l.begin(), l.end());
  b.insert(b.end(), r.begin(), r.end());
  return hash(alg, b);
}

// The root of every prefix of `leaves`, [0] being the empty tree, computed with a stack of perfect subtrees.
std::vector<Digest> ref_prefix_roots(HashAlg alg, const std::vector<Digest>& leaves) {
  std::vector<Digest> roots{hash(alg, std::string_view())};
  std::vector<std::pair<int, Digest>> stack;  // (height, root of a perfect subtree), heights strictly decreasing
  for (const Digest& leaf : leaves) {
    stack.emplace_back(0, leaf);
    while (stack.size() >= 2 && stack[stack.size() - 1].first == stack[stack.size() - 2].first) {
      Digest merged = ref_node(alg, stack[stack.size() - 2].second, stack.back().second);
      const int h = stack.back().first + 1;
      stack.pop_back();
      stack.back() = {h, merged};
    }
    Digest r = stack.back().second;
    for (std::size_t i = stack.size() - 1; i-- > 0;) r = ref_node(alg, stack[i].second, r);
    roots.push_back(r);
  }
  return roots;
}

Digest flip(Digest d, unsigned bit) {
  d[bit / 8 % kDigestSize] = static_cast<std::uint8_t>(d[bit / 8 % kDigestSize] ^ (1u << (bit % 8)));
  return d;
}

// {d} followed by p (built without vector::insert, which trips a GCC 12 -Wnull-dereference false positive).
Proof prepended(const Digest& d, const Proof& p) {
  Proof out(p.size() + 1);
  out[0] = d;
  std::copy(p.begin(), p.end(), out.begin() + 1);
  return out;
}

std::vector<Digest> random_leaves(HashAlg alg, std::size_t n, std::mt19937& rng) {
  std::vector<Digest> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Distinct leaves (the index first, then 0..40 random bytes): with two equal sibling leaves a proof for one
    // also proves the other, which is correct and would make "index + 1 must fail" a false alarm.
    Bytes data;
    for (int k = 0; k < 8; ++k) data.push_back(static_cast<std::uint8_t>(i >> (8 * k)));
    data.resize(8 + rng() % 41);
    for (std::size_t k = 8; k < data.size(); ++k) data[k] = static_cast<std::uint8_t>(rng());
    out.push_back(leaf_hash(alg, data));
  }
  return out;
}

std::span<const Digest> prefix(const std::vector<Digest>& leaves, std::uint64_t n) {
  return std::span<const Digest>(leaves.data(), static_cast<std::size_t>(n));
}

// How many checks ran, to show in the output that the properties were exercised.
struct Counters {
  std::uint64_t inclusion = 0;
  std::uint64_t consistency = 0;
  std::uint64_t rejected = 0;
};

// `proof` is the inclusion proof of leaf `index` in the tree of size n; `roots` are the prefix roots (at least
// n + 1 of them, n + 2 if available). Checks it verifies and that every single corruption fails.
void check_inclusion(HashAlg alg, const std::vector<Digest>& leaves, const std::vector<Digest>& roots, std::uint64_t index,
                     std::uint64_t n, const Proof& proof, std::mt19937& rng, Counters& count) {
  INFO("inclusion proof: index " << index << ", size " << n << ", " << proof.size() << " elements");
  const Digest& leaf = leaves[index];
  const Digest& root = roots[n];
  REQUIRE(verify_inclusion(alg, leaf, index, n, proof, root));
  ++count.inclusion;
  auto must_fail = [&](const char* what, const Digest& l, std::uint64_t i, std::uint64_t s, const Proof& p, const Digest& r) {
    INFO("corruption: " << what);
    CHECK_FALSE(verify_inclusion(alg, l, i, s, p, r));
    ++count.rejected;
  };
  // Index off by one (and by two), size off by one against that size's real tree head, or doubled or halved.
  if (index > 0) must_fail("index - 1", leaf, index - 1, n, proof, root);
  must_fail("index + 1", leaf, index + 1, n, proof, root);
  if ((index ^ 2) != index) must_fail("index ^ 2", leaf, index ^ 2, n, proof, root);
  if (n + 1 < roots.size()) must_fail("size + 1 with its root", leaf, index, n + 1, proof, roots[n + 1]);
  must_fail("size - 1 with its root", leaf, index, n - 1, proof, roots[n - 1]);
  must_fail("size * 2", leaf, index, n * 2, proof, root);
  if (n > 1) must_fail("size / 2", leaf, index, n / 2, proof, root);
  must_fail("size 0", leaf, index, 0, proof, root);
  must_fail("index = size", leaf, n, n, proof, root);
  // One flipped bit in the leaf, the root, or any proof element.
  must_fail("leaf bit", flip(leaf, static_cast<unsigned>(rng() % 256)), index, n, proof, root);
  must_fail("root bit", leaf, index, n, proof, flip(root, static_cast<unsigned>(rng() % 256)));
  for (std::size_t k = 0; k < proof.size(); ++k) {
    Proof p = proof;
    p[k] = flip(p[k], static_cast<unsigned>(rng() % 256));
    INFO("proof element " << k);
    must_fail("proof element bit", leaf, index, n, p, root);
  }
  // Wrong length.
  Proof longer = proof;
  longer.push_back(root);
  must_fail("trailing element", leaf, index, n, longer, root);
  must_fail("preceding element", leaf, index, n, prepended(Digest{}, proof), root);
  if (!proof.empty()) {
    must_fail("last element removed", leaf, index, n, Proof(proof.begin(), proof.end() - 1), root);
    must_fail("first element removed", leaf, index, n, Proof(proof.begin() + 1, proof.end()), root);
  }
  // Another leaf.
  if (n > 1) must_fail("sibling leaf", leaves[(index ^ 1) < n ? (index ^ 1) : index - 1], index, n, proof, root);
}

// `proof` is the consistency proof from size m to size n.
void check_consistency(HashAlg alg, const std::vector<Digest>& roots, std::uint64_t m, std::uint64_t n, const Proof& proof,
                       std::mt19937& rng, Counters& count) {
  INFO("consistency proof: " << m << " -> " << n << ", " << proof.size() << " elements");
  const Digest& r1 = roots[m];
  const Digest& r2 = roots[n];
  REQUIRE(verify_consistency(alg, m, n, r1, r2, proof));
  ++count.consistency;
  auto must_fail = [&](const char* what, std::uint64_t a, std::uint64_t b, const Digest& x, const Digest& y, const Proof& p) {
    INFO("corruption: " << what);
    CHECK_FALSE(verify_consistency(alg, a, b, x, y, p));
    ++count.rejected;
  };
  if (m == n) {
    CHECK(proof.empty());
    must_fail("other root", m, n, r1, flip(r2, 0), proof);
    must_fail("non-empty proof", m, n, r1, r2, Proof{r1});
    return;
  }
  must_fail("m > n", n, m, r2, r1, proof);
  if (m > 1) {
    must_fail("m - 1", m - 1, n, r1, r2, proof);
    must_fail("m - 1 with its root", m - 1, n, roots[m - 1], r2, proof);
  }
  must_fail("m + 1", m + 1, n, r1, r2, proof);
  must_fail("m + 1 with its root", m + 1, n, roots[m + 1], r2, proof);
  if ((m ^ 2) != m && (m ^ 2) > 0) must_fail("m ^ 2", m ^ 2, n, r1, r2, proof);
  if (n + 1 < roots.size()) must_fail("n + 1 with its root", m, n + 1, r1, roots[n + 1], proof);
  must_fail("n - 1 with its root", m, n - 1, r1, roots[n - 1], proof);
  must_fail("n * 2", m, n * 2, r1, r2, proof);
  must_fail("n / 2", m, n / 2, r1, r2, proof);
  must_fail("m = 0", 0, n, r1, r2, proof);
  must_fail("swapped roots", m, n, r2, r1, proof);
  must_fail("root m bit", m, n, flip(r1, static_cast<unsigned>(rng() % 256)), r2, proof);
  must_fail("root n bit", m, n, r1, flip(r2, static_cast<unsigned>(rng() % 256)), proof);
  for (std::size_t k = 0; k < proof.size(); ++k) {
    Proof p = proof;
    p[k] = flip(p[k], static_cast<unsigned>(rng() % 256));
    INFO("proof element " << k);
    must_fail("proof element bit", m, n, r1, r2, p);
  }
  must_fail("empty proof", m, n, r1, r2, Proof{});
  Proof longer = proof;
  longer.push_back(proof.back());
  must_fail("trailing element", m, n, r1, r2, longer);
  must_fail("preceding root m", m, n, r1, r2, prepended(r1, proof));
  must_fail("preceding proof[0]", m, n, r1, r2, prepended(proof.front(), proof));
  must_fail("last element removed", m, n, r1, r2, Proof(proof.begin(), proof.end() - 1));
}

Proof log_inclusion(const MerkleLog& log, std::uint64_t index, std::uint64_t n) {
  auto p = log.inclusion_proof(index, n);
  if (!p.ok()) FAIL("MerkleLog::inclusion_proof(" << index << ", " << n << "): " << p.error().code << " " << p.error().message);
  return *p;
}

Proof log_consistency(const MerkleLog& log, std::uint64_t m, std::uint64_t n) {
  auto p = log.consistency_proof(m, n);
  if (!p.ok()) FAIL("MerkleLog::consistency_proof(" << m << ", " << n << "): " << p.error().code << " " << p.error().message);
  return *p;
}

Proof free_inclusion(HashAlg alg, const std::vector<Digest>& leaves, std::uint64_t index, std::uint64_t n) {
  auto p = inclusion_proof(alg, prefix(leaves, n), index);
  if (!p.ok()) FAIL("inclusion_proof(" << index << ", size " << n << "): " << p.error().code);
  return *p;
}

Proof free_consistency(HashAlg alg, const std::vector<Digest>& leaves, std::uint64_t m, std::uint64_t n) {
  auto p = consistency_proof(alg, prefix(leaves, n), m);
  if (!p.ok()) FAIL("consistency_proof(" << m << ", size " << n << "): " << p.error().code);
  return *p;
}

// A store that hides one node, to check MerkleLog reports missing nodes instead of answering wrongly.
class HidingStore final : public MerkleNodeStore {
 public:
  explicit HidingStore(MemoryMerkleStore& inner) : inner_(inner) {}
  std::optional<Digest> get(std::uint32_t level, std::uint64_t index) const override {
    if (hidden_ && hidden_->first == level && hidden_->second == index) return std::nullopt;
    return inner_.get(level, index);
  }
  void put(std::uint32_t level, std::uint64_t index, const Digest& hash) override { inner_.put(level, index, hash); }
  void hide(std::uint32_t level, std::uint64_t index) { hidden_ = std::make_pair(level, index); }

 private:
  MemoryMerkleStore& inner_;
  std::optional<std::pair<std::uint32_t, std::uint64_t>> hidden_;
};

void exhaustive_small_trees(HashAlg alg, std::uint64_t max_n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const auto leaves = random_leaves(alg, max_n + 1, rng);
  const auto roots = ref_prefix_roots(alg, leaves);
  MemoryMerkleStore store;
  MerkleLog log(alg, store);
  for (const auto& l : leaves) log.append(l);
  Counters count;
  for (std::uint64_t n = 1; n <= max_n; ++n) {
    INFO(hash_alg_name(alg) << " tree of " << n << " leaves");
    CHECK(merkle_root(alg, prefix(leaves, n)) == roots[n]);
    auto lr = log.root(n);
    REQUIRE(lr.ok());
    CHECK(*lr == roots[n]);
    for (std::uint64_t i = 0; i < n; ++i) {
      const Proof p = free_inclusion(alg, leaves, i, n);
      CHECK(log_inclusion(log, i, n) == p);
      check_inclusion(alg, leaves, roots, i, n, p, rng, count);
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      const Proof p = free_consistency(alg, leaves, m, n);
      CHECK(log_consistency(log, m, n) == p);
      check_consistency(alg, roots, m, n, p, rng, count);
    }
  }
  INFO(count.inclusion << " inclusion proofs, " << count.consistency << " consistency proofs, " << count.rejected
                       << " corruptions rejected");
  CHECK(count.inclusion == max_n * (max_n + 1) / 2);
  CHECK(count.consistency == max_n * (max_n + 1) / 2);
}

void random_large_trees(HashAlg alg, std::uint64_t max_n, int sizes, int queries, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const auto leaves = random_leaves(alg, max_n + 1, rng);
  const auto roots = ref_prefix_roots(alg, leaves);
  MemoryMerkleStore store;
  MerkleLog log(alg, store);
  for (std::uint64_t k = 0; k < max_n; ++k) {
    CHECK(log.append(leaves[k]) == k);
  }
  REQUIRE(log.size() == max_n);
  CHECK(store.node_count() == 2 * max_n - static_cast<std::uint64_t>(std::popcount(max_n)));
  // The log answers the root of every earlier size.
  for (std::uint64_t n = 0; n <= max_n; ++n) {
    auto r = log.root(n);
    REQUIRE(r.ok());
    if (*r != roots[n]) FAIL_CHECK("MerkleLog::root(" << n << ") differs from the reference");
  }
  // Random sizes (always including the extremes) with random indices and earlier sizes.
  std::set<std::uint64_t> chosen{1, 2, 3, max_n - 1, max_n};
  for (std::uint64_t edge : {255u, 256u, 257u, 1023u, 1024u, 1025u}) {
    if (edge <= max_n) chosen.insert(edge);
  }
  while (chosen.size() < static_cast<std::size_t>(sizes)) chosen.insert(1 + rng() % max_n);
  Counters count;
  for (std::uint64_t n : chosen) {
    INFO(hash_alg_name(alg) << " tree of " << n << " leaves");
    CHECK(merkle_root(alg, prefix(leaves, n)) == roots[n]);
    for (int q = 0; q < queries; ++q) {
      const std::uint64_t i = q == 0 ? 0 : q == 1 ? n - 1 : rng() % n;
      const Proof p = free_inclusion(alg, leaves, i, n);
      CHECK(log_inclusion(log, i, n) == p);
      check_inclusion(alg, leaves, roots, i, n, p, rng, count);
      const std::uint64_t m = q == 0 ? 1 : q == 1 ? n : 1 + rng() % n;
      const Proof c = free_consistency(alg, leaves, m, n);
      CHECK(log_consistency(log, m, n) == c);
      check_consistency(alg, roots, m, n, c, rng, count);
    }
  }
  INFO(count.inclusion << " inclusion proofs, " << count.consistency << " consistency proofs, " << count.rejected
                       << " corruptions rejected");
  CHECK(count.inclusion == chosen.size() * static_cast<std::size_t>(queries));
}

}  // namespace

TEST_CASE("merkle: hashing rules of RFC 6962 section 2.1", "[merkle]") {
  for (HashAlg alg : {HashAlg::sha256, HashAlg::sm3}) {
    INFO(hash_alg_name(alg));
    CHECK(empty_root(alg) == hash(alg, std::string_view()));
    CHECK(merkle_root(alg, std::span<const Digest>()) == empty_root(alg));
    const Bytes data = {1, 2, 3};
    CHECK(leaf_hash(alg, data) == ref_leaf(alg, data));
    CHECK(leaf_hash(alg, Bytes{}) == ref_leaf(alg, Bytes{}));
    const Digest a = leaf_hash(alg, Bytes{1});
    const Digest b = leaf_hash(alg, Bytes{2});
    CHECK(node_hash(alg, a, b) == ref_node(alg, a, b));
    CHECK(node_hash(alg, a, b) != node_hash(alg, b, a));
    const std::vector<Digest> one{a};
    CHECK(merkle_root(alg, one) == a);
  }
  CHECK(tohex(empty_root(HashAlg::sha256)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(tohex(empty_root(HashAlg::sm3)) == "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
}

TEST_CASE("merkle: RFC 6962 reference tree (certificate-transparency vectors)", "[merkle][vectors]") {
  const auto data = read_json("vectors/merkle_rfc6962.json");
  const HashAlg alg = HashAlg::sha256;
  std::vector<Digest> leaves;
  for (const auto& l : data["leaves"]) leaves.push_back(leaf_hash(alg, unhex(l.get<std::string>())));
  REQUIRE(leaves.size() == 8);
  std::vector<Digest> roots{unhex_digest(data["empty_root"].get<std::string>())};
  for (const auto& r : data["roots"]) roots.push_back(unhex_digest(r.get<std::string>()));
  REQUIRE(roots.size() == 9);
  CHECK(tohex(roots[8]) == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");

  // The test's own reference agrees with the published roots (so it can be trusted for the property tests).
  CHECK(ref_prefix_roots(alg, leaves) == roots);

  CHECK(empty_root(alg) == roots[0]);
  MemoryMerkleStore store;
  MerkleLog log(alg, store);
  for (std::uint64_t n = 1; n <= 8; ++n) {
    INFO("size " << n);
    CHECK(tohex(merkle_root(alg, prefix(leaves, n))) == tohex(roots[n]));
    CHECK(log.append(leaves[n - 1]) == n - 1);
    CHECK(log.size() == n);
    auto r = log.root();
    REQUIRE(r.ok());
    CHECK(tohex(*r) == tohex(roots[n]));
    CHECK(store.node_count() == 2 * n - static_cast<std::uint64_t>(std::popcount(n)));
  }
  for (std::uint64_t n = 0; n <= 8; ++n) {
    auto r = log.root(n);
    REQUIRE(r.ok());
    CHECK(tohex(*r) == tohex(roots[n]));
  }

  std::mt19937 rng(1);
  Counters count;
  REQUIRE(data["inclusion"].size() == 5);
  for (const auto& v : data["inclusion"]) {
    const std::uint64_t index = v["index"];
    const std::uint64_t size = v["size"];
    Proof expected;
    for (const auto& h : v["proof"]) expected.push_back(unhex_digest(h.get<std::string>()));
    INFO("published inclusion vector: index " << index << ", size " << size);
    auto p = inclusion_proof(alg, prefix(leaves, size), index);
    REQUIRE(p.ok());
    CHECK(*p == expected);
    CHECK(log_inclusion(log, index, size) == expected);
    check_inclusion(alg, leaves, roots, index, size, expected, rng, count);
  }
  REQUIRE(data["consistency"].size() == 5);
  for (const auto& v : data["consistency"]) {
    const std::uint64_t first = v["first"];
    const std::uint64_t second = v["second"];
    Proof expected;
    for (const auto& h : v["proof"]) expected.push_back(unhex_digest(h.get<std::string>()));
    INFO("published consistency vector: " << first << " -> " << second);
    auto p = consistency_proof(alg, prefix(leaves, second), first);
    REQUIRE(p.ok());
    CHECK(*p == expected);
    CHECK(log_consistency(log, first, second) == expected);
    check_consistency(alg, roots, first, second, expected, rng, count);
  }
}

TEST_CASE("merkle: bad arguments", "[merkle]") {
  const HashAlg alg = HashAlg::sha256;
  std::mt19937 rng(2);
  const auto leaves = random_leaves(alg, 8, rng);
  auto bi = inclusion_proof(alg, leaves, 8);
  REQUIRE_FALSE(bi.ok());
  CHECK(bi.error().code == "bad_index");
  auto be = inclusion_proof(alg, std::span<const Digest>(), 0);
  REQUIRE_FALSE(be.ok());
  CHECK(be.error().code == "bad_index");
  for (std::uint64_t m : {std::uint64_t{0}, std::uint64_t{9}, std::uint64_t{1} << 40}) {
    INFO("m " << m);
    auto c = consistency_proof(alg, leaves, m);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == "bad_size");
  }

  MemoryMerkleStore store;
  MerkleLog log(alg, store);
  for (const auto& l : leaves) log.append(l);
  auto r9 = log.root(9);
  REQUIRE_FALSE(r9.ok());
  CHECK(r9.error().code == "bad_size");
  auto i9 = log.inclusion_proof(0, 9);
  REQUIRE_FALSE(i9.ok());
  CHECK(i9.error().code == "bad_size");
  CHECK_FALSE(log.inclusion_proof(8, 8).ok());
  CHECK_FALSE(log.inclusion_proof(5, 5).ok());
  CHECK_FALSE(log.inclusion_proof(0, 0).ok());
  auto c9 = log.consistency_proof(4, 9);
  REQUIRE_FALSE(c9.ok());
  CHECK(c9.error().code == "bad_size");
  CHECK_FALSE(log.consistency_proof(0, 8).ok());
  CHECK_FALSE(log.consistency_proof(5, 4).ok());

  // Verification of nonsense is simply false.
  const Digest root = merkle_root(alg, leaves);
  CHECK_FALSE(verify_inclusion(alg, leaves[0], 0, 0, {}, root));
  CHECK_FALSE(verify_inclusion(alg, leaves[0], 8, 8, {}, root));
  CHECK_FALSE(verify_inclusion(alg, leaves[0], UINT64_MAX, UINT64_MAX, {}, root));
  CHECK_FALSE(verify_inclusion(alg, leaves[0], 0, 8, Proof(64, root), root));
  CHECK_FALSE(verify_consistency(alg, 9, 8, root, root, {}));
  CHECK_FALSE(verify_consistency(alg, 3, 8, root, root, Proof(64, root)));
  CHECK_FALSE(verify_consistency(alg, UINT64_MAX - 1, UINT64_MAX, root, root, Proof{root}));
  // Trivial cases that hold: one leaf, and m == n with equal roots.
  CHECK(verify_inclusion(alg, leaves[0], 0, 1, {}, leaves[0]));
  CHECK(verify_consistency(alg, 8, 8, root, root, {}));
}

TEST_CASE("merkle: MerkleLog reopened over its store continues identically", "[merkle]") {
  for (HashAlg alg : {HashAlg::sha256, HashAlg::sm3}) {
    INFO(hash_alg_name(alg));
    std::mt19937 rng(3);
    const auto leaves = random_leaves(alg, 100, rng);
    const auto roots = ref_prefix_roots(alg, leaves);
    MemoryMerkleStore store;
    {
      MerkleLog first(alg, store);
      for (std::size_t k = 0; k < 37; ++k) first.append(leaves[k]);
    }
    MerkleLog log(alg, store, 37);
    CHECK(log.alg() == alg);
    CHECK(log.size() == 37);
    CHECK(log.root().value() == roots[37]);
    for (std::size_t k = 37; k < 100; ++k) {
      CHECK(log.append(leaves[k]) == k);
      auto r = log.root();
      REQUIRE(r.ok());
      CHECK(*r == roots[k + 1]);
    }
    CHECK(store.node_count() == 2 * 100 - std::popcount(100u));
    for (std::uint64_t i : {0u, 36u, 37u, 99u}) {
      CHECK(log_inclusion(log, i, 100) == free_inclusion(alg, leaves, i, 100));
    }
    CHECK(log_consistency(log, 37, 100) == free_consistency(alg, leaves, 37, 100));
  }
}

TEST_CASE("merkle: a store missing nodes gives corruption, never a wrong answer", "[merkle]") {
  const HashAlg alg = HashAlg::sha256;
  std::mt19937 rng(4);
  const auto leaves = random_leaves(alg, 8, rng);
  const auto roots = ref_prefix_roots(alg, leaves);

  MemoryMerkleStore empty;
  MerkleLog claims_five(alg, empty, 5);
  auto r = claims_five.root();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "corruption");
  auto p = claims_five.inclusion_proof(1, 5);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().code == "corruption");
  auto c = claims_five.consistency_proof(2, 5);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == "corruption");

  MemoryMerkleStore inner;
  HidingStore store(inner);
  MerkleLog log(alg, store);
  for (const auto& l : leaves) log.append(l);
  store.hide(0, 5);  // leaf 5's hash: leaf 4's inclusion proof needs it and nothing else can stand in for it
  auto missing = log.inclusion_proof(4, 8);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "corruption");
  for (std::uint64_t n = 1; n <= 8; ++n) {
    auto root = log.root(n);
    if (root.ok()) CHECK(*root == roots[n]);
    else CHECK(root.error().code == "corruption");
    for (std::uint64_t i = 0; i < n; ++i) {
      auto ip = log.inclusion_proof(i, n);
      if (ip.ok()) CHECK(*ip == free_inclusion(alg, leaves, i, n));
      else CHECK(ip.error().code == "corruption");
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      auto cp = log.consistency_proof(m, n);
      if (cp.ok()) CHECK(*cp == free_consistency(alg, leaves, m, n));
      else CHECK(cp.error().code == "corruption");
    }
  }
}

TEST_CASE("merkle: growing log answers for every earlier size", "[merkle][property]") {
  const HashAlg alg = HashAlg::sha256;
  std::mt19937 rng(5);
  const std::uint64_t max_n = 300;
  const auto leaves = random_leaves(alg, max_n, rng);
  const auto roots = ref_prefix_roots(alg, leaves);
  MemoryMerkleStore store;
  MerkleLog log(alg, store);
  for (std::uint64_t n = 1; n <= max_n; ++n) {
    log.append(leaves[n - 1]);
    INFO("log of size " << n);
    CHECK(store.node_count() == 2 * n - static_cast<std::uint64_t>(std::popcount(n)));
    auto r = log.root();
    REQUIRE(r.ok());
    CHECK(*r == roots[n]);
    // A few earlier sizes, indices and consistency proofs at each step.
    for (int q = 0; q < 3; ++q) {
      const std::uint64_t size = 1 + rng() % n;
      const std::uint64_t index = rng() % size;
      const std::uint64_t m = 1 + rng() % size;
      CHECK(log.root(size).value() == roots[size]);
      CHECK(log_inclusion(log, index, size) == free_inclusion(alg, leaves, index, size));
      CHECK(log_consistency(log, m, size) == free_consistency(alg, leaves, m, size));
    }
  }
}

TEST_CASE("merkle: every tree of 1..64 leaves, every index and earlier size (SHA-256)", "[merkle][property]") {
  exhaustive_small_trees(HashAlg::sha256, 64, 6);
}

TEST_CASE("merkle: every tree of 1..40 leaves, every index and earlier size (SM3)", "[merkle][property]") {
  exhaustive_small_trees(HashAlg::sm3, 40, 7);
}

TEST_CASE("merkle: random trees up to 2000 leaves (SHA-256)", "[merkle][property]") {
  random_large_trees(HashAlg::sha256, 2000, 100, 16, 8);
}

TEST_CASE("merkle: random trees up to 700 leaves (SM3)", "[merkle][property]") {
  random_large_trees(HashAlg::sm3, 700, 30, 8, 9);
}

// ---- Trees whose leaves change (update_leaves: the ledger's document state tree) ----

TEST_CASE("merkle: a tree of changing leaves has the root and proofs of its leaves, after any updates",
          "[merkle][property]") {
  for (HashAlg alg : {HashAlg::sha256, HashAlg::sm3}) {
    INFO(hash_alg_name(alg));
    std::mt19937 rng(alg == HashAlg::sha256 ? 21 : 22);
    Counters count;
    std::uint64_t updates = 0;
    for (int run = 0; run < (alg == HashAlg::sha256 ? 40 : 12); ++run) {
      MemoryMerkleStore store;
      std::vector<Digest> leaves;  // the reference: every leaf as it is now
      std::uint64_t version = 0;
      const int blocks = 1 + static_cast<int>(rng() % 40);
      for (int b = 0; b < blocks; ++b) {
        // A block: some leaves added, some existing ones changed (some twice: the last value counts).
        const std::uint64_t old_size = leaves.size();
        const std::uint64_t added = rng() % 4 == 0 ? 0 : rng() % (run % 3 == 0 ? 70 : 9);
        std::map<std::uint64_t, Digest> changes;
        for (std::uint64_t k = 0; k < added; ++k) {
          leaves.push_back(leaf_hash(alg, as_bytes("new " + std::to_string(++version))));
          changes[leaves.size() - 1] = leaves.back();
        }
        const std::uint64_t changed = leaves.empty() ? 0 : rng() % (std::min<std::uint64_t>(leaves.size(), 12) + 1);
        for (std::uint64_t k = 0; k < changed; ++k) {
          const std::uint64_t i = rng() % leaves.size();
          leaves[i] = leaf_hash(alg, as_bytes("changed " + std::to_string(++version)));
          changes[i] = leaves[i];
        }
        REQUIRE(update_leaves(alg, store, old_size, leaves.size(), changes).ok());
        ++updates;
        const std::uint64_t n = leaves.size();
        // Exactly the complete subtrees are stored, as in an append-only log of the same size.
        CHECK(store.node_count() == 2 * n - static_cast<std::uint64_t>(std::popcount(n)));
        MerkleLog tree(alg, store, n);
        INFO("tree of " << n << " leaves after " << b + 1 << " blocks");
        REQUIRE(tree.root().value() == merkle_root(alg, leaves));
        if (n == 0) continue;
        // For check_inclusion: the roots of the leaves as they are now at sizes n and n - 1 (it reads no other).
        std::vector<Digest> roots(n + 1);
        roots[n] = merkle_root(alg, leaves);
        roots[n - 1] = merkle_root(alg, prefix(leaves, n - 1));
        for (int q = 0; q < 4; ++q) {
          const std::uint64_t index = q == 0 && !changes.empty() ? changes.begin()->first : rng() % n;
          auto proof = tree.inclusion_proof(index, n);
          REQUIRE(proof.ok());
          CHECK(*proof == free_inclusion(alg, leaves, index, n));
          std::set<Digest> distinct(leaves.begin(), leaves.end());
          if (distinct.size() == leaves.size()) check_inclusion(alg, leaves, roots, index, n, *proof, rng, count);
        }
      }
    }
    CHECK(updates > 0);
    CHECK(count.inclusion > 100);
  }
}

TEST_CASE("merkle: changing leaves: each changed node is written once, and bad arguments are refused", "[merkle]") {
  const HashAlg alg = HashAlg::sha256;
  std::mt19937 rng(23);
  const auto leaves = random_leaves(alg, 13, rng);
  // Counts writes per node.
  class CountingStore final : public MerkleNodeStore {
   public:
    std::optional<Digest> get(std::uint32_t level, std::uint64_t index) const override { return inner.get(level, index); }
    void put(std::uint32_t level, std::uint64_t index, const Digest& hash) override {
      ++writes[{level, index}];
      inner.put(level, index, hash);
    }
    MemoryMerkleStore inner;
    std::map<std::pair<std::uint32_t, std::uint64_t>, int> writes;
  } store;
  std::map<std::uint64_t, Digest> all;
  for (std::uint64_t i = 0; i < 13; ++i) all[i] = leaves[i];
  REQUIRE(update_leaves(alg, store, 0, 13, all).ok());
  CHECK(store.writes.size() == 2 * 13 - 3);  // every complete subtree of 13 leaves, each once
  for (const auto& [node, n] : store.writes) CHECK(n == 1);
  store.writes.clear();
  auto changed = leaves;
  changed[2] = leaves[12];
  changed[3] = leaves[11];
  REQUIRE(update_leaves(alg, store, 13, 13, {{2, changed[2]}, {3, changed[3]}}).ok());
  // Leaves 2 and 3, their parent (1, 1), (2, 0) and (3, 0): leaves 8..12 are not under them.
  CHECK(store.writes == std::map<std::pair<std::uint32_t, std::uint64_t>, int>{
                            {{0, 2}, 1}, {{0, 3}, 1}, {{1, 1}, 1}, {{2, 0}, 1}, {{3, 0}, 1}});
  CHECK(MerkleLog(alg, store, 13).root().value() == merkle_root(alg, changed));
  CHECK(update_leaves(alg, store, 13, 13, {}).ok());  // nothing changes

  CHECK(update_leaves(alg, store, 13, 12, {}).error().code == "bad_size");
  CHECK(update_leaves(alg, store, 13, 14, {}).error().code == "bad_index");                 // leaf 13 not given
  CHECK(update_leaves(alg, store, 13, 14, {{14, leaves[0]}}).error().code == "bad_index");  // beyond the tree
  CHECK(update_leaves(alg, store, 13, 15, {{2, leaves[0]}, {14, leaves[0]}}).error().code == "bad_index");
  MemoryMerkleStore empty;
  CHECK(update_leaves(alg, empty, 4, 4, {{1, leaves[0]}}).error().code == "corruption");  // its sibling is missing
}
