// PeerTransport: the Raft peer network. TCP with mutual TLS 1.3, each peer pinned to the public key listed for it
// in genesis, carrying the frames of frame.h. Behaviour (timeouts, backoff, queue bounds, what is dropped) is
// documented in docs/formats/peer-frames.md.
//
// Shape:
//   - One outgoing connection per peer, owned by a writer coroutine that drains that peer's bounded queue. The
//     connection is made eagerly and remade after any failure, with exponential backoff and jitter.
//   - The peer's messages to us arrive on the connection it made to us (one inbound connection per peer; a newer
//     one replaces an older one). Who it is comes from the TLS key it proved, never from anything it says.
//   - The accepting side answers an authenticated connection with a keepalive frame (the accept signal: in TLS 1.3
//     a client cannot otherwise tell that it was accepted) and then a keepalive every keepalive_interval; the
//     dialing side writes nothing before the signal. Idle connections carry keepalives both ways.
//   - send() only appends to a queue; it never waits on the network. A slow, paused or dead peer fills its own
//     queue (the oldest messages are dropped and counted) and delays no one else.
//
// Threading: all network work runs on a strand of the io_context given at creation; the io_context may be run by
// one thread or several. send(), update_peers(), stop() and stats() are thread-safe and may be called from any
// thread, including from inside the receive callback. The receive callback runs on an io_context thread, one call
// at a time, and must not block (it delays reading from every peer) and must not throw.
//
// Lifetime: the PeerTransport must be destroyed before the io_context. Destroying it stops it. Internal state
// outlives the object until the last pending operation has finished on the io_context; no callback is started
// after stop() has been called from the io_context thread (from another thread, one already running may finish).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "consensus/transport/frame.h"
#include "crypto/keys.h"
#include "crypto/result.h"

namespace boost::asio {
class io_context;
}

namespace onebill::consensus {

using NodeId = std::uint64_t;  // the same alias as consensus/types.h; 0 is "none"

// One member of the peer table: genesis "nodes" entries with their "raft" address and "tls_pub" key.
struct PeerInfo {
  NodeId id = 0;
  std::string address;  // "host:port" (IPv6 as "[::1]:7201"); the host may be a name, resolved at each connect
  crypto::PublicKey tls_key;
};

struct TransportOptions {
  std::uint32_t max_frame_payload = kDefaultMaxFramePayload;  // larger sends fail; larger frames received close
  std::size_t max_queue_messages = 4096;                       // per peer
  std::size_t max_queue_bytes = 64U * 1024U * 1024U;           // per peer, payload + header; >= one max frame
  std::size_t max_batch_bytes = 1024U * 1024U;                 // frames gathered into one write (at least one)
  std::chrono::milliseconds connect_timeout{3000};  // TCP connect (and name resolution) + TLS handshake, each way
  std::chrono::milliseconds write_timeout{10000};   // a write making no progress this long closes the connection
  std::chrono::milliseconds idle_timeout{10000};    // an inbound connection silent this long is closed
  std::chrono::milliseconds keepalive_interval{2000};  // an idle outbound connection sends a keepalive this often
  std::chrono::milliseconds backoff_initial{50};       // reconnect delay after the first failure ...
  std::chrono::milliseconds backoff_max{2000};         // ... doubling up to this; each delay jittered to [d/2, d]
  std::size_t max_pending_handshakes = 64;             // inbound connections not yet authenticated
};

// Per-peer counters, for /metrics and /v1/status. Counts are since creation (they survive reconnects).
struct PeerStats {
  NodeId id = 0;
  std::string address;
  bool connected = false;          // our outbound connection is up (TLS done, key checked, peer accepted us)
  bool inbound_connected = false;  // the peer's connection to us is up
  std::uint64_t queued_messages = 0;
  std::uint64_t queued_bytes = 0;  // payload + frame header
  std::uint64_t in_flight_messages = 0;  // taken from the queue, being written now
  std::uint64_t sent_messages = 0;  // written to the connection (not a delivery receipt)
  std::uint64_t sent_bytes = 0;     // payload bytes
  std::uint64_t received_messages = 0;
  std::uint64_t received_bytes = 0;  // payload bytes
  std::uint64_t dropped_messages = 0;  // queue overflow (oldest first), plus the messages of a write that failed
  std::uint64_t dropped_bytes = 0;     // payload bytes
  std::uint64_t connects = 0;          // outbound connections established
  std::uint64_t reconnects = 0;        // connects after the first
  std::uint64_t connect_failures = 0;  // resolve, TCP, TLS, wrong peer key, not accepted, or timeout
  std::uint64_t disconnects = 0;       // established outbound connections that ended
  std::uint64_t protocol_errors = 0;   // inbound connections from this peer closed for a malformed frame
  std::string last_error;              // the latest connection problem, for people
};

struct TransportStats {
  NodeId self = 0;
  std::uint16_t listen_port = 0;
  std::uint64_t inbound_accepted = 0;  // TCP connections accepted
  std::uint64_t inbound_rejected = 0;  // of those: failed TLS (unpinned key ...), unknown key, or over the limit
  std::string last_inbound_error;      // why the latest rejected one was, for people
  std::vector<PeerStats> peers;        // sorted by id
};

// "host:port" → (host, port). Brackets around an IPv6 host are removed. Errors: "bad_address".
Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view address);

class PeerTransport {
 public:
  // Called for every frame received on the raft, forward and attest channels, in the order the peer sent them.
  using ReceiveFn = std::function<void(NodeId from, Channel channel, Bytes payload)>;

  // Binds `listen_address` (an IP literal and a port; port 0 picks a free one, see listen_port()) and starts
  // connecting to every peer once `io` runs. `peers` may include this node itself (as genesis does); that entry
  // is skipped.
  // Errors: "bad_options", "bad_address", "bad_peers" (id 0, an id or key twice, our own key), "tls_error",
  // "listen_failed".
  static Result<std::unique_ptr<PeerTransport>> create(boost::asio::io_context& io, NodeId self,
                                                       const crypto::PrivateKey& tls_key,
                                                       std::string_view listen_address, std::vector<PeerInfo> peers,
                                                       ReceiveFn on_receive, TransportOptions options = {});

  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  NodeId self() const;
  std::uint16_t listen_port() const;

  // Queues `payload` for `to` and returns at once. If the queue is over its bounds the oldest queued messages are
  // dropped (counted in PeerStats). Success means queued, not delivered: Raft's own retries cover loss.
  // Errors: "unknown_peer" (not in the table, or ourselves), "bad_channel" (keepalive or not a Channel),
  // "frame_too_large", "stopped".
  Status send(NodeId to, Channel channel, Bytes payload);

  // Replaces the peer table (membership change or key rotation). New peers are connected; removed peers are
  // disconnected and their queues discarded; a peer whose address or key changed is reconnected (and its inbound
  // connection closed, so it must prove the new key). Validated as in create(); on error nothing changes.
  Status update_peers(std::vector<PeerInfo> peers);

  // Closes the listener and every connection and drops the queues. Idempotent; send() fails afterwards.
  void stop();

  TransportStats stats() const;
  std::optional<PeerStats> peer_stats(NodeId id) const;

  struct Impl;

 private:
  explicit PeerTransport(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace onebill::consensus
