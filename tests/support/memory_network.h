// MemoryNetwork: an in-memory peer network for several nodes in one process (node::PeerNetwork), no sockets.
//
// Each node's factory call registers an endpoint: its io_context, its receive function and its peer table. A send
// posts the frame to the receiver's io_context, so frames between two nodes arrive in order, one receive call at a
// time on the receiver's I/O thread, as with the TLS transport. Like it, a frame is delivered only when the sender
// lists the receiver and the receiver lists the sender (the TLS transport pins both ends to the membership's
// keys); otherwise it is dropped. Tests can cut a node off (isolate) to make frames to and from it vanish.
//
// Thread-safety: everything is guarded by one mutex; a frame is posted under it, and an endpoint is removed under
// it when its node stops, so nothing is ever posted to an io_context after its node stopped the network.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "node/peer_network.h"

namespace onebill::testing {

class MemoryNetwork : public std::enable_shared_from_this<MemoryNetwork> {
 public:
  static std::shared_ptr<MemoryNetwork> create() { return std::shared_ptr<MemoryNetwork>(new MemoryNetwork()); }

  // The factory to give node::Node::create.
  node::PeerNetworkFactory factory() {
    auto self = shared_from_this();
    return [self](node::PeerNetworkParams p) -> Result<std::unique_ptr<node::PeerNetwork>> {
      auto ep = std::make_shared<Endpoint>();
      ep->io = p.io;
      ep->fn = std::move(p.on_receive);
      for (const auto& peer : p.peers) {
        if (peer.id != p.self) ep->peers.insert(peer.id);
      }
      std::lock_guard lock(self->mu_);
      self->endpoints_[p.self] = ep;
      return std::unique_ptr<node::PeerNetwork>(new Link(self, p.self, ep));
    };
  }

  // Frames to and from `id` are dropped while it is isolated.
  void isolate(consensus::NodeId id, bool on) {
    std::lock_guard lock(mu_);
    if (on) {
      isolated_.insert(id);
    } else {
      isolated_.erase(id);
    }
  }
  std::uint64_t delivered() const { return delivered_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  MemoryNetwork() = default;

  struct Endpoint {
    boost::asio::io_context* io = nullptr;
    node::PeerNetwork::ReceiveFn fn;
    std::set<consensus::NodeId> peers;
    std::atomic<bool> stopped{false};
  };

  class Link final : public node::PeerNetwork {
   public:
    Link(std::shared_ptr<MemoryNetwork> net, consensus::NodeId self, std::shared_ptr<Endpoint> ep)
        : net_(std::move(net)), self_(self), ep_(std::move(ep)) {}
    ~Link() override { stop(); }
    Status send(consensus::NodeId to, consensus::Channel channel, consensus::Bytes payload) override {
      return net_->deliver(self_, to, channel, std::move(payload));
    }
    Status update_peers(std::vector<consensus::PeerInfo> peers) override {
      std::lock_guard lock(net_->mu_);
      ep_->peers.clear();
      for (const auto& p : peers) {
        if (p.id != self_) ep_->peers.insert(p.id);
      }
      return {};
    }
    void stop() override {
      std::lock_guard lock(net_->mu_);
      ep_->stopped = true;
      auto it = net_->endpoints_.find(self_);
      if (it != net_->endpoints_.end() && it->second == ep_) net_->endpoints_.erase(it);
    }
    consensus::TransportStats stats() const override {
      std::lock_guard lock(net_->mu_);
      consensus::TransportStats s;
      s.self = self_;
      for (auto id : ep_->peers) {
        consensus::PeerStats ps;
        ps.id = id;
        ps.address = "memory";
        ps.connected = net_->endpoints_.count(id) != 0 && net_->isolated_.count(id) == 0;
        ps.inbound_connected = ps.connected;
        s.peers.push_back(ps);
      }
      return s;
    }
    std::uint16_t listen_port() const override { return 0; }

   private:
    std::shared_ptr<MemoryNetwork> net_;
    consensus::NodeId self_;
    std::shared_ptr<Endpoint> ep_;
  };

  Status deliver(consensus::NodeId from, consensus::NodeId to, consensus::Channel channel, consensus::Bytes payload) {
    std::lock_guard lock(mu_);
    auto src = endpoints_.find(from);
    if (src == endpoints_.end() || src->second->stopped) return make_error("stopped", "the network is stopped");
    if (src->second->peers.count(to) == 0) return make_error("unknown_peer", "not in the peer table");
    auto dst = endpoints_.find(to);
    if (dst == endpoints_.end() || dst->second->peers.count(from) == 0 || isolated_.count(from) != 0 ||
        isolated_.count(to) != 0) {
      ++dropped_;
      return {};  // queued as far as the sender knows, and lost
    }
    ++delivered_;
    boost::asio::post(*dst->second->io, [ep = dst->second, from, channel, payload = std::move(payload)]() mutable {
      if (!ep->stopped) ep->fn(from, channel, std::move(payload));
    });
    return {};
  }

  mutable std::mutex mu_;
  std::map<consensus::NodeId, std::shared_ptr<Endpoint>> endpoints_;
  std::set<consensus::NodeId> isolated_;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace onebill::testing
