// Reading membership input: genesis.json and the params of governance actions (docs/model.md, "Governance").
#include <algorithm>

#include "contracts/identifiers.h"
#include "contracts/membership.h"
#include "contracts/reasons.h"
#include "contracts/schema.h"
#include "crypto/canonical_json.h"

namespace onebill::contracts {

class MembershipEditor {
 public:
  // Reads {id, name, roles, keys, locations?} into `org` and `keys` (shape only).
  static void read_org(FieldReader& r, Org& org, std::vector<Key>& keys, std::int64_t height) {
    org.id = r.matching("id", kOrgIdPattern);
    org.name = r.text("name");
    org.roles = r.strings("roles", 0, 16, &kRolePattern);
    std::sort(org.roles.begin(), org.roles.end());
    org.locations = r.opt_strings("locations", 0, 64, &kLocodePattern).value_or(std::vector<std::string>{});
    std::sort(org.locations.begin(), org.locations.end());
    org.active = true;
    org.added = height;
    r.objects("keys", 0, 64, [&](FieldReader& k, std::size_t) {
      Key key = read_key(k, height);
      if (k.ok() && key.org != org.id) k.fail(reason::kBadBody, "id", "key must be named " + org.id + "/...");
      keys.push_back(std::move(key));
    });
  }

  static Key read_key(FieldReader& r, std::int64_t height) {
    Key key;
    key.id = r.matching("id", kKeyIdPattern);
    key.org = std::string(key_org(key.id));
    key.alg = r.choice("alg", {"ed25519", "ecdsa-p256", "sm2"});
    key.pub = r.matching("pub", kPemPattern);
    key.added = height;
    return key;
  }

  static Node read_node(FieldReader& r, std::int64_t height) {
    Node n;
    n.id = r.matching("id", kOrgIdPattern);
    n.org = r.matching("org", kOrgIdPattern);
    n.raft = r.matching("raft", kEndpointPattern);
    n.api = r.matching("api", kEndpointPattern);
    n.tls_pub = r.matching("tls_pub", kPemPattern);
    n.voter = r.boolean("voter");
    n.added = height;
    return n;
  }

  // Parses and checks one action against `m`; when `target` is given (it may be &m), applies it there. All checks
  // come before the first mutation, so a failure changes nothing.
  static Status edit(const Membership& m, Membership* target, std::string_view action, const nlohmann::json& params,
                     std::int64_t height) {
    std::optional<Error> error;
    FieldReader r(params, "body.params", error);
    const auto bad = [&r](std::string_view key, std::string_view message) {
      r.fail(reason::kBadBody, key, message);
    };
    if (action == "org.add") {
      Org org;
      std::vector<Key> keys;
      read_org(r, org, keys, height);
      if (r.ok() && m.org(org.id) != nullptr) bad("id", "organisation already exists (ids are never reused)");
      for (const Key& k : keys) {
        if (r.ok() && m.key(k.id) != nullptr) bad("keys", "key " + k.id + " already exists");
      }
      r.close();
      if (error) return *error;
      if (target) {
        for (Key& k : keys) target->keys_.insert_or_assign(k.id, std::move(k));
        target->orgs_.insert_or_assign(org.id, std::move(org));
      }
    } else if (action == "org.remove") {
      const std::string id = r.matching("id", kOrgIdPattern);
      r.close();
      if (r.ok() && !m.is_active_org(id)) bad("id", "no active organisation " + id);
      if (r.ok() && m.active_org_count() <= 1) bad("id", "cannot remove the last active organisation");
      for (const auto& [node_id, node] : m.nodes()) {
        if (r.ok() && node.org == id) bad("id", "remove its node " + node_id + " first");
      }
      if (error) return *error;
      if (target) {
        Org& o = target->orgs_.find(id)->second;
        o.active = false;
        o.removed = height;
      }
    } else if (action == "key.add") {
      Key key = read_key(r, height);
      r.close();
      if (r.ok() && !m.is_active_org(key.org)) bad("id", "no active organisation " + key.org);
      if (r.ok() && m.key(key.id) != nullptr) bad("id", "key already exists (ids are never reused)");
      if (error) return *error;
      if (target) target->keys_.insert_or_assign(key.id, std::move(key));
    } else if (action == "key.revoke") {
      const std::string id = r.matching("id", kKeyIdPattern);
      r.close();
      const Key* k = r.ok() ? m.key(id) : nullptr;
      if (r.ok() && k == nullptr) bad("id", "no key " + id);
      if (r.ok() && k->revoked) bad("id", "key already revoked");
      if (error) return *error;
      if (target) target->keys_.find(id)->second.revoked = height;
    } else if (action == "node.add") {
      Node node = read_node(r, height);
      r.close();
      if (r.ok() && m.node(node.id) != nullptr) bad("id", "node already exists");
      if (r.ok() && !m.is_active_org(node.org)) bad("org", "no active organisation " + node.org);
      if (error) return *error;
      if (target) target->nodes_.insert_or_assign(node.id, std::move(node));
    } else if (action == "node.remove") {
      const std::string id = r.matching("id", kOrgIdPattern);
      r.close();
      const Node* n = r.ok() ? m.node(id) : nullptr;
      if (r.ok() && n == nullptr) bad("id", "no node " + id);
      if (r.ok() && n->voter) {
        const auto voters = std::count_if(m.nodes().begin(), m.nodes().end(),
                                          [](const auto& kv) { return kv.second.voter; });
        if (voters <= 1) bad("id", "cannot remove the last voting node");
      }
      if (error) return *error;
      if (target) target->nodes_.erase(id);
    } else if (action == "role.set") {
      const std::string org_id = r.matching("org", kOrgIdPattern);
      std::vector<std::string> roles = r.strings("roles", 0, 16, &kRolePattern);
      r.close();
      if (r.ok() && !m.is_active_org(org_id)) bad("org", "no active organisation " + org_id);
      if (error) return *error;
      std::sort(roles.begin(), roles.end());
      if (target) target->orgs_.find(org_id)->second.roles = std::move(roles);
    } else {
      return make_error(std::string(reason::kBadBody), "body.action: unknown action");
    }
    return {};
  }

  static Result<Membership> from_genesis(const nlohmann::json& genesis) {
    Membership m;
    std::optional<Error> error;
    FieldReader r(genesis, "genesis", error);
    m.network_ = r.text("network", 128);
    const std::string alg = r.choice("hash", {"sha256", "sm3"});
    if (r.ok()) m.alg_ = alg == "sm3" ? crypto::HashAlg::sm3 : crypto::HashAlg::sha256;
    r.objects("orgs", 1, 1000, [&](FieldReader& o, std::size_t) {
      Org org;
      std::vector<Key> keys;
      read_org(o, org, keys, 0);
      if (o.ok() && m.org(org.id) != nullptr) o.fail(reason::kBadBody, "id", "duplicate organisation");
      for (Key& k : keys) {
        if (o.ok() && m.key(k.id) != nullptr) o.fail(reason::kBadBody, "keys", "duplicate key " + k.id);
        m.keys_.insert_or_assign(k.id, std::move(k));
      }
      m.orgs_.insert_or_assign(org.id, std::move(org));
    });
    r.objects("nodes", 0, 1000, [&](FieldReader& n, std::size_t) {
      Node node = read_node(n, 0);
      if (n.ok() && m.node(node.id) != nullptr) n.fail(reason::kBadBody, "id", "duplicate node");
      if (n.ok() && m.org(node.org) == nullptr) n.fail(reason::kBadBody, "org", "no organisation " + node.org);
      m.nodes_.insert_or_assign(node.id, std::move(node));
    });
    if (r.has("params") && !r.raw("params")->is_object()) r.fail(reason::kBadBody, "params", "expected an object");
    r.close();
    if (error) return make_error("bad_genesis", error->message);
    m.genesis_ = genesis;
    m.rehash();
    return m;
  }
};

Result<Membership> Membership::from_genesis(std::string_view text) {
  auto json = crypto::parse_strict(text);
  if (!json) return json.error();
  return from_genesis_json(*json);
}

Result<Membership> Membership::from_genesis_json(const nlohmann::json& genesis) {
  return MembershipEditor::from_genesis(genesis);
}

Status Membership::check_change(std::string_view action, const nlohmann::json& params) const {
  return MembershipEditor::edit(*this, nullptr, action, params, 0);
}

Status Membership::apply(const MembershipChange& change) {
  if (!changes_.empty()) {
    const MembershipChange& last = changes_.back();
    if (change.height < last.height || (change.height == last.height && change.index <= last.index)) {
      return make_error("out_of_order", "membership changes must be applied in ledger order");
    }
  }
  if (auto s = MembershipEditor::edit(*this, this, change.action, change.params, change.height); !s) return s;
  changes_.push_back(change);
  rehash();
  return {};
}

}  // namespace onebill::contracts
