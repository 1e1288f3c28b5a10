// The signed entry (ARCHITECTURE.md, "The signed entry"): {"tx": {type, doc, signer, nonce, ts, body}, "sig"}.
//
// Shared by the node (admission, apply pipeline) and the offline verifier, so both compute the same tx id from the
// same bytes. The schema is closed at both levels: an unknown field in the envelope or in tx is rejected, never
// ignored. Parsing checks shape only (types, sizes, the canonical-JSON subset); whether the type is known, the doc
// id well-formed and the body valid is decided by apply() and recorded as an outcome.
//
// tx id = hex(hash(alg, canonical(tx))), canonical = RFC 8785 restricted to the subset of crypto/canonical_json.h.
// The signature covers exactly Envelope::canonical_tx and is not part of the id. Nothing here verifies it.
//
// Errors: the codes of crypto::parse_strict / canonicalize (bad_json, duplicate_key, float, integer_range, ...),
// and "bad_envelope" with a message naming the field ("tx.nonce: expected a non-negative integer").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/bytes.h"
#include "crypto/hash.h"
#include "crypto/result.h"

namespace onebill::contracts {

inline constexpr std::string_view kBadEnvelope = "bad_envelope";

struct Tx {
  std::string type;      // "kind.action", e.g. "bill.issue"
  std::string doc;       // the document acted on
  std::string signer;    // key id "org/name"
  std::int64_t nonce = 0;  // 0 .. 2^53-1, see nonce.h
  std::string ts;        // the signer's claimed time; informational only
  nlohmann::json body = nlohmann::json::object();
};

struct Envelope {
  Tx tx;
  crypto::Bytes sig;         // raw signature bytes (base64 in JSON)
  std::string canonical_tx;  // the bytes that were signed
  std::string id;            // lower-case hex tx id
};

// Shape checks of a tx object (closed schema; see the file comment). The rvalue form moves the body out.
Result<Tx> tx_from_json(const nlohmann::json& tx);
Result<Tx> tx_from_json(nlohmann::json&& tx);
nlohmann::json tx_to_json(const Tx& tx);
// canonical(tx) and the tx id under `alg`.
Result<std::string> canonical_tx(const Tx& tx);
Result<std::string> tx_id(crypto::HashAlg alg, const Tx& tx);

// Builds an envelope from parts: computes the canonical bytes and the id. too_deep if the tx nests deeper than a
// block's entry may (31: envelope_from_signed's limit), whatever parsed it.
Result<Envelope> make_envelope(Tx tx, crypto::Bytes sig, crypto::HashAlg alg);
// From already-parsed JSON (which must be inside the canonical subset) or from text (parsed with parse_strict).
// The rvalue form moves the body out instead of copying it.
Result<Envelope> envelope_from_json(const nlohmann::json& envelope, crypto::HashAlg alg);
Result<Envelope> envelope_from_json(nlohmann::json&& envelope, crypto::HashAlg alg);
// From the signed bytes themselves, as blocks and forwards carry them: `tx_text` must be canonical(tx) exactly
// (bad_envelope "tx: not canonical JSON ..." otherwise) and becomes canonical_tx as is; `sig` must not be empty.
Result<Envelope> envelope_from_signed(std::string_view tx_text, crypto::Bytes sig, crypto::HashAlg alg);
Result<Envelope> parse_envelope(std::string_view text, crypto::HashAlg alg);
// The fast path for a submission's body: the envelope of `text` if `text` is a canonical envelope
// {"sig":"<base64>","tx":<canonical tx>} that parse_envelope reads without error (it then reads the same
// envelope: the same tx, signature, canonical bytes and id); nullopt otherwise, without saying why — parse_envelope
// names the problem. The tx is read by envelope_from_signed, straight from its bytes.
std::optional<Envelope> envelope_from_canonical(std::string_view text, crypto::HashAlg alg);
// {"tx": ..., "sig": base64}.
nlohmann::json envelope_to_json(const Envelope& envelope);

}  // namespace onebill::contracts
