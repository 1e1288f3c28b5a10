// Determinism (replaying the same entries gives byte-identical state and outcomes) and a seeded property test over
// random entries from several signers. std::mt19937 with fixed seeds lives here, in the test only.
#include <random>

#include "contracts/identifiers.h"
#include "contracts/indexes.h"
#include "contracts/nonce.h"

#include <catch2/catch.hpp>

#include "crypto/canonical_json.h"
#include "crypto/hash.h"
#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;
using onebill::crypto::HashAlg;

namespace {

// Hash of every outcome: canonical result JSON, message, documents, and the digest of its writes.
std::string outcomes_digest(const std::vector<Outcome>& outcomes) {
  onebill::crypto::Hasher h(HashAlg::sha256);
  for (const Outcome& o : outcomes) {
    h.update(onebill::crypto::canonicalize(o.result_json()).value());
    h.update(o.message);
    for (const auto& d : o.documents) h.update(d);
    const auto w = digest_writes(HashAlg::sha256, o.writes);
    h.update(onebill::crypto::ByteView(w.data(), w.size()));
  }
  return onebill::crypto::hex(h.finish());
}

// Replays `source`'s blocks on a fresh ledger from the same genesis.
Ledger replay(const Ledger& source, const json& genesis) {
  Ledger fresh(genesis);
  for (const auto& block : source.blocks) fresh.block(block);
  return fresh;
}

const std::vector<std::string> kSigners = {"crct",   "hmm",     "tjport", "dbport", "customs", "bank1",
                                           "bank2",  "tjwh",    "shipper", "trader", "buyer",  "audit"};
// A container number with a valid ISO 6346 check digit.
std::string container(int serial) {
  std::string first10 = "CRCU" + std::to_string(100000 + serial);
  return first10 + std::to_string(iso6346_check_digit(first10).value());
}

// Document ids: creations mostly take a fresh id (sometimes an existing one, for doc_exists); actions pick among the
// few most recent ids of the kind.
class Pool {
 public:
  explicit Pool(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string fresh(std::mt19937& rng, const Ledger& l) {
    std::erase_if(ids_, [&l](const std::string& id) { return !l.has(keys::document(id)); });
    if (!ids_.empty() && std::uniform_int_distribution<int>(0, 5)(rng) == 0) return ids_.front();
    ids_.push_back(prefix_ + std::to_string(++counter_));
    if (ids_.size() > 6) ids_.erase(ids_.begin());
    return ids_.back();
  }
  // Mostly one that exists in `l`'s state, when there is one.
  std::string recent(std::mt19937& rng, const Ledger& l) const {
    std::vector<std::string> existing;
    for (const auto& id : ids_) {
      if (l.has(keys::document(id))) existing.push_back(id);
    }
    const auto& from = existing.empty() || std::uniform_int_distribution<int>(0, 5)(rng) == 0 ? ids_ : existing;
    if (from.empty()) return prefix_ + "0";
    return from[static_cast<std::size_t>(std::uniform_int_distribution<int>(0, static_cast<int>(from.size()) - 1)(rng))];
  }

 private:
  std::string prefix_;
  int counter_ = 0;
  std::vector<std::string> ids_;
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed), bills_("OB-"), receipts_("WR-"), pledges_("PL-") {}

  Envelope next(Ledger& l) {
    ledger_ = &l;
    const int kind = pick(24);
    switch (kind) {
      case 0: return issue_bill(l);
      case 1: case 2: {
        const std::string id = bill();
        return simple(l, "bill.endorse", id, {{"to", any_org()}}, holder_of(l, id));
      }
      case 3: case 4: case 5: return event(l);
      case 6: {
        const std::string id = bill();
        json body = chance(2) ? json{{"for", "delivery"}} : json{{"for", "amendment"}, {"reason", pick(std::vector<std::string>{"COD", "SWI", "SWTP"})}};
        return simple(l, "bill.surrender", id, body, holder_of(l, id));
      }
      case 7: return simple(l, "bill.answer", bill(), {{"accept", chance(2)}}, "crct");
      case 8: {
        const std::string id = bill();
        return simple(l, "bill.deliver", id, {{"to", holder_of(l, id)}}, "crct");
      }
      case 9: return simple(l, "receipt.issue", receipts_.fresh(rng_, l),
                            with(receipt_body("LOT-" + std::to_string(pick(8)), chance(2), 1 + pick(100)),
                                 {{"holder", pick(std::vector<std::string>{"trader", "buyer", "shipper"})}}),
                            "tjwh");
      case 10: {
        const std::string id = receipt();
        return simple(l, "receipt.withdraw", id, {{"quantity", 1 + pick(60)}}, holder_of(l, id));
      }
      case 11: {
        const std::string id = receipt();
        return simple(l, "receipt.release", id, {{"quantity", pending_quantity(l, id)}}, "tjwh");
      }
      case 12: {
        const std::string id = receipt();
        return simple(l, "receipt.endorse", id, {{"to", any_org()}}, holder_of(l, id));
      }
      case 13: case 14: {
        const std::string collateral = chance(2) ? bill() : receipt();
        return simple(l, "pledge.request", pledges_.fresh(rng_, l), pledge_body(collateral, pick(std::vector<std::string>{"bank1", "bank2"})),
                      holder_of(l, collateral));
      }
      case 15: case 20: case 21: return simple(l, "pledge.approve", pledge(), {{"approve", pick(4) != 0}, {"reference", "R"}}, "customs");
      case 16: case 17: case 22: case 23: {
        const std::string id = pledge();
        const std::string action = pick(std::vector<std::string>{"pledge.accept", "pledge.accept", "pledge.release",
                                                                 "pledge.enforce", "pledge.decline", "pledge.cancel"});
        const std::string who = action == "pledge.cancel" ? field_of(l, id, "pledgor") : field_of(l, id, "bank");
        return simple(l, action, id, json::object(), who);
      }
      default: {
        const std::string id = chance(2) ? bill() : receipt();
        json body{{"procedure", pick(std::vector<std::string>{"export", "import", "transit"})},
                  {"declaration", "D"},
                  {"decision", pick(std::vector<std::string>{"released", "released", "held", "inspection"})}};
        return simple(l, "customs.decide", id, body, "customs");
      }
    }
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int one_in) { return pick(one_in) == 0; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<std::size_t>(pick(static_cast<int>(v.size())))]; }
  std::string any_org() { return pick(kSigners); }
  std::string bill() { return bills_.recent(rng_, *ledger_); }
  std::string receipt() { return receipts_.recent(rng_, *ledger_); }
  std::string pledge() { return pledges_.recent(rng_, *ledger_); }

  // Half the time the plausible signer, half the time anyone.
  Envelope simple(Ledger& l, const std::string& type, const std::string& doc, const json& body, const std::string& likely) {
    const std::string signer = (!likely.empty() && !chance(3)) ? likely : any_org();
    return l.make(signer, type, doc, body);
  }

  static std::string field_of(const Ledger& l, const std::string& id, const char* field) {
    auto v = l.get(keys::document(id));
    if (!v) return "";
    const json d = json::parse(*v);
    return d.contains(field) && d[field].is_string() ? d[field].get<std::string>() : "";
  }
  static std::string holder_of(const Ledger& l, const std::string& id) { return field_of(l, id, "holder"); }
  static std::int64_t pending_quantity(const Ledger& l, const std::string& id) {
    auto v = l.get(keys::document(id));
    if (!v) return 1;
    const json doc = json::parse(*v);  // named: a temporary in a range-for initializer would dangle
    for (const auto& w : doc["withdrawals"]) {
      if (w["status"] == "pending") return w["quantity"].get<std::int64_t>();
    }
    return 1;
  }

  Envelope issue_bill(Ledger& l) {
    json body = bill_body();
    body["holder"] = pick(std::vector<std::string>{"shipper", "trader"});
    const std::string a = container(pick(12));
    const std::string b = container(pick(12));
    body["equipment"][0]["ref"] = a;
    body["cargo"][0]["equipment_ref"] = a;
    body["equipment"][1]["ref"] = b;  // sometimes equal to a: bad_body
    body["cargo"][1]["equipment_ref"] = b;
    return simple(l, "bill.issue", bills_.fresh(rng_, l), body, "crct");
  }

  Envelope event(Ledger& l) {
    const std::string id = bill();
    const int leg = pick(2);
    const std::string event =
        pick(std::vector<std::string>{"loaded", "departed", "arrived", "discharged", "gauge_changed", "gate_in"});
    const bool origin = event == "loaded" || event == "departed" || event == "gate_in";
    const std::string at = leg == 0 ? (origin ? "KRPUS" : "CNTSN") : (origin ? "CNTSN" : "DEDUI");
    std::vector<std::string> refs;
    auto v = l.get(keys::document(id));
    if (v) {
      const json doc = json::parse(*v);
      for (const auto& e : doc["equipment"]) {
        if (pick(5) != 0) refs.push_back(e["ref"]);
      }
    }
    json body = event_body(leg, event, at, refs);
    if (chance(4)) body["gross_kg"] = 20000 + pick(4000);
    if (!refs.empty() && chance(6)) body["equipment"][0]["seals"] = {"X-" + std::to_string(pick(3))};
    const std::string carrier = leg == 0 ? "hmm" : "crct";
    const std::string port = leg == 0 ? (origin ? "anyport" : "tjport") : (origin ? "tjport" : "dbport");
    return simple(l, "bill.event", id, body, chance(3) ? port : carrier);
  }

  std::mt19937 rng_;
  Pool bills_;
  Pool receipts_;
  Pool pledges_;
  const Ledger* ledger_ = nullptr;
};

// The ledger invariants a risk officer relies on.
void check_invariants(const Ledger& l) {
  std::map<std::string, json> docs;
  for (const auto& [key, value] : l.state.scan(keys::kDocument)) {
    const json d = json::parse(value);
    docs[d["id"].get<std::string>()] = d;
  }
  std::map<std::string, int> active_per_collateral;
  for (const auto& [id, d] : docs) {
    INFO("document " << id << ": " << d.dump());
    // Every holder is an organisation of the membership.
    REQUIRE(l.members.org(d["holder"].get<std::string>()) != nullptr);
    if (d["kind"] == "pledge" && d["status"] == "active") {
      const std::string c = d["collateral"];
      ++active_per_collateral[c];
      REQUIRE(docs.count(c) == 1);
      REQUIRE(docs[c]["pledge"] == id);
      REQUIRE(l.get(keys::active_pledge(c)) == std::optional<std::string>(id));
      REQUIRE(docs[c]["holder"] == d["pledgor"]);
    }
    if (d["kind"] == "receipt") {
      const auto remaining = d["goods"]["remaining"].get<std::int64_t>();
      std::int64_t pending = 0;
      for (const auto& w : d["withdrawals"]) {
        if (w["status"] == "pending") pending += w["quantity"].get<std::int64_t>();
      }
      REQUIRE(remaining >= 0);
      REQUIRE(remaining <= d["goods"]["quantity"].get<std::int64_t>());
      REQUIRE(pending <= remaining);
      REQUIRE((d["status"] == "closed") == (remaining == 0));
    }
    if ((d["kind"] == "bill" || d["kind"] == "receipt") && !d["pledge"].is_null()) {
      REQUIRE(docs.count(d["pledge"].get<std::string>()) == 1);
      REQUIRE(docs[d["pledge"].get<std::string>()]["status"] == "active");
    }
    if (d["kind"] == "bill") {
      const bool live = d["status"] != "accomplished" && d["status"] != "voided" && d["status"] != "switched_to_paper";
      for (const auto& e : d["equipment"]) {
        const auto indexed = l.get(keys::equipment(e["ref"].get<std::string>()));
        if (live) REQUIRE(indexed == std::optional<std::string>(id));
        if (!live) REQUIRE(indexed != std::optional<std::string>(id));
      }
    }
  }
  for (const auto& [collateral, n] : active_per_collateral) {
    INFO("collateral " << collateral);
    REQUIRE(n == 1);
  }
  // The indexes are exactly what the documents call for (contracts/indexes.h: a state snapshot is checked so).
  std::map<std::string, std::string> expected, indexed;
  for (const auto& [id, d] : docs) {
    auto records = index_records(d);
    REQUIRE(records.ok());
    for (auto& [k, v] : *records) REQUIRE(expected.emplace(k, v).second);
  }
  for (const auto& [key, value] : l.state.scan("idx/")) indexed[key] = value;
  CHECK(indexed == expected);
}

// The nonce windows are what the accepted entries' nonces give, marked in ledger order (a state snapshot is
// checked so, node/ledger/history_check.h).
void check_nonce_windows(const Ledger& l) {
  std::map<std::string, NonceWindow> windows;
  std::size_t n = 0;
  for (const auto& block : l.blocks) {
    for (const auto& e : block) {
      REQUIRE(n < l.outcomes.size());
      if (l.outcomes[n++].accepted) windows[e.tx.signer].mark(e.tx.nonce);
    }
  }
  REQUIRE(n == l.outcomes.size());
  std::map<std::string, std::string> expected, stored;
  for (const auto& [key, w] : windows) expected[keys::nonce(key)] = onebill::crypto::canonicalize(w.to_json()).value();
  for (const auto& [key, value] : l.state.scan("nonce/")) stored[key] = value;
  CHECK(stored == expected);
}

// A fixed scenario touching every kind, for the replay test.
void scenario(Ledger& l) {
  issue_bill(l, "OB-1");
  run_leg(l, "OB-1", 0);
  must_accept(l, "shipper", "bill.endorse", "OB-1", {{"to", "trader"}});
  activate_pledge(l, "PL-1", "OB-1", "trader");
  l.submit("trader", "bill.endorse", "OB-1", {{"to", "buyer"}});  // rejected: pledged
  must_accept(l, "bank1", "pledge.release", "PL-1", json::object());
  run_leg(l, "OB-1", 1);
  release_import(l, "OB-1");
  deliver_flow(l, "OB-1");
  must_accept(l, "tjwh", "receipt.issue", "WR-1", with(receipt_body(), {{"source_bill", "OB-1"}}));
  activate_pledge(l, "PL-2", "WR-1", "trader");
  must_accept(l, "crct", "gov.propose", "P-1", {{"action", "key.revoke"}, {"params", {{"id", "ktz/k1"}}}});
  for (const char* org : {"hmm", "tjport", "dbport", "customs", "bank1", "bank2", "tjwh"}) {
    must_accept(l, org, "gov.approve", "P-1", json::object());
  }
  l.block({l.make("bank1", "pledge.enforce", "PL-2", json::object()), l.make("bank1", "receipt.withdraw", "WR-1", {{"quantity", 10}}),
           l.make("ktz", "gov.approve", "P-1", json::object())});
}

}  // namespace

TEST_CASE("contracts: replaying the same entries gives byte-identical state and outcomes", "[contracts][determinism]") {
  Ledger first;
  scenario(first);
  const std::string state = first.digest();
  const std::string outcomes = outcomes_digest(first.outcomes);
  for (int i = 0; i < 3; ++i) {
    const Ledger again = replay(first, test_genesis());
    CHECK(again.digest() == state);
    CHECK(outcomes_digest(again.outcomes) == outcomes);
    CHECK(again.state.entries() == first.state.entries());
    CHECK(again.members.hash().value() == first.members.hash().value());
  }
  // The entries of the last block came out as expected, and the offline view of membership agrees.
  const auto& last = first.outcomes;
  CHECK(last[last.size() - 3].accepted);
  CHECK(last[last.size() - 2].accepted);
  CHECK(last.back().reason == "revoked_key");
  // Different genesis hash algorithm -> different ids, but the same decisions.
  json sm3 = test_genesis();
  sm3["hash"] = "sm3";
  Ledger other(sm3);
  scenario(other);
  REQUIRE(other.outcomes.size() == first.outcomes.size());
  for (std::size_t i = 0; i < other.outcomes.size(); ++i) {
    CHECK(other.outcomes[i].accepted == first.outcomes[i].accepted);
    CHECK(other.outcomes[i].reason == first.outcomes[i].reason);
    CHECK(other.outcomes[i].tx_id != first.outcomes[i].tx_id);
  }
}

TEST_CASE("contracts: random entries never break the ledger invariants", "[contracts][property]") {
  std::map<std::string, int> accepted;
  std::map<std::string, int> reasons;
  std::map<std::string, std::map<std::string, int>> by_type;  // type -> reason ("" = accepted) -> count
  for (std::uint32_t seed : {1u, 2u, 3u, 42u, 2026u}) {
    INFO("seed " << seed);
    Ledger l;
    Generator gen(seed);
    for (int step = 0; step < 400; ++step) {
      std::vector<Envelope> block;
      const int n = 1 + step % 3;
      for (int i = 0; i < n; ++i) block.push_back(gen.next(l));
      const auto out = l.block(block);
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].accepted) ++accepted[block[i].tx.type];
        else ++reasons[out[i].reason];
        ++by_type[block[i].tx.type][out[i].reason];
      }
      check_invariants(l);
    }
    check_nonce_windows(l);
    // And the same run replays to the same bytes.
    const Ledger again = replay(l, test_genesis());
    CHECK(again.digest() == l.digest());
    CHECK(outcomes_digest(again.outcomes) == outcomes_digest(l.outcomes));
  }
  // The generator reaches deep states, not just rejections.
  std::string histogram;
  for (const auto& [type, counts] : by_type) {
    histogram += type + ":";
    for (const auto& [r, n] : counts) histogram += " " + (r.empty() ? std::string("accepted") : r) + "=" + std::to_string(n);
    histogram += "\n";
  }
  INFO(histogram);
  for (const char* type : {"bill.issue", "bill.endorse", "bill.event", "receipt.issue", "receipt.withdraw",
                           "receipt.release", "pledge.request", "pledge.accept", "pledge.release", "customs.decide"}) {
    INFO(type);
    CHECK(accepted[type] > 0);
  }
  for (const char* reason : {"already_pledged", "pledged", "not_holder", "wrong_role", "bad_state"}) {
    INFO(reason);
    CHECK(reasons[reason] > 0);
  }
}

TEST_CASE("the document cache answers only for the exact bytes it holds, within its bound", "[contracts][cache]") {
  using onebill::contracts::DocumentCache;
  DocumentCache cache(4096);
  auto tree = std::make_shared<const nlohmann::json>(nlohmann::json{{"kind", "bill"}});
  cache.insert("doc/A", R"({"kind":"bill"})", tree);
  CHECK(cache.find("doc/A", R"({"kind":"bill"})") == tree);
  CHECK(cache.find("doc/A", R"({"kind":"bill2"})") == nullptr);  // same key, other bytes: a miss
  CHECK(cache.find("doc/B", R"({"kind":"bill"})") == nullptr);   // same bytes, other key: a miss
  auto tree2 = std::make_shared<const nlohmann::json>(nlohmann::json{{"kind", "receipt"}});
  cache.insert("doc/A", R"({"kind":"receipt"})", tree2);  // replaced
  CHECK(cache.find("doc/A", R"({"kind":"bill"})") == nullptr);
  CHECK(cache.find("doc/A", R"({"kind":"receipt"})") == tree2);
  CHECK(cache.size() == 1);
  // Bounded: each entry costs about 8 x its bytes; the oldest go first.
  std::string big(200, 'x');
  for (int i = 0; i < 100; ++i) cache.insert("doc/D" + std::to_string(i), big + std::to_string(i), tree);
  CHECK(cache.size() < 5);
  CHECK(cache.find("doc/D99", big + "99") == tree);
  CHECK(cache.find("doc/D0", big + "0") == nullptr);
  // A value larger than the whole bound is not kept.
  cache.insert("doc/huge", std::string(5000, 'y'), tree);
  CHECK(cache.find("doc/huge", std::string(5000, 'y')) == nullptr);
}

TEST_CASE("a bill's events load it from the document cache, block after block", "[contracts][cache]") {
  // The fixture checks every block against a run without the cache; this checks the cache is actually used.
  using namespace onebill::contracts::testing;
  Ledger l;
  issue_bill(l, "OB-C1");
  const std::size_t hits_before = l.documents.hits();
  must_accept(l, "hmm", "bill.event", "OB-C1", event_body(0, "loaded", "KRPUS", {"CSQU3054383", "MSCU1234566"}));
  must_accept(l, "hmm", "bill.event", "OB-C1", event_body(0, "departed", "KRPUS"));
  CHECK(l.documents.hits() >= hits_before + 2);
}
