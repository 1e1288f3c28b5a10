// Real onebilld processes on 127.0.0.1: a three-node network where entries submitted to a follower are committed
// on every node with the same block hashes and document states; a node restarted mid-stream catches up; and a
// leader killed with SIGKILL under load loses no entry that was answered as committed.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <fcntl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "clients/audit/verify.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

struct Answer {
  unsigned status = 0;
  json body;
};

// One HTTP request to 127.0.0.1:port with a deadline; status 0 when the node does not answer.
Answer request(std::uint16_t port, bhttp::verb verb, const std::string& target, const std::string& org,
               const std::string& body = "", std::chrono::milliseconds timeout = std::chrono::milliseconds(15000)) {
  try {
    net::io_context io;
    boost::beast::tcp_stream s(io);
    s.expires_after(timeout);
    s.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> req(verb, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    if (!org.empty()) req.set(bhttp::field::authorization, "Bearer " + testing::TestNet::token(org));
    req.body() = body;
    req.prepare_payload();
    bhttp::write(s, req);
    boost::beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    return {res.result_int(), json::parse(res.body(), nullptr, false)};
  } catch (const std::exception&) {
    return {};
  }
}

// The body of a GET as text ("" when the node does not answer).
std::string raw_get(std::uint16_t port, const std::string& target) {
  try {
    net::io_context io;
    boost::beast::tcp_stream s(io);
    s.expires_after(std::chrono::seconds(5));
    s.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> req(bhttp::verb::get, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(s, req);
    boost::beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    return res.body();
  } catch (const std::exception&) {
    return "";
  }
}

class Cluster {
 public:
  // Starts every node, except the learners when `start_learners` is false. The nodes log at `log_level`
  // (at info with ONEBILL_CLUSTER_LOG_INFO set).
  explicit Cluster(const std::string& name, int voters, int learners = 0, json params = {},
                   bool start_learners = true, const std::string& log_level = "warn")
      : net_(std::filesystem::temp_directory_path() / ("onebill-cluster-" + name + "-" + std::to_string(::getpid())),
             voters, learners, crypto::SigAlg::ecdsa_p256, std::move(params)) {
    pids_.resize(net_.nodes().size(), -1);
    if (std::getenv("ONEBILL_CLUSTER_LOG_INFO") != nullptr || log_level != "warn") {
      for (const auto& n : net_.nodes()) {
        std::ifstream in(n.config);
        json cfg = json::parse(in);
        cfg["log_level"] = std::getenv("ONEBILL_CLUSTER_LOG_INFO") != nullptr ? "info" : log_level;
        std::ofstream(n.config) << cfg.dump();
      }
    }
    for (std::size_t i = 0; i < pids_.size(); ++i) {
      if (start_learners || net_.nodes()[i].voter) start(i);
    }
  }
  ~Cluster() {
    for (std::size_t i = 0; i < pids_.size(); ++i) stop(i, SIGTERM);
    if (std::getenv("ONEBILL_CLUSTER_KEEP") == nullptr) std::filesystem::remove_all(net_.dir());
  }

  void start(std::size_t i) {
    const auto& n = net_.nodes()[i];
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int fd = ::open((n.dir / "node.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 2);
        ::dup2(fd, 1);
      }
      ::execl(ONEBILLD, ONEBILLD, "--config", n.config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    pids_[i] = pid;
  }

  void stop(std::size_t i, int sig) {
    if (pids_[i] <= 0) return;
    ::kill(pids_[i], sig);
    int status = 0;
    for (int k = 0; k < 200; ++k) {  // at most 10 s, then SIGKILL
      if (::waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
        pids_[i] = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pids_[i], SIGKILL);
    ::waitpid(pids_[i], &status, 0);
    pids_[i] = -1;
  }

  std::uint16_t api(std::size_t i) { return net_.nodes()[i].api_port; }
  // A counter from /metrics (0 when it has not appeared yet).
  long metric(std::size_t i, const std::string& name) {
    std::string text = raw_get(api(i), "/metrics");
    auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? 0 : std::stol(text.substr(at + name.size() + 2));
  }
  testing::TestNet& net() { return net_; }
  std::size_t size() const { return pids_.size(); }
  pid_t pid(std::size_t i) const { return pids_[i]; }

  // Waits until every running node is ready; returns the index of the leader.
  std::size_t wait_ready() {
    for (int k = 0; k < 300; ++k) {
      bool all = true;
      std::optional<std::size_t> leader;
      for (std::size_t i = 0; i < pids_.size(); ++i) {
        if (pids_[i] <= 0) continue;
        auto r = request(api(i), bhttp::verb::get, "/v1/status", "", "", std::chrono::milliseconds(1000));
        if (r.status != 200 || r.body["leader"] == "") all = false;
        if (r.status == 200 && r.body["role"] == "leader") leader = i;
      }
      if (all && leader) return *leader;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("the cluster did not become ready within 30 s\n" << diagnostics());
    return 0;
  }

  // For a failure message: per node, whether its process still runs, and the end of its log.
  std::string diagnostics() {
    std::ostringstream out;
    for (std::size_t i = 0; i < pids_.size(); ++i) {
      const auto& n = net_.nodes()[i];
      int status = 0;
      std::string state = "not started";
      if (pids_[i] > 0) {
        state = ::waitpid(pids_[i], &status, WNOHANG) == pids_[i]
                    ? "ended with status " + std::to_string(status)
                    : "running";
        if (state != "running") pids_[i] = -1;
      }
      out << "-- " << n.id << " (api " << n.api_port << ", raft " << n.raft_port << "): " << state << "\n";
      std::ifstream in(n.dir / "node.log");
      std::deque<std::string> tail;
      for (std::string line; std::getline(in, line);) {
        tail.push_back(line);
        if (tail.size() > 8) tail.pop_front();
      }
      for (const auto& line : tail) out << "   " << line << "\n";
    }
    return out.str();
  }

  // The lines of node i's log that contain `needle` (the last `max` of them), for a failed check to show.
  std::string log_lines(std::size_t i, std::string_view needle, std::size_t max = 12) {
    std::ifstream in(net_.nodes()[i].dir / "node.log");
    std::deque<std::string> hits;
    for (std::string line; std::getline(in, line);) {
      if (line.find(needle) == std::string::npos) continue;
      hits.push_back(line);
      if (hits.size() > max) hits.pop_front();
    }
    std::string out = "-- " + net_.nodes()[i].id + ", lines with \"" + std::string(needle) + "\":\n";
    for (const auto& line : hits) out += "   " + line + "\n";
    return out;
  }

  // Waits until every running node has applied `height`.
  void wait_height(std::int64_t height) {
    for (int k = 0; k < 300; ++k) {
      bool all = true;
      for (std::size_t i = 0; i < pids_.size(); ++i) {
        if (pids_[i] <= 0) continue;
        auto r = request(api(i), bhttp::verb::get, "/v1/status", "", "", std::chrono::milliseconds(1000));
        if (r.status != 200 || r.body["height"].get<std::int64_t>() < height) all = false;
      }
      if (all) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("not every node reached height " << height << "\n" << diagnostics());
  }

 private:
  testing::TestNet net_;
  std::vector<pid_t> pids_;
};

using testing::bill;
using testing::container;

}  // namespace

TEST_CASE("onebilld --version names the allocator it was linked with", "[cluster]") {
  std::FILE* p = ::popen(ONEBILLD " --version", "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  CHECK(::pclose(p) == 0);
  CHECK(out.rfind("onebilld ", 0) == 0);
#if ONEBILL_EXPECT_JEMALLOC
  CHECK(out.find("(allocator: jemalloc 5.") != std::string::npos);
#else
  CHECK(out.find("(allocator: glibc malloc)") != std::string::npos);
#endif
}

// The names of a process's threads (/proc/{pid}/task/*/comm).
std::multiset<std::string> thread_names(pid_t pid) {
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(task.path() / "comm");
    std::string name;
    if (std::getline(in, name)) names.insert(name);
  }
  return names;
}

TEST_CASE("three onebilld processes agree on every block and document", "[cluster]") {
  Cluster c("agree", 3);
  std::size_t leader = c.wait_ready();
  // The node's threads carry names for top -H, perf and gdb (node/threads.h; docs/operations.md).
  const auto names = thread_names(c.pid(leader));
  CHECK(names.count("ob-raft") == 1);
  CHECK(names.count("ob-io") == 1);
  if (std::thread::hardware_concurrency() > 1) CHECK(names.count("ob-verify") >= 1);  // one less than the cores
  CHECK(names.count("ob-bundle") == 1);
  std::size_t follower = (leader + 1) % c.size();
  std::int64_t height = 0;
  for (int i = 0; i < 20; ++i) {
    json env = c.net().envelope("crct", "bill.issue", "OB-C" + std::to_string(i), bill(container(i)));
    auto r = request(c.api(follower), bhttp::verb::post, "/v1/transactions", "crct", env.dump());
    REQUIRE(r.status == 200);
    REQUIRE(r.body["status"] == "accepted");
    height = std::max(height, r.body["height"].get<std::int64_t>());
  }
  c.wait_height(height);
  for (std::int64_t h = 1; h <= height; ++h) {
    std::set<std::string> hashes;
    std::set<std::string> state_roots;
    for (std::size_t i = 0; i < c.size(); ++i) {
      auto b = request(c.api(i), bhttp::verb::get, "/v1/blocks/" + std::to_string(h), "audit");
      REQUIRE(b.status == 200);
      hashes.insert(b.body["hash"].get<std::string>());
      state_roots.insert(b.body["header"]["state_root"].get<std::string>());
      if (h == height) CHECK(b.body["header"]["state_size"] == 20);  // one leaf per bill issued
    }
    CHECK(hashes.size() == 1);
    CHECK(state_roots.size() == 1);  // the document state tree is the same on every node
  }
  std::set<std::string> docs;
  for (std::size_t i = 0; i < c.size(); ++i) {
    docs.insert(request(c.api(i), bhttp::verb::get, "/v1/documents/OB-C7", "audit").body.dump());
  }
  CHECK(docs.size() == 1);
}

TEST_CASE("a restarted node catches up and a killed leader loses no committed entry", "[cluster]") {
  Cluster c("failover", 3);
  std::size_t leader = c.wait_ready();
  // A follower goes down while entries keep coming, then comes back and catches up.
  std::size_t down = (leader + 1) % c.size();
  std::size_t up = (leader + 2) % c.size();
  c.stop(down, SIGTERM);
  std::vector<std::string> committed;
  for (int i = 0; i < 10; ++i) {
    json env = c.net().envelope("crct", "bill.issue", "OB-R" + std::to_string(i), bill(container(100 + i)));
    auto r = request(c.api(up), bhttp::verb::post, "/v1/transactions", "crct", env.dump());
    REQUIRE(r.status == 200);
    committed.push_back(r.body["id"]);
  }
  c.start(down);
  c.wait_ready();

  // Kill the leader with SIGKILL while a client keeps submitting through the others.
  leader = c.wait_ready();
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::thread load([&] {
    for (int i = 0; i < 400 && !stop.load(); ++i) {
      std::size_t via = (leader + 1 + static_cast<std::size_t>(i) % 2) % c.size();
      json env = c.net().envelope("crct", "bill.issue", "OB-K" + std::to_string(i), bill(container(1000 + i)));
      auto r = request(c.api(via), bhttp::verb::post, "/v1/transactions?timeout_ms=3000", "crct", env.dump(),
                       std::chrono::milliseconds(5000));
      if (r.status == 200 && r.body["status"] == "accepted") {
        std::lock_guard lock(mu);
        committed.push_back(r.body["id"]);
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  c.stop(leader, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  stop = true;
  load.join();
  c.start(leader);
  c.wait_ready();
  std::int64_t top = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    top = std::max(top, request(c.api(i), bhttp::verb::get, "/v1/status", "").body["height"].get<std::int64_t>());
  }
  c.wait_height(top);
  INFO("committed entries checked: " << committed.size());
  for (const auto& id : committed) {
    for (std::size_t i = 0; i < c.size(); ++i) {
      auto t = request(c.api(i), bhttp::verb::get, "/v1/transactions/" + id, "audit");
      REQUIRE(t.status == 200);
      CHECK(t.body["status"] == "accepted");
    }
  }
}

TEST_CASE("a stopped follower and a new learner join from a state snapshot after the log was compacted", "[cluster]") {
  // One entry per block, a snapshot every 40 applied entries keeping 10 before it: 320 blocks while a follower is
  // down compact the log far past it. The two others then restart, so they serve snapshots recorded before a
  // restart and hold no appends queued for the stopped follower (a transport keeps those — up to Raft's in-flight
  // window — and a follower stopped while they run catches up from them).
  Cluster c("snapshot", 3, 1, {{"snapshot_interval", 40}, {"snapshot_keep_entries", 10}, {"block_max_entries", 1}},
            false, "info");
  const std::size_t learner = 3;
  REQUIRE_FALSE(c.net().nodes()[learner].voter);
  std::size_t leader = c.wait_ready();
  std::size_t down = (leader + 1) % 3;
  std::size_t up = (leader + 2) % 3;
  c.stop(down, SIGTERM);
  for (int i = 0; i < 320; ++i) {
    json env = c.net().envelope("crct", "bill.issue", "OB-S" + std::to_string(i), bill(container(2000 + i)));
    auto r = request(c.api(up), bhttp::verb::post, "/v1/transactions?wait=none", "crct", env.dump());
    REQUIRE(r.status == 202);
  }
  std::int64_t height = 320;
  c.wait_height(height);
  CHECK(c.metric(leader, "onebill_snapshots_taken_total") >= 1);
  c.stop(leader, SIGTERM);
  c.stop(up, SIGTERM);
  c.start(leader);
  c.start(up);
  c.wait_ready();
  c.start(down);
  c.start(learner);
  c.wait_ready();
  c.wait_height(height);
  // Kept for a failure of the checks below (one seen in session 5, not reproduced in 60 runs since): which node
  // led, and what each took, served and installed.
  INFO("leader before the restart: " << c.net().nodes()[leader].id << ", stopped: " << c.net().nodes()[down].id);
  INFO(c.log_lines(leader, "snapshot") << c.log_lines(up, "snapshot") << c.log_lines(down, "snapshot")
                                       << c.log_lines(down, "leader") << c.log_lines(learner, "snapshot"));
  CHECK(c.metric(down, "onebill_snapshots_installed_total") >= 1);
  CHECK(c.metric(learner, "onebill_snapshots_installed_total") >= 1);

  // They keep applying after the install: more entries, submitted through the node that installed.
  for (int i = 320; i < 325; ++i) {
    json env = c.net().envelope("crct", "bill.issue", "OB-S" + std::to_string(i), bill(container(2000 + i)));
    auto r = request(c.api(down), bhttp::verb::post, "/v1/transactions", "crct", env.dump());
    REQUIRE(r.status == 200);
    REQUIRE(r.body["status"] == "accepted");
    height = std::max(height, r.body["height"].get<std::int64_t>());
  }
  c.wait_height(height);
  for (std::int64_t h = 1; h <= height; ++h) {
    std::set<std::string> hashes;
    for (std::size_t i = 0; i < c.size(); ++i) {
      auto b = request(c.api(i), bhttp::verb::get, "/v1/blocks/" + std::to_string(h), "audit");
      REQUIRE(b.status == 200);
      hashes.insert(b.body["hash"].get<std::string>());
    }
    CHECK(hashes.size() == 1);
  }
  for (const char* doc : {"OB-S3", "OB-S299", "OB-S323"}) {
    std::set<std::string> docs;
    for (std::size_t i = 0; i < c.size(); ++i) {
      auto d = request(c.api(i), bhttp::verb::get, std::string("/v1/documents/") + doc, "audit");
      REQUIRE(d.status == 200);
      docs.insert(d.body.dump());
    }
    CHECK(docs.size() == 1);
  }
  // A transaction applied before the snapshot has its proof on the node that installed it.
  auto t = request(c.api(learner), bhttp::verb::get, "/v1/log/head", "audit");
  CHECK(t.status == 200);
  // And the bundles of documents written before and after the install verify offline, state proofs included (the
  // state tree and its undo records came with the snapshot).
  std::ifstream g(c.net().genesis_path(), std::ios::binary);
  const std::string genesis((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
  for (std::size_t node : {down, learner}) {
    for (const char* doc : {"OB-S3", "OB-S323"}) {
      INFO("the bundle of " << doc << " from node " << node);
      json bundle;
      for (int k = 0; k < 50; ++k) {  // OB-S323's block is certified a moment after it is applied
        auto b = request(c.api(node), bhttp::verb::get, std::string("/v1/documents/") + doc + "/bundle", "audit");
        if (b.status == 200) {
          bundle = b.body;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      REQUIRE(bundle.is_object());
      CHECK(bundle["state_proofs"].contains(doc));
      auto r = audit::verify_bundle(genesis, bundle);
      INFO(r.to_json().dump());
      CHECK(r.ok);
      CHECK(r.counts.state_proofs == 1);
    }
  }
}

TEST_CASE("the certified head survives a restart", "[cluster]") {
  Cluster c("certified", 3);
  std::size_t leader = c.wait_ready();
  json env = c.net().envelope("crct", "bill.issue", "OB-H1", bill(container(300)));
  auto r = request(c.api(leader), bhttp::verb::post, "/v1/transactions", "crct", env.dump());
  REQUIRE(r.status == 200);
  std::size_t other = (leader + 1) % 3;
  c.wait_height(r.body["height"].get<std::int64_t>());
  Answer before;
  for (int k = 0; k < 100; ++k) {  // attestations arrive after applying
    before = request(c.api(other), bhttp::verb::get, "/v1/log/head", "audit");
    if (before.status == 200 && before.body["height"] == r.body["height"]) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(before.status == 200);
  // Every node stops, so no new block can certify anything; the one that restarts must recover the head.
  for (std::size_t i = 0; i < c.size(); ++i) c.stop(i, SIGTERM);
  c.start(other);
  Answer after;
  for (int k = 0; k < 100 && after.status == 0; ++k) {
    after = request(c.api(other), bhttp::verb::get, "/v1/log/head", "audit", "", std::chrono::milliseconds(500));
    if (after.status == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(after.status == 200);
  CHECK(after.body["height"] == before.body["height"]);
  CHECK(after.body["header_hash"] == before.body["header_hash"]);
}
