// HttpClient: a blocking HTTP/1.1 client for one node's REST API on 127.0.0.1, keeping its connection alive
// between requests (the fault harness sends thousands of requests per run; a connection each would fill the
// ephemeral port range with TIME_WAIT sockets over a hundred runs).
//
// Every request has a deadline. A request that fails on a reused connection (the node was killed and restarted,
// the connection went stale) is sent once more on a new connection: every request the harness makes is safe to
// repeat (reads, and submissions of the same signed entry). Not thread-safe: one client per thread and node.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace onebill::faults {

struct HttpAnswer {
  unsigned status = 0;  // 0: no answer (refused, reset, timed out)
  std::string body;
  nlohmann::json json() const;  // the body parsed; discarded (is_discarded()) when it is not JSON
};

// Fields of an answer, read without trusting its shape: "" (or `otherwise`) when absent or of another type.
std::string text_field(const nlohmann::json& j, const char* key);
std::int64_t int_field(const nlohmann::json& j, const char* key, std::int64_t otherwise = -1);
nlohmann::json array_field(const nlohmann::json& j, const char* key);  // [] unless an array

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `bearer` is the token (empty: none); `body` is sent as application/json when not empty.
  HttpAnswer request(const std::string& method, const std::string& target, const std::string& body,
                     const std::string& bearer, std::chrono::milliseconds timeout);
  HttpAnswer get(const std::string& target, const std::string& bearer,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    return request("GET", target, "", bearer, timeout);
  }

 private:
  struct Conn;
  HttpAnswer once(const std::string& method, const std::string& target, const std::string& body,
                  const std::string& bearer, std::chrono::milliseconds timeout, bool& reused);
  std::uint16_t port_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace onebill::faults
