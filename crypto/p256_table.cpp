#include "crypto/p256_table.h"

// EC_GROUP_precompute_mult and EC_POINT_get_Jprojective_coordinates_GFp are deprecated in OpenSSL 3.0 (the
// low-level EC API has no replacement for a table of a point other than the generator); both are still part of
// OpenSSL 3.x. If a future OpenSSL drops them, this file is the only user: PublicKey then verifies without tables.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace onebill::crypto::detail {
namespace {

// ---- the inverse modulo the group order ----
//
// BN_mod_inverse takes about as long as one of the two table multiplications. The numbers here are public (a
// signature's s), so a variable-time algorithm is right: Bernstein and Yang's "divsteps" ("Fast constant-time gcd
// computation and modular inversion", 2019), run until done rather than for a fixed count, 62 steps at a time on
// the low bits alone, each batch then applied to the whole numbers as one 2x2 matrix. About six times faster than
// the binary extended Euclid it replaced (docs/performance.md, session 17).

using U256 = std::array<std::uint64_t, 4>;  // little-endian limbs

U256 from_be(const unsigned char b[32]) {
  U256 r{};
  for (int i = 0; i < 4; ++i) {
    std::uint64_t w = 0;
    for (int j = 0; j < 8; ++j) w = (w << 8) | b[(3 - i) * 8 + j];
    r[static_cast<std::size_t>(i)] = w;
  }
  return r;
}

void to_be(const U256& a, unsigned char b[32]) {
  for (int i = 0; i < 4; ++i) {
    std::uint64_t w = a[static_cast<std::size_t>(i)];
    for (int j = 7; j >= 0; --j) {
      b[(3 - i) * 8 + j] = static_cast<unsigned char>(w);
      w >>= 8;
    }
  }
}

bool is_zero(const U256& a) { return (a[0] | a[1] | a[2] | a[3]) == 0; }
bool less(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    auto k = static_cast<std::size_t>(i);
    if (a[k] != b[k]) return a[k] < b[k];
  }
  return false;
}

// A signed number in five limbs of 62 bits: sum of v[i]·2^(62·i), limbs 0-3 in [0, 2^62), limb 4 signed.
using S62 = std::array<std::int64_t, 5>;
__extension__ typedef __int128 i128;  // GCC and Clang: -Wpedantic does not know it
constexpr std::int64_t kMask62 = (std::int64_t{1} << 62) - 1;

S62 to_s62(const U256& a) {
  return {static_cast<std::int64_t>(a[0]) & kMask62,
          static_cast<std::int64_t>((a[0] >> 62) | (a[1] << 2)) & kMask62,
          static_cast<std::int64_t>((a[1] >> 60) | (a[2] << 4)) & kMask62,
          static_cast<std::int64_t>((a[2] >> 58) | (a[3] << 6)) & kMask62, static_cast<std::int64_t>(a[3] >> 56)};
}

U256 from_s62(const S62& v) {  // v in [0, 2^256)
  const auto w = [&](std::size_t i) { return static_cast<std::uint64_t>(v[i]); };
  return {w(0) | (w(1) << 62), (w(1) >> 2) | (w(2) << 60), (w(2) >> 4) | (w(3) << 58), (w(3) >> 6) | (w(4) << 56)};
}

bool is_zero(const S62& v) { return (v[0] | v[1] | v[2] | v[3] | v[4]) == 0; }

// v + sign·m (sign ±1), limbs normalized again.
S62 add_multiple(const S62& v, const S62& m, std::int64_t sign) {
  S62 out{};
  std::int64_t carry = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const std::int64_t t = v[i] + sign * m[i] + carry;  // |t| < 2^64 - 2^63: fits
    out[i] = t & kMask62;
    carry = t >> 62;  // arithmetic shift: the floor
  }
  out[4] = v[4] + sign * m[4] + carry;
  return out;
}

// The transition matrix of 62 divsteps: [f'; g']·2^62 = [u v; q r]·[f; g].
struct Matrix {
  std::int64_t u, v, q, r;
};

// 62 divsteps on the low 64 bits of f (odd) and g, from eta (= -delta). Each step: when delta > 0 and g is odd,
// (f, g) <- (g, (g - f)/2) and delta <- 1 - delta; else when g is odd, g <- (g + f)/2; else g <- g/2; and
// delta <- 1 + delta. A step reads only bit 0 of g, and the 62 steps need no bit above the 62nd. Here each step's
// halving is counted apart from its addition, so that a run of halvings (g's trailing zeros) is done at once.
Matrix divsteps_62(std::int64_t& eta, std::uint64_t f, std::uint64_t g) {
  std::int64_t u = 1, v = 0, q = 0, r = 1;
  int left = 62;
  for (;;) {
    const int zeros = std::countr_zero(g | (~std::uint64_t{0} << left));  // at most `left`
    g >>= zeros;
    u *= std::int64_t{1} << zeros;
    v *= std::int64_t{1} << zeros;
    eta -= zeros;
    left -= zeros;
    if (left == 0) break;
    // g is odd: the next step adds (and halves in the next round: g is even then).
    if (eta < 0) {
      eta = -eta;
      const std::uint64_t old_f = f;
      f = g;
      g = 0 - old_f;
      const std::int64_t u0 = u, v0 = v;
      u = q;
      v = r;
      q = -u0;
      r = -v0;
    }
    g += f;
    q += u;
    r += v;
  }
  return {u, v, q, r};
}

// (f, g) <- T·(f, g) / 2^62: exact, the low 62 bits of both sums being zero.
void update_fg(S62& f, S62& g, const Matrix& t) {
  i128 cf = static_cast<i128>(t.u) * f[0] + static_cast<i128>(t.v) * g[0];
  i128 cg = static_cast<i128>(t.q) * f[0] + static_cast<i128>(t.r) * g[0];
  cf >>= 62;
  cg >>= 62;
  for (std::size_t i = 1; i < 5; ++i) {
    cf += static_cast<i128>(t.u) * f[i] + static_cast<i128>(t.v) * g[i];
    cg += static_cast<i128>(t.q) * f[i] + static_cast<i128>(t.r) * g[i];
    f[i - 1] = static_cast<std::int64_t>(cf) & kMask62;
    g[i - 1] = static_cast<std::int64_t>(cg) & kMask62;
    cf >>= 62;
    cg >>= 62;
  }
  f[4] = static_cast<std::int64_t>(cf);
  g[4] = static_cast<std::int64_t>(cg);
}

// One of (d, e) <- (a·d + b·e) / 2^62 mod m, for d and e in [0, m): a multiple k·m, k in [0, 2^62), makes the sum
// divisible by 2^62 (k = -sum·m^-1 mod 2^62); the quotient is in (-m, 2m), brought back into [0, m).
S62 update_one(const S62& d, const S62& e, std::int64_t a, std::int64_t b, const S62& m, std::uint64_t m_inv62) {
  i128 c = static_cast<i128>(a) * d[0] + static_cast<i128>(b) * e[0];
  const std::int64_t k =
      static_cast<std::int64_t>((0 - static_cast<std::uint64_t>(c) * m_inv62) & static_cast<std::uint64_t>(kMask62));
  c += static_cast<i128>(k) * m[0];
  c >>= 62;
  S62 out{};
  for (std::size_t i = 1; i < 5; ++i) {
    c += static_cast<i128>(a) * d[i] + static_cast<i128>(b) * e[i] + static_cast<i128>(k) * m[i];
    out[i - 1] = static_cast<std::int64_t>(c) & kMask62;
    c >>= 62;
  }
  out[4] = static_cast<std::int64_t>(c);
  if (out[4] < 0) return add_multiple(out, m, 1);
  const S62 less_m = add_multiple(out, m, -1);
  return less_m[4] < 0 ? out : less_m;
}

// The inverse of a modulo the odd prime m (0 < a < m). Invariant: f ≡ d·a and g ≡ e·a (mod m), from f = m, g = a,
// d = 0, e = 1; when g reaches 0, f = ±1 (the gcd), so a⁻¹ = ±d. Returns 0 if that does not happen within the
// bound on divsteps for 256-bit numbers (741 for this variant): not for a prime m.
U256 inverse(const U256& a, const U256& m) {
  if (is_zero(a)) return U256{};
  const S62 mm = to_s62(m);
  std::uint64_t m_inv62 = m[0];  // m⁻¹ mod 2^64 by Newton's iteration (each doubles the correct low bits)
  for (int i = 0; i < 6; ++i) m_inv62 *= 2 - m[0] * m_inv62;
  S62 f = mm, g = to_s62(a), d{}, e{1, 0, 0, 0, 0};
  std::int64_t eta = -1;  // delta = 1
  for (int batch = 0; batch < 13 && !is_zero(g); ++batch) {
    const Matrix t = divsteps_62(eta, static_cast<std::uint64_t>(f[0]) | (static_cast<std::uint64_t>(f[1]) << 62),
                                 static_cast<std::uint64_t>(g[0]) | (static_cast<std::uint64_t>(g[1]) << 62));
    const S62 d2 = update_one(d, e, t.u, t.v, mm, m_inv62);
    e = update_one(d, e, t.q, t.r, mm, m_inv62);
    d = d2;
    update_fg(f, g, t);
  }
  if (!is_zero(g)) return U256{};
  const bool minus = f[4] < 0;
  const S62 one_or_minus = minus ? add_multiple(f, S62{1, 0, 0, 0, 0}, 1) : add_multiple(f, S62{1, 0, 0, 0, 0}, -1);
  if (!is_zero(one_or_minus)) return U256{};  // f is not ±1: gcd > 1
  if (minus) d = add_multiple(mm, d, -1);  // m - d (d is not 0: 0·a is not ±1)
  return from_s62(d);
}

// The group order n of P-256.
constexpr unsigned char kOrderBe[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                        0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

// ---- OpenSSL objects ----

struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using GroupPtr = std::unique_ptr<EC_GROUP, GroupFree>;
using PointPtr = std::unique_ptr<EC_POINT, PointFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// The standard P-256 group (its generator's table is built into OpenSSL), its order n and field prime p, and
// r-candidates' bound p - n. Made once; only read after.
struct Curve {
  GroupPtr group;
  BnPtr n, p, p_minus_n;
  bool ok = false;
  Curve() {
    group.reset(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
    n.reset(BN_new());
    p.reset(BN_new());
    p_minus_n.reset(BN_new());
    if (!group || !n || !p || !p_minus_n) return;
    if (BN_copy(n.get(), EC_GROUP_get0_order(group.get())) == nullptr) return;
    if (EC_GROUP_get_curve(group.get(), p.get(), nullptr, nullptr, nullptr) != 1) return;
    if (BN_sub(p_minus_n.get(), p.get(), n.get()) != 1) return;
    unsigned char check[32];
    ok = BN_bn2binpad(n.get(), check, 32) == 32 && std::memcmp(check, kOrderBe, 32) == 0;
  }
};

// Never freed: a verifying thread may still run while the process's statics are destroyed.
const Curve& curve() {
  static const Curve* const c = new Curve;
  return *c;
}

// Per-thread scratch, so that a verification allocates little: the parsed signature and its re-encoding, and what
// OpenSSL allocates inside a multiplication.
struct Scratch {
  std::unique_ptr<BN_CTX, BnCtxFree> ctx{BN_CTX_new()};
  BnPtr e{BN_new()}, w{BN_new()}, u1{BN_new()}, u2{BN_new()}, x{BN_new()}, y{BN_new()}, z{BN_new()}, t{BN_new()},
      rn{BN_new()};
  PointPtr r1, r2;
  bool ok = false;
  Scratch() {
    const Curve& c = curve();
    if (!c.ok) return;
    r1.reset(EC_POINT_new(c.group.get()));
    r2.reset(EC_POINT_new(c.group.get()));
    ok = ctx && e && w && u1 && u2 && x && y && z && t && rn && r1 && r2;
  }
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Is the affine x coordinate of the Jacobian point (X, Y, Z) equal to `cand` (mod p)? X ≡ cand · Z² (mod p).
bool x_matches(const BIGNUM* cand, Scratch& s, const Curve& c, bool& failed) {
  if (BN_mod_sqr(s.t.get(), s.z.get(), c.p.get(), s.ctx.get()) != 1 ||
      BN_mod_mul(s.t.get(), s.t.get(), cand, c.p.get(), s.ctx.get()) != 1) {
    failed = true;
    return false;
  }
  return BN_cmp(s.t.get(), s.x.get()) == 0;
}

}  // namespace

bool P256Table::inverse_mod_order(const unsigned char a[32], unsigned char out[32]) {
  const U256 x = from_be(a);
  const U256 n = from_be(kOrderBe);
  if (is_zero(x) || !less(x, n)) return false;
  to_be(inverse(x, n), out);
  return true;
}

std::unique_ptr<P256Table> P256Table::build(EVP_PKEY* key) {
  const Curve& c = curve();
  if (!c.ok || key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return nullptr;
  char name[64] = {};
  std::size_t name_len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &name_len) != 1 ||
      std::strcmp(name, "prime256v1") != 0) {
    ERR_clear_error();
    return nullptr;
  }
  unsigned char encoded[133];
  std::size_t encoded_len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, encoded, sizeof encoded, &encoded_len) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  PointPtr q(EC_POINT_new(c.group.get()));
  GroupPtr group(EC_GROUP_dup(c.group.get()));
  if (!ctx || !q || !group ||
      EC_POINT_oct2point(c.group.get(), q.get(), encoded, encoded_len, ctx.get()) != 1 ||
      EC_POINT_is_at_infinity(c.group.get(), q.get()) == 1 ||
      EC_POINT_is_on_curve(c.group.get(), q.get(), ctx.get()) != 1 ||
      EC_GROUP_set_generator(group.get(), q.get(), c.n.get(), BN_value_one()) != 1 ||
      EC_GROUP_precompute_mult(group.get(), ctx.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  // The check: k·Q with the table equals k·Q computed as an arbitrary point's multiple, for scalars that reach
  // every row of the table. Should an OpenSSL ever mistake this group's table for the standard generator's, or
  // ignore it, this is where it shows (a wrong answer refuses the table; a slow one only costs time).
  PointPtr with(EC_POINT_new(c.group.get())), without(EC_POINT_new(c.group.get()));
  BnPtr k(BN_new());
  if (!with || !without || !k) return nullptr;
  for (int round = 0; round < 4; ++round) {
    const bool made = round == 0   ? BN_one(k.get()) == 1
                      : round == 1 ? BN_sub(k.get(), c.n.get(), BN_value_one()) == 1
                                   : BN_rand_range(k.get(), c.n.get()) == 1;
    if (!made || EC_POINT_mul(group.get(), with.get(), k.get(), nullptr, nullptr, ctx.get()) != 1 ||
        EC_POINT_mul(c.group.get(), without.get(), nullptr, q.get(), k.get(), ctx.get()) != 1 ||
        EC_POINT_cmp(c.group.get(), with.get(), without.get(), ctx.get()) != 0) {
      ERR_clear_error();
      return nullptr;
    }
  }
  return std::unique_ptr<P256Table>(new P256Table(group.release()));
}

P256Table::~P256Table() { EC_GROUP_free(group_); }

P256Table::Answer P256Table::verify(const Digest& digest, ByteView der_signature) const {
  const Curve& c = curve();
  Scratch& s = scratch();
  if (!c.ok || !s.ok) return Answer::error;
  if (der_signature.empty() || der_signature.size() > 1024) return Answer::invalid;

  // Strict DER, as OpenSSL's own verification demands: the signature must be exactly what re-encoding gives.
  const unsigned char* p = der_signature.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_signature.size())));
  if (!sig) {
    // Bad encoding, unless OpenSSL ran out of memory: that is no answer about the signature.
    const bool memory = ERR_GET_REASON(ERR_peek_last_error()) == ERR_R_MALLOC_FAILURE;
    ERR_clear_error();
    return memory ? Answer::error : Answer::invalid;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {  // a parsed signature always encodes: only memory can fail here
    ERR_clear_error();
    return Answer::error;
  }
  const bool strict = static_cast<std::size_t>(der_len) == der_signature.size() &&
                      std::memcmp(der, der_signature.data(), der_signature.size()) == 0;
  OPENSSL_free(der);
  if (!strict) {
    ERR_clear_error();
    return Answer::invalid;
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* sv = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &sv);
  if (BN_is_zero(r) || BN_is_negative(r) || BN_ucmp(r, c.n.get()) >= 0 || BN_is_zero(sv) || BN_is_negative(sv) ||
      BN_ucmp(sv, c.n.get()) >= 0) {
    return Answer::invalid;
  }

  // w = s⁻¹, u1 = e·w, u2 = r·w (mod n). The digest is 256 bits, as many as n has: no truncation.
  unsigned char buf[32];
  if (BN_bn2binpad(sv, buf, 32) != 32) return Answer::error;
  unsigned char inv[32];
  if (!inverse_mod_order(buf, inv)) return Answer::invalid;
  if (BN_bin2bn(inv, 32, s.w.get()) == nullptr || BN_bin2bn(digest.data(), 32, s.e.get()) == nullptr ||
      BN_mod_mul(s.u1.get(), s.e.get(), s.w.get(), c.n.get(), s.ctx.get()) != 1 ||
      BN_mod_mul(s.u2.get(), r, s.w.get(), c.n.get(), s.ctx.get()) != 1) {
    ERR_clear_error();
    return Answer::error;
  }
  // u1·G with OpenSSL's table of G, u2·Q with this key's table, then their sum.
  if (EC_POINT_mul(c.group.get(), s.r1.get(), s.u1.get(), nullptr, nullptr, s.ctx.get()) != 1 ||
      EC_POINT_mul(group_, s.r2.get(), s.u2.get(), nullptr, nullptr, s.ctx.get()) != 1 ||
      EC_POINT_add(c.group.get(), s.r1.get(), s.r1.get(), s.r2.get(), s.ctx.get()) != 1) {
    ERR_clear_error();
    return Answer::error;
  }
  if (EC_POINT_is_at_infinity(c.group.get(), s.r1.get()) == 1) return Answer::invalid;
  // x(R) mod n == r, without converting R to affine coordinates: the affine x is below p < 2n, so it is r or r + n.
  if (EC_POINT_get_Jprojective_coordinates_GFp(c.group.get(), s.r1.get(), s.x.get(), s.y.get(), s.z.get(),
                                               s.ctx.get()) != 1) {
    ERR_clear_error();
    return Answer::error;
  }
  bool failed = false;
  if (x_matches(r, s, c, failed)) return Answer::valid;
  if (!failed && BN_cmp(r, c.p_minus_n.get()) < 0) {
    if (BN_add(s.rn.get(), r, c.n.get()) != 1) failed = true;
    if (!failed && x_matches(s.rn.get(), s, c, failed)) return Answer::valid;
  }
  if (failed) {
    ERR_clear_error();
    return Answer::error;
  }
  return Answer::invalid;
}

}  // namespace onebill::crypto::detail
