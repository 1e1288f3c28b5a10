// StateValueCache: the committed values of the state keys the last blocks read or wrote, so a block's contracts
// read the documents and nonce windows they touch from memory instead of from LevelDB (a document is two reads
// there: its s/ pointer, then its version in the archive). Under load nearly every entry reads what an earlier
// block wrote: the bill an event goes to, the signer's nonce window.
//
// It holds exactly what Store::get_state would answer: a key's value (nullopt: absent) and, for a versioned key,
// the position of its current version (storage.md §1.3), which a block's read sets refer to. The ledger fills it
// as its view reads through it and updates it with each block's writes once the block's batch is written; every
// other change of the state (a snapshot installed) goes through Ledger::reload, which clears it. Apply thread only.
//
// Bounded by bytes, in two generations: a key found in the older one moves to the newer; when the newer grows past
// half the budget it becomes the older and the older is dropped. So a key in use stays, and the cache never holds
// more than the budget (plus one value).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>


namespace onebill::node {

class StateValueCache {
 public:
  struct Value {
    std::optional<std::string> value;  // nullopt: the key is absent
    std::string position;              // a versioned key's current version; empty otherwise or when absent
  };

  explicit StateValueCache(std::size_t budget_bytes = kDefaultBudget) : half_(budget_bytes / 2) {}

  // 32 MiB: the documents and windows of thousands of active bills.
  static constexpr std::size_t kDefaultBudget = std::size_t{32} << 20;

  // The cached value of `key`, or nullptr. The pointer is valid until the next call of a non-const member.
  const Value* find(std::string_view key) {
    if (auto it = newer_.find(key); it != newer_.end()) return &it->second;
    auto old = older_.find(key);
    if (old == older_.end()) return nullptr;
    auto node = older_.extract(old);
    older_bytes_ -= cost(node.key(), node.mapped());
    newer_bytes_ += cost(node.key(), node.mapped());
    const Value* v = &newer_.insert(std::move(node)).position->second;
    if (newer_bytes_ > half_) rotate();  // moves the map's nodes, `v` with them: it stays valid
    return v;
  }

  void put(std::string_view key, Value v) {
    if (auto it = newer_.find(key); it != newer_.end()) {
      newer_bytes_ -= cost(it->first, it->second);
      it->second = std::move(v);
      newer_bytes_ += cost(it->first, it->second);
    } else {
      if (auto old = older_.find(key); old != older_.end()) {
        older_bytes_ -= cost(old->first, old->second);
        older_.erase(old);
      }
      auto placed = newer_.emplace(std::string(key), std::move(v)).first;
      newer_bytes_ += cost(placed->first, placed->second);
    }
    if (newer_bytes_ > half_) rotate();
  }

  void clear() {
    newer_.clear();
    older_.clear();
    newer_bytes_ = older_bytes_ = 0;
  }

  std::size_t size() const { return newer_.size() + older_.size(); }
  std::size_t bytes() const { return newer_bytes_ + older_bytes_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Value, Hash, std::equal_to<>>;

  static std::size_t cost(const std::string& key, const Value& v) {
    return 64 + key.size() + v.position.size() + (v.value ? v.value->size() : 0);  // 64: the map's own per key
  }
  void rotate() {
    older_ = std::move(newer_);
    older_bytes_ = newer_bytes_;
    newer_ = Map();
    newer_bytes_ = 0;
  }

  std::size_t half_;
  Map newer_, older_;
  std::size_t newer_bytes_ = 0, older_bytes_ = 0;
};

}  // namespace onebill::node
