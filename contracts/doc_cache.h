// DocumentCache: documents the rules saved or loaded recently — as parsed JSON, and bills also as the typed Bill —
// keyed by the document's state key and checked against its exact stored bytes.
//
// A bill grows with every leg event, and parsing its stored canonical JSON again for the next entry was the largest
// cost of applying a block (docs/performance.md). A hit hands back the tree the bytes were made from (or parsed
// into) instead of parsing them: a memo of a pure function, so a hit and a miss give the same outcome, and nodes
// with cold and warm caches agree. (The tree kept on save is the one canonicalized into the stored bytes; parsing
// those bytes gives the same tree except that non-negative integers come back unsigned, which the document decoders
// read alike.)
//
// Not thread-safe: one cache per applier thread. Bounded by an estimate of its memory; the oldest entries go first.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "contracts/documents.h"

namespace onebill::contracts {

class DocumentCache {
 public:
  explicit DocumentCache(std::size_t max_bytes = 64u << 20) : max_bytes_(max_bytes) {}

  // The tree for `key` if it was cached from exactly `bytes`; nullptr otherwise.
  std::shared_ptr<const nlohmann::json> find(std::string_view key, std::string_view bytes) const;
  // Remembers that `bytes` (the stored value of `key`) is `tree`, replacing what was cached for the key (or adding
  // the tree to what was cached for these very bytes).
  void insert(std::string_view key, std::string bytes, std::shared_ptr<const nlohmann::json> tree);
  // The same for a bill decoded (or saved) as the typed document: a bill's next entry then neither parses nor
  // decodes it. take_bill hands the bill over and forgets it (for an entry that changes it, and saves the new one
  // when accepted): the caller may move from it when it holds the only reference.
  std::shared_ptr<const Bill> find_bill(std::string_view key, std::string_view bytes) const;
  std::shared_ptr<Bill> take_bill(std::string_view key, std::string_view bytes);
  void insert_bill(std::string_view key, std::string bytes, std::shared_ptr<Bill> bill);

  std::size_t size() const { return map_.size(); }
  std::size_t hits() const { return hits_; }
  std::size_t misses() const { return misses_; }

 private:
  struct Item {
    std::string bytes;
    std::shared_ptr<const nlohmann::json> tree;  // either or both
    std::shared_ptr<Bill> bill;  // not shared with anyone while cached: take_bill hands it over
    std::uint64_t serial = 0;  // which insert made it, so a stale line of order_ is recognised
  };
  // The item cached for `key` from exactly `bytes` with the form `has` asks for, counted as a hit; nullptr (a
  // miss, also when the item is cached in the other form only) otherwise.
  template <class Has>
  Item* lookup(std::string_view key, std::string_view bytes, Has has) const;
  void put(std::string_view key, std::string bytes, std::shared_ptr<const nlohmann::json> tree,
           std::shared_ptr<Bill> bill);
  // A parsed tree (or a typed bill) takes several times the bytes of its text; this is the estimate the bound uses.
  static std::size_t cost(const Item& i) { return i.bytes.size() * 8 + 256; }
  void evict();

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::uint64_t serial_ = 0;
  mutable std::unordered_map<std::string, Item> map_;
  std::deque<std::pair<std::string, std::uint64_t>> order_;  // inserts, oldest first
  mutable std::size_t hits_ = 0, misses_ = 0;
};

}  // namespace onebill::contracts
