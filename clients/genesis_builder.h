// Building genesis.json (ARCHITECTURE.md, "Identity and membership") one step at a time: init, add an
// organisation, add a node, set parameters. Every step checks its own arguments against the catalogue (ids, roles,
// key ids, PEM keys, endpoints) and the whole result with contracts::Membership — the same code every node runs
// on start — before anything is written; save() replaces the file atomically, so a refused edit leaves it as it was.
//
// A genesis with no organisation yet is a draft: Membership needs at least one, so validate() checks a draft with
// everything else in place but cannot accept it as a network's genesis (nodes need an organisation anyway).
//
// Errors: "bad_argument" (the message starts with the argument's name, e.g. "roles: unknown role captain"),
// "bad_genesis" (Membership's verdict on the result, or a file that is not a genesis), and files.h codes on I/O.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/result.h"

namespace onebill::clients::genesis {

struct Params {
  std::optional<std::int64_t> block_max_entries;                             // 1 .. 100000
  std::optional<std::int64_t> block_max_delay_ms;                            // 0 .. 10000
  std::optional<std::pair<std::int64_t, std::int64_t>> election_timeout_ms;  // 50 <= lo <= hi <= 60000
};

// The defaults of a new genesis (the node's own defaults): 2000 entries, 5 ms, [300, 600].
Params default_params();

// {"network", "hash", "orgs": [], "nodes": [], "params": {...}}. hash: "sha256" | "sm3".
Result<nlohmann::json> init(const std::string& network, const std::string& hash);

struct OrgSpec {
  std::string id;
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> locations;  // UN/LOCODEs where a port operates (optional)
  std::optional<std::string> key_id;   // "org/name"; with pub_pem
  std::optional<std::string> pub_pem;  // SubjectPublicKeyInfo PEM (its algorithm is read from the key)
};
Status add_org(nlohmann::json& genesis, const OrgSpec& org);

struct NodeSpec {
  std::string id;
  std::string org;
  std::string raft;  // host:port
  std::string api;   // host:port
  std::string tls_pub_pem;
  bool voter = true;  // false = a learner (non-voting node)
};
Status add_node(nlohmann::json& genesis, const NodeSpec& node);

Status set_params(nlohmann::json& genesis, const Params& params);

// Membership::from_genesis_json on the whole document (see the file comment for drafts).
Status validate(const nlohmann::json& genesis);

// The chain id: hex hash (the genesis's own algorithm) of canonical(genesis), as ledger::genesis_hash computes it.
Result<std::string> genesis_hash(const nlohmann::json& genesis);

// Reading and writing. The text is the JSON with 2-space indentation and a final newline.
Result<nlohmann::json> load(const std::filesystem::path& file);
std::string to_text(const nlohmann::json& genesis);
// Validates, then writes atomically (overwrite = replace an existing file).
Status save(const std::filesystem::path& file, const nlohmann::json& genesis, bool overwrite);

}  // namespace onebill::clients::genesis
