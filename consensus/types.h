// Vocabulary types of the Raft core: ids, terms, log entries, configurations, hard state and snapshots.
//
// Plain value types with no behaviour beyond sizes and comparisons. Everything in onebill::consensus speaks in
// these; the wire encoding is in codec.h, the configuration arithmetic in conf_change.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace onebill::consensus {

using Bytes = std::vector<std::uint8_t>;
using NodeId = std::uint64_t;  // 0 is "none"; real node ids start at 1
using Term = std::uint64_t;    // 0 is the term before any election
using Index = std::uint64_t;   // log indices start at 1; index 0 is the empty prefix

inline constexpr NodeId kNoNode = 0;

// What a log entry carries. The numeric values are part of the wire and storage formats: never renumber.
enum class EntryType : std::uint8_t {
  kNormal = 0,      // opaque application bytes (a block proposal); empty data is the leader's no-op (§5.4.2, §8)
  kConfChange = 1,  // data is an encoded ConfChange (conf_change.h); takes effect on every node when appended
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  Bytes data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// The size an entry counts for in flow control and batching limits: its payload plus a fixed overhead, so that
// empty entries still cost something and a byte limit always bounds the entry count too.
inline constexpr std::uint64_t kEntryOverheadBytes = 24;
inline std::uint64_t entry_size(const Entry& e) { return e.data.size() + kEntryOverheadBytes; }

// A cluster configuration: who votes and who only receives the log. Both lists are sorted and disjoint.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool is_voter(NodeId id) const;
  bool is_learner(NodeId id) const;
  bool is_member(NodeId id) const { return is_voter(id) || is_learner(id); }

  friend bool operator==(const ConfState&, const ConfState&) = default;
};

// What Raft must find on disk after a restart (Figure 2, "persistent state on all servers") plus the commit index,
// which is not required for safety but lets a restarted node apply what it already knew to be committed.
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

// Describes a snapshot: it replaces the log up to and including `index`, whose entry had `term`, and the
// configuration in effect at `index` is `conf_state`.
struct SnapshotMeta {
  Index index = 0;
  Term term = 0;
  ConfState conf_state;

  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

// A snapshot: metadata plus the application's opaque state at `meta.index`.
struct Snapshot {
  SnapshotMeta meta;
  Bytes data;

  bool empty() const { return meta.index == 0; }
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

}  // namespace onebill::consensus
