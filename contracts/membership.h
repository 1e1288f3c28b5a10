// Who may write: organisations, their roles and keys, and the nodes of the network (ARCHITECTURE.md, "Identity and
// membership"; TRANSACTIONS.md, "Governance").
//
// A Membership starts from genesis.json and changes only by governance actions (org.add, org.remove, key.add,
// key.revoke, node.add, node.remove, role.set) that apply() returns in Outcome::membership_change and the caller
// feeds back with Membership::apply() in ledger order. It keeps every change with the (height, index) of the entry
// that made it, so the membership in force for any entry — at(height, index) — and at the end of any block —
// as_of(height) — can be rebuilt; the offline verifier uses that to check each signer at its height.
//
// A change takes effect at its entry: later entries of the same block already see it. A revoked key (or any key of
// a removed organisation) cannot sign from that point on; entries before it stay valid.
//
// Signature keys are kept as PEM text and algorithm name; contracts never parses or uses them (the caller verifies
// signatures with crypto::PublicKey). Genesis and governance check only the PEM's shape.
//
// Not thread-safe for writers; const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "crypto/result.h"

namespace onebill::contracts {

// mto, sea_carrier, rail_carrier, port, customs, bank, warehouse, trader, auditor (ARCHITECTURE.md) and
// road_carrier (an extension for road legs; docs/model.md).
bool is_role(std::string_view role);

struct Org {
  std::string id;
  std::string name;
  std::vector<std::string> roles;      // sorted, unique
  std::vector<std::string> locations;  // UN/LOCODEs where a port operates (optional; docs/model.md)
  bool active = true;
  std::int64_t added = 0;              // height (0 = genesis)
  std::optional<std::int64_t> removed;

  bool has_role(std::string_view role) const;
};

struct Key {
  std::string id;   // "org/name"
  std::string org;
  std::string alg;  // "ed25519" | "ecdsa-p256" | "sm2"
  std::string pub;  // PEM SubjectPublicKeyInfo
  std::int64_t added = 0;
  std::optional<std::int64_t> revoked;  // height of the entry that revoked it
};

struct Node {
  std::string id;
  std::string org;
  std::string raft;     // host:port
  std::string api;      // host:port
  std::string tls_pub;  // PEM
  bool voter = true;
  std::int64_t added = 0;
};

// One governance action that took effect, and where.
struct MembershipChange {
  std::string action;  // org.add | org.remove | key.add | key.revoke | node.add | node.remove | role.set
  nlohmann::json params = nlohmann::json::object();
  std::string proposal;  // id of the gov proposal that carried it
  std::int64_t height = 0;
  std::int64_t index = 0;

  nlohmann::json to_json() const;
  static Result<MembershipChange> from_json(const nlohmann::json& json);  // "corrupt_state" if malformed
};

class Membership {
 public:
  // genesis.json (strict JSON; errors "bad_genesis" naming the field, or parse_strict's codes).
  static Result<Membership> from_genesis(std::string_view text);
  static Result<Membership> from_genesis_json(const nlohmann::json& genesis);

  const std::string& network() const { return network_; }
  crypto::HashAlg hash_alg() const { return alg_; }

  const Org* org(std::string_view id) const;  // nullptr if never added
  const Key* key(std::string_view id) const;
  const Node* node(std::string_view id) const;  // current nodes only
  const std::map<std::string, Org, std::less<>>& orgs() const { return orgs_; }
  const std::map<std::string, Key, std::less<>>& keys() const { return keys_; }
  const std::map<std::string, Node, std::less<>>& nodes() const { return nodes_; }

  bool is_active_org(std::string_view id) const;
  bool has_role(std::string_view org, std::string_view role) const;  // false for inactive orgs
  std::size_t active_org_count() const;

  // Checks that `action` with `params` could be applied now. Errors are bad_body with paths under "body.params"
  // (for example "body.params.id: organisation already exists").
  Status check_change(std::string_view action, const nlohmann::json& params) const;
  // Applies a change (checked again); it must come after every change already applied (ledger order), else
  // "out_of_order". On error nothing changes.
  Status apply(const MembershipChange& change);
  const std::vector<MembershipChange>& changes() const { return changes_; }

  // Membership in force for the entry at (height, index): genesis plus the changes of entries before it.
  Result<Membership> at(std::int64_t height, std::int64_t index) const;
  // Membership at the end of block `height` (what that block's header commits to).
  Result<Membership> as_of(std::int64_t height) const;

  // The documented snapshot: {"network","hash","orgs":[...],"keys":[...],"nodes":[...]}, each sorted by id.
  nlohmann::json to_json() const;
  // membership_hash = hash(genesis alg, canonical(to_json())). Computed when the membership is built or changed,
  // so reading it (every block) costs nothing and is safe from any thread.
  Result<crypto::Digest> hash() const { return hash_; }

 private:
  friend class MembershipEditor;  // membership_change.cpp
  Result<Membership> replay_until(std::int64_t height, std::int64_t index) const;
  void rehash();

  std::string network_;
  crypto::HashAlg alg_ = crypto::HashAlg::sha256;
  std::map<std::string, Org, std::less<>> orgs_;
  std::map<std::string, Key, std::less<>> keys_;
  std::map<std::string, Node, std::less<>> nodes_;
  nlohmann::json genesis_;
  std::vector<MembershipChange> changes_;
  Result<crypto::Digest> hash_ = make_error("bad_genesis", "an empty membership has no hash");
};

}  // namespace onebill::contracts
