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

// A context per algorithm and thread, initialised again for each one-shot hash: EVP_Digest would allocate and
// free one (and its provider state) on every call, a quarter of the cost of hashing a Merkle node.
EVP_MD_CTX* local_ctx(HashAlg alg) {
  struct Contexts {
    EVP_MD_CTX* ctx[2] = {nullptr, nullptr};
    Contexts() = default;
    Contexts(const Contexts&) = delete;
    Contexts& operator=(const Contexts&) = delete;
    ~Contexts() {
      for (EVP_MD_CTX* c : ctx) EVP_MD_CTX_free(c);
    }
  };
  thread_local Contexts contexts;
  EVP_MD_CTX*& c = contexts.ctx[alg == HashAlg::sha256 ? 0 : 1];
  if (c == nullptr && (c = EVP_MD_CTX_new()) == nullptr) std::abort();
  if (EVP_DigestInit_ex(c, md_for(alg), nullptr) != 1) std::abort();
  return c;
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

Digest hash(HashAlg alg, ByteView data) { return hash(alg, {data}); }

Digest hash(HashAlg alg, std::initializer_list<ByteView> parts) {
  EVP_MD_CTX* c = local_ctx(alg);
  for (ByteView p : parts) {
    if (EVP_DigestUpdate(c, p.data(), p.size()) != 1) std::abort();
  }
  Digest out{};  // the digest size of both algorithms is 32 bytes
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(c, out.data(), &len) != 1) std::abort();
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
