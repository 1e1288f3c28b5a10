// Membership: genesis, lookups, history as of a height, and the membership hash.
#include <catch2/catch.hpp>

#include "contracts/membership.h"
#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;

TEST_CASE("contracts: membership loads from genesis", "[contracts][membership]") {
  auto m = Membership::from_genesis(test_genesis().dump());
  REQUIRE(m.ok());
  CHECK(m->network() == "onebill-test");
  CHECK(m->hash_alg() == onebill::crypto::HashAlg::sha256);
  CHECK(m->active_org_count() == 15);
  CHECK(m->has_role("crct", "mto"));
  CHECK(m->has_role("crct", "rail_carrier"));
  CHECK_FALSE(m->has_role("crct", "bank"));
  CHECK(m->org("tjport")->locations == std::vector<std::string>{"CNTSN"});
  REQUIRE(m->key("crct/k1") != nullptr);
  CHECK(m->key("crct/k1")->org == "crct");
  CHECK(m->key("crct/k1")->alg == "ed25519");
  CHECK(m->node("n1")->voter);
  auto h = m->hash();
  REQUIRE(h.ok());
  // The snapshot is the documented form.
  const json snap = m->to_json();
  CHECK(snap["orgs"].size() == 15);
  CHECK(snap["keys"][0]["revoked"].is_null());
  CHECK(snap["nodes"][0]["raft"] == "127.0.0.1:7201");
}

TEST_CASE("contracts: bad genesis files are refused, naming the field", "[contracts][membership]") {
  struct Case {
    std::function<void(json&)> edit;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {[](json& g) { g["hash"] = "md5"; }, "genesis.hash"},
      {[](json& g) { g["orgs"][0]["id"] = "CRCT"; }, "genesis.orgs[0].id"},
      {[](json& g) { g["orgs"][0]["roles"].push_back("pirate"); }, "genesis.orgs[0].roles[2]"},
      {[](json& g) { g["orgs"][0]["keys"][0]["id"] = "hmm/k9"; }, "genesis.orgs[0].keys[0].id"},
      {[](json& g) { g["orgs"][0]["keys"][0]["alg"] = "rsa"; }, "genesis.orgs[0].keys[0].alg"},
      {[](json& g) { g["orgs"][0]["keys"][0]["pub"] = "not a pem"; }, "genesis.orgs[0].keys[0].pub"},
      {[](json& g) {
         g["orgs"][1]["id"] = "crct";
         g["orgs"][1]["keys"][0]["id"] = "crct/k2";
       },
       "genesis.orgs[1].id: duplicate organisation"},
      {[](json& g) { g["nodes"][0]["org"] = "ghost"; }, "genesis.nodes[0].org"},
      {[](json& g) { g["nodes"][0]["raft"] = "127.0.0.1"; }, "genesis.nodes[0].raft"},
      {[](json& g) { g["colour"] = "red"; }, "genesis.colour: unknown field"},
      {[](json& g) { g["orgs"] = json::array(); }, "genesis.orgs"},
      {[](json& g) { g["orgs"][4]["locations"] = {"Tianjin"}; }, "genesis.orgs[4].locations[0]"},
  };
  for (const Case& c : cases) {
    json g = test_genesis();
    c.edit(g);
    auto m = Membership::from_genesis_json(g);
    INFO(c.mentions);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == "bad_genesis");
    CHECK(m.error().message.find(c.mentions) != std::string::npos);
  }
  CHECK(Membership::from_genesis("{\"network\": 1,").error().code == "bad_json");
}

TEST_CASE("contracts: membership changes are kept with their position and replayable", "[contracts][membership]") {
  auto m = Membership::from_genesis_json(test_genesis()).value();
  const auto genesis_hash = m.hash().value();
  REQUIRE(m.apply({"key.add", {{"id", "crct/k2"}, {"alg", "sm2"}, {"pub", kPem}}, "P1", 5, 2}).ok());
  REQUIRE(m.apply({"key.revoke", {{"id", "crct/k1"}}, "P2", 7, 0}).ok());
  REQUIRE(m.apply({"role.set", {{"org", "hmm"}, {"roles", {"sea_carrier", "port"}}}, "P3", 7, 4}).ok());
  CHECK(m.key("crct/k1")->revoked == 7);
  CHECK(m.has_role("hmm", "port"));
  // Out of order is refused.
  CHECK(m.apply({"org.remove", {{"id", "audit"}}, "P4", 7, 4}).error().code == "out_of_order");
  // As of heights.
  CHECK(m.as_of(0).value().hash().value() == genesis_hash);
  CHECK(m.as_of(4).value().key("crct/k2") == nullptr);
  CHECK(m.as_of(5).value().key("crct/k2") != nullptr);
  CHECK_FALSE(m.as_of(6).value().key("crct/k1")->revoked);
  // Inside block 7: entries 0 and before see k1 valid; after index 0 it is revoked.
  CHECK_FALSE(m.at(7, 0).value().key("crct/k1")->revoked);
  CHECK(m.at(7, 1).value().key("crct/k1")->revoked == 7);
  CHECK_FALSE(m.at(7, 4).value().has_role("hmm", "port"));
  CHECK(m.at(7, 5).value().has_role("hmm", "port"));
  CHECK(m.as_of(7).value().hash().value() == m.hash().value());
  CHECK(m.as_of(6).value().hash().value() != m.hash().value());
  // A change record round-trips.
  auto c = MembershipChange::from_json(m.changes()[1].to_json());
  REQUIRE(c.ok());
  CHECK(c->action == "key.revoke");
  CHECK(c->height == 7);
}

TEST_CASE("contracts: governance actions are checked before they take effect", "[contracts][membership]") {
  const auto m = Membership::from_genesis_json(test_genesis()).value();
  const json org_add{{"id", "dbahn"}, {"name", "DB Cargo"}, {"roles", {"rail_carrier"}},
                     {"keys", {{{"id", "dbahn/k1"}, {"alg", "ecdsa-p256"}, {"pub", kPem}}}}};
  CHECK(m.check_change("org.add", org_add).ok());
  const auto with = [&org_add](const json& patch) {
    json j = org_add;
    j.update(patch);
    return j;
  };
  struct Case {
    const char* action;
    json params;
    const char* mentions;
  };
  const std::vector<Case> bad = {
      {"org.add", with({{"id", "crct"}, {"keys", json::array()}}), "body.params.id: organisation already exists"},
      {"org.add", with({{"keys", {{{"id", "crct/k9"}, {"alg", "sm2"}, {"pub", kPem}}}}}),
       "body.params.keys[0].id"},
      {"org.add", with({{"extra", 1}}), "body.params.extra: unknown field"},
      {"org.remove", {{"id", "ghost"}}, "body.params.id"},
      {"org.remove", {{"id", "crct"}}, "node n1"},
      {"key.add", {{"id", "ghost/k1"}, {"alg", "sm2"}, {"pub", kPem}}, "body.params.id"},
      {"key.add", {{"id", "crct/k1"}, {"alg", "sm2"}, {"pub", kPem}}, "already exists"},
      {"key.revoke", {{"id", "crct/k7"}}, "no key"},
      {"node.add", {{"id", "n1"}, {"org", "crct"}, {"raft", "h:1"}, {"api", "h:2"}, {"tls_pub", kPem}, {"voter", true}},
       "node already exists"},
      {"node.add", {{"id", "n2"}, {"org", "crct"}, {"raft", "h:0"}, {"api", "h:2"}, {"tls_pub", kPem}, {"voter", true}},
       "body.params.raft"},
      {"node.remove", {{"id", "n1"}}, "last voting node"},
      {"role.set", {{"org", "hmm"}, {"roles", {"admiral"}}}, "body.params.roles[0]"},
      {"org.explode", json::object(), "body.action"},
  };
  for (const Case& c : bad) {
    INFO(c.action << " " << c.params.dump());
    auto s = m.check_change(c.action, c.params);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "bad_body");
    CHECK(s.error().message.find(c.mentions) != std::string::npos);
  }
}
