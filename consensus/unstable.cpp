#include "consensus/unstable.h"

#include <utility>

namespace onebill::consensus::detail {

std::optional<Index> Unstable::maybe_first_index() const {
  if (snapshot_) return snapshot_->meta.index + 1;
  return std::nullopt;
}

std::optional<Index> Unstable::maybe_last_index() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->meta.index;
  return std::nullopt;
}

std::optional<Term> Unstable::maybe_term(Index i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->meta.index == i) return snapshot_->meta.term;
    return std::nullopt;
  }
  if (entries_.empty() || i > offset_ + entries_.size() - 1) return std::nullopt;
  return entries_[i - offset_].term;
}

void Unstable::stable_to(Index i, Term t) {
  std::optional<Term> term = maybe_term(i);
  // Only entries (not the snapshot's index) can be made stable, and only if the entry is still the one persisted.
  if (!term || *term != t || i < offset_) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i + 1 - offset_));
  offset_ = i + 1;
}

void Unstable::stable_snapshot_to(Index i) {
  if (snapshot_ && snapshot_->meta.index == i) snapshot_.reset();
}

void Unstable::restore(Snapshot snapshot) {
  offset_ = snapshot.meta.index + 1;
  entries_.clear();
  snapshot_ = std::move(snapshot);
}

void Unstable::truncate_and_append(std::vector<Entry> entries) {
  if (entries.empty()) return;
  Index first = entries.front().index;
  if (first <= offset_) {
    // Replaces every pending entry, and possibly persisted ones too: the caller's storage overwrites those when it
    // appends these (LogStorage contract).
    offset_ = first;
    entries_.clear();
  } else {
    entries_.resize(first - offset_);  // keeps the pending entries before `first`
  }
  for (Entry& e : entries) entries_.push_back(std::move(e));
}

std::vector<Entry> Unstable::slice(Index lo, Index hi, std::uint64_t max_bytes, std::uint64_t already_bytes) const {
  std::vector<Entry> out;
  std::uint64_t bytes = already_bytes;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset_];
    bytes += entry_size(e);
    if (bytes > max_bytes && (!out.empty() || already_bytes > 0)) break;
    out.push_back(e);
  }
  return out;
}

}  // namespace onebill::consensus::detail
