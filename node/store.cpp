#include "node/store.h"

#include "node/ledger/state_values.h"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/canonical_json.h"
#include "crypto/bytes.h"
#include "node/ledger/format.h"
#include "node/threads.h"

#include <leveldb/cache.h>
#include <leveldb/filter_policy.h>

namespace onebill::node {
namespace key {

std::string be64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

std::string be32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 3; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

std::uint64_t read_be64(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[i]);
  return v;
}

}  // namespace key

namespace {
// The key sync_state deletes (never written): see there.
constexpr std::string_view kSyncMarker = "x/sync";

Error from_leveldb(const leveldb::Status& s) {
  return make_error(s.IsCorruption() ? "corruption" : "io_error", s.ToString());
}
}  // namespace

NiceBackgroundEnv::NiceBackgroundEnv(leveldb::Env* target, int nice, std::string thread_name)
    : leveldb::EnvWrapper(target), nice_(nice), thread_name_(std::move(thread_name)), thread_([this] { run(); }) {}

NiceBackgroundEnv::~NiceBackgroundEnv() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void NiceBackgroundEnv::Schedule(void (*fn)(void*), void* arg) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(fn, arg);
  }
  wake_.notify_one();
}

void NiceBackgroundEnv::run() {
  lower_thread_priority(nice_);
  name_this_thread(thread_name_.c_str());
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left (a database waits for its work before it closes)
    auto [fn, arg] = queue_.front();
    queue_.pop_front();
    lock.unlock();
    fn(arg);
    lock.lock();
  }
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir, leveldb::Env* env) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("io_error", "cannot create " + dir.string() + ": " + ec.message());
  std::unique_ptr<Store> store(new Store());
  store->cache_.reset(leveldb::NewLRUCache(64 << 20));
  leveldb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  o.block_cache = store->cache_.get();
  // Bloom filters (10 bits a key, ~1 % false positives): most point reads on the hot path are misses — is this
  // entry id already in the ledger, does this index key exist — and without a filter each reads and decompresses
  // a table block from every level it might be in. Tables written before had no filter and are read as before.
  store->filter_.reset(leveldb::NewBloomFilterPolicy(10));
  o.filter_policy = store->filter_.get();
  // 32 MiB memtables and 16 MiB tables for the state database and the archive: up to four memtables (128 MiB) in
  // memory, as one database with 64 MiB memtables had. Against 64 MiB each, the same throughput within the noise
  // and about 60 MiB less memory per node (docs/performance.md, session 9). (Before the archive, 64 MiB beat 16 and
  // 32 MiB: its memtable flushes were merged with much of the database, so fewer of them paid; session 6.) The
  // Raft log's database has 16 MiB memtables (below).
  o.max_file_size = 16 << 20;
  o.max_open_files = 512;
  if (env != nullptr) store->env_ = env;
  store->sticky_ = std::make_unique<StickyWriteEnv>(store->env_);
  store->background_ = std::make_unique<NiceBackgroundEnv>(store->sticky_.get(), kBackgroundNice, "ob-leveldb");
  store->archive_background_ =
      std::make_unique<NiceBackgroundEnv>(store->sticky_.get(), kBackgroundNice, "ob-leveldb-arch");
  store->raft_background_ =
      std::make_unique<NiceBackgroundEnv>(store->sticky_.get(), kBackgroundNice, "ob-leveldb-raft");
  const auto open_one = [&](const std::filesystem::path& path, leveldb::Env* db_env,
                            std::unique_ptr<leveldb::DB>& out, std::size_t write_buffer) -> Status {
    o.env = db_env;
    o.write_buffer_size = write_buffer;
    leveldb::DB* raw = nullptr;
    leveldb::Status s = leveldb::DB::Open(o, path.string(), &raw);
    if (!s.ok()) {
      if (s.ToString().find("lock") != std::string::npos) {
        return make_error("io_error", "the database in " + path.string() + " is in use by another process: " +
                                          s.ToString());
      }
      return from_leveldb(s);
    }
    out.reset(raw);
    return {};
  };
  if (Status s = open_one(dir, store->background_.get(), store->db_, 32 << 20); !s) return s.error();
  // Inside the state database's folder: LevelDB leaves alone what it did not name.
  if (Status s = open_one(dir / "archive", store->archive_background_.get(), store->archive_, 32 << 20); !s) {
    return s.error();
  }
  // The Raft log: keys in index order, appended and later deleted from the front. 16 MiB memtables: it takes
  // about a fifth of the bytes a block writes (the block itself), and its tables move down the levels unmerged.
  if (Status s = open_one(dir / "raft", store->raft_background_.get(), store->raft_, 16 << 20); !s) {
    return s.error();
  }
  return store;
}

const leveldb::Snapshot* Store::take_snapshot() const {
  const leveldb::Snapshot* state = db_->GetSnapshot();
  const leveldb::Snapshot* archive = archive_->GetSnapshot();  // after: it holds what the state refers to
  std::lock_guard lock(snapshots_mu_);
  snapshots_[state] = archive;
  return state;
}

void Store::release_snapshot(const leveldb::Snapshot* snap) const {
  {
    std::lock_guard lock(snapshots_mu_);
    auto it = snapshots_.find(snap);
    if (it != snapshots_.end()) {
      archive_->ReleaseSnapshot(it->second);
      snapshots_.erase(it);
    }
  }
  db_->ReleaseSnapshot(snap);
}

const leveldb::Snapshot* Store::archive_snapshot(const leveldb::Snapshot* snap) const {
  if (snap == nullptr) return nullptr;
  std::lock_guard lock(snapshots_mu_);
  auto it = snapshots_.find(snap);
  return it == snapshots_.end() ? nullptr : it->second;
}

Result<std::optional<std::string>> Store::get(std::string_view k, const leveldb::Snapshot* snap) const {
  std::string value;
  leveldb::ReadOptions ro;
  leveldb::Status s;
  if (key::archived(k)) {
    ro.snapshot = archive_snapshot(snap);
    s = archive_->Get(ro, key::archive_key(k), &value);
  } else {
    ro.snapshot = snap;
    s = db_->Get(ro, leveldb::Slice(k.data(), k.size()), &value);
  }
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_leveldb(s);
  return std::optional<std::string>(std::move(value));
}

namespace {
Result<std::optional<std::string>> by_position(const Store& store, std::string_view id, const leveldb::Snapshot* snap,
                                               std::string (*record_key)(std::string_view)) {
  auto pos = store.get(key::tx(id), snap);
  if (!pos) return pos.error();
  if (!pos->has_value()) return std::optional<std::string>();
  if ((*pos)->size() != key::kPositionSize) {
    return make_error("corruption", "t/" + std::string(id) + " does not hold an entry's position");
  }
  const std::string k = record_key(**pos);
  auto rec = store.get(k, snap);
  if (!rec) return rec.error();
  if (!rec->has_value()) {
    return make_error("corruption", "entry " + std::string(id) + " has no record at its position (" +
                                        std::to_string(key::read_be64(**pos)) + ")");
  }
  return rec;
}
}  // namespace

Result<std::optional<std::string>> Store::entry_record(std::string_view id, const leveldb::Snapshot* snap) const {
  return by_position(*this, id, snap, &key::entry);
}

Result<std::optional<nlohmann::json>> Store::entry_reads(std::string_view id, const leveldb::Snapshot* snap) const {
  auto stored = by_position(*this, id, snap, &key::reads);
  if (!stored) return stored.error();
  if (!stored->has_value()) return std::optional<nlohmann::json>();
  const auto bad = [&](const std::string& what) {
    return make_error("corruption", "the read set of entry " + std::string(id) + " " + what);
  };
  nlohmann::json reads = nlohmann::json::parse(**stored, nullptr, false);
  if (!reads.is_object()) return bad("is not a JSON object");
  for (auto& [k, v] : reads.items()) {
    if (!v.is_object()) continue;
    const auto at = v.find("at");
    if (v.size() != 1 || at == v.end() || !at->is_string()) return bad("has a malformed value for " + k);
    auto position = crypto::hex_decode(at->get_ref<const std::string&>());
    if (!position || position->size() != key::kPositionSize) return bad("names a malformed version for " + k);
    auto value = get(key::version(std::string_view(reinterpret_cast<const char*>(position->data()), position->size()), k),
                     snap);
    if (!value) return value.error();
    if (!value->has_value()) return bad("names a version of " + k + " the database does not have");
    v = std::move(**value);
  }
  return std::optional<nlohmann::json>(std::move(reads));
}

Result<std::optional<std::string>> Store::get_state(std::string_view k, const leveldb::Snapshot* snap,
                                                    std::string* position) const {
  if (position != nullptr) position->clear();
  if (!key::versioned(k)) return get(key::state(k), snap);
  auto at = get(key::state(k), snap);
  if (!at || !at->has_value()) return at;
  if ((*at)->size() != key::kPositionSize) {
    return make_error("corruption", "s/" + std::string(k) + " does not hold a version's position");
  }
  auto value = get(key::version(**at, k), snap);
  if (!value) return value.error();
  if (!value->has_value()) {
    return make_error("corruption", std::string(k) + ": its current version (height " +
                                        std::to_string(key::read_be64(**at)) + ") is missing");
  }
  if (position != nullptr) *position = std::move(**at);
  return value;
}

Result<std::optional<std::string>> StoreStateView::get(std::string_view k) const {
  StateValueCache* cache = snap_ == nullptr ? cache_ : nullptr;  // it holds the latest state only
  const auto remember = [&](const std::string& position) {
    if (remember_ && !position.empty()) versions_.insert_or_assign(std::string(k), position);
  };
  if (cache != nullptr) {
    if (const StateValueCache::Value* hit = cache->find(k)) {
      remember(hit->position);
      return hit->value;
    }
  }
  std::string position;
  auto v = store_.get_state(k, snap_, &position);
  if (!v) return v;
  remember(position);
  if (cache != nullptr) cache->put(k, StateValueCache::Value{*v, std::move(position)});
  return v;
}

std::string stored_reads_text(const contracts::ReadSet& reads,
                              const std::function<const std::string*(const std::string&)>& version_of) {
  crypto::CanonicalWriter w;
  w.begin_object();
  for (const auto& [k, v] : reads) {
    w.key(k);
    if (!v) {
      w.null_value();
    } else if (const std::string* position = version_of(k); position != nullptr) {
      w.begin_object();
      w.key("at");
      w.string(crypto::hex_encode(crypto::as_bytes(*position)));
      w.end_object();
    } else {
      w.string(*v);
    }
  }
  w.end_object();
  if (w.ok()) return w.take();
  // Values the canonical writer refuses (never from the contracts, which store canonical JSON): as ledger::reads_text
  // writes them (invalid bytes replaced), without references.
  return ledger::reads_text(reads);
}

namespace {
// A batch's operations split by database; the archive's in its own key order when `sort`.
struct SplitBatch final : leveldb::WriteBatch::Handler {
  struct Op {
    std::string key;
    leveldb::Slice value;  // into the batch split, which outlives this
    bool put;
  };
  std::vector<Op> archive;
  leveldb::WriteBatch state;
  void Put(const leveldb::Slice& k, const leveldb::Slice& v) override {
    std::string_view kv(k.data(), k.size());
    if (key::archived(kv)) {
      archive.push_back({key::archive_key(kv), v, true});
    } else {
      state.Put(k, v);
    }
  }
  void Delete(const leveldb::Slice& k) override {
    std::string_view kv(k.data(), k.size());
    if (key::archived(kv)) {
      archive.push_back({key::archive_key(kv), {}, false});
    } else {
      state.Delete(k);
    }
  }
  leveldb::WriteBatch archive_batch(bool sort) {
    if (sort) {
      std::stable_sort(archive.begin(), archive.end(), [](const Op& a, const Op& b) { return a.key < b.key; });
    }
    leveldb::WriteBatch out;
    for (const auto& op : archive) {
      if (op.put) {
        out.Put(op.key, op.value);
      } else {
        out.Delete(op.key);
      }
    }
    return out;
  }
};

// One database's write; a failure becomes the store's first (sticky) failure.
Status write_one(leveldb::DB* db, leveldb::WriteBatch& b, bool sync, StickyWriteEnv& sticky) {
  leveldb::WriteOptions wo;
  wo.sync = sync;
  leveldb::Status s = db->Write(wo, &b);
  if (!s.ok()) {
    (void)sticky.fail(s);  // usually recorded already, by the file write that failed
    return from_leveldb(s);
  }
  return {};
}

// Writes a split batch: the archive's part first (synced when the state's part follows, so the state never refers
// to records that are not durable), then the state's.
Status write_parts(SplitBatch& split, bool sync, bool sort, leveldb::DB* state, leveldb::DB* archive,
                   StickyWriteEnv& sticky) {
  const bool has_state = split.state.ApproximateSize() > leveldb::WriteBatch().ApproximateSize();
  if (!split.archive.empty()) {
    leveldb::WriteBatch a = split.archive_batch(sort);
    // Durable before the state that refers to it is written at all.
    if (Status s = write_one(archive, a, sync || has_state, sticky); !s) return s;
  }
  if (!has_state && !split.archive.empty()) return {};  // synced above when asked
  return write_one(state, split.state, sync, sticky);
}

Status write_split(const leveldb::WriteBatch& batch, bool sync, bool sort, leveldb::DB* state, leveldb::DB* archive,
                   StickyWriteEnv& sticky) {
  if (auto first = sticky.failure()) return from_leveldb(*first);
  SplitBatch split;
  // Iterate only fails on a malformed batch, which this process built itself.
  if (leveldb::Status s = batch.Iterate(&split); !s.ok()) return from_leveldb(s);
  return write_parts(split, sync, sort, state, archive, sticky);
}

// A batch's operations in key order, a later operation on a key replacing an earlier one: slices into the batch.
struct SortedOps final : leveldb::WriteBatch::Handler {
  struct Op {
    leveldb::Slice key, value;
    bool put;
  };
  std::vector<Op> ops;
  void Put(const leveldb::Slice& k, const leveldb::Slice& v) override { ops.push_back({k, v, true}); }
  void Delete(const leveldb::Slice& k) override { ops.push_back({k, {}, false}); }
  // False on a malformed batch (which this process built itself).
  bool collect(const leveldb::WriteBatch& batch) {
    if (!batch.Iterate(this).ok()) return false;
    std::stable_sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) { return a.key.compare(b.key) < 0; });
    return true;
  }
  template <class F>
  void each(F&& f) const {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (i + 1 < ops.size() && ops[i + 1].key == ops[i].key) continue;  // a later operation on the key wins
      f(ops[i]);
    }
  }
};
}  // namespace

Status Store::write(leveldb::WriteBatch& batch, bool sync) {
  return write_split(batch, sync, false, db_.get(), archive_.get(), *sticky_);
}

Status Store::write_in_key_order(const leveldb::WriteBatch& batch, bool sync) {
  if (auto first = sticky_->failure()) return from_leveldb(*first);
  SortedOps sorted;
  if (!sorted.collect(batch)) return write_split(batch, sync, true, db_.get(), archive_.get(), *sticky_);
  // Straight from the sorted operations into each database's batch (no sorted copy of the whole batch first).
  SplitBatch split;
  sorted.each([&](const SortedOps::Op& op) { op.put ? split.Put(op.key, op.value) : split.Delete(op.key); });
  return write_parts(split, sync, true, db_.get(), archive_.get(), *sticky_);
}

Status Store::sync_archive() {
  if (auto first = sticky_->failure()) return from_leveldb(*first);
  leveldb::WriteBatch empty;
  return write_one(archive_.get(), empty, true, *sticky_);  // also syncs the logs closed before (sticky_env.h)
}

Status Store::sync_state() {
  if (auto first = sticky_->failure()) return from_leveldb(*first);
  // A deletion of a key nothing writes rather than an empty batch: LevelDB may fold unsynced writes of other threads
  // into this synced one's log record, and the fault harness (tests/integration/leveldb_tail.h) must still see
  // that the record was synced.
  leveldb::WriteBatch marker;
  marker.Delete(std::string(kSyncMarker));
  // Its sync first syncs the logs LevelDB closed unsynced at a memtable switch (sticky_env.h): every log closed
  // before this write is kept open by then, and one closed after it holds nothing written before this call.
  return write_one(db_.get(), marker, true, *sticky_);
}

leveldb::WriteBatch sorted_batch(const leveldb::WriteBatch& batch) {
  SortedOps sorted;
  if (!sorted.collect(batch)) return batch;  // malformed: written as it is
  leveldb::WriteBatch out;
  sorted.each([&](const SortedOps::Op& op) { op.put ? out.Put(op.key, op.value) : out.Delete(op.key); });
  return out;
}

std::optional<Error> Store::write_failure() const {
  if (auto first = sticky_->failure()) return from_leveldb(*first);
  return std::nullopt;
}

Status Store::scan(std::string_view prefix, std::string_view start, std::size_t limit,
                   const std::function<bool(std::string_view, std::string_view)>& fn,
                   const leveldb::Snapshot* snap) const {
  std::string from = start.empty() ? std::string(prefix) : std::string(start);
  std::size_t n = 0;
  // Prefixes no archived key can start with: the state database alone.
  const bool state_only = !prefix.empty() && key::kArchivedPrefixes.find(prefix[0]) == std::string_view::npos;
  if (state_only) {
    leveldb::ReadOptions ro;
    ro.snapshot = snap;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(from); it->Valid() && n < limit; it->Next(), ++n) {
      std::string_view k(it->key().data(), it->key().size());
      if (!k.starts_with(prefix)) break;
      if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
    }
    if (!it->status().ok()) return from_leveldb(it->status());
    return {};
  }
  Cursor c(*this, snap);
  for (c.seek(from); c.valid() && n < limit; c.next(), ++n) {
    if (!c.key().starts_with(prefix)) break;
    if (!fn(c.key(), c.value())) break;
  }
  if (!c.status().ok()) return from_leveldb(c.status());
  return {};
}

std::uint64_t Store::approximate_size() const {
  leveldb::Range all("", "\xff\xff\xff\xff");
  std::uint64_t size = 0, archived = 0, raft = 0;
  db_->GetApproximateSizes(&all, 1, &size);
  archive_->GetApproximateSizes(&all, 1, &archived);
  raft_->GetApproximateSizes(&all, 1, &raft);
  return size + archived + raft;
}

Store::Cursor::Cursor(const Store& store, const leveldb::Snapshot* snap, bool fill_cache) {
  leveldb::ReadOptions state;
  state.snapshot = snap;
  state.fill_cache = fill_cache;
  leveldb::ReadOptions archive;
  archive.snapshot = store.archive_snapshot(snap);
  archive.fill_cache = fill_cache;
  parts_[0].it.reset(store.db_->NewIterator(state));
  for (std::size_t i = 1; i < std::size(parts_); ++i) {
    parts_[i].tag = key::kArchivedPrefixes[i - 1];
    parts_[i].it.reset(store.archive_->NewIterator(archive));
  }
}

void Store::Cursor::settle(Part& p) {
  if (p.tag == 0) {
    p.valid = p.it->Valid();
    if (p.valid) p.key.assign(p.it->key().data(), p.it->key().size());
    return;
  }
  for (; p.it->Valid(); p.it->Next()) {
    std::string_view raw(p.it->key().data(), p.it->key().size());
    if (raw.size() > key::kPositionSize && raw[key::kPositionSize] == p.tag) {
      p.key = key::from_archive_key(raw);
      p.valid = true;
      return;
    }
  }
  p.valid = false;
}

void Store::Cursor::pick() {
  current_ = nullptr;
  for (auto& p : parts_) {
    if (p.valid && (current_ == nullptr || p.key < current_->key)) current_ = &p;
  }
}

void Store::Cursor::seek(std::string_view k) {
  for (auto& p : parts_) {
    if (p.tag == 0) {
      p.it->Seek(leveldb::Slice(k.data(), k.size()));
    } else {
      const std::string prefix{p.tag, '/'};
      if (k <= prefix) {
        p.it->SeekToFirst();
      } else if (k.starts_with(prefix)) {
        // Within the prefix: the position (or its beginning) orders the archive's records of this prefix as the
        // layout's keys order them.
        std::string_view rest = k.substr(2);
        std::string raw(rest.substr(0, std::min(rest.size(), key::kPositionSize)));
        if (rest.size() >= key::kPositionSize) {
          raw.push_back(p.tag);
          raw.append(rest.substr(key::kPositionSize));
        }
        p.it->Seek(raw);
      } else {
        p.valid = false;  // every key of this prefix is before k
        continue;
      }
    }
    settle(p);
  }
  pick();
}

std::string_view Store::Cursor::value() const {
  return std::string_view(current_->it->value().data(), current_->it->value().size());
}

void Store::Cursor::next() {
  current_->it->Next();
  settle(*current_);
  pick();
}

leveldb::Status Store::Cursor::status() const {
  for (const auto& p : parts_) {
    if (!p.it->status().ok()) return p.it->status();
  }
  return leveldb::Status::OK();
}

std::optional<crypto::Digest> StoreMerkleNodes::get(std::uint32_t level, std::uint64_t index) const {
  auto it = staged_.find({level, index});
  if (it != staged_.end()) return it->second;
  auto v = store_.get(key::merkle(level, index), snap_);
  if (!v || !v->has_value() || (*v)->size() != crypto::kDigestSize) return std::nullopt;
  crypto::Digest d{};
  std::copy((*v)->begin(), (*v)->end(), d.begin());
  return d;
}

void StoreMerkleNodes::put(std::uint32_t level, std::uint64_t index, const crypto::Digest& hash) {
  staged_[{level, index}] = hash;
}

void StoreMerkleNodes::stage_into(leveldb::WriteBatch& batch) const {
  for (const auto& [pos, d] : staged_) {
    batch.Put(key::merkle(pos.first, pos.second),
              leveldb::Slice(reinterpret_cast<const char*>(d.data()), d.size()));
  }
}

}  // namespace onebill::node
