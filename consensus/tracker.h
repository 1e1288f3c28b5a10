// ProgressTracker (internal): the configuration in effect, a Progress per member, and the quorum arithmetic over
// the voters: the commit index a majority has reached, elections, and check-quorum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "consensus/progress.h"
#include "consensus/types.h"

namespace onebill::consensus::detail {

enum class VoteResult { kPending, kWon, kLost };

class ProgressTracker {
 public:
  ProgressTracker(std::size_t max_inflight_msgs, std::uint64_t max_inflight_bytes)
      : max_inflight_msgs_(max_inflight_msgs), max_inflight_bytes_(max_inflight_bytes) {}

  const ConfState& conf() const { return conf_; }
  // Switches to `conf`: members that stay keep their Progress (a learner promoted to voter too), new members get
  // a fresh one expecting `next_index`, departed members are dropped.
  void set_conf(const ConfState& conf, Index next_index);
  // Every member's Progress reset to expect `next_index` (a new leader knows nothing yet, §5.3).
  void reset_all(Index next_index);

  Progress* get(NodeId id);
  std::map<NodeId, Progress>& progress() { return progress_; }
  const std::map<NodeId, Progress>& progress() const { return progress_; }

  // The highest index replicated on a majority of voters (their match indices' median, §5.3/§5.4.2). 0 if there
  // are no voters.
  Index quorum_match_index() const;
  // Whether a majority of voters was recently active (check-quorum, thesis §6.2). Clears every member's
  // recent_active flag afterwards, except the one of `self`.
  bool quorum_active_and_reset(NodeId self);

  void reset_votes() { votes_.clear(); }
  // Records a voter's answer (the first one counts; a repeat is ignored). Non-voters are ignored.
  void record_vote(NodeId id, bool granted);
  VoteResult tally_votes() const;

 private:
  std::size_t quorum() const { return conf_.voters.size() / 2 + 1; }

  std::size_t max_inflight_msgs_;
  std::uint64_t max_inflight_bytes_;
  ConfState conf_;
  std::map<NodeId, Progress> progress_;
  std::map<NodeId, bool> votes_;
};

}  // namespace onebill::consensus::detail
