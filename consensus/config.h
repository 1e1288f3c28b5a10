// Config: everything a RawNode is told when it starts. Plain data; RawNode::create validates it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "consensus/fatal.h"
#include "consensus/types.h"
#include "crypto/result.h"

namespace onebill::consensus {

struct Config {
  NodeId id = kNoNode;  // this node; must not be 0

  // Time is counted in ticks (RawNode::tick), never read from a clock. A follower or candidate that hears from
  // no leader for a randomized timeout in [election_tick, 2 * election_tick) campaigns (§5.2); a leader sends
  // heartbeats every heartbeat_tick. election_tick must be greater than heartbeat_tick.
  int election_tick = 10;
  int heartbeat_tick = 1;

  // The index the application has already applied (from its own durable state); committed entries are handed
  // out after it. Must be at least the storage's snapshot index and at most its last index.
  Index applied = 0;

  // Pre-vote (thesis §9.6): a node first asks whether it could win before it raises its term, so a node that was
  // partitioned away does not disrupt a working cluster when it comes back.
  bool pre_vote = true;
  // Check-quorum (thesis §6.2): a leader that has not heard from a majority within an election timeout steps
  // down; and a follower that heard from a leader within the election timeout ignores vote requests (leases).
  bool check_quorum = true;

  // Flow control. At most max_size_per_msg bytes of entries (entry_size) per append (one entry always fits), at
  // most max_inflight_msgs unacknowledged appends per follower and, if max_inflight_bytes is not 0, at most that
  // many bytes of unacknowledged entries.
  std::uint64_t max_size_per_msg = 1u << 20;
  std::size_t max_inflight_msgs = 256;
  std::uint64_t max_inflight_bytes = 32u << 20;
  // At most this many bytes of committed entries per Ready (at least one entry).
  std::uint64_t max_committed_bytes_per_ready = 16u << 20;
  // InstallSnapshot chunk size.
  std::uint64_t snapshot_chunk_bytes = 1u << 20;

  // Election jitter. If `random` is set it is called for uniformly distributed 64-bit values; otherwise a
  // deterministic generator (SplitMix64) seeded with random_seed (or, if that is 0, with id) is used. Either way
  // the same seed and the same inputs give the same outputs: the core has no hidden randomness.
  std::function<std::uint64_t()> random;
  std::uint64_t random_seed = 0;

  // Check the core's invariants after every call (terms never decrease, one vote per term, commit never passes
  // the last index and never goes back) and call on_fatal if one breaks. On by default in debug builds.
#ifdef NDEBUG
  bool check_invariants = false;
#else
  bool check_invariants = true;
#endif
  // See fatal.h. Empty: std::abort().
  FatalHandler on_fatal;
};

// kErrBadConfig with what is wrong, or success.
Status validate(const Config& config);

}  // namespace onebill::consensus
