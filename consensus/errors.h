// The error codes the consensus core returns (onebill::Error::code). Stable strings: callers may match on them.
#pragma once

#include "crypto/result.h"

namespace onebill::consensus {

// Proposals and requests refused by the core. None of these change any state.
inline constexpr const char* kErrNotLeader = "not_leader";                 // only the leader takes proposals
inline constexpr const char* kErrTransferring = "leader_transfer";         // a leadership transfer is under way
inline constexpr const char* kErrConfChangePending = "conf_change_pending";  // one membership change at a time
inline constexpr const char* kErrInvalidConfChange = "invalid_conf_change";  // would change nothing, or no voters
inline constexpr const char* kErrProposalTooLarge = "proposal_too_large";  // over kMaxEntryBytes (raw_node.h)
inline constexpr const char* kErrUnknownPeer = "unknown_peer";             // not a member of the configuration
inline constexpr const char* kErrNotVoter = "not_voter";                   // learners and non-members never campaign
inline constexpr const char* kErrBadConfig = "bad_config";                 // Config::validate
inline constexpr const char* kErrBadMessage = "bad_message";               // Message not addressed to us, or malformed

// Storage (LogStorage) error codes. kErrCompacted and kErrUnavailable are expected and handled by the core; any
// other code from a LogStorage is treated as fatal (Config::on_fatal).
inline constexpr const char* kErrCompacted = "compacted";      // the index is before the first index
inline constexpr const char* kErrUnavailable = "unavailable";  // the index is after the last index
inline constexpr const char* kErrSnapshotOutOfDate = "snapshot_out_of_date";  // older than what storage has

// The wire codec (codec.h).
inline constexpr const char* kErrDecode = "bad_encoding";

}  // namespace onebill::consensus
