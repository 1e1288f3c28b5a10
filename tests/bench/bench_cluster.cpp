#include "tests/bench/bench_cluster.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "crypto/hash.h"
#include "tests/support/testnet.h"

namespace onebill::bench {
namespace {

using nlohmann::json;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

json org_json(const std::string& id, const std::vector<std::string>& roles, const std::vector<crypto::PrivateKey>& keys,
              crypto::SigAlg alg) {
  json ks = json::array();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ks.push_back({{"id", id + "/k" + std::to_string(i)},
                  {"alg", std::string(crypto::sig_alg_name(alg))},
                  {"pub", keys[i].public_key().to_pem()}});
  }
  return {{"id", id}, {"name", id + " (benchmark)"}, {"roles", roles}, {"keys", ks}};
}

std::vector<crypto::PrivateKey> generate(int n, crypto::SigAlg alg) {
  std::vector<crypto::PrivateKey> out;
  for (int i = 0; i < n; ++i) out.push_back(std::move(*crypto::PrivateKey::generate(alg)));
  return out;
}

}  // namespace

BenchNet::BenchNet(NetOptions o) : opt_(std::move(o)) {
  std::filesystem::remove_all(opt_.dir);
  std::filesystem::create_directories(opt_.dir);
  rail_keys_ = generate(opt_.keys, opt_.alg);
  bank_keys_ = generate(opt_.keys, opt_.alg);
  auto audit_keys = generate(1, opt_.alg);
  json orgs = json::array({org_json("rail", {"mto", "rail_carrier", "warehouse"}, rail_keys_, opt_.alg),
                           org_json("bank", {"bank"}, bank_keys_, opt_.alg),
                           org_json("audit", {"auditor"}, audit_keys, opt_.alg)});
  json gnodes = json::array();
  for (int i = 0; i < opt_.nodes; ++i) {
    BenchNode n;
    n.id = "n" + std::to_string(i + 1);
    n.api_port = testing::free_port();
    n.raft_port = testing::free_port();
    n.dir = opt_.dir / n.id;
    std::filesystem::create_directories(n.dir);
    auto tls = crypto::PrivateKey::generate(crypto::SigAlg::ecdsa_p256);
    write_file(n.dir / "tls.pem", tls->to_pem());
    gnodes.push_back({{"id", n.id},
                      {"org", "rail"},
                      {"raft", "127.0.0.1:" + std::to_string(n.raft_port)},
                      {"api", "127.0.0.1:" + std::to_string(n.api_port)},
                      {"tls_pub", tls->public_key().to_pem()},
                      {"voter", true}});
    nodes_.push_back(n);
  }
  genesis_ = {{"network", "onebill-bench"}, {"hash", "sha256"}, {"orgs", orgs}, {"nodes", gnodes},
              {"params", opt_.params}};
  write_file(opt_.dir / "genesis.json", genesis_.dump(2));
  json tokens = json::array({{{"name", "bench"},
                              {"org", "audit"},
                              {"sha256", crypto::hex(crypto::hash(crypto::HashAlg::sha256, std::string(kBenchToken)))},
                              {"scopes", {"submit", "read"}}}});
  const char* level = std::getenv("ONEBILL_BENCH_LOG_LEVEL");  // e.g. "info" to see elections in node.log
  for (const auto& n : nodes_) {
    json config = {{"node_id", n.id},         {"data_dir", "data"},  {"genesis", (opt_.dir / "genesis.json").string()},
                   {"tls_key", "tls.pem"},    {"tokens", tokens},    {"log_level", level ? level : "warn"},
                   {"commit_wait_ms", 10000}, {"limits", {{"max_connections", 4096}, {"max_connections_per_address", 4096}}}};
    write_file(n.dir / "config.json", config.dump(2));
  }
}

BenchNet::~BenchNet() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) stop(i, SIGTERM);
}

void BenchNet::start(std::size_t i, const std::string& onebilld) {
  auto& n = nodes_[i];
  if (n.pid > 0) return;
  std::string config = (n.dir / "config.json").string();
  std::string log = (n.dir / "node.log").string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(onebilld.c_str(), onebilld.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  n.pid = pid;
}

void BenchNet::stop(std::size_t i, int sig) {
  auto& n = nodes_[i];
  if (n.pid <= 0) return;
  ::kill(n.pid, sig);
  int status = 0;
  for (int k = 0; k < 200; ++k) {
    if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
      n.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(n.pid, SIGKILL);
  ::waitpid(n.pid, &status, 0);
  n.pid = -1;
}

json node_status(std::uint16_t port) {
  auto a = http_request(port, "GET", "/v1/status", "", "", std::chrono::milliseconds(1000));
  json j = json::parse(a.body, nullptr, false);
  return a.status == 200 && j.is_object() ? j : json();
}

int BenchNet::wait_ready(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    int leader = -1;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!running(i)) continue;
      json j = node_status(nodes_[i].api_port);
      if (j.is_null() || j.value("leader", "").empty()) all = false;
      if (!j.is_null() && j.value("role", "") == "leader") leader = static_cast<int>(i);
    }
    if (all && leader >= 0) return leader;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

bool BenchNet::wait_height(std::int64_t height, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!running(i)) continue;
      json j = node_status(nodes_[i].api_port);
      if (j.is_null() || j.value("height", std::int64_t{0}) < height) all = false;
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  // Fields after the name start at 3 (state); utime and stime are fields 14 and 15.
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::stod(field);
    if (f == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long rss_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string name(field);
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0) return std::stol(line.substr(name.size()));
  }
  return -1;
}

HttpAnswer http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& bearer, std::chrono::milliseconds timeout) {
  try {
    net::io_context io;
    boost::beast::tcp_stream s(io);
    s.expires_after(timeout);
    s.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    if (!bearer.empty()) req.set(bhttp::field::authorization, "Bearer " + bearer);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(s, req);
    boost::beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    return {res.result_int(), res.body()};
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace onebill::bench
