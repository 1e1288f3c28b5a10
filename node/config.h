// The node's configuration file (JSON), documented field by field in docs/operations.md.
//
// Relative paths in the file are relative to the file's own folder. Unknown fields are errors, so a typo never
// silently falls back to a default.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "crypto/result.h"
#include "node/auth.h"
#include "node/log.h"

namespace onebill::node {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};
// "127.0.0.1:7101" → {host, port}; "bad_config" otherwise.
Result<HostPort> parse_host_port(std::string_view text);

struct NodeConfig {
  std::string node_id;
  std::filesystem::path data_dir;
  std::filesystem::path genesis;
  std::filesystem::path tls_key;               // PEM private key whose public half genesis lists as tls_pub
  std::optional<std::string> org_key_id;       // key id (org/name) used to sign submissions for `sign` tokens
  std::optional<std::filesystem::path> org_key;
  std::optional<HostPort> listen_api;          // default: this node's `api` in genesis
  std::optional<HostPort> listen_raft;         // default: this node's `raft` in genesis
  // Dial addresses of peers, by node id, used instead of the `raft` address the membership (genesis or node.add)
  // lists: for NAT or port mapping, where a peer is reached at another address than the one it announces. The
  // host may be a name (resolved at each connect). Ids not in the membership are allowed and unused until a
  // node.add makes them members; this node's own id is refused.
  std::map<std::string, HostPort> peers;
  TokenStore tokens;
  LogLevel log_level = LogLevel::info;

  std::size_t body_limit = 1 << 20;
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_address = 256;
  std::size_t admission_queue = 20000;         // entries waiting for a block; beyond it: 503 + Retry-After
  std::size_t bundles = 2;                     // audit bundles being built or waiting; beyond: 503 + Retry-After
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds commit_wait{10'000}; // default ?wait=commit timeout
};

Result<NodeConfig> load_config(const std::filesystem::path& file);
Result<NodeConfig> parse_config(std::string_view text, const std::filesystem::path& base_dir);

}  // namespace onebill::node
