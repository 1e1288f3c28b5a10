#include "tests/bench/bench_load.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cmath>

#include "crypto/hash.h"

namespace onebill::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

std::int64_t field_int(const std::string& body, std::string_view key) {
  auto at = body.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoll(body.c_str() + at + key.size(), nullptr, 10);
}

std::string field_str(const std::string& body, std::string_view key) {
  json j = json::parse(body, nullptr, false);
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

enum class Verdict { committed, retry, failed };

struct Outcome {
  Verdict verdict = Verdict::failed;
  std::uint32_t committed = 0;
  std::int64_t height = 0;
};

class Engine {
 public:
  Engine(const LoadOptions& o, const std::vector<std::vector<Entry>>& lanes) : o_(o), lanes_(lanes) {}

  LoadResult run() {
    t0_ = Clock::now() + std::chrono::milliseconds(50);
    warm_end_ = t0_ + o_.warmup;
    end_ = warm_end_ + o_.duration;
    r_.start_wall_s = std::chrono::duration<double>(t0_.time_since_epoch()).count();
    for (std::uint32_t lane = 0; lane < lanes_.size(); ++lane) {
      net::co_spawn(io_, lane_loop(lane), net::detached);
    }
    net::steady_timer stop(io_);
    stop.expires_at(end_);
    stop.async_wait([this](const boost::system::error_code&) { io_.stop(); });
    io_.run();
    r_.measured_s = std::chrono::duration<double>(o_.duration).count();
    std::sort(r_.latency_ms.begin(), r_.latency_ms.end());
    return std::move(r_);
  }

 private:
  double since_t0(Clock::time_point t) const { return std::chrono::duration<double>(t - t0_).count(); }

  std::string request(std::uint32_t lane, std::size_t first, std::size_t count) const {
    const auto& entries = lanes_[lane];
    std::string target, body;
    if (o_.kind == TargetKind::etcd) {
      target = "/v3/kv/put";
      std::string key = "onebill-bench/" + std::to_string(lane) + "/" + std::to_string(first);
      body = R"({"key":")" + crypto::base64_encode(crypto::as_bytes(key)) + R"(","value":")" +
             crypto::base64_encode(crypto::as_bytes(entries[first].envelope)) + "\"}";
    } else if (o_.batch > 1) {
      target = "/v1/transactions/batch?wait=commit";
      body = R"({"entries":[)";
      for (std::size_t i = first; i < first + count; ++i) {
        if (i > first) body += ',';
        body += entries[i].envelope;
      }
      body += "]}";
    } else {
      target = "/v1/transactions?wait=commit&timeout_ms=" + std::to_string(o_.commit_timeout_ms);
      body = entries[first].envelope;
    }
    std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    if (o_.kind == TargetKind::onebill) req += std::string("Authorization: Bearer ") + kBenchToken + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    return req + body;
  }

  Outcome classify(unsigned status, const std::string& body) {
    Outcome out;
    if (status == 503 || status == 502 || status == 504 || status == 202) {
      out.verdict = Verdict::retry;
      return out;
    }
    if (status != 200) {
      ++r_.unexpected["http " + std::to_string(status) + " " + field_str(body, "code")];
      return out;
    }
    if (o_.kind == TargetKind::etcd) {
      out.verdict = Verdict::committed;
      out.committed = 1;
      return out;
    }
    if (o_.batch <= 1) {
      if (body.find(R"("status":"accepted")") != std::string::npos) {
        out.verdict = Verdict::committed;
        out.committed = 1;
        out.height = field_int(body, R"("height":)");
      } else {
        ++r_.unexpected["rejected:" + field_str(body, "reason")];
      }
      return out;
    }
    json j = json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("results") || !j["results"].is_array()) {
      ++r_.unexpected["batch: unreadable answer"];
      return out;
    }
    for (const auto& e : j["results"]) {
      std::string st = e.value("status", "");
      std::string code = e.value("code", "");
      if (st == "pending" || code == "no_leader" || code == "overloaded" || code == "not_ready") {
        ++r_.resent["batch entry " + (st == "pending" ? st : code)];
        out.verdict = Verdict::retry;  // the whole batch again: recorded entries answer at once
        return out;
      }
    }
    for (const auto& e : j["results"]) {
      std::string st = e.value("status", "");
      if (st == "accepted") {
        ++out.committed;
        if (out.height == 0) out.height = e.value("height", std::int64_t{0});
      } else {
        ++r_.unexpected[st == "rejected" ? "rejected:" + e.value("reason", "") : "error:" + e.value("code", "")];
      }
    }
    out.verdict = Verdict::committed;
    return out;
  }

  net::awaitable<void> pause(std::chrono::milliseconds d) {
    net::steady_timer t(io_);
    t.expires_after(d);
    co_await t.async_wait(kNoThrow);
  }

  net::awaitable<void> lane_loop(std::uint32_t lane) {
    const auto& entries = lanes_[lane];
    const std::size_t lanes = lanes_.size();
    const std::size_t per_request = static_cast<std::size_t>(std::max(1, o_.batch));
    std::size_t port_i = (o_.key_slots > 0 ? lane % static_cast<std::uint32_t>(o_.key_slots) : lane) % o_.ports.size();
    beast::tcp_stream s(io_);
    bool connected = false;
    beast::flat_buffer buf;
    std::size_t k = 0;
    std::size_t begin = lane < o_.start.size() ? o_.start[lane] : 0;
    for (std::size_t first = begin; first < entries.size(); first += per_request, ++k) {
      Clock::time_point due = Clock::now();
      if (o_.rate > 0) {
        double at = static_cast<double>(k * lanes + lane) * static_cast<double>(per_request) / o_.rate;
        due = t0_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at));
        if (due >= end_) co_return;
        net::steady_timer t(io_);
        t.expires_at(due);
        co_await t.async_wait(kNoThrow);
      }
      if (Clock::now() >= end_) co_return;
      std::size_t count = std::min(per_request, entries.size() - first);
      std::string req = request(lane, first, count);
      for (bool done = false; !done;) {
        if (Clock::now() >= end_) co_return;
        if (!connected) {
          s.expires_after(std::chrono::seconds(2));
          auto ep = net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), o_.ports[port_i]);
          auto [ec] = co_await s.async_connect(ep, kNoThrow);
          if (ec) {
            port_i = (port_i + 1) % o_.ports.size();
            ++r_.resent["connect failed"];
            co_await pause(std::chrono::milliseconds(20));
            continue;
          }
          connected = true;
          buf.clear();
        }
        s.expires_after(std::chrono::milliseconds(o_.commit_timeout_ms + 5000));
        auto [wec, wn] = co_await net::async_write(s, net::buffer(req), kNoThrow);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64u << 20);
        boost::system::error_code rec;
        if (!wec) std::tie(rec, wn) = co_await bhttp::async_read(s, buf, parser, kNoThrow);
        if (wec || rec) {
          s.socket().close();
          connected = false;
          port_i = (port_i + 1) % o_.ports.size();
          ++r_.resent["connection lost"];
          co_await pause(std::chrono::milliseconds(20));
          continue;
        }
        auto& res = parser.get();
        if (!res.keep_alive()) {
          s.socket().close();
          connected = false;
        }
        Outcome out = classify(res.result_int(), res.body());
        if (out.verdict == Verdict::retry) {
          if (res.result_int() != 200) {  // a batch counted its cause in classify()
            std::string code = res.result_int() == 202 ? "" : " " + field_str(res.body(), "code");
            ++r_.resent[std::to_string(res.result_int()) + code];
          }
          if (res.result_int() != 202) co_await pause(std::chrono::milliseconds(20));
          continue;
        }
        done = true;
        if (out.verdict != Verdict::committed || out.committed == 0) break;
        auto now = Clock::now();
        Completion c{since_t0(due), since_t0(now), lane, static_cast<std::uint32_t>(first),
                     static_cast<std::uint32_t>(count), static_cast<std::uint16_t>(port_i), out.height};
        r_.completions.push_back(c);
        if (due >= warm_end_ && now <= end_) {
          r_.committed += out.committed;
          r_.latency_ms.push_back(std::chrono::duration<double, std::milli>(now - due).count());
        }
      }
    }
    r_.ran_out = true;
  }

  const LoadOptions& o_;
  const std::vector<std::vector<Entry>>& lanes_;
  net::io_context io_{1};
  Clock::time_point t0_, warm_end_, end_;
  LoadResult r_;
};

}  // namespace

LoadResult run_load(const LoadOptions& o, const std::vector<std::vector<Entry>>& lanes) {
  Engine e(o, lanes);
  return e.run();
}

double steady_seconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  auto i = static_cast<std::size_t>(std::floor(rank));
  auto j = std::min(i + 1, sorted.size() - 1);
  return sorted[i] + (sorted[j] - sorted[i]) * (rank - static_cast<double>(i));
}

}  // namespace onebill::bench
