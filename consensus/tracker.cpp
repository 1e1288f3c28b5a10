#include "consensus/tracker.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace onebill::consensus::detail {

void ProgressTracker::set_conf(const ConfState& conf, Index next_index) {
  std::map<NodeId, Progress> next;
  auto carry = [&](NodeId id, bool learner) {
    auto it = progress_.find(id);
    if (it != progress_.end()) {
      it->second.is_learner = learner;
      next.emplace(id, std::move(it->second));
    } else {
      next.emplace(id, Progress(next_index, max_inflight_msgs_, max_inflight_bytes_, learner));
    }
  };
  for (NodeId id : conf.voters) carry(id, false);
  for (NodeId id : conf.learners) carry(id, true);
  progress_ = std::move(next);
  conf_ = conf;
}

void ProgressTracker::reset_all(Index next_index) {
  for (auto& [id, pr] : progress_) pr = Progress(next_index, max_inflight_msgs_, max_inflight_bytes_, pr.is_learner);
}

Progress* ProgressTracker::get(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

Index ProgressTracker::quorum_match_index() const {
  if (conf_.voters.empty()) return 0;
  std::vector<Index> matches;
  matches.reserve(conf_.voters.size());
  for (NodeId id : conf_.voters) matches.push_back(progress_.at(id).match);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[quorum() - 1];
}

bool ProgressTracker::quorum_active_and_reset(NodeId self) {
  std::size_t active = 0;
  for (NodeId id : conf_.voters) {
    if (id == self || progress_.at(id).recent_active) ++active;
  }
  for (auto& [id, pr] : progress_) {
    if (id != self) pr.recent_active = false;
  }
  return active >= quorum();
}

void ProgressTracker::record_vote(NodeId id, bool granted) {
  if (!conf_.is_voter(id)) return;
  votes_.emplace(id, granted);
}

VoteResult ProgressTracker::tally_votes() const {
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (const auto& [id, yes] : votes_) (yes ? granted : rejected)++;
  if (granted >= quorum()) return VoteResult::kWon;
  if (rejected + quorum() > conf_.voters.size()) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace onebill::consensus::detail
