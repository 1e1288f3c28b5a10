// bill.issue, bill.endorse, bill.surrender, bill.answer, bill.amend, bill.deliver, bill.void, bill.resolve: every
// allowed transition, and every rule's rejection with its exact reason code and no change to state.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

namespace {

void issued(Ledger& l) { issue_bill(l, "OB-1"); }
void arrived(Ledger& l) {
  issued(l);
  run_leg(l, "OB-1", 0);
  run_leg(l, "OB-1", 1);
}
void released(Ledger& l) {
  arrived(l);
  release_import(l, "OB-1");
}
void straight(Ledger& l) {
  issue_bill(l, "OB-1", with(bill_body(), {{"to_order", false}, {"consignee", "buyer"}}));
}
void pledged(Ledger& l) {
  issued(l);
  activate_pledge(l, "PL-1", "OB-1", "shipper");
}
void pending_delivery(Ledger& l) {
  released(l);
  must_accept(l, "shipper", "bill.surrender", "OB-1", {{"for", "delivery"}});
}
void surrendered_for_delivery(Ledger& l) {
  pending_delivery(l);
  must_accept(l, "crct", "bill.answer", "OB-1", {{"accept", true}});
}
void pending_amendment(Ledger& l, const std::string& why) {
  issued(l);
  must_accept(l, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", why}});
}
void surrendered_for_amendment(Ledger& l) {
  pending_amendment(l, "COD");
  must_accept(l, "crct", "bill.answer", "OB-1", {{"accept", true}});
}
void with_discrepancy(Ledger& l) {
  issued(l);
  json load = event_body(0, "loaded", "KRPUS");
  load["equipment"] = {{{"ref", "CSQU3054383"}, {"seals", {"SL-9"}}}, {{"ref", "MSCU1234566"}}};
  must_accept(l, "hmm", "bill.event", "OB-1", load);
}

}  // namespace

TEST_CASE("contracts: bill.issue creates an issued bill and indexes its containers", "[contracts][bill]") {
  Ledger l;
  const Outcome o = must_accept(l, "crct", "bill.issue", "OB-1", bill_body());
  CHECK(o.documents == std::vector<std::string>{"OB-1"});
  const json b = l.doc("OB-1");
  CHECK(b["kind"] == "bill");
  CHECK(b["status"] == "issued");
  CHECK(b["issuer"] == "crct");
  CHECK(b["holder"] == "shipper");
  CHECK(b["version"] == 1);
  CHECK(b["head"] == o.tx_id);
  CHECK(b["height"] == l.height);
  CHECK(b["parties"]["consignee"].is_null());
  CHECK(b["legs"][0]["status"] == "planned");
  CHECK(b["legs"][1]["carrier"] == "crct");
  CHECK(b["equipment"][0]["current_seals"] == json{"SL-1"});
  CHECK(b["endorsements"].empty());
  CHECK(b["pledge"].is_null());
  CHECK(b["discrepancies"].empty());
  CHECK(l.get(keys::equipment("CSQU3054383")) == std::optional<std::string>("OB-1"));
  CHECK(l.get(keys::equipment("MSCU1234566")) == std::optional<std::string>("OB-1"));

  // A straight sea waybill; a road leg by a road carrier or by the MTO itself.
  must_accept(l, "crct", "bill.issue", "SWB-1",
              with(bill_body(), {{"document_type", "SWB"},
                                 {"to_order", false},
                                 {"consignee", "buyer"},
                                 {"equipment", {{{"ref", "TGHU7654320"}, {"iso_code", "22G1"}, {"seals", json::array()}}}},
                                 {"cargo",
                                  {{{"description", "Tyres"},
                                    {"hs", "401110"},
                                    {"packages", 1},
                                    {"gross_kg", 9000},
                                    {"equipment_ref", "TGHU7654320"}}}},
                                 {"place_of_delivery", "PLMAL"},
                                 {"legs",
                                  {{{"mode", "sea"}, {"carrier", "hmm"}, {"from", "KRPUS"}, {"to", "CNTSN"}},
                                   {{"mode", "road"}, {"carrier", "trucker"}, {"from", "CNTSN"}, {"to", "CNAKL"}},
                                   {{"mode", "road"}, {"carrier", "crct"}, {"from", "CNAKL"}, {"to", "PLMAL"}}}}}));
  CHECK(l.doc("SWB-1")["parties"]["consignee"] == "buyer");
}

TEST_CASE("contracts: bill.issue rejections", "[contracts][bill]") {
  const json b = bill_body();
  const json other_container = with(b, {{"equipment", {{{"ref", "HMMU6001236"}, {"iso_code", "45G1"}, {"seals", {"X"}}},
                                                        {{"ref", "MSCU1234566"}, {"iso_code", "45G1"}, {"seals", {"X"}}}}},
                                       {"cargo", {{{"description", "x"}, {"hs", "850760"}, {"packages", 1},
                                                   {"gross_kg", 1}, {"equipment_ref", "HMMU6001236"}}}}});
  check_rejections({
      {"signer lacks role mto", nullptr, "shipper", "bill.issue", "OB-1", b, "wrong_role"},
      {"a sea carrier is not an mto", nullptr, "hmm", "bill.issue", "OB-1", b, "wrong_role"},
      {"doc exists", issued, "crct", "bill.issue", "OB-1", with(b, {{"equipment", other_container["equipment"]},
                                                                    {"cargo", other_container["cargo"]}}),
       "doc_exists"},
      {"first leg does not start at the place of receipt", nullptr, "crct", "bill.issue", "OB-1",
       with(b, {{"place_of_receipt", "KRINC"}}), "bad_route"},
      {"legs do not chain", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/legs/1/from", "CNDLC"), "bad_route"},
      {"last leg does not reach the place of delivery", nullptr, "crct", "bill.issue", "OB-1",
       with(b, {{"place_of_delivery", "PLMAL"}}), "bad_route"},
      {"a leg to itself", nullptr, "crct", "bill.issue", "OB-1",
       with(b, {{"place_of_delivery", "CNTSN"},
                {"legs", {b["legs"][0], {{"mode", "rail"}, {"carrier", "crct"}, {"from", "CNTSN"}, {"to", "CNTSN"}}}}}),
       "bad_route"},
      {"sea leg carrier is not a sea carrier", nullptr, "crct", "bill.issue", "OB-1",
       with_at(b, "/legs/0/carrier", "crct"), "wrong_carrier"},
      {"rail leg carrier is not a rail carrier", nullptr, "crct", "bill.issue", "OB-1",
       with_at(b, "/legs/1/carrier", "hmm"), "wrong_carrier"},
      {"carrier is not an organisation", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/legs/1/carrier", "ghost"),
       "wrong_carrier"},
      {"road leg by a sea carrier", nullptr, "crct", "bill.issue", "OB-1",
       with(b, {{"legs", {b["legs"][0], with(b["legs"][1], {{"mode", "road"}, {"carrier", "hmm"}})}}}),
       "wrong_carrier"},
      {"container check digit", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/equipment/0/ref", "CSQU3054384"),
       "bad_container"},
      {"cargo container check digit", nullptr, "crct", "bill.issue", "OB-1",
       with_at(b, "/cargo/0/equipment_ref", "CSQU305438"), "bad_container"},
      {"cargo names an unlisted container", nullptr, "crct", "bill.issue", "OB-1",
       with_at(b, "/cargo/0/equipment_ref", "TGHU7654320"), "unknown_equipment"},
      {"place of receipt is not a LOCODE", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"place_of_receipt", "Busan"}}),
       "bad_locode"},
      {"leg end is not a LOCODE", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/legs/0/to", "CNTS1"), "bad_locode"},
      {"HS code", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/cargo/0/hs", "8507.60"), "bad_hs"},
      {"currency", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/declared_value/ccy", "RMB"), "bad_currency"},
      {"SWB cannot be to order", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"document_type", "SWB"}}),
       "bad_body"},
      {"consignee null on a straight bill", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"to_order", false}}),
       "bad_body"},
      {"container listed twice", nullptr, "crct", "bill.issue", "OB-1",
       with_at(b, "/equipment/1", b["equipment"][0]), "bad_body"},
      {"unknown field", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"incoterm", "FOB"}}), "bad_body"},
      {"unknown field in a leg", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/legs/0/speed", 3), "bad_body"},
      {"holder is not an organisation", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"holder", "ghost"}}),
       "bad_body"},
      {"holder is an auditor", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"holder", "audit"}}), "bad_body"},
      {"notify party unknown", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"notify", {"ghost"}}}), "bad_body"},
      {"document type", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"document_type", "AWB"}}), "bad_body"},
      {"zero packages", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/cargo/0/packages", 0), "bad_body"},
      {"no legs", nullptr, "crct", "bill.issue", "OB-1", with(b, {{"legs", json::array()}}), "bad_body"},
      {"mode", nullptr, "crct", "bill.issue", "OB-1", with_at(b, "/legs/0/mode", "air"), "bad_body"},
      {"container on another live bill", issued, "crct", "bill.issue", "OB-2", other_container, "equipment_in_use"},
  });
}

TEST_CASE("contracts: a container is free again once its bill is accomplished or voided", "[contracts][bill]") {
  Ledger l;
  surrendered_for_delivery(l);
  must_accept(l, "crct", "bill.deliver", "OB-1", {{"to", "shipper"}});
  CHECK_FALSE(l.has(keys::equipment("CSQU3054383")));
  issue_bill(l, "OB-2");
  must_accept(l, "crct", "bill.void", "OB-2", {{"reason", "booking cancelled"}});
  CHECK_FALSE(l.has(keys::equipment("CSQU3054383")));
  issue_bill(l, "OB-3");
  CHECK(l.get(keys::equipment("CSQU3054383")) == std::optional<std::string>("OB-3"));
}

TEST_CASE("contracts: bill.endorse passes a to-order bill along the chain", "[contracts][bill]") {
  Ledger l;
  issued(l);
  must_accept(l, "shipper", "bill.endorse", "OB-1", {{"to", "trader"}});
  must_accept(l, "trader", "bill.endorse", "OB-1", {{"to", "buyer"}});
  const json b = l.doc("OB-1");
  CHECK(b["holder"] == "buyer");
  REQUIRE(b["endorsements"].size() == 2);
  CHECK(b["endorsements"][0]["from"] == "shipper");
  CHECK(b["endorsements"][0]["to"] == "trader");
  CHECK(b["endorsements"][1]["from"] == "trader");
  CHECK(b["endorsements"][1]["via"] == "endorse");
  CHECK(b["endorsements"][1]["height"] == l.height);
  CHECK(b["status"] == "issued");

  const json to_trader{{"to", "trader"}};
  check_rejections({
      {"not the holder", issued, "trader", "bill.endorse", "OB-1", {{"to", "buyer"}}, "not_holder"},
      {"the issuer is not the holder", issued, "crct", "bill.endorse", "OB-1", to_trader, "not_holder"},
      {"straight bill", straight, "shipper", "bill.endorse", "OB-1", to_trader, "bad_state"},
      {"pledged", pledged, "shipper", "bill.endorse", "OB-1", to_trader, "pledged"},
      {"pending surrender", [](Ledger& x) { pending_amendment(x, "COD"); }, "shipper", "bill.endorse", "OB-1", to_trader,
       "bad_state"},
      {"surrendered", surrendered_for_delivery, "shipper", "bill.endorse", "OB-1", to_trader, "bad_state"},
      {"to itself", issued, "shipper", "bill.endorse", "OB-1", {{"to", "shipper"}}, "bad_body"},
      {"to an unknown org", issued, "shipper", "bill.endorse", "OB-1", {{"to", "ghost"}}, "bad_body"},
      {"to an auditor", issued, "shipper", "bill.endorse", "OB-1", {{"to", "audit"}}, "bad_body"},
      {"no such bill", issued, "shipper", "bill.endorse", "OB-9", to_trader, "doc_not_found"},
      {"a receipt is not a bill",
       [](Ledger& x) { must_accept(x, "tjwh", "receipt.issue", "WR-1", receipt_body()); }, "trader", "bill.endorse",
       "WR-1", {{"to", "buyer"}}, "doc_not_found"},
  });
}

TEST_CASE("contracts: bill.surrender for delivery and for amendment", "[contracts][bill]") {
  {
    Ledger l;
    pending_delivery(l);
    const json b = l.doc("OB-1");
    CHECK(b["status"] == "pending_surrender_for_delivery");
    CHECK(b["surrenders"][0]["for"] == "delivery");
    CHECK(b["surrenders"][0]["status"] == "pending");
    CHECK(b["surrenders"][0]["by"] == "shipper");
  }
  {
    Ledger l;
    pending_amendment(l, "SWI");
    CHECK(l.doc("OB-1")["status"] == "pending_surrender_for_amendment");
    CHECK(l.doc("OB-1")["surrenders"][0]["reason"] == "SWI");
  }
  const json delivery{{"for", "delivery"}};
  check_rejections({
      {"amendment needs a reason", issued, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}}, "bad_body"},
      {"delivery takes no reason", released, "shipper", "bill.surrender", "OB-1", {{"for", "delivery"}, {"reason", "COD"}},
       "bad_body"},
      {"unknown purpose", issued, "shipper", "bill.surrender", "OB-1", {{"for", "fun"}}, "bad_body"},
      {"unknown reason", issued, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "XYZ"}},
       "bad_body"},
      {"not the holder", released, "buyer", "bill.surrender", "OB-1", delivery, "not_holder"},
      {"pledged", [](Ledger& x) {
         released(x);
         activate_pledge(x, "PL-1", "OB-1", "shipper", false);
       }, "shipper", "bill.surrender", "OB-1", delivery, "pledged"},
      {"already pending", pending_delivery, "shipper", "bill.surrender", "OB-1", delivery, "bad_state"},
      {"already surrendered", surrendered_for_delivery, "shipper", "bill.surrender", "OB-1", delivery, "bad_state"},
      {"not arrived (issued)", issued, "shipper", "bill.surrender", "OB-1", delivery, "not_arrived"},
      {"not arrived (in transit)", [](Ledger& x) {
         issued(x);
         run_leg(x, "OB-1", 0);
       }, "shipper", "bill.surrender", "OB-1", delivery, "not_arrived"},
      {"no import release", arrived, "shipper", "bill.surrender", "OB-1", delivery, "customs_not_released"},
      {"import released for one container only", [](Ledger& x) {
         arrived(x);
         must_accept(x, "customs", "customs.decide", "OB-1",
                     {{"procedure", "import"}, {"declaration", "D1"}, {"decision", "released"},
                      {"equipment", {"CSQU3054383"}}});
       }, "shipper", "bill.surrender", "OB-1", delivery, "customs_not_released"},
      {"import released, then held", [](Ledger& x) {
         released(x);
         must_accept(x, "customs", "customs.decide", "OB-1",
                     {{"procedure", "import"}, {"declaration", "D2"}, {"decision", "held"}});
       }, "shipper", "bill.surrender", "OB-1", delivery, "customs_not_released"},
      {"a transit hold", [](Ledger& x) {
         released(x);
         must_accept(x, "customs", "customs.decide", "OB-1",
                     {{"procedure", "transit"}, {"declaration", "T1"}, {"decision", "inspection"}});
       }, "shipper", "bill.surrender", "OB-1", delivery, "customs_hold"},
      {"open discrepancy", [](Ledger& x) {
         with_discrepancy(x);
         must_accept(x, "hmm", "bill.event", "OB-1", event_body(0, "departed", "KRPUS"));
         must_accept(x, "hmm", "bill.event", "OB-1", event_body(0, "arrived", "CNTSN", {"CSQU3054383", "MSCU1234566"}));
         run_leg(x, "OB-1", 1);
         release_import(x, "OB-1");
       }, "shipper", "bill.surrender", "OB-1", delivery, "open_discrepancy"},
      {"voided", [](Ledger& x) {
         issued(x);
         must_accept(x, "crct", "bill.void", "OB-1", {{"reason", "x"}});
       }, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "COD"}}, "bad_state"},
  });
}

TEST_CASE("contracts: bill.answer accepts or rejects a pending surrender, once", "[contracts][bill]") {
  {
    Ledger l;
    surrendered_for_delivery(l);
    const json b = l.doc("OB-1");
    CHECK(b["status"] == "surrendered_for_delivery");
    CHECK(b["surrenders"][0]["status"] == "accepted");
    CHECK(b["surrenders"][0]["answered"] == l.height);
    must_reject(l, "crct", "bill.answer", "OB-1", {{"accept", true}}, "no_pending_surrender");
  }
  {
    Ledger l;
    pending_delivery(l);
    must_accept(l, "crct", "bill.answer", "OB-1", {{"accept", false}, {"note", "holder not verified"}});
    const json b = l.doc("OB-1");
    CHECK(b["status"] == "arrived");  // back to the earlier state
    CHECK(b["surrenders"][0]["status"] == "rejected");
    CHECK(b["surrenders"][0]["note"] == "holder not verified");
    must_reject(l, "crct", "bill.answer", "OB-1", {{"accept", true}}, "no_pending_surrender");
    must_accept(l, "shipper", "bill.surrender", "OB-1", {{"for", "delivery"}});  // may try again
  }
  {
    Ledger l;
    pending_amendment(l, "SWTP");
    must_accept(l, "crct", "bill.answer", "OB-1", {{"accept", true}});
    CHECK(l.doc("OB-1")["status"] == "switched_to_paper");
    CHECK_FALSE(l.has(keys::equipment("CSQU3054383")));
    must_reject(l, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "COD"}}, "bad_state");
  }
  {
    Ledger l;
    surrendered_for_amendment(l);
    CHECK(l.doc("OB-1")["status"] == "surrendered_for_amendment");
  }
  check_rejections({
      {"not the issuer", pending_delivery, "shipper", "bill.answer", "OB-1", {{"accept", true}}, "wrong_role"},
      {"nothing pending", released, "crct", "bill.answer", "OB-1", {{"accept", true}}, "no_pending_surrender"},
      {"accept must be a boolean", pending_delivery, "crct", "bill.answer", "OB-1", {{"accept", "yes"}}, "bad_body"},
  });
}

TEST_CASE("contracts: bill.amend changes a surrendered bill and bumps its version", "[contracts][bill]") {
  Ledger l;
  surrendered_for_amendment(l);
  json changes{{"consignee", "buyer"}, {"notify", {"trader"}}};
  must_accept(l, "crct", "bill.amend", "OB-1", {{"changes", changes}});
  json b = l.doc("OB-1");
  CHECK(b["version"] == 2);
  CHECK(b["status"] == "issued");
  CHECK(b["parties"]["consignee"] == "buyer");
  CHECK(b["parties"]["notify"] == json{"trader"});
  CHECK(b["surrenders"][0]["status"] == "amended");

  // In transit: the departed sea leg stays; the rail leg may be rerouted to Małaszewicze with a new delivery place.
  run_leg(l, "OB-1", 0);
  must_accept(l, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "COD"}});
  must_accept(l, "crct", "bill.answer", "OB-1", {{"accept", true}});
  b = l.doc("OB-1");
  json legs = b["legs"];
  json new_legs = {{{"mode", "sea"}, {"carrier", "hmm"}, {"from", "KRPUS"}, {"to", "CNTSN"}},
                   {{"mode", "rail"}, {"carrier", "ktz"}, {"from", "CNTSN"}, {"to", "PLMAL"}}};
  must_accept(l, "crct", "bill.amend", "OB-1", {{"changes", {{"place_of_delivery", "PLMAL"}, {"legs", new_legs}}}});
  b = l.doc("OB-1");
  CHECK(b["version"] == 3);
  CHECK(b["status"] == "in_transit");
  CHECK(b["place_of_delivery"] == "PLMAL");
  CHECK(b["legs"][0]["status"] == "arrived");  // kept with its history
  CHECK(b["legs"][0]["events"].size() == 3);
  CHECK(b["legs"][1]["carrier"] == "ktz");
  CHECK(b["legs"][1]["status"] == "planned");

  const json ok_legs = {{"changes", {{"notify", json::array()}}}};
  check_rejections({
      {"not the issuer", surrendered_for_amendment, "shipper", "bill.amend", "OB-1", ok_legs, "wrong_role"},
      {"not surrendered for amendment", issued, "crct", "bill.amend", "OB-1", ok_legs, "bad_state"},
      {"pending, not yet accepted", [](Ledger& x) { pending_amendment(x, "COD"); }, "crct", "bill.amend", "OB-1",
       ok_legs, "bad_state"},
      {"a departed leg cannot change", [](Ledger& x) {
         issued(x);
         run_leg(x, "OB-1", 0);
         must_accept(x, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "SWI"}});
         must_accept(x, "crct", "bill.answer", "OB-1", {{"accept", true}});
       }, "crct", "bill.amend", "OB-1",
       {{"changes", {{"legs", {{{"mode", "sea"}, {"carrier", "hmm"}, {"from", "KRPUS"}, {"to", "CNDLC"}},
                               {{"mode", "rail"}, {"carrier", "crct"}, {"from", "CNDLC"}, {"to", "DEDUI"}}}}}}},
       "bad_route"},
      {"new place of delivery off the route", surrendered_for_amendment, "crct", "bill.amend", "OB-1",
       {{"changes", {{"place_of_delivery", "PLMAL"}}}}, "bad_route"},
      {"new leg's carrier", surrendered_for_amendment, "crct", "bill.amend", "OB-1",
       {{"changes", {{"legs", {{{"mode", "sea"}, {"carrier", "ktz"}, {"from", "KRPUS"}, {"to", "CNTSN"}},
                               bill_body()["legs"][1]}}}}},
       "wrong_carrier"},
      {"no change", surrendered_for_amendment, "crct", "bill.amend", "OB-1", {{"changes", json::object()}}, "bad_body"},
      {"unknown change", surrendered_for_amendment, "crct", "bill.amend", "OB-1", {{"changes", {{"cargo", 1}}}},
       "bad_body"},
      {"consignee removed from a straight bill", [](Ledger& x) {
         straight(x);
         must_accept(x, "shipper", "bill.surrender", "OB-1", {{"for", "amendment"}, {"reason", "COD"}});
         must_accept(x, "crct", "bill.answer", "OB-1", {{"accept", true}});
       }, "crct", "bill.amend", "OB-1", {{"changes", {{"consignee", nullptr}}}}, "bad_body"},
  });
}

TEST_CASE("contracts: bill.deliver accomplishes a bill surrendered for delivery", "[contracts][bill]") {
  Ledger l;
  surrendered_for_delivery(l);
  must_accept(l, "crct", "bill.deliver", "OB-1", {{"to", "shipper"}});
  CHECK(l.doc("OB-1")["status"] == "accomplished");
  CHECK(l.doc("OB-1")["delivered_to"] == "shipper");
  check_rejections({
      {"not the issuer", surrendered_for_delivery, "shipper", "bill.deliver", "OB-1", {{"to", "shipper"}}, "wrong_role"},
      {"not surrendered", pending_delivery, "crct", "bill.deliver", "OB-1", {{"to", "shipper"}}, "bad_state"},
      {"to someone other than the holder", surrendered_for_delivery, "crct", "bill.deliver", "OB-1", {{"to", "buyer"}},
       "not_holder"},
      {"twice", [](Ledger& x) {
         surrendered_for_delivery(x);
         must_accept(x, "crct", "bill.deliver", "OB-1", {{"to", "shipper"}});
       }, "crct", "bill.deliver", "OB-1", {{"to", "shipper"}}, "bad_state"},
  });
}

TEST_CASE("contracts: bill.void only before departure, endorsement or pledge", "[contracts][bill]") {
  Ledger l;
  issued(l);
  must_accept(l, "crct", "bill.void", "OB-1", {{"reason", "booking cancelled"}});
  CHECK(l.doc("OB-1")["status"] == "voided");
  CHECK(l.doc("OB-1")["void_reason"] == "booking cancelled");
  const json why{{"reason", "x"}};
  check_rejections({
      {"not the issuer", issued, "shipper", "bill.void", "OB-1", why, "wrong_role"},
      {"departed", [](Ledger& x) {
         issued(x);
         run_leg(x, "OB-1", 0);
       }, "crct", "bill.void", "OB-1", why, "bad_state"},
      {"endorsed", [](Ledger& x) {
         issued(x);
         must_accept(x, "shipper", "bill.endorse", "OB-1", {{"to", "trader"}});
       }, "crct", "bill.void", "OB-1", why, "bad_state"},
      {"pledged", pledged, "crct", "bill.void", "OB-1", why, "pledged"},
      {"was pledged", [](Ledger& x) {
         pledged(x);
         must_accept(x, "bank1", "pledge.release", "PL-1", json::object());
       }, "crct", "bill.void", "OB-1", why, "bad_state"},
      {"already voided", [](Ledger& x) {
         issued(x);
         must_accept(x, "crct", "bill.void", "OB-1", {{"reason", "y"}});
       }, "crct", "bill.void", "OB-1", why, "bad_state"},
      {"reason missing", issued, "crct", "bill.void", "OB-1", json::object(), "bad_body"},
  });
}

TEST_CASE("contracts: bill.resolve closes a discrepancy and keeps the note", "[contracts][bill]") {
  Ledger l;
  with_discrepancy(l);
  REQUIRE(l.doc("OB-1")["discrepancies"].size() == 1);
  must_accept(l, "crct", "bill.resolve", "OB-1", {{"discrepancy", 1}, {"note", "seal replaced by Busan customs"}});
  const json d = l.doc("OB-1")["discrepancies"][0];
  CHECK(d["resolved"] == true);
  CHECK(d["note"] == "seal replaced by Busan customs");
  CHECK(d["resolved_by"] == "crct");
  const json resolve{{"discrepancy", 1}, {"note", "n"}};
  check_rejections({
      {"not the issuer", with_discrepancy, "hmm", "bill.resolve", "OB-1", resolve, "wrong_role"},
      {"no such discrepancy", with_discrepancy, "crct", "bill.resolve", "OB-1", {{"discrepancy", 2}, {"note", "n"}},
       "bad_body"},
      {"already resolved", [](Ledger& x) {
         with_discrepancy(x);
         must_accept(x, "crct", "bill.resolve", "OB-1", {{"discrepancy", 1}, {"note", "n"}});
       }, "crct", "bill.resolve", "OB-1", resolve, "bad_state"},
      {"note required", with_discrepancy, "crct", "bill.resolve", "OB-1", {{"discrepancy", 1}}, "bad_body"},
  });
}
