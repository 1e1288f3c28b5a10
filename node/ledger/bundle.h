// The audit bundle: everything an auditor needs to check one document's whole chain offline, trusting nothing but
// the genesis file (docs/formats/bundle.md to the field; docs/audit.md for what each part proves).
//
// A bundle holds, as of one certified block:
//   - the entries on the document and on the documents it is linked to (a pledge's collateral, the pledges on a
//     bill or receipt), and every entry that changed the membership, each with its outcome, the reads it made and
//     the proofs that its block committed to it (tx_root, result_root) and, when accepted, that the log holds it;
//   - the block headers those entries are in, each certified by a quorum of voting nodes' attestations or linked
//     by `prev` hashes to a later header that is;
//   - for each document, the proof of its state at the head (the head header's state_root), so that no entry on it
//     after the bundle's last one can be left out unseen.
// The node builds it (node/bundle.cpp); clients/audit verifies it. This file is only the format: no node code.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/envelope.h"
#include "contracts/state.h"
#include "crypto/hash.h"
#include "crypto/result.h"
#include "node/ledger/format.h"

namespace onebill::ledger {

inline constexpr std::string_view kBundleFormat = "onebill-bundle/2";

struct BundleBlock {
  BlockHeader header;
  std::vector<Attestation> attestations;  // may be fewer than a quorum when a later header certifies this one
};

struct BundleEntry {
  std::int64_t height = 0;
  std::uint64_t index = 0;          // position in its block
  std::uint64_t block_entries = 0;  // how many entries the block has (the size of its tx and result trees)
  contracts::Envelope envelope;
  bool accepted = false;
  std::string reason;               // when rejected
  // What the entry read. Values of the bundle's own documents (doc/{id} for an id in Bundle::documents) are not
  // repeated: `elided` holds their hash, and a verifier takes the value from its own replay of the earlier entries.
  contracts::ReadSet reads;
  std::map<std::string, crypto::Digest, std::less<>> elided;
  std::vector<crypto::Digest> result_proof;  // inclusion of result_leaf(result) at `index` in header.result_root
  std::optional<std::uint64_t> leaf;         // accepted: the entry's index in the log
  std::vector<crypto::Digest> log_proof;     // accepted: inclusion at `leaf` in the head's log

  // One element of Bundle::entries (strict, as Bundle::from_json); `where` names it in errors.
  static Result<BundleEntry> from_json(const nlohmann::json& j, const std::string& where, crypto::HashAlg alg);

  // The result as its block recorded it, given the entry's whole read set (reads + the elided values).
  EntryResult result(crypto::HashAlg alg, const contracts::ReadSet& all_reads) const;
};

// The proof of a document's state at the bundle's head: an RFC 6962 inclusion proof of the document's leaf
// (state_tree.h: its id and the hash of its stored bytes) at `index` in the head's document state tree of `size`
// leaves, against the head header's state_root.
struct StateProof {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  std::vector<crypto::Digest> path;
};

struct Bundle {
  std::string network;
  std::string genesis_hash;
  std::string document;                 // the document asked for
  std::vector<std::string> documents;   // it and the documents linked to it, sorted
  std::int64_t head_height = 0;         // the certified block the bundle is taken at
  std::string head_hash;
  std::vector<BundleBlock> blocks;      // by height, unique; includes the head
  std::vector<BundleEntry> entries;     // in ledger order (height, index), unique
  // Per document of `documents` that exists at the head: the proof of its state there. A document the head's state
  // does not hold (its entries were all refused) has none.
  std::map<std::string, StateProof> state_proofs;

  nlohmann::json to_json() const;
  // Strict: unknown or missing fields, wrong types and malformed envelopes are errors ("bad_bundle", naming the
  // place). Parsing checks the shape only; clients/audit checks what it means.
  static Result<Bundle> from_json(const nlohmann::json& j, crypto::HashAlg alg);
};

}  // namespace onebill::ledger
