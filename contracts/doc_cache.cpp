#include "contracts/doc_cache.h"

namespace onebill::contracts {

template <class T>
std::shared_ptr<const T> DocumentCache::lookup(std::string_view key, std::string_view bytes,
                                               std::shared_ptr<const T> Item::*member) const {
  auto it = map_.find(std::string(key));
  if (it == map_.end() || it->second.bytes != bytes || !(it->second.*member)) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return it->second.*member;
}

std::shared_ptr<const nlohmann::json> DocumentCache::find(std::string_view key, std::string_view bytes) const {
  return lookup(key, bytes, &Item::tree);
}

std::shared_ptr<const Bill> DocumentCache::find_bill(std::string_view key, std::string_view bytes) const {
  return lookup(key, bytes, &Item::bill);
}

void DocumentCache::insert(std::string_view key, std::string bytes, std::shared_ptr<const nlohmann::json> tree) {
  if (tree) put(key, std::move(bytes), std::move(tree), nullptr);
}

void DocumentCache::insert_bill(std::string_view key, std::string bytes, std::shared_ptr<const Bill> bill) {
  if (bill) put(key, std::move(bytes), nullptr, std::move(bill));
}

void DocumentCache::put(std::string_view key, std::string bytes, std::shared_ptr<const nlohmann::json> tree,
                        std::shared_ptr<const Bill> bill) {
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
