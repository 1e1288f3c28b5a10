// The HTTP/1.1 server under the REST API: Boost.Beast over Asio, one coroutine per connection.
//
// Hardening (docs/operations.md lists the defaults): a cap on open connections, and one per client address; a deadline for each request's
// header, counted from the accept for a connection's first request and from the first byte for later ones (a
// client that connects and sends nothing, or trickles its header — slowloris — is cut off without holding others
// back; tests/security/slowloris_test.cpp); a body limit
// answered with 413 problem+json; an idle keep-alive timeout; one request at a time per connection, so queued
// responses are bounded by construction.
//
// A handler is a plain function from request to reply (awaited), so handlers are tested without sockets.
// Thread-safety: the server and its handlers run on the io_context it is given, which must be run by one thread
// (heavy work such as signature checks is handed to a worker pool by the handlers); stop() may be called from
// any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "crypto/result.h"

namespace onebill::node::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

// Writes a long-lived reply (server-sent events) after its header has been sent. Returns false once the client
// has gone or the write timed out; the stream must then stop.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual boost::asio::awaitable<bool> write(std::string data) = 0;
};

struct Reply {
  Response response;
  // When set, the response header is sent without a body length and this runs to stream the body; the
  // connection closes when it returns.
  std::function<boost::asio::awaitable<void>(StreamWriter&)> stream;
};

using Handler = std::function<boost::asio::awaitable<Reply>(Request)>;

struct ServerLimits {
  std::size_t max_connections = 1024;
  // Open connections from one client IP address: one client cannot take every slot of max_connections (behind a
  // reverse proxy every client has the proxy's address: raise it there, and limit per client at the proxy).
  std::size_t max_connections_per_address = 256;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1 << 20;  // per request; larger bodies get 413 body_too_large
  // To the end of a request's header: from the accept for a connection's first request, from the request's first
  // byte for later ones (which have idle_timeout to send that byte).
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive: between requests
  std::chrono::milliseconds write_timeout{30'000};
};

struct ServerStats {
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_refused{0};          // max_connections reached
  std::atomic<std::uint64_t> connections_refused_address{0};  // max_connections_per_address reached
  std::atomic<std::uint64_t> timeouts{0};
};

// A JSON problem (RFC 9457) reply: {"type","title","status","code","detail"} with content type
// application/problem+json. `code` is the stable machine-readable code.
Reply problem(unsigned status, std::string_view code, std::string_view detail, unsigned version = 11,
              bool keep_alive = true);
Reply json_reply(unsigned status, std::string body, unsigned version = 11, bool keep_alive = true);

class Server {
 public:
  Server(boost::asio::io_context& io, Handler handler, ServerLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Port 0 picks a free port; see port().
  Status listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  // Stops accepting and closes open connections; returns at once (connections finish on the io_context).
  void stop();

  const ServerStats& stats() const { return *stats_; }

  struct State;  // opaque; shared with the connection coroutines

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<ServerStats> stats_;
};

}  // namespace onebill::node::http
