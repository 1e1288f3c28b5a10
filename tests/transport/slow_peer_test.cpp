// A slow, paused, dead or hostile peer must not delay anyone else: PeerTransport over 127.0.0.1.
//
// The timeouts in these tests are long (seconds) on purpose: if sending to a stuck peer ever held up sending to a
// healthy one, the healthy peer's latency would reach those timeouts, far above what the checks allow.
#include "tests/transport/harness.h"

using namespace onebill;
using namespace onebill::consensus;
using namespace onebill::consensus::test;

namespace {

// Sends `count` numbered messages to `healthy`, one every `gap`, calling `between` before each; returns the worst
// delay from send() to delivery.
template <class F>
milliseconds worst_latency(TestNode& from, TestNode& healthy, std::uint32_t first, std::uint32_t count,
                           milliseconds gap, F between) {
  std::map<std::uint32_t, Clock::time_point> sent_at;
  for (std::uint32_t i = first; i < first + count; ++i) {
    between(i);
    sent_at[i] = Clock::now();
    REQUIRE(from.t().send(healthy.id(), Channel::raft, numbered(from.id(), Channel::raft, i)).ok());
    std::this_thread::sleep_for(gap);
  }
  REQUIRE(healthy.inbox().wait_count(from.id(), first + count, 20s));
  milliseconds worst{0};
  for (const auto& r : healthy.inbox().snapshot()) {
    if (r.from != from.id()) continue;
    auto it = sent_at.find(seq_of(r.payload));
    if (it == sent_at.end()) continue;
    worst = std::max(worst, std::chrono::duration_cast<milliseconds>(r.at - it->second));
  }
  return worst;
}

// The messages from `from` arrived in increasing order with no duplicates (some may be missing).
void check_increasing(const std::vector<Received>& got, NodeId from) {
  std::optional<std::uint32_t> last;
  for (const auto& r : got) {
    if (r.from != from) continue;
    const std::uint32_t s = seq_of(r.payload);
    if (last) REQUIRE(s > *last);
    last = s;
  }
}

bool has_seq(const std::vector<Received>& got, NodeId from, std::uint32_t seq) {
  for (const auto& r : got) {
    if (r.from == from && seq_of(r.payload) == seq) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a peer that is not listening delays no one and is reached once it starts", "[transport][slow]") {
  TransportOptions o = test_options();
  o.connect_timeout = 30000ms;
  TestNode a(1), b(2), c(3);
  const std::uint16_t c_port = reserve_port();
  REQUIRE(a.start({}, o).ok());
  REQUIRE(b.start({}, o).ok());
  const PeerInfo c_info{3, "127.0.0.1:" + std::to_string(c_port), c.key().public_key()};
  auto peers = table({&a, &b});
  peers.push_back(c_info);
  REQUIRE(a.t().update_peers(peers).ok());
  REQUIRE(b.t().update_peers(peers).ok());

  for (std::uint32_t i = 0; i < 10; ++i) REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, i)).ok());
  const milliseconds worst =
      worst_latency(a, b, 0, 50, 5ms, [&](std::uint32_t i) { (void)a.t().send(3, Channel::forward, numbered(1, Channel::forward, i)); });
  CHECK(worst < 3000ms);
  const PeerStats down = a.stats_for(3);
  CHECK_FALSE(down.connected);
  CHECK(down.connect_failures >= 2);  // refused, backing off, retrying
  CHECK(down.queued_messages == 60);
  CHECK(down.dropped_messages == 0);

  // c starts: a reconnects within the backoff bound and delivers what was queued, in order.
  REQUIRE(c.start(table({&a, &b}), o, c_port).ok());
  REQUIRE(c.inbox().wait_count(1, 60, 10s));
  const auto got = c.inbox().snapshot();
  std::map<Channel, std::uint32_t> next;
  for (const auto& r : got) {
    if (r.from != 1) continue;
    CHECK(seq_of(r.payload) == next[r.channel]++);
  }
  CHECK(next[Channel::raft] == 10);
  CHECK(next[Channel::forward] == 50);
  CHECK(a.stats_for(3).connected);
  CHECK(a.stats_for(3).connects == 1);
}

TEST_CASE("a black hole that accepts TCP and never answers delays no one and its queue is bounded", "[transport][slow]") {
  TransportOptions o = test_options();
  o.connect_timeout = 30000ms;  // the handshake with the black hole hangs for the whole test
  o.max_queue_messages = 50;
  TestNode a(1), b(2);
  // A listener nobody accepts from: the kernel completes TCP handshakes into its backlog, then nothing.
  asio::io_context hole_io;
  tcp::acceptor hole(hole_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const PeerInfo d{4, "127.0.0.1:" + std::to_string(hole.local_endpoint().port()), new_key().public_key()};
  REQUIRE(a.start({}, o).ok());
  REQUIRE(b.start({}, o).ok());
  auto peers = table({&a, &b});
  peers.push_back(d);
  REQUIRE(a.t().update_peers(peers).ok());
  REQUIRE(b.t().update_peers(table({&a, &b})).ok());

  const milliseconds worst = worst_latency(a, b, 0, 100, 2ms, [&](std::uint32_t i) {
    for (int k = 0; k < 3; ++k) REQUIRE(a.t().send(4, Channel::raft, numbered(1, Channel::raft, i, 1000)).ok());
  });
  CHECK(worst < 3000ms);
  const PeerStats s = a.stats_for(4);
  CHECK_FALSE(s.connected);
  CHECK(s.queued_messages == 50);
  CHECK(s.dropped_messages == 250);
  CHECK(s.dropped_bytes == 250 * 1000);
  CHECK(s.queued_bytes == 50 * (1000 + kFrameHeaderSize));
}

TEST_CASE("a paused peer delays no one and its drops are counted and it catches up when resumed",
          "[transport][slow]") {
  TransportOptions o = test_options();
  o.write_timeout = 30000ms;  // the stuck write to the paused peer stays pending for the whole pause
  o.idle_timeout = 30000ms;
  o.keepalive_interval = 1000ms;
  o.max_queue_messages = 64;
  o.max_queue_bytes = 4U * 1024U * 1024U;
  o.max_frame_payload = 1024U * 1024U;
  TestNode a(1), b(2), c(3);
  start_mesh({&a, &b, &c}, o);
  REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(c.inbox().wait_count(1, 1, 10s));

  c.pause();
  // 64 KiB messages to c: kernel buffers fill, the write blocks, the queue fills and drops its oldest.
  std::uint32_t seq = 1;
  const milliseconds worst = worst_latency(a, b, 0, 100, 1ms, [&](std::uint32_t) {
    for (int k = 0; k < 8; ++k, ++seq) {
      REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, seq, 64 * 1024)).ok());
    }
  });
  CHECK(worst < 3000ms);
  // b -> a is unaffected too.
  REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, 0)).ok());
  REQUIRE(a.inbox().wait_count(2, 1, 10s));
  const PeerStats paused = a.stats_for(3);
  CHECK(paused.dropped_messages > 0);
  CHECK(paused.queued_messages <= 64);
  CHECK(paused.queued_bytes <= o.max_queue_bytes);
  // Every message is accounted for: queued, being written, written, or dropped.
  CHECK(paused.dropped_messages + paused.queued_messages + paused.in_flight_messages + paused.sent_messages == seq);

  c.resume();
  const std::uint32_t marker = seq;
  REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, marker)).ok());
  REQUIRE(c.inbox().wait([&](const auto& got) { return has_seq(got, 1, marker); }, 20s));
  check_increasing(c.inbox().snapshot(), 1);
  CHECK(a.stats_for(3).connects == 1);  // the connection survived the pause
}

TEST_CASE("a write that makes no progress times out and the sender reconnects after the peer recovers",
          "[transport][slow]") {
  TransportOptions o = test_options();
  o.write_timeout = 300ms;
  o.connect_timeout = 500ms;
  o.idle_timeout = 30000ms;
  o.keepalive_interval = 1000ms;
  o.max_frame_payload = 1024U * 1024U;
  o.max_queue_bytes = 8U * 1024U * 1024U;
  TestNode a(1), b(2), c(3);
  start_mesh({&a, &b, &c}, o);
  REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(c.inbox().wait_count(1, 1, 10s));

  c.pause();
  std::uint32_t seq = 1;
  // Enough to fill the loopback socket buffers several times over.
  const auto until = Clock::now() + 20s;
  while (a.stats_for(3).disconnects == 0 && Clock::now() < until) {
    for (int k = 0; k < 16; ++k, ++seq) {
      REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, seq, 256 * 1024)).ok());
    }
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(a.stats_for(3).disconnects >= 1);
  // While c stays paused, reconnects fail at the handshake (the kernel accepts TCP for it, nobody answers TLS).
  REQUIRE(eventually([&] { return a.stats_for(3).connect_failures >= 1; }, 10s));
  CHECK(a.stats_for(3).last_error.find("timed out") != std::string::npos);
  // b is still served.
  REQUIRE(a.t().send(2, Channel::raft, numbered(1, Channel::raft, 0)).ok());
  REQUIRE(b.inbox().wait_count(1, 1, 5s));

  c.resume();
  const std::uint32_t marker = seq + 1000;
  const auto until2 = Clock::now() + 20s;
  while (!has_seq(c.inbox().snapshot(), 1, marker) && Clock::now() < until2) {
    REQUIRE(a.t().send(3, Channel::raft, numbered(1, Channel::raft, marker)).ok());
    c.inbox().wait([&](const auto& got) { return has_seq(got, 1, marker); }, 500ms);
  }
  REQUIRE(has_seq(c.inbox().snapshot(), 1, marker));
  CHECK(a.stats_for(3).reconnects >= 1);
}

TEST_CASE("payloads at the frame limit arrive intact and one byte more is refused", "[transport][large]") {
  TestNode a(1), b(2);
  start_mesh({&a, &b});  // default limit: 16 MiB
  std::vector<Bytes> sent;
  for (std::size_t size : {std::size_t{kDefaultMaxFramePayload}, std::size_t{kDefaultMaxFramePayload - 1},
                           std::size_t{3U * 1024U * 1024U + 17U}}) {
    Bytes p = numbered(1, Channel::raft, static_cast<std::uint32_t>(sent.size()), size);
    for (std::size_t i = 6; i < p.size(); i += 4093) p[i] = static_cast<std::uint8_t>(i >> 8U);
    sent.push_back(p);
    REQUIRE(a.t().send(2, Channel::raft, std::move(p)).ok());
  }
  CHECK(a.t().send(2, Channel::raft, Bytes(kDefaultMaxFramePayload + 1)).error().code == "frame_too_large");
  REQUIRE(b.inbox().wait_count(1, sent.size(), 60s));
  const auto got = b.inbox().snapshot();
  REQUIRE(got.size() == sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    CHECK(got[i].payload.size() == sent[i].size());
    CHECK(got[i].payload == sent[i]);
  }
  CHECK(b.stats_for(1).received_bytes == a.stats_for(2).sent_bytes);
}

TEST_CASE("a malformed frame from a malicious peer closes that connection only", "[transport][hostile]") {
  TransportOptions o = test_options();
  o.max_frame_payload = 1024U * 1024U;
  TestNode a(1), b(2), m(4);  // m is a listed member whose software misbehaves
  REQUIRE(a.start({}, o).ok());
  REQUIRE(b.start({}, o).ok());
  auto peers = table({&a, &b});
  peers.push_back(PeerInfo{4, "127.0.0.1:9", m.key().public_key()});
  REQUIRE(a.t().update_peers(peers).ok());
  REQUIRE(b.t().update_peers(table({&a, &b})).ok());

  std::uint32_t b_seq = 0;
  auto b_sends = [&](std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i, ++b_seq) {
      REQUIRE(b.t().send(1, Channel::raft, numbered(2, Channel::raft, b_seq)).ok());
    }
  };
  b_sends(10);
  REQUIRE(a.inbox().wait_count(2, 10, 10s));

  struct Bad {
    const char* name;
    Bytes bytes;
  };
  const std::vector<Bad> bad = {
      {"oversized", Bytes{0x00, 0x10, 0x00, 0x03, 0x01, 0x01}},  // 1 MiB + 1 payload, limit 1 MiB
      {"bad version", Bytes{0x00, 0x00, 0x00, 0x03, 0x07, 0x01, 0x00}},
      {"unknown channel", Bytes{0x00, 0x00, 0x00, 0x03, 0x01, 0x40, 0x00}},
      {"bad length", Bytes{0x00, 0x00, 0x00, 0x01, 0x01}},
  };
  std::uint32_t m_seq = 0;
  for (const auto& [name, bytes] : bad) {
    INFO(name);
    RawTlsClient evil(m.key(), {a.key().public_key()});
    REQUIRE(evil.connect(a.port()));
    // A good frame first: it is delivered; then the bad one closes the connection.
    REQUIRE(evil.write(*encode_frame(Channel::attest, numbered(4, Channel::attest, m_seq))));
    const bool arrived = a.inbox().wait_count(4, m_seq + 1, 10s);
    INFO("accepted " << a.t().stats().inbound_accepted << " rejected " << a.t().stats().inbound_rejected << " why "
                     << a.t().stats().last_inbound_error
                     << " inbound_connected " << a.stats_for(4).inbound_connected << " last_error "
                     << a.stats_for(4).last_error);
    REQUIRE(arrived);
    ++m_seq;
    REQUIRE(evil.write(bytes));
    CHECK(evil.wait_closed(5s));
    b_sends(10);
  }
  CHECK(a.stats_for(4).protocol_errors == bad.size());
  CHECK(a.stats_for(4).received_messages == bad.size());
  // b was never disturbed: one connection throughout, everything delivered in order.
  REQUIRE(a.inbox().wait_count(2, b_seq, 10s));
  check_increasing(a.inbox().snapshot(), 2);
  CHECK(a.inbox().count(2) == b_seq);
  CHECK(b.stats_for(1).connects == 1);
  CHECK(b.stats_for(1).disconnects == 0);
  CHECK(a.stats_for(2).protocol_errors == 0);
}
