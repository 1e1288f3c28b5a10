#include "contracts/envelope.h"

#include <algorithm>
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

// Json is `const nlohmann::json` (the body is copied) or `nlohmann::json` (the body is moved out).
template <typename Json>
Result<Tx> tx_from(Json& tx) {
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
  if (!nonce->is_number_integer() || nonce->template get<std::int64_t>() < 0 ||
      nonce->template get<std::int64_t>() > crypto::kMaxSafeInteger) {
    return bad("tx.nonce", "expected an integer from 0 to 2^53-1");
  }
  auto body = tx.find("body");
  if (body == tx.end()) return bad("tx.body", "missing");
  if (!body->is_object()) return bad("tx.body", "expected an object");
  out.type = std::move(type.value());
  out.doc = std::move(doc.value());
  out.signer = std::move(signer.value());
  out.ts = std::move(ts.value());
  out.nonce = nonce->template get<std::int64_t>();
  out.body = std::move(*body);
  return out;
}

}  // namespace

Result<Tx> tx_from_json(const nlohmann::json& tx) { return tx_from(tx); }
Result<Tx> tx_from_json(nlohmann::json&& tx) { return tx_from(tx); }

nlohmann::json tx_to_json(const Tx& tx) {
  return nlohmann::json{{"type", tx.type}, {"doc", tx.doc},   {"signer", tx.signer},
                        {"nonce", tx.nonce}, {"ts", tx.ts}, {"body", tx.body}};
}

Result<std::string> canonical_tx(const Tx& tx) {
  // Written field by field in key order, the body straight from its tree: the bytes canonicalize(tx_to_json(tx))
  // gives, without first copying the body into a new tree.
  crypto::CanonicalWriter w;
  w.begin_object();
  w.key("body");
  w.value(tx.body);
  w.key("doc");
  w.string(tx.doc);
  w.key("nonce");
  w.integer(tx.nonce);
  w.key("signer");
  w.string(tx.signer);
  w.key("ts");
  w.string(tx.ts);
  w.key("type");
  w.string(tx.type);
  w.end_object();
  if (w.ok()) return w.take();
  return crypto::canonicalize(tx_to_json(tx));  // outside the subset: canonicalize names the problem
}

Result<std::string> tx_id(crypto::HashAlg alg, const Tx& tx) {
  auto canonical = canonical_tx(tx);
  if (!canonical) return canonical.error();
  return crypto::hex(crypto::hash(alg, *canonical));
}

namespace {

// The envelope of a tx whose canonical bytes are known: the id is their hash.
Envelope assemble(Tx tx, std::string canonical, crypto::Bytes sig, crypto::HashAlg alg) {
  Envelope env;
  env.id = crypto::hex(crypto::hash(alg, canonical));
  env.canonical_tx = std::move(canonical);
  env.tx = std::move(tx);
  env.sig = std::move(sig);
  return env;
}

}  // namespace

namespace {
// How deeply objects and arrays nest in `j` (a scalar: 0), as the strict parser counts against max_depth.
int nesting(const nlohmann::json& j) {
  if (!j.is_structured()) return 0;
  int deepest = 0;
  for (const auto& v : j) deepest = std::max(deepest, nesting(v));
  return deepest + 1;
}
}  // namespace

Result<Envelope> make_envelope(Tx tx, crypto::Bytes sig, crypto::HashAlg alg) {
  // No deeper than envelope_from_signed reads signed bytes (the tx object, then its body), whatever the caller's
  // parse allowed — a batch's bare list leaves its envelopes a level more, a node-signed submission's tx is the
  // whole request: an entry admitted must decode from a block the same way on every node.
  if (const int limit = crypto::JsonLimits{}.max_depth - 1; 1 + nesting(tx.body) > limit) {
    return make_error("too_deep", "tx: nested deeper than " + std::to_string(limit) + " levels");
  }
  auto canonical = canonical_tx(tx);
  if (!canonical) return canonical.error();
  return assemble(std::move(tx), std::move(canonical.value()), std::move(sig), alg);
}

namespace {

template <typename Json>
Result<Envelope> envelope_from(Json& envelope, crypto::HashAlg alg) {
  if (!envelope.is_object()) return bad("envelope", "expected an object");
  for (const auto& [key, value] : envelope.items()) {
    if (key != "tx" && key != "sig") return bad(key, "unknown field");
  }
  auto tx_it = envelope.find("tx");
  if (tx_it == envelope.end()) return bad("tx", "missing");
  const auto sig_it = envelope.find("sig");
  if (sig_it == envelope.end()) return bad("sig", "missing");
  if (!sig_it->is_string() || sig_it->template get_ref<const std::string&>().empty()) {
    return bad("sig", "expected a base64 string");
  }
  auto sig = crypto::base64_decode(sig_it->template get_ref<const std::string&>());
  if (!sig) return bad("sig", sig.error().message);
  auto tx = tx_from(*tx_it);
  if (!tx) return tx.error();
  return make_envelope(std::move(tx.value()), std::move(sig.value()), alg);
}

}  // namespace

Result<Envelope> envelope_from_json(const nlohmann::json& envelope, crypto::HashAlg alg) {
  return envelope_from(envelope, alg);
}

Result<Envelope> envelope_from_json(nlohmann::json&& envelope, crypto::HashAlg alg) {
  return envelope_from(envelope, alg);
}

Result<Envelope> envelope_from_signed(std::string_view tx_text, crypto::Bytes sig, crypto::HashAlg alg) {
  if (sig.empty()) return bad("sig", "empty");
  // One level less deep than a whole envelope may be, so whatever arrives this way also parses as an envelope.
  crypto::JsonLimits limits;
  limits.max_depth -= 1;
  // Signed bytes are canonical (or refused): read in one pass as such, they need no serializing again to be
  // compared. Anything else takes the strict parse below, which names what is wrong.
  if (auto canonical = crypto::parse_canonical(tx_text, limits)) {
    auto tx = tx_from(*canonical);
    if (!tx) return tx.error();
    // canonical_tx(*tx) == tx_text: the text is canonicalize() of this tx's tree (crypto/canonical_json.h).
    return assemble(std::move(tx.value()), std::string(tx_text), std::move(sig), alg);
  }
  auto parsed = crypto::parse_strict(tx_text, limits);
  if (!parsed) return parsed.error();
  auto tx = tx_from(*parsed);
  if (!tx) return tx.error();
  auto canonical = canonical_tx(*tx);
  if (!canonical) return canonical.error();
  if (*canonical != tx_text) {
    return bad("tx", "not canonical JSON (RFC 8785): the signed bytes must be canonical(tx) exactly");
  }
  return assemble(std::move(tx.value()), std::move(canonical.value()), std::move(sig), alg);
}

Result<Envelope> parse_envelope(std::string_view text, crypto::HashAlg alg) {
  auto json = crypto::parse_strict(text);
  if (!json) return json.error();
  return envelope_from_json(std::move(*json), alg);
}

std::optional<Envelope> envelope_from_canonical(std::string_view text, crypto::HashAlg alg) {
  // Keys in order, no space: the signature's string, then the tx as the rest of the object.
  constexpr std::string_view kHead = "{\"sig\":\"";
  constexpr std::string_view kMiddle = "\",\"tx\":";
  if (!text.starts_with(kHead) || !text.ends_with('}')) return std::nullopt;
  const std::size_t quote = text.find('"', kHead.size());
  if (quote == std::string_view::npos || text.substr(quote, kMiddle.size()) != kMiddle) return std::nullopt;
  const std::string_view sig_text = text.substr(kHead.size(), quote - kHead.size());
  // Base64 has no backslash: a string with an escape in it is no signature either way, and is left to the strict
  // parse to refuse.
  if (sig_text.empty() || sig_text.find('\\') != std::string_view::npos) return std::nullopt;
  auto sig = crypto::base64_decode(sig_text);
  if (!sig) return std::nullopt;
  const std::size_t tx_at = quote + kMiddle.size();
  auto e = envelope_from_signed(text.substr(tx_at, text.size() - tx_at - 1), std::move(*sig), alg);
  if (!e) return std::nullopt;
  return std::move(*e);
}

nlohmann::json envelope_to_json(const Envelope& envelope) {
  return nlohmann::json{{"tx", tx_to_json(envelope.tx)}, {"sig", crypto::base64_encode(envelope.sig)}};
}

}  // namespace onebill::contracts
