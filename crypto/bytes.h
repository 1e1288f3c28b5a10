// Byte strings and text encodings (hex, base64) used across the project.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/result.h"

namespace onebill::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(ByteView b) { return std::string(b.begin(), b.end()); }

// Lower-case hex. Decoding accepts upper or lower case; odd length or a non-hex character is "bad_hex".
std::string hex_encode(ByteView data);
Result<Bytes> hex_decode(std::string_view text);

// Standard base64 (RFC 4648 §4) with padding. Decoding is strict: the padding must be right, no whitespace,
// no characters outside the alphabet, and the unused low bits of the last symbol must be zero ("bad_base64").
std::string base64_encode(ByteView data);
Result<Bytes> base64_decode(std::string_view text);

}  // namespace onebill::crypto
