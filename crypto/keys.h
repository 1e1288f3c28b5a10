// Signature keys over OpenSSL EVP: Ed25519 (RFC 8032), ECDSA P-256 with SHA-256 (DER signatures, FIPS 186-4),
// and SM2 with SM3 (GB/T 32918, default distinguishing id "1234567812345678").
//
// Keys are immutable after construction and cheap to copy (shared ownership of the OpenSSL key). sign() and
// verify() may be called from several threads at once on the same key object.
// Every failure is an error value: wrong key type, truncated or garbage PEM, garbage signatures. Nothing here
// throws or aborts on bad input.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>
#include <string>
#include <string_view>

#include "crypto/bytes.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace onebill::crypto {

enum class SigAlg { ed25519, ecdsa_p256, sm2 };

// "ed25519" | "ecdsa-p256" | "sm2"; anything else is "unknown_alg".
Result<SigAlg> parse_sig_alg(std::string_view name);
std::string_view sig_alg_name(SigAlg alg);

class PublicKey {
 public:
  // PEM "PUBLIC KEY" (SubjectPublicKeyInfo). The key inside must be of `expected` algorithm, else "wrong_key_type";
  // a PEM that does not parse is "bad_pem".
  static Result<PublicKey> from_pem(std::string_view pem, SigAlg expected);
  // Same, taking the algorithm from the key itself.
  static Result<PublicKey> from_pem_any(std::string_view pem);
  // DER SubjectPublicKeyInfo.
  static Result<PublicKey> from_der(ByteView der, SigAlg expected);

  SigAlg alg() const { return alg_; }
  std::string to_pem() const;
  Bytes to_der() const;  // SubjectPublicKeyInfo: a stable identity for pinning and comparison

  // True only if `signature` is a valid signature of `message` under this key. Malformed signatures are false.
  bool verify(ByteView message, ByteView signature) const;
  bool verify(std::string_view message, ByteView signature) const { return verify(as_bytes(message), signature); }

  evp_pkey_st* native() const { return key_.get(); }

  // ---- ECDSA P-256 verification tables (crypto/p256_table.h) ----
  // A table of this key's multiples (about 150 KB, tens of milliseconds to build) makes each verification about
  // half as costly. It pays for a key that verifies many signatures, so it is built only for one that has
  // verified `uses_before_table` of them, and at most `max_tables` exist in the process. The key never builds it
  // by itself: claim_table() says (true once per key) that the caller should call build_table(), typically on a
  // background thread; verify() uses the table as soon as it is there, with the same answers.
  bool claim_table() const;
  // Builds the table now (for any P-256 key, claimed or not; a no-op once built or for other algorithms).
  // Thread-safe; verify() may run meanwhile. False if there is none after the call.
  bool build_table() const;
  bool has_table() const;
  // Gives back a claim that will not be built after all (the builder is stopping or has no thread): the key may
  // be claimed again later.
  void unclaim_table() const;

  struct TablePolicy {
    // A table costs about as much to build as 1,000 verifications save. A member's key signs all day, so the
    // threshold mostly decides how soon after a start (or after the key is added) its table exists: 32 uses, a
    // second or two of steady load. The worst a wrong guess costs is one build (25-50 ms at a low priority) and
    // 150 KB, within max_tables.
    std::uint64_t uses_before_table = 32;
    std::size_t max_tables = 128;  // about 19 MB
  };
  static void set_table_policy(TablePolicy policy);
  static TablePolicy table_policy();
  static std::size_t tables_in_use();  // built or being built, process-wide (what max_tables bounds)
  static std::size_t tables_built();   // built, process-wide

 private:
  PublicKey(std::shared_ptr<evp_pkey_st> key, SigAlg alg);
  std::shared_ptr<evp_pkey_st> key_;
  SigAlg alg_;
  // ECDSA verification contexts kept for reuse (initialising one costs ~6 % of a verify), the use count and the
  // table; shared by copies.
  struct VerifyPool;
  std::shared_ptr<VerifyPool> pool_;
  friend class PrivateKey;
  friend struct KeyAccess;
};

class PrivateKey {
 public:
  static Result<PrivateKey> generate(SigAlg alg);
  // PEM "PRIVATE KEY" (unencrypted PKCS#8). The same errors as PublicKey::from_pem.
  static Result<PrivateKey> from_pem(std::string_view pem, SigAlg expected);
  static Result<PrivateKey> from_pem_any(std::string_view pem);

  // Ed25519 from its 32-byte RFC 8032 seed (for test vectors and deterministic fixtures).
  static Result<PrivateKey> ed25519_from_seed(ByteView seed);

  SigAlg alg() const { return alg_; }
  std::string to_pem() const;  // PKCS#8, unencrypted: protect the file (0600)
  PublicKey public_key() const;

  // Ed25519 signatures are 64 bytes; ECDSA P-256 and SM2 are DER-encoded (r, s). "sign_failed" only if OpenSSL
  // itself fails.
  Result<Bytes> sign(ByteView message) const;
  Result<Bytes> sign(std::string_view message) const { return sign(as_bytes(message)); }

  evp_pkey_st* native() const { return key_.get(); }

 private:
  PrivateKey(std::shared_ptr<evp_pkey_st> key, SigAlg alg) : key_(std::move(key)), alg_(alg) {}
  std::shared_ptr<evp_pkey_st> key_;
  SigAlg alg_;
  friend struct KeyAccess;
};

// The SM2 distinguishing identifier used when none is configured (GB/T 35276).
inline constexpr std::string_view kSm2DefaultId = "1234567812345678";

}  // namespace onebill::crypto
