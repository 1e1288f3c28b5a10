// The REST client against a fake node on 127.0.0.1: problem+json errors, keep-alive and reconnection, timeouts,
// limits, streams; and URL handling.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>

#include "clients/rest_client.h"
#include "fake_node.h"

using onebill::clients::HttpReply;
using onebill::clients::Method;
using onebill::clients::NodeUrl;
using onebill::clients::RestClient;
using onebill::clients::RestOptions;
using onebill::test::FakeNode;
using onebill::test::FakeRequest;
using onebill::test::FakeResponse;
namespace clients = onebill::clients;

namespace {

RestClient client_for(const FakeNode& node, RestOptions opt = {}) {
  auto url = clients::parse_node_url(node.url());
  REQUIRE(url);
  return RestClient(*url, std::move(opt));
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);  // nothing listens there now
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("node URLs", "[rest]") {
  auto u = clients::parse_node_url("http://127.0.0.1:7101");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 7101);
  CHECK(u->text() == "http://127.0.0.1:7101");
  CHECK(clients::parse_node_url("http://node-1.example:80/")->host == "node-1.example");
  CHECK(clients::parse_node_url("127.0.0.1:7101")->port == 7101);
  CHECK(clients::parse_node_url("http://[::1]:7101")->host == "::1");
  CHECK(clients::parse_node_url("http://[::1]:7101")->text() == "http://[::1]:7101");
  CHECK(clients::parse_node_url("http://host")->port == 80);
  for (const char* bad : {"https://h:1", "ftp://h:1", "http://h:1/v1", "http://u@h:1", "http://h:0", "http://h:65536",
                          "http://h:x", "http://:1", "http://h:", "http://[::1:7101", "http://h:1?x=1"}) {
    INFO(bad);
    auto r = clients::parse_node_url(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "bad_url");
  }
}

TEST_CASE("url encoding and queries", "[rest]") {
  CHECK(clients::url_encode("OB-2026:1.a_b~") == "OB-2026%3A1.a_b~");
  CHECK(clients::url_encode("a b/c&d") == "a%20b%2Fc%26d");
  CHECK(clients::with_query("/v1/events", {{"doc", "OB 1"}, {"type", ""}, {"from_height", "5"}}) ==
        "/v1/events?doc=OB%201&from_height=5");
  CHECK(clients::with_query("/x", {}) == "/x");
}

TEST_CASE("problem+json answers become Error{code, detail}", "[rest]") {
  FakeNode node([](const FakeRequest& r) {
    if (r.target == "/v1/documents/OB-404") return FakeResponse::problem(404, "doc_not_found", "no document OB-404");
    if (r.target == "/v1/busy") {
      auto p = FakeResponse::problem(503, "no_leader", "no leader yet");
      p.headers["Retry-After"] = "1";
      return p;
    }
    if (r.target == "/v1/plain") {
      FakeResponse p;
      p.status = 502;
      p.content_type = "text/html";
      p.body = "<html>Bad Gateway</html>\nmore";
      return p;
    }
    if (r.target == "/v1/notjson") return FakeResponse::json(200, "nope");
    return FakeResponse::json(200, R"({"ok": true})");
  });
  RestOptions opt;
  opt.token = "secret-token";
  RestClient c = client_for(node, opt);

  auto missing = c.get_json("/v1/documents/OB-404");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "doc_not_found");
  CHECK(missing.error().message == "no document OB-404");

  auto busy = c.get_json("/v1/busy");
  CHECK(busy.error().code == "no_leader");
  CHECK(busy.error().message == "no leader yet (retry after 1 s)");

  auto plain = c.get_json("/v1/plain");
  CHECK(plain.error().code == "http_502");
  CHECK(plain.error().message == "<html>Bad Gateway</html>");

  CHECK(c.get_json("/v1/notjson").error().code == "bad_response");
  auto ok = c.get_json("/v1/status");
  REQUIRE(ok);
  CHECK((*ok)["ok"] == true);

  // The raw answer keeps status, body and headers.
  auto raw = c.get("/v1/documents/OB-404");
  REQUIRE(raw);
  CHECK(raw->status == 404);
  CHECK(raw->header("Content-Type") == "application/problem+json");
  CHECK(clients::problem_error(*raw).code == "doc_not_found");

  for (const auto& r : node.requests()) CHECK(r.authorization == "Bearer secret-token");
  CHECK(node.connections() == 1);  // one kept-alive connection for all of them
}

TEST_CASE("keep-alive: a connection the node closed is replaced once, for repeatable requests", "[rest]") {
  FakeNode node([](const FakeRequest& r) {
    FakeResponse a = FakeResponse::json(200, "{\"n\": " + std::to_string(r.connection) + "}");
    a.close_after = true;  // says keep-alive, then hangs up: what an idle timeout on the node looks like
    return a;
  });
  RestClient c = client_for(node);
  REQUIRE(c.get_json("/a"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto second = c.get_json("/b");
  REQUIRE(second);
  CHECK(c.connections_opened() == 2);
  // A request that must not repeat always goes on a fresh connection.
  auto post = c.request(Method::post, "/v1/transactions", R"({"tx": {}})", /*retry_stale=*/false);
  REQUIRE(post);
  CHECK(c.connections_opened() == 3);
  auto reqs = node.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[2].method == "POST");
  CHECK(reqs[2].body == R"({"tx": {}})");
}

TEST_CASE("timeouts, unreachable nodes, answers over the limit", "[rest]") {
  FakeNode node([](const FakeRequest& r) {
    FakeResponse a = FakeResponse::json(200, std::string(1000, ' ') + "{}");
    if (r.target == "/slow") a.delay = std::chrono::milliseconds(1500);
    return a;
  });
  RestOptions opt;
  opt.timeout = std::chrono::milliseconds(200);
  opt.max_body = 100;
  RestClient c = client_for(node, opt);
  const auto start = std::chrono::steady_clock::now();
  auto slow = c.get("/slow");
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(slow);
  CHECK(slow.error().code == "timeout");
  CHECK(took < std::chrono::milliseconds(1200));

  auto big = c.get("/big");
  REQUIRE_FALSE(big);
  CHECK(big.error().code == "too_large");

  RestClient nowhere(NodeUrl{"127.0.0.1", closed_port()}, RestOptions{});
  auto r = nowhere.get("/v1/status");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "unreachable");
}

TEST_CASE("streams: bytes as they come, early stop, errors, idle timeout", "[rest][sse]") {
  FakeNode node([](const FakeRequest& r) {
    FakeResponse a;
    a.content_type = "text/event-stream";
    if (r.target.rfind("/v1/events?doc=forbidden", 0) == 0) return FakeResponse::problem(403, "forbidden", "not yours");
    if (r.target.rfind("/v1/events?doc=idle", 0) == 0) {
      a.chunks = {": live\n\n", "data: late\n\n"};
      a.chunk_delay = std::chrono::milliseconds(800);
      return a;
    }
    a.chunks = {": live\n\n", "data: 1\n", "\ndata: 2\n\n", "data: 3\n\n"};
    return a;
  });
  RestClient c = client_for(node);
  std::string got;
  auto all = c.stream("/v1/events", std::chrono::seconds(5), [&](std::string_view b) {
    got += b;
    return true;
  });
  CHECK(all);  // the node ended it
  CHECK(got == ": live\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n");

  std::string first;
  int calls = 0;
  CHECK(c.stream("/v1/events", std::chrono::seconds(5), [&](std::string_view b) {
    first += b;
    ++calls;
    return false;
  }));
  CHECK(calls == 1);
  CHECK(first.rfind(": live\n\n", 0) == 0);

  auto denied = c.stream("/v1/events?doc=forbidden", std::chrono::seconds(5), [](std::string_view) { return true; });
  REQUIRE_FALSE(denied);
  CHECK(denied.error().code == "forbidden");
  CHECK(denied.error().message == "not yours");

  auto idle = c.stream("/v1/events?doc=idle", std::chrono::milliseconds(300), [](std::string_view) { return true; });
  REQUIRE_FALSE(idle);
  CHECK(idle.error().code == "timeout");
}
