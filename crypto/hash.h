// Hash functions selected by name: SHA-256 (FIPS 180-4) and SM3 (GB/T 32905-2016), both 256-bit.
//
// A network picks one in genesis ("hash": "sha256" | "sm3"); it is used for tx ids, block hashes and the
// Merkle log. Thread-safety: the free functions are safe to call from any thread; a Hasher is not shared.
#pragma once

#include <array>
#include <initializer_list>
#include <memory>
#include <string_view>

#include "crypto/bytes.h"

namespace onebill::crypto {

enum class HashAlg { sha256, sm3 };

inline constexpr std::size_t kDigestSize = 32;
using Digest = std::array<std::uint8_t, kDigestSize>;

// "sha256" | "sm3"; anything else is "unknown_hash".
Result<HashAlg> parse_hash_alg(std::string_view name);
std::string_view hash_alg_name(HashAlg alg);

Digest hash(HashAlg alg, ByteView data);
inline Digest hash(HashAlg alg, std::string_view data) { return hash(alg, as_bytes(data)); }
// The hash of the parts one after the other (as one Hasher fed each of them), without a Hasher's allocations.
Digest hash(HashAlg alg, std::initializer_list<ByteView> parts);

std::string hex(const Digest& d);
Result<Digest> digest_from_hex(std::string_view text);  // exactly 64 hex digits, else "bad_digest"

// Incremental hashing of data given in pieces.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Hasher& update(ByteView data);
  Hasher& update(std::string_view data) { return update(as_bytes(data)); }
  Hasher& update(std::uint8_t byte) { return update(ByteView(&byte, 1)); }
  Digest finish();  // the Hasher may be reused after finish(): it starts over

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace onebill::crypto
