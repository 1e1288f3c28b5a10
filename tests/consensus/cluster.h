// Cluster: a few RawNodes over MemoryStorage and a hand-driven, in-order network, for the scenario tests and the
// paper tests. Nothing happens unless a test says so: messages wait in the network until delivered, Readys wait
// until processed. Persistence is immediate and never lost (the simulator, tests/sim, models crashes that lose
// unsynced writes; here `crash` only loses what the RawNode held in memory).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "consensus/memory_storage.h"
#include "consensus/raw_node.h"

namespace onebill::consensus::testing {

Bytes to_bytes(const std::string& s);
std::string to_text(const Bytes& b);

struct NodeOptions {
  bool pre_vote = true;
  bool check_quorum = true;
  int election_tick = 10;
  int heartbeat_tick = 1;
  std::uint64_t max_size_per_msg = 1u << 20;
  std::size_t max_inflight_msgs = 256;
  std::uint64_t snapshot_chunk_bytes = 1u << 20;
};

// The application of one node: the payloads of the non-empty normal entries it applied, with their indices.
struct AppState {
  Index applied = 0;
  std::vector<std::pair<Index, std::string>> entries;

  Bytes snapshot_at(Index index) const;  // the state as of `index`, encoded
  static AppState from_snapshot(const Snapshot& snap);
};

class Cluster {
 public:
  struct Node {
    NodeId id = kNoNode;
    Config config;
    std::unique_ptr<MemoryStorage> storage;
    std::optional<RawNode> raw;  // empty while crashed
    AppState app;
  };

  // Adds `count` nodes with the next free ids, all with the genesis configuration `genesis` (if it has no voters,
  // the new nodes are the voters). Node i's randomized election timeout is always election_tick + (i - 1) mod
  // election_tick (Config::random is injected), so tests know who times out first.
  std::vector<NodeId> add_nodes(int count, ConfState genesis, const NodeOptions& options);

  Node& node(NodeId id);
  RawNode& raw(NodeId id);
  bool has(NodeId id) const { return nodes_.count(id) != 0; }
  std::vector<NodeId> ids() const;

  // Carries out one Ready of `id` (persist, queue messages, apply, advance). Returns whether there was one.
  bool process_ready(NodeId id);
  // Delivers every queued message addressed to one of `to` (every node if empty), in order; messages between
  // partitioned nodes or to crashed nodes are dropped. Returns how many were handled or dropped.
  std::size_t deliver(const std::set<NodeId>& to = {});
  void drop(const std::set<NodeId>& to = {});
  // The next message of `type` to `to` that would be delivered is lost instead (once).
  void lose_next(MessageType type, NodeId to) { lose_next_.emplace_back(type, to); }
  // Processes Readys and delivers messages until nothing moves (bounded).
  void stabilize();
  void tick(NodeId id, int times);

  // Network partitions: nodes in different groups cannot talk; nodes not listed form one more group.
  void partition(const std::vector<std::set<NodeId>>& groups);
  void heal() { group_of_.clear(); }
  bool connected(NodeId a, NodeId b) const;

  // Application snapshot of `id` at `index` (<= applied) with the configuration there, then compaction.
  Status compact(NodeId id, Index index);
  void crash(NodeId id);
  Status restart(NodeId id);

  std::deque<Message>& in_flight() { return in_flight_; }

 private:
  Result<RawNode> start(Node& n);

  std::map<NodeId, Node> nodes_;
  std::deque<Message> in_flight_;
  std::map<NodeId, int> group_of_;
  std::vector<std::pair<MessageType, NodeId>> lose_next_;
  NodeId next_id_ = 1;
};

}  // namespace onebill::consensus::testing
