// Several onebilld nodes in this process, wired by an in-memory peer network (tests/support/memory_network.h)
// instead of TLS sockets, called through the REST handlers (Node::call): entries submitted to a follower are
// committed everywhere with the same block hashes and documents; a follower cut off catches up; a forwarded entry
// the leader cannot take, or a forward that cannot reach the leader, is answered with an error; governance
// node.add / node.remove change the Raft configuration; a node whose disk fills up halts and, restarted with space,
// catches up (finding F1). Every wait is bounded.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include <unistd.h>

#include "node/config.h"
#include "node/node.h"
#include "node/node_impl.h"
#include "tests/support/fault_env.h"
#include "tests/support/memory_network.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;
using testing::bill;
using testing::container;

namespace {

struct Reply {
  unsigned status = 0;
  json body;
  std::string retry_after;
};

class InProcess {
 public:
  // Starts every node (learners only when `start_learners`).
  using Edit = std::function<void(node::NodeConfig&)>;
  // Starts every node in genesis (learners only when `start_learners`); `spares` nodes outside genesis are set up
  // but not started. `edit` changes every node's config before it starts.
  InProcess(const std::string& name, int voters, int learners = 0, json params = {}, bool start_learners = true,
            int spares = 0, Edit edit = {})
      : net_(std::filesystem::temp_directory_path() / ("onebill-inproc-" + name + "-" + std::to_string(::getpid())),
             voters, learners, crypto::SigAlg::ecdsa_p256, std::move(params), spares),
        edit_(std::move(edit)) {
    nodes_.resize(net_.nodes().size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (net_.nodes()[i].in_genesis && (start_learners || net_.nodes()[i].voter)) start(i);
    }
  }
  ~InProcess() {
    for (auto& n : nodes_) n.reset();
    std::filesystem::remove_all(net_.dir());
  }
  InProcess(const InProcess&) = delete;
  InProcess& operator=(const InProcess&) = delete;

  testing::TestNet& net() { return net_; }
  testing::MemoryNetwork& wire() { return *wire_; }
  std::size_t size() const { return nodes_.size(); }
  consensus::NodeId raft_id(std::size_t i) { return node::raft_id(net_.nodes()[i].id); }

  void start(std::size_t i) {
    auto config = node::load_config(net_.nodes()[i].config);
    REQUIRE(config.ok());
    if (edit_) edit_(*config);
    auto n = node::Node::create(*config, log_, wire_->factory(), i < envs_.size() ? envs_[i] : nullptr);
    INFO((n.ok() ? std::string() : n.error().code + ": " + n.error().message));
    REQUIRE(n.ok());
    REQUIRE((*n)->start().ok());
    nodes_[i] = std::move(*n);
  }
  void stop(std::size_t i) { nodes_[i].reset(); }
  // The Env node i's LevelDB goes through from its next start (null: the default); it must outlive the node.
  void set_storage_env(std::size_t i, leveldb::Env* env) {
    envs_.resize(nodes_.size(), nullptr);
    envs_[i] = env;
  }

  Reply call(std::size_t i, const std::string& method, const std::string& target, const json& body = nullptr,
             const std::string& org = "crct") {
    node::http::Request req(boost::beast::http::string_to_verb(method), target, 11);
    req.set(boost::beast::http::field::authorization, "Bearer " + testing::TestNet::token(org));
    if (!body.is_null()) req.body() = body.dump();
    req.prepare_payload();
    auto r = nodes_[i]->call(std::move(req));
    Reply out{r.response.result_int(), json::parse(r.response.body(), nullptr, false), ""};
    auto ra = r.response.find(boost::beast::http::field::retry_after);
    if (ra != r.response.end()) out.retry_after = std::string(ra->value());
    return out;
  }
  json status(std::size_t i) { return call(i, "GET", "/v1/status").body; }
  std::string metrics(std::size_t i) {
    node::http::Request req(boost::beast::http::verb::get, "/metrics", 11);
    return nodes_[i]->call(std::move(req)).response.body();
  }

  // Waits (bounded) until one running voter leads and every running node knows it; returns its index.
  std::size_t wait_leader() {
    for (int round = 0; round < 300; ++round) {
      std::optional<std::size_t> leader;
      bool all_know = true;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i]) continue;
        json s = status(i);
        if (s.value("role", "") == "leader") leader = i;
        if (s.value("leader", "").empty()) all_know = false;
      }
      if (leader && all_know) return *leader;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("no leader within 6 s");
    return 0;
  }
  // Waits (bounded) until node i has applied `height`.
  bool wait_height(std::size_t i, std::int64_t height, int rounds = 500) {
    for (int round = 0; round < rounds; ++round) {
      if (status(i).value("height", std::int64_t{0}) >= height) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Proposes a governance action through node i and has orgs approve it until it executes (a majority of the 11
  // test organisations). Returns the height it executed at.
  std::int64_t govern(std::size_t i, const std::string& proposal, const json& body) {
    Reply r = call(i, "POST", "/v1/transactions", net_.envelope("crct", "gov.propose", proposal, body));
    REQUIRE(r.status == 200);
    REQUIRE(r.body["status"] == "accepted");
    for (const char* org : {"hmm", "tjport", "customs", "bank1", "bank2"}) {
      r = call(i, "POST", "/v1/transactions", net_.envelope(org, "gov.approve", proposal, json::object()), org);
      REQUIRE(r.status == 200);
      REQUIRE(r.body["status"] == "accepted");
    }
    Reply p = call(i, "GET", "/v1/documents/" + proposal, nullptr, "audit");
    REQUIRE(p.status == 200);
    INFO(p.body.dump());
    REQUIRE(p.body["executed"].is_number());
    return r.body["height"].get<std::int64_t>();
  }
  // Waits (bounded) until node i's status satisfies `pred`.
  bool wait_status(std::size_t i, const std::function<bool(const json&)>& pred, int rounds = 500) {
    for (int round = 0; round < rounds; ++round) {
      if (nodes_[i] && pred(status(i))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Submits a new bill through node i and waits for its commit.
  Reply submit_bill(std::size_t i, int n) {
    json env = net_.envelope("crct", "bill.issue", "OB-IP" + std::to_string(n), bill(container(3000 + n)));
    return call(i, "POST", "/v1/transactions", env);
  }

 private:
  testing::TestNet net_;
  Edit edit_;
  std::shared_ptr<testing::MemoryNetwork> wire_ = testing::MemoryNetwork::create();
  node::Logger log_{node::LogLevel::error};
  std::vector<std::unique_ptr<node::Node>> nodes_;
  std::vector<leveldb::Env*> envs_;
};

}  // namespace

TEST_CASE("in-process: three nodes over an in-memory network agree on every block and document", "[node][inprocess]") {
  InProcess c("agree", 3);
  std::size_t leader = c.wait_leader();
  std::size_t follower = (leader + 1) % c.size();
  std::int64_t height = 0;
  for (int i = 0; i < 8; ++i) {
    Reply r = c.submit_bill(follower, i);
    REQUIRE(r.status == 200);
    REQUIRE(r.body["status"] == "accepted");
    height = std::max(height, r.body["height"].get<std::int64_t>());
  }
  for (std::size_t i = 0; i < c.size(); ++i) REQUIRE(c.wait_height(i, height));
  for (std::int64_t h = 1; h <= height; ++h) {
    std::set<std::string> hashes;
    for (std::size_t i = 0; i < c.size(); ++i) hashes.insert(c.call(i, "GET", "/v1/blocks/" + std::to_string(h)).body["hash"].dump());
    CHECK(hashes.size() == 1);
  }
  for (int d = 0; d < 8; ++d) {
    std::set<std::string> docs;
    for (std::size_t i = 0; i < c.size(); ++i) {
      Reply r = c.call(i, "GET", "/v1/documents/OB-IP" + std::to_string(d), nullptr, "audit");
      CHECK(r.status == 200);
      docs.insert(r.body.dump());
    }
    CHECK(docs.size() == 1);
  }
  CHECK(c.wire().delivered() > 0);
}

TEST_CASE("in-process: a follower cut off from the others catches up when it returns", "[node][inprocess]") {
  InProcess c("catchup", 3);
  std::size_t leader = c.wait_leader();
  std::size_t cut = (leader + 1) % c.size();
  std::size_t other = (leader + 2) % c.size();
  c.wire().isolate(c.raft_id(cut), true);
  std::int64_t height = 0;
  for (int i = 0; i < 5; ++i) {
    Reply r = c.submit_bill(other, 100 + i);
    REQUIRE(r.status == 200);
    height = r.body["height"].get<std::int64_t>();
  }
  CHECK(c.status(cut).value("height", std::int64_t{0}) < height);
  c.wire().isolate(c.raft_id(cut), false);
  REQUIRE(c.wait_height(cut, height));
  REQUIRE(c.wait_height(leader, height));  // answered through `other`: the leader may apply it a moment later
  CHECK(c.call(cut, "GET", "/v1/blocks/" + std::to_string(height)).body["hash"] ==
        c.call(leader, "GET", "/v1/blocks/" + std::to_string(height)).body["hash"]);
}

namespace {
bool lists(const json& a, const std::string& id) {
  if (!a.is_array()) return false;
  for (const auto& x : a) {
    if (x == id) return true;
  }
  return false;
}

// Adds the spare node `added` by governance through the leader and waits until the Raft configuration has it as
// a voter and it applied the block that added it. Returns that height.
std::int64_t add_node(InProcess& c, std::size_t leader, std::size_t added) {
  const std::string id = c.net().nodes()[added].id;
  std::int64_t at = c.govern(leader, "P-ADD", {{"action", "node.add"}, {"params", c.net().nodes()[added].entry}});
  // The leader adds it as a learner, then promotes it once it caught up.
  REQUIRE(c.wait_status(leader, [&](const json& s) { return lists(s["raft_voters"], id); }));
  REQUIRE(c.wait_height(added, at));
  CHECK(c.wait_status(added, [](const json& s) { return s["voter"] == true; }));
  return at;
}
}  // namespace

TEST_CASE("in-process: governance node.add and node.remove change the Raft configuration", "[node][inprocess]") {
  InProcess c("govern", 3, 0, {}, true, 1);
  const std::size_t added = 3;  // n4, not in genesis
  std::size_t leader = c.wait_leader();
  REQUIRE(c.submit_bill(leader, 0).status == 200);
  // The new node may start before it is added: it waits, a member of nothing.
  c.start(added);
  CHECK(c.status(added)["voter"] == false);

  add_node(c, leader, added);
  CHECK(c.status(leader)["raft_voters"].size() == 4);
  Reply r = c.submit_bill(added, 1);  // through the new node, forwarded to the leader
  REQUIRE(r.status == 200);
  std::int64_t h = r.body["height"].get<std::int64_t>();
  // The leader too: a follower may apply a block before the leader does (it learns the commit from the leader's
  // next message, which the leader sends before it persists and applies).
  REQUIRE(c.wait_height(leader, h));
  for (std::size_t i = 0; i < c.size(); ++i) {
    REQUIRE(c.wait_height(i, h));
    CHECK(c.call(i, "GET", "/v1/blocks/" + std::to_string(h)).body["hash"] ==
          c.call(leader, "GET", "/v1/blocks/" + std::to_string(h)).body["hash"]);
  }
  // Four voters now: its attestation counts toward the certificate.
  CHECK(c.wait_status(added, [&](const json& s) { return s.contains("certified") && s["certified"]["height"] >= h; }));
  // Restarted, it checks its key against the membership the ledger holds (genesis does not list it) and goes on.
  c.stop(added);
  c.start(added);
  CHECK(c.wait_status(added, [](const json& s) { return s["voter"] == true && !s.value("leader", "").empty(); }));

  // Remove a genesis voter other than the leader: the Raft configuration follows, the rest go on.
  leader = c.wait_leader();
  std::size_t gone = (leader + 1) % 3;
  const std::string gone_id = c.net().nodes()[gone].id;
  c.govern(leader, "P-REMOVE", {{"action", "node.remove"}, {"params", {{"id", gone_id}}}});
  REQUIRE(c.wait_status(leader, [&](const json& s) {
    return !lists(s["raft_voters"], gone_id) && !lists(s["raft_learners"], gone_id);
  }));
  c.stop(gone);
  std::size_t via = leader == added ? (leader + 2) % 3 : added;
  r = c.submit_bill(via, 2);
  REQUIRE(r.status == 200);
  CHECK(r.body["status"] == "accepted");
}

TEST_CASE("in-process: a forwarded entry the leader's full queue cannot take is answered 503 overloaded", "[node][inprocess]") {
  // Every queue holds one entry. A lone entry is proposed at once; the leader's queue fills only while a block is
  // in flight. Here one cannot commit: three of five voters are cut off (the leader keeps the lead for an election
  // timeout, and blocks wait up to 3 s for company while one is in flight).
  json params = {{"block_max_entries", 100}, {"block_max_delay_ms", 3000}, {"election_timeout_ms", {1500, 3000}}};
  InProcess c("overload", 5, 0, params, true, 0, [](node::NodeConfig& cfg) { cfg.admission_queue = 1; });
  std::size_t leader = c.wait_leader();
  std::size_t follower = (leader + 1) % c.size();
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i != leader && i != follower) c.wire().isolate(c.raft_id(i), true);
  }
  json first = c.net().envelope("crct", "bill.issue", "OB-OV1", bill(container(4001)));
  json second = c.net().envelope("crct", "bill.issue", "OB-OV2", bill(container(4002)));
  json third = c.net().envelope("crct", "bill.issue", "OB-OV3", bill(container(4003)));
  Reply a = c.call(follower, "POST", "/v1/transactions?wait=none", first);
  CHECK(a.status == 202);  // proposed at once, and in flight
  REQUIRE(c.wait_status(leader, [](const json& s) { return s["pending"] == 0; }));  // out of the queue
  Reply b = c.call(follower, "POST", "/v1/transactions?wait=none", second);
  INFO(b.body.dump());
  CHECK(b.status == 202);  // waits in the leader's queue for the block in flight
  Reply refused = c.call(follower, "POST", "/v1/transactions?wait=none", third);
  CHECK(refused.status == 503);
  CHECK(refused.body["code"] == "overloaded");
  CHECK(refused.retry_after == "1");
  // Once the voters are back, the queued ones commit, and the refused one can be sent again.
  for (std::size_t i = 0; i < c.size(); ++i) c.wire().isolate(c.raft_id(i), false);
  Reply again = c.call(follower, "POST", "/v1/transactions?timeout_ms=8000", second);
  CHECK(again.status == 200);
  CHECK(again.body["status"] == "accepted");
  Reply retry = c.call(follower, "POST", "/v1/transactions?timeout_ms=8000", third);
  CHECK(retry.status == 200);
  CHECK(retry.body["status"] == "accepted");
}

TEST_CASE("in-process: a forward that cannot reach the leader is answered 503 leader_unreachable, not dropped", "[node][inprocess]") {
  InProcess c("unreachable", 3);
  std::size_t leader = c.wait_leader();
  std::size_t follower = (leader + 1) % c.size();
  c.wire().isolate(c.raft_id(leader), true);
  auto started = std::chrono::steady_clock::now();
  Reply r = c.submit_bill(follower, 200);
  auto took = std::chrono::steady_clock::now() - started;
  // Either the follower still believed in the old leader (the forward went nowhere: an error as soon as the
  // follower sees the lead change, well before the 5 s forward timeout) or it already saw the leader go (no leader
  // yet). Never a silent 202/pending.
  INFO(r.body.dump());
  CHECK(r.status == 503);
  CHECK((r.body["code"] == "leader_unreachable" || r.body["code"] == "no_leader"));
  CHECK(r.retry_after == "1");
  CHECK(took < std::chrono::milliseconds(4000));
  // Once the others elect a leader, the same entry goes through.
  c.stop(leader);
  for (int i = 0; i < 300; ++i) {
    json s = c.status(follower);
    if (!s.value("leader", "").empty() && s["leader"] != c.net().nodes()[leader].id) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Reply again = c.submit_bill(follower, 200);
  CHECK(again.status == 200);
  CHECK(again.body["status"] == "accepted");
}

TEST_CASE("in-process: min_height is parsed strictly and a height not reached in time is 503 not_ready", "[node][inprocess]") {
  InProcess c("minheight", 1, 0, {}, true, 0,
              [](node::NodeConfig& cfg) { cfg.commit_wait = std::chrono::milliseconds(300); });
  c.wait_leader();
  Reply r = c.submit_bill(0, 300);
  REQUIRE(r.status == 200);
  std::string doc = "/v1/documents/OB-IP300";
  CHECK(c.call(0, "GET", doc + "?min_height=1", nullptr, "audit").status == 200);
  CHECK(c.call(0, "GET", doc + "/history?min_height=0", nullptr, "audit").status == 200);
  for (const char* bad : {"abc", "-1", "1x", "", "+1", "1e3", "99999999999999999999"}) {
    INFO(bad);
    Reply b = c.call(0, "GET", doc + "?min_height=" + bad, nullptr, "audit");
    CHECK(b.status == 400);
    CHECK(b.body["code"] == "bad_query");
  }
  Reply late = c.call(0, "GET", doc + "?min_height=1000", nullptr, "audit");
  CHECK(late.status == 503);
  CHECK(late.body["code"] == "not_ready");
  CHECK(late.retry_after == "1");
}

TEST_CASE("in-process: a node added by governance after log compaction joins from a state snapshot", "[node][inprocess]") {
  json params = {{"block_max_entries", 1},
                 {"block_max_delay_ms", 2},
                 {"election_timeout_ms", {300, 600}},
                 {"snapshot_interval", 8},
                 {"snapshot_keep_entries", 2}};
  InProcess c("govsnap", 3, 0, params, true, 1);
  const std::size_t added = 3;
  std::size_t leader = c.wait_leader();
  for (int i = 0; i < 20; ++i) REQUIRE(c.submit_bill(leader, 500 + i).status == 200);
  c.start(added);
  std::int64_t at = add_node(c, leader, added);
  // It could not get the first entries (compacted away): it installed a state snapshot with the documents.
  CHECK(c.metrics(added).find("onebill_snapshots_installed_total 1") != std::string::npos);
  Reply doc = c.call(added, "GET", "/v1/documents/OB-IP500", nullptr, "audit");
  CHECK(doc.status == 200);
  CHECK(doc.body == c.call(leader, "GET", "/v1/documents/OB-IP500", nullptr, "audit").body);
  REQUIRE(c.wait_height(leader, at));
  REQUIRE(c.wait_height(added, at));
  CHECK(c.call(added, "GET", "/v1/blocks/" + std::to_string(at)).body["hash"] ==
        c.call(leader, "GET", "/v1/blocks/" + std::to_string(at)).body["hash"]);
}

TEST_CASE("in-process: a node whose disk fills up halts, writes nothing more, and restarted with space catches up "
          "(finding F1)", "[node][inprocess]") {
  testing::FaultInjectionEnv disk;  // outlives the nodes
  InProcess c("diskfull", 3);
  std::size_t leader = c.wait_leader();
  std::size_t full = (leader + 1) % c.size();
  c.stop(full);
  c.set_storage_env(full, &disk);
  c.start(full);
  std::int64_t height = 0;
  for (int i = 0; i < 3; ++i) {
    Reply r = c.submit_bill(leader, 700 + i);
    REQUIRE(r.status == 200);
    height = r.body["height"].get<std::int64_t>();
  }
  REQUIRE(c.wait_height(full, height));

  // The disk fills up: the node's next write that does not fit fails half-way (a Raft persist, a block apply or
  // an attestation, whichever comes first), and the node halts.
  disk.set_free_bytes(100);
  auto halted = [](const json& s) { return s.value("role", "") == "halted"; };
  for (int i = 0; i < 10 && !halted(c.status(full)); ++i) REQUIRE(c.submit_bill(leader, 710 + i).status == 200);
  REQUIRE(c.wait_status(full, halted));
  CHECK(disk.enospc_appends() >= 1);
  Reply refused = c.submit_bill(full, 730);
  CHECK(refused.status == 503);
  CHECK(refused.body["code"] == "not_ready");
  CHECK(c.call(full, "GET", "/readyz").status == 503);

  // Space comes back while the node is still running, halted. The others go on, and their attestations reach
  // it; it stores none of them: nothing may follow the torn record in its log.
  disk.set_free_bytes(testing::FaultInjectionEnv::kUnlimited);
  std::uint64_t appended = disk.appended_bytes();
  std::size_t other = (leader + 2) % c.size();
  for (int i = 0; i < 3; ++i) {
    Reply r = c.submit_bill(leader, 740 + i);
    REQUIRE(r.status == 200);
    height = r.body["height"].get<std::int64_t>();
  }
  REQUIRE(c.wait_height(other, height));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the last attestations on their way
  CHECK(disk.appended_bytes() == appended);
  CHECK(halted(c.status(full)));

  // The remedy for a full disk: restart. The store opens (the torn record was its log's tail, dropped by
  // recovery), and the node catches up and takes part again.
  c.stop(full);
  c.start(full);
  REQUIRE(c.wait_height(full, height));
  REQUIRE(c.wait_height(leader, height));
  CHECK(c.call(full, "GET", "/v1/blocks/" + std::to_string(height)).body["hash"] ==
        c.call(leader, "GET", "/v1/blocks/" + std::to_string(height)).body["hash"]);
  Reply after = c.submit_bill(full, 750);
  REQUIRE(after.status == 200);
  CHECK(after.body["status"] == "accepted");
  CHECK(c.wait_height(full, after.body["height"].get<std::int64_t>()));
}
