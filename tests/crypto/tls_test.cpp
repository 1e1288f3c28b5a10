// Pinned mutual TLS (crypto/tls.h): an in-process handshake over an OpenSSL BIO pair, driven by hand.
#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/tls.h"

using namespace onebill::crypto;

namespace {

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

enum class State { running, done, failed };

State step(SSL* ssl, State state) {
  if (state != State::running) return state;
  const int rc = SSL_do_handshake(ssl);
  if (rc == 1) return State::done;
  const int err = SSL_get_error(ssl, rc);
  return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? State::running : State::failed;
}

struct Connection {
  SslPtr client;
  SslPtr server;
  State client_state = State::running;
  State server_state = State::running;
  int iterations = 0;

  bool established() const { return client_state == State::done && server_state == State::done; }

  // Application data both ways after the handshake; false if either side cannot.
  bool exchange() {
    const std::string ping = "ping", pong = "pong";
    char buf[16] = {};
    if (SSL_write(client.get(), ping.data(), static_cast<int>(ping.size())) != static_cast<int>(ping.size())) return false;
    if (SSL_read(server.get(), buf, sizeof buf) != static_cast<int>(ping.size()) || std::string(buf, 4) != ping) return false;
    if (SSL_write(server.get(), pong.data(), static_cast<int>(pong.size())) != static_cast<int>(pong.size())) return false;
    int n = 0;
    for (int i = 0; i < 4 && n <= 0; ++i) {  // the client may first read the server's session tickets
      n = SSL_read(client.get(), buf, sizeof buf);
      if (n <= 0 && SSL_get_error(client.get(), n) != SSL_ERROR_WANT_READ) return false;
    }
    return n == static_cast<int>(pong.size()) && std::string(buf, 4) == pong;
  }
};

// Runs the handshake to completion or failure, bounded.
Connection handshake(ssl_ctx_st* client_ctx, ssl_ctx_st* server_ctx) {
  Connection c;
  c.client.reset(SSL_new(client_ctx));
  c.server.reset(SSL_new(server_ctx));
  REQUIRE(c.client != nullptr);
  REQUIRE(c.server != nullptr);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
  SSL_set_bio(c.client.get(), client_bio, client_bio);
  SSL_set_bio(c.server.get(), server_bio, server_bio);
  SSL_set_connect_state(c.client.get());
  SSL_set_accept_state(c.server.get());
  for (; c.iterations < 64; ++c.iterations) {
    c.client_state = step(c.client.get(), c.client_state);
    c.server_state = step(c.server.get(), c.server_state);
    if (c.established()) break;
    if (c.client_state == State::failed && c.server_state != State::running) break;
    if (c.server_state == State::failed && c.client_state != State::running) break;
  }
  REQUIRE(c.iterations < 64);  // bounded: it always came to an end
  return c;
}

PrivateKey make_key(SigAlg alg) {
  auto k = PrivateKey::generate(alg);
  REQUIRE(k.ok());
  return *k;
}

SslCtxPtr make_ctx(TlsRole role, const PrivateKey& own, const std::vector<PublicKey>& pinned) {
  auto ctx = make_pinned_tls_context(role, own, pinned);
  if (!ctx.ok()) FAIL("make_pinned_tls_context: " << ctx.error().code << ": " << ctx.error().message);
  REQUIRE(*ctx != nullptr);
  return std::move(*ctx);
}

const char* name(SigAlg a) { return a == SigAlg::ed25519 ? "ed25519" : "ecdsa-p256"; }

}  // namespace

TEST_CASE("tls: both sides pinned, handshake succeeds and each side sees the other's key", "[tls]") {
  for (SigAlg client_alg : {SigAlg::ecdsa_p256, SigAlg::ed25519}) {
    for (SigAlg server_alg : {SigAlg::ecdsa_p256, SigAlg::ed25519}) {
      INFO("client " << name(client_alg) << ", server " << name(server_alg));
      const PrivateKey client_key = make_key(client_alg);
      const PrivateKey server_key = make_key(server_alg);
      const PublicKey bystander = make_key(SigAlg::ed25519).public_key();
      // Each side pins a list in which the peer is one of several keys.
      const SslCtxPtr client_ctx = make_ctx(TlsRole::client, client_key, {bystander, server_key.public_key()});
      const SslCtxPtr server_ctx = make_ctx(TlsRole::server, server_key, {client_key.public_key(), bystander});
      Connection c = handshake(client_ctx.get(), server_ctx.get());
      INFO("iterations " << c.iterations);
      REQUIRE(c.established());
      CHECK(SSL_version(c.client.get()) == TLS1_3_VERSION);
      CHECK(SSL_version(c.server.get()) == TLS1_3_VERSION);

      auto seen_by_client = peer_public_key_der(c.client.get());
      REQUIRE(seen_by_client.ok());
      CHECK(*seen_by_client == server_key.public_key().to_der());
      auto seen_by_server = peer_public_key_der(c.server.get());
      REQUIRE(seen_by_server.ok());
      CHECK(*seen_by_server == client_key.public_key().to_der());
      CHECK(c.exchange());
    }
  }
}

TEST_CASE("tls: server does not pin the client's key, handshake fails", "[tls]") {
  for (SigAlg alg : {SigAlg::ecdsa_p256, SigAlg::ed25519}) {
    INFO("keys " << name(alg));
    const PrivateKey client_key = make_key(alg);
    const PrivateKey server_key = make_key(alg);
    const PrivateKey other = make_key(alg);  // same type as the client's, another key
    const SslCtxPtr client_ctx = make_ctx(TlsRole::client, client_key, {server_key.public_key()});
    const SslCtxPtr server_ctx = make_ctx(TlsRole::server, server_key, {other.public_key()});
    Connection c = handshake(client_ctx.get(), server_ctx.get());
    CHECK(c.server_state == State::failed);
    CHECK_FALSE(c.established());
    // In TLS 1.3 the client may believe it is done before the server has judged its certificate; it must still
    // not get a working channel.
    if (c.client_state == State::done) CHECK_FALSE(c.exchange());
  }
}

TEST_CASE("tls: client does not pin the server's key, handshake fails", "[tls]") {
  for (SigAlg alg : {SigAlg::ecdsa_p256, SigAlg::ed25519}) {
    INFO("keys " << name(alg));
    const PrivateKey client_key = make_key(alg);
    const PrivateKey server_key = make_key(alg);
    const PrivateKey other = make_key(alg);
    const SslCtxPtr client_ctx = make_ctx(TlsRole::client, client_key, {other.public_key()});
    const SslCtxPtr server_ctx = make_ctx(TlsRole::server, server_key, {client_key.public_key()});
    Connection c = handshake(client_ctx.get(), server_ctx.get());
    CHECK(c.client_state == State::failed);
    CHECK(c.server_state != State::done);
    CHECK_FALSE(c.established());
  }
}

TEST_CASE("tls: nobody pinned at all fails", "[tls]") {
  const PrivateKey client_key = make_key(SigAlg::ed25519);
  const PrivateKey server_key = make_key(SigAlg::ecdsa_p256);
  auto client_ctx = make_pinned_tls_context(TlsRole::client, client_key, {});
  auto server_ctx = make_pinned_tls_context(TlsRole::server, server_key, {});
  // Refusing to build such a context is as good as failing every handshake.
  if (client_ctx.ok() && server_ctx.ok()) {
    Connection c = handshake(client_ctx->get(), server_ctx->get());
    CHECK_FALSE(c.established());
  } else {
    SUCCEED("an empty pin list is refused up front");
  }
}

TEST_CASE("tls: a client without a certificate is refused by a pinned server", "[tls]") {
  const PrivateKey server_key = make_key(SigAlg::ecdsa_p256);
  const PrivateKey client_key = make_key(SigAlg::ecdsa_p256);
  const SslCtxPtr server_ctx = make_ctx(TlsRole::server, server_key, {client_key.public_key()});
  // A plain TLS client that presents no certificate and checks nothing.
  SslCtxPtr plain(SSL_CTX_new(TLS_client_method()));
  REQUIRE(plain != nullptr);
  SSL_CTX_set_verify(plain.get(), SSL_VERIFY_NONE, nullptr);
  Connection c = handshake(plain.get(), server_ctx.get());
  CHECK(c.server_state == State::failed);
  CHECK_FALSE(c.established());
  if (c.client_state == State::done) CHECK_FALSE(c.exchange());
}

TEST_CASE("tls: configure_pinned_tls on an SSL_CTX made elsewhere", "[tls]") {
  const PrivateKey client_key = make_key(SigAlg::ed25519);
  const PrivateKey server_key = make_key(SigAlg::ecdsa_p256);
  SslCtxPtr server_ctx(SSL_CTX_new(TLS_method()));
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(server_ctx != nullptr);
  REQUIRE(client_ctx != nullptr);
  REQUIRE(configure_pinned_tls(server_ctx.get(), TlsRole::server, server_key, {client_key.public_key()}).ok());
  REQUIRE(configure_pinned_tls(client_ctx.get(), TlsRole::client, client_key, {server_key.public_key()}).ok());
  Connection c = handshake(client_ctx.get(), server_ctx.get());
  REQUIRE(c.established());
  CHECK(SSL_version(c.client.get()) == TLS1_3_VERSION);
  CHECK(peer_public_key_der(c.server.get()).value() == client_key.public_key().to_der());
  CHECK(peer_public_key_der(c.client.get()).value() == server_key.public_key().to_der());
  CHECK(c.exchange());
}

TEST_CASE("tls: peer_public_key_der before any handshake is no_peer_key", "[tls]") {
  const PrivateKey key = make_key(SigAlg::ed25519);
  const SslCtxPtr ctx = make_ctx(TlsRole::client, key, {key.public_key()});
  SslPtr ssl(SSL_new(ctx.get()));
  REQUIRE(ssl != nullptr);
  auto r = peer_public_key_der(ssl.get());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "no_peer_key");
}
