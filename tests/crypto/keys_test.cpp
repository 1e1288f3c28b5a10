// Signature keys (crypto/keys.h): RFC 8032 Ed25519 vectors, round trips for all three algorithms, signatures made
// by the openssl command line (tests/data/vectors/openssl, see tests/data/README.md), signatures of ours checked
// by OpenSSL's EVP API directly, and bad keys and signatures.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/keys.h"
#include "tests/crypto/test_util.h"

using namespace onebill::crypto;
using onebill::crypto::test::read_json;
using onebill::crypto::test::read_text;
using onebill::crypto::test::tohex;
using onebill::crypto::test::trim;
using onebill::crypto::test::unhex;

namespace {

// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 section 4): SEQUENCE { SEQUENCE { OID 1.3.101.112 },
// BIT STRING (33 bytes: 0 unused bits + 32-byte key) }.
const Bytes kEd25519SpkiPrefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

const SigAlg kAllAlgs[] = {SigAlg::ed25519, SigAlg::ecdsa_p256, SigAlg::sm2};

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// Loads a PEM public key with OpenSSL itself, independently of crypto/keys.
EvpPkeyPtr openssl_load_public(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return EvpPkeyPtr(key);
}

// Verifies with OpenSSL's EVP API directly: Ed25519 (pure), ECDSA with SHA-256 (DER), SM2 with SM3 and the
// distinguishing id 1234567812345678.
bool openssl_verify(EVP_PKEY* key, SigAlg alg, ByteView message, ByteView sig) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> pctx(nullptr, EVP_PKEY_CTX_free);
  const EVP_MD* digest = alg == SigAlg::ed25519 ? nullptr : alg == SigAlg::ecdsa_p256 ? EVP_sha256() : EVP_sm3();
  if (alg == SigAlg::sm2) {
    static const char kId[] = "1234567812345678";
    pctx.reset(EVP_PKEY_CTX_new(key, nullptr));
    if (pctx == nullptr || EVP_PKEY_CTX_set1_id(pctx.get(), kId, 16) <= 0) return false;
    EVP_MD_CTX_set_pkey_ctx(md.get(), pctx.get());
  }
  if (EVP_DigestVerifyInit(md.get(), nullptr, digest, nullptr, key) != 1) return false;
  return EVP_DigestVerify(md.get(), sig.data(), sig.size(), message.data(), message.size()) == 1;
}

Bytes flip_bit(Bytes b, std::size_t bit) {
  b[bit / 8] = static_cast<std::uint8_t>(b[bit / 8] ^ (1u << (bit % 8)));
  return b;
}

PrivateKey generate(SigAlg alg) {
  auto k = PrivateKey::generate(alg);
  REQUIRE(k.ok());
  return *k;
}

Bytes sign(const PrivateKey& key, std::string_view message) {
  auto s = key.sign(message);
  REQUIRE(s.ok());
  return *s;
}

struct OpensslFixture {
  const char* stem;
  SigAlg alg;
  std::vector<const char*> sig_files;
};

const OpensslFixture kOpensslFixtures[] = {
    {"ed25519", SigAlg::ed25519, {"ed25519.sig.hex"}},
    {"p256", SigAlg::ecdsa_p256, {"p256.sig.hex", "p256.pkeyutl.sig.hex"}},
    {"sm2", SigAlg::sm2, {"sm2.sig.hex", "sm2.dgst.sig.hex"}},
};

std::string fixture(const std::string& name) { return read_text("vectors/openssl/" + name); }

}  // namespace

TEST_CASE("keys: algorithm names", "[keys]") {
  for (SigAlg alg : kAllAlgs) {
    auto back = parse_sig_alg(sig_alg_name(alg));
    REQUIRE(back.ok());
    CHECK(*back == alg);
  }
  CHECK(sig_alg_name(SigAlg::ed25519) == "ed25519");
  CHECK(sig_alg_name(SigAlg::ecdsa_p256) == "ecdsa-p256");
  CHECK(sig_alg_name(SigAlg::sm2) == "sm2");
  for (const char* bad : {"", "Ed25519", "ecdsa_p256", "p256", "ecdsa", "rsa", "sm2 "}) {
    INFO("name \"" << bad << "\"");
    auto r = parse_sig_alg(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "unknown_alg");
  }
}

TEST_CASE("Ed25519: RFC 8032 section 7.1 test vectors", "[keys][vectors]") {
  const auto data = read_json("vectors/ed25519_rfc8032.json");
  REQUIRE(data["vectors"].size() == 5);
  std::vector<PublicKey> others;
  for (const auto& v : data["vectors"]) {
    const std::string name = v["name"];
    INFO("RFC 8032 " << name);
    const Bytes seed = unhex(v["secret_key"].get<std::string>());
    const Bytes expected_pub = unhex(v["public_key"].get<std::string>());
    const Bytes message = unhex(v["message"].get<std::string>());
    const Bytes expected_sig = unhex(v["signature"].get<std::string>());

    auto key = PrivateKey::ed25519_from_seed(seed);
    REQUIRE(key.ok());
    CHECK(key->alg() == SigAlg::ed25519);
    const PublicKey pub = key->public_key();
    CHECK(pub.alg() == SigAlg::ed25519);
    const Bytes der = pub.to_der();
    REQUIRE(der.size() == 44);
    CHECK(Bytes(der.begin(), der.begin() + 12) == kEd25519SpkiPrefix);
    CHECK(tohex(ByteView(der).subspan(12)) == tohex(expected_pub));

    // Ed25519 is deterministic: the signature is exactly the published one.
    auto sig = key->sign(message);
    REQUIRE(sig.ok());
    CHECK(tohex(*sig) == tohex(expected_sig));
    CHECK(pub.verify(message, expected_sig));

    // The public key rebuilt from the published raw key verifies too.
    Bytes spki = kEd25519SpkiPrefix;
    spki.insert(spki.end(), expected_pub.begin(), expected_pub.end());
    auto from_raw = PublicKey::from_der(spki, SigAlg::ed25519);
    REQUIRE(from_raw.ok());
    CHECK(from_raw->to_der() == der);
    CHECK(from_raw->verify(message, expected_sig));

    // Any flipped bit of the signature fails (every bit of the first and last bytes of R and S, and some others).
    for (std::size_t bit : {0, 1, 7, 8, 100, 248, 255, 256, 257, 300, 400, 504, 510, 511}) {
      INFO("signature bit " << bit);
      CHECK_FALSE(pub.verify(message, flip_bit(expected_sig, bit)));
    }
    // A flipped bit of the message fails; so does an extra byte.
    if (!message.empty()) {
      CHECK_FALSE(pub.verify(flip_bit(message, 0), expected_sig));
      CHECK_FALSE(pub.verify(flip_bit(message, message.size() * 8 - 1), expected_sig));
    }
    Bytes longer = message;
    longer.push_back(0);
    CHECK_FALSE(pub.verify(longer, expected_sig));
    // Another vector's key does not verify this signature.
    for (const auto& other : others) CHECK_FALSE(other.verify(message, expected_sig));
    others.push_back(pub);
  }
}

TEST_CASE("Ed25519: a seed must be 32 bytes", "[keys]") {
  for (std::size_t n : {0, 1, 31, 33, 64}) {
    INFO("seed of " << n << " bytes");
    Bytes seed(n, 7);
    CHECK_FALSE(PrivateKey::ed25519_from_seed(seed).ok());
  }
}

TEST_CASE("keys: generate, sign, verify, PEM and DER round trips", "[keys]") {
  for (SigAlg alg : kAllAlgs) {
    INFO("algorithm " << sig_alg_name(alg));
    const PrivateKey key = generate(alg);
    CHECK(key.alg() == alg);
    const PublicKey pub = key.public_key();
    CHECK(pub.alg() == alg);

    const std::string message = "onebill: transfer 125000 fen";
    const Bytes sig = sign(key, message);
    if (alg == SigAlg::ed25519) CHECK(sig.size() == 64);
    if (alg != SigAlg::ed25519) CHECK(sig.at(0) == 0x30);  // DER SEQUENCE (r, s)
    CHECK(pub.verify(message, sig));
    CHECK_FALSE(pub.verify("onebill: transfer 125001 fen", sig));
    CHECK_FALSE(generate(alg).public_key().verify(message, sig));

    // Empty and large messages.
    CHECK(pub.verify("", sign(key, "")));
    const std::string big(1 << 20, 'x');
    const Bytes big_sig = sign(key, big);
    CHECK(pub.verify(big, big_sig));
    CHECK_FALSE(pub.verify(big.substr(1), big_sig));

    // Private PEM round trip: same public key, and the loaded key's signatures verify under the original.
    const std::string priv_pem = key.to_pem();
    CHECK(priv_pem.find("-----BEGIN PRIVATE KEY-----") != std::string::npos);
    auto loaded = PrivateKey::from_pem(priv_pem, alg);
    REQUIRE(loaded.ok());
    CHECK(loaded->alg() == alg);
    CHECK(loaded->public_key().to_der() == pub.to_der());
    CHECK(pub.verify(message, sign(*loaded, message)));
    auto loaded_any = PrivateKey::from_pem_any(priv_pem);
    REQUIRE(loaded_any.ok());
    CHECK(loaded_any->alg() == alg);
    CHECK(loaded_any->public_key().to_der() == pub.to_der());

    // Public PEM and DER round trips.
    const std::string pub_pem = pub.to_pem();
    CHECK(pub_pem.find("-----BEGIN PUBLIC KEY-----") != std::string::npos);
    auto pub2 = PublicKey::from_pem(pub_pem, alg);
    REQUIRE(pub2.ok());
    CHECK(pub2->to_der() == pub.to_der());
    CHECK(pub2->to_pem() == pub_pem);
    CHECK(pub2->verify(message, sig));
    auto pub3 = PublicKey::from_pem_any(pub_pem);
    REQUIRE(pub3.ok());
    CHECK(pub3->alg() == alg);
    auto pub4 = PublicKey::from_der(pub.to_der(), alg);
    REQUIRE(pub4.ok());
    CHECK(pub4->to_der() == pub.to_der());
    CHECK(pub4->verify(message, sig));

    // Ed25519 is deterministic; ECDSA and SM2 are randomized but both signatures verify.
    const Bytes sig2 = sign(key, message);
    if (alg == SigAlg::ed25519) CHECK(sig2 == sig);
    if (alg != SigAlg::ed25519) CHECK(sig2 != sig);
    CHECK(pub.verify(message, sig2));

    // Copies share the key.
    const PrivateKey copy = key;  // NOLINT(performance-unnecessary-copy-initialization)
    CHECK(copy.public_key().to_der() == pub.to_der());
  }
}

TEST_CASE("keys: signatures made by the openssl command line verify", "[keys][vectors][interop]") {
  const std::string message = fixture("message.txt");
  REQUIRE(message == "onebill interop: signed with the openssl command line\n");
  for (const auto& f : kOpensslFixtures) {
    INFO("fixture " << f.stem);
    const std::string pub_pem = fixture(std::string(f.stem) + ".pub.pem");
    auto pub = PublicKey::from_pem(pub_pem, f.alg);
    REQUIRE(pub.ok());
    auto any = PublicKey::from_pem_any(pub_pem);
    REQUIRE(any.ok());
    CHECK(any->alg() == f.alg);
    for (const char* sig_file : f.sig_files) {
      INFO("signature " << sig_file);
      const Bytes sig = unhex(trim(fixture(sig_file)));
      CHECK(pub->verify(message, sig));
      CHECK(any->verify(message, sig));
      CHECK_FALSE(pub->verify(message.substr(0, message.size() - 1), sig));
      CHECK_FALSE(pub->verify(message + "x", sig));
      CHECK_FALSE(pub->verify(message, flip_bit(sig, sig.size() * 8 - 1)));
    }
    // The test private key made by openssl genpkey loads and matches the public key.
    const std::string priv_pem = fixture(std::string(f.stem) + ".test-key.pem");
    auto key = PrivateKey::from_pem(priv_pem, f.alg);
    REQUIRE(key.ok());
    CHECK(key->public_key().to_der() == pub->to_der());
    auto key_any = PrivateKey::from_pem_any(priv_pem);
    REQUIRE(key_any.ok());
    CHECK(key_any->alg() == f.alg);
  }
}

TEST_CASE("keys: SM2 signatures with another distinguishing id do not verify", "[keys][interop]") {
  const std::string message = fixture("message.txt");
  auto pub = PublicKey::from_pem(fixture("sm2.pub.pem"), SigAlg::sm2);
  REQUIRE(pub.ok());
  // Made by openssl with -pkeyopt distid:ALICE123@YAHOO.COM: valid SM2, but not under the id onebill uses.
  CHECK_FALSE(pub->verify(message, unhex(trim(fixture("sm2.otherid.sig.hex")))));
}

TEST_CASE("keys: our signatures verify with OpenSSL's own EVP API", "[keys][interop]") {
  const std::string message = fixture("message.txt");
  for (const auto& f : kOpensslFixtures) {
    INFO("fixture " << f.stem);
    auto key = PrivateKey::from_pem(fixture(std::string(f.stem) + ".test-key.pem"), f.alg);
    REQUIRE(key.ok());
    EvpPkeyPtr reference = openssl_load_public(fixture(std::string(f.stem) + ".pub.pem"));
    REQUIRE(reference != nullptr);
    const Bytes sig = sign(*key, message);
    CHECK(openssl_verify(reference.get(), f.alg, as_bytes(message), sig));
    CHECK_FALSE(openssl_verify(reference.get(), f.alg, as_bytes(message + "x"), sig));
    // And a generated key's PEM is read by OpenSSL as the same key.
    const PrivateKey fresh = generate(f.alg);
    EvpPkeyPtr fresh_ref = openssl_load_public(fresh.public_key().to_pem());
    REQUIRE(fresh_ref != nullptr);
    CHECK(openssl_verify(fresh_ref.get(), f.alg, as_bytes(message), sign(fresh, message)));
  }
}

TEST_CASE("keys: a key of the wrong type is wrong_key_type", "[keys][negative]") {
  const std::string ed_pub = fixture("ed25519.pub.pem");
  const std::string p256_pub = fixture("p256.pub.pem");
  const std::string sm2_pub = fixture("sm2.pub.pem");
  const std::string ed_priv = fixture("ed25519.test-key.pem");
  const std::string p256_priv = fixture("p256.test-key.pem");
  const std::string sm2_priv = fixture("sm2.test-key.pem");
  struct Case {
    const std::string* pem;
    SigAlg expected;
    bool is_private;
  };
  const Case cases[] = {
      {&ed_pub, SigAlg::ecdsa_p256, false}, {&ed_pub, SigAlg::sm2, false},      {&p256_pub, SigAlg::ed25519, false},
      {&p256_pub, SigAlg::sm2, false},      {&sm2_pub, SigAlg::ecdsa_p256, false}, {&sm2_pub, SigAlg::ed25519, false},
      {&ed_priv, SigAlg::ecdsa_p256, true}, {&ed_priv, SigAlg::sm2, true},      {&p256_priv, SigAlg::ed25519, true},
      {&p256_priv, SigAlg::sm2, true},      {&sm2_priv, SigAlg::ecdsa_p256, true}, {&sm2_priv, SigAlg::ed25519, true},
  };
  for (const auto& c : cases) {
    INFO((c.is_private ? "private " : "public ") << c.pem->substr(0, 40) << "... loaded as " << sig_alg_name(c.expected));
    if (c.is_private) {
      auto r = PrivateKey::from_pem(*c.pem, c.expected);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == "wrong_key_type");
    } else {
      auto r = PublicKey::from_pem(*c.pem, c.expected);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == "wrong_key_type");
    }
  }
  // Same through DER.
  auto ed = PublicKey::from_pem(ed_pub, SigAlg::ed25519);
  REQUIRE(ed.ok());
  auto as_p256 = PublicKey::from_der(ed->to_der(), SigAlg::ecdsa_p256);
  REQUIRE_FALSE(as_p256.ok());
  CHECK(as_p256.error().code == "wrong_key_type");
}

TEST_CASE("keys: EC keys on other curves and RSA keys are refused", "[keys][negative]") {
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  REQUIRE(p384 != nullptr);
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  REQUIRE(rsa != nullptr);
  for (EVP_PKEY* k : {p384, rsa}) {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(k, &der);
    REQUIRE(len > 0);
    const Bytes spki(der, der + len);
    OPENSSL_free(der);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(bio, k) == 1);
    char* mem = nullptr;
    const long n = BIO_get_mem_data(bio, &mem);
    const std::string pem(mem, static_cast<std::size_t>(n));
    BIO_free(bio);

    for (SigAlg alg : kAllAlgs) {
      INFO((k == rsa ? "RSA" : "P-384") << " public key as " << sig_alg_name(alg));
      auto a = PublicKey::from_der(spki, alg);
      REQUIRE_FALSE(a.ok());
      CHECK(a.error().code == "wrong_key_type");
      auto b = PublicKey::from_pem(pem, alg);
      REQUIRE_FALSE(b.ok());
      CHECK(b.error().code == "wrong_key_type");
    }
    INFO((k == rsa ? "RSA" : "P-384") << " public key through from_pem_any");
    CHECK_FALSE(PublicKey::from_pem_any(pem).ok());
  }
  EVP_PKEY_free(p384);
  EVP_PKEY_free(rsa);
}

TEST_CASE("keys: truncated and garbage PEM is bad_pem", "[keys][negative]") {
  for (const auto& f : kOpensslFixtures) {
    const std::string pub_pem = fixture(std::string(f.stem) + ".pub.pem");
    const std::string priv_pem = fixture(std::string(f.stem) + ".test-key.pem");
    const std::vector<std::string> bad_pub = {
        pub_pem.substr(0, pub_pem.size() / 2),                     // cut in the middle
        pub_pem.substr(0, pub_pem.find("-----END")),               // no END line
        pub_pem.substr(pub_pem.find('\n') + 1),                    // no BEGIN line
        std::string(pub_pem).replace(30, 8, "!!!!!!!!"),           // not base64
        std::string(pub_pem).replace(pub_pem.find('\n') + 1, 4, "MDow"),  // DER SEQUENCE length wrong
    };
    for (const auto& pem : bad_pub) {
      INFO(f.stem << " public PEM:\n" << pem);
      auto r = PublicKey::from_pem(pem, f.alg);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == "bad_pem");
      CHECK_FALSE(PublicKey::from_pem_any(pem).ok());
    }
    const std::vector<std::string> bad_priv = {
        priv_pem.substr(0, priv_pem.size() / 2),
        priv_pem.substr(0, priv_pem.find("-----END")),
        std::string(priv_pem).replace(30, 8, "!!!!!!!!"),
    };
    for (const auto& pem : bad_priv) {
      INFO(f.stem << " private PEM:\n" << pem);
      auto r = PrivateKey::from_pem(pem, f.alg);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == "bad_pem");
      CHECK_FALSE(PrivateKey::from_pem_any(pem).ok());
    }
  }
  const std::vector<std::string> garbage = {
      "",
      "hello",
      std::string(1000, 'A'),
      std::string("\0\0\0\0", 4),
      "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
      "-----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----\n",
      "-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n",
      "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
  };
  for (const auto& pem : garbage) {
    INFO("garbage PEM: " << pem.substr(0, 60));
    for (SigAlg alg : kAllAlgs) {
      auto a = PublicKey::from_pem(pem, alg);
      REQUIRE_FALSE(a.ok());
      CHECK(a.error().code == "bad_pem");
      auto b = PrivateKey::from_pem(pem, alg);
      REQUIRE_FALSE(b.ok());
      CHECK(b.error().code == "bad_pem");
    }
    CHECK_FALSE(PublicKey::from_pem_any(pem).ok());
    CHECK_FALSE(PrivateKey::from_pem_any(pem).ok());
  }
  // A private key where a public one is expected, and the reverse: refused, whatever the code.
  for (const auto& f : kOpensslFixtures) {
    INFO(f.stem);
    CHECK_FALSE(PublicKey::from_pem(fixture(std::string(f.stem) + ".test-key.pem"), f.alg).ok());
    CHECK_FALSE(PrivateKey::from_pem(fixture(std::string(f.stem) + ".pub.pem"), f.alg).ok());
  }
  // Garbage DER.
  for (SigAlg alg : kAllAlgs) {
    CHECK_FALSE(PublicKey::from_der(Bytes{}, alg).ok());
    CHECK_FALSE(PublicKey::from_der(Bytes{0x30, 0x00}, alg).ok());
    CHECK_FALSE(PublicKey::from_der(Bytes(44, 0xff), alg).ok());
  }
}

TEST_CASE("keys: malformed signatures are false, never a crash", "[keys][negative]") {
  std::mt19937 rng(7);
  const std::string message = "onebill: the message";
  for (SigAlg alg : kAllAlgs) {
    INFO("algorithm " << sig_alg_name(alg));
    const PrivateKey key = generate(alg);
    const PublicKey pub = key.public_key();
    const Bytes sig = sign(key, message);
    REQUIRE(pub.verify(message, sig));

    std::vector<Bytes> bad;
    bad.push_back({});                                                   // empty
    bad.push_back(Bytes(sig.begin(), sig.end() - 1));                    // truncated by one byte
    bad.push_back(Bytes(sig.begin(), sig.begin() + static_cast<std::ptrdiff_t>(sig.size() / 2)));  // half
    bad.push_back(Bytes(sig.begin(), sig.begin() + 1));                  // one byte
    Bytes longer = sig;
    longer.push_back(0);
    bad.push_back(longer);                                               // trailing byte
    bad.push_back(Bytes(sig.size(), 0));                                 // zeros
    bad.push_back(Bytes(sig.size(), 0xff));                              // ones
    for (int i = 0; i < 20; ++i) {                                       // random garbage of several sizes
      Bytes g(static_cast<std::size_t>(rng() % 140));
      for (auto& b : g) b = static_cast<std::uint8_t>(rng());
      bad.push_back(g);
    }
    bad.push_back(Bytes{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00});  // DER r = s = 0
    bad.push_back(Bytes{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01});  // DER r = s = 1
    bad.push_back(Bytes{0x30, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00});  // indefinite length
    for (std::size_t bit = 0; bit < sig.size() * 8; bit += 13) bad.push_back(flip_bit(sig, bit));
    for (std::size_t i = 0; i < bad.size(); ++i) {
      INFO("bad signature #" << i << ": " << tohex(bad[i]));
      CHECK_FALSE(pub.verify(message, bad[i]));
    }
    // A good signature of another message, and another algorithm's signature.
    CHECK_FALSE(pub.verify(message + ".", sig));
    for (SigAlg other : kAllAlgs) {
      if (other == alg) continue;
      CHECK_FALSE(pub.verify(message, sign(generate(other), message)));
    }
  }
}

TEST_CASE("keys: sign and verify on one key from several threads", "[keys]") {
  for (SigAlg alg : kAllAlgs) {
    INFO("algorithm " << sig_alg_name(alg));
    const PrivateKey key = generate(alg);
    const PublicKey pub = key.public_key();
    std::vector<int> ok(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        int good = 1;
        for (int i = 0; i < 25; ++i) {
          const std::string m = "thread " + std::to_string(t) + " message " + std::to_string(i);
          auto s = key.sign(m);
          good &= static_cast<int>(s.ok() && pub.verify(m, *s) && !pub.verify(m + "!", *s));
        }
        ok[static_cast<std::size_t>(t)] = good;
      });
    }
    for (auto& th : threads) th.join();
    CHECK(ok == std::vector<int>{1, 1, 1, 1});
  }
}
