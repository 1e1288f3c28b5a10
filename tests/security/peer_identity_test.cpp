// Who may speak on a running node's peer port (issue 9). Real onebilld nodes run in this process with their TLS
// peer transport on 127.0.0.1 (a three-voter genesis with one learner; n1 and n2 run, so they have a quorum), and
// hand-driven TLS clients (tests/transport/harness.h) dial n1's peer port:
//   - a key that genesis does not list as a node's `tls_pub` — a fresh Ed25519 or P-256 key, or an organisation's
//     own key — is refused at TLS, while n3's genesis key, in the same test, gets the accept signal;
//   - a transport claiming n3's id with a key of its own can neither dial n1 nor be dialled by it at n3's address;
//   - a member (n3, its genuine key) cannot put another member's id on a Raft message;
// and after each the network still commits entries. And a node that a quorum of voters contradicts stops instead of
// following them. What a member node *can* do with its own id is in
// docs/security.md (Raft is crash-fault tolerant, not Byzantine); the last test shows what a learner cannot.
#include "tests/transport/harness.h"

#include <filesystem>
#include <memory>
#include <thread>

#include <unistd.h>

#include "consensus/codec.h"
#include "consensus/message.h"
#include "node/config.h"
#include "node/ledger/format.h"
#include "node/node.h"
#include "node/node_impl.h"  // raft_id
#include "tests/support/testnet.h"

using namespace onebill;
using namespace onebill::consensus::test;
using consensus::Bytes;
using consensus::Channel;
using nlohmann::json;

namespace {

// Genesis: voters n1, n2, n3 and learner l1; n1 and n2 run.
class Cluster {
 public:
  explicit Cluster(const std::string& name)
      : net_(std::filesystem::temp_directory_path() / ("onebill-sec-peer-" + name + "-" + std::to_string(::getpid())),
             3, 1) {
    for (std::size_t i = 0; i < 2; ++i) {
      auto config = node::load_config(net_.nodes()[i].config);
      REQUIRE(config.ok());
      auto created = node::Node::create(*config, log_);
      REQUIRE(created.ok());
      nodes_.push_back(std::move(*created));
      REQUIRE(nodes_.back()->start().ok());
    }
    REQUIRE(ready(20s));
  }
  ~Cluster() {
    for (auto& n : nodes_) n->stop();
    nodes_.clear();
    std::filesystem::remove_all(net_.dir());
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  testing::TestNet& net() { return net_; }
  void stop(std::size_t i) { nodes_[i]->stop(); }
  std::uint16_t raft_port(std::size_t i) const { return nodes_[i]->raft_port(); }
  crypto::PrivateKey tls_key(std::size_t i) {
    auto k = crypto::PrivateKey::from_pem_any(testing::read_text(net_.nodes()[i].dir / "tls.pem"));
    REQUIRE(k.ok());
    return *k;
  }
  consensus::NodeId id(std::size_t i) { return node::raft_id(net_.nodes()[i].id); }

  node::http::Reply call(std::size_t i, const std::string& method, const std::string& target, const std::string& body = "",
                    const std::string& token = "") {
    node::http::Request req(boost::beast::http::string_to_verb(method), target, 11);
    if (!token.empty()) req.set(boost::beast::http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    return nodes_[i]->call(std::move(req));
  }
  json status(std::size_t i) { return json::parse(call(i, "GET", "/v1/status").response.body()); }
  std::uint64_t term(std::size_t i) { return status(i)["term"].get<std::uint64_t>(); }

  // Both running nodes answer /readyz 200 (a leader is known and nothing is halted) within `timeout`.
  bool ready(milliseconds timeout) {
    return eventually(
        [&] {
          return call(0, "GET", "/readyz").response.result_int() == 200 &&
                 call(1, "GET", "/readyz").response.result_int() == 200;
        },
        timeout);
  }

  // The network still works: a new bill submitted to n1 is accepted (a follower forwards it to the leader). A
  // submission can meet an election in progress (503 no_leader, or a forward the old leader never answers): it is
  // sent again, as a client would, the same bytes each time — a bounded number of times.
  void expect_commits(const std::string& doc) {
    const json env = net_.envelope("crct", "bill.issue", doc, testing::bill(testing::container(next_container_++)));
    json answer;
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto r = call(0, "POST", "/v1/transactions", env.dump(), testing::TestNet::token("crct"));
      answer = json::parse(r.response.body(), nullptr, false);
      if (r.response.result_int() == 200) break;
      std::this_thread::sleep_for(500ms);
    }
    INFO(answer.dump());
    CHECK(answer["status"] == "accepted");
  }

 private:
  testing::TestNet net_;
  node::Logger log_{node::LogLevel::error};
  std::vector<std::unique_ptr<node::Node>> nodes_;
  int next_container_ = 1;
};

Bytes accept_signal() { return *consensus::encode_frame(Channel::keepalive, {}); }

// A Raft heartbeat as a leader of `term` would send it, claiming to come from `from`; and as a peer frame.
Bytes heartbeat(consensus::NodeId from, consensus::NodeId to, consensus::Term term) {
  consensus::Message m;
  m.type = consensus::MessageType::kHeartbeat;
  m.from = from;
  m.to = to;
  m.term = term;
  return consensus::encode(m);
}
Bytes heartbeat_frame(consensus::NodeId from, consensus::NodeId to, consensus::Term term) {
  return *consensus::encode_frame(Channel::raft, heartbeat(from, to, term));
}

// A hand-driven peer connection to n1 with node `i`'s genesis key, accepted (its accept signal read).
std::unique_ptr<RawTlsClient> accepted_peer(Cluster& c, std::size_t i) {
  auto client = std::make_unique<RawTlsClient>(c.tls_key(i), std::vector<crypto::PublicKey>{c.tls_key(0).public_key()});
  REQUIRE(client->connect(c.raft_port(0)));
  REQUIRE(client->read_exact(accept_signal().size()) == std::optional<Bytes>(accept_signal()));
  return client;
}

}  // namespace

TEST_CASE("security: a peer key not in genesis is refused at TLS on a running node, a genesis node key is accepted",
          "[security][peer]") {
  Cluster c("tls");
  const auto n1 = c.tls_key(0).public_key();
  const std::uint64_t term_before = c.term(0);

  SECTION("control: n3's key, listed in genesis, gets the accept signal") {
    (void)accepted_peer(c, 2);
  }

  SECTION("keys genesis does not list as a node's are refused") {
    struct Outsider {
      const char* name;
      crypto::PrivateKey key;
    };
    const std::vector<Outsider> outsiders = {
        {"a fresh Ed25519 key", new_key(crypto::SigAlg::ed25519)},
        {"a fresh ECDSA P-256 key", new_key(crypto::SigAlg::ecdsa_p256)},
        {"an organisation's own signing key (in genesis, but not as a node)", c.net().key("crct")},
    };
    for (const auto& o : outsiders) {
      INFO(o.name);
      RawTlsClient outsider(o.key, {n1});
      // In TLS 1.3 the client may complete its side of the handshake before the server has checked the client's
      // certificate; the server then refuses with an alert and closes. Either way no accept signal ever arrives.
      if (outsider.connect(c.raft_port(0))) {
        CHECK_FALSE(outsider.read_exact(accept_signal().size()).has_value());
      }
    }
  }

  // Nothing an outsider did reached Raft: n1 is in the same term (no election was caused) and commits entries.
  CHECK(c.term(0) == term_before);
  c.expect_commits("OB-PEER-1");
}

TEST_CASE("security: a transport claiming a member's id with a key of its own is refused both ways",
          "[security][peer]") {
  Cluster c("claim");
  const std::uint64_t term_before = c.term(0);
  // The impostor claims to be n3 and listens on n3's genesis address (n3 is not running), with a key of its own.
  TestNode impostor(c.id(2));
  REQUIRE(impostor
              .start({consensus::PeerInfo{c.id(0), "127.0.0.1:" + std::to_string(c.raft_port(0)),
                                          c.tls_key(0).public_key()}},
                     test_options(), c.net().nodes()[2].raft_port)
              .ok());
  for (int i = 0; i < 20; ++i) {
    REQUIRE(impostor.t().send(c.id(0), Channel::raft, heartbeat(c.id(2), c.id(0), term_before + 1000)).ok());
  }
  // Dialling n1: refused at every attempt, nothing sent.
  REQUIRE(eventually([&] { return impostor.stats_for(c.id(0)).connect_failures >= 2; }, 10s));
  const consensus::PeerStats s = impostor.stats_for(c.id(0));
  CHECK(s.connects == 0);
  CHECK(s.sent_messages == 0);
  // Dialled by n1 at n3's address: n1 checks the key it reaches there and never connects (n1 keeps dialling n3, so
  // within a few backoff periods it has tried the impostor).
  std::this_thread::sleep_for(1s);
  bool n3_connected = true;
  const json peers = c.status(0)["peers"];
  INFO("n1's peers: " << peers.dump());
  for (const auto& p : peers) {
    if (p["node"] == "n3") n3_connected = p["connected"].get<bool>();
  }
  CHECK_FALSE(n3_connected);
  CHECK(impostor.inbox().snapshot().empty());  // n1 wrote nothing to it
  CHECK(c.term(0) == term_before);
  c.expect_commits("OB-PEER-2");
}

TEST_CASE("security: a member node cannot put another member's id on a Raft message", "[security][peer]") {
  Cluster c("spoof");
  auto n3 = accepted_peer(c, 2);
  const std::uint64_t term = c.term(0);
  // First a heartbeat of a far higher term "from n2", then one of a lesser higher term from n3 itself. Both travel
  // on one connection and one channel, so n1 steps them in this order: once the second has taken effect, the first
  // has been dealt with. Had n1 believed the first, its term would be at least term + 1000.
  REQUIRE(n3->write(heartbeat_frame(c.id(1), c.id(0), term + 1000)));
  REQUIRE(n3->write(heartbeat_frame(c.id(2), c.id(0), term + 100)));
  REQUIRE(eventually([&] { return c.term(0) >= term + 100; }, 10s));
  CHECK(c.term(0) < term + 1000);
  // n3 (a voter, in its own name) did what Raft allows a node of a higher term to do: n1 followed it. n3 then falls
  // silent, n1 and n2 elect a leader again and the network commits.
  CHECK(c.ready(30s));
  c.expect_commits("OB-PEER-3");
}

TEST_CASE("security: a node that a quorum of voters contradicts about a block stops instead of following",
          "[security][peer]") {
  Cluster c("quorum");
  c.expect_commits("OB-PEER-4");
  const json st = c.status(0);
  const std::int64_t height = st["height"].get<std::int64_t>();
  const std::string network = st["network"];
  REQUIRE(height >= 1);
  REQUIRE_FALSE(st["diverged"].get<bool>());
  // n2 and n3 (n2 stopped, n3 never started) collude: each attests, with its own genesis key, a header for `height`
  // that is not the one n1 computed. n1 takes each attestation only from the connection its signer's key opened.
  c.stop(1);
  const std::string forged(64, 'f');
  auto send_attestation = [&](std::size_t who) {
    auto voter = accepted_peer(c, who);
    auto a = ledger::attest(c.tls_key(who), c.net().nodes()[who].id, network, height, forged);
    REQUIRE(a.ok());
    const std::string body = a->to_json().dump();
    REQUIRE(voter->write(*consensus::encode_frame(Channel::attest, Bytes(body.begin(), body.end()))));
    CHECK(voter->wait_closed(500ms) == false);  // keep the connection until the frame has been read
  };
  // One voter alone is below the quorum of 2: n1 carries on.
  send_attestation(2);
  CHECK_FALSE(c.status(0)["diverged"].get<bool>());
  // With the second, a quorum contradicts n1: it marks itself diverged and refuses submissions.
  send_attestation(1);
  REQUIRE(eventually([&] { return c.status(0)["diverged"].get<bool>(); }, 10s));
  CHECK(c.status(0)["diverged_reason"].get<std::string>().find(forged) != std::string::npos);
  const json env = c.net().envelope("crct", "bill.issue", "OB-PEER-5", testing::bill(testing::container(50)));
  auto r = c.call(0, "POST", "/v1/transactions", env.dump(), testing::TestNet::token("crct"));
  CHECK(r.response.result_int() == 503);
  CHECK(json::parse(r.response.body())["code"] == "diverged");
  CHECK(c.call(0, "GET", "/readyz").response.result_int() == 503);
}

// A learner (l1, its genuine key, in its own name) claims leadership of a far higher term. A voter takes leader and
// vote traffic, and terms, only from the voters it knows (consensus/raft_admission.cpp): n1 keeps its term and the
// network keeps committing. (Contrast the previous test, where the sender is a voter.)
TEST_CASE("security: a learner cannot depose the leader with a higher term", "[security][peer]") {
  Cluster c("learner");
  auto l1 = accepted_peer(c, 3);
  const std::uint64_t term = c.term(0);
  REQUIRE(l1->write(heartbeat_frame(c.id(3), c.id(0), term + 100)));
  (void)eventually([&] { return c.term(0) >= term + 100; }, 3s);
  CHECK(c.term(0) < term + 100);
  c.expect_commits("OB-PEER-6");
}
