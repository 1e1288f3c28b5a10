// Raft: what every role shares — terms, votes, timers, campaigns and role changes (§5.1, §5.2, §5.4.1).
#include "consensus/raft.h"

#include <string>
#include <utility>

#include "consensus/errors.h"

namespace onebill::consensus {

const char* to_string(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "unknown";
}

namespace detail {

Raft::Raft(const Config& config, const LogStorage& storage)
    : id_(config.id),
      election_timeout_(config.election_tick),
      heartbeat_timeout_(config.heartbeat_tick),
      pre_vote_(config.pre_vote),
      check_quorum_(config.check_quorum),
      check_invariants_(config.check_invariants),
      max_size_per_msg_(config.max_size_per_msg),
      snapshot_chunk_bytes_(config.snapshot_chunk_bytes),
      on_fatal_(config.on_fatal),
      random_(config.random),
      default_random_(config.random_seed != 0 ? config.random_seed : config.id),
      log_(storage, on_fatal_, config.applied),
      tracker_(config.max_inflight_msgs, config.max_inflight_bytes) {
  HardState hs = storage.hard_state();
  load_configuration(storage);
  become_follower(hs.term, kNoNode);
  vote_ = hs.vote;
  checked_term_ = term_;
  checked_vote_ = vote_;
  checked_commit_ = log_.committed();
}

void Raft::fail(const std::string& what) const { fatal(on_fatal_, "raft_invariant", "node " + std::to_string(id_) + ": " + what); }

void Raft::send(Message m) {
  m.from = id_;
  // Responses to pre-votes carry the term they answer (set by the caller); everything else carries our term.
  if (m.type != MessageType::kPreVote && m.type != MessageType::kPreVoteResponse) m.term = term_;
  msgs_.push_back(std::move(m));
}

void Raft::reset_randomized_election_timeout() {
  std::uint64_t r = random_ ? random_() : default_random_.next();
  randomized_election_timeout_ = election_timeout_ + static_cast<int>(r % static_cast<std::uint64_t>(election_timeout_));
}

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
    vouched_ = kNoNode;
    backed_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  abort_leader_transfer();
  tracker_.reset_votes();
  tracker_.reset_all(log_.last_index() + 1);
  term_start_index_ = 0;
  proposals_pending_ = false;
}

void Raft::become_follower(Term term, NodeId lead) {
  if (term != term_) incoming_snapshot_.reset();
  reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::become_pre_candidate() {
  if (role_ == Role::kLeader) fail("a leader cannot become a pre-candidate");
  // Neither the term nor the vote changes (thesis §9.6): only the role and the tally.
  tracker_.reset_votes();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Raft::become_candidate() {
  if (role_ == Role::kLeader) fail("a leader cannot become a candidate");
  reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::become_leader() {
  if (role_ == Role::kFollower) fail("a follower cannot become leader without an election");
  reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  if (Progress* self = tracker_.get(id_)) {
    self->become_replicate();
    self->match = log_.last_index();
    self->next = self->match + 1;
    self->recent_active = true;
  }
  // §5.4.2 and §8: a leader cannot count replicas of earlier terms' entries, so it commits an empty entry of its
  // own term; that also commits everything before it.
  term_start_index_ = leader_append({Entry{}});
  bcast_append();
}

Status Raft::campaign() {
  if (role_ == Role::kLeader) return Status::success();
  if (!promotable()) return make_error(kErrNotVoter, "node " + std::to_string(id_) + " is not a voter");
  start_campaign(pre_vote_ ? CampaignType::kPreElection : CampaignType::kElection);
  return Status::success();
}

void Raft::start_campaign(CampaignType type) {
  if (!promotable()) return;
  Term vote_term = 0;
  MessageType vote_type = MessageType::kVote;
  if (type == CampaignType::kPreElection) {
    become_pre_candidate();
    vote_type = MessageType::kPreVote;
    vote_term = term_ + 1;  // the term it would stand in; ours does not change yet
  } else {
    become_candidate();
    vote_term = term_;
  }
  tracker_.record_vote(id_, true);
  if (tracker_.tally_votes() == VoteResult::kWon) {  // a single voter wins at once
    if (type == CampaignType::kPreElection) {
      start_campaign(CampaignType::kElection);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId voter : conf().voters) {
    if (voter == id_) continue;
    Message m;
    m.type = vote_type;
    m.to = voter;
    m.term = vote_term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    if (type == CampaignType::kTransfer) m.context = kCampaignTransfer;
    send(std::move(m));
  }
}

void Raft::step(const Message& m) {
  if (m.from == id_) return;
  if (m.term < term_) {
    // Stale (§5.1): nothing of it is taken, from anyone; only answered.
    if (m.type == MessageType::kHeartbeat || m.type == MessageType::kAppend) {
      // A leader from an older term, perhaps cut off by a partition: tell it our term so it steps down (Figure 2:
      // "reply false if term < currentTerm"). Our term may never reach it through a vote request: with
      // check-quorum or pre-vote it may ignore those, and it never takes a term from a node it does not count as a
      // voter — which we may be without knowing it (raft_admission.cpp, campaign_past).
      Message resp;
      resp.type = MessageType::kAppendResponse;
      resp.to = m.from;
      send(std::move(resp));
    } else if (m.type == MessageType::kPreVote || m.type == MessageType::kVote) {
      // Tell the asker our term, so that it stops campaigning in a term that is over, and whom we back.
      refuse_vote(m);
    }
    return;
  }
  if (!admits(m)) {
    if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
      // No, with our term and whom we back, and nothing changed here: the asker may be a voter that does not yet
      // know the node we back as a voter (raft_admission.cpp).
      refuse_vote(m);
    } else if (role_ == Role::kLeader && m.term > term_ && is_response(m.type) && conf().is_learner(m.from)) {
      // A learner that answers from a later term (it was a voter, or believed it still was, and campaigned
      // alone) refuses our appends as stale until we lead in a later term.
      campaign_past(m.term);
    }
    return;
  }
  if (m.term > term_) {
    if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
      bool force = m.context == kCampaignTransfer;
      // Leases (thesis §4.2.3, §6.2): while we heard from a leader within the minimum election timeout we do not
      // believe it is gone, so we neither raise our term nor vote. This keeps removed or partitioned nodes from
      // disrupting a working cluster. A transfer's campaign was asked for by the leader itself.
      bool in_lease = check_quorum_ && lead_ != kNoNode && election_elapsed_ < election_timeout_;
      if (!force && in_lease) {
        // A pre-candidate is told no, and whom we back: it may be a voter that does not know our leader as a voter
        // yet (raft_admission.cpp). Its pre-vote changed nothing here, so the answer costs nothing.
        if (m.type == MessageType::kPreVote) refuse_vote(m);
        return;
      }
    }
    if (m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResponse && !m.reject)) {
      // A pre-vote never changes terms: the asker's term is only prospective, and a granted answer carries the
      // term we asked about (still ours + 1).
    } else if (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnapshot) {
      become_follower(m.term, m.from);
    } else {
      int elapsed = election_elapsed_;
      become_follower(m.term, kNoNode);
      // Figure 2: the election timer restarts on hearing from the leader or on granting a vote — not on merely
      // seeing a higher term. Otherwise a voter with a stale log that keeps campaigning would keep resetting the
      // timers of the very nodes that could win (handle_vote_request resets it when it grants the vote).
      if (m.type == MessageType::kVote) election_elapsed_ = elapsed;
    }
  }
  note_vouched_voter(m);

  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    handle_vote_request(m);
    return;
  }
  switch (role_) {
    case Role::kFollower: step_follower(m); break;
    case Role::kPreCandidate:
    case Role::kCandidate: step_candidate(m); break;
    case Role::kLeader: step_leader(m); break;
  }
}

void Raft::handle_vote_request(const Message& m) {
  // §5.2: at most one vote per term, first come first served; a pre-vote for a future term binds nothing.
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                  (m.type == MessageType::kPreVote && m.term > term_);
  // §5.4.1: only for a candidate whose log is at least as up to date as ours.
  if (!can_vote || !log_.is_up_to_date(m.index, m.log_term)) {
    refuse_vote(m);
    return;
  }
  Message resp;
  resp.type = m.type == MessageType::kVote ? MessageType::kVoteResponse : MessageType::kPreVoteResponse;
  resp.to = m.from;
  resp.term = m.term;
  if (m.type == MessageType::kVote) {
    election_elapsed_ = 0;
    vote_ = m.from;
  }
  backed_ = m.from;
  send(std::move(resp));
}

void Raft::refuse_vote(const Message& m) {
  Message resp;
  resp.type = m.type == MessageType::kVote ? MessageType::kVoteResponse : MessageType::kPreVoteResponse;
  resp.to = m.from;
  resp.term = term_;
  resp.reject = true;
  // Whom we back: our leader, else the candidate we last granted. Only a voter vouches: a learner or a removed node
  // admits anyone, so whom it follows proves nothing.
  if (promotable()) resp.reject_hint = lead_ != kNoNode ? lead_ : backed_;
  send(std::move(resp));
}

void Raft::tick() {
  if (role_ == Role::kLeader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Raft::tick_election() {
  ++election_elapsed_;
  if (promotable() && past_election_timeout()) {
    election_elapsed_ = 0;
    start_campaign(pre_vote_ ? CampaignType::kPreElection : CampaignType::kElection);
  }
}

void Raft::check_invariants() {
  if (!check_invariants_) return;
  if (term_ < checked_term_) fail("term went back from " + std::to_string(checked_term_) + " to " + std::to_string(term_));
  if (term_ == checked_term_ && checked_vote_ != kNoNode && vote_ != checked_vote_) {
    fail("voted twice in term " + std::to_string(term_) + ": for " + std::to_string(checked_vote_) + " and " +
         std::to_string(vote_));
  }
  if (log_.committed() > log_.last_index()) {
    fail("commit " + std::to_string(log_.committed()) + " past the last index " + std::to_string(log_.last_index()));
  }
  if (log_.committed() < checked_commit_) {
    fail("commit went back from " + std::to_string(checked_commit_) + " to " + std::to_string(log_.committed()));
  }
  if (role_ == Role::kLeader && lead_ != id_) fail("leader does not know it leads");
  checked_term_ = term_;
  checked_vote_ = vote_;
  checked_commit_ = log_.committed();
}

}  // namespace detail
}  // namespace onebill::consensus
