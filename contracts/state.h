// Ledger state as the contracts see it: a key-value view, the writes an entry makes, and the key layout.
//
// The node backs StateView with LevelDB, the offline verifier and the tests with MemoryState. Entries of one block
// are applied in order over an OverlayState, so an entry sees the writes of the entries before it; the node then
// commits the overlay's writes in the block's one WriteBatch.
//
// Key layout (every key is ASCII; ids cannot contain '/', so the separators are unambiguous):
//   doc/{doc id}                    -> canonical JSON of a document (bill, receipt, pledge, proposal)
//   evt/{bill id}/{leg:02}/{n:06}   -> canonical JSON of the n-th event reported on a bill's leg (documents.h)
//   nonce/{key id}                  -> canonical JSON of the key's anti-replay window (nonce.h)
//   idx/equipment/{container}       -> id of the one live bill that carries the container
//   idx/lot/{warehouse org}/{lot}   -> id of the one live receipt for the warehouse's lot
//   idx/pledge/{collateral doc id}  -> id of the one active pledge on the collateral
//   gov/change/{height:012}/{index:06} -> canonical JSON of a membership change (membership.h) that took effect
//                                        at that entry; with genesis this rebuilds membership at any height
// Values are bytes (std::string); documents and windows are RFC 8785 canonical JSON, so the same state has the same
// bytes on every node.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "crypto/result.h"

namespace onebill::contracts {

// Key -> new value, or nullopt to delete the key. Ordered by key, so iterating it is deterministic.
using WriteSet = std::map<std::string, std::optional<std::string>, std::less<>>;

// Read access to state. get() returns nullopt when the key is absent; an Error only when the store itself fails
// (I/O error, corruption) — never for a rule violation. Implementations need not be thread-safe.
class StateView {
 public:
  virtual ~StateView() = default;
  virtual Result<std::optional<std::string>> get(std::string_view key) const = 0;
};

// A whole state in memory, ordered by key. For the verifier, tests and small tools.
class MemoryState final : public StateView {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;

  Result<std::optional<std::string>> get(std::string_view key) const override;
  void apply(const WriteSet& writes);
  const Map& entries() const { return data_; }
  // Entries whose key starts with `prefix`, in key order.
  std::vector<std::pair<std::string, std::string>> scan(std::string_view prefix) const;
  // Hash of every entry in key order (encoding of digest_entries below).
  crypto::Digest digest(crypto::HashAlg alg) const;

 private:
  Map data_;
};

// Pending writes on top of a base view, which it does not own (the base must outlive the overlay). Reads see the
// overlay first: a deleted key reads as absent even if the base has it.
class OverlayState final : public StateView {
 public:
  explicit OverlayState(const StateView& base) : base_(base) {}

  Result<std::optional<std::string>> get(std::string_view key) const override;
  void apply(const WriteSet& writes);  // later writes to a key replace earlier ones
  const WriteSet& writes() const { return writes_; }

 private:
  const StateView& base_;
  WriteSet writes_;
};

// What one entry read from the state before it: key -> the value it found, or nullopt when absent. Recorded by
// apply() (Outcome::reads) so an offline verifier can replay the entry without the rest of the ledger: the hash of
// the reads is part of the entry's certified result (docs/formats/block.md), so a node cannot make them up alone.
using ReadSet = WriteSet;

// A view that passes reads to `base` and remembers the first value it returned for each key.
class RecordingState final : public StateView {
 public:
  explicit RecordingState(const StateView& base) : base_(base) {}
  Result<std::optional<std::string>> get(std::string_view key) const override;
  const ReadSet& reads() const { return reads_; }
  ReadSet take() { return std::move(reads_); }

 private:
  const StateView& base_;
  mutable ReadSet reads_;
};

// Hash of a write set in key order: for each key, u32be(len key) key, then 0x00 for a delete or 0x01 u32be(len
// value) value. MemoryState::digest hashes its entries the same way (always 0x01). A ReadSet hashes the same way
// (0x00 = the key was absent).
crypto::Digest digest_writes(crypto::HashAlg alg, const WriteSet& writes);

namespace keys {

inline constexpr std::string_view kDocument = "doc/";
inline constexpr std::string_view kNonce = "nonce/";
inline constexpr std::string_view kLegEvent = "evt/";
inline constexpr std::string_view kEquipment = "idx/equipment/";
inline constexpr std::string_view kLot = "idx/lot/";
inline constexpr std::string_view kActivePledge = "idx/pledge/";
inline constexpr std::string_view kMembershipChange = "gov/change/";

std::string document(std::string_view doc_id);
std::string nonce(std::string_view key_id);
// leg: 0..15, n: 1..kMaxLegEvents (zero-padded, so a bill's events sort by leg, then by n).
std::string leg_event(std::string_view bill_id, std::int64_t leg, std::int64_t n);
std::string equipment(std::string_view container);
std::string lot(std::string_view warehouse, std::string_view lot);
std::string active_pledge(std::string_view collateral);
std::string membership_change(std::int64_t height, std::int64_t index);

}  // namespace keys
}  // namespace onebill::contracts
