// Per-key nonce state kept by the CLI beside the key file, so consecutive entries of one key get increasing nonces
// without asking a node (there is no nonce endpoint; ARCHITECTURE.md, "The signed entry").
//
// Files, for a key file FILE:
//   FILE.nonce       {"last": N} — the last nonce handed out; replaced atomically (temp file + rename)
//   FILE.nonce.lock  flock(2) target; held while a nonce is reserved, so two CLI processes never get the same one
// Rule: next = last + 1. With no state file, next = the current time in milliseconds since the Unix epoch
// (about 1.7e12, inside the 2^53 range): above every earlier nonce of a key that was used the same way, and unique
// unless the key signs more than one entry per millisecond on average and loses its state file. A requested nonce
// (--nonce) is used as is and moves the state to max(last, requested).
// The new state is on disk before reserve() returns, so a crash can skip a nonce but never hand one out twice.
//
// Errors: "bad_nonce_state" (the state file is not {"last": N}: it is never silently reset, that could reuse a
// nonce), "nonce_exhausted" (past 2^53 - 1), and the codes of files.h ("locked", "io_error").
// Thread-safety: one NonceState per thread; processes are serialised by the lock file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

#include "crypto/result.h"

namespace onebill::clients {

class NonceState {
 public:
  using Clock = std::function<std::int64_t()>;  // milliseconds since the Unix epoch
  static std::int64_t system_ms();

  explicit NonceState(std::filesystem::path key_file, Clock clock = &NonceState::system_ms,
                      std::chrono::milliseconds lock_wait = std::chrono::seconds(10));

  Result<std::int64_t> reserve(std::optional<std::int64_t> requested = std::nullopt);
  // The last nonce handed out, or nothing when there is no state file.
  Result<std::optional<std::int64_t>> last() const;

  const std::filesystem::path& state_file() const { return state_; }
  const std::filesystem::path& lock_file() const { return lock_; }

 private:
  std::filesystem::path state_;
  std::filesystem::path lock_;
  Clock clock_;
  std::chrono::milliseconds lock_wait_;
};

}  // namespace onebill::clients
