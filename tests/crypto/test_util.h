// Helpers shared by the crypto tests: reading test data, and a hex decoder of the tests' own (so that a bug in
// crypto::hex_decode cannot hide a bug elsewhere).
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/bytes.h"
#include "crypto/hash.h"

namespace onebill::crypto::test {

inline std::string data_path(std::string_view relative) { return std::string(ONEBILL_TEST_DATA) + "/" + std::string(relative); }

inline std::string read_text(std::string_view relative) {
  std::ifstream in(data_path(relative), std::ios::binary);
  if (!in) throw std::runtime_error("cannot open test data " + data_path(relative));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline nlohmann::json read_json(std::string_view relative) { return nlohmann::json::parse(read_text(relative)); }

inline Bytes unhex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error("bad hex in test data");
  };
  if (text.size() % 2 != 0) throw std::runtime_error("odd hex in test data");
  Bytes out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1])));
  }
  return out;
}

inline std::string tohex(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

inline Digest unhex_digest(std::string_view text) {
  Bytes b = unhex(text);
  if (b.size() != kDigestSize) throw std::runtime_error("digest in test data is not 32 bytes");
  Digest d{};
  for (std::size_t i = 0; i < kDigestSize; ++i) d[i] = b[i];
  return d;
}

inline std::string tohex(const Digest& d) { return tohex(ByteView(d.data(), d.size())); }

// Trims trailing whitespace (for one-line data files).
inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace onebill::crypto::test
