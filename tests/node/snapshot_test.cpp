// State snapshots without a network (node/snapshot.h, docs/storage.md §6): a snapshot built from one node's
// database is checked and installed into another database that is behind; snapshots a lying leader could send
// are refused with the old state intact; and a crash at every step of the install (FaultInjectionEnv drops what
// was not synced) leaves, after a restart, either the old state or the whole new one — never a mix.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <unistd.h>

#include "consensus/storage/leveldb_storage.h"
#include "contracts/membership.h"
#include "node/config.h"
#include "node/ledger/format.h"
#include "node/ledger/state_tree.h"
#include "node/node.h"
#include "node/node_impl.h"
#include "node/snapshot.h"
#include "node/store.h"
#include "tests/support/fault_env.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;
namespace fs = std::filesystem;
using Records = std::vector<std::pair<std::string, std::string>>;

namespace {

// The ledger records of a database: every key except the Raft log, attestations and node-local x/ records (what
// a snapshot must carry, whatever the content format says).
std::map<std::string, std::string> ledger_records(const node::Store& store) {
  std::map<std::string, std::string> out;
  // Both of the store's databases (the state's and the archive), keys as the layout names them.
  REQUIRE(store.scan("", "", SIZE_MAX, [&](std::string_view key, std::string_view value) {
    std::string k(key);
    if (k.starts_with("r/") || k.starts_with("a/") || (k.starts_with("x/") && k != "x/applied")) return true;
    out[k] = std::string(value);
    return true;
  }).ok());
  return out;
}

std::map<std::string, std::string> ledger_records(const fs::path& db) {
  auto s = node::Store::open(db);
  REQUIRE(s.ok());
  return ledger_records(**s);
}

consensus::ConfState genesis_conf(const contracts::Membership& m) {
  consensus::ConfState c;
  for (const auto& [id, n] : m.nodes()) (n.voter ? c.voters : c.learners).push_back(node::raft_id(id));
  std::sort(c.voters.begin(), c.voters.end());
  std::sort(c.learners.begin(), c.learners.end());
  return c;
}

// A one-voter network run in this process: `first` entries applied and its database copied (the "old" state a
// node that fell behind has), then `more` entries. Built once for all the tests here.
struct Source {
  testing::TestNet net{fs::temp_directory_path() / ("onebill-snapshot-" + std::to_string(::getpid())), 1, 0,
                       crypto::SigAlg::ecdsa_p256, json{{"snapshot_interval", 0}}};
  fs::path db;      // the node's database after every entry
  fs::path old_db;  // a copy taken after the first entries
  std::string genesis_hash;
  contracts::Membership membership;
  node::SnapshotTrust trust;
  std::int64_t top = 0;  // the last block's height

  Source() : membership(*contracts::Membership::from_genesis(genesis_text())) {
    auto config = node::load_config(net.nodes()[0].config);
    REQUIRE(config.ok());
    db = config->data_dir / "db";
    old_db = net.dir() / "old-db";
    run(*config, 0, 2);
    fs::copy(db, old_db, fs::copy_options::recursive);
    run(*config, 2, 5);
    auto g = ledger::genesis_hash(genesis_text(), membership.hash_alg());
    REQUIRE(g.ok());
    genesis_hash = *g;
    trust = node::SnapshotTrust{genesis_hash, membership.network(), membership.hash_alg(), membership, std::nullopt};
  }
  ~Source() { fs::remove_all(net.dir()); }

  std::string genesis_text() const {
    std::ifstream in(net.genesis_path(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  void run(const node::NodeConfig& config, int from, int to) {
    node::Logger log(node::LogLevel::error);
    auto n = node::Node::create(config, log);
    REQUIRE(n.ok());
    REQUIRE((*n)->start().ok());
    auto call = [&](const std::string& method, const std::string& target, const std::string& body) {
      node::http::Request req(boost::beast::http::string_to_verb(method), target, 11);
      req.set(boost::beast::http::field::authorization, "Bearer " + testing::TestNet::token("crct"));
      req.body() = body;
      req.prepare_payload();
      return (*n)->call(std::move(req));
    };
    for (int i = 0; i < 100 && call("GET", "/readyz", "").response.result_int() != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int i = from; i < to; ++i) {
      json env = net.envelope("crct", "bill.issue", "OB-SN" + std::to_string(i), testing::bill(testing::container(500 + i)));
      if (i != 3) {  // one block each
        auto r = call("POST", "/v1/transactions", env.dump());
        REQUIRE(r.response.result_int() == 200);
        json a = json::parse(r.response.body());
        REQUIRE(a["status"] == "accepted");
        top = std::max(top, a["height"].get<std::int64_t>());
        continue;
      }
      // One bill, after the old state was copied, has leg events (stored apart from it, s/evt/…, chained by it).
      // Submitted as one batch: they take one to three blocks, so the tests read the last height from `top`.
      json entries = json::array({env});
      for (const char* ev : {"loaded", "departed"}) {
        entries.push_back(net.envelope("hmm", "bill.event", "OB-SN" + std::to_string(i),
                                       testing::sample_event_body(0, ev, "KRPUS", {testing::container(500 + i)})));
      }
      auto r = call("POST", "/v1/transactions/batch", json{{"entries", entries}}.dump());
      REQUIRE(r.response.result_int() == 200);
      const json answers = json::parse(r.response.body());
      for (const auto& a : answers["results"]) {
        REQUIRE(a["status"] == "accepted");
        top = std::max(top, a["height"].get<std::int64_t>());
      }
    }
    // The single voter attests each block right after applying it; give the last attestation time to be stored.
    for (int i = 0; i < 100; ++i) {
      auto head = json::parse(call("GET", "/v1/log/head", "").response.body(), nullptr, false);
      if (head.is_object() && head.value("height", 0) == top) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    (*n)->stop();
  }
};

Source& source() {
  static Source s;
  return s;
}

// A snapshot of the source's database with its certificate at `certified_top` or below, and its content.
struct Built {
  node::SnapshotManifest manifest;
  Records records;
  consensus::Term term = 0;
};

Built build(std::int64_t certified_top) {
  Source& src = source();
  auto store = node::Store::open(src.db);
  REQUIRE(store.ok());
  auto cert = node::load_certified_head(**store, src.membership, src.membership.network(), src.membership.hash_alg(),
                                        certified_top, 1000);
  REQUIRE(cert.ok());
  REQUIRE(cert->has_value());
  auto snap = node::SnapshotSource::build(**store, src.genesis_hash, *cert);
  REQUIRE(snap.ok());
  Built b;
  b.manifest = (*snap)->manifest();
  std::string after;
  for (int i = 0; i < 100000; ++i) {
    auto chunk = (*snap)->read(after, 300);  // small chunks: many requests, records never split
    REQUIRE(chunk.ok());
    std::string_view in = chunk->records;
    while (!in.empty()) {
      std::uint32_t klen = 0, vlen = 0;
      for (int k = 3; k >= 0; --k) klen = (klen << 8) | static_cast<std::uint8_t>(in[static_cast<std::size_t>(k)]);
      std::string key(in.substr(4, klen));
      for (int k = 3; k >= 0; --k) vlen = (vlen << 8) | static_cast<std::uint8_t>(in[4 + klen + static_cast<std::size_t>(k)]);
      b.records.emplace_back(key, std::string(in.substr(8 + klen, vlen)));
      in.remove_prefix(8 + klen + vlen);
    }
    if (chunk->done) break;
    after = chunk->last_key;
  }
  auto raft = consensus::LevelDbStorage::open((*store)->raft_db(), "r/", genesis_conf(src.membership));
  REQUIRE(raft.ok());
  auto term = (*raft)->term(b.manifest.point.raft_index);
  REQUIRE(term.ok());
  b.term = *term;
  return b;
}

// Makes the manifest describe `records` again (a forger who controls both).
void reseal(node::SnapshotManifest& m, const Records& records) {
  crypto::Hasher h(crypto::HashAlg::sha256);
  m.records = records.size();
  m.bytes = 0;
  for (const auto& [k, v] : records) {
    std::string rec;
    node::append_snapshot_record(rec, k, v);
    h.update(rec);
    m.bytes += rec.size();
  }
  m.content_hash = crypto::hex(h.finish());
}

std::string& value_of(Records& records, const std::string& key) {
  for (auto& [k, v] : records) {
    if (k == key) return v;
  }
  FAIL("no record " << key);
  static std::string none;
  return none;
}

// The key of a document's current version in a snapshot's records (s/doc/{id} names it; storage.md §1.3).
std::string current_version(Records& records, const std::string& id) {
  return node::key::version(value_of(records, node::key::state("doc/" + id)), "doc/" + id);
}

// `b` without the record `key`, or with one more record, resealed (a consistent stream the checks must refuse).
Built without(Built b, const std::string& key) {
  REQUIRE(std::erase_if(b.records, [&](const auto& r) { return r.first == key; }) == 1);
  reseal(b.manifest, b.records);
  return b;
}
Built with_record(Built b, const std::string& key, const std::string& value) {
  b.records.insert(std::lower_bound(b.records.begin(), b.records.end(), std::make_pair(key, std::string())), {key, value});
  reseal(b.manifest, b.records);
  return b;
}

// Rewrites the block header at `height` with `edit`, then re-links every later block and x/applied and reseals:
// a consistent forgery of the chain, which only the checks against trust anchors can catch.
void forge_header(Built& b, std::int64_t height, const std::function<void(json&)>& edit) {
  crypto::HashAlg alg = source().membership.hash_alg();
  std::string prev;
  for (std::int64_t h = height; h <= b.manifest.point.height; ++h) {
    std::string& v = value_of(b.records, node::key::block(static_cast<std::uint64_t>(h)));
    json rec = json::parse(v);
    if (h == height) edit(rec["header"]);
    if (h > height) rec["header"]["prev"] = prev;
    auto header = ledger::BlockHeader::from_json(rec["header"]);
    REQUIRE(header.ok());
    prev = header->hash_hex(alg);
    rec["hash"] = prev;
    v = rec.dump();
  }
  b.manifest.point.header_hash = prev;
  value_of(b.records, "x/applied") = b.manifest.point.to_json().dump();
  reseal(b.manifest, b.records);
}

std::string stream(const Records& records) {
  std::string out;
  for (const auto& [k, v] : records) node::append_snapshot_record(out, k, v);
  return out;
}

// Receives `b` into `staging` through `env`: Status of create, add or finish, whichever failed first.
Status receive(const Built& b, leveldb::Env* env, const fs::path& staging) {
  auto r = node::SnapshotReceiver::create(env, staging.string(), b.manifest, source().trust);
  if (!r) return r.error();
  // Two records per chunk.
  for (std::size_t i = 0; i < b.records.size(); i += 2) {
    Records part(b.records.begin() + static_cast<std::ptrdiff_t>(i),
                 b.records.begin() + static_cast<std::ptrdiff_t>(std::min(i + 2, b.records.size())));
    if (Status s = (*r)->add(stream(part)); !s) return s;
  }
  return (*r)->finish();
}

consensus::Ready ready_for(const Built& b) {
  consensus::Ready rd;
  consensus::Snapshot snap;
  snap.meta.index = b.manifest.point.raft_index;
  snap.meta.term = b.term;
  snap.meta.conf_state = genesis_conf(source().membership);
  std::string text = b.manifest.encode();
  snap.data.assign(text.begin(), text.end());
  rd.snapshot = std::move(snap);
  rd.hard_state = consensus::HardState{b.term, 0, b.manifest.point.raft_index};
  rd.must_sync = true;
  return rd;
}

// A fresh copy of the old database to install into.
struct Target {
  fs::path dir;
  fs::path db;
  fs::path staging;
  explicit Target(const std::string& name)
      : dir(source().net.dir() / ("target-" + name)), db(dir / "db"), staging(dir / "snapshot.incoming") {
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy(source().old_db, db, fs::copy_options::recursive);
  }
  ~Target() { fs::remove_all(dir); }
};

// What a restart does with a database: Node::create resumes an interrupted install, opens the ledger and
// re-creates the Raft core with invariant checks on.
void restart(const fs::path& dir) {
  auto config = node::load_config(source().net.nodes()[0].config);
  REQUIRE(config.ok());
  config->data_dir = dir;
  node::Logger log(node::LogLevel::error);
  auto n = node::Node::create(*config, log);
  REQUIRE(n.ok());
}

}  // namespace

TEST_CASE("snapshot: built from one database and installed into one behind, it carries every ledger record", "[node][snapshot]") {
  Built b = build(2);  // certified at height 2, applied at the top (5 to 7): a chain of headers to check
  CHECK(b.manifest.certified_height == 2);
  CHECK(b.manifest.point.height == source().top);
  CHECK(b.manifest.point.height >= 5);
  Target t("install");
  REQUIRE(receive(b, leveldb::Env::Default(), t.staging).ok());
  {
    auto store = node::Store::open(t.db);
    REQUIRE(store.ok());
    auto raft = consensus::LevelDbStorage::open((*store)->raft_db(), "r/", genesis_conf(source().membership));
    REQUIRE(raft.ok());
    REQUIRE(node::install_snapshot(**store, **raft, t.staging.string(), b.manifest, ready_for(b)).ok());
    CHECK((*raft)->snapshot_meta().index == b.manifest.point.raft_index);
    CHECK_FALSE((*store)->get(node::key::kInstalling)->has_value());
    // The manifest's attestations are stored, so the certified head survives.
    CHECK((*store)->get(node::key::attestation(2, "n1"))->has_value());
  }
  CHECK_FALSE(fs::exists(t.staging));
  CHECK(ledger_records(t.db) == ledger_records(source().db));
  restart(t.dir);
}

TEST_CASE("snapshot: taken in two steps (the pass over the content on another thread), as build() takes it",
          "[node][snapshot]") {
  Source& src = source();
  auto store = node::Store::open(src.db);
  REQUIRE(store.ok());
  auto cert = node::load_certified_head(**store, src.membership, src.membership.network(), src.membership.hash_alg(),
                                        2, 1000);
  REQUIRE(cert.ok());
  REQUIRE(cert->has_value());
  auto whole = node::SnapshotSource::build(**store, src.genesis_hash, *cert);
  REQUIRE(whole.ok());
  // The LevelDB snapshot is what counts: a write after open() is not in the content hashed later.
  auto opened = node::SnapshotSource::open(**store);
  leveldb::WriteBatch later;
  later.Put("s/doc/ZZ-AFTER-OPEN", node::key::position(1, 0));
  REQUIRE((*store)->write(later, false).ok());
  Status hashed;
  std::thread other([&] { hashed = opened->hash(src.genesis_hash, *cert); });
  other.join();
  REQUIRE(hashed.ok());
  CHECK(opened->manifest().encode() == (*whole)->manifest().encode());
  // A stopping node cancels a pass under way.
  std::atomic<bool> cancel{true};
  auto cancelled = node::SnapshotSource::open(**store);
  Status s = cancelled->hash(src.genesis_hash, *cert, &cancel);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "cancelled");
  leveldb::WriteBatch undo;
  undo.Delete("s/doc/ZZ-AFTER-OPEN");
  REQUIRE((*store)->write(undo, false).ok());
}

TEST_CASE("snapshot: a bad snapshot is refused and the old state stays as it was", "[node][snapshot]") {
  Target t("refuse");
  auto old = ledger_records(t.db);
  REQUIRE(old != ledger_records(source().db));
  auto refused = [&](Built b, const std::string& why) {
    INFO(why);
    Status s = receive(b, leveldb::Env::Default(), t.staging);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "bad_snapshot");
    CHECK(s.error().message.find(why) != std::string::npos);
    CHECK(ledger_records(t.db) == old);
  };
  SECTION("content that does not hash to the manifest") {
    Built b = build(2);
    std::string& doc = value_of(b.records, node::key::state("doc/OB-SN3"));  // a position: its entry index's last byte
    doc.back() = static_cast<char>(doc.back() ^ 1);
    refused(b, "does not hash");
  }
  SECTION("keys out of order") {
    Built b = build(2);
    std::swap(b.records[3], b.records[4]);
    reseal(b.manifest, b.records);
    refused(b, "increasing order");
  }
  SECTION("a key that is not ledger state") {
    Built b = build(2);
    b.records.insert(b.records.begin(), {"a/forged", "{}"});
    reseal(b.manifest, b.records);
    refused(b, "outside the ledger state");
  }
  SECTION("x/applied that is not the manifest's") {
    Built b = build(2);
    json applied = json::parse(value_of(b.records, "x/applied"));
    applied["time"] = applied["time"].get<std::int64_t>() + 1;
    value_of(b.records, "x/applied") = applied.dump();
    reseal(b.manifest, b.records);
    refused(b, "x/applied differs");
  }
  SECTION("a certified header without a quorum of valid attestations") {
    Built none = build(2);
    none.manifest.attestations.clear();
    refused(none, "valid attestations");
    Built forged = build(2);
    REQUIRE_FALSE(forged.manifest.attestations.empty());
    std::string& sig = forged.manifest.attestations[0].sig;
    sig[sig.size() / 2] = sig[sig.size() / 2] == 'A' ? 'B' : 'A';
    refused(forged, "valid attestations");
    Built other = build(2);
    other.manifest.attestations[0].node = "l9";  // not a voter
    refused(other, "valid attestations");
  }
  SECTION("a header chain whose prev links are broken") {
    Built b = build(2);
    std::string& v = value_of(b.records, node::key::block(3));
    json rec = json::parse(v);
    rec["header"]["prev"] = std::string(64, '0');
    auto header = ledger::BlockHeader::from_json(rec["header"]);
    REQUIRE(header.ok());
    rec["hash"] = header->hash_hex(source().membership.hash_alg());
    v = rec.dump();
    reseal(b.manifest, b.records);
    refused(b, "does not link");
  }
  SECTION("a certified hash that is not the chain's") {
    Built b = build(2);
    forge_header(b, 2, [](json& h) { h["time"] = h["time"].get<std::int64_t>() + 1; });
    refused(b, "certified hash");
  }
  SECTION("a membership that is not the header's") {
    Built b = build(2);
    forge_header(b, source().top, [](json& h) { h["membership_hash"] = std::string(64, 'a'); });
    refused(b, "membership");
  }
  SECTION("a Merkle log that is not the header's log root") {
    Built b = build(2);
    forge_header(b, source().top, [](json& h) { h["log_root"] = std::string(64, 'b'); });
    refused(b, "log_root");
    Built node = build(2);
    // Log size 7 (five issues, two events): the root reads the subtrees (2, 0), (1, 2) and (0, 6).
    REQUIRE(node.manifest.point.log_size == 7);
    std::string& v = value_of(node.records, node::key::merkle(2, 0));
    v[0] = static_cast<char>(v[0] ^ 1);
    reseal(node.manifest, node.records);
    refused(node, "transparency log nodes are not the tree of its accepted entries");
  }
  SECTION("a forged document state (storage.md §6: document states are committed by the state root)") {
    // The bill's holder changed, the snapshot otherwise consistent: its state tree no longer matches it.
    Built b = build(2);
    std::string& doc = value_of(b.records, current_version(b.records, "OB-SN3"));
    const std::size_t at = doc.find("\"holder\":\"");
    REQUIRE(at != std::string::npos);
    doc.insert(at + 10, "x");
    reseal(b.manifest, b.records);
    refused(b, "not the tree of its documents");
    // A forger who rebuilds the state tree from the forged documents: its root is not the certified header's.
    const auto alg = source().membership.hash_alg();
    std::map<std::string, std::uint64_t> index;
    std::vector<crypto::Digest> level(b.manifest.point.state_size);
    for (const auto& [k, v] : b.records) {
      if (k.starts_with("d/i/")) index[k.substr(4)] = node::key::read_be64(v);
    }
    for (const auto& [id, i] : index) {
      level.at(i) = ledger::state_leaf_of(alg, id, value_of(b.records, current_version(b.records, id)));
    }
    std::map<std::string, std::string> nodes;
    for (std::uint32_t l = 0; !level.empty(); ++l) {
      for (std::uint64_t i = 0; i < level.size(); ++i) {
        nodes[node::key::state_node(l, i)] = std::string(reinterpret_cast<const char*>(level[i].data()), level[i].size());
      }
      std::vector<crypto::Digest> up(level.size() / 2);
      for (std::size_t i = 0; i < up.size(); ++i) up[i] = crypto::node_hash(alg, level[2 * i], level[2 * i + 1]);
      level = std::move(up);
    }
    std::size_t replaced = 0;
    for (auto& [k, v] : b.records) {
      if (auto it = nodes.find(k); it != nodes.end()) v = it->second, ++replaced;
    }
    REQUIRE(replaced == nodes.size());
    reseal(b.manifest, b.records);
    refused(b, "state_root");
  }
  SECTION("a forged bill whose kind is not a string (read before the tree check, so it must not throw)") {
    Built b = build(2);
    std::string& doc = value_of(b.records, current_version(b.records, "OB-SN3"));
    const std::size_t at = doc.find("\"kind\":\"bill\"");
    REQUIRE(at != std::string::npos);
    doc.replace(at, 13, "\"kind\":7,\"x\":{\"kind\":\"bill\"}");
    reseal(b.manifest, b.records);
    refused(b, "not the tree of its documents");
  }
  SECTION("a forged, dropped or added bill event record (not a tree leaf: its bill's events_hash chains it)") {
    // An event record is a version (v/{position}evt/…) that its s/evt/… key names (storage.md §1.3).
    Built b = build(2);
    std::string evt_key;
    for (const auto& [k, v] : b.records) {
      if (k.starts_with("s/evt/")) evt_key = k;  // the last one
    }
    REQUIRE_FALSE(evt_key.empty());
    const std::string position = value_of(b.records, evt_key);
    REQUIRE(position.size() == node::key::kPositionSize);
    const auto version_of = [&](const std::string& state_key) { return node::key::version(position, state_key.substr(2)); };
    const std::string record = value_of(b.records, version_of(evt_key));
    Built forged = b;
    std::string& v = value_of(forged.records, version_of(evt_key));
    const std::size_t at = v.find("\"at\":\"KRPUS\"");
    REQUIRE(at != std::string::npos);
    v.replace(at, 13, "\"at\":\"KRPUX\"");
    reseal(forged.manifest, forged.records);
    refused(forged, "do not give the events_hash");
    Built dropped = without(without(b, evt_key), version_of(evt_key));
    refused(dropped, "do not give the events_hash");
    refused(without(b, version_of(evt_key)), "lacks the version of 1 event record");
    // One more record on the leg (its version at the same position, after the last one in key order), the next
    // number or one past it; one on a leg the bill does not have; one of no bill.
    const auto with_event = [&](const std::string& state_key) {
      return with_record(with_record(b, state_key, position), version_of(state_key), record);
    };
    std::string extra = evt_key;
    extra.back() = static_cast<char>(extra.back() + 1);
    refused(with_event(extra), "do not give the events_hash");
    std::string gap = evt_key;
    gap.back() = static_cast<char>(gap.back() + 2);
    refused(with_event(gap), "does not follow the leg's record");
    const std::string bill_of = evt_key.substr(0, evt_key.size() - 10);  // s/evt/{bill}
    refused(with_event(bill_of + "/99/000001"), "for a leg bill");
    // A record naming a version after the snapshot's height (which a later block at that position would overwrite).
    Built future = b;
    const std::string later = node::key::position(static_cast<std::uint64_t>(b.manifest.point.height) + 1, 0);
    value_of(future.records, evt_key) = later;
    future = with_record(future, node::key::version(later, evt_key.substr(2)), record);
    refused(future, "names a version after the snapshot's height");
    refused(with_event("s/evt/ZZ-NONE/00/000001"), "which is no bill in it");
  }
  SECTION("a document's current version dropped, or the document naming another version (storage.md §1.3)") {
    Built b = build(2);
    const std::string current = current_version(b.records, "OB-SN3");
    Built dropped = b;
    std::erase_if(dropped.records, [&](const auto& r) { return r.first == current; });
    reseal(dropped.manifest, dropped.records);
    refused(dropped, "lacks the current version of 1 document");
    // A forged older version (history is not a leaf) and the document's s/ key moved to it: the leaf is what the
    // key names, so the tree no longer matches.
    Built other = b;
    const std::string older_position = node::key::position(1, 7);
    const std::string older = node::key::version(older_position, "doc/OB-SN3");
    std::string forged_value = value_of(b.records, current);
    forged_value.insert(forged_value.find("\"holder\":\"") + 10, "x");
    other.records.insert(std::lower_bound(other.records.begin(), other.records.end(), std::make_pair(older, std::string())),
                         {older, forged_value});
    Built history_only = other;  // the forged version as history only: harmless, the snapshot installs
    reseal(history_only.manifest, history_only.records);
    REQUIRE(receive(history_only, leveldb::Env::Default(), t.staging).ok());
    value_of(other.records, node::key::state("doc/OB-SN3")) = older_position;
    reseal(other.manifest, other.records);
    refused(other, "not the tree of its documents");
    // The current version moved to a position after the snapshot's height: refused before its value is looked at.
    Built future = b;
    const std::string later = node::key::position(static_cast<std::uint64_t>(b.manifest.point.height) + 1, 0);
    value_of(future.records, node::key::state("doc/OB-SN3")) = later;
    future = with_record(future, node::key::version(later, "doc/OB-SN3"), value_of(b.records, current));
    refused(future, "names a version after the snapshot's height");
    Built malformed = b;
    const std::string bad_key = "v/" + std::string(node::key::kPositionSize, '\x7f') + "zzz/x";
    malformed.records.insert(std::lower_bound(malformed.records.begin(), malformed.records.end(),
                                              std::make_pair(bad_key, std::string())),
                             {bad_key, "{}"});
    reseal(malformed.manifest, malformed.records);
    refused(malformed, "a version in the snapshot is malformed");
  }
  SECTION("a forged, dropped or stray listing index record (i/…: what GET /v1/documents?holder= answers from)") {
    Built b = build(2);
    std::string holder_key;
    for (const auto& [k, v] : b.records) {
      if (k.starts_with("i/holder/") && k.ends_with("/OB-SN3")) holder_key = k;
    }
    REQUIRE_FALSE(holder_key.empty());
    // Another holder for the bill: the bill itself (a verified leaf) does not say so.
    Built forged = b;
    auto it = std::find_if(forged.records.begin(), forged.records.end(), [&](const auto& r) { return r.first == holder_key; });
    const std::string other = node::key::listing("holder", "zz-bank", "OB-SN3");
    forged.records.erase(it);
    forged.records.insert(std::lower_bound(forged.records.begin(), forged.records.end(), std::make_pair(other, std::string())),
                          {other, ""});
    reseal(forged.manifest, forged.records);
    refused(forged, "has no listing index record for holder");
    Built dropped = b;
    std::erase_if(dropped.records, [&](const auto& r) { return r.first == holder_key; });
    reseal(dropped.manifest, dropped.records);
    refused(dropped, "has no listing index record for holder");
    Built stray = b;
    const std::string extra = node::key::listing("status", "pledged", "OB-SN3");
    stray.records.insert(std::lower_bound(stray.records.begin(), stray.records.end(), std::make_pair(extra, std::string())),
                         {extra, ""});
    reseal(stray.manifest, stray.records);
    refused(stray, "no document calls for: 1");
    Built valued = b;
    value_of(valued.records, holder_key) = "x";
    reseal(valued.manifest, valued.records);
    refused(valued, "has a value");
  }
  SECTION("a forged, dropped or stray contract index record (s/idx/…: what the rules look up, contracts/indexes.h)") {
    Built b = build(2);
    const std::string idx = node::key::state(contracts::keys::equipment(testing::container(503)));
    REQUIRE(value_of(b.records, idx) == "OB-SN3");
    Built forged = b;  // the container on another bill than the one that lists it
    value_of(forged.records, idx) = "OB-SN1";
    reseal(forged.manifest, forged.records);
    refused(forged, "OB-SN3 has no index record idx/equipment/");
    refused(without(b, idx), "OB-SN3 has no index record idx/equipment/");
    // An active pledge on a bill that names none: the bill's next pledge would be refused on this node only.
    refused(with_record(b, node::key::state(contracts::keys::active_pledge("OB-SN1")), "PL-FORGED"),
            "index records (s/idx/) in the snapshot that no document calls for: 1");
  }
  SECTION("a forged, dropped or stray nonce window (what the accepted entries' nonces give)") {
    Built b = build(2);
    std::string nonce_key;
    for (const auto& [k, v] : b.records) {
      if (k.starts_with("s/nonce/") && nonce_key.empty()) nonce_key = k;
    }
    REQUIRE_FALSE(nonce_key.empty());
    Built forged = b;  // a window that forgets the highest nonce: a replay would be accepted on this node
    json w = json::parse(value_of(forged.records, nonce_key));
    w["highest"] = w["highest"].get<std::int64_t>() + 1;
    value_of(forged.records, nonce_key) = w.dump();
    reseal(forged.manifest, forged.records);
    refused(forged, "is not what its accepted entries give");
    refused(without(b, nonce_key), "lacks the nonce window of 1 key(s)");
    refused(with_record(b, node::key::state("nonce/zz-org/k9"), value_of(b.records, nonce_key)),
            "which signed no accepted entry");
  }
  SECTION("forged, dropped or reordered entry records, log leaves, tx index, histories and read sets") {
    Built b = build(2);
    const std::string first = node::key::entry(node::key::position(1, 0));
    Built rejected = b;  // an accepted entry recorded as rejected, and out of the log
    json rec = json::parse(value_of(rejected.records, first));
    REQUIRE(rec["status"] == "accepted");
    rec.erase("leaf");
    rec["status"] = "rejected";
    rec["reason"] = "doc_exists";
    value_of(rejected.records, first) = rec.dump();
    reseal(rejected.manifest, rejected.records);
    refused(rejected, "is accepted but not the transparency log's leaf 0");
    Built other_tx = b;  // the entry's tx changed: its id is no longer the block's
    rec = json::parse(value_of(other_tx.records, first));
    rec["envelope"]["tx"]["body"]["remarks"] = "forged";
    value_of(other_tx.records, first) = rec.dump();
    reseal(other_tx.manifest, other_tx.records);
    refused(other_tx, "entry records are not its blocks' results");
    refused(without(b, first), "transparency log's leaf 0");
    Built leaf = b;  // a log leaf the root does not read (the root of 7 reads (2, 0), (1, 2) and (0, 6))
    std::string& l0 = value_of(leaf.records, node::key::merkle(0, 0));
    l0[0] = static_cast<char>(l0[0] ^ 1);
    reseal(leaf.manifest, leaf.records);
    refused(leaf, "transparency log nodes are not the tree of its accepted entries");
    std::string tx_key, history_key;
    for (const auto& [k, v] : b.records) {
      if (k.starts_with("t/") && tx_key.empty()) tx_key = k;
      if (k.starts_with("h/") && history_key.empty()) history_key = k;
    }
    Built moved = b;  // the tx index sends a lookup to another entry
    std::string& pos = value_of(moved.records, tx_key);
    pos.back() = static_cast<char>(pos.back() + 1);
    reseal(moved.manifest, moved.records);
    refused(moved, "tx index (t/)");
    refused(without(b, history_key), "document histories (h/)");
    refused(without(b, node::key::reads(node::key::position(1, 0))), "read set records are not one per entry record");
  }
  SECTION("block records below the certified height: every one links to genesis and carries its results") {
    Built b = build(2);
    const std::string block1 = node::key::block(1);
    Built results = b;  // a result the header's result_root does not commit to
    json rec = json::parse(value_of(results.records, block1));
    rec["results"][0]["reads"] = std::string(64, '0');
    value_of(results.records, block1) = rec.dump();
    reseal(results.manifest, results.records);
    refused(results, "do not give its result_root");
    refused(without(b, block1), "not every height from 1");
  }
  SECTION("state tree indexes swapped between two documents") {
    Built b = build(2);
    std::swap(value_of(b.records, node::key::state_index("OB-SN1")), value_of(b.records, node::key::state_index("OB-SN2")));
    reseal(b.manifest, b.records);
    refused(b, "not the tree of its documents");
  }
  SECTION("another network's snapshot") {
    Built b = build(2);
    b.manifest.genesis = std::string(64, 'c');
    refused(b, "genesis");
  }
  SECTION("more or fewer records than the manifest says") {
    Built b = build(2);
    b.records.pop_back();
    refused(b, "records");
  }
  restart(t.dir);
}

TEST_CASE("snapshot: mutated records are refused or harmless, never a crash (the hand-read parts above all)",
          "[node][snapshot]") {
  // Seeded mutations of one record each — a byte changed, dropped or added, the value cut — in the records the
  // checks read by hand (entry records, nonce windows) and the others they parse, resealed so that only the checks
  // can refuse them. Under the sanitizers this is a small fuzzer of the receiver. A mutation the snapshot survives
  // must be one in what the checks leave to the sender (storage.md §6): an entry record's signature, a block
  // record's proposer and Raft index, or a spelling of the same JSON.
  Target t("mutations");
  Built b = build(2);
  std::vector<std::size_t> targets;
  for (std::size_t i = 0; i < b.records.size(); ++i) {
    const std::string& k = b.records[i].first;
    if (k.starts_with("e/") || k.starts_with("s/nonce/") || k.starts_with("s/idx/") || k.starts_with("b/") ||
        k.starts_with("t/") || k.starts_with("h/") || k.starts_with("m/")) {
      targets.push_back(i);
    }
  }
  REQUIRE(targets.size() > 20);
  std::mt19937 rng(10);
  const std::string alphabet = "0123456789abcdef\"{}[],:\\ -x";
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    Built m = b;
    auto& [k, v] = m.records[targets[static_cast<std::size_t>(i) % targets.size()]];
    if (v.empty()) continue;
    const auto pos = std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng);
    const char c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    switch (i % 4) {
      case 0: v[pos] = v[pos] == c ? 'y' : c; break;
      case 1: v.erase(pos, 1); break;
      case 2: v.insert(pos, 1, c); break;
      default: v.resize(pos); break;
    }
    reseal(m.manifest, m.records);
    INFO(k << " = " << v);
    const Status st = receive(m, leveldb::Env::Default(), t.staging);
    if (!st) {
      CHECK(st.error().code == "bad_snapshot");
      ++refused;
      continue;
    }
    // Installed as is: the same JSON but for what the checks leave to the sender.
    REQUIRE((k.starts_with("e/") || k.starts_with("b/")));
    json a = json::parse(v, nullptr, false);
    json o = json::parse(value_of(b.records, k));
    REQUIRE(a.is_object());
    for (json* j : {&a, &o}) {
      if (k.starts_with("e/") && j->contains("envelope")) (*j)["envelope"].erase("sig");
      j->erase("proposer");
      j->erase("raft_index");
    }
    CHECK(a == o);
  }
  CHECK(refused > 250);
}

TEST_CASE("snapshot: a crash at any step of the install leaves the old state or, after a restart, the whole new one", "[node][snapshot]") {
  Built b = build(source().top);
  auto old_state = ledger_records(source().old_db);
  auto new_state = ledger_records(source().db);
  // Runs the install through a FaultInjectionEnv up to `steps` (0: nothing, 1: marker, 2: staged records written,
  // 3: and the Raft record, in the Raft log's own database, but not yet the marker's deletion, 4: the whole
  // install), cuts the power (what was not synced is lost), restarts, and says which state it has.
  auto crash_after = [&](int steps, bool write_error_in_step2) {
    Target t("crash" + std::to_string(steps) + (write_error_in_step2 ? "e" : ""));
    testing::FaultInjectionEnv env;
    REQUIRE(receive(b, &env, t.staging).ok());
    {
      auto store = node::Store::open(t.db, &env);
      REQUIRE(store.ok());
      auto raft = consensus::LevelDbStorage::open((*store)->raft_db(), "r/", genesis_conf(source().membership));
      REQUIRE(raft.ok());
      consensus::Ready rd = ready_for(b);
      if (steps == 4) {
        REQUIRE(node::install_snapshot(**store, **raft, t.staging.string(), b.manifest, rd).ok());
      } else if (steps >= 1) {
        REQUIRE(node::begin_snapshot_install(**store, t.staging.string(), b.manifest, rd.snapshot->meta).ok());
        if (steps >= 2) {
          env.set_write_error(write_error_in_step2);
          Status s = node::apply_staged_snapshot(**store, t.staging.string(), b.manifest);
          CHECK(s.ok() != write_error_in_step2);
        }
        if (steps == 3) {
          REQUIRE((*raft)->save(rd).ok());  // synced: the restart finds the log at the snapshot, the marker still set
          CHECK((*raft)->snapshot_meta().index == rd.snapshot->meta.index);
        }
      }
    }
    env.drop_unsynced_data();
    env.set_write_error(false);
    restart(t.dir);
    auto now = ledger_records(t.db);
    CHECK((now == old_state || now == new_state));
    auto store = node::Store::open(t.db);
    REQUIRE(store.ok());
    CHECK_FALSE((*store)->get(node::key::kInstalling)->has_value());
    return now == new_state;
  };
  CHECK_FALSE(crash_after(0, false));
  CHECK(crash_after(1, false));
  CHECK(crash_after(2, false));
  CHECK(crash_after(2, true));
  CHECK(crash_after(3, false));
  CHECK(crash_after(4, false));
}
