// A tiny HTTP/1.1 server standing in for onebilld in client tests: 127.0.0.1, port 0 (the kernel picks), one
// thread accepting and one per connection, each bounded (at most kMaxConnections, reads time out after 2 s), so a
// broken test cannot hang the suite. Handlers are plain functions from request to canned response.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace onebill::test {

struct FakeRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;
  std::size_t connection = 0;  // 1-based number of the connection it came on
};

struct FakeResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds delay{0};  // before answering
  bool close_after = false;            // close the connection after answering (while saying keep-alive)
  bool hang_up = false;                // close without answering
  // When not empty: a streamed answer (no length; the connection closes at the end), one write per chunk.
  std::vector<std::string> chunks;
  std::chrono::milliseconds chunk_delay{0};

  static FakeResponse json(unsigned status, std::string body) {
    FakeResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static FakeResponse problem(unsigned status, const std::string& code, const std::string& detail);
};

class FakeNode {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  static constexpr std::size_t kMaxConnections = 64;

  explicit FakeNode(Handler handler);
  ~FakeNode();
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<FakeRequest> requests() const;
  std::size_t connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd, std::size_t number);

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace onebill::test
