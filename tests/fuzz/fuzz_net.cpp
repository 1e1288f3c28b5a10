#include "tests/fuzz/fuzz_net.h"

#include <cstdio>
#include <cstdlib>

#include "tests/support/testnet.h"

namespace onebill::fuzz {
namespace {

using nlohmann::json;

// Test keys made for the fuzz harness only.
constexpr const char* kP256Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3w8cpVqKqdoRxbXP\n"
    "z9OJPYoNidSzwCMghZpVV+A91Y+hRANCAAQT+1jcKWziqX+PNKLitoUnXVylGgWn\n"
    "D+YD3z2uEphquVT+47RHWC9wbUC9OWcyB/mHrQA7L7304Xjx0DK55CBD\n"
    "-----END PRIVATE KEY-----\n";
constexpr const char* kSm2Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg1oAtgU1QmJ6VMACZ\n"
    "8l2S/RWHepv/GPE4tagOtDeXa8ihRANCAAQmAj07VHVildoAbrtEEQrapLyzf20M\n"
    "0bAs7R7xASsVZeRM3A+/Kdw+EymcF/V75w29uSscw5gjdQZioqU8eUmk\n"
    "-----END PRIVATE KEY-----\n";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "fuzz harness: %s\n", what.c_str());
  std::abort();
}

template <typename T>
T must(Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().code + ": " + r.error().message);
  return std::move(r.value());
}

crypto::PrivateKey key_for(const std::string& org, int index) {
  if (org == "hmm") return must(crypto::PrivateKey::from_pem(kP256Pem, crypto::SigAlg::ecdsa_p256), "p256 key");
  if (org == "bank1") return must(crypto::PrivateKey::from_pem(kSm2Pem, crypto::SigAlg::sm2), "sm2 key");
  crypto::Bytes seed(32, static_cast<std::uint8_t>(index + 1));
  return must(crypto::PrivateKey::ed25519_from_seed(seed), "ed25519 key");
}

}  // namespace

json bill_body() { return testing::sample_bill_body(); }

json receipt_body() {
  return json{{"holder", "trader"},
              {"goods",
               {{"description", "Copper cathodes"}, {"hs", "740311"}, {"quantity", 100}, {"unit", "TNE"},
                {"gross_kg", 100000}}},
              {"location", "CNTSN"},
              {"lot", "LOT-1"},
              {"bonded", true}};
}

json pledge_body() {
  return json{{"collateral", "WR-1"}, {"bank", "bank1"}, {"amount", {{"value", 800000000}, {"ccy", "CNY"}}},
              {"due", "2027-06-30"}};
}

void property_failed(const char* target, const std::string& what) {
  std::fprintf(stderr, "%s: property failed: %s\n", target, what.c_str());
  std::abort();
}

const FuzzNet& FuzzNet::get() {
  static const FuzzNet net;
  return net;
}

FuzzNet::FuzzNet() {
  struct O {
    const char* id;
    std::vector<std::string> roles;
    std::vector<std::string> locations;
  };
  const std::vector<O> orgs = {
      {"crct", {"mto", "rail_carrier"}, {}}, {"hmm", {"sea_carrier"}, {}},  {"tjport", {"port"}, {"CNTSN"}},
      {"customs", {"customs"}, {}},          {"bank1", {"bank"}, {}},       {"bank2", {"bank"}, {}},
      {"tjwh", {"warehouse"}, {}},           {"shipper", {"trader"}, {}},   {"trader", {"trader"}, {}},
      {"buyer", {"trader"}, {}},             {"audit", {"auditor"}, {}},
  };
  json gorgs = json::array();
  for (std::size_t i = 0; i < orgs.size(); ++i) {
    const std::string id = orgs[i].id;
    crypto::PrivateKey k = key_for(id, static_cast<int>(i));
    const std::string key_id = id + "/k1";
    json org{{"id", id},
             {"name", id + " (fuzz)"},
             {"roles", orgs[i].roles},
             {"keys", {{{"id", key_id}, {"alg", std::string(crypto::sig_alg_name(k.alg()))},
                        {"pub", k.public_key().to_pem()}}}}};
    if (!orgs[i].locations.empty()) org["locations"] = orgs[i].locations;
    gorgs.push_back(org);
    public_keys_.emplace(key_id, k.public_key());
    private_keys_.emplace(id, std::move(k));
  }
  node_key_ = key_for("node", 99);
  const crypto::PrivateKey& node_key = *node_key_;
  genesis_ = {{"network", "onebill-fuzz"},
              {"hash", "sha256"},
              {"orgs", gorgs},
              {"nodes",
               {{{"id", "n1"},
                 {"org", "crct"},
                 {"raft", "127.0.0.1:7201"},
                 {"api", "127.0.0.1:7101"},
                 {"tls_pub", node_key.public_key().to_pem()},
                 {"voter", true}}}},
              {"params", {{"block_max_entries", 2000}}}};
  membership_ = must(contracts::Membership::from_genesis_json(genesis_), "fuzz genesis");

  story_ = {
      sign("crct", "bill.issue", "OB-1", bill_body(), 1),
      sign("hmm", "bill.event", "OB-1",
           {{"leg", 0}, {"event", "loaded"}, {"at", "KRPUS"}, {"equipment", {{{"ref", "CSQU3054383"}}}}}, 1),
      sign("tjwh", "receipt.issue", "WR-1", receipt_body(), 1),
      sign("trader", "pledge.request", "PL-1", pledge_body(), 1),
  };
  for (const auto& e : story_) {
    ++height_;
    time_ms_ += 1000;
    auto r = contracts::apply_block(std::span(&e, 1), height_, time_ms_, state_, membership_,
                                    [this](const contracts::Envelope& entry, const contracts::Key& key) {
                                      const auto* pub = public_key(key.id);
                                      return pub != nullptr && pub->verify(entry.canonical_tx, entry.sig);
                                    });
    if (!r) die("story: " + r.error().message);
    if (!r->outcomes[0].accepted) die("story entry " + e.tx.type + " rejected: " + r->outcomes[0].message);
    state_.apply(r->writes);
  }
}

const crypto::PublicKey* FuzzNet::public_key(const std::string& key_id) const {
  auto it = public_keys_.find(key_id);
  return it == public_keys_.end() ? nullptr : &it->second;
}

contracts::Envelope FuzzNet::sign(const std::string& org, const std::string& type, const std::string& doc,
                                  const json& body, std::int64_t nonce) const {
  contracts::Tx tx{type, doc, org + "/k1", nonce, "2026-11-25T10:00:00Z", body};
  auto canonical = must(contracts::canonical_tx(tx), "canonical tx");
  auto sig = must(private_keys_.at(org).sign(canonical), "sign");
  return must(contracts::make_envelope(std::move(tx), std::move(sig), crypto::HashAlg::sha256), "envelope");
}

}  // namespace onebill::fuzz
