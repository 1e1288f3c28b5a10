// Internal to the transport: one TLS connection and its deadline. Not installed, not for other modules.
//
// Timeouts follow Boost.Beast's approach: instead of racing each operation against a timer, a Deadline is armed
// before an operation and disarmed after it; if it fires first, it closes the socket and the pending operation
// completes with an error. Everything here runs on the transport's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

namespace onebill::consensus::detail {

class Deadline {
 public:
  explicit Deadline(const boost::asio::any_io_executor& ex) : timer_(ex) {}

  // Calls `on_expire` (on the strand) unless disarm() or another arm() comes within `timeout`.
  template <class F>
  void arm(std::chrono::milliseconds timeout, F on_expire) {
    timer_.expires_after(timeout);
    // The generation, shared with the handler, tells a stale expiry (the timer fired, then the operation finished
    // and disarmed before the handler ran) from a real one; it outlives this object if the handler runs late.
    timer_.async_wait([gen = gen_, mine = ++*gen_, f = std::move(on_expire)](const boost::system::error_code& ec) mutable {
      if (!ec && *gen == mine) f();
    });
  }

  void disarm() {
    ++*gen_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::shared_ptr<std::uint64_t> gen_ = std::make_shared<std::uint64_t>(0);
};

// Reads and writes may be pending at the same time (TLS streams in Asio are full duplex), so each direction has
// its own deadline.
struct Conn {
  Conn(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context)
      : ctx(std::move(context)),
        stream(std::move(socket), *ctx),
        read_deadline(stream.get_executor()),
        write_deadline(stream.get_executor()),
        ticker(stream.get_executor()) {}

  // Idempotent. Pending operations on the stream complete with operation_aborted.
  void close() {
    if (closed) return;
    closed = true;
    read_deadline.disarm();
    write_deadline.disarm();
    ticker.cancel();
    boost::system::error_code ignored;
    stream.lowest_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream.lowest_layer().close(ignored);
  }

  // A handler for Deadline::arm that closes the connection, if it still exists, as timed out.
  static auto closer(const std::shared_ptr<Conn>& conn) {
    return [weak = std::weak_ptr<Conn>(conn)] {
      if (auto c = weak.lock()) {
        c->timed_out = true;
        c->close();
      }
    };
  }

  std::shared_ptr<boost::asio::ssl::context> ctx;  // kept alive for the stream (declared before it)
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream;
  Deadline read_deadline;
  Deadline write_deadline;
  boost::asio::steady_timer ticker;  // paces the accepting side's keepalives
  bool closed = false;
  bool timed_out = false;  // closed by the deadline
};

}  // namespace onebill::consensus::detail
