// The simulated network: messages travel through the wire codec and arrive after a random delay (so out of
// order), or not at all (loss, partitions), or twice (duplication); every so often one is held back for a long
// time (a delay spike), so very stale messages arrive too.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "consensus/message.h"
#include "tests/sim/sim_rng.h"

namespace onebill::sim {

using consensus::Message;
using consensus::NodeId;

struct NetworkConditions {
  std::uint64_t loss_per_mille = 0;
  std::uint64_t dup_per_mille = 0;
  std::uint64_t spike_per_mille = 0;
  std::uint64_t max_delay = 10;     // time units (a tick is 10)
  std::uint64_t spike_delay = 300;  // time units
};

class Network {
 public:
  Network(int nodes, Rng& rng);

  void set_conditions(const NetworkConditions& c) { conditions_ = c; }
  const NetworkConditions& conditions() const { return conditions_; }

  // Connectivity, symmetric. Node ids are 1..nodes.
  void heal();
  void set_link(NodeId a, NodeId b, bool up);
  bool linked(NodeId a, NodeId b) const { return links_[a][b]; }

  // Queues `m` (encoded) for delivery after `now`, subject to loss, duplication, delay and the links now.
  void send(const Message& m, std::uint64_t now);
  // The next message due at or before `now`, decoded; false when none is due. Messages whose link went down while
  // they travelled are dropped here.
  bool next_due(std::uint64_t now, Message* out);
  std::size_t in_flight() const { return queue_.size(); }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t delivered() const { return delivered_; }

 private:
  struct Packet {
    std::uint64_t at;
    std::uint64_t seq;
    NodeId from;
    NodeId to;
    std::vector<std::uint8_t> bytes;
    bool operator>(const Packet& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void enqueue(const Message& m, const std::vector<std::uint8_t>& bytes, std::uint64_t now);

  Rng& rng_;
  NetworkConditions conditions_;
  std::vector<std::vector<bool>> links_;
  std::priority_queue<Packet, std::vector<Packet>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t delivered_ = 0;
};

}  // namespace onebill::sim
