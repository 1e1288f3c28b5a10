// SimNode: one simulated server — a RawNode, its disk and its state machine.
//
// The disk keeps two images of the Raft log: `live`, what the running process reads (every write lands there at
// once), and `durable`, what survives a crash. Writes from a Ready queue up as pending; a sync (when the Ready says
// must_sync) makes all pending writes durable, in order. A crash keeps the durable image plus, possibly, a prefix
// of the pending writes (a torn write), and the restarted process starts from that. The state machine (AppState)
// is written synchronously when it applies, as the node's LevelDB batch would be.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "consensus/memory_storage.h"
#include "consensus/raw_node.h"
#include "tests/sim/checker.h"
#include "tests/sim/network.h"
#include "tests/sim/sim_rng.h"

namespace onebill::sim {

using consensus::ConfState;
using consensus::Config;
using consensus::RawNode;
using consensus::Ready;
using consensus::Role;
using consensus::Snapshot;

// Where a crash strikes relative to the Ready being handled.
enum class CrashPoint {
  kBetweenReadies,  // nothing pending but unsynced commit-only writes
  kBeforeSync,      // the Ready's writes are pending: a random prefix of them survives
  kAfterSend,       // persisted and sent, not applied
};

class SimNode {
 public:
  SimNode(NodeId id, const ConfState& genesis, const Config& base_config, std::uint64_t seed);

  NodeId id() const { return id_; }
  bool up() const { return raw_.has_value(); }
  RawNode& raw() { return *raw_; }
  Role role() const { return role_; }
  NodeId lead() const { return lead_; }
  Term term() const { return term_; }
  Index commit() const { return commit_; }
  const AppState& app() const { return app_; }
  const MemoryStorage& log() const { return *live_; }

  // Handles every pending Ready: persist (and sync), send through `net`, apply, advance; the checker sees each step.
  void handle_readies(Network& net, Checker& checker, std::uint64_t now);
  // Handles one Ready up to `point`, then crashes; or, for kBetweenReadies, just crashes.
  void crash(CrashPoint point, Network& net, Checker& checker, std::uint64_t now, Rng& rng);
  void restart(Checker& checker, std::uint64_t seed);

  // The application's snapshot of its current state, and compaction to `compact_to` (<= the applied index).
  void snapshot_and_compact(Index compact_to, std::uint64_t filler_seed);

  // Counters for the summary.
  std::uint64_t restarts() const { return restarts_; }

 private:
  struct Write {
    std::optional<Snapshot> snapshot;
    std::vector<consensus::Entry> entries;
    std::optional<HardState> hard_state;
  };
  enum class Stop { kNone, kBeforeSync, kAfterSend };
  // Returns false if it stopped early (crash point reached).
  bool handle_ready(Network& net, Checker& checker, std::uint64_t now, Stop stop, Rng* rng);
  void apply_write(MemoryStorage& storage, const Write& w);
  void sync(Checker& checker);
  void start(Checker& checker);
  // SimFailure if `m` promises what is not synced yet (an acknowledged entry, a granted vote, its term).
  void check_promise(const consensus::Message& m) const;

  NodeId id_;
  ConfState genesis_;
  Config config_;
  std::unique_ptr<MemoryStorage> live_;
  MemoryStorage durable_;
  std::vector<Write> pending_;
  std::optional<RawNode> raw_;
  AppState app_;
  Role role_ = Role::kFollower;
  NodeId lead_ = consensus::kNoNode;
  Term term_ = 0;
  Index commit_ = 0;
  std::uint64_t restarts_ = 0;
};

// The application's snapshot bytes: applied index, hash, then filler (so snapshots span several chunks).
consensus::Bytes encode_app_state(const AppState& app, std::uint64_t filler_seed);
AppState decode_app_state(const consensus::Bytes& data);

}  // namespace onebill::sim
