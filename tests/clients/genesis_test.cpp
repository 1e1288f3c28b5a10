// genesis init / add-org / add-node / params produce what contracts::Membership accepts; refused steps leave the
// file byte-for-byte as it was.
#include <catch2/catch.hpp>

#include "cli_util.h"
#include "clients/genesis_builder.h"
#include "contracts/membership.h"
#include "crypto/canonical_json.h"
#include "crypto/hash.h"

using onebill::test::run_cli;
using onebill::test::slurp;
using onebill::test::spit;
using onebill::test::TempDir;
namespace genesis = onebill::clients::genesis;
namespace contracts = onebill::contracts;
namespace crypto = onebill::crypto;

namespace {

struct Network {
  TempDir dir;
  std::string file = dir / "genesis.json";

  std::string key(const std::string& name, const std::string& alg = "ed25519") {
    const std::string path = dir / name;
    REQUIRE(run_cli({"keygen", "--alg", alg, "--out", path}).code == 0);
    return path + ".pub";
  }

  // A small network: an MTO/rail operator, a bank, customs; two nodes, one a learner.
  void build(const std::string& hash = "sha256") {
    REQUIRE(run_cli({"genesis", "init", "--network", "tianjin-eurasia-devnet", "--hash", hash, "--out", file}).code ==
            0);
    auto r = run_cli({"genesis", "add-org", file, "--id", "crct", "--name", "China-Europe rail operator", "--roles",
                      "rail_carrier,mto", "--key-id", "crct/k1", "--pub", key("crct.key", "ecdsa-p256")});
    INFO(r.err);
    REQUIRE(r.code == 0);
    REQUIRE(run_cli({"genesis", "add-org", file, "--id", "bank", "--name", "A bank", "--roles", "bank", "--key-id",
                     "bank/k1", "--pub", key("bank.key", "sm2")})
                .code == 0);
    REQUIRE(run_cli({"genesis", "add-org", file, "--id", "tianjin-port", "--name", "Tianjin port", "--roles", "port",
                     "--key-id", "tianjin-port/k1", "--pub", key("port.key"), "--locations", "CNTSN"})
                .code == 0);
    REQUIRE(run_cli({"genesis", "add-org", file, "--id", "audit", "--name", "Auditor", "--roles", "auditor"}).code ==
            0);
    REQUIRE(run_cli({"genesis", "add-node", file, "--id", "n1", "--org", "crct", "--raft", "127.0.0.1:7201", "--api",
                     "127.0.0.1:7101", "--tls-pub", key("n1-tls.key", "ecdsa-p256")})
                .code == 0);
    REQUIRE(run_cli({"genesis", "add-node", file, "--id", "n2", "--org", "audit", "--raft", "127.0.0.1:7202", "--api",
                     "127.0.0.1:7102", "--tls-pub", key("n2-tls.key"), "--learner"})
                .code == 0);
    REQUIRE(
        run_cli({"genesis", "params", file, "--block-max-entries", "500", "--election-timeout-ms", "400,800"}).code ==
        0);
  }
};

std::size_t files_named(const TempDir& dir, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    n += e.path().filename().string().rfind(prefix, 0) == 0;
  }
  return n;
}

}  // namespace

TEST_CASE("genesis init/add-org/add-node/params: Membership::from_genesis accepts the result", "[genesis]") {
  for (const char* hash : {"sha256", "sm3"}) {
    Network net;
    net.build(hash);
    const std::string text = slurp(net.file);
    auto m = contracts::Membership::from_genesis(text);
    INFO(text);
    REQUIRE(m);
    CHECK(m->network() == "tianjin-eurasia-devnet");
    CHECK(m->hash_alg() == (std::string(hash) == "sm3" ? crypto::HashAlg::sm3 : crypto::HashAlg::sha256));
    CHECK(m->orgs().size() == 4);
    CHECK(m->has_role("crct", "mto"));
    CHECK(m->has_role("crct", "rail_carrier"));
    CHECK(m->has_role("bank", "bank"));
    REQUIRE(m->key("crct/k1") != nullptr);
    CHECK(m->key("crct/k1")->alg == "ecdsa-p256");
    CHECK(m->key("bank/k1")->alg == "sm2");
    CHECK(m->key("tianjin-port/k1")->alg == "ed25519");
    CHECK(m->org("tianjin-port")->locations == std::vector<std::string>{"CNTSN"});
    CHECK(m->key("crct/k1")->pub == slurp(net.dir / "crct.key.pub"));
    REQUIRE(m->node("n1") != nullptr);
    CHECK(m->node("n1")->voter);
    CHECK_FALSE(m->node("n2")->voter);
    CHECK(m->node("n1")->api == "127.0.0.1:7101");

    auto j = nlohmann::json::parse(text);
    CHECK(j["params"] ==
          nlohmann::json{{"block_max_entries", 500}, {"block_max_delay_ms", 50}, {"election_timeout_ms", {400, 800}}});
    CHECK(text.rfind("{\n  \"network\"", 0) == 0);  // reading order, as in ARCHITECTURE.md

    // The printed genesis hash is the chain id: hash(alg, canonical(genesis)).
    auto r = run_cli({"genesis", "params", net.file, "--block-max-delay-ms", "5", "--json"});
    REQUIRE(r.code == 0);
    auto canonical = crypto::canonicalize(*crypto::parse_strict(slurp(net.file)));
    CHECK(nlohmann::json::parse(r.out)["genesis_hash"] == crypto::hex(crypto::hash(m->hash_alg(), *canonical)));
    CHECK(files_named(net.dir, "genesis.json") == 1);  // no temporary files left
  }
}

TEST_CASE("genesis: refused steps leave the file unchanged", "[genesis]") {
  Network net;
  net.build();
  const std::string before = slurp(net.file);
  const std::string pub = net.key("x.key");
  spit(net.dir / "not-a-key.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank,captain"},
       "--roles: unknown role 'captain'"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank,,port"}, "--roles"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank,bank"}, "--roles"},
      {{"genesis", "add-org", net.file, "--id", "X!", "--name", "X", "--roles", "bank"}, "--id"},
      {{"genesis", "add-org", net.file, "--id", "crct", "--name", "X", "--roles", "bank"}, "already in the genesis"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank", "--key-id", "crct/k9", "--pub",
        pub},
       "--key-id"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank", "--key-id", "x/k1"},
       "--key-id and --pub go together"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank", "--key-id", "x/k1", "--pub",
        net.dir / "not-a-key.pem"},
       "--pub"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank", "--key-id", "x/k1", "--pub",
        net.dir / "missing.pem"},
       "--pub"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "bank", "--key-id", "x/k1", "--pub",
        net.dir / "crct.key.pub"},
       "already in the genesis as crct/k1"},
      {{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles", "port", "--locations", "nowhere"},
       "--locations"},
      {{"genesis", "add-node", net.file, "--id", "n3", "--org", "nope", "--raft", "h:1", "--api", "h:2", "--tls-pub",
        pub},
       "--org: no organisation nope"},
      {{"genesis", "add-node", net.file, "--id", "n1", "--org", "crct", "--raft", "h:1", "--api", "h:2", "--tls-pub",
        pub},
       "--id: node n1 is already"},
      {{"genesis", "add-node", net.file, "--id", "n3", "--org", "crct", "--raft", "h", "--api", "h:2", "--tls-pub",
        pub},
       "--raft"},
      {{"genesis", "add-node", net.file, "--id", "n3", "--org", "crct", "--raft", "h:1", "--api", "h:70000",
        "--tls-pub", pub},
       "--api"},
      {{"genesis", "add-node", net.file, "--id", "n3", "--org", "crct", "--raft", "127.0.0.1:7201", "--api", "h:2",
        "--tls-pub", pub},
       "already used by node n1"},
      {{"genesis", "add-node", net.file, "--id", "n3", "--org", "crct", "--raft", "h:1", "--api", "h:2", "--tls-pub",
        net.dir / "n1-tls.key.pub"},
       "--tls-pub"},
      {{"genesis", "params", net.file, "--election-timeout-ms", "600,300"}, "--election-timeout-ms"},
      {{"genesis", "params", net.file, "--election-timeout-ms", "600"}, "--election-timeout-ms"},
      {{"genesis", "params", net.file, "--block-max-entries", "0"}, "--block-max-entries"},
      {{"genesis", "params", net.file, "--block-max-delay-ms", "20000"}, "--block-max-delay-ms"},
      {{"genesis", "add-org", net.dir / "missing.json", "--id", "x", "--name", "X", "--roles", "bank"}, "FILE"},
      {{"genesis", "init", "--network", "again", "--out", net.file}, "already exists"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    INFO(c.args[1] << " " << c.mentions << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.mentions) != std::string::npos);
    CHECK(slurp(net.file) == before);
  }
  CHECK(files_named(net.dir, "genesis.json") == 1);
}

TEST_CASE("genesis: a file Membership rejects is refused with exit 1 and left as it was", "[genesis]") {
  Network net;
  net.build();
  auto j = nlohmann::json::parse(slurp(net.file));
  j["nodes"][0]["org"] = "ghost";  // edited by hand into something no node would start from
  spit(net.file, j.dump(2));
  const std::string before = slurp(net.file);
  auto r = run_cli({"genesis", "params", net.file, "--block-max-entries", "10"});
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("bad_genesis") != std::string::npos);
  CHECK(r.err.find("unchanged") != std::string::npos);
  CHECK(slurp(net.file) == before);

  auto slow = nlohmann::json::parse(before);
  slow["nodes"][0]["org"] = "crct";
  slow["params"]["block_max_delay_ms"] = 20000;  // a node would refuse to start with it
  spit(net.file, slow.dump());
  auto out_of_range = run_cli({"genesis", "params", net.file, "--block-max-entries", "10"});
  CHECK(out_of_range.code == 1);
  CHECK(out_of_range.err.find("params.block_max_delay_ms: expected 0 to 10000") != std::string::npos);

  spit(net.file, "{\"network\": \"x\", ");
  auto broken = run_cli({"genesis", "params", net.file, "--block-max-entries", "10"});
  CHECK(broken.code == 2);
  CHECK(broken.err.find("FILE") != std::string::npos);
}

TEST_CASE("genesis builder: drafts, init arguments, force", "[genesis]") {
  auto g = genesis::init("n", "sha256");
  REQUIRE(g);
  CHECK(genesis::validate(*g));  // a draft: no organisation yet, everything else checked
  CHECK(genesis::init("", "sha256").error().code == "bad_argument");
  CHECK(genesis::init("n", "md5").error().code == "bad_argument");
  auto bad = *g;
  bad["surprise"] = 1;
  CHECK(genesis::validate(bad).error().code == "bad_genesis");
  CHECK_FALSE(contracts::Membership::from_genesis_json(*g));  // Membership itself wants an organisation

  TempDir dir;
  REQUIRE(run_cli({"genesis", "init", "--network", "a", "--out", dir / "g.json"}).code == 0);
  auto bad_hash = run_cli({"genesis", "init", "--network", "a", "--hash", "md5", "--out", dir / "h.json"});
  CHECK(bad_hash.code == 2);
  CHECK(bad_hash.err.find("--hash") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "h.json"));
  REQUIRE(run_cli({"genesis", "init", "--network", "b", "--out", dir / "g.json", "--force"}).code == 0);
  CHECK(nlohmann::json::parse(slurp(dir / "g.json"))["network"] == "b");
}

TEST_CASE("genesis: a file with fields of the wrong type is refused, not crashed on", "[genesis]") {
  Network net;
  const std::string pub = net.key("k");
  for (const char* text :
       {R"({"network":"n","hash":"sha256","orgs":[5],"nodes":[]})",
        R"({"network":"n","hash":"sha256","orgs":[{"id":"a","name":"A","roles":["bank"],"keys":[7]}],"nodes":[]})",
        R"({"network":"n","hash":"sha256","orgs":[],"nodes":[{"id":1}]})"}) {
    spit(net.file, text);
    for (auto args : {std::vector<std::string>{"genesis", "add-org", net.file, "--id", "x", "--name", "X", "--roles",
                                               "bank", "--key-id", "x/k1", "--pub", pub},
                      std::vector<std::string>{"genesis", "add-node", net.file, "--id", "n9", "--org", "a", "--raft",
                                               "h:1", "--api", "h:2", "--tls-pub", pub},
                      std::vector<std::string>{"genesis", "params", net.file, "--block-max-entries", "3"}}) {
      auto r = run_cli(args);
      INFO(text << " " << args[1] << ": " << r.err);
      CHECK(r.code == 1);
      CHECK(r.err.find("bad_genesis") != std::string::npos);
      CHECK(slurp(net.file) == text);
    }
  }
}
