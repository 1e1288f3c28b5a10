// Slow and hostile clients on a running node's REST port, over real sockets on 127.0.0.1 (issue 9): many
// connections trickling their header a byte at a time (slowloris) while other clients are served and timed; the
// connection cap; requests the HTTP layer refuses before they reach a handler. The node runs in this process (a
// one-voter network, tests/support/testnet.h) with a short header deadline so the test is short. Every wait is
// bounded; the attack runs on its own thread and io_context.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#include "node/config.h"
#include "node/node.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

constexpr milliseconds kHeaderTimeout{1500};

template <class Pred>
bool eventually(Pred pred, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A one-voter network with bill OB-S, its API on a real port. `edit` changes the config before the node starts.
struct Target {
  testing::TestNet net;
  node::Logger log{node::LogLevel::error};
  std::unique_ptr<node::Node> n;

  Target(const std::string& name, const std::function<void(node::NodeConfig&)>& edit)
      : net(std::filesystem::temp_directory_path() / ("onebill-sec-http-" + name + "-" + std::to_string(::getpid())),
            1) {
    auto config = node::load_config(net.nodes()[0].config);
    REQUIRE(config.ok());
    edit(*config);
    auto created = node::Node::create(*config, log);
    REQUIRE(created.ok());
    n = std::move(*created);
    REQUIRE(n->start().ok());
    REQUIRE(eventually([&] { return call("GET", "/readyz").response.result_int() == 200; }, 10s));
    REQUIRE(submit("OB-S", 1)["status"] == "accepted");
  }
  ~Target() {
    n->stop();
    std::filesystem::remove_all(net.dir());
  }
  node::http::Reply call(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::string& token = "") {
    node::http::Request req(boost::beast::http::string_to_verb(method), target, 11);
    if (!token.empty()) req.set(boost::beast::http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    return n->call(std::move(req));
  }
  json submit(const std::string& doc, int container) {
    auto env = net.envelope("crct", "bill.issue", doc, testing::bill(testing::container(container)));
    return json::parse(
        call("POST", "/v1/transactions", env.dump(), testing::TestNet::token("crct")).response.body(), nullptr,
        false);
  }
  std::uint16_t port() const { return n->api_port(); }
  // What a refused request must not change.
  json state() {
    json st = json::parse(call("GET", "/v1/status").response.body());
    return {{"height", st["height"]}, {"log_size", st["log_size"]}, {"header_hash", st["header_hash"]},
            {"doc", json::parse(call("GET", "/v1/documents/OB-S", "", "token-audit").response.body())}};
  }
};

// One request on a fresh connection, read to the server's close. nullopt if it did not complete within `timeout`.
// `from`: the client's own loopback address (another 127.0.0.x is another client to the server).
std::optional<std::string> exchange(std::uint16_t port, const std::string& raw, milliseconds timeout = 10s,
                                    const char* from = nullptr) {
  net::io_context io;
  tcp::socket s(io);
  if (from != nullptr) {
    s.open(tcp::v4());
    s.bind({net::ip::make_address(from), 0});
  }
  std::string out;
  bool done = false;
  s.async_connect({net::ip::make_address("127.0.0.1"), port}, [&](const boost::system::error_code& ec) {
    if (ec) {
      done = true;
      return;
    }
    net::async_write(s, net::buffer(raw), [&](const boost::system::error_code& wec, std::size_t) {
      if (wec) {
        done = true;
        return;
      }
      net::async_read(s, net::dynamic_buffer(out), [&](const boost::system::error_code&, std::size_t) { done = true; });
    });
  });
  io.run_for(timeout);
  if (!done) return std::nullopt;
  return out;
}

const std::string kRead =
    "GET /v1/documents/OB-S HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer token-audit\r\n"
    "Connection: close\r\n\r\n";

// Latencies of `n` reads of the bill by a well-behaved client, one connection each; counts answers other than 200.
struct Sample {
  std::vector<double> ms;
  int failures = 0;
  double p99() const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[(v.size() * 99 + 99) / 100 - 1];
  }
  double p50() const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  }
};
Sample sample(std::uint16_t port, int n) {
  Sample s;
  for (int i = 0; i < n; ++i) {
    const auto start = Clock::now();
    auto out = exchange(port, kRead);
    s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!out || out->rfind("HTTP/1.1 200 ", 0) != 0) ++s.failures;
  }
  return s;
}

// The attack: `trickling` connections that send a never-ending header one byte every `tick`, and `silent` ones that
// connect and send nothing. Each connection closed by the server is recorded (how long it lived, whether it got
// any answer) and, while `reconnect` holds, replaced by a new one, as a real attacker would.
class Slowloris {
 public:
  Slowloris(std::uint16_t port, int trickling, int silent, milliseconds tick) : port_(port), tick_(tick) {
    for (int i = 0; i < trickling + silent; ++i) open(i >= trickling);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Slowloris() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  Slowloris(const Slowloris&) = delete;
  Slowloris& operator=(const Slowloris&) = delete;

  int open_now() const { return open_.load(); }
  void stop_reconnecting() {
    net::post(io_, [this] { reconnect_ = false; });
  }
  struct Closed {
    milliseconds lived;
    bool silent;
    bool answered;  // the server wrote something before closing
    std::size_t bytes_sent;
  };
  std::vector<Closed> closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }
  int connect_failures() const { return connect_failures_.load(); }

 private:
  struct Conn {
    explicit Conn(net::io_context& io, bool s) : socket(io), timer(io), silent(s) {}
    tcp::socket socket;
    net::steady_timer timer;
    bool silent;
    bool closed = false;
    bool answered = false;
    std::size_t sent = 0;
    Clock::time_point opened;
    std::array<char, 256> buf{};
  };

  void open(bool silent) {
    auto c = std::make_shared<Conn>(io_, silent);
    c->socket.async_connect({net::ip::make_address("127.0.0.1"), port_}, [this, c](const boost::system::error_code& ec) {
      if (ec) {
        ++connect_failures_;
        return;
      }
      c->opened = Clock::now();
      ++open_;
      read(c);
      if (!c->silent) trickle(c);
    });
  }
  // Reads until the server closes; that is the end of the connection.
  void read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(net::buffer(c->buf), [this, c](const boost::system::error_code& ec, std::size_t) {
      if (!ec) {
        c->answered = true;
        read(c);
        return;
      }
      if (c->closed) return;
      c->closed = true;
      --open_;
      {
        std::lock_guard lock(mu_);
        closed_.push_back(Closed{std::chrono::duration_cast<milliseconds>(Clock::now() - c->opened), c->silent,
                                 c->answered, c->sent});
      }
      c->timer.cancel();
      boost::system::error_code ignored;
      c->socket.close(ignored);
      if (reconnect_) open(c->silent);
    });
  }
  void trickle(const std::shared_ptr<Conn>& c) {
    c->timer.expires_after(tick_);
    c->timer.async_wait([this, c](const boost::system::error_code& ec) {
      if (ec || c->closed) return;
      static const std::string kHeader = "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
      const char byte = c->sent < kHeader.size() ? kHeader[c->sent] : 'a';  // the header never ends
      auto data = std::make_shared<char>(byte);
      net::async_write(c->socket, net::buffer(data.get(), 1),
                       [this, c, data](const boost::system::error_code& wec, std::size_t) {
                         if (wec) return;  // closed: the read sees it
                         ++c->sent;
                         trickle(c);
                       });
    });
  }

  std::uint16_t port_;
  milliseconds tick_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> guard_{net::make_work_guard(io_)};
  std::thread thread_;
  bool reconnect_ = true;  // io thread only
  std::atomic<int> open_{0};
  std::atomic<int> connect_failures_{0};
  std::mutex mu_;
  std::vector<Closed> closed_;
};

}  // namespace

TEST_CASE("security: slowloris — 200 connections trickling headers do not slow other clients, and are cut off",
          "[security][http][slow]") {
  Target t("slowloris", [](node::NodeConfig& c) { c.header_timeout = kHeaderTimeout; });
  constexpr int kTrickling = 180;
  constexpr int kSilent = 20;
  constexpr int kRequests = 300;
  (void)sample(t.port(), 20);  // warm up

  // The bound: p99 during the attack within 2x the baseline's p99 plus 20 ms. The absolute 20 ms is for the shared
  // 2-core machine the tests run on: the baseline p99 of a loopback read is about a millisecond, and one scheduler
  // hiccup from another process's build (tens of milliseconds) would otherwise decide the test. A node that let slow
  // clients hold up others would miss it by far: its requests would wait for a header deadline (1.5 s here). Each
  // attempt measures a fresh baseline right before its attack; the bound must hold in one of three attempts, so a
  // burst of load from elsewhere during one attempt does not fail the test, while a real regression fails all three.
  bool within = false;
  for (int attempt = 1; attempt <= 3 && !within; ++attempt) {
    INFO("attempt " << attempt);
    const Sample base = sample(t.port(), kRequests);
    CHECK(base.failures == 0);

    Slowloris attack(t.port(), kTrickling, kSilent, 50ms);
    REQUIRE(eventually([&] { return attack.open_now() == kTrickling + kSilent; }, 10s));
    const Sample during = sample(t.port(), kRequests);
    CHECK(during.failures == 0);
    CHECK(attack.open_now() + static_cast<int>(attack.closed().size()) >= kTrickling + kSilent);
    // The node still admits and commits entries during the attack.
    CHECK(t.submit("OB-SL-" + std::to_string(attempt), 100 + attempt)["status"] == "accepted");

    // Every slow connection is closed by the server at its header deadline, without an answer: the silent ones
    // too (a fresh connection's deadline runs from the accept, not after the 60 s keep-alive idle timeout).
    attack.stop_reconnecting();
    REQUIRE(eventually([&] { return attack.open_now() == 0; }, kHeaderTimeout + 10s));
    const auto closed = attack.closed();
    CHECK(closed.size() >= static_cast<std::size_t>(kTrickling + kSilent));
    CHECK(attack.connect_failures() == 0);
    milliseconds shortest = 1h;
    milliseconds longest{0};
    for (const auto& c : closed) {
      shortest = std::min(shortest, c.lived);
      longest = std::max(longest, c.lived);
      CHECK_FALSE(c.answered);
      if (!c.silent) CHECK(c.bytes_sent > 0);
    }
    // Lifetimes are measured from when this side's connect completed, which on a loaded machine can be well after
    // the server's accept (where the deadline starts): half the deadline below is enough to tell "cut at the
    // deadline" from "refused at once".
    CHECK(shortest >= kHeaderTimeout / 2);
    CHECK(longest < kHeaderTimeout + 10s);

    within = during.p99() <= 2 * base.p99() + 20.0;
    std::printf("slowloris attempt %d: %d slow connections (%d silent), baseline p50 %.2f ms p99 %.2f ms; "
                "during the attack p50 %.2f ms p99 %.2f ms; %zu slow connections closed, lifetimes %lld-%lld ms "
                "(header deadline %lld ms)%s\n",
                attempt, kTrickling + kSilent, kSilent, base.p50(), base.p99(), during.p50(), during.p99(),
                closed.size(), static_cast<long long>(shortest.count()), static_cast<long long>(longest.count()),
                static_cast<long long>(kHeaderTimeout.count()), within ? "" : " - over the bound, measuring again");
  }
  CHECK(within);
  // Afterwards the node serves as before.
  CHECK(sample(t.port(), 20).failures == 0);
}

TEST_CASE("security: connections over the cap are refused while the cap's slots are held, then served",
          "[security][http]") {
  Target t("cap", [](node::NodeConfig& c) {
    c.header_timeout = kHeaderTimeout;
    c.max_connections = 50;
  });
  Slowloris attack(t.port(), 0, 50, 50ms);  // 50 silent connections fill the cap
  REQUIRE(eventually([&] { return attack.open_now() == 50; }, 10s));
  std::this_thread::sleep_for(100ms);  // the server's accept loop has taken them all
  attack.stop_reconnecting();
  // A connection over the cap is closed at once without an answer (the attacker's are still within their deadline).
  auto refused = exchange(t.port(), kRead, 5s);
  REQUIRE(refused.has_value());
  CHECK(refused->empty());
  // Once the header deadline has closed the silent ones, others are served again.
  REQUIRE(eventually([&] { return attack.open_now() == 0; }, kHeaderTimeout + 10s));
  REQUIRE(eventually([&] { return exchange(t.port(), kRead, 5s).value_or("").rfind("HTTP/1.1 200 ", 0) == 0; }, 10s));
}

TEST_CASE("security: one client address cannot take every connection slot", "[security][http]") {
  Target t("per-address", [](node::NodeConfig& c) {
    c.header_timeout = kHeaderTimeout;
    c.max_connections = 100;
    c.max_connections_per_address = 20;
  });
  Slowloris attack(t.port(), 0, 20, 50ms);  // 20 silent connections from 127.0.0.1: its whole share
  REQUIRE(eventually([&] { return attack.open_now() == 20; }, 10s));
  std::this_thread::sleep_for(100ms);  // the server's accept loop has taken them all
  attack.stop_reconnecting();
  // One more from the same address is closed at once without an answer; another address is served meanwhile.
  auto refused = exchange(t.port(), kRead, 5s);
  REQUIRE(refused.has_value());
  CHECK(refused->empty());
  auto other = exchange(t.port(), kRead, 5s, "127.0.0.2");
  REQUIRE(other.has_value());
  CHECK(other->rfind("HTTP/1.1 200 ", 0) == 0);
  const std::string metrics = exchange(t.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                       5s, "127.0.0.3").value_or("");
  CHECK(metrics.find("onebill_http_connections_refused_total{limit=\"max_connections_per_address\"} ") !=
        std::string::npos);
  CHECK(metrics.find("onebill_http_connections_refused_total{limit=\"max_connections_per_address\"} 0\n") ==
        std::string::npos);
  // When the silent ones are cut at their header deadline, the address has its slots back.
  REQUIRE(eventually([&] { return attack.open_now() == 0; }, kHeaderTimeout + 10s));
  REQUIRE(eventually([&] { return exchange(t.port(), kRead, 5s).value_or("").rfind("HTTP/1.1 200 ", 0) == 0; }, 10s));
}

TEST_CASE("security: requests the HTTP layer refuses on a running node get their code and change nothing",
          "[security][http]") {
  Target t("refused", [](node::NodeConfig& c) { c.body_limit = 4096; });
  const std::string crct = "Authorization: Bearer " + testing::TestNet::token("crct") + "\r\n";
  struct Case {
    const char* name;
    std::string raw;
    const char* status_line;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"a body over limits.body_bytes",
       "POST /v1/transactions HTTP/1.1\r\nHost: x\r\n" + crct + "Content-Length: 5000\r\n\r\n" + std::string(5000, '{'),
       "HTTP/1.1 413 ", "body_too_large"},
      {"a header over 16 KiB", "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n",
       "HTTP/1.1 431 ", "header_too_large"},
      {"a malformed request line", "GET /v1/status HTTP/9.x\r\n\r\n", "HTTP/1.1 400 ", "bad_request"},
      {"a bad Content-Length", "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
       "HTTP/1.1 400 ", "bad_request"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const json before = t.state();
    auto out = exchange(t.port(), c.raw);
    REQUIRE(out.has_value());
    CHECK(out->rfind(c.status_line, 0) == 0);
    CHECK(out->find("application/problem+json") != std::string::npos);
    CHECK(out->find("\"code\":\"" + std::string(c.code) + "\"") != std::string::npos);
    std::this_thread::sleep_for(20ms);  // a block would have been cut by now
    CHECK(t.state() == before);
  }
}
