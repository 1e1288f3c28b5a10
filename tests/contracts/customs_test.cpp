// customs.decide and what its decisions mean for holds and releases.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

namespace {

json decide(const std::string& procedure, const std::string& decision, const std::vector<std::string>& refs = {}) {
  json b{{"procedure", procedure}, {"declaration", "DECL-" + procedure}, {"decision", decision}};
  if (!refs.empty()) b["equipment"] = refs;
  return b;
}

void bill(Ledger& l) { issue_bill(l, "OB-1"); }
void receipt(Ledger& l) { must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body()); }

}  // namespace

TEST_CASE("contracts: customs decisions are recorded on bills, per container", "[contracts][customs]") {
  Ledger l;
  bill(l);
  const Outcome o = must_accept(l, "customs", "customs.decide", "OB-1", decide("export", "released"));
  json b = l.doc("OB-1");
  REQUIRE(b["customs"].size() == 1);
  CHECK(b["customs"][0] == json{{"n", 1}, {"procedure", "export"}, {"declaration", "DECL-export"},
                                {"decision", "released"}, {"equipment", json::array()}, {"by", "customs"},
                                {"height", l.height}, {"tx", o.tx_id}});
  // A hold on one container blocks a pledge; releasing that container on the same procedure lifts it.
  must_accept(l, "customs", "customs.decide", "OB-1", decide("transit", "held", {"MSCU1234566"}));
  must_accept(l, "shipper", "pledge.request", "PL-1", pledge_body("OB-1"));
  must_accept(l, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R"}});
  must_reject(l, "bank1", "pledge.accept", "PL-1", json::object(), "customs_hold");
  must_accept(l, "customs", "customs.decide", "OB-1", decide("transit", "released", {"CSQU3054383"}));
  must_reject(l, "bank1", "pledge.accept", "PL-1", json::object(), "customs_hold");  // the wrong container
  must_accept(l, "customs", "customs.decide", "OB-1", decide("transit", "released", {"MSCU1234566"}));
  must_accept(l, "bank1", "pledge.accept", "PL-1", json::object());
  b = l.doc("OB-1");
  CHECK(b["customs"].size() == 4);
  CHECK(b["customs"][1]["equipment"] == json{"MSCU1234566"});
}

TEST_CASE("contracts: an import release ends a receipt's bonded status", "[contracts][customs]") {
  Ledger l;
  receipt(l);
  CHECK(l.doc("WR-1")["bonded"] == true);
  must_accept(l, "customs", "customs.decide", "WR-1", decide("import", "inspection"));
  CHECK(l.doc("WR-1")["bonded"] == true);
  must_accept(l, "customs", "customs.decide", "WR-1", decide("import", "released"));
  CHECK(l.doc("WR-1")["bonded"] == false);
  // No longer bonded goods: a pledge needs no customs approval.
  must_accept(l, "trader", "pledge.request", "PL-1", pledge_body("WR-1"));
  must_accept(l, "bank1", "pledge.accept", "PL-1", json::object());
}

TEST_CASE("contracts: customs.decide rejections", "[contracts][customs]") {
  const json ok = decide("import", "released");
  check_rejections({
      {"not customs", bill, "crct", "customs.decide", "OB-1", ok, "wrong_role"},
      {"a bank", receipt, "bank1", "customs.decide", "WR-1", ok, "wrong_role"},
      {"container not on the bill", bill, "customs", "customs.decide", "OB-1", decide("import", "held", {"TGHU7654320"}),
       "unknown_equipment"},
      {"containers on a receipt", receipt, "customs", "customs.decide", "WR-1", decide("import", "held", {"TGHU7654320"}),
       "unknown_equipment"},
      {"container number", bill, "customs", "customs.decide", "OB-1", decide("import", "held", {"TGHU765432"}),
       "bad_container"},
      {"procedure", bill, "customs", "customs.decide", "OB-1", decide("smuggling", "released"), "bad_body"},
      {"decision", bill, "customs", "customs.decide", "OB-1", decide("import", "maybe"), "bad_body"},
      {"declaration missing", bill, "customs", "customs.decide", "OB-1",
       {{"procedure", "import"}, {"decision", "released"}}, "bad_body"},
      {"empty equipment list", bill, "customs", "customs.decide", "OB-1", with(ok, {{"equipment", json::array()}}),
       "bad_body"},
      {"no such document", nullptr, "customs", "customs.decide", "OB-1", ok, "doc_not_found"},
      {"a pledge", [](Ledger& x) {
         receipt(x);
         must_accept(x, "trader", "pledge.request", "PL-1", pledge_body("WR-1"));
       }, "customs", "customs.decide", "PL-1", ok, "doc_not_found"},
      {"voided bill", [](Ledger& x) {
         bill(x);
         must_accept(x, "crct", "bill.void", "OB-1", {{"reason", "x"}});
       }, "customs", "customs.decide", "OB-1", ok, "bad_state"},
      {"closed receipt", [](Ledger& x) {
         must_accept(x, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-1", false));
         must_accept(x, "trader", "receipt.withdraw", "WR-1", {{"quantity", 100}});
         must_accept(x, "tjwh", "receipt.release", "WR-1", {{"quantity", 100}});
       }, "customs", "customs.decide", "WR-1", ok, "bad_state"},
  });
}
