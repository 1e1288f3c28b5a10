#include "node/http/server.h"

#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <set>

namespace onebill::node::http {
namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;
constexpr auto kNoThrow = net::as_tuple(use_awaitable);

namespace {

std::string_view reason_title(unsigned status) {
  return beast_http::obsolete_reason(static_cast<beast_http::status>(status));
}

}  // namespace

Reply problem(unsigned status, std::string_view code, std::string_view detail, unsigned version, bool keep_alive) {
  nlohmann::json body = {{"type", "https://onebill.dev/problems/" + std::string(code)},
                         {"title", std::string(reason_title(status))},
                         {"status", status},
                         {"code", std::string(code)},
                         {"detail", std::string(detail)}};
  // `detail` may quote the request (a path, a query value) and so hold bytes that are not UTF-8; nlohmann's dump
  // throws on those, which turned a 404 into a 500. Such bytes come out as U+FFFD instead.
  Reply r = json_reply(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), version,
                       keep_alive);
  r.response.set(beast_http::field::content_type, "application/problem+json");
  return r;
}

Reply json_reply(unsigned status, std::string body, unsigned version, bool keep_alive) {
  Reply r;
  r.response = Response(static_cast<beast_http::status>(status), version);
  r.response.set(beast_http::field::content_type, "application/json");
  r.response.body() = std::move(body);
  r.response.keep_alive(keep_alive);
  r.response.prepare_payload();
  return r;
}

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(net::io_context& io_in, Handler h, ServerLimits l, std::shared_ptr<ServerStats> s)
      : io(io_in), handler(std::move(h)), limits(l), stats(std::move(s)), acceptor(io_in) {}

  net::io_context& io;
  Handler handler;
  ServerLimits limits;
  std::shared_ptr<ServerStats> stats;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  bool stopped = false;                 // touched on the io thread only
  std::set<beast::tcp_stream*> open;    // touched on the io thread only
  std::map<net::ip::address, std::size_t> per_address;  // open connections by client address; io thread only
};

namespace {

class SocketStreamWriter final : public StreamWriter {
 public:
  SocketStreamWriter(beast::tcp_stream& s, std::chrono::milliseconds timeout) : stream_(s), timeout_(timeout) {}
  awaitable<bool> write(std::string data) override {
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await net::async_write(stream_, net::buffer(data), kNoThrow);
    co_return !ec;
  }

 private:
  beast::tcp_stream& stream_;
  std::chrono::milliseconds timeout_;
};

awaitable<bool> send(beast::tcp_stream& stream, Reply& reply, const ServerLimits& limits) {
  stream.expires_after(limits.write_timeout);
  if (!reply.stream) {
    auto [ec, n] = co_await beast_http::async_write(stream, reply.response, kNoThrow);
    co_return !ec;
  }
  // A streamed body: the header alone, then the body until the writer stops; the connection then closes.
  beast_http::response<beast_http::empty_body> head(reply.response.base());
  head.erase(beast_http::field::content_length);  // the body runs until the connection closes
  head.keep_alive(false);
  beast_http::response_serializer<beast_http::empty_body> sr(head);
  auto [ec, n] = co_await beast_http::async_write_header(stream, sr, kNoThrow);
  if (ec) co_return false;
  SocketStreamWriter writer(stream, limits.write_timeout);
  co_await reply.stream(writer);
  co_return false;
}

awaitable<void> session(std::shared_ptr<Server::State> st, tcp::socket socket, net::ip::address client) {
  beast::tcp_stream stream(std::move(socket));
  st->open.insert(&stream);
  ++st->stats->connections_open;
  beast::flat_buffer buffer;
  const ServerLimits& limits = st->limits;

  // The header deadline of a connection's first request runs from the accept: a client that connects and sends
  // nothing (or trickles its first bytes) holds its slot for header_timeout, not for the keep-alive idle_timeout.
  // Later requests get header_timeout from their first byte, and idle_timeout to send it.
  bool first_request = true;
  for (;;) {
    using Clock = std::chrono::steady_clock;
    Clock::time_point header_deadline_at = Clock::now() + limits.header_timeout;
    if (buffer.size() == 0) {
      stream.expires_at(first_request ? header_deadline_at : Clock::now() + limits.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kNoThrow);
      if (ec) {
        if (ec == beast::error::timeout) ++st->stats->timeouts;
        break;
      }
      buffer.commit(n);
      if (!first_request) header_deadline_at = Clock::now() + limits.header_timeout;
    }
    first_request = false;
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);

    stream.expires_at(header_deadline_at);
    auto [hec, hn] = co_await beast_http::async_read_header(stream, buffer, parser, kNoThrow);
    // The deadline passed: count it as a timeout whichever error the cancelled read reported.
    bool header_deadline = hec && Clock::now() >= header_deadline_at;
    std::optional<Reply> early;
    if (hec == beast_http::error::body_limit) {
      early = problem(413, "body_too_large",
                      "the request body is over the limit of " + std::to_string(limits.body_limit) + " bytes", 11,
                      false);
    } else if (hec == beast_http::error::header_limit) {
      early = problem(431, "header_too_large", "the request header is over the limit", 11, false);
    } else if (hec == beast::error::timeout || header_deadline) {
      ++st->stats->timeouts;
      break;
    } else if (hec) {
      if (hec != beast_http::error::end_of_stream && hec != net::error::eof) {
        early = problem(400, "bad_request", "malformed HTTP request: " + hec.message(), 11, false);
      } else {
        break;
      }
    }
    if (!early) {
      stream.expires_after(limits.body_timeout);
      auto [bec, bn] = co_await beast_http::async_read(stream, buffer, parser, kNoThrow);
      if (bec == beast_http::error::body_limit) {
        early = problem(413, "body_too_large",
                        "the request body is over the limit of " + std::to_string(limits.body_limit) + " bytes", 11,
                        false);
      } else if (bec == beast::error::timeout) {
        ++st->stats->timeouts;
        break;
      } else if (bec) {
        break;
      }
    }
    if (early) {
      co_await send(stream, *early, limits);
      break;
    }

    Request req = parser.release();
    bool keep_alive = req.keep_alive();
    unsigned version = req.version();
    Reply reply;
    try {
      reply = co_await st->handler(std::move(req));
    } catch (const std::exception& e) {
      reply = problem(500, "internal", std::string("unexpected error: ") + e.what(), version, false);
    }
    reply.response.version(version);
    if (!reply.stream) reply.response.keep_alive(keep_alive && reply.response.keep_alive());
    if (st->stopped) reply.response.keep_alive(false);
    bool again = co_await send(stream, reply, limits);
    if (!again || !reply.response.keep_alive() || st->stopped) break;
  }

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  st->open.erase(&stream);
  --st->stats->connections_open;
  if (auto it = st->per_address.find(client); it != st->per_address.end() && --it->second == 0) {
    st->per_address.erase(it);
  }
}

awaitable<void> accept_loop(std::shared_ptr<Server::State> st) {
  while (!st->stopped) {
    auto [ec, socket] = co_await st->acceptor.async_accept(kNoThrow);
    if (st->stopped) break;
    if (ec) {
      // Out of descriptors or a transient failure: pause instead of spinning.
      net::steady_timer t(st->io, std::chrono::milliseconds(50));
      co_await t.async_wait(kNoThrow);
      continue;
    }
    beast::error_code ignored;
    if (st->stats->connections_open >= st->limits.max_connections) {
      ++st->stats->connections_refused;
      socket.close(ignored);
      continue;
    }
    beast::error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) {  // already gone
      socket.close(ignored);
      continue;
    }
    std::size_t& from_client = st->per_address[peer.address()];
    if (from_client >= st->limits.max_connections_per_address) {
      ++st->stats->connections_refused_address;
      socket.close(ignored);
      continue;
    }
    ++from_client;
    net::co_spawn(st->io, session(st, std::move(socket), peer.address()), net::detached);
  }
}

}  // namespace

Server::Server(net::io_context& io, Handler handler, ServerLimits limits)
    : stats_(std::make_shared<ServerStats>()) {
  state_ = std::make_shared<State>(io, std::move(handler), limits, stats_);
}

Server::~Server() { stop(); }

Status Server::listen(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return make_error("bad_config", "not an IP address: " + host);
  tcp::endpoint ep(address, port);
  auto& acc = state_->acceptor;
  if (acc.open(ep.protocol(), ec); ec) return make_error("listen_failed", ec.message());
  acc.set_option(net::socket_base::reuse_address(true), ec);
  if (acc.bind(ep, ec); ec) return make_error("listen_failed", "cannot bind " + host + ":" + std::to_string(port) +
                                                                   ": " + ec.message());
  if (acc.listen(net::socket_base::max_listen_connections, ec); ec) return make_error("listen_failed", ec.message());
  state_->port = acc.local_endpoint().port();
  net::co_spawn(state_->io, accept_loop(state_), net::detached);
  return {};
}

std::uint16_t Server::port() const { return state_->port; }

void Server::stop() {
  auto st = state_;
  net::post(st->io, [st] {
    if (st->stopped) return;
    st->stopped = true;
    beast::error_code ignored;
    st->acceptor.close(ignored);
    for (auto* s : st->open) s->socket().cancel(ignored);
  });
}

}  // namespace onebill::node::http
