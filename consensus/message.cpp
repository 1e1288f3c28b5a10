#include "consensus/message.h"

namespace onebill::consensus {

const char* to_string(MessageType type) {
  switch (type) {
    case MessageType::kAppend: return "append";
    case MessageType::kAppendResponse: return "append-response";
    case MessageType::kVote: return "vote";
    case MessageType::kVoteResponse: return "vote-response";
    case MessageType::kPreVote: return "pre-vote";
    case MessageType::kPreVoteResponse: return "pre-vote-response";
    case MessageType::kHeartbeat: return "heartbeat";
    case MessageType::kHeartbeatResponse: return "heartbeat-response";
    case MessageType::kSnapshot: return "snapshot";
    case MessageType::kSnapshotResponse: return "snapshot-response";
    case MessageType::kTimeoutNow: return "timeout-now";
  }
  return "unknown";
}

}  // namespace onebill::consensus
