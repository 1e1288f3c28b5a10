// RawNode: the public face of the Raft core. Feed it time (tick), messages (step), proposals and requests; take
// the work it asks for (ready), do it, and say so (advance). See docs/consensus.md for the whole picture.
//
//   auto node = RawNode::create(config, storage);             // storage: a LogStorage the caller also writes
//   loop:
//     node->tick() every tick interval; node->step(decode(bytes)) for each message received;
//     node->propose(bytes) for each block to order;
//     if (node->has_ready()) {
//       Ready rd = node->ready();
//       persist rd.snapshot, rd.entries, rd.hard_state (sync if rd.must_sync); send rd.messages;
//       apply rd.snapshot and rd.committed_entries; node->advance();
//     }
//
// Ownership: the RawNode keeps a reference to the LogStorage, which must outlive it. Thread-safety: none — a
// RawNode and its storage are driven from one thread (or under one lock); it never blocks, sleeps, reads a clock,
// does I/O or draws randomness other than from Config::random. Errors are values (onebill::Status); the only
// exceptions that can pass through are std::bad_alloc and whatever Config::on_fatal throws.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "consensus/conf_change.h"
#include "consensus/config.h"
#include "consensus/message.h"
#include "consensus/ready.h"
#include "consensus/storage.h"
#include "crypto/result.h"

namespace onebill::consensus {

namespace detail {
class Raft;
}  // namespace detail

// The largest payload propose() accepts (so that any append fits in kMaxMessageBytes).
inline constexpr std::uint64_t kMaxEntryBytes = 16u << 20;

// What a leader knows of one member's log (RaftStatus::progress).
struct PeerStatus {
  Index match = 0;
  Index next = 0;
  const char* state = "";  // "probe", "replicate" or "snapshot"
  bool learner = false;
  std::size_t inflight = 0;
};

struct RaftStatus {
  NodeId id = kNoNode;
  Role role = Role::kFollower;
  NodeId lead = kNoNode;
  HardState hard_state;  // term, vote, commit (as the core has it, persisted or not)
  Index applied = 0;
  Index first_index = 0;
  Index last_index = 0;
  Term last_term = 0;
  ConfState conf;
  NodeId lead_transferee = kNoNode;
  std::map<NodeId, PeerStatus> progress;  // leader only
};

class RawNode {
 public:
  // kErrBadConfig if `config` is invalid or disagrees with `storage` (applied before the snapshot or past the
  // log). The node starts as a follower in the stored term, knowing no leader.
  static Result<RawNode> create(const Config& config, const LogStorage& storage);

  RawNode(RawNode&&) noexcept;
  RawNode& operator=(RawNode&&) noexcept;
  ~RawNode();

  // Advances logical time by one tick: may start an election (follower, candidate) or send heartbeats and run the
  // check-quorum round (leader).
  void tick();

  // Starts an election now (pre-vote first if configured). kErrNotVoter for learners and non-members. A leader
  // ignores it.
  Status campaign();

  // Proposes one entry / several entries at once. Leader only (kErrNotLeader says who leads, if known). The
  // entries are appended to the leader's log at once and travel in the next Ready, so proposals made between two
  // Readys go out together (batching). Refused while a leadership transfer runs (kErrTransferring) and for a
  // payload over kMaxEntryBytes (kErrProposalTooLarge). Success means appended, not committed: watch
  // committed_entries, and be ready to propose again after a leader change (the entry may be lost).
  Status propose(Bytes data);
  Status propose_batch(std::vector<Bytes> payloads);

  // Proposes a membership change (conf_change.h). Besides the above: kErrConfChangePending while another change
  // (or this leader's first entry) is uncommitted, kErrInvalidConfChange if it would change nothing or remove
  // the last voter. The change takes effect on the leader at once, and on each member as it appends the entry.
  Status propose_conf_change(const ConfChange& change);

  // Hands leadership to voter `to` (thesis §3.10): the leader stops taking proposals, brings `to` up to date and
  // tells it to campaign. Gives up after an election timeout. Leader only.
  Status transfer_leadership(NodeId to);

  // A message from a peer (decoded by codec.h). kErrBadMessage if it is not addressed to this node or is
  // malformed (append entries not consecutive after `index`, terms out of order); it is then ignored.
  Status step(const Message& msg);

  // Whether ready() would return anything.
  bool has_ready() const;
  // The work to do now; see Ready for the order. Call advance() after carrying it out, before the next ready().
  Ready ready();
  // The previous Ready was carried out (persisted, sent, applied).
  void advance();

  RaftStatus status() const;
  // The configuration in effect after the entry at `index` (for the application's snapshots: pass the snapshot's
  // index to MemoryStorage::create_snapshot), or nothing if `index` precedes what the core remembers (the
  // snapshot it started from or last installed).
  std::optional<ConfState> conf_state_at(Index index) const;

 private:
  RawNode(std::unique_ptr<detail::Raft> raft, std::uint64_t max_committed_bytes);
  void after_call();

  std::unique_ptr<detail::Raft> raft_;
  std::uint64_t max_committed_bytes_;
  SoftState prev_soft_;
  HardState prev_hard_;
  // What the outstanding Ready handed out, for advance().
  bool ready_outstanding_ = false;
  Index ready_last_entry_index_ = 0;
  Term ready_last_entry_term_ = 0;
  Index ready_snapshot_index_ = 0;
  Index ready_last_committed_ = 0;
};

}  // namespace onebill::consensus
