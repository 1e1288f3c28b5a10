// Checker: the safety properties the simulator verifies after every step, over all nodes at once.
//
//   - Election Safety (§5.2): at most one leader per term.
//   - Log Matching (§5.3): two entries with the same index and term have the same contents and the same term
//     before them (checked for every entry any node ever writes, which by induction gives whole-prefix matching).
//   - Leader Completeness (§5.4): a node that becomes leader holds every entry known committed at that moment.
//   - Committed entries never change: every node that commits index i commits the same entry there.
//   - State Machine Safety (§5.4.3): no two nodes apply different entries at the same index (checked as a hash chain
//     of everything applied, so snapshots are covered too), entries are applied in order without gaps and only once
//     committed.
//   - Votes: a node never votes for two candidates in one term, even across restarts (checked on synced state).
//   - Commit monotonicity: a node's commit index never goes back, and after a restart it is at least what was
//     persisted.
//
// A violation throws SimFailure with a description.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "consensus/conf_change.h"
#include "consensus/memory_storage.h"
#include "consensus/types.h"

namespace onebill::sim {

using consensus::Entry;
using consensus::HardState;
using consensus::Index;
using consensus::MemoryStorage;
using consensus::NodeId;
using consensus::Term;

struct SimFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The application's state in the simulation: how far it applied and a hash chain over everything applied.
struct AppState {
  Index applied = 0;
  std::uint64_t hash = 0;
};

std::uint64_t entry_fingerprint(const Entry& e);

class Checker {
 public:
  // `entries` were just written to `log` (which now ends with them).
  void on_entries_written(NodeId id, const std::vector<Entry>& entries, const MemoryStorage& log);
  // The node's commit index went from `before` to `after`; `log` holds its entries.
  void on_commit(NodeId id, Index before, Index after, const MemoryStorage& log);
  // The node became leader of `term`; `log` is its log.
  void on_leader(NodeId id, Term term, const MemoryStorage& log);
  // A hard state reached stable storage.
  void on_hard_state_synced(NodeId id, const HardState& hs);
  // The node applies `e`; its commit index is `commit`. Updates `app`.
  void on_apply(NodeId id, AppState& app, const Entry& e, Index commit);
  // The node's state machine was replaced by a snapshot's state.
  void on_restore(NodeId id, const AppState& before, const AppState& restored);

  // Whether the last committed configuration change that names `id` removed it.
  bool removed(NodeId id) const;

  std::size_t committed_count() const { return committed_.size(); }
  std::size_t leaders_elected() const { return leader_of_term_.size(); }

 private:
  [[noreturn]] static void fail(const std::string& what) { throw SimFailure(what); }
  void record_applied(NodeId id, Index index, std::uint64_t hash);

  std::map<Term, NodeId> leader_of_term_;
  struct Written {
    std::uint64_t fingerprint;
    Term prev_term;
    NodeId first_writer;
  };
  std::map<std::pair<Index, Term>, Written> written_;
  std::map<Index, std::pair<Term, std::uint64_t>> committed_;  // index -> (term, fingerprint)
  std::map<Index, std::uint64_t> applied_hash_;                // index -> hash chain after applying it
  std::map<std::pair<NodeId, Term>, NodeId> votes_;
  std::map<Index, consensus::ConfChange> conf_changes_;  // applied configuration changes by index
};

}  // namespace onebill::sim
