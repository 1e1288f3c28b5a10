// Ready: what the core asks its caller to do, and SoftState, the volatile part of its state worth reporting.
#pragma once

#include <optional>
#include <vector>

#include "consensus/message.h"
#include "consensus/types.h"

namespace onebill::consensus {

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* to_string(Role role);

// Not persisted: who the node thinks leads, and its own role. Changes are reported so the node layer can forward
// submissions to the leader and show its status.
struct SoftState {
  NodeId lead = kNoNode;
  Role role = Role::kFollower;

  friend bool operator==(const SoftState&, const SoftState&) = default;
};

// One batch of work from RawNode::ready(). The caller handles a Ready completely, in this order, then calls
// RawNode::advance() before asking for the next one:
//
//   1. persist `snapshot`, then `entries`, then `hard_state` — and sync if `must_sync`;
//   2. send `messages`;
//   3. apply `snapshot` to the state machine, then `committed_entries`, in order;
//   4. RawNode::advance().
//
// Persisting before sending is what makes a vote or an acknowledgement a promise (§5.1, Figure 2: "updated on
// stable storage before responding to RPCs"); entries before hard state means a crash between the two can never
// leave a commit index that points past the log. One exception is safe, and the node takes it: a leader whose
// Ready changes neither term nor vote and holds no snapshot may send before persisting (thesis §10.2.1), because
// its appends and heartbeats promise only its term and commit indexes over entries an earlier Ready persisted.
// The simulator runs that rule and checks each message sent against the synced state (tests/sim/node.cpp).
struct Ready {
  // Set when the leader or the role changed since the previous Ready. Volatile: never persisted.
  std::optional<SoftState> soft_state;

  // Set when term, vote or commit changed. Persist (after `entries`) before sending `messages`.
  std::optional<HardState> hard_state;

  // A snapshot received from the leader. Persist it first of all (it replaces the whole log: LogStorage
  // implementations drop every entry it covers) before sending `messages`, then load it into the state machine
  // before applying `committed_entries` (which then start after it).
  std::optional<Snapshot> snapshot;

  // Entries to append to stable storage, replacing any stored entries at the same and later indices (a follower's
  // log repair). Persist before sending `messages`.
  std::vector<Entry> entries;

  // Messages to send, each to `Message::to`, only after everything above is persisted and synced. Order between
  // messages does not matter for safety; the transport may drop, delay, duplicate or reorder them.
  std::vector<Message> messages;

  // Entries known to be committed (held by a majority, §5.3), to apply in order after persisting. Only committed
  // entries ever appear here; none appears twice. Some may also be in `entries` of this same Ready: persist
  // first, then apply.
  std::vector<Entry> committed_entries;

  // Whether step 1 must sync (fsync) before step 2: true when the term, the vote, the entries or the snapshot
  // changed. A change of commit alone may be written without sync (it is recomputed after a crash).
  bool must_sync = false;

  bool empty() const {
    return !soft_state && !hard_state && !snapshot && entries.empty() && messages.empty() && committed_entries.empty();
  }
};

}  // namespace onebill::consensus
