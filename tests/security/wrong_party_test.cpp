// Every transaction type refused to an organisation that may not make it, table-driven over
// contracts::known_types() so that a new type without a row fails here. Each row expects the exact reason of the
// catalogue (docs/model.md §7) and, through must_reject, no writes and an unchanged state.
//
// The state: bill OB-1 (issuer crct, holder shipper, legs hmm then crct) with a requested pledge PL-2 (shipper to
// bank1); receipt WR-1 (tjwh, holder trader) under an active pledge PL-1 (trader to bank1); proposal P-1 by crct.
// The intruder is bank2: an active bank that is party to none of it.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "contracts/apply.h"
#include "tests/contracts/fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

namespace {

void story(Ledger& l) {
  issue_bill(l, "OB-1");
  must_accept(l, "tjwh", "receipt.issue", "WR-1", receipt_body("LOT-1", false));
  activate_pledge(l, "PL-1", "WR-1", "trader");
  must_accept(l, "shipper", "pledge.request", "PL-2", pledge_body("OB-1"));
  must_accept(l, "crct", "gov.propose", "P-1", {{"action", "key.revoke"}, {"params", {{"id", "hmm/k1"}}}});
}

struct Row {
  std::string doc;
  json body;
  std::string reason;  // empty: the type is open to every active organisation (nothing to refuse by party)
};

const std::map<std::string, Row>& rows() {
  static const std::map<std::string, Row> kRows = {
      {"bill.issue", {"OB-2", bill_body(), "wrong_role"}},
      {"bill.endorse", {"OB-1", {{"to", "trader"}}, "not_holder"}},
      {"bill.event", {"OB-1", event_body(0, "departed", "KRPUS"), "wrong_carrier"}},
      {"bill.resolve", {"OB-1", {{"discrepancy", 1}, {"note", "x"}}, "wrong_role"}},
      {"bill.surrender", {"OB-1", {{"for", "delivery"}}, "not_holder"}},
      {"bill.answer", {"OB-1", {{"accept", true}}, "wrong_role"}},
      {"bill.amend", {"OB-1", {{"changes", {{"notify", {"buyer"}}}}}, "wrong_role"}},
      {"bill.deliver", {"OB-1", {{"to", "shipper"}}, "wrong_role"}},
      {"bill.void", {"OB-1", {{"reason", "x"}}, "wrong_role"}},
      {"customs.decide",
       {"OB-1", {{"procedure", "import"}, {"declaration", "X-1"}, {"decision", "released"}}, "wrong_role"}},
      {"receipt.issue", {"WR-2", receipt_body("LOT-2"), "wrong_role"}},
      {"receipt.endorse", {"WR-1", {{"to", "buyer"}}, "not_holder"}},
      {"receipt.withdraw", {"WR-1", {{"quantity", 1}}, "not_holder"}},
      {"receipt.release", {"WR-1", {{"quantity", 1}}, "wrong_role"}},
      {"pledge.request", {"PL-3", pledge_body("OB-1"), "not_holder"}},
      {"pledge.approve", {"PL-2", {{"approve", true}, {"reference", "PA-9"}}, "wrong_role"}},
      {"pledge.accept", {"PL-2", json::object(), "wrong_role"}},
      {"pledge.decline", {"PL-2", json::object(), "wrong_role"}},
      {"pledge.cancel", {"PL-2", json::object(), "wrong_role"}},
      {"pledge.release", {"PL-1", json::object(), "wrong_role"}},
      {"pledge.enforce", {"PL-1", json::object(), "wrong_role"}},
      {"gov.propose", {"P-2", {{"action", "key.revoke"}, {"params", {{"id", "hmm/k1"}}}}, ""}},
      {"gov.approve", {"P-1", json::object(), ""}},
  };
  return kRows;
}

}  // namespace

TEST_CASE("security: every transaction type has a row in the wrong-party table", "[security][roles]") {
  std::set<std::string> types;
  for (std::string_view t : known_types()) {
    types.insert(std::string(t));
    CHECK(rows().count(std::string(t)) == 1);
  }
  for (const auto& [type, row] : rows()) CHECK(types.count(type) == 1);
}

TEST_CASE("security: each type signed by an organisation that is no party to it is rejected and changes nothing",
          "[security][roles]") {
  for (std::string_view t : known_types()) {
    const std::string type(t);
    const auto it = rows().find(type);
    if (it == rows().end()) continue;  // reported by the test above
    const Row& row = it->second;
    DYNAMIC_SECTION(type) {
      Ledger l;
      story(l);
      if (row.reason.empty()) {
        // Open to every active organisation: bank2 is accepted, and an organisation outside the membership
        // cannot even sign (its key is unknown).
        must_accept(l, "bank2", type, row.doc, row.body);
        CHECK(l.submit("nobody/k1", type, row.doc, row.body).reason == "unknown_key");
      } else {
        must_reject(l, "bank2", type, row.doc, row.body, row.reason);
      }
    }
  }
}
