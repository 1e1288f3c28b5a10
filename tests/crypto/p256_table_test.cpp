// ECDSA P-256 verification with a key's table of multiples (crypto/p256_table.h) must answer exactly as OpenSSL's
// EVP_PKEY_verify does, for valid signatures, altered ones, and encodings OpenSSL refuses. OpenSSL's verification
// is the oracle throughout; the keys' policy (claim, build, limits) is checked through PublicKey.
#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/p256_table.h"
#include "tests/crypto/test_util.h"

namespace onebill::crypto {
namespace {

using detail::P256Table;
using test::tohex;
using test::unhex;

const char* kOrderHex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

PrivateKey p256_key() {
  auto k = PrivateKey::generate(SigAlg::ecdsa_p256);
  REQUIRE(k.ok());
  return std::move(*k);
}

// OpenSSL's own answer for a DER signature over a digest.
bool evp_verify(const PublicKey& pub, const Digest& digest, const Bytes& sig) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(pub.native(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  REQUIRE(ctx);
  REQUIRE(EVP_PKEY_verify_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1);
  return EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest.data(), digest.size()) == 1;
}

// A signature over a chosen digest (not over a message), so that digests at the edges can be signed.
Bytes sign_digest(const PrivateKey& key, const Digest& digest) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.native(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  REQUIRE(ctx);
  REQUIRE(EVP_PKEY_sign_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1);
  std::size_t len = 0;
  REQUIRE(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) == 1);
  Bytes sig(len);
  REQUIRE(EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()) == 1);
  sig.resize(len);
  return sig;
}

// DER of SEQUENCE { INTEGER r, INTEGER s } from big-endian magnitudes, minimal unless told otherwise.
Bytes der_integer(const Bytes& magnitude) {
  std::size_t i = 0;
  while (i + 1 < magnitude.size() && magnitude[i] == 0) ++i;
  const bool sign_byte = i < magnitude.size() && (magnitude[i] & 0x80) != 0;
  Bytes out{0x02, static_cast<std::uint8_t>(magnitude.size() - i + (sign_byte ? 1 : 0))};
  if (sign_byte) out.push_back(0);
  for (; i < magnitude.size(); ++i) out.push_back(magnitude[i]);
  return out;
}
Bytes der_sig(const Bytes& r, const Bytes& s) {
  Bytes body = der_integer(r);
  Bytes s_der = der_integer(s);
  body.insert(body.end(), s_der.begin(), s_der.end());
  Bytes out{0x30, static_cast<std::uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// r and s of a DER signature as 32-byte big-endian numbers.
std::pair<Bytes, Bytes> split_sig(const Bytes& sig) {
  REQUIRE(sig.size() >= 8);
  std::size_t at = 2;
  auto integer = [&]() {
    REQUIRE(sig[at] == 0x02);
    const std::size_t len = sig[at + 1];
    Bytes v(sig.begin() + static_cast<std::ptrdiff_t>(at + 2), sig.begin() + static_cast<std::ptrdiff_t>(at + 2 + len));
    at += 2 + len;
    while (v.size() > 32 && v[0] == 0) v.erase(v.begin());
    while (v.size() < 32) v.insert(v.begin(), 0);
    return v;
  };
  Bytes r = integer();
  Bytes s = integer();
  return {r, s};
}

// a ± b on 32-byte big-endian numbers (mod 2^256; the tests keep them in range).
Bytes add_be(Bytes a, const Bytes& b, bool subtract = false) {
  int carry = 0;
  for (int i = 31; i >= 0; --i) {
    auto k = static_cast<std::size_t>(i);
    int v = subtract ? a[k] - b[k] - carry : a[k] + b[k] + carry;
    carry = subtract ? (v < 0 ? 1 : 0) : (v > 255 ? 1 : 0);
    a[k] = static_cast<std::uint8_t>(v & 0xff);
  }
  return a;
}
Bytes small(std::uint8_t v) {
  Bytes b(32, 0);
  b[31] = v;
  return b;
}

void check_same(const P256Table& table, const PublicKey& pub, const Digest& digest, const Bytes& sig) {
  INFO("signature " << tohex(sig) << " digest " << tohex(digest));
  const bool oracle = evp_verify(pub, digest, sig);
  const P256Table::Answer answer = table.verify(digest, sig);
  REQUIRE(answer != P256Table::Answer::error);
  CHECK((answer == P256Table::Answer::valid) == oracle);
}

}  // namespace

TEST_CASE("p256 table: the inverse modulo the group order agrees with BN_mod_inverse", "[keys][p256]") {
  const Bytes n = unhex(kOrderHex);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> order(BN_bin2bn(n.data(), 32, nullptr), BN_free);
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> a(BN_new(), BN_free), inv(BN_new(), BN_free);
  std::mt19937_64 rng(2026);
  std::vector<Bytes> inputs = {small(1), small(2), small(3), add_be(n, small(1), true), add_be(n, small(2), true),
                               unhex("8000000000000000000000000000000000000000000000000000000000000000"),
                               unhex("0000000000000000000000000000000100000000000000000000000000000000")};
  // Every power of two, n minus each (long runs of ones and zeros, numbers of every length: the variable-time
  // divsteps take their longest and shortest paths), and random numbers.
  for (int k = 0; k < 256; ++k) {
    Bytes p(32, 0);
    p[static_cast<std::size_t>(31 - k / 8)] = static_cast<std::uint8_t>(1u << (k % 8));
    inputs.push_back(p);
    if (k < 255) inputs.push_back(add_be(n, p, true));
  }
  for (int i = 0; i < 20000; ++i) {
    Bytes b(32);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (i % 3 == 0) b[0] = static_cast<std::uint8_t>(b[0] >> (i % 8));  // shorter numbers too
    if (i % 7 == 0) std::fill(b.begin(), b.begin() + (i / 7) % 32, 0);  // and much shorter
    inputs.push_back(b);
  }
  int checked = 0;
  for (const Bytes& in : inputs) {
    REQUIRE(BN_bin2bn(in.data(), 32, a.get()) != nullptr);
    unsigned char out[32];
    const bool in_range = !BN_is_zero(a.get()) && BN_cmp(a.get(), order.get()) < 0;
    INFO("a = " << tohex(in));
    REQUIRE(P256Table::inverse_mod_order(in.data(), out) == in_range);
    if (!in_range) continue;
    REQUIRE(BN_mod_inverse(inv.get(), a.get(), order.get(), ctx.get()) != nullptr);
    unsigned char expected[32];
    REQUIRE(BN_bn2binpad(inv.get(), expected, 32) == 32);
    CHECK(tohex(ByteView(out, 32)) == tohex(ByteView(expected, 32)));
    ++checked;
  }
  CHECK(checked > 20000);
  unsigned char out[32];
  CHECK_FALSE(P256Table::inverse_mod_order(small(0).data(), out));
  CHECK_FALSE(P256Table::inverse_mod_order(n.data(), out));
  CHECK_FALSE(P256Table::inverse_mod_order(unhex(std::string(64, 'f')).data(), out));
}

TEST_CASE("p256 table: valid signatures of many keys verify, as with OpenSSL", "[keys][p256]") {
  for (int k = 0; k < 12; ++k) {
    const PrivateKey key = p256_key();
    const PublicKey pub = key.public_key();
    auto table = P256Table::build(pub.native());
    REQUIRE(table);
    for (int m = 0; m < 20; ++m) {
      const std::string message = "key " + std::to_string(k) + " message " + std::to_string(m);
      auto sig = key.sign(message);
      REQUIRE(sig.ok());
      const Digest d = hash(HashAlg::sha256, message);
      CHECK(table->verify(d, *sig) == P256Table::Answer::valid);
      CHECK(evp_verify(pub, d, *sig));
      CHECK(table->verify(hash(HashAlg::sha256, message + "."), *sig) == P256Table::Answer::invalid);
    }
  }
}

TEST_CASE("p256 table: digests at the edges of the scalar range", "[keys][p256]") {
  const PrivateKey key = p256_key();
  const PublicKey pub = key.public_key();
  auto table = P256Table::build(pub.native());
  REQUIRE(table);
  const Bytes n = unhex(kOrderHex);
  // e = 0 (u1 = 0: the sum is u2·Q alone), e = n (≡ 0), e = n + 1, e = 2^256 - 1 (above n), e = 1.
  for (const Bytes& e : {small(0), n, add_be(n, small(1)), unhex(std::string(64, 'f')), small(1)}) {
    Digest d{};
    std::copy(e.begin(), e.end(), d.begin());
    for (int i = 0; i < 5; ++i) {
      const Bytes sig = sign_digest(key, d);
      check_same(*table, pub, d, sig);
      CHECK(table->verify(d, sig) == P256Table::Answer::valid);
    }
  }
}

TEST_CASE("p256 table: altered and malformed signatures get OpenSSL's answer", "[keys][p256][negative]") {
  std::mt19937 rng(11);
  const PrivateKey key = p256_key();
  const PublicKey pub = key.public_key();
  auto table = P256Table::build(pub.native());
  REQUIRE(table);
  const Bytes n = unhex(kOrderHex);
  for (int round = 0; round < 10; ++round) {
    const std::string message = "round " + std::to_string(round);
    const Digest d = hash(HashAlg::sha256, message);
    auto signed_ = key.sign(message);
    REQUIRE(signed_.ok());
    const Bytes sig = *signed_;
    auto [r, s] = split_sig(sig);
    REQUIRE(der_sig(r, s) == sig);

    std::vector<Bytes> cases;
    cases.push_back(sig);
    cases.push_back(der_sig(r, add_be(n, s, true)));  // s' = n - s: the other valid s, accepted by both
    cases.push_back(der_sig(s, r));                   // r and s swapped
    cases.push_back(der_sig(small(0), s));
    cases.push_back(der_sig(r, small(0)));
    cases.push_back(der_sig(n, s));
    cases.push_back(der_sig(r, n));
    cases.push_back(der_sig(add_be(r, n), s));  // r + n: beyond the order (and maybe the 32 bytes: a carry)
    cases.push_back(der_sig(r, add_be(s, n)));
    cases.push_back(der_sig(add_be(n, small(1), true), s));
    cases.push_back(der_sig(small(1), small(1)));
    cases.push_back(der_sig(r, add_be(s, small(1))));
    cases.push_back(der_sig(add_be(r, small(1)), s));
    // Encodings OpenSSL refuses: not minimal, trailing bytes, a wrong length, long-form lengths.
    {
      Bytes padded = sig;  // a superfluous leading zero in r
      padded[1] = static_cast<std::uint8_t>(padded[1] + 1);
      padded[3] = static_cast<std::uint8_t>(padded[3] + 1);
      padded.insert(padded.begin() + 4, 0);
      cases.push_back(padded);
      Bytes trailing = sig;
      trailing.push_back(0);
      cases.push_back(trailing);
      Bytes outer = sig;
      outer[1] = static_cast<std::uint8_t>(outer[1] + 1);
      outer.push_back(0);
      cases.push_back(outer);  // a trailing byte inside the sequence
      Bytes long_form = sig;
      long_form.insert(long_form.begin() + 1, 0x81);
      cases.push_back(long_form);
      Bytes negative = der_sig(r, s);  // r with its sign byte removed when it needs one
      if (r[0] & 0x80) {
        negative.erase(negative.begin() + 4);
        negative[1] = static_cast<std::uint8_t>(negative[1] - 1);
        negative[3] = static_cast<std::uint8_t>(negative[3] - 1);
        cases.push_back(negative);
      }
    }
    for (std::size_t bit = 0; bit < sig.size() * 8; ++bit) {
      Bytes f = sig;
      f[bit / 8] = static_cast<std::uint8_t>(f[bit / 8] ^ (1u << (bit % 8)));
      cases.push_back(f);
    }
    for (int i = 0; i < 30; ++i) {
      Bytes g(static_cast<std::size_t>(rng() % 80));
      for (auto& b : g) b = static_cast<std::uint8_t>(rng());
      cases.push_back(g);
    }
    cases.push_back(*p256_key().sign(message));  // another key's signature of the same message
    for (const Bytes& c : cases) check_same(*table, pub, d, c);
    CHECK(table->verify(d, der_sig(r, add_be(n, s, true))) == P256Table::Answer::valid);
  }
}

namespace {

// The two branches of a verification that random signatures never reach — the sum u1·G + u2·Q at infinity, and
// its x coordinate at or above n (so r = x − n) — are reached by choosing the key for the signature: a public key
// nobody holds the private key of, made from a point.
struct Constructed {
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx{BN_CTX_new(), BN_CTX_free};
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group{EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1),
                                                            EC_GROUP_free};
  using Bn = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
  using Point = std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)>;
  Bn bn() { return Bn(BN_new(), BN_free); }
  Point point() { return Point(EC_POINT_new(group.get()), EC_POINT_free); }
  const BIGNUM* n() { return EC_GROUP_get0_order(group.get()); }

  PublicKey key_of(const EC_POINT* q) {
    unsigned char buf[65];
    const std::size_t len = EC_POINT_point2oct(group.get(), q, POINT_CONVERSION_UNCOMPRESSED, buf, sizeof buf, ctx.get());
    REQUIRE(len == 65);
    char name[] = "prime256v1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, name, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, buf, len), OSSL_PARAM_construct_end()};
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> pctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr),
                                                                     EVP_PKEY_CTX_free);
    REQUIRE(pctx);
    REQUIRE(EVP_PKEY_fromdata_init(pctx.get()) == 1);
    EVP_PKEY* raw = nullptr;
    REQUIRE(EVP_PKEY_fromdata(pctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(raw, EVP_PKEY_free);
    unsigned char* der = nullptr;
    const int der_len = i2d_PUBKEY(pkey.get(), &der);
    REQUIRE(der_len > 0);
    Bytes spki(der, der + der_len);
    OPENSSL_free(der);
    auto pub = PublicKey::from_der(spki, SigAlg::ecdsa_p256);
    REQUIRE(pub.ok());
    return std::move(*pub);
  }
  Bytes be32(const BIGNUM* v) {
    Bytes out(32);
    REQUIRE(BN_bn2binpad(v, out.data(), 32) == 32);
    return out;
  }
};

}  // namespace

TEST_CASE("p256 table: the sum at infinity, and x(R) at or above n, get OpenSSL's answer", "[keys][p256]") {
  Constructed c;
  const Digest d = hash(HashAlg::sha256, std::string("constructed"));
  auto e = c.bn(), r = c.bn(), s = c.bn(), w = c.bn(), k = c.bn(), t = c.bn();
  REQUIRE(BN_bin2bn(d.data(), 32, e.get()) != nullptr);
  REQUIRE(BN_nnmod(e.get(), e.get(), c.n(), c.ctx.get()) == 1);

  SECTION("u1·G + u2·Q is the point at infinity: refused") {
    // Q = −(e/r)·G, so (e/s)·G + (r/s)·Q = 0 for any s.
    REQUIRE(BN_set_word(r.get(), 0x1234567) == 1);
    REQUIRE(BN_set_word(s.get(), 0x89abcdef) == 1);
    REQUIRE(BN_mod_inverse(w.get(), r.get(), c.n(), c.ctx.get()) != nullptr);
    REQUIRE(BN_mod_mul(k.get(), e.get(), w.get(), c.n(), c.ctx.get()) == 1);
    REQUIRE(BN_mod_sub(k.get(), c.n(), k.get(), c.n(), c.ctx.get()) == 1);
    auto q = c.point();
    REQUIRE(EC_POINT_mul(c.group.get(), q.get(), k.get(), nullptr, nullptr, c.ctx.get()) == 1);
    const PublicKey pub = c.key_of(q.get());
    auto table = P256Table::build(pub.native());
    REQUIRE(table);
    const Bytes sig = der_sig(c.be32(r.get()), c.be32(s.get()));
    CHECK_FALSE(evp_verify(pub, d, sig));
    CHECK(table->verify(d, sig) == P256Table::Answer::invalid);
  }

  SECTION("x(R) ≥ n: r = x(R) − n is valid, r + 1 is not, and r = x(R) itself is out of range") {
    // A point R whose x lies in [n, p): x = n + j for the first j that makes x³ − 3x + b a square mod p.
    auto p = c.bn(), a = c.bn(), b = c.bn(), x = c.bn(), y = c.bn(), rhs = c.bn();
    REQUIRE(EC_GROUP_get_curve(c.group.get(), p.get(), a.get(), b.get(), c.ctx.get()) == 1);
    auto big_r = c.point();
    bool found = false;
    for (unsigned j = 0; j < 200 && !found; ++j) {
      REQUIRE(BN_copy(x.get(), c.n()) != nullptr);
      REQUIRE(BN_add_word(x.get(), j) == 1);
      REQUIRE(BN_mod_sqr(rhs.get(), x.get(), p.get(), c.ctx.get()) == 1);
      REQUIRE(BN_mod_add(rhs.get(), rhs.get(), a.get(), p.get(), c.ctx.get()) == 1);  // x² + a
      REQUIRE(BN_mod_mul(rhs.get(), rhs.get(), x.get(), p.get(), c.ctx.get()) == 1);  // x³ + a·x
      REQUIRE(BN_mod_add(rhs.get(), rhs.get(), b.get(), p.get(), c.ctx.get()) == 1);  // + b
      if (BN_mod_sqrt(y.get(), rhs.get(), p.get(), c.ctx.get()) == nullptr) {
        ERR_clear_error();
        continue;
      }
      found = EC_POINT_set_affine_coordinates(c.group.get(), big_r.get(), x.get(), y.get(), c.ctx.get()) == 1;
      ERR_clear_error();
    }
    REQUIRE(found);
    REQUIRE(BN_sub(r.get(), x.get(), c.n()) == 1);
    REQUIRE(BN_set_word(s.get(), 0x5eed) == 1);
    // u1 = e/s, u2 = r/s; Q = (R − u1·G) / u2.
    auto u1 = c.bn(), u2 = c.bn();
    REQUIRE(BN_mod_inverse(w.get(), s.get(), c.n(), c.ctx.get()) != nullptr);
    REQUIRE(BN_mod_mul(u1.get(), e.get(), w.get(), c.n(), c.ctx.get()) == 1);
    REQUIRE(BN_mod_mul(u2.get(), r.get(), w.get(), c.n(), c.ctx.get()) == 1);
    auto t1 = c.point(), q = c.point();
    REQUIRE(EC_POINT_mul(c.group.get(), t1.get(), u1.get(), nullptr, nullptr, c.ctx.get()) == 1);
    REQUIRE(EC_POINT_invert(c.group.get(), t1.get(), c.ctx.get()) == 1);
    REQUIRE(EC_POINT_add(c.group.get(), t1.get(), big_r.get(), t1.get(), c.ctx.get()) == 1);
    REQUIRE(BN_mod_inverse(t.get(), u2.get(), c.n(), c.ctx.get()) != nullptr);
    REQUIRE(EC_POINT_mul(c.group.get(), q.get(), nullptr, t1.get(), t.get(), c.ctx.get()) == 1);
    const PublicKey pub = c.key_of(q.get());
    auto table = P256Table::build(pub.native());
    REQUIRE(table);

    const Bytes sig = der_sig(c.be32(r.get()), c.be32(s.get()));
    CHECK(evp_verify(pub, d, sig));
    CHECK(table->verify(d, sig) == P256Table::Answer::valid);
    REQUIRE(BN_add_word(r.get(), 1) == 1);
    const Bytes off_by_one = der_sig(c.be32(r.get()), c.be32(s.get()));
    CHECK_FALSE(evp_verify(pub, d, off_by_one));
    CHECK(table->verify(d, off_by_one) == P256Table::Answer::invalid);
    const Bytes x_itself = der_sig(c.be32(x.get()), c.be32(s.get()));
    CHECK_FALSE(evp_verify(pub, d, x_itself));
    CHECK(table->verify(d, x_itself) == P256Table::Answer::invalid);
  }
}

TEST_CASE("p256 table: only P-256 keys get one", "[keys][p256]") {
  for (SigAlg alg : {SigAlg::ed25519, SigAlg::sm2}) {
    auto k = PrivateKey::generate(alg);
    REQUIRE(k.ok());
    const PublicKey pub = k->public_key();
    CHECK_FALSE(P256Table::build(pub.native()));
    CHECK_FALSE(pub.build_table());
    CHECK_FALSE(pub.claim_table());
    CHECK_FALSE(pub.has_table());
    auto sig = k->sign("m");
    CHECK(pub.verify("m", *sig));
  }
}

TEST_CASE("p256 table: a key claims its table after enough uses, within the process's limit", "[keys][p256]") {
  const PublicKey::TablePolicy saved = PublicKey::table_policy();
  const std::size_t before = PublicKey::tables_in_use();
  PublicKey::set_table_policy({/*uses_before_table=*/5, /*max_tables=*/before + 1});
  {
    const PrivateKey a = p256_key(), b = p256_key();
    const PublicKey pa = a.public_key(), pb = b.public_key();
    auto sa = *a.sign("a"), sb = *b.sign("b");
    for (int i = 0; i < 4; ++i) REQUIRE(pa.verify("a", sa));
    CHECK_FALSE(pa.claim_table());  // four uses
    REQUIRE(pa.verify("a", sa));
    const PublicKey copy = pa;  // copies share the count and the table
    CHECK(copy.claim_table());
    CHECK_FALSE(pa.claim_table());  // once
    pa.unclaim_table();             // given back (a builder that stops): it may be claimed again
    CHECK(PublicKey::tables_in_use() == before);
    CHECK(pa.claim_table());
    CHECK(PublicKey::tables_in_use() == before + 1);
    for (int i = 0; i < 5; ++i) REQUIRE(pb.verify("b", sb));
    CHECK_FALSE(pb.claim_table());  // the limit
    CHECK_FALSE(pa.has_table());
    CHECK(pa.verify("a", sa));
    const std::size_t built = PublicKey::tables_built();
    CHECK(copy.build_table());
    CHECK(pa.has_table());
    CHECK(PublicKey::tables_built() == built + 1);
    CHECK(pa.verify("a", sa));
    CHECK_FALSE(pa.verify("a", sb));
    CHECK_FALSE(pa.verify("b", sa));
  }
  CHECK(PublicKey::tables_in_use() == before);  // freed with the last copy
  PublicKey::set_table_policy(saved);
}

TEST_CASE("p256 table: verifications from several threads while the table is built", "[keys][p256]") {
  const PrivateKey key = p256_key();
  const PublicKey pub = key.public_key();
  std::vector<std::pair<std::string, Bytes>> signed_;
  for (int i = 0; i < 16; ++i) {
    const std::string m = "message " + std::to_string(i);
    signed_.emplace_back(m, *key.sign(m));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        const auto& [m, s] = signed_[static_cast<std::size_t>((i + t) % 16)];
        if (!pub.verify(m, s) || pub.verify(m + "!", s)) ++wrong;
      }
    });
  }
  threads.emplace_back([&] { CHECK(pub.build_table()); });
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  CHECK(pub.has_table());
}

}  // namespace onebill::crypto
