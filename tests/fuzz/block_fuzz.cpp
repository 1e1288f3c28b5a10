// Fuzz target: the ledger formats a node reads from Raft and from its peers (node/ledger/format.h) — block proposals
// (decode_block), block headers (BlockHeader::from_json) and attestations (Attestation::from_json).
//
// Input: bytes, tried as a binary block proposal and, read as JSON, as a header and an attestation. Properties
// beyond "no crash":
//   - decode(encode(block)) == block (same time, proposer, entry ids and signatures), and the encoding is unique:
//     a block that decodes encodes back to exactly the bytes it came from;
//   - a header that parses survives to_json -> from_json unchanged, and its canonical form parses as the same
//     header; its hash is the hash of that canonical form;
//   - an attestation that parses survives to_json -> from_json unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/canonical_json.h"
#include "node/ledger/format.h"
#include "tests/fuzz/fuzz_net.h"

namespace {

using nlohmann::json;
using onebill::fuzz::property_failed;
namespace ledger = onebill::ledger;
namespace crypto = onebill::crypto;

constexpr const char* kTarget = "block";

bool same(const ledger::BlockProposal& a, const ledger::BlockProposal& b) {
  if (a.time != b.time || a.proposer != b.proposer || a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    if (a.entries[i].id != b.entries[i].id || a.entries[i].sig != b.entries[i].sig ||
        a.entries[i].canonical_tx != b.entries[i].canonical_tx) {
      return false;
    }
  }
  return true;
}

bool same(const ledger::BlockHeader& a, const ledger::BlockHeader& b) { return a.to_json() == b.to_json(); }

void check_block(std::string_view text) {
  auto block = ledger::decode_block(text, crypto::HashAlg::sha256);
  if (!block) return;
  const std::string encoded = ledger::encode_block(*block);
  if (encoded.empty()) property_failed(kTarget, "a decoded block does not encode");
  auto again = ledger::decode_block(encoded, crypto::HashAlg::sha256);
  if (!again) property_failed(kTarget, "an encoded block does not decode: " + again.error().message);
  if (!same(*block, *again)) property_failed(kTarget, "decode(encode(block)) != block");
  if (ledger::encode_block(*again) != encoded) property_failed(kTarget, "encode_block is not stable");
  if (encoded != text) property_failed(kTarget, "a block that decodes does not encode back to its own bytes");
}

void check_header(const json& j) {
  auto h = ledger::BlockHeader::from_json(j);
  if (!h) {
    if (h.error().code != "bad_block") property_failed(kTarget, "header: undocumented code " + h.error().code);
    return;
  }
  auto back = ledger::BlockHeader::from_json(h->to_json());
  if (!back || !same(*h, *back)) property_failed(kTarget, "header to_json -> from_json changes it");
  const std::string canonical = h->canonical();
  auto reparsed = crypto::parse_strict(canonical);
  if (!reparsed) property_failed(kTarget, "a header's canonical form does not parse");
  auto from_canonical = ledger::BlockHeader::from_json(*reparsed);
  if (!from_canonical || !same(*h, *from_canonical)) property_failed(kTarget, "header canonical form reads back differently");
  if (h->hash_hex(crypto::HashAlg::sha256) != crypto::hex(crypto::hash(crypto::HashAlg::sha256, canonical))) {
    property_failed(kTarget, "header hash is not the hash of its canonical form");
  }
}

void check_attestation(const json& j) {
  auto a = ledger::Attestation::from_json(j);
  if (!a) return;
  auto back = ledger::Attestation::from_json(a->to_json());
  if (!back || back->to_json() != a->to_json()) property_failed(kTarget, "attestation to_json -> from_json changes it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)onebill::fuzz::FuzzNet::get();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_block(text);
  // Headers and attestations arrive as JSON inside block and peer messages; read the input as one.
  auto j = crypto::parse_strict(text);
  if (j) {
    check_header(*j);
    check_attestation(*j);
  }
  // Attestations arrive on the attest channel parsed leniently (node/node.cpp): that path too.
  json lenient = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!lenient.is_discarded()) check_attestation(lenient);
  return 0;
}
