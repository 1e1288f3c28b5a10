// Raft, leader's sending side: appends with flow control (pipelining within an in-flight window), heartbeats,
// InstallSnapshot in chunks (§7) and TimeoutNow.
#include <algorithm>
#include <memory>
#include <utility>

#include "consensus/raft.h"

namespace onebill::consensus::detail {

void Raft::bcast_append() {
  if (role_ != Role::kLeader) return;  // after_commit can step down on the way here
  for (auto& [id, pr] : tracker_.progress()) {
    if (id != id_) send_append(id, true);
  }
}

void Raft::send_append(NodeId to, bool send_if_empty) {
  if (!maybe_send_append(to, send_if_empty)) return;
  const Progress* pr = tracker_.get(to);
  while (pr != nullptr && pr->state == ProgressState::kReplicate && maybe_send_append(to, false)) {
  }
}

bool Raft::maybe_send_append(NodeId to, bool send_if_empty) {
  Progress* pr = tracker_.get(to);
  if (pr == nullptr || pr->is_paused()) return false;
  pr->next = std::min(pr->next, log_.last_index() + 1);
  Index prev = pr->next - 1;
  std::optional<Term> prev_term = log_.term(prev);
  std::optional<std::vector<Entry>> entries = log_.entries_from(pr->next, max_size_per_msg_);
  if (!prev_term || !entries) {
    // What it needs next is compacted away.
    start_snapshot(to, *pr);
    return true;
  }
  if (entries->empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  if (!entries->empty()) {
    std::uint64_t bytes = 0;
    for (const Entry& e : *entries) bytes += entry_size(e);
    pr->sent_entries(entries->back().index, bytes);
  } else if (pr->state == ProgressState::kProbe) {
    pr->probe_sent = true;
  }
  m.entries = std::move(*entries);
  send(std::move(m));
  return true;
}

void Raft::bcast_heartbeat() {
  for (auto& [id, pr] : tracker_.progress()) {
    if (id == id_) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    // Never more than the follower is known to hold: its log past `match` may still differ from ours.
    m.commit = std::min(pr.match, log_.committed());
    send(std::move(m));
    if (pr.state == ProgressState::kSnapshot) {
      // Chunks travel one at a time; if none was acknowledged since the last heartbeat, assume it was lost. And if a
      // newer snapshot was taken meanwhile, send that one from its start instead: the follower may be unable to use
      // the older one (a node serves the content of its latest snapshots only, and none from before a restart), and
      // would otherwise be offered it again forever.
      if (!pr.snapshot_progressed) {
        if (log_.snapshot_index() > pr.snapshot->meta.index) {
          start_snapshot(id, pr);
        } else {
          send_snapshot_chunk(id, pr);
        }
      }
      pr.snapshot_progressed = false;
    }
  }
}

void Raft::start_snapshot(NodeId to, Progress& pr) {
  auto snap = std::make_shared<const Snapshot>(log_.snapshot());
  if (snap->meta.index == 0 || snap->meta.index + 1 < log_.first_index()) {
    fail("entries for node " + std::to_string(to) + " are compacted but no snapshot covers them");
  }
  pr.become_snapshot(std::move(snap));
  send_snapshot_chunk(to, pr);
}

void Raft::send_snapshot_chunk(NodeId to, const Progress& pr) {
  const Snapshot& snap = *pr.snapshot;
  std::uint64_t offset = std::min<std::uint64_t>(pr.snapshot_acked, snap.data.size());
  std::uint64_t length = std::min<std::uint64_t>(snapshot_chunk_bytes_, snap.data.size() - offset);
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot = snap.meta;
  m.snapshot_offset = offset;
  auto begin = snap.data.begin() + static_cast<std::ptrdiff_t>(offset);
  m.snapshot_data.assign(begin, begin + static_cast<std::ptrdiff_t>(length));
  m.snapshot_done = offset + length == snap.data.size();
  send(std::move(m));
}

void Raft::send_timeout_now(NodeId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  send(std::move(m));
}

}  // namespace onebill::consensus::detail
