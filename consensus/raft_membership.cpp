// Raft, membership: the configuration in effect is the latest one in the log, committed or not (thesis §4.1).
// Appending a configuration entry switches to it; truncating the entry away switches back.
#include <iterator>
#include <string>

#include "consensus/raft.h"

namespace onebill::consensus::detail {

void Raft::load_configuration(const LogStorage& storage) {
  SnapshotMeta meta = storage.snapshot_meta();
  conf_base_ = meta.conf_state;
  conf_base_index_ = meta.index;
  conf_history_.clear();
  // Configurations of entries after the snapshot: scan the stored log once at start.
  Index last = storage.last_index();
  for (Index lo = meta.index + 1; lo <= last;) {
    Result<std::vector<Entry>> batch = storage.entries(lo, last + 1, 4u << 20);
    if (!batch || batch->empty()) {
      fatal(on_fatal_, batch ? "raft_invariant" : batch.error().code.c_str(),
            "reading the log at start from " + std::to_string(lo) + (batch ? "" : ": " + batch.error().message));
    }
    on_entries_appended(lo, *batch);
    lo = batch->back().index + 1;
  }
  tracker_.set_conf(latest_configuration(), log_.last_index() + 1);
}

const ConfState& Raft::latest_configuration() const {
  return conf_history_.empty() ? conf_base_ : conf_history_.rbegin()->second;
}

void Raft::on_entries_appended(Index from, const std::vector<Entry>& entries) {
  bool changed = false;
  if (!conf_history_.empty() && conf_history_.rbegin()->first >= from) {
    conf_history_.erase(conf_history_.lower_bound(from), conf_history_.end());
    changed = true;
  }
  for (const Entry& e : entries) {
    if (e.index < from || e.type != EntryType::kConfChange) continue;
    Result<ConfChange> cc = decode_conf_change(e.data);
    // An undecodable change (only a faulty leader could write one) changes nothing, on every node alike.
    ConfState next = cc ? apply_conf_change(latest_configuration(), *cc) : latest_configuration();
    conf_history_.emplace(e.index, std::move(next));
    changed = true;
  }
  if (changed) set_configuration(latest_configuration());
}

void Raft::set_configuration(const ConfState& conf) {
  if (conf == tracker_.conf()) return;
  tracker_.set_conf(conf, log_.last_index());
  if (lead_transferee_ != kNoNode && !conf.is_voter(lead_transferee_)) abort_leader_transfer();
  if (role_ != Role::kLeader) return;
  if (Progress* self = tracker_.get(id_)) {
    self->match = log_.last_index();
    self->next = self->match + 1;
  }
  // A smaller majority may already hold more (a voter removed), and a new member needs the log.
  if (maybe_commit()) bcast_append();  // (no-op if the commit made us step down)
}

const ConfState& Raft::configuration_at(Index index) const {
  auto it = conf_history_.upper_bound(index);
  if (it == conf_history_.begin()) return conf_base_;
  return std::prev(it)->second;
}

std::optional<ConfState> Raft::conf_state_at(Index index) const {
  if (index < conf_base_index_) return std::nullopt;
  return configuration_at(index);
}

}  // namespace onebill::consensus::detail
