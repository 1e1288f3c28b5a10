// Audit bundles end to end: a node builds the bundle of a pledged bonded receipt after a story with a rejection, a
// governance change and a revoked key; the offline verifier accepts it, and catches each kind of tampering with
// the right check — including a quorum that lies (headers re-certified with the node's own key).
#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "clients/audit/verify.h"
#include "clients/cli/cli.h"
#include "crypto/canonical_json.h"
#include "crypto/merkle.h"
#include "node/bundle.h"
#include "node/config.h"
#include "node/ledger/bundle.h"
#include "node/ledger/format.h"
#include "node/ledger/state_tree.h"
#include "node/snapshot.h"
#include "node/store.h"
#include "tests/support/bundle_builder.h"
#include "tests/support/single_node.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;
using onebill::testing::SingleNode;

namespace {

json receipt_body() {
  return {{"holder", "trader"},
          {"goods",
           {{"description", "Copper cathodes"}, {"hs", "740311"}, {"quantity", 250}, {"unit", "TNE"}, {"gross_kg", 250000}}},
          {"location", "CNTSN"},
          {"lot", "TJ-B7-0042"},
          {"bonded", true}};
}

json pledge_body(const std::string& bank) {
  return {{"collateral", "WR-TJ-1"}, {"bank", bank}, {"amount", {{"value", 300000000}, {"ccy", "CNY"}}}, {"due", "2027-06-30"}};
}

// The story, one entry per block. Returns the bundle of WR-TJ-1.
struct Story {
  SingleNode s{"audit"};
  std::string genesis = testing::read_text(s.net.genesis_path());
  json bundle;
  json full;  // the same with every read value written out (?reads=full)

  json submit(const std::string& org, const std::string& type, const std::string& doc, const json& body,
              const std::string& expect) {
    json a = s.call_json("POST", "/v1/transactions", s.net.envelope(org, type, doc, body), org);
    INFO(type << " " << doc << ": " << a.dump());
    REQUIRE(a["status"] == expect);
    return a;
  }

  Story() {
    submit("tjwh", "receipt.issue", "WR-TJ-1", receipt_body(), "accepted");
    submit("trader", "pledge.request", "PL-A", pledge_body("bank1"), "accepted");
    submit("bank1", "pledge.accept", "PL-A", json::object(), "rejected");  // customs approval first
    submit("customs", "pledge.approve", "PL-A", {{"approve", true}, {"reference", "TJ-BOND-PL-1"}}, "accepted");
    submit("bank1", "pledge.accept", "PL-A", json::object(), "accepted");
    submit("trader", "pledge.request", "PL-B", pledge_body("bank2"), "rejected");  // already pledged
    // Governance revokes trader/k1: 6 of the 11 organisations.
    submit("crct", "gov.propose", "P-1", {{"action", "key.revoke"}, {"params", {{"id", "trader/k1"}}}}, "accepted");
    for (const char* org : {"hmm", "tjport", "customs", "bank1", "bank2"}) {
      submit(org, "gov.approve", "P-1", json::object(), "accepted");
    }
    submit("bank1", "pledge.release", "PL-A", json::object(), "accepted");
    // The bundle covers the certified head: wait until it includes the last block.
    const auto height = s.call_json("GET", "/v1/status")["height"].get<std::int64_t>();
    for (int i = 0; i < 100 && s.call_json("GET", "/v1/log/head").value("height", 0) < height; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    unsigned status = 0;
    bundle = s.call_json("GET", "/v1/documents/WR-TJ-1/bundle", nullptr, "bank1", &status);
    REQUIRE(status == 200);
    full = s.call_json("GET", "/v1/documents/WR-TJ-1/bundle?reads=full", nullptr, "bank1", &status);
    REQUIRE(status == 200);
  }

  audit::Report verify(const json& b) const { return audit::verify_bundle(genesis, b); }

  // The position in bundle["entries"] of the entry of `type` on `doc` (the n-th such, from 0).
  static std::size_t find(const json& b, const std::string& type, const std::string& doc, int nth = 0) {
    for (std::size_t i = 0; i < b["entries"].size(); ++i) {
      const json& tx = b["entries"][i]["envelope"]["tx"];
      if (tx["type"] == type && tx["doc"] == doc && nth-- == 0) return i;
    }
    FAIL("no entry " << type << " on " << doc);
    return 0;
  }

  // What a lying quorum would do: rewrite the block of entry i (alone in its block) to certify the entry as
  // given, and sign the new header with the node's own key.
  void recertify(json& b, std::size_t i) {
    const json& e = b["entries"][i];
    REQUIRE(e["block_entries"] == 1);
    auto parsed = ledger::Bundle::from_json(b, crypto::HashAlg::sha256);
    REQUIRE(parsed.ok());
    const auto& entry = parsed->entries[i];
    for (auto& blk : b["blocks"]) {
      if (blk["header"]["height"] != e["height"]) continue;
      blk["header"]["tx_root"] = crypto::hex(ledger::log_leaf(crypto::HashAlg::sha256, entry.envelope.id));
      REQUIRE(entry.elided.empty());  // recertify() is for entries whose reads are all given
      blk["header"]["result_root"] =
          crypto::hex(ledger::result_leaf(crypto::HashAlg::sha256, entry.result(crypto::HashAlg::sha256, entry.reads)));
      auto header = ledger::BlockHeader::from_json(blk["header"]);
      REQUIRE(header.ok());
      auto key = crypto::PrivateKey::from_pem_any(testing::read_text(s.net.nodes()[0].dir / "tls.pem"));
      REQUIRE(key.ok());
      auto a = ledger::attest(*key, "n1", s.net.genesis()["network"], header->height, header->hash_hex(crypto::HashAlg::sha256));
      REQUIRE(a.ok());
      blk["attestations"] = json::array({a->to_json()});
      if (b["head"]["height"] == header->height) b["head"]["header_hash"] = a->header_hash;
    }
  }
};

Story& story() {
  static Story st;  // one network for every test case of this file
  return st;
}

// Rewrites a rejected entry of a bundle as if it had been accepted.
void claim_accepted(json& e) {
  e["status"] = "accepted";
  e.erase("reason");
  e["leaf"] = 0;
  e["log_proof"] = json::array();
}

audit::Failure must_fail(const json& tampered, const std::string& check) {
  auto r = story().verify(tampered);
  INFO(r.to_json().dump(2));
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.failure);
  CHECK(r.failure->check == check);
  // From the text (what 'onebill verify' does: entries parsed, checked and replayed as they come, on one thread or
  // several), the same failure, where, with the same message and after the same counts.
  for (unsigned threads : {1u, 2u, 3u}) {
    auto t = audit::verify_bundle_text(story().genesis, tampered.dump(), {}, threads);
    INFO(threads << " threads: " << t.to_json().dump(2));
    CHECK(t.to_json() == r.to_json());
  }
  return *r.failure;
}

}  // namespace

TEST_CASE("audit: the bundle of a pledged receipt verifies offline from genesis alone", "[audit]") {
  const json& b = story().bundle;
  CHECK(b["format"] == "onebill-bundle/2");
  CHECK(b["documents"] == json{"P-1", "PL-A", "WR-TJ-1"});  // the proposal that revoked a key, with its history
  auto r = story().verify(b);
  INFO(r.to_json().dump(2));
  REQUIRE(r.ok);
  // 6 entries on WR-TJ-1 and PL-A (the rejected PL-B is another document) and the 6 on the proposal that revoked
  // a key (proposed, then approved by 5 more organisations).
  CHECK(r.counts.entries == 12);
  CHECK(r.counts.replayed == 12);
  CHECK(r.counts.result_proofs == 12);
  CHECK(r.counts.log_proofs == 11);  // the accepted ones
  CHECK(r.counts.signer_rejections == 0);
  CHECK(r.counts.signatures == 12);
  CHECK(r.counts.membership == r.counts.blocks);
  CHECK(r.counts.chained_reads > 0);
  CHECK(r.counts.certified == r.counts.blocks);
  CHECK(r.documents.at("WR-TJ-1")["holder"] == "trader");
  CHECK(r.documents.at("PL-A")["status"] == "released");
  CHECK(r.to_json()["ok"] == true);
  // The bundle's own documents' values are elided to their hash; with ?reads=full they are written out, and
  // both verify to the same documents.
  const json& e = b["entries"][1]["reads"];
  CHECK(e["doc/WR-TJ-1"].contains("hash"));
  CHECK(story().full["entries"][1]["reads"]["doc/WR-TJ-1"].is_string());
  CHECK(story().full.dump().size() > b.dump().size());
  auto rf = story().verify(story().full);
  REQUIRE(rf.ok);
  CHECK(rf.documents == r.documents);
  unsigned status = 0;
  story().s.call_json("GET", "/v1/documents/WR-TJ-1/bundle?reads=some", nullptr, "bank1", &status);
  CHECK(status == 400);
}

TEST_CASE("audit: tampering with entries is caught by the right check", "[audit]") {
  Story& st = story();
  SECTION("a changed field in an entry body") {
    json b = st.bundle;
    b["entries"][st.find(b, "pledge.request", "PL-A")]["envelope"]["tx"]["body"]["amount"]["value"] = 900000000;
    must_fail(b, "result_proof");
  }
  SECTION("a dropped entry between two others on the document") {
    json b = st.bundle;
    b["entries"].erase(st.find(b, "pledge.approve", "PL-A"));
    auto f = must_fail(b, "history");
    CHECK(f.where.find("height") != std::string::npos);
  }
  SECTION("a dropped approval of the proposal") {
    json b = st.bundle;
    b["entries"].erase(st.find(b, "gov.approve", "P-1"));
    must_fail(b, "history");
  }
  SECTION("the governance change left out altogether") {
    json b = st.bundle;
    json kept = json::array();
    for (const auto& e : b["entries"]) {
      if (e["envelope"]["tx"]["doc"] != "P-1") kept.push_back(e);
    }
    b["entries"] = kept;
    b["documents"] = json{"PL-A", "WR-TJ-1"};
    b["state_proofs"].erase("P-1");
    must_fail(b, "membership");
  }
  SECTION("a linked pledge left out of the bundle's documents") {
    json b = st.bundle;
    b["documents"] = json{"P-1", "WR-TJ-1"};
    b["state_proofs"].erase("PL-A");
    // Its entries still change it: the first one that does names it.
    auto f = must_fail(b, "history");
    CHECK(f.message.find("PL-A") != std::string::npos);
  }
  SECTION("a document asked for that the bundle never creates") {
    json b = st.bundle;
    b["document"] = "WR-NONE";
    b["documents"].push_back("WR-NONE");
    must_fail(b, "history");
  }
  SECTION("reordered entries") {
    json b = st.bundle;
    std::swap(b["entries"][1], b["entries"][2]);
    must_fail(b, "order");
  }
  SECTION("a forged signature") {
    json b = st.bundle;
    std::string sig = b["entries"][0]["envelope"]["sig"];
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    b["entries"][0]["envelope"]["sig"] = sig;
    must_fail(b, "signature");
  }
  SECTION("a signature swapped from another entry") {
    json b = st.bundle;
    b["entries"][0]["envelope"]["sig"] = b["entries"][1]["envelope"]["sig"];
    must_fail(b, "signature");
  }
  SECTION("an outcome flipped from rejected to accepted") {
    json b = st.bundle;
    json& e = b["entries"][st.find(b, "pledge.accept", "PL-A")];
    claim_accepted(e);
    must_fail(b, "result_proof");
  }
  SECTION("changed reads") {
    json b = st.bundle;
    json& e = b["entries"][st.find(b, "pledge.accept", "PL-A", 1)];
    e["reads"]["idx/pledge/WR-TJ-1"] = "PL-Z";
    must_fail(b, "result_proof");
  }
}

TEST_CASE("audit: a lying quorum cannot certify what the contracts do not give", "[audit]") {
  Story& st = story();
  SECTION("an entry by a revoked key certified as accepted") {
    // The pledge released by the pledgor with the key governance had revoked, instead of by the bank.
    json b = st.full;
    const std::size_t i = st.find(b, "pledge.release", "PL-A");
    b["entries"][i]["envelope"] = st.s.net.envelope("trader", "pledge.release", "PL-A", json::object());
    st.recertify(b, i);
    auto f = must_fail(b, "replay");
    CHECK(f.expected == "accepted");
    CHECK(f.found == "rejected (revoked_key)");
  }
  SECTION("a rejection certified as accepted") {
    json b = st.full;
    const std::size_t i = st.find(b, "pledge.accept", "PL-A");
    claim_accepted(b["entries"][i]);
    st.recertify(b, i);
    auto f = must_fail(b, "replay");
    CHECK(f.found == "rejected (customs_approval_required)");
  }
  SECTION("reads that hide the active pledge, certified") {
    json b = st.full;
    const std::size_t i = st.find(b, "pledge.request", "PL-A");
    b["entries"][i]["reads"]["idx/pledge/WR-TJ-1"] = "PL-OLD";
    st.recertify(b, i);
    must_fail(b, "replay");
  }
}

TEST_CASE("audit: heads and proofs that do not hold are caught", "[audit]") {
  Story& st = story();
  SECTION("a header without attestations is certified by the prev-hash link of the certified one after it") {
    json b = st.bundle;
    REQUIRE(b["blocks"].size() >= 2);
    b["blocks"][0]["attestations"] = json::array();
    auto r = st.verify(b);
    CHECK(r.ok);
    CHECK(r.counts.linked >= 1);
  }
  SECTION("a head with too few attestations") {
    json b = st.bundle;
    b["blocks"].back()["attestations"] = json::array();
    must_fail(b, "certificate");
  }
  SECTION("an attestation by a key that is not a voting node's") {
    json b = st.bundle;
    auto other = crypto::PrivateKey::generate(crypto::SigAlg::ecdsa_p256);
    json& blk = b["blocks"].back();  // the head: no later header links to it
    auto header = ledger::BlockHeader::from_json(blk["header"]);
    auto a = ledger::attest(*other, "n1", st.s.net.genesis()["network"], header->height, header->hash_hex(crypto::HashAlg::sha256));
    blk["attestations"] = json::array({a->to_json()});
    must_fail(b, "certificate");
  }
  SECTION("a log proof for another size") {
    json b = st.bundle;
    json& e = b["entries"][0];
    REQUIRE(e["status"] == "accepted");
    e["log_proof"].erase(e["log_proof"].size() - 1);
    must_fail(b, "log_proof");
  }
  SECTION("a head hash that is not the head block's") {
    json b = st.bundle;
    b["head"]["header_hash"] = std::string(64, '0');
    must_fail(b, "head");
  }
  SECTION("another network's genesis") {
    testing::TestNet other(std::filesystem::temp_directory_path() / ("onebill-audit-other-" + std::to_string(::getpid())), 1);
    auto r = audit::verify_bundle(testing::read_text(other.genesis_path()), st.bundle);
    std::filesystem::remove_all(other.dir());
    REQUIRE(r.failure);
    CHECK(r.failure->check == "genesis");
  }
  SECTION("a malformed bundle") {
    json b = st.bundle;
    b["entries"][0]["surprise"] = 1;
    auto f = must_fail(b, "format");
    CHECK(f.message.find("surprise") != std::string::npos);
  }
}

TEST_CASE("audit: what happened to a document after its last entry in the bundle is proved (state proofs)",
          "[audit][state]") {
  Story& st = story();
  SECTION("the bundle proves every document's state at the head") {
    const json& b = st.bundle;
    const json& head = b["blocks"].back()["header"];
    CHECK(head["state_size"].get<std::uint64_t>() >= 3);  // WR-TJ-1, PL-A, P-1 (and whatever else the node holds)
    for (const char* doc : {"P-1", "PL-A", "WR-TJ-1"}) {
      INFO(doc);
      REQUIRE(b["state_proofs"].contains(doc));
      CHECK(b["state_proofs"][doc]["size"] == head["state_size"]);
    }
    CHECK(b["state_proofs"].size() == 3);
    auto r = st.verify(b);
    REQUIRE(r.ok);
    CHECK(r.counts.state_proofs == 3);
  }
  SECTION("the pledge's release left out: the bundle shows it still pledged, and fails") {
    json b = st.bundle;
    // The newest entry on PL-A (and on WR-TJ-1, which it unlocks): without it, the replay leaves the pledge active.
    b["entries"].erase(st.find(b, "pledge.release", "PL-A"));
    auto f = must_fail(b, "state");
    CHECK(f.where == "document PL-A");
    CHECK(f.message.find("PL-A") != std::string::npos);
    CHECK(f.message.find("later entry on it is missing") != std::string::npos);
    CHECK(f.expected.find(b["blocks"].back()["header"]["state_root"].get<std::string>()) != std::string::npos);
    CHECK(f.found.find("state of hash") != std::string::npos);
  }
  SECTION("the newest two entries on the pledge left out, with their blocks") {
    json b = st.bundle;
    // The bank's acceptance and the release: the replay leaves the pledge approved but never accepted, and the
    // receipt unlocked as if it had never been pledged. Nothing later reads either document, so only the state
    // proof shows it.
    std::set<std::int64_t> dropped;
    for (const char* type : {"pledge.release", "pledge.accept"}) {
      const std::size_t i = st.find(b, type, "PL-A", std::string(type) == "pledge.accept" ? 1 : 0);
      dropped.insert(b["entries"][i]["height"].get<std::int64_t>());
      b["entries"].erase(i);
    }
    const std::int64_t head = b["head"]["height"].get<std::int64_t>();
    json blocks = json::array();
    for (const auto& blk : b["blocks"]) {
      const auto h = blk["header"]["height"].get<std::int64_t>();
      if (h == head || dropped.count(h) == 0) blocks.push_back(blk);
    }
    b["blocks"] = blocks;
    auto f = must_fail(b, "state");
    CHECK(f.where == "document PL-A");
  }
  SECTION("a changed proof path") {
    json b = st.bundle;
    json& path = b["state_proofs"]["WR-TJ-1"]["path"];
    REQUIRE(path.size() > 0);
    std::string d = path[0].get<std::string>();
    d[0] = d[0] == '0' ? '1' : '0';
    path[0] = d;
    auto f = must_fail(b, "state");
    CHECK(f.where == "document WR-TJ-1");
  }
  SECTION("a wrong index") {
    json b = st.bundle;
    json& p = b["state_proofs"]["PL-A"];
    p["index"] = p["index"].get<std::uint64_t>() ^ 1;
    auto f = must_fail(b, "state");
    CHECK(f.where == "document PL-A");
  }
  SECTION("another document's proof") {
    json b = st.bundle;
    b["state_proofs"]["PL-A"] = b["state_proofs"]["WR-TJ-1"];
    must_fail(b, "state");
  }
  SECTION("a proof for another size") {
    json b = st.bundle;
    json& p = b["state_proofs"]["WR-TJ-1"];
    p["size"] = p["size"].get<std::uint64_t>() + 1;
    auto f = must_fail(b, "state");
    CHECK(f.message.find("another size") != std::string::npos);
    // And a path one digest longer than a tree of the head's size has: it does not reach the root.
    json c = st.bundle;
    c["state_proofs"]["WR-TJ-1"]["path"].push_back(c["blocks"].back()["header"]["state_root"]);
    must_fail(c, "state");
  }
  SECTION("a proof left out") {
    json b = st.bundle;
    b["state_proofs"].erase("WR-TJ-1");
    auto f = must_fail(b, "state");
    CHECK(f.message.find("does not prove") != std::string::npos);
  }
  SECTION("a proof of a document that is not one of the bundle's") {
    json b = st.bundle;
    b["state_proofs"]["PL-B"] = b["state_proofs"]["PL-A"];
    must_fail(b, "format");
  }
  SECTION("a bundle of the previous format") {
    json b = st.bundle;
    b["format"] = "onebill-bundle/1";
    b.erase("state_proofs");
    auto f = must_fail(b, "format");
    CHECK(f.message.find("onebill-bundle/2") != std::string::npos);
  }
}

TEST_CASE("audit: a bundle whose certified head is below the applied height proves the states at that head",
          "[audit][state]") {
  // A certified head usually lags the applied height by a block or two; the node then reads the state tree as it
  // was at the head through its undo records. Here the head is taken two blocks down, after which OB-L2 — the
  // sibling of OB-L1's leaf — changed twice: OB-L1's proof at that head needs OB-L2's leaf as it was then.
  std::optional<SingleNode> s(std::in_place, "audit-lag");
  const std::string genesis = testing::read_text(s->net.genesis_path());
  const auto submit = [&](const std::string& org, const std::string& type, const std::string& doc, const json& body) {
    json a = s->call_json("POST", "/v1/transactions", s->net.envelope(org, type, doc, body), org);
    REQUIRE(a["status"] == "accepted");
  };
  submit("crct", "bill.issue", "OB-L1", testing::bill(testing::container(71)));
  submit("crct", "bill.issue", "OB-L2", testing::bill(testing::container(72)));
  submit("shipper", "bill.endorse", "OB-L2", {{"to", "trader"}});
  submit("trader", "bill.endorse", "OB-L2", {{"to", "buyer"}});
  for (int i = 0; i < 100 && s->call_json("GET", "/v1/log/head").value("height", 0) < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto config = node::load_config(s->net.nodes()[0].config);
  REQUIRE(config.ok());
  s->node->stop();  // closes the database; the network's files stay until `s` goes
  auto store = node::Store::open(config->data_dir / "db");
  REQUIRE(store.ok());
  auto members = contracts::Membership::from_genesis(genesis);
  REQUIRE(members.ok());
  const auto alg = members->hash_alg();
  const auto ghash = ledger::genesis_hash(genesis, alg).value();
  const auto bundle_at = [&](std::int64_t height) {
    auto head = node::load_certified_head(**store, *members, members->network(), alg, height, 1000);
    REQUIRE(head.ok());
    REQUIRE(head->has_value());
    REQUIRE((*head)->height == height);
    node::StoreSnapshot snap(**store);
    node::BundleSource src{**store, alg, members->network(), ghash, height, (*head)->header_hash, (*head)->attestations,
                           1, true, snap.get()};
    auto b = node::build_bundle(src, "OB-L1");
    REQUIRE(b.ok());
    return b->to_json();
  };
  const json at2 = bundle_at(2);
  const json at4 = bundle_at(4);
  s.reset();
  for (const json* b : {&at2, &at4}) {
    auto r = audit::verify_bundle(genesis, *b);
    INFO(r.to_json().dump(2));
    REQUIRE(r.ok);
    CHECK(r.counts.state_proofs == 1);
  }
  CHECK(at2["documents"] == json{"OB-L1"});
  CHECK(at2["state_proofs"]["OB-L1"]["size"] == 2);
  CHECK(at4["state_proofs"]["OB-L1"]["size"] == 2);
  // OB-L1 is leaf 0 of two: its proof is OB-L2's leaf, which the proof at height 2 took from the undo record of the
  // block at height 3. The current one does not reach the root of height 2.
  CHECK(at2["state_proofs"]["OB-L1"]["path"] != at4["state_proofs"]["OB-L1"]["path"]);
  json mixed = at2;
  mixed["state_proofs"] = at4["state_proofs"];
  auto r = audit::verify_bundle(genesis, mixed);
  REQUIRE(r.failure);
  CHECK(r.failure->check == "state");
  CHECK(r.failure->where == "document OB-L1");
}

TEST_CASE("audit: the node refuses bundles it must not give", "[audit]") {
  Story& st = story();
  unsigned status = 0;
  json p = st.s.call_json("GET", "/v1/documents/NO-SUCH-DOC/bundle", nullptr, "bank1", &status);
  CHECK(status == 404);
  p = st.s.call_json("GET", "/v1/documents/WR-TJ-1/bundle", nullptr, "hmm", &status);
  CHECK(status == 403);
  CHECK(p["code"] == "forbidden");
}

TEST_CASE("audit: bundles asked for at once are built, or refused as overloaded beyond limits.bundles", "[audit]") {
  Story& st = story();
  // Bundles are built on the node's bundle thread; at most limits.bundles (2 here) requests are in it at once, and
  // the others get 503 overloaded with Retry-After. Which ones is a matter of timing; what each gets is not.
  std::vector<node::http::Reply> replies(8);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    clients.emplace_back([&, i] { replies[i] = st.s.call("GET", "/v1/documents/WR-TJ-1/bundle", "", "bank1"); });
  }
  for (auto& t : clients) t.join();
  std::size_t built = 0, refused = 0;
  for (const auto& r : replies) {
    if (r.response.result_int() == 200) {
      ++built;
      CHECK(json::parse(r.response.body()) == st.bundle);
    } else {
      ++refused;
      CHECK(r.response.result_int() == 503);
      CHECK(json::parse(r.response.body())["code"] == "overloaded");
      CHECK(r.response[boost::beast::http::field::retry_after] == "1");
    }
  }
  CHECK(built >= 1);
  std::string metrics = st.s.call("GET", "/metrics").response.body();
  auto at = metrics.find("\nonebill_bundles_refused_total ");
  const long counted = at == std::string::npos ? 0 : std::stol(metrics.substr(at + 31));
  CHECK(counted == static_cast<long>(refused));
  // And the slots are given back: one more is built.
  unsigned status = 0;
  st.s.call_json("GET", "/v1/documents/WR-TJ-1/bundle", nullptr, "bank1", &status);
  CHECK(status == 200);
}

TEST_CASE("audit: onebill verify prints what held and exits 0, or the failed check and exits 5", "[audit][cli]") {
  Story& st = story();
  const auto dir = st.s.net.dir();
  const auto write = [](const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(dir / "bundle.json", st.bundle.dump());
  json tampered = st.bundle;
  tampered["entries"].erase(st.find(tampered, "pledge.approve", "PL-A"));
  write(dir / "tampered.json", tampered.dump());
  const auto run = [&](const std::vector<std::string>& args, std::string& out) {
    std::istringstream in;
    std::ostringstream o;
    std::ostringstream e;
    const int code = clients::cli::run(args, in, o, e, [](const std::string&) { return std::optional<std::string>(); });
    out = o.str() + e.str();
    return code;
  };
  std::string out;
  CHECK(run({"verify", (dir / "bundle.json").string(), "--genesis", st.s.net.genesis_path().string()}, out) == 0);
  CHECK(out.find("VERIFIED: 12 entries on 3 documents") != std::string::npos);
  CHECK(out.find("PL-A") != std::string::npos);
  CHECK(run({"verify", (dir / "tampered.json").string(), "--genesis", st.s.net.genesis_path().string()}, out) == 5);
  CHECK(out.find("NOT VERIFIED: history check failed at entry") != std::string::npos);
  CHECK(run({"verify", (dir / "bundle.json").string(), "--genesis", st.s.net.genesis_path().string(), "--json"}, out) == 0);
  CHECK(json::parse(out)["counts"]["replayed"] == 12);
}

TEST_CASE("audit: the verifier reads the bundle's text on several threads with the same answers", "[audit]") {
  Story& st = story();
  const std::string text = st.bundle.dump();
  for (unsigned threads : {1u, 2u, 4u}) {
    auto r = audit::verify_bundle_text(st.genesis, text, {}, threads);
    INFO(threads << " threads: " << r.to_json().dump());
    REQUIRE(r.ok);
    CHECK(r.documents == st.verify(st.bundle).documents);
  }
  json tampered = st.bundle;
  tampered["entries"].erase(st.find(tampered, "pledge.approve", "PL-A"));
  auto f = audit::verify_bundle_text(st.genesis, tampered.dump(2), {}, 2);
  REQUIRE(f.failure);
  CHECK(f.failure->check == "history");
  CHECK(audit::verify_bundle_text(st.genesis, text.substr(0, text.size() / 2)).failure->check == "json");
  CHECK(audit::verify_bundle_text(st.genesis, "[1,2]").failure->check == "json");
  // A duplicate key inside an entry: a reader taking the first and one taking the last would see two bundles.
  std::string dup = text;
  const auto at = dup.find("\"status\":\"accepted\"");
  REQUIRE(at != std::string::npos);
  dup.insert(at, "\"status\":\"rejected\",");
  CHECK(audit::verify_bundle_text(st.genesis, dup).failure->check == "json");
  CHECK(audit::verify_bundle_text(st.genesis, R"({"format":1,"format":2})").failure->check == "format");
}

TEST_CASE("audit: the result leaf and header of docs/formats/block.md", "[audit][format]") {
  // The worked example of block.md §3: one accepted bill.issue whose reads were three absent keys.
  contracts::ReadSet reads{{"doc/OB-1", std::nullopt},
                           {"idx/equipment/CSQU3054383", std::nullopt},
                           {"nonce/crct/k1", std::nullopt}};
  const ledger::EntryResult r{"0f89b3634903e61420036bac3fa09810fad1476c7fac02b7ffe39dc0e7fb53ed", true, "",
                              ledger::reads_hash(crypto::HashAlg::sha256, reads), 0};
  CHECK(r.reads == "b6ecfd9e1100c71b4fae73da6ed1a225a6b9661233fd9cb322d6ce5090d4c968");
  CHECK(crypto::hex(ledger::result_leaf(crypto::HashAlg::sha256, r)) ==
        "350bf519e0d56c249e5ec5e0b82b6c97f69ef77fbe19e889804ec2abc3a848fd");
  ledger::BlockHeader h;
  h.height = 1;
  h.prev = "9c1f0e4b7a2d5c8e3f6a1b4d7e0c3f6a9b2e5d8c1f4a7b0e3d6c9f2a5b8e1d4c";
  h.time = 1795600800412;
  h.tx_root = "4d5e55e938df517f70a079330a478e5406779f695618c814ec467494a90868ce";
  h.result_root = crypto::hex(ledger::result_leaf(crypto::HashAlg::sha256, r));
  h.log_size = 1;
  h.log_root = h.tx_root;
  h.membership_hash = "5e0d3c1a9f8b7e6d5c4b3a29180f7e6d5c4b3a2918f0e7d6c5b4a39281706f5e";
  h.writes_hash = "a4c1e9f07b3d2856e1f4a7c0d3b6e9f2a5c8e1b4d7f0a3c6e9b2d5f8a1c4e7b0";
  // The document state tree of block.md §3: one document, OB-1, whose stored bytes hash to `value` (illustrative,
  // as writes_hash is). Its leaf is the tree's root.
  const auto value = crypto::digest_from_hex("3e7c1d0a9b8f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918f0e7d6c").value();
  CHECK(ledger::state_leaf_text("OB-1", value) ==
        R"({"doc":"OB-1","value":"3e7c1d0a9b8f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918f0e7d6c"})");
  h.state_size = 1;
  h.state_root = crypto::hex(ledger::state_leaf(crypto::HashAlg::sha256, "OB-1", value));
  CHECK(h.state_root == "d320051618f5bc436d06c5639e138022ec015cd959e030a37dae41fe2d133337");
  CHECK(h.hash_hex(crypto::HashAlg::sha256) == "655cd8401d5efdec794ddd1007dcb75faa0637bd8cb96510b854151cecb8262c");
  // The same result at another position is another leaf.
  ledger::EntryResult moved = r;
  moved.index = 1;
  CHECK(ledger::result_leaf(crypto::HashAlg::sha256, moved) != ledger::result_leaf(crypto::HashAlg::sha256, r));
}

TEST_CASE("a result's canonical text is RFC 8785's, written directly or, when a string needs escaping, canonicalized",
          "[audit][format]") {
  const auto canonical = [](const ledger::EntryResult& r) { return crypto::canonicalize(r.to_json()).value(); };
  ledger::EntryResult r{std::string(64, 'a'), true, "", std::string(64, 'b'), 7};
  CHECK(r.canonical() == canonical(r));
  CHECK(r.canonical() == R"({"id":")" + std::string(64, 'a') + R"(","index":7,"reads":")" + std::string(64, 'b') +
                             R"(","status":"accepted"})");
  r.accepted = false;
  r.reason = "already_pledged";
  r.index = 1234567;
  CHECK(r.canonical() == canonical(r));
  for (const std::string odd : {"a\"quote", "back\\slash", "ctl\x01", "caf\xc3\xa9", "tab\t", "del\x7f"}) {
    INFO(odd);
    r.reason = odd;
    CHECK(r.canonical() == canonical(r));
    r.reason = "x";
    r.id = odd;
    CHECK(r.canonical() == canonical(r));
    r.id = std::string(64, 'a');
  }
  r.reason = "x";
  r.index = (std::uint64_t{1} << 53) - 1;  // the largest safe integer, written directly
  CHECK(r.canonical() == canonical(r));
  r.index = std::uint64_t{1} << 53;  // beyond: canonicalize refuses it, and so the text is empty
  CHECK(r.canonical().empty());
}

TEST_CASE("audit: voters a block adds cannot certify that block", "[audit]") {
  // One block adds a voting node n9 and removes the only voter n1 (two proposals, each approved by 6 of the 11
  // organisations). If n9 alone could certify that block, anyone holding n9's key could certify anything after.
  testing::TestNet net(std::filesystem::temp_directory_path() / ("onebill-audit-voters-" + std::to_string(::getpid())), 1);
  const std::string genesis = testing::read_text(net.genesis_path());
  auto n1 = crypto::PrivateKey::from_pem_any(testing::read_text(net.nodes()[0].dir / "tls.pem"));
  auto n9 = crypto::PrivateKey::generate(crypto::SigAlg::ecdsa_p256);
  REQUIRE(n1.ok());
  REQUIRE(n9.ok());
  const std::vector<std::string> approvers = {"hmm", "tjport", "customs", "bank1", "bank2"};
  std::vector<json> raw;
  const auto proposal = [&](const std::string& id, const json& action) {
    raw.push_back(net.envelope("crct", "gov.propose", id, action));
    for (const auto& org : approvers) raw.push_back(net.envelope(org, "gov.approve", id, json::object()));
  };
  proposal("P-ADD", {{"action", "node.add"},
                     {"params",
                      {{"id", "n9"}, {"org", "crct"}, {"raft", "127.0.0.1:7299"}, {"api", "127.0.0.1:7199"},
                       {"tls_pub", n9->public_key().to_pem()}, {"voter", true}}}});
  proposal("P-RM", {{"action", "node.remove"}, {"params", {{"id", "n1"}}}});
  raw.push_back(net.envelope("tjwh", "receipt.issue", "WR-X", receipt_body()));
  std::filesystem::remove_all(net.dir());
  std::vector<contracts::Envelope> entries;
  for (const auto& r : raw) entries.push_back(*contracts::envelope_from_json(r, crypto::HashAlg::sha256));

  const testing::BundleOptions one_block{.block_size = entries.size()};
  auto by_n9 = testing::certify_as_bundle(genesis, entries, *n9, "n9", one_block);
  REQUIRE(by_n9.ok());
  for (const auto& e : by_n9->entries) REQUIRE(e.accepted);  // both changes took effect
  auto forged = audit::verify_bundle(genesis, by_n9->to_json());
  INFO(forged.to_json().dump(2));
  REQUIRE(forged.failure);
  CHECK(forged.failure->check == "certificate");
  CHECK(forged.failure->message.find("voters before it") != std::string::npos);
  // The same block attested by the voter in force before it is certified.
  auto by_n1 = testing::certify_as_bundle(genesis, entries, *n1, "n1", one_block);
  REQUIRE(by_n1.ok());
  auto honest = audit::verify_bundle(genesis, by_n1->to_json());
  INFO(honest.to_json().dump(2));
  CHECK(honest.ok);
}
