// Test harness for the contracts: a small network from a test genesis, one block per submitted entry (or several
// with block()), state in memory, and helpers that assert an entry was accepted or rejected with a given reason
// and, when rejected, that nothing in the state changed.
//
// Organisations of the test genesis (key "<org>/k1" each):
//   crct      mto, rail_carrier   the multimodal operator (China-Europe rail), issues one-bills
//   hmm       sea_carrier         Busan -> Tianjin
//   ktz       rail_carrier        a second rail carrier
//   trucker   road_carrier
//   tjport    port @ CNTSN        Tianjin port
//   dbport    port @ DEDUI        Duisburg terminal
//   anyport   port                a port that declared no locations
//   customs   customs             China customs
//   bank1     bank                the pledgee in the stories
//   bank2     bank                a second bank
//   tjwh      warehouse           a bonded warehouse at Tianjin
//   shipper   trader              the Korean exporter, first holder
//   trader    trader              an intermediate buyer
//   buyer     trader              the importer in Duisburg
//   audit     auditor
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "contracts/apply.h"
#include "contracts/doc_cache.h"
#include "contracts/documents.h"
#include "contracts/state.h"

namespace onebill::contracts::testing {

using nlohmann::json;

inline constexpr const char* kPem =
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
inline constexpr std::int64_t kStartMs = 1795600800000;  // 2026-11-25T10:00:00Z

json test_genesis();

class Ledger {
 public:
  Ledger();
  explicit Ledger(const json& genesis);

  // An envelope signed (nominally) by `signer` — an org id (key "<org>/k1") or a key id — with the key's next nonce
  // unless `nonce` is given.
  Envelope make(const std::string& signer, const std::string& type, const std::string& doc, const json& body,
                std::optional<std::int64_t> nonce = std::nullopt);
  // Applies one entry in a new block; accepted writes are committed.
  Outcome submit(const std::string& signer, const std::string& type, const std::string& doc, const json& body,
                 std::optional<std::int64_t> nonce = std::nullopt);
  Outcome submit(const Envelope& entry);
  // Applies several entries as one block.
  std::vector<Outcome> block(const std::vector<Envelope>& entries);

  json doc(const std::string& id) const;  // the stored document (REQUIRE that it exists)
  bool has(const std::string& key) const;
  std::optional<std::string> get(const std::string& key) const;
  std::string digest() const;  // hex of the state digest

  MemoryState state;
  Membership members;
  DocumentCache documents;  // used for every block, and checked against a run without it (fixture.cpp)
  std::int64_t height = 0;
  std::int64_t time_ms = kStartMs;
  std::map<std::string, std::int64_t> next_nonce;
  std::vector<std::vector<Envelope>> blocks;  // everything submitted, block by block (for replay)
  std::vector<Outcome> outcomes;
};

// REQUIREs acceptance (printing the reason otherwise) and returns the outcome.
Outcome must_accept(Ledger& l, const std::string& signer, const std::string& type, const std::string& doc,
               const json& body);
// REQUIREs rejection with exactly `reason`, no writes and an unchanged state; returns the message.
std::string must_reject(Ledger& l, const std::string& signer, const std::string& type, const std::string& doc,
                   const json& body, const std::string& reason);

// One table row: on a fresh Ledger, run `setup`, then submit and expect rejection with `reason` (via must_reject).
struct RejectCase {
  std::string name;
  std::function<void(Ledger&)> setup;
  std::string signer;
  std::string type;
  std::string doc;
  json body;
  std::string reason;
};
void check_rejections(const std::vector<RejectCase>& cases);

// A copy of `base` with `patch` merged in at the top level, or with the value at a JSON pointer replaced.
json with(json base, const json& patch);
json with_at(json base, const std::string& pointer, const json& value);

// Bodies used across tests. The standard bill: to-order BOL from KRPUS to DEDUI via CNTSN (sea hmm, rail crct),
// held by the shipper, two containers CSQU3054383 (seals SL-1) and MSCU1234566 (seal SL-2), cargo 10000 + 12000 kg.
json bill_body();
json receipt_body(const std::string& lot = "LOT-1", bool bonded = true, std::int64_t quantity = 100);
json pledge_body(const std::string& collateral, const std::string& bank = "bank1", std::int64_t value = 500000000);
json event_body(int leg, const std::string& event, const std::string& at, const std::vector<std::string>& refs = {});

// Scenario steps on the standard bill `id`.
void issue_bill(Ledger& l, const std::string& id, const json& body = bill_body());
void run_leg(Ledger& l, const std::string& id, int leg);          // loaded, departed, arrived by the carrier
void release_import(Ledger& l, const std::string& id);            // customs import released
void deliver_flow(Ledger& l, const std::string& id);              // surrender, accept, deliver (holder surrenders)
// A pledge `pid` on `collateral` by its holder `pledgor`, approved by customs when `approve` and accepted by bank1.
void activate_pledge(Ledger& l, const std::string& pid, const std::string& collateral, const std::string& pledgor,
                     bool approve = true, const std::string& bank = "bank1");

}  // namespace onebill::contracts::testing
