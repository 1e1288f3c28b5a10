#include "consensus/memory_storage.h"

#include <string>
#include <utility>

#include "consensus/errors.h"

namespace onebill::consensus {

MemoryStorage::MemoryStorage(ConfState genesis) {
  snapshot_.meta.conf_state = std::move(genesis);
  entries_.push_back(Entry{});
}

Result<Term> MemoryStorage::term(Index i) const {
  if (i < offset_) return make_error(kErrCompacted, "term of compacted index " + std::to_string(i));
  if (i > last_index()) return make_error(kErrUnavailable, "term of index " + std::to_string(i) + " past the log");
  return entries_[i - offset_].term;
}

Result<std::vector<Entry>> MemoryStorage::entries(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (lo <= offset_) return make_error(kErrCompacted, "entries from compacted index " + std::to_string(lo));
  if (hi > last_index() + 1 || lo > hi) {
    return make_error(kErrUnavailable, "entries up to " + std::to_string(hi) + " past the log");
  }
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset_];
    bytes += entry_size(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Status MemoryStorage::append(const std::vector<Entry>& entries) {
  if (entries.empty()) return Status::success();
  Index first = entries.front().index;
  if (first > last_index() + 1) {
    return make_error(kErrUnavailable, "append at " + std::to_string(first) + " leaves a gap after " +
                                           std::to_string(last_index()));
  }
  std::size_t skip = 0;
  while (skip < entries.size() && entries[skip].index <= offset_) ++skip;  // already compacted
  if (skip == entries.size()) return Status::success();
  entries_.resize(entries[skip].index - offset_);  // truncate any conflicting suffix
  entries_.insert(entries_.end(), entries.begin() + static_cast<std::ptrdiff_t>(skip), entries.end());
  return Status::success();
}

Status MemoryStorage::apply_snapshot(Snapshot snapshot) {
  if (snapshot.meta.index <= snapshot_.meta.index) {
    return make_error(kErrSnapshotOutOfDate, "snapshot at " + std::to_string(snapshot.meta.index) +
                                                 " is not newer than " + std::to_string(snapshot_.meta.index));
  }
  offset_ = snapshot.meta.index;
  entries_.assign(1, Entry{snapshot.meta.term, snapshot.meta.index, EntryType::kNormal, {}});
  snapshot_ = std::move(snapshot);
  return Status::success();
}

Status MemoryStorage::create_snapshot(Index index, ConfState conf_state, Bytes data) {
  if (index <= snapshot_.meta.index) {
    return make_error(kErrSnapshotOutOfDate, "snapshot at " + std::to_string(index) + " is not newer than " +
                                                 std::to_string(snapshot_.meta.index));
  }
  if (index > last_index()) {
    return make_error(kErrUnavailable, "snapshot at " + std::to_string(index) + " past the log");
  }
  Result<Term> t = term(index);
  if (!t) return t.error();
  snapshot_.meta = SnapshotMeta{index, *t, std::move(conf_state)};
  snapshot_.data = std::move(data);
  return Status::success();
}

Status MemoryStorage::compact(Index index) {
  if (index <= offset_) return Status::success();
  if (index > snapshot_.meta.index) {
    return make_error(kErrUnavailable, "compact at " + std::to_string(index) + " passes the snapshot at " +
                                           std::to_string(snapshot_.meta.index));
  }
  std::vector<Entry> kept;
  kept.reserve(entries_.size() - (index - offset_));
  kept.push_back(Entry{entries_[index - offset_].term, index, EntryType::kNormal, {}});
  kept.insert(kept.end(), entries_.begin() + static_cast<std::ptrdiff_t>(index - offset_ + 1), entries_.end());
  entries_ = std::move(kept);
  offset_ = index;
  return Status::success();
}

}  // namespace onebill::consensus
