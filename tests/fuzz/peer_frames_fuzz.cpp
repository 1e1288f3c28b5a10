// Fuzz target: what a peer's byte stream turns into inside a node — the frame decoder
// (consensus/transport/frame.h, docs/formats/peer-frames.md) and, for each frame, the decoder of its channel as
// node/node.cpp runs it: Raft messages (consensus/codec.h), forwards (node/admission.cpp: a follower's request,
// ledger::decode_forward then contracts::envelope_from_signed per entry; a leader's answer, lenient JSON) and
// attestations (lenient JSON, then ledger::Attestation::from_json).
//
// Input: byte 0 chooses how the rest is cut into reads (as a socket would return it); the rest is the stream.
// Properties beyond "no crash":
//   - the frames and the error do not depend on how the stream is cut (whole, or in the chosen pieces);
//   - re-encoding the decoded frames gives back exactly the bytes they came from;
//   - the decoder never buffers more than the bytes it received;
//   - a Raft payload that decodes re-encodes to the same bytes (the codec has one encoding per message);
//   - a forward request whose entries all decode re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/codec.h"
#include "consensus/transport/frame.h"
#include "contracts/envelope.h"
#include "node/ledger/format.h"
#include "tests/fuzz/fuzz_net.h"

namespace {

using onebill::fuzz::property_failed;
namespace consensus = onebill::consensus;

constexpr const char* kTarget = "peer_frames";
// Small enough that the fuzzer meets frame_too_large with short inputs; the format's logic is the same at 16 MiB.
constexpr std::uint32_t kMaxPayload = 1024;

struct Decoded {
  std::vector<consensus::Frame> frames;
  std::string error;  // empty when none
};

Decoded decode(consensus::ByteView stream, std::uint8_t cut) {
  consensus::FrameDecoder decoder(kMaxPayload);
  Decoded d;
  std::size_t pos = 0;
  std::uint32_t state = cut;
  std::size_t fed = 0;
  while (pos < stream.size()) {
    std::size_t n = stream.size() - pos;
    if (cut != 0) {
      state = state * 1103515245U + 12345U;
      n = std::min<std::size_t>(n, 1 + (state >> 16U) % 13U);
    }
    onebill::Status s = decoder.feed(stream.subspan(pos, n), d.frames);
    fed += n;
    if (decoder.buffered_bytes() > fed) property_failed(kTarget, "the decoder buffered more than it received");
    if (!s) {
      d.error = s.error().code;
      onebill::Status again = decoder.feed(stream.subspan(pos, n), d.frames);
      if (again || again.error().code != d.error) property_failed(kTarget, "a failed decoder did not stay failed");
      break;
    }
    pos += n;
  }
  return d;
}

void deliver(const consensus::Frame& f) {
  switch (f.channel) {
    case consensus::Channel::raft: {
      auto m = consensus::decode(f.payload);
      if (m && consensus::encode(*m) != f.payload) property_failed(kTarget, "a Raft message re-encodes differently");
      if (m && consensus::encoded_size(*m) != f.payload.size()) property_failed(kTarget, "encoded_size is wrong");
      return;
    }
    case consensus::Channel::forward: {
      std::string_view bytes(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
      if (!bytes.starts_with(onebill::ledger::kForwardMagic)) {  // a leader's answer
        (void)nlohmann::json::parse(bytes, nullptr, false);
        return;
      }
      auto request = onebill::ledger::decode_forward(bytes);
      if (!request) return;
      std::vector<onebill::contracts::Envelope> entries;
      for (const auto& item : request->entries) {
        auto e = onebill::contracts::envelope_from_signed(
            item.tx, onebill::crypto::Bytes(item.sig.begin(), item.sig.end()), onebill::crypto::HashAlg::sha256);
        if (!e) return;
        entries.push_back(std::move(*e));
      }
      if (onebill::ledger::encode_forward(request->request, entries) != bytes) {
        property_failed(kTarget, "a forward request re-encodes differently");
      }
      return;
    }
    case consensus::Channel::attest: {
      auto j = nlohmann::json::parse(f.payload.begin(), f.payload.end(), nullptr, false);
      (void)onebill::ledger::Attestation::from_json(j);
      return;
    }
    default:  // keepalives, and channels whose payloads the node hands on without decoding here
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  consensus::ByteView stream(data + 1, size - 1);
  Decoded whole = decode(stream, 0);
  Decoded pieces = decode(stream, data[0]);
  if (whole.frames != pieces.frames || whole.error != pieces.error) {
    property_failed(kTarget, "the result depends on how the stream is cut");
  }
  consensus::Bytes reencoded;
  for (const auto& f : whole.frames) {
    if (auto s = consensus::append_frame(reencoded, f.channel, f.payload, kMaxPayload); !s) {
      property_failed(kTarget, "a decoded frame does not encode: " + s.error().code);
    }
  }
  if (reencoded.size() > stream.size() || !std::equal(reencoded.begin(), reencoded.end(), stream.begin())) {
    property_failed(kTarget, "re-encoded frames differ from the bytes they came from");
  }
  for (const auto& f : whole.frames) deliver(f);
  return 0;
}
