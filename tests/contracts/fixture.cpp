#include "fixture.h"

#include "crypto/canonical_json.h"
#include "crypto/hash.h"

namespace onebill::contracts::testing {

json test_genesis() {
  struct O {
    const char* id;
    std::vector<std::string> roles;
    std::vector<std::string> locations;
  };
  const std::vector<O> orgs = {
      {"crct", {"mto", "rail_carrier"}, {}}, {"hmm", {"sea_carrier"}, {}},     {"ktz", {"rail_carrier"}, {}},
      {"trucker", {"road_carrier"}, {}},     {"tjport", {"port"}, {"CNTSN"}}, {"dbport", {"port"}, {"DEDUI"}},
      {"anyport", {"port"}, {}},             {"customs", {"customs"}, {}},    {"bank1", {"bank"}, {}},
      {"bank2", {"bank"}, {}},               {"tjwh", {"warehouse"}, {}},     {"shipper", {"trader"}, {}},
      {"trader", {"trader"}, {}},            {"buyer", {"trader"}, {}},       {"audit", {"auditor"}, {}},
  };
  json g{{"network", "onebill-test"}, {"hash", "sha256"}, {"orgs", json::array()}, {"nodes", json::array()},
         {"params", {{"block_max_entries", 2000}}}};
  for (const O& o : orgs) {
    json org{{"id", o.id},
             {"name", std::string("Org ") + o.id},
             {"roles", o.roles},
             {"keys", json::array({{{"id", std::string(o.id) + "/k1"}, {"alg", "ed25519"}, {"pub", kPem}}})}};
    if (!o.locations.empty()) org["locations"] = o.locations;
    g["orgs"].push_back(org);
  }
  g["nodes"].push_back({{"id", "n1"},
                        {"org", "crct"},
                        {"raft", "127.0.0.1:7201"},
                        {"api", "127.0.0.1:7101"},
                        {"tls_pub", kPem},
                        {"voter", true}});
  return g;
}

namespace {
Membership must_load(const json& genesis) {
  auto m = Membership::from_genesis_json(genesis);
  if (!m) FAIL("genesis: " << m.error().message);
  return std::move(m.value());
}
}  // namespace

Ledger::Ledger() : Ledger(test_genesis()) {}
Ledger::Ledger(const json& genesis) : members(must_load(genesis)) {}

Envelope Ledger::make(const std::string& signer, const std::string& type, const std::string& doc, const json& body,
                      std::optional<std::int64_t> nonce) {
  const std::string key = signer.find('/') == std::string::npos ? signer + "/k1" : signer;
  Tx tx;
  tx.type = type;
  tx.doc = doc;
  tx.signer = key;
  tx.nonce = nonce ? *nonce : next_nonce[key]++;
  tx.ts = "2026-11-25T10:00:00Z";
  tx.body = body;
  auto env = make_envelope(std::move(tx), crypto::Bytes{1, 2, 3}, members.hash_alg());
  if (!env) FAIL("make_envelope: " << env.error().message);
  return std::move(env.value());
}

Outcome Ledger::submit(const std::string& signer, const std::string& type, const std::string& doc, const json& body,
                       std::optional<std::int64_t> nonce) {
  return submit(make(signer, type, doc, body, nonce));
}

Outcome Ledger::submit(const Envelope& entry) { return block({entry}).front(); }

std::vector<Outcome> Ledger::block(const std::vector<Envelope>& entries) {
  height += 1;
  time_ms += 60'000;
  // Every block of every contracts test runs twice: without a document cache, and with the ledger's cache, which
  // has seen every document the earlier blocks saved or loaded. The cache must never change an outcome.
  Membership uncached_members = members;
  auto uncached = apply_block(entries, height, time_ms, state, uncached_members, nullptr);
  auto result = apply_block(entries, height, time_ms, state, members, nullptr, &documents);
  if (!result) FAIL("apply_block fault: " << result.error().code << ": " << result.error().message);
  REQUIRE(uncached.ok());
  REQUIRE(uncached->writes == result->writes);
  REQUIRE(uncached->outcomes.size() == result->outcomes.size());
  for (std::size_t i = 0; i < result->outcomes.size(); ++i) {
    const Outcome& a = uncached->outcomes[i];
    const Outcome& b = result->outcomes[i];
    REQUIRE(a.accepted == b.accepted);
    REQUIRE(a.reason == b.reason);
    REQUIRE(a.message == b.message);
    REQUIRE(a.writes == b.writes);
    REQUIRE(a.reads == b.reads);
    REQUIRE(a.documents == b.documents);
  }
  // Every bill state a test reaches: its stored bytes, written by the typed writer (canonical_bill), are exactly
  // what the JSON tree path gives, and decode back to a bill that writes them again. The same for event records.
  for (const auto& [k, v] : result->writes) {
    if (v && k.starts_with(keys::kLegEvent)) {  // every event record too, by canonical_event
      const json j = json::parse(*v);
      LegEvent event{j.at("event"), j.at("at"), j.at("by"), j.at("as"), j.at("equipment"),
                     j.at("gross_kg").is_null() ? std::nullopt : std::optional<std::int64_t>(j.at("gross_kg")),
                     j.at("vehicle").is_null() ? std::nullopt : std::optional<std::string>(j.at("vehicle")),
                     j.at("height"), j.at("tx")};
      auto tree = crypto::canonicalize(to_json(event));
      REQUIRE(tree.ok());
      REQUIRE(*tree == *v);
      auto typed = canonical_event(event);
      REQUIRE(typed.ok());
      REQUIRE(*typed == *v);
      continue;
    }
    if (!v || !k.starts_with(keys::kDocument) || v->find("\"kind\":\"bill\"") == std::string::npos) continue;
    auto decoded = bill_from_json(json::parse(*v));
    REQUIRE(decoded.ok());
    auto tree = crypto::canonicalize(to_json(*decoded));
    REQUIRE(tree.ok());
    REQUIRE(*tree == *v);
    auto typed = canonical_bill(*decoded);
    REQUIRE(typed.ok());
    REQUIRE(*typed == *v);
  }
  state.apply(result->writes);
  blocks.push_back(entries);
  outcomes.insert(outcomes.end(), result->outcomes.begin(), result->outcomes.end());
  return result->outcomes;
}

json Ledger::doc(const std::string& id) const {
  auto v = get(keys::document(id));
  if (!v) FAIL("no document " << id);
  auto view = bill_view(json::parse(*v), state, members.hash_alg());  // a bill's legs with their events, as readers see it
  REQUIRE(view.ok());
  return *view;
}

bool Ledger::has(const std::string& key) const { return get(key).has_value(); }

std::optional<std::string> Ledger::get(const std::string& key) const {
  auto v = state.get(key);
  REQUIRE(v.ok());
  return *v;
}

std::string Ledger::digest() const { return crypto::hex(state.digest(crypto::HashAlg::sha256)); }

Outcome must_accept(Ledger& l, const std::string& signer, const std::string& type, const std::string& doc,
                    const json& body) {
  Outcome o = l.submit(signer, type, doc, body);
  INFO(type << " " << doc << " by " << signer << ": " << o.reason << ": " << o.message);
  REQUIRE(o.accepted);
  REQUIRE(o.reason.empty());
  return o;
}

std::string must_reject(Ledger& l, const std::string& signer, const std::string& type, const std::string& doc,
                        const json& body, const std::string& reason) {
  const std::string before = l.digest();
  const std::string key = signer.find('/') == std::string::npos ? signer + "/k1" : signer;
  const std::int64_t nonce = l.next_nonce[key];
  Outcome o = l.submit(signer, type, doc, body);
  INFO(type << " " << doc << " by " << signer << " -> " << (o.accepted ? "accepted" : o.reason) << ": "
            << o.message);
  REQUIRE_FALSE(o.accepted);
  REQUIRE(o.reason == reason);
  REQUIRE(o.writes.empty());
  REQUIRE_FALSE(o.membership_change.has_value());
  REQUIRE(l.digest() == before);
  l.next_nonce[key] = nonce;  // a rejected entry leaves its nonce unused: reuse it, as a client would
  return o.message;
}

void check_rejections(const std::vector<RejectCase>& cases) {
  for (const RejectCase& c : cases) {
    INFO("case: " << c.name);
    Ledger l;
    if (c.setup) c.setup(l);
    must_reject(l, c.signer, c.type, c.doc, c.body, c.reason);
  }
}

json with(json base, const json& patch) {
  base.update(patch);
  return base;
}

json with_at(json base, const std::string& pointer, const json& value) {
  base[json::json_pointer(pointer)] = value;
  return base;
}

json bill_body() {
  return json{
      {"document_type", "BOL"},
      {"to_order", true},
      {"shipper", "shipper"},
      {"consignee", nullptr},
      {"notify", {"buyer"}},
      {"holder", "shipper"},
      {"place_of_receipt", "KRPUS"},
      {"place_of_delivery", "DEDUI"},
      {"legs",
       {{{"mode", "sea"}, {"carrier", "hmm"}, {"from", "KRPUS"}, {"to", "CNTSN"}, {"vehicle", "HMM ALGECIRAS 012W"}},
        {{"mode", "rail"}, {"carrier", "crct"}, {"from", "CNTSN"}, {"to", "DEDUI"}, {"vehicle", "X8044"}}}},
      {"equipment",
       {{{"ref", "CSQU3054383"}, {"iso_code", "45G1"}, {"seals", {"SL-1"}}},
        {{"ref", "MSCU1234566"}, {"iso_code", "22G1"}, {"seals", {"SL-2"}}}}},
      {"cargo",
       {{{"description", "Lithium-ion battery modules"},
         {"hs", "850760"},
         {"packages", 20},
         {"gross_kg", 10000},
         {"equipment_ref", "CSQU3054383"}},
        {{"description", "Electric motors"},
         {"hs", "85015230"},
         {"packages", 40},
         {"gross_kg", 12000},
         {"equipment_ref", "MSCU1234566"}}}},
      {"declared_value", {{"value", 1250000000}, {"ccy", "CNY"}}},
  };
}

json receipt_body(const std::string& lot, bool bonded, std::int64_t quantity) {
  return json{{"holder", "trader"},
              {"goods",
               {{"description", "Copper cathodes"},
                {"hs", "740311"},
                {"quantity", quantity},
                {"unit", "TNE"},
                {"gross_kg", quantity * 1000}}},
              {"location", "CNTSN"},
              {"lot", lot},
              {"bonded", bonded}};
}

json pledge_body(const std::string& collateral, const std::string& bank, std::int64_t value) {
  return json{{"collateral", collateral}, {"bank", bank}, {"amount", {{"value", value}, {"ccy", "CNY"}}},
              {"due", "2027-06-30"}};
}

json event_body(int leg, const std::string& event, const std::string& at, const std::vector<std::string>& refs) {
  json b{{"leg", leg}, {"event", event}, {"at", at}};
  if (!refs.empty()) {
    b["equipment"] = json::array();
    for (const auto& r : refs) b["equipment"].push_back({{"ref", r}});
  }
  return b;
}

void issue_bill(Ledger& l, const std::string& id, const json& body) { must_accept(l, "crct", "bill.issue", id, body); }

void run_leg(Ledger& l, const std::string& id, int leg) {
  const json bill = l.doc(id);
  const json& g = bill["legs"][static_cast<std::size_t>(leg)];
  const std::string carrier = g["carrier"];
  std::vector<std::string> refs;
  for (const auto& e : bill["equipment"]) refs.push_back(e["ref"]);
  must_accept(l, carrier, "bill.event", id, event_body(leg, "loaded", g["from"], refs));
  must_accept(l, carrier, "bill.event", id, event_body(leg, "departed", g["from"]));
  must_accept(l, carrier, "bill.event", id, event_body(leg, "arrived", g["to"], refs));
}

void release_import(Ledger& l, const std::string& id) {
  must_accept(l, "customs", "customs.decide", id,
              {{"procedure", "import"}, {"declaration", "DE-IMP-1"}, {"decision", "released"}});
}

void deliver_flow(Ledger& l, const std::string& id) {
  const json bill = l.doc(id);
  const std::string holder = bill["holder"];
  must_accept(l, holder, "bill.surrender", id, {{"for", "delivery"}});
  must_accept(l, "crct", "bill.answer", id, {{"accept", true}});
  must_accept(l, "crct", "bill.deliver", id, {{"to", holder}});
}

void activate_pledge(Ledger& l, const std::string& pid, const std::string& collateral, const std::string& pledgor,
                     bool approve, const std::string& bank) {
  must_accept(l, pledgor, "pledge.request", pid, pledge_body(collateral, bank));
  if (approve) {
    must_accept(l, "customs", "pledge.approve", pid, {{"approve", true}, {"reference", "PA-" + pid}});
  }
  must_accept(l, bank, "pledge.accept", pid, json::object());
}

}  // namespace onebill::contracts::testing
