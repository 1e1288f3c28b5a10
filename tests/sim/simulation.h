// Simulation: one seeded run of a Raft cluster under a hostile simulated network and disk, with the Checker's
// safety properties verified after every step and a liveness check once the faults stop.
//
// A run has two phases. Chaos (`steps` ticks): clients propose; the network loses, duplicates, delays and reorders
// messages; partitions come and go (minority, majority, isolated leader, bridge); nodes crash — between Readys,
// in the middle of a write (a torn prefix survives) or after sending but before applying — and restart later;
// applications snapshot and compact; leaders add and remove members and hand over leadership. Recovery: every link
// heals, every node restarts, the network becomes reliable, and within `liveness_ticks` a leader must commit a new
// entry that a majority of voters applies (progress); every member must then apply it too, within a deadline that
// grows with how far behind the slowest member was (catch-up). In runs with neither pre-vote nor check-quorum, nodes
// whose removal is committed are shut down during recovery (thesis §4.2.3: nothing else stops them disrupting).
//
// Everything random comes from one Rng seeded with the seed, so a seed replays its run exactly.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/sim/checker.h"
#include "tests/sim/network.h"
#include "tests/sim/node.h"
#include "tests/sim/sim_rng.h"

namespace onebill::sim {

struct SimOptions {
  std::uint64_t seed = 1;
  int nodes = 3;                // voters at genesis; one more node starts outside the configuration
  int steps = 500;              // ticks of chaos
  int liveness_ticks = 300;     // ticks allowed for recovery after the faults stop
  bool verbose = false;         // keep a trace of events and print it on failure
};

struct SimResult {
  std::optional<std::string> failure;
  std::vector<std::string> trace;  // last events, when verbose
  int recovery_ticks = 0;          // ticks until a majority applied a new entry after healing
  int catch_up_ticks = 0;          // ticks until every member had applied it
  std::size_t committed = 0;
  std::size_t leaders = 0;
  std::uint64_t messages = 0;
  std::uint64_t restarts = 0;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options);
  SimResult run();

 private:
  static constexpr std::uint64_t kUnitsPerTick = 10;

  void run_unit(std::uint64_t now);
  // Handles a node's Readys after it was given input, and watches it become leader.
  void settle(SimNode& n);
  void chaos(std::uint64_t tick);
  void propose(std::uint64_t tick);
  void cut_off_after_propose(std::uint64_t tick);
  void change_partition();
  void change_network();
  void crash_one(std::uint64_t tick);
  void restart_due(std::uint64_t tick, bool all);
  void compact_one();
  void change_membership();
  void transfer_leadership();
  bool recovered(std::uint64_t tick);

  SimNode& node(NodeId id) { return *nodes_[id - 1]; }
  // The up node that believes it leads in the highest term, if any.
  SimNode* leader();
  std::vector<NodeId> up_nodes();
  void note(const std::string& what);

  SimOptions options_;
  Rng rng_;
  Network net_;
  Checker checker_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::vector<std::uint64_t> phase_;       // when in a tick each node's clock ticks
  std::vector<std::uint64_t> restart_at_;  // 0: up (or not scheduled)
  std::uint64_t now_ = 0;
  std::uint64_t proposals_ = 0;
  bool partitioned_ = false;
  bool storm_ = false;
  bool pre_vote_ = true;
  bool check_quorum_ = true;
  std::set<NodeId> decommissioned_;  // removed nodes shut down for good during recovery
  bool in_chaos_ = true;
  std::vector<std::pair<std::uint64_t, NodeId>> isolate_at_;  // (time, node): cut a node off from everyone then
  // Recovery: the marker entry the current leader proposed, by term and index.
  Term marker_term_ = 0;
  Index marker_index_ = 0;
  std::int64_t progress_tick_ = -1;       // when a majority applied the marker
  std::uint64_t catch_up_deadline_ = 0;  // when every member must have applied it
  std::deque<std::string> trace_;
};

}  // namespace onebill::sim
