#include "fake_node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace onebill::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

FakeResponse FakeResponse::problem(unsigned status, const std::string& code, const std::string& detail) {
  FakeResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = nlohmann::json{
      {"type", "https://onebill.dev/problems/" + code},
      {"title", "Error"},
      {"status", status},
      {"code", code},
      {"detail",
       detail}}.dump();
  return r;
}

FakeNode::FakeNode(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("bind/listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeNode::~FakeNode() {
  stop_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  for (auto& t : workers_) t.join();
}

std::vector<FakeRequest> FakeNode::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeNode::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::size_t n = ++connections_;
    if (n > kMaxConnections) {
      ::close(fd);
      continue;
    }
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    workers_.emplace_back([this, fd, n] { serve(fd, n); });
  }
}

void FakeNode::serve(int fd, std::size_t number) {
  net::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.assign(tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  beast::flat_buffer buffer;
  while (!stop_) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) break;
    FakeRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    if (auto it = req.find(http::field::authorization); it != req.end()) r.authorization = std::string(it->value());
    r.connection = number;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(r);
    }
    FakeResponse answer = handler_(r);
    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    if (answer.hang_up) break;
    if (!answer.chunks.empty()) {
      http::response<http::empty_body> res{static_cast<http::status>(answer.status), 11};
      res.set(http::field::content_type, answer.content_type);
      for (const auto& [k, v] : answer.headers) res.set(k, v);
      res.keep_alive(false);
      http::response_serializer<http::empty_body> sr{res};
      http::write_header(socket, sr, ec);
      for (const auto& chunk : answer.chunks) {
        if (ec) break;
        if (answer.chunk_delay.count() > 0) std::this_thread::sleep_for(answer.chunk_delay);
        net::write(socket, net::buffer(chunk), ec);
      }
      break;
    }
    http::response<http::string_body> res{static_cast<http::status>(answer.status), 11};
    res.set(http::field::content_type, answer.content_type);
    for (const auto& [k, v] : answer.headers) res.set(k, v);
    res.body() = answer.body;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(socket, res, ec);
    if (ec || answer.close_after || !req.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace onebill::test
