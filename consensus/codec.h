// The binary encoding of Message, for the transport to frame. Documented to the byte in docs/consensus.md
// ("Message format"); summary:
//
//   u8  version (kCodecVersion)     u8  type (MessageType)          u8  flags (bit 0 reject, bit 1 snapshot_done)
//   u64 from, to, term, log_term, index, commit, reject_hint
//   u32 entry count, then per entry: u64 term, u64 index, u8 type (EntryType), u32 length, data bytes
//   u64 snapshot.index, u64 snapshot.term, u32 voter count + u64 each, u32 learner count + u64 each
//   u64 snapshot_offset, u32 length + snapshot_data bytes, u32 length + context bytes
//
// All integers little-endian and fixed width; byte strings length-prefixed; nothing may follow the last field.
// decode() never reads out of bounds, never allocates more than the input's size justifies, and answers every
// malformed input (short, long, unknown version/type/flag bits, unsorted or overlapping member lists, input
// over kMaxMessageBytes) with an Error whose code is kErrDecode.
//
// Thread-safety: both functions are pure and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "consensus/message.h"
#include "crypto/result.h"

namespace onebill::consensus {

inline constexpr std::uint8_t kCodecVersion = 1;

// The largest encoded message decode() accepts. The core keeps its messages far below it when Config limits are
// sane (Config::validate checks max_size_per_msg and snapshot_chunk_bytes against it).
inline constexpr std::size_t kMaxMessageBytes = 64u << 20;

// The exact number of bytes encode(msg) produces.
std::size_t encoded_size(const Message& msg);

Bytes encode(const Message& msg);
Result<Message> decode(std::span<const std::uint8_t> bytes);

}  // namespace onebill::consensus
