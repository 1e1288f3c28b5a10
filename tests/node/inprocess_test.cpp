// Several onebilld nodes in this process, wired by an in-memory peer network (tests/support/memory_network.h)
// instead of TLS sockets, called through the REST handlers (Node::call): entries submitted to a follower are
// committed everywhere with the same block hashes and documents; a follower cut off catches up; a forwarded entry
// the leader cannot take, or a forward that cannot reach the leader, is answered with an error; governance
// node.add / node.remove change the Raft configuration. Every wait is bounded.
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
  InProcess(const std::string& name, int voters, int learners = 0, json params = {}, bool start_learners = true)
      : net_(std::filesystem::temp_directory_path() / ("onebill-inproc-" + name + "-" + std::to_string(::getpid())),
             voters, learners, crypto::SigAlg::ecdsa_p256, std::move(params)) {
    nodes_.resize(net_.nodes().size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (start_learners || net_.nodes()[i].voter) start(i);
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

  // `edit` may change the node's config before it starts.
  void start(std::size_t i, const std::function<void(node::NodeConfig&)>& edit = {}) {
    auto config = node::load_config(net_.nodes()[i].config);
    REQUIRE(config.ok());
    if (edit) edit(*config);
    auto n = node::Node::create(*config, log_, wire_->factory());
    REQUIRE(n.ok());
    REQUIRE((*n)->start().ok());
    nodes_[i] = std::move(*n);
  }
  void stop(std::size_t i) { nodes_[i].reset(); }

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

  // Submits a new bill through node i and waits for its commit.
  Reply submit_bill(std::size_t i, int n) {
    json env = net_.envelope("crct", "bill.issue", "OB-IP" + std::to_string(n), bill(container(3000 + n)));
    return call(i, "POST", "/v1/transactions", env);
  }

 private:
  testing::TestNet net_;
  std::shared_ptr<testing::MemoryNetwork> wire_ = testing::MemoryNetwork::create();
  node::Logger log_{node::LogLevel::error};
  std::vector<std::unique_ptr<node::Node>> nodes_;
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
  CHECK(c.call(cut, "GET", "/v1/blocks/" + std::to_string(height)).body["hash"] ==
        c.call(leader, "GET", "/v1/blocks/" + std::to_string(height)).body["hash"]);
}
