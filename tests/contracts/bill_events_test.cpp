// bill.event: order of events per leg, who may report, and the discrepancies cross-verification opens.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;
namespace crypto = onebill::crypto;

namespace {

const std::vector<std::string> kBoth = {"CSQU3054383", "MSCU1234566"};

void issued(Ledger& l) { issue_bill(l, "OB-1"); }
void sea_loaded(Ledger& l) {
  issued(l);
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "loaded", "KRPUS", kBoth));
}
void sea_departed(Ledger& l) {
  sea_loaded(l);
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "departed", "KRPUS"));
}
void sea_arrived(Ledger& l) {
  sea_departed(l);
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "arrived", "CNTSN", kBoth));
}

json with_seals(json body, const std::string& ref, const std::vector<std::string>& seals) {
  for (auto& e : body["equipment"]) {
    if (e["ref"] == ref) e["seals"] = seals;
  }
  return body;
}

json discrepancies(Ledger& l) { return l.doc("OB-1")["discrepancies"]; }

}  // namespace

TEST_CASE("contracts: carrier events move legs and the bill along", "[contracts][bill][events]") {
  Ledger l;
  issued(l);
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "gate_in", "KRPUS", kBoth));
  CHECK(l.doc("OB-1")["legs"][0]["status"] == "gated_in");
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "loaded", "KRPUS", kBoth));
  CHECK(l.doc("OB-1")["status"] == "issued");
  must_accept(l, "hmm", "bill.event", "OB-1", with(event_body(0, "departed", "KRPUS"), {{"vehicle", "HMM OSLO 7E"}}));
  json b = l.doc("OB-1");
  CHECK(b["status"] == "in_transit");  // first departure
  CHECK(b["legs"][0]["status"] == "departed");
  CHECK(b["legs"][0]["vehicle"] == "HMM OSLO 7E");
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "arrived", "CNTSN", kBoth));
  must_accept(l, "tjport", "bill.event", "OB-1", event_body(0, "discharged", "CNTSN", kBoth));
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "discharged", "CNTSN", kBoth));
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "gate_out", "CNTSN", kBoth));
  CHECK(l.doc("OB-1")["legs"][0]["status"] == "gated_out");
  CHECK(l.doc("OB-1")["status"] == "in_transit");
  // Rail: Tianjin -> Alashankou/Dostyk (gauge change, re-seal) -> Małaszewicze (gauge change) -> Duisburg.
  must_accept(l, "tjport", "bill.event", "OB-1", event_body(1, "loaded", "CNTSN", kBoth));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "loaded", "CNTSN", kBoth));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "departed", "CNTSN"));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "border_crossed", "CNAKL"));
  must_accept(l, "crct", "bill.event", "OB-1",
              with_seals(with_seals(event_body(1, "gauge_changed", "KZDZH", kBoth), "CSQU3054383", {"KZ-77"}),
                         "MSCU1234566", {"KZ-78"}));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "border_crossed", "PLMAL"));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "gauge_changed", "PLMAL"));
  must_accept(l, "crct", "bill.event", "OB-1",
              with(with_seals(event_body(1, "arrived", "DEDUI", kBoth), "CSQU3054383", {"KZ-77"}),
                   {{"gross_kg", 22000}}));
  b = l.doc("OB-1");
  CHECK(b["status"] == "arrived");  // last leg arrived
  CHECK(b["legs"][1]["status"] == "arrived");
  CHECK(b["equipment"][0]["current_seals"] == json{"KZ-77"});
  CHECK(b["equipment"][0]["seals"] == json{"SL-1"});
  CHECK(b["discrepancies"].empty());  // a re-seal at a gauge change is no mismatch
  CHECK(b["legs"][1]["events"].size() == 8);
  CHECK(b["legs"][1]["events"][0]["as"] == "port");
  CHECK(b["legs"][1]["events"][1]["as"] == "carrier");
  must_accept(l, "dbport", "bill.event", "OB-1", event_body(1, "discharged", "DEDUI", kBoth));
  must_accept(l, "anyport", "bill.event", "OB-1", event_body(1, "gate_out", "DEDUI", kBoth));
}

TEST_CASE("contracts: bill.event rejections", "[contracts][bill][events]") {
  const json load0 = event_body(0, "loaded", "KRPUS", kBoth);
  check_rejections({
      {"not the leg's carrier", issued, "ktz", "bill.event", "OB-1", load0, "wrong_carrier"},
      {"the other leg's carrier", issued, "crct", "bill.event", "OB-1", load0, "wrong_carrier"},
      {"a trader", issued, "shipper", "bill.event", "OB-1", load0, "wrong_carrier"},
      {"a port cannot report a departure", sea_loaded, "tjport", "bill.event", "OB-1",
       event_body(0, "departed", "KRPUS"), "wrong_carrier"},
      {"a port elsewhere", sea_arrived, "dbport", "bill.event", "OB-1", event_body(0, "discharged", "CNTSN", kBoth),
       "wrong_carrier"},
      {"a port not at the leg's ends", issued, "anyport", "bill.event", "OB-1", event_body(0, "loaded", "CNAKL", kBoth),
       "wrong_carrier"},
      {"container not on the bill", issued, "hmm", "bill.event", "OB-1",
       event_body(0, "loaded", "KRPUS", {"TGHU7654320"}), "unknown_equipment"},
      {"container number invalid", issued, "hmm", "bill.event", "OB-1",
       event_body(0, "loaded", "KRPUS", {"TGHU7654321"}), "bad_container"},
      {"at is not a LOCODE", issued, "hmm", "bill.event", "OB-1", event_body(0, "loaded", "Busan", kBoth), "bad_locode"},
      {"departed before loaded", issued, "hmm", "bill.event", "OB-1", event_body(0, "departed", "KRPUS"),
       "leg_out_of_order"},
      {"arrived before departed", sea_loaded, "hmm", "bill.event", "OB-1", event_body(0, "arrived", "CNTSN", kBoth),
       "leg_out_of_order"},
      {"border crossed before departure", sea_loaded, "hmm", "bill.event", "OB-1",
       event_body(0, "border_crossed", "CNTSN"), "leg_out_of_order"},
      {"arrived twice", sea_arrived, "hmm", "bill.event", "OB-1", event_body(0, "arrived", "CNTSN", kBoth),
       "leg_out_of_order"},
      {"loaded twice", sea_loaded, "hmm", "bill.event", "OB-1", load0, "leg_out_of_order"},
      {"gate in after loading", sea_loaded, "hmm", "bill.event", "OB-1", event_body(0, "gate_in", "KRPUS", kBoth),
       "leg_out_of_order"},
      {"discharged before arrival", sea_departed, "hmm", "bill.event", "OB-1",
       event_body(0, "discharged", "CNTSN", kBoth), "leg_out_of_order"},
      {"next leg loads before the previous arrived", sea_departed, "crct", "bill.event", "OB-1",
       event_body(1, "loaded", "CNTSN", kBoth), "leg_out_of_order"},
      {"next leg departs before the previous arrived (port loaded first)", [](Ledger& x) {
         sea_departed(x);
         must_accept(x, "crct", "bill.event", "OB-1", event_body(1, "gate_in", "CNTSN", kBoth));
       }, "crct", "bill.event", "OB-1", event_body(1, "departed", "CNTSN"), "leg_out_of_order"},
      {"port discharges before arrival", sea_departed, "tjport", "bill.event", "OB-1",
       event_body(0, "discharged", "CNTSN", kBoth), "leg_out_of_order"},
      {"port reports the same event twice", [](Ledger& x) {
         sea_arrived(x);
         must_accept(x, "tjport", "bill.event", "OB-1", event_body(0, "discharged", "CNTSN", kBoth));
       }, "tjport", "bill.event", "OB-1", event_body(0, "discharged", "CNTSN", kBoth), "leg_out_of_order"},
      {"loaded needs containers", issued, "hmm", "bill.event", "OB-1", event_body(0, "loaded", "KRPUS"), "bad_body"},
      {"loaded at the wrong end", issued, "hmm", "bill.event", "OB-1", event_body(0, "loaded", "CNTSN", kBoth),
       "bad_body"},
      {"arrived at the wrong end", sea_departed, "hmm", "bill.event", "OB-1", event_body(0, "arrived", "KRPUS", kBoth),
       "bad_body"},
      {"no such leg", issued, "hmm", "bill.event", "OB-1", event_body(2, "loaded", "KRPUS", kBoth), "bad_body"},
      {"unknown event", issued, "hmm", "bill.event", "OB-1", event_body(0, "sank", "KRPUS"), "bad_body"},
      {"container listed twice", issued, "hmm", "bill.event", "OB-1",
       event_body(0, "loaded", "KRPUS", {"CSQU3054383", "CSQU3054383"}), "bad_body"},
      {"negative weight", sea_departed, "hmm", "bill.event", "OB-1",
       with(event_body(0, "arrived", "CNTSN", kBoth), {{"gross_kg", -1}}), "bad_body"},
      {"voided bill", [](Ledger& x) {
         issued(x);
         must_accept(x, "crct", "bill.void", "OB-1", {{"reason", "x"}});
       }, "hmm", "bill.event", "OB-1", load0, "bad_state"},
      {"no such bill", issued, "hmm", "bill.event", "OB-2", load0, "doc_not_found"},
  });
}

TEST_CASE("contracts: seal mismatches open discrepancies unless re-sealed at a gauge change",
          "[contracts][bill][events]") {
  Ledger l;
  issued(l);
  must_accept(l, "hmm", "bill.event", "OB-1", with_seals(event_body(0, "loaded", "KRPUS", kBoth), "CSQU3054383", {"SL-1"}));
  CHECK(discrepancies(l).empty());
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "departed", "KRPUS"));
  must_accept(l, "hmm", "bill.event", "OB-1",
              with_seals(event_body(0, "arrived", "CNTSN", kBoth), "MSCU1234566", {"SL-2", "TAMPER"}));
  json d = discrepancies(l);
  REQUIRE(d.size() == 1);
  CHECK(d[0]["n"] == 1);
  CHECK(d[0]["code"] == "seal_mismatch");
  CHECK(d[0]["by"] == "hmm");
  CHECK(d[0]["leg"] == 0);
  CHECK(d[0]["resolved"] == false);
  CHECK(d[0]["detail"].get<std::string>().find("MSCU1234566") != std::string::npos);
  // A port report that differs from the last known seals opens another one; matching reports do not.
  must_accept(l, "tjport", "bill.event", "OB-1",
              with_seals(event_body(0, "discharged", "CNTSN", kBoth), "MSCU1234566", {"SL-2", "TAMPER"}));
  CHECK(discrepancies(l).size() == 1);
  must_accept(l, "tjport", "bill.event", "OB-1",
              with_seals(event_body(0, "gate_out", "CNTSN", kBoth), "CSQU3054383", {"CN-1"}));
  CHECK(discrepancies(l).size() == 2);
  // A gauge change re-seals only when the carrier reports it.
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "loaded", "CNTSN", kBoth));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "departed", "CNTSN"));
  must_accept(l, "crct", "bill.event", "OB-1",
              with_seals(event_body(1, "gauge_changed", "KZDZH", kBoth), "CSQU3054383", {"KZ-1"}));
  CHECK(discrepancies(l).size() == 2);
  CHECK(l.doc("OB-1")["equipment"][0]["current_seals"] == json{"KZ-1"});
}

TEST_CASE("contracts: weight beyond 2 % opens weight_mismatch, computed in integers", "[contracts][bill][events]") {
  Ledger l;
  sea_departed(l);
  // Whole bill: 22000 kg; 2 % = 440 kg.
  must_accept(l, "hmm", "bill.event", "OB-1", with(event_body(0, "border_crossed", "CNTSN"), {{"gross_kg", 22440}}));
  must_accept(l, "hmm", "bill.event", "OB-1", with(event_body(0, "border_crossed", "CNTSN"), {{"gross_kg", 21560}}));
  CHECK(discrepancies(l).empty());
  must_accept(l, "hmm", "bill.event", "OB-1", with(event_body(0, "border_crossed", "CNTSN"), {{"gross_kg", 22441}}));
  CHECK(discrepancies(l).size() == 1);
  must_accept(l, "hmm", "bill.event", "OB-1", with(event_body(0, "border_crossed", "CNTSN"), {{"gross_kg", 21559}}));
  CHECK(discrepancies(l).size() == 2);
  // Per container: CSQU3054383 carries 10000 kg.
  must_accept(l, "hmm", "bill.event", "OB-1",
              with(event_body(0, "arrived", "CNTSN", {"CSQU3054383", "MSCU1234566"}), {{"gross_kg", 22000}}));
  CHECK(discrepancies(l).size() == 2);
  must_accept(l, "tjport", "bill.event", "OB-1",
              with(event_body(0, "discharged", "CNTSN", {"CSQU3054383"}), {{"gross_kg", 10200}}));
  must_accept(l, "hmm", "bill.event", "OB-1",
              with(event_body(0, "discharged", "CNTSN", {"CSQU3054383"}), {{"gross_kg", 10201}}));
  const json d = discrepancies(l);
  REQUIRE(d.size() == 3);
  CHECK(d[0]["code"] == "weight_mismatch");
  CHECK(d[2]["code"] == "weight_mismatch");
}

TEST_CASE("contracts: a container loaded but missing at arrival opens equipment_missing", "[contracts][bill][events]") {
  Ledger l;
  sea_departed(l);
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "arrived", "CNTSN", {"CSQU3054383"}));
  const json d = discrepancies(l);
  REQUIRE(d.size() == 1);
  CHECK(d[0]["code"] == "equipment_missing");
  CHECK(d[0]["detail"].get<std::string>().find("MSCU1234566") != std::string::npos);
}

TEST_CASE("contracts: port and carrier reporting different containers open equipment_mismatch",
          "[contracts][bill][events]") {
  Ledger l;
  sea_arrived(l);
  must_accept(l, "tjport", "bill.event", "OB-1", event_body(0, "discharged", "CNTSN", kBoth));
  must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "discharged", "CNTSN", {"CSQU3054383"}));
  json d = discrepancies(l);
  REQUIRE(d.size() == 1);
  CHECK(d[0]["code"] == "equipment_mismatch");
  // The carrier first, then the port: same check.
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "loaded", "CNTSN", {"MSCU1234566"}));
  must_accept(l, "tjport", "bill.event", "OB-1", event_body(1, "loaded", "CNTSN", kBoth));
  d = discrepancies(l);
  REQUIRE(d.size() == 2);
  CHECK(d[1]["code"] == "equipment_mismatch");
  CHECK(d[1]["by"] == "tjport");
  // Matching reports open nothing.
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "departed", "CNTSN"));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "arrived", "DEDUI", {"MSCU1234566"}));
  must_accept(l, "dbport", "bill.event", "OB-1", event_body(1, "discharged", "DEDUI", {"MSCU1234566"}));
  must_accept(l, "crct", "bill.event", "OB-1", event_body(1, "discharged", "DEDUI", {"MSCU1234566"}));
  CHECK(discrepancies(l).size() == 2);
}

TEST_CASE("contracts: a bill's events are stored apart from it, so its size does not grow with them",
          "[contracts][bill][events]") {
  Ledger l;
  sea_departed(l);
  const std::size_t departed_size = l.get(keys::document("OB-1"))->size();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(must_accept(l, "hmm", "bill.event", "OB-1", event_body(0, "border_crossed", "JPTYO")).tx_id);
  }
  const std::string stored = *l.get(keys::document("OB-1"));
  CHECK(stored.size() <= departed_size + 2);  // event_count (2 -> 22) and height each gained a digit
  const json raw = json::parse(stored);
  CHECK_FALSE(raw["legs"][0].contains("events"));
  CHECK(raw["legs"][0]["event_count"] == 22);
  CHECK(raw["legs"][0]["reports"].size() == 1);  // only the carrier's "loaded" is a port-type report
  CHECK(raw["legs"][1]["event_count"] == 0);
  // Each event at its own key, numbered per leg from 1; readers see them in the leg, in order.
  CHECK(l.has(keys::leg_event("OB-1", 0, 22)));
  CHECK_FALSE(l.has(keys::leg_event("OB-1", 0, 23)));
  const json view = l.doc("OB-1");
  REQUIRE(view["legs"][0]["events"].size() == 22);
  CHECK(view["legs"][0]["events"][0]["event"] == "loaded");
  CHECK(view["legs"][0]["events"][1]["event"] == "departed");
  for (std::size_t i = 0; i < ids.size(); ++i) CHECK(view["legs"][0]["events"][i + 2]["tx"] == ids[i]);
  CHECK(json::parse(*l.get(keys::leg_event("OB-1", 0, 3))) == view["legs"][0]["events"][2]);
  CHECK(view["legs"][1]["events"] == json::array());
}

TEST_CASE("contracts: an amendment that replaces a leg drops its events, and the new leg counts from 1",
          "[contracts][bill][events]") {
  Ledger l;
  issued(l);
  must_accept(l, "tjport", "bill.event", "OB-1", event_body(1, "gate_in", "CNTSN", kBoth));
  run_leg(l, "OB-1", 0);
  REQUIRE(l.has(keys::leg_event("OB-1", 1, 1)));
  must_accept(l, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "COD"}});
  must_accept(l, "crct", "bill.answer", "OB-1", {{"accept", true}});
  const json new_legs = {{{"mode", "sea"}, {"carrier", "hmm"}, {"from", "KRPUS"}, {"to", "CNTSN"}},
                         {{"mode", "rail"}, {"carrier", "ktz"}, {"from", "CNTSN"}, {"to", "PLMAL"}}};
  must_accept(l, "crct", "bill.amend", "OB-1", {{"changes", {{"place_of_delivery", "PLMAL"}, {"legs", new_legs}}}});
  CHECK_FALSE(l.has(keys::leg_event("OB-1", 1, 1)));  // the replaced rail leg's gate_in
  CHECK(l.has(keys::leg_event("OB-1", 0, 3)));         // the kept sea leg keeps its three
  json b = l.doc("OB-1");
  CHECK(b["legs"][0]["events"].size() == 3);
  CHECK(b["legs"][1]["event_count"] == 0);
  CHECK(b["legs"][1]["events_hash"] == std::string(kNoEventsHash));  // a new chain for the new leg
  CHECK(b["legs"][1]["events"] == json::array());
  CHECK(b["legs"][1]["reports"] == json::array());
  // The port's gate_in on the old leg no longer counts as reported: it may report it on the new one.
  must_accept(l, "tjport", "bill.event", "OB-1", event_body(1, "gate_in", "CNTSN", kBoth));
  b = l.doc("OB-1");
  REQUIRE(b["legs"][1]["events"].size() == 1);
  CHECK(b["legs"][1]["events"][0]["by"] == "tjport");
  CHECK(l.has(keys::leg_event("OB-1", 1, 1)));
}

TEST_CASE("contracts: bill_view reads a bill's events back and refuses a damaged count", "[contracts][bill][events]") {
  Ledger l;
  sea_loaded(l);
  MemoryState state;
  state.apply(WriteSet{{keys::leg_event("OB-1", 0, 1), *l.get(keys::leg_event("OB-1", 0, 1))}});
  json raw = json::parse(*l.get(keys::document("OB-1")));
  const auto alg = crypto::HashAlg::sha256;
  auto view = bill_view(raw, state, alg);
  REQUIRE(view.ok());
  CHECK((*view)["legs"][0]["events"].size() == 1);
  raw["legs"][0]["event_count"] = -1;
  auto bad = bill_view(raw, state, alg);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "corrupt_state");
  state.apply(WriteSet{{keys::leg_event("OB-1", 0, 1), std::string("not json")}});
  raw["legs"][0]["event_count"] = 1;
  auto unreadable = bill_view(raw, state, alg);
  REQUIRE_FALSE(unreadable.ok());
  CHECK(unreadable.error().code == "corrupt_state");
  // Other kinds pass through as stored.
  const json pledge = {{"kind", "pledge"}, {"id", "PL-1"}};
  CHECK(*bill_view(pledge, state, alg) == pledge);
}

TEST_CASE("contracts: a leg's events_hash chains its stored event records", "[contracts][bill][events]") {
  Ledger l;
  sea_loaded(l);
  const auto alg = crypto::HashAlg::sha256;
  json stored = json::parse(*l.get(keys::document("OB-1")));
  // A leg without events has the zero hash; each event extends the chain over its record's stored bytes.
  CHECK(stored["legs"][1]["event_count"] == 0);
  CHECK(stored["legs"][1]["events_hash"] == std::string(kNoEventsHash));
  const std::int64_t count = stored["legs"][0]["event_count"].get<std::int64_t>();
  REQUIRE(count >= 1);
  std::string chain(kNoEventsHash);
  for (std::int64_t n = 1; n <= count; ++n) {
    const std::string record = *l.get(keys::leg_event("OB-1", 0, n));
    // The documented definition: H(previous digest || record), hex.
    auto prev = crypto::digest_from_hex(chain);
    REQUIRE(prev.ok());
    std::string input(prev->begin(), prev->end());
    input += record;
    const std::string expected = crypto::hex(crypto::hash(alg, input));
    auto next = next_events_hash(alg, chain, record);
    REQUIRE(next.ok());
    CHECK(*next == expected);
    chain = *next;
  }
  CHECK(stored["legs"][0]["events_hash"] == chain);

  // Every record of the leg in a view of the state, as a reader's view would hold them.
  auto state_with = [&](std::int64_t skip, const std::string* replacement) {
    MemoryState state;
    for (std::int64_t n = 1; n <= count; ++n) {
      if (n == skip && replacement == nullptr) continue;
      const std::string v = n == skip ? *replacement : *l.get(keys::leg_event("OB-1", 0, n));
      state.apply(WriteSet{{keys::leg_event("OB-1", 0, n), v}});
    }
    return state;
  };
  REQUIRE(bill_view(stored, state_with(0, nullptr), alg).ok());
  // A record changed in one character (still a valid event object) breaks the chain.
  json forged = json::parse(*l.get(keys::leg_event("OB-1", 0, 1)));
  forged["at"] = "CNSHA";
  const std::string forged_text = forged.dump();
  auto changed = bill_view(stored, state_with(1, &forged_text), alg);
  REQUIRE_FALSE(changed.ok());
  CHECK(changed.error().code == "corrupt_state");
  CHECK(changed.error().message.find("events_hash") != std::string::npos);
  // A record dropped is missing.
  auto dropped = bill_view(stored, state_with(count, nullptr), alg);
  REQUIRE_FALSE(dropped.ok());
  CHECK(dropped.error().code == "corrupt_state");
  // A record added (the count raised to match) does not chain either.
  json longer = stored;
  longer["legs"][0]["event_count"] = count + 1;
  MemoryState plus = state_with(0, nullptr);
  plus.apply(WriteSet{{keys::leg_event("OB-1", 0, count + 1), *l.get(keys::leg_event("OB-1", 0, 1))}});
  auto added = bill_view(longer, plus, alg);
  REQUIRE_FALSE(added.ok());
  CHECK(added.error().code == "corrupt_state");
  // A malformed events_hash in a stored bill is corrupt state for the rules too.
  json malformed = stored;
  malformed["legs"][0]["events_hash"] = "not a digest";
  auto decoded = bill_from_json(malformed);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().code == "corrupt_state");
}
