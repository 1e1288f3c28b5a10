#include "node/config.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace onebill::node {
namespace {

using nlohmann::json;

Error bad(const std::string& what) { return make_error("bad_config", what); }

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : base / path;
}

Result<std::string> text_field(const json& j, const char* key, bool required) {
  if (!j.contains(key)) {
    if (required) return bad(std::string("missing field '") + key + "'");
    return std::string();
  }
  if (!j[key].is_string() || j[key].get<std::string>().empty()) {
    return bad(std::string("field '") + key + "' must be a non-empty string");
  }
  return j[key].get<std::string>();
}

Result<std::uint64_t> positive(const json& j, const char* key) {
  if (!j[key].is_number_unsigned() || j[key].get<std::uint64_t>() == 0) {
    return bad(std::string("limits.") + key + " must be a positive integer");
  }
  return j[key].get<std::uint64_t>();
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("'" + std::string(text) + "' is not host:port");
  HostPort hp;
  hp.host = std::string(text.substr(0, colon));
  auto digits = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || port > 65535) {
    return bad("'" + std::string(text) + "' has no valid port");
  }
  hp.port = static_cast<std::uint16_t>(port);
  return hp;
}

Result<NodeConfig> parse_config(std::string_view text, const std::filesystem::path& base_dir) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("the config file is not a JSON object");
  static const std::set<std::string> kKnown = {"node_id", "data_dir", "genesis", "tls_key", "org_key", "listen",
                                               "tokens", "log_level", "limits", "commit_wait_ms", "peers"};
  for (const auto& [k, v] : j.items()) {
    if (kKnown.count(k) == 0) return bad("unknown field '" + k + "'");
  }
  NodeConfig c;
  auto id = text_field(j, "node_id", true);
  if (!id) return id.error();
  c.node_id = *id;
  for (const char* key : {"data_dir", "genesis", "tls_key"}) {
    auto v = text_field(j, key, true);
    if (!v) return v.error();
    auto path = resolve(base_dir, *v);
    if (std::string_view(key) == "data_dir") c.data_dir = path;
    if (std::string_view(key) == "genesis") c.genesis = path;
    if (std::string_view(key) == "tls_key") c.tls_key = path;
  }
  if (j.contains("org_key")) {
    const auto& k = j["org_key"];
    if (!k.is_object() || !k.contains("id") || !k["id"].is_string() || !k.contains("path") || !k["path"].is_string()) {
      return bad("org_key must be {\"id\": \"org/name\", \"path\": \"key.pem\"}");
    }
    for (const auto& [f, v] : k.items()) {
      if (f != "id" && f != "path") return bad("unknown field 'org_key." + f + "'");
    }
    c.org_key_id = k["id"].get<std::string>();
    c.org_key = resolve(base_dir, k["path"].get<std::string>());
  }
  if (j.contains("listen")) {
    const auto& l = j["listen"];
    if (!l.is_object()) return bad("listen must be an object with api and/or raft");
    for (const auto& [k, v] : l.items()) {
      if (k != "api" && k != "raft") return bad("unknown field 'listen." + k + "'");
      if (!v.is_string()) return bad("listen." + k + " must be \"host:port\"");
      auto hp = parse_host_port(v.get<std::string>());
      if (!hp) return hp.error();
      (k == "api" ? c.listen_api : c.listen_raft) = *hp;
    }
  }
  if (j.contains("peers")) {
    const auto& p = j["peers"];
    if (!p.is_object()) return bad("peers must be an object {\"node id\": \"host:port\"}");
    for (const auto& [k, v] : p.items()) {
      if (k.empty()) return bad("peers: a node id must not be empty");
      if (k == c.node_id) return bad("peers." + k + " names this node itself");
      if (!v.is_string()) return bad("peers." + k + " must be \"host:port\"");
      auto hp = parse_host_port(v.get<std::string>());
      if (!hp) return bad("peers." + k + ": " + hp.error().message);
      if (hp->port == 0) return bad("peers." + k + ": port 0 cannot be dialled");
      c.peers.emplace(k, *hp);
    }
  }
  if (j.contains("tokens")) {
    auto tokens = TokenStore::from_json(j["tokens"]);
    if (!tokens) return tokens.error();
    c.tokens = std::move(*tokens);
  }
  if (j.contains("log_level")) {
    if (!j["log_level"].is_string()) return bad("log_level must be a string");
    auto level = parse_log_level(j["log_level"].get<std::string>());
    if (!level) return level.error();
    c.log_level = *level;
  }
  if (j.contains("commit_wait_ms")) {
    const auto& w = j["commit_wait_ms"];
    if (!w.is_number_unsigned() || w.get<std::uint64_t>() < 1 || w.get<std::uint64_t>() > 120000) {
      return bad("commit_wait_ms must be an integer in [1, 120000]");
    }
    c.commit_wait = std::chrono::milliseconds(w.get<std::uint64_t>());
  }
  if (j.contains("limits")) {
    const auto& l = j["limits"];
    if (!l.is_object()) return bad("limits must be an object");
    for (const auto& [k, v] : l.items()) {
      auto n = positive(l, k.c_str());
      if (!n) return n.error();
      if (k == "body_bytes") c.body_limit = *n;
      else if (k == "max_connections") c.max_connections = *n;
      else if (k == "max_connections_per_address") c.max_connections_per_address = *n;
      else if (k == "admission_queue") c.admission_queue = *n;
      else if (k == "bundles") c.bundles = *n;
      else if (k == "header_timeout_ms") c.header_timeout = std::chrono::milliseconds(*n);
      else if (k == "idle_timeout_ms") c.idle_timeout = std::chrono::milliseconds(*n);
      else return bad("unknown field 'limits." + k + "'");
    }
  }
  return c;
}

Result<NodeConfig> load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return bad("cannot read the config file " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), file.parent_path());
}

}  // namespace onebill::node
