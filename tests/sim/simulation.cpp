#include "tests/sim/simulation.h"

#include <algorithm>

#include "consensus/conf_change.h"

namespace onebill::sim {
namespace {

using consensus::ConfChange;
using consensus::ConfChangeType;

const char* to_string(CrashPoint p) {
  switch (p) {
    case CrashPoint::kBetweenReadies: return "between readies";
    case CrashPoint::kBeforeSync: return "before sync";
    case CrashPoint::kAfterSend: return "after send";
  }
  return "?";
}

}  // namespace

Simulation::Simulation(const SimOptions& options)
    : options_(options), rng_(mix(0x0b111, options.seed)), net_(options.nodes + 1, rng_) {
  // Per-run protocol settings: every combination of pre-vote and check-quorum, and small limits so that flow
  // control, batching and chunking all engage.
  Config base;
  base.election_tick = 10;
  base.heartbeat_tick = static_cast<int>(rng_.between(1, 3));
  base.pre_vote = rng_.chance(800);
  base.check_quorum = rng_.chance(800);
  const std::uint64_t msg_sizes[] = {1, 64, 128, 512, 4096};
  base.max_size_per_msg = msg_sizes[rng_.below(5)];
  base.max_inflight_msgs = rng_.between(1, 16);
  base.max_inflight_bytes = rng_.chance(500) ? 0 : 1024;
  const std::uint64_t chunk_sizes[] = {16, 64, 1024};
  base.snapshot_chunk_bytes = chunk_sizes[rng_.below(3)];
  base.max_committed_bytes_per_ready = rng_.chance(500) ? 512 : (1u << 20);
  base.check_invariants = true;
  pre_vote_ = base.pre_vote;
  check_quorum_ = base.check_quorum;
  base.on_fatal = [](const onebill::Error& e) { throw SimFailure("core: " + e.code + ": " + e.message); };

  ConfState genesis;
  for (int i = 1; i <= options.nodes; ++i) genesis.voters.push_back(static_cast<NodeId>(i));
  int total = options.nodes + 1;  // the last node starts outside the configuration
  for (int i = 1; i <= total; ++i) {
    nodes_.push_back(std::make_unique<SimNode>(static_cast<NodeId>(i), genesis, base, rng_.next()));
    phase_.push_back(rng_.below(kUnitsPerTick));
    restart_at_.push_back(0);
  }
  change_network();
  note("config: heartbeat " + std::to_string(base.heartbeat_tick) + " pre-vote " + std::to_string(base.pre_vote) +
       " check-quorum " + std::to_string(base.check_quorum) + " max-msg " + std::to_string(base.max_size_per_msg) +
       " inflight " + std::to_string(base.max_inflight_msgs) + " chunk " + std::to_string(base.snapshot_chunk_bytes));
}

void Simulation::note(const std::string& what) {
  if (!options_.verbose) return;
  trace_.push_back("[" + std::to_string(now_ / kUnitsPerTick) + "." + std::to_string(now_ % kUnitsPerTick) + "] " + what);
  if (trace_.size() > 100000) trace_.pop_front();
}

std::vector<NodeId> Simulation::up_nodes() {
  std::vector<NodeId> out;
  for (auto& n : nodes_) {
    if (n->up()) out.push_back(n->id());
  }
  return out;
}

SimNode* Simulation::leader() {
  SimNode* best = nullptr;
  for (auto& n : nodes_) {
    if (n->up() && n->role() == Role::kLeader && (best == nullptr || n->term() > best->term())) best = n.get();
  }
  return best;
}

void Simulation::settle(SimNode& n) {
  bool was_leader = n.role() == Role::kLeader;
  Index commit_before = n.commit();
  n.handle_readies(net_, checker_, now_);
  // A leader lost right after it commits: whatever it committed must survive without it.
  if (in_chaos_ && was_leader && n.role() == Role::kLeader && n.commit() > commit_before &&
      rng_.chance(storm_ ? 100 : 5)) {
    isolate_at_.emplace_back(now_, n.id());
  }
  // In a storm, new leaders are often cut off moments after they win: several short-lived leaders in a row, each
  // with its entries on a minority, is how Figure 8 (§5.4.2) comes about.
  if (in_chaos_ && storm_ && !was_leader && n.role() == Role::kLeader && rng_.chance(600)) {
    isolate_at_.emplace_back(now_ + rng_.between(1, 20), n.id());
  }
}

void Simulation::run_unit(std::uint64_t now) {
  for (auto it = isolate_at_.begin(); it != isolate_at_.end();) {
    if (it->first > now) {
      ++it;
      continue;
    }
    for (auto& n : nodes_) {
      if (n->id() != it->second) net_.set_link(it->second, n->id(), false);
    }
    partitioned_ = true;
    note("isolate " + std::to_string(it->second));
    it = isolate_at_.erase(it);
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    SimNode& n = *nodes_[i];
    if (!n.up() || phase_[i] != now % kUnitsPerTick) continue;
    // Clocks drift: now and then a tick is skipped or doubled.
    int ticks = rng_.chance(10) ? 0 : rng_.chance(10) ? 2 : 1;
    for (int t = 0; t < ticks; ++t) n.raw().tick();
    settle(n);
  }
  consensus::Message m;
  while (net_.next_due(now, &m)) {
    SimNode& to = node(m.to);
    if (!to.up()) continue;
    if (options_.verbose) {
      note(std::string(consensus::to_string(m.type)) + " " + std::to_string(m.from) + "->" + std::to_string(m.to) +
           " term " + std::to_string(m.term) + " index " + std::to_string(m.index) + " log_term " +
           std::to_string(m.log_term) + " entries " + std::to_string(m.entries.size()) + " commit " +
           std::to_string(m.commit) + (m.reject ? " reject hint " + std::to_string(m.reject_hint) : "") +
           (m.snapshot.index != 0 ? " snapshot " + std::to_string(m.snapshot.index) + "/" +
                                        std::to_string(m.snapshot.term) + " offset " +
                                        std::to_string(m.snapshot_offset) + (m.snapshot_done ? " done" : "")
                                  : ""));
    }
    if (onebill::Status s = to.raw().step(m); !s) throw SimFailure("step refused a message: " + s.error().message);
    settle(to);
  }
}

void Simulation::chaos(std::uint64_t tick) {
  restart_due(tick, false);
  // Weather: calm spells and storms. In a storm faults come several times as often, and leaders are cut off right
  // after they propose (while their entries are half replicated): the raw material of Figure 8.
  if (rng_.chance(10)) {
    storm_ = !storm_;
    note(storm_ ? "storm" : "calm");
    change_network();
  }
  std::uint64_t f = storm_ ? 4 : 1;
  if (rng_.chance(300)) propose(tick);
  if (rng_.chance(15 * f)) change_partition();
  if (partitioned_ && rng_.chance(25 * f)) {
    net_.heal();
    partitioned_ = false;
    note("heal");
  }
  if (rng_.chance(10)) change_network();
  if (rng_.chance(8 * f)) crash_one(tick);
  if (rng_.chance(20)) compact_one();
  if (rng_.chance(12)) change_membership();
  if (rng_.chance(5 * f)) transfer_leadership();
  if (rng_.chance(storm_ ? 40 : 3)) cut_off_after_propose(tick);
}

void Simulation::cut_off_after_propose(std::uint64_t tick) {
  SimNode* l = leader();
  if (l == nullptr) return;
  propose(tick);
  isolate_at_.emplace_back(now_ + rng_.between(1, 25), l->id());
}

void Simulation::propose(std::uint64_t tick) {
  std::vector<SimNode*> leaders;
  for (auto& n : nodes_) {
    if (n->up() && n->role() == Role::kLeader) leaders.push_back(n.get());
  }
  if (leaders.empty()) return;
  SimNode& l = *leaders[rng_.below(leaders.size())];
  std::vector<consensus::Bytes> batch;
  std::uint64_t count = rng_.between(1, 3);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string text = "p" + std::to_string(options_.seed) + ":" + std::to_string(++proposals_) + "@" + std::to_string(tick);
    text.append(rng_.below(80), '.');
    batch.emplace_back(text.begin(), text.end());
  }
  onebill::Status s = l.raw().propose_batch(std::move(batch));
  note("propose " + std::to_string(count) + " at " + std::to_string(l.id()) + (s ? "" : " refused: " + s.error().code));
  settle(l);
}

void Simulation::change_partition() {
  std::vector<NodeId> ids;
  for (auto& n : nodes_) ids.push_back(n->id());
  std::vector<int> group(ids.size() + 1, 0);
  NodeId bridge = consensus::kNoNode;
  std::string kind;
  switch (rng_.below(4)) {
    case 0: {  // a minority cut off
      kind = "minority";
      std::uint64_t k = rng_.between(1, (ids.size() - 1) / 2);
      for (std::uint64_t i = 0; i < k; ++i) group[ids[rng_.below(ids.size())]] = 1;
      break;
    }
    case 1:  // a random split (often a majority and a minority, sometimes no majority at all)
      kind = "split";
      for (NodeId id : ids) group[id] = static_cast<int>(rng_.below(2));
      break;
    case 2: {  // the leader alone
      kind = "isolated leader";
      SimNode* l = leader();
      if (l == nullptr) return;
      group[l->id()] = 1;
      break;
    }
    default: {  // two sides that only one bridge node connects
      kind = "bridge";
      bridge = ids[rng_.below(ids.size())];
      for (NodeId id : ids) group[id] = static_cast<int>(rng_.below(2));
      break;
    }
  }
  std::string desc;
  for (NodeId a : ids) {
    desc += std::to_string(a) + (a == bridge ? "b" : group[a] ? "'" : "") + " ";
    for (NodeId b : ids) {
      if (a < b) net_.set_link(a, b, group[a] == group[b] || a == bridge || b == bridge);
    }
  }
  partitioned_ = true;
  note("partition (" + kind + "): " + desc);
}

void Simulation::change_network() {
  NetworkConditions c;
  const std::uint64_t loss[] = {0, 0, 20, 100, 300};
  const std::uint64_t dup[] = {0, 20, 100};
  const std::uint64_t delay[] = {5, 15, 40};
  const std::uint64_t spike[] = {0, 5, 20};
  c.loss_per_mille = loss[rng_.below(storm_ ? 5 : 4)];
  c.dup_per_mille = dup[rng_.below(3)];
  c.max_delay = delay[rng_.below(3)];
  c.spike_per_mille = spike[rng_.below(3)];
  c.spike_delay = 300;
  net_.set_conditions(c);
  note("network: loss " + std::to_string(c.loss_per_mille) + " dup " + std::to_string(c.dup_per_mille) + " delay " +
       std::to_string(c.max_delay) + " spikes " + std::to_string(c.spike_per_mille));
}

void Simulation::crash_one(std::uint64_t tick) {
  std::vector<NodeId> up = up_nodes();
  if (up.empty()) return;
  SimNode* l = leader();
  NodeId id = (l != nullptr && rng_.chance(300)) ? l->id() : up[rng_.below(up.size())];
  CrashPoint point = static_cast<CrashPoint>(rng_.below(3));
  node(id).crash(point, net_, checker_, now_, rng_);
  restart_at_[id - 1] = tick + rng_.between(5, 60);
  note("crash " + std::to_string(id) + " (" + to_string(point) + ")");
}

void Simulation::restart_due(std::uint64_t tick, bool all) {
  for (auto& n : nodes_) {
    std::uint64_t& at = restart_at_[n->id() - 1];
    if (n->up() || at == 0 || (!all && at > tick)) continue;
    at = 0;
    n->restart(checker_, rng_.next());
    note("restart " + std::to_string(n->id()) + " term " + std::to_string(n->term()) + " commit " +
         std::to_string(n->commit()) + " applied " + std::to_string(n->app().applied));
    settle(*n);
  }
}

void Simulation::compact_one() {
  std::vector<NodeId> up = up_nodes();
  if (up.empty()) return;
  SimNode& n = node(up[rng_.below(up.size())]);
  Index first = n.log().first_index();
  Index applied = n.app().applied;
  if (applied + 1 < first) return;
  Index to = rng_.between(first - 1, applied);
  n.snapshot_and_compact(to, rng_.next());
  note("compact " + std::to_string(n.id()) + " snapshot at " + std::to_string(applied) + " log from " +
       std::to_string(n.log().first_index()));
}

void Simulation::change_membership() {
  SimNode* l = leader();
  if (l == nullptr) return;
  ConfState conf = l->raw().status().conf;
  std::vector<NodeId> outside;
  for (auto& n : nodes_) {
    if (!conf.is_member(n->id())) outside.push_back(n->id());
  }
  ConfChange cc;
  if (!conf.learners.empty() && rng_.chance(600)) {
    cc = {rng_.chance(800) ? ConfChangeType::kPromoteLearner : ConfChangeType::kRemoveVoter,
          conf.learners[rng_.below(conf.learners.size())]};
  } else if (!outside.empty() && conf.voters.size() <= static_cast<std::size_t>(options_.nodes) && rng_.chance(600)) {
    cc = {rng_.chance(800) ? ConfChangeType::kAddLearner : ConfChangeType::kAddVoter,
          outside[rng_.below(outside.size())]};
  } else if (conf.voters.size() > std::max<std::size_t>(2, static_cast<std::size_t>(options_.nodes) - 1)) {
    cc = {ConfChangeType::kRemoveVoter, conf.voters[rng_.below(conf.voters.size())]};
  } else {
    return;
  }
  onebill::Status s = l->raw().propose_conf_change(cc);
  note(std::string("conf change at ") + std::to_string(l->id()) + ": " + consensus::to_string(cc.type) + " " +
       std::to_string(cc.node) + (s ? "" : " refused: " + s.error().code));
  settle(*l);
}

void Simulation::transfer_leadership() {
  SimNode* l = leader();
  if (l == nullptr) return;
  ConfState conf = l->raw().status().conf;
  if (conf.voters.empty()) return;
  NodeId to = conf.voters[rng_.below(conf.voters.size())];
  onebill::Status s = l->raw().transfer_leadership(to);
  note("transfer " + std::to_string(l->id()) + " -> " + std::to_string(to) + (s ? "" : " refused: " + s.error().code));
  settle(*l);
}

bool Simulation::recovered(std::uint64_t tick) {
  SimNode* l = leader();
  if (l == nullptr) return false;
  if (!pre_vote_ && !check_quorum_) {
    // Without pre-vote or leases nothing stops a removed server that never learned of its removal from deposing
    // leader after leader with ever higher terms (thesis §4.2.3); there the operator must shut it down once its
    // removal is committed.
    for (auto& n : nodes_) {
      if (n->up() && n.get() != l && checker_.removed(n->id())) {
        n->crash(CrashPoint::kBetweenReadies, net_, checker_, now_, rng_);
        decommissioned_.insert(n->id());
        note("decommission " + std::to_string(n->id()));
      }
    }
  }
  if (marker_term_ != l->term()) {
    std::string text = "live@" + std::to_string(tick);
    if (l->raw().propose(consensus::Bytes(text.begin(), text.end()))) {
      marker_term_ = l->term();
      marker_index_ = l->raw().status().last_index;
      note("marker at " + std::to_string(l->id()) + " index " + std::to_string(marker_index_));
    }
    settle(*l);
    return false;
  }
  if (l->commit() < marker_index_) return false;
  ConfState conf = l->raw().status().conf;
  std::size_t applied_voters = 0;
  for (NodeId id : conf.voters) {
    if (node(id).up() && node(id).app().applied >= marker_index_) ++applied_voters;
  }
  if (applied_voters < conf.voters.size() / 2 + 1) return false;
  if (progress_tick_ < 0) {
    // Progress: a majority applied a new entry. Members that were far behind get time in proportion to how far
    // (at worst one entry per round trip with a one-message window), then must have caught up too.
    progress_tick_ = static_cast<std::int64_t>(tick);
    Index slowest = marker_index_;
    for (const std::vector<NodeId>* members : {&conf.voters, &conf.learners}) {
      for (NodeId id : *members) {
        if (decommissioned_.count(id) == 0) slowest = std::min(slowest, node(id).app().applied);
      }
    }
    catch_up_deadline_ = tick + static_cast<std::uint64_t>(options_.liveness_ticks) + 2 * (marker_index_ - slowest);
    note("progress; catch-up deadline " + std::to_string(catch_up_deadline_));
  }
  for (const std::vector<NodeId>* members : {&conf.voters, &conf.learners}) {
    for (NodeId id : *members) {
      if (decommissioned_.count(id) != 0) continue;
      if (!node(id).up() || node(id).app().applied < marker_index_) {
        if (tick >= catch_up_deadline_) {
          throw SimFailure("liveness: member " + std::to_string(id) + " did not catch up (applied " +
                           std::to_string(node(id).app().applied) + ", marker at " + std::to_string(marker_index_) +
                           ") by the deadline");
        }
        return false;
      }
    }
  }
  return true;
}

SimResult Simulation::run() {
  SimResult result;
  try {
    for (int tick = 0; tick < options_.steps; ++tick) {
      for (std::uint64_t u = 0; u < kUnitsPerTick; ++u, ++now_) {
        if (u == 0) chaos(static_cast<std::uint64_t>(tick));
        run_unit(now_);
      }
    }
    // Recovery: no more faults.
    in_chaos_ = false;
    isolate_at_.clear();
    net_.heal();
    partitioned_ = false;
    net_.set_conditions(NetworkConditions{});
    restart_due(0, true);
    note("recovery starts");
    bool ok = false;
    int tick = 0;
    for (; !ok && (progress_tick_ >= 0 || tick < options_.liveness_ticks); ++tick) {
      for (std::uint64_t u = 0; u < kUnitsPerTick; ++u, ++now_) run_unit(now_);
      ok = recovered(static_cast<std::uint64_t>(tick));
    }
    if (!ok) {
      throw SimFailure("liveness: no new entry committed and applied by a majority within " +
                       std::to_string(options_.liveness_ticks) + " ticks after the faults stopped");
    }
    result.recovery_ticks = static_cast<int>(progress_tick_) + 1;
    result.catch_up_ticks = tick;
  } catch (const SimFailure& f) {
    result.failure = f.what();
  }
  result.committed = checker_.committed_count();
  result.leaders = checker_.leaders_elected();
  result.messages = net_.sent();
  for (auto& n : nodes_) result.restarts += n->restarts();
  result.trace.assign(trace_.begin(), trace_.end());
  return result;
}

}  // namespace onebill::sim
