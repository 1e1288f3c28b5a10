#include "tests/consensus/cluster.h"

#include <algorithm>
#include <stdexcept>

namespace onebill::consensus::testing {
namespace {

void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_u64(const Bytes& in, std::size_t& pos) {
  if (pos + 8 > in.size()) throw std::runtime_error("bad app snapshot");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in[pos++]) << (8 * i);
  return v;
}

}  // namespace

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string to_text(const Bytes& b) { return std::string(b.begin(), b.end()); }

Bytes AppState::snapshot_at(Index index) const {
  Bytes out;
  put_u64(out, index);
  for (const auto& [i, data] : entries) {
    if (i > index) break;
    put_u64(out, i);
    put_u64(out, data.size());
    out.insert(out.end(), data.begin(), data.end());
  }
  return out;
}

AppState AppState::from_snapshot(const Snapshot& snap) {
  AppState app;
  std::size_t pos = 0;
  app.applied = get_u64(snap.data, pos);
  while (pos < snap.data.size()) {
    Index i = get_u64(snap.data, pos);
    std::uint64_t n = get_u64(snap.data, pos);
    if (pos + n > snap.data.size()) throw std::runtime_error("bad app snapshot");
    app.entries.emplace_back(i, std::string(snap.data.begin() + static_cast<std::ptrdiff_t>(pos),
                                            snap.data.begin() + static_cast<std::ptrdiff_t>(pos + n)));
    pos += n;
  }
  return app;
}

std::vector<NodeId> Cluster::add_nodes(int count, ConfState genesis, const NodeOptions& options) {
  std::vector<NodeId> added;
  for (int i = 0; i < count; ++i) added.push_back(next_id_++);
  if (genesis.voters.empty()) genesis.voters = added;
  for (NodeId id : added) {
    Node& n = nodes_[id];
    n.id = id;
    n.config.id = id;
    n.config.pre_vote = options.pre_vote;
    n.config.check_quorum = options.check_quorum;
    n.config.election_tick = options.election_tick;
    n.config.heartbeat_tick = options.heartbeat_tick;
    n.config.max_size_per_msg = options.max_size_per_msg;
    n.config.max_inflight_msgs = options.max_inflight_msgs;
    n.config.snapshot_chunk_bytes = options.snapshot_chunk_bytes;
    n.config.check_invariants = true;
    // Predictable jitter for scripts: node i's randomized election timeout is election_tick + (i - 1) mod
    // election_tick, so among nodes whose clocks run together the lowest id times out first.
    n.config.random = [id] { return static_cast<std::uint64_t>(id - 1); };
    n.config.on_fatal = [](const Error& e) { throw std::logic_error(e.code + ": " + e.message); };
    n.storage = std::make_unique<MemoryStorage>(genesis);
    Result<RawNode> raw = start(n);
    if (!raw) throw std::logic_error(raw.error().message);
    n.raw.emplace(std::move(*raw));
  }
  return added;
}

Result<RawNode> Cluster::start(Node& n) {
  n.config.applied = n.app.applied;
  return RawNode::create(n.config, *n.storage);
}

Cluster::Node& Cluster::node(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) throw std::logic_error("no node " + std::to_string(id));
  return it->second;
}

RawNode& Cluster::raw(NodeId id) {
  Node& n = node(id);
  if (!n.raw) throw std::logic_error("node " + std::to_string(id) + " is down");
  return *n.raw;
}

std::vector<NodeId> Cluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

bool Cluster::process_ready(NodeId id) {
  Node& n = node(id);
  if (!n.raw || !n.raw->has_ready()) return false;
  Ready rd = n.raw->ready();
  if (rd.snapshot) {
    Status s = n.storage->apply_snapshot(*rd.snapshot);
    if (!s) throw std::logic_error(s.error().message);
  }
  if (Status s = n.storage->append(rd.entries); !s) throw std::logic_error(s.error().message);
  if (rd.hard_state) n.storage->set_hard_state(*rd.hard_state);
  for (Message& m : rd.messages) in_flight_.push_back(std::move(m));
  if (rd.snapshot) n.app = AppState::from_snapshot(*rd.snapshot);
  for (const Entry& e : rd.committed_entries) {
    if (e.index <= n.app.applied) throw std::logic_error("entry applied twice");
    n.app.applied = e.index;
    if (e.type == EntryType::kNormal && !e.data.empty()) n.app.entries.emplace_back(e.index, to_text(e.data));
  }
  n.raw->advance();
  return true;
}

bool Cluster::connected(NodeId a, NodeId b) const {
  auto ga = group_of_.find(a);
  auto gb = group_of_.find(b);
  int x = ga == group_of_.end() ? -1 : ga->second;
  int y = gb == group_of_.end() ? -1 : gb->second;
  return x == y;
}

std::size_t Cluster::deliver(const std::set<NodeId>& to) {
  std::deque<Message> keep;
  std::vector<Message> now;
  for (Message& m : in_flight_) {
    if (to.empty() || to.count(m.to) != 0) {
      now.push_back(std::move(m));
    } else {
      keep.push_back(std::move(m));
    }
  }
  in_flight_ = std::move(keep);
  for (const Message& m : now) {
    if (!connected(m.from, m.to) || !has(m.to) || !node(m.to).raw) continue;
    auto lose = std::find(lose_next_.begin(), lose_next_.end(), std::make_pair(m.type, m.to));
    if (lose != lose_next_.end()) {
      lose_next_.erase(lose);
      continue;
    }
    Status s = node(m.to).raw->step(m);
    if (!s) throw std::logic_error(s.error().message);
  }
  return now.size();
}

void Cluster::drop(const std::set<NodeId>& to) {
  std::deque<Message> keep;
  for (Message& m : in_flight_) {
    if (!to.empty() && to.count(m.to) == 0) keep.push_back(std::move(m));
  }
  in_flight_ = std::move(keep);
}

void Cluster::stabilize() {
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    for (auto& [id, n] : nodes_) moved = process_ready(id) || moved;
    if (!in_flight_.empty()) {
      deliver();
      moved = true;
    }
    if (!moved) return;
  }
  throw std::logic_error("stabilize: the cluster does not settle");
}

void Cluster::tick(NodeId id, int times) {
  for (int i = 0; i < times; ++i) raw(id).tick();
}

void Cluster::partition(const std::vector<std::set<NodeId>>& groups) {
  group_of_.clear();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (NodeId id : groups[g]) group_of_[id] = static_cast<int>(g);
  }
}

Status Cluster::compact(NodeId id, Index index) {
  Node& n = node(id);
  if (index > n.app.applied) return make_error("not_applied", "compact past the applied index");
  std::optional<ConfState> conf = raw(id).conf_state_at(index);
  if (!conf) return make_error("no_conf", "no configuration known at that index");
  if (Status s = n.storage->create_snapshot(index, *conf, n.app.snapshot_at(index)); !s) return s;
  return n.storage->compact(index);
}

void Cluster::crash(NodeId id) { node(id).raw.reset(); }

Status Cluster::restart(NodeId id) {
  Node& n = node(id);
  Result<RawNode> raw = start(n);
  if (!raw) return raw.error();
  n.raw.emplace(std::move(*raw));
  return Status::success();
}

}  // namespace onebill::consensus::testing
