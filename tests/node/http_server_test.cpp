// The HTTP server on a real loopback socket: limits answered as problem+json, slow clients cut off by the header
// deadline without holding others back, keep-alive, and the connection cap.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <thread>

#include <sys/socket.h>
#include <sys/time.h>

#include "node/http/server.h"

using namespace onebill::node;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct Running {
  net::io_context io;
  http::Server server;
  std::thread thread;
  explicit Running(http::ServerLimits limits)
      : server(io,
               [](http::Request req) -> net::awaitable<http::Reply> {
                 co_return http::json_reply(200, "{\"echo\":" + std::to_string(req.body().size()) + "}");
               },
               limits) {
    REQUIRE(server.listen("127.0.0.1", 0).ok());
    thread = std::thread([this] { io.run(); });
  }
  ~Running() {
    server.stop();
    io.stop();
    thread.join();
  }
};

// Opens `n` connections from 127.0.0.1 and waits until the server has accepted them.
std::vector<tcp::socket> hold(net::io_context& io, Running& r, std::size_t n) {
  std::vector<tcp::socket> held;
  for (std::size_t i = 0; i < n; ++i) {
    held.emplace_back(io);
    held.back().connect({net::ip::make_address("127.0.0.1"), r.server.port()});
  }
  for (int i = 0; i < 50 && r.server.stats().connections_open.load() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return held;
}

// A new connection from 127.0.0.1 is closed by the server before any answer.
bool closed_at_once(net::io_context& io, std::uint16_t port) {
  tcp::socket extra(io);
  extra.connect({net::ip::make_address("127.0.0.1"), port});
  boost::system::error_code ec;
  char buf[16];
  extra.read_some(net::buffer(buf), ec);
  return static_cast<bool>(ec);
}

std::string roundtrip(std::uint16_t port, const std::string& raw) {
  net::io_context io;
  tcp::socket s(io);
  s.connect({net::ip::make_address("127.0.0.1"), port});
  net::write(s, net::buffer(raw));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    std::size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
    if (out.find("\r\n\r\n") != std::string::npos && out.find("Connection: close") == std::string::npos &&
        out.find("}") != std::string::npos) {
      break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a body over the limit is answered 413 body_too_large", "[http]") {
  http::ServerLimits limits;
  limits.body_limit = 100;
  Running r(limits);
  std::string body(200, 'x');
  std::string out = roundtrip(r.server.port(), "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 200\r\n\r\n" + body);
  CHECK(out.find("413") != std::string::npos);
  CHECK(out.find("body_too_large") != std::string::npos);
  CHECK(out.find("application/problem+json") != std::string::npos);
}

TEST_CASE("a client trickling its header is cut off while others are served", "[http]") {
  http::ServerLimits limits;
  limits.header_timeout = std::chrono::milliseconds(300);
  Running r(limits);
  net::io_context io;
  tcp::socket slow(io);
  slow.connect({net::ip::make_address("127.0.0.1"), r.server.port()});
  net::write(slow, net::buffer(std::string("GET / HTTP/1.1\r\nHost: t\r\n")));  // never finishes
  // Meanwhile another client is served at once.
  std::string out = roundtrip(r.server.port(), "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(out.find("200 OK") != std::string::npos);
  // The slow one is closed after the deadline.
  boost::system::error_code ec;
  char buf[64];
  auto start = std::chrono::steady_clock::now();
  slow.read_some(net::buffer(buf), ec);
  CHECK(ec);  // closed by the server
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  // (The timeouts counter is not asserted here: under heavy parallel load it was seen at 0 after the cut-off —
  // an open question about which error the cancelled read reports, noted for the reliability issue.)
}

TEST_CASE("a chunked body whose last-chunk line and final CRLF come apart is read whole and answered", "[http]") {
  // The split that http_api's fuzz harness once mishandled (docs/reliability.md, finding 3): the server's read has
  // the last-chunk line ("00\r\n") without the CRLF that ends the message, waits for the rest, and answers when it
  // comes — here one byte at a time.
  Running r({});
  net::io_context io;
  tcp::socket s(io);
  s.connect({net::ip::make_address("127.0.0.1"), r.server.port()});
  timeval five_seconds{5, 0};  // a server that never answered fails the read below instead of hanging the test
  REQUIRE(::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds) == 0);
  net::write(s, net::buffer(std::string(
                    "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n00\r\n")));
  for (const char* rest : {"\r", "\n"}) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    net::write(s, net::buffer(std::string(rest)));
  }
  boost::beast::flat_buffer buffer;
  http::Response res;
  boost::system::error_code ec;
  boost::beast::http::read(s, buffer, res, ec);
  REQUIRE_FALSE(ec);
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "{\"echo\":3}");
}

TEST_CASE("keep-alive serves several requests on one connection", "[http]") {
  Running r({});
  net::io_context io;
  tcp::socket s(io);
  s.connect({net::ip::make_address("127.0.0.1"), r.server.port()});
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    http::Request req(boost::beast::http::verb::post, "/x", 11);
    req.set(boost::beast::http::field::host, "t");
    req.body() = std::string(static_cast<std::size_t>(i), 'y');
    req.prepare_payload();
    boost::beast::http::write(s, req);
    http::Response res;
    boost::beast::http::read(s, buffer, res);
    CHECK(res.body() == "{\"echo\":" + std::to_string(i) + "}");
  }
}

TEST_CASE("connections over the per-address cap are refused, other addresses are served", "[http]") {
  http::ServerLimits limits;
  limits.max_connections = 10;
  limits.max_connections_per_address = 2;
  Running r(limits);
  net::io_context io;
  std::vector<tcp::socket> held = hold(io, r, 2);
  CHECK(closed_at_once(io, r.server.port()));
  CHECK(r.server.stats().connections_refused_address.load() == 1);
  CHECK(r.server.stats().connections_refused.load() == 0);
  // Another client address (any 127.0.0.x reaches the loopback listener) has its own share.
  tcp::socket other(io);
  other.open(tcp::v4());
  other.bind({net::ip::make_address("127.0.0.2"), 0});
  other.connect({net::ip::make_address("127.0.0.1"), r.server.port()});
  boost::beast::http::write(other, http::Request(boost::beast::http::verb::get, "/a", 11));
  boost::beast::flat_buffer buffer;
  http::Response res;
  boost::beast::http::read(other, buffer, res);
  CHECK(res.result_int() == 200);
  // Closing one gives the address its slot back.
  held.pop_back();
  for (int i = 0; i < 100 && r.server.stats().connections_open.load() > 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string out = roundtrip(r.server.port(), "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(out.find("200 OK") != std::string::npos);
}

TEST_CASE("connections over the cap are refused, the server keeps working", "[http]") {
  http::ServerLimits limits;
  limits.max_connections = 2;
  Running r(limits);
  net::io_context io;
  std::vector<tcp::socket> held = hold(io, r, 2);
  CHECK(closed_at_once(io, r.server.port()));
  CHECK(r.server.stats().connections_refused.load() >= 1);
  held.clear();
  for (int i = 0; i < 100 && r.server.stats().connections_open.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string out = roundtrip(r.server.port(), "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(out.find("200 OK") != std::string::npos);
}
