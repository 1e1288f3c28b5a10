#include "clients/token.h"

#include <openssl/rand.h>

#include <array>

#include "crypto/bytes.h"
#include "crypto/hash.h"

namespace onebill::clients {

std::string token_hash(std::string_view token) { return crypto::hex(crypto::hash(crypto::HashAlg::sha256, token)); }

Result<NewToken> new_token() {
  std::array<unsigned char, 32> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return make_error("no_entropy", "OpenSSL's random generator failed");
  }
  NewToken t;
  t.token = crypto::hex_encode(crypto::ByteView(raw.data(), raw.size()));
  t.sha256_hex = token_hash(t.token);
  return t;
}

}  // namespace onebill::clients
