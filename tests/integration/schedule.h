// The fault schedule of one run, derived from its seed, and the code that injects each fault.
//
// A seed fixes the run's shape (3 or 5 nodes, snapshot interval, clients), which node has the small disk, and an
// ordered list of fault steps with their parameters and random picks. What a step hits may depend on the run
// itself — "the leader" is whichever node leads when the step starts — so a seed replays the same schedule, not
// the same interleaving of messages; that is what a seed of a real-process test can promise.
//
// Kinds (each step is injected, held for its hold time, healed, then followed by a gap):
//   kill         kill -9 of 1 .. minority nodes (the leader among them or not), restarted after the hold
//   pause        SIGSTOP of 1 .. minority nodes (leader or not) for 1.0–2.5 s (election timeout 300–600 ms), SIGCONT
//   partition    a random minority (with the leader or not) cut off from the majority, both directions
//   isolate      the leader cut off from everyone, both directions
//   bridge       two halves that cannot reach each other, and one node (the bridge) that reaches both
//   one_way      the leader's messages to everyone lost while it still hears them, or the other way round
//   torn_tail    kill -9 of a node (leader or not), its newest LevelDB log cut inside its unsynced tail
//                (leveldb_tail.h), restarted after the hold
//   disk_full    the node on the small tmpfs gets only what it uses plus 64–512 KiB; healed by giving the
//                space back and restarting the node (SIGTERM), as an operator would
//   mixed        faults on top of each other: a partition as above and, halfway through it, kill -9 of a node
//                of the majority side, restarted just before the partition heals
// Cuts are `drop` (connections refused) or `blackhole` (bytes lost), picked per step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/fault_cluster.h"

namespace onebill::faults {

enum class FaultKind { kill, pause, partition, isolate, bridge, one_way, torn_tail, disk_full, mixed };
inline constexpr int kFaultKinds = 9;
const char* fault_name(FaultKind k);

struct FaultStep {
  FaultKind kind = FaultKind::kill;
  int count = 1;            // nodes hit (kill, pause, partition's minority)
  bool leader = false;      // the leader is among them
  bool blackhole = false;   // cuts lose bytes instead of refusing connections
  int hold_ms = 1000, gap_ms = 500;
  std::uint64_t pick = 0;   // more randomness for choices made when the step starts
};

struct Plan {
  std::uint64_t seed = 0;
  int nodes = 3;
  int clients = 4;
  int snapshot_interval = 0;  // 0: the node's default
  std::size_t disk_node = 0;  // the node on a small tmpfs
  std::vector<FaultStep> steps;  // more than a run has time for; a run injects them in order until its end
};

// `nodes` 0: 3 or 5 from the seed. `only` restricts the kinds (empty: all).
Plan make_plan(std::uint64_t seed, int nodes, int clients, const std::vector<FaultKind>& only);
std::string describe(const FaultStep& s);

// Injects `step` into `c`, holds it, heals it. Returns what was done (for the timeline and the figures);
// `skipped` set when the step could not be done (no leader known, no tmpfs).
struct Injected {
  std::string what;
  bool skipped = false;
};
Injected inject(FaultCluster& c, const FaultStep& step, Timeline& timeline, const std::atomic<bool>& abort);

}  // namespace onebill::faults
