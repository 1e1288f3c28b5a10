// Internal to the transport: checking a peer table and options, and making the pinned TLS contexts for it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "consensus/transport/transport.h"

namespace onebill::consensus::detail {

struct ValidPeer {
  NodeId id = 0;
  std::string address;
  std::string host;
  std::uint16_t port = 0;
  crypto::PublicKey key;
  Bytes key_der;
};

// "bad_options" if a bound is zero or inconsistent (see TransportOptions).
Status check_options(const TransportOptions& options);

// The peers other than `self`, checked: ids non-zero and distinct, addresses "host:port" with a non-zero port,
// TLS keys ed25519 or ecdsa-p256 and distinct from each other and from ours; the entry for `self`, if any, must
// list our key. Errors: "bad_peers", "bad_address".
Result<std::vector<ValidPeer>> validate_peers(NodeId self, const crypto::PrivateKey& own_key,
                                              const std::vector<PeerInfo>& peers);

struct TlsContexts {
  std::shared_ptr<boost::asio::ssl::context> client;
  std::shared_ptr<boost::asio::ssl::context> server;
};

// Client and server contexts presenting `own_key` and accepting exactly the keys of `peers`. "tls_error".
Result<TlsContexts> make_tls_contexts(const crypto::PrivateKey& own_key, const std::vector<ValidPeer>& peers);

}  // namespace onebill::consensus::detail
