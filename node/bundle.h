// Builds the audit bundle of a document (node/ledger/bundle.h, docs/formats/bundle.md) from the node's store.
#pragma once

#include <cstdint>
#include <string>

#include "contracts/membership.h"
#include "crypto/result.h"
#include "node/ledger/bundle.h"
#include "node/store.h"

namespace onebill::node {

struct BundleSource {
  const Store& store;
  crypto::HashAlg alg;
  std::string network;
  std::string genesis_hash;
  std::int64_t head_height = 0;  // a certified block this node applied
  std::string head_hash;
  std::vector<ledger::Attestation> head_attestations;
  std::size_t quorum = 1;  // attestations that certify a header (voters / 2 + 1)
  bool elide = true;       // give only the hash of reads of the bundle's own documents (the verifier has them)
  // Where to read: a LevelDB snapshot (StoreSnapshot) taken after the head was certified, so every record — and the
  // document state tree at the head's height — is read as of one applied height. nullptr: the live database.
  const leveldb::Snapshot* snapshot = nullptr;
};

// At most this many documents in one bundle (the document and those linked to it); more is "bundle_too_large".
inline constexpr std::size_t kMaxBundleDocuments = 256;
// And at most this many entries (a bundle is built in memory: about 2.6 kB of JSON per entry).
inline constexpr std::size_t kMaxBundleEntries = 200000;

// The bundle of `doc` as of the source's head, with each document's state proof there: errors not_found (no such
// document, or none of its entries is at or below the head yet), bundle_too_large, state_unavailable (the head is
// more than kStateUndoBlocks below the applied height: its document states can no longer be proved), or the
// store's.
Result<ledger::Bundle> build_bundle(const BundleSource& src, const std::string& doc);

}  // namespace onebill::node
