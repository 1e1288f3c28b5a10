// LinkProxy: a fault-injecting TCP proxy for one direction of one peer link, A → B.
//
// onebilld sends its Raft, forward and attestation messages to a peer only on the connection it dialled to that
// peer (consensus/transport/transport.h), and it dials the address its config's `peers` names. The harness gives
// node A, for each peer B, the address of a LinkProxy of its own that forwards to B's real peer port. Everything A
// says to B then passes this proxy (B's answers on that connection are only the TLS handshake and keepalives), so
// cutting the proxy cuts the messages A → B and nothing else: a link can be cut in one direction or both.
//
// Modes:
//   pass       bytes are forwarded both ways (connections to a node that is down are refused, as without a proxy)
//   drop       every connection is closed at once and new ones are accepted and closed: "connection refused"
//   blackhole  connections stay open but every byte is read and thrown away, both ways, like a link that loses
//              every packet; back to `pass`, the connections that lost bytes are closed (their TLS streams are
//              broken) and the nodes reconnect
//
// One thread per proxy polls its sockets every 50 ms at most, so a mode change takes effect within 50 ms and the
// destructor returns within 50 ms. Listens on 127.0.0.1 only, on a port the kernel picks. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace onebill::faults {

enum class LinkMode { pass, drop, blackhole };

class LinkProxy {
 public:
  // Throws std::runtime_error when it cannot listen.
  explicit LinkProxy(std::uint16_t target_port);
  ~LinkProxy();
  LinkProxy(const LinkProxy&) = delete;
  LinkProxy& operator=(const LinkProxy&) = delete;

  std::uint16_t port() const { return port_; }
  void set_mode(LinkMode mode) { mode_ = mode; }
  LinkMode mode() const { return mode_; }
  std::uint64_t accepted() const { return accepted_; }
  std::uint64_t forwarded_bytes() const { return forwarded_; }

 private:
  void run();
  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<LinkMode> mode_{LinkMode::pass};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> forwarded_{0};
  std::thread thread_;
};

}  // namespace onebill::faults
