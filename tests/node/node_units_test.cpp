// Small pieces of the node: config parsing, tokens, query strings, who may read a document, metrics text, and
// the worker pool.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "node/api.h"
#include "node/auth.h"
#include "node/config.h"
#include "node/ledger/ledger.h"
#include "node/metrics.h"
#include "node/node.h"
#include "node/store.h"
#include "node/worker_pool.h"
#include "tests/support/testnet.h"

using namespace onebill::node;
using nlohmann::json;

TEST_CASE("config: a good file parses and unknown fields and bad values are refused with the field named", "[node]") {
  auto base = json{{"node_id", "n1"}, {"data_dir", "data"}, {"genesis", "/etc/g.json"}, {"tls_key", "tls.pem"}};
  auto c = parse_config(base.dump(), "/srv/n1");
  REQUIRE(c.ok());
  CHECK(c->data_dir == "/srv/n1/data");
  CHECK(c->genesis == "/etc/g.json");
  auto typo = base;
  typo["dat_dir"] = "x";
  auto bad = parse_config(typo.dump(), "/");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "bad_config");
  CHECK(bad.error().message.find("dat_dir") != std::string::npos);
  auto missing = base;
  missing.erase("tls_key");
  CHECK(parse_config(missing.dump(), "/").error().message.find("tls_key") != std::string::npos);
  auto listen = base;
  listen["listen"] = {{"api", "127.0.0.1:99999"}};
  CHECK_FALSE(parse_config(listen.dump(), "/").ok());
  CHECK_FALSE(parse_config("not json", "/").ok());
  auto no_wait = base;
  no_wait["commit_wait_ms"] = 0;
  CHECK(parse_config(no_wait.dump(), "/").error().message.find("commit_wait_ms") != std::string::npos);
  auto token_typo = base;
  token_typo["tokens"] = {{{"org", "crct"}, {"sha256", std::string(64, 'a')}, {"scopes", {"read"}}, {"scope", "x"}}};
  CHECK(parse_config(token_typo.dump(), "/").error().message.find("tokens[0].scope") != std::string::npos);
  auto key_typo = base;
  key_typo["org_key"] = {{"id", "crct/k1"}, {"path", "org.pem"}, {"pth", "x"}};
  CHECK(parse_config(key_typo.dump(), "/").error().message.find("org_key.pth") != std::string::npos);
  auto scope = base;
  scope["tokens"] = {{{"org", "crct"}, {"sha256", std::string(64, 'a')}, {"scopes", {"root"}}}};
  CHECK(parse_config(scope.dump(), "/").error().message.find("root") != std::string::npos);
  CHECK(c->bundles == 2);
  auto bundles = base;
  bundles["limits"] = {{"bundles", 5}};
  CHECK(parse_config(bundles.dump(), "/")->bundles == 5);
  bundles["limits"] = {{"bundles", 0}};
  CHECK(parse_config(bundles.dump(), "/").error().message.find("bundles") != std::string::npos);
  CHECK(c->max_connections_per_address == 256);
  auto per_address = base;
  per_address["limits"] = {{"max_connections_per_address", 8}};
  CHECK(parse_config(per_address.dump(), "/")->max_connections_per_address == 8);
  per_address["limits"] = {{"max_connections_per_address", 0}};
  CHECK(parse_config(per_address.dump(), "/").error().message.find("max_connections_per_address") != std::string::npos);
}

TEST_CASE("config: peers names dial addresses by node id, checked like listen addresses", "[node]") {
  auto base = json{{"node_id", "n1"}, {"data_dir", "data"}, {"genesis", "/etc/g.json"}, {"tls_key", "tls.pem"}};
  CHECK(parse_config(base.dump(), "/")->peers.empty());
  auto with = base;
  with["peers"] = {{"n2", "127.0.0.1:17202"}, {"n3", "gw.example.org:7203"}, {"n9", "[::1]:7209"}};
  auto c = parse_config(with.dump(), "/");
  REQUIRE(c.ok());
  REQUIRE(c->peers.size() == 3);
  CHECK(c->peers.at("n2").text() == "127.0.0.1:17202");
  CHECK(c->peers.at("n3").host == "gw.example.org");  // a name is allowed: the transport resolves it
  CHECK(c->peers.at("n9").text() == "[::1]:7209");
  auto refused = [&](const json& peers, const std::string& named) {
    auto j = base;
    j["peers"] = peers;
    auto r = parse_config(j.dump(), "/");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad_config");
    CHECK(r.error().message.find(named) != std::string::npos);
  };
  refused(json::array({"127.0.0.1:1"}), "peers");
  refused({{"n2", 7202}}, "peers.n2");
  refused({{"n2", "127.0.0.1"}}, "peers.n2");
  refused({{"n2", "127.0.0.1:70000"}}, "peers.n2");
  refused({{"n2", "127.0.0.1:0"}}, "peers.n2");
  refused({{"n1", "127.0.0.1:7201"}}, "peers.n1");  // this node itself
  refused({{"", "127.0.0.1:7201"}}, "peers");
}

TEST_CASE("tokens are stored hashed and checked with their scopes", "[node]") {
  auto t = generate_token();
  CHECK(t.token.size() == 64);
  TokenStore store;
  store.add(t.sha256_hex, Principal{"ops", "crct", static_cast<std::uint8_t>(Scope::read)});
  auto p = store.authenticate("Bearer " + t.token);
  REQUIRE(p.ok());
  CHECK(p->org == "crct");
  CHECK(p->has(Scope::read));
  CHECK_FALSE(p->has(Scope::submit));
  CHECK(store.authenticate("").error().code == "unauthorized");
  CHECK(store.authenticate("Basic abc").error().code == "unauthorized");
  CHECK(store.authenticate("Bearer " + std::string(64, '0')).error().code == "unauthorized");
}

TEST_CASE("request targets decode into a path and query", "[node]") {
  auto t = parse_target("/v1/documents?type=bill&holder=crct%2Dx&after=&x=a+b");
  REQUIRE(t.ok());
  CHECK(t->path == "/v1/documents");
  CHECK(t->query.at("holder") == "crct-x");
  CHECK(t->query.at("after").empty());
  CHECK(t->query.at("x") == "a b");
  CHECK(t->segments == std::vector<std::string>{"v1", "documents"});
  auto slash = parse_target("/v1/documents/OB%2F1/history");
  REQUIRE(slash.ok());
  CHECK(slash->segments == std::vector<std::string>{"v1", "documents", "OB/1", "history"});
  CHECK_FALSE(parse_target("/v1/%zz").ok());
  CHECK_FALSE(parse_target("/v1/%4").ok());
}

TEST_CASE("who a document concerns", "[node]") {
  json bill = {{"issuer", "crct"},
               {"holder", "trader"},
               {"parties", {{"shipper", "shipper"}, {"consignee", nullptr}, {"notify", {"buyer"}}}},
               {"legs", {{{"carrier", "hmm"}, {"events", {{{"by", "tjport"}}}}}}},
               {"endorsements", {{{"from", "shipper"}, {"to", "trader"}}}}};
  auto orgs = involved_orgs(bill);
  for (const char* o : {"crct", "trader", "shipper", "buyer", "hmm", "tjport"}) CHECK(orgs.count(o) == 1);
  CHECK(orgs.count("bank2") == 0);
}

TEST_CASE("metrics render in the Prometheus text format", "[node]") {
  Metrics m;
  m.counter("x_total", "X", {{"route", "a\"b"}}).inc(3);
  m.gauge("y", "Y").set(-2);
  m.histogram("z_seconds", "Z", {0.1, 1}).observe(0.5);
  std::string text = m.render();
  CHECK(text.find("# TYPE x_total counter\nx_total{route=\"a\\\"b\"} 3\n") != std::string::npos);
  CHECK(text.find("y -2\n") != std::string::npos);
  CHECK(text.find("z_seconds_bucket{le=\"0.1\"} 0\n") != std::string::npos);
  CHECK(text.find("z_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
  CHECK(text.find("z_seconds_count 1\n") != std::string::npos);
}

TEST_CASE("the worker pool runs every index exactly once", "[node]") {
  WorkerPool pool(3);
  for (std::size_t n : {0u, 1u, 7u, 1000u}) {
    std::vector<std::atomic<int>> seen(n);
    pool.parallel_for(n, [&](std::size_t i) { seen[i].fetch_add(1); });
    for (auto& s : seen) CHECK(s.load() == 1);
  }
}

TEST_CASE("x/applied records the storage format, and a database of another format is refused", "[node][storage]") {
  AppliedPoint p;
  p.raft_index = 7;
  p.height = 3;
  p.header_hash = std::string(64, 'a');
  json j = p.to_json();
  CHECK(j["format"] == kStorageFormat);
  auto back = AppliedPoint::from_json(j);
  REQUIRE(back.ok());
  CHECK(back->height == 3);
  CHECK(back->raft_index == 7);

  j.erase("format");  // written before the format was recorded: bills with their events inside
  auto old = AppliedPoint::from_json(j);
  REQUIRE_FALSE(old.ok());
  CHECK(old.error().code == "corrupt_state");
  CHECK(old.error().message.find("storage format 1,") != std::string::npos);
  CHECK(old.error().message.find("rebuild the node from its peers") != std::string::npos);
  j["format"] = 2;  // bills without events_hash
  auto two = AppliedPoint::from_json(j);
  REQUIRE_FALSE(two.ok());
  CHECK(two.error().message.find("storage format 2,") != std::string::npos);
  j["format"] = kStorageFormat + 1;
  auto newer = AppliedPoint::from_json(j);
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error().message.find("storage format " + std::to_string(kStorageFormat + 1) + ",") != std::string::npos);
}

TEST_CASE("documents are read through their versions, and read sets refer to versions and come back whole",
          "[node][storage]") {
  const auto dir = std::filesystem::temp_directory_path() / ("onebill-store-versions-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto store = Store::open(dir);
    REQUIRE(store.ok());
    const std::string v1 = key::position(4, 2), v2 = key::position(6, 0);
    const std::string doc_v1 = R"({"id":"OB-1","note":"caf\u00e9 \"quoted\""})";
    const std::string doc_v2 = R"({"id":"OB-1","note":"second"})";
    leveldb::WriteBatch batch;
    batch.Put(key::version(v1, "doc/OB-1"), doc_v1);
    batch.Put(key::version(v2, "doc/OB-1"), doc_v2);
    batch.Put(key::state("doc/OB-1"), v2);
    batch.Put(key::state("doc/BROKEN"), "123");                          // not a position
    batch.Put(key::state("doc/LOST"), key::position(9, 9));              // names no version
    batch.Put(key::state("nonce/k1"), R"({"next":3})");                 // not a document: stored as is
    REQUIRE((*store)->write(batch, false).ok());

    std::string at;
    auto cur = (*store)->get_state("doc/OB-1", nullptr, &at);
    REQUIRE(cur.ok());
    REQUIRE(cur->has_value());
    CHECK(**cur == doc_v2);
    CHECK(at == v2);
    auto nonce = (*store)->get_state("nonce/k1", nullptr, &at);
    REQUIRE(nonce.ok());
    CHECK(**nonce == R"({"next":3})");
    CHECK(at.empty());
    auto absent = (*store)->get_state("doc/NONE", nullptr, &at);
    REQUIRE(absent.ok());
    CHECK_FALSE(absent->has_value());
    for (const char* broken : {"doc/BROKEN", "doc/LOST"}) {
      auto r = (*store)->get_state(broken);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == "corruption");
    }
    // Through the view a block is applied with: it remembers the version each document was read at.
    StoreStateView view(**store, nullptr, true);
    REQUIRE(view.get("doc/OB-1").ok());
    REQUIRE(view.version_of("doc/OB-1") != nullptr);
    CHECK(*view.version_of("doc/OB-1") == v2);
    CHECK(view.version_of("nonce/k1") == nullptr);

    // A read set: one document's value by reference, another's inline, a non-document, an absent key.
    onebill::contracts::ReadSet reads;
    reads["doc/OB-1"] = doc_v1;
    reads["doc/OB-2"] = R"({"id":"OB-2"})";
    reads["nonce/k1"] = R"({"next":3})";
    reads["idx/pledge/OB-1"] = std::nullopt;
    const std::string stored = stored_reads_text(reads, [&](const std::string& k) -> const std::string* {
      return k == "doc/OB-1" ? &v1 : nullptr;
    });
    CHECK(stored.find(R"("doc/OB-1":{"at":"0000000000000004)") != std::string::npos);
    CHECK(stored.find("second") == std::string::npos);
    CHECK(stored.size() < onebill::ledger::reads_text(reads).size());
    leveldb::WriteBatch entry;
    const std::string pos = key::position(7, 0);
    entry.Put(key::tx("t1"), pos);
    entry.Put(key::reads(pos), stored);
    entry.Put(key::tx("t2"), key::position(7, 1));
    entry.Put(key::reads(key::position(7, 1)), R"({"doc/OB-1":{"at":"00000000000000090000000a"}})");
    entry.Put(key::tx("t3"), key::position(7, 2));
    entry.Put(key::reads(key::position(7, 2)), R"({"doc/OB-1":{"at":"zz"}})");
    REQUIRE((*store)->write(entry, false).ok());
    auto whole = (*store)->entry_reads("t1");
    REQUIRE(whole.ok());
    REQUIRE(whole->has_value());
    CHECK(**whole == json::parse(onebill::ledger::reads_text(reads)));  // exactly the read set as it was read
    for (const char* id : {"t2", "t3"}) {
      auto r = (*store)->entry_reads(id);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == "corruption");
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a batch in key order: same effect, operations sorted, the last one on a key kept", "[node][storage]") {
  leveldb::WriteBatch batch;
  batch.Put("s/doc/B", "b1");
  batch.Put("e/2", "entry");
  batch.Delete("i/holder/x/B");
  batch.Put("s/doc/B", "b2");      // replaces b1
  batch.Put("i/holder/y/B", "");
  batch.Put("a/1", "gone");
  batch.Delete("a/1");             // the delete wins
  batch.Delete("s/doc/C");
  batch.Put("s/doc/C", "c");       // the put wins
  struct Ops final : leveldb::WriteBatch::Handler {
    std::vector<std::string> seen;
    void Put(const leveldb::Slice& k, const leveldb::Slice& v) override { seen.push_back("put " + k.ToString() + "=" + v.ToString()); }
    void Delete(const leveldb::Slice& k) override { seen.push_back("del " + k.ToString()); }
  } ops;
  leveldb::WriteBatch sorted = sorted_batch(batch);
  REQUIRE(sorted.Iterate(&ops).ok());
  CHECK(ops.seen == std::vector<std::string>{"del a/1", "put e/2=entry", "del i/holder/x/B", "put i/holder/y/B=",
                                             "put s/doc/B=b2", "put s/doc/C=c"});
  CHECK(sorted_batch(leveldb::WriteBatch()).ApproximateSize() == leveldb::WriteBatch().ApproximateSize());
}

TEST_CASE("an entry's records are found by id through its position, and a broken index is corruption",
          "[node][storage]") {
  const auto dir = std::filesystem::temp_directory_path() / ("onebill-store-entry-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto store = Store::open(dir);
    REQUIRE(store.ok());
    const std::string pos = key::position(7, 3);
    CHECK(pos.size() == key::kPositionSize);
    CHECK(key::position(7, 3) < key::position(7, 4));  // ledger order is key order
    CHECK(key::position(7, 0xffffffffu) < key::position(8, 0));
    leveldb::WriteBatch batch;
    batch.Put(key::tx("abc"), pos);
    batch.Put(key::entry(pos), R"({"height":7,"index":3})");
    batch.Put(key::reads(pos), "{}");
    batch.Put(key::tx("short"), "1234");                  // not a position
    batch.Put(key::tx("lost"), key::position(9, 0));      // a position with no record
    REQUIRE((*store)->write(batch, false).ok());

    auto rec = (*store)->entry_record("abc");
    REQUIRE(rec.ok());
    REQUIRE(rec->has_value());
    CHECK(**rec == R"({"height":7,"index":3})");
    auto reads = (*store)->entry_reads("abc");
    REQUIRE(reads.ok());
    REQUIRE(reads->has_value());
    CHECK(**reads == json::object());
    auto none = (*store)->entry_record("nothing");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
    auto bad = (*store)->entry_record("short");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == "corruption");
    auto lost = (*store)->entry_reads("lost");
    REQUIRE_FALSE(lost.ok());
    CHECK(lost.error().code == "corruption");
    CHECK(lost.error().message.find("no record at its position") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("block proposals: the binary encoding round-trips and anything else is a bad block", "[node][format]") {
  namespace ledger = onebill::ledger;
  using onebill::contracts::Tx;
  auto envelope = [](std::string doc, std::int64_t nonce, onebill::crypto::Bytes sig) {
    Tx tx;
    tx.type = "bill.event";
    tx.doc = std::move(doc);
    tx.signer = "crct/k1";
    tx.nonce = nonce;
    tx.ts = "2026-11-26T08:00:00Z";
    tx.body = nlohmann::json{{"event", "gate_in"}, {"note", "quai \"3\" é"}};
    auto e = onebill::contracts::make_envelope(std::move(tx), std::move(sig), onebill::crypto::HashAlg::sha256);
    REQUIRE(e.ok());
    return *e;
  };
  ledger::BlockProposal b{1795600805123, "n2", {envelope("OB-1", 7, {1, 2, 3}), envelope("OB-2", 8, {4, 5})}};
  const std::string bytes = ledger::encode_block(b);
  CHECK(bytes.starts_with("OBP1"));

  auto back = ledger::decode_block(bytes, onebill::crypto::HashAlg::sha256);
  REQUIRE(back.ok());
  CHECK(back->time == b.time);
  CHECK(back->proposer == "n2");
  REQUIRE(back->entries.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(back->entries[i].id == b.entries[i].id);
    CHECK(back->entries[i].canonical_tx == b.entries[i].canonical_tx);
    CHECK(back->entries[i].sig == b.entries[i].sig);
    CHECK(back->entries[i].tx.body == b.entries[i].tx.body);
    CHECK(back->entries[i].tx.nonce == b.entries[i].tx.nonce);
  }
  CHECK(ledger::encode_block(*back) == bytes);
  auto empty = ledger::decode_block(ledger::encode_block({5, "n1", {}}), onebill::crypto::HashAlg::sha256);
  REQUIRE(empty.ok());
  CHECK(empty->entries.empty());

  auto refused = [](const std::string& text, const std::string& mentions) {
    auto r = ledger::decode_block(text, onebill::crypto::HashAlg::sha256);
    INFO(mentions);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad_block");
    CHECK(r.error().message.find(mentions) != std::string::npos);
  };
  // Every strict prefix is refused: no length can be cut short without being noticed.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = ledger::decode_block(bytes.substr(0, n), onebill::crypto::HashAlg::sha256);
    if (r.ok()) FAIL("a prefix of " << n << " bytes decoded");
  }
  refused(bytes + "x", "1 bytes after the last entry");
  refused(R"({"entries":[],"proposer":"n1","time":5})", "OBP1");  // the JSON proposals of storage format 3
  std::string big_time = bytes;
  big_time[4] = '\x80';
  refused(big_time, "time");

  // An entry whose tx is not canonical (a space after the first brace): same framing, refused by its position.
  ledger::BlockProposal spaced = b;
  spaced.entries[1].canonical_tx.insert(1, " ");
  refused(ledger::encode_block(spaced), "entries[1]: bad_envelope");
  ledger::BlockProposal no_sig = b;
  no_sig.entries[0].sig.clear();
  refused(ledger::encode_block(no_sig), "entries[0]: the signature is empty");
}

TEST_CASE("a read set written directly is the text its JSON tree dumps to", "[node][format]") {
  onebill::contracts::ReadSet reads;
  CHECK(onebill::ledger::reads_text(reads) == "{}");
  reads["d/OB-1"] = R"({"holder":"crct","note":"quai \"3\"\\ é\n\t/€"})";
  reads["n/crct/k1"] = std::nullopt;
  reads["a"] = std::string("ctl\x01\x1f\x7f", 6);
  reads["z/empty"] = "";
  const std::string text = onebill::ledger::reads_text(reads);
  CHECK(text == onebill::ledger::reads_to_json(reads).dump());
  auto back = onebill::ledger::reads_from_json(json::parse(text));
  REQUIRE(back.ok());
  CHECK(*back == reads);
}

TEST_CASE("the verified-signature cache knows exactly the (id, signature) pairs added, up to its capacity",
          "[node]") {
  VerifiedCache cache(3);
  const onebill::crypto::Bytes sig{1, 2, 3}, other{1, 2, 4};
  cache.add("aa", sig);
  CHECK(cache.contains("aa", sig));
  CHECK_FALSE(cache.contains("aa", other));        // same id, another signature
  CHECK_FALSE(cache.contains("ab", sig));          // same signature, another id
  CHECK_FALSE(cache.contains("aa\x01", {2, 3}));   // the bytes of (id, sig) run together differently
  cache.add("aa", sig);                            // again: no second slot
  cache.add("bb", sig);
  cache.add("cc", sig);
  CHECK(cache.contains("aa", sig));
  cache.add("dd", sig);  // over capacity: the oldest goes
  CHECK_FALSE(cache.contains("aa", sig));
  CHECK(cache.contains("bb", sig));
  CHECK(cache.contains("dd", sig));
}

TEST_CASE("genesis params of the wrong type or out of range are refused at start with the param named", "[node]") {
  struct Case {
    json params;
    std::string named;
  };
  const std::vector<Case> cases = {
      {json::array(), "genesis.params: expected an object"},
      {{{"block_max_entries", "500"}}, "params.block_max_entries"},
      {{{"block_max_entries", 0}}, "params.block_max_entries"},
      {{{"block_max_delay_ms", 1.5}}, "params.block_max_delay_ms"},
      {{{"snapshot_interval", -1}}, "params.snapshot_interval"},
      {{{"snapshot_keep_entries", true}}, "params.snapshot_keep_entries"},
      {{{"election_timeout_ms", "300"}}, "params.election_timeout_ms"},
      {{{"election_timeout_ms", {10, 20}}}, "params.election_timeout_ms"},
      {{{"election_timeout_ms", {600, 300}}}, "params.election_timeout_ms"},
      {{{"election_timeout_ms", {300, 1.5}}}, "params.election_timeout_ms"},
      // Beyond a 32-bit int: read as 50 and 104 if narrowed before the check.
      {{{"election_timeout_ms", {4294967346LL, 4294967400LL}}}, "params.election_timeout_ms"},
  };
  for (const auto& c : cases) {
    INFO(c.params.dump());
    const auto dir = std::filesystem::temp_directory_path() / ("onebill-bad-params-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    {
      onebill::testing::TestNet net(dir, 1, 0, onebill::crypto::SigAlg::ecdsa_p256, c.params);
      auto config = load_config(net.nodes()[0].config);
      REQUIRE(config.ok());
      Logger log(LogLevel::error);
      auto n = Node::create(*config, log);
      REQUIRE_FALSE(n.ok());
      CHECK(n.error().code == "bad_genesis");
      INFO(n.error().message);
      CHECK(n.error().message.find(c.named) != std::string::npos);
    }
    std::filesystem::remove_all(dir);
  }
}

namespace {

// Node::create with `config` fails with corrupt_state, its message naming each of `phrases`.
void require_refused(const NodeConfig& config, std::initializer_list<std::string_view> phrases) {
  Logger log(LogLevel::error);
  auto n = Node::create(config, log);
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().code == "corrupt_state");
  INFO(n.error().message);
  for (std::string_view p : phrases) CHECK(n.error().message.find(p) != std::string::npos);
}

}  // namespace

// Storage format 7 keeps the Raft log in a database of its own (db/raft). An older node's database holds it in the
// state database: refused before anything is written, rather than started with a new empty log that would forget
// the node's votes (its hard state).
TEST_CASE("a database with the Raft log in the state database (storage format 6) is refused at start", "[node][storage]") {
  const auto dir = std::filesystem::temp_directory_path() / ("onebill-format6-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    onebill::testing::TestNet net(dir, 1, 0, onebill::crypto::SigAlg::ecdsa_p256);
    auto config = load_config(net.nodes()[0].config);
    REQUIRE(config.ok());
    {
      auto store = Store::open(config->data_dir / "db");
      REQUIRE(store.ok());
      leveldb::WriteBatch b;
      b.Put("r/h", std::string(25, '\1'));  // an older node's hard state
      REQUIRE((*store)->write(b, true).ok());
    }
    require_refused(*config, {"storage format 6 or earlier", "rebuild the node from its peers"});
    auto store = Store::open(config->data_dir / "db");
    REQUIRE(store.ok());
    std::unique_ptr<leveldb::Iterator> it((*store)->raft_db()->NewIterator(leveldb::ReadOptions()));
    it->SeekToFirst();
    CHECK_FALSE(it->Valid());  // no new log was started
  }
  std::filesystem::remove_all(dir);
}

// A state database whose Raft log database is missing (copied without db/raft, or older than storage format 7) is
// refused before anything is created: a new empty log would forget the node's votes.
TEST_CASE("a state database without its Raft log database beside it is refused at start, and nothing is created",
          "[node][storage]") {
  const auto dir = std::filesystem::temp_directory_path() / ("onebill-no-raft-db-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    onebill::testing::TestNet net(dir, 1, 0, onebill::crypto::SigAlg::ecdsa_p256);
    auto config = load_config(net.nodes()[0].config);
    REQUIRE(config.ok());
    Logger log(LogLevel::error);
    {
      auto first = Node::create(*config, log);
      REQUIRE(first.ok());
    }
    const auto raft_dir = config->data_dir / "db" / "raft";
    REQUIRE(std::filesystem::exists(raft_dir / "CURRENT"));
    std::filesystem::remove_all(raft_dir);
    require_refused(*config, {"no Raft log database", "as a whole, with archive/ and raft/"});
    CHECK_FALSE(std::filesystem::exists(raft_dir));
  }
  std::filesystem::remove_all(dir);
}
