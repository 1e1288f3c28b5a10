#include "clients/genesis_builder.h"

#include <algorithm>

#include "clients/files.h"
#include "contracts/identifiers.h"
#include "contracts/membership.h"
#include "crypto/canonical_json.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace onebill::clients::genesis {
namespace {

using nlohmann::json;

Error bad_argument(std::string_view arg, std::string_view message) {
  return make_error("bad_argument", std::string(arg) + ": " + std::string(message));
}

const char* const kRoleList =
    "auditor, bank, customs, mto, port, rail_carrier, road_carrier, sea_carrier, trader, warehouse";

// host:port with a port of 1..65535 and a host of letters, digits, '.', '-', or a bracketed IPv6 address.
bool is_endpoint(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size() || s.size() > 255) return false;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (port.size() > 5) return false;
  long value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return false;
  if (host.front() == '[') return host.back() == ']' && host.size() > 2;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

Status check_shape(const json& g) {
  if (!g.is_object()) return make_error("bad_genesis", "a genesis is a JSON object");
  for (const char* list : {"orgs", "nodes"}) {
    if (!g.contains(list) || !g[list].is_array()) {
      return make_error("bad_genesis", std::string(list) + ": expected an array");
    }
  }
  return {};
}

const json* find_by_id(const json& list, std::string_view id) {
  for (const auto& item : list) {
    if (item.is_object() && item.contains("id") && item["id"] == id) return &item;
  }
  return nullptr;
}

Status check_params(const Params& p) {
  if (p.block_max_entries && (*p.block_max_entries < 1 || *p.block_max_entries > 100000)) {
    return bad_argument("block-max-entries", "expected 1 to 100000");
  }
  if (p.block_max_delay_ms && (*p.block_max_delay_ms < 0 || *p.block_max_delay_ms > 10000)) {
    return bad_argument("block-max-delay-ms", "expected 0 to 10000");
  }
  if (p.election_timeout_ms) {
    auto [lo, hi] = *p.election_timeout_ms;
    if (lo < 50 || hi > 60000 || lo > hi)
      return bad_argument("election-timeout-ms", "expected LO,HI with 50 <= LO <= HI <= 60000");
  }
  return {};
}

}  // namespace

Params default_params() {
  Params p;
  p.block_max_entries = 2000;
  p.block_max_delay_ms = 50;
  p.election_timeout_ms = std::make_pair(std::int64_t{300}, std::int64_t{600});
  return p;
}

Result<json> init(const std::string& network, const std::string& hash) {
  if (network.empty() || network.size() > 128) return bad_argument("network", "expected 1 to 128 characters");
  for (char c : network) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return bad_argument("network", "control characters are not allowed");
  }
  if (!crypto::parse_hash_alg(hash)) return bad_argument("hash", "expected sha256 or sm3, not " + hash);
  json g = {{"network", network},
            {"hash", hash},
            {"orgs", json::array()},
            {"nodes", json::array()},
            {"params", json::object()}};
  if (Status s = set_params(g, default_params()); !s) return s.error();
  return g;
}

// Each step checks its arguments alone first (usage errors), then that the file it edits is a valid genesis (so
// every field read below has its type), then the arguments against the file, then the result.
Status add_org(json& g, const OrgSpec& org) {
  if (!contracts::is_org_id(org.id))
    return bad_argument("id", "'" + org.id + "' is not an organisation id ([a-z0-9][a-z0-9_-]{0,31})");
  if (org.name.empty() || org.name.size() > 256) return bad_argument("name", "expected 1 to 256 characters");
  if (org.roles.empty()) return bad_argument("roles", "name at least one role (" + std::string(kRoleList) + ")");
  std::vector<std::string> roles = org.roles;
  for (const auto& r : roles) {
    if (!contracts::is_role(r)) return bad_argument("roles", "unknown role '" + r + "' (known: " + kRoleList + ")");
  }
  std::sort(roles.begin(), roles.end());
  if (std::adjacent_find(roles.begin(), roles.end()) != roles.end())
    return bad_argument("roles", "a role is listed twice");
  for (const auto& l : org.locations) {
    if (!contracts::is_locode(l)) return bad_argument("locations", "'" + l + "' is not a UN/LOCODE (e.g. CNTSN)");
  }
  if (org.key_id.has_value() != org.pub_pem.has_value()) {
    return bad_argument(org.key_id ? "pub" : "key-id", "--key-id and --pub go together");
  }
  std::optional<crypto::PublicKey> pub;
  if (org.key_id) {
    if (!contracts::is_key_id(*org.key_id) || contracts::key_org(*org.key_id) != org.id) {
      return bad_argument("key-id",
                          "'" + *org.key_id + "' must be " + org.id + "/NAME (NAME: [A-Za-z0-9][A-Za-z0-9._-]{0,63})");
    }
    auto parsed = crypto::PublicKey::from_pem_any(*org.pub_pem);
    if (!parsed) return bad_argument("pub", "not a usable public key: " + parsed.error().message);
    pub = std::move(*parsed);
  }

  if (Status s = validate(g); !s) return s;
  if (find_by_id(g["orgs"], org.id) != nullptr)
    return bad_argument("id", "organisation " + org.id + " is already in the genesis");
  json keys = json::array();
  if (pub) {
    for (const auto& other : g["orgs"]) {
      for (const auto& k : other.value("keys", json::array())) {
        if (k.value("id", "") == *org.key_id) return bad_argument("key-id", *org.key_id + " is already in the genesis");
        if (k.value("pub", "") == pub->to_pem()) {
          return bad_argument("pub", "this public key is already in the genesis as " + k.value("id", std::string()));
        }
      }
    }
    keys.push_back(
        {{"id", *org.key_id}, {"alg", std::string(crypto::sig_alg_name(pub->alg()))}, {"pub", pub->to_pem()}});
  }
  json entry = {{"id", org.id}, {"name", org.name}, {"roles", roles}, {"keys", keys}};
  if (!org.locations.empty()) entry["locations"] = org.locations;
  json next = g;
  next["orgs"].push_back(std::move(entry));
  if (Status s = validate(next); !s) return s;
  g = std::move(next);
  return {};
}

Status add_node(json& g, const NodeSpec& node) {
  if (!contracts::is_org_id(node.id))
    return bad_argument("id", "'" + node.id + "' is not a node id ([a-z0-9][a-z0-9_-]{0,31})");
  if (!contracts::is_org_id(node.org)) return bad_argument("org", "'" + node.org + "' is not an organisation id");
  if (!is_endpoint(node.raft)) return bad_argument("raft", "'" + node.raft + "' is not HOST:PORT");
  if (!is_endpoint(node.api)) return bad_argument("api", "'" + node.api + "' is not HOST:PORT");
  auto pub = crypto::PublicKey::from_pem_any(node.tls_pub_pem);
  if (!pub) return bad_argument("tls-pub", "not a usable public key: " + pub.error().message);

  if (Status s = validate(g); !s) return s;
  if (find_by_id(g["orgs"], node.org) == nullptr)
    return bad_argument("org", "no organisation " + node.org + " in the genesis (add-org first)");
  if (find_by_id(g["nodes"], node.id) != nullptr)
    return bad_argument("id", "node " + node.id + " is already in the genesis");
  for (const auto& other : g["nodes"]) {
    const std::string other_id = other.value("id", std::string());
    if (other.value("raft", "") == node.raft)
      return bad_argument("raft", node.raft + " is already used by node " + other_id);
    if (other.value("api", "") == node.api)
      return bad_argument("api", node.api + " is already used by node " + other_id);
    if (other.value("tls_pub", "") == pub->to_pem())
      return bad_argument("tls-pub", "this key is already node " + other_id + "'s");
  }
  json next = g;
  next["nodes"].push_back({{"id", node.id},
                           {"org", node.org},
                           {"raft", node.raft},
                           {"api", node.api},
                           {"tls_pub", pub->to_pem()},
                           {"voter", node.voter}});
  if (Status s = validate(next); !s) return s;
  g = std::move(next);
  return {};
}

Status set_params(json& g, const Params& p) {
  if (Status s = check_params(p); !s) return s;
  if (Status s = validate(g); !s) return s;
  json next = g;
  if (!next.contains("params") || next["params"].is_null()) next["params"] = json::object();
  if (!next["params"].is_object()) return make_error("bad_genesis", "params: expected an object");
  json& params = next["params"];
  if (p.block_max_entries) params["block_max_entries"] = *p.block_max_entries;
  if (p.block_max_delay_ms) params["block_max_delay_ms"] = *p.block_max_delay_ms;
  if (p.election_timeout_ms)
    params["election_timeout_ms"] = {p.election_timeout_ms->first, p.election_timeout_ms->second};
  if (Status s = validate(next); !s) return s;
  g = std::move(next);
  return {};
}

Status validate(const json& g) {
  if (Status s = check_shape(g); !s) return s;
  if (Status s = crypto::check_subset(g); !s) return make_error("bad_genesis", s.error().code + ": " + s.error().message);
  if (g.contains("params")) {
    // The node reads these at start (node/node.cpp) and refuses values outside the same ranges.
    const json& p = g["params"];
    if (!p.is_object()) return make_error("bad_genesis", "params: expected an object");
    Params read;
    for (const char* k : {"block_max_entries", "block_max_delay_ms"}) {
      if (!p.contains(k)) continue;
      if (!p[k].is_number_integer()) return make_error("bad_genesis", std::string("params.") + k + ": expected an integer");
      (std::string_view(k) == "block_max_entries" ? read.block_max_entries : read.block_max_delay_ms) =
          p[k].get<std::int64_t>();
    }
    if (p.contains("election_timeout_ms")) {
      const json& e = p["election_timeout_ms"];
      if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer()) {
        return make_error("bad_genesis", "params.election_timeout_ms: expected [LO, HI]");
      }
      read.election_timeout_ms = std::make_pair(e[0].get<std::int64_t>(), e[1].get<std::int64_t>());
    }
    if (Status s = check_params(read); !s) {
      std::string message = s.error().message;  // "block-max-delay-ms: ..." → "params.block_max_delay_ms: ..."
      std::replace(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(message.find(':')), '-', '_');
      return make_error("bad_genesis", "params." + message);
    }
  }
  json candidate = g;
  if (g["orgs"].empty()) {
    // A draft: check everything else with a stand-in organisation (see the header).
    candidate["orgs"].push_back(
        {{"id", "draft"}, {"name", "draft"}, {"roles", json::array()}, {"keys", json::array()}});
  }
  auto m = contracts::Membership::from_genesis_json(candidate);
  if (!m) return make_error("bad_genesis", m.error().message);
  return {};
}

Result<std::string> genesis_hash(const json& g) {
  auto alg = crypto::parse_hash_alg(g.is_object() ? g.value("hash", "") : "");
  if (!alg) return make_error("bad_genesis", "hash: expected sha256 or sm3");
  auto canonical = crypto::canonicalize(g);
  if (!canonical) return canonical.error();
  return crypto::hex(crypto::hash(*alg, *canonical));
}

Result<json> load(const std::filesystem::path& file) {
  auto text = files::read(file, 16 << 20);
  if (!text) return text.error();
  auto g = crypto::parse_strict(*text, crypto::JsonLimits{16 << 20, 32});
  if (!g) return make_error("bad_genesis", file.string() + ": " + g.error().code + ": " + g.error().message);
  if (Status s = check_shape(*g); !s) return make_error("bad_genesis", file.string() + ": " + s.error().message);
  return g;
}

namespace {

// The order of ARCHITECTURE.md's example, so a person reads the file top-down; other keys follow, sorted.
nlohmann::ordered_json in_reading_order(const json& v) {
  static constexpr std::string_view kOrder[] = {"network",
                                                "hash",
                                                "orgs",
                                                "nodes",
                                                "params",
                                                "id",
                                                "name",
                                                "org",
                                                "roles",
                                                "locations",
                                                "keys",
                                                "alg",
                                                "pub",
                                                "raft",
                                                "api",
                                                "tls_pub",
                                                "voter",
                                                "block_max_entries",
                                                "block_max_delay_ms",
                                                "election_timeout_ms"};
  if (v.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& item : v) out.push_back(in_reading_order(item));
    return out;
  }
  if (!v.is_object()) return nlohmann::ordered_json(v);
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (std::string_view k : kOrder) {
    if (auto it = v.find(k); it != v.end()) out[std::string(k)] = in_reading_order(*it);
  }
  for (const auto& [k, item] : v.items()) {
    if (!out.contains(k)) out[k] = in_reading_order(item);
  }
  return out;
}

}  // namespace

std::string to_text(const json& g) { return in_reading_order(g).dump(2) + "\n"; }

Status save(const std::filesystem::path& file, const json& g, bool overwrite) {
  if (Status s = validate(g); !s) return s;
  return files::write_atomic(file, to_text(g), 0644, overwrite ? files::Overwrite::yes : files::Overwrite::no);
}

}  // namespace onebill::clients::genesis
