#include "consensus/transport/peer_table.h"

#include <exception>
#include <set>

#include "crypto/tls.h"

namespace onebill::consensus {

Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view address) {
  auto bad = [&](const char* why) {
    return make_error("bad_address", "address '" + std::string(address) + "': " + why + " (expected host:port)");
  };
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    return bad("an IPv6 host must be in brackets");
  }
  if (host.empty()) return bad("no host");
  if (port_text.empty() || port_text.size() > 5) return bad("bad port");
  std::uint32_t port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return bad("bad port");
    port = port * 10U + static_cast<std::uint32_t>(c - '0');
  }
  if (port > 65535U) return bad("port out of range");
  return std::pair<std::string, std::uint16_t>(std::string(host), static_cast<std::uint16_t>(port));
}

namespace detail {

Status check_options(const TransportOptions& o) {
  auto bad = [](const std::string& why) { return make_error("bad_options", why); };
  if (o.max_frame_payload == 0 || o.max_frame_payload > kMaxFramePayloadLimit) {
    return bad("max_frame_payload must be between 1 and 2^32 - 3");
  }
  if (o.max_queue_messages == 0) return bad("max_queue_messages must be at least 1");
  if (o.max_queue_bytes < static_cast<std::size_t>(o.max_frame_payload) + kFrameHeaderSize) {
    return bad("max_queue_bytes must hold at least one frame of max_frame_payload");
  }
  if (o.max_batch_bytes == 0) return bad("max_batch_bytes must be at least 1");
  if (o.max_pending_handshakes == 0) return bad("max_pending_handshakes must be at least 1");
  using std::chrono::milliseconds;
  for (milliseconds d : {o.connect_timeout, o.write_timeout, o.idle_timeout, o.keepalive_interval,
                         o.backoff_initial, o.backoff_max}) {
    if (d <= milliseconds(0)) return bad("timeouts, intervals and backoff must be positive");
  }
  if (o.keepalive_interval >= o.idle_timeout) {
    return bad("keepalive_interval must be below idle_timeout (a third of it or less is advised)");
  }
  if (o.backoff_initial > o.backoff_max) return bad("backoff_initial must not exceed backoff_max");
  return {};
}

Result<std::vector<ValidPeer>> validate_peers(NodeId self, const crypto::PrivateKey& own_key,
                                              const std::vector<PeerInfo>& peers) {
  const Bytes own_der = own_key.public_key().to_der();
  std::set<NodeId> ids;
  std::set<Bytes> keys{own_der};
  std::vector<ValidPeer> out;
  for (const PeerInfo& p : peers) {
    const std::string who = "peer " + std::to_string(p.id);
    if (p.id == 0) return make_error("bad_peers", "node id 0 is reserved");
    if (!ids.insert(p.id).second) return make_error("bad_peers", who + " is listed twice");
    Bytes der = p.tls_key.to_der();
    if (p.id == self) {
      if (der != own_der) return make_error("bad_peers", "the entry for this node lists a different TLS key");
      continue;
    }
    if (p.tls_key.alg() == crypto::SigAlg::sm2) {
      return make_error("bad_peers", who + ": TLS keys must be ed25519 or ecdsa-p256");
    }
    if (!keys.insert(der).second) return make_error("bad_peers", who + ": its TLS key is already used");
    auto hp = split_host_port(p.address);
    if (!hp) return hp.error();
    if (hp->second == 0) return make_error("bad_address", who + ": port 0 in '" + p.address + "'");
    out.push_back(ValidPeer{p.id, p.address, hp->first, hp->second, p.tls_key, std::move(der)});
  }
  return out;
}

Result<TlsContexts> make_tls_contexts(const crypto::PrivateKey& own_key, const std::vector<ValidPeer>& peers) {
  namespace ssl = boost::asio::ssl;
  std::vector<crypto::PublicKey> pinned;
  pinned.reserve(peers.size());
  for (const ValidPeer& p : peers) pinned.push_back(p.key);
  try {
    TlsContexts out{std::make_shared<ssl::context>(ssl::context::tls_client),
                    std::make_shared<ssl::context>(ssl::context::tls_server)};
    if (Status s = crypto::configure_pinned_tls(out.client->native_handle(), crypto::TlsRole::client, own_key, pinned);
        !s) {
      return s.error();
    }
    if (Status s = crypto::configure_pinned_tls(out.server->native_handle(), crypto::TlsRole::server, own_key, pinned);
        !s) {
      return s.error();
    }
    return out;
  } catch (const std::exception& e) {
    return make_error("tls_error", std::string("cannot create a TLS context: ") + e.what());
  }
}

}  // namespace detail
}  // namespace onebill::consensus
