#include "node/auth.h"

#include <openssl/rand.h>

#include "crypto/hash.h"

namespace onebill::node {

Result<Scope> parse_scope(std::string_view name) {
  if (name == "submit") return Scope::submit;
  if (name == "sign") return Scope::sign;
  if (name == "read") return Scope::read;
  if (name == "admin") return Scope::admin;
  return make_error("bad_config", "unknown token scope '" + std::string(name) + "' (submit, sign, read, admin)");
}

std::string token_hash(std::string_view token) { return crypto::hex(crypto::hash(crypto::HashAlg::sha256, token)); }

NewToken generate_token() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) std::abort();  // no entropy: nothing safe can be done
  std::string token = crypto::hex_encode(crypto::ByteView(raw, sizeof raw));
  return {token, token_hash(token)};
}

Result<TokenStore> TokenStore::from_json(const nlohmann::json& tokens) {
  TokenStore store;
  if (tokens.is_null()) return store;
  if (!tokens.is_array()) return make_error("bad_config", "tokens must be an array");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    std::string where = "tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("org") || !t["org"].is_string() || !t.contains("sha256") ||
        !t["sha256"].is_string() || !t.contains("scopes") || !t["scopes"].is_array()) {
      return make_error("bad_config", where + " needs org, sha256 and scopes");
    }
    for (const auto& [k, v] : t.items()) {
      if (k != "name" && k != "org" && k != "sha256" && k != "scopes") {
        return make_error("bad_config", "unknown field '" + where + "." + k + "'");
      }
    }
    if (t.contains("name") && !t["name"].is_string()) return make_error("bad_config", where + ".name must be a string");
    std::string hash = t["sha256"].get<std::string>();
    if (!crypto::digest_from_hex(hash)) return make_error("bad_config", where + ".sha256 is not 64 hex digits");
    Principal p;
    p.org = t["org"].get<std::string>();
    p.name = t.value("name", where);
    for (const auto& s : t["scopes"]) {
      if (!s.is_string()) return make_error("bad_config", where + ".scopes must be strings");
      auto scope = parse_scope(s.get<std::string>());
      if (!scope) return scope.error();
      p.scopes |= static_cast<std::uint8_t>(*scope);
    }
    for (auto& c : hash) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    store.add(hash, std::move(p));
  }
  return store;
}

std::optional<Principal> TokenStore::find(std::string_view token) const {
  auto it = by_hash_.find(token_hash(token));
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

Result<Principal> TokenStore::authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) return make_error("unauthorized", "an API token is required (Authorization: Bearer)");
  if (authorization.substr(0, kBearer.size()) != kBearer || authorization.size() == kBearer.size()) {
    return make_error("unauthorized", "the Authorization header must be 'Bearer <token>'");
  }
  auto p = find(authorization.substr(kBearer.size()));
  if (!p) return make_error("unauthorized", "unknown or revoked API token");
  return *p;
}

}  // namespace onebill::node
