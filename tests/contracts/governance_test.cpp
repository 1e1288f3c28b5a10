// gov.propose / gov.approve: majority of the active organisations, effect at that block, history kept.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

namespace {

// The 15 orgs of the test genesis, in an order used for approvals.
const std::vector<std::string> kOrgs = {"crct",   "hmm",   "ktz",     "trucker", "tjport", "dbport", "anyport", "customs",
                                        "bank1",  "bank2", "tjwh",    "shipper", "trader", "buyer",  "audit"};

// Approvals by kOrgs[from..to) on proposal `id`.
void approve(Ledger& l, const std::string& id, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) must_accept(l, kOrgs[i], "gov.approve", id, json::object());
}

json revoke_key(const std::string& key) { return {{"action", "key.revoke"}, {"params", {{"id", key}}}}; }

}  // namespace

TEST_CASE("contracts: a proposal executes when approvals exceed half of the active orgs", "[contracts][gov]") {
  Ledger l;
  const Outcome proposed = must_accept(l, "crct", "gov.propose", "P-1", revoke_key("hmm/k1"));
  CHECK_FALSE(proposed.membership_change);
  json p = l.doc("P-1");
  CHECK(p["kind"] == "proposal");
  CHECK(p["status"] == "open");
  CHECK(p["approvals"] == json{{{"org", "crct"}, {"height", l.height}}});
  approve(l, "P-1", 1, 7);  // 7 of 15: not yet
  CHECK(l.doc("P-1")["status"] == "open");
  CHECK_FALSE(l.members.key("hmm/k1")->revoked);
  const Outcome eighth = must_accept(l, "customs", "gov.approve", "P-1", json::object());
  REQUIRE(eighth.membership_change);
  CHECK(eighth.membership_change->action == "key.revoke");
  CHECK(eighth.membership_change->proposal == "P-1");
  CHECK(eighth.membership_change->height == l.height);
  p = l.doc("P-1");
  CHECK(p["status"] == "executed");
  CHECK(p["executed"] == l.height);
  CHECK(l.members.key("hmm/k1")->revoked == l.height);
  REQUIRE(l.has(keys::membership_change(l.height, 0)));
  CHECK(json::parse(*l.get(keys::membership_change(l.height, 0)))["action"] == "key.revoke");
  // The revoked key can no longer sign; history before it stays reconstructible.
  const std::int64_t revoked_at = l.height;
  CHECK(l.submit("hmm", "gov.approve", "P-1", json::object()).reason == "revoked_key");
  CHECK_FALSE(l.members.as_of(revoked_at - 1).value().key("hmm/k1")->revoked);
  CHECK(l.members.as_of(revoked_at).value().key("hmm/k1")->revoked == revoked_at);
  // Approving an executed proposal is a bad state.
  must_reject(l, "bank1", "gov.approve", "P-1", json::object(), "bad_state");
}

TEST_CASE("contracts: a change takes effect inside its block, for later entries only", "[contracts][gov]") {
  Ledger l;
  must_accept(l, "crct", "gov.propose", "P-1", revoke_key("shipper/k1"));
  approve(l, "P-1", 1, 7);
  issue_bill(l, "OB-1");
  std::vector<Envelope> block = {
      l.make("shipper", "bill.endorse", "OB-1", {{"to", "trader"}}),   // before the revocation: valid
      l.make("customs", "gov.approve", "P-1", json::object()),         // the 8th approval: revokes shipper/k1
      l.make("shipper", "bill.void", "OB-1", {{"reason", "x"}}),       // after it: revoked
  };
  const auto out = l.block(block);
  CHECK(out[0].accepted);
  CHECK(out[1].accepted);
  CHECK(out[2].reason == "revoked_key");
  // The verifier's view: at (height, 0) the key was valid, at (height, 2) it was not.
  CHECK_FALSE(l.members.at(l.height, 0).value().key("shipper/k1")->revoked);
  CHECK(l.members.at(l.height, 2).value().key("shipper/k1")->revoked);
}

TEST_CASE("contracts: org.add, role.set, key.add and org.remove", "[contracts][gov]") {
  Ledger l;
  const json add{{"action", "org.add"},
                 {"params",
                  {{"id", "dbcargo"},
                   {"name", "DB Cargo"},
                   {"roles", {"rail_carrier"}},
                   {"keys", {{{"id", "dbcargo/k1"}, {"alg", "ecdsa-p256"}, {"pub", kPem}}}}}}};
  must_accept(l, "crct", "gov.propose", "P-ADD", add);
  approve(l, "P-ADD", 1, 8);
  REQUIRE(l.members.is_active_org("dbcargo"));
  CHECK(l.members.active_org_count() == 16);
  CHECK(l.members.org("dbcargo")->added == l.height);
  // The new org is a carrier now, and counts in the majority (16 active: 9 approvals needed).
  must_accept(l, "dbcargo", "gov.propose", "P-ROLE",
              {{"action", "role.set"}, {"params", {{"org", "dbcargo"}, {"roles", {"rail_carrier", "port"}}}}});
  approve(l, "P-ROLE", 0, 7);
  CHECK(l.doc("P-ROLE")["status"] == "open");
  approve(l, "P-ROLE", 7, 8);
  CHECK(l.doc("P-ROLE")["status"] == "executed");
  CHECK(l.members.has_role("dbcargo", "port"));
  must_accept(l, "crct", "gov.propose", "P-KEY",
              {{"action", "key.add"}, {"params", {{"id", "dbcargo/k2"}, {"alg", "sm2"}, {"pub", kPem}}}});
  approve(l, "P-KEY", 1, 9);
  CHECK(l.members.key("dbcargo/k2") != nullptr);
  must_accept(l, "dbcargo/k2", "gov.propose", "P-RM", {{"action", "org.remove"}, {"params", {{"id", "dbcargo"}}}});
  approve(l, "P-RM", 0, 8);
  CHECK_FALSE(l.members.is_active_org("dbcargo"));
  CHECK(l.submit("dbcargo/k1", "gov.approve", "P-RM", json::object()).reason == "revoked_key");
  CHECK(l.members.active_org_count() == 15);
  CHECK(l.members.changes().size() == 4);
}

TEST_CASE("contracts: a proposal that no longer applies ends failed, membership unchanged", "[contracts][gov]") {
  Ledger l;
  must_accept(l, "crct", "gov.propose", "P-1", revoke_key("ktz/k1"));
  must_accept(l, "hmm", "gov.propose", "P-2", revoke_key("ktz/k1"));
  approve(l, "P-1", 1, 8);
  CHECK(l.doc("P-1")["status"] == "executed");
  approve(l, "P-2", 3, 10);  // hmm's own approval + 7 (not ktz, whose key is gone): the 8th carries
  const json p = l.doc("P-2");
  CHECK(p["status"] == "failed");
  CHECK(p["failure"].get<std::string>().find("already revoked") != std::string::npos);
  CHECK(l.members.changes().size() == 1);
}

TEST_CASE("contracts: in a network of three, two approvals carry", "[contracts][gov]") {
  json g = test_genesis();
  g["orgs"] = json{g["orgs"][0], g["orgs"][1], g["orgs"][2]};  // crct, hmm, ktz
  Ledger l(g);
  must_accept(l, "crct", "gov.propose", "P-1", revoke_key("ktz/k1"));
  const Outcome o = must_accept(l, "hmm", "gov.approve", "P-1", json::object());
  CHECK(o.membership_change);
  // A network of one executes on the proposal itself.
  json one = test_genesis();
  one["orgs"] = json::array({one["orgs"][0]});  // json{x} would copy x under clang, not wrap it
  Ledger solo(one);
  const Outcome p = must_accept(solo, "crct", "gov.propose", "P-1",
                                {{"action", "key.add"}, {"params", {{"id", "crct/k2"}, {"alg", "sm2"}, {"pub", kPem}}}});
  CHECK(p.membership_change);
  CHECK(solo.doc("P-1")["status"] == "executed");
}

TEST_CASE("contracts: gov rejections", "[contracts][gov]") {
  const auto open = [](Ledger& x) { must_accept(x, "crct", "gov.propose", "P-1", revoke_key("hmm/k1")); };
  check_rejections({
      {"unknown action", nullptr, "crct", "gov.propose", "P-1", {{"action", "org.merge"}, {"params", json::object()}},
       "bad_body"},
      {"params missing", nullptr, "crct", "gov.propose", "P-1", {{"action", "key.revoke"}}, "bad_body"},
      {"params invalid", nullptr, "crct", "gov.propose", "P-1", revoke_key("nobody/k1"), "bad_body"},
      {"params with unknown field", nullptr, "crct", "gov.propose", "P-1",
       {{"action", "key.revoke"}, {"params", {{"id", "hmm/k1"}, {"why", "x"}}}}, "bad_body"},
      {"doc exists", open, "hmm", "gov.propose", "P-1", revoke_key("ktz/k1"), "doc_exists"},
      {"approve twice", open, "crct", "gov.approve", "P-1", json::object(), "bad_state"},
      {"approve a missing proposal", nullptr, "crct", "gov.approve", "P-1", json::object(), "doc_not_found"},
      {"approve a bill", [](Ledger& x) { issue_bill(x, "OB-1"); }, "crct", "gov.approve", "OB-1", json::object(),
       "doc_not_found"},
      {"approve with a body", open, "hmm", "gov.approve", "P-1", {{"vote", "yes"}}, "bad_body"},
  });
}
