#include "clients/signing.h"

#include <chrono>
#include <ctime>

namespace onebill::clients {

Result<contracts::Envelope> sign_tx(const crypto::PrivateKey& key, contracts::Tx tx, crypto::HashAlg alg) {
  auto canonical = contracts::canonical_tx(tx);
  if (!canonical) return canonical.error();
  auto sig = key.sign(*canonical);
  if (!sig) return sig.error();
  if (!key.public_key().verify(*canonical, *sig)) {
    return make_error("sign_failed", "the new signature does not verify under the key's own public key");
  }
  return contracts::make_envelope(std::move(tx), std::move(*sig), alg);
}

std::string envelope_text(const contracts::Envelope& envelope) {
  const contracts::Tx& tx = envelope.tx;
  nlohmann::ordered_json j;
  j["tx"]["type"] = tx.type;
  j["tx"]["doc"] = tx.doc;
  j["tx"]["signer"] = tx.signer;
  j["tx"]["nonce"] = tx.nonce;
  j["tx"]["ts"] = tx.ts;
  j["tx"]["body"] = tx.body;
  j["sig"] = crypto::base64_encode(envelope.sig);
  return j.dump();
}

std::string iso_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace onebill::clients
