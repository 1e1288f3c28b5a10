// The offline verifier of audit bundles: checks one document's whole chain trusting nothing but the genesis file
// (docs/audit.md says what each check proves and what it assumes; docs/formats/bundle.md the format).
//
// Links only crypto, contracts and the ledger formats — no node code — so an auditor can build and run it alone.
// No clock, no I/O (the caller reads the files).
//
// Threads: entries are parsed, their signatures and log proofs checked, and each replayed from its recorded reads
// ahead, on `threads` threads; a replay made ahead is used only when the ledger-order pass finds that it was made
// with the values and the membership in force at that entry (else the entry is replayed again there). Every check
// is decided in ledger order, so the report — the first failure, its message, the counts — is the same whatever
// the thread count, and the same from the text as from the parsed bundle.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "contracts/membership.h"
#include "crypto/result.h"
#include "node/ledger/bundle.h"

namespace onebill::audit {

// How many times each check held.
struct Counts {
  std::size_t entries = 0;           // entries in the bundle
  std::size_t signatures = 0;        // signatures verified with the signer's key in force at its height
  std::size_t signer_rejections = 0; // entries recorded as rejected for their signer (unknown/revoked key, bad sig)
  std::size_t nonces = 0;            // accepted entries whose (key, nonce) is fresh and unique
  std::size_t result_proofs = 0;     // ids, outcomes and reads proven in their block's result_root
  std::size_t log_proofs = 0;        // accepted entries proven in the head's log
  std::size_t replayed = 0;          // entries whose outcome the contracts reproduced
  std::size_t chained_reads = 0;     // reads of the bundle's documents that matched the state replay gives
  std::size_t blocks = 0;            // block headers checked
  std::size_t attestations = 0;      // valid attestations by voting nodes
  std::size_t certified = 0;         // headers certified by a quorum on their own
  std::size_t linked = 0;            // headers certified through the prev-hash chain of a later certified one
  std::size_t membership = 0;        // headers whose membership_hash matched the replayed membership
  std::size_t state_proofs = 0;      // documents whose replayed state is proved to be their state at the head
};

// The first thing that did not hold.
struct Failure {
  std::string check;     // json (not JSON text) | format | genesis | order | result_proof | log_proof | signature | nonce |
                         // replay | history | membership | certificate | head | state
  std::string where;     // "entry <id> (height h, index i)", "block <h>", "document <id>" or "bundle"
  std::string expected;  // may be empty
  std::string found;     // may be empty
  std::string message;   // one sentence for people
};

struct Report {
  bool ok = false;
  Counts counts;
  std::optional<Failure> failure;
  std::string network;
  std::string document;
  std::int64_t head_height = 0;
  std::string head_hash;
  std::uint64_t log_size = 0;
  // The state of each document of the bundle after replaying its entries, as of the head (null if never created).
  std::map<std::string, nlohmann::json> documents;

  nlohmann::json to_json() const;
};

using Progress = std::function<void(std::size_t done, std::size_t total)>;

// threads = 0: one per hardware thread.
Report verify_bundle(std::string_view genesis_text, const nlohmann::json& bundle, const Progress& progress = {},
                     unsigned threads = 0);
// The same from the bundle's text, whose entries are parsed on the threads too (what 'onebill verify' uses). A
// text that is not JSON fails the "json" check.
Report verify_bundle_text(std::string_view genesis_text, std::string_view bundle, const Progress& progress = {},
                          unsigned threads = 0);

// A bundle's text read, and checked for structure only.
struct ParsedBundle {
  std::optional<Failure> failure;  // the first structural check that did not hold; then `bundle` is empty
  ledger::Bundle bundle;           // as read, entries included, when every structural check held
};

// The first part of verify_bundle_text alone, with the same code and messages: the text cut and every piece parsed
// by the strict parser ("json"), the fields and their types ("format"), the genesis loaded and the bundle's network
// and genesis hash checked against it ("genesis"), the document asked for among the documents and every state proof
// naming one ("format"), the blocks in increasing height with the head's header hashing to head.header_hash and no
// block above it ("order", "head"), and the entries in ledger order, each once, each in one of the bundle's blocks
// ("order"). No signature, attestation, inclusion proof or replay is checked: a bundle that passes is well formed,
// nothing in it is proved.
//
// When a check fails here, verify_bundle_text fails with the same Failure (its strict run makes these checks first,
// in this order). When all hold, verify_bundle_text can still fail any other check, and "format" for one thing
// found in ledger order: an elided read of a key that is not one of the bundle's documents.
// Pure: no I/O, no clock; the entries are parsed on `threads` threads (0: one per hardware thread), with the same
// answer for any number.
ParsedBundle parse_bundle_text(std::string_view genesis_text, std::string_view bundle, unsigned threads = 1);

// The genesis a verifier trusts, loaded: its membership and its hash (ledger::genesis_hash).
struct TrustedGenesis {
  contracts::Membership members;
  std::string hash;
};
// Loads genesis.json as every verification above does first. Errors: Membership::from_genesis's and
// ledger::genesis_hash's codes, with the message the "genesis" check gives.
Result<TrustedGenesis> load_genesis(std::string_view genesis_text);
// parse_bundle_text with the genesis loaded once, for reading many bundles against it (the fuzz target
// bundle_parse): the same answer as from the genesis' text.
ParsedBundle parse_bundle_text(const TrustedGenesis& genesis, std::string_view bundle, unsigned threads = 1);

}  // namespace onebill::audit
