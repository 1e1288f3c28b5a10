#include "crypto/keys.h"

#include "crypto/hash.h"
#include "crypto/p256_table.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstring>
#include <optional>

namespace onebill::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, PkeyFree{}); }

// OpenSSL keeps a per-thread error queue; failures here are reported as values, so the queue is cleared to keep
// one failure from surfacing in an unrelated later call.
Error openssl_error(std::string code, std::string what) {
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    what += ": ";
    what += buf;
  }
  ERR_clear_error();
  return make_error(std::move(code), std::move(what));
}

// Never prompt for a passphrase: an encrypted key file is an error, not a terminal prompt.
int no_password(char*, int, int, void*) { return 0; }

const EVP_MD* digest_for(SigAlg alg) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* const sm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
  switch (alg) {
    case SigAlg::ed25519: return nullptr;  // Ed25519 hashes internally (PureEdDSA)
    case SigAlg::ecdsa_p256: return sha256;
    case SigAlg::sm2: return sm3;
  }
  return nullptr;
}

Result<SigAlg> alg_of(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) return SigAlg::ed25519;
  if (EVP_PKEY_is_a(key, "SM2")) return SigAlg::sm2;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1) {
      if (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0) return SigAlg::ecdsa_p256;
      if (std::strcmp(group, "SM2") == 0) return SigAlg::sm2;
    }
    ERR_clear_error();
    return make_error("wrong_key_type", "an EC key on a curve other than P-256 or SM2");
  }
  return make_error("wrong_key_type", "a key of an algorithm onebill does not use");
}

Result<std::shared_ptr<EVP_PKEY>> checked(EVP_PKEY* raw, std::optional<SigAlg> expected, SigAlg* found) {
  auto key = own(raw);
  auto alg = alg_of(raw);
  if (!alg) return alg.error();
  if (expected && *alg != *expected) {
    return make_error("wrong_key_type", "the key is " + std::string(sig_alg_name(*alg)) + ", expected " +
                                            std::string(sig_alg_name(*expected)));
  }
  *found = *alg;
  return key;
}

BioPtr mem_bio(std::string_view text) {
  // BIO_new_mem_buf takes an int length; PEM texts over 2 GiB are rejected by the caller's size check.
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

constexpr std::size_t kMaxPemBytes = 64 * 1024;

// Binds a digest sign/verify context for `key`; for SM2 the distinguishing id is set first (EVP_PKEY-SM2(7)).
// The returned pkey context must outlive the md context when it was attached (SM2).
bool init_digest_ctx(EVP_MD_CTX* mctx, std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>& pctx, EVP_PKEY* key, SigAlg alg,
                     bool signing) {
  const EVP_MD* md = digest_for(alg);
  if (alg == SigAlg::sm2) {
    pctx.reset(EVP_PKEY_CTX_new(key, nullptr));
    if (!pctx) return false;
    if (EVP_PKEY_CTX_set1_id(pctx.get(), kSm2DefaultId.data(), kSm2DefaultId.size()) != 1) return false;
    EVP_MD_CTX_set_pkey_ctx(mctx, pctx.get());
  }
  return signing ? EVP_DigestSignInit(mctx, nullptr, md, nullptr, key) == 1
                 : EVP_DigestVerifyInit(mctx, nullptr, md, nullptr, key) == 1;
}

}  // namespace

Result<SigAlg> parse_sig_alg(std::string_view name) {
  if (name == "ed25519") return SigAlg::ed25519;
  if (name == "ecdsa-p256") return SigAlg::ecdsa_p256;
  if (name == "sm2") return SigAlg::sm2;
  return make_error("unknown_alg",
                    "unknown signature algorithm '" + std::string(name) + "' (expected ed25519, ecdsa-p256 or sm2)");
}

std::string_view sig_alg_name(SigAlg alg) {
  switch (alg) {
    case SigAlg::ed25519: return "ed25519";
    case SigAlg::ecdsa_p256: return "ecdsa-p256";
    case SigAlg::sm2: return "sm2";
  }
  return "?";
}

// Builds keys from checked OpenSSL keys (the constructors are private so no unchecked key exists).
struct KeyAccess {
  static PublicKey make_public(std::shared_ptr<EVP_PKEY> k, SigAlg a) { return PublicKey(std::move(k), a); }
  static PrivateKey make_private(std::shared_ptr<EVP_PKEY> k, SigAlg a) { return PrivateKey(std::move(k), a); }
};

namespace {

Result<PublicKey> public_from_pem(std::string_view pem, std::optional<SigAlg> expected) {
  if (pem.size() > kMaxPemBytes) return make_error("bad_pem", "PEM text too large");
  auto bio = mem_bio(pem);
  if (!bio) return openssl_error("bad_pem", "cannot read PEM");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr);
  if (raw == nullptr) return openssl_error("bad_pem", "not a PEM public key (SubjectPublicKeyInfo)");
  SigAlg alg{};
  auto key = checked(raw, expected, &alg);
  if (!key) return key.error();
  return KeyAccess::make_public(std::move(*key), alg);
}

Result<PrivateKey> private_from_pem(std::string_view pem, std::optional<SigAlg> expected) {
  if (pem.size() > kMaxPemBytes) return make_error("bad_pem", "PEM text too large");
  auto bio = mem_bio(pem);
  if (!bio) return openssl_error("bad_pem", "cannot read PEM");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  if (raw == nullptr) return openssl_error("bad_pem", "not an unencrypted PEM private key (PKCS#8)");
  SigAlg alg{};
  auto key = checked(raw, expected, &alg);
  if (!key) return key.error();
  return KeyAccess::make_private(std::move(*key), alg);
}

}  // namespace

// ---- PublicKey ----

// A pool of EVP_PKEY_CTX objects initialised for ECDSA verification with SHA-256 (as `openssl speed` does:
// EVP_PKEY_verify may be called repeatedly after one EVP_PKEY_verify_init). A context is taken out under the
// lock and used without it, so threads verify in parallel. Beside it, the key's verification count and its
// table (p256_table.h) once built: `table` is set once, then only read, without the lock.
struct PublicKey::VerifyPool {
  enum TableState : int { kNone, kClaimed, kReady, kFailed };
  std::mutex mu;  // the idle contexts
  std::vector<EVP_PKEY_CTX*> idle;
  std::mutex build_mu;  // one table builder at a time; verify() never takes it
  std::atomic<std::uint64_t> uses{0};
  std::atomic<int> table_state{kNone};
  std::unique_ptr<detail::P256Table> owned_table;  // written under build_mu, before `table` is published
  std::atomic<const detail::P256Table*> table{nullptr};
  ~VerifyPool();
};

namespace {
std::atomic<std::uint64_t> g_uses_before_table{PublicKey::TablePolicy{}.uses_before_table};
std::atomic<std::size_t> g_max_tables{PublicKey::TablePolicy{}.max_tables};
std::atomic<std::size_t> g_tables{0};  // claimed or built and not yet freed
std::atomic<std::size_t> g_built{0};   // built and not yet freed
}  // namespace

PublicKey::VerifyPool::~VerifyPool() {
  for (auto* c : idle) EVP_PKEY_CTX_free(c);
  const int state = table_state.load();
  if (state == kClaimed || state == kReady) g_tables.fetch_sub(1);
  if (state == kReady) g_built.fetch_sub(1);
}

void PublicKey::set_table_policy(TablePolicy policy) {
  g_uses_before_table.store(policy.uses_before_table);
  g_max_tables.store(policy.max_tables);
}

PublicKey::TablePolicy PublicKey::table_policy() { return TablePolicy{g_uses_before_table.load(), g_max_tables.load()}; }

std::size_t PublicKey::tables_in_use() { return g_tables.load(); }
std::size_t PublicKey::tables_built() { return g_built.load(); }

bool PublicKey::claim_table() const {
  if (!pool_ || pool_->table_state.load(std::memory_order_relaxed) != VerifyPool::kNone ||
      pool_->uses.load(std::memory_order_relaxed) < g_uses_before_table.load(std::memory_order_relaxed)) {
    return false;
  }
  if (g_tables.fetch_add(1) >= g_max_tables.load()) {
    g_tables.fetch_sub(1);
    return false;
  }
  int expected = VerifyPool::kNone;
  if (!pool_->table_state.compare_exchange_strong(expected, VerifyPool::kClaimed)) {
    g_tables.fetch_sub(1);
    return false;
  }
  return true;
}

bool PublicKey::build_table() const {
  if (!pool_) return false;
  int state = pool_->table_state.load();
  if (state == VerifyPool::kReady) return true;
  if (state == VerifyPool::kNone) {  // built without a claim (tests, benchmarks): counted all the same
    g_tables.fetch_add(1);
    if (!pool_->table_state.compare_exchange_strong(state, VerifyPool::kClaimed)) {
      g_tables.fetch_sub(1);
      return state == VerifyPool::kReady || (state == VerifyPool::kClaimed && build_table());
    }
  } else if (state == VerifyPool::kFailed) {
    return false;
  }
  std::lock_guard lock(pool_->build_mu);
  if (pool_->table_state.load() == VerifyPool::kReady) return true;
  if (pool_->table_state.load() == VerifyPool::kFailed) return false;
  auto built = detail::P256Table::build(key_.get());
  if (!built) {
    pool_->table_state.store(VerifyPool::kFailed);
    g_tables.fetch_sub(1);
    return false;
  }
  pool_->owned_table = std::move(built);
  pool_->table.store(pool_->owned_table.get(), std::memory_order_release);
  g_built.fetch_add(1);
  pool_->table_state.store(VerifyPool::kReady);
  return true;
}

void PublicKey::unclaim_table() const {
  if (!pool_) return;
  int expected = VerifyPool::kClaimed;
  if (pool_->table_state.compare_exchange_strong(expected, VerifyPool::kNone)) g_tables.fetch_sub(1);
}

bool PublicKey::has_table() const { return pool_ && pool_->table.load(std::memory_order_acquire) != nullptr; }

PublicKey::PublicKey(std::shared_ptr<EVP_PKEY> key, SigAlg alg)
    : key_(std::move(key)), alg_(alg),
      pool_(alg == SigAlg::ecdsa_p256 ? std::make_shared<VerifyPool>() : nullptr) {}

Result<PublicKey> PublicKey::from_pem(std::string_view pem, SigAlg expected) { return public_from_pem(pem, expected); }
Result<PublicKey> PublicKey::from_pem_any(std::string_view pem) { return public_from_pem(pem, std::nullopt); }

Result<PublicKey> PublicKey::from_der(ByteView der, SigAlg expected) {
  if (der.empty() || der.size() > kMaxPemBytes) return make_error("bad_key", "empty or oversized DER public key");
  const unsigned char* p = der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) return openssl_error("bad_key", "not a DER SubjectPublicKeyInfo");
  if (p != der.data() + der.size()) {
    EVP_PKEY_free(raw);
    return make_error("bad_key", "trailing bytes after the DER public key");
  }
  SigAlg alg{};
  auto key = checked(raw, expected, &alg);
  if (!key) return key.error();
  return PublicKey(std::move(*key), alg);
}

std::string PublicKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key_.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Bytes PublicKey::to_der() const {
  unsigned char* out = nullptr;
  int len = i2d_PUBKEY(key_.get(), &out);
  if (len <= 0) return {};
  Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

bool PublicKey::verify(ByteView message, ByteView signature) const {
  if (signature.empty() || signature.size() > 1024) return false;
  if (pool_) {
    if (const detail::P256Table* table = pool_->table.load(std::memory_order_acquire)) {
      switch (table->verify(hash(HashAlg::sha256, message), signature)) {
        case detail::P256Table::Answer::valid: return true;
        case detail::P256Table::Answer::invalid: return false;
        case detail::P256Table::Answer::error: break;  // OpenSSL failed (memory): the same question to EVP below
      }
    } else {
      pool_->uses.fetch_add(1, std::memory_order_relaxed);
    }
    EVP_PKEY_CTX* ctx = nullptr;
    {
      std::lock_guard lock(pool_->mu);
      if (!pool_->idle.empty()) {
        ctx = pool_->idle.back();
        pool_->idle.pop_back();
      }
    }
    if (ctx == nullptr) {
      ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr);
      if (ctx == nullptr || EVP_PKEY_verify_init(ctx) != 1 ||
          EVP_PKEY_CTX_set_signature_md(ctx, digest_for(SigAlg::ecdsa_p256)) != 1) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return false;
      }
    }
    Digest digest = hash(HashAlg::sha256, message);
    bool ok = EVP_PKEY_verify(ctx, signature.data(), signature.size(), digest.data(), digest.size()) == 1;
    ERR_clear_error();
    std::lock_guard lock(pool_->mu);
    if (pool_->idle.size() < 64) {
      pool_->idle.push_back(ctx);
    } else {
      EVP_PKEY_CTX_free(ctx);
    }
    return ok;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> mctx(EVP_MD_CTX_new());
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> pctx;
  bool ok = mctx && init_digest_ctx(mctx.get(), pctx, key_.get(), alg_, false) &&
            EVP_DigestVerify(mctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
  mctx.reset();  // before pctx, which it may point to
  ERR_clear_error();
  return ok;
}

// ---- PrivateKey ----

Result<PrivateKey> PrivateKey::generate(SigAlg alg) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
    case SigAlg::ed25519: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case SigAlg::ecdsa_p256: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case SigAlg::sm2: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2"); break;
  }
  if (raw == nullptr) return openssl_error("keygen_failed", "key generation failed");
  return PrivateKey(own(raw), alg);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem, SigAlg expected) {
  return private_from_pem(pem, expected);
}
Result<PrivateKey> PrivateKey::from_pem_any(std::string_view pem) { return private_from_pem(pem, std::nullopt); }

Result<PrivateKey> PrivateKey::ed25519_from_seed(ByteView seed) {
  if (seed.size() != 32) return make_error("bad_key", "an Ed25519 seed is 32 bytes");
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (raw == nullptr) return openssl_error("bad_key", "cannot load the Ed25519 seed");
  return PrivateKey(own(raw), SigAlg::ed25519);
}

std::string PrivateKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

PublicKey PrivateKey::public_key() const {
  // Round-trip through DER so the public object holds no private material.
  unsigned char* out = nullptr;
  int len = i2d_PUBKEY(key_.get(), &out);
  const unsigned char* p = out;
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, len);
  OPENSSL_free(out);
  return PublicKey(own(raw), alg_);
}

Result<Bytes> PrivateKey::sign(ByteView message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> mctx(EVP_MD_CTX_new());
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> pctx;
  if (!mctx || !init_digest_ctx(mctx.get(), pctx, key_.get(), alg_, true)) {
    return openssl_error("sign_failed", "cannot start signing");
  }
  std::size_t len = 0;
  if (EVP_DigestSign(mctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return openssl_error("sign_failed", "cannot size the signature");
  }
  Bytes sig(len);
  if (EVP_DigestSign(mctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return openssl_error("sign_failed", "signing failed");
  }
  sig.resize(len);
  return sig;
}

}  // namespace onebill::crypto
