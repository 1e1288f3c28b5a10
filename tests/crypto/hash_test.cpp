// SHA-256 (NIST FIPS 180 examples) and SM3 (GB/T 32905-2016 Appendix A) through hash() and Hasher.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "tests/crypto/test_util.h"

using namespace onebill::crypto;
using onebill::crypto::test::read_json;

namespace {

std::string message_of(const nlohmann::json& v) {
  std::string piece = v["message"];
  std::size_t repeat = v.value("repeat", std::size_t{1});
  std::string out;
  out.reserve(piece.size() * repeat);
  for (std::size_t i = 0; i < repeat; ++i) out += piece;
  return out;
}

void check_vectors(HashAlg alg, const char* file, std::size_t expected_count) {
  const auto data = read_json(file);
  REQUIRE(data["vectors"].size() == expected_count);
  for (const auto& v : data["vectors"]) {
    const std::string name = v["name"];
    const std::string message = message_of(v);
    const std::string expected = v["digest"];
    INFO(hash_alg_name(alg) << " vector " << name);

    // One shot.
    CHECK(hex(hash(alg, message)) == expected);
    CHECK(hex(hash(alg, as_bytes(message))) == expected);

    // Incremental: all at once, byte by byte (short messages), and in uneven chunks.
    Hasher h(alg);
    CHECK(hex(h.update(message).finish()) == expected);
    if (message.size() <= 4096) {
      for (char c : message) h.update(static_cast<std::uint8_t>(c));
      CHECK(hex(h.finish()) == expected);
    }
    std::size_t pos = 0;
    std::size_t chunk = 1;
    while (pos < message.size()) {
      const std::size_t n = std::min(chunk, message.size() - pos);
      h.update(std::string_view(message).substr(pos, n));
      pos += n;
      chunk = chunk * 3 + 7;  // 1, 10, 37, 118, ... crosses the 64-byte block boundaries at odd places
    }
    CHECK(hex(h.finish()) == expected);
    // finish() starts over: a fresh round gives the empty-message digest of a new Hasher.
    CHECK(h.finish() == Hasher(alg).finish());
  }
}

}  // namespace

TEST_CASE("SHA-256: NIST FIPS 180 example vectors", "[hash][vectors]") {
  check_vectors(HashAlg::sha256, "vectors/sha256_nist.json", 5);
}

TEST_CASE("SM3: GB/T 32905-2016 Appendix A examples", "[hash][vectors]") {
  check_vectors(HashAlg::sm3, "vectors/sm3_gbt32905.json", 2);
}

TEST_CASE("hash: the two algorithms differ and the digest is 32 bytes", "[hash]") {
  CHECK(hash(HashAlg::sha256, "abc") != hash(HashAlg::sm3, "abc"));
  CHECK(hash(HashAlg::sha256, "abc").size() == 32);
}

TEST_CASE("hash: algorithm names", "[hash]") {
  auto s = parse_hash_alg("sha256");
  REQUIRE(s.ok());
  CHECK(*s == HashAlg::sha256);
  auto m = parse_hash_alg("sm3");
  REQUIRE(m.ok());
  CHECK(*m == HashAlg::sm3);
  CHECK(hash_alg_name(HashAlg::sha256) == "sha256");
  CHECK(hash_alg_name(HashAlg::sm3) == "sm3");
  for (const char* bad : {"", "sha-256", "SHA256", "sha256 ", "sha512", "md5", "sm2", "SM3"}) {
    INFO("name \"" << bad << "\"");
    auto r = parse_hash_alg(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "unknown_hash");
  }
}

TEST_CASE("hash: hex digests", "[hash]") {
  const Digest d = hash(HashAlg::sha256, "abc");
  const std::string h = hex(d);
  CHECK(h == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto back = digest_from_hex(h);
  REQUIRE(back.ok());
  CHECK(*back == d);
  auto upper = digest_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  REQUIRE(upper.ok());
  CHECK(*upper == d);
  for (const std::string& bad : {std::string(), h.substr(1), h + "0", h + "00", h.substr(0, 62) + "zz", h.substr(0, 63) + " ",
                                std::string(64, 'g'), " " + h.substr(1)}) {
    INFO("input \"" << bad << "\"");
    auto r = digest_from_hex(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad_digest");
  }
}

TEST_CASE("hash: a Hasher can be moved", "[hash]") {
  Hasher a(HashAlg::sm3);
  a.update("ab");
  Hasher b(std::move(a));
  b.update("c");
  CHECK(hex(b.finish()) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  Hasher c(HashAlg::sha256);
  c = std::move(b);  // c is now the SM3 hasher, started over
  c.update("abc");
  CHECK(hex(c.finish()) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST_CASE("hash: free functions from several threads at once", "[hash]") {
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &ok] {
      const HashAlg alg = t % 2 == 0 ? HashAlg::sha256 : HashAlg::sm3;
      const char* expected = t % 2 == 0 ? "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                                        : "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
      int good = 1;
      for (int i = 0; i < 2000; ++i) good &= static_cast<int>(hex(hash(alg, "abc")) == expected);
      ok[static_cast<std::size_t>(t)] = good;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == std::vector<int>{1, 1, 1, 1});
}
