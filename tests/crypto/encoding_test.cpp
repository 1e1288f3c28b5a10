// Hex and base64 (crypto/bytes.h) against RFC 4648 section 10 and strictness cases.
#include <catch2/catch.hpp>

#include <cctype>
#include <random>
#include <string>

#include "crypto/bytes.h"
#include "tests/crypto/test_util.h"

using namespace onebill::crypto;
using onebill::crypto::test::read_json;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("base64: RFC 4648 section 10 vectors", "[encoding][vectors]") {
  const auto data = read_json("vectors/base64_rfc4648.json");
  REQUIRE(data["base64"].size() == 7);
  for (const auto& v : data["base64"]) {
    const std::string plain = v["plain"];
    const std::string encoded = v["encoded"];
    INFO("plain \"" << plain << "\"");
    CHECK(base64_encode(as_bytes(plain)) == encoded);
    auto decoded = base64_decode(encoded);
    REQUIRE(decoded.ok());
    CHECK(to_string(*decoded) == plain);
  }
}

TEST_CASE("hex: RFC 4648 section 10 base16 vectors", "[encoding][vectors]") {
  const auto data = read_json("vectors/base64_rfc4648.json");
  REQUIRE(data["base16"].size() == 7);
  for (const auto& v : data["base16"]) {
    const std::string plain = v["plain"];
    const std::string encoded = v["encoded"];  // upper case in the RFC
    INFO("plain \"" << plain << "\"");
    CHECK(hex_encode(as_bytes(plain)) == lower(encoded));  // we write lower case
    auto upper = hex_decode(encoded);
    REQUIRE(upper.ok());
    CHECK(to_string(*upper) == plain);
    auto low = hex_decode(lower(encoded));
    REQUIRE(low.ok());
    CHECK(to_string(*low) == plain);
  }
}

TEST_CASE("base64: strict decoding rejects bad input with bad_base64", "[encoding]") {
  const auto data = read_json("vectors/base64_rfc4648.json");
  for (const auto& v : data["bad_base64"]) {
    const std::string text = v;
    INFO("input \"" << text << "\" (" << text.size() << " bytes)");
    auto r = base64_decode(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad_base64");
  }
}

TEST_CASE("hex: bad input is bad_hex", "[encoding]") {
  const auto data = read_json("vectors/base64_rfc4648.json");
  for (const auto& v : data["bad_hex"]) {
    const std::string text = v;
    INFO("input \"" << text << "\" (" << text.size() << " bytes)");
    auto r = hex_decode(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad_hex");
  }
}

TEST_CASE("hex and base64: round trips of every byte value and random lengths", "[encoding]") {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  {
    const std::string h = hex_encode(all);
    CHECK(h.size() == 512);
    CHECK(h.substr(0, 8) == "00010203");
    CHECK(h.substr(h.size() - 6) == "fdfeff");
    auto back = hex_decode(h);
    REQUIRE(back.ok());
    CHECK(*back == all);
    auto b64 = base64_decode(base64_encode(all));
    REQUIRE(b64.ok());
    CHECK(*b64 == all);
  }
  std::mt19937 rng(20240601);
  for (int round = 0; round < 300; ++round) {
    Bytes data(static_cast<std::size_t>(rng() % 100));
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    const std::string b64 = base64_encode(data);
    CHECK(b64.size() == (data.size() + 2) / 3 * 4);
    auto d1 = base64_decode(b64);
    REQUIRE(d1.ok());
    CHECK(*d1 == data);
    auto d2 = hex_decode(hex_encode(data));
    REQUIRE(d2.ok());
    CHECK(*d2 == data);
  }
}

TEST_CASE("base64: the alphabet's last two symbols are + and /", "[encoding]") {
  const Bytes b{0xfb, 0xff, 0xbf};
  CHECK(base64_encode(b) == "+/+/");
  auto d = base64_decode("+/+/");
  REQUIRE(d.ok());
  CHECK(*d == b);
}

TEST_CASE("bytes: string helpers", "[encoding]") {
  const std::string s("a\0b", 3);
  CHECK(as_bytes(s).size() == 3);
  CHECK(to_bytes(s) == Bytes{'a', 0, 'b'});
  CHECK(to_string(to_bytes(s)) == s);
}
