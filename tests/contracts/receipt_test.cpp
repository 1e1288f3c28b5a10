// receipt.issue, receipt.endorse, receipt.withdraw, receipt.release.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

namespace {

void issued(Ledger& l) { must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-1", false)); }
void bonded(Ledger& l) { must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-1", true)); }
void asked(Ledger& l) {
  issued(l);
  must_accept(l, "trader", "receipt.withdraw", "WR-1", {{"quantity", 40}});
}
void bonded_asked(Ledger& l) {
  bonded(l);
  must_accept(l, "trader", "receipt.withdraw", "WR-1", {{"quantity", 40}});
}
void pledged(Ledger& l) {
  issued(l);
  activate_pledge(l, "PL-1", "WR-1", "trader", false);
}
void surrendered_bill(Ledger& l) {
  issue_bill(l, "OB-1");
  run_leg(l, "OB-1", 0);
  run_leg(l, "OB-1", 1);
  release_import(l, "OB-1");
  must_accept(l, "shipper", "bill.surrender", "OB-1", {{"for", "delivery"}});
  must_accept(l, "crct", "bill.answer", "OB-1", {{"accept", true}});
}

}  // namespace

TEST_CASE("contracts: receipt.issue creates a live receipt and indexes its lot", "[contracts][receipt]") {
  Ledger l;
  const Outcome o = must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body());
  const json w = l.doc("WR-1");
  CHECK(w["kind"] == "receipt");
  CHECK(w["status"] == "live");
  CHECK(w["issuer"] == "tjwh");
  CHECK(w["holder"] == "trader");
  CHECK(w["head"] == o.tx_id);
  CHECK(w["goods"]["remaining"] == 100);
  CHECK(w["bonded"] == true);
  CHECK(w["locked"] == false);
  CHECK(l.get(keys::lot("tjwh", "LOT-1")) == std::optional<std::string>("WR-1"));
  // From a bill surrendered for delivery.
  surrendered_bill(l);
  const Outcome from_bill =
      must_accept(l, "tjwh", "receipt.issue", "WR-2", with(receipt_body("LOT-2"), {{"source_bill", "OB-1"}}));
  CHECK(from_bill.documents == std::vector<std::string>{"OB-1", "WR-2"});
  CHECK(l.doc("WR-2")["source_bill"] == "OB-1");

  const json r = receipt_body();
  check_rejections({
      {"not a warehouse", nullptr, "trader", "receipt.issue", "WR-1", r, "wrong_role"},
      {"doc exists", issued, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-2"), "doc_exists"},
      {"lot in use", issued, "tjwh", "receipt.issue", "WR-2", r, "lot_in_use"},
      {"source bill missing", nullptr, "tjwh", "receipt.issue", "WR-1", with(r, {{"source_bill", "OB-9"}}),
       "doc_not_found"},
      {"source bill not surrendered", [](Ledger& x) { issue_bill(x, "OB-1"); }, "tjwh", "receipt.issue", "WR-1",
       with(r, {{"source_bill", "OB-1"}}), "bad_state"},
      {"HS code", nullptr, "tjwh", "receipt.issue", "WR-1", with_at(r, "/goods/hs", "74"), "bad_hs"},
      {"location", nullptr, "tjwh", "receipt.issue", "WR-1", with(r, {{"location", "Tianjin"}}), "bad_locode"},
      {"zero quantity", nullptr, "tjwh", "receipt.issue", "WR-1", with_at(r, "/goods/quantity", 0), "bad_body"},
      {"unit", nullptr, "tjwh", "receipt.issue", "WR-1", with_at(r, "/goods/unit", "tonnes"), "bad_body"},
      {"lot id", nullptr, "tjwh", "receipt.issue", "WR-1", with(r, {{"lot", "LOT 1"}}), "bad_body"},
      {"holder unknown", nullptr, "tjwh", "receipt.issue", "WR-1", with(r, {{"holder", "ghost"}}), "bad_body"},
      {"unknown field", nullptr, "tjwh", "receipt.issue", "WR-1", with_at(r, "/goods/colour", "red"), "bad_body"},
      {"bonded must be a boolean", nullptr, "tjwh", "receipt.issue", "WR-1", with(r, {{"bonded", 1}}), "bad_body"},
  });
}

TEST_CASE("contracts: receipt.endorse transfers the receipt", "[contracts][receipt]") {
  Ledger l;
  issued(l);
  must_accept(l, "trader", "receipt.endorse", "WR-1", {{"to", "buyer"}});
  CHECK(l.doc("WR-1")["holder"] == "buyer");
  CHECK(l.doc("WR-1")["endorsements"][0]["from"] == "trader");
  const json to{{"to", "buyer"}};
  check_rejections({
      {"not the holder", issued, "buyer", "receipt.endorse", "WR-1", to, "not_holder"},
      {"the warehouse is not the holder", issued, "tjwh", "receipt.endorse", "WR-1", to, "not_holder"},
      {"pledged", pledged, "trader", "receipt.endorse", "WR-1", to, "pledged"},
      {"withdrawal pending", asked, "trader", "receipt.endorse", "WR-1", to, "bad_state"},
      {"closed", [](Ledger& x) {
         issued(x);
         must_accept(x, "trader", "receipt.withdraw", "WR-1", {{"quantity", 100}});
         must_accept(x, "tjwh", "receipt.release", "WR-1", {{"quantity", 100}});
       }, "trader", "receipt.endorse", "WR-1", to, "bad_state"},
      {"to itself", issued, "trader", "receipt.endorse", "WR-1", {{"to", "trader"}}, "bad_body"},
      {"a bill is not a receipt", [](Ledger& x) { issue_bill(x, "OB-1"); }, "shipper", "receipt.endorse", "OB-1", to,
       "doc_not_found"},
  });
}

TEST_CASE("contracts: withdraw and release until the receipt closes", "[contracts][receipt]") {
  Ledger l;
  issued(l);
  must_accept(l, "trader", "receipt.withdraw", "WR-1", {{"quantity", 40}});
  must_accept(l, "trader", "receipt.withdraw", "WR-1", {{"quantity", 60}});
  must_reject(l, "trader", "receipt.withdraw", "WR-1", {{"quantity", 1}}, "quantity_exceeded");  // all asked for
  must_accept(l, "tjwh", "receipt.release", "WR-1", {{"quantity", 60}});
  json w = l.doc("WR-1");
  CHECK(w["goods"]["remaining"] == 40);
  CHECK(w["status"] == "live");
  CHECK(w["withdrawals"][1]["status"] == "released");
  CHECK(w["withdrawals"][0]["status"] == "pending");
  must_accept(l, "tjwh", "receipt.release", "WR-1", {{"quantity", 40}});
  w = l.doc("WR-1");
  CHECK(w["goods"]["remaining"] == 0);
  CHECK(w["status"] == "closed");
  CHECK_FALSE(l.has(keys::lot("tjwh", "LOT-1")));
  must_accept(l, "tjwh", "receipt.issue", "WR-2", receipt_body("LOT-1"));  // the lot is free again

  check_rejections({
      {"withdraw: not the holder", issued, "buyer", "receipt.withdraw", "WR-1", {{"quantity", 1}}, "not_holder"},
      {"withdraw: pledged", pledged, "trader", "receipt.withdraw", "WR-1", {{"quantity", 1}}, "pledged"},
      {"withdraw: more than remains", issued, "trader", "receipt.withdraw", "WR-1", {{"quantity", 101}},
       "quantity_exceeded"},
      {"withdraw: more than remains after pending", asked, "trader", "receipt.withdraw", "WR-1", {{"quantity", 61}},
       "quantity_exceeded"},
      {"withdraw: zero", issued, "trader", "receipt.withdraw", "WR-1", {{"quantity", 0}}, "bad_body"},
      {"release: not the warehouse", asked, "trader", "receipt.release", "WR-1", {{"quantity", 40}}, "wrong_role"},
      {"release: pledged", pledged, "tjwh", "receipt.release", "WR-1", {{"quantity", 1}}, "pledged"},
      {"release: closed", [](Ledger& x) {
         issued(x);
         must_accept(x, "trader", "receipt.withdraw", "WR-1", {{"quantity", 100}});
         must_accept(x, "tjwh", "receipt.release", "WR-1", {{"quantity", 100}});
       }, "tjwh", "receipt.release", "WR-1", {{"quantity", 100}}, "bad_state"},
      {"release: nothing pending", issued, "tjwh", "receipt.release", "WR-1", {{"quantity", 40}},
       "no_pending_withdrawal"},
      {"release: quantity does not match", asked, "tjwh", "receipt.release", "WR-1", {{"quantity", 39}},
       "no_pending_withdrawal"},
      {"release: bonded without customs", bonded_asked, "tjwh", "receipt.release", "WR-1", {{"quantity", 40}},
       "customs_not_released"},
      {"release: bonded, export released but transit held", [](Ledger& x) {
         bonded_asked(x);
         must_accept(x, "customs", "customs.decide", "WR-1",
                     {{"procedure", "export"}, {"declaration", "E1"}, {"decision", "released"}});
         must_accept(x, "customs", "customs.decide", "WR-1",
                     {{"procedure", "transit"}, {"declaration", "T1"}, {"decision", "held"}});
       }, "tjwh", "receipt.release", "WR-1", {{"quantity", 40}}, "customs_hold"},
  });
}

TEST_CASE("contracts: bonded goods leave after an import or export release", "[contracts][receipt]") {
  Ledger l;
  bonded_asked(l);
  must_reject(l, "tjwh", "receipt.release", "WR-1", {{"quantity", 40}}, "customs_not_released");
  must_accept(l, "customs", "customs.decide", "WR-1",
              {{"procedure", "export"}, {"declaration", "E1"}, {"decision", "released"}});
  must_accept(l, "tjwh", "receipt.release", "WR-1", {{"quantity", 40}});
  CHECK(l.doc("WR-1")["bonded"] == true);  // re-export under bond: still bonded
  // An import release ends the bonded status.
  must_accept(l, "customs", "customs.decide", "WR-1",
              {{"procedure", "import"}, {"declaration", "I1"}, {"decision", "released"}});
  CHECK(l.doc("WR-1")["bonded"] == false);
  must_accept(l, "trader", "receipt.withdraw", "WR-1", {{"quantity", 60}});
  must_accept(l, "tjwh", "receipt.release", "WR-1", {{"quantity", 60}});
  CHECK(l.doc("WR-1")["status"] == "closed");
}
