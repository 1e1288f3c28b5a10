// PeerNetwork: how a node reaches its peers — the one seam between the node and the wire. onebilld uses the TLS
// transport (consensus::PeerTransport, tls_peer_network()); tests give Node::create another factory (an
// in-memory network, tests/support/memory_network.h) to run several nodes in one process without sockets.
//
// The contract is the transport's (consensus/transport/transport.h): send() queues and returns at once, never
// waits on the network, and success is not delivery; messages from one peer arrive in the order it sent them, on
// the node's io_context, one receive call at a time; only peers in the table may talk to each other;
// update_peers() replaces the table; stop() is idempotent and no receive starts after it returns on the
// io_context thread. Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "consensus/transport/transport.h"
#include "crypto/keys.h"
#include "crypto/result.h"

namespace boost::asio {
class io_context;
}

namespace onebill::node {

class PeerNetwork {
 public:
  using ReceiveFn = consensus::PeerTransport::ReceiveFn;
  virtual ~PeerNetwork() = default;

  // Errors as PeerTransport::send ("unknown_peer", "stopped", …).
  virtual Status send(consensus::NodeId to, consensus::Channel channel, consensus::Bytes payload) = 0;
  virtual Status update_peers(std::vector<consensus::PeerInfo> peers) = 0;
  virtual void stop() = 0;
  virtual consensus::TransportStats stats() const = 0;
  virtual std::uint16_t listen_port() const = 0;
};

// What a node needs to join its peer network: its io_context (receive calls run there), its Raft id and TLS key,
// the address to listen on (host:port), the peer table from the membership, and where received frames go.
struct PeerNetworkParams {
  boost::asio::io_context* io = nullptr;
  consensus::NodeId self = 0;
  const crypto::PrivateKey* tls_key = nullptr;
  std::string listen;
  std::vector<consensus::PeerInfo> peers;
  PeerNetwork::ReceiveFn on_receive;
};
using PeerNetworkFactory = std::function<Result<std::unique_ptr<PeerNetwork>>(PeerNetworkParams)>;

// The real network: TCP with mutual TLS (consensus::PeerTransport).
PeerNetworkFactory tls_peer_network();

}  // namespace onebill::node
