// The contract: what one signed entry does to the ledger state (TRANSACTIONS.md; docs/model.md).
//
// apply() is pure and deterministic: the same entry, block context, state and membership give the same Outcome, byte
// for byte, on every node and in the offline verifier. It reads no clock (rules use BlockContext::time_ms), does no
// I/O except through the StateView, uses no randomness, threads or floating point, and iterates only ordered
// containers.
//
// Order of the checks, as in the catalogue's common rules:
//   1. the signer key exists (unknown_key), is not revoked and belongs to an active organisation (revoked_key);
//   2. the signature verifies (bad_signature) — done by the CALLER with the key resolve_signer() returns, because
//      contracts never touches signature keys; apply() assumes it was checked;
//   3. the nonce is fresh in the key's window (stale_nonce, nonce_used; nonce.h);
//   4. the type is known (unknown_type), the doc id well-formed and the body matches its closed schema (bad_body,
//      or an identifier's code: bad_container, bad_locode, bad_hs, bad_currency);
//   5. the type's own rules (wrong_role, doc_not_found, doc_exists, bad_state, not_holder, pledged, ...).
// An accepted entry's writes always include its key's nonce window and the documents it changed (their head and
// height set to this entry). A rejected entry has no writes at all and leaves the nonce unused.
//
// Invalid vs error (docs/model.md): a rule violation is an accepted-or-rejected Outcome, the sender's fault, to be
// recorded. A Result holding an Error means the node itself is broken (the StateView failed or the stored state does
// not decode: codes "corrupt_state" or the store's own); the caller must stop applying, not record anything.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/envelope.h"
#include "contracts/membership.h"
#include "contracts/state.h"
#include "crypto/result.h"

namespace onebill::contracts {

class DocumentCache;

struct BlockContext {
  std::int64_t height = 1;   // the block's height (genesis is 0, so entries start at 1)
  std::int64_t time_ms = 0;  // the block's time, ms since the Unix epoch (from the block header, never a clock)
  std::int64_t index = 0;    // the entry's position in the block, from 0
};

struct Outcome {
  std::string tx_id;
  bool accepted = false;
  std::string reason;   // a code of reasons.h when rejected; empty when accepted
  std::string message;  // for people (names the field or the rule); not part of any hash
  WriteSet writes;      // every state change of the entry; empty when rejected
  // Every key the entry read from the state before it, with the value found (for rejected entries too: the reads
  // explain the rejection). An entry rejected before it read anything (unknown key, bad signature) has none.
  ReadSet reads;
  // Documents the entry concerns, sorted: the one in tx.doc, plus any it changed (a pledge's collateral). For
  // per-document history (docs/model.md); filled for rejected entries too (tx.doc when it is a well-formed id).
  std::vector<std::string> documents;
  // Set when an accepted gov.propose / gov.approve made a governance action take effect: the caller applies it to
  // its Membership (Membership::apply) before the next entry. Also written at keys::membership_change().
  std::optional<MembershipChange> membership_change;

  static Outcome rejected(std::string tx_id, std::string_view reason, std::string message);
  // The recorded result: {"id", "status": "accepted"|"rejected", "reason"?}. Canonicalize it to hash it.
  nlohmann::json result_json() const;
};

// Step 1: the key that signed `entry`, in force for it. Errors carry the rejection: unknown_key (no such key, or a
// malformed key id) or revoked_key (revoked, or its organisation removed). The pointer is into `membership`.
Result<const Key*> resolve_signer(const Envelope& entry, const Membership& membership);

// Steps 1 and 3-5 for an entry whose signature the caller has verified. `membership` must be the membership in
// force for this entry (all earlier changes applied).
// `cache` (may be null) keeps parsed documents between entries and blocks; it never changes an outcome
// (doc_cache.h).
Result<Outcome> apply(const Envelope& entry, const BlockContext& block, const StateView& state,
                      const Membership& membership, DocumentCache* cache = nullptr);

// Verifies entry.sig over entry.canonical_tx with `key` (the caller's crypto); false = bad_signature.
using SignatureCheck = std::function<bool(const Envelope& entry, const Key& key)>;

struct BlockResult {
  std::vector<Outcome> outcomes;  // one per entry, in order
  WriteSet writes;                // all accepted writes of the block, merged (later entries win)
};

// A whole block, in order, over an overlay of `state`: resolve each signer, check its signature with
// `check_signature` (bad_signature on false; pass nullptr only where signatures were verified already), apply, and
// feed accepted writes and membership changes to the entries after it. `membership` is updated in place with the
// block's governance changes. `state` itself is not changed: commit BlockResult::writes.
Result<BlockResult> apply_block(std::span<const Envelope> entries, std::int64_t height, std::int64_t time_ms,
                                const StateView& state, Membership& membership,
                                const SignatureCheck& check_signature, DocumentCache* cache = nullptr);

// Every tx.type of the catalogue, sorted.
std::span<const std::string_view> known_types();

}  // namespace onebill::contracts
