// API tokens for onebilld (node/auth.h): a token is 32 random bytes written as 64 lower-case hex characters; the
// node's config stores only its SHA-256 (hex). Reimplemented here because clients never link node code; the two
// must agree (tests/clients check the hash against crypto::hash).
#pragma once

#include <string>
#include <string_view>

#include "crypto/result.h"

namespace onebill::clients {

struct NewToken {
  std::string token;       // 64 hex characters: give to the client
  std::string sha256_hex;  // put in the node config's "tokens" entry
};

// From OpenSSL's RAND_bytes. Error "no_entropy" if the generator fails.
Result<NewToken> new_token();
std::string token_hash(std::string_view token);

}  // namespace onebill::clients
