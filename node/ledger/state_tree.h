// The document state tree: what a block header's `state_root` commits to (docs/formats/block.md §3), so an audit
// bundle can prove each of its documents' state at its head (docs/formats/bundle.md, docs/audit.md).
//
// A Merkle tree of RFC 6962 shape (crypto/merkle.h) over every document of the ledger, in the order the documents
// were first written: a document gets the next leaf index in the block that first writes it (several in one block:
// in key byte order) and keeps it for ever. Its leaf is
//     leaf_hash(canonical {"doc": <document id>, "value": <hex H(the document's stored bytes)>})
// and changes whenever a block changes the document. Only documents (contracts state keys doc/{id}) are in it, not
// indexes, nonce windows or governance records. A document's proof is an ordinary RFC 6962 inclusion proof against
// `state_root` at `state_size` leaves (crypto::verify_inclusion).
//
// This file is the format and the per-block change computation, shared by the node (node/state_tree.h keeps the
// tree in LevelDB), the test bundle builder and the offline verifier: no node code.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/state.h"
#include "crypto/hash.h"
#include "crypto/result.h"

namespace onebill::ledger {

// The canonical JSON of a document's leaf: {"doc": id, "value": hex digest}, or "value": null for a document a
// block deleted (the contracts never delete one; the tree keeps its index either way).
std::string state_leaf_text(std::string_view doc, const std::optional<crypto::Digest>& value_hash);
// leaf_hash of that text.
crypto::Digest state_leaf(crypto::HashAlg alg, std::string_view doc, const std::optional<crypto::Digest>& value_hash);
// The leaf of a document whose stored bytes are `value`.
crypto::Digest state_leaf_of(crypto::HashAlg alg, std::string_view doc, std::string_view value);

// What one block changes in the tree.
struct StateTreeChanges {
  std::map<std::uint64_t, crypto::Digest> leaves;               // leaf index -> its new leaf hash
  std::vector<std::pair<std::string, std::uint64_t>> added;     // documents the block writes first, with their index
  std::uint64_t size = 0;                                       // leaves after the block
};

// Says the leaf index of a document already in the tree, nullopt if it has none; an Error only when the lookup
// itself fails (I/O).
using StateIndexLookup = std::function<Result<std::optional<std::uint64_t>>(std::string_view doc)>;

// The changes a block's merged writes (contracts::apply_block's, key -> new value or delete) make to a tree of
// `size` leaves: every doc/{id} key written gives its document's leaf; a document without an index gets the next
// one, in key order. Apply them with crypto::update_leaves(alg, store, size, changes.size, changes.leaves).
Result<StateTreeChanges> state_tree_changes(crypto::HashAlg alg, const contracts::WriteSet& writes, std::uint64_t size,
                                            const StateIndexLookup& index_of);

}  // namespace onebill::ledger
