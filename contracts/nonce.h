// The per-key anti-replay window (ARCHITECTURE.md, "nonce"; RFC 4303 §3.4.3).
//
// For each key the state keeps the highest nonce accepted so far (H) and a 1024-bit map of which of the nonces
// H, H-1, ..., H-1023 were used. A nonce n is
//   stale  when n <= H - 1024 (below the window)            -> reason stale_nonce,
//   used   when H - 1024 < n <= H and its bit is set          -> reason nonce_used,
//   fresh  otherwise (a new highest, or an unused slot in the window).
// A key that never signed an accepted entry has an empty window: every nonce from 0 to 2^53-1 is fresh. Only
// accepted entries mark their nonce; a rejected entry changes no state (the node answers a resubmission of the very
// same entry from its tx index instead).
//
// Stored JSON: {"highest": H, "seen": "<256 lower-case hex digits>"}, where bit k (LSB first) of byte j is offset
// 8j+k, and offset o means nonce H - o.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/bytes.h"
#include "crypto/result.h"

namespace onebill::contracts {

class NonceWindow {
 public:
  static constexpr std::int64_t kSize = 1024;
  enum class Check { fresh, stale, used };

  Check check(std::int64_t nonce) const;
  // Records `nonce` as used. Precondition: check(nonce) == Check::fresh.
  void mark(std::int64_t nonce);
  std::optional<std::int64_t> highest() const { return highest_; }

  nlohmann::json to_json() const;
  static Result<NonceWindow> from_json(const nlohmann::json& json);  // "corrupt_state" on malformed input
  // The stored text, canonical(to_json()) (RFC 8785), written directly.
  std::string canonical() const;
  // from_json of the stored text: its canonical form read directly, anything else through a JSON parse (the same
  // result; "corrupt_state" when malformed). Every entry's admission and apply reads its key's window.
  static Result<NonceWindow> parse(std::string_view text);

 private:
  crypto::Bytes seen_bytes() const;  // the map as stored: bit k of byte j is offset 8j+k
  bool bit(std::int64_t offset) const;
  void set_bit(std::int64_t offset);
  void shift(std::int64_t by);

  std::optional<std::int64_t> highest_;
  std::array<std::uint64_t, kSize / 64> bits_{};
};

}  // namespace onebill::contracts
