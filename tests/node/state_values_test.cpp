// What a block's apply reads without LevelDB: the committed state values the ledger keeps (node/ledger/state_values.h)
// and the envelopes a follower parsed on admission (ForwardedEnvelopes, ledger::decode_block's `known`).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "node/ledger/state_values.h"
#include "node/node_impl.h"

namespace fs = std::filesystem;
using namespace onebill;
using node::StateValueCache;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

contracts::Envelope envelope(std::string doc, std::int64_t nonce, crypto::Bytes sig) {
  contracts::Tx tx;
  tx.type = "bill.event";
  tx.doc = std::move(doc);
  tx.signer = "crct/k1";
  tx.nonce = nonce;
  tx.ts = "2026-11-27T08:00:00Z";
  tx.body = nlohmann::json{{"event", "gate_in"}, {"leg", 0}};
  auto e = contracts::make_envelope(std::move(tx), std::move(sig), crypto::HashAlg::sha256);
  REQUIRE(e.ok());
  return *e;
}

}  // namespace

TEST_CASE("state value cache: values and absences as put, the newest kept, never more than the budget",
          "[node][state-values]") {
  StateValueCache cache(4096);  // two generations of 2,048 bytes
  CHECK(cache.find("doc/A") == nullptr);
  cache.put("doc/A", {std::string("bill A"), node::key::position(7, 2)});
  cache.put("nonce/crct/k1", {std::string("[1,2]"), ""});
  cache.put("doc/gone", {std::nullopt, ""});  // known to be absent
  REQUIRE(cache.find("doc/A") != nullptr);
  CHECK(cache.find("doc/A")->value == std::optional<std::string>("bill A"));
  CHECK(cache.find("doc/A")->position == node::key::position(7, 2));
  REQUIRE(cache.find("doc/gone") != nullptr);
  CHECK_FALSE(cache.find("doc/gone")->value.has_value());
  cache.put("doc/A", {std::string("bill A, later"), node::key::position(9, 0)});  // a later block's write wins
  CHECK(cache.find("doc/A")->value == std::optional<std::string>("bill A, later"));
  CHECK(cache.find("doc/A")->position == node::key::position(9, 0));

  // Many values pass through: the bound holds throughout, and a key used all along stays.
  const std::string value(200, 'v');
  for (int i = 0; i < 500; ++i) {
    cache.put("doc/F" + std::to_string(i), {value, ""});
    CHECK(cache.bytes() <= 4096 + 64 + 200 + 16);
    REQUIRE(cache.find("doc/A") != nullptr);  // read every time: moved to the newer generation when it ages
  }
  CHECK(cache.find("doc/A")->value == std::optional<std::string>("bill A, later"));
  CHECK(cache.find("doc/F0") == nullptr);    // pushed out long ago
  CHECK(cache.find("doc/F499") != nullptr);  // the newest
  CHECK(cache.size() < 40);
  cache.clear();
  CHECK(cache.find("doc/A") == nullptr);
  CHECK(cache.bytes() == 0);
}

TEST_CASE("cached state view: reads what the store holds, each key from the store once, with its version's position",
          "[node][state-values]") {
  TempDir dir("onebill-state-values");
  auto opened = node::Store::open(dir.path);
  REQUIRE(opened.ok());
  node::Store& store = **opened;
  namespace key = node::key;
  const std::string doc = std::string(contracts::keys::kDocument) + "OB-1";
  const std::string window = contracts::keys::nonce("crct/k1");
  const std::string pos = key::position(4, 1);
  {
    leveldb::WriteBatch b;  // as a block writes them: the document as a version, its s/ key naming it
    b.Put(key::version(pos, doc), "{\"bill\":1}");
    b.Put(key::state(doc), pos);
    b.Put(key::state(window), "[3]");
    REQUIRE(store.write_in_key_order(b, false).ok());
  }
  StateValueCache cache;
  {
    node::StoreStateView view(store, nullptr, true, &cache);
    for (const auto& k : {doc, window, std::string("doc/none")}) {
      auto direct = store.get_state(k);
      auto through = view.get(k);
      REQUIRE(direct.ok());
      REQUIRE(through.ok());
      CHECK(*through == *direct);
    }
    REQUIRE(view.version_of(doc) != nullptr);
    CHECK(*view.version_of(doc) == pos);
    CHECK(view.version_of(window) == nullptr);
  }
  CHECK(cache.size() == 3);  // the absent key too
  // The cache answers from now on, without the store (which the ledger never changes behind its back: it puts each
  // block's writes once the block is written, and a snapshot install clears the cache).
  {
    leveldb::WriteBatch b;
    b.Delete(key::state(doc));
    b.Put(key::state("doc/none"), "surprise");
    REQUIRE(store.write_in_key_order(b, false).ok());
  }
  node::StoreStateView again(store, nullptr, true, &cache);
  auto cached = again.get(doc);
  REQUIRE(cached.ok());
  CHECK(*cached == std::optional<std::string>("{\"bill\":1}"));
  REQUIRE(again.version_of(doc) != nullptr);  // the read set refers to the version even when read from the cache
  CHECK(*again.version_of(doc) == pos);
  auto none = again.get("doc/none");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("block decoding takes a follower's own parsed envelope only for the very same signed bytes and signature",
          "[node][format][state-values]") {
  const auto alg = crypto::HashAlg::sha256;
  ledger::BlockProposal b{1795600805123, "n2", {envelope("OB-1", 7, {1, 2, 3}), envelope("OB-2", 8, {4, 5})}};
  const std::string bytes = ledger::encode_block(b);

  node::ForwardedEnvelopes held;
  held.put(envelope("OB-2", 8, {4, 5}));          // the second entry, as admitted here
  held.put(envelope("OB-1", 99, {1, 2, 3}));      // another tx under the first entry's signature: never taken for it
  held.put(envelope("OB-1", 99, {1, 2, 3}));      // the same again: kept once
  CHECK(held.size() == 2);
  std::vector<std::string> asked;
  const ledger::KnownEnvelopes known = [&](std::string_view tx, std::string_view sig) {
    asked.emplace_back(sig);
    return held.take(tx, sig);
  };
  auto decoded = ledger::decode_block(bytes, alg, &known);
  REQUIRE(decoded.ok());
  CHECK(asked.size() == 2);
  auto plain = ledger::decode_block(bytes, alg);
  REQUIRE(plain.ok());
  REQUIRE(decoded->entries.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(decoded->entries[i].id == plain->entries[i].id);
    CHECK(decoded->entries[i].canonical_tx == plain->entries[i].canonical_tx);
    CHECK(decoded->entries[i].sig == plain->entries[i].sig);
    CHECK(decoded->entries[i].tx.body == plain->entries[i].tx.body);
    CHECK(decoded->entries[i].tx.nonce == plain->entries[i].tx.nonce);
  }
  CHECK(held.size() == 1);  // OB-2's was taken; the mismatched one stays (until pushed out)
  CHECK_FALSE(held.take(b.entries[1].canonical_tx, "\x04\x05").has_value());  // taken once only

  // Bounded: the oldest are dropped.
  node::ForwardedEnvelopes many;
  for (std::size_t i = 0; i < node::ForwardedEnvelopes::kMaxForwardedKept + 10; ++i) {
    many.put(envelope("OB-" + std::to_string(i), static_cast<std::int64_t>(i),
                      {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i >> 8), 9}));
  }
  CHECK(many.size() == node::ForwardedEnvelopes::kMaxForwardedKept);
  const auto first = envelope("OB-0", 0, {0, 0, 9});
  CHECK_FALSE(many.take(first.canonical_tx, std::string("\x00\x00\x09", 3)).has_value());
  const auto last_i = node::ForwardedEnvelopes::kMaxForwardedKept + 9;
  const auto last = envelope("OB-" + std::to_string(last_i), static_cast<std::int64_t>(last_i),
                             {static_cast<std::uint8_t>(last_i), static_cast<std::uint8_t>(last_i >> 8), 9});
  CHECK(many.take(last.canonical_tx, std::string(last.sig.begin(), last.sig.end())).has_value());

  // And by their bytes.
  node::ForwardedEnvelopes big;
  for (std::uint8_t i = 0; i < 100; ++i) {
    auto e = envelope("OB-B" + std::to_string(i), i, {i, 7});
    e.canonical_tx.append(std::size_t{100} << 10, ' ');  // as if 100 KiB were signed (never decoded here)
    big.put(std::move(e));
    CHECK(big.bytes() <= node::ForwardedEnvelopes::kMaxForwardedBytes);
  }
  CHECK(big.size() < 100);
  CHECK(big.size() > 50);
}
