#include "contracts/state.h"

#include <string>

namespace onebill::contracts {
namespace {

void put_be32(std::uint8_t* out, std::size_t n) {
  const auto v = static_cast<std::uint32_t>(n);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

// Each header in one update, not byte by byte: every update is a call into the digest.
void put_u32(crypto::Hasher& h, std::size_t n) {
  std::uint8_t be[4];
  put_be32(be, n);
  h.update(crypto::ByteView(be, sizeof be));
}

void hash_entry(crypto::Hasher& h, std::string_view key, const std::string* value) {
  put_u32(h, key.size());
  h.update(key);
  if (value == nullptr) {
    h.update(std::uint8_t{0});
    return;
  }
  std::uint8_t present[5] = {1};  // the marker, then the value's length
  put_be32(present + 1, value->size());
  h.update(crypto::ByteView(present, sizeof present));
  h.update(*value);
}

std::string padded(std::int64_t v, std::size_t width) {
  std::string digits = std::to_string(v);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

}  // namespace

Result<std::optional<std::string>> MemoryState::get(std::string_view key) const {
  const auto it = data_.find(key);
  if (it == data_.end()) return std::optional<std::string>{};
  return std::optional<std::string>{it->second};
}

void MemoryState::apply(const WriteSet& writes) {
  for (const auto& [key, value] : writes) {
    if (value) {
      data_.insert_or_assign(key, *value);
    } else {
      data_.erase(key);
    }
  }
}

std::vector<std::pair<std::string, std::string>> MemoryState::scan(std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = data_.lower_bound(prefix); it != data_.end() && it->first.starts_with(prefix); ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

crypto::Digest MemoryState::digest(crypto::HashAlg alg) const {
  crypto::Hasher h(alg);
  for (const auto& [key, value] : data_) hash_entry(h, key, &value);
  return h.finish();
}

Result<std::optional<std::string>> OverlayState::get(std::string_view key) const {
  const auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  return base_.get(key);
}

Result<std::optional<std::string>> RecordingState::get(std::string_view key) const {
  if (const auto it = reads_.find(key); it != reads_.end()) return it->second;
  auto value = base_.get(key);
  if (value) reads_.emplace(std::string(key), *value);
  return value;
}

void OverlayState::apply(const WriteSet& writes) {
  for (const auto& [key, value] : writes) writes_.insert_or_assign(key, value);
}

crypto::Digest digest_writes(crypto::HashAlg alg, const WriteSet& writes) {
  crypto::Hasher h(alg);
  for (const auto& [key, value] : writes) hash_entry(h, key, value ? &*value : nullptr);
  return h.finish();
}

namespace keys {

std::string document(std::string_view doc_id) { return std::string(kDocument).append(doc_id); }
std::string nonce(std::string_view key_id) { return std::string(kNonce).append(key_id); }
std::string leg_event(std::string_view bill_id, std::int64_t leg, std::int64_t n) {
  return std::string(kLegEvent).append(bill_id).append("/").append(padded(leg, 2)).append("/").append(padded(n, 6));
}
std::string equipment(std::string_view container) { return std::string(kEquipment).append(container); }
std::string lot(std::string_view warehouse, std::string_view lot) {
  return std::string(kLot).append(warehouse).append("/").append(lot);
}
std::string active_pledge(std::string_view collateral) { return std::string(kActivePledge).append(collateral); }
std::string membership_change(std::int64_t height, std::int64_t index) {
  return std::string(kMembershipChange).append(padded(height, 12)).append("/").append(padded(index, 6));
}

}  // namespace keys
}  // namespace onebill::contracts
