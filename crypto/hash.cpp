#include "crypto/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace onebill::crypto {
namespace {

// Algorithms fetched once (OpenSSL 3 fetches are costly); EVP_MD objects are immutable and thread-safe.
const EVP_MD* md_for(HashAlg alg) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* const sm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
  const EVP_MD* md = alg == HashAlg::sha256 ? sha256 : sm3;
  if (md == nullptr) std::abort();  // the OpenSSL build lacks a required algorithm: nothing can work
  return md;
}

}  // namespace

Result<HashAlg> parse_hash_alg(std::string_view name) {
  if (name == "sha256") return HashAlg::sha256;
  if (name == "sm3") return HashAlg::sm3;
  return make_error("unknown_hash", "unknown hash algorithm '" + std::string(name) + "' (expected sha256 or sm3)");
}

std::string_view hash_alg_name(HashAlg alg) { return alg == HashAlg::sha256 ? "sha256" : "sm3"; }

struct Hasher::Impl {
  explicit Impl(HashAlg a) : alg(a), ctx(EVP_MD_CTX_new()) {}
  ~Impl() { EVP_MD_CTX_free(ctx); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  HashAlg alg;
  EVP_MD_CTX* ctx;
};

Hasher::Hasher(HashAlg alg) : impl_(std::make_unique<Impl>(alg)) {
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, md_for(alg), nullptr) != 1) std::abort();
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

Hasher& Hasher::update(ByteView data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
  return *this;
}

Digest Hasher::finish() {
  Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  EVP_DigestInit_ex(impl_->ctx, md_for(impl_->alg), nullptr);
  return out;
}

Digest hash(HashAlg alg, ByteView data) {
  Digest out{};
  unsigned int len = 0;
  // EVP_Digest handles the context itself; the digest size of both algorithms is 32 bytes.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md_for(alg), nullptr) != 1) std::abort();
  return out;
}

std::string hex(const Digest& d) { return hex_encode(d); }

Result<Digest> digest_from_hex(std::string_view text) {
  if (text.size() != 2 * kDigestSize) return make_error("bad_digest", "a digest is 64 hex digits");
  auto bytes = hex_decode(text);
  if (!bytes) return make_error("bad_digest", bytes.error().message);
  Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

}  // namespace onebill::crypto
