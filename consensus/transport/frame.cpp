#include "consensus/transport/frame.h"

#include <algorithm>
#include <string>

namespace onebill::consensus {
namespace {

// The buffer for a partial payload starts at most this big and then grows with what arrives, so that a header
// alone never makes the decoder allocate the declared length.
constexpr std::size_t kInitialPayloadReserve = 64U * 1024U;

std::uint32_t load_be32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24U) | (static_cast<std::uint32_t>(p[1]) << 16U) |
         (static_cast<std::uint32_t>(p[2]) << 8U) | static_cast<std::uint32_t>(p[3]);
}

}  // namespace

bool is_known_channel(std::uint8_t value) { return value <= static_cast<std::uint8_t>(Channel::snapshot); }

std::string_view channel_name(Channel channel) {
  switch (channel) {
    case Channel::keepalive: return "keepalive";
    case Channel::raft: return "raft";
    case Channel::forward: return "forward";
    case Channel::attest: return "attest";
    case Channel::snapshot: return "snapshot";
  }
  return "unknown";
}

std::array<std::uint8_t, kFrameHeaderSize> encode_frame_header(Channel channel, std::uint32_t payload_size) {
  const std::uint32_t length = payload_size + 2U;
  return {static_cast<std::uint8_t>(length >> 24U), static_cast<std::uint8_t>(length >> 16U),
          static_cast<std::uint8_t>(length >> 8U),  static_cast<std::uint8_t>(length),
          kFrameVersion,                             static_cast<std::uint8_t>(channel)};
}

Status append_frame(Bytes& out, Channel channel, ByteView payload, std::uint32_t max_payload) {
  if (!is_known_channel(static_cast<std::uint8_t>(channel))) {
    return make_error("unknown_channel", "channel " + std::to_string(static_cast<unsigned>(channel)) +
                                             " is not a known channel");
  }
  const std::uint32_t limit = std::min(max_payload, kMaxFramePayloadLimit);
  if (payload.size() > limit) {
    return make_error("frame_too_large", "payload of " + std::to_string(payload.size()) +
                                             " bytes is above the frame limit of " + std::to_string(limit));
  }
  if (channel == Channel::keepalive && !payload.empty()) {
    return make_error("bad_keepalive", "a keepalive frame carries no payload");
  }
  const auto header = encode_frame_header(channel, static_cast<std::uint32_t>(payload.size()));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return {};
}

Result<Bytes> encode_frame(Channel channel, ByteView payload, std::uint32_t max_payload) {
  Bytes out;
  if (Status s = append_frame(out, channel, payload, max_payload); !s) return s.error();
  return out;
}

FrameDecoder::FrameDecoder(std::uint32_t max_payload) : max_payload_(std::min(max_payload, kMaxFramePayloadLimit)) {}

Status FrameDecoder::fail(Error error) {
  error_ = std::move(error);
  payload_.clear();
  payload_.shrink_to_fit();
  return *error_;
}

Status FrameDecoder::check_header() {
  if (header_len_ >= 4) {
    const std::uint32_t length = load_be32(header_.data());
    if (length < 2) {
      return fail(make_error("bad_frame_length", "frame length " + std::to_string(length) +
                                                     " is below 2 (version and channel)"));
    }
    if (length - 2U > max_payload_) {
      return fail(make_error("frame_too_large", "frame payload of " + std::to_string(length - 2U) +
                                                    " bytes is above the limit of " + std::to_string(max_payload_)));
    }
    payload_len_ = length - 2U;
  }
  if (header_len_ >= 5 && header_[4] != kFrameVersion) {
    return fail(make_error("bad_frame_version", "frame version " + std::to_string(header_[4]) + " (expected " +
                                                    std::to_string(kFrameVersion) + ")"));
  }
  if (header_len_ >= 6) {
    if (!is_known_channel(header_[5])) {
      return fail(make_error("unknown_channel", "unknown channel " + std::to_string(header_[5])));
    }
    if (static_cast<Channel>(header_[5]) == Channel::keepalive && payload_len_ != 0) {
      return fail(make_error("bad_keepalive", "a keepalive frame carries no payload"));
    }
  }
  return {};
}

Status FrameDecoder::feed(ByteView data, std::vector<Frame>& out) {
  if (error_) return *error_;
  std::size_t pos = 0;
  // Loop while there is input, and once more at the end so that a frame completed by its header alone (an empty
  // payload) is emitted.
  for (;;) {
    if (header_len_ < kFrameHeaderSize) {
      if (pos == data.size()) return {};
      const std::size_t take = std::min(kFrameHeaderSize - header_len_, data.size() - pos);
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos), take, header_.begin() + header_len_);
      header_len_ += take;
      pos += take;
      if (Status s = check_header(); !s) return s;
      if (header_len_ < kFrameHeaderSize) return {};  // all input consumed into a partial header
      payload_.clear();
      payload_.reserve(std::min<std::size_t>(payload_len_, kInitialPayloadReserve));
    }
    const std::size_t want = payload_len_ - payload_.size();
    const std::size_t take = std::min(want, data.size() - pos);
    payload_.insert(payload_.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                    data.begin() + static_cast<std::ptrdiff_t>(pos + take));
    pos += take;
    if (payload_.size() < payload_len_) return {};  // all input consumed into a partial payload
    out.push_back(Frame{static_cast<Channel>(header_[5]), std::move(payload_)});
    payload_ = Bytes();
    header_len_ = 0;
    payload_len_ = 0;
  }
}

}  // namespace onebill::consensus
