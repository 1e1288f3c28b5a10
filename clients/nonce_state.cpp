#include "clients/nonce_state.h"

#include <nlohmann/json.hpp>

#include "clients/files.h"
#include "crypto/canonical_json.h"

namespace onebill::clients {

std::int64_t NonceState::system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

NonceState::NonceState(std::filesystem::path key_file, Clock clock, std::chrono::milliseconds lock_wait)
    : clock_(std::move(clock)), lock_wait_(lock_wait) {
  state_ = key_file;
  state_ += ".nonce";
  lock_ = key_file;
  lock_ += ".nonce.lock";
}

Result<std::optional<std::int64_t>> NonceState::last() const {
  auto text = files::read(state_, 4096);
  if (!text) {
    if (text.error().code == "not_found") return std::optional<std::int64_t>();
    return text.error();
  }
  auto json = crypto::parse_strict(*text);
  if (!json || !json->is_object() || json->size() != 1 || !json->contains("last") ||
      !(*json)["last"].is_number_integer() || (*json)["last"].get<std::int64_t>() < 0) {
    return make_error("bad_nonce_state", state_.string() +
                                             " is not {\"last\": N}; fix or remove it, or pass --nonce (a nonce "
                                             "this key has not used)");
  }
  return std::optional<std::int64_t>((*json)["last"].get<std::int64_t>());
}

Result<std::int64_t> NonceState::reserve(std::optional<std::int64_t> requested) {
  if (requested && (*requested < 0 || *requested > crypto::kMaxSafeInteger)) {
    return make_error("nonce_exhausted", "a nonce is an integer from 0 to 2^53-1");
  }
  auto lock = files::FileLock::acquire(lock_, lock_wait_);
  if (!lock) return lock.error();
  auto prev = last();
  if (!prev) return prev.error();
  std::int64_t next = 0;
  std::int64_t keep = 0;
  if (requested) {
    next = *requested;
    keep = prev->has_value() ? std::max(**prev, next) : next;
  } else if (prev->has_value()) {
    if (**prev >= crypto::kMaxSafeInteger) return make_error("nonce_exhausted", "this key has used nonce 2^53-1");
    next = keep = **prev + 1;
  } else {
    next = keep = clock_();
    if (next < 0 || next > crypto::kMaxSafeInteger) return make_error("nonce_exhausted", "the clock is out of range");
  }
  if (!prev->has_value() || keep != **prev) {
    const std::string text = nlohmann::json{{"last", keep}}.dump() + "\n";
    if (Status s = files::write_atomic(state_, text, 0600, files::Overwrite::yes); !s) return s.error();
  }
  return next;
}

}  // namespace onebill::clients
