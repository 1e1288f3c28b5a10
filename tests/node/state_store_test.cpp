// The document state tree in LevelDB (node/ledger/state_store.h): after every block of random document writes, the
// root equals a reference computed from all the documents' leaves, every proof verifies; and the tree read at an
// earlier height through the undo records gives the root and the proofs computed at that height, until the
// records are pruned kStateUndoBlocks later.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <ctime>
#include <string>
#include <unistd.h>
#include <vector>

#include "crypto/merkle.h"
#include "node/ledger/state_store.h"
#include "node/ledger/state_tree.h"
#include "node/store.h"

using namespace onebill;
using node::key::be64;

namespace {

constexpr auto kAlg = crypto::HashAlg::sha256;

struct TempStore {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("onebill-state-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::unique_ptr<node::Store> store;
  TempStore() {
    std::filesystem::remove_all(dir);
    auto s = node::Store::open(dir);
    REQUIRE(s.ok());
    store = std::move(*s);
  }
  ~TempStore() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  static inline int counter = 0;
};

// The reference: the documents in creation order with their current values.
struct Reference {
  std::vector<std::string> order;               // documents by leaf index
  std::map<std::string, std::string> values;    // document -> stored bytes
  std::vector<crypto::Digest> leaves() const {
    std::vector<crypto::Digest> out;
    for (const auto& d : order) out.push_back(ledger::state_leaf_of(kAlg, d, values.at(d)));
    return out;
  }
};

std::size_t count_prefix(const node::Store& store, std::string_view prefix) {
  std::size_t n = 0;
  REQUIRE(store.scan(prefix, "", SIZE_MAX, [&](std::string_view, std::string_view) { return ++n, true; }).ok());
  return n;
}

// Applies one block of writes: the tree's update in the block's batch, as Ledger::apply does.
// With `cache`, as the Ledger does: its upper levels from memory, loaded on first use and kept after each block.
crypto::Digest apply_block(node::Store& store, const contracts::WriteSet& writes, std::uint64_t& size, std::int64_t height,
                           node::StateTreeCache* cache = nullptr) {
  if (cache != nullptr && !cache->loaded()) REQUIRE(cache->load(store, size).ok());
  node::StateTreeUpdate update(store, kAlg, size, height, cache);
  REQUIRE(update.apply(writes).ok());
  leveldb::WriteBatch batch;
  REQUIRE(update.stage_into(batch).ok());
  REQUIRE(store.write(batch, false).ok());
  if (cache != nullptr) update.commit_to(*cache);
  size = update.size();
  return update.root();
}

}  // namespace

TEST_CASE("state tree: the root after every block is the reference root of all documents, proofs verify",
          "[node][state]") {
  TempStore t;
  std::mt19937 rng(41);
  Reference ref;
  std::uint64_t size = 0;
  int version = 0;
  node::StateTreeCache cache;  // as the Ledger keeps it; forgotten now and then (a snapshot install does that)
  for (std::int64_t height = 1; height <= 120; ++height) {
    if (height % 17 == 0) cache.reset();
    contracts::WriteSet writes;
    // New documents (ids not in key order of creation, so the key-order rule inside a block shows), changed
    // ones, and keys that are not documents (which the tree ignores).
    const int created = static_cast<int>(rng() % 5);
    std::vector<std::string> fresh;
    for (int k = 0; k < created; ++k) {
      std::string id = "D-" + std::to_string(rng() % 100000) + "-" + std::to_string(height);
      if (ref.values.count(id) != 0) continue;
      writes["doc/" + id] = "{\"v\":" + std::to_string(++version) + "}";
      fresh.push_back(id);
    }
    std::sort(fresh.begin(), fresh.end());
    const int changed = ref.order.empty() ? 0 : static_cast<int>(rng() % 6);
    for (int k = 0; k < changed; ++k) {
      const std::string& id = ref.order[rng() % ref.order.size()];
      writes["doc/" + id] = "{\"v\":" + std::to_string(++version) + "}";
    }
    writes["nonce/crct/k1"] = "{}";
    writes["idx/pledge/X"] = std::nullopt;
    for (const auto& id : fresh) ref.order.push_back(id);
    for (const auto& [k, v] : writes) {
      if (k.starts_with("doc/")) ref.values[k.substr(4)] = *v;
    }
    const crypto::Digest root = apply_block(*t.store, writes, size, height, &cache);
    INFO("height " << height << ", " << size << " documents");
    REQUIRE(size == ref.order.size());
    const auto leaves = ref.leaves();
    REQUIRE(root == crypto::merkle_root(kAlg, leaves));
    if (size == 0) continue;
    node::StoreSnapshot snap(*t.store);
    for (int q = 0; q < 3; ++q) {
      const std::uint64_t i = rng() % size;
      auto p = node::state_proof_at(*t.store, snap.get(), kAlg, ref.order[i], height, size, height);
      REQUIRE(p.ok());
      REQUIRE(p->has_value());
      CHECK((*p)->index == i);
      CHECK((*p)->size == size);
      CHECK(crypto::verify_inclusion(kAlg, leaves[i], i, size, (*p)->path, root));
      CHECK((*p)->path == crypto::inclusion_proof(kAlg, leaves, i).value());
    }
    auto none = node::state_proof_at(*t.store, snap.get(), kAlg, "NEVER-WRITTEN", height, size, height);
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
  }
  // Exactly the complete subtrees, one index per document; the cache kept across blocks is what a load reads.
  CHECK(count_prefix(*t.store, "d/n/") == 2 * size - static_cast<std::uint64_t>(std::popcount(size)));
  CHECK(count_prefix(*t.store, "d/i/") == size);
  REQUIRE(size >= 64);
  node::StateTreeCache fresh;
  REQUIRE(fresh.load(*t.store, size).ok());
  for (std::uint32_t level = node::StateTreeCache::kLowestLevel; (size >> level) > 0; ++level) {
    for (std::uint64_t i = 0; i <= (size >> level); ++i) CHECK(fresh.get(level, i) == cache.get(level, i));
  }
  // A cache of another size's tree does not load.
  node::StateTreeCache wrong;
  CHECK(wrong.load(*t.store, size * 2).error().code == "corrupt_state");
  CHECK_FALSE(wrong.loaded());
}

TEST_CASE("state tree: proofs at an earlier height, through the undo records, are the proofs computed then",
          "[node][state]") {
  TempStore t;
  std::mt19937 rng(42);
  Reference ref;
  std::uint64_t size = 0;
  int version = 0;
  // The reference at every height: the leaves, the root and the documents' order then.
  std::map<std::int64_t, std::vector<crypto::Digest>> leaves_at;
  std::map<std::int64_t, std::vector<std::string>> order_at;
  std::map<std::int64_t, crypto::Digest> root_at;
  const std::int64_t blocks = node::kStateUndoBlocks + 60;
  for (std::int64_t height = 1; height <= blocks; ++height) {
    contracts::WriteSet writes;
    if (ref.order.size() < 40 || rng() % 8 == 0) {
      const std::string id = "D-" + std::to_string(height);
      writes["doc/" + id] = "{\"v\":" + std::to_string(++version) + "}";
      ref.order.push_back(id);
    }
    for (int k = static_cast<int>(rng() % 4); k > 0 && !ref.order.empty(); --k) {
      writes["doc/" + ref.order[rng() % ref.order.size()]] = "{\"v\":" + std::to_string(++version) + "}";
    }
    for (const auto& [k, v] : writes) ref.values[k.substr(4)] = *v;
    root_at[height] = apply_block(*t.store, writes, size, height);
    leaves_at[height] = ref.leaves();
    order_at[height] = ref.order;
    REQUIRE(root_at[height] == crypto::merkle_root(kAlg, leaves_at[height]));

    // Heights the certified head may be at: one or two below, and any within the retention.
    if (height % 97 != 0 && height != blocks && height > 3) continue;
    node::StoreSnapshot snap(*t.store);
    for (std::int64_t past : {height, height - 1, height - 2, height - 1 - static_cast<std::int64_t>(rng() % 200),
                              std::max<std::int64_t>(1, height - node::kStateUndoBlocks)}) {
      if (past < 1) continue;
      INFO("applied " << height << ", proving at " << past);
      const auto& leaves = leaves_at.at(past);
      const std::uint64_t n = leaves.size();
      node::StateTreeAt nodes(*t.store, snap.get(), past);
      CHECK(crypto::MerkleLog(kAlg, nodes, n).root().value() == root_at.at(past));
      node::StateTreeAt searched(*t.store, snap.get(), past, /*max_cached=*/0);  // the records searched per node
      CHECK(crypto::MerkleLog(kAlg, searched, n).root().value() == root_at.at(past));
      // Proofs through one tree read once (as a bundle reads its documents' proofs), through one that searches the
      // records at each node, and on their own.
      node::StateTreeAt shared(*t.store, snap.get(), past);
      for (int q = 0; q < 4; ++q) {
        const std::uint64_t i = rng() % n;
        auto p = node::state_proof_at(*t.store, snap.get(), kAlg, order_at.at(past)[i], past, n, height,
                                      q % 3 == 0 ? &shared : q % 3 == 1 ? &searched : nullptr);
        REQUIRE(p.ok());
        REQUIRE(p->has_value());
        CHECK((*p)->path == crypto::inclusion_proof(kAlg, leaves, i).value());
        CHECK(crypto::verify_inclusion(kAlg, leaves[i], i, n, (*p)->path, root_at.at(past)));
      }
      // A document created after that height has no state there.
      if (ref.order.size() > n) {
        auto later = node::state_proof_at(*t.store, snap.get(), kAlg, ref.order.back(), past, n, height);
        REQUIRE(later.ok());
        CHECK_FALSE(later->has_value());
      }
    }
  }
  // Beyond the retention: refused, and the undo records of those heights are gone.
  node::StoreSnapshot snap(*t.store);
  auto old = node::state_proof_at(*t.store, snap.get(), kAlg, "D-1", blocks - node::kStateUndoBlocks - 1, 40, blocks);
  REQUIRE_FALSE(old.ok());
  CHECK(old.error().code == "state_unavailable");
  std::int64_t lowest = blocks;
  REQUIRE(t.store->scan("d/h/", "", SIZE_MAX, [&](std::string_view k, std::string_view) {
    lowest = std::min(lowest, static_cast<std::int64_t>(node::key::read_be64(k.substr(4))));
    return true;
  }).ok());
  CHECK(lowest > blocks - node::kStateUndoBlocks);
  std::size_t undone = 0;
  REQUIRE(t.store->scan("d/h/", "", SIZE_MAX, [&](std::string_view, std::string_view v) {
    CHECK(v.size() % node::kUndoItemSize == 0);
    undone += v.size() / node::kUndoItemSize;
    return true;
  }).ok());
  CHECK(undone > 0);
  CHECK(count_prefix(*t.store, "d/") ==
        count_prefix(*t.store, "d/n/") + count_prefix(*t.store, "d/i/") + count_prefix(*t.store, "d/h/"));
}

// Not run by default (`node_tests "[.state-bench]"`): the tree's cost per block on a ledger of 100,000 documents,
// for blocks that change 500 documents (400 existing, chosen at random, and 100 new).
TEST_CASE("state tree: cost per block", "[.state-bench]") {
  TempStore t;
  std::mt19937 rng(43);
  std::uint64_t size = 0;
  std::int64_t height = 0;
  const std::string value(1500, 'v');  // about a bill's size
  for (int b = 0; b < 100; ++b) {
    contracts::WriteSet writes;
    for (int k = 0; k < 1000; ++k) writes["doc/D-" + std::to_string(size + static_cast<std::uint64_t>(k))] = value;
    apply_block(*t.store, writes, size, ++height);
  }
  node::StateTreeCache cache;
  REQUIRE(cache.load(*t.store, size).ok());
  // CPU time of this thread (the machine may be shared: wall time would count the others).
  struct clock {
    using duration = std::chrono::nanoseconds;
    static std::chrono::time_point<clock, duration> now() {
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return std::chrono::time_point<clock, duration>(duration(std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec));
    }
  };
  clock::duration tree{}, write{};
  const int blocks = 100;
  for (int b = 0; b < blocks; ++b) {
    contracts::WriteSet writes;
    for (int k = 0; k < 400; ++k) writes["doc/D-" + std::to_string(rng() % 100000)] = value + std::to_string(b);
    for (int k = 0; k < 100; ++k) writes["doc/N-" + std::to_string(b) + "-" + std::to_string(k)] = value;
    const auto t0 = clock::now();
    node::StateTreeUpdate update(*t.store, kAlg, size, ++height, &cache);
    REQUIRE(update.apply(writes).ok());
    leveldb::WriteBatch batch;
    REQUIRE(update.stage_into(batch).ok());
    const auto t1 = clock::now();
    REQUIRE(t.store->write(batch, false).ok());
    update.commit_to(cache);
    tree += t1 - t0;
    write += clock::now() - t1;
    size = update.size();
  }
  const auto us = [&](clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / blocks; };
  WARN("per block of 500 document writes on " << size << " documents, CPU time: tree update " << us(tree)
       << " us, its share of the batch write " << us(write) << " us");
}
