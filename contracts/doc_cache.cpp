#include "contracts/doc_cache.h"

namespace onebill::contracts {

template <class Has>
DocumentCache::Item* DocumentCache::lookup(std::string_view key, std::string_view bytes, Has has) const {
  auto it = map_.find(std::string(key));
  if (it == map_.end() || it->second.bytes != bytes || !has(it->second)) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return &it->second;
}

std::shared_ptr<const nlohmann::json> DocumentCache::find(std::string_view key, std::string_view bytes) const {
  const Item* item = lookup(key, bytes, [](const Item& i) { return i.tree != nullptr; });
  return item != nullptr ? item->tree : nullptr;
}

std::shared_ptr<const Bill> DocumentCache::find_bill(std::string_view key, std::string_view bytes) const {
  const Item* item = lookup(key, bytes, [](const Item& i) { return i.bill != nullptr; });
  return item != nullptr ? item->bill : nullptr;
}

std::shared_ptr<Bill> DocumentCache::take_bill(std::string_view key, std::string_view bytes) {
  Item* item = lookup(key, bytes, [](const Item& i) { return i.bill != nullptr; });
  return item != nullptr ? std::move(item->bill) : nullptr;  // the item stays, with its tree if it has one
}

void DocumentCache::insert(std::string_view key, std::string bytes, std::shared_ptr<const nlohmann::json> tree) {
  if (tree) put(key, std::move(bytes), std::move(tree), nullptr);
}

void DocumentCache::insert_bill(std::string_view key, std::string bytes, std::shared_ptr<Bill> bill) {
  if (bill) put(key, std::move(bytes), nullptr, std::move(bill));
}

void DocumentCache::put(std::string_view key, std::string bytes, std::shared_ptr<const nlohmann::json> tree,
                        std::shared_ptr<Bill> bill) {
  std::string k(key);
  auto it = map_.find(k);
  if (it != map_.end() && it->second.bytes == bytes) {  // the same value in another form: add it
    if (tree) it->second.tree = std::move(tree);
    if (bill) it->second.bill = std::move(bill);
    return;
  }
  Item item{std::move(bytes), std::move(tree), std::move(bill), ++serial_};
  if (cost(item) > max_bytes_) return;
  if (it != map_.end()) {
    bytes_ -= cost(it->second);
    it->second = std::move(item);
  } else {
    it = map_.emplace(k, std::move(item)).first;
  }
  bytes_ += cost(it->second);
  order_.emplace_back(std::move(k), it->second.serial);
  evict();
}

void DocumentCache::evict() {
  while (bytes_ > max_bytes_ && !order_.empty()) {
    auto [k, serial] = std::move(order_.front());
    order_.pop_front();
    auto it = map_.find(k);
    if (it == map_.end() || it->second.serial != serial) continue;  // a key inserted again since: a stale line
    bytes_ -= cost(it->second);
    map_.erase(it);
  }
  if (order_.size() > 2 * map_.size() + 64) {  // drop the stale lines, so the queue stays proportional to the map
    std::erase_if(order_, [this](const auto& line) {
      auto it = map_.find(line.first);
      return it == map_.end() || it->second.serial != line.second;
    });
  }
}

}  // namespace onebill::contracts
