#include "crypto/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <set>

namespace onebill::crypto {
namespace {

struct PinSet {
  std::set<Bytes> keys;  // DER SubjectPublicKeyInfo of every accepted peer
};

void free_pinset(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<PinSet*>(ptr); }

int pinset_index() {
  static const int index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nullptr, nullptr, nullptr, free_pinset);
  return index;
}

Bytes der_of(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int len = i2d_PUBKEY(key, &out);
  if (len <= 0) return {};
  Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

// Replaces chain validation: the certificate is only a carrier for the key, and the TLS 1.3 CertificateVerify
// message proves the peer holds the matching private key. Accept exactly the pinned keys.
int verify_pinned(X509_STORE_CTX* store, void* arg) {
  const auto* pins = static_cast<const PinSet*>(arg);
  X509* cert = X509_STORE_CTX_get0_cert(store);
  EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
  if (key == nullptr || pins->keys.count(der_of(key)) == 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

Error tls_error(std::string what) {
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    what += ": ";
    what += buf;
  }
  ERR_clear_error();
  return make_error("tls_error", std::move(what));
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

Result<std::unique_ptr<X509, X509Free>> self_signed(const PrivateKey& key) {
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!cert) return tls_error("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24L * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 100L * 365 * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("onebill-node"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_set_pubkey(cert.get(), key.native()) != 1) return tls_error("cannot set the certificate key");
  const EVP_MD* md = key.alg() == SigAlg::ed25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), key.native(), md) <= 0) return tls_error("cannot sign the certificate");
  return cert;
}

}  // namespace

void SslCtxDeleter::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

Status configure_pinned_tls(ssl_ctx_st* ctx, TlsRole role, const PrivateKey& own_key,
                            const std::vector<PublicKey>& pinned) {
  if (own_key.alg() == SigAlg::sm2) {
    // OpenSSL 3.0 offers no SM2 signature scheme in TLS 1.3 (RFC 8998), so SM2 node TLS keys cannot work.
    return make_error("tls_error", "node TLS keys must be ed25519 or ecdsa-p256 (SM2 is not available in TLS 1.3)");
  }
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) return tls_error("cannot require TLS 1.3");
  auto cert = self_signed(own_key);
  if (!cert) return cert.error();
  if (SSL_CTX_use_certificate(ctx, cert->get()) != 1) return tls_error("cannot use the certificate");
  if (SSL_CTX_use_PrivateKey(ctx, own_key.native()) != 1) return tls_error("cannot use the private key");
  if (SSL_CTX_check_private_key(ctx) != 1) return tls_error("the key does not match the certificate");

  auto pins = std::make_unique<PinSet>();
  for (const auto& k : pinned) pins->keys.insert(k.to_der());
  int index = pinset_index();
  delete static_cast<PinSet*>(SSL_CTX_get_ex_data(ctx, index));
  PinSet* raw = pins.release();
  SSL_CTX_set_ex_data(ctx, index, raw);  // freed with the context
  SSL_CTX_set_cert_verify_callback(ctx, verify_pinned, raw);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  if (role == TlsRole::server) SSL_CTX_set_num_tickets(ctx, 0);  // every connection proves its key afresh
  return {};
}

Result<SslCtxPtr> make_pinned_tls_context(TlsRole role, const PrivateKey& own_key,
                                          const std::vector<PublicKey>& pinned) {
  SslCtxPtr ctx(SSL_CTX_new(role == TlsRole::server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) return tls_error("cannot create an SSL_CTX");
  if (Status s = configure_pinned_tls(ctx.get(), role, own_key, pinned); !s) return s.error();
  return ctx;
}

Result<Bytes> peer_public_key_der(ssl_st* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
  if (key == nullptr) return make_error("no_peer_key", "the peer presented no key");
  return der_of(key);
}

}  // namespace onebill::crypto
