// Fuzz target: ECDSA P-256 verification with a key's table (crypto/p256_table.h) against OpenSSL's own
// EVP_PKEY_verify, which is the oracle: a node that has built a key's table must answer exactly as one that has not,
// or two nodes would record different outcomes for the same entry.
//
// Input: byte 0 picks how the rest is read —
//   even: a signature to alter. One of four fixed valid signatures (below, made once with `openssl dgst -sha256
//         -sign` and the fixed key) is taken by byte 1, and the rest of the input is applied to it: pairs of
//         (position, XOR mask), and an odd trailing byte cuts or extends it. Mutations near validity: bit flips in
//         r and s, lengths, DER headers;
//   odd:  a 32-byte digest followed by raw signature bytes, the fuzzer's own.
// Property beyond "no crash": the table's answer is never "error" and equals EVP_PKEY_verify's, and
// PublicKey::verify (which uses the table once built) agrees with both for the fixed messages.
#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/p256_table.h"
#include "tests/fuzz/fuzz_net.h"

namespace {

using onebill::crypto::Bytes;
using onebill::crypto::Digest;
using onebill::crypto::PublicKey;
using onebill::crypto::detail::P256Table;
using onebill::fuzz::property_failed;

constexpr const char* kTarget = "p256_verify";

// A key for this target only (it signs nothing else), fixed so that seeds and findings reproduce.
constexpr const char* kPrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmaVaik9KrBrlzQHS\n"
    "06P+vRGkxV9jzYqteBENaN6M1mqhRANCAAR4oV7aZAfJ/HmGDSMU/kVGwglq4R+a\n"
    "3SbS0pLJMeMZn8toyv4wbZopeNGzITdKV+RYlJaEuxkiO5bJ1ok1c5mW\n"
    "-----END PRIVATE KEY-----\n";

// Signatures of "fuzz message 0" … "fuzz message 3" by that key.
constexpr std::array<const char*, 4> kSignatures = {
    "3046022100d2dedbbd78fcd5b70e25a3600e002992ddd217ab8f62b903e66f0ea014d2abd6022100f10f73c1e1096168d63c86219664a1f1"
    "da389dca6895d9572f3f781129fe64c4",
    "304502200b2e62e72edb1eb84dcac344f70b10c6d680acbc1c891208b16b62c63c81a76a022100956ce8d29f9bbd2b4d50c7e2a2d69b843b"
    "ee30065985da5d11f77844631c8e7d",
    "304402206e25c16956e08a1dd743b9b4979de98926ba0ae003b4431d11bf10d9cc84de2202200e8c11f2124047acd48854012d0a9a87b263"
    "52be05a86561cb87a8646e0d233c",
    "3046022100bb191491f0bffcd8e0031c423cfc5586029f5e6df95240c677a43ac2079f6c97022100c9c811a00830602f5b0a2cf0a22901e5"
    "5c065306cf1e77ec4a186031e70e50a2",
};

Bytes unhex(const std::string& text) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  Bytes out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1])));
  }
  return out;
}

struct Fixture {
  PublicKey pub;
  std::unique_ptr<P256Table> table;
  std::array<Bytes, 4> sigs;
  std::array<std::string, 4> messages;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    auto key = onebill::crypto::PrivateKey::from_pem(kPrivatePem, onebill::crypto::SigAlg::ecdsa_p256);
    if (!key) property_failed(kTarget, "the fixed key does not load");
    Fixture x{key->public_key(), nullptr, {}, {}};
    x.table = P256Table::build(x.pub.native());
    if (!x.table) property_failed(kTarget, "no table for the fixed key");
    if (!x.pub.build_table()) property_failed(kTarget, "PublicKey::build_table failed");
    for (std::size_t i = 0; i < 4; ++i) {
      x.sigs[i] = unhex(kSignatures[i]);
      x.messages[i] = "fuzz message " + std::to_string(i);
    }
    return x;
  }();
  return f;
}

bool evp_verify(const PublicKey& pub, const Digest& digest, const Bytes& sig) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(pub.native(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
    property_failed(kTarget, "OpenSSL could not set up a verification");
  }
  return EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest.data(), digest.size()) == 1;
}

void compare(const Fixture& f, const Digest& digest, const Bytes& sig) {
  const bool oracle = evp_verify(f.pub, digest, sig);
  const P256Table::Answer answer = f.table->verify(digest, sig);
  if (answer == P256Table::Answer::error) property_failed(kTarget, "the table's verification failed inside OpenSSL");
  if ((answer == P256Table::Answer::valid) != oracle) {
    property_failed(kTarget, oracle ? "a signature OpenSSL accepts was refused" : "a signature OpenSSL refuses was accepted");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  if (size < 2) return 0;
  if ((data[0] & 1) == 0) {
    const std::size_t which = data[1] % 4;
    Bytes sig = f.sigs[which];
    std::size_t i = 2;
    for (; i + 1 < size; i += 2) {
      if (sig.empty()) break;
      sig[data[i] % sig.size()] ^= data[i + 1];
    }
    if (i < size) {  // an odd trailing byte: cut (high bit clear) or extend (set) by its low bits
      const std::size_t n = data[i] & 0x3f;
      if ((data[i] & 0x80) == 0) {
        sig.resize(sig.size() > n ? sig.size() - n : 0);
      } else {
        sig.insert(sig.end(), n, static_cast<std::uint8_t>(data[i]));
      }
    }
    const Digest digest = onebill::crypto::hash(onebill::crypto::HashAlg::sha256, f.messages[which]);
    compare(f, digest, sig);
    if (f.pub.verify(f.messages[which], sig) != evp_verify(f.pub, digest, sig)) {
      property_failed(kTarget, "PublicKey::verify with its table disagrees with OpenSSL");
    }
    return 0;
  }
  if (size < 1 + 32) return 0;
  Digest digest{};
  std::copy(data + 1, data + 33, digest.begin());
  compare(f, digest, Bytes(data + 33, data + size));
  return 0;
}
