// TestNet: a complete small onebill network on disk for tests — keys for a set of organisations, a genesis with
// N voting nodes (and learners) on 127.0.0.1, one config file and data dir per node, and API tokens — plus helpers
// to build signed entries. Used by the in-process node tests and the multi-process cluster tests.
//
// Organisations (key "<org>/k1", ECDSA P-256 unless told otherwise), as in the contracts' test fixture:
//   crct (mto, rail_carrier), hmm (sea_carrier), tjport (port), customs (customs), bank1, bank2 (bank),
//   tjwh (warehouse), shipper, trader, buyer (trader), audit (auditor).
// Nodes n1..nN belong, in order, to crct, tjport, customs, bank1, tjwh (then crct again); learners l1.. to audit.
// Spare nodes (n{N+1}..) are set up like voters but left out of genesis, for tests of governance node.add; their
// configs carry their listen addresses.
// Every node's config holds a token per organisation, "token-<org>", with submit, sign and read scopes (the node
// signs only for its own organisation).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keys.h"

namespace onebill::testing {

struct TestNodeInfo {
  std::string id;
  std::string org;
  bool voter = true;
  std::uint16_t raft_port = 0;
  std::uint16_t api_port = 0;
  std::filesystem::path dir;     // config.json, tls.pem, data/ live here
  std::filesystem::path config;  // dir / "config.json"
  bool in_genesis = true;         // false: a spare node, for a governance node.add
  nlohmann::json entry;           // the node as genesis lists it (or as node.add would add it)
};

// A free TCP port on 127.0.0.1 (bound and released; tests use it at once), never the same twice in one process.
// It is taken below the kernel's ephemeral range when there is room: a node stopped and restarted must bind its
// ports again, and in the ephemeral range any outgoing connection on the machine may hold one by then (a test
// would then fail for a reason that has nothing to do with it). Below the range only an explicit bind can take it.
std::uint16_t free_port();

class TestNet {
 public:
  TestNet(std::filesystem::path dir, int voters, int learners = 0,
          crypto::SigAlg alg = crypto::SigAlg::ecdsa_p256, nlohmann::json params = {}, int spares = 0);

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& genesis_path() const { return genesis_path_; }
  const nlohmann::json& genesis() const { return genesis_; }
  std::vector<TestNodeInfo>& nodes() { return nodes_; }
  static std::string token(const std::string& org) { return "token-" + org; }

  // A signed envelope {"tx", "sig"} from `org`'s key with that key's next nonce (or `nonce`).
  nlohmann::json envelope(const std::string& org, const std::string& type, const std::string& doc,
                          const nlohmann::json& body, std::optional<std::int64_t> nonce = std::nullopt);
  const crypto::PrivateKey& key(const std::string& org) const { return keys_.at(org); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path genesis_path_;
  nlohmann::json genesis_;
  std::map<std::string, crypto::PrivateKey> keys_;
  std::map<std::string, std::int64_t> nonces_;
  std::vector<TestNodeInfo> nodes_;
};

// The whole of a text file ("" when it cannot be read).
std::string read_text(const std::filesystem::path& path);

// Bodies for a realistic one-bill and its pieces (the contracts' fixture shapes).
nlohmann::json sample_bill_body();
nlohmann::json sample_event_body(int leg, const std::string& event, const std::string& at,
                                 const std::vector<std::string>& refs);
// sample_bill_body() on container `container` instead of the sample's (the equipment index allows one live bill
// per container).
nlohmann::json bill(const std::string& container);
// A valid ISO 6346 container number for serial i: owner "TCLU", six digits, check digit computed.
std::string container(int i);

}  // namespace onebill::testing
