// Mutual TLS with pinned public keys, for the Raft peer channel.
//
// Each node has a TLS key listed in genesis ("tls_pub"). There is no certificate authority: each side presents a
// self-signed certificate made at start-up from its key (the certificate is only a carrier for the key), and
// accepts the peer only if the peer's SubjectPublicKeyInfo is one of the pinned keys. TLS 1.3 only.
// A peer whose key is not pinned fails the handshake.
#pragma once

#include <memory>
#include <vector>

#include "crypto/keys.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace onebill::crypto {

enum class TlsRole { client, server };

struct SslCtxDeleter {
  void operator()(ssl_ctx_st* ctx) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxDeleter>;

// Configures an existing SSL_CTX (for example the native handle of a boost::asio::ssl::context) for mutual TLS
// as `role`, presenting `own_key` and accepting only peers whose key is in `pinned`. Errors: "tls_error".
Status configure_pinned_tls(ssl_ctx_st* ctx, TlsRole role, const PrivateKey& own_key,
                            const std::vector<PublicKey>& pinned);

// A new SSL_CTX configured as above.
Result<SslCtxPtr> make_pinned_tls_context(TlsRole role, const PrivateKey& own_key,
                                          const std::vector<PublicKey>& pinned);

// After a completed handshake: the peer's public key (DER SubjectPublicKeyInfo), to tell which pinned peer it
// is. "no_peer_key" if the peer presented none.
Result<Bytes> peer_public_key_der(ssl_st* ssl);

}  // namespace onebill::crypto
