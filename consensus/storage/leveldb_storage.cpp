#include "consensus/storage/leveldb_storage.h"

#include <cstring>

#include <leveldb/write_batch.h>

#include "consensus/errors.h"
#include "consensus/storage/crc32c.h"

namespace onebill::consensus {
namespace {

constexpr std::uint8_t kVersion = 1;

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads fixed-width little-endian integers from a record, failing (not crashing) on short input.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool u8(std::uint8_t& v) {
    if (s_.size() < 1) return false;
    v = static_cast<std::uint8_t>(s_[0]);
    s_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (s_.size() < 4) return false;
    v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(s_[static_cast<std::size_t>(i)]);
    s_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (s_.size() < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(s_[static_cast<std::size_t>(i)]);
    s_.remove_prefix(8);
    return true;
  }
  std::string_view rest() const { return s_; }

 private:
  std::string_view s_;
};

std::uint32_t entry_crc(Index index, Term term, std::uint8_t type, std::string_view data) {
  std::string head;
  put_u64(head, index);
  put_u64(head, term);
  head.push_back(static_cast<char>(type));
  std::uint32_t c = crc32c(0, head.data(), head.size());
  return crc32c(c, data.data(), data.size());
}

std::string encode_entry(const Entry& e) {
  std::string out;
  out.reserve(22 + e.data.size());
  out.push_back(static_cast<char>(kVersion));
  std::string_view data(reinterpret_cast<const char*>(e.data.data()), e.data.size());
  put_u32(out, entry_crc(e.index, e.term, static_cast<std::uint8_t>(e.type), data));
  put_u64(out, e.term);
  out.push_back(static_cast<char>(e.type));
  out.append(data);
  return out;
}

bool decode_entry(Index index, std::string_view rec, Entry& e) {
  Reader r(rec);
  std::uint8_t version = 0, type = 0;
  std::uint32_t crc = 0;
  std::uint64_t term = 0;
  if (!r.u8(version) || version != kVersion || !r.u32(crc) || !r.u64(term) || !r.u8(type)) return false;
  if (type > static_cast<std::uint8_t>(EntryType::kConfChange)) return false;
  if (crc != entry_crc(index, term, type, r.rest())) return false;
  e.index = index;
  e.term = term;
  e.type = static_cast<EntryType>(type);
  e.data.assign(r.rest().begin(), r.rest().end());
  return true;
}

void put_conf(std::string& out, const ConfState& c) {
  put_u32(out, static_cast<std::uint32_t>(c.voters.size()));
  for (auto v : c.voters) put_u64(out, v);
  put_u32(out, static_cast<std::uint32_t>(c.learners.size()));
  for (auto v : c.learners) put_u64(out, v);
}

bool get_conf(Reader& r, ConfState& c) {
  for (auto* list : {&c.voters, &c.learners}) {
    std::uint32_t n = 0;
    if (!r.u32(n) || n > 4096) return false;
    list->resize(n);
    for (auto& v : *list) {
      if (!r.u64(v)) return false;
    }
  }
  return true;
}

std::string encode_snapshot(const Snapshot& s) {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  put_u64(out, s.meta.index);
  put_u64(out, s.meta.term);
  put_conf(out, s.meta.conf_state);
  std::uint32_t crc = crc32c(0, out.data(), out.size());
  crc = crc32c(crc, s.data.data(), s.data.size());
  put_u32(out, crc);
  out.append(reinterpret_cast<const char*>(s.data.data()), s.data.size());
  return out;
}

bool decode_snapshot(std::string_view rec, Snapshot& s, bool with_data) {
  Reader r(rec);
  std::uint8_t version = 0;
  if (!r.u8(version) || version != kVersion || !r.u64(s.meta.index) || !r.u64(s.meta.term) ||
      !get_conf(r, s.meta.conf_state)) {
    return false;
  }
  std::size_t head_len = rec.size() - r.rest().size();
  std::uint32_t crc = 0;
  if (!r.u32(crc)) return false;
  if (with_data) {
    std::uint32_t c = crc32c(0, rec.data(), head_len);
    c = crc32c(c, r.rest().data(), r.rest().size());
    if (c != crc) return false;
    s.data.assign(r.rest().begin(), r.rest().end());
  }
  return true;
}

Error io_error(const leveldb::Status& s) { return make_error("io_error", s.ToString()); }

}  // namespace

std::string LevelDbStorage::entry_key(Index i) const {
  std::string k = prefix_ + "e";
  for (int b = 7; b >= 0; --b) k.push_back(static_cast<char>((i >> (8 * b)) & 0xff));
  return k;
}

Result<std::unique_ptr<LevelDbStorage>> LevelDbStorage::open(leveldb::DB* db, std::string prefix, ConfState genesis) {
  std::unique_ptr<LevelDbStorage> s(new LevelDbStorage(db, std::move(prefix)));
  if (Status st = s->recover(genesis); !st) return st.error();
  return s;
}

Status LevelDbStorage::recover(const ConfState& genesis) {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::string v;
  // Hard state.
  leveldb::Status st = db_->Get(ro, prefix_ + "h", &v);
  if (st.ok()) {
    Reader r(v);
    std::uint8_t version = 0;
    if (!r.u8(version) || version != kVersion || !r.u64(hard_state_.term) || !r.u64(hard_state_.vote) ||
        !r.u64(hard_state_.commit)) {
      return make_error("corruption", "the Raft hard state record is unreadable");
    }
  } else if (!st.IsNotFound()) {
    return io_error(st);
  }
  // Snapshot metadata.
  st = db_->Get(ro, prefix_ + "s", &v);
  if (st.ok()) {
    Snapshot snap;
    if (!decode_snapshot(v, snap, true)) return make_error("corruption", "the Raft snapshot record is unreadable");
    snapshot_meta_ = snap.meta;
  } else if (st.IsNotFound()) {
    snapshot_meta_ = SnapshotMeta{0, 0, genesis};
  } else {
    return io_error(st);
  }
  // Compaction point.
  Term offset_term = 0;
  st = db_->Get(ro, prefix_ + "o", &v);
  if (st.ok()) {
    Reader r(v);
    std::uint8_t version = 0;
    if (!r.u8(version) || version != kVersion || !r.u64(snapshot_offset_) || !r.u64(offset_term)) {
      return make_error("corruption", "the Raft compaction record is unreadable");
    }
  } else if (!st.IsNotFound()) {
    return io_error(st);
  }
  terms_.assign(1, offset_term);

  // Entries: contiguous from offset + 1; the first bad or missing one ends the log.
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  std::string entry_prefix = prefix_ + "e";
  Index expect = snapshot_offset_ + 1;
  std::optional<Index> cut;
  for (it->Seek(entry_key(expect)); it->Valid() && it->key().starts_with(entry_prefix); it->Next()) {
    if (!cut) {
      Entry e;
      bool in_place = it->key().ToString() == entry_key(expect);
      if (in_place && decode_entry(expect, it->value().ToString(), e)) {
        terms_.push_back(e.term);
        ++expect;
        continue;
      }
      cut = expect;
    }
    ++recovery_.dropped;
  }
  if (!it->status().ok()) return io_error(it->status());
  if (cut) {
    if (*cut <= hard_state_.commit) {
      return make_error("corruption", "Raft log entry " + std::to_string(*cut) +
                                          " is missing or corrupt but was committed (commit index " +
                                          std::to_string(hard_state_.commit) + "); restore this node from a peer");
    }
    recovery_.truncated_from = *cut;
    leveldb::WriteBatch batch;
    for (it->Seek(entry_key(*cut)); it->Valid() && it->key().starts_with(entry_prefix); it->Next()) {
      batch.Delete(it->key());
    }
    if (Status w = write(batch, true); !w) return w;
  }
  return {};
}

Result<Snapshot> LevelDbStorage::snapshot() const {
  std::string v;
  leveldb::Status st = db_->Get(leveldb::ReadOptions(), prefix_ + "s", &v);
  if (st.IsNotFound()) return Snapshot{snapshot_meta_, {}};
  if (!st.ok()) return io_error(st);
  Snapshot snap;
  if (!decode_snapshot(v, snap, true)) return make_error("corruption", "the Raft snapshot record is unreadable");
  return snap;
}

Result<Term> LevelDbStorage::term(Index i) const {
  if (i < snapshot_offset_) return make_error(kErrCompacted, "index " + std::to_string(i) + " is compacted");
  if (i > last_index()) return make_error(kErrUnavailable, "index " + std::to_string(i) + " is not in the log");
  return terms_[i - snapshot_offset_];
}

Result<std::vector<Entry>> LevelDbStorage::entries(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (lo < first_index()) return make_error(kErrCompacted, "index " + std::to_string(lo) + " is compacted");
  if (hi > last_index() + 1 || lo > hi) return make_error(kErrUnavailable, "entries beyond the log");
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  Index i = lo;
  for (it->Seek(entry_key(lo)); i < hi && it->Valid(); it->Next(), ++i) {
    Entry e;
    if (it->key().ToString() != entry_key(i) || !decode_entry(i, it->value().ToString(), e)) {
      return make_error("corruption", "Raft log entry " + std::to_string(i) + " is unreadable");
    }
    bytes += entry_size(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(std::move(e));
  }
  if (!it->status().ok()) return io_error(it->status());
  if (out.empty() && lo < hi) return make_error("corruption", "Raft log entry " + std::to_string(lo) + " is missing");
  return out;
}

Status LevelDbStorage::write(leveldb::WriteBatch& batch, bool sync) {
  leveldb::WriteOptions wo;
  wo.sync = sync;
  leveldb::Status st = db_->Write(wo, &batch);
  if (!st.ok()) return io_error(st);
  return {};
}

Status LevelDbStorage::stage_entries(const std::vector<Entry>& entries, leveldb::WriteBatch& batch,
                                     std::deque<Term>& terms) {
  if (entries.empty()) return {};
  Index first = entries.front().index;
  Index last_now = snapshot_offset_ + terms.size() - 1;
  if (first > last_now + 1) {
    return make_error(kErrUnavailable, "appending at " + std::to_string(first) + " would leave a gap after " +
                                           std::to_string(last_now));
  }
  std::size_t skip = 0;
  while (skip < entries.size() && entries[skip].index <= snapshot_offset_) ++skip;  // already compacted
  if (skip == entries.size()) return {};
  Index from = entries[skip].index;
  // A follower's repair: drop stored entries at and after the first new one.
  for (Index i = from; i <= last_now; ++i) batch.Delete(entry_key(i));
  terms.resize(from - snapshot_offset_);
  for (std::size_t k = skip; k < entries.size(); ++k) {
    batch.Put(entry_key(entries[k].index), encode_entry(entries[k]));
    terms.push_back(entries[k].term);
  }
  return {};
}

void LevelDbStorage::stage_snapshot(const Snapshot& s, leveldb::WriteBatch& batch, Index& offset,
                                    std::deque<Term>& terms) const {
  // The snapshot replaces the whole log.
  Index last_now = offset + terms.size() - 1;
  for (Index i = offset + 1; i <= last_now; ++i) batch.Delete(entry_key(i));
  batch.Put(prefix_ + "s", encode_snapshot(s));
  std::string o;
  o.push_back(static_cast<char>(kVersion));
  put_u64(o, s.meta.index);
  put_u64(o, s.meta.term);
  batch.Put(prefix_ + "o", o);
  offset = s.meta.index;
  terms.assign(1, s.meta.term);
}

Status LevelDbStorage::save(const Ready& ready, const leveldb::WriteBatch* also) {
  leveldb::WriteBatch batch;
  if (also != nullptr) batch.Append(*also);
  Index offset = snapshot_offset_;
  std::deque<Term> terms = terms_;
  std::optional<SnapshotMeta> meta;
  if (ready.snapshot) {
    if (ready.snapshot->meta.index <= snapshot_meta_.index) {
      return make_error(kErrSnapshotOutOfDate, "the snapshot is not newer than the one held");
    }
    stage_snapshot(*ready.snapshot, batch, offset, terms);
    meta = ready.snapshot->meta;
  }
  std::swap(offset, snapshot_offset_);  // stage_entries reads snapshot_offset_
  Status st = stage_entries(ready.entries, batch, terms);
  std::swap(offset, snapshot_offset_);
  if (!st) return st;
  if (ready.hard_state) {
    std::string h;
    h.push_back(static_cast<char>(kVersion));
    put_u64(h, ready.hard_state->term);
    put_u64(h, ready.hard_state->vote);
    put_u64(h, ready.hard_state->commit);
    batch.Put(prefix_ + "h", h);
  }
  if (Status w = write(batch, ready.must_sync); !w) return w;
  // Only now, with the batch durable, does memory follow.
  snapshot_offset_ = offset;
  terms_ = std::move(terms);
  if (meta) snapshot_meta_ = *meta;
  if (ready.hard_state) hard_state_ = *ready.hard_state;
  return {};
}

Status LevelDbStorage::set_hard_state(const HardState& hs) {
  Ready r;
  r.hard_state = hs;
  r.must_sync = true;
  return save(r);
}

Status LevelDbStorage::append(const std::vector<Entry>& entries) {
  Ready r;
  r.entries = entries;
  r.must_sync = true;
  return save(r);
}

Status LevelDbStorage::apply_snapshot(Snapshot snapshot) {
  Ready r;
  r.snapshot = std::move(snapshot);
  r.must_sync = true;
  return save(r);
}

Status LevelDbStorage::create_snapshot(Index index, ConfState conf_state, Bytes data) {
  if (index <= snapshot_meta_.index) return make_error(kErrSnapshotOutOfDate, "not after the current snapshot");
  if (index > last_index()) return make_error(kErrUnavailable, "snapshot index beyond the log");
  auto t = term(index);
  if (!t) return t.error();
  Snapshot s{SnapshotMeta{index, *t, std::move(conf_state)}, std::move(data)};
  leveldb::WriteBatch batch;
  batch.Put(prefix_ + "s", encode_snapshot(s));
  if (Status w = write(batch, true); !w) return w;
  snapshot_meta_ = s.meta;
  return {};
}

Status LevelDbStorage::compact(Index index) {
  if (index <= snapshot_offset_) return {};
  if (index > snapshot_meta_.index) return make_error(kErrUnavailable, "cannot compact past the snapshot");
  auto t = term(index);
  if (!t) return t.error();
  leveldb::WriteBatch batch;
  for (Index i = snapshot_offset_ + 1; i <= index; ++i) batch.Delete(entry_key(i));
  std::string o;
  o.push_back(static_cast<char>(kVersion));
  put_u64(o, index);
  put_u64(o, *t);
  batch.Put(prefix_ + "o", o);
  // Not synced: if the deletes are lost in a crash the entries are still valid and simply compacted again.
  if (Status w = write(batch, false); !w) return w;
  terms_.erase(terms_.begin(), terms_.begin() + static_cast<std::ptrdiff_t>(index - snapshot_offset_));
  snapshot_offset_ = index;
  return {};
}

}  // namespace onebill::consensus
