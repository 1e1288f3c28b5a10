// The peer frame codec (consensus/transport/frame.h, docs/formats/peer-frames.md): round trips, every malformed
// header, and input split at every possible point.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "consensus/transport/frame.h"

using namespace onebill::consensus;
using onebill::Status;

namespace {

Bytes pattern(std::size_t n, std::uint8_t seed = 1) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7U);
  return b;
}

Bytes frame(Channel c, const Bytes& payload, std::uint32_t max = kDefaultMaxFramePayload) {
  auto r = encode_frame(c, payload, max);
  REQUIRE(r.ok());
  return *r;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("frame header is a big-endian length then version then channel", "[frame]") {
  const Bytes f = frame(Channel::forward, Bytes{0xAA, 0xBB, 0xCC});
  CHECK(f == Bytes{0x00, 0x00, 0x00, 0x05, 0x01, 0x02, 0xAA, 0xBB, 0xCC});
  const auto h = encode_frame_header(Channel::attest, 0x01020304);
  CHECK(h == std::array<std::uint8_t, 6>{0x01, 0x02, 0x03, 0x06, 0x01, 0x03});
  CHECK(frame(Channel::keepalive, {}) == Bytes{0, 0, 0, 2, 1, 0});
  CHECK(frame(Channel::raft, {}) == Bytes{0, 0, 0, 2, 1, 1});
}

TEST_CASE("channel names and known values", "[frame]") {
  CHECK(channel_name(Channel::raft) == "raft");
  CHECK(channel_name(Channel::forward) == "forward");
  CHECK(channel_name(Channel::attest) == "attest");
  CHECK(channel_name(Channel::snapshot) == "snapshot");
  CHECK(channel_name(Channel::keepalive) == "keepalive");
  CHECK(channel_name(static_cast<Channel>(9)) == "unknown");
  for (unsigned v = 0; v < 256; ++v) CHECK(is_known_channel(static_cast<std::uint8_t>(v)) == (v <= 4));
}

TEST_CASE("encoding refuses what the decoder would refuse", "[frame]") {
  auto big = encode_frame(Channel::raft, pattern(11), 10);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == "frame_too_large");
  CHECK(encode_frame(Channel::raft, pattern(10), 10).ok());
  auto unknown = encode_frame(static_cast<Channel>(5), {});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == "unknown_channel");
  auto ka = encode_frame(Channel::keepalive, pattern(1));
  REQUIRE_FALSE(ka.ok());
  CHECK(ka.error().code == "bad_keepalive");
  Bytes out{9};
  CHECK_FALSE(append_frame(out, Channel::raft, pattern(11), 10).ok());
  CHECK(out == Bytes{9});  // unchanged on error
}

TEST_CASE("round trip of several frames in one feed", "[frame]") {
  const std::vector<Frame> sent = {{Channel::raft, pattern(100)},
                                   {Channel::forward, {}},
                                   {Channel::keepalive, {}},
                                   {Channel::attest, pattern(70000, 3)},
                                   {Channel::raft, pattern(1, 9)}};
  Bytes stream;
  for (const auto& f : sent) REQUIRE(append_frame(stream, f.channel, f.payload).ok());
  FrameDecoder d;
  std::vector<Frame> got;
  REQUIRE(d.feed(stream, got).ok());
  CHECK(got == sent);
  CHECK(d.at_boundary());
  CHECK(d.buffered_bytes() == 0);
}

TEST_CASE("input split at every byte boundary decodes the same", "[frame]") {
  const std::vector<Frame> sent = {{Channel::raft, pattern(17)}, {Channel::attest, {}}, {Channel::forward, pattern(5)}};
  Bytes stream;
  for (const auto& f : sent) REQUIRE(append_frame(stream, f.channel, f.payload).ok());

  SECTION("one byte at a time") {
    FrameDecoder d;
    std::vector<Frame> got;
    for (std::size_t i = 0; i < stream.size(); ++i) {
      REQUIRE(d.feed(ByteView(&stream[i], 1), got).ok());
      CHECK(d.buffered_bytes() <= stream.size());
    }
    CHECK(got == sent);
    CHECK(d.at_boundary());
  }
  SECTION("every two-way split") {
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      FrameDecoder d;
      std::vector<Frame> got;
      REQUIRE(d.feed(ByteView(stream.data(), cut), got).ok());
      REQUIRE(d.feed(ByteView(stream.data() + cut, stream.size() - cut), got).ok());
      CHECK(got == sent);
    }
  }
  SECTION("empty feeds change nothing") {
    FrameDecoder d;
    std::vector<Frame> got;
    REQUIRE(d.feed({}, got).ok());
    CHECK(got.empty());
    CHECK(d.at_boundary());
  }
}

TEST_CASE("short input is incomplete and not an error", "[frame]") {
  const Bytes f = frame(Channel::raft, pattern(10));
  for (std::size_t n = 1; n < f.size(); ++n) {
    FrameDecoder d;
    std::vector<Frame> got;
    REQUIRE(d.feed(ByteView(f.data(), n), got).ok());
    CHECK(got.empty());
    CHECK_FALSE(d.at_boundary());
    CHECK(d.buffered_bytes() == n);
    CHECK_FALSE(d.failed());
  }
}

TEST_CASE("malformed headers fail as soon as they show and stay failed", "[frame]") {
  struct Case {
    const char* name;
    Bytes bytes;
    std::size_t fails_after;  // bytes needed to see the problem
    const char* code;
  };
  const std::vector<Case> cases = {
      {"length 0", {0, 0, 0, 0, 1, 1}, 4, "bad_frame_length"},
      {"length 1", {0, 0, 0, 1, 1}, 4, "bad_frame_length"},
      {"oversized by one", {0, 0, 0x04, 0x03, 1, 1}, 4, "frame_too_large"},  // 1024 + 1 payload, limit 1024
      {"length 0xFFFFFFFF", {0xFF, 0xFF, 0xFF, 0xFF}, 4, "frame_too_large"},
      {"version 0", {0, 0, 0, 2, 0, 1}, 5, "bad_frame_version"},
      {"version 2", {0, 0, 0, 3, 2, 1, 7}, 5, "bad_frame_version"},
      {"version 0xFF", {0, 0, 0, 2, 0xFF}, 5, "bad_frame_version"},
      {"channel 5", {0, 0, 0, 2, 1, 5}, 6, "unknown_channel"},
      {"channel 0xFF", {0, 0, 0, 3, 1, 0xFF, 0}, 6, "unknown_channel"},
      {"keepalive with payload", {0, 0, 0, 3, 1, 0, 0x55}, 6, "bad_keepalive"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    SECTION(std::string("all at once: ") + c.name) {
      FrameDecoder d(1024);
      std::vector<Frame> got;
      const Status s = d.feed(c.bytes, got);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().code == c.code);
      CHECK(got.empty());
      CHECK(d.failed());
      // Final: valid input afterwards is refused with the same error.
      const Bytes good = frame(Channel::raft, pattern(3));
      const Status again = d.feed(good, got);
      REQUIRE_FALSE(again.ok());
      CHECK(again.error().code == c.code);
      CHECK(got.empty());
    }
    SECTION(std::string("byte by byte: ") + c.name) {
      FrameDecoder d(1024);
      std::vector<Frame> got;
      std::size_t failed_at = 0;
      for (std::size_t i = 0; i < c.bytes.size(); ++i) {
        const Status s = d.feed(ByteView(&c.bytes[i], 1), got);
        if (!s.ok()) {
          CHECK(s.error().code == c.code);
          failed_at = i + 1;
          break;
        }
      }
      CHECK(failed_at == c.fails_after);
    }
  }
}

TEST_CASE("frames before a malformed one are delivered and bytes after it are not", "[frame]") {
  const Bytes stream = concat({frame(Channel::raft, pattern(4)), frame(Channel::attest, pattern(2)),
                               Bytes{0, 0, 0, 2, 9, 1}, frame(Channel::raft, pattern(4))});
  FrameDecoder d;
  std::vector<Frame> got;
  const Status s = d.feed(stream, got);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "bad_frame_version");
  REQUIRE(got.size() == 2);
  CHECK(got[0] == Frame{Channel::raft, pattern(4)});
  CHECK(got[1] == Frame{Channel::attest, pattern(2)});
}

TEST_CASE("payload exactly at the limit is accepted and one more byte is not", "[frame]") {
  const std::uint32_t limit = 4096;
  FrameDecoder d(limit);
  std::vector<Frame> got;
  REQUIRE(d.feed(frame(Channel::raft, pattern(limit), limit), got).ok());
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload == pattern(limit));

  FrameDecoder d2(limit);
  Bytes over = frame(Channel::raft, pattern(limit + 1), limit + 1);
  const Status s = d2.feed(ByteView(over.data(), 4), got);  // the length alone shows it
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "frame_too_large");
}

TEST_CASE("a declared large frame does not make the decoder allocate ahead of the bytes", "[frame]") {
  FrameDecoder d;  // 16 MiB limit
  std::vector<Frame> got;
  const auto header = encode_frame_header(Channel::raft, kDefaultMaxFramePayload);
  REQUIRE(d.feed(header, got).ok());
  CHECK(d.buffered_bytes() == kFrameHeaderSize);
  const Bytes chunk = pattern(1000);
  REQUIRE(d.feed(chunk, got).ok());
  CHECK(d.buffered_bytes() == kFrameHeaderSize + 1000);
  CHECK(got.empty());
}

TEST_CASE("the default limit is 16 MiB and a maximal frame round-trips in uneven pieces", "[frame]") {
  CHECK(kDefaultMaxFramePayload == 16U * 1024U * 1024U);
  const Bytes payload = pattern(kDefaultMaxFramePayload, 5);
  const Bytes f = frame(Channel::raft, payload);
  FrameDecoder d;
  std::vector<Frame> got;
  std::size_t pos = 0;
  std::size_t step = 1;
  while (pos < f.size()) {
    const std::size_t n = std::min(step, f.size() - pos);
    REQUIRE(d.feed(ByteView(f.data() + pos, n), got).ok());
    pos += n;
    step = step * 3 + 1;  // 1, 4, 13, ... bytes: splits inside the header and the payload
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0].channel == Channel::raft);
  CHECK(got[0].payload == payload);
}
