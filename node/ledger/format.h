// The ledger formats shared by the node and the clients (the offline verifier): block proposals, block headers,
// attestations and their hashes. Built as its own library (onebill::ledger_format) so a verifier links it
// without any node code. Byte-level description: docs/formats/block.md.
//
// Everything hashed or signed is RFC 8785 canonical JSON (crypto/canonical_json.h) hashed with the network's
// hash function from genesis.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/envelope.h"
#include "contracts/state.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/result.h"

namespace onebill::ledger {

// What one Raft entry carries: a block proposal {"time", "proposer", "entries"}. `time` is the proposer's clock in
// ms since the Unix epoch. The block's height, its `prev` link and its effective time are assigned when the
// committed entry is applied, in Raft order: height = previous height + 1, time = max(proposal time, previous
// block's time). A leader cannot assign heights itself: proposals of an earlier leader may still be in flight in
// the log it inherits (docs/formats/block.md).
struct BlockProposal {
  std::int64_t time = 0;
  std::string proposer;  // node id
  std::vector<contracts::Envelope> entries;
};

// Limits on a block as it travels (Raft entry) and is parsed back.
inline constexpr std::size_t kMaxBlockBytes = 64u << 20;
inline constexpr int kMaxBlockDepth = 40;

// Signed entries as blocks and forwards carry them (docs/formats/block.md §2): for each entry
// u32be(length) ‖ canonical(tx) ‖ u16be(length) ‖ raw signature — the signed bytes themselves, so a receiver
// hashes and verifies exactly what was signed and never re-encodes a tx it only passes on.
struct SignedEntryView {
  std::string_view tx;   // claimed canonical(tx); contracts::envelope_from_signed checks it
  std::string_view sig;  // raw signature bytes
};
inline constexpr std::size_t kMaxEntryTxBytes = 1u << 20;  // the strict parser's limit for a whole envelope
void append_entry(std::string& out, const contracts::Envelope& e);
// Splits `count` entries off the front of `in` (advancing it). Framing only: "bad_entries" when a length runs past
// the end, a tx is empty or over kMaxEntryTxBytes, or a signature is empty.
Result<std::vector<SignedEntryView>> split_entries(std::string_view& in, std::uint32_t count);

// A follower's forward of submissions to the leader (docs/formats/peer-frames.md): "OBF1" ‖ u64be(request id)
// ‖ u32be(entry count) ‖ the entries. Framing errors: "bad_entries".
inline constexpr std::string_view kForwardMagic = "OBF1";
std::string encode_forward(std::uint64_t request, const std::vector<contracts::Envelope>& entries);
struct ForwardView {
  std::uint64_t request = 0;
  std::vector<SignedEntryView> entries;  // views into the bytes decoded
};
Result<ForwardView> decode_forward(std::string_view bytes);

// A proposal's bytes: "OBP1" ‖ u64be(time) ‖ u16be(length) ‖ proposer ‖ u32be(entry count) ‖ the entries.
std::string encode_block(const BlockProposal& block);
// Errors: "bad_block" naming what is wrong, or "bad_block" with the entry's position and the envelope error of an
// entry that is not a well-formed canonical envelope (contracts::envelope_from_signed). Any of these makes the whole
// block bad: a leader that proposes one is faulty, and every honest node refuses it the same way.
//
// `known`, when given, may hand over an envelope this node already parsed from the very same signed bytes and
// signature (a follower's own submissions, forwarded to the leader): it must return one only when its canonical_tx
// and sig are exactly `tx` and `sig`, and the entry is then taken as it is instead of parsed again (the same
// envelope either way: envelope_from_signed of those bytes).
using KnownEnvelopes = std::function<std::optional<contracts::Envelope>(std::string_view tx, std::string_view sig)>;
Result<BlockProposal> decode_block(std::string_view bytes, crypto::HashAlg alg, const KnownEnvelopes* known = nullptr);

// The outcome of one entry as recorded in a block's results.
// `reads` is the hash (contracts::digest_writes) of what the entry read from the state before it
// (contracts::Outcome::reads): certifying the result certifies the reads, so an auditor can replay the entry from
// them (docs/audit.md).
// `index` is the entry's position in its block, so a result leaf proves its own position whatever tree size a
// proof claims.
struct EntryResult {
  std::string id;
  bool accepted = false;
  std::string reason;  // empty when accepted
  std::string reads;   // hex digest
  std::uint64_t index = 0;
  nlohmann::json to_json() const;  // {"id","index","reads","status":"accepted"|"rejected","reason"?}
  std::string canonical() const;   // canonical(to_json()), RFC 8785
};

// The Merkle leaf of a result in its block's result_root: leaf_hash(canonical(result.to_json())).
crypto::Digest result_leaf(crypto::HashAlg alg, const EntryResult& result);
// The hash recorded as EntryResult::reads.
std::string reads_hash(crypto::HashAlg alg, const contracts::ReadSet& reads);
// A read set as JSON: {key: value string, or null when the key was absent}.
nlohmann::json reads_to_json(const contracts::ReadSet& reads);
// reads_to_json(reads).dump(), written without building the tree.
std::string reads_text(const contracts::ReadSet& reads);
Result<contracts::ReadSet> reads_from_json(const nlohmann::json& j);

// The block header (ARCHITECTURE.md "Blocks, results, the log and certificates"), plus `writes_hash`, the hash of
// the state changes the block made (contracts::digest_writes), so two nodes whose state diverged disagree on the
// header even when their outcomes agree, and the root of the document state tree after the block (state_size,
// state_root), which an audit bundle proves its documents' states against.
struct BlockHeader {
  std::int64_t height = 0;
  std::string prev;
  std::int64_t time = 0;
  std::string tx_root;      // RFC 6962 root over leaf_hash(tx id bytes) of every entry, in block order
  std::string result_root;  // RFC 6962 root over leaf_hash(canonical(EntryResult)) in block order
  std::uint64_t log_size = 0;  // size of the network-wide log of accepted tx ids after this block
  std::string log_root;
  std::string membership_hash;  // membership in force at the end of the block
  std::string writes_hash;
  std::uint64_t state_size = 0;  // documents in the document state tree after this block (node/ledger/state_tree.h)
  std::string state_root;        // its RFC 6962 root

  nlohmann::json to_json() const;
  static Result<BlockHeader> from_json(const nlohmann::json& j);
  std::string canonical() const;
  std::string hash_hex(crypto::HashAlg alg) const;
};

// A block record as block apply stores it (b/{height}, docs/storage.md §1): the header, its hash and the entries'
// results in block order (besides `raft_index` and `proposer`, which no reader here needs).
struct BlockRecord {
  BlockHeader header;
  std::string hash;
  std::vector<EntryResult> results;
};
// Reads a stored block record and checks what it can alone: the header is well-formed and hashes to `hash`, and
// each result is well-formed and at its index. Errors: "bad_block" naming what is wrong.
Result<BlockRecord> parse_block_record(std::string_view text, crypto::HashAlg alg);

std::string tx_root(crypto::HashAlg alg, const std::vector<std::string>& tx_ids_hex);
std::string result_root(crypto::HashAlg alg, const std::vector<EntryResult>& results);
// The log leaf of an accepted entry: leaf_hash(raw tx id bytes).
crypto::Digest log_leaf(crypto::HashAlg alg, const std::string& tx_id_hex);

// A voting node's signature over a header hash, with its node key (the key genesis lists as the node's tls_pub).
// The signed message is the ASCII text "onebill attestation v1\n" + network + "\n" + height + "\n" + header hash.
struct Attestation {
  std::int64_t height = 0;
  std::string header_hash;
  std::string node;
  std::string sig;  // base64

  nlohmann::json to_json() const;
  static Result<Attestation> from_json(const nlohmann::json& j);
};

std::string attestation_message(const std::string& network, std::int64_t height, const std::string& header_hash);
Result<Attestation> attest(const crypto::PrivateKey& node_key, const std::string& node_id, const std::string& network,
                           std::int64_t height, const std::string& header_hash);
bool verify_attestation(const crypto::PublicKey& node_key, const std::string& network, const Attestation& a);

// The genesis hash (chain id): hash of the canonical form of genesis.json.
Result<std::string> genesis_hash(std::string_view genesis_text, crypto::HashAlg alg);

}  // namespace onebill::ledger
