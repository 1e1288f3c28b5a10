// onebill monitor against fake nodes on 127.0.0.1 that serve tree heads and consistency proofs computed from a
// list of leaves: nodes that agree pass; a second log of the same size, a log that does not extend the one seen,
// and a rewritten log caught by a later run through --state are forks (exit 5, with both heads as evidence).
#include <catch2/catch.hpp>

#include "cli_util.h"
#include "crypto/merkle.h"
#include "node/ledger/format.h"
#include "fake_node.h"

using nlohmann::json;
using onebill::test::FakeNode;
using onebill::test::FakeResponse;
using onebill::test::run_cli;
using onebill::test::TempDir;
namespace crypto = onebill::crypto;

namespace {

constexpr auto kAlg = crypto::HashAlg::sha256;

std::vector<crypto::Digest> leaves(const std::string& tag, std::size_t n) {
  std::vector<crypto::Digest> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(crypto::leaf_hash(kAlg, crypto::as_bytes(tag + std::to_string(i))));
  return out;
}

// A node whose certified log is `log`: its head at height log.size() + 1, the header of that height (which the
// monitor checks the head's log fields against), and consistency proofs. `time` tells two headers apart;
// `lie_size` makes the head claim another log size than its header.
FakeNode::Handler log_node(std::vector<crypto::Digest> log, std::int64_t time = 0, bool lie_size = false) {
  onebill::ledger::BlockHeader h;
  h.height = static_cast<std::int64_t>(log.size()) + 1;
  h.prev = h.tx_root = h.result_root = h.membership_hash = h.writes_hash = h.state_root = std::string(64, '0');
  h.time = time;
  h.log_size = log.size();
  h.log_root = crypto::hex(crypto::merkle_root(kAlg, log));
  return [log, h, lie_size](const onebill::test::FakeRequest& r) {
    if (r.target == "/v1/log/head") {
      json head = {{"height", h.height},
                   {"header_hash", h.hash_hex(kAlg)},
                   {"log_size", h.log_size + (lie_size ? 1 : 0)},
                   {"log_root", h.log_root},
                   {"attestations", json::array()}};
      return FakeResponse::json(200, head.dump());
    }
    if (r.target == "/v1/blocks/" + std::to_string(h.height)) {
      return FakeResponse::json(200, json{{"height", h.height}, {"header", h.to_json()}}.dump());
    }
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    if (std::sscanf(r.target.c_str(), "/v1/log/consistency?from=%lu&to=%lu", &from, &to) == 2 && to == log.size()) {
      auto proof = crypto::consistency_proof(kAlg, log, from);
      json path = json::array();
      for (const auto& d : *proof) path.push_back(crypto::hex(d));
      return FakeResponse::json(200, json{{"from", from}, {"to", to}, {"proof", path}}.dump());
    }
    return FakeResponse::problem(400, "bad_size", "no such range");
  };
}

std::vector<crypto::Digest> prefix(std::vector<crypto::Digest> v, std::size_t n) {
  v.resize(n);
  return v;
}

}  // namespace

TEST_CASE("monitor: nodes at different sizes of one log are consistent", "[cli][monitor]") {
  const auto log = leaves("entry-", 9);
  FakeNode a(log_node(prefix(log, 5)));
  FakeNode b(log_node(log));
  FakeNode c(log_node(prefix(log, 7)));
  auto r = run_cli({"monitor", "--once", "--node", a.url(), "--node", b.url(), "--node", c.url()});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("log 9") != std::string::npos);
  CHECK(r.out.find("consistent") != std::string::npos);
  CHECK(r.out.find("FORK") == std::string::npos);
  // The larger logs were asked for proofs from the sizes verified before them.
  bool asked = false;
  for (const auto& req : b.requests()) asked = asked || req.target == "/v1/log/consistency?from=5&to=9";
  CHECK(asked);
}

TEST_CASE("monitor: two logs of the same size are a fork, with both heads", "[cli][monitor]") {
  FakeNode a(log_node(leaves("entry-", 6)));
  FakeNode b(log_node(leaves("other-", 6)));
  auto r = run_cli({"monitor", "--once", "--json", "--node", a.url(), "--node", b.url()});
  INFO(r.out << r.err);
  CHECK(r.code == 5);
  json fork = json::parse(r.out.substr(0, r.out.find("\n}\n") + 2))["fork"];
  CHECK(fork["kind"] == "two_roots");
  CHECK(fork["first"]["node"] == a.url());
  CHECK(fork["second"]["node"] == b.url());
  CHECK(fork["first"]["head"]["log_root"] != fork["second"]["head"]["log_root"]);
}

TEST_CASE("monitor: a larger log that does not extend the one seen is a fork", "[cli][monitor]") {
  auto log = leaves("entry-", 8);
  FakeNode a(log_node(prefix(log, 4)));
  log[2] = crypto::leaf_hash(kAlg, crypto::as_bytes("rewritten"));
  FakeNode b(log_node(log));
  auto r = run_cli({"monitor", "--once", "--node", a.url(), "--node", b.url()});
  INFO(r.out << r.err);
  CHECK(r.code == 5);
  CHECK(r.out.find("FORK (inconsistent)") != std::string::npos);
  CHECK(r.out.find("does not extend") != std::string::npos);
}

TEST_CASE("monitor: --state catches a log rewritten between two runs", "[cli][monitor]") {
  TempDir dir;
  const std::string state = dir / "monitor.json";
  auto log = leaves("entry-", 10);
  {
    FakeNode a(log_node(prefix(log, 6)));
    auto r = run_cli({"monitor", "--once", "--state", state, "--node", a.url()});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
  }
  {
    FakeNode a(log_node(log));  // grew honestly
    auto r = run_cli({"monitor", "--polls", "2", "--interval", "1", "--state", state, "--node", a.url()});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
  }
  log[0] = crypto::leaf_hash(kAlg, crypto::as_bytes("forged"));
  log.push_back(crypto::leaf_hash(kAlg, crypto::as_bytes("more")));
  FakeNode a(log_node(log));
  auto r = run_cli({"monitor", "--once", "--state", state, "--node", a.url()});
  INFO(r.out << r.err);
  CHECK(r.code == 5);
}

TEST_CASE("monitor: two certified headers at one height are a fork, and a head must match its header", "[cli][monitor]") {
  const auto log = leaves("entry-", 5);
  FakeNode a(log_node(log, 1));
  FakeNode b(log_node(log, 2));  // the same log, another header at the same height
  auto r = run_cli({"monitor", "--once", "--node", a.url(), "--node", b.url()});
  INFO(r.out << r.err);
  CHECK(r.code == 5);
  CHECK(r.out.find("FORK (two_headers)") != std::string::npos);
  FakeNode liar(log_node(log, 1, true));
  auto l = run_cli({"monitor", "--once", "--node", liar.url()});
  INFO(l.out << l.err);
  CHECK(l.code == 1);  // its only node gave no usable head
  CHECK(l.out.find("not those of the header") != std::string::npos);
}

TEST_CASE("monitor: unreachable nodes and bad answers are reported, not taken", "[cli][monitor]") {
  FakeNode bad([](const onebill::test::FakeRequest&) { return FakeResponse::json(200, R"({"height":1})"); });
  auto r = run_cli({"monitor", "--once", "--node", bad.url(), "--node", "http://127.0.0.1:1"});
  CHECK(r.code == 1);
  CHECK(r.out.find("bad_head") != std::string::npos);
  CHECK(run_cli({"monitor", "--once"}).code == 2);
  CHECK(run_cli({"monitor", "--once", "--node", "ftp://x"}).code == 2);
}
