#include "node/ledger/state_store.h"

#include <algorithm>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "contracts/documents.h"
#include "contracts/indexes.h"
#include "node/ledger/listing.h"

namespace onebill::node {
namespace {

using nlohmann::json;

std::optional<crypto::Digest> as_digest(std::string_view v) {
  if (v.size() != crypto::kDigestSize) return std::nullopt;
  crypto::Digest d{};
  std::copy(v.begin(), v.end(), d.begin());
  return d;
}

leveldb::Slice slice(const crypto::Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

std::uint32_t read_be32(std::string_view s) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[i]);
  return v;
}

Error corrupt(const std::string& what) { return make_error("corrupt_state", what); }

}  // namespace

// ---- StateTreeCache ----

Status StateTreeCache::load(const Store& store, std::uint64_t size) {
  reset();
  Status inner;
  Status s = store.scan("d/n/", key::state_node(kLowestLevel, 0), SIZE_MAX, [&](std::string_view k, std::string_view v) {
    auto d = as_digest(v);
    const std::uint32_t level = k.size() == 16 ? read_be32(k.substr(4)) : 0;
    const std::uint64_t index = k.size() == 16 ? key::read_be64(k.substr(8)) : 0;
    if (!d || level < kLowestLevel || level >= 64) {
      inner = corrupt("a state tree node is malformed");
      return false;
    }
    auto& nodes = levels_.size() > level - kLowestLevel ? levels_[level - kLowestLevel] : levels_.emplace_back();
    if (levels_.size() != level - kLowestLevel + 1 || index != nodes.size()) {
      inner = corrupt("the state tree's nodes of level " + std::to_string(level) + " are not whole");
      return false;
    }
    nodes.push_back(*d);
    return true;
  });
  if (!s) return s;
  if (!inner) return inner;
  for (std::uint32_t level = kLowestLevel; level < 64 && (size >> level) > 0; ++level) {
    const std::size_t have = levels_.size() > level - kLowestLevel ? levels_[level - kLowestLevel].size() : 0;
    if (have != (size >> level)) {
      reset();
      return corrupt("the state tree has " + std::to_string(have) + " nodes of level " + std::to_string(level) +
                     "; a tree of " + std::to_string(size) + " has " + std::to_string(size >> level));
    }
  }
  loaded_ = true;
  return {};
}

std::optional<crypto::Digest> StateTreeCache::get(std::uint32_t level, std::uint64_t index) const {
  const std::size_t l = level - kLowestLevel;
  if (level < kLowestLevel || l >= levels_.size() || index >= levels_[l].size()) return std::nullopt;
  return levels_[l][index];
}

void StateTreeCache::set(std::uint32_t level, std::uint64_t index, const crypto::Digest& d) {
  const std::size_t l = level - kLowestLevel;
  if (levels_.size() <= l) levels_.resize(l + 1);
  auto& nodes = levels_[l];
  if (nodes.size() <= index) nodes.resize(index + 1);
  nodes[index] = d;
}

// ---- StateTreeUpdate ----

std::optional<crypto::Digest> StateTreeUpdate::Nodes::get(std::uint32_t level, std::uint64_t index) const {
  if (auto it = staged_.find({level, index}); it != staged_.end()) return it->second;
  if (cache_ != nullptr && level >= StateTreeCache::kLowestLevel) return cache_->get(level, index);
  if (auto it = read_.find({level, index}); it != read_.end()) return it->second;
  auto v = store_.get(key::state_node(level, index));
  if (!v) {
    if (!error_) error_ = v.error();
    return std::nullopt;
  }
  if (!v->has_value()) return std::nullopt;
  auto d = as_digest(**v);
  if (d) read_.emplace(std::pair{level, index}, *d);
  return d;
}

void StateTreeUpdate::Nodes::put(std::uint32_t level, std::uint64_t index, const crypto::Digest& hash) {
  // A node that existed before the block (a complete subtree of the tree it started from) gets an undo record of
  // the value it had; a node the block completes had none.
  const bool existed = level < 64 && index < (size_before_ >> level);
  if (existed && before_.count({level, index}) == 0 && staged_.count({level, index}) == 0) {
    if (auto old = get(level, index)) {
      before_.emplace(std::pair{level, index}, *old);
    } else if (!error_) {
      error_ = corrupt("state tree node (" + std::to_string(level) + ", " + std::to_string(index) + ") is missing");
    }
  }
  staged_[{level, index}] = hash;
}

Status StateTreeUpdate::apply(const contracts::WriteSet& writes) {
  const Store& store = nodes_.store_;
  auto changes = ledger::state_tree_changes(alg_, writes, size_, [&](std::string_view doc) -> Result<std::optional<std::uint64_t>> {
    auto v = store.get(key::state_index(doc));
    if (!v) return v.error();
    if (!v->has_value()) return std::optional<std::uint64_t>();
    if ((*v)->size() != 8) return corrupt("the state tree index of " + std::string(doc) + " is malformed");
    return std::optional<std::uint64_t>(key::read_be64(**v));
  });
  if (!changes) return changes.error();
  if (Status s = crypto::update_leaves(alg_, nodes_, size_, changes->size, changes->leaves); !s) {
    return nodes_.error_ ? *nodes_.error_ : s.error();
  }
  if (nodes_.error_) return *nodes_.error_;
  size_ = changes->size;
  added_ = std::move(changes->added);
  auto root = crypto::MerkleLog(alg_, nodes_, size_).root();
  if (!root) return nodes_.error_ ? *nodes_.error_ : root.error();
  root_ = *root;
  return {};
}

void StateTreeUpdate::commit_to(StateTreeCache& cache) const {
  if (!cache.loaded()) return;
  for (const auto& [pos, d] : nodes_.staged_) {
    if (pos.first >= StateTreeCache::kLowestLevel) cache.set(pos.first, pos.second, d);
  }
}

Status StateTreeUpdate::stage_into(leveldb::WriteBatch& batch) const {
  for (const auto& [pos, d] : nodes_.staged_) batch.Put(key::state_node(pos.first, pos.second), slice(d));
  for (const auto& [doc, index] : added_) batch.Put(key::state_index(doc), key::be64(index));
  const auto h = static_cast<std::uint64_t>(height_);
  if (!nodes_.before_.empty()) {
    // One record for the block: each overwritten node with the value it had (a key per node cost the memtable two
    // operations per node, its write and its deletion kStateUndoBlocks later).
    std::string undo;
    undo.reserve(nodes_.before_.size() * kUndoItemSize);
    for (const auto& [pos, d] : nodes_.before_) {
      undo.append(key::be32(pos.first)).append(key::be64(pos.second));
      undo.append(reinterpret_cast<const char*>(d.data()), d.size());
    }
    batch.Put(key::state_undo(h), undo);
  }
  // The undo record kStateUndoBlocks below is no longer needed: nothing is proved that far back.
  if (height_ > kStateUndoBlocks) batch.Delete(key::state_undo(static_cast<std::uint64_t>(height_ - kStateUndoBlocks)));
  return {};
}

// ---- StateTreeAt ----

bool StateTreeAt::each_record(const std::function<bool(std::string_view)>& fn) const {
  const std::string prefix = "d/h/";
  leveldb::ReadOptions ro;
  ro.snapshot = snap_;
  std::unique_ptr<leveldb::Iterator> it(store_.db()->NewIterator(ro));
  for (it->Seek(key::state_undo(static_cast<std::uint64_t>(height_) + 1)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    const std::string_view v(it->value().data(), it->value().size());
    if (v.size() % kUndoItemSize != 0) return false;
    if (!fn(v)) return true;
  }
  return it->status().ok();
}

bool StateTreeAt::load() const {
  // The blocks above the height, oldest first: the first undo record of a node is the value it had at the height.
  return each_record([&](std::string_view v) {
    if (undo_.size() + v.size() / kUndoItemSize > max_cached_) {
      undo_.clear();
      searching_ = true;
      return false;
    }
    for (std::size_t i = 0; i < v.size(); i += kUndoItemSize) {
      const std::string_view item = v.substr(i, kUndoItemSize);
      undo_.emplace(std::pair{read_be32(item), key::read_be64(item.substr(4))}, *as_digest(item.substr(12)));
    }
    return true;
  });
}

bool StateTreeAt::search(std::uint32_t level, std::uint64_t index, std::optional<crypto::Digest>& found) const {
  // Each record's nodes are in (level, index) order, which their big-endian first 12 bytes sort in.
  const std::string wanted = key::be32(level) + key::be64(index);
  return each_record([&](std::string_view v) {
    std::size_t lo = 0, hi = v.size() / kUndoItemSize;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (v.substr(mid * kUndoItemSize, 12) < wanted) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo < v.size() / kUndoItemSize && v.substr(lo * kUndoItemSize, 12) == wanted) {
      found = as_digest(v.substr(lo * kUndoItemSize + 12, crypto::kDigestSize));
      return false;  // the oldest record that has it
    }
    return true;
  });
}

std::optional<crypto::Digest> StateTreeAt::get(std::uint32_t level, std::uint64_t index) const {
  if (!loaded_) {
    failed_ = !load();
    loaded_ = true;
  }
  if (failed_) return std::nullopt;
  // The oldest undo record above the height holds the value the node had then; without one it has not changed since.
  if (searching_) {
    std::optional<crypto::Digest> found;
    if (!search(level, index, found)) return std::nullopt;
    if (found) return found;
  } else if (auto it = undo_.find({level, index}); it != undo_.end()) {
    return it->second;
  }
  auto v = store_.get(key::state_node(level, index), snap_);
  if (!v || !v->has_value()) return std::nullopt;
  return as_digest(**v);
}

Result<std::optional<ledger::StateProof>> state_proof_at(const Store& store, const leveldb::Snapshot* snap,
                                                         crypto::HashAlg alg, std::string_view doc,
                                                         std::int64_t height, std::uint64_t size, std::int64_t applied,
                                                         StateTreeAt* tree) {
  if (height < applied - kStateUndoBlocks) {
    return make_error("state_unavailable", "the state at height " + std::to_string(height) + " is more than " +
                                               std::to_string(kStateUndoBlocks) + " blocks below the applied height " +
                                               std::to_string(applied) + ": it can no longer be proved");
  }
  auto v = store.get(key::state_index(doc), snap);
  if (!v) return v.error();
  if (!v->has_value()) return std::optional<ledger::StateProof>();
  if ((*v)->size() != 8) return corrupt("the state tree index of " + std::string(doc) + " is malformed");
  const std::uint64_t index = key::read_be64(**v);
  if (index >= size) return std::optional<ledger::StateProof>();  // created after that height
  std::optional<StateTreeAt> own;
  if (tree == nullptr) tree = &own.emplace(store, snap, height);
  auto path = crypto::MerkleLog(alg, *tree, size).inclusion_proof(index, size);
  if (!path) return path.error();
  return std::optional<ledger::StateProof>(ledger::StateProof{index, size, std::move(*path)});
}

// ---- StateSnapshotCheck ----

namespace {
void hash_record(crypto::Hasher& h, std::string_view key, std::string_view value) {
  std::string lens = key::be32(static_cast<std::uint32_t>(key.size())) + key::be32(static_cast<std::uint32_t>(value.size()));
  h.update(lens).update(key).update(value);
}
void hash_id(crypto::Hasher& h, std::string_view id) {
  h.update(key::be32(static_cast<std::uint32_t>(id.size()))).update(id);
}
}  // namespace

Status StateSnapshotCheck::take(std::string_view k, std::string_view v) {
  const auto bad = [](const std::string& what) { return make_error("bad_snapshot", what); };
  const std::string doc_prefix = key::state(contracts::keys::kDocument);
  if (k.starts_with("d/i/")) {
    if (v.size() != 8) return bad("a state tree index in the snapshot is malformed");
    index_.push_back(key::read_be64(v));
    hash_id(index_ids_, k.substr(4));
  } else if (k.starts_with("d/n/")) {
    if (k.size() != 16 || v.size() != crypto::kDigestSize) return bad("a state tree node in the snapshot is malformed");
    hash_record(nodes_, k, v);
    ++node_count_;
  } else if (k.starts_with("i/")) {
    if (!v.empty()) return bad("a listing index record in the snapshot has a value");
    listings_.add(key_hash(k));
  } else if (k.starts_with(doc_prefix)) {
    // s/doc/{id}: the position of the document's current version.
    const std::string_view doc = k.substr(doc_prefix.size());
    hash_id(doc_ids_, doc);
    if (docs_ >= index_.size()) return bad("the snapshot holds a document the state tree has no index for: " + std::string(doc));
    if (v.size() != key::kPositionSize) return bad("document " + std::string(doc) + " does not name a version");
    if (key::read_be64(v) > static_cast<std::uint64_t>(height_)) {
      return bad("document " + std::string(doc) + " names a version after the snapshot's height");
    }
    current_.emplace_back(key_hash(key::version(v, k.substr(2))), index_[docs_++]);
  } else if (k.starts_with("s/idx/")) {
    indexes_.add(index_hash(k.substr(2), v));
  } else if (k.starts_with(key::state(contracts::keys::kLegEvent))) {
    // s/evt/{bill}/{leg}/{n}: the position of the event record's version, taken when that passes.
    if (v.size() != key::kPositionSize) return bad("event record " + std::string(k) + " does not name a version");
    if (key::read_be64(v) > static_cast<std::uint64_t>(height_)) {
      return bad("event record " + std::string(k) + " names a version after the snapshot's height");
    }
    current_events_.push_back(key_hash(key::version(v, k.substr(2))));
  } else if (k.starts_with("v/")) {
    // v/{position}doc/{id}: a document's version; the current ones are the tree's leaves. v/{position}evt/…: an
    // event record's version; the current ones extend their legs' chains, in position order (= their order).
    const std::string_view state_key = k.size() > 2 + key::kPositionSize ? k.substr(2 + key::kPositionSize) : "";
    if (state_key.starts_with(contracts::keys::kLegEvent)) return take_event_version(k, state_key, v);
    if (!state_key.starts_with(contracts::keys::kDocument)) return bad("a version in the snapshot is malformed");
    if (!current_sorted_) {
      std::sort(current_.begin(), current_.end());
      current_seen_.assign(current_.size(), 0);
      current_sorted_ = true;
    }
    const KeyHash h = key_hash(k);
    const auto at = std::lower_bound(current_.begin(), current_.end(), std::make_pair(h, std::uint64_t{0}));
    if (at == current_.end() || at->first != h) return {};  // an earlier version: history
    const auto n = static_cast<std::size_t>(at - current_.begin());
    if (current_seen_[n] != 0) return bad("a document version appears twice in the snapshot");
    current_seen_[n] = 1;
    return take_document(k.substr(2 + key::kPositionSize + contracts::keys::kDocument.size()), at->second, v);
  }
  return {};
}

Status StateSnapshotCheck::take_document(std::string_view doc, std::uint64_t i, std::string_view v) {
  if (leaves_.empty()) {
    leaves_.resize(size_);
    filled_.assign(size_, 0);
  }
  if (i >= size_ || filled_[i] != 0) {
    return make_error("bad_snapshot", "the state tree index of " + std::string(doc) + " is out of place");
  }
  filled_[i] = 1;
  leaves_[i] = ledger::state_leaf_of(alg_, doc, v);
  take_listing(doc, v);
  // Bills, receipts and pledges call for index records, and a bill's legs for event records (cheap tests first;
  // the sender's bytes, not yet checked against the tree: decided by the parse).
  for (std::string_view kind : {contracts::kind::kBill, contracts::kind::kReceipt, contracts::kind::kPledge}) {
    if (v.find("\"kind\":\"" + std::string(kind) + "\"") == std::string_view::npos) continue;
    const json parsed = json::parse(v, nullptr, false);
    take_bill(doc, parsed);
    take_indexes(doc, parsed);
    break;
  }
  return {};
}

StateSnapshotCheck::KeyHash StateSnapshotCheck::index_hash(std::string_view key, std::string_view value) {
  std::string record(key);
  record.push_back('\0');  // keys are ASCII
  record.append(value);
  return key_hash(record);
}

void StateSnapshotCheck::take_indexes(std::string_view id, const json& doc) {
  auto records = contracts::index_records(doc);
  if (!records) {
    if (!index_error_) index_error_ = "document " + std::string(id) + " in the snapshot: " + records.error().message;
    return;
  }
  for (const auto& [k, v] : *records) {
    if (!indexes_.claim(index_hash(k, v)) && !index_error_) {
      index_error_ = "document " + std::string(id) + " has no index record " + k + " = " + v;
    }
  }
}

bool StateSnapshotCheck::Claims::claim(const KeyHash& h) {
  if (!sorted_) {  // the records all came before the first document
    std::sort(hashes_.begin(), hashes_.end());
    claimed_.assign(hashes_.size(), 0);
    sorted_ = true;
  }
  const auto at = std::lower_bound(hashes_.begin(), hashes_.end(), h);
  const auto i = static_cast<std::size_t>(at - hashes_.begin());
  if (at == hashes_.end() || *at != h || claimed_[i] != 0) return false;
  claimed_[i] = 1;
  return true;
}

std::size_t StateSnapshotCheck::Claims::unclaimed() const {
  return sorted_ ? static_cast<std::size_t>(std::count(claimed_.begin(), claimed_.end(), 0)) : hashes_.size();
}

StateSnapshotCheck::KeyHash StateSnapshotCheck::key_hash(std::string_view key) {
  const crypto::Digest d = crypto::hash(crypto::HashAlg::sha256, key);
  KeyHash h;
  std::copy_n(d.begin(), h.size(), h.begin());
  return h;
}

void StateSnapshotCheck::take_listing(std::string_view id, std::string_view value) {
  const auto fields = listed(value);
  if (!fields) return;
  for (const auto& [name, member] : kListedFields) {
    const std::string& field_value = (*fields).*member;
    if (field_value.empty()) continue;
    if (!listings_.claim(key_hash(key::listing(name, field_value, id))) && !listing_error_) {
      listing_error_ = "document " + std::string(id) + " has no listing index record for " + name + " " + field_value;
    }
  }
}

// The event records' versions and the bills' versions (v/…) come in position order, mixed: each leg's chain is built
// from its records as they come (a leg's records in their order: each was written after the one before), and the
// bill's count and events_hash are set beside it when the bill comes. What is wrong is noted and reported by
// finish(), after the checks that tell whether the bills themselves are the certified ones.
void StateSnapshotCheck::take_bill(std::string_view id, const json& doc) {
  const auto kind = doc.is_object() ? doc.find("kind") : doc.end();
  if (kind == doc.end() || !kind->is_string() || kind->get_ref<const std::string&>() != contracts::kind::kBill) return;
  auto bill = contracts::bill_from_json(doc);
  if (!bill) {
    if (!chain_error_) chain_error_ = "bill " + std::string(id) + " in the snapshot: " + bill.error().message;
    return;
  }
  auto it = chains_.find(id);
  if (it == chains_.end()) it = chains_.emplace(std::string(id), BillChains{}).first;
  BillChains& c = it->second;
  c.known = true;
  if (c.legs.size() > bill->legs.size()) {
    if (!chain_error_) chain_error_ = "the snapshot has event records for a leg bill " + std::string(id) + " does not have";
    return;
  }
  c.legs.resize(bill->legs.size(), LegChain{0, "", 0, std::string(contracts::kNoEventsHash)});
  for (std::size_t i = 0; i < bill->legs.size(); ++i) {
    c.legs[i].count = bill->legs[i].event_count;
    c.legs[i].expected = bill->legs[i].events_hash;
  }
}

Status StateSnapshotCheck::take_event_version(std::string_view k, std::string_view state_key, std::string_view v) {
  if (!events_sorted_) {
    std::sort(current_events_.begin(), current_events_.end());  // distinct: a version's key holds its s/ key
    events_seen_.assign(current_events_.size(), 0);
    events_sorted_ = true;
  }
  const KeyHash h = key_hash(k);
  const auto at = std::lower_bound(current_events_.begin(), current_events_.end(), h);
  if (at == current_events_.end() || *at != h) return {};  // an event record of a bill no longer live: history
  const auto n = static_cast<std::size_t>(at - current_events_.begin());
  if (events_seen_[n] != 0) return make_error("bad_snapshot", "an event record's version appears twice in the snapshot");
  events_seen_[n] = 1;
  take_event(key::state(state_key), v);
  return {};
}

void StateSnapshotCheck::take_event(std::string_view k, std::string_view v) {
  const auto bad = [&](const std::string& what) {
    if (!chain_error_) chain_error_ = "event record " + std::string(k) + " in the snapshot " + what;
  };
  // s/evt/{bill}/{leg:02}/{n:06}: a bill id has no '/'.
  const std::string_view rest = k.substr(key::state(contracts::keys::kLegEvent).size());
  if (rest.size() < 11 || rest[rest.size() - 7] != '/' || rest[rest.size() - 10] != '/') return bad("is malformed");
  const std::string_view bill = rest.substr(0, rest.size() - 10);
  const auto number = [](std::string_view digits) -> std::int64_t {
    std::int64_t n = 0;
    for (char ch : digits) {
      if (ch < '0' || ch > '9') return -1;
      n = n * 10 + (ch - '0');
    }
    return n;
  };
  const std::int64_t leg = number(rest.substr(rest.size() - 9, 2));
  const std::int64_t n = number(rest.substr(rest.size() - 6));
  if (leg < 0 || n < 1) return bad("is malformed");
  auto it = chains_.find(bill);
  if (it == chains_.end()) it = chains_.emplace(std::string(bill), BillChains{}).first;
  auto& legs = it->second.legs;
  if (it->second.known && static_cast<std::size_t>(leg) >= legs.size()) {  // the bill came first (position order)
    if (!chain_error_) chain_error_ = "the snapshot has event records for a leg bill " + std::string(bill) + " does not have";
    return;
  }
  if (static_cast<std::size_t>(leg) >= legs.size()) {
    legs.resize(static_cast<std::size_t>(leg) + 1, LegChain{0, "", 0, std::string(contracts::kNoEventsHash)});
  }
  LegChain& c = legs[static_cast<std::size_t>(leg)];
  if (n != c.seen + 1) return bad("does not follow the leg's record " + std::to_string(c.seen));
  auto next = contracts::next_events_hash(alg_, c.running, v);
  if (!next) return bad(next.error().message);
  c.running = std::move(*next);
  c.seen = n;
}

Status StateSnapshotCheck::finish(const crypto::Digest& root) {
  const auto bad = [](const std::string& what) { return make_error("bad_snapshot", what); };
  // Every index belongs to exactly one document, and the documents are the ones indexed (same ids, same order).
  if (docs_ != size_ || index_.size() != size_ || index_ids_.finish() != doc_ids_.finish()) {
    return bad("the snapshot's documents and its state tree's indexes differ (" + std::to_string(docs_) + " documents, " +
               std::to_string(index_.size()) + " indexes, a tree of " + std::to_string(size_) + ")");
  }
  if (const auto missing = std::count(current_seen_.begin(), current_seen_.end(), 0) +
                           static_cast<std::ptrdiff_t>(current_sorted_ ? 0 : current_.size());
      missing != 0) {
    return bad("the snapshot lacks the current version of " + std::to_string(missing) + " document(s)");
  }
  if (const auto missing = std::count(events_seen_.begin(), events_seen_.end(), 0) +
                           static_cast<std::ptrdiff_t>(events_sorted_ ? 0 : current_events_.size());
      missing != 0) {
    return bad("the snapshot lacks the version of " + std::to_string(missing) + " event record(s)");
  }
  const crypto::Digest computed = crypto::merkle_root(alg_, leaves_);
  // The complete subtrees of the documents' leaves, in key order (level, then index), as the stored nodes must be.
  crypto::Hasher expected(crypto::HashAlg::sha256);
  std::uint64_t count = 0;
  std::vector<crypto::Digest> level = std::move(leaves_);
  for (std::uint32_t l = 0; !level.empty(); ++l) {
    for (std::uint64_t i = 0; i < level.size(); ++i) {
      hash_record(expected, key::state_node(l, i),
                  std::string_view(reinterpret_cast<const char*>(level[i].data()), level[i].size()));
      ++count;
    }
    std::vector<crypto::Digest> up(level.size() / 2);
    for (std::size_t i = 0; i < up.size(); ++i) up[i] = crypto::node_hash(alg_, level[2 * i], level[2 * i + 1]);
    level = std::move(up);
  }
  if (count != node_count_ || expected.finish() != nodes_.finish()) {
    return bad("the snapshot's state tree nodes are not the tree of its documents");
  }
  if (computed != root) return bad("the snapshot's documents do not give the last block's state_root");
  if (chain_error_) return bad(*chain_error_);
  if (listing_error_) return bad(*listing_error_);
  if (index_error_) return bad(*index_error_);
  if (const auto unclaimed = indexes_.unclaimed(); unclaimed != 0) {
    return bad("index records (s/idx/) in the snapshot that no document calls for: " + std::to_string(unclaimed));
  }
  if (const auto unclaimed = listings_.unclaimed(); unclaimed != 0) {
    return bad("listing index records in the snapshot that no document calls for: " + std::to_string(unclaimed));
  }
  for (const auto& [bill, chains] : chains_) {
    if (!chains.known) return bad("the snapshot has event records of " + bill + ", which is no bill in it");
    const auto& legs = chains.legs;
    for (std::size_t i = 0; i < legs.size(); ++i) {
      if (legs[i].seen != legs[i].count || legs[i].running != legs[i].expected) {
        return bad("the snapshot's event records of bill " + bill + " leg " + std::to_string(i) +
                   " do not give the events_hash its bill holds (" + std::to_string(legs[i].seen) + " of " +
                   std::to_string(legs[i].count) + " events)");
      }
    }
  }
  return {};
}

}  // namespace onebill::node
