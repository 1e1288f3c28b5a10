// API tokens: who a REST request is, and what it may do.
//
// The node never stores a token, only its SHA-256 (hex) with the token's organisation and scopes, as listed in
// the node's config. A request presents `Authorization: Bearer <token>`; the node hashes it and looks it up.
// Scopes: submit (POST signed entries), sign (POST unsigned entries that the node signs with its org key),
// read (GET business data of documents the token's org is involved in; all of it for customs and auditors),
// admin (operational endpoints).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/result.h"

namespace onebill::node {

enum class Scope : std::uint8_t { submit = 1, sign = 2, read = 4, admin = 8 };

Result<Scope> parse_scope(std::string_view name);

struct Principal {
  std::string name;  // the token's name in the config, for logs
  std::string org;
  std::uint8_t scopes = 0;
  bool has(Scope s) const { return (scopes & static_cast<std::uint8_t>(s)) != 0; }
};

class TokenStore {
 public:
  // From the config's "tokens" array: [{"name", "org", "sha256": "<64 hex>", "scopes": ["submit", ...]}].
  static Result<TokenStore> from_json(const nlohmann::json& tokens);
  void add(const std::string& sha256_hex, Principal p) { by_hash_[sha256_hex] = std::move(p); }

  // The principal for a presented token, or nothing.
  std::optional<Principal> find(std::string_view token) const;
  // From an Authorization header value. Errors: "unauthorized" (missing, malformed or unknown token).
  Result<Principal> authenticate(std::string_view authorization) const;

  std::size_t size() const { return by_hash_.size(); }

 private:
  std::map<std::string, Principal, std::less<>> by_hash_;
};

// A new random token (64 hex characters) and the hash to put in a config.
struct NewToken {
  std::string token;
  std::string sha256_hex;
};
NewToken generate_token();
std::string token_hash(std::string_view token);

}  // namespace onebill::node
