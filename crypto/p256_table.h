// P256Table: ECDSA P-256 verification against one public key Q with a precomputed table of Q's multiples.
//
// An ECDSA verification computes u1·G + u2·Q. OpenSSL multiplies by the generator G with a built-in table of its
// multiples (as fast as a signature) and by Q with a window computed on every call, which is most of a
// verification's cost. A node verifies signatures of the same few keys (its members') again and again, so for a
// key in heavy use it pays to compute Q's table once, as OpenSSL has for G: here, OpenSSL's own table code run on
// a copy of the P-256 group whose generator is Q (`EC_GROUP_precompute_mult`; about 150 KB and tens of
// milliseconds per key). u2·Q then costs what u1·G costs, and a verification about half of what
// `EVP_PKEY_verify` takes (docs/performance.md, "Cryptography").
//
// The answer is the same as EVP_PKEY_verify's for ECDSA with SHA-256 (ossl_ecdsa_simple_verify_sig): the signature
// must be strict DER (it is re-encoded and compared byte for byte), 0 < r, s < n, the point u1·G + u2·Q must not be
// the point at infinity and its x coordinate must be r modulo n. tests/crypto/p256_table_test.cpp and the fuzz
// target p256_verify_fuzz check it against EVP_PKEY_verify on valid, altered and malformed signatures.
//
// Internal to crypto: PublicKey (keys.h) owns a table and decides when to use it.
#pragma once

#include <memory>

#include "crypto/bytes.h"
#include "crypto/hash.h"

struct evp_pkey_st;
struct ec_group_st;

namespace onebill::crypto::detail {

class P256Table {
 public:
  enum class Answer { valid, invalid, error };  // error: OpenSSL failed (memory); ask EVP_PKEY_verify instead

  // Builds the table for the P-256 public key `key` and checks it: multiples of Q computed with the table must
  // equal those computed without it. nullptr if the key is not P-256, OpenSSL fails, or the check does (the
  // caller then keeps verifying without a table).
  static std::unique_ptr<P256Table> build(evp_pkey_st* key);
  ~P256Table();
  P256Table(const P256Table&) = delete;
  P256Table& operator=(const P256Table&) = delete;

  // Verifies a DER-encoded ECDSA signature over a 32-byte SHA-256 digest. Safe from several threads at once.
  Answer verify(const Digest& digest, ByteView der_signature) const;

  // The inverse of a modulo the P-256 group order n (0 < a < n), exposed for its test against BN_mod_inverse:
  // 32-byte big-endian numbers. False if a is 0 or not below n.
  static bool inverse_mod_order(const unsigned char a[32], unsigned char out[32]);

 private:
  explicit P256Table(ec_group_st* group) : group_(group) {}
  ec_group_st* group_;  // P-256 with generator Q, carrying the table; owned
};

}  // namespace onebill::crypto::detail
