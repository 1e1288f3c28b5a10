// The three stories of issue 4, end to end through apply_block.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

namespace {
const json kEmpty = json::object();
const std::vector<std::string> kBoth = {"CSQU3054383", "MSCU1234566"};

json seals(json body, const std::vector<std::string>& first, const std::vector<std::string>& second) {
  body["equipment"][0]["seals"] = first;
  body["equipment"][1]["seals"] = second;
  return body;
}
}  // namespace

// Story 1: Busan (KRPUS) -> Tianjin (CNTSN) by sea, then rail Tianjin -> Alashankou (CNAKL) / Dostyk (KZDZH), gauge
// change and re-seal -> Małaszewicze (PLMAL), gauge change -> Duisburg (DEDUI). Issued to accomplished with two
// endorsements, a pledge released before surrender, and an import release.
TEST_CASE("contracts: story 1 - a one-bill from Busan to Duisburg", "[contracts][story]") {
  Ledger l;
  const std::string id = "OB-2026-000001";
  issue_bill(l, id);
  must_accept(l, "customs", "customs.decide", id,
              {{"procedure", "export"}, {"declaration", "KR-EXP-2026-1"}, {"decision", "released"}});

  // Sea leg: Busan -> Tianjin.
  must_accept(l, "hmm", "bill.event", id, seals(event_body(0, "loaded", "KRPUS", kBoth), {"SL-1"}, {"SL-2"}));
  must_accept(l, "hmm", "bill.event", id, event_body(0, "departed", "KRPUS"));
  CHECK(l.doc(id)["status"] == "in_transit");

  // First endorsement, at sea: the shipper sells the goods to the trader.
  must_accept(l, "shipper", "bill.endorse", id, {{"to", "trader"}});

  // The trader finances the cargo: a pledge to bank1. Not yet released for import, so customs approves first.
  must_accept(l, "trader", "pledge.request", "PL-1", pledge_body(id, "bank1", 800'000'000));
  must_reject(l, "bank1", "pledge.accept", "PL-1", kEmpty, "customs_approval_required");
  must_accept(l, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "TJ-PLEDGE-77"}});
  must_accept(l, "bank1", "pledge.accept", "PL-1", kEmpty);
  CHECK(l.doc(id)["pledge"] == "PL-1");
  must_reject(l, "trader", "bill.endorse", id, {{"to", "buyer"}}, "pledged");  // locked, and on record

  must_accept(l, "hmm", "bill.event", id,
              with(seals(event_body(0, "arrived", "CNTSN", kBoth), {"SL-1"}, {"SL-2"}), {{"gross_kg", 22100}}));
  must_accept(l, "tjport", "bill.event", id, event_body(0, "discharged", "CNTSN", kBoth));
  must_accept(l, "hmm", "bill.event", id, event_body(0, "discharged", "CNTSN", kBoth));

  // Rail leg: Tianjin -> Duisburg across two gauge changes.
  must_accept(l, "tjport", "bill.event", id, event_body(1, "loaded", "CNTSN", kBoth));
  must_accept(l, "crct", "bill.event", id, with(event_body(1, "loaded", "CNTSN", kBoth), {{"vehicle", "X8044"}}));
  must_accept(l, "crct", "bill.event", id, event_body(1, "departed", "CNTSN"));
  must_accept(l, "crct", "bill.event", id, event_body(1, "border_crossed", "CNAKL"));
  must_accept(l, "crct", "bill.event", id,
              with(seals(event_body(1, "gauge_changed", "KZDZH", kBoth), {"KZ-1001"}, {"KZ-1002"}),
                   {{"vehicle", "KZ 1520mm wagons"}}));
  must_accept(l, "crct", "bill.event", id, event_body(1, "border_crossed", "PLMAL"));
  must_accept(l, "crct", "bill.event", id,
              with(seals(event_body(1, "gauge_changed", "PLMAL", kBoth), {"PL-501"}, {"PL-502"}),
                   {{"vehicle", "PKP 1435mm wagons"}}));
  must_accept(l, "crct", "bill.event", id,
              with(seals(event_body(1, "arrived", "DEDUI", kBoth), {"PL-501"}, {"PL-502"}), {{"gross_kg", 21900}}));
  must_accept(l, "dbport", "bill.event", id, seals(event_body(1, "discharged", "DEDUI", kBoth), {"PL-501"}, {"PL-502"}));
  CHECK(l.doc(id)["status"] == "arrived");
  CHECK(l.doc(id)["discrepancies"].empty());

  // Surrender is refused while pledged; the trader repays and the bank releases.
  must_reject(l, "trader", "bill.surrender", id, {{"for", "delivery"}}, "pledged");
  must_accept(l, "bank1", "pledge.release", "PL-1", kEmpty);

  // Second endorsement: to the importer in Duisburg.
  must_accept(l, "trader", "bill.endorse", id, {{"to", "buyer"}});
  must_reject(l, "buyer", "bill.surrender", id, {{"for", "delivery"}}, "customs_not_released");
  must_accept(l, "customs", "customs.decide", id,
              {{"procedure", "import"}, {"declaration", "DE-IMP-2026-9"}, {"decision", "released"}});
  must_accept(l, "buyer", "bill.surrender", id, {{"for", "delivery"}});
  must_accept(l, "crct", "bill.answer", id, {{"accept", true}, {"note", "holder verified"}});
  must_accept(l, "crct", "bill.deliver", id, {{"to", "buyer"}});

  const json b = l.doc(id);
  CHECK(b["status"] == "accomplished");
  CHECK(b["holder"] == "buyer");
  CHECK(b["delivered_to"] == "buyer");
  REQUIRE(b["endorsements"].size() == 2);
  CHECK(b["endorsements"][0]["to"] == "trader");
  CHECK(b["endorsements"][1]["to"] == "buyer");
  CHECK(b["pledge"].is_null());
  CHECK(b["pledges"] == json{"PL-1"});
  CHECK(b["legs"][0]["status"] == "discharged");
  CHECK(b["legs"][1]["status"] == "arrived");
  CHECK(b["legs"][1]["vehicle"] == "PKP 1435mm wagons");
  CHECK(b["equipment"][0]["current_seals"] == json{"PL-501"});
  CHECK(b["customs"].size() == 2);
  CHECK(l.doc("PL-1")["status"] == "released");
  CHECK_FALSE(l.has(keys::equipment("CSQU3054383")));
  CHECK_FALSE(l.has(keys::active_pledge(id)));
  // Every rejected entry stayed out of state but is in the outcomes.
  std::size_t rejected = 0;
  for (const Outcome& o : l.outcomes) rejected += o.accepted ? 0 : 1;
  CHECK(rejected == 4);
}

// Story 2: a bonded warehouse receipt at Tianjin pledged with customs approval; a second pledge to another bank is
// refused; withdrawal refused while pledged; goods released after the pledge is released.
TEST_CASE("contracts: story 2 - a bonded receipt at Tianjin under pledge", "[contracts][story]") {
  Ledger l;
  must_accept(l, "tjwh", "receipt.issue", "WR-TJ-1", with(receipt_body("TJ-B7-0042", true, 250), {{"holder", "trader"}}));
  must_accept(l, "trader", "pledge.request", "PL-A", pledge_body("WR-TJ-1", "bank1", 300'000'000));
  must_reject(l, "bank1", "pledge.accept", "PL-A", kEmpty, "customs_approval_required");
  must_accept(l, "customs", "pledge.approve", "PL-A", {{"approve", true}, {"reference", "TJ-BOND-PL-1"}});
  must_accept(l, "bank1", "pledge.accept", "PL-A", kEmpty);
  CHECK(l.doc("WR-TJ-1")["locked"] == true);

  // The same receipt to a second bank: refused.
  must_reject(l, "trader", "pledge.request", "PL-B", pledge_body("WR-TJ-1", "bank2", 300'000'000), "already_pledged");
  // Nor can the goods leave, or the receipt change hands.
  must_reject(l, "trader", "receipt.withdraw", "WR-TJ-1", {{"quantity", 50}}, "pledged");
  must_reject(l, "trader", "receipt.endorse", "WR-TJ-1", {{"to", "buyer"}}, "pledged");

  must_accept(l, "bank1", "pledge.release", "PL-A", kEmpty);
  must_accept(l, "trader", "receipt.withdraw", "WR-TJ-1", {{"quantity", 250}});
  must_reject(l, "tjwh", "receipt.release", "WR-TJ-1", {{"quantity", 250}}, "customs_not_released");
  must_accept(l, "customs", "customs.decide", "WR-TJ-1",
              {{"procedure", "import"}, {"declaration", "TJ-IMP-3"}, {"decision", "released"}});
  must_accept(l, "tjwh", "receipt.release", "WR-TJ-1", {{"quantity", 250}});
  const json w = l.doc("WR-TJ-1");
  CHECK(w["status"] == "closed");
  CHECK(w["goods"]["remaining"] == 0);
  CHECK(w["bonded"] == false);
  CHECK(w["pledges"] == json{"PL-A"});

  // The race variant: two requests to two banks; only the first accepted in ledger order wins.
  Ledger r;
  must_accept(r, "tjwh", "receipt.issue", "WR-TJ-2", receipt_body("TJ-B7-0043", true));
  must_accept(r, "trader", "pledge.request", "PL-1", pledge_body("WR-TJ-2", "bank1"));
  must_accept(r, "trader", "pledge.request", "PL-2", pledge_body("WR-TJ-2", "bank2"));
  must_accept(r, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "A"}});
  must_accept(r, "customs", "pledge.approve", "PL-2", {{"approve", true}, {"reference", "B"}});
  const auto out = r.block({r.make("bank2", "pledge.accept", "PL-2", kEmpty), r.make("bank1", "pledge.accept", "PL-1", kEmpty)});
  CHECK(out[0].accepted);
  CHECK(out[1].reason == "already_pledged");
  CHECK(r.doc("WR-TJ-2")["pledge"] == "PL-2");
}

// Story 3: one warehouse lot cannot back two live receipts.
TEST_CASE("contracts: story 3 - the same lot on two receipts", "[contracts][story]") {
  json g = test_genesis();
  g["orgs"].push_back({{"id", "kzwh"},
                       {"name", "Khorgos dry port warehouse"},
                       {"roles", {"warehouse"}},
                       {"keys", {{{"id", "kzwh/k1"}, {"alg", "sm2"}, {"pub", kPem}}}}});
  Ledger l(g);
  must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-7"));
  const std::string msg = must_reject(l, "tjwh", "receipt.issue", "WR-2", with(receipt_body("LOT-7"), {{"holder", "buyer"}}),
                                      "lot_in_use");
  CHECK(msg.find("WR-1") != std::string::npos);
  // Lots are per warehouse: another warehouse's LOT-7 is a different lot.
  must_accept(l, "kzwh", "receipt.issue", "WR-3", receipt_body("LOT-7"));
  // Once the first receipt is closed, its lot may back a new one.
  must_accept(l, "customs", "customs.decide", "WR-1", {{"procedure", "import"}, {"declaration", "I"}, {"decision", "released"}});
  must_accept(l, "trader", "receipt.withdraw", "WR-1", {{"quantity", 100}});
  must_accept(l, "tjwh", "receipt.release", "WR-1", {{"quantity", 100}});
  must_accept(l, "tjwh", "receipt.issue", "WR-2", with(receipt_body("LOT-7"), {{"holder", "buyer"}}));
  // In one block, the second of two receipts for one lot loses.
  const auto out = l.block({l.make("tjwh", "receipt.issue", "WR-4", receipt_body("LOT-8")),
                            l.make("tjwh", "receipt.issue", "WR-5", receipt_body("LOT-8"))});
  CHECK(out[0].accepted);
  CHECK(out[1].reason == "lot_in_use");
}
