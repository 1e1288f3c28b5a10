// Raft, pre-candidate and candidate roles: counting votes (§5.2, thesis §9.6).
#include "consensus/raft.h"

namespace onebill::consensus::detail {

void Raft::step_candidate(const Message& m) {
  // A pre-candidate counts pre-vote answers, a candidate vote answers; the other kind is a leftover.
  MessageType answer =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  switch (m.type) {
    case MessageType::kAppend:
      // Someone won this term (§5.2: "if the leader's term is at least as large as the candidate's current term,
      // the candidate recognizes the leader as legitimate").
      become_follower(m.term, m.from);
      handle_append(m);
      return;
    case MessageType::kHeartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return;
    case MessageType::kSnapshot:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      return;
    default:
      break;
  }
  if (m.type != answer) return;
  tracker_.record_vote(m.from, !m.reject);
  switch (tracker_.tally_votes()) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        start_campaign(CampaignType::kElection);
      } else {
        become_leader();
      }
      break;
    case VoteResult::kLost:
      // A refusal from a higher term already made us a follower in Raft::step; this is a majority of refusals in
      // our own term (or, for a pre-candidate, the term we hoped for).
      become_follower(term_, kNoNode);
      break;
    case VoteResult::kPending:
      break;
  }
}

}  // namespace onebill::consensus::detail
