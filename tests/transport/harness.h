// Test harness for PeerTransport: nodes in one process, each with its own io_context thread, talking over
// 127.0.0.1 with ports picked by the kernel. Every wait has a deadline so a broken transport fails a test instead
// of hanging it.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "consensus/transport/transport.h"
#include "crypto/tls.h"

namespace onebill::consensus::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline crypto::PrivateKey new_key(crypto::SigAlg alg = crypto::SigAlg::ed25519) {
  auto k = crypto::PrivateKey::generate(alg);
  REQUIRE(k.ok());
  return *k;
}

// Short backoff so reconnects happen within a test; timeouts long enough that any wait on a stuck peer would show
// as seconds of delay.
inline TransportOptions test_options() {
  TransportOptions o;
  o.connect_timeout = 2000ms;
  o.write_timeout = 5000ms;
  o.idle_timeout = 5000ms;
  o.keepalive_interval = 500ms;
  o.backoff_initial = 10ms;
  o.backoff_max = 200ms;
  return o;
}

// A message payload that says who sent it and its sequence number, padded to `size` bytes.
inline Bytes numbered(NodeId from, Channel ch, std::uint32_t seq, std::size_t size = 16) {
  Bytes b(std::max<std::size_t>(size, 9), static_cast<std::uint8_t>(seq * 31U + 7U));
  b[0] = static_cast<std::uint8_t>(from);
  b[1] = static_cast<std::uint8_t>(ch);
  b[2] = static_cast<std::uint8_t>(seq >> 24U);
  b[3] = static_cast<std::uint8_t>(seq >> 16U);
  b[4] = static_cast<std::uint8_t>(seq >> 8U);
  b[5] = static_cast<std::uint8_t>(seq);
  return b;
}
inline std::uint32_t seq_of(const Bytes& b) {
  REQUIRE(b.size() >= 6);
  return (static_cast<std::uint32_t>(b[2]) << 24U) | (static_cast<std::uint32_t>(b[3]) << 16U) |
         (static_cast<std::uint32_t>(b[4]) << 8U) | b[5];
}

struct Received {
  NodeId from;
  Channel channel;
  Bytes payload;
  Clock::time_point at;
};

class Inbox {
 public:
  void push(Received r) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(r));
    cv_.notify_all();
  }
  // Waits until pred(items) holds or `timeout` passes; returns pred's last value.
  template <class Pred>
  bool wait(Pred pred, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(items_); });
  }
  std::vector<Received> snapshot() {
    std::lock_guard lock(mu_);
    return items_;
  }
  std::size_t count(NodeId from) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& r : items_) n += r.from == from ? 1 : 0;
    return n;
  }
  bool wait_count(NodeId from, std::size_t n, milliseconds timeout) {
    return wait(
        [&](const std::vector<Received>& items) {
          std::size_t c = 0;
          for (const auto& r : items) c += r.from == from ? 1 : 0;
          return c >= n;
        },
        timeout);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> items_;
};

// One node: a key, an io_context run by its own thread, and (once started) a PeerTransport delivering to an Inbox.
class TestNode {
 public:
  explicit TestNode(NodeId id, crypto::SigAlg alg = crypto::SigAlg::ed25519) : TestNode(id, new_key(alg)) {}
  // A node with a given key: the same node restarted.
  TestNode(NodeId id, crypto::PrivateKey key) : id_(id), key_(std::move(key)), guard_(asio::make_work_guard(io_)) {
    thread_ = std::thread([this] {
      io_.run();
      ran_out_ = true;
    });
  }
  TestNode(const TestNode&) = delete;
  TestNode& operator=(const TestNode&) = delete;
  ~TestNode() {
    resume();
    shutdown();
  }

  Status start(std::vector<PeerInfo> peers, TransportOptions options = test_options(), std::uint16_t port = 0) {
    auto t = PeerTransport::create(
        io_, id_, key_, "127.0.0.1:" + std::to_string(port), std::move(peers),
        [this](NodeId from, Channel ch, Bytes payload) {
          inbox_.push({from, ch, payload, Clock::now()});
          if (hook_) hook_(from, ch, payload);
        },
        options);
    if (!t) return t.error();
    transport_ = std::move(*t);
    return {};
  }

  // Called on the io_context thread after each delivery is recorded; set before start().
  void set_hook(std::function<void(NodeId, Channel, const Bytes&)> hook) { hook_ = std::move(hook); }

  NodeId id() const { return id_; }
  const crypto::PrivateKey& key() const { return key_; }
  std::uint16_t port() const { return transport_->listen_port(); }
  PeerInfo info() const { return PeerInfo{id_, "127.0.0.1:" + std::to_string(port()), key_.public_key()}; }
  PeerTransport& t() { return *transport_; }
  Inbox& inbox() { return inbox_; }
  PeerStats stats_for(NodeId peer) {
    auto s = transport_->peer_stats(peer);
    REQUIRE(s.has_value());
    return *s;
  }

  // Freezes this node's io_context thread, like SIGSTOP: the kernel still accepts TCP connections and buffers
  // bytes, but nothing is read, written or handshaken until resume().
  void pause() {
    if (paused_) return;
    release_ = std::promise<void>();
    std::shared_future<void> released = release_.get_future().share();
    std::promise<void> entered;
    auto in = entered.get_future();
    asio::post(io_, [released, &entered] {
      entered.set_value();
      released.wait();
    });
    REQUIRE(in.wait_for(5s) == std::future_status::ready);
    paused_ = true;
  }
  void resume() {
    if (!paused_) return;
    release_.set_value();
    paused_ = false;
  }

  // Stops and destroys the transport, then lets the io_context run out of work. Returns true if it did so by itself
  // within `timeout` (nothing left pending after stop()); otherwise stops it by force.
  bool shutdown(milliseconds timeout = 5000ms) {
    if (!thread_.joinable()) return true;
    if (transport_) {
      transport_->stop();
      transport_.reset();
    }
    guard_.reset();
    const auto until = Clock::now() + timeout;
    while (!ran_out_ && Clock::now() < until) std::this_thread::sleep_for(5ms);
    const bool drained = ran_out_;
    if (!drained) io_.stop();
    thread_.join();
    return drained;
  }

 private:
  NodeId id_;
  crypto::PrivateKey key_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::atomic<bool> ran_out_{false};
  std::thread thread_;
  std::unique_ptr<PeerTransport> transport_;
  Inbox inbox_;
  std::function<void(NodeId, Channel, const Bytes&)> hook_;
  std::promise<void> release_;
  bool paused_ = false;
};

inline std::vector<PeerInfo> table(std::initializer_list<const TestNode*> nodes) {
  std::vector<PeerInfo> out;
  for (const TestNode* n : nodes) out.push_back(n->info());
  return out;
}

// Starts every node on port 0 with no peers, then gives each the full table (so every port is known first).
inline void start_mesh(std::initializer_list<TestNode*> nodes, TransportOptions options = test_options()) {
  for (TestNode* n : nodes) REQUIRE(n->start({}, options).ok());
  std::vector<PeerInfo> all;
  for (TestNode* n : nodes) all.push_back(n->info());
  for (TestNode* n : nodes) REQUIRE(n->t().update_peers(all).ok());
}

// A port that was free a moment ago (bound, then released), for a peer that starts later.
inline std::uint16_t reserve_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// Polls `pred` every few milliseconds until it holds or `timeout` passes; returns its last value. For conditions on
// stats, which nothing signals.
template <class Pred>
bool eventually(Pred pred, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Runs `io` until `done` or the deadline. Returns whether `done` became true.
inline bool run_until(asio::io_context& io, const bool& done, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  io.restart();
  while (!done && Clock::now() < until) io.run_for(10ms);
  return done;
}

// A hand-driven TLS client holding a pinned key: it can say anything, malformed frames included.
class RawTlsClient {
 public:
  RawTlsClient(const crypto::PrivateKey& key, const std::vector<crypto::PublicKey>& pinned)
      : ctx_(asio::ssl::context::tls_client) {
    // The context must be configured before the stream exists: SSL_new copies its certificate and key.
    REQUIRE(crypto::configure_pinned_tls(ctx_.native_handle(), crypto::TlsRole::client, key, pinned).ok());
    stream_.emplace(io_, ctx_);
  }

  bool connect(std::uint16_t port, milliseconds timeout = 5000ms) {
    bool done = false;
    boost::system::error_code result;
    stream_->lowest_layer().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                         [&](const boost::system::error_code& ec) {
                                           if (ec) {
                                             result = ec;
                                             done = true;
                                             return;
                                           }
                                           stream_->async_handshake(asio::ssl::stream_base::client,
                                                                   [&](const boost::system::error_code& ec2) {
                                                                     result = ec2;
                                                                     done = true;
                                                                   });
                                         });
    if (!run_until(io_, done, timeout)) abandon(done);
    return done && !result;
  }

  bool write(const Bytes& bytes, milliseconds timeout = 5000ms) {
    bool done = false;
    boost::system::error_code result;
    asio::async_write(*stream_, asio::buffer(bytes), [&](const boost::system::error_code& ec, std::size_t) {
      result = ec;
      done = true;
    });
    if (!run_until(io_, done, timeout)) {
      abandon(done);
      return false;
    }
    return !result;
  }

  // Exactly `n` bytes from the server, or nothing if the connection fails, closes or `timeout` passes first. Used
  // to read the accept signal (a keepalive frame) that an accepting node sends only to a key it pinned.
  std::optional<Bytes> read_exact(std::size_t n, milliseconds timeout = 5000ms) {
    Bytes out(n);
    bool done = false;
    boost::system::error_code result;
    asio::async_read(*stream_, asio::buffer(out), [&](const boost::system::error_code& ec, std::size_t) {
      result = ec;
      done = true;
    });
    if (!run_until(io_, done, timeout)) {
      abandon(done);
      return std::nullopt;
    }
    if (result) return std::nullopt;
    return out;
  }

  // True if the server closes (or resets) the connection within `timeout`. What it sends meanwhile (keepalives)
  // is read and ignored.
  bool wait_closed(milliseconds timeout) {
    bool done = false;
    std::array<std::uint8_t, 256> buf{};
    std::function<void()> read_more = [&] {
      stream_->async_read_some(asio::buffer(buf), [&](const boost::system::error_code& ec, std::size_t) {
        if (ec) {
          done = true;
        } else {
          read_more();
        }
      });
    };
    read_more();
    const bool closed = run_until(io_, done, timeout);
    if (!closed) abandon(done);
    return closed;
  }

 private:
  // After a timed-out operation: close the socket and run until its handler has completed (with an error), so it
  // never touches the caller's variables later.
  void abandon(const bool& done) {
    boost::system::error_code ignored;
    stream_->lowest_layer().close(ignored);
    io_.restart();
    const auto until = Clock::now() + 2000ms;
    while (!done && Clock::now() < until) io_.run_for(10ms);
  }

  asio::io_context io_;
  asio::ssl::context ctx_;
  std::optional<asio::ssl::stream<tcp::socket>> stream_;
};

}  // namespace onebill::consensus::test
