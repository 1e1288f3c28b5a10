#include "clients/rest_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cctype>

namespace onebill::clients {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error bad_url(std::string_view url, std::string_view why) {
  return make_error("bad_url", "'" + std::string(url) + "': " + std::string(why) + " (expected http://HOST:PORT)");
}

// The first line of a body, printable and short, for errors that are not problem+json.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (c == '\n' || c == '\r' || out.size() >= 200) break;
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

}  // namespace

std::string NodeUrl::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<NodeUrl> parse_node_url(std::string_view url) {
  std::string_view rest = url;
  const std::string scheme_end = "://";
  auto sep = rest.find(scheme_end);
  if (sep != std::string_view::npos) {
    std::string scheme = lower(rest.substr(0, sep));
    if (scheme == "https")
      return bad_url(url, "https is not supported: the node's API is plain HTTP (use a TLS proxy)");
    if (scheme != "http") return bad_url(url, "unknown scheme " + scheme);
    rest.remove_prefix(sep + scheme_end.size());
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && rest.substr(slash) != "/") return bad_url(url, "a path is not allowed");
  if (authority.find('@') != std::string_view::npos) return bad_url(url, "user information is not allowed");
  if (authority.find_first_of("?#") != std::string_view::npos) return bad_url(url, "a query is not allowed");
  NodeUrl out;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(url, "unclosed [ in the host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "expected :PORT after ]");
      port_text = after.substr(1);
      if (port_text.empty()) return bad_url(url, "empty port");
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad_url(url, "empty port");
    }
  }
  if (out.host.empty()) return bad_url(url, "no host");
  if (port_text.empty()) {
    out.port = 80;
  } else {
    if (port_text.size() > 5) return bad_url(url, "bad port");
    unsigned long p = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return bad_url(url, "bad port");
      p = p * 10 + static_cast<unsigned long>(c - '0');
    }
    if (p == 0 || p > 65535) return bad_url(url, "port out of range");
    out.port = static_cast<std::uint16_t>(p);
  }
  return out;
}

std::string HttpReply::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

Error problem_error(const HttpReply& reply) {
  Error e;
  auto j = nlohmann::json::parse(reply.body, nullptr, false);
  if (j.is_object() && j.contains("code") && j["code"].is_string() && !j["code"].get<std::string>().empty()) {
    e.code = j["code"].get<std::string>();
    if (j.contains("detail") && j["detail"].is_string()) {
      e.message = j["detail"].get<std::string>();
    } else if (j.contains("title") && j["title"].is_string()) {
      e.message = j["title"].get<std::string>();
    }
  } else {
    e.code = "http_" + std::to_string(reply.status);
    e.message = excerpt(reply.body);
    if (e.message.empty()) e.message = "HTTP " + std::to_string(reply.status) + " with no explanation";
  }
  if (std::string retry = reply.header("retry-after"); !retry.empty()) {
    e.message += (e.message.empty() ? "" : " ") + std::string("(retry after ") + excerpt(retry) + " s)";
  }
  return e;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string with_query(std::string path, const std::vector<std::pair<std::string, std::string>>& params) {
  char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    path += sep;
    path += url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return path;
}

// ---- the connection ----

struct RestClient::Impl {
  NodeUrl url;
  RestOptions opt;
  net::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::size_t opened = 0;

  // Starts one asynchronous operation and runs the io_context until it (and anything it started) completes.
  template <class Start>
  error_code run(Start&& start) {
    error_code result = net::error::would_block;
    start([&result](error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  void close() {
    if (stream) {
      error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->close();
      stream.reset();
    }
    buffer.clear();
  }

  Error timeout_error(std::chrono::milliseconds limit, std::string_view what) const {
    return make_error(
        "timeout", std::string(what) + " " + url.text() + " took longer than " + std::to_string(limit.count()) + " ms");
  }

  Status connect() {
    close();
    tcp::resolver resolver(io);
    net::steady_timer timer(io);
    tcp::resolver::results_type endpoints;
    error_code resolve_ec = net::error::would_block;
    bool timed_out = false;
    timer.expires_after(opt.connect_timeout);
    timer.async_wait([&](error_code ec) {
      if (!ec) {
        timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(url.host, std::to_string(url.port), [&](error_code ec, tcp::resolver::results_type results) {
      resolve_ec = ec;
      endpoints = std::move(results);
      timer.cancel();
    });
    io.restart();
    io.run();
    if (timed_out) return timeout_error(opt.connect_timeout, "resolving");
    if (resolve_ec) return make_error("unreachable", "cannot resolve " + url.host + ": " + resolve_ec.message());

    auto s = std::make_unique<beast::tcp_stream>(io);
    s->expires_after(opt.connect_timeout);
    error_code ec = run([&](auto handler) { s->async_connect(endpoints, std::move(handler)); });
    if (ec == beast::error::timeout) return timeout_error(opt.connect_timeout, "connecting to");
    if (ec) return make_error("unreachable", "cannot connect to " + url.text() + ": " + ec.message());
    error_code ignored;
    s->socket().set_option(tcp::no_delay(true), ignored);
    stream = std::move(s);
    buffer.clear();
    ++opened;
    return {};
  }

  http::request<http::string_body> make_request(Method method, std::string_view target, std::string_view body,
                                                std::string_view accept) const {
    http::request<http::string_body> req{method == Method::get ? http::verb::get : http::verb::post,
                                         std::string(target), 11};
    const bool v6 = url.host.find(':') != std::string::npos;
    req.set(http::field::host, (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port));
    req.set(http::field::user_agent, opt.user_agent);
    req.set(http::field::accept, std::string(accept));
    if (!opt.token.empty()) req.set(http::field::authorization, "Bearer " + opt.token);
    if (method == Method::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::string(body);
    }
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  Error transfer_error(error_code ec) const {
    if (ec == beast::error::timeout) return timeout_error(opt.timeout, "a request to");
    if (ec == http::error::body_limit) {
      return make_error("too_large",
                        "the answer from " + url.text() + " is over " + std::to_string(opt.max_body) + " bytes");
    }
    if (ec.category() == error_code(http::error::end_of_stream).category() && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return make_error("bad_response", url.text() + " did not answer in HTTP/1.1: " + ec.message());
    }
    return make_error("io_error", "the connection to " + url.text() + " broke: " + ec.message());
  }

  Result<HttpReply> request(Method method, std::string_view target, std::string_view body, bool retry_stale) {
    if (!retry_stale) close();  // never risk a request that must not repeat on a connection the node may have closed
    for (int attempt = 0;; ++attempt) {
      const bool reused = stream != nullptr;
      if (!stream) {
        if (Status s = connect(); !s) return s.error();
      }
      auto req = make_request(method, target, body, "application/json, application/problem+json");
      stream->expires_after(opt.timeout);
      error_code ec = run([&](auto handler) { http::async_write(*stream, req, std::move(handler)); });
      http::response_parser<http::string_body> parser;
      parser.body_limit(opt.max_body);
      if (!ec) ec = run([&](auto handler) { http::async_read(*stream, buffer, parser, std::move(handler)); });
      if (ec) {
        const bool stale = reused && !parser.got_some() &&
                           (ec == http::error::end_of_stream || ec == net::error::eof ||
                            ec == net::error::connection_reset || ec == net::error::broken_pipe);
        close();
        if (stale && attempt == 0) continue;  // the node closed an idle connection: say it again on a new one
        return transfer_error(ec);
      }
      auto res = parser.release();
      HttpReply out;
      out.status = res.result_int();
      out.body = std::move(res.body());
      for (const auto& field : res) {
        std::string name = lower(field.name_string());
        auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
        if (!inserted) it->second += ", " + std::string(field.value());
      }
      if (!res.keep_alive()) close();
      return out;
    }
  }

  Status stream_get(std::string_view target, std::chrono::milliseconds idle,
                    const std::function<bool(std::string_view)>& on_data) {
    if (Status s = connect(); !s) return s;
    auto req = make_request(Method::get, target, {}, "text/event-stream, application/problem+json");
    stream->expires_after(opt.timeout);
    error_code ec = run([&](auto handler) { http::async_write(*stream, req, std::move(handler)); });
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    if (!ec) ec = run([&](auto handler) { http::async_read_header(*stream, buffer, parser, std::move(handler)); });
    if (ec) {
      close();
      return transfer_error(ec);
    }
    const unsigned status = parser.get().result_int();
    const bool ok = status >= 200 && status < 300;
    std::string error_body;  // of a non-2xx answer, read whole (bounded) to explain it
    std::array<char, 16384> buf{};
    while (!parser.is_done()) {
      parser.get().body().data = buf.data();
      parser.get().body().size = buf.size();
      stream->expires_after(ok ? idle : opt.timeout);
      // read_some, not read: hand over what has arrived instead of waiting for the buffer to fill
      ec = run([&](auto handler) { http::async_read_some(*stream, buffer, parser, std::move(handler)); });
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t n = buf.size() - parser.get().body().size;
      if (n > 0) {
        if (ok) {
          if (!on_data(std::string_view(buf.data(), n))) break;
        } else if (error_body.size() < (1 << 20)) {
          error_body.append(buf.data(), n);
        }
      }
      if (ec) {
        close();
        if (ec == beast::error::timeout && ok) {
          return make_error("timeout", "no data from " + url.text() + " for " + std::to_string(idle.count()) + " ms");
        }
        if (ok && (ec == http::error::end_of_stream || ec == net::error::eof || ec == http::error::partial_message)) {
          return make_error("io_error", url.text() + " closed the stream");
        }
        return transfer_error(ec);
      }
    }
    close();
    if (!ok) {
      HttpReply r;
      r.status = status;
      r.body = std::move(error_body);
      for (const auto& field : parser.get()) r.headers[lower(field.name_string())] = std::string(field.value());
      return problem_error(r);
    }
    return {};
  }
};

RestClient::RestClient(NodeUrl url, RestOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(url);
  impl_->opt = std::move(options);
}

RestClient::~RestClient() {
  if (impl_) impl_->close();
}

const NodeUrl& RestClient::url() const { return impl_->url; }
RestOptions& RestClient::options() { return impl_->opt; }
void RestClient::close() { impl_->close(); }
std::size_t RestClient::connections_opened() const { return impl_->opened; }

Result<HttpReply> RestClient::request(Method method, std::string_view target, std::string_view body, bool retry_stale) {
  try {
    return impl_->request(method, target, body, retry_stale);
  } catch (const std::exception& e) {  // Asio/Beast report a few failures (e.g. out of memory) by throwing
    impl_->close();
    return make_error("io_error", std::string("request to ") + impl_->url.text() + " failed: " + e.what());
  }
}

Result<nlohmann::json> RestClient::get_json(std::string_view target) {
  auto r = get(target);
  if (!r) return r.error();
  if (!r->ok()) return problem_error(*r);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded())
    return make_error("bad_response",
                      impl_->url.text() + " answered " + std::string(target) + " with something that is not JSON");
  return j;
}

Status RestClient::stream(std::string_view target, std::chrono::milliseconds idle_timeout,
                          const std::function<bool(std::string_view)>& on_data) {
  try {
    return impl_->stream_get(target, idle_timeout, on_data);
  } catch (const std::exception& e) {
    impl_->close();
    return make_error("io_error", std::string("stream from ") + impl_->url.text() + " failed: " + e.what());
  }
}

}  // namespace onebill::clients
