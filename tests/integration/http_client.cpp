#include "tests/integration/http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace onebill::faults {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string text_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_field(const nlohmann::json& j, const char* key, std::int64_t otherwise) {
  if (!j.is_object()) return otherwise;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : otherwise;
}

nlohmann::json array_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nlohmann::json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : nlohmann::json::array();
}

nlohmann::json HttpAnswer::json() const { return nlohmann::json::parse(body, nullptr, false); }

struct HttpClient::Conn {
  net::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(std::uint16_t port) : port_(port) {}
HttpClient::~HttpClient() = default;

HttpAnswer HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& bearer, std::chrono::milliseconds timeout) {
  bool reused = false;
  HttpAnswer a = once(method, target, body, bearer, timeout, reused);
  if (a.status == 0 && reused) a = once(method, target, body, bearer, timeout, reused);
  return a;
}

HttpAnswer HttpClient::once(const std::string& method, const std::string& target, const std::string& body,
                            const std::string& bearer, std::chrono::milliseconds timeout, bool& reused) {
  reused = conn_ != nullptr;
  try {
    if (!conn_) {
      conn_ = std::make_unique<Conn>();
      conn_->stream.expires_after(timeout);
      conn_->stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    }
    conn_->stream.expires_after(timeout);
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    req.keep_alive(true);
    if (!bearer.empty()) req.set(bhttp::field::authorization, "Bearer " + bearer);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(conn_->stream, req);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64U * 1024U * 1024U);
    bhttp::read(conn_->stream, conn_->buffer, parser);
    auto res = parser.release();
    HttpAnswer a{res.result_int(), std::move(res.body())};
    if (!res.keep_alive()) conn_.reset();
    return a;
  } catch (const std::exception&) {
    conn_.reset();
    return {};
  }
}

}  // namespace onebill::faults
