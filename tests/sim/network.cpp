#include "tests/sim/network.h"

#include "consensus/codec.h"
#include "tests/sim/checker.h"

namespace onebill::sim {

Network::Network(int nodes, Rng& rng)
    : rng_(rng), links_(static_cast<std::size_t>(nodes) + 1, std::vector<bool>(static_cast<std::size_t>(nodes) + 1, true)) {}

void Network::heal() {
  for (auto& row : links_) row.assign(row.size(), true);
}

void Network::set_link(NodeId a, NodeId b, bool up) {
  links_[a][b] = up;
  links_[b][a] = up;
}

void Network::enqueue(const Message& m, const std::vector<std::uint8_t>& bytes, std::uint64_t now) {
  std::uint64_t delay = rng_.between(1, conditions_.max_delay);
  if (rng_.chance(conditions_.spike_per_mille)) delay += rng_.between(1, conditions_.spike_delay);
  queue_.push(Packet{now + delay, seq_++, m.from, m.to, bytes});
}

void Network::send(const Message& m, std::uint64_t now) {
  ++sent_;
  if (!linked(m.from, m.to) || rng_.chance(conditions_.loss_per_mille)) return;
  std::vector<std::uint8_t> bytes = consensus::encode(m);
  if (sent_ % 8 == 0) {  // the codec must round-trip exactly; checking one message in eight keeps runs fast
    auto back = consensus::decode(bytes);
    if (!back || !(*back == m)) throw SimFailure("codec: a message does not survive encode/decode");
  }
  enqueue(m, bytes, now);
  if (rng_.chance(conditions_.dup_per_mille)) enqueue(m, bytes, now);
}

bool Network::next_due(std::uint64_t now, Message* out) {
  while (!queue_.empty() && queue_.top().at <= now) {
    Packet p = queue_.top();
    queue_.pop();
    if (!linked(p.from, p.to)) continue;
    auto decoded = consensus::decode(p.bytes);
    if (!decoded) throw SimFailure("codec: a message the core sent does not decode: " + decoded.error().message);
    *out = std::move(*decoded);
    ++delivered_;
    return true;
  }
  return false;
}

}  // namespace onebill::sim
