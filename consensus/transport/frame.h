// The peer wire format: length-prefixed binary frames, documented to the byte in docs/formats/peer-frames.md.
//
//   u32 big-endian  length   number of bytes that follow: 2 + payload size
//   u8              version  kFrameVersion (1)
//   u8              channel  a Channel value
//   length - 2      payload  opaque to the transport; its format belongs to the channel's owner
//
// Encoding and decoding are pure (no I/O) and never throw. The decoder is incremental: feed it whatever the socket
// returned, in pieces of any size, and it hands back each frame once complete. A malformed header is detected as
// soon as the bytes that show it have arrived (an oversized length after 4 bytes, before any of the body is
// buffered), and it is final: the connection carrying it must be closed, since the stream can no longer be
// resynchronised.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/result.h"

namespace onebill::consensus {

using Bytes = std::vector<std::uint8_t>;  // the same alias as consensus/types.h
using ByteView = std::span<const std::uint8_t>;

// What a frame carries. The numeric values are part of the wire format: never renumber.
enum class Channel : std::uint8_t {
  keepalive = 0,  // transport-internal: empty payload, sent on an idle connection, never delivered
  raft = 1,       // Raft messages, encoded by the core (consensus/codec.h)
  forward = 2,    // a follower forwarding a client submission to the leader, and the leader's answer (node/)
  attest = 3,     // block header attestations (node/)
  snapshot = 4,   // state snapshot content, fetched in chunks by a node installing a snapshot (node/)
};

inline constexpr std::uint8_t kFrameVersion = 1;
inline constexpr std::size_t kFrameHeaderSize = 6;  // length (4) + version (1) + channel (1)
// Default largest payload: 16 MiB. Raft batches and snapshot chunks are sized by the core below this; anything
// bigger must be chunked by its sender. The limit is per transport (TransportOptions::max_frame_payload).
inline constexpr std::uint32_t kDefaultMaxFramePayload = 16U * 1024U * 1024U;
// The largest limit that can be configured: the length field counts version and channel too.
inline constexpr std::uint32_t kMaxFramePayloadLimit = 0xFFFFFFFFU - 2U;

// True for the channel values defined above.
bool is_known_channel(std::uint8_t value);
// "keepalive", "raft", "forward", "attest"; "unknown" otherwise.
std::string_view channel_name(Channel channel);

// The 6-byte header of a frame with `payload_size` bytes of payload. The caller checks the size against its limit.
std::array<std::uint8_t, kFrameHeaderSize> encode_frame_header(Channel channel, std::uint32_t payload_size);

// Appends one whole frame to `out`. Errors: "frame_too_large" (payload above `max_payload`), "unknown_channel"
// (a value outside the enum), "bad_keepalive" (a keepalive with a payload). `out` is unchanged on error.
Status append_frame(Bytes& out, Channel channel, ByteView payload,
                    std::uint32_t max_payload = kDefaultMaxFramePayload);
// The same into a new buffer.
Result<Bytes> encode_frame(Channel channel, ByteView payload, std::uint32_t max_payload = kDefaultMaxFramePayload);

struct Frame {
  Channel channel = Channel::raft;
  Bytes payload;

  friend bool operator==(const Frame&, const Frame&) = default;
};

// Incremental decoder for one connection's byte stream.
//
// Errors (Error::code), each final:
//   "bad_frame_length"  the length field is below 2 (it must cover version and channel)
//   "frame_too_large"   the payload would exceed max_payload
//   "bad_frame_version" the version byte is not kFrameVersion
//   "unknown_channel"   the channel byte is not a Channel value
//   "bad_keepalive"     a keepalive frame with a payload
// Memory: at most one partial frame is buffered, and its buffer grows with the bytes actually received, never
// ahead of them up to the declared length. Not thread-safe; one decoder per connection.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_payload = kDefaultMaxFramePayload);

  // Consumes `data`, appending every frame it completes to `out` (keepalives included: the caller skips them).
  // On the first malformed header, returns its error; frames completed before it are already in `out`, the rest
  // of `data` is ignored, and every later call returns the same error without consuming anything.
  Status feed(ByteView data, std::vector<Frame>& out);

  // True when no partial frame is buffered: a clean point for the stream to end.
  bool at_boundary() const { return header_len_ == 0; }
  // Bytes of the current partial frame held so far (header included).
  std::size_t buffered_bytes() const { return header_len_ + payload_.size(); }
  bool failed() const { return error_.has_value(); }
  std::uint32_t max_payload() const { return max_payload_; }

 private:
  Status fail(Error error);
  Status check_header();  // validates what has arrived of the header so far

  std::uint32_t max_payload_;
  std::array<std::uint8_t, kFrameHeaderSize> header_{};
  std::size_t header_len_ = 0;     // header bytes received for the current frame
  std::uint32_t payload_len_ = 0;  // valid once the header is complete
  Bytes payload_;
  std::optional<Error> error_;
};

}  // namespace onebill::consensus
