#include "node/store.h"

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
Error from_leveldb(const leveldb::Status& s) {
  return make_error(s.IsCorruption() ? "corruption" : "io_error", s.ToString());
}
}  // namespace

void NiceBackgroundEnv::Schedule(void (*fn)(void*), void* arg) {
  target()->Schedule(&NiceBackgroundEnv::run, new Job{fn, arg, nice_});
}

void NiceBackgroundEnv::run(void* p) {
  std::unique_ptr<Job> job(static_cast<Job*>(p));
  // Once per thread: LevelDB's default Env runs every database's background work on one thread of its own.
  thread_local bool lowered = false;
  if (!lowered) {
    lower_thread_priority(job->nice);
    name_this_thread("ob-leveldb");
    lowered = true;
  }
  job->fn(job->arg);
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
  // A block writes about 7 kB per entry (docs/performance.md, session 6); a 64 MiB memtable and 16 MiB tables make
  // fewer, larger compactions: about 10 % less CPU per entry and 13 % more throughput under the benchmark's load
  // (A/B, four rounds), for up to two memtables (128 MiB) of memory while one is written out.
  o.write_buffer_size = 64 << 20;
  o.max_file_size = 16 << 20;
  o.max_open_files = 512;
  if (env != nullptr) store->env_ = env;
  store->sticky_ = std::make_unique<StickyWriteEnv>(store->env_);
  store->background_ = std::make_unique<NiceBackgroundEnv>(store->sticky_.get(), kBackgroundNice);
  o.env = store->background_.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(o, dir.string(), &raw);
  if (!s.ok()) {
    if (s.ToString().find("lock") != std::string::npos) {
      return make_error("io_error", "the database in " + dir.string() + " is in use by another process: " +
                                        s.ToString());
    }
    return from_leveldb(s);
  }
  store->db_.reset(raw);
  return store;
}

Result<std::optional<std::string>> Store::get(std::string_view k, const leveldb::Snapshot* snap) const {
  std::string value;
  leveldb::ReadOptions ro;
  ro.snapshot = snap;
  leveldb::Status s = db_->Get(ro, leveldb::Slice(k.data(), k.size()), &value);
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

Status Store::write(leveldb::WriteBatch& batch, bool sync) {
  if (auto first = sticky_->failure()) return from_leveldb(*first);
  leveldb::WriteOptions wo;
  wo.sync = sync;
  leveldb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    (void)sticky_->fail(s);  // usually recorded already, by the file write that failed
    return from_leveldb(s);
  }
  return {};
}

Status Store::write_in_key_order(const leveldb::WriteBatch& batch, bool sync) {
  leveldb::WriteBatch sorted = sorted_batch(batch);
  return write(sorted, sync);
}

leveldb::WriteBatch sorted_batch(const leveldb::WriteBatch& batch) {
  struct Op {
    leveldb::Slice key, value;  // into `batch`, which outlives them
    bool put;
  };
  struct Collect final : leveldb::WriteBatch::Handler {
    std::vector<Op> ops;
    void Put(const leveldb::Slice& k, const leveldb::Slice& v) override { ops.push_back({k, v, true}); }
    void Delete(const leveldb::Slice& k) override { ops.push_back({k, {}, false}); }
  } c;
  // Iterate only fails on a malformed batch, which this process built itself: then it is written as it is.
  if (!batch.Iterate(&c).ok()) return batch;
  std::stable_sort(c.ops.begin(), c.ops.end(), [](const Op& a, const Op& b) { return a.key.compare(b.key) < 0; });
  leveldb::WriteBatch out;
  for (std::size_t i = 0; i < c.ops.size(); ++i) {
    if (i + 1 < c.ops.size() && c.ops[i + 1].key == c.ops[i].key) continue;  // a later operation on the key wins
    if (c.ops[i].put) {
      out.Put(c.ops[i].key, c.ops[i].value);
    } else {
      out.Delete(c.ops[i].key);
    }
  }
  return out;
}

std::optional<Error> Store::write_failure() const {
  if (auto first = sticky_->failure()) return from_leveldb(*first);
  return std::nullopt;
}

Status Store::scan(std::string_view prefix, std::string_view start, std::size_t limit,
                   const std::function<bool(std::string_view, std::string_view)>& fn,
                   const leveldb::Snapshot* snap) const {
  leveldb::ReadOptions ro;
  ro.snapshot = snap;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  std::string from = start.empty() ? std::string(prefix) : std::string(start);
  std::size_t n = 0;
  for (it->Seek(from); it->Valid() && n < limit; it->Next(), ++n) {
    std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(prefix)) break;
    if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return from_leveldb(it->status());
  return {};
}

std::uint64_t Store::approximate_size() const {
  leveldb::Range all("", "\xff\xff\xff\xff");
  std::uint64_t size = 0;
  db_->GetApproximateSizes(&all, 1, &size);
  return size;
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
