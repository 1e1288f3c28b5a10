#include "node/peer_network.h"

namespace onebill::node {
namespace {

class TlsPeerNetwork final : public PeerNetwork {
 public:
  explicit TlsPeerNetwork(std::unique_ptr<consensus::PeerTransport> t) : t_(std::move(t)) {}
  Status send(consensus::NodeId to, consensus::Channel channel, consensus::Bytes payload) override {
    return t_->send(to, channel, std::move(payload));
  }
  Status update_peers(std::vector<consensus::PeerInfo> peers) override { return t_->update_peers(std::move(peers)); }
  void stop() override { t_->stop(); }
  consensus::TransportStats stats() const override { return t_->stats(); }
  std::uint16_t listen_port() const override { return t_->listen_port(); }

 private:
  std::unique_ptr<consensus::PeerTransport> t_;
};

}  // namespace

PeerNetworkFactory tls_peer_network() {
  return [](PeerNetworkParams p) -> Result<std::unique_ptr<PeerNetwork>> {
    auto t = consensus::PeerTransport::create(*p.io, p.self, *p.tls_key, p.listen, std::move(p.peers),
                                              std::move(p.on_receive));
    if (!t) return t.error();
    return std::unique_ptr<PeerNetwork>(new TlsPeerNetwork(std::move(*t)));
  };
}

}  // namespace onebill::node
