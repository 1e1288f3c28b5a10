// Raft (internal): the protocol state machine. RawNode (raw_node.h) is the public face; this class is not part of
// the API and may change freely.
//
// Layout: raft.cpp has what every role shares (terms, votes, ticks, campaigns, role changes, invariants);
// raft_admission.cpp decides which peers a voter lets lead it, ask for its vote or raise its term;
// raft_follower.cpp, raft_candidate.cpp and raft_leader.cpp each have one role's step function and the handlers
// only that role uses; raft_membership.cpp tracks the configuration as entries are appended or truncated;
// raft_replication.cpp is the leader's sending side (appends, heartbeats, snapshot chunks).
//
// Single-threaded; owns no I/O. Outgoing messages accumulate in messages() until RawNode hands them out.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "consensus/conf_change.h"
#include "consensus/config.h"
#include "consensus/message.h"
#include "consensus/raft_log.h"
#include "consensus/random.h"
#include "consensus/ready.h"
#include "consensus/tracker.h"

namespace onebill::consensus::detail {

enum class CampaignType { kPreElection, kElection, kTransfer };

class Raft {
 public:
  // `config` must be valid (validate()); `storage` must outlive the Raft.
  Raft(const Config& config, const LogStorage& storage);
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // --- inputs ---
  void tick();
  // A message from a peer, already checked to be well formed and addressed to us.
  void step(const Message& m);
  Status campaign();
  Status propose(EntryType type, std::vector<Bytes> payloads);
  Status transfer_leadership(NodeId to);
  // Sends the appends that proposals since the last call made necessary (proposals are batched until then).
  void flush_proposals();

  // --- state ---
  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId lead() const { return lead_; }
  Role role() const { return role_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return SoftState{lead_, role_}; }
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  const ConfState& conf() const { return tracker_.conf(); }
  // The configuration in effect just after the entry at `index` (index >= the configuration base, which is the
  // storage's snapshot index when the node started or its last installed snapshot).
  std::optional<ConfState> conf_state_at(Index index) const;
  std::vector<Message>& messages() { return msgs_; }
  bool proposals_pending() const { return proposals_pending_; }

  // Calls on_fatal if an invariant broke since the previous call (Config::check_invariants).
  void check_invariants();

 private:
  // raft.cpp — shared.
  void reset(Term term);
  void become_follower(Term term, NodeId lead);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void start_campaign(CampaignType type);
  void handle_vote_request(const Message& m);
  // Answers a vote or pre-vote request with no, our term and the node we back (reject_hint; raft_admission.cpp).
  void refuse_vote(const Message& m);
  void tick_election();
  void reset_randomized_election_timeout();
  // Whether we may campaign: we are a voter of the configuration in effect or of the one at our commit index.
  // Thesis §4.2.2: a server not in its own latest configuration must still stand for election until that
  // configuration commits (it may hold the only copy of the entries that must commit); it does not count its own
  // vote then (the tally counts the configuration in effect).
  bool promotable() const { return knows_voter(id_); }
  bool past_election_timeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  void send(Message m);
  [[noreturn]] void fail(const std::string& what) const;

  // raft_admission.cpp — who may lead us, ask for our vote or raise our term.
  bool admits(const Message& m) const;
  // Whether `id` is a voter of the configuration in effect or of the one at our commit index.
  bool knows_voter(NodeId id) const;
  // A voter we know refused our (pre-)vote in our term and named the node it backs: remember it (admits).
  void note_vouched_voter(const Message& m);

  // raft_follower.cpp
  void step_follower(const Message& m);
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  bool restore(Snapshot snapshot);

  // raft_candidate.cpp
  void step_candidate(const Message& m);

  // raft_leader.cpp
  void step_leader(const Message& m);
  void tick_heartbeat();
  void handle_append_response(const Message& m);
  void handle_heartbeat_response(const Message& m);
  void handle_snapshot_response(const Message& m);
  // Appends entries stamped with the current term; returns the last new index.
  Index leader_append(std::vector<Entry> entries);
  // §5.4.2: advances the commit index to what a majority holds, if that entry is of the current term.
  bool maybe_commit();
  void after_commit();
  void abort_leader_transfer() { lead_transferee_ = kNoNode; }
  // A learner answered from a later `term`: campaign past it at once rather than step down (raft_admission.cpp).
  void campaign_past(Term term);

  // raft_replication.cpp
  void bcast_append();
  void bcast_heartbeat();
  // Sends an append (or starts a snapshot) to `to` if its progress allows; `send_if_empty` sends an append without
  // entries too (to carry the commit index or to probe). Returns whether something was sent.
  bool maybe_send_append(NodeId to, bool send_if_empty);
  // Sends as much as the progress allows: one message in probe state, up to the in-flight window in replicate.
  void send_append(NodeId to, bool send_if_empty);
  void start_snapshot(NodeId to, Progress& pr);
  void send_snapshot_chunk(NodeId to, const Progress& pr);
  void send_timeout_now(NodeId to);

  // raft_membership.cpp
  void load_configuration(const LogStorage& storage);
  // Entries from `from` on were just appended to our log (replacing whatever was there): configurations at and
  // after `from` are forgotten and those in `entries` (whose indices are >= from) take effect.
  void on_entries_appended(Index from, const std::vector<Entry>& entries);
  void set_configuration(const ConfState& conf);
  const ConfState& latest_configuration() const;
  // The configuration in effect just after the entry at `index`; conf_base_ for any index up to the base.
  const ConfState& configuration_at(Index index) const;
  Index last_conf_index() const { return conf_history_.empty() ? conf_base_index_ : conf_history_.rbegin()->first; }

  // Configuration (set first: log_ refers to on_fatal_).
  const NodeId id_;
  const int election_timeout_;
  const int heartbeat_timeout_;
  const bool pre_vote_;
  const bool check_quorum_;
  const bool check_invariants_;
  const std::uint64_t max_size_per_msg_;
  const std::uint64_t snapshot_chunk_bytes_;
  const FatalHandler on_fatal_;
  std::function<std::uint64_t()> random_;
  SplitMix64 default_random_;

  RaftLog log_;
  ProgressTracker tracker_;

  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  // Admission (raft_admission.cpp); both kNoNode when none, both reset when the term changes. vouched_: a node that
  // a voter we know backs, which we then count as a voter. backed_: the candidate we last granted a vote or pre-vote.
  NodeId vouched_ = kNoNode;
  NodeId backed_ = kNoNode;
  Role role_ = Role::kFollower;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  NodeId lead_transferee_ = kNoNode;
  Index term_start_index_ = 0;  // leader: the index of this term's first (empty) entry
  bool proposals_pending_ = false;
  std::vector<Message> msgs_;

  // Membership: the configuration at conf_base_index_ (from the snapshot) and after every configuration entry
  // since, keyed by the entry's index. The latest one is in effect (thesis §4.1).
  ConfState conf_base_;
  Index conf_base_index_ = 0;
  std::map<Index, ConfState> conf_history_;

  // Follower: the snapshot being received in chunks.
  std::optional<Snapshot> incoming_snapshot_;

  // Invariant checking: what the previous check saw.
  Term checked_term_ = 0;
  NodeId checked_vote_ = kNoNode;
  Index checked_commit_ = 0;
};

}  // namespace onebill::consensus::detail
