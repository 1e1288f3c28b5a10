// Real onebilld processes: when every node's Raft thread is held up at once (SIGSTOP here; a starved CPU, a slow
// apply or a long fsync in practice), the network keeps its leader and term when they resume. The ticks missed
// during the stall are dropped (node/raft_loop.cpp); charged all at once, they made followers that had just heard
// from the leader campaign, which cost the leader under load (found with onebill-bench, docs/performance.md).
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>
#include <unistd.h>

#include "tests/bench/bench_cluster.h"

using namespace onebill;
using nlohmann::json;

namespace {

json status(bench::BenchNet& net, std::size_t i) {
  auto a = bench::http_request(net.nodes()[i].api_port, "GET", "/v1/status");
  return json::parse(a.body, nullptr, false);
}

}  // namespace

TEST_CASE("a stall of every node at once does not change the leader or the term") {
  bench::NetOptions o;
  o.dir = std::filesystem::temp_directory_path() / ("onebill-stall-" + std::to_string(::getpid()));
  o.nodes = 3;
  o.keys = 1;
  o.params = {{"election_timeout_ms", {300, 600}}};
  bench::BenchNet net(o);
  for (std::size_t i = 0; i < 3; ++i) net.start(i, ONEBILLD);
  int leader = net.wait_ready(std::chrono::seconds(30));
  REQUIRE(leader >= 0);
  json before = status(net, static_cast<std::size_t>(leader));
  REQUIRE(before.is_object());

  for (const auto& n : net.nodes()) ::kill(n.pid, SIGSTOP);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // > 3 election timeouts
  for (const auto& n : net.nodes()) ::kill(n.pid, SIGCONT);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  for (std::size_t i = 0; i < 3; ++i) {
    json s = status(net, i);
    REQUIRE(s.is_object());
    CHECK(s["term"] == before["term"]);
    CHECK(s["leader"] == before["leader"]);
  }
  for (std::size_t i = 0; i < 3; ++i) net.stop(i, SIGTERM);
  std::filesystem::remove_all(o.dir);
}
