// Raft, leader role: proposals, acknowledgements, commitment (§5.3, §5.4.2), check-quorum (thesis §6.2) and
// leadership transfer (thesis §3.10).
#include <limits>
#include <string>
#include <utility>

#include "consensus/errors.h"
#include "consensus/raft.h"

namespace onebill::consensus::detail {

Status Raft::propose(EntryType type, std::vector<Bytes> payloads) {
  if (role_ != Role::kLeader) {
    return make_error(kErrNotLeader, "node " + std::to_string(id_) + " is not the leader; the leader is " +
                                         (lead_ == kNoNode ? std::string("unknown") : std::to_string(lead_)));
  }
  if (lead_transferee_ != kNoNode) {
    return make_error(kErrTransferring, "leadership is moving to node " + std::to_string(lead_transferee_));
  }
  if (payloads.empty()) return Status::success();
  if (type == EntryType::kConfChange) {
    if (payloads.size() != 1) return make_error(kErrInvalidConfChange, "one configuration change at a time");
    Result<ConfChange> cc = decode_conf_change(payloads.front());
    if (!cc) return make_error(kErrInvalidConfChange, cc.error().message);
    // One change at a time (thesis §4.1), and not before this term's first entry is committed: otherwise a change
    // proposed by an earlier leader and not yet known to be committed could combine with this one into two
    // changes at once (the bug Ongaro reported on raft-dev in 2015; thesis errata).
    if (last_conf_index() > log_.committed() || term_start_index_ > log_.committed()) {
      return make_error(kErrConfChangePending, "a configuration change is not committed yet");
    }
    if (Status s = check_conf_change(conf(), *cc); !s) return s;
  }
  std::vector<Entry> entries;
  entries.reserve(payloads.size());
  for (Bytes& data : payloads) entries.push_back(Entry{0, 0, type, std::move(data)});
  leader_append(std::move(entries));
  proposals_pending_ = true;  // batched: the appends go out with the next Ready (flush_proposals)
  return Status::success();
}

void Raft::flush_proposals() {
  if (!proposals_pending_) return;
  proposals_pending_ = false;
  if (role_ == Role::kLeader) bcast_append();
}

Index Raft::leader_append(std::vector<Entry> entries) {
  Index first = log_.last_index() + 1;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    entries[i].term = term_;
    entries[i].index = first + i;
  }
  std::vector<Entry> conf_entries;
  for (const Entry& e : entries) {
    if (e.type == EntryType::kConfChange) conf_entries.push_back(e);
  }
  Index last = log_.append(std::move(entries));
  if (!conf_entries.empty()) on_entries_appended(first, conf_entries);
  if (Progress* self = tracker_.get(id_)) self->maybe_update(last);
  maybe_commit();  // a single voter commits at once
  return last;
}

bool Raft::maybe_commit() {
  Index index = tracker_.quorum_match_index();
  if (index <= log_.committed()) return false;
  // §5.4.2: never commit an entry of an earlier term by counting replicas; it becomes committed when an entry of
  // the current term after it does (Figure 8).
  if (log_.term(index) != term_) return false;
  log_.commit_to(index);
  after_commit();
  return true;
}

void Raft::after_commit() {
  // A leader removed from the configuration leads until the change is committed (thesis §4.2.2), then steps down,
  // first handing over to the most up-to-date voter so the cluster need not wait for an election timeout.
  if (promotable() || log_.committed() < last_conf_index()) return;
  NodeId successor = kNoNode;
  Index best = 0;
  for (NodeId voter : conf().voters) {
    const Progress* pr = tracker_.progress().count(voter) ? &tracker_.progress().at(voter) : nullptr;
    if (pr && pr->match > best) {
      best = pr->match;
      successor = voter;
    }
  }
  if (successor != kNoNode && best == log_.last_index()) send_timeout_now(successor);
  become_follower(term_, kNoNode);
}

void Raft::step_leader(const Message& m) {
  switch (m.type) {
    case MessageType::kAppendResponse: handle_append_response(m); break;
    case MessageType::kHeartbeatResponse: handle_heartbeat_response(m); break;
    case MessageType::kSnapshotResponse: handle_snapshot_response(m); break;
    default: break;  // leftover vote answers; appends in our own term cannot come from anyone else (§5.2)
  }
}

void Raft::handle_append_response(const Message& m) {
  Progress* pr = tracker_.get(m.from);
  if (pr == nullptr) return;
  pr->recent_active = true;
  if (m.reject) {
    // Fast back-off (§5.3): the follower's hint is the last index that could match; if it sent its term there,
    // skip further back past every entry of ours with a larger term.
    Index next_probe = m.reject_hint;
    if (m.log_term > 0) next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term).first;
    if (pr->maybe_decr_to(m.index, next_probe)) {
      if (pr->state == ProgressState::kReplicate) pr->become_probe();
      send_append(m.from, true);
    }
    return;
  }
  bool was_paused = pr->is_paused();
  if (!pr->maybe_update(m.index) && !(pr->match == m.index && pr->state == ProgressState::kProbe)) return;
  switch (pr->state) {
    case ProgressState::kProbe: pr->become_replicate(); break;
    case ProgressState::kSnapshot:
      // The snapshot is installed, or the follower had the entries after all. (If we compacted past the
      // snapshot meanwhile, the next append finds that out and starts a newer snapshot.)
      if (pr->match >= pr->pending_snapshot || pr->match + 1 >= log_.first_index()) {
        pr->become_probe();
        pr->become_replicate();
      }
      break;
    case ProgressState::kReplicate: pr->inflights.free_le(m.index); break;
  }
  if (maybe_commit()) {
    bcast_append();  // tell everyone the new commit index
  } else if (was_paused) {
    maybe_send_append(m.from, true);
  }
  if (role_ != Role::kLeader) return;  // after_commit may have stepped down
  send_append(m.from, false);
  if (m.from == lead_transferee_ && pr->match == log_.last_index()) send_timeout_now(m.from);
}

void Raft::handle_heartbeat_response(const Message& m) {
  Progress* pr = tracker_.get(m.from);
  if (pr == nullptr) return;
  pr->recent_active = true;
  pr->probe_sent = false;
  // If appends were lost the window may be full with nothing coming back: free a slot so the next append (which
  // the follower will reject if it lacks what came before, sending us back to probing) can go out.
  if (pr->state == ProgressState::kReplicate && pr->inflights.full()) pr->inflights.free_first();
  if (pr->match < log_.last_index()) maybe_send_append(m.from, true);
}

void Raft::handle_snapshot_response(const Message& m) {
  Progress* pr = tracker_.get(m.from);
  if (pr == nullptr) return;
  pr->recent_active = true;
  if (pr->state != ProgressState::kSnapshot || m.index != pr->pending_snapshot) return;
  // The follower holds snapshot_offset bytes; continue from there. The same offset twice is a duplicate answer.
  if (m.snapshot_offset == pr->snapshot_acked || m.snapshot_offset > pr->snapshot->data.size()) return;
  pr->snapshot_acked = m.snapshot_offset;
  pr->snapshot_progressed = true;
  send_snapshot_chunk(m.from, *pr);
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_ && !tracker_.quorum_active_and_reset(id_)) {
      // Cannot hear from a majority: perhaps we are on the minority side of a partition and another leader exists.
      become_follower(term_, kNoNode);
      return;
    }
    abort_leader_transfer();  // a transfer that took an election timeout has failed
  }
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    bcast_heartbeat();
  }
}

void Raft::campaign_past(Term term) {
  // A learner is never obeyed (raft_admission.cpp), but one whose term is above ours (it was a voter, or believed
  // it still was, and campaigned alone) refuses our appends as stale until we lead in a later term. So we start
  // one ourselves, at once, as a leadership transfer to ourselves would: our log is the most up to date, the voters
  // re-elect us, and the learner takes our appends. Not before this term's first entry commits, so a learner that
  // keeps doing it costs one election round trip per commit at most and never the leadership; and never to the
  // last term there is (the next campaign could not count past it).
  if (term_start_index_ > log_.committed() || term == std::numeric_limits<Term>::max()) return;
  become_follower(term, kNoNode);
  start_campaign(CampaignType::kTransfer);
}

Status Raft::transfer_leadership(NodeId to) {
  if (role_ != Role::kLeader) return make_error(kErrNotLeader, "only the leader can transfer leadership");
  if (!conf().is_voter(to)) return make_error(kErrUnknownPeer, "node " + std::to_string(to) + " is not a voter");
  if (to == id_ || to == lead_transferee_) return Status::success();
  lead_transferee_ = to;
  election_elapsed_ = 0;  // the transfer must finish within an election timeout
  Progress* pr = tracker_.get(to);
  if (pr->match == log_.last_index()) {
    send_timeout_now(to);
  } else {
    maybe_send_append(to, true);  // bring it up to date first; handle_append_response sends TimeoutNow
  }
  return Status::success();
}

}  // namespace onebill::consensus::detail
