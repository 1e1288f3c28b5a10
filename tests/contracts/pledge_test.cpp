// pledge.request, pledge.approve, pledge.accept, pledge.decline, pledge.cancel, pledge.release, pledge.enforce, and
// the `pledged` lock on the collateral.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

namespace {

const json kEmpty = json::object();

void receipt(Ledger& l) { must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-1", false)); }
void bonded_receipt(Ledger& l) { must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-1", true)); }
void requested(Ledger& l) {
  receipt(l);
  must_accept(l, "trader", "pledge.request", "PL-1", pledge_body("WR-1"));
}
void bonded_requested(Ledger& l) {
  bonded_receipt(l);
  must_accept(l, "trader", "pledge.request", "PL-1", pledge_body("WR-1"));
}
void active(Ledger& l) {
  requested(l);
  must_accept(l, "bank1", "pledge.accept", "PL-1", kEmpty);
}
void bill_requested(Ledger& l) {
  issue_bill(l, "OB-1");
  must_accept(l, "shipper", "pledge.request", "PL-1", pledge_body("OB-1"));
}

}  // namespace

TEST_CASE("contracts: a pledge on a receipt from request to release", "[contracts][pledge]") {
  Ledger l;
  requested(l);
  json p = l.doc("PL-1");
  CHECK(p["kind"] == "pledge");
  CHECK(p["status"] == "requested");
  CHECK(p["issuer"] == "trader");
  CHECK(p["pledgor"] == "trader");
  CHECK(p["holder"] == "bank1");
  CHECK(p["bank"] == "bank1");
  CHECK(p["collateral"] == "WR-1");
  CHECK(p["collateral_kind"] == "receipt");
  CHECK(p["amount"] == json{{"value", 500000000}, {"ccy", "CNY"}});
  CHECK(p["due"] == "2027-06-30");
  CHECK(l.doc("WR-1")["pledge"].is_null());  // requesting does not lock

  const Outcome acc = must_accept(l, "bank1", "pledge.accept", "PL-1", kEmpty);
  CHECK(acc.documents == std::vector<std::string>{"PL-1", "WR-1"});
  CHECK(l.doc("PL-1")["status"] == "active");
  CHECK(l.doc("PL-1")["activated"] == l.height);
  json w = l.doc("WR-1");
  CHECK(w["pledge"] == "PL-1");
  CHECK(w["locked"] == true);
  CHECK(w["pledges"] == json{"PL-1"});
  CHECK(w["head"] == acc.tx_id);
  CHECK(l.get(keys::active_pledge("WR-1")) == std::optional<std::string>("PL-1"));

  must_accept(l, "bank1", "pledge.release", "PL-1", kEmpty);
  CHECK(l.doc("PL-1")["status"] == "released");
  CHECK(l.doc("PL-1")["closed"] == l.height);
  w = l.doc("WR-1");
  CHECK(w["pledge"].is_null());
  CHECK(w["locked"] == false);
  CHECK(w["holder"] == "trader");
  CHECK_FALSE(l.has(keys::active_pledge("WR-1")));
  // Unlocked: it may be pledged again, to another bank.
  must_accept(l, "trader", "pledge.request", "PL-2", pledge_body("WR-1", "bank2"));
  must_accept(l, "bank2", "pledge.accept", "PL-2", kEmpty);
  CHECK(l.doc("WR-1")["pledges"] == json{"PL-1", "PL-2"});
}

TEST_CASE("contracts: enforcement makes the bank the holder and unlocks", "[contracts][pledge]") {
  Ledger l;
  active(l);
  must_accept(l, "bank1", "pledge.enforce", "PL-1", kEmpty);
  CHECK(l.doc("PL-1")["status"] == "enforced");
  const json w = l.doc("WR-1");
  CHECK(w["holder"] == "bank1");
  CHECK(w["pledge"].is_null());
  CHECK(w["endorsements"][0] == json{{"from", "trader"}, {"to", "bank1"}, {"via", "pledge.enforce"},
                                     {"height", l.height}, {"tx", w["head"]}});
  must_accept(l, "bank1", "receipt.withdraw", "WR-1", {{"quantity", 100}});  // the bank realises the goods
  // On a bill too.
  Ledger b;
  issue_bill(b, "OB-1");
  activate_pledge(b, "PL-1", "OB-1", "shipper");
  must_accept(b, "bank1", "pledge.enforce", "PL-1", kEmpty);
  CHECK(b.doc("OB-1")["holder"] == "bank1");
  must_accept(b, "bank1", "bill.endorse", "OB-1", {{"to", "buyer"}});
}

TEST_CASE("contracts: decline, cancel and customs refusal end a pledge before acceptance", "[contracts][pledge]") {
  {
    Ledger l;
    requested(l);
    must_accept(l, "bank1", "pledge.decline", "PL-1", {{"note", "insufficient margin"}});
    CHECK(l.doc("PL-1")["status"] == "declined");
    CHECK(l.doc("PL-1")["note"] == "insufficient margin");
  }
  {
    Ledger l;
    requested(l);
    must_accept(l, "trader", "pledge.cancel", "PL-1", kEmpty);
    CHECK(l.doc("PL-1")["status"] == "cancelled");
  }
  {
    Ledger l;
    bonded_requested(l);
    must_accept(l, "customs", "pledge.approve", "PL-1", {{"approve", false}, {"reference", "R-1"}});
    const json p = l.doc("PL-1");
    CHECK(p["status"] == "declined");
    CHECK(p["approvals"][0] == json{{"by", "customs"}, {"approve", false}, {"reference", "R-1"}, {"height", l.height}});
    must_reject(l, "bank1", "pledge.accept", "PL-1", kEmpty, "bad_state");
  }
  {
    Ledger l;
    bonded_requested(l);
    must_accept(l, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R-1"}});
    CHECK(l.doc("PL-1")["status"] == "approved");
    must_accept(l, "bank1", "pledge.decline", "PL-1", kEmpty);
    CHECK(l.doc("PL-1")["status"] == "declined");
  }
  {
    Ledger l;
    bonded_requested(l);
    must_accept(l, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R-1"}});
    must_accept(l, "trader", "pledge.cancel", "PL-1", kEmpty);
    CHECK(l.doc("PL-1")["status"] == "cancelled");
    CHECK(l.doc("PL-1")["closed"] == l.height);
  }
}

TEST_CASE("contracts: a bill released for import meanwhile needs no customs approval", "[contracts][pledge]") {
  Ledger l;
  bill_requested(l);
  must_reject(l, "bank1", "pledge.accept", "PL-1", kEmpty, "customs_approval_required");
  run_leg(l, "OB-1", 0);
  run_leg(l, "OB-1", 1);
  release_import(l, "OB-1");
  must_accept(l, "bank1", "pledge.accept", "PL-1", kEmpty);
  CHECK(l.doc("OB-1")["pledge"] == "PL-1");
}

TEST_CASE("contracts: pledge.request rejections", "[contracts][pledge]") {
  const json p = pledge_body("WR-1");
  check_rejections({
      {"not the holder", receipt, "buyer", "pledge.request", "PL-1", p, "not_holder"},
      {"the warehouse is not the holder", receipt, "tjwh", "pledge.request", "PL-1", p, "not_holder"},
      {"already pledged", active, "trader", "pledge.request", "PL-2", pledge_body("WR-1", "bank2"), "already_pledged"},
      {"lender is not a bank", receipt, "trader", "pledge.request", "PL-1", pledge_body("WR-1", "buyer"), "wrong_role"},
      {"lender is not an organisation", receipt, "trader", "pledge.request", "PL-1", pledge_body("WR-1", "ghost"),
       "wrong_role"},
      {"doc exists", requested, "trader", "pledge.request", "PL-1", p, "doc_exists"},
      {"no collateral", receipt, "trader", "pledge.request", "PL-1", pledge_body("WR-9"), "doc_not_found"},
      {"a pledge is no collateral", requested, "bank1", "pledge.request", "PL-2", pledge_body("PL-1", "bank2"),
       "doc_not_found"},
      {"collateral closed", [](Ledger& x) {
         receipt(x);
         must_accept(x, "trader", "receipt.withdraw", "WR-1", {{"quantity", 100}});
         must_accept(x, "tjwh", "receipt.release", "WR-1", {{"quantity", 100}});
       }, "trader", "pledge.request", "PL-1", p, "bad_state"},
      {"withdrawal pending", [](Ledger& x) {
         receipt(x);
         must_accept(x, "trader", "receipt.withdraw", "WR-1", {{"quantity", 10}});
       }, "trader", "pledge.request", "PL-1", p, "bad_state"},
      {"bill pending surrender", [](Ledger& x) {
         issue_bill(x, "OB-1");
         must_accept(x, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "COD"}});
       }, "shipper", "pledge.request", "PL-1", pledge_body("OB-1"), "bad_state"},
      {"due in the past", receipt, "trader", "pledge.request", "PL-1", with(p, {{"due", "2026-11-24"}}), "bad_body"},
      {"due not a date", receipt, "trader", "pledge.request", "PL-1", with(p, {{"due", "2027-02-29"}}), "bad_body"},
      {"zero amount", receipt, "trader", "pledge.request", "PL-1", with_at(p, "/amount/value", 0), "bad_body"},
      {"currency", receipt, "trader", "pledge.request", "PL-1", with_at(p, "/amount/ccy", "XAU"), "bad_currency"},
      {"a bank pledging to itself", [](Ledger& x) {
         receipt(x);
         must_accept(x, "trader", "receipt.endorse", "WR-1", {{"to", "bank1"}});
       }, "bank1", "pledge.request", "PL-1", p, "bad_body"},
  });
}

TEST_CASE("contracts: pledge.approve, accept, decline, cancel, release, enforce rejections", "[contracts][pledge]") {
  check_rejections({
      {"approve: not customs", bonded_requested, "bank1", "pledge.approve", "PL-1",
       {{"approve", true}, {"reference", "R"}}, "wrong_role"},
      {"approve: already approved", [](Ledger& x) {
         bonded_requested(x);
         must_accept(x, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R"}});
       }, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R2"}}, "bad_state"},
      {"approve: active", active, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R"}},
       "bad_state"},
      {"approve: no reference", bonded_requested, "customs", "pledge.approve", "PL-1", {{"approve", true}}, "bad_body"},
      {"approve: no pledge", receipt, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R"}},
       "doc_not_found"},

      {"accept: not the named bank", requested, "bank2", "pledge.accept", "PL-1", kEmpty, "wrong_role"},
      {"accept: the pledgor", requested, "trader", "pledge.accept", "PL-1", kEmpty, "wrong_role"},
      {"accept: already active", active, "bank1", "pledge.accept", "PL-1", kEmpty, "bad_state"},
      {"accept: body must be empty", requested, "bank1", "pledge.accept", "PL-1", {{"rate", 5}}, "bad_body"},
      {"accept: bonded receipt without customs approval", bonded_requested, "bank1", "pledge.accept", "PL-1", kEmpty,
       "customs_approval_required"},
      {"accept: bill before import release without customs approval", bill_requested, "bank1", "pledge.accept",
       "PL-1", kEmpty, "customs_approval_required"},
      {"accept: pledgor no longer holds the collateral", [](Ledger& x) {
         requested(x);
         must_accept(x, "trader", "receipt.endorse", "WR-1", {{"to", "buyer"}});
       }, "bank1", "pledge.accept", "PL-1", kEmpty, "not_holder"},
      {"accept: another pledge was accepted first", [](Ledger& x) {
         requested(x);
         must_accept(x, "trader", "pledge.request", "PL-2", pledge_body("WR-1", "bank2"));
         must_accept(x, "bank2", "pledge.accept", "PL-2", kEmpty);
       }, "bank1", "pledge.accept", "PL-1", kEmpty, "already_pledged"},
      {"accept: open discrepancy", [](Ledger& x) {
         bill_requested(x);
         must_accept(x, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R"}});
         must_accept(x, "hmm", "bill.event", "OB-1", event_body(0, "loaded", "KRPUS", {"CSQU3054383"}));
         must_accept(x, "anyport", "bill.event", "OB-1", event_body(0, "loaded", "KRPUS", {"MSCU1234566"}));
       }, "bank1", "pledge.accept", "PL-1", kEmpty, "open_discrepancy"},
      {"accept: customs hold", [](Ledger& x) {
         requested(x);
         must_accept(x, "customs", "customs.decide", "WR-1",
                     {{"procedure", "export"}, {"declaration", "E1"}, {"decision", "inspection"}});
       }, "bank1", "pledge.accept", "PL-1", kEmpty, "customs_hold"},
      {"accept: collateral pending surrender", [](Ledger& x) {
         bill_requested(x);
         must_accept(x, "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "R"}});
         must_accept(x, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "COD"}});
       }, "bank1", "pledge.accept", "PL-1", kEmpty, "bad_state"},
      {"accept: due date passed", [](Ledger& x) {
         requested(x);
         x.time_ms += 365LL * 86'400'000;
       }, "bank1", "pledge.accept", "PL-1", kEmpty, "bad_state"},

      {"decline: not the bank", requested, "bank2", "pledge.decline", "PL-1", kEmpty, "wrong_role"},
      {"decline: active", active, "bank1", "pledge.decline", "PL-1", kEmpty, "bad_state"},
      {"cancel: not the pledgor", requested, "bank1", "pledge.cancel", "PL-1", kEmpty, "wrong_role"},
      {"cancel: active", active, "trader", "pledge.cancel", "PL-1", kEmpty, "bad_state"},
      {"cancel: already declined", [](Ledger& x) {
         requested(x);
         must_accept(x, "bank1", "pledge.decline", "PL-1", kEmpty);
       }, "trader", "pledge.cancel", "PL-1", kEmpty, "bad_state"},
      {"release: not the bank", active, "trader", "pledge.release", "PL-1", kEmpty, "wrong_role"},
      {"release: not active", requested, "bank1", "pledge.release", "PL-1", kEmpty, "bad_state"},
      {"enforce: not the bank", active, "bank2", "pledge.enforce", "PL-1", kEmpty, "wrong_role"},
      {"enforce: released", [](Ledger& x) {
         active(x);
         must_accept(x, "bank1", "pledge.release", "PL-1", kEmpty);
       }, "bank1", "pledge.enforce", "PL-1", kEmpty, "bad_state"},
      {"enforce: a bill id is not a pledge", [](Ledger& x) { issue_bill(x, "OB-1"); }, "bank1", "pledge.enforce", "OB-1",
       kEmpty, "doc_not_found"},
  });
}

TEST_CASE("contracts: while pledged, the collateral cannot move (`pledged`)", "[contracts][pledge]") {
  const auto bill_pledged = [](Ledger& x) {
    issue_bill(x, "OB-1");
    run_leg(x, "OB-1", 0);
    run_leg(x, "OB-1", 1);
    release_import(x, "OB-1");
    activate_pledge(x, "PL-1", "OB-1", "shipper", false);
  };
  check_rejections({
      {"bill.endorse", bill_pledged, "shipper", "bill.endorse", "OB-1", {{"to", "trader"}}, "pledged"},
      {"bill.surrender for delivery", bill_pledged, "shipper", "bill.surrender", "OB-1", {{"for", "delivery"}},
       "pledged"},
      {"bill.surrender for amendment", bill_pledged, "shipper", "bill.surrender", "OB-1",
       {{"for", "amendment"}, {"reason", "COD"}}, "pledged"},
      {"bill.void", [](Ledger& x) {
         issue_bill(x, "OB-1");
         activate_pledge(x, "PL-1", "OB-1", "shipper");
       }, "crct", "bill.void", "OB-1", {{"reason", "x"}}, "pledged"},
      {"receipt.endorse", active, "trader", "receipt.endorse", "WR-1", {{"to", "buyer"}}, "pledged"},
      {"receipt.withdraw", active, "trader", "receipt.withdraw", "WR-1", {{"quantity", 1}}, "pledged"},
      {"pledge.request again", active, "trader", "pledge.request", "PL-2", pledge_body("WR-1", "bank2"),
       "already_pledged"},
  });
}
