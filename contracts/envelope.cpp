#include "contracts/envelope.h"

#include <utility>

#include "crypto/canonical_json.h"

namespace onebill::contracts {
namespace {

Error bad(std::string field, std::string_view what) {
  return make_error(std::string(kBadEnvelope), std::move(field).append(": ").append(what));
}

Status check_keys(const nlohmann::json& obj, std::string_view where, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || key == k;
    if (!ok) return bad(std::string(where).append(".").append(key), "unknown field");
  }
  return {};
}

Result<std::string> string_field(const nlohmann::json& obj, std::string_view name, std::size_t max_len,
                                 bool allow_empty = false) {
  const std::string field = std::string("tx.").append(name);
  const auto it = obj.find(name);
  if (it == obj.end()) return bad(field, "missing");
  if (!it->is_string()) return bad(field, "expected a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() && !allow_empty) return bad(field, "empty");
  if (s.size() > max_len) return bad(field, "too long");
  return s;
}

}  // namespace

Result<Tx> tx_from_json(const nlohmann::json& tx) {
  if (!tx.is_object()) return bad("tx", "expected an object");
  if (auto s = check_keys(tx, "tx", {"type", "doc", "signer", "nonce", "ts", "body"}); !s) return s.error();
  Tx out;
  auto type = string_field(tx, "type", 64);
  if (!type) return type.error();
  auto doc = string_field(tx, "doc", 256);
  if (!doc) return doc.error();
  auto signer = string_field(tx, "signer", 128);
  if (!signer) return signer.error();
  auto ts = string_field(tx, "ts", 64, /*allow_empty=*/true);
  if (!ts) return ts.error();
  const auto nonce = tx.find("nonce");
  if (nonce == tx.end()) return bad("tx.nonce", "missing");
  if (!nonce->is_number_integer() || nonce->get<std::int64_t>() < 0 ||
      nonce->get<std::int64_t>() > crypto::kMaxSafeInteger) {
    return bad("tx.nonce", "expected an integer from 0 to 2^53-1");
  }
  const auto body = tx.find("body");
  if (body == tx.end()) return bad("tx.body", "missing");
  if (!body->is_object()) return bad("tx.body", "expected an object");
  out.type = std::move(type.value());
  out.doc = std::move(doc.value());
  out.signer = std::move(signer.value());
  out.ts = std::move(ts.value());
  out.nonce = nonce->get<std::int64_t>();
  out.body = *body;
  return out;
}

nlohmann::json tx_to_json(const Tx& tx) {
  return nlohmann::json{{"type", tx.type}, {"doc", tx.doc},   {"signer", tx.signer},
                        {"nonce", tx.nonce}, {"ts", tx.ts}, {"body", tx.body}};
}

Result<std::string> canonical_tx(const Tx& tx) { return crypto::canonicalize(tx_to_json(tx)); }

Result<std::string> tx_id(crypto::HashAlg alg, const Tx& tx) {
  auto canonical = canonical_tx(tx);
  if (!canonical) return canonical.error();
  return crypto::hex(crypto::hash(alg, *canonical));
}

Result<Envelope> make_envelope(Tx tx, crypto::Bytes sig, crypto::HashAlg alg) {
  auto canonical = canonical_tx(tx);
  if (!canonical) return canonical.error();
  Envelope env;
  env.id = crypto::hex(crypto::hash(alg, *canonical));
  env.canonical_tx = std::move(canonical.value());
  env.tx = std::move(tx);
  env.sig = std::move(sig);
  return env;
}

Result<Envelope> envelope_from_json(const nlohmann::json& envelope, crypto::HashAlg alg) {
  if (!envelope.is_object()) return bad("envelope", "expected an object");
  for (const auto& [key, value] : envelope.items()) {
    if (key != "tx" && key != "sig") return bad(key, "unknown field");
  }
  const auto tx_it = envelope.find("tx");
  if (tx_it == envelope.end()) return bad("tx", "missing");
  const auto sig_it = envelope.find("sig");
  if (sig_it == envelope.end()) return bad("sig", "missing");
  if (!sig_it->is_string() || sig_it->get_ref<const std::string&>().empty()) {
    return bad("sig", "expected a base64 string");
  }
  auto sig = crypto::base64_decode(sig_it->get_ref<const std::string&>());
  if (!sig) return bad("sig", sig.error().message);
  auto tx = tx_from_json(*tx_it);
  if (!tx) return tx.error();
  return make_envelope(std::move(tx.value()), std::move(sig.value()), alg);
}

Result<Envelope> parse_envelope(std::string_view text, crypto::HashAlg alg) {
  auto json = crypto::parse_strict(text);
  if (!json) return json.error();
  return envelope_from_json(*json, alg);
}

nlohmann::json envelope_to_json(const Envelope& envelope) {
  return nlohmann::json{{"tx", tx_to_json(envelope.tx)}, {"sig", crypto::base64_encode(envelope.sig)}};
}

}  // namespace onebill::contracts
