// Raft, admission: which peers a voter lets lead it, ask for its vote or raise its term.
//
// Plain Raft believes whoever speaks: a message of a higher term makes the receiver adopt that term (a leader steps
// down), and an append, heartbeat or snapshot makes its sender the receiver's leader. So a learner, or a node that
// is no member at all, could depose a working leader with one heartbeat of a higher term and then feed entries of
// its choosing (docs/security.md §4.6; the transport already guarantees that `from` is the real sender). Only a
// voter can be elected, so only a voter can legitimately lead or ask for votes. A voter therefore drops, from a node
// that is not a voter:
//   - leader traffic (append, heartbeat, snapshot, timeout-now), whatever its term;
//   - vote and pre-vote requests: a non-voter's election can never be won, and must not raise our term;
//   - any other message of a higher term: its only effect would be to raise our term, which for a leader means
//     stepping down. A learner's answers in our term (acknowledging appends) still count.
//
// "Voter" is what this node knows now (knows_voter): the voters of the configuration in effect, i.e. the latest in
// its log (thesis §4.1), and those of the configuration at its commit index. The second matters while a
// configuration entry is uncommitted: a leader that removes itself leads until the removal commits (thesis §4.2.2),
// and an uncommitted entry that removed the legitimate leader, left by an earlier leader, must still be truncated
// by it. Neither is a learner's doing: a learner becomes a voter only through an entry in our log. Changes are
// single-server (conf_change.h), so there is no joint configuration; were one added, the voters of both halves
// would count here.
//
// A legitimate leader or candidate can be a voter that the receiver does not know as one. Each case, and its remedy:
//   - The receiver already follows it in this term (or voted for it) and then appends entries in which it is not
//     a voter (catching up through a configuration that removed it and a later one that added it back): the
//     leader it accepted, or the candidate it voted for, in this term stays admitted for the rest of the term.
//   - The receiver lags behind the entry that made it a voter (or was removed without learning it and added back
//     since). It cannot tell such a node from a learner claiming to lead or campaign; a voter it knows can. Having
//     no leader, the receiver campaigns, and every refusal of a vote or pre-vote names the node the refuser backs
//     — its leader, else the candidate it last granted (refuse_vote, in `reject_hint`). Voters in a lease, and
//     voters that do not count the asker as one, answer with such a refusal too instead of staying silent; it
//     changes nothing at home. The receiver then counts the named node as a voter until its term changes
//     (vouched_): it follows that leader, or can vote for that candidate, whose election may need its vote. Only
//     the word of a voter it knows counts, and only a voter vouches (a learner admits anyone, so whom it follows
//     proves nothing).
//   - A learner has a term above ours (it was a voter, or believed it still was, and campaigned alone) and refuses
//     the leader's appends as stale, answering with its term (raft.cpp answers stale appends in every mode). The
//     leader re-elects itself past that term at once (campaign_past) instead of stepping down, so the learner can
//     catch up and still cannot depose anyone.
// And a voter whose own removal is not committed yet still campaigns (promotable, thesis §4.2.2): it may hold the
// only copy of entries that must commit, and the voters that could elect another node may not know that node.
//
// The receiver filters only while it is a voter itself. A learner, or a node outside the configuration, takes
// leader traffic from anyone as before: a new member may know only an old configuration and must hear from a
// leader added since. What it is led into cannot depose a leader, since no voter takes a term from it.
#include "consensus/raft.h"

namespace onebill::consensus::detail {
namespace {

// What only a leader sends.
bool is_leader_message(MessageType type) {
  return type == MessageType::kAppend || type == MessageType::kHeartbeat || type == MessageType::kSnapshot ||
         type == MessageType::kTimeoutNow;
}

}  // namespace

bool Raft::knows_voter(NodeId id) const {
  return conf().is_voter(id) || configuration_at(log_.committed()).is_voter(id);
}

bool Raft::admits(const Message& m) const {
  if (!promotable()) return true;
  bool leader_message = is_leader_message(m.type);
  bool leads_or_campaigns = leader_message || m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (!leads_or_campaigns && m.term <= term_) return true;
  // (m.from is never kNoNode: RawNode refuses such messages.)
  if (knows_voter(m.from) || m.from == vouched_) return true;
  // The leader we accepted, or the candidate we voted for, in this term: both were admitted then.
  return leader_message && m.term == term_ && (m.from == lead_ || m.from == vote_);
}

void Raft::note_vouched_voter(const Message& m) {
  if (m.type != MessageType::kVoteResponse && m.type != MessageType::kPreVoteResponse) return;
  if (!m.reject || m.reject_hint == kNoNode || m.term != term_ || !knows_voter(m.from)) return;
  vouched_ = m.reject_hint;
}

}  // namespace onebill::consensus::detail
