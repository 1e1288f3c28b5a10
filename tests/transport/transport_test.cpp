// PeerTransport over 127.0.0.1: ordered delivery, pinned identity, the API's errors, membership changes, idle
// handling and clean shutdown. Slow, dead and hostile peers are in slow_peer_test.cpp.
#include "tests/transport/harness.h"

#include <set>

using namespace onebill;
using namespace onebill::consensus;
using namespace onebill::consensus::test;

namespace {

constexpr std::array<Channel, 3> kChannels = {Channel::raft, Channel::forward, Channel::attest};

// Every message from each sender, on each channel, arrived exactly once and in the order sent.
void check_in_order(const std::vector<Received>& got, NodeId from, std::uint32_t per_channel) {
  std::map<Channel, std::uint32_t> next;
  for (const auto& r : got) {
    if (r.from != from) continue;
    REQUIRE(r.payload.size() >= 6);
    CHECK(r.payload[0] == from);
    CHECK(r.payload[1] == static_cast<std::uint8_t>(r.channel));
    const std::uint32_t seq = seq_of(r.payload);
    REQUIRE(seq == next[r.channel]);
    ++next[r.channel];
  }
  for (Channel c : kChannels) CHECK(next[c] == per_channel);
}

}  // namespace

TEST_CASE("three transports deliver every message in order per pair and channel", "[transport]") {
  TestNode a(1), b(2), c(3, crypto::SigAlg::ecdsa_p256);
  start_mesh({&a, &b, &c});
  constexpr std::uint32_t kPerChannel = 200;

  // Each node sends to both others on every channel; node a sends from two threads at once (send is thread-safe;
  // each channel's messages still come from one thread, so their order is defined).
  auto send_all = [](TestNode& from, std::vector<NodeId> to, std::vector<Channel> channels) {
    for (std::uint32_t i = 0; i < kPerChannel; ++i) {
      for (NodeId dest : to) {
        for (Channel ch : channels) {
          REQUIRE(from.t().send(dest, ch, numbered(from.id(), ch, i, 9 + (i * 37U) % 3000)).ok());
        }
      }
    }
  };
  std::thread second([&] { send_all(a, {2, 3}, {Channel::attest}); });
  send_all(a, {2, 3}, {Channel::raft, Channel::forward});
  second.join();
  send_all(b, {1, 3}, {Channel::raft, Channel::forward, Channel::attest});
  send_all(c, {1, 2}, {Channel::raft, Channel::forward, Channel::attest});

  for (TestNode* n : {&a, &b, &c}) {
    for (TestNode* m : {&a, &b, &c}) {
      if (n == m) continue;
      INFO("at node " << n->id() << " from node " << m->id());
      REQUIRE(n->inbox().wait_count(m->id(), 3 * kPerChannel, 20s));
      check_in_order(n->inbox().snapshot(), m->id(), kPerChannel);
    }
  }
  // Counters agree with what happened.
  for (TestNode* n : {&a, &b, &c}) {
    for (const PeerStats& s : n->t().stats().peers) {
      INFO("node " << n->id() << " peer " << s.id);
      CHECK(s.connected);
      CHECK(s.inbound_connected);
      CHECK(s.sent_messages == 3 * kPerChannel);
      CHECK(s.received_messages == 3 * kPerChannel);
      CHECK(s.dropped_messages == 0);
      CHECK(s.queued_messages == 0);
      CHECK(s.queued_bytes == 0);
      CHECK(s.connects == 1);
      CHECK(s.protocol_errors == 0);
    }
  }
  // stop() leaves nothing pending: each io_context then runs out of work by itself.
  CHECK(a.shutdown());
  CHECK(b.shutdown());
  CHECK(c.shutdown());
}

TEST_CASE("a node whose key is not pinned cannot deliver or pose as a peer", "[transport][tls]") {
  TestNode a(1), b(2);
  start_mesh({&a, &b});

  SECTION("an unpinned client claiming a listed id is refused at TLS") {
    TestNode rogue(2);  // claims to be node 2, with a key of its own
    REQUIRE(rogue.start({a.info()}).ok());
    for (std::uint32_t i = 0; i < 20; ++i) REQUIRE(rogue.t().send(1, Channel::raft, numbered(2, Channel::raft, i)).ok());
    // The real node 2 still gets through, and the rogue's messages never do.
    for (std::uint32_t i = 0; i < 5; ++i) REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, i)).ok());
    REQUIRE(a.inbox().wait_count(2, 5, 10s));
    REQUIRE(eventually([&] { return a.t().stats().inbound_rejected >= 2; }, 10s));
    std::this_thread::sleep_for(300ms);
    const auto got = a.inbox().snapshot();
    CHECK(got.size() == 5);
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(seq_of(got[i].payload) == i);
    CHECK(a.stats_for(2).received_messages == 5);
  }

  SECTION("an address that answers with another key is not connected to") {
    TestNode rogue(3);
    REQUIRE(rogue.start({a.info()}).ok());
    // Node a lists node 3 with a genuine-looking entry: the rogue's address but someone else's key.
    const auto listed_key = new_key().public_key();
    auto peers = table({&a, &b});
    peers.push_back(PeerInfo{3, "127.0.0.1:" + std::to_string(rogue.port()), listed_key});
    REQUIRE(a.t().update_peers(peers).ok());
    for (std::uint32_t i = 0; i < 10; ++i) REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, i)).ok());
    REQUIRE(eventually([&] { return a.stats_for(3).connect_failures >= 2; }, 10s));
    const PeerStats s = a.stats_for(3);
    CHECK_FALSE(s.connected);
    CHECK(s.connects == 0);
    CHECK(s.sent_messages == 0);
    CHECK(rogue.inbox().snapshot().empty());
  }

  SECTION("a client that does not speak TLS is dropped") {
    asio::io_context io;
    tcp::socket sock(io);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), a.port()));
    const std::string garbage = "GET / HTTP/1.1\r\n\r\n";
    asio::write(sock, asio::buffer(garbage));
    REQUIRE(eventually([&] { return a.t().stats().inbound_rejected >= 1; }, 10s));
  }
}

TEST_CASE("the API refuses bad input with error values", "[transport][api]") {
  TestNode a(1), b(2);
  start_mesh({&a, &b});

  SECTION("send") {
    CHECK(a.t().send(9, Channel::raft, {1}).error().code == "unknown_peer");
    CHECK(a.t().send(1, Channel::raft, {1}).error().code == "unknown_peer");  // ourselves
    CHECK(a.t().send(2, Channel::keepalive, {}).error().code == "bad_channel");
    CHECK(a.t().send(2, static_cast<Channel>(7), {}).error().code == "bad_channel");
    CHECK(a.t().send(2, Channel::raft, Bytes(kDefaultMaxFramePayload + 1)).error().code == "frame_too_large");
    CHECK(a.t().send(2, Channel::raft, {}).ok());  // an empty payload is a valid message
    REQUIRE(b.inbox().wait_count(1, 1, 10s));
    CHECK(b.inbox().snapshot()[0].payload.empty());
  }

  SECTION("create") {
    asio::io_context io;
    const auto key = new_key();
    auto noop = [](NodeId, Channel, Bytes) {};
    auto create = [&](std::string listen, std::vector<PeerInfo> peers, TransportOptions o = {}, NodeId self = 5) {
      auto r = PeerTransport::create(io, self, key, listen, std::move(peers), noop, o);
      return r.ok() ? std::string("ok") : r.error().code;
    };
    const PeerInfo other{2, "127.0.0.1:7000", new_key().public_key()};
    CHECK(create("127.0.0.1:0", {other}) == "ok");
    CHECK(create("127.0.0.1", {}) == "bad_address");
    CHECK(create("localhost:0", {}) == "bad_address");  // must be an IP
    CHECK(create("127.0.0.1:70000", {}) == "bad_address");
    CHECK(create("127.0.0.1:0", {PeerInfo{2, "127.0.0.1:0", other.tls_key}}) == "bad_address");
    CHECK(create("127.0.0.1:0", {PeerInfo{2, "::1:7000", other.tls_key}}) == "bad_address");
    CHECK(create("127.0.0.1:0", {PeerInfo{2, "[::1]:7000", other.tls_key}}) == "ok");
    CHECK(create("127.0.0.1:0", {PeerInfo{0, "127.0.0.1:7000", other.tls_key}}) == "bad_peers");
    CHECK(create("127.0.0.1:0", {other, other}) == "bad_peers");
    CHECK(create("127.0.0.1:0", {other, PeerInfo{3, "127.0.0.1:7001", other.tls_key}}) == "bad_peers");
    CHECK(create("127.0.0.1:0", {PeerInfo{3, "127.0.0.1:7001", key.public_key()}}) == "bad_peers");  // our key
    CHECK(create("127.0.0.1:0", {PeerInfo{5, "127.0.0.1:7001", key.public_key()}}) == "ok");  // ourselves: skipped
    CHECK(create("127.0.0.1:0", {PeerInfo{5, "127.0.0.1:7001", other.tls_key}}) == "bad_peers");
    auto sm2 = crypto::PrivateKey::generate(crypto::SigAlg::sm2);
    REQUIRE(sm2.ok());
    CHECK(create("127.0.0.1:0", {PeerInfo{3, "127.0.0.1:7001", sm2->public_key()}}) == "bad_peers");
    CHECK(create("127.0.0.1:0", {}, {}, 0) == "bad_options");
    TransportOptions o;
    o.max_queue_bytes = o.max_frame_payload;  // cannot hold one frame
    CHECK(create("127.0.0.1:0", {}, o) == "bad_options");
    o = {};
    o.keepalive_interval = o.idle_timeout;
    CHECK(create("127.0.0.1:0", {}, o) == "bad_options");
    o = {};
    o.backoff_initial = 5000ms;
    CHECK(create("127.0.0.1:0", {}, o) == "bad_options");
    CHECK(create("127.0.0.1:" + std::to_string(a.port()), {}) == "listen_failed");  // in use
    auto r = PeerTransport::create(io, 5, key, "127.0.0.1:0", {}, PeerTransport::ReceiveFn{});
    CHECK(r.error().code == "bad_options");
  }

  SECTION("update_peers validates and changes nothing on error") {
    auto bad = table({&a, &b});
    bad.push_back(PeerInfo{0, "127.0.0.1:1", new_key().public_key()});
    CHECK(a.t().update_peers(bad).error().code == "bad_peers");
    CHECK(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 0)).ok());
    REQUIRE(b.inbox().wait_count(1, 1, 10s));
  }
}

TEST_CASE("split_host_port", "[transport][api]") {
  auto ok = [](std::string_view a, std::string host, std::uint16_t port) {
    auto r = split_host_port(a);
    REQUIRE(r.ok());
    CHECK(r->first == host);
    CHECK(r->second == port);
  };
  ok("127.0.0.1:7201", "127.0.0.1", 7201);
  ok("node-1.example:65535", "node-1.example", 65535);
  ok("[::1]:0", "::1", 0);
  for (const char* bad : {"", ":", "host", "host:", ":80", "host:65536", "host:8a", "::1:80", "[::1:80", "h:123456"}) {
    INFO(bad);
    CHECK(split_host_port(bad).error().code == "bad_address");
  }
}

TEST_CASE("membership changes connect new peers and cut removed ones", "[transport][membership]") {
  TestNode a(1), b(2), c(3);
  REQUIRE(a.start({}).ok());
  REQUIRE(b.start({}).ok());
  REQUIRE(c.start({}).ok());
  CHECK(a.t().send(2, Channel::raft, {1}).error().code == "unknown_peer");

  // Add: a and b learn of each other.
  REQUIRE(a.t().update_peers(table({&a, &b})).ok());
  REQUIRE(b.t().update_peers(table({&a, &b})).ok());
  REQUIRE(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, 0)).ok());
  REQUIRE(b.inbox().wait_count(1, 1, 10s));
  REQUIRE(a.inbox().wait_count(2, 1, 10s));

  // Add c to both; a and b keep their connection to each other.
  REQUIRE(c.t().update_peers(table({&a, &b, &c})).ok());
  REQUIRE(a.t().update_peers(table({&a, &b, &c})).ok());
  REQUIRE(b.t().update_peers(table({&a, &b, &c})).ok());
  REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(c.t().send(2, Channel::raft, numbered(3, Channel::raft, 0)).ok());
  REQUIRE(c.inbox().wait_count(1, 1, 10s));
  REQUIRE(b.inbox().wait_count(3, 1, 10s));
  CHECK(a.stats_for(2).connects == 1);

  // Remove b from a: a no longer sends to it, its connection to a is cut, and it cannot come back (its key is no
  // longer pinned by a).
  REQUIRE(a.t().update_peers(table({&a, &c})).ok());
  CHECK(a.t().send(2, Channel::raft, {1}).error().code == "unknown_peer");
  CHECK_FALSE(a.t().peer_stats(2).has_value());
  REQUIRE(eventually([&] { return b.stats_for(1).disconnects >= 1; }, 10s));
  const std::size_t before = a.inbox().count(2);
  for (std::uint32_t i = 1; i <= 5; ++i) REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, i)).ok());
  REQUIRE(eventually([&] { return b.stats_for(1).connect_failures + b.stats_for(1).disconnects >= 3; },
                         10s));
  CHECK(a.inbox().count(2) == before);
  // c is unaffected.
  REQUIRE(c.t().send(1, Channel::raft, numbered(3, Channel::raft, 1)).ok());
  REQUIRE(a.inbox().wait_count(3, 1, 10s));

  // Key rotation: c gets a new key (a new node process with the same id and address), and a learns it.
  const std::uint16_t c_port = c.port();
  REQUIRE(c.shutdown());
  TestNode c2(3);
  REQUIRE(c2.start(table({&a}), test_options(), c_port).ok());
  auto peers = table({&a});
  peers.push_back(c2.info());
  REQUIRE(a.t().update_peers(peers).ok());
  REQUIRE(a.t().send(3, Channel::attest, numbered(1, Channel::attest, 7)).ok());
  REQUIRE(c2.inbox().wait_count(1, 1, 10s));
  REQUIRE(c2.t().send(1, Channel::attest, numbered(3, Channel::attest, 8)).ok());
  REQUIRE(a.inbox().wait([&](const std::vector<Received>& got) {
    for (const auto& r : got) if (r.from == 3 && r.channel == Channel::attest && seq_of(r.payload) == 8) return true;
    return false;
  }, 10s));
}

TEST_CASE("idle connections stay up on keepalives and a silent one is closed", "[transport][idle]") {
  TransportOptions o = test_options();
  o.idle_timeout = 1000ms;
  o.keepalive_interval = 100ms;
  TestNode a(1), b(2), m(4);
  REQUIRE(a.start({}, o).ok());
  REQUIRE(b.start({}, o).ok());
  auto peers = table({&a, &b});
  peers.push_back(PeerInfo{4, "127.0.0.1:9", m.key().public_key()});  // m never listens
  REQUIRE(a.t().update_peers(peers).ok());
  REQUIRE(b.t().update_peers(table({&a, &b})).ok());
  REQUIRE(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, 0)).ok());
  REQUIRE(b.inbox().wait_count(1, 1, 10s));
  REQUIRE(a.inbox().wait_count(2, 1, 10s));

  // A pinned client that sends nothing is closed after idle_timeout.
  RawTlsClient silent(m.key(), {a.key().public_key()});
  REQUIRE(silent.connect(a.port()));
  CHECK(silent.wait_closed(5s));

  // Meanwhile a and b, idle for several idle timeouts, kept their connections.
  std::this_thread::sleep_for(3000ms);
  REQUIRE(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 1)).ok());
  REQUIRE(b.inbox().wait_count(1, 2, 10s));
  CHECK(a.stats_for(2).connects == 1);
  CHECK(a.stats_for(2).disconnects == 0);
  CHECK(b.stats_for(1).connects == 1);
  CHECK(b.stats_for(1).disconnects == 0);
}

TEST_CASE("unauthenticated connections are bounded", "[transport][limits]") {
  TransportOptions o = test_options();
  o.max_pending_handshakes = 2;
  o.connect_timeout = 10000ms;
  TestNode a(1);
  REQUIRE(a.start({}, o).ok());
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> socks;
  for (int i = 0; i < 3; ++i) {
    socks.push_back(std::make_unique<tcp::socket>(io));
    socks.back()->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), a.port()));
    // Let the transport accept this one before the next.
    REQUIRE(eventually([&] { return a.t().stats().inbound_accepted >= static_cast<unsigned>(i + 1); },
                           10s));
  }
  // The third is closed at once; the first two wait for a handshake (until connect_timeout).
  CHECK(a.t().stats().inbound_rejected == 1);
  std::array<char, 8> buf{};
  boost::system::error_code ec;
  const auto t0 = Clock::now();
  socks[2]->read_some(asio::buffer(buf), ec);  // returns at once: closed by the transport
  CHECK(ec);
  CHECK(Clock::now() - t0 < 3000ms);  // not after connect_timeout (10 s)
}

TEST_CASE("stop closes everything and fails later sends", "[transport][stop]") {
  TestNode a(1), b(2);
  start_mesh({&a, &b});
  REQUIRE(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(b.inbox().wait_count(1, 1, 10s));
  REQUIRE(eventually([&] { return b.stats_for(1).connected; }, 10s));
  a.t().stop();
  a.t().stop();  // idempotent
  CHECK(a.t().send(2, Channel::raft, {1}).error().code == "stopped");
  CHECK(a.t().update_peers({}).error().code == "stopped");
  // b sees a go away.
  const bool seen = eventually([&] { return b.stats_for(1).disconnects >= 1; }, 10s);
  const PeerStats bs = b.stats_for(1);
  INFO("connects " << bs.connects << " disconnects " << bs.disconnects << " failures " << bs.connect_failures
                   << " connected " << bs.connected << " last_error " << bs.last_error);
  REQUIRE(seen);
  CHECK(a.shutdown());
  CHECK(b.shutdown());
}

TEST_CASE("a restarted peer is reconnected both ways and names are resolved", "[transport][restart]") {
  TestNode a(1), b(2);
  REQUIRE(a.start({}).ok());
  REQUIRE(b.start({}).ok());
  // a knows b by name, so a's dialing goes through the resolver (localhost may also yield ::1, refused: the
  // next address is tried).
  PeerInfo b_by_name = b.info();
  b_by_name.address = "localhost:" + std::to_string(b.port());
  REQUIRE(a.t().update_peers({a.info(), b_by_name}).ok());
  REQUIRE(b.t().update_peers(table({&a, &b})).ok());
  REQUIRE(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, 0)).ok());
  REQUIRE(b.inbox().wait_count(1, 1, 10s));
  REQUIRE(a.inbox().wait_count(2, 1, 10s));

  // b restarts: same id, key and port, a new process state.
  const std::uint16_t port = b.port();
  const crypto::PrivateKey key = b.key();
  REQUIRE(b.shutdown());
  TestNode b2(2, key);
  REQUIRE(b2.start(table({&a}), test_options(), port).ok());
  REQUIRE(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 1)).ok());
  // a's message may be lost while a notices the old connection is gone; resend until one arrives, as Raft would.
  REQUIRE(eventually([&] {
    if (b2.inbox().count(1) > 0) return true;
    (void)a.t().send(2, Channel::raft, numbered(1, Channel::raft, 2));
    return false;
  }, 10s));
  REQUIRE(b2.t().send(1, Channel::raft, numbered(2, Channel::raft, 1)).ok());
  REQUIRE(a.inbox().wait_count(2, 2, 10s));  // b2's connection replaced b's at a
  CHECK(a.stats_for(2).reconnects >= 1);
  CHECK(a.stats_for(2).inbound_connected);
}

TEST_CASE("stop from inside the receive callback delivers nothing more", "[transport][stop]") {
  TestNode a(1), b(2);
  PeerTransport* at = nullptr;
  a.set_hook([&](NodeId, Channel, const Bytes& payload) {
    if (seq_of(payload) == 3) at->stop();
  });
  start_mesh({&a, &b});
  at = &a.t();
  for (std::uint32_t i = 0; i < 50; ++i) REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, i)).ok());
  REQUIRE(a.inbox().wait_count(2, 4, 10s));
  std::this_thread::sleep_for(300ms);
  CHECK(a.inbox().count(2) == 4);  // 0, 1, 2, 3 and nothing after stop()
  CHECK(a.shutdown());
}
