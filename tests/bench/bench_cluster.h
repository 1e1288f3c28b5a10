// The network onebill-bench measures: a genesis written for the benchmark (organisations with the roles the entry
// mix needs, one signing key pair per key slot), one config and data dir per node, and the onebilld processes
// themselves — started, killed and restarted by pid, with their CPU time and RSS read from /proc.
//
// Organisations: "rail" (mto, rail_carrier, warehouse: issues bills, reports their legs, runs the warehouse) with
// keys rail/k0..k{K-1}; "bank" (bank) with keys bank/k0..; "audit" (auditor) for the read-back check. Every node
// belongs to "rail". Each node's config has one token, "bench-token", of "audit" with submit and read scopes.
// Not thread-safe; owned by main().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keys.h"

namespace onebill::bench {

inline constexpr const char* kBenchToken = "bench-token";

struct NetOptions {
  std::filesystem::path dir;  // created fresh; removed by the caller
  int nodes = 3;
  int keys = 16;  // key slots: rail/k{i} and bank/k{i}
  crypto::SigAlg alg = crypto::SigAlg::ecdsa_p256;
  nlohmann::json params = nlohmann::json::object();  // genesis params; node defaults where absent
};

struct BenchNode {
  std::string id;
  std::uint16_t api_port = 0;
  std::uint16_t raft_port = 0;
  std::filesystem::path dir;
  pid_t pid = -1;
};

class BenchNet {
 public:
  explicit BenchNet(NetOptions o);
  BenchNet(const BenchNet&) = delete;
  BenchNet& operator=(const BenchNet&) = delete;
  ~BenchNet();  // SIGTERM, then SIGKILL after 10 s, to every node still running

  const nlohmann::json& genesis() const { return genesis_; }
  const crypto::PrivateKey& rail_key(int slot) const { return rail_keys_.at(static_cast<std::size_t>(slot)); }
  const crypto::PrivateKey& bank_key(int slot) const { return bank_keys_.at(static_cast<std::size_t>(slot)); }
  std::vector<BenchNode>& nodes() { return nodes_; }

  // Starts node i (fork + exec of `onebilld`, output to its node.log).
  void start(std::size_t i, const std::string& onebilld);
  void stop(std::size_t i, int sig);  // waits for it to exit (SIGKILL after 10 s)
  bool running(std::size_t i) const { return nodes_[i].pid > 0; }
  // Waits until every running node answers /v1/status with a leader known; returns the leader's index, or -1
  // after `timeout`.
  int wait_ready(std::chrono::milliseconds timeout);
  // Waits until every running node has applied `height`; false after `timeout`.
  bool wait_height(std::int64_t height, std::chrono::milliseconds timeout);

 private:
  NetOptions opt_;
  nlohmann::json genesis_;
  std::vector<crypto::PrivateKey> rail_keys_, bank_keys_;
  std::vector<BenchNode> nodes_;
};

// CPU time (user + system) of a process in seconds, and its resident set in KiB; -1 when it cannot be read.
// `field` of /proc/{pid}/status: "VmRSS:" (all of it) or "RssAnon:" (its own memory, without the file pages it
// maps — LevelDB maps its table files, so reading the whole ledger, as a snapshot does, shows in VmRSS).
double cpu_seconds(pid_t pid);
long rss_kib(pid_t pid, const char* field = "VmRSS:");

// One blocking HTTP/1.1 request to 127.0.0.1:port with a deadline: {status (0 if no answer), body}.
struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};
HttpAnswer http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = "", const std::string& bearer = "",
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
// A onebill node's GET /v1/status, parsed; null when it does not answer 200 with a JSON object (1 s deadline).
nlohmann::json node_status(std::uint16_t port);

}  // namespace onebill::bench
