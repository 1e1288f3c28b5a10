#include "contracts/nonce.h"

#include <string>

#include "crypto/bytes.h"

namespace onebill::contracts {

NonceWindow::Check NonceWindow::check(std::int64_t nonce) const {
  if (!highest_ || nonce > *highest_) return Check::fresh;
  const std::int64_t offset = *highest_ - nonce;
  if (offset >= kSize) return Check::stale;
  return bit(offset) ? Check::used : Check::fresh;
}

void NonceWindow::mark(std::int64_t nonce) {
  if (!highest_) {
    highest_ = nonce;
  } else if (nonce > *highest_) {
    shift(nonce - *highest_);
    highest_ = nonce;
  }
  set_bit(*highest_ - nonce);
}

bool NonceWindow::bit(std::int64_t offset) const {
  const auto o = static_cast<std::size_t>(offset);
  return ((bits_[o / 64] >> (o % 64)) & 1U) != 0;
}

void NonceWindow::set_bit(std::int64_t offset) {
  const auto o = static_cast<std::size_t>(offset);
  bits_[o / 64] |= std::uint64_t{1} << (o % 64);
}

// Moves every offset up by `by` (the window slides as the highest nonce grows); offsets past the end fall off.
void NonceWindow::shift(std::int64_t by) {
  if (by >= kSize) {
    bits_.fill(0);
    return;
  }
  const auto words = static_cast<std::size_t>(by / 64);
  const auto bits = static_cast<unsigned>(by % 64);
  std::array<std::uint64_t, kSize / 64> out{};
  for (std::size_t i = words; i < out.size(); ++i) {
    out[i] = bits_[i - words] << bits;
    if (bits != 0 && i - words >= 1) out[i] |= bits_[i - words - 1] >> (64 - bits);
  }
  bits_ = out;
}

nlohmann::json NonceWindow::to_json() const {
  crypto::Bytes bytes(kSize / 8);
  for (std::size_t j = 0; j < bytes.size(); ++j) {
    bytes[j] = static_cast<std::uint8_t>(bits_[j / 8] >> (8 * (j % 8)));
  }
  return nlohmann::json{{"highest", highest_.value_or(-1)}, {"seen", crypto::hex_encode(bytes)}};
}

Result<NonceWindow> NonceWindow::from_json(const nlohmann::json& json) {
  const auto corrupt = make_error("corrupt_state", "malformed nonce window");
  if (!json.is_object() || !json.contains("highest") || !json.contains("seen") || !json["highest"].is_number_integer() ||
      !json["seen"].is_string()) {
    return corrupt;
  }
  auto bytes = crypto::hex_decode(json["seen"].get_ref<const std::string&>());
  if (!bytes || bytes->size() != kSize / 8) return corrupt;
  NonceWindow w;
  const auto highest = json["highest"].get<std::int64_t>();
  if (highest >= 0) w.highest_ = highest;
  for (std::size_t j = 0; j < bytes->size(); ++j) {
    w.bits_[j / 8] |= std::uint64_t{(*bytes)[j]} << (8 * (j % 8));
  }
  return w;
}

}  // namespace onebill::contracts
