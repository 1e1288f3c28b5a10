// FuzzNet: a fixed, in-memory onebill network for the fuzz targets and their seed corpora.
//
// Unlike tests/support/testnet.h it writes no files and its keys never change between runs, so a committed seed
// that carries a valid signature keeps verifying: every organisation signs with Ed25519 from a fixed seed, except
// hmm (ECDSA P-256) and bank1 (SM2), whose fixed PEM keys are in fuzz_net.cpp, so that all three verify paths are
// reached. These keys are test keys with no use anywhere else.
//
// The state holds a small story (a one-bill OB-1 issued and loaded, a warehouse receipt WR-1, a pledge PL-1
// requested on it), so that mutated entries reach the rules of documents that exist, not only "doc_not_found".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/apply.h"
#include "contracts/envelope.h"
#include "contracts/membership.h"
#include "contracts/state.h"
#include "crypto/keys.h"

namespace onebill::fuzz {

class FuzzNet {
 public:
  // The one instance (built on first use; aborts if the fixed network does not load, which is a harness bug).
  static const FuzzNet& get();

  const nlohmann::json& genesis() const { return genesis_; }
  const contracts::Membership& membership() const { return membership_; }
  const contracts::MemoryState& state() const { return state_; }
  std::int64_t height() const { return height_; }
  std::int64_t time_ms() const { return time_ms_; }

  // The public key of a key id, or nullptr.
  const crypto::PublicKey* public_key(const std::string& key_id) const;
  // A signed envelope from `org`'s key "<org>/k1" (nonce as given).
  contracts::Envelope sign(const std::string& org, const std::string& type, const std::string& doc,
                           const nlohmann::json& body, std::int64_t nonce) const;

  // The key of the network's one voting node n1 (Ed25519, fixed), for attestations in bundle seeds.
  const crypto::PrivateKey& node_key() const { return *node_key_; }
  // genesis() as text (what a verifier is given).
  std::string genesis_text() const { return genesis_.dump(); }

  // The entries that built the state, in order (also seeds).
  const std::vector<contracts::Envelope>& story() const { return story_; }

 private:
  FuzzNet();

  nlohmann::json genesis_;
  contracts::Membership membership_;
  contracts::MemoryState state_;
  std::map<std::string, crypto::PrivateKey> private_keys_;
  std::optional<crypto::PrivateKey> node_key_;
  std::map<std::string, crypto::PublicKey> public_keys_;
  std::vector<contracts::Envelope> story_;
  std::int64_t height_ = 0;
  std::int64_t time_ms_ = 1795600800000;  // 2026-11-25T10:00:00Z
};

// Bodies of the story (valid for the fixed network); the bill is tests/support/testnet.h's sample bill.
nlohmann::json bill_body();
nlohmann::json receipt_body();
nlohmann::json pledge_body();

// Aborts with a message: a property the fuzz target checks does not hold (libFuzzer saves the input).
[[noreturn]] void property_failed(const char* target, const std::string& what);

}  // namespace onebill::fuzz
