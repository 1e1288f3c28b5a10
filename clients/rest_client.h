// A small synchronous HTTP/1.1 client for onebilld's REST API (ARCHITECTURE.md, "REST API (v1)").
//
// Plain TCP to http://host:port (the node's API has no TLS of its own; put a TLS proxy in front for remote use).
// One connection, kept alive between requests and reopened when the node has closed it. Every step has a deadline:
// resolving and connecting (connect_timeout), and each request from the first byte written to the last byte read
// (timeout). Internally it runs Boost.Beast's asynchronous operations on a private io_context until they finish,
// which is what gives a synchronous client real timeouts; no threads, no coroutines.
//
// Errors (onebill::Error) from request(): "bad_url", "unreachable" (resolve or connect failed), "timeout",
// "io_error" (the connection broke), "bad_response" (not HTTP), "too_large" (answer over max_body).
// Answers with any HTTP status are returned as they are; the *_json helpers turn non-2xx answers into the node's
// problem+json error (see problem_error).
// Thread-safety: a RestClient is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/result.h"

namespace onebill::clients {

struct NodeUrl {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 0;
  std::string text() const;  // http://host:port
};

// "http://HOST:PORT" with an optional trailing "/". No path, query, user info or https ("bad_url" says which).
// The port defaults to 80 when absent.
Result<NodeUrl> parse_node_url(std::string_view url);

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;       // names in lower case; repeated fields joined with ", "
  std::string header(std::string_view name) const;  // "" when absent; name in any case
  bool ok() const { return status >= 200 && status < 300; }
};

// The error an answer stands for. An application/problem+json body (RFC 9457) {"code", "detail", ...} gives
// Error{code, detail}; any other body gives Error{"http_<status>", the start of the body}. A Retry-After header is
// appended to the message.
Error problem_error(const HttpReply& reply);

struct RestOptions {
  std::string token;  // sent as "Authorization: Bearer <token>" when not empty
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_body = std::size_t{64} << 20;
  std::string user_agent = "onebill-cli/0.1";
};

enum class Method { get, post };

class RestClient {
 public:
  RestClient(NodeUrl url, RestOptions options);
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  const NodeUrl& url() const;
  RestOptions& options();

  // One request; the whole answer. `retry_stale` allows one retry on a fresh connection when a kept-alive
  // connection turns out to be closed before any byte of the answer arrived — only for requests that are safe to
  // repeat (GETs, and POSTs of signed envelopes, which the node answers idempotently by tx id).
  Result<HttpReply> request(Method method, std::string_view target, std::string_view body = {},
                            bool retry_stale = true);
  Result<HttpReply> get(std::string_view target) { return request(Method::get, target); }

  // GET → the JSON body of a 2xx answer; problem_error() of any other; "bad_response" if the body is not JSON.
  Result<nlohmann::json> get_json(std::string_view target);

  // GET of a long-lived answer (server-sent events). `on_data` receives the body's bytes as they arrive (in pieces
  // of any size) until it returns false (then: success), the node ends the answer (success), or no byte arrives
  // for `idle_timeout` ("timeout"). A non-2xx answer → problem_error(). The connection is closed afterwards.
  Status stream(std::string_view target, std::chrono::milliseconds idle_timeout,
                const std::function<bool(std::string_view)>& on_data);

  void close();
  std::size_t connections_opened() const;  // for tests: keep-alive reuses one connection

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encoding of a query value or a path segment (RFC 3986 unreserved characters stay as they are).
std::string url_encode(std::string_view text);
// path?k1=v1&k2=v2 with encoded values; pairs with an empty value are left out.
std::string with_query(std::string path, const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace onebill::clients
