// Signing entries on the client side (ARCHITECTURE.md, "The signed entry"): the signature covers exactly
// contracts::canonical_tx(tx), RFC 8785 canonical JSON, as the node and the offline verifier check it.
#pragma once

#include <cstdint>
#include <string>

#include "contracts/envelope.h"
#include "crypto/keys.h"
#include "crypto/result.h"

namespace onebill::clients {

// Signs `tx` with `key` and checks the signature with the key's public half before returning. The envelope's id
// is computed with `alg` (the network's hash; the id is not part of the JSON form).
Result<contracts::Envelope> sign_tx(const crypto::PrivateKey& key, contracts::Tx tx,
                                    crypto::HashAlg alg = crypto::HashAlg::sha256);

// The envelope as one line of JSON in the documented field order: {"tx": {type, doc, signer, nonce, ts, body},
// "sig"}. (Order is for people; the signature covers the canonical form, whatever the order here.)
std::string envelope_text(const contracts::Envelope& envelope);

// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (the informational tx.ts).
std::string iso_now();

}  // namespace onebill::clients
