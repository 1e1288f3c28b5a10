// The messages Raft nodes exchange. A plain struct: which fields mean something depends on `type` (see below);
// the others are zero. The wire encoding is in codec.h.
#pragma once

#include <cstdint>
#include <vector>

#include "consensus/types.h"

namespace onebill::consensus {

// The numeric values are part of the wire format (codec.h): never renumber, only append.
enum class MessageType : std::uint8_t {
  // Leader → follower: replicate `entries` after (index, log_term); `commit` is the leader's commit index (§5.3).
  kAppend = 0,
  // Follower → leader. Success: `index` is the follower's last index known to match the leader. Reject: `index` is
  // the rejected AppendEntries' index, `reject_hint` the follower's guess of the last index that could match and
  // `log_term` the follower's term at that index (fast back-off, §5.3 "the protocol can be optimized").
  kAppendResponse = 1,
  // Candidate → voter: vote for `from` in `term`; (index, log_term) is the candidate's last entry (§5.2, §5.4.1).
  // `context` is kCampaignTransfer when the campaign follows a leadership transfer (it then ignores leases).
  kVote = 2,
  // `reject` says whether the vote was refused. A refusal's `reject_hint` is the node the voter backs — its leader,
  // else the candidate it last granted; 0 if none or if the refuser is no voter — which a voter that does not know
  // that node as a voter yet takes on the word of a voter it knows (raft_admission.cpp).
  kVoteResponse = 3,
  // Pre-candidate → voter: "would you vote for me in `term`?" (thesis §9.6). Changes no term and no vote.
  kPreVote = 4,
  // `term` is the term asked about when granted, the voter's own term when refused; `reject_hint` as for kVoteResponse.
  kPreVoteResponse = 5,
  // Leader → follower: "I am still leader"; `commit` is min(follower's match, leader's commit).
  kHeartbeat = 6,
  kHeartbeatResponse = 7,
  // Leader → follower: one chunk of InstallSnapshot (§7): `snapshot` is the metadata, `snapshot_offset` where
  // `snapshot_data` starts in the whole snapshot, `snapshot_done` marks the last chunk.
  kSnapshot = 8,
  // Follower → leader: chunks received so far for the snapshot at `index`: `snapshot_offset` is how many bytes the
  // follower holds; the leader continues from there. (Once the snapshot is installed the follower answers with a
  // kAppendResponse instead.)
  kSnapshotResponse = 9,
  // Leader → transfer target: campaign now, without waiting for an election timeout (thesis §3.10).
  kTimeoutNow = 10,
};

inline constexpr std::uint8_t kMaxMessageType = static_cast<std::uint8_t>(MessageType::kTimeoutNow);

const char* to_string(MessageType type);

// The context of a vote request that follows a leadership transfer.
inline const Bytes kCampaignTransfer = {'t', 'r', 'a', 'n', 's', 'f', 'e', 'r'};

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  Term log_term = 0;
  Index index = 0;
  std::vector<Entry> entries;
  Index commit = 0;
  bool reject = false;
  Index reject_hint = 0;
  // InstallSnapshot chunk fields (kSnapshot, kSnapshotResponse).
  SnapshotMeta snapshot;
  std::uint64_t snapshot_offset = 0;
  Bytes snapshot_data;
  bool snapshot_done = false;
  Bytes context;

  friend bool operator==(const Message&, const Message&) = default;
};

// Whether a message is a response that the receiver only needs if it is still in the term it asked in.
inline bool is_response(MessageType type) {
  return type == MessageType::kAppendResponse || type == MessageType::kVoteResponse ||
         type == MessageType::kPreVoteResponse || type == MessageType::kHeartbeatResponse ||
         type == MessageType::kSnapshotResponse;
}

}  // namespace onebill::consensus
