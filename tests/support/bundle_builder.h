// Builds a certified audit bundle from a list of signed entries without a node: the entries are applied block by
// block with the contracts (as a node's Ledger does), each block gets its header (result_root, the transparency
// log, membership hash, writes hash, the document state tree) and one attestation by `node_key`, and every entry
// goes into the bundle with its reads and proofs, every document with the proof of its state at the head. For benchmarks (tests/bench/verify_bench) and fuzz seeds (tests/fuzz), where a bundle of
// any size is needed fast. The node's own builder (node/bundle.cpp) is what the audit tests exercise.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "contracts/envelope.h"
#include "crypto/keys.h"
#include "crypto/result.h"
#include "node/ledger/bundle.h"

namespace onebill::testing {

struct BundleOptions {
  std::size_t block_size = 500;
  std::int64_t start_time_ms = 1795600800000;
  bool elide = true;  // reads of the bundle's documents given as their hash, as the node does by default
};

// `genesis_text` must list `node_id` as its only voting node, with `node_key`'s public key. Every document an
// entry touches is one of the bundle's documents; the first entry's document is the one "asked for". Errors: the
// genesis does not load, or the contracts fail (not a rejection: rejected entries are kept, as on a node).
Result<ledger::Bundle> certify_as_bundle(std::string_view genesis_text, std::span<const contracts::Envelope> entries,
                                         const crypto::PrivateKey& node_key, const std::string& node_id,
                                         const BundleOptions& options = {});

}  // namespace onebill::testing
