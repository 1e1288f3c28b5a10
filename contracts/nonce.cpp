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

namespace {
constexpr std::string_view kHighest = "{\"highest\":";
constexpr std::string_view kSeen = ",\"seen\":\"";
constexpr std::string_view kEnd = "\"}";
}  // namespace

crypto::Bytes NonceWindow::seen_bytes() const {
  crypto::Bytes bytes(kSize / 8);
  for (std::size_t j = 0; j < bytes.size(); ++j) {
    bytes[j] = static_cast<std::uint8_t>(bits_[j / 8] >> (8 * (j % 8)));
  }
  return bytes;
}

nlohmann::json NonceWindow::to_json() const {
  return nlohmann::json{{"highest", highest_.value_or(-1)}, {"seen", crypto::hex_encode(seen_bytes())}};
}

std::string NonceWindow::canonical() const {
  std::string out(kHighest);
  out.append(std::to_string(highest_.value_or(-1))).append(kSeen).append(crypto::hex_encode(seen_bytes())).append(kEnd);
  return out;
}

Result<NonceWindow> NonceWindow::parse(std::string_view text) {
  // {"highest":H,"seen":"<256 lower-case hex>"} with H -1 or a decimal without leading zeros below 2^53.
  const auto slow = [text] { return from_json(nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false)); };
  constexpr std::size_t kHex = kSize / 4;
  if (!text.starts_with(kHighest) || !text.ends_with(kEnd)) return slow();
  std::string_view rest = text.substr(kHighest.size(), text.size() - kHighest.size() - kEnd.size());
  const std::size_t comma = rest.find(',');
  if (comma == std::string_view::npos || rest.size() != comma + kSeen.size() + kHex ||
      rest.substr(comma, kSeen.size()) != kSeen) {
    return slow();
  }
  const std::string_view number = rest.substr(0, comma);
  const std::string_view hex = rest.substr(comma + kSeen.size());
  NonceWindow w;
  if (number != "-1") {
    if (number.empty() || number.size() > 16 || (number.size() > 1 && number[0] == '0')) return slow();
    std::int64_t h = 0;
    for (char c : number) {
      if (c < '0' || c > '9') return slow();
      h = h * 10 + (c - '0');
    }
    w.highest_ = h;
  }
  for (std::size_t j = 0; j < kSize / 8; ++j) {
    std::uint64_t byte = 0;
    for (char c : hex.substr(2 * j, 2)) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return slow();
      byte = byte * 16 + static_cast<std::uint64_t>(d);
    }
    w.bits_[j / 8] |= byte << (8 * (j % 8));
  }
  return w;
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
