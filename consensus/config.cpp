#include "consensus/config.h"

#include "consensus/codec.h"
#include "consensus/errors.h"

namespace onebill::consensus {

Status validate(const Config& config) {
  auto bad = [](const char* what) { return Status(make_error(kErrBadConfig, what)); };
  if (config.id == kNoNode) return bad("id must not be 0");
  if (config.heartbeat_tick <= 0) return bad("heartbeat_tick must be positive");
  if (config.election_tick <= config.heartbeat_tick) return bad("election_tick must be greater than heartbeat_tick");
  if (config.max_inflight_msgs == 0) return bad("max_inflight_msgs must be positive");
  if (config.max_size_per_msg == 0 || config.max_size_per_msg > kMaxMessageBytes / 4) {
    return bad("max_size_per_msg must be in (0, kMaxMessageBytes / 4]");
  }
  if (config.snapshot_chunk_bytes == 0 || config.snapshot_chunk_bytes > kMaxMessageBytes / 4) {
    return bad("snapshot_chunk_bytes must be in (0, kMaxMessageBytes / 4]");
  }
  if (config.max_committed_bytes_per_ready == 0) return bad("max_committed_bytes_per_ready must be positive");
  return Status::success();
}

}  // namespace onebill::consensus
