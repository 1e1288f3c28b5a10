// Membership: lookups, snapshots and history. Reading genesis and governance changes is in membership_change.cpp.
#include "contracts/membership.h"

#include <algorithm>
#include <array>

#include "crypto/canonical_json.h"

namespace onebill::contracts {
namespace {

constexpr std::array<std::string_view, 10> kRoles = {"auditor", "bank",         "customs",     "mto",    "port",
                                                     "rail_carrier", "road_carrier", "sea_carrier", "trader",
                                                     "warehouse"};

nlohmann::json opt(const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

}  // namespace

bool is_role(std::string_view role) { return std::find(kRoles.begin(), kRoles.end(), role) != kRoles.end(); }

bool Org::has_role(std::string_view role) const {
  return std::binary_search(roles.begin(), roles.end(), role);
}

nlohmann::json MembershipChange::to_json() const {
  return nlohmann::json{{"action", action}, {"params", params}, {"proposal", proposal}, {"height", height},
                        {"index", index}};
}

Result<MembershipChange> MembershipChange::from_json(const nlohmann::json& json) {
  try {
    MembershipChange c;
    c.action = json.at("action").get<std::string>();
    c.params = json.at("params");
    c.proposal = json.at("proposal").get<std::string>();
    c.height = json.at("height").get<std::int64_t>();
    c.index = json.at("index").get<std::int64_t>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    return make_error("corrupt_state", std::string("membership change: ") + e.what());
  }
}

const Org* Membership::org(std::string_view id) const {
  const auto it = orgs_.find(id);
  return it == orgs_.end() ? nullptr : &it->second;
}

const Key* Membership::key(std::string_view id) const {
  const auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

const Node* Membership::node(std::string_view id) const {
  const auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

bool Membership::is_active_org(std::string_view id) const {
  const Org* o = org(id);
  return o != nullptr && o->active;
}

bool Membership::has_role(std::string_view org_id, std::string_view role) const {
  const Org* o = org(org_id);
  return o != nullptr && o->active && o->has_role(role);
}

std::size_t Membership::active_org_count() const {
  return static_cast<std::size_t>(
      std::count_if(orgs_.begin(), orgs_.end(), [](const auto& kv) { return kv.second.active; }));
}

Result<Membership> Membership::replay_until(std::int64_t height, std::int64_t index) const {
  auto out = from_genesis_json(genesis_);
  if (!out) return out.error();
  for (const MembershipChange& c : changes_) {
    if (c.height > height || (c.height == height && c.index >= index)) break;
    if (auto s = out->apply(c); !s) return s.error();
  }
  return out;
}

Result<Membership> Membership::at(std::int64_t height, std::int64_t index) const {
  return replay_until(height, index);
}

Result<Membership> Membership::as_of(std::int64_t height) const {
  return replay_until(height + 1, 0);
}

nlohmann::json Membership::to_json() const {
  nlohmann::json orgs = nlohmann::json::array();
  for (const auto& [id, o] : orgs_) {
    orgs.push_back({{"id", o.id},         {"name", o.name},   {"roles", o.roles}, {"locations", o.locations},
                    {"active", o.active}, {"added", o.added}, {"removed", opt(o.removed)}});
  }
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [id, k] : keys_) {
    keys.push_back({{"id", k.id},
                    {"org", k.org},
                    {"alg", k.alg},
                    {"pub", k.pub},
                    {"added", k.added},
                    {"revoked", opt(k.revoked)}});
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& [id, n] : nodes_) {
    nodes.push_back({{"id", n.id},
                     {"org", n.org},
                     {"raft", n.raft},
                     {"api", n.api},
                     {"tls_pub", n.tls_pub},
                     {"voter", n.voter},
                     {"added", n.added}});
  }
  return nlohmann::json{{"network", network_},
                        {"hash", std::string(crypto::hash_alg_name(alg_))},
                        {"orgs", std::move(orgs)},
                        {"keys", std::move(keys)},
                        {"nodes", std::move(nodes)}};
}

void Membership::rehash() {
  auto canonical = crypto::canonicalize(to_json());
  hash_ = canonical ? Result<crypto::Digest>(crypto::hash(alg_, *canonical)) : Result<crypto::Digest>(canonical.error());
}

}  // namespace onebill::contracts
