// Raft, follower role: AppendEntries (§5.3), heartbeats, InstallSnapshot in chunks (§7), TimeoutNow.
#include <algorithm>
#include <utility>

#include "consensus/raft.h"

namespace onebill::consensus::detail {

void Raft::step_follower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_append(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_heartbeat(m);
      break;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_snapshot(m);
      break;
    case MessageType::kTimeoutNow:
      // The leader hands over (thesis §3.10): campaign at once, skipping pre-vote and the leases of others.
      // Learners and removed nodes cannot lead.
      if (promotable()) start_campaign(CampaignType::kTransfer);
      break;
    default:
      break;  // responses meant for a leader or candidate we no longer are
  }
}

void Raft::handle_append(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit index is already known to match (Log Matching, §5.3); say where we are.
    resp.index = log_.committed();
    send(std::move(resp));
    return;
  }
  if (auto appended = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    // Configurations in the entries written take effect now; those of entries they replaced are forgotten.
    if (appended->first_written != 0) on_entries_appended(appended->first_written, m.entries);
    resp.index = appended->last_new;
    send(std::move(resp));
    return;
  }
  // §5.3 consistency check failed. Fast back-off: rather than the leader retrying one index at a time, tell it
  // the last index that could possibly match — the largest index <= min(m.index, our last) whose term is <= the
  // term the leader has at m.index — and our term there. The leader then skips every entry of a conflicting term.
  Index hint = std::min(m.index, log_.last_index());
  auto [hint_index, hint_term] = log_.find_conflict_by_term(hint, m.log_term);
  resp.index = m.index;
  resp.reject = true;
  resp.reject_hint = hint_index;
  resp.log_term = hint_term;
  send(std::move(resp));
}

void Raft::handle_heartbeat(const Message& m) {
  // The leader sends min(our match, its commit), so this never passes what we hold of its log.
  log_.commit_to(m.commit);
  Message resp;
  resp.type = MessageType::kHeartbeatResponse;
  resp.to = m.from;
  send(std::move(resp));
}

void Raft::handle_snapshot(const Message& m) {
  Message resp;
  resp.to = m.from;
  if (m.snapshot.index <= log_.committed()) {
    // We already have everything it covers: tell the leader where we are instead.
    incoming_snapshot_.reset();
    resp.type = MessageType::kAppendResponse;
    resp.index = log_.committed();
    send(std::move(resp));
    return;
  }
  if (!incoming_snapshot_ || incoming_snapshot_->meta != m.snapshot) {
    incoming_snapshot_.reset();
    if (m.snapshot_offset == 0) incoming_snapshot_ = Snapshot{m.snapshot, {}};
  }
  std::uint64_t have = incoming_snapshot_ ? incoming_snapshot_->data.size() : 0;
  if (incoming_snapshot_ && m.snapshot_offset == have) {
    Bytes& data = incoming_snapshot_->data;
    data.insert(data.end(), m.snapshot_data.begin(), m.snapshot_data.end());
    if (m.snapshot_done) {
      Snapshot snap = std::move(*incoming_snapshot_);
      incoming_snapshot_.reset();
      resp.type = MessageType::kAppendResponse;
      resp.index = restore(std::move(snap)) ? log_.last_index() : log_.committed();
      send(std::move(resp));
      return;
    }
    have = data.size();
  }
  // A chunk out of order (lost, duplicated or from before a restart): say how much we hold; the leader resumes there.
  resp.type = MessageType::kSnapshotResponse;
  resp.index = m.snapshot.index;
  resp.snapshot_offset = have;
  send(std::move(resp));
}

bool Raft::restore(Snapshot snapshot) {
  if (snapshot.meta.index <= log_.committed()) return false;
  if (log_.match_term(snapshot.meta.index, snapshot.meta.term)) {
    // Our log already has the snapshot's last entry, so by Log Matching everything before it too: just commit.
    log_.commit_to(snapshot.meta.index);
    return false;
  }
  conf_base_ = snapshot.meta.conf_state;
  conf_base_index_ = snapshot.meta.index;
  conf_history_.clear();
  log_.restore(std::move(snapshot));
  set_configuration(conf_base_);
  return true;
}

}  // namespace onebill::consensus::detail
