#include "consensus/transport/transport.h"

#include <algorithm>
#include <array>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "consensus/transport/connection.h"
#include "consensus/transport/peer_table.h"
#include "crypto/tls.h"

namespace onebill::consensus {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using detail::Conn;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
template <class T>
using awaitable = asio::awaitable<T>;

constexpr std::size_t kReadBufferSize = 32U * 1024U;  // a TLS record's plaintext is at most 16 KiB
constexpr milliseconds kAcceptRetryDelay{50};          // after an accept error such as EMFILE

// co_spawn's completion: the coroutines convert every I/O error to a value, so only allocation failure can get
// here, and the coroutine's connection is then simply gone.
void ignore_exception(const std::exception_ptr&) {}

struct Outgoing {
  Channel channel;
  Bytes payload;
  std::size_t cost() const { return payload.size() + kFrameHeaderSize; }
};

// One peer: its table entry, its outbound queue and counters (guarded by Impl::mu), and the connection state
// that only the strand touches.
struct Peer {
  Peer(const detail::ValidPeer& v, const asio::any_io_executor& ex)
      : id(v.id), address(v.address), host(v.host), port(v.port), key_der(v.key_der), wake(ex), backoff(ex),
        resolver(ex) {}

  const NodeId id;

  // Guarded by Impl::mu.
  std::string address;
  std::string host;
  std::uint16_t port;
  Bytes key_der;
  std::uint64_t config_gen = 0;  // bumped when address or key changes
  std::deque<Outgoing> queue;
  std::uint64_t queued_bytes = 0;
  bool writer_waiting = false;  // the writer sleeps on `wake`; the next send() must cancel it
  PeerStats stats;

  // Strand only.
  asio::steady_timer wake;     // the idle writer waits here (keepalive interval, or until send() cancels it)
  asio::steady_timer backoff;  // reconnect delay
  tcp::resolver resolver;
  std::shared_ptr<Conn> out;  // our connection to the peer (connecting or established)
  std::shared_ptr<Conn> in;   // the peer's authenticated connection to us
  bool started = false;       // run_peer was spawned
  bool closing = false;       // removed or stopping: its coroutines end
  std::uint64_t applied_gen = 0;
};

}  // namespace

struct PeerTransport::Impl : std::enable_shared_from_this<PeerTransport::Impl> {
  Impl(asio::io_context& io, NodeId self_id, const crypto::PrivateKey& key, const TransportOptions& options,
       ReceiveFn receive)
      : strand(asio::make_strand(io)), self(self_id), tls_key(key), opt(options), on_receive(std::move(receive)),
        acceptor(strand), rng(std::random_device{}()) {}

  asio::any_io_executor strand;
  const NodeId self;
  const crypto::PrivateKey tls_key;
  const TransportOptions opt;
  const ReceiveFn on_receive;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;

  // Strand only.
  std::shared_ptr<ssl::context> client_ctx;
  std::shared_ptr<ssl::context> server_ctx;
  std::uint64_t ctx_seq_applied = 0;
  std::set<std::shared_ptr<Conn>> inbound;  // every inbound connection, authenticated or not
  std::size_t pending_handshakes = 0;
  bool stopping = false;
  std::minstd_rand rng;

  // Guarded by mu.
  mutable std::mutex mu;
  bool stopped = false;
  std::map<NodeId, std::shared_ptr<Peer>> peers;
  std::vector<std::shared_ptr<Peer>> retired;  // removed from the table, to be closed on the strand
  std::uint64_t ctx_seq_issued = 0;
  std::uint64_t inbound_accepted = 0;
  std::uint64_t inbound_rejected = 0;
  std::string last_inbound_error;

  // --- table (called with mu held) ---

  void apply_table_locked(const std::vector<detail::ValidPeer>& valid) {
    std::map<NodeId, std::shared_ptr<Peer>> next;
    for (const auto& v : valid) {
      auto it = peers.find(v.id);
      if (it == peers.end()) {
        next[v.id] = std::make_shared<Peer>(v, strand);
        continue;
      }
      Peer& p = *it->second;
      if (p.host != v.host || p.port != v.port || p.key_der != v.key_der) {
        p.address = v.address;
        p.host = v.host;
        p.port = v.port;
        p.key_der = v.key_der;
        ++p.config_gen;
      }
      next[v.id] = it->second;
    }
    for (auto& [id, p] : peers) {
      if (next.count(id) == 0) {
        p->queue.clear();
        p->queued_bytes = 0;
        retired.push_back(p);
      }
    }
    peers = std::move(next);
  }

  std::shared_ptr<Peer> peer_by_key(const Bytes& der) const {
    std::lock_guard lock(mu);
    for (const auto& [id, p] : peers) {
      if (p->key_der == der) return p;
    }
    return nullptr;
  }

  // --- strand: membership and shutdown ---

  void install_contexts(std::uint64_t seq, detail::TlsContexts ctxs) {
    if (seq <= ctx_seq_applied) return;  // a later table's contexts are already in place
    ctx_seq_applied = seq;
    client_ctx = std::move(ctxs.client);
    server_ctx = std::move(ctxs.server);
  }

  static void close_connections(Peer& p) {
    if (p.out) p.out->close();
    if (p.in) p.in->close();
    p.wake.cancel();
  }

  static void close_peer(Peer& p) {
    p.closing = true;
    close_connections(p);
    p.backoff.cancel();
    p.resolver.cancel();
  }

  // Brings connections in line with the table: starts new peers, closes retired ones, and reconnects peers whose
  // address or key changed.
  void reconcile() {
    if (stopping) return;
    std::vector<std::pair<std::shared_ptr<Peer>, std::uint64_t>> current;
    std::vector<std::shared_ptr<Peer>> gone;
    {
      std::lock_guard lock(mu);
      for (const auto& [id, p] : peers) current.emplace_back(p, p->config_gen);
      gone.swap(retired);
    }
    for (const auto& p : gone) close_peer(*p);
    for (const auto& [p, gen] : current) {
      if (!p->started) {
        p->started = true;
        p->applied_gen = gen;
        asio::co_spawn(strand, run_peer(shared_from_this(), p), ignore_exception);
      } else if (p->applied_gen != gen) {
        p->applied_gen = gen;
        close_connections(*p);
      }
    }
  }

  void shutdown() {
    if (stopping) return;
    stopping = true;
    error_code ignored;
    acceptor.close(ignored);
    for (const auto& c : inbound) c->close();
    std::vector<std::shared_ptr<Peer>> all;
    {
      std::lock_guard lock(mu);
      for (const auto& [id, p] : peers) all.push_back(p);
      all.insert(all.end(), retired.begin(), retired.end());
      retired.clear();
    }
    for (const auto& p : all) close_peer(*p);
  }

  bool ending(const Peer& p) const { return stopping || p.closing; }

  // --- strand: outbound ---

  milliseconds jittered(milliseconds d) {
    std::uniform_int_distribution<milliseconds::rep> dist(d.count() / 2, d.count());
    return milliseconds(dist(rng));
  }

  awaitable<void> sleep(std::shared_ptr<Peer> peer, milliseconds d) {
    peer->backoff.expires_after(d);
    error_code ec;
    co_await peer->backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  void note_error(Peer& p, std::string what) {
    std::lock_guard lock(mu);
    p.stats.last_error = std::move(what);
  }

  // Resolves, connects and handshakes within connect_timeout, then checks that the peer proved the key listed
  // for it (the pinned set accepts any peer's key; this makes sure the address reached the right one).
  awaitable<Result<std::shared_ptr<Conn>>> connect(std::shared_ptr<Peer> peer) {
    std::string host;
    std::uint16_t peer_port = 0;
    Bytes want;
    {
      std::lock_guard lock(mu);
      host = peer->host;
      peer_port = peer->port;
      want = peer->key_der;
    }
    auto conn = std::make_shared<Conn>(tcp::socket(strand), client_ctx);
    peer->out = conn;
    conn->write_deadline.arm(opt.connect_timeout, [weak = std::weak_ptr<Conn>(conn), wpeer = std::weak_ptr<Peer>(peer)] {
      if (auto p = wpeer.lock()) p->resolver.cancel();
      Conn::closer(weak.lock())();
    });

    error_code ec;
    std::vector<tcp::endpoint> endpoints;
    const auto ip = asio::ip::make_address(host, ec);
    if (!ec) {
      endpoints.emplace_back(ip, peer_port);
    } else {
      ec = {};
      auto results = co_await peer->resolver.async_resolve(host, std::to_string(peer_port),
                                                           asio::redirect_error(asio::use_awaitable, ec));
      for (const auto& r : results) endpoints.push_back(r.endpoint());
    }
    if (!ec && !conn->closed) {
      co_await asio::async_connect(conn->stream.lowest_layer(), endpoints,
                                   asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec && !conn->closed) {
      error_code ignored;
      conn->stream.lowest_layer().set_option(tcp::no_delay(true), ignored);
      co_await conn->stream.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    }
    const std::string where = host + ":" + std::to_string(peer_port);
    auto fail = [&](const char* code, const std::string& what) {
      conn->write_deadline.disarm();
      const bool timed_out = conn->timed_out;
      conn->close();
      return make_error(code, what + ": " + (timed_out ? std::string("timed out") : ec.message()));
    };
    if (!ec && conn->closed) ec = asio::error::operation_aborted;
    if (ec) co_return fail("connect_failed", "connect to " + where);

    auto der = crypto::peer_public_key_der(conn->stream.native_handle());
    if (!der || *der != want) {
      conn->close();
      co_return make_error("wrong_peer_key", "the node at " + where +
                                                 " proved a different key than the one listed for peer " +
                                                 std::to_string(peer->id));
    }
    // In TLS 1.3 our handshake ends before the peer has checked our certificate, so wait for its accept signal
    // (a keepalive frame) before writing anything: messages written into a connection it refuses would be lost.
    std::array<std::uint8_t, kFrameHeaderSize> accept{};
    co_await asio::async_read(conn->stream, asio::buffer(accept), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && conn->closed) ec = asio::error::operation_aborted;
    if (ec) co_return fail("not_accepted", "the node at " + where + " did not accept us");
    if (accept != encode_frame_header(Channel::keepalive, 0)) {
      ec = asio::error::invalid_argument;
      co_return fail("not_accepted", "the node at " + where + " sent something other than its accept signal");
    }
    conn->write_deadline.disarm();
    co_return conn;
  }

  // Moves up to max_batch_bytes of queued messages (at least one) into `batch`; if there are none, marks the
  // writer as waiting so that the next send() wakes it.
  void take_batch(Peer& p, std::vector<Outgoing>& batch) {
    std::lock_guard lock(mu);
    std::size_t bytes = 0;
    while (!p.queue.empty()) {
      const std::size_t cost = p.queue.front().cost();
      if (!batch.empty() && bytes + cost > opt.max_batch_bytes) break;
      bytes += cost;
      p.queued_bytes -= cost;
      batch.push_back(std::move(p.queue.front()));
      p.queue.pop_front();
    }
    p.stats.in_flight_messages = batch.size();
    p.writer_waiting = batch.empty();
  }

  // Writes all of `buf`; each step must make progress within write_timeout.
  awaitable<error_code> write_all(std::shared_ptr<Conn> conn, const Bytes& buf) {
    std::size_t done = 0;
    while (done < buf.size()) {
      if (conn->closed) co_return asio::error::operation_aborted;
      conn->write_deadline.arm(opt.write_timeout, Conn::closer(conn));
      error_code ec;
      const std::size_t n = co_await conn->stream.async_write_some(
          asio::buffer(buf.data() + done, buf.size() - done), asio::redirect_error(asio::use_awaitable, ec));
      conn->write_deadline.disarm();
      if (ec) co_return conn->timed_out ? error_code(asio::error::timed_out) : ec;
      done += n;
    }
    co_return error_code{};
  }

  // Drains the peer's queue into the connection until the connection fails or the peer goes away.
  awaitable<void> write_loop(std::shared_ptr<Peer> peer, std::shared_ptr<Conn> conn) {
    std::vector<Outgoing> batch;
    Bytes buf;
    while (!conn->closed && !ending(*peer)) {
      batch.clear();
      buf.clear();
      take_batch(*peer, batch);
      std::uint64_t payload_bytes = 0;
      if (batch.empty()) {
        peer->wake.expires_after(opt.keepalive_interval);
        error_code ec;
        co_await peer->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        {
          std::lock_guard lock(mu);
          peer->writer_waiting = false;
        }
        if (ec) continue;  // woken by send(), or the connection is being closed
        const auto header = encode_frame_header(Channel::keepalive, 0);
        buf.assign(header.begin(), header.end());
      } else {
        std::size_t total = 0;
        for (const auto& m : batch) total += m.cost();
        buf.reserve(total);
        for (const auto& m : batch) {
          const auto header = encode_frame_header(m.channel, static_cast<std::uint32_t>(m.payload.size()));
          buf.insert(buf.end(), header.begin(), header.end());
          buf.insert(buf.end(), m.payload.begin(), m.payload.end());
          payload_bytes += m.payload.size();
        }
      }
      const error_code ec = co_await write_all(conn, buf);
      std::lock_guard lock(mu);
      peer->stats.in_flight_messages = 0;
      if (ec) {
        // What was in this write may or may not have arrived; it is not retried (Raft retransmits).
        peer->stats.dropped_messages += batch.size();
        peer->stats.dropped_bytes += payload_bytes;
        peer->stats.last_error = "write failed: " + ec.message();
        break;
      }
      peer->stats.sent_messages += batch.size();
      peer->stats.sent_bytes += payload_bytes;
    }
  }

  // On our outbound connection the peer sends only keepalives. Reading them ends the connection as soon as the
  // peer closes or resets it, and within idle_timeout if it goes silent (a dead host, a partition), rather than
  // when a write finally fails.
  awaitable<void> watch_outbound(std::shared_ptr<Impl> keep, std::shared_ptr<Peer> peer, std::shared_ptr<Conn> conn) {
    FrameDecoder decoder(0);  // keepalives have no payload
    std::vector<Frame> frames;
    std::array<std::uint8_t, 256> buf{};
    std::string why;
    while (why.empty()) {
      error_code ec;
      conn->read_deadline.arm(opt.idle_timeout, Conn::closer(conn));
      const std::size_t n =
          co_await conn->stream.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      conn->read_deadline.disarm();
      if (conn->timed_out) {
        why = "no keepalive from the peer within idle_timeout";
      } else if (conn->closed) {
        break;  // closed by us
      } else if (ec) {
        why = "connection ended by the peer: " + ec.message();
      } else {
        frames.clear();
        const Status s = decoder.feed(ByteView(buf.data(), n), frames);
        for (const Frame& f : frames) {
          if (f.channel != Channel::keepalive) why = "the peer sent a message on our outbound connection";
        }
        if (!s) why = "the peer sent a malformed frame: " + s.error().message;
      }
    }
    if (!why.empty()) note_error(*peer, why);
    conn->close();
    if (peer->out == conn) peer->wake.cancel();
    (void)keep;
  }

  // One peer's outbound life: connect, write until failure, back off, again.
  awaitable<void> run_peer(std::shared_ptr<Impl> keep, std::shared_ptr<Peer> peer) {
    milliseconds backoff = opt.backoff_initial;
    auto grow = [&] { backoff = std::min(backoff * 2, opt.backoff_max); };
    bool first = true;
    while (!ending(*peer)) {
      auto result = co_await connect(peer);
      if (ending(*peer)) {
        if (result) (*result)->close();
        break;
      }
      if (!result) {
        {
          std::lock_guard lock(mu);
          ++peer->stats.connect_failures;
          peer->stats.last_error = result.error().message;
        }
        peer->out.reset();
        co_await sleep(peer, jittered(backoff));
        grow();
        continue;
      }
      std::shared_ptr<Conn> conn = *result;
      {
        std::lock_guard lock(mu);
        peer->stats.connected = true;
        ++peer->stats.connects;
        if (!first) ++peer->stats.reconnects;
      }
      first = false;
      const auto since = Clock::now();
      asio::co_spawn(strand, watch_outbound(keep, peer, conn), ignore_exception);
      co_await write_loop(peer, conn);
      conn->close();
      if (peer->out == conn) peer->out.reset();
      {
        std::lock_guard lock(mu);
        peer->stats.connected = false;
        ++peer->stats.disconnects;
      }
      // A connection that lasted resets the backoff; one that keeps failing right after the handshake does not.
      if (Clock::now() - since >= opt.backoff_max) backoff = opt.backoff_initial;
      if (ending(*peer)) break;
      co_await sleep(peer, jittered(backoff));
      grow();
    }
    if (peer->out) {
      peer->out->close();
      peer->out.reset();
    }
  }

  // --- strand: inbound ---

  awaitable<void> accept_loop(std::shared_ptr<Impl> keep) {
    asio::steady_timer retry(strand);
    while (!stopping) {
      error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping || !acceptor.is_open()) break;
      if (ec) {
        retry.expires_after(kAcceptRetryDelay);
        co_await retry.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      const bool over = pending_handshakes >= opt.max_pending_handshakes;
      {
        std::lock_guard lock(mu);
        ++inbound_accepted;
        if (over) ++inbound_rejected;
      }
      if (over) {
        socket.close(ec);
        continue;
      }
      ++pending_handshakes;  // counted here, before the handshake coroutine first runs
      asio::co_spawn(strand, serve_inbound(keep, std::move(socket)), ignore_exception);
    }
  }

  awaitable<void> serve_inbound(std::shared_ptr<Impl> keep, tcp::socket socket) {
    error_code ec;
    if (stopping) {
      --pending_handshakes;
      co_return;  // the socket closes as it goes out of scope
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Conn>(std::move(socket), server_ctx);
    inbound.insert(conn);
    conn->read_deadline.arm(opt.connect_timeout, Conn::closer(conn));
    ec = {};
    co_await conn->stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    conn->read_deadline.disarm();
    --pending_handshakes;

    std::shared_ptr<Peer> peer;
    std::string why;
    if (conn->timed_out) {
      why = "TLS handshake timed out";
    } else if (ec) {
      why = "TLS handshake failed: " + ec.message();
    } else if (!conn->closed && !stopping) {
      auto der = crypto::peer_public_key_der(conn->stream.native_handle());
      if (der) peer = peer_by_key(*der);
      if (!peer) why = "the client's key is not in the peer table";
    }
    if (!peer) {
      // A TLS failure (a key not pinned, a timeout, not TLS at all) or a key no longer in the table.
      {
        std::lock_guard lock(mu);
        ++inbound_rejected;
        if (!why.empty()) last_inbound_error = why;
      }
      conn->close();
      inbound.erase(conn);
      co_return;
    }
    if (peer->in) peer->in->close();  // the newer connection wins: the peer has reconnected
    peer->in = conn;
    {
      std::lock_guard lock(mu);
      peer->stats.inbound_connected = true;
    }
    asio::co_spawn(strand, send_keepalives(keep, conn), ignore_exception);  // its first one is the accept signal
    co_await read_loop(peer, conn);
    conn->close();
    inbound.erase(conn);
    if (peer->in == conn) {
      peer->in.reset();
      std::lock_guard lock(mu);
      peer->stats.inbound_connected = false;
    }
    (void)keep;
  }

  // The accepting side of a connection sends a keepalive at once (the accept signal) and then every
  // keepalive_interval, so that the connecting side can tell a live peer from a silent one.
  awaitable<void> send_keepalives(std::shared_ptr<Impl> keep, std::shared_ptr<Conn> conn) {
    const auto header = encode_frame_header(Channel::keepalive, 0);
    const Bytes frame(header.begin(), header.end());
    while (!conn->closed) {
      if (co_await write_all(conn, frame)) {
        conn->close();
        break;
      }
      error_code ec;
      conn->ticker.expires_after(opt.keepalive_interval);
      co_await conn->ticker.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    (void)keep;
  }

  // Reads frames from the peer's connection and delivers them, until the connection ends, goes idle past
  // idle_timeout, or carries a malformed frame (which closes this connection only).
  awaitable<void> read_loop(std::shared_ptr<Peer> peer, std::shared_ptr<Conn> conn) {
    FrameDecoder decoder(opt.max_frame_payload);
    std::vector<std::uint8_t> buf(kReadBufferSize);
    std::vector<Frame> frames;
    for (;;) {
      error_code ec;
      conn->read_deadline.arm(opt.idle_timeout, Conn::closer(conn));
      const std::size_t n =
          co_await conn->stream.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      conn->read_deadline.disarm();
      if (conn->timed_out) {
        note_error(*peer, "inbound connection idle for longer than idle_timeout");
        co_return;
      }
      if (ec || conn->closed) co_return;
      frames.clear();
      const Status status = decoder.feed(ByteView(buf.data(), n), frames);
      for (Frame& f : frames) {
        if (f.channel == Channel::keepalive) continue;
        if (stopping || peer->closing || peer->in != conn) co_return;
        {
          std::lock_guard lock(mu);
          ++peer->stats.received_messages;
          peer->stats.received_bytes += f.payload.size();
        }
        bool threw = false;
        try {
          on_receive(peer->id, f.channel, std::move(f.payload));
        } catch (...) {
          threw = true;
        }
        if (threw) {
          note_error(*peer, "the receive callback threw; connection closed");
          co_return;
        }
      }
      if (!status) {
        std::lock_guard lock(mu);
        ++peer->stats.protocol_errors;
        peer->stats.last_error = "closed the peer's connection: " + status.error().message;
        co_return;
      }
    }
  }
};

PeerTransport::PeerTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

PeerTransport::~PeerTransport() { stop(); }

Result<std::unique_ptr<PeerTransport>> PeerTransport::create(asio::io_context& io, NodeId self,
                                                             const crypto::PrivateKey& tls_key,
                                                             std::string_view listen_address,
                                                             std::vector<PeerInfo> peers, ReceiveFn on_receive,
                                                             TransportOptions options) {
  if (Status s = detail::check_options(options); !s) return s.error();
  if (self == 0) return make_error("bad_options", "node id 0 is reserved");
  if (!on_receive) return make_error("bad_options", "a receive callback is required");
  auto listen = split_host_port(listen_address);
  if (!listen) return listen.error();
  error_code ec;
  const auto listen_ip = asio::ip::make_address(listen->first, ec);
  if (ec) return make_error("bad_address", "listen address '" + std::string(listen_address) + "' needs an IP");
  if (tls_key.alg() == crypto::SigAlg::sm2) {
    return make_error("tls_error", "node TLS keys must be ed25519 or ecdsa-p256");
  }
  auto valid = detail::validate_peers(self, tls_key, peers);
  if (!valid) return valid.error();
  auto ctxs = detail::make_tls_contexts(tls_key, *valid);
  if (!ctxs) return ctxs.error();

  auto impl = std::make_shared<Impl>(io, self, tls_key, options, std::move(on_receive));
  const tcp::endpoint endpoint(listen_ip, listen->second);
  auto fail = [&](const char* step) {
    return make_error("listen_failed", std::string(step) + " " + std::string(listen_address) + ": " + ec.message());
  };
  // Errors through `ec` only: with BOOST_ASIO_NO_DEPRECATED (the whole build) these members return void.
  if (impl->acceptor.open(endpoint.protocol(), ec); ec) return fail("cannot open a socket for");
  if (impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return fail("cannot set SO_REUSEADDR on");
  if (impl->acceptor.bind(endpoint, ec); ec) return fail("cannot bind");
  if (impl->acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return fail("cannot listen on");
  const auto local = impl->acceptor.local_endpoint(ec);
  if (ec) return fail("cannot read the port of");
  impl->port = local.port();
  impl->client_ctx = ctxs->client;
  impl->server_ctx = ctxs->server;
  {
    std::lock_guard lock(impl->mu);
    impl->apply_table_locked(*valid);
  }
  asio::co_spawn(impl->strand, impl->accept_loop(impl), ignore_exception);
  asio::post(impl->strand, [impl] { impl->reconcile(); });
  return std::unique_ptr<PeerTransport>(new PeerTransport(std::move(impl)));
}

NodeId PeerTransport::self() const { return impl_->self; }

std::uint16_t PeerTransport::listen_port() const { return impl_->port; }

Status PeerTransport::send(NodeId to, Channel channel, Bytes payload) {
  const auto raw = static_cast<std::uint8_t>(channel);
  if (channel == Channel::keepalive || !is_known_channel(raw)) {
    return make_error("bad_channel", "cannot send on channel " + std::to_string(raw));
  }
  if (payload.size() > impl_->opt.max_frame_payload) {
    return make_error("frame_too_large", "payload of " + std::to_string(payload.size()) +
                                             " bytes is above the frame limit of " +
                                             std::to_string(impl_->opt.max_frame_payload));
  }
  std::shared_ptr<Peer> to_wake;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return make_error("stopped", "the transport is stopped");
    auto it = impl_->peers.find(to);
    if (it == impl_->peers.end()) return make_error("unknown_peer", "node " + std::to_string(to) + " is not a peer");
    Peer& p = *it->second;
    Outgoing msg{channel, std::move(payload)};
    const TransportOptions& o = impl_->opt;
    // Drop the oldest until the new message fits: under pressure the freshest Raft messages are the useful ones.
    while (!p.queue.empty() &&
           (p.queue.size() + 1 > o.max_queue_messages || p.queued_bytes + msg.cost() > o.max_queue_bytes)) {
      ++p.stats.dropped_messages;
      p.stats.dropped_bytes += p.queue.front().payload.size();
      p.queued_bytes -= p.queue.front().cost();
      p.queue.pop_front();
    }
    p.queued_bytes += msg.cost();
    p.queue.push_back(std::move(msg));
    if (p.writer_waiting) {
      p.writer_waiting = false;
      to_wake = it->second;
    }
  }
  if (to_wake) asio::post(impl_->strand, [to_wake] { to_wake->wake.cancel(); });
  return {};
}

Status PeerTransport::update_peers(std::vector<PeerInfo> peers) {
  auto valid = detail::validate_peers(impl_->self, impl_->tls_key, peers);
  if (!valid) return valid.error();
  auto ctxs = detail::make_tls_contexts(impl_->tls_key, *valid);
  if (!ctxs) return ctxs.error();
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return make_error("stopped", "the transport is stopped");
    impl_->apply_table_locked(*valid);
    seq = ++impl_->ctx_seq_issued;
  }
  asio::post(impl_->strand, [impl = impl_, seq, c = std::move(*ctxs)]() mutable {
    if (impl->stopping) return;
    impl->install_contexts(seq, std::move(c));
    impl->reconcile();
  });
  return {};
}

void PeerTransport::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    for (auto& [id, p] : impl_->peers) {
      p->queue.clear();
      p->queued_bytes = 0;
    }
  }
  asio::dispatch(impl_->strand, [impl = impl_] { impl->shutdown(); });
}

TransportStats PeerTransport::stats() const {
  TransportStats out;
  out.self = impl_->self;
  out.listen_port = impl_->port;
  std::lock_guard lock(impl_->mu);
  out.inbound_accepted = impl_->inbound_accepted;
  out.inbound_rejected = impl_->inbound_rejected;
  out.last_inbound_error = impl_->last_inbound_error;
  for (const auto& [id, p] : impl_->peers) {
    PeerStats s = p->stats;
    s.id = id;
    s.address = p->address;
    s.queued_messages = p->queue.size();
    s.queued_bytes = p->queued_bytes;
    out.peers.push_back(std::move(s));
  }
  return out;
}

std::optional<PeerStats> PeerTransport::peer_stats(NodeId id) const {
  for (PeerStats& s : stats().peers) {
    if (s.id == id) return std::move(s);
  }
  return std::nullopt;
}

}  // namespace onebill::consensus
