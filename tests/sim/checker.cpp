#include "tests/sim/checker.h"

#include <optional>

#include "tests/sim/sim_rng.h"

namespace onebill::sim {
namespace {

std::string at(NodeId id) { return "node " + std::to_string(id); }

// The term of `i` in `log`, or nothing if compacted.
std::optional<Term> term_of(const MemoryStorage& log, Index i) {
  auto t = log.term(i);
  if (!t) return std::nullopt;
  return *t;
}

}  // namespace

std::uint64_t entry_fingerprint(const Entry& e) {
  std::uint64_t h = mix(0x5eed, static_cast<std::uint64_t>(e.type));
  h = mix(h, e.data.size());
  for (std::uint8_t b : e.data) h = mix(h, b);
  return h;
}

void Checker::on_entries_written(NodeId id, const std::vector<Entry>& entries, const MemoryStorage& log) {
  for (const Entry& e : entries) {
    if (e.index < log.first_index()) continue;
    std::optional<Term> prev = term_of(log, e.index - 1);
    if (!prev) continue;  // the entry before was compacted away concurrently; nothing to compare
    std::uint64_t fp = entry_fingerprint(e);
    auto [it, inserted] = written_.emplace(std::make_pair(e.index, e.term), Written{fp, *prev, id});
    if (inserted) continue;
    if (it->second.fingerprint != fp) {
      fail("log matching: " + at(id) + " wrote entry " + std::to_string(e.index) + " of term " + std::to_string(e.term) +
           " with different contents than " + at(it->second.first_writer));
    }
    if (it->second.prev_term != *prev) {
      fail("log matching: " + at(id) + " has entry " + std::to_string(e.index) + " of term " + std::to_string(e.term) +
           " after an entry of term " + std::to_string(*prev) + ", " + at(it->second.first_writer) + " after term " +
           std::to_string(it->second.prev_term));
    }
  }
}

void Checker::on_commit(NodeId id, Index before, Index after, const MemoryStorage& log) {
  if (after < before) {
    fail("commit went back on " + at(id) + " from " + std::to_string(before) + " to " + std::to_string(after));
  }
  if (after > log.last_index()) {
    fail("commit " + std::to_string(after) + " past the persisted log (last " + std::to_string(log.last_index()) +
         ") on " + at(id));
  }
  Index from = std::max(before + 1, log.first_index());
  if (after < from) return;
  auto entries = log.entries(from, after + 1, UINT64_MAX);
  if (!entries) fail("cannot read committed entries on " + at(id));
  for (const Entry& e : *entries) {
    auto value = std::make_pair(e.term, entry_fingerprint(e));
    auto [it, inserted] = committed_.emplace(e.index, value);
    if (!inserted && it->second != value) {
      fail("committed entry changed: " + at(id) + " committed term " + std::to_string(e.term) + " at index " +
           std::to_string(e.index) + ", another node term " + std::to_string(it->second.first));
    }
  }
}

void Checker::on_leader(NodeId id, Term term, const MemoryStorage& log) {
  auto [it, inserted] = leader_of_term_.emplace(term, id);
  if (!inserted && it->second != id) {
    fail("election safety: " + at(id) + " and " + at(it->second) + " both lead term " + std::to_string(term));
  }
  if (!inserted) return;
  // Leader Completeness: every entry known committed is in the new leader's log.
  for (auto c = committed_.lower_bound(log.first_index()); c != committed_.end(); ++c) {
    Index i = c->first;
    if (i > log.last_index()) {
      fail("leader completeness: " + at(id) + " leads term " + std::to_string(term) + " without committed entry " +
           std::to_string(i) + " (its log ends at " + std::to_string(log.last_index()) + ")");
    }
    auto e = log.entries(i, i + 1, UINT64_MAX);
    if (!e || e->empty()) fail("cannot read the log of " + at(id));
    if (e->front().term != c->second.first || entry_fingerprint(e->front()) != c->second.second) {
      fail("leader completeness: " + at(id) + " leads term " + std::to_string(term) + " with entry " +
           std::to_string(i) + " of term " + std::to_string(e->front().term) + " where term " +
           std::to_string(c->second.first) + " was committed");
    }
  }
}

void Checker::on_hard_state_synced(NodeId id, const HardState& hs) {
  if (hs.vote == consensus::kNoNode) return;
  auto [it, inserted] = votes_.emplace(std::make_pair(id, hs.term), hs.vote);
  if (!inserted && it->second != hs.vote) {
    fail("double vote: " + at(id) + " voted for " + std::to_string(it->second) + " and " + std::to_string(hs.vote) +
         " in term " + std::to_string(hs.term));
  }
}

void Checker::record_applied(NodeId id, Index index, std::uint64_t hash) {
  auto [it, inserted] = applied_hash_.emplace(index, hash);
  if (!inserted && it->second != hash) {
    fail("state machine safety: " + at(id) + " applied a different history up to index " + std::to_string(index));
  }
}

void Checker::on_apply(NodeId id, AppState& app, const Entry& e, Index commit) {
  if (e.index != app.applied + 1) {
    fail(at(id) + " applies entry " + std::to_string(e.index) + " after " + std::to_string(app.applied));
  }
  if (e.index > commit) {
    fail(at(id) + " applies entry " + std::to_string(e.index) + " beyond its commit " + std::to_string(commit));
  }
  auto c = committed_.find(e.index);
  if (c != committed_.end() && (c->second.first != e.term || c->second.second != entry_fingerprint(e))) {
    fail(at(id) + " applies entry " + std::to_string(e.index) + " that differs from the committed one");
  }
  if (e.type == consensus::EntryType::kConfChange) {
    if (auto cc = consensus::decode_conf_change(e.data)) conf_changes_.emplace(e.index, *cc);
  }
  app.hash = mix(mix(mix(app.hash, e.index), e.term), entry_fingerprint(e));
  app.applied = e.index;
  record_applied(id, e.index, app.hash);
}

bool Checker::removed(NodeId id) const {
  for (auto it = conf_changes_.rbegin(); it != conf_changes_.rend(); ++it) {
    if (it->second.node == id) return it->second.type == consensus::ConfChangeType::kRemoveVoter;
  }
  return false;
}

void Checker::on_restore(NodeId id, const AppState& before, const AppState& restored) {
  if (restored.applied <= before.applied) {
    fail(at(id) + " restores a snapshot at " + std::to_string(restored.applied) + " over applied " +
         std::to_string(before.applied));
  }
  record_applied(id, restored.applied, restored.hash);
}

}  // namespace onebill::sim
