#include "tests/integration/link_proxy.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <list>
#include <stdexcept>
#include <string>
#include <vector>

namespace onebill::faults {
namespace {

constexpr std::size_t kMaxPending = 1U << 20;  // bytes buffered per direction before reading stops

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// One proxied connection: `a` is the dialling node's side, `b` the target's (-1 while blackholed).
struct Pair {
  int a = -1, b = -1;
  bool connecting = false;
  std::string a2b, b2a;
  bool dead = false;
  void close_all() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
    a = b = -1;
    dead = true;
  }
};

// Reads what `from` has; false when it closed or failed. In blackhole mode the bytes are dropped.
bool pump_in(int from, std::string& into, bool discard) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n > 0) {
      if (!discard) into.append(buf, static_cast<std::size_t>(n));
      if (into.size() >= kMaxPending) return true;
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
}

// Writes what is pending to `to`; false when the connection failed.
bool pump_out(int to, std::string& from, std::atomic<std::uint64_t>& counter) {
  while (!from.empty()) {
    ssize_t n = ::send(to, from.data(), from.size(), MSG_NOSIGNAL);
    if (n > 0) {
      counter += static_cast<std::uint64_t>(n);
      from.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
  return true;
}

}  // namespace

LinkProxy::LinkProxy(std::uint16_t target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("proxy: socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("proxy: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  set_nonblocking(listen_fd_);
  thread_ = std::thread([this] { run(); });
}

LinkProxy::~LinkProxy() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void LinkProxy::run() {
  std::list<Pair> pairs;
  LinkMode applied = LinkMode::pass;
  std::vector<pollfd> fds;
  std::vector<Pair*> owners;  // per pollfd after the listener: the pair it belongs to
  while (!stop_) {
    LinkMode mode = mode_;
    if (mode != applied) {
      // drop closes everything; leaving blackhole closes the streams that lost bytes; entering it drops what
      // was in flight.
      for (auto& p : pairs) {
        if (mode == LinkMode::drop || applied == LinkMode::blackhole) p.close_all();
        p.a2b.clear();
        p.b2a.clear();
      }
      applied = mode;
    }
    pairs.remove_if([](const Pair& p) { return p.dead; });

    fds.clear();
    owners.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& p : pairs) {
      short ev_a = static_cast<short>((p.a2b.size() < kMaxPending ? POLLIN : 0) | (p.b2a.empty() ? 0 : POLLOUT));
      fds.push_back({p.a, ev_a, 0});
      owners.push_back(&p);
      if (p.b >= 0) {
        short ev_b = static_cast<short>(p.connecting ? POLLOUT
                                                     : ((p.b2a.size() < kMaxPending ? POLLIN : 0) |
                                                        (p.a2b.empty() ? 0 : POLLOUT)));
        fds.push_back({p.b, ev_b, 0});
        owners.push_back(&p);
      }
    }
    int n = ::poll(fds.data(), fds.size(), 50);
    if (n <= 0) continue;

    if (fds[0].revents & POLLIN) {
      for (;;) {
        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) break;
        ++accepted_;
        if (applied == LinkMode::drop) {
          ::close(c);
          continue;
        }
        Pair p;
        p.a = c;
        if (applied == LinkMode::pass) {
          p.b = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          sockaddr_in to = loopback(target_port_);
          int r = p.b < 0 ? -1 : ::connect(p.b, reinterpret_cast<sockaddr*>(&to), sizeof to);
          if (r != 0 && errno != EINPROGRESS) {
            p.close_all();
            continue;
          }
          p.connecting = r != 0;
        }
        pairs.push_back(std::move(p));
      }
    }
    bool discard = applied == LinkMode::blackhole;
    for (std::size_t i = 1; i < fds.size(); ++i) {
      Pair& p = *owners[i - 1];
      if (p.dead || fds[i].revents == 0) continue;
      bool ok = true;
      if (fds[i].fd == p.a) {
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ok = pump_in(p.a, p.a2b, discard);
        if (ok && (fds[i].revents & POLLOUT)) ok = pump_out(p.a, p.b2a, forwarded_);
      } else {
        if (p.connecting) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(p.b, SOL_SOCKET, SO_ERROR, &err, &len);
          ok = err == 0;
          p.connecting = false;
        } else if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          ok = pump_in(p.b, p.b2a, discard);
        }
        if (ok && !p.connecting && !p.a2b.empty()) ok = pump_out(p.b, p.a2b, forwarded_);
      }
      if (!ok) p.close_all();
    }
  }
  for (auto& p : pairs) p.close_all();
}

}  // namespace onebill::faults
