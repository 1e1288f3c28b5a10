#include "consensus/raft_log.h"

#include <algorithm>
#include <string>

#include "consensus/errors.h"

namespace onebill::consensus::detail {

RaftLog::RaftLog(const LogStorage& storage, const FatalHandler& on_fatal, Index applied)
    : storage_(storage), on_fatal_(on_fatal), unstable_(storage.last_index() + 1), applied_(applied) {
  // The snapshot's index is committed by definition, even if the hard state written with it was lost; the
  // application may have persisted its applied index past the stored commit, and it only applies committed
  // entries. RawNode::create checks snapshot index <= applied <= last index.
  committed_ = std::max({storage.hard_state().commit, storage.snapshot_meta().index, applied});
  if (committed_ > last_index()) {
    fatal(on_fatal_, "raft_invariant", "stored commit " + std::to_string(committed_) + " is past the last index " +
                                           std::to_string(last_index()));
  }
}

Index RaftLog::first_index() const {
  if (auto i = unstable_.maybe_first_index()) return *i;
  return storage_.first_index();
}

Index RaftLog::last_index() const {
  if (auto i = unstable_.maybe_last_index()) return *i;
  return storage_.last_index();
}

Term RaftLog::storage_term(Index i, bool* ok) const {
  Result<Term> t = storage_.term(i);
  if (t) {
    *ok = true;
    return *t;
  }
  *ok = false;
  if (t.error().code != kErrCompacted && t.error().code != kErrUnavailable) {
    fatal(on_fatal_, t.error().code.c_str(), "storage term(" + std::to_string(i) + "): " + t.error().message);
  }
  return 0;
}

std::optional<Term> RaftLog::term(Index i) const {
  if (i > last_index()) return std::nullopt;
  if (auto t = unstable_.maybe_term(i)) return t;
  if (i + 1 < first_index()) return std::nullopt;
  bool ok = false;
  Term t = storage_term(i, &ok);
  if (!ok) return std::nullopt;
  return t;
}

Term RaftLog::last_term() const {
  std::optional<Term> t = term(last_index());
  if (!t) fatal(on_fatal_, "raft_invariant", "no term for the last index " + std::to_string(last_index()));
  return *t;
}

bool RaftLog::match_term(Index i, Term t) const {
  std::optional<Term> have = term(i);
  return have && *have == t;
}

bool RaftLog::is_up_to_date(Index last_index, Term last_term) const {
  Term ours = this->last_term();
  return last_term > ours || (last_term == ours && last_index >= this->last_index());
}

Index RaftLog::find_conflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

std::optional<RaftLog::AppendResult> RaftLog::maybe_append(Index index, Term log_term, Index commit,
                                                           const std::vector<Entry>& entries) {
  if (!match_term(index, log_term)) return std::nullopt;
  AppendResult result;
  result.last_new = index + entries.size();
  Index conflict = find_conflict(entries);
  if (conflict != 0) {
    if (conflict <= committed_) {
      fatal(on_fatal_, "raft_invariant", "entry " + std::to_string(conflict) +
                                             " conflicts with a committed entry (commit " + std::to_string(committed_) + ")");
    }
    append(std::vector<Entry>(entries.begin() + static_cast<std::ptrdiff_t>(conflict - (index + 1)), entries.end()));
    result.first_written = conflict;
  }
  commit_to(std::min(commit, result.last_new));
  return result;
}

Index RaftLog::append(std::vector<Entry> entries) {
  if (entries.empty()) return last_index();
  Index after = entries.front().index - 1;
  if (after < committed_) {
    fatal(on_fatal_, "raft_invariant", "append after " + std::to_string(after) + " would overwrite committed " +
                                           std::to_string(committed_));
  }
  unstable_.truncate_and_append(std::move(entries));
  return last_index();
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term term) const {
  for (;;) {
    std::optional<Term> t = this->term(index);
    if (!t) return {index, 0};  // compacted or past the end: the caller falls back to `index`
    if (*t <= term) return {index, *t};
    if (index == 0) return {0, 0};
    --index;
  }
}

std::optional<std::vector<Entry>> RaftLog::slice(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (lo >= hi) return std::vector<Entry>{};
  if (lo < first_index() || hi > last_index() + 1) return std::nullopt;
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  Index offset = unstable_.offset();
  if (lo < offset) {
    Result<std::vector<Entry>> stored = storage_.entries(lo, std::min(hi, offset), max_bytes);
    if (!stored) {
      if (stored.error().code == kErrCompacted) return std::nullopt;
      fatal(on_fatal_, stored.error().code.c_str(), "storage entries(" + std::to_string(lo) + "): " +
                                                        stored.error().message);
    }
    out = std::move(*stored);
    for (const Entry& e : out) bytes += entry_size(e);
    if (out.size() < std::min(hi, offset) - lo) return out;  // stopped at max_bytes
  }
  if (hi > offset) {
    std::vector<Entry> pending = unstable_.slice(std::max(lo, offset), hi, max_bytes, bytes);
    for (Entry& e : pending) out.push_back(std::move(e));
  }
  return out;
}

void RaftLog::commit_to(Index commit) {
  if (commit <= committed_) return;
  if (commit > last_index()) {
    fatal(on_fatal_, "raft_invariant", "commit " + std::to_string(commit) + " is past the last index " +
                                           std::to_string(last_index()));
  }
  committed_ = commit;
}

void RaftLog::applied_to(Index applied) {
  if (applied == 0) return;
  if (applied > committed_ || applied < applied_) {
    fatal(on_fatal_, "raft_invariant", "applied " + std::to_string(applied) + " outside [" +
                                           std::to_string(applied_) + ", " + std::to_string(committed_) + "]");
  }
  applied_ = applied;
}

bool RaftLog::has_next_committed_entries() const { return committed_ > std::max(applied_, first_index() - 1); }

std::vector<Entry> RaftLog::next_committed_entries(std::uint64_t max_bytes) const {
  Index lo = std::max(applied_ + 1, first_index());
  if (committed_ < lo) return {};
  std::optional<std::vector<Entry>> out = slice(lo, committed_ + 1, max_bytes);
  if (!out) fatal(on_fatal_, "raft_invariant", "committed entries from " + std::to_string(lo) + " are compacted");
  return std::move(*out);
}

void RaftLog::restore(Snapshot snapshot) {
  committed_ = snapshot.meta.index;
  unstable_.restore(std::move(snapshot));
}

Snapshot RaftLog::snapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  Result<Snapshot> s = storage_.snapshot();
  if (!s) fatal(on_fatal_, s.error().code.c_str(), "storage snapshot(): " + s.error().message);
  return std::move(*s);
}

Index RaftLog::snapshot_index() const {
  if (unstable_.snapshot()) return unstable_.snapshot()->meta.index;
  return storage_.snapshot_meta().index;
}

}  // namespace onebill::consensus::detail
